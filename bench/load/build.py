"""Builds the pion receiver (bench/load/recv) offline with Debian's Go and pion packages.

Debian ships pion as source under /usr/share/gocode (golang-github-pion-webrtc.v3-dev);
`go build` in GOPATH mode resolves `github.com/pion/webrtc/v3` there ("minimal module
compatibility", which needs the importing package to have a go.mod and live under a
GOPATH). So the sources are copied into a private GOPATH under build/ and built with
GO111MODULE=off: no module proxy, no network. Rebuilt only when a source changed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCE = Path(__file__).resolve().parent / "recv"
OUT = REPO / "build" / "bench"
BINARY = OUT / "vasms-loadrecv"
DEBIAN_GOPATH = Path("/usr/share/gocode")


def _digest() -> str:
    h = hashlib.sha256()
    for path in sorted(SOURCE.iterdir()):
        if path.suffix in (".go", ".mod"):
            h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()[:16]


def receiver_binary() -> Path:
    """The built receiver, building it first if its sources changed."""
    stamp = OUT / "vasms-loadrecv.src"
    digest = _digest()
    if BINARY.exists() and stamp.exists() and stamp.read_text() == digest:
        return BINARY
    if shutil.which("go") is None or not (DEBIAN_GOPATH / "src/github.com/pion/webrtc").is_dir():
        raise SystemExit(
            "bench/load needs Debian's golang-go and golang-github-pion-webrtc.v3-dev "
            "(scripts/apt-deps.txt; `make apt`)"
        )
    gopath = OUT / "gopath"
    package = gopath / "src" / "vasms" / "loadrecv"
    shutil.rmtree(package, ignore_errors=True)
    package.mkdir(parents=True)
    for path in SOURCE.iterdir():
        if path.suffix in (".go", ".mod"):
            shutil.copy2(path, package / path.name)
    env = dict(
        os.environ,
        GO111MODULE="off",
        GOPATH=f"{gopath}:{DEBIAN_GOPATH}",
        GOCACHE=str(OUT / "gocache"),
        GOFLAGS="",
        GOPROXY="off",
    )
    subprocess.run(["go", "build", "-o", str(BINARY), "."], cwd=package, env=env, check=True)
    stamp.write_text(digest)
    return BINARY


if __name__ == "__main__":
    print(receiver_binary())
