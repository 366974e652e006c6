# The front door. `make up` runs the whole product; `make test` the whole suite.
# Embedded PostgreSQL, Valkey and SeaweedFS start when DATABASE_URL / REDIS_URL /
# S3_ENDPOINT_URL are not set (see libs/common/src/wacrm_common/devstack.py).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := -e libs/common -e services/gateway -e services/wa-connector -e services/ingest \
            -e services/media -e services/realtime
STAMP := $(VENV)/.installed
# Procfile commands and helper scripts find the project's Python first.
export PATH := $(abspath $(BIN)):$(PATH)
DEVSTACK := $(BIN)/python -m wacrm_common.devstack run --data .data --
DEMO_EXPORT ?= demo/atendimento.txt
DEMO_OWNER ?= Bike Center

.PHONY: install up demo test lint bench down clean

$(STAMP): requirements-dev.txt libs/common/pyproject.toml services/*/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "wacrm needs Python 3.11 (neonize breaks on 3.12+)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q --upgrade pip==25.3
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-dev.txt $(PACKAGES)
	touch $(STAMP)

install: $(STAMP)

up: $(STAMP)
	$(DEVSTACK) sh -c '$(BIN)/python -m wacrm_common.migrate && $(BIN)/python -m wacrm_common.seed && exec $(BIN)/honcho -f Procfile start'

demo: $(STAMP)
	$(DEVSTACK) sh -c '$(BIN)/python -m wacrm_common.migrate && $(BIN)/python -m wacrm_common.seed && \
	  ($(BIN)/python -m wacrm_common.demo $(DEMO_EXPORT) "$(DEMO_OWNER)" &) && exec $(BIN)/honcho -f Procfile start'

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check libs services tests bench
	$(BIN)/ruff format --check libs services tests bench
	$(BIN)/mypy libs/common/src services/*/src

bench: $(STAMP)
	$(BIN)/python bench/ingest.py

down:  # stops the stack `make up` started from this folder (Ctrl-C does the same)
	-@test -f .data/devstack.pid && kill -INT $$(cat .data/devstack.pid) || true

clean:
	rm -rf $(VENV) .data
