"""Typed exceptions: one class per kind of failure a caller may want to branch on.

The server answers every error with `{"detail": str, "code": str}`; we keep both (and the
HTTP status) on the exception, and pick the class from status and code, so that callers
write `except StreamNotLiveError` instead of comparing strings, while `exc.code` still
carries the server's exact word for logs and for codes this client does not know yet.
"""

from __future__ import annotations

from typing import Any


class VasmsError(Exception):
    """Base of everything this package raises on purpose: `except VasmsError` is enough."""


class ServerUnreachableError(VasmsError):
    """No HTTP answer at all (connection refused, DNS failure, timeout).

    Kept apart from `ApiError` because it is the one failure worth retrying blindly:
    the server never saw the request, or its answer never came back.
    """


class MediaError(VasmsError):
    """The WebRTC side failed: capabilities could not be loaded, SDP or transport errors.

    The REST calls succeeded but aiortc/pymediasoup could not receive the stream, e.g.
    because the stream's codec is one this machine's aiortc cannot decode.
    """


class IceFailedError(MediaError):
    """ICE could not complete: no candidate pair to the media node worked in time.

    The viewer's network blocks what the node offers (UDP, or traffic to its port range)
    and no TURN route got through either. `tried` lists each attempt ("direct" or the TURN
    URL), `timeout_s` the ICE timeout of each. Configuring TURN on the server
    (`VASMS_TURN_URLS`), or a TURN route on 443, is the fix; retrying is not.
    """

    def __init__(self, detail: str, *, tried: list[str], timeout_s: float) -> None:
        super().__init__(detail)
        self.detail = detail
        self.tried = tried
        self.timeout_s = timeout_s


class ApiError(VasmsError):
    """The server answered with an error status and its `{"detail", "code"}` body."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.method = method
        self.path = path

    def __str__(self) -> str:
        return f"{self.detail} ({self.code}, HTTP {self.status})"

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(status={self.status}, code={self.code!r}, detail={self.detail!r})"


class AuthError(ApiError):
    """401: wrong username or password, or a missing, invalid or expired token."""


class ForbiddenError(ApiError):
    """403: the user's role does not allow this (viewers may read and consume only)."""


class NotFoundError(ApiError):
    """404: unknown id (another user's consumer also answers 404)."""


class StreamNotFoundError(NotFoundError):
    """404 on a stream: it does not exist, or it was deleted."""


class ConflictError(ApiError):
    """409: the resource is in the wrong state for this call."""


class StreamNotLiveError(ConflictError):
    """409 `stream_not_live`: the stream exists but is created, starting, stopped or in error.

    `stream_status` is filled in when the client knows it (it asks the server before
    raising this from `watch()`), else None.
    """

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        method: str | None = None,
        path: str | None = None,
        stream_status: str | None = None,
    ) -> None:
        super().__init__(status, code, detail, method=method, path=path)
        self.stream_status = stream_status


class InvalidRequestError(ApiError):
    """422 `invalid_request`: the body was malformed (a bug in the caller or in this client)."""


class CannotConsumeError(InvalidRequestError):
    """422 `cannot_consume`: this client's decoders cannot receive the stream's codec."""


class PayloadTooLargeError(ApiError):
    """413: the body was over the server's limit (64 KiB)."""


class ServiceUnavailableError(ApiError):
    """503: no media node could serve the request, or the database is down. Retry later."""


_BY_STATUS: dict[int, type[ApiError]] = {
    401: AuthError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: InvalidRequestError,
    503: ServiceUnavailableError,
}

_DEFAULT_CODES: dict[int, str] = {
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    413: "payload_too_large",
    422: "invalid_request",
    503: "unavailable",
}


def error_from_response(
    status: int,
    body: Any,
    *,
    method: str | None = None,
    path: str | None = None,
    about_stream: bool = False,
) -> ApiError:
    """The typed exception for an error answer.

    `body` is the decoded JSON (or anything else when the answer was not JSON, e.g. a
    proxy's HTML page: then the code falls back to one derived from the status).
    `about_stream` says the path names a stream, so a 404 means that stream is unknown.
    """
    code = _DEFAULT_CODES.get(status, "error")
    detail = f"HTTP {status}"
    if isinstance(body, dict):
        if isinstance(body.get("code"), str):
            code = body["code"]
        if isinstance(body.get("detail"), str):
            detail = body["detail"]
    cls: type[ApiError] = _BY_STATUS.get(status, ApiError)
    if status == 404 and about_stream:
        cls = StreamNotFoundError
    elif status == 409 and code == "stream_not_live":
        cls = StreamNotLiveError
    elif status == 422 and code == "cannot_consume":
        cls = CannotConsumeError
    return cls(status, code, detail, method=method, path=path)
