"""The client's pieces without a server: error mapping, auth, backoff, options, the CLI's
argument handling, PNG output, reattach decisions (with a scripted fake API), and that the
package imports nothing of the server."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from argparse import Namespace
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import av
import httpx
import pytest

from tests.client.support import png_pixels, vasms_watch
from tests.control_api.support import REPO, free_port
from vasms_client import (
    ApiError,
    AuthError,
    CannotConsumeError,
    ConflictError,
    ConsumerInfo,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    ServerUnreachableError,
    ServiceUnavailableError,
    Stream,
    StreamNotFoundError,
    StreamNotLiveError,
    VasmsClient,
    Viewer,
    WatchOptions,
    save_png,
)
from vasms_client.cli import Settings, UsageError, summary_text
from vasms_client.errors import error_from_response
from vasms_client.viewer import _Backoff

# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("status", "body", "about_stream", "cls", "code"),
    [
        (
            401,
            {"detail": "bad", "code": "invalid_credentials"},
            False,
            AuthError,
            "invalid_credentials",
        ),
        (403, {"detail": "no", "code": "forbidden"}, False, ForbiddenError, "forbidden"),
        (404, {"detail": "x", "code": "not_found"}, True, StreamNotFoundError, "not_found"),
        (404, {"detail": "x", "code": "not_found"}, False, NotFoundError, "not_found"),
        (
            409,
            {"detail": "x", "code": "stream_not_live"},
            True,
            StreamNotLiveError,
            "stream_not_live",
        ),
        (
            409,
            {"detail": "x", "code": "already_connected"},
            False,
            ConflictError,
            "already_connected",
        ),
        (
            422,
            {"detail": "x", "code": "cannot_consume"},
            True,
            CannotConsumeError,
            "cannot_consume",
        ),
        (
            422,
            {"detail": "x", "code": "invalid_request"},
            True,
            InvalidRequestError,
            "invalid_request",
        ),
        (
            503,
            {"detail": "x", "code": "node_unavailable"},
            True,
            ServiceUnavailableError,
            "node_unavailable",
        ),
        (502, "<html>bad gateway</html>", False, ApiError, "error"),
        (404, None, False, NotFoundError, "not_found"),
    ],
)
def test_errors_map_status_and_code_to_classes(status, body, about_stream, cls, code) -> None:
    exc = error_from_response(status, body, method="GET", path="/p", about_stream=about_stream)
    assert type(exc) is cls
    assert exc.status == status and exc.code == code
    assert str(exc).endswith(f"({code}, HTTP {status})")


# ---------------------------------------------------------------------------- auth


class FakeApi:
    """An httpx MockTransport handler: tokens, one stream, a configurable token expiry."""

    def __init__(self) -> None:
        self.logins = 0
        self.valid: set[str] = set()
        self.calls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(f"{request.method} {request.url.path}")
        if request.url.path == "/api/v2/auth/token":
            body = json.loads(request.content)
            if body != {"username": "vic", "password": "right"}:
                return httpx.Response(
                    401,
                    json={"detail": "invalid username or password", "code": "invalid_credentials"},
                )
            self.logins += 1
            token = f"t{self.logins}"
            self.valid.add(token)
            return httpx.Response(
                200, json={"access_token": token, "token_type": "bearer", "expires_in": 60}
            )
        auth = request.headers.get("authorization", "")
        if auth.removeprefix("Bearer ") not in self.valid:
            return httpx.Response(401, json={"detail": "token expired", "code": "unauthorized"})
        if request.url.path == "/api/v2/streams/s1":
            return httpx.Response(200, json={"id": "s1", "name": "cam", "status": "live"})
        return httpx.Response(404, json={"detail": "stream x not found", "code": "not_found"})


def fake_client(api: FakeApi, **kwargs: Any) -> VasmsClient:
    http = httpx.AsyncClient(base_url="http://vasms.test", transport=httpx.MockTransport(api))
    return VasmsClient("http://vasms.test", http=http, **kwargs)


async def test_logs_in_lazily_and_once_for_concurrent_calls_after_expiry() -> None:
    api = FakeApi()
    client = fake_client(api, username="vic", password="right")
    stream = await client.get_stream("s1")
    assert isinstance(stream, Stream) and stream.is_live and api.logins == 1
    api.valid.clear()  # every token expires
    streams = await asyncio.gather(*(client.get_stream("s1") for _ in range(8)))
    assert all(s.id == "s1" for s in streams)
    assert api.logins == 2  # one refresh for eight callers
    with pytest.raises(StreamNotFoundError):
        await client.get_stream("nope")


async def test_token_only_client_raises_auth_error_on_401() -> None:
    api = FakeApi()
    client = fake_client(api, token="stale")
    with pytest.raises(AuthError) as caught:
        await client.get_stream("s1")
    assert caught.value.code == "unauthorized" and api.logins == 0


async def test_wrong_password_is_an_auth_error_with_the_servers_code() -> None:
    client = fake_client(FakeApi(), username="vic", password="wrong")
    with pytest.raises(AuthError) as caught:
        await client.list_streams()
    assert caught.value.code == "invalid_credentials" and caught.value.status == 401


async def test_unreachable_server_is_its_own_error() -> None:
    async with VasmsClient(f"http://127.0.0.1:{free_port()}", token="t", timeout=2) as client:
        with pytest.raises(ServerUnreachableError):
            await client.get_stream("s1")


def test_constructor_checks() -> None:
    with pytest.raises(ValueError, match="http"):
        VasmsClient("127.0.0.1:8080", token="t")
    with pytest.raises(ValueError, match="together"):
        VasmsClient(username="vic")


def test_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VASMS_URL", "http://env.test:9000/")
    monkeypatch.setenv("VASMS_USERNAME", "vic")
    monkeypatch.setenv("VASMS_PASSWORD", "pw")
    monkeypatch.delenv("VASMS_TOKEN", raising=False)
    client = VasmsClient.from_env()
    assert client.base_url == "http://env.test:9000" and client.token is None
    assert VasmsClient.from_env("http://arg.test", token="tok").token == "tok"


# ---------------------------------------------------------------------------- viewer pieces


def test_backoff_is_immediate_first_then_doubles_to_a_cap() -> None:
    backoff = _Backoff(0.5, 4.0)
    delays = [backoff.next() for _ in range(7)]
    assert delays[0] == 0.0
    for got, nominal in zip(delays[1:], [0.5, 1.0, 2.0, 4.0, 4.0, 4.0], strict=True):
        assert 0.8 * nominal <= got <= nominal
    backoff.reset()
    assert backoff.next() == 0.0


def test_watch_options_are_validated() -> None:
    with pytest.raises(ValueError, match="buffer_frames"):
        WatchOptions(buffer_frames=0)
    with pytest.raises(ValueError, match="live_poll_s"):
        WatchOptions(live_poll_s=0)
    assert WatchOptions(buffer_frames=None).buffer_frames is None


def test_watch_overrides_unknown_option_is_a_type_error() -> None:
    client = VasmsClient(token="t")
    with pytest.raises(TypeError):
        client.watch("s1", no_such_option=True)
    viewer = client.watch("s1", wait_live=True, client_id="me")
    assert viewer.options.wait_live and viewer.client_id == "me"


def test_save_png_round_trip(tmp_path: Path) -> None:
    frame = av.VideoFrame(64, 48, "yuv420p")
    for plane, value in zip(frame.planes, (30, 200, 90), strict=True):
        plane.update(bytes([value]) * plane.buffer_size)
    path = save_png(frame, tmp_path / "f.png")
    width, height, colours = png_pixels(path)
    assert (width, height) == (64, 48) and len(colours) == 1


class ScriptedApi:
    """A stand-in for VasmsClient whose answers follow a script (what `Viewer` asks
    between sessions: stream status, capabilities), to test the reattach decisions."""

    def __init__(self, statuses: list[Any]) -> None:
        self.statuses = statuses
        self.gets = 0

    async def router_capabilities(self, stream_id: str) -> dict[str, Any]:
        raise StreamNotLiveError(409, "stream_not_live", f"stream {stream_id} is not live")

    async def get_stream(self, stream_id: str) -> Stream:
        self.gets += 1
        answer = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        if isinstance(answer, Exception):
            raise answer
        return Stream.from_json({"id": stream_id, "status": answer})


FAST = {"live_poll_s": 0.01, "backoff_initial_s": 0.01, "backoff_max_s": 0.02}


async def test_waiting_viewer_rides_out_an_unreachable_server_then_ends_on_deletion() -> None:
    api = ScriptedApi(
        [
            "stopped",
            ServerUnreachableError("down"),
            ServiceUnavailableError(503, "database_unavailable", "db down"),
            "error",
            StreamNotFoundError(404, "not_found", "gone"),
        ]
    )
    viewer = Viewer(api, "s1", WatchOptions(wait_live=True, **FAST))  # type: ignore[arg-type]
    async with viewer:
        frames = [f async for f in viewer.frames()]
    assert frames == [] and viewer.ended_reason == "stream_deleted"
    assert api.gets == 5


async def test_max_offline_raises_not_live_from_frames() -> None:
    api = ScriptedApi(["stopped"])
    options = WatchOptions(wait_live=True, max_offline_s=0.05, **FAST)
    async with Viewer(api, "s1", options) as viewer:  # type: ignore[arg-type]
        with pytest.raises(StreamNotLiveError) as caught:
            async for _ in viewer.frames():
                pass
    assert caught.value.stream_status == "stopped"
    assert viewer.state == "ended"


async def test_not_live_without_wait_live_raises_at_enter() -> None:
    viewer = Viewer(ScriptedApi(["stopped"]), "s1", WatchOptions())  # type: ignore[arg-type]
    with pytest.raises(StreamNotLiveError) as caught:
        async with viewer:
            pass
    assert caught.value.stream_status == "stopped"


async def test_frames_before_enter_is_a_usage_error() -> None:
    viewer = VasmsClient(token="t").watch("s1")
    with pytest.raises(RuntimeError, match="async with"):
        await anext(viewer.frames())


# ---------------------------------------------------------------------------- CLI pieces


def _args(**kwargs: Any) -> Namespace:
    base = {"url": None, "token": None, "username": None, "password": None}
    return Namespace(**{**base, **kwargs})


def test_cli_settings_arguments_win_over_environment() -> None:
    env = {"VASMS_URL": "http://env:1", "VASMS_TOKEN": "envtok", "VASMS_USERNAME": "u"}
    env["VASMS_PASSWORD"] = "p"
    s = Settings.resolve(_args(url="http://arg:2"), env)
    assert (s.url, s.token, s.username, s.password) == ("http://arg:2", "envtok", "u", "p")
    s = Settings.resolve(_args(token="argtok"), {})
    assert (s.url, s.token, s.username) == ("http://127.0.0.1:8080", "argtok", None)
    with pytest.raises(UsageError) as caught:
        Settings.resolve(_args(), {})
    assert caught.value.exit_code == 4
    with pytest.raises(UsageError) as caught:
        Settings.resolve(_args(token="t", url="ftp://x"), {})
    assert caught.value.exit_code == 1


def test_cli_summary_names_time_to_first_frame() -> None:
    text = summary_text(
        {
            "stream_id": "s",
            "ended": "frames",
            "frames": 3,
            "duration_s": 0.5,
            "time_to_first_frame_s": 0.123,
            "width": 8,
            "height": 6,
        }
    )
    assert "time to first frame  0.123 s" in text and "resolution           8x6" in text


async def test_cli_without_credentials_exits_4_and_unreachable_exits_1() -> None:
    run = await vasms_watch("s1", "--url", "http://127.0.0.1:9")
    assert run.code == 4 and "no credentials" in run.stderr and "Traceback" not in run.stderr
    run = await vasms_watch(
        "s1", "--json", env={"VASMS_URL": f"http://127.0.0.1:{free_port()}", "VASMS_TOKEN": "t"}
    )
    assert run.code == 1 and "cannot reach" in run.stderr and "Traceback" not in run.stderr
    assert json.loads(run.stdout)["exit_code"] == 1


# ---------------------------------------------------------------------------- packaging


def test_package_imports_nothing_of_the_server() -> None:
    """vasms_client must install and run with the `client` extra alone."""
    code = (
        "import sys, vasms_client, vasms_client.cli\n"
        "server = {'control_api', 'media_node', 'protos', 'fastapi', 'grpc', 'sqlalchemy',"
        " 'sqlmodel', 'uvicorn', 'alembic', 'asyncpg', 'jwt', 'pydantic_settings'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & server))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


# ---------------------------------------------------------------------------- buffering


def test_a_slow_caller_gets_the_newest_frames_and_drops_are_counted() -> None:
    viewer = VasmsClient(token="t").watch("s1", buffer_frames=3)
    session = SimpleNamespace(index=0)
    for pts in range(10):
        frame = av.VideoFrame(32, 16, "yuv420p")
        frame.pts = pts * 3000
        frame.time_base = Fraction(1, 90000)
        viewer._on_frame(session, frame)  # type: ignore[arg-type]
    kept = list(viewer._buffer)
    assert [f.index for f in kept] == [7, 8, 9]
    assert kept[-1].media_time == pytest.approx(0.3)
    stats = viewer.stats()
    assert (stats.frames, stats.frames_dropped, stats.width, stats.height) == (10, 7, 32, 16)


class SilentSession:
    """A session whose media stopped without any close reaching aiortc."""

    def __init__(self) -> None:
        self.ended = asyncio.Event()
        self.end_reason = None
        self.started_at = time.monotonic() - 60
        self.last_frame_at = time.monotonic() - 60
        self.consumer_id = "c1"


class ConsumerApi:
    def __init__(self, answer: Any) -> None:
        self.answer = answer

    async def get_consumer(self, consumer_id: str) -> ConsumerInfo:
        if isinstance(self.answer, Exception):
            raise self.answer
        return ConsumerInfo.from_json({"id": consumer_id, **self.answer})


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (
            {"state": "closed", "closed_reason": "ice_disconnected"},
            "consumer_closed: ice_disconnected",
        ),
        (NotFoundError(404, "not_found", "gone"), "consumer_gone"),
        ({"state": "connected"}, "stalled: no frame for 60 s"),
        (ServerUnreachableError("down"), "stalled: no frame for 60 s"),
    ],
)
async def test_silence_is_checked_with_the_server(answer: Any, reason: str) -> None:
    options = WatchOptions(health_check_s=0.01, stall_timeout_s=30)
    viewer = Viewer(ConsumerApi(answer), "s1", options)  # type: ignore[arg-type]
    got = await asyncio.wait_for(viewer._supervise(SilentSession()), 5)  # type: ignore[arg-type]
    assert got == reason


async def test_cli_bad_options_exit_1_not_2_which_means_not_found() -> None:
    run = await vasms_watch("s1", "--frames", "0", "--token", "t")
    assert run.code == 1 and "--frames must be >= 1" in run.stderr
    run = await vasms_watch("s1", "--no-such-option")
    assert run.code == 1 and "unrecognized arguments" in run.stderr
