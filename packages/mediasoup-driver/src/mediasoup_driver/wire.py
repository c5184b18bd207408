"""The wire layer's shared pieces: request templates and reply-reading helpers.

Request templates: pure-Python FlatBuffers building costs tens of microseconds
per request (hundreds for a consume); copying a serialised request and
patching a few bytes costs well under one. A template is a request built once
with random *sentinel* values in the fields that change per send (entity ids,
SSRCs); building locates each sentinel, which must occur exactly once, and a
send copies the frame and writes the real values over them. This is the one
mechanism every repeated request uses (body-less requests per entity, create
router/transport, close requests, consume).

Reply helpers: generated readers return the body union as an untyped table and
strings as bytes; these helpers do those two conversions in one place.
"""

from __future__ import annotations

import random
import struct
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, TypeVar

from .errors import WireError
from .fbs_reader import read_table

_RESPONSE_BODY = 3  # response.fbs: id, accepted, body_type, body
_U32 = struct.Struct("<I")
UUID_LENGTH = 36
"""Length of every id the driver generates (``str(uuid.uuid4())``)."""


def locate_once(frame: bytes, needle: bytes) -> int:
    """Offset of ``needle`` in a serialised request, which must hold it exactly once.

    A sentinel that is absent or repeated cannot be patched safely.
    """
    at = frame.find(needle)
    if at < 0 or frame.find(needle, at + 1) >= 0:
        raise WireError("template sentinel absent or not unique")
    return at


class Sentinels:
    """The placeholder values a template is built with, by field name.

    ``uuid(name)`` stands for a 36-character id, ``u32(name)`` for a 32-bit
    number (e.g. an SSRC); random, so they cannot collide with the rest of
    the request by accident (building checks anyway).
    """

    __slots__ = ("strings", "u32s")

    def __init__(self) -> None:
        self.strings: dict[str, str] = {}
        self.u32s: dict[str, int] = {}

    def uuid(self, name: str) -> str:
        value = self.strings[name] = str(uuid.uuid4())
        return value

    def u32(self, name: str, value: int | None = None) -> int:
        """A sentinel number; ``value`` given: that one (e.g. an RTX SSRC = SSRC + 1)."""
        if value is None:
            value = random.randrange(0x10000000, 0xF0000000)
        self.u32s[name] = value
        return value


@dataclass(frozen=True, slots=True)
class RequestTemplate:
    """A request serialised once; ``render`` patches its id and named fields."""

    frame: bytes
    method: int
    id_offset: int
    strings: tuple[tuple[str, int], ...] = ()
    """(field name, offset) of each 36-character string field."""
    u32s: tuple[tuple[str, int], ...] = ()
    """(field name, offset) of each uint32 field."""

    @classmethod
    def locate(
        cls, frame: bytes, method: int, id_offset: int, sentinels: Sentinels | None
    ) -> RequestTemplate:
        if sentinels is None:
            return cls(frame, method, id_offset)
        return cls(
            frame,
            method,
            id_offset,
            tuple(
                (name, locate_once(frame, value.encode()))
                for name, value in sentinels.strings.items()
            ),
            tuple(
                (name, locate_once(frame, _U32.pack(value)))
                for name, value in sentinels.u32s.items()
            ),
        )

    def render(
        self,
        request_id: int,
        strings: Mapping[str, str] | None = None,
        numbers: Mapping[str, int] | None = None,
    ) -> bytearray:
        """The frame with this request id and these field values written in.

        Every field of the template must be given; strings must be 36
        characters long (the sentinel's length), else WireError.
        """
        frame = bytearray(self.frame)
        _U32.pack_into(frame, self.id_offset, request_id)
        if self.strings:
            if strings is None:
                raise WireError("template string fields not given")
            for name, at in self.strings:
                encoded = strings[name].encode()
                if len(encoded) != UUID_LENGTH:
                    raise WireError(f"template field {name} must be {UUID_LENGTH} bytes long")
                frame[at : at + UUID_LENGTH] = encoded
        if self.u32s:
            if numbers is None:
                raise WireError("template number fields not given")
            for name, at in self.u32s:
                _U32.pack_into(frame, at, numbers[name])
        return frame


class _Table(Protocol):
    def Init(self, buf: bytes, pos: int) -> None: ...


TableT = TypeVar("TableT", bound=_Table)


class Reply(NamedTuple):
    """An accepted answer of the worker (FBS.Response.Response, already read).

    The channel resolves every request with one: the envelope is read by
    direct struct reads, and callers read the body with the fbs_reader
    functions (hot paths) or as a generated table (``body_as``).
    """

    id: int
    buf: bytes
    body: int
    """Position of the body table in ``buf``; 0 when the answer has no body."""

    @classmethod
    def read(cls, buf: bytes, response: int, request_id: int) -> Reply:
        return cls(request_id, buf, read_table(buf, response, _RESPONSE_BODY))


def body_as(reply: Reply, table_type: type[TableT]) -> TableT:
    """Returns the reply body read as ``table_type`` (the caller knows the method)."""
    if not reply.body:
        raise WireError(f"worker response has no body (expected {table_type.__name__})")
    body = table_type()
    body.Init(reply.buf, reply.body)
    return body


def body_position(reply: Reply) -> tuple[bytes, int]:
    """(buffer, position) of the reply body table, for the fbs_reader functions."""
    if not reply.body:
        raise WireError("worker response has no body")
    return reply.buf, reply.body


def strings(length: int, item: Callable[[int], bytes]) -> list[str]:
    """Decodes a FlatBuffers vector of strings given its length and item accessor."""
    return [item(i).decode() for i in range(length)]


def plain(value: Any) -> Any:
    """Converts a generated object-API value (``...T`` instances) into plain data.

    Used for dumps and stats, which are read rarely and shown as they are: keys
    keep flatc's camelCase attribute names (mediasoup's JSON names), strings
    become ``str``, absent fields are left out, enums stay integers.
    """
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, list):
        return [plain(item) for item in value]
    if hasattr(value, "__dict__"):
        return {key: plain(item) for key, item in vars(value).items() if item is not None}
    return value
