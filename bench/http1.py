"""A minimal HTTP/1.1 keep-alive client for the benchmarks.

One connection per simulated client, requests written by hand and answers read
by Content-Length (or chunked): a few microseconds per request, so on this
2-core machine the load generator takes as little CPU as possible from the
servers it measures (httpx costs ~0.5 ms of CPU per request). Every server is
measured with the same client.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any


class Http1:
    """One keep-alive connection to ``host:port``."""

    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None) -> None:
        self.host, self.port = host, port
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self._fixed = f"Host: {host}:{port}\r\n{extra}".encode("latin-1")
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self._reader, self._writer

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        """Sends one request (``body``: bytes, or an object sent as JSON); (status, body).

        A kept-alive connection the server closed while idle is opened again, once.
        """
        reused = self._writer is not None and not self._writer.is_closing()
        try:
            return await self._send(method, path, body)
        except (asyncio.IncompleteReadError, ConnectionError):
            if not reused:
                raise
            await self.close()
            return await self._send(method, path, body)

    async def _send(self, method: str, path: str, body: Any) -> tuple[int, bytes]:
        reader, writer = await self._connect()
        data = b""
        head = f"{method} {path} HTTP/1.1\r\n".encode("latin-1") + self._fixed
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            head += b"content-type: application/json\r\n"
        head += f"content-length: {len(data)}\r\n\r\n".encode("latin-1")
        writer.write(head + data)
        status_line = await reader.readuntil(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        length, chunked, close = 0, False, False
        while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                close = True
        if chunked:
            parts = []
            while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
                parts.append(await reader.readexactly(size))
                await reader.readexactly(2)
            await reader.readuntil(b"\r\n")
            payload = b"".join(parts)
        else:
            payload = await reader.readexactly(length) if length else b""
        if close:
            await self.close()
        return status, payload

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None
