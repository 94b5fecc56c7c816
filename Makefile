# misstep: every target sets itself up on a fresh machine (venv, install, Redis where needed).
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-stamp

.PHONY: install run test lint eval bench fuzz clean

$(STAMP): pyproject.toml
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "misstep needs Python >= 3.11")'
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## make run: API + worker in the foreground (Redis from REDIS_URL, or a local one started for you).
run: $(STAMP)
	$(BIN)/misstep run

## make test: lint, then the whole suite against a real Redis and real worker processes.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## make eval: accuracy, precision, recall and F1 of the rule_based tier on ../shared/eval/*/dev.jsonl.
eval: $(STAMP)
	$(BIN)/misstep eval

## make bench: throughput, latency, scaling and memory, measured against its own Redis, API and workers.
bench: $(STAMP)
	$(BIN)/python -m tests.bench

## make fuzz: the schemathesis pass of `make test` with many more examples per operation and a random seed.
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-200} FUZZ_SEED=$${FUZZ_SEED:-random} \
		$(BIN)/python -m pytest -q -p no:cacheprovider tests/fuzz/test_schemathesis.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
