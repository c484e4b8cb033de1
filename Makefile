# Two commands for a newcomer: `make run` and `make test`. Everything else is a helper.
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test install postgres bench-api bench-events migration clean

run: $(STAMP)
	$(VENV)/bin/weir serve --dev

test: $(STAMP)
	WEIR_TEST_POSTGRES_URL=$$(scripts/postgres.sh) $(PY) -m pytest -q

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

postgres:
	scripts/postgres.sh

bench-api: $(STAMP)
	WEIR_TEST_POSTGRES_URL=$$(scripts/postgres.sh) $(PY) bench/api.py

bench-events: $(STAMP)
	$(PY) bench/events.py

migration: $(STAMP)
	scripts/regen-migration.sh

clean:
	rm -rf $(VENV) .weir .pytest_cache
