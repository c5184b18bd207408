# VAS-MS — every install step lives here (see README.md).
#   make run    install what is missing, then start the system
#   make test   install what is missing, then run lint + the whole test suite
#   make setup  the idempotent install step both depend on

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP_STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)
FBS_OUT := media_node/mediasoup/fbs

.PHONY: setup apt venv worker codegen proto test lint unit conformance run bench clean

setup: apt venv worker

apt:
	@bash scripts/install-apt-deps.sh

venv: $(PIP_STAMP)

$(PIP_STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

# Builds (or reuses from ~/.cache/vasms/worker/) mediasoup-worker from the npm
# tarball with Debian's libraries; see third_party/mediasoup-worker/README.md.
worker: apt venv
	@MESON=$(abspath $(VENV))/bin/meson bash scripts/build-worker.sh

# Regenerates the Python FlatBuffers code from the worker's schemas.
codegen: worker
	$(PY) scripts/codegen_fbs.py --schemas build/mediasoup-package/worker/fbs --out $(FBS_OUT)

# Regenerates the gRPC stubs (protos/media_node_pb2*.py) from protos/media_node.proto.
proto: venv
	bash scripts/gen_proto.sh

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: setup lint
	$(VENV)/bin/pytest -q

run: setup
	$(PY) -m media_node

bench: setup
	$(PY) bench/worker_channel.py
	$(PY) bench/driver_vs_node.py

clean:
	rm -rf build $(VENV)
