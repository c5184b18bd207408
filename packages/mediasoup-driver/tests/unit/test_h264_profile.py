"""H.264 profile-level-id: the npm package's own tests, ours, and a diff against the package."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from mediasoup_driver.h264_profile import (
    DEFAULT_PROFILE_LEVEL_ID,
    Level,
    Profile,
    ProfileLevelId,
    generate_profile_level_id_string_for_answer,
    is_less_level,
    is_level_asymmetry_allowed,
    is_same_profile,
    is_same_profile_and_level,
    min_level,
    parse_profile_level_id,
    parse_sdp_profile_level_id,
    profile_level_id_to_string,
    supported_level,
)

from tests.conftest import CONFORMANCE_WORK, RUN_SH

# -- parse_profile_level_id ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "level"),
    [
        ("42e01f", Level.L3_1),
        ("42e00b", Level.L1_1),
        ("42f00b", Level.L1_B),
        ("42C02A", Level.L4_2),
        ("640c34", Level.L5_2),
        ("4d100b", Level.L1_B),
        ("64000b", Level.L1_1),  # constraint_set3 means 1b only below High.
    ],
)
def test_parse_level(value: str, level: Level) -> None:
    parsed = parse_profile_level_id(value)
    assert parsed is not None
    assert parsed.level is level


@pytest.mark.parametrize(
    ("value", "profile"),
    [
        ("42e01f", Profile.CONSTRAINED_BASELINE),
        ("42C02A", Profile.CONSTRAINED_BASELINE),
        ("4de01f", Profile.CONSTRAINED_BASELINE),
        ("58f01f", Profile.CONSTRAINED_BASELINE),
        ("42a01f", Profile.BASELINE),
        ("58A01F", Profile.BASELINE),
        ("4D401f", Profile.MAIN),
        ("64001f", Profile.HIGH),
        ("640c1f", Profile.CONSTRAINED_HIGH),
        ("f4001f", Profile.PREDICTIVE_HIGH_444),
    ],
)
def test_parse_profile(value: str, profile: Profile) -> None:
    parsed = parse_profile_level_id(value)
    assert parsed is not None
    assert parsed.profile is profile


@pytest.mark.parametrize(
    "value",
    [
        # Malformed strings.
        None,
        42,
        "",
        " 42e01f",
        "4242e01f",
        "e01f",
        "gggggg",
        "000000",
        "42_e01",
        "0x42e0",
        "+42e01",
        "42e01\n",
        "\uff14\uff12e01f",  # Full-width digits: digits to Python int(), not to parseInt.
        # Invalid levels.
        "42e000",
        "42e00f",
        "42e0ff",
        "640009",
        # Invalid profiles.
        "42e11f",
        "58601f",
        "64e01f",
        "f4101f",
    ],
)
def test_parse_rejects_invalid_values(value: Any) -> None:
    assert parse_profile_level_id(value) is None


# -- profile_level_id_to_string ------------------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "level", "expected"),
    [
        (Profile.CONSTRAINED_BASELINE, Level.L3_1, "42e01f"),
        (Profile.BASELINE, Level.L1, "42000a"),
        (Profile.MAIN, Level.L3_1, "4d001f"),
        (Profile.CONSTRAINED_HIGH, Level.L4_2, "640c2a"),
        (Profile.HIGH, Level.L4_2, "64002a"),
        (Profile.PREDICTIVE_HIGH_444, Level.L5_2, "f40034"),
        (Profile.CONSTRAINED_BASELINE, Level.L1_B, "42f00b"),
        (Profile.BASELINE, Level.L1_B, "42100b"),
        (Profile.MAIN, Level.L1_B, "4d100b"),
    ],
)
def test_profile_level_id_to_string(profile: Profile, level: Level, expected: str) -> None:
    assert profile_level_id_to_string(ProfileLevelId(profile, level)) == expected


@pytest.mark.parametrize("value", ["42e01f", "42E01F", "4d100b", "4D100B", "640c2a", "640C2A"])
def test_round_trip_gives_canonical_lowercase(value: str) -> None:
    parsed = parse_profile_level_id(value)
    assert parsed is not None
    assert profile_level_id_to_string(parsed) == value.lower()


def test_to_string_rejects_level_1b_above_main_and_unknown_profiles() -> None:
    assert profile_level_id_to_string(ProfileLevelId(Profile.HIGH, Level.L1_B)) is None
    assert profile_level_id_to_string(ProfileLevelId(Profile.CONSTRAINED_HIGH, Level.L1_B)) is None
    assert profile_level_id_to_string(ProfileLevelId(255, Level.L3_1)) is None  # type: ignore[arg-type]


# -- parse_sdp_profile_level_id -----------------------------------------------------------


def test_missing_profile_level_id_is_constrained_baseline_3_1() -> None:
    assert parse_sdp_profile_level_id() == DEFAULT_PROFILE_LEVEL_ID
    assert parse_sdp_profile_level_id({}) == DEFAULT_PROFILE_LEVEL_ID
    assert parse_sdp_profile_level_id({"profile-level-id": ""}) == DEFAULT_PROFILE_LEVEL_ID
    assert profile_level_id_to_string(DEFAULT_PROFILE_LEVEL_ID) == "42e01f"


def test_sdp_profile_level_id_present_or_invalid() -> None:
    assert parse_sdp_profile_level_id({"profile-level-id": "640c2a"}) == ProfileLevelId(
        Profile.CONSTRAINED_HIGH, Level.L4_2
    )
    assert parse_sdp_profile_level_id({"profile-level-id": "foobar"}) is None


# -- is_same_profile / is_same_profile_and_level ------------------------------------------


@pytest.mark.parametrize(
    ("params1", "params2", "same"),
    [
        ({"foo": "foo"}, {"bar": "bar"}, True),
        ({"profile-level-id": "42e01f"}, {"profile-level-id": "42C02A"}, True),
        ({"profile-level-id": "42a01f"}, {"profile-level-id": "58A01F"}, True),
        ({"profile-level-id": "42e01f"}, None, True),
        (None, {"profile-level-id": "4d001f"}, False),
        ({"profile-level-id": "42a01f"}, {"profile-level-id": "640c1f"}, False),
        ({"profile-level-id": "42000a"}, {"profile-level-id": "64002a"}, False),
        ({"profile-level-id": "zzzzzz"}, {"profile-level-id": "zzzzzz"}, False),
    ],
)
def test_is_same_profile(params1: Any, params2: Any, same: bool) -> None:
    assert is_same_profile(params1, params2) is same


@pytest.mark.parametrize(
    ("params1", "params2", "same"),
    [
        ({"foo": "foo"}, {"bar": "bar"}, True),
        ({"profile-level-id": "42e01f"}, {"profile-level-id": "42f01f"}, True),
        ({"profile-level-id": "42a01f"}, {"profile-level-id": "58A01F"}, True),
        ({"profile-level-id": "42e01f"}, None, True),
        (None, {"profile-level-id": "4d001f"}, False),
        ({"profile-level-id": "42a01f"}, {"profile-level-id": "640c1f"}, False),
        ({"profile-level-id": "42000a"}, {"profile-level-id": "64002a"}, False),
        ({"profile-level-id": "42e01f"}, {"profile-level-id": "42e015"}, False),
    ],
)
def test_is_same_profile_and_level(params1: Any, params2: Any, same: bool) -> None:
    assert is_same_profile_and_level(params1, params2) is same


# -- generate_profile_level_id_string_for_answer ------------------------------------------


def test_answer_without_any_profile_level_id_is_none() -> None:
    assert generate_profile_level_id_string_for_answer() is None
    assert generate_profile_level_id_string_for_answer({"x": 1}, {}) is None


def test_answer_level_is_capped_without_level_asymmetry() -> None:
    low, high = {"profile-level-id": "42e015"}, {"profile-level-id": "42e01f"}
    assert generate_profile_level_id_string_for_answer(low, high) == "42e015"
    assert generate_profile_level_id_string_for_answer(high, low) == "42e015"


@pytest.mark.parametrize("flag", ["1", 1, True])
def test_answer_keeps_local_level_with_level_asymmetry_on_both_sides(flag: Any) -> None:
    local = {"profile-level-id": "42e01f", "level-asymmetry-allowed": flag}
    remote = {"profile-level-id": "42e015", "level-asymmetry-allowed": "1"}
    assert generate_profile_level_id_string_for_answer(local, remote) == "42e01f"
    # Only one side allowing it is not enough.
    assert (
        generate_profile_level_id_string_for_answer(local, {"profile-level-id": "42e015"})
        == "42e015"
    )


def test_answer_uses_the_default_for_the_side_without_profile_level_id() -> None:
    assert (
        generate_profile_level_id_string_for_answer({}, {"profile-level-id": "42e034"}) == "42e01f"
    )
    assert (
        generate_profile_level_id_string_for_answer({"profile-level-id": "42e00a"}, None)
        == "42e00a"
    )


def test_answer_is_canonical_for_equivalent_spellings() -> None:
    answer = generate_profile_level_id_string_for_answer(
        {"profile-level-id": "4de01f"}, {"profile-level-id": "42e01f"}
    )
    assert answer == "42e01f"


def test_answer_with_level_1b_depends_on_the_order_like_the_npm_package() -> None:
    one_b, one_one = {"profile-level-id": "42f00b"}, {"profile-level-id": "42e00b"}
    assert generate_profile_level_id_string_for_answer(one_b, one_one) == "42f00b"
    assert generate_profile_level_id_string_for_answer(one_one, one_b) == "42e00b"
    # Levels 1 and 1b rank equal: the remote one is answered.
    assert (
        generate_profile_level_id_string_for_answer(one_b, {"profile-level-id": "42e00a"})
        == "42e00a"
    )


@pytest.mark.parametrize(
    ("local", "remote", "message"),
    [
        ({"profile-level-id": "zzzzzz"}, {}, "invalid local"),
        ({}, {"profile-level-id": "42e000"}, "invalid remote"),
        ({"profile-level-id": "640c1f"}, {"profile-level-id": "42e01f"}, "Profile mismatch"),
    ],
)
def test_answer_raises_type_error_for_invalid_or_different_profiles(
    local: dict[str, Any], remote: dict[str, Any], message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        generate_profile_level_id_string_for_answer(local, remote)


@pytest.mark.parametrize(
    ("value", "allowed"),
    [
        (1, True),
        ("1", True),
        (True, True),
        (1.0, True),
        (0, False),
        ("0", False),
        (False, False),
        (None, False),
        ("true", False),
    ],
)
def test_level_asymmetry_allowed_values(value: Any, allowed: bool) -> None:
    assert is_level_asymmetry_allowed({"level-asymmetry-allowed": value}) is allowed


# -- level order and supported_level ------------------------------------------------------


def test_level_1b_order_follows_the_npm_package() -> None:
    assert is_less_level(Level.L1_B, Level.L1_1)
    # The package ranks 1 and 1b as equal: neither is less than the other.
    assert not is_less_level(Level.L1, Level.L1_B)
    assert not is_less_level(Level.L1_B, Level.L1)
    assert not is_less_level(Level.L1_B, Level.L1_B)
    # Its inverted test (WebRTC has "a == 1") also ranks any level but 1 below 1b.
    assert is_less_level(Level.L1_1, Level.L1_B)
    assert is_less_level(Level.L5_2, Level.L1_B)
    assert min_level(Level.L1_B, Level.L3) is Level.L1_B
    assert min_level(Level.L3, Level.L1_B) is Level.L3
    assert min_level(Level.L5_2, Level.L3_1) is Level.L3_1


@pytest.mark.parametrize(
    ("pixels", "fps", "level"),
    [
        (640 * 480, 25, Level.L2_1),
        (1280 * 720, 30, Level.L3_1),
        (1920 * 1280, 60, Level.L4_2),
        (0, 0, None),
        (1280 * 720, 5, None),
        (183 * 137, 30, None),
    ],
)
def test_supported_level(pixels: int, fps: float, level: Level | None) -> None:
    assert supported_level(pixels, fps) == level


# -- differential check against the npm package mediasoup uses -------------------------------

PROFILE_IDCS = (0x42, 0x4D, 0x58, 0x64, 0xF4, 0x00, 0x43, 0xFF)
LEVEL_IDCS = (0, 9, 10, 11, 12, 13, 14, 20, 21, 22, 30, 31, 32, 40, 41, 42, 50, 51, 52, 53, 255)
# Every profile_iop for every interesting profile_idc and level_idc, in both letter cases.
PARSE_INPUTS = [
    f"{idc:02x}{iop:02x}{level:02x}"
    for idc, iop, level in itertools.product(PROFILE_IDCS, range(256), LEVEL_IDCS)
] + ["42E01F", "4D401F", "640C34", "zzzzzz", "42e01", "", "0000000"]

ANSWER_PARAMS: list[dict[str, Any]] = [
    {},
    {"profile-level-id": "42e01f"},
    {"profile-level-id": "42e00a"},
    {"profile-level-id": "42f00b"},
    {"profile-level-id": "42e00b"},
    {"profile-level-id": "42e034", "level-asymmetry-allowed": 1},
    {"profile-level-id": "42e015", "level-asymmetry-allowed": "1"},
    {"profile-level-id": "42a01f"},
    {"profile-level-id": "4d0032", "level-asymmetry-allowed": True},
    {"profile-level-id": "4d100b"},
    {"profile-level-id": "640c1f"},
    {"profile-level-id": "64001f", "level-asymmetry-allowed": 0},
    {"profile-level-id": "f40034"},
    {"profile-level-id": "bogus!"},
    {"level-asymmetry-allowed": 1},
]

SUPPORTED_LEVEL_INPUTS = [
    [width * height, fps]
    for width, height in (
        (176, 144),
        (320, 240),
        (640, 480),
        (1280, 720),
        (1920, 1080),
        (4096, 2304),
    )
    for fps in (5, 15, 25, 30, 60, 120)
]

NODE_RUNNER = r"""
const h264 = require(process.env.H264_MODULE);
const { parse, answers, supported } = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const plain = (v) => (v === undefined ? null : { profile: v.profile, level: v.level });
const answer = (a, b) => {
  try {
    return { ok: h264.generateProfileLevelIdStringForAnswer(a, b) ?? null };
  } catch (error) {
    return { error: error.name };
  }
};
process.stdout.write(JSON.stringify({
  parse: parse.map((s) => plain(h264.parseProfileLevelId(s))),
  pairs: answers.flatMap((a) => answers.map((b) => ({
    sameProfile: h264.isSameProfile(a, b),
    sameProfileAndLevel: h264.isSameProfileAndLevel(a, b),
    answer: answer(a, b),
  }))),
  supported: supported.map(([pixels, fps]) => h264.supportedLevel(pixels, fps) ?? null),
}));
"""


def _python_answer(local: dict[str, Any], remote: dict[str, Any]) -> dict[str, Any]:
    try:
        return {"ok": generate_profile_level_id_string_for_answer(local, remote)}
    except TypeError:
        return {"error": "TypeError"}


def _plain(parsed: ProfileLevelId | None) -> dict[str, int] | None:
    return None if parsed is None else {"profile": parsed.profile, "level": parsed.level}


@pytest.fixture(scope="module")
def npm_results() -> dict[str, Any]:
    module = CONFORMANCE_WORK / "node_modules" / "h264-profile-level-id"
    if not module.exists():
        prepare = subprocess.run(
            ["bash", str(RUN_SH), "--prepare-only"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert prepare.returncode == 0, prepare.stderr[-4000:]
    assert json.loads((Path(module) / "package.json").read_text())["version"] == "2.3.3"
    run = subprocess.run(
        ["node", "-e", NODE_RUNNER],
        input=json.dumps(
            {"parse": PARSE_INPUTS, "answers": ANSWER_PARAMS, "supported": SUPPORTED_LEVEL_INPUTS}
        ),
        capture_output=True,
        text=True,
        timeout=120,
        env={"H264_MODULE": str(module), "PATH": os.environ["PATH"]},
        check=False,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    return json.loads(run.stdout)


def test_parse_matches_npm_package(npm_results: dict[str, Any]) -> None:
    python = [_plain(parse_profile_level_id(value)) for value in PARSE_INPUTS]
    mismatches = [
        (value, ours, theirs)
        for value, ours, theirs in zip(PARSE_INPUTS, python, npm_results["parse"], strict=True)
        if ours != theirs
    ]
    assert mismatches == []
    # The grid must contain both recognised and rejected values to mean anything.
    assert 500 < sum(r is not None for r in npm_results["parse"]) < len(PARSE_INPUTS) - 500


def test_profile_comparison_and_answers_match_npm_package(npm_results: dict[str, Any]) -> None:
    python = [
        {
            "sameProfile": is_same_profile(a, b),
            "sameProfileAndLevel": is_same_profile_and_level(a, b),
            "answer": _python_answer(a, b),
        }
        for a, b in itertools.product(ANSWER_PARAMS, repeat=2)
    ]
    assert python == npm_results["pairs"]
    answers = [pair["answer"] for pair in npm_results["pairs"]]
    assert {"error": "TypeError"} in answers
    assert {"ok": None} in answers
    assert len({a.get("ok") for a in answers}) > 5


def test_supported_level_matches_npm_package(npm_results: dict[str, Any]) -> None:
    python = [supported_level(pixels, fps) for pixels, fps in SUPPORTED_LEVEL_INPUTS]
    assert python == npm_results["supported"]
    assert None in python
    assert Level.L5_2 in python
