"""Conversions between protobuf Structs and mediasoup's JSON-shaped dicts.

google.protobuf.Struct stores every number as a double, so 90000 arrives as
90000.0; mediasoup's ORTC rules require integers for payload types, clock
rates, SSRCs and ids. Integral floats are therefore turned back into ints.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format, struct_pb2


def _ints(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _ints(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_ints(item) for item in value]
    return value


def struct_to_dict(message: struct_pb2.Struct) -> dict[str, Any]:
    return _ints(json_format.MessageToDict(message))


def dict_to_struct(value: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(value)
    return message
