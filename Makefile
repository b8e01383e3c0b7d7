# make test  : fresh machine -> .venv with VSO and its test tools -> the whole test suite
# make demo  : fresh machine -> .venv -> a demo project decomposed from examples/marketplace.md
# make bench : the decomposition benchmark (figures in bench/README.md)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO   ?= demo
DEMO_SPEC ?= examples/marketplace.md

.PHONY: install lint test demo bench clean

install: $(BIN)/.installed

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

lint: install
	$(BIN)/ruff check vso_dagster vso_dagster_tests bench

test: lint
	$(BIN)/python -m pytest

demo: install
	rm -rf $(DEMO)
	$(BIN)/vso --project-root $(DEMO) init --title "Craft Marketplace"
	cp $(DEMO_SPEC) $(DEMO)/master-spec.md
	$(BIN)/vso --project-root $(DEMO) validate
	$(BIN)/vso --project-root $(DEMO) decompose
	@echo
	@echo "Demo project: $(DEMO)/  (slices in $(DEMO)/vertical-slices/, state in $(DEMO)/.slice-orchestrator/)"
	@echo "Open the Dagster UI:  $(BIN)/vso --project-root $(DEMO) ui   then browse http://127.0.0.1:3000"

bench: install
	$(BIN)/python bench/decompose.py 1000

clean:
	rm -rf $(VENV) $(DEMO) *.egg-info
