"""Bodies of the stream endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from control_api.models import StreamStatus


class OnDemandFields(BaseModel):
    """Pulled sources (cameras, test patterns) may be pulled only while watched."""

    on_demand: StrictBool | None = Field(
        default=None,
        description="true: nothing is pulled until the first consume (status idle), which "
        "waits for live (504 stream_start_timeout after VASMS_ON_DEMAND_START_TIMEOUT_S); "
        "released VASMS_ON_DEMAND_IDLE_S after the last viewer left. Default false.",
    )
    preload: StrictBool | None = Field(
        default=None,
        description="With on_demand: keep it pulled anyway (viewers start at once). Default false.",
    )


class RtspSourceIn(OnDemandFields):
    type: Literal["rtsp"]
    url: str = Field(pattern=r"^rtsps?://\S+$", max_length=2000)
    transcode: Literal["auto"] | StrictBool = Field(
        default="auto",
        description='"auto": H.264 (baseline, main, high) passed through, anything else '
        "(H.265, MJPEG, MPEG-4) re-encoded to H.264 at the camera's size and frame rate "
        "(capped by the node's VASMS_TRANSCODE_MAX_HEIGHT); true: always re-encoded "
        "(answers key-frame requests); false: passed through, a camera that is not "
        "H.264 turns the stream to error saying so.",
    )
    fast_start: StrictBool = Field(
        default=True,
        description="A viewer joining a passed-through camera starts at once on a "
        "half-height bridge picture and switches to the camera's own bitstream at its next "
        "key frame, instead of waiting up to a whole GOP; false sends the camera's "
        "bitstream alone.",
    )


class RtpSourceIn(BaseModel):
    """An external sender pushes SRTP to the stream's `rtp_endpoint` once started, with
    the key it shows (operators only)."""

    type: Literal["rtp"]


class TestPatternSourceIn(OnDemandFields):
    type: Literal["test_pattern"]
    width: int | None = Field(default=None, ge=16, le=3840)
    height: int | None = Field(default=None, ge=16, le=2160)
    fps: int | None = Field(default=None, ge=1, le=60)
    keyframe_interval_s: int | None = Field(default=None, ge=1, le=60)
    audio: StrictBool | None = Field(
        default=None, description="true: a 440 Hz tone as the stream's audio. Default false."
    )


SourceIn = Annotated[RtspSourceIn | RtpSourceIn | TestPatternSourceIn, Field(discriminator="type")]


class StreamCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"name": "lobby", "source": {"type": "rtsp", "url": "rtsp://10.0.0.5/stream1"}},
                {"name": "test", "source": {"type": "test_pattern"}, "codec": "vp8"},
            ]
        }
    )

    name: str = Field(min_length=1, max_length=200)
    source: SourceIn
    codec: Literal["vp8", "h264"] | None = None

    @field_validator("name")
    @classmethod
    def _strip(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("name must not be blank")
        return value.strip()


STREAM_EXAMPLE: dict[str, Any] = {
    "id": "0b8f5c0e-8d0c-4f39-9a3e-3e2b1f6d7a10",
    "name": "lobby",
    "status": "live",
    "status_reason": "",
    "source": {"type": "rtsp", "url": "rtsp://10.0.0.5/stream1", "transcode": "auto"},
    "codec": "h264",
    "node_id": "node-a",
    "producer_id": "9a1d…",
    "consumer_count": 2,
    "rtp_endpoint": None,
    "video": {"codec": "h264", "width": 1280, "height": 720},
    "audio": None,
    "created_at": "2026-11-25T13:00:00Z",
    "updated_at": "2026-11-25T13:00:02Z",
}


class StreamOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [STREAM_EXAMPLE]})

    id: str
    name: str
    status: StreamStatus
    status_reason: str = Field(default="", description="Why, for error (and stopped).")
    source: dict[str, Any]
    codec: str | None
    node_id: str | None
    producer_id: str | None = None
    consumer_count: int
    rtp_endpoint: dict[str, Any] | None = Field(
        default=None,
        description="Where and with which SRTP key to push RTP (rtp sources, once started; "
        "shown to operators only).",
    )
    video: dict[str, Any] | None = Field(
        default=None,
        description="What viewers receive: {codec, width, height} (sizes null when the "
        "node does not know them, e.g. RTP push).",
    )
    audio: dict[str, Any] | None = Field(
        default=None, description="{codec} of the stream's audio; null without audio."
    )
    created_at: datetime
    updated_at: datetime
