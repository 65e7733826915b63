# Two commands do all set-up on a fresh clone:
#   make run    creates .venv, installs, runs the flagship study into results/
#   make test   creates .venv if needed, installs, runs the test suite
VENV := .venv
PYTHON := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: run test bench clean

$(INSTALLED): pyproject.toml
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e '.[test]'
	touch $(INSTALLED)

run: $(INSTALLED)
	$(VENV)/bin/jaxopt-lab flagship --out results

test: $(INSTALLED)
	$(PYTHON) -m pytest

bench: $(INSTALLED)
	$(PYTHON) -m benchmarks.run_all --out results/benchmarks

clean:
	rm -rf $(VENV) results
