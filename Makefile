# OmniStock developer entry points. `make run` and `make test` work from a fresh clone:
# they create .venv, install the pinned dependencies and generate the gRPC stubs first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PROTO_OUT := libs/omnistock_protos
PROTOS := $(shell find proto -name '*.proto')

.PHONY: help venv proto proto-lint openapi web web-lint screenshots web-dev web-if-npm run test test-unit test-integration e2e lint fmt lock lock-runtime generate migrate bench bench-loadgen fuzz up down clean

help:
	@echo "make run              - start gateway, services, workers, channel connectors + sandboxes locally (demo tenant connected)"
	@echo "make openapi          - rewrite web/openapi.json (the dashboard's API types) from the gateway's routes"
	@echo "make web              - build the dashboard (web/ -> web/dist: npm ci, OpenAPI types, tsc strict, vite)"
	@echo "make web-dev          - the dashboard's Vite dev server (hot reload) on :5173, /api proxied to :8080"
	@echo "make test             - ruff + buf + the whole test suite (server tests skip loudly without their server;"
	@echo "                        under CI=true or OMNISTOCK_REQUIRE_SERVERS=1 they FAIL instead)"
	@echo "make test-unit        - only the tests that need no PostgreSQL, Redis or RabbitMQ (server ports refused)"
	@echo "make test-integration - the tests that need PostgreSQL, Redis or RabbitMQ, without tests/e2e (servers required)"
	@echo "make e2e              - the end-to-end tests under tests/e2e (servers required)"
	@echo "make lint             - ruff check + ruff format --check"
	@echo "make fmt              - ruff --fix + ruff format"
	@echo "make proto            - regenerate gRPC stubs from proto/ (make proto-lint: buf lint + breaking)"
	@echo "make generate         - rewrite Procfile, docker-compose.yml and k8s/ from deploy/deployables.toml"
	@echo "make migrate          - apply every service's migrations to its configured database"
	@echo "make bench            - run the benchmarks under bench/"
	@echo "make fuzz             - a long schemathesis run over the whole API of a full local stack"
	@echo "make up / make down   - the whole stack in Docker (needs a Docker engine with docker compose)"
	@echo "make clean            - remove .venv, tools, generated stubs and var/"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24"

# Reinstall pinned third-party dependencies only when the lock file changes.
$(VENV)/.deps: requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	touch $@

# Generated code is never edited by hand; it is rebuilt whenever a .proto changes.
$(PROTO_OUT)/.stamp: $(PROTOS) $(VENV)/.deps
	rm -rf $(PROTO_OUT)/omnistock
	mkdir -p $(PROTO_OUT)
	$(BIN)/python -m grpc_tools.protoc -Iproto --python_out=$(PROTO_OUT) --pyi_out=$(PROTO_OUT) \
		--grpc_python_out=$(PROTO_OUT) $(PROTOS)
	touch $@

proto: $(PROTO_OUT)/.stamp

# buf (lint STANDARD + breaking FILE against main) from the npm registry, pinned, into .tools/.
BUF_VERSION := 1.75.0
BUF := .tools/node_modules/.bin/buf
$(BUF):
	mkdir -p .tools && cd .tools && npm install --silent --no-audit --no-fund @bufbuild/buf@$(BUF_VERSION) >/dev/null

proto-lint: $(BUF)
	cd proto && ../$(BUF) lint
	@if git rev-parse --verify -q main >/dev/null && git cat-file -e main:proto/buf.yaml 2>/dev/null; then \
		cd proto && ../$(BUF) breaking --against '../.git#branch=main,subdir=proto'; \
	else echo "buf breaking: no proto/ on main yet, skipped"; fi

# Editable install of our own packages (libs + services) and the `omnistock` console script.
$(VENV)/.installed: pyproject.toml $(PROTO_OUT)/.stamp
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

venv: $(VENV)/.installed

# Every database of the registry (deploy/deployables.toml), each brought to its Alembic head.
migrate: venv
	@mkdir -p var
	$(BIN)/python -m omnistock_common.migrate_all $$($(BIN)/python -m omnistock_devtools.registry databases)

# The Procfile, docker-compose.yml and k8s/ are generated from deploy/deployables.toml;
# tests/deploy fails while one of them is stale.
generate: venv
	$(BIN)/python -m omnistock_devtools.registry generate

# The dashboard (web/): npm ci when the lock file changed, then a build whenever a source changed.
# web/dist/.built is the stamp (vite empties dist/ on each build, so a removed dist rebuilds).
WEB_SOURCES := $(shell find web/src -type f ! -name schema.d.ts 2>/dev/null) web/index.html \
	web/openapi.json web/package.json web/vite.config.ts web/tsconfig.json web/eslint.config.js
web/node_modules/.ci-stamp: web/package-lock.json web/package.json
	cd web && npm ci --no-audit --no-fund
	touch $@

web/dist/.built: web/node_modules/.ci-stamp $(WEB_SOURCES)
	cd web && npm run build
	touch $@

web: web/dist/.built

# ESLint over web/src: type-aware TypeScript rules, React's hook rules and jsx-a11y (labelled
# controls, valid ARIA). The type check itself is part of the build (tsc --noEmit). The typed
# client (src/api/schema.d.ts, generated, not committed) is written first: a fresh clone has none.
web-lint: web/node_modules/.ci-stamp
	cd web && npm run gen:api && npm run lint

# The gateway's OpenAPI document as the dashboard's committed snapshot (a test fails while stale).
openapi: venv
	$(BIN)/python -m gateway.openapi_snapshot

# `make run` and `make test` build the dashboard when npm is there, and say loudly when it is not.
web-if-npm:
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory web; \
	else echo "!!! npm not found: the dashboard (web/) is NOT built; / explains how to build it !!!"; fi

# The dashboard's main pages as PNGs in docs/screenshots/ (README), from a demo stack in Chromium.
screenshots: venv web
	$(BIN)/python -m omnistock_devtools.screenshots

# Hot reload for dashboard work; run `make run` (the API on :8080) in another terminal.
web-dev: web/node_modules/.ci-stamp
	cd web && npm run gen:api && npm run dev

run: venv migrate web-if-npm
	$(BIN)/python -m omnistock_devtools.devrun

# Two pytest processes: tests that share a server's state (Redis, RabbitMQ), the slow timed ones
# and tests/e2e stay on one of them, one after another (omnistock_devtools.testing.SERIAL_GROUP).
# PYTEST_PARALLEL= (empty) runs everything in one process.
PYTEST_PARALLEL ?= -n 2 --dist loadgroup
# The slowest tests are listed at the end of every run: where the suite's time goes (target < 15 min).
PYTEST_ARGS ?= --durations=25

test: venv
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory proto-lint web-lint; \
	else echo "!!! npm not found: buf lint/breaking and the dashboard's lint SKIPPED !!!"; fi
	@$(MAKE) --no-print-directory web-if-npm
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS)

# Markers are added by the pytest plugin (omnistock_devtools.testing) from the fixtures a test
# uses; OMNISTOCK_FORBID_SERVERS makes a test that reaches a server without its marker fail.
SERVER_MARKERS := postgres or redis or rabbitmq

test-unit: venv
	OMNISTOCK_FORBID_SERVERS=1 $(BIN)/python -m pytest -m "not ($(SERVER_MARKERS))" $(PYTEST_ARGS)

test-integration: venv
	OMNISTOCK_REQUIRE_SERVERS=1 $(BIN)/python -m pytest -m "$(SERVER_MARKERS)" --ignore=tests/e2e $(PYTEST_ARGS)

e2e: venv
	OMNISTOCK_REQUIRE_SERVERS=1 $(BIN)/python -m pytest tests/e2e $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Re-resolve the lock file after changing dependencies in pyproject.toml (needs network to PyPI).
lock:
	$(PYTHON) -m pip install --quiet uv && $(PYTHON) -m uv pip compile pyproject.toml --extra dev \
		--python-version 3.11 --generate-hashes -o requirements.lock

# The images' lock: pyproject's runtime dependencies only, pinned to requirements.lock's versions.
lock-runtime:
	$(PYTHON) -m pip install --quiet uv && $(PYTHON) -m uv pip compile pyproject.toml \
		-c requirements.lock --python-version 3.11 --generate-hashes --no-header -o requirements-runtime.lock
	sed -i '1i # Runtime-only pins for the images (no dev tools): the [project] dependencies of pyproject.toml\n# at the SAME versions as requirements.lock (which it is compiled against). Regenerate after\n# requirements.lock changes: make lock-runtime' requirements-runtime.lock

# The C++ load generator of bench/reservations.py (needs g++ and grpc++: Debian libgrpc++-dev).
bench-loadgen: bench/.build/grpc_loadgen

bench/.build/grpc_loadgen: bench/loadgen/grpc_loadgen.cc
	@mkdir -p $(@D)
	$(CXX) -O2 -std=c++17 -Wall -Wextra -o $@ $< $$(pkg-config --cflags --libs grpc++)

bench: venv
	$(BIN)/python bench/catalog_import.py
	$(BIN)/python bench/reservations.py
	$(BIN)/python bench/sync_latency.py

# The acceptance fuzz test of `make test` (tests/security/test_fuzz_api.py), longer: more examples
# per operation and the stateful phase (chains create -> read -> change). Override FUZZ_* to tune.
FUZZ_MAX_EXAMPLES ?= 200
FUZZ_SEED ?= 20261206
FUZZ_PHASES ?= examples,coverage,fuzzing,stateful
FUZZ_TIMEOUT_SECONDS ?= 1800
fuzz: venv
	FUZZ_MAX_EXAMPLES=$(FUZZ_MAX_EXAMPLES) FUZZ_SEED=$(FUZZ_SEED) FUZZ_PHASES=$(FUZZ_PHASES) \
		FUZZ_TIMEOUT_SECONDS=$(FUZZ_TIMEOUT_SECONDS) \
		$(BIN)/python -m pytest tests/security/test_fuzz_api.py -k schemathesis -s $(PYTEST_ARGS)

up:
	docker compose up --build -d

down:
	docker compose down

clean:
	rm -rf $(VENV) .tools $(PROTO_OUT)/omnistock $(PROTO_OUT)/.stamp var web/node_modules web/dist
