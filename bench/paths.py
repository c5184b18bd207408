"""Where the benchmarks find the worker under test and mediasoup's Node lib (the baseline).

Both sides of every comparison run the same binary: this checkout's build (or
VASMS_WORKER_BIN), which the driver picks up through MEDIASOUP_WORKER_BIN and the
Node lib through the same variable.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORKER_BIN = Path(
    os.environ.get("VASMS_WORKER_BIN") or REPO / "build" / "worker" / "mediasoup-worker"
).resolve()
os.environ["MEDIASOUP_WORKER_BIN"] = str(WORKER_BIN)
_RUN_SH = REPO / "packages" / "mediasoup-driver" / "tests" / "conformance" / "run.sh"


def node_lib() -> str:
    """Installs mediasoup's Node lib from the same npm tarball (once) and returns its path."""
    env = dict(
        os.environ,
        MEDIASOUP_PACKAGE_DIR=str(REPO / "build" / "mediasoup-package"),
        MEDIASOUP_TEST_WORK=str(REPO / "build" / "driver-tests"),
    )
    done = subprocess.run(
        ["bash", str(_RUN_SH), "--prepare-only"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return done.stdout.strip().splitlines()[-1]
