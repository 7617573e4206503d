# make test: install into .venv and run the tests.  make test-load: the slow
# runs of the reliability suite (50 apps at once, 100 same-app races per state
# backend, the crash points with the kubernetes state backend).
# make demo: forge, status and teardown of examples/mail-agent against the
# stand-in cluster.  make bench: norn against kubectl, timed side by side (not
# part of make test).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install test test-load demo bench clean

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

demo: install
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash examples/demo.sh

bench:
	bash bench/run.sh

clean:
	rm -rf $(VENV) .demo .bench .pytest_cache
