"""Scalability modes (W3C webrtc-svc names such as ``L3T3_KEY``), read the way mediasoup reads them.

mediasoup only needs the layer counts: a consumer of a simulcast producer gets
one encoding whose mode is rewritten to ``L<streams>T<temporal layers>``, and
the worker sizes its layer selection from these numbers. Anything it cannot
read is treated as a single layer rather than rejected, because producers send
modes mediasoup has never heard of and must still be consumable.
"""

from __future__ import annotations

import re
from typing import Final, TypedDict


class ScalabilityMode(TypedDict):
    """Layer structure of a scalability mode, keyed like mediasoup's JSON."""

    spatialLayers: int
    temporalLayers: int
    ksvc: bool


# Anchored at the start only, as in mediasoup: suffixes such as "_SHIFT" or "h"
# ("L2T3h") are ignored rather than making the whole mode unreadable. [0-9] and
# not \d: mediasoup's JavaScript \d matches ASCII digits only.
_SCALABILITY_MODE_RE: Final = re.compile(r"[LS]([1-9][0-9]?)T([1-9][0-9]?)(_KEY)?")


def parse_scalability_mode(scalability_mode: str | None) -> ScalabilityMode:
    """Returns the layer counts of a mode; one spatial and one temporal layer if unreadable."""
    match = (
        _SCALABILITY_MODE_RE.match(scalability_mode) if isinstance(scalability_mode, str) else None
    )
    if match is None:
        return {"spatialLayers": 1, "temporalLayers": 1, "ksvc": False}
    return {
        "spatialLayers": int(match.group(1)),
        "temporalLayers": int(match.group(2)),
        "ksvc": match.group(3) is not None,
    }
