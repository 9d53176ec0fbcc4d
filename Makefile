# The README's command contract. Every target installs what it needs first.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PYTHONPATH := $(CURDIR)/layers/common/python:$(CURDIR)/functions:$(CURDIR)
export AWS_DEFAULT_REGION ?= cn-north-1

.PHONY: install run test check lint infra token bench clean

$(VENV)/.installed: requirements-dev.txt layers/common/requirements.txt layers/opendata/requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) -m infra.local --port $(PORT) $(if $(DEMO),--demo,)

token: install
	@$(PY) -m infra.local.tokens --role $(ROLE) --subject $(SUBJECT) $(if $(INDUSTRIES),--industries $(INDUSTRIES),)

test: install
	$(PY) -m pytest -q -p no:cacheprovider tests

infra: install
	$(PY) -m infra.build

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

check: lint infra
	$(VENV)/bin/cfn-lint infra/build/template.yaml
	for f in statemachines/*.asl.json; do npx --yes asl-validator@4.0.0 --json-path "$$f" || exit 1; done

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) infra/build .local
