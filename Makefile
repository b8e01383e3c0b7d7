# make test  : fresh machine -> .venv with VSO and its test tools -> the whole test suite
# make demo  : fresh machine -> .venv -> a demo project from examples/marketplace.md, decomposed,
#              implemented by the built-in scaffold agent (unit tests green, their line coverage
#              shown), deployed to test on loopback, integration-tested, and promoted to production
#              (local); endpoints printed and probed; then one component changes, is committed, and
#              `vso sync` re-runs only its slice
# make bench : every benchmark in one run, written to bench/RESULTS.md (BENCH_ARGS="--postgres-url URL"
#              adds PostgreSQL; BENCH_ARGS="--sizes 100 1000" skips 10,000 components)
# make agents: the real agent CLIs (Claude Code, Codex, Aider) at pinned versions, into .agents/;
#              the tests that run them against a stand-in model skip without them (CI installs them)
# make standins: the stand-in of Terraform's hcloud provider, in .standins/ (`make test` builds it first)
# make image : the image runs execute in under Dagster's container launchers (Dockerfile), as $(IMAGE)
# make image-test: that image built, then a decomposition and a slice's build run in containers of it,
#              started by DockerRunLauncher from a daemon (needs a Docker engine at DOCKER_HOST; where
#              there is none, .ci/podman_engine.sh makes one of Podman and prints the variables to set)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO   ?= demo
DEMO_SPEC ?= examples/marketplace.md
DEMO_TITLE ?= Craft Marketplace

AGENTS ?= .agents
STANDINS ?= .standins
TF_PLUGIN_VERSION ?= 1.2.0
CLAUDE_CODE_VERSION ?= 2.1.197
CODEX_VERSION ?= 0.171.0
AIDER_VERSION ?= 0.86.2

IMAGE  ?= vso:latest
DOCKER ?= docker
IMAGE_BUILD_ARGS ?=

.PHONY: install lint test demo bench clean agents standins image image-test

install: $(BIN)/.installed

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

agents: $(AGENTS)/.installed

# Claude Code and Codex from npm; Aider in a virtualenv of its own (its pinned dependencies must not
# touch VSO's). Each is linked into $(AGENTS)/bin, which the tests put first on PATH.
$(AGENTS)/.installed: Makefile
	npm install --prefix $(AGENTS) --no-audit --no-fund --loglevel=error \
	  @anthropic-ai/claude-code@$(CLAUDE_CODE_VERSION) @openai/codex@$(CODEX_VERSION)
	test -x $(AGENTS)/aider/bin/python || $(PYTHON) -m venv $(AGENTS)/aider
	$(AGENTS)/aider/bin/python -m pip install --quiet --disable-pip-version-check aider-chat==$(AIDER_VERSION)
	mkdir -p $(AGENTS)/bin
	ln -sf ../node_modules/.bin/claude ../node_modules/.bin/codex ../aider/bin/aider $(AGENTS)/bin/
	touch $@

standins: $(STANDINS)/.installed

# The hcloud stand-in provider (vso_dagster_tests/standin_hcloud_provider.py) speaks Terraform's plugin
# protocol with the `tf` package's protocol stubs, in a virtualenv of its own: `tf` needs protobuf < 6,
# Dagster protobuf 6.
$(STANDINS)/.installed: Makefile
	test -x $(STANDINS)/bin/python || $(PYTHON) -m venv $(STANDINS)
	$(STANDINS)/bin/python -m pip install --quiet --disable-pip-version-check tf==$(TF_PLUGIN_VERSION)
	touch $@

image:
	$(DOCKER) build $(IMAGE_BUILD_ARGS) -t $(IMAGE) .

# Not part of `make test`: CI has no container engine, and the build alone takes minutes.
image-test: install image
	VSO_TEST_IMAGE=$(IMAGE) $(BIN)/python -m pytest -q vso_dagster_tests/test_container_runs.py

# ruff, and the layering contracts in pyproject.toml ([tool.importlinter]).
lint: install
	$(BIN)/ruff check vso_dagster vso_dagster_tests bench
	$(BIN)/lint-imports

# One worker per core; a file's tests stay together (module fixtures are built once per file), and
# the longest files start first (conftest.py) rather than the ones with the most tests.
test: lint standins
	$(BIN)/python -m pytest -n auto --dist loadfile --no-loadscope-reorder

GIT_DEMO = git -C $(DEMO) -c user.name="VSO demo" -c user.email=demo@localhost
# The demo's spec change: the first component's description gains a few words.
export DEMO_EDIT = import re, sys, pathlib; p = pathlib.Path(sys.argv[1]); \
  p.write_text(re.sub(r"^(- \*\*[^*]+\*\*: [^(\n]+)", r"\1, with an audit trail", p.read_text(), count=1, flags=re.M))

demo: install
	test ! -d $(DEMO)/.slice-orchestrator || $(BIN)/vso --project-root $(DEMO) destroy --all --environment both
	rm -rf $(DEMO)
	mkdir -p $(DEMO) && git -C $(DEMO) init --quiet --initial-branch=main
	$(BIN)/vso --project-root $(DEMO) init --title "$(DEMO_TITLE)"
	cp $(DEMO_SPEC) $(DEMO)/master-spec.md
	$(BIN)/vso --project-root $(DEMO) validate
	$(BIN)/vso --project-root $(DEMO) decompose
	$(GIT_DEMO) add --all && $(GIT_DEMO) commit --quiet -m "Master spec and its vertical slices"
	$(BIN)/vso --project-root $(DEMO) sync
	$(BIN)/vso --project-root $(DEMO) orchestrate --all
	$(BIN)/vso --project-root $(DEMO) deploy --all
	@echo "--- Every deployed slice answers GET /health (what the deployment_health sensor keeps checking):"
	$(BIN)/vso --project-root $(DEMO) health
	@echo "--- Now one component of the master spec changes, and only its slice re-runs:"
	$(BIN)/python -c "$$DEMO_EDIT" $(DEMO)/master-spec.md
	$(GIT_DEMO) commit --quiet --all -m "The first component keeps an audit trail"
	$(BIN)/vso --project-root $(DEMO) sync
	$(BIN)/vso --project-root $(DEMO) status
	$(BIN)/vso --project-root $(DEMO) show 1
	@echo "Branches merged home into main:"; git -C $(DEMO) branch --merged main --list 'slice-*'
	@echo "git status of the demo project (VSO committed what it wrote):"; git -C $(DEMO) status --short
	@echo
	@echo "Demo project: $(DEMO)/  (slices in $(DEMO)/vertical-slices/, each slice's implementation on its"
	@echo "branch slice-NNN-name-v1.0.0 in $(DEMO)/.slice-orchestrator/worktrees/, state in $(DEMO)/.slice-orchestrator/)"
	@echo "Open the Dagster UI:  $(BIN)/vso --project-root $(DEMO) ui   then browse http://127.0.0.1:3000"

bench: install
	$(BIN)/python bench/results.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(DEMO) *.egg-info
