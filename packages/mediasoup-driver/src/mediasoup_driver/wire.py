"""Small helpers for reading the worker's FlatBuffers replies.

Generated readers return the body union as an untyped table and strings as
bytes; these helpers do those two conversions in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from .errors import MediasoupError
from .fbs.FBS.Response.Response import Response
from .fbs_reader import read_table

_RESPONSE_BODY = 3  # response.fbs: id, accepted, body_type, body


class _Table(Protocol):
    def Init(self, buf: bytes, pos: int) -> None: ...


TableT = TypeVar("TableT", bound=_Table)


def body_as(response: Response, table_type: type[TableT]) -> TableT:
    """Returns the response body read as ``table_type`` (the caller knows the method)."""
    table = response.Body()
    if table is None:
        raise MediasoupError(f"worker response has no body (expected {table_type.__name__})")
    body = table_type()
    body.Init(table.Bytes, table.Pos)
    return body


def body_position(response: Response) -> tuple[bytes, int]:
    """(buffer, position) of the response body table, for the fbs_reader functions."""
    tab = response._tab
    body = read_table(tab.Bytes, tab.Pos, _RESPONSE_BODY)
    if not body:
        raise MediasoupError("worker response has no body")
    return tab.Bytes, body


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
