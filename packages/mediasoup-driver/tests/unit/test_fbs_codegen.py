"""The committed FlatBuffers code is exactly what `make codegen` produces from the schemas."""

from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path

from tests.conftest import DRIVER_ROOT, MEDIASOUP_PACKAGE

SCHEMAS = MEDIASOUP_PACKAGE / "worker" / "fbs"
COMMITTED = DRIVER_ROOT / "src" / "mediasoup_driver" / "fbs"


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*.py")}


def test_generated_code_matches_the_schemas(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            str(DRIVER_ROOT / "scripts" / "codegen_fbs.py"),
            "--schemas",
            str(SCHEMAS),
            "--out",
            str(tmp_path),
        ],
        check=True,
    )
    assert _tree(tmp_path) == _tree(COMMITTED)
    differing = [
        rel for rel in _tree(tmp_path) if not filecmp.cmp(tmp_path / rel, COMMITTED / rel, False)
    ]
    assert differing == [], f"stale generated files (run `make codegen`): {differing[:5]}"
    assert len(_tree(COMMITTED)) > 200
