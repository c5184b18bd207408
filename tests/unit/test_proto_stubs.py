"""The committed gRPC stubs are exactly what `make proto` generates from the .proto."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import REPO

GENERATED = ["media_node_pb2.py", "media_node_pb2.pyi", "media_node_pb2_grpc.py"]


def test_committed_stubs_match_the_proto(tmp_path: Path) -> None:
    subprocess.run(["bash", str(REPO / "scripts" / "gen_proto.sh"), str(tmp_path)], check=True)
    for name in GENERATED:
        fresh = (tmp_path / "protos" / name).read_text()
        committed = (REPO / "protos" / name).read_text()
        assert fresh == committed, f"protos/{name} is stale: run `make proto`"
