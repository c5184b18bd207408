"""Media node settings: environment (prefix VASMS_) overridden by command-line flags."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

CHECKOUT_WORKER_BIN = Path(__file__).resolve().parents[1] / "build" / "worker" / "mediasoup-worker"
"""Where `make worker` links the binary it built (or took from the cache)."""


def default_worker_bin() -> str | None:
    """The node's worker binary when VASMS_WORKER_BIN is unset: this checkout's build, if
    there is one; else None, and the driver falls back to MEDIASOUP_WORKER_BIN and PATH."""
    return str(CHECKOUT_WORKER_BIN) if CHECKOUT_WORKER_BIN.exists() else None


class NodeSettings(BaseSettings):
    """Everything a media node needs to run; defaults suit one machine for development."""

    model_config = SettingsConfigDict(env_prefix="VASMS_", extra="ignore")

    node_id: str = Field(default_factory=socket.gethostname)
    node_grpc_listen: str = "127.0.0.1:50051"
    node_token: str | None = None
    """Shared secret the control plane sends as `authorization: Bearer <token>`."""
    node_auth_disabled: bool = False
    """Accept calls without a token. Local development only; must be asked for explicitly."""
    rtc_listen_ip: str = "127.0.0.1"
    rtc_announced_address: str | None = None
    """Address given to viewers in ICE candidates (the host's public address behind NAT)."""
    rtc_min_port: int = 40000
    rtc_max_port: int = 49999
    rtc_enable_tcp: bool = True
    """Also offer ICE over TCP (viewers on UDP-hostile networks); UDP is preferred."""
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1)
    worker_bin: str | None = Field(default_factory=default_worker_bin)
    """The mediasoup-worker binary (VASMS_WORKER_BIN); the driver itself knows no VAS-MS paths."""
    worker_log_level: str = "warn"
    connect_timeout_s: float = 30.0
    """A transport whose DTLS has not connected after this long is closed (viewer gone)."""
    ice_consent_timeout_s: int = 30
    """Seconds without ICE consent (RFC 7675) before the worker reports ICE disconnected."""
    ice_disconnected_grace_s: float = 2.0
    """How long ICE may stay disconnected before the transport is closed."""
    drain_deadline_s: float = 300.0
    ingest_no_packet_timeout_s: float = 5.0
    load_refresh_s: float = 1.0
    node_metrics_listen: str | None = None
    """host:port of the Prometheus /metrics endpoint (off when unset)."""

    @model_validator(mode="after")
    def _check(self) -> NodeSettings:
        if self.rtc_min_port > self.rtc_max_port:
            raise ValueError("rtc_min_port must not exceed rtc_max_port")
        if self.workers < 1:
            raise ValueError("workers must be at least 1")
        if not self.node_token and not self.node_auth_disabled:
            raise ValueError(
                "set VASMS_NODE_TOKEN (shared secret with the control plane), or "
                "VASMS_NODE_AUTH_DISABLED=true for local development"
            )
        return self
