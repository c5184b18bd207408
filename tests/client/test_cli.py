"""`vasms-watch` (run as `python -m vasms_client.cli`) against the real stack.

The command runs in a subprocess, as a user would run it; the API it talks to is served by
this test's event loop, so the subprocess is awaited, never waited for synchronously.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from pathlib import Path

from tests.client.support import VIEWER, Stack, png_pixels, vasms_watch
from tests.control_api.support import REPO, wait_until


async def test_watch_demo_stream_with_snapshot(stack: Stack, tmp_path: Path) -> None:
    stream = await stack.demo_stream()
    snapshot = tmp_path / "s.png"
    run = await vasms_watch(
        stream["id"],
        "--frames",
        "60",
        "--snapshot",
        str(snapshot),
        "--url",
        stack.url,
        "--username",
        VIEWER[0],
        "--password",
        VIEWER[1],
    )
    assert run.code == 0, run.stderr
    assert "Traceback" not in run.stderr
    # The summary: 60 frames, the stream's resolution, and the time to first frame.
    assert re.search(r"^frames\s+60 ", run.stdout, re.M), run.stdout
    assert re.search(r"^resolution\s+424x240$", run.stdout, re.M), run.stdout
    ttff = re.search(r"^time to first frame\s+([0-9.]+) s$", run.stdout, re.M)
    assert ttff and 0 < float(ttff.group(1)) < 10, run.stdout
    assert re.search(r"^ended\s+frames$", run.stdout, re.M)
    # Progress lines went to stderr (not a terminal here: plain lines).
    assert "fps" in run.stderr and "bitrate" in run.stderr
    # The PNG is the test pattern at the stream's resolution: a moving ball on a background
    # with a burnt-in clock, so many colours, not a single one.
    width, height, colours = png_pixels(snapshot)
    assert (width, height) == (424, 240)
    assert len(colours) > 50, f"{len(colours)} colours"
    # Nothing left on the node once the command exited.
    dump = await stack.node.dump()
    assert not [c for c in dump.consumers if c.client_id.startswith("vasms-watch-")]


async def test_json_summary_with_token_from_the_environment(stack: Stack) -> None:
    stream = await stack.demo_stream()
    token = await stack.api.token(*VIEWER)
    run = await vasms_watch(
        stream["id"],
        "--frames",
        "30",
        "--json",
        "--quiet",
        env={"VASMS_URL": stack.url, "VASMS_TOKEN": token},
    )
    assert run.code == 0, run.stderr
    assert run.stderr == ""  # --quiet: no progress; no warnings either
    summary = json.loads(run.stdout)
    assert summary["stream_id"] == stream["id"]
    assert summary["exit_code"] == 0 and summary["ended"] == "frames"
    assert summary["frames"] == 30
    assert (summary["width"], summary["height"]) == (424, 240)
    assert 0 < summary["time_to_first_frame_s"] < 10
    assert summary["fps"] > 10 and summary["bitrate_bps"] > 0
    assert summary["reconnects"] == 0 and summary["snapshot"] is None


async def test_seconds_limit(stack: Stack) -> None:
    stream = await stack.demo_stream()
    run = await vasms_watch(
        stream["id"],
        "--seconds",
        "2",
        "--json",
        env={"VASMS_URL": stack.url, "VASMS_USERNAME": VIEWER[0], "VASMS_PASSWORD": VIEWER[1]},
    )
    assert run.code == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["ended"] == "seconds"
    # Ended by the limit, not by a stall or a later event (the upper bound is generous:
    # the machine may be loaded; only the reason and the lower bound are exact).
    assert 2.0 <= summary["duration_s"] < 15.0
    assert summary["frames"] > 20


async def test_error_exit_codes_without_tracebacks(stack: Stack) -> None:
    stream = await stack.demo_stream()
    env = {"VASMS_URL": stack.url, "VASMS_USERNAME": VIEWER[0], "VASMS_PASSWORD": VIEWER[1]}

    wrong = await vasms_watch(stream["id"], env={**env, "VASMS_PASSWORD": "wrong-password"})
    assert wrong.code == 4, wrong.stderr
    assert "authentication refused" in wrong.stderr

    missing = await vasms_watch("no-such-stream", env=env)
    assert missing.code == 2, missing.stderr
    assert "stream no-such-stream not found" in missing.stderr

    await stack.stop(stream["id"])
    stopped = await vasms_watch(stream["id"], "--json", env=env)
    assert stopped.code == 3, stopped.stderr
    assert "is not live (status: stopped)" in stopped.stderr
    body = json.loads(stopped.stdout)
    assert body["exit_code"] == 3 and body["error"]["code"] == "stream_not_live"

    for run in (wrong, missing, stopped):
        assert "Traceback" not in run.stderr, run.stderr
        assert run.stderr.startswith("vasms-watch: "), run.stderr


async def test_ctrl_c_prints_the_summary_and_exits_130(stack: Stack) -> None:
    stream = await stack.demo_stream()
    env = {**os.environ, "PYTHONPATH": str(REPO), "VASMS_URL": stack.url}
    env.update({"VASMS_USERNAME": VIEWER[0], "VASMS_PASSWORD": VIEWER[1]})
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "vasms_client.cli",
        stream["id"],
        "--json",
        cwd=REPO,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )

    async def playing() -> bool:
        return bool(await stack.consumers_of(f"vasms-watch-{process.pid}"))

    await wait_until(playing, 20)
    await asyncio.sleep(1.0)
    process.send_signal(signal.SIGINT)
    out, err = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 130, err.decode()
    assert "Traceback" not in err.decode()
    summary = json.loads(out)
    assert summary["ended"] == "interrupted" and summary["frames"] > 0
    assert await stack.consumers_of(f"vasms-watch-{process.pid}") == []
