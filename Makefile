# VAS-MS — every install step lives here (see README.md).
#   make run    install what is missing, then start the system
#   make test   install what is missing, then run lint + the whole test suite
#   make setup  the idempotent install step both depend on

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DRIVER := packages/mediasoup-driver
PIP_STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(DRIVER)/pyproject.toml | sha256sum | cut -c1-12)
FBS_OUT := $(DRIVER)/src/mediasoup_driver/fbs
# What the driver's own tests run against: our worker build and the npm package it came from.
DRIVER_TEST_ENV := MEDIASOUP_WORKER_BIN=$(abspath build/worker/mediasoup-worker) \
	MEDIASOUP_PACKAGE_DIR=$(abspath build/mediasoup-package) \
	MEDIASOUP_TEST_WORK=$(abspath build/driver-tests)

.PHONY: setup apt venv worker web codegen proto test lint unit conformance run cluster certs bench clean

setup: apt venv worker web

apt:
	@bash scripts/install-apt-deps.sh

venv: $(PIP_STAMP)

$(PIP_STAMP): pyproject.toml $(DRIVER)/pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e $(DRIVER)
	$(PY) -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

# Builds (or reuses from ~/.cache/vasms/worker/) mediasoup-worker from the npm
# tarball with Debian's libraries; see third_party/mediasoup-worker/README.md.
worker: apt venv
	@MESON=$(abspath $(VENV))/bin/meson bash scripts/build-worker.sh

# The browser player (web/: TypeScript on mediasoup-client) and the demo page the control
# API serves at / (control_api/api/web.py): npm ci from web/package-lock.json, then
# tsc --noEmit and esbuild into build/web/. See docs/web-player.md.
WEB_OUT := build/web
WEB_DEPS := web/node_modules/.package-lock.json
WEB_SRC := $(shell find web/src web/static -type f 2>/dev/null) web/build.mjs web/tsconfig.json

web: $(WEB_OUT)/index.html

$(WEB_DEPS): web/package.json web/package-lock.json | apt
	cd web && npm ci --no-audit --no-fund
	@touch $@

$(WEB_OUT)/index.html: $(WEB_DEPS) $(WEB_SRC)
	cd web && npm run --silent build

# Regenerates the Python FlatBuffers code from the worker's schemas.
codegen: worker
	$(PY) $(DRIVER)/scripts/codegen_fbs.py --schemas build/mediasoup-package/worker/fbs --out $(FBS_OUT)

# Regenerates the gRPC stubs (protos/media_node_pb2*.py) from protos/media_node.proto.
proto: venv
	bash scripts/gen_proto.sh

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	cd $(DRIVER) && $(abspath $(VENV))/bin/mypy

test: setup lint
	cd $(DRIVER) && $(DRIVER_TEST_ENV) $(abspath $(VENV))/bin/pytest -q
	$(VENV)/bin/pytest -q

# The whole product on this machine: media node + control API + a live demo stream.
run: setup
	$(PY) scripts/run_local.py

# A cluster on this machine: PostgreSQL-backed control API x2 (8080, 8081) and media
# nodes x3, using the PostgreSQL server at 127.0.0.1:5432 (database vasms_cluster),
# node gRPC over mutual TLS with the certificates of `make certs`.
cluster: setup certs
	$(PY) scripts/cluster.py

# A development CA plus node and client certificates for node gRPC mTLS, in var/certs/
# (ca.pem, node.pem, node-key.pem, client.pem, client-key.pem); existing ones are kept.
certs: venv
	$(PY) scripts/certs.py

bench: setup
	$(PY) bench/worker_channel.py
	$(PY) bench/driver_vs_node.py
	$(PY) bench/consume_latency.py
	$(PY) bench/node_tls.py
	$(PY) bench/on_demand.py
	$(PY) bench/av_offset.py

clean:
	rm -rf build $(VENV)
