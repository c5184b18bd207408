"""Bodies of the stream endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from control_api.models import StreamStatus


class RtspSourceIn(BaseModel):
    type: Literal["rtsp"]
    url: str = Field(pattern=r"^rtsps?://\S+$", max_length=2000)
    transcode: bool = Field(
        default=False,
        description="Re-encode to VP8 (answers key-frame requests) instead of "
        "passing H.264 through.",
    )


class RtpSourceIn(BaseModel):
    """An external sender pushes RTP to the stream's `rtp_endpoint` once started."""

    type: Literal["rtp"]


class TestPatternSourceIn(BaseModel):
    type: Literal["test_pattern"]
    width: int | None = Field(default=None, ge=16, le=3840)
    height: int | None = Field(default=None, ge=16, le=2160)
    fps: int | None = Field(default=None, ge=1, le=60)
    keyframe_interval_s: int | None = Field(default=None, ge=1, le=60)


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
    "source": {"type": "rtsp", "url": "rtsp://10.0.0.5/stream1", "transcode": False},
    "codec": "h264",
    "node_id": "node-a",
    "producer_id": "9a1d…",
    "consumer_count": 2,
    "rtp_endpoint": None,
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
        default=None, description="Where to push RTP (rtp sources, once started)."
    )
    created_at: datetime
    updated_at: datetime
