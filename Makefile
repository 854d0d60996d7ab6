# Two commands for a newcomer: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
PYTEST_WORKERS ?= 2

.PHONY: demo demo-rollback test bench install clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

# The whole migration on the sandboxes (vp2pd run under the hood); prints the report's path.
demo: $(STAMP)
	$(BIN)/vp2pd demo

# Undo the last demo's load on its kept Pipedrive account (the rollback notebook, confirm=demo).
demo-rollback: $(STAMP)
	$(BIN)/vp2pd demo --rollback

# Includes the notebooks: tests/runbook runs a whole demo, then every notebook under nbval against it.
test: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf build runs .pytest_cache
