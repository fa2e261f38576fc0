# Everything a developer or CI needs, from a fresh clone: `make demo`, `make test`.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(CURDIR)/$(VENV)/bin
PY := $(BIN)/python
COLLECTIONS := $(CURDIR)/$(VENV)/collections
SANITY_DIR ?= $(CURDIR)/tests/output/sanity-root
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
# Python caches each module's bytecode (__pycache__) when it first imports it. Where the environment says
# PYTHONDONTWRITEBYTECODE (this machine's sandbox does), every one of the suite's thousands of Python processes would
# compile ansible-core, boto3, requests and moto from source again: measured, an empty play 0.6 -> 1.8 CPU-s and a
# module run 0.25 -> 0.85. The caches land in .venv and in the tree's __pycache__ (git, ansible-galaxy ignore them).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: setup lab-up lab-down demo test test-integration test-checks sanity unit integration lint molecule bench clean nox nox-all ecosystem docs browser \
	ansible-test-integration

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-test.txt
	python3 -m venv $(VENV)
	# uv installs the same pinned versions as pip would, in seconds instead of minutes (nox's session venvs use it too).
	$(BIN)/pip install -q uv
	$(BIN)/uv pip install -q --python $(PY) -r requirements.txt -r requirements-test.txt
	mkdir -p $(COLLECTIONS)/ansible_collections/pexip
	ln -sfn $(CURDIR) $(COLLECTIONS)/ansible_collections/pexip/infinity
	touch $@

lab-up: setup
	$(PY) tests/lab/lab.py up

lab-down:
	@if [ -x $(PY) ]; then $(PY) tests/lab/lab.py down; fi

# The main job: the whole declared platform against the embedded lab.
demo: lab-up
	set -a && . .lab/env && set +a && $(BIN)/ansible-playbook -i .lab/inventory.yml site.yml

# `make test`: the integration tests (Molecule scenarios included: tests/integration/test_molecule.py) on their labs,
# and beside them the checks that need no lab or a lab of their own: unit, ansible-lint, the nox sessions, the docs
# site and the ecosystem tests. Alone, the integration tests leave about a quarter of the two cores idle while they
# wait on the lab's simulated boots and syncs; the checks fill it. Each stage prints its wall time at its end.
# The checks run one notch below the integration tests (CHECKS_NICE, nice 1: CPU weight 820 against 1024): the suite is CPU-bound (about 1,700 CPU-s on two
# cores, process accounting, December 2026), and at equal priority the checks (mostly one process, ~430 CPU-s) took
# 0.57 of a core and ended ~190 s before the integration tests, which alone use only ~1.1 cores (they wait on the
# lab): one core half idle for three minutes. Nearer 0.5 of a core, both lanes end together.
CHECKS_NICE ?= nice -n 1
stage = +@start=$$(date +%s); $(2) $(MAKE) --no-print-directory $(1); rc=$$?; \
	echo "=== make $(1): $$(( $$(date +%s) - start )) s$$([ $$rc = 0 ] || echo ", FAILED (exit $$rc)")"; exit $$rc

test: setup
	$(MAKE) --no-print-directory -j2 --output-sync=target test-integration test-checks

test-integration:
	$(call stage,integration)

test-checks:
	$(call stage,unit,$(CHECKS_NICE))
	$(call stage,lint,$(CHECKS_NICE))
	$(call stage,nox,$(CHECKS_NICE))
	$(call stage,ecosystem,$(CHECKS_NICE))

unit: setup
	$(BIN)/pytest -q tests/unit tests/lab

# Integration and molecule run against .lab (started if needed) and stop it afterwards, pass or fail.
# Integration: INTEGRATION_WORKERS pytest-xdist workers, each on a lab of its own (.lab, .lab-gw1, ...; tests/conftest.py);
# the tests of one file stay on one worker (--dist loadfile: under pytest 9 + xdist 3.8, loadgroup's xdist_group
# marks no longer group anything, and a file's module fixtures ran on both workers), except the integration targets
# and Molecule scenarios, one unit each, and the longest units go first (tests/integration/conftest.py). Three
# workers on two cores, as each test also waits on the lab's simulated boots and syncs: with the checks lane beside
# them, vmstat shows no idle core from the first minute of `make test` to the last 25 s (6 Dec 2026), so only less
# CPU makes the suite faster. The lab's simulated waits are 1 s (LAB_TEST_DELAYS; the fault matrix sets its own).
# The end of the run lists the slowest ten, the ten most expensive in CPU, and when each worker was done.
INTEGRATION_WORKERS ?= 3
LAB_TEST_DELAYS ?= LAB_BOOT_DELAY=1 LAB_SYNC_DELAY=1 LAB_REBOOT_DELAY=1
integration: setup
	$(LAB_TEST_DELAYS) $(PY) tests/lab/lab.py up
	$(LAB_TEST_DELAYS) $(BIN)/pytest -q -n $(INTEGRATION_WORKERS) --dist loadfile --durations=10 tests/integration; rc=$$?; \
		$(PY) tests/lab/lab.py down; for d in .lab-gw*; do [ -d "$$d" ] && $(PY) tests/lab/lab.py down --dir "$$d"; done; exit $$rc

molecule: setup
	$(PY) tests/lab/lab.py up
	# From the collection root (molecule's collection mode: extensions/molecule/*), scenarios two at a time.
	set -a && . "$${LAB_DIR:-.lab}/env" && set +a && $(BIN)/molecule test --all --workers 2; rc=$$?; $(PY) $(CURDIR)/tests/lab/lab.py down; exit $$rc

# Not part of `make test`: fleet-size benchmark on a lab of its own (docs/bench.md). BENCH_SIZES=1,10 for a quick run.
bench: setup
	$(PY) tests/bench/bench.py

lint: setup
	# A project-local ANSIBLE_HOME: ansible-lint must never pick up a stale copy of this collection in ~/.ansible.
	ANSIBLE_HOME=$(CURDIR)/.ansible $(BIN)/ansible-lint --profile production

# ansible-test wants the collection under ansible_collections/<ns>/<name>: copy the tracked tree there.
sanity: setup
	# ansible-test bootstraps pip in its venvs with a script from a host we cannot reach: use ours.
	for v in 24_2; do mkdir -p ~/.ansible/test/cache && cp tests/utils/get_pip.py ~/.ansible/test/cache/get_pip_$$v.py; done
	rm -rf $(SANITY_DIR) && mkdir -p $(SANITY_DIR)/ansible_collections/pexip/infinity
	git ls-files -co --exclude-standard | tar -cf - --ignore-failed-read -T - | tar -xf - -C $(SANITY_DIR)/ansible_collections/pexip/infinity
	# ec2_ena_support builds on amazon.aws (doc fragments, module_utils): ansible-test finds it beside us.
	mkdir -p $(SANITY_DIR)/ansible_collections/amazon
	cp -r $$($(PY) -c 'import ansible, os; print(os.path.join(os.path.dirname(os.path.dirname(ansible.__file__)), "ansible_collections", "amazon", "aws"))') $(SANITY_DIR)/ansible_collections/amazon/aws
	cd $(SANITY_DIR)/ansible_collections/pexip/infinity && git init -q && git add -A && \
		$(BIN)/ansible-test sanity --venv --python 3.11 --color no

# Not part of `make test`: the integration targets run by ansible-test itself against the lab (docs/lab.md), e.g.
# `make ansible-test-integration TARGETS=pexip_location`; without TARGETS, every target with aliases. ansible-test
# hides the environment from the targets: they connect with the variables of tests/integration/integration_config.yml,
# written from the lab's env into the copy (never into the tree) by `lab.py integration-config`. The lab stays up.
INTEGRATION_DIR ?= $(CURDIR)/tests/output/integration-root
TARGETS ?=
ansible-test-integration: lab-up
	for v in 24_2; do mkdir -p ~/.ansible/test/cache && cp tests/utils/get_pip.py ~/.ansible/test/cache/get_pip_$$v.py; done
	rm -rf $(INTEGRATION_DIR) && mkdir -p $(INTEGRATION_DIR)/ansible_collections/pexip/infinity $(INTEGRATION_DIR)/ansible_collections/amazon
	git ls-files -co --exclude-standard | tar -cf - --ignore-failed-read -T - | tar -xf - -C $(INTEGRATION_DIR)/ansible_collections/pexip/infinity
	# amazon.aws: the pexip_cloud_node* targets make EC2 instances in moto.
	cp -r $$($(PY) -c 'import ansible, os; print(os.path.join(os.path.dirname(os.path.dirname(ansible.__file__)), "ansible_collections", "amazon", "aws"))') $(INTEGRATION_DIR)/ansible_collections/amazon/aws
	$(PY) tests/lab/lab.py integration-config --out $(INTEGRATION_DIR)/ansible_collections/pexip/infinity/tests/integration/integration_config.yml
	cd $(INTEGRATION_DIR)/ansible_collections/pexip/infinity && git init -q && git add -A && \
		$(BIN)/ansible-test integration --venv --python 3.11 --color no $(TARGETS)

# antsibull-nox sessions (noxfile.py, antsibull-nox.toml), each in its own venv under .nox (-R: reused when warm).
# `make test` runs `make nox`: ansible-test sanity 2.18 here replaces `make sanity` (same tests), 2.19 is added.
# pylint runs on the newest ansible-core only (noxfile.py: PYLINT_ON).
NOX_SESSIONS ?= lint docs-check license-check extra-checks build-import-check ansible-test-sanity-2.18 ansible-test-sanity-2.19
nox: setup
	$(BIN)/nox -R -db uv -e $(NOX_SESSIONS)

# Every session, ansible-lint's too (`make lint` runs the same ansible-lint from .venv).
nox-all: setup
	$(BIN)/nox -R -db uv -e $(NOX_SESSIONS) ansible-lint

# The built tarball against the lab, the changelog, ansible-navigator, the AWX setup playbook, the docs site in Chromium.
# On a lab of its own (.lab-eco, its own ports), so that it can run beside `make integration`.
ECO_LAB := LAB_DIR=$(CURDIR)/.lab-eco LAB_MOTO_PORT=25590 LAB_MGMT_PORT=29480 LAB_NODE_PORT=28480 LAB_SSH_PORT=22260
ecosystem: setup browser docs
	$(ECO_LAB) $(LAB_TEST_DELAYS) $(PY) tests/lab/lab.py up
	$(ECO_LAB) $(BIN)/pytest -q --durations=5 tests/ecosystem; rc=$$?; $(ECO_LAB) $(PY) tests/lab/lab.py down; exit $$rc

# HTML docs site in build/docs/build/html: antsibull-docs renders the modules, plugins and roles (argument_specs) of
# the collection as linked in .venv; the guides of docs/ go in through myst-parser (links out of docs/ point at the
# repository). Any docs error or Sphinx warning fails the build.
DOCS := $(CURDIR)/build/docs
REPO_URL = $(shell $(PY) -c 'import yaml; print(yaml.safe_load(open("galaxy.yml"))["repository"])')
docs: setup
	rm -rf $(DOCS) && mkdir -p -m 755 $(DOCS)
	$(BIN)/antsibull-docs sphinx-init --use-current --fail-on-error --dest-dir $(DOCS) --index-rst-source docs/site/index.rst \
		--project pexip.infinity --title pexip.infinity --copyright "pexip.infinity contributors" pexip.infinity >/dev/null
	cat docs/site/conf_extra.py >> $(DOCS)/conf.py
	mkdir -p -m 755 $(DOCS)/rst
	cd $(DOCS) && $(BIN)/antsibull-docs --config-file antsibull-docs.cfg collection --fail-on-error --use-current \
		--dest-dir rst pexip.infinity
	cp docs/site/index.rst $(DOCS)/rst/index.rst
	mkdir -p $(DOCS)/rst/guides && cp docs/*.md $(DOCS)/rst/guides/ && cp -r docs/examples $(DOCS)/rst/guides/
	sed -i 's#](\.\./#]($(REPO_URL)/blob/main/#g' $(DOCS)/rst/guides/*.md
	$(BIN)/sphinx-build -M html $(DOCS)/rst $(DOCS)/build -c $(DOCS) -W --keep-going -q
	@echo "Docs site: $(DOCS)/build/html/index.html"

# Headless Chromium for the docs site test (tests/ecosystem/test_docs_site.py): Debian's packages, as CI runs as root.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

clean: lab-down
	rm -rf $(VENV) .lab .lab-eco .lab-gw* tests/output .nox build
