"""H.264 ``profile-level-id`` negotiation (RFC 6184), as mediasoup does it.

Two H.264 codecs are only interchangeable when they share a profile: a
Constrained Baseline decoder cannot decode High, whatever the level. Levels,
on the other hand, are negotiated: the answer takes the lower of the two
unless both sides allow level asymmetry. mediasoup gets these rules from the
npm package ``h264-profile-level-id`` (a port of WebRTC's
``h264_profile_level_id.cc``); this module reproduces its behaviour, including
its quirks:

* a missing ``profile-level-id`` means Constrained Baseline level 3.1
  (``42e01f``), not the RFC's Baseline level 1, for compatibility with old
  WebRTC endpoints;
* level 1b is only recognised as ``level_idc`` 11 with the constraint_set3
  flag; ``level_idc`` 9 (1b in the High profiles) is rejected, as in the package;
* the level order around 1b is the package's, not WebRTC's (see is_less_level).

Codec parameters are plain dicts (SDP ``fmtp`` key/values), as elsewhere in
this driver.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final

from .errors import MediasoupTypeError

_log = logging.getLogger(__name__)


class Profile(IntEnum):
    """H.264 profiles WebRTC can negotiate (same numbering as the npm package)."""

    CONSTRAINED_BASELINE = 1
    BASELINE = 2
    MAIN = 3
    CONSTRAINED_HIGH = 4
    HIGH = 5
    PREDICTIVE_HIGH_444 = 6


class Level(IntEnum):
    """H.264 levels; the value is ``level_idc`` except for 1b, which has none of its own."""

    L1_B = 0
    L1 = 10
    L1_1 = 11
    L1_2 = 12
    L1_3 = 13
    L2 = 20
    L2_1 = 21
    L2_2 = 22
    L3 = 30
    L3_1 = 31
    L3_2 = 32
    L4 = 40
    L4_1 = 41
    L4_2 = 42
    L5 = 50
    L5_1 = 51
    L5_2 = 52


@dataclass(frozen=True, slots=True)
class ProfileLevelId:
    """A parsed ``profile-level-id``."""

    profile: Profile
    level: Level


DEFAULT_PROFILE_LEVEL_ID: Final = ProfileLevelId(Profile.CONSTRAINED_BASELINE, Level.L3_1)
"""What a codec without ``profile-level-id`` means (see the module docstring for why not RFC's)."""

# For level_idc 11 with profile_idc 0x42, 0x4D or 0x58 this flag turns level 1.1 into 1b.
_CONSTRAINT_SET3_FLAG: Final = 0x10

_HEX_PROFILE_LEVEL_ID_RE: Final = re.compile(r"[0-9A-Fa-f]{6}")


@dataclass(frozen=True, slots=True)
class _BitPattern:
    """A byte pattern such as ``x1xx0000``, where ``x`` bits may be either 0 or 1."""

    mask: int
    value: int

    @classmethod
    def parse(cls, pattern: str) -> _BitPattern:
        mask = int("".join("0" if bit == "x" else "1" for bit in pattern), 2)
        value = int("".join("1" if bit == "1" else "0" for bit in pattern), 2)
        return cls(mask, value)

    def matches(self, byte: int) -> bool:
        return byte & self.mask == self.value


# RFC 6184 section 8.1: which (profile_idc, profile_iop) combinations mean which
# profile. Order matters: the first match wins (0x42 with constraint_set1 is
# Constrained Baseline before it can be Baseline).
_PROFILE_PATTERNS: Final[tuple[tuple[int, _BitPattern, Profile], ...]] = (
    (0x42, _BitPattern.parse("x1xx0000"), Profile.CONSTRAINED_BASELINE),
    (0x4D, _BitPattern.parse("1xxx0000"), Profile.CONSTRAINED_BASELINE),
    (0x58, _BitPattern.parse("11xx0000"), Profile.CONSTRAINED_BASELINE),
    (0x42, _BitPattern.parse("x0xx0000"), Profile.BASELINE),
    (0x58, _BitPattern.parse("10xx0000"), Profile.BASELINE),
    (0x4D, _BitPattern.parse("0x0x0000"), Profile.MAIN),
    (0x64, _BitPattern.parse("00000000"), Profile.HIGH),
    (0x64, _BitPattern.parse("00001100"), Profile.CONSTRAINED_HIGH),
    (0xF4, _BitPattern.parse("00000000"), Profile.PREDICTIVE_HIGH_444),
)

# Canonical profile_idc + profile_iop hex of each profile when writing one back.
_PROFILE_IDC_IOP_HEX: Final[dict[Profile, str]] = {
    Profile.CONSTRAINED_BASELINE: "42e0",
    Profile.BASELINE: "4200",
    Profile.MAIN: "4d00",
    Profile.CONSTRAINED_HIGH: "640c",
    Profile.HIGH: "6400",
    Profile.PREDICTIVE_HIGH_444: "f400",
}

# Level 1b has no level_idc of its own: it is written with constraint_set3.
_LEVEL_1B_HEX: Final[dict[Profile, str]] = {
    Profile.CONSTRAINED_BASELINE: "42f00b",
    Profile.BASELINE: "42100b",
    Profile.MAIN: "4d100b",
}

# ITU-T H.264 (02/2016) table A-1: (max macroblocks per second, max frame size
# in macroblocks, level). Same order as the npm package, L1 before L1b, so that
# supported_level() picks the same level when both qualify.
_LEVEL_CONSTRAINTS: Final[tuple[tuple[int, int, Level], ...]] = (
    (1485, 99, Level.L1),
    (1485, 99, Level.L1_B),
    (3000, 396, Level.L1_1),
    (6000, 396, Level.L1_2),
    (11880, 396, Level.L1_3),
    (11880, 396, Level.L2),
    (19800, 792, Level.L2_1),
    (20250, 1620, Level.L2_2),
    (40500, 1620, Level.L3),
    (108000, 3600, Level.L3_1),
    (216000, 5120, Level.L3_2),
    (245760, 8192, Level.L4),
    (245760, 8192, Level.L4_1),
    (522240, 8704, Level.L4_2),
    (589824, 22080, Level.L5),
    (983040, 36864, Level.L5_1),
    (2073600, 36864, Level.L5_2),
)

_LEVELS_BY_IDC: Final[dict[int, Level]] = {level.value: level for level in Level}


def parse_profile_level_id(value: object) -> ProfileLevelId | None:
    """Parses a 3-byte hex ``profile-level-id``; None when it is not a recognised one.

    Unknown values are not errors: an endpoint may offer profiles mediasoup
    does not know, and those codecs simply match nothing.
    """
    if not isinstance(value, str) or not _HEX_PROFILE_LEVEL_ID_RE.fullmatch(value):
        return None
    numeric = int(value, 16)
    if numeric == 0:
        return None
    profile_idc, profile_iop, level_idc = numeric >> 16, (numeric >> 8) & 0xFF, numeric & 0xFF

    level = _parse_level(level_idc, profile_iop)
    if level is None:
        _log.debug("unrecognized level_idc in profile-level-id %r", value)
        return None
    for idc, iop_pattern, profile in _PROFILE_PATTERNS:
        if profile_idc == idc and iop_pattern.matches(profile_iop):
            return ProfileLevelId(profile, level)
    _log.debug("unrecognized profile_idc/profile_iop in profile-level-id %r", value)
    return None


def _parse_level(level_idc: int, profile_iop: int) -> Level | None:
    if level_idc == Level.L1_1:
        return Level.L1_B if profile_iop & _CONSTRAINT_SET3_FLAG else Level.L1_1
    if level_idc == Level.L1_B:
        # 0 is the enum's stand-in for 1b, not a level_idc that may appear on the wire.
        return None
    return _LEVELS_BY_IDC.get(level_idc)


def profile_level_id_to_string(profile_level_id: ProfileLevelId) -> str | None:
    """Canonical 6-hex-digit form; None for combinations H.264 cannot express (e.g. High 1b)."""
    profile, level = profile_level_id.profile, profile_level_id.level
    if level == Level.L1_B:
        return _LEVEL_1B_HEX.get(profile)
    idc_iop = _PROFILE_IDC_IOP_HEX.get(profile)
    if idc_iop is None:
        return None
    return f"{idc_iop}{int(level):02x}"


def parse_sdp_profile_level_id(params: Mapping[str, Any] | None = None) -> ProfileLevelId | None:
    """Profile and level of codec parameters: the default when absent, None when unreadable."""
    value = (params or {}).get("profile-level-id")
    if not value:
        return DEFAULT_PROFILE_LEVEL_ID
    return parse_profile_level_id(value)


def is_same_profile(
    params1: Mapping[str, Any] | None = None, params2: Mapping[str, Any] | None = None
) -> bool:
    """Whether two codec parameter sets carry the same H.264 profile (levels may differ)."""
    first = parse_sdp_profile_level_id(params1)
    second = parse_sdp_profile_level_id(params2)
    return first is not None and second is not None and first.profile == second.profile


def is_same_profile_and_level(
    params1: Mapping[str, Any] | None = None, params2: Mapping[str, Any] | None = None
) -> bool:
    """Whether two codec parameter sets carry the same H.264 profile and level."""
    first = parse_sdp_profile_level_id(params1)
    second = parse_sdp_profile_level_id(params2)
    return first is not None and first == second


def is_level_asymmetry_allowed(params: Mapping[str, Any] | None = None) -> bool:
    """``level-asymmetry-allowed`` as SDP (``"1"``), JSON (``1``) or a boolean flag."""
    value = (params or {}).get("level-asymmetry-allowed")
    if isinstance(value, bool):
        return value
    return value == 1 or value == "1"


def generate_profile_level_id_string_for_answer(
    local_supported_params: Mapping[str, Any] | None = None,
    remote_offered_params: Mapping[str, Any] | None = None,
) -> str | None:
    """The ``profile-level-id`` to answer with, or None when neither side stated one.

    Both sides must already have the same profile (callers check with
    is_same_profile first); only the level is negotiated. Without level
    asymmetry on both sides the answer may not exceed the offer's level, so
    the lower one wins; with it, each side keeps its own.

    Raises TypeError when either value is unreadable or the profiles differ.
    """
    local_params = local_supported_params or {}
    remote_params = remote_offered_params or {}
    if not local_params.get("profile-level-id") and not remote_params.get("profile-level-id"):
        return None

    local = parse_sdp_profile_level_id(local_params)
    remote = parse_sdp_profile_level_id(remote_params)
    if local is None:
        raise MediasoupTypeError("invalid local profile-level-id")
    if remote is None:
        raise MediasoupTypeError("invalid remote profile-level-id")
    if local.profile != remote.profile:
        raise MediasoupTypeError("H264 Profile mismatch")

    if is_level_asymmetry_allowed(local_params) and is_level_asymmetry_allowed(remote_params):
        answer_level = local.level
    else:
        answer_level = min_level(local.level, remote.level)
    return profile_level_id_to_string(ProfileLevelId(local.profile, answer_level))


def is_less_level(a: Level, b: Level) -> bool:
    """Level order as the npm package has it, 1b being 0 in the enum.

    1b is below every level but 1, with which it ranks equal. The package's
    test for ``b`` being 1b is inverted compared with WebRTC's (``a != 1``
    instead of ``a == 1``), so any level but 1 is also below 1b: kept as is,
    since that is what decides mediasoup's answers.
    """
    if a == Level.L1_B:
        return b not in (Level.L1, Level.L1_B)
    if b == Level.L1_B:
        return a != Level.L1
    return a < b


def min_level(a: Level, b: Level) -> Level:
    """The lower of two levels (see is_less_level for 1b)."""
    return a if is_less_level(a, b) else b


def supported_level(max_frame_pixel_count: int, max_fps: float) -> Level | None:
    """Highest level whose every valid stream a decoder of that frame size and rate can handle."""
    pixels_per_macroblock = 16 * 16
    for max_mbps, max_frame_mbs, level in reversed(_LEVEL_CONSTRAINTS):
        if (
            max_frame_mbs * pixels_per_macroblock <= max_frame_pixel_count
            and max_mbps <= max_fps * max_frame_mbs
        ):
            return level
    return None
