"""The driver ships on its own (issue 12's acceptance): in a fresh virtualenv where only
``pip install packages/mediasoup-driver[test]`` was run — no FastAPI, gRPC or SQLAlchemy —
``import mediasoup_driver`` works and the driver's whole test suite passes against the
built worker, and the wheel carries ``py.typed`` and the generated ``fbs`` package.

The package is installed from a copy of its directory, and its tests run from that copy,
so nothing of this checkout is on the import path: the suite exercises the installed
wheel. PyPI (or the machine's pip configuration) provides the dependencies, through the
pip cache. Nothing here measures speed; the timeouts only stop a hung step.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DRIVER = REPO / "packages" / "mediasoup-driver"
PACKAGE_DIR = Path(
    os.environ.get("MEDIASOUP_PACKAGE_DIR") or REPO / "build" / "mediasoup-package"
).resolve()
# The Node test dependencies `make test` already installed for the driver suite.
PREPARED_NODE_DEPS = REPO / "build" / "driver-tests" / "conformance"
STEP_TIMEOUT = 900
MUST_BE_ABSENT = ("fastapi", "grpc", "sqlalchemy", "pydantic", "media_node", "control_api")

pytestmark = pytest.mark.timeout(3 * STEP_TIMEOUT)


@dataclass(frozen=True)
class FreshVenv:
    root: Path
    python: Path
    driver_copy: Path
    wheel: Path
    env: dict[str, str]


def _clean_env(venv: Path) -> dict[str, str]:
    """The caller's environment without anything that points Python at this checkout."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"}
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT
    )
    assert done.returncode == 0, f"{args}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FreshVenv]:
    root = tmp_path_factory.mktemp("driver-dist")
    copy = root / "mediasoup-driver"
    shutil.copytree(
        DRIVER,
        copy,
        ignore=shutil.ignore_patterns(
            "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "node_modules"
        ),
    )
    venv = root / "venv"
    # The interpreter this project runs on; `-m venv` builds from its base installation.
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=STEP_TIMEOUT)
    env = _clean_env(venv)
    python = venv / "bin" / "python"
    dist = root / "dist"
    _run(
        [str(python), "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(copy)],
        root,
        env,
    )
    (wheel,) = dist.glob("mediasoup_driver-*.whl")
    # What the acceptance names: install the package directory (with its test extra).
    _run([str(python), "-m", "pip", "install", "-q", f"{copy}[test]"], root, env)
    yield FreshVenv(root, python, copy, wheel, env)


def test_wheel_carries_py_typed_and_the_generated_fbs_package(fresh_venv: FreshVenv) -> None:
    names = set(zipfile.ZipFile(fresh_venv.wheel).namelist())
    assert "mediasoup_driver/py.typed" in names
    assert "mediasoup_driver/fbs/__init__.py" in names
    assert "mediasoup_driver/fbs/FBS/Worker/DumpResponse.py" in names
    source_fbs = DRIVER / "src" / "mediasoup_driver" / "fbs"
    expected = {
        "mediasoup_driver/fbs/" + str(p.relative_to(source_fbs)) for p in source_fbs.rglob("*.py")
    }
    assert len(expected) > 200
    assert expected <= names, sorted(expected - names)[:5]
    # Runtime dependency: flatbuffers only (the rest belongs to the `test` extra).
    (metadata_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
    metadata = zipfile.ZipFile(fresh_venv.wheel).read(metadata_name)
    requires = [
        line.split(":", 1)[1].strip()
        for line in metadata.decode().splitlines()
        if line.startswith("Requires-Dist:")
    ]
    runtime = [re.match(r"[A-Za-z0-9_.-]+", r).group(0) for r in requires if "extra ==" not in r]
    assert runtime == ["flatbuffers"], requires


def test_only_the_driver_is_importable_there(fresh_venv: FreshVenv) -> None:
    probe = (
        "import importlib.util, json, mediasoup_driver\n"
        f"names = {MUST_BE_ABSENT!r}\n"
        "print(json.dumps({'file': mediasoup_driver.__file__, 'worker': "
        "mediasoup_driver.Worker.__name__, 'present': "
        "[n for n in names if importlib.util.find_spec(n) is not None]}))\n"
    )
    # From inside the copy, as the suite runs: its src/ layout keeps the copy's sources
    # off the path, so this must be the installed package.
    done = _run([str(fresh_venv.python), "-c", probe], fresh_venv.driver_copy, fresh_venv.env)
    found = json.loads(done.stdout)
    assert found["present"] == []
    assert Path(found["file"]).is_relative_to(fresh_venv.root / "venv")
    assert found["worker"] == "Worker"
    listed = _run(
        [str(fresh_venv.python), "-m", "pip", "list", "--format=json"],
        fresh_venv.root,
        fresh_venv.env,
    )
    installed = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert "mediasoup-driver" in installed
    assert installed.isdisjoint({"vasms", "fastapi", "grpcio", "sqlalchemy", "protobuf"})


def test_the_driver_suite_passes_in_the_fresh_venv(fresh_venv: FreshVenv) -> None:
    work = fresh_venv.root / "test-work"
    if (PREPARED_NODE_DEPS / "node_modules").is_dir():  # else run.sh installs them (npm ci)
        (work / "conformance").mkdir(parents=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy2(PREPARED_NODE_DEPS / name, work / "conformance" / name)
        shutil.copytree(
            PREPARED_NODE_DEPS / "node_modules",
            work / "conformance" / "node_modules",
            symlinks=True,
        )
    env = dict(
        fresh_venv.env,
        MEDIASOUP_WORKER_BIN=os.environ["MEDIASOUP_WORKER_BIN"],
        MEDIASOUP_PACKAGE_DIR=str(PACKAGE_DIR),
        MEDIASOUP_TEST_WORK=str(work),
    )
    report = fresh_venv.root / "suite.xml"
    done = subprocess.run(
        [
            str(fresh_venv.python),
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junitxml={report}",
        ],
        cwd=fresh_venv.driver_copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT,
    )
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None
    counts = {k: int(suite.get(k, "0")) for k in ("tests", "failures", "errors", "skipped")}
    assert counts["failures"] == counts["errors"] == counts["skipped"] == 0, counts
    modules = {case.get("classname", "").rsplit(".", 1)[0] for case in suite.iter("testcase")}
    modules |= {case.get("classname", "") for case in suite.iter("testcase")}
    for module in (
        "tests.unit.test_fbs_codegen",
        "tests.unit.test_ortc",
        "tests.integration.test_worker",
        "tests.integration.test_producer_consumer",
        "tests.integration.test_readme_example",
        "tests.conformance.test_mediasoup_node_suite",
    ):
        assert module in modules, (module, sorted(modules)[:20])
    assert counts["tests"] > 300, counts
