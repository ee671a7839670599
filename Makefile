# Two commands for a fresh machine: `make demo` and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin
export FLWR_TELEMETRY_ENABLED := 0
export HF_DATASETS_OFFLINE := 1
export FLWR_DISABLE_UPDATE_CHECK := 1

.PHONY: demo test lint install clean

install: $(VENV)/.installed

# torch is pinned first: its CPU build is on this machine's disk, while a bare
# `torch` requirement in a fresh venv can pull a multi-gigabyte CUDA build.
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

demo: install
	$(BIN)/fedcluster demo

lint: install
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

test: install lint
	sh .ci/install-chromium
	sh .ci/install-nginx
	$(BIN)/pytest

clean:
	rm -rf $(VENV) demo runs .mypy_cache .ruff_cache .pytest_cache
