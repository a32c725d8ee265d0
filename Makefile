# The two commands of the README: `make demo` (the main job) and `make test` (every test).
# Both create .venv on first use and install the project with the pinned versions.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint format lab bench clean

$(STAMP): pyproject.toml requirements/lock.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c requirements/lock.txt -e ".[dev,notebooks]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m stackgan_lite demo

test: $(STAMP) lint
	OMP_NUM_THREADS=1 $(PY) -m pytest -n 2 --dist loadfile

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

bench: $(STAMP)
	$(PY) benchmarks/train_step.py --preset lite --stage 1
	$(PY) benchmarks/train_step.py --preset lite --stage 2

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
