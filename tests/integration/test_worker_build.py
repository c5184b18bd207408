"""The offline worker build: cache reuse and the DTLS fix being part of the binary we run."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

from mediasoup_driver import resolve_worker_bin

from tests.conftest import REPO

PATCHES = REPO / "third_party" / "mediasoup-worker" / "patches"
DTLS_PATCH = PATCHES / "0001-dtls-bio-callback-return-bit.patch"
PRISTINE_WORKER = REPO / "build" / "mediasoup-package" / "worker"


def _build_info() -> dict:
    binary = Path(resolve_worker_bin()).resolve()
    return json.loads((binary.parent / "build-info.json").read_text())


def test_second_build_is_a_cache_hit() -> None:
    env = dict(os.environ, MESON=str(REPO / ".venv" / "bin" / "meson"))
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "build-worker.sh")],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert "worker: cache hit" in result.stdout, result.stdout + result.stderr
    assert "ninja" not in result.stdout


def test_binary_in_use_was_built_with_the_current_patches() -> None:
    info = _build_info()
    assert info["mediasoup_version"] == "3.27.1"
    assert DTLS_PATCH.name in info["patches"]
    listing = "".join(
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  ./{p.name}\n"
        for p in sorted(PATCHES.glob("*.patch"))
    )
    assert info["patch_hash"] == hashlib.sha256(listing.encode()).hexdigest()[:16]


def test_dtls_patch_fixes_the_bio_callback_of_the_pristine_source(tmp_path: Path) -> None:
    source = PRISTINE_WORKER / "src" / "RTC" / "DtlsTransport.cpp"
    pristine = source.read_text()
    assert "(operationType == BIO_CB_RETURN)" in pristine  # the bug is there upstream
    target = tmp_path / "worker" / "src" / "RTC"
    target.mkdir(parents=True)
    shutil.copy(source, target / "DtlsTransport.cpp")
    subprocess.run(
        ["patch", "-d", str(tmp_path), "-p1", "--forward", "--quiet", "-i", str(DTLS_PATCH)],
        check=True,
    )
    patched = (target / "DtlsTransport.cpp").read_text()
    assert "(operationType & BIO_CB_RETURN)" in patched
    assert "(operationType == BIO_CB_RETURN)" not in patched
