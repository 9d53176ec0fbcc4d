"""What a compiled extension module asks of the machine that loads it, read from its ELF file: the
architecture, the shared libraries, the symbol versions (glibc's among them) and the symbols it
exports. The build runs on another architecture than Lambda's, so it reads what it cannot load."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

EM_AARCH64 = 183
ET_DYN = 3
_SHT_DYNAMIC = 6
_SHT_DYNSYM = 11
_SHT_GNU_VERNEED = 0x6FFFFFFE
_DT_NEEDED = 1
_STB_GLOBAL, _STB_WEAK = 1, 2


class NotElf(ValueError):
    pass


@dataclass
class SharedObject:
    machine: int
    elf_type: int
    needed: list[str] = field(default_factory=list)  # DT_NEEDED libraries
    versions: dict[str, list[tuple[int, ...]]] = field(default_factory=dict)  # "GLIBC" -> [(2, 17), ...]
    exported: set[str] = field(default_factory=set)  # defined global symbols

    def newest(self, namespace: str) -> tuple[int, ...] | None:
        """The newest version of `namespace` (GLIBC, GLIBCXX, ...) it needs; None if none."""
        found = self.versions.get(namespace)
        return max(found) if found else None


def _string(table: bytes, offset: int) -> str:
    end = table.index(b"\0", offset)
    return table[offset:end].decode("ascii", errors="replace")


def _version(name: str) -> tuple[str, tuple[int, ...]] | None:
    namespace, _, number = name.partition("_")
    try:
        return namespace, tuple(int(part) for part in number.split("."))
    except ValueError:
        return None


def read(path: Path) -> SharedObject:
    """Parse a 64-bit little-endian ELF shared object (every Lambda architecture is one)."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise NotElf(f"{path.name} is not a 64-bit little-endian ELF file")
    (_, elf_type, machine, _, _, _, shoff, _, _, _, _, shentsize, shnum, _) = struct.unpack_from(
        "<16sHHIQQQIHHHHHH", data, 0
    )
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]

    def body(index: int) -> bytes:
        _, _, _, _, offset, size, *_ = sections[index]
        return data[offset : offset + size]

    result = SharedObject(machine=machine, elf_type=elf_type)
    for _, kind, _, _, offset, size, link, info, _, entsize in sections:
        if kind == _SHT_DYNAMIC:
            strings = body(link)
            for at in range(offset, offset + size, 16):
                tag, value = struct.unpack_from("<qQ", data, at)
                if tag == _DT_NEEDED:
                    result.needed.append(_string(strings, value))
        elif kind == _SHT_DYNSYM:
            strings = body(link)
            for at in range(offset, offset + size, entsize or 24):
                name, st_info, _, shndx, _, _ = struct.unpack_from("<IBBHQQ", data, at)
                if shndx != 0 and st_info >> 4 in (_STB_GLOBAL, _STB_WEAK) and name:
                    result.exported.add(_string(strings, name))
        elif kind == _SHT_GNU_VERNEED:
            strings = body(link)
            at = offset
            for _ in range(info):
                _, count, _, aux, following = struct.unpack_from("<HHIII", data, at)
                entry = at + aux
                for _ in range(count):
                    _, _, _, name, next_aux = struct.unpack_from("<IHHII", data, entry)
                    parsed = _version(_string(strings, name))
                    if parsed:
                        result.versions.setdefault(parsed[0], []).append(parsed[1])
                    entry += next_aux
                at += following
    return result
