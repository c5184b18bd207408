"""Just enough PNG decoding to judge a screenshot (the venv has no Pillow).

Reads 8-bit, non-interlaced greyscale/RGB/RGBA PNGs (what Chromium writes),
undoes the row filters and returns the pixels; `picture_stats` says whether the
picture is more than one flat colour.
"""

from __future__ import annotations

import statistics
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # colour type → samples per pixel


@dataclass(frozen=True)
class Image:
    width: int
    height: int
    channels: int
    rows: list[bytes]

    def pixel(self, x: int, y: int) -> tuple[int, ...]:
        start = x * self.channels
        return tuple(self.rows[y][start : start + self.channels])


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def decode(path: Path) -> Image:
    data = path.read_bytes()
    if not data.startswith(SIGNATURE):
        raise ValueError(f"{path} is not a PNG")
    pos, idat = len(SIGNATURE), bytearray()
    width = height = colour = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _comp, _filt, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or interlace or colour not in CHANNELS:
                raise ValueError(f"unsupported PNG (depth {depth}, colour {colour}, {interlace=})")
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    channels = CHANNELS[colour]
    raw = zlib.decompress(bytes(idat))
    stride = width * channels
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = prev[i]
            up_left = prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + ((left + up) >> 1)) & 0xFF
            elif kind == 4:
                line[i] = (line[i] + _paeth(left, up, up_left)) & 0xFF
        rows.append(bytes(line))
        prev = line
    return Image(width, height, channels, rows)


@dataclass(frozen=True)
class PictureStats:
    width: int
    height: int
    distinct_colours: int
    luma_stdev: float


def picture_stats(image: Image, step: int = 4) -> PictureStats:
    """Distinct colours and luma standard deviation over a grid of sampled pixels."""
    colours: set[tuple[int, ...]] = set()
    luma: list[float] = []
    for y in range(0, image.height, step):
        for x in range(0, image.width, step):
            px = image.pixel(x, y)
            rgb = px[:3] if image.channels >= 3 else (px[0],) * 3
            colours.add(rgb)
            luma.append(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2])
    stdev = statistics.pstdev(luma) if len(luma) > 1 else 0.0
    return PictureStats(image.width, image.height, len(colours), stdev)
