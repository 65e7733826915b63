# Two commands do all set-up on a fresh clone:
#   make run    creates .venv, installs, runs the flagship study into results/
#   make test   creates .venv if needed, installs, runs the test suite
# Both ends of the supported range (not run by CI; each builds its own venv):
#   make test-oldest   Python 3.11 with the oldest supported set (.ci/oldest.txt)
#   make test-newest   Python 3.13 with the newest releases pyproject.toml allows
VENV := .venv
PY := python3
CONSTRAINTS :=
PYTHON := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: run test test-oldest test-newest bench clean

$(INSTALLED): pyproject.toml
	$(PY) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e '.[test]' $(if $(CONSTRAINTS),-c $(CONSTRAINTS))
	touch $(INSTALLED)

run: $(INSTALLED)
	$(VENV)/bin/jaxopt-lab flagship --out results

test: $(INSTALLED)
	$(PYTHON) -m pytest

test-oldest:
	$(MAKE) test VENV=.venv-oldest PY=python3.11 CONSTRAINTS=.ci/oldest.txt

test-newest:
	$(MAKE) test VENV=.venv-newest PY=python3.13

bench: $(INSTALLED)
	$(PYTHON) -m benchmarks.run_all --out results/benchmarks

clean:
	rm -rf $(VENV) .venv-oldest .venv-newest results
