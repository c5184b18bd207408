"""The camera console in a real headless Chromium: sign in, add a camera, play, 4-tile wall.

A real RTSP camera (gst-rtsp-server, a moving ball), a real media node and the real
control API. The wall is judged from two screenshots a second apart: each of the four
tile regions must hold a picture and must have changed (moving video, not a still).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.control_api.support import make_settings, serve
from tests.e2e.browser import Browser
from tests.e2e.png import Image, decode, picture_stats
from tests.support.rtsp_server import RtspServer

HIDE_OVERLAYS = ".overlay, .close { visibility: hidden !important; }"


def all_playing_js(count: int) -> str:
    return (
        "(() => { const s = window.vasmsDemo?.snapshot() ?? [];"
        f" return s.length === {count} && s.every(t => t.state === 'playing'"
        " && t.videoWidth > 0 && t.totalVideoFrames > 5) ? s : null; })()"
    )


def region_change(a: Image, b: Image, box: tuple[int, int, int, int], step: int = 3) -> float:
    """Mean absolute difference (0..255) of the two pictures inside `box` (x, y, w, h)."""
    x0, y0, w, h = box
    total = count = 0
    for y in range(y0, min(y0 + h, a.height, b.height), step):
        for x in range(x0, min(x0 + w, a.width, b.width), step):
            pa, pb = a.pixel(x, y), b.pixel(x, y)
            total += sum(abs(int(p) - int(q)) for p, q in zip(pa[:3], pb[:3], strict=True))
            count += 3
    return total / max(count, 1)


def crop(image: Image, box: tuple[int, int, int, int]) -> Image:
    x0, y0, w, h = box
    c = image.channels
    rows = [row[x0 * c : (x0 + w) * c] for row in image.rows[y0 : y0 + h]]
    return Image(w, len(rows), c, rows)


async def test_add_camera_play_and_four_tile_wall(
    db_url: str, node, browser: Browser, tmp_path: Path
) -> None:
    camera = await RtspServer.start(gop=30)
    settings = make_settings(db_url, media_nodes=[node.address], node_token=node.token)
    try:
        async with serve(settings) as api:
            await api.user("olga", "operator", "olga-password")
            await browser.goto(api.base_url + "/")
            visible = "getComputedStyle(document.getElementById('signin')).display !== 'none'"
            assert await browser.eval(visible)
            await browser.fill("#username", "olga")
            await browser.fill("#password", "olga-password")
            await browser.click("#signin-button")
            await browser.wait_for("!document.getElementById('session').hidden")
            # Signed in: the form is gone, not left beside "signed in as".
            assert not await browser.eval(visible)
            assert await browser.eval("document.getElementById('signin').offsetParent === null")
            assert await browser.eval("!document.getElementById('add-camera').hidden")

            # Add an on-demand camera through the form.
            await browser.fill("#cam-name", "gate")
            await browser.fill("#cam-url", camera.url)
            await browser.click("#cam-on-demand")
            await browser.click("#cam-add")
            row = "#streams tr[data-status='idle']"
            await browser.wait_for(f'document.querySelector("{row}")', within=20)
            stream_id = await browser.eval(f'document.querySelector("{row}").dataset.streamId')

            # Play it (the consume starts the pull), then a thumbnail appears.
            await browser.click(row)
            try:
                await browser.wait_for(all_playing_js(1), within=40)
            except Exception:
                print(await browser.eval("window.vasmsDemo.log"))  # the player's own account
                raise
            live = f"#streams tr[data-stream-id='{stream_id}'][data-status='live']"
            await browser.wait_for(f'document.querySelector("{live}")', within=20)
            thumb = f"{live} td.thumb img"
            width = await browser.wait_for(
                f'document.querySelector("{thumb}")?.naturalWidth', within=30
            )
            assert width == 160

            # The 4-tile wall, filled with the camera.
            await browser.eval(
                "(() => { const s = document.getElementById('wall-size'); s.value = '4';"
                " s.dispatchEvent(new Event('change')); return true; })()"
            )
            await browser.click("#fill-wall")
            tiles = await browser.wait_for(all_playing_js(4), within=60)
            assert {t["streamId"] for t in tiles} == {stream_id}
            boxes = await browser.eval(
                "(() => { const p = document.getElementById('players').getBoundingClientRect();"
                " return [...document.querySelectorAll('#players .tile')].map(t => {"
                " const r = t.getBoundingClientRect();"
                " return [Math.round(r.x - p.x) + 4, Math.round(r.y - p.y) + 4,"
                " Math.round(r.width) - 8, Math.round(r.height) - 8]; }); })()"
            )
            assert len(boxes) == 4
            xs, ys = sorted({b[0] for b in boxes}), sorted({b[1] for b in boxes})
            assert len(xs) == 2 and len(ys) == 2, boxes  # 2 x 2

            first = await browser.screenshot("#players", tmp_path / "wall-1.png", HIDE_OVERLAYS)
            await asyncio.sleep(1.0)
            second = await browser.screenshot("#players", tmp_path / "wall-2.png", HIDE_OVERLAYS)
            a, b = await asyncio.gather(
                asyncio.to_thread(decode, first), asyncio.to_thread(decode, second)
            )
            for index, raw in enumerate(boxes):
                box = (raw[0], raw[1], raw[2], raw[3])
                pic = picture_stats(crop(b, box))
                change = region_change(a, b, box)
                print(
                    f"  tile {index}: {pic.distinct_colours} colours, luma stdev "
                    f"{pic.luma_stdev:.1f}, change over 1 s {change:.2f}"
                )
                assert pic.distinct_colours > 20 and pic.luma_stdev > 10, (index, pic)
                assert change > 0.5, (index, change)  # moving, not frozen
            events = await browser.events()
            assert not events["pageErrors"], events["pageErrors"]
    finally:
        await camera.stop()
