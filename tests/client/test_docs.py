"""The analytics example of docs/python-client.md, run as written against the real stack."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

from tests.client.support import VIEWER, Stack, png_pixels
from tests.control_api.support import REPO

DOC = REPO / "docs" / "python-client.md"


def example_source() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    [example] = [b for b in blocks if b.startswith('"""count_frames.py')]
    return example


async def test_docs_analytics_example_counts_frames_and_saves_every_nth(
    stack: Stack, tmp_path: Path
) -> None:
    stream = await stack.demo_stream()
    script = tmp_path / "count_frames.py"
    script.write_text(example_source())
    out = tmp_path / "frames"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VASMS_")}
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "VASMS_URL": stack.url,
            "VASMS_USERNAME": VIEWER[0],
            "VASMS_PASSWORD": VIEWER[1],
        }
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        stream["id"],
        "--every",
        "10",
        "--out",
        str(out),
        "--max-frames",
        "45",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 90)
    assert process.returncode == 0, stderr.decode()
    saved = sorted(p.name for p in out.iterdir())
    assert saved == [f"frame-{i:06d}.png" for i in (0, 10, 20, 30, 40)], saved
    width, height, colours = png_pixels(out / saved[-1])
    assert (width, height) == (424, 240) and len(colours) > 50
    assert "45 frames (5 saved)" in stdout.decode(), stdout.decode()

    # The example's error path: an unknown stream exits 2 with a message, no traceback.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        "no-such-stream",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2 and b"no stream no-such-stream" in stderr
