"""mediasoup's own Node test suite (same tarball) passes against our worker build."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import RUN_SH

EXPECTED_TESTS = 202


@pytest.mark.conformance
def test_mediasoup_node_test_suite_passes_against_our_worker(tmp_path: Path) -> None:
    report = tmp_path / "jest.json"
    result = subprocess.run(
        [
            "bash",
            str(RUN_SH),
            "--json",
            f"--outputFile={report}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert report.exists(), result.stdout[-2000:] + result.stderr[-4000:]
    summary = json.loads(report.read_text())
    failed = [
        f"{suite['name']}: {assertion['fullName']}"
        for suite in summary["testResults"]
        for assertion in suite["assertionResults"]
        if assertion["status"] != "passed"
    ]
    assert failed == []
    assert summary["numPassedTests"] == EXPECTED_TESTS
    assert summary["numTotalTestSuites"] == 17
    assert result.returncode == 0
