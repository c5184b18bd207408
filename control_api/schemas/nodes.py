"""Bodies of the admin node endpoints."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

NODE_EXAMPLE = {
    "id": "node-a",
    "address": "10.0.0.21:50051",
    "reachable": True,
    "draining": False,
    "cpu_percent": 12.5,
    "streams": 3,
    "transports": 14,
    "consumers": 14,
    "outgoing_bitrate_bps": 11200000,
    "age_s": 0.4,
}


class NodeOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [NODE_EXAMPLE]})

    id: str | None = Field(description="The node's own id (null until it first answered).")
    address: str
    reachable: bool
    draining: bool
    cpu_percent: float
    streams: int
    transports: int
    consumers: int
    outgoing_bitrate_bps: int
    age_s: float | None = Field(description="Age of the load figures in seconds.")


class NodeList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"nodes": [NODE_EXAMPLE]}]})

    nodes: list[NodeOut]


class DrainRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"deadline_s": 300}]})

    deadline_s: int = Field(default=0, ge=0, le=86400, description="0: the node's default.")


class DrainOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"draining": True, "consumers_remaining": 14, "deadline_ms": 1795000000000}
            ]
        }
    )

    draining: bool
    consumers_remaining: int
    deadline_ms: int
