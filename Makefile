# zerodrop lab. `make` lists the targets; recipes stay thin, the logic lives in lab/.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
# Two stamps: the lab's runtime (enough for `make demo`), and the test and lint tools on top of it
# (installed the first time a test or lint target needs them).
STAMP := $(VENV)/.installed-lab
DEV_STAMP := $(VENV)/.installed-dev
SETUP := bash scripts/setup.sh

.PHONY: help venv setup lab-up lab-down lab-status lab-logs demo rollout rollback recover clean-lab soak probe test test-unit check-install \
	test-lab test-rollout test-faults test-workshop bench-probe bench-strategies bench-head-to-head bench-rollout-calls bench-own-service bench-up bench-proxy-handover proxy-rollout bench-defaults bench-health-reset bench-streams bench-smoke lint images-offline provision \
	test-conformance swarm-up swarm-rollout swarm-status swarm-down test-swarm cluster-image cluster-up cluster-rollout cluster-status cluster-down test-cluster bench-cluster bench-start-interval workshop-10 bench-swarm workshop-7 workshop-8 keepalive-race

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_%-]+:.*## / {printf "  make %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): requirements-lab.txt pyproject.toml
	@python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "make: the lab needs Python 3.11 or newer")'
	@test -x $(PY) || python3 -m venv $(VENV) || { echo "make: python3 -m venv failed: install python3-venv"; exit 2; }
	@echo "make: installing the lab's runtime packages into $(VENV) (requirements-lab.txt, every hash checked)"
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-lab.txt
	@echo "make: installing zerodrop itself into $(VENV), editable (.venv/bin/zerodrop)"
	@# A venv made before the tool was named zerodrop-rollout holds it as `zerodrop`: one copy only.
	@$(PY) -m pip uninstall --quiet --disable-pip-version-check -y zerodrop >/dev/null 2>&1 || true
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

$(DEV_STAMP): $(STAMP) requirements-dev.txt app/requirements.txt
	@echo "make: installing the test and lint tools into $(VENV) (requirements-dev.txt)"
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.txt
	touch $(DEV_STAMP)

venv: $(DEV_STAMP) ## create .venv with the pinned lab, test and lint packages

setup: ## what demo and test need and this machine lacks: engine, compose plugin, base images
	$(SETUP)

lab-up: $(STAMP) ## build, start, and wait until Traefik routes every replica
	$(SETUP)
	$(PY) -m lab up

lab-down: $(STAMP) ## remove the lab's containers, networks and volumes
	$(PY) -m lab down

lab-status: $(STAMP) ## each replica's version, health and whether Traefik routes it
	$(PY) -m lab status

lab-logs: $(STAMP) ## follow the stack's logs
	$(PY) -m lab logs --follow

VERSION ?= v2
demo: lab-up ## probe the lab while it rolls to VERSION (default v2): figures and a timeline PNG
	$(PY) -m lab demo --to $(VERSION)

rollout: $(STAMP) ## roll the lab to VERSION (default v2), one replica at a time
	$(PY) -m lab rollout --to $(VERSION)

rollback: $(STAMP) ## roll back to the version that ran before the last rollout
	$(PY) -m lab rollback

ROUNDS ?= 3
soak: $(STAMP) ## roll v1 -> v2 -> v1 ... ROUNDS times (default 3) on a private stack under the probe
	$(PY) -m lab soak --rounds $(ROUNDS)

clean-lab: $(STAMP) ## remove stacks killed test runs left behind (zdtest-*, zdws-*, zdfault-*, zdsoak-*, zdbench-*, Swarm zdswarm-*), only those
	$(PY) -m lab clean-lab

recover: $(STAMP) ## mend what a killed rollout left behind: back to APP_REPLICAS ready, routed replicas
	$(PY) -m lab recover

probe: $(STAMP) ## load through Traefik until Ctrl-C (the workshop's load: 4 long, 20 GET/s, 10 POST/s), tally and summary
	$(PY) -m lab probe --until-signal --long 4 --short-rate 20 --write-rate 10 --report out/probe.json

workshop-7: $(STAMP) ## workshop page 07: the pre-flight lint on the lab's file, then on a file with a trap (no Docker)
	$(PY) -m lab lint
	$(PY) -m lab lint -f tests/unit/fixtures/lint/grace-request.yml && exit 1 || echo "workshop 7: the trap was found (lint exit 1), as it should be"

workshop-%: $(STAMP) ## workshop page N (1-6, 9, 11 and 12; 7 is the lint; 8 is bench-swarm; 10 bench-cluster), e.g. `make workshop-3`: broken, then fixed, with figures
	$(PY) -m lab workshop $*

keepalive-race: $(STAMP) ## the keep-alive race measurement (outside the numbered pages): 1,620 writes per variant
	$(PY) -m lab workshop keepalive-race

test: $(DEV_STAMP) ## sets up what is missing, then unit tests, `pipx install .` checked, then lab tests on the real stack
	$(SETUP)
	$(PY) -m pytest tests/unit -q
	bash scripts/check-install.sh
	bash scripts/build-cluster-node-image.sh
	bash scripts/setup-browser.sh
	$(PY) -m pytest tests/lab -m lab -v -s --durations=40

test-unit: $(DEV_STAMP) ## the tests that need no Docker engine (one reads files with the compose CLI)
	$(PY) -m pytest tests/unit -q

test-lab: $(DEV_STAMP) ## the lab tests only (real Docker, Traefik, uvicorn)
	$(PY) -m pytest tests/lab -m lab -v -s

test-rollout: $(DEV_STAMP) ## the rollout lab tests only (zero drops under load, failure, rollback)
	$(PY) -m pytest tests/lab/test_rollout.py -m lab -v -s

test-faults: $(DEV_STAMP) ## the fault matrix only (crashes, kills, Traefik restart, interrupts, recovery)
	$(PY) -m pytest tests/lab/test_faults.py -m lab -v -s

test-workshop: $(DEV_STAMP) ## the workshop lab tests only (each broken variant fails, each fix holds)
	$(PY) -m pytest tests/lab/test_workshop.py -m lab -v -s

bench-probe: $(STAMP) ## how much load the probe sustains through Traefik (lab must be up)
	PYTHONPATH=. $(PY) bench/probe_capacity.py

bench-strategies: $(STAMP) ## 5 strategies x 2 loads x 3 healthcheck intervals, and N = 2/4/8: one table, one PNG (~1 h)
	PYTHONPATH=. $(PY) bench/strategies.py

ROUNDS_H2H ?= 3
bench-head-to-head: $(STAMP) ## drain + sleep 10 against --max-surge N at 1 s / 10 s healthchecks, both loads, 3 rounds (~25 min)
	PYTHONPATH=. $(PY) bench/strategies.py --head-to-head --repeat $(ROUNDS_H2H) --out out/bench-head-to-head

bench-rollout-calls: $(STAMP) ## one --max-surge N rollout at 1,000 GET/s with every Docker, Traefik and CLI call timed (~1 min)
	PYTHONPATH=. $(PY) bench/rollout_calls.py

bench-own-service: $(STAMP) ## the example shop v1 -> v2 under load: zerodrop, docker compose up -d, and docker-rollout's drain-file recipe if DOCKER_ROLLOUT names its script (~4 min)
	PYTHONPATH=. $(PY) bench/own_service.py

bench-up: $(STAMP) ## the whole-project example, every image changed, under two probes: zerodrop up beside docker compose up -d (~3 min)
	PYTHONPATH=. $(PY) bench/up.py

bench-proxy-handover: $(STAMP) ## replacing Traefik itself under load: compose's recreate beside two Traefiks on one port (reusePort), with and without tcp_migrate_req (~8 min)
	PYTHONPATH=. $(PY) bench/proxy_handover.py

proxy-rollout: $(STAMP) ## replace Traefik itself under the probe with streams (anchor override; TRAEFIK_IMAGE= the new one's image, else a changed static setting): 0 failed, 0 streams dropped (~1 min)
	env -u TRAEFIK_IMAGE PROXY_ROLLOUT_IMAGE="$(TRAEFIK_IMAGE)" $(PY) -m lab workshop 12 --variant fixed

bench-defaults: $(STAMP) ## Docker's default 30s healthcheck: the overlapped and the sequential rollout and docker-rollout's sleep recipe, 2 and 4 replicas, under load with streams (~25 min)
	PYTHONPATH=. $(PY) bench/defaults.py

bench-health-reset: $(STAMP) ## whether a Traefik reload puts a server its own health check marked DOWN back in rotation (~3 min)
	PYTHONPATH=. $(PY) bench/health_reset.py

bench-streams: $(STAMP) ## every strategy once while the probe holds 4 SSE streams and 2 WebSockets: held, handed over, dropped by kind (~8 min)
	PYTHONPATH=. $(PY) bench/streams.py --out out/bench-streams

bench-smoke: $(STAMP) ## one cell of bench-strategies (the documented recipe and --max-surge N), ~2 min
	PYTHONPATH=. $(PY) bench/strategies.py --smoke --out out/bench-smoke

swarm-up: $(STAMP) ## Swarm: swarm mode on if off, deploy docker-stack.yml, wait until Traefik routes every task
	$(PY) -m lab swarm up

swarm-rollout: $(STAMP) ## Swarm: roll to VERSION (default v2) with Swarm's own rolling update
	$(PY) -m lab swarm rollout --to $(VERSION)

swarm-status: $(STAMP) ## Swarm: the app's tasks and what Traefik routes
	$(PY) -m lab swarm status

swarm-down: $(STAMP) ## Swarm: remove the stack; swarm mode off again if swarm-up switched it on
	$(PY) -m lab swarm down

test-conformance: $(DEV_STAMP) ## the conformance matrix: services none of us wrote (conformance/), each rolled under load (~10 min)
	$(SETUP)
	bash scripts/build-debian-base.sh >/dev/null
	ZERODROP_CONFORMANCE=all $(PY) -m pytest tests/lab/test_conformance.py -m lab -v -s

test-swarm: $(DEV_STAMP) ## the Swarm lab tests: broken update drops, fixed drops none, failed update rolls back
	$(PY) -m pytest tests/lab/test_swarm.py -m lab -v -s

check-install: ## `pipx install .` in a throwaway place: the installed zerodrop answers --help, --version, the plugin metadata
	bash scripts/check-install.sh

bench-swarm: $(STAMP) ## Swarm's rolling update under the probe: broken, fixed, fast poll, rollback (~5 min)
	PYTHONPATH=. $(PY) bench/swarm_variants.py

cluster-image: ## the Swarm node image (Debian trixie's Engine 26), built once by a script, cached
	$(SETUP)
	bash scripts/build-cluster-node-image.sh

cluster-up: $(STAMP) cluster-image ## 3-node Swarm (Engine-26 nodes in containers), stack deployed, Traefik at 127.0.0.1:8108
	$(PY) -m lab cluster up

cluster-rollout: $(STAMP) ## the cluster: roll to VERSION (default v2) with Swarm's own rolling update
	$(PY) -m lab cluster rollout --to $(VERSION)

cluster-status: $(STAMP) ## the cluster: each node's state, its app tasks, what Traefik routes
	$(PY) -m lab cluster status

cluster-down: $(STAMP) ## the cluster: remove its nodes (and everything in them) and its network
	$(PY) -m lab cluster down

test-cluster: $(DEV_STAMP) cluster-image ## the cluster's lab tests: fixed update drops none, broken drops, a killed worker
	$(PY) -m pytest tests/lab/test_cluster.py -m lab -v -s

bench-cluster: $(STAMP) cluster-image ## the cluster under the probe: updates and node faults, with windows (~8 min)
	PYTHONPATH=. $(PY) bench/cluster_faults.py

bench-start-interval: $(STAMP) cluster-image ## the compose lab's rollout at interval 30s: Engine 20.10 vs 26, without and with start_interval (~5 min)
	PYTHONPATH=. $(PY) bench/start_interval.py

workshop-10: bench-cluster ## workshop page 10 (three nodes: updates and node faults): runs bench-cluster

workshop-8: bench-swarm ## workshop page 08 (Swarm's rolling update, broken then fixed): runs bench-swarm

lint: $(DEV_STAMP) ## ruff (lint + format check), mypy, and the compose pre-flight check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) -m lab lint

provision: ## bare Debian host: install and start a Docker engine, add the compose plugin
	bash scripts/provision-host.sh

images-offline: ## no registry: build the python and traefik base images locally, point .env at them
	bash scripts/build-offline-images.sh
