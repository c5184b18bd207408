"""The bare FastAPI round trip the control API's reads are compared with.

One route answering a small JSON object, no middleware, no dependencies, served by
uvicorn with the options `vasms-control-api serve` uses (control_api.cli), so the
difference to `GET /api/v2/streams/{id}` is what our layers (auth, DB, middleware)
cost. Usage: python bench/bare_app.py <port>
"""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn
from fastapi import FastAPI

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from control_api.cli import uvicorn_options

app = FastAPI()


@app.get("/ping")
async def ping() -> dict[str, str]:
    return {"id": "0b8f5c0e-8d0c-4f39-9a3e-3e2b1f6d7a10", "status": "live"}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), **uvicorn_options())
