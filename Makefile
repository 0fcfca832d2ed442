# Two commands do all set-up on a fresh machine:
#   make example   -> installs into .venv, then runs the whole pipeline on examples/pool.jsonl
#   make test      -> installs into .venv, then runs the test suite (what CI runs)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE ?= 1
export OMP_WAIT_POLICY ?= PASSIVE
export TOKENIZERS_PARALLELISM ?= false

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	# torch first and pinned: the local CPU wheel, never the multi-GB CUDA build
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install -e ".[all,test]"
	touch $@

.PHONY: install example test
install: $(BIN)/.installed

example: $(BIN)/.installed
	$(BIN)/deita-hf select examples/pool.jsonl --budget 100 --output out/example --overwrite \
		--complexity-scorer length --quality-scorer length --embedder minilm \
		--include-pool --license cc-by-sa-3.0

test: $(BIN)/.installed
	$(BIN)/python -m pytest tests deita_hf --doctest-modules -q
