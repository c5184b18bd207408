#!/usr/bin/env bash
# Generates the Python gRPC stubs of protos/*.proto into protos/ (make proto).
# Run from the repository root so that the generated modules import each other
# as `protos.media_node_pb2`.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-.}"
"${PYTHON:-.venv/bin/python}" -m grpc_tools.protoc -I . \
  --python_out="$out" --pyi_out="$out" --grpc_python_out="$out" protos/media_node.proto
