"""Cameras of each kind play in headless Chromium at the camera's size (transcode auto):
H.264 baseline, main and high passed through as the camera sends them, H.265 and
MJPEG transcoded to H.264 by the node. Real gst-rtsp-server cameras, the real demo
page player (`#token=…&play=…`), the real control API and media node."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.control_api.flows import live_stream
from tests.control_api.support import ADMIN, Node, make_settings, serve
from tests.e2e.browser import Browser
from tests.e2e.test_web_player import all_playing_js, assert_plays, report_ttff
from tests.support.rtsp_server import RtspServer


@pytest.mark.parametrize("kind", ["h264", "h264-main", "h264-high", "h265", "mjpeg"])
async def test_camera_plays_in_chromium_at_its_size(
    db_url: str, node: Node, browser: Browser, tmp_path: Path, kind: str
) -> None:
    camera = await RtspServer.start(kind=kind, size=(1280, 720), fps=15, gop=15)
    try:
        settings = make_settings(db_url, media_nodes=[node.address], node_token=node.token)
        async with serve(settings) as api:
            admin = await api.token(*ADMIN)
            stream = await live_stream(
                api, admin, {"name": kind, "source": {"type": "rtsp", "url": camera.url}}
            )
            token = await api.user("cam-viewer", "viewer")
            await browser.goto(f"{api.base_url}/#token={token}&play={stream['id']}")
            await browser.wait_for(all_playing_js(1), within=45)
            played = await assert_plays(browser, 0, tmp_path, min_colours=8)
            print(f"\n  {kind}:")
            report_ttff(played["stats"], kind)
            assert (played["videoWidth"], played["videoHeight"]) == (1280, 720), played
            assert "H264" in str(played["stats"]["codec"]).upper(), played["stats"]
            events = await browser.events()
            assert not events["pageErrors"], events["pageErrors"]
    finally:
        await camera.stop()
