"""The README's main example runs as written against the real worker and prints what the
README says it prints, so the documentation cannot drift from the API."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import DRIVER_ROOT, WORKER_BIN

README = DRIVER_ROOT / "README.md"
MARKER = "<!-- readme-example:"


def _blocks_after_marker(text: str) -> tuple[str, str]:
    """The python block that follows the marker, and the text block after it (the output)."""
    start = text.index(MARKER)
    fences = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
    blocks = [(m.group(1), m.group(2)) for m in fences.finditer(text, start)]
    assert blocks[0][0] == "python" and blocks[1][0] == "text", blocks[:2]
    return blocks[0][1], blocks[1][1]


def test_readme_example_runs_and_prints_what_the_readme_says(tmp_path: Path) -> None:
    code, expected = _blocks_after_marker(README.read_text())
    script = tmp_path / "example.py"
    script.write_text(code)
    # Run from an empty directory so only the installed package can be imported, with
    # the binary named the way the README tells users to name it.
    env = dict(os.environ, MEDIASOUP_WORKER_BIN=str(WORKER_BIN))
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    pattern = "".join(
        re.escape(line).replace(re.escape("<port>"), r"\d+") + r"\n"
        for line in expected.splitlines()
    )
    assert re.fullmatch(pattern, done.stdout), done.stdout
