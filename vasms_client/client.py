"""`VasmsClient`: typed async wrappers of the REST V2 contract, and `watch()` for frames.

One `httpx.AsyncClient` per `VasmsClient`, shared by every viewer it creates: eight
viewers in one process reuse one connection pool and one token. With a username and
password the client logs in lazily and logs in again once when a call answers 401, so a
worker that runs for days survives token expiry (tokens live an hour by default); with a
token alone, a 401 is raised as `AuthError`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self

import httpx

from vasms_client.errors import (
    NotFoundError,
    ServerUnreachableError,
    error_from_response,
)
from vasms_client.models import ConsumerInfo, Consumption, JsonDict, Stream, Token

if TYPE_CHECKING:
    from vasms_client.viewer import Viewer, WatchOptions

DEFAULT_URL: Final = "http://127.0.0.1:8080"
"""Where `vasms-control-api` listens by default (VASMS_HTTP_HOST/VASMS_HTTP_PORT)."""


class VasmsClient:
    """A connection to one VAS-MS control API.

    `base_url` is the API's root (`http://host:8080`). Authenticate with `token=` (a JWT
    from `POST /api/v2/auth/token`) or `username=`/`password=`; giving both uses the token
    first and the credentials when it is refused. Use it as an async context manager (or
    call `aclose()`) so its connection pool closes.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 15.0,  # the first consume of an on-demand camera waits up to 10 s
        http: httpx.AsyncClient | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        if (username is None) != (password is None):
            raise ValueError("username and password go together")
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._credentials = (username, password) if username is not None else None
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(base_url=self._base_url, timeout=timeout)
        self._login_lock = asyncio.Lock()

    @classmethod
    def from_env(
        cls,
        base_url: str | None = None,
        *,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> VasmsClient:
        """Arguments given win; the rest come from VASMS_URL, VASMS_TOKEN, VASMS_USERNAME and
        VASMS_PASSWORD (the same variables `vasms-watch` reads), so a worker's code carries
        no secrets."""
        env = os.environ
        username = username or env.get("VASMS_USERNAME") or None
        password = password or env.get("VASMS_PASSWORD") or None
        if username is None:
            password = None
        return cls(
            base_url or env.get("VASMS_URL") or DEFAULT_URL,
            token=token or env.get("VASMS_TOKEN") or None,
            username=username,
            password=password,
            **kwargs,
        )

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def token(self) -> str | None:
        """The bearer token in use (after `login()` or the first call with credentials)."""
        return self._token

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Closes the connection pool (if this client created it). Viewers close themselves."""
        if self._owns_http:
            await self._http.aclose()

    # ------------------------------------------------------------------ auth

    async def login(self) -> Token:
        """`POST /api/v2/auth/token` with the client's username and password."""
        if self._credentials is None:
            raise ValueError("login() needs a username and password")
        username, password = self._credentials
        response = await self._send(
            "POST", "/api/v2/auth/token", {"username": username, "password": password}, None
        )
        if response.status_code != 200:
            raise self._error(response)
        token = Token.from_json(response.json())
        self._token = token.access_token
        return token

    async def _refresh(self, refused: str | None) -> None:
        """Logs in unless another task already replaced the refused token meanwhile:
        eight viewers hitting an expired token at once cause one login, not eight."""
        async with self._login_lock:
            if self._token is None or self._token == refused:
                await self.login()

    # ------------------------------------------------------------------ plumbing

    async def _send(
        self, method: str, path: str, body: JsonDict | None, token: str | None
    ) -> httpx.Response:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        try:
            return await self._http.request(method, path, json=body, headers=headers)
        except httpx.TransportError as exc:
            raise ServerUnreachableError(
                f"cannot reach {self._base_url} ({method} {path}: {type(exc).__name__}: {exc})"
            ) from exc

    def _error(self, response: httpx.Response, *, about_stream: bool = False) -> Exception:
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        return error_from_response(
            response.status_code,
            body,
            method=response.request.method,
            path=response.request.url.path,
            about_stream=about_stream,
        )

    async def request(
        self,
        method: str,
        path: str,
        body: JsonDict | None = None,
        *,
        ok: tuple[int, ...] = (200,),
        about_stream: bool = False,
    ) -> httpx.Response:
        """One authenticated call; statuses outside `ok` raise the typed `ApiError`.

        Public so that endpoints this client does not wrap yet remain one line away.
        """
        if self._token is None and self._credentials is not None:
            await self._refresh(None)
        token = self._token
        response = await self._send(method, path, body, token)
        if response.status_code == 401 and self._credentials is not None:
            await self._refresh(token)
            response = await self._send(method, path, body, self._token)
        if response.status_code not in ok:
            raise self._error(response, about_stream=about_stream)
        return response

    # ------------------------------------------------------------------ streams

    async def list_streams(self) -> list[Stream]:
        response = await self.request("GET", "/api/v2/streams")
        return [Stream.from_json(s) for s in response.json()]

    async def get_stream(self, stream_id: str) -> Stream:
        """Raises `StreamNotFoundError` for an unknown (or deleted) stream."""
        response = await self.request("GET", f"/api/v2/streams/{stream_id}", about_stream=True)
        return Stream.from_json(response.json())

    async def create_stream(
        self, name: str, source: JsonDict, *, codec: str | None = None
    ) -> Stream:
        """Operator role. `source`: `{"type": "test_pattern"}`, `{"type": "rtsp", "url": …}`
        or `{"type": "rtp"}`; the stream starts in `created` state."""
        body: JsonDict = {"name": name, "source": source}
        if codec is not None:
            body["codec"] = codec
        response = await self.request("POST", "/api/v2/streams", body, ok=(201,))
        return Stream.from_json(response.json())

    async def start_stream(self, stream_id: str) -> Stream:
        """Operator role; answers at once (usually `starting`): poll `get_stream` for `live`."""
        path = f"/api/v2/streams/{stream_id}/start"
        return Stream.from_json((await self.request("POST", path, about_stream=True)).json())

    async def stop_stream(self, stream_id: str) -> Stream:
        """Operator role; closes every consumer of the stream (viewers reattach when it
        is live again)."""
        path = f"/api/v2/streams/{stream_id}/stop"
        return Stream.from_json((await self.request("POST", path, about_stream=True)).json())

    async def delete_stream(self, stream_id: str) -> None:
        """Operator role; the stream must be stopped first (else `ConflictError`)."""
        await self.request("DELETE", f"/api/v2/streams/{stream_id}", ok=(204,), about_stream=True)

    async def wait_live(self, stream_id: str, within: float = 30.0, poll: float = 0.25) -> Stream:
        """Polls until the stream is live (raises TimeoutError after `within` seconds)."""
        async with asyncio.timeout(within):
            while True:
                stream = await self.get_stream(stream_id)
                if stream.is_live:
                    return stream
                await asyncio.sleep(poll)

    # ------------------------------------------------------------------ viewing

    async def router_capabilities(self, stream_id: str) -> JsonDict:
        """The stream router's RTP capabilities, to load into a mediasoup-client Device.

        Raises `StreamNotFoundError` or `StreamNotLiveError`.
        """
        path = f"/api/v2/streams/{stream_id}/router-capabilities"
        response = await self.request("GET", path, about_stream=True)
        return dict(response.json()["rtp_capabilities"])

    async def consume(
        self,
        stream_id: str,
        *,
        client_id: str,
        rtp_capabilities: JsonDict,
        dtls_parameters: JsonDict | None = None,
        paused: bool = False,
        audio: bool = True,
    ) -> Consumption:
        """Creates a receive transport and a consumer of the stream.

        `dtls_parameters` connects the transport at once (browsers that pre-generate a
        certificate); aiortc cannot, so `watch()` leaves it out and calls
        `connect_transport` from the transport's `connect` event instead.
        `audio=False`: video only (the answer's `audio` is None even for a stream with
        audio). Raises `StreamNotFoundError`, `StreamNotLiveError`, `CannotConsumeError`.
        """
        body: JsonDict = {"client_id": client_id, "rtp_capabilities": rtp_capabilities}
        if dtls_parameters is not None:
            body["dtls_parameters"] = dtls_parameters
        if paused:
            body["paused"] = True
        if not audio:
            body["audio"] = False
        path = f"/api/v2/streams/{stream_id}/consume"
        response = await self.request("POST", path, body, ok=(201,), about_stream=True)
        return Consumption.from_json(response.json(), stream_id)

    async def connect_transport(self, transport_id: str, dtls_parameters: JsonDict) -> None:
        """Gives the server our DTLS parameters (409 `already_connected` raises ConflictError)."""
        path = f"/api/v2/transports/{transport_id}/connect"
        await self.request("POST", path, {"dtls_parameters": dtls_parameters}, ok=(204,))

    async def resume_consumer(self, consumer_id: str) -> None:
        """Only needed for consumers created with `paused=True`."""
        await self.request("POST", f"/api/v2/consumers/{consumer_id}/resume", ok=(204,))

    async def get_consumer(self, consumer_id: str) -> ConsumerInfo:
        response = await self.request("GET", f"/api/v2/consumers/{consumer_id}")
        return ConsumerInfo.from_json(response.json())

    async def detach(self, consumer_id: str, *, missing_ok: bool = True) -> bool:
        """`DELETE /api/v2/consumers/{id}`: closes the consumer and its transport on the node.

        Returns False when the server no longer knew it (already detached, or reaped after
        the node closed it): with `missing_ok` (the default) that is not an error, because
        the caller's goal — nothing left on the node — holds either way.
        """
        try:
            await self.request("DELETE", f"/api/v2/consumers/{consumer_id}", ok=(204,))
        except NotFoundError:
            if not missing_ok:
                raise
            return False
        return True

    def watch(
        self, stream_id: str, options: WatchOptions | None = None, **overrides: Any
    ) -> Viewer:
        """A viewer of one stream, to use as `async with client.watch(id) as viewer:`.

        `overrides` are `WatchOptions` fields (`client.watch(id, wait_live=True)`). Entering
        the context attaches (so a wrong id, a stopped stream or bad credentials raise right
        there); leaving it detaches. See `Viewer` for frames, stats and reconnection.
        """
        from vasms_client.viewer import Viewer, WatchOptions

        opts = dataclasses.replace(options or WatchOptions(), **overrides)
        return Viewer(self, stream_id, opts)
