# Two commands do all set-up on a fresh machine (see README.md):
#   make demo   - audits the shipped Titanic model end to end and writes demo-out/scorecard.json
#   make test   - runs the test suite against the installed package
# Both create .venv and install the pinned environment (constraints.txt) on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
# Project sources: a change to any of them reinstalls the package before tests.
SOURCES := pyproject.toml constraints.txt $(shell find auditkit probes -type f \( -name '*.py' -o -name '*.json' -o -name '*.j2' -o -name '*.typed' \) 2>/dev/null)

.PHONY: demo test bench bench-quality clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# The package itself is installed as a real (non-editable) wheel, so tests see
# exactly what users get: a module missing from the wheel fails here, not later.
$(VENV)/.installed: $(SOURCES) | $(BIN)/python
	$(PIP) install -q -c constraints.txt '.[dev,torch,parquet]'
	$(PIP) install -q --no-deps --force-reinstall .
	@touch $@

demo: $(VENV)/.installed
	$(BIN)/python examples/demo/train_titanic.py demo-out
	@# Exit 1 means the gate failed, which is the demo's point (the model leaks); 2+ is a real error.
	@status=0; $(BIN)/auditkit run --data demo-out/titanic_audit.csv --reference demo-out/titanic_train.csv \
		--model demo-out/titanic_model.skops --target survived --sensitive sex \
		--cost-fp 1 --cost-fn 5 --json demo-out/scorecard.json || status=$$?; \
	if [ $$status -gt 1 ]; then exit $$status; fi; \
	echo "demo: scorecard in demo-out/scorecard.json (gate exit status $$status)"

test: $(VENV)/.installed
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

bench: $(VENV)/.installed
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

bench-quality: $(VENV)/.installed
	$(BIN)/python -m benchmarks.run --quality $(BENCH_ARGS)

clean:
	rm -rf $(VENV) demo-out build dist *.egg-info
