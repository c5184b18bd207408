"""Direct reads of FlatBuffers tables by field slot, for the hot paths.

The generated Python readers cost a few microseconds per field (several calls
and an object per table). Replies read on every viewer join (transport
creation, consume) are read with these functions instead: one vtable lookup
and one ``struct`` unpack per field. Slots are the fields' declaration order
in the .fbs schema (a union field takes two: its type, then its value).
"""

from __future__ import annotations

import struct

_U8 = struct.Struct("<B")
_U16 = struct.Struct("<H")
_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


def field_position(buf: bytes, table: int, slot: int) -> int:
    """Absolute position of a field's value, or 0 when the field is absent."""
    vtable = table - _I32.unpack_from(buf, table)[0]
    entry = 4 + 2 * slot
    if entry >= _U16.unpack_from(buf, vtable)[0]:
        return 0
    relative = _U16.unpack_from(buf, vtable + entry)[0]
    return table + relative if relative else 0


def read_u8(buf: bytes, table: int, slot: int, default: int = 0) -> int:
    pos = field_position(buf, table, slot)
    return buf[pos] if pos else default


def read_bool(buf: bytes, table: int, slot: int, default: bool = False) -> bool:
    pos = field_position(buf, table, slot)
    return bool(buf[pos]) if pos else default


def read_u16(buf: bytes, table: int, slot: int, default: int = 0) -> int:
    pos = field_position(buf, table, slot)
    return _U16.unpack_from(buf, pos)[0] if pos else default


def read_u32(buf: bytes, table: int, slot: int, default: int = 0) -> int:
    pos = field_position(buf, table, slot)
    return _U32.unpack_from(buf, pos)[0] if pos else default


def read_u64(buf: bytes, table: int, slot: int, default: int = 0) -> int:
    pos = field_position(buf, table, slot)
    return int(_U64.unpack_from(buf, pos)[0]) if pos else default


def read_table(buf: bytes, table: int, slot: int) -> int:
    """Position of a sub-table, or 0 when absent."""
    pos = field_position(buf, table, slot)
    return pos + _U32.unpack_from(buf, pos)[0] if pos else 0


def read_string(buf: bytes, table: int, slot: int) -> str | None:
    pos = field_position(buf, table, slot)
    if not pos:
        return None
    pos += _U32.unpack_from(buf, pos)[0]
    length = _U32.unpack_from(buf, pos)[0]
    return buf[pos + 4 : pos + 4 + length].decode()


def read_vector(buf: bytes, table: int, slot: int) -> tuple[int, int]:
    """(position of the first element, element count); (0, 0) when absent."""
    pos = field_position(buf, table, slot)
    if not pos:
        return 0, 0
    pos += _U32.unpack_from(buf, pos)[0]
    return pos + 4, _U32.unpack_from(buf, pos)[0]


def table_in_vector(buf: bytes, start: int, index: int) -> int:
    """Position of the table at ``index`` of a vector of tables."""
    pos = start + 4 * index
    result: int = pos + _U32.unpack_from(buf, pos)[0]
    return result


def read_strings(buf: bytes, table: int, slot: int) -> list[str]:
    """A vector of strings, decoded; [] when absent.

    One ``struct`` call reads every element offset at once: dumps list
    thousands of ids (WORKER_DUMP with 3,000 routers holds ~6,000 strings),
    and the generated reader costs ~3 us per element where this costs ~0.3.
    """
    start, count = read_vector(buf, table, slot)
    if not count:
        return []
    offsets = struct.unpack_from(f"<{count}I", buf, start)
    out: list[str] = []
    append = out.append
    unpack = _U32.unpack_from
    pos = start
    for relative in offsets:
        at = pos + relative
        length = unpack(buf, at)[0]
        append(buf[at + 4 : at + 4 + length].decode())
        pos += 4
    return out
