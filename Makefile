# Townhall — one box. `make up` to run, `make test` to test.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up install browser migrate seed run test test-unit test-integration test-e2e lint bench compose-check clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet pip==24.3.1
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# The public pages (unsubscribe, consent confirm) are tested in a real headless browser:
# Chromium and its driver from the distribution's packages, installed when missing.
BROWSER_PACKAGES := chromium chromium-driver
APT := $(shell [ "$$(id -u)" = 0 ] || echo sudo) env DEBIAN_FRONTEND=noninteractive apt-get
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  $(APT) install -y --no-install-recommends $(BROWSER_PACKAGES) \
	  || { $(APT) update && $(APT) install -y --no-install-recommends $(BROWSER_PACKAGES); }; }

migrate: install
	$(BIN)/townhall migrate

seed: install
	$(BIN)/townhall seed

# migrate, start every process, seed once they answer, print the first curl; Ctrl-C stops all
up: install
	$(BIN)/townhall up

run: install
	$(BIN)/townhall up --no-seed

test: install browser lint
	$(BIN)/python -m pytest -q -p no:cacheprovider

test-unit: install
	$(BIN)/python -m pytest -q tests/unit

test-integration: install
	$(BIN)/python -m pytest -q tests/integration

test-e2e: install browser
	$(BIN)/python -m pytest -q tests/e2e

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python -m bench

compose-check: install
	$(BIN)/python -m deploy.compose_check docker-compose.yml

clean:
	rm -rf var
