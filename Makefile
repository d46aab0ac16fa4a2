# Verity: `make run` serves the demo, `make test` runs every check (`make test-fast`: the tests that need
# no llama.cpp model, for development). See README.md and docs/development.md.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_COLLECTION ?= demo
# the data directory: VERITY_DATA_DIR, else $XDG_DATA_HOME/verity, else ~/.local/share/verity (app/settings.py)
DATA_DIR ?= $(or $(VERITY_DATA_DIR),$(or $(XDG_DATA_HOME),$(HOME)/.local/share)/verity)
DEMO_KEY ?= $(DATA_DIR)/demo-key

# llama-cpp-python builds from source. GPU=1 builds it with CUDA and adds the gpu extra.
# The CPU build targets AVX2 (x86-64-v3), not the building CPU: pip caches the wheel and hands it to
# any later install, and a native build on a CPU with AMX crashes where the host does not grant AMX
# (seen on a VM, 2026-12-07). CMAKE_ARGS="-DGGML_NATIVE=ON" builds for this CPU (clear pip's cache first).
CMAKE_ARGS ?= -DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
RUN_EXTRAS := models
TEST_EXTRAS := dev,models,eval
ifeq ($(GPU),1)
CMAKE_ARGS := -DGGML_CUDA=on -DLLAVA_BUILD=OFF
RUN_EXTRAS := models,gpu
endif
export CMAKE_ARGS

.PHONY: run test test-fast install lint typecheck pytest serve clean llama-server

run: $(VENV)/.installed-run
	$(BIN)/verity ingest README.md docs --collection $(DEMO_COLLECTION)
	@test -s $(DEMO_KEY) || (umask 077 && $(BIN)/verity keys create --tenant default --name demo | tail -n 1 > $(DEMO_KEY))
	@echo "Demo API key (tenant default, kept in $(DEMO_KEY)): $$(cat $(DEMO_KEY))"
	$(BIN)/verity serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-test lint typecheck pytest

install: $(VENV)/.installed-run

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy

pytest:
	$(BIN)/python -m pytest

# The fast tier: every test but those marked `llm` (a real llama.cpp model), as `pytest -m "not llm"`.
test-fast: $(VENV)/.installed-test
	$(BIN)/python -m pytest -m "not llm"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Verity needs Python 3.11 or newer: make PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# torch goes first and pinned (the CPU build); constraints.txt keeps every later step from replacing it.
# unstructured-inference goes in without its dependencies: they would pull the CUDA build of torch.
define install_extras
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -c constraints.txt -e ".[$(1)]"
	$(PIP) install --quiet --no-deps unstructured-inference==1.6.14
	$(if $(findstring eval,$(1)),$(PIP) install --quiet --no-deps ragas==0.4.3 instructor==1.3.2 langchain-openai==1.1.9)
	$(if $(filter 1,$(GPU)),$(PIP) install --quiet --no-cache-dir --force-reinstall --no-deps llama-cpp-python==0.3.36)
endef

$(VENV)/.installed-run: pyproject.toml constraints.txt | $(BIN)/python
	$(call install_extras,$(RUN_EXTRAS))
	touch $@

$(VENV)/.installed-test: pyproject.toml constraints.txt | $(BIN)/python
	$(call install_extras,$(TEST_EXTRAS))
	bash scripts/install_browser.sh
	touch $@

# llama.cpp's llama-server, built from the sources llama-cpp-python vendors (about 10 minutes on 2 cores);
# the remote-engine tests use it, and skip its cases when it is missing. CMAKE_ARGS applies (GPU=1: CUDA).
llama-server: | $(BIN)/python
	bash scripts/build_llama_server.sh

clean:
	rm -rf $(VENV) .verity .mypy_cache .ruff_cache .pytest_cache
