"""Scalability mode parsing, checked by hand and against mediasoup's scalabilityModesUtils.js."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest
from mediasoup_driver.scalability_modes import parse_scalability_mode

from tests.conftest import CONFORMANCE_WORK, RUN_SH

DEFAULT = {"spatialLayers": 1, "temporalLayers": 1, "ksvc": False}


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("L1T3", {"spatialLayers": 1, "temporalLayers": 3, "ksvc": False}),
        ("L3T3_KEY", {"spatialLayers": 3, "temporalLayers": 3, "ksvc": True}),
        ("S2T1", {"spatialLayers": 2, "temporalLayers": 1, "ksvc": False}),
        ("L10T12", {"spatialLayers": 10, "temporalLayers": 12, "ksvc": False}),
        # Only the start is anchored: suffixes are ignored.
        ("L2T3h", {"spatialLayers": 2, "temporalLayers": 3, "ksvc": False}),
        ("L3T3_KEY_SHIFT", {"spatialLayers": 3, "temporalLayers": 3, "ksvc": True}),
        ("L1T2_key", {"spatialLayers": 1, "temporalLayers": 2, "ksvc": False}),
        ("L1T100", {"spatialLayers": 1, "temporalLayers": 10, "ksvc": False}),
    ],
)
def test_parse_scalability_mode(mode: str, expected: dict[str, Any]) -> None:
    assert parse_scalability_mode(mode) == expected


@pytest.mark.parametrize(
    "mode",
    [None, "", "foo", "l1t3", "L0T1", "L1T0", "L100T1", " L1T3", "T3", "L\u0663T1", 13],
)
def test_unreadable_modes_mean_a_single_layer(mode: Any) -> None:
    assert parse_scalability_mode(mode) == DEFAULT


MODES = [
    "L1T1", "L1T2", "L1T3", "L2T1", "L2T2", "L2T3", "L3T1", "L3T2", "L3T3", "L2T1h", "L2T2h",
    "L2T3h", "L2T1_KEY", "L2T2_KEY", "L2T3_KEY", "L3T1_KEY", "L3T2_KEY", "L3T3_KEY", "S2T1",
    "S2T3", "S3T3h", "L3T3_KEY_SHIFT", "L9T9", "L10T1", "L99T99", "L100T1", "L1T100", "L0T1",
    "X1T1", "l1t1", "", "L1", "L1T", "LT1", " L1T1", "L1T1 ", "L01T1", "L1T01", "L\u0663T1",
    "S1T1_KEY",
]  # fmt: skip


def test_same_result_as_mediasoup_scalability_modes_utils() -> None:
    lib = CONFORMANCE_WORK / "mediasoup" / "node" / "lib"
    if not (lib / "scalabilityModesUtils.js").exists():
        prepare = subprocess.run(
            ["bash", str(RUN_SH), "--prepare-only"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert prepare.returncode == 0, prepare.stderr[-4000:]
    script = (
        "const { parseScalabilityMode } = require(process.env.UTILS);"
        "const modes = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "process.stdout.write(JSON.stringify(modes.map((m) => parseScalabilityMode(m))));"
    )
    run = subprocess.run(
        ["node", "-e", script],
        input=json.dumps(MODES),
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "UTILS": str(lib / "scalabilityModesUtils.js"),
            "PATH": os.environ["PATH"],
        },
        check=False,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    node = json.loads(run.stdout)
    assert [parse_scalability_mode(mode) for mode in MODES] == node
    assert DEFAULT in node
    assert any(result["ksvc"] for result in node)
