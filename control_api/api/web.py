"""The browser player's demo page at `/`: the static files `make web` builds.

The files live in `build/web/` (built from `web/` by `make web`, never
committed); `VASMS_WEB_DIR` points elsewhere, e.g. in a container image. The
mount goes last and only answers GET/HEAD outside `/api/`: any other request
that reaches it gets the 404 an unknown route gets without the mount, so a
client probing for a disabled API (`VASMS_ENABLE_V2=false`) sees the same
answer with or without the page.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

DEFAULT_WEB_DIR = Path(__file__).resolve().parents[2] / "build" / "web"


def web_dir() -> Path:
    """Where the built page is: `VASMS_WEB_DIR`, else `build/web/` of the checkout."""
    configured = os.environ.get("VASMS_WEB_DIR")
    return Path(configured) if configured else DEFAULT_WEB_DIR


class WebSite:
    """StaticFiles (index.html for `/`) limited to GET/HEAD of paths outside `/api/`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.files = StaticFiles(directory=directory, html=True, check_dir=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1000})  # as an unknown route: 403
            return
        if scope["type"] != "http":
            return
        path: str = scope.get("path", "")
        if scope["method"] not in ("GET", "HEAD") or path.startswith("/api/"):
            raise HTTPException(404)
        if not self.directory.is_dir():
            raise HTTPException(404, "web player not built (run `make web`)")
        await self.files(scope, receive, send)


def mount(app: FastAPI, directory: Path | None = None) -> None:
    """Serves the page at `/`; call after every router so routes match first."""
    app.mount("/", WebSite(directory or web_dir()), name="web")
