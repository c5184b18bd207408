"""Fast start in headless Chromium: a viewer joining a passed-through 10 s GOP camera
mid-GOP plays the half-height bridge at once, then the camera's own 1280x720 from its
next key frame. Real gst-rtsp-server camera, demo page player, control API, media node."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.control_api.flows import live_stream
from tests.control_api.support import ADMIN, Node, make_settings, serve
from tests.e2e.browser import Browser
from tests.e2e.test_web_player import all_playing_js, assert_plays, report_ttff
from tests.support.rtsp_server import RtspServer


def size_js(width: int) -> str:
    """Truthy once the first player shows a picture `width` wide."""
    return (
        "(() => { const s = window.vasmsDemo?.snapshot() ?? [];"
        f" return s.length && s[0].videoWidth === {width} ? s[0] : null; }})()"
    )


async def test_a_joining_chromium_viewer_starts_on_the_bridge_then_gets_the_camera(
    db_url: str, node: Node, browser: Browser, tmp_path: Path
) -> None:
    camera = await RtspServer.start(kind="h264-high", size=(1280, 720), fps=25, gop=250)
    try:
        settings = make_settings(db_url, media_nodes=[node.address], node_token=node.token)
        async with serve(settings) as api:
            admin = await api.token(*ADMIN)
            stream = await live_stream(
                api, admin, {"name": "cam", "source": {"type": "rtsp", "url": camera.url}}
            )
            # Join inside the camera's 10 s GOP, once the bridge has started (at the
            # camera's first key frame): a deliberate pause, nothing to await instead.
            await asyncio.sleep(2)
            token = await api.user("fast-viewer", "viewer")
            await browser.goto(f"{api.base_url}/#token={token}&play={stream['id']}")
            first = await browser.wait_for(all_playing_js(1), within=45)
            print(f"\n  first picture {first[0]['videoWidth']}x{first[0]['videoHeight']}")
            assert (first[0]["videoWidth"], first[0]["videoHeight"]) == (640, 360), first
            later = await browser.wait_for(size_js(1280), within=45)
            assert later["videoHeight"] == 720, later
            played = await assert_plays(browser, 0, tmp_path, min_colours=8)
            report_ttff(played["stats"], "fast start, GOP 10 s")
            events = await browser.events()
            assert not events["pageErrors"], events["pageErrors"]
    finally:
        await camera.stop()
