"""Media node settings: environment (prefix VASMS_) overridden by command-line flags."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path
from typing import Literal

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
    """Shared secret the control plane sends as `authorization: Bearer <token>` (env only:
    never a command-line flag, where `ps` would show it)."""
    node_token_file: Path | None = None
    """A file holding the token instead (systemd `LoadCredential=`, a Kubernetes secret
    volume); surrounding whitespace is ignored."""
    node_tls_cert: Path | None = None
    """PEM certificate chain of the node's gRPC server; with `node_tls_key`, TLS is on."""
    node_tls_key: Path | None = None
    node_tls_client_ca: Path | None = None
    """PEM CA bundle: when set, callers must present a client certificate it signed (mTLS)."""
    node_insecure: bool = False
    """Allow plaintext gRPC on a non-loopback address (a private network you trust)."""
    node_cluster_id: str | None = None
    """The only control-plane cluster allowed to drive this node; when unset the first
    cluster that calls claims it (kept in `node_state_file` across restarts)."""
    node_state_file: Path | None = None
    """Where the claimed cluster id is kept (JSON); unset: kept in memory only."""
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
    transcode_max_height: int = Field(default=1080, ge=144, le=4320)
    """Cameras the node transcodes arrive at their own size, scaled down (aspect kept)
    to at most this height (VASMS_TRANSCODE_MAX_HEIGHT)."""
    snapshot_timeout_s: float = Field(default=12.0, gt=0)
    """How long a snapshot waits for a key frame (VASMS_SNAPSHOT_TIMEOUT_S): covers the
    key-frame interval of passed-through cameras, which do not answer key-frame requests."""
    snapshot_linger_s: float = Field(default=30.0, gt=0)
    """A stream's snapshot decoder stays this long after the last request
    (VASMS_SNAPSHOT_LINGER_S); meanwhile requests are answered from the latest key frame."""
    load_refresh_s: float = 1.0
    fanout: Literal["fill", "spread", "off"] = "fill"
    """How viewers of one stream spread over the node's workers (media_node/fanout.py): fill
    the stream's own worker up to the threshold, then pipe to others; spread always; off."""
    fanout_max_viewers_per_worker: int = Field(default=100, ge=1)
    fanout_max_cpu_percent: float = Field(default=85.0, gt=0)
    pipe_listen_ip: str | None = None
    """Edge relays: the address node-to-node pipes listen on (default: rtc_listen_ip)."""
    pipe_announced_address: str | None = None
    """Edge relays: the address other nodes send to (default: the listen address)."""
    pipe_srtp: bool = True
    """Edge relays: encrypt node-to-node RTP (SRTP; keys travel through the control plane)."""
    relay_idle_timeout_s: float = Field(default=15.0, gt=0)
    node_metrics_listen: str | None = None
    """host:port of the Prometheus /metrics endpoint (off when unset)."""

    @model_validator(mode="after")
    def _check(self) -> NodeSettings:
        if self.rtc_min_port > self.rtc_max_port:
            raise ValueError("rtc_min_port must not exceed rtc_max_port")
        if self.workers < 1:
            raise ValueError("workers must be at least 1")
        if self.node_token and self.node_token_file:
            raise ValueError("set VASMS_NODE_TOKEN or VASMS_NODE_TOKEN_FILE, not both")
        if self.node_token_file is not None:
            self.node_token = read_secret_file(self.node_token_file, "VASMS_NODE_TOKEN_FILE")
        if bool(self.node_tls_cert) != bool(self.node_tls_key):
            raise ValueError("VASMS_NODE_TLS_CERT and VASMS_NODE_TLS_KEY go together")
        if self.node_tls_client_ca and not self.node_tls_cert:
            raise ValueError("VASMS_NODE_TLS_CLIENT_CA needs VASMS_NODE_TLS_CERT/KEY (TLS on)")
        for name in ("node_tls_cert", "node_tls_key", "node_tls_client_ca"):
            path = getattr(self, name)
            if path is not None and not path.is_file():
                raise ValueError(f"VASMS_{name.upper()}: no such file {path}")
        if not self.tls and not self.node_insecure and not is_loopback(self.node_grpc_listen):
            raise ValueError(
                f"refusing plaintext gRPC on {self.node_grpc_listen}: set VASMS_NODE_TLS_CERT, "
                "VASMS_NODE_TLS_KEY and VASMS_NODE_TLS_CLIENT_CA (make certs), or "
                "VASMS_NODE_INSECURE=true on a network you trust"
            )
        if not self.node_token and not self.node_auth_disabled:
            raise ValueError(
                "set VASMS_NODE_TOKEN or VASMS_NODE_TOKEN_FILE (shared secret with the control "
                "plane), or VASMS_NODE_AUTH_DISABLED=true for local development"
            )
        return self

    @property
    def tls(self) -> bool:
        return self.node_tls_cert is not None and self.node_tls_key is not None


def is_loopback(listen: str) -> bool:
    """`127.0.0.1:50051`, `localhost:0`, `[::1]:50051` are loopback; `0.0.0.0:…` is not."""
    host = listen.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: may resolve anywhere


def read_secret_file(path: Path, setting: str) -> str:
    """The secret in `path`, stripped; a clear error when it is missing or empty."""
    try:
        value = path.read_text().strip()
    except OSError as error:
        raise ValueError(f"{setting}: cannot read {path} ({error.strerror})") from None
    if not value:
        raise ValueError(f"{setting}: {path} is empty")
    return value
