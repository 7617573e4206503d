# make test: install into .venv and run the tests.  make test-load: the slow
# runs of the reliability suite (50 apps at once, 100 same-app races per state
# backend, the crash points with the kubernetes state backend).
# make test-floor: the unit, integration and stand-in tests against the oldest
# versions of the dependencies pyproject.toml allows, in a venv of their own
# (.venv-floor).
# make demo: forge, status and teardown of examples/mail-agent against the
# stand-in cluster.  make bench: norn against kubectl, timed side by side (not
# part of make test).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
FLOOR_VENV ?= .venv-floor
# The reliability tests that use hypothesis, without their load runs: the floor of the dev extra too.
FLOOR_HYPOTHESIS := tests/reliability/test_bad_input.py tests/reliability/test_regressions.py

.PHONY: install test test-load test-floor demo bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

test: install
	$(PY) -m pytest

test-load: install
	$(PY) -m pytest -m load tests/reliability

# Always a fresh venv: what it holds must be the lower bounds, not what was there.
test-floor:
	rm -rf $(FLOOR_VENV)
	$(PYTHON) -m venv $(FLOOR_VENV)
	$(PYTHON) tools/floor_constraints.py pyproject.toml > $(FLOOR_VENV)/constraints.txt
	$(FLOOR_VENV)/bin/python -m pip install --quiet --constraint $(FLOOR_VENV)/constraints.txt -e '.[dev]'
	$(FLOOR_VENV)/bin/python -m pip check
	$(FLOOR_VENV)/bin/python -m pytest tests/unit tests/integration tests/harness $(FLOOR_HYPOTHESIS)

demo: install
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash examples/demo.sh

bench:
	bash bench/run.sh

clean:
	rm -rf $(VENV) $(FLOOR_VENV) .demo .bench .pytest_cache
