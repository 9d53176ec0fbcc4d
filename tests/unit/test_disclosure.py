"""Public views of personal data (docs/disclosure.md): names masked to their first character, an
individual business's home address left out, the legal representative named."""

from __future__ import annotations

from marketplace.domain.agencies import AgencyProfile, public_record
from marketplace.domain.masking import mask_name
from tests.support.samples import agency_profile


def test_a_name_keeps_its_first_character_only() -> None:
    assert mask_name("钱芳") == "钱*"
    assert mask_name("欧阳明华") == "欧***"
    assert mask_name(" 李 ") == "*"
    assert mask_name("") == ""


def test_an_agency_record_names_its_legal_representative_and_masks_everyone_else() -> None:
    profile = AgencyProfile.model_validate(agency_profile())

    shown = public_record(profile)

    assert shown.legal_entity.legal_representative == "赵明"
    assert shown.legal_entity.address == profile.legal_entity.address  # a company's registered address
    assert [c.name for c in shown.contacts] == ["钱*"]
    assert [p.name for p in shown.practitioners] == ["孙*"]
    assert [c.name for b in shown.branches for c in b.contacts] == ["李*"]
    assert "330106198001011234" not in shown.model_dump_json()


def test_an_individual_business_address_is_its_keepers_home_and_not_shown() -> None:
    body = agency_profile(first16="92330106MA2H7Y7Q")
    body["legal_entity"]["entity_type"] = "individual_business"
    shown = public_record(AgencyProfile.model_validate(body))
    assert shown.legal_entity.address is None
    assert shown.legal_entity.region_code == "330106"
