"""Settings of the control API, all from `VASMS_*` environment variables.

One pydantic-settings class so every knob is typed, documented once and
validated at start: a typo in an address or a URL fails the process early
instead of surfacing as a 500 later.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

log = logging.getLogger(__name__)


def normalise_database_url(url: str) -> str:
    """Maps plain `sqlite://` / `postgresql://` URLs onto the async drivers we ship.

    Operators copy URLs from other tools; the async engine needs the driver
    spelled out (`+aiosqlite`, `+asyncpg`), so we add it rather than fail.
    """
    for prefix, driver in (
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
    ):
        if url.startswith(prefix):
            return driver + url[len(prefix) :]
    return url


class Settings(BaseSettings):
    """Every setting of a control API replica (env prefix `VASMS_`)."""

    model_config = SettingsConfigDict(env_prefix="VASMS_", extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///./var/vasms.db",
        description="SQLAlchemy URL; SQLite file under ./var/ by default, PostgreSQL via asyncpg.",
    )
    dev: bool = Field(
        default=False,
        description="Development mode: weak or missing secrets are accepted with a warning "
        "(a missing JWT secret becomes a random per-process key). Never in production.",
    )
    jwt_secret: SecretStr | None = Field(
        default=None,
        description="HMAC key of access tokens, at least 32 bytes, shared by all replicas. "
        "Required unless VASMS_DEV=true.",
    )
    jwt_secret_file: Path | None = Field(
        default=None, description="A file holding the JWT secret instead (LoadCredential=)."
    )
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    access_token_ttl_s: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    media_nodes: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated gRPC addresses of media nodes."
    )
    node_token: SecretStr | None = Field(
        default=None, description="Shared secret sent as bearer metadata on every node call."
    )
    node_token_file: Path | None = Field(
        default=None, description="A file holding the node token instead (LoadCredential=)."
    )
    node_tls_ca: Path | None = Field(
        default=None, description="PEM CA that signed the nodes' certificates; TLS to nodes."
    )
    node_tls_client_cert: Path | None = Field(
        default=None, description="PEM client certificate presented to nodes (mTLS)."
    )
    node_tls_client_key: Path | None = Field(default=None, description="Its private key.")
    cluster_id: str | None = Field(
        default=None,
        description="The cluster this replica belongs to, presented to every node (nodes "
        "obey one cluster). Unset: derived from the database URL, so replicas sharing a "
        "database agree and a control API on another database is another cluster.",
    )
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    admin_username: str | None = None
    admin_password: SecretStr | None = None
    admin_password_file: Path | None = Field(
        default=None, description="A file holding the first admin's password instead."
    )
    enable_v2: bool = Field(
        default=True,
        description="Serve the V2 media and stream routes; false leaves sign-in and users (V1 "
        "clients need a token) and shows the players' fallback to the V1 WebSocket.",
    )
    enable_v1: bool = True
    edge_relay_after: int = Field(
        default=0,
        ge=0,
        description="Edge relays: once a node holds this many open consumers, new viewers of "
        "a stream it ingests go to another node fed by a relay (0: never, viewers stay on the "
        "stream's node). A relayed-to node takes viewers up to the same count.",
    )
    auto_migrate: bool = Field(
        default=True, description="Apply Alembic migrations at start (`migrate` does it alone)."
    )
    log_format: Literal["text", "json"] = "text"
    log_level: str = "INFO"
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    grpc_timeout_s: float = Field(default=10.0, gt=0)
    node_poll_interval_s: float = Field(
        default=2.0, gt=0, description="How often each replica asks every node for its load."
    )
    node_stale_after_s: float = Field(
        default=10.0, gt=0, description="A node whose load is older than this gets no new work."
    )
    node_failover_after_s: float = Field(
        default=5.0,
        gt=0,
        description="A node unanswered this long is down: its streams move to another node.",
    )
    closed_consumer_ttl_s: float = Field(
        default=60.0, ge=0, description="How long a consumer closed by its node stays readable."
    )
    placement: Literal["any", "cpu", "streams", "consumers", "bitrate", "cpu_limit"] = Field(
        default="cpu_limit", description="Node selector for new streams (see placement.py)."
    )
    placement_cpu_limit: float = Field(default=80.0, gt=0)
    orphan_sweep_interval_s: float = Field(
        default=30.0, gt=0, description="How often node consumers without a row are looked for."
    )
    restart_backoff_s: float = Field(
        default=1.0, ge=0, description="Delay before re-starting a stream its node lost."
    )
    on_demand_start_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="How long the first consume of an on-demand stream waits for it to go "
        "live (camera connect included) before 504 stream_start_timeout.",
    )
    on_demand_idle_s: float = Field(
        default=30.0,
        gt=0,
        description="An on-demand stream's camera is released this long after its last "
        "viewer left (status idle until the next consume).",
    )
    turn_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated TURN URLs given to viewers (turn:host:3478?transport=udp, "
        "turns:host:443?transport=tcp); empty: no TURN.",
    )
    turn_secret: SecretStr | None = Field(
        default=None,
        description="coturn's static-auth-secret (use-auth-secret): signs credentials.",
    )
    turn_ttl_s: int = Field(
        default=3600, ge=60, le=7 * 24 * 3600, description="Lifetime of a TURN credential."
    )
    # Limits (services/quotas.py, services/throttle.py).
    max_consumers_per_user: int = Field(
        default=20,
        ge=1,
        description="Open consumers one user may hold (all replicas, from the DB).",
    )
    max_transports_per_socket: int = Field(
        default=8, ge=1, description="Transports one V1 WebSocket may hold at once."
    )
    consume_rate_per_user_s: float = Field(
        default=2.0, gt=0, description="Sustained consumes per second per user (per replica)."
    )
    consume_burst_per_user: int = Field(
        default=30, ge=1, description="Consumes one user may make at once before the rate applies."
    )
    login_window_s: float = Field(
        default=60.0, gt=0, description="Window over which failed logins are counted."
    )
    login_max_failures: int = Field(
        default=5, ge=1, description="Failed logins per username from one address per window."
    )
    login_max_failures_per_address: int = Field(
        default=20, ge=1, description="Failed logins from one address (any username) per window."
    )
    login_max_failures_per_username: int = Field(
        default=100, ge=1, description="Failed logins of one username (any address) per window."
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Addresses/CIDRs of reverse proxies whose X-Forwarded-For names the client "
        "(login throttle); empty: the peer address is the client.",
    )
    token_check_interval_s: float = Field(
        default=2.0, gt=0, description="How often an open V1 socket re-checks its token's user."
    )
    # Database timeouts: an outage answers 503 quickly instead of hanging requests.
    db_connect_timeout_s: float = Field(default=1.0, gt=0)
    db_statement_timeout_s: float = Field(default=1.5, gt=0)
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=20, ge=0)
    db_pool_timeout_s: float = Field(
        default=1.5, gt=0, description="Wait for a pooled connection before answering 503."
    )

    @field_validator("media_nodes", "trusted_proxies", mode="before")
    @classmethod
    def _split_nodes(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("turn_urls", mode="before")
    @classmethod
    def _split_turn_urls(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("turn_urls")
    @classmethod
    def _turn_schemes(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith(("turn:", "turns:", "stun:", "stuns:")):
                raise ValueError(f"not a TURN/STUN URL: {url!r}")
        return value

    @model_validator(mode="after")
    def _turn_needs_secret(self) -> Settings:
        # TURN without credentials would be an open relay (or refuse every viewer).
        if self.turn_secret is not None and not self.turn_secret.get_secret_value():
            self.turn_secret = None  # an empty env var (compose's ${VAR:-}) is "not set"
        if any(u.startswith("turn") for u in self.turn_urls) and self.turn_secret is None:
            raise ValueError("VASMS_TURN_URLS needs VASMS_TURN_SECRET (coturn use-auth-secret)")
        return self

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        return normalise_database_url(value)

    @model_validator(mode="after")
    def _secret_files(self) -> Settings:
        """VASMS_JWT_SECRET_FILE / VASMS_ADMIN_PASSWORD_FILE: secrets as systemd credentials
        or mounted files, never in the environment or argv."""
        for name in ("jwt_secret", "admin_password"):
            path: Path | None = getattr(self, f"{name}_file")
            if path is None:
                continue
            env = f"VASMS_{name.upper()}"
            if getattr(self, name) is not None:
                raise ValueError(f"set {env} or {env}_FILE, not both")
            try:
                value = path.read_text().strip()
            except OSError as error:
                raise ValueError(f"{env}_FILE: cannot read {path} ({error.strerror})") from None
            if not value:
                raise ValueError(f"{env}_FILE: {path} is empty")
            setattr(self, name, SecretStr(value))
        return self

    @model_validator(mode="after")
    def _node_security(self) -> Settings:
        if self.node_token and self.node_token_file:
            raise ValueError("set VASMS_NODE_TOKEN or VASMS_NODE_TOKEN_FILE, not both")
        if self.node_token_file is not None:
            try:
                token = self.node_token_file.read_text().strip()
            except OSError as error:
                raise ValueError(
                    f"VASMS_NODE_TOKEN_FILE: cannot read {self.node_token_file} ({error.strerror})"
                ) from None
            if not token:
                raise ValueError(f"VASMS_NODE_TOKEN_FILE: {self.node_token_file} is empty")
            self.node_token = SecretStr(token)
        if bool(self.node_tls_client_cert) != bool(self.node_tls_client_key):
            raise ValueError("VASMS_NODE_TLS_CLIENT_CERT and VASMS_NODE_TLS_CLIENT_KEY go together")
        for name in ("node_tls_ca", "node_tls_client_cert", "node_tls_client_key"):
            path = getattr(self, name)
            if path is not None and not path.is_file():
                raise ValueError(f"VASMS_{name.upper()}: no such file {path}")
        return self


# Values people paste from examples; compared after lower-casing and dropping
# everything but letters and digits ("Change-Me" -> "changeme").
PLACEHOLDERS = frozenset(
    {
        "changeme",
        "changeit",
        "changemeplease",
        "secret",
        "mysecret",
        "yoursecret",
        "jwtsecret",
        "supersecret",
        "topsecret",
        "password",
        "passw0rd",
        "admin",
        "adminadmin",
        "admin123",
        "adminpassword",
        "root",
        "test",
        "default",
        "example",
        "placeholder",
        "replaceme",
        "todo",
        "xxx",
        "123456",
        "12345678",
        "letmein",
        "qwerty",
    }
)
MIN_JWT_SECRET_BYTES = 32
MIN_ADMIN_PASSWORD_CHARS = 12
MIN_TURN_SECRET_BYTES = 16


def _placeholder(value: str) -> bool:
    """True for a known placeholder, also repeated or with a marker word inside."""
    folded = "".join(ch for ch in value.lower() if ch.isalnum())
    if folded in PLACEHOLDERS or len(set(folded)) < 6:
        return True
    if any(word in folded for word in ("changeme", "replaceme", "changeit", "placeholder")):
        return True
    return any(
        len(folded) % len(word) == 0 and folded == word * (len(folded) // len(word))
        for word in PLACEHOLDERS
    )


def secret_problems(settings: Settings) -> list[str]:
    """What makes these settings unsafe to serve with (empty: fine).

    A missing JWT secret means each replica signs with its own random key
    (tokens fail on the others and die with the process); short or
    placeholder values are guessable.
    """
    problems = []
    if settings.jwt_secret is None:
        problems.append("VASMS_JWT_SECRET is not set")
    else:
        value = settings.jwt_secret.get_secret_value()
        if _placeholder(value):
            problems.append("VASMS_JWT_SECRET is a placeholder")
        elif len(value.encode()) < MIN_JWT_SECRET_BYTES:
            problems.append(f"VASMS_JWT_SECRET is shorter than {MIN_JWT_SECRET_BYTES} bytes")
    if settings.admin_password is not None:
        value = settings.admin_password.get_secret_value()
        if _placeholder(value):
            problems.append("VASMS_ADMIN_PASSWORD is a placeholder")
        elif len(value) < MIN_ADMIN_PASSWORD_CHARS:
            problems.append(
                f"VASMS_ADMIN_PASSWORD is shorter than {MIN_ADMIN_PASSWORD_CHARS} characters"
            )
    if settings.turn_secret is not None:
        # Whoever knows it mints TURN credentials: an open relay in front of the nodes.
        value = settings.turn_secret.get_secret_value()
        if _placeholder(value):
            problems.append("VASMS_TURN_SECRET is a placeholder")
        elif len(value.encode()) < MIN_TURN_SECRET_BYTES:
            problems.append(f"VASMS_TURN_SECRET is shorter than {MIN_TURN_SECRET_BYTES} bytes")
    return problems


class InsecureSettings(ValueError):
    """Raised at start when secrets are missing or weak and VASMS_DEV is not true."""


def check_secrets(settings: Settings) -> None:
    """Refuses weak secrets unless in development mode (then they only warn)."""
    problems = secret_problems(settings)
    if not problems:
        return
    if settings.dev:
        log.warning("VASMS_DEV=true, serving despite: %s", "; ".join(problems))
        return
    raise InsecureSettings(
        "refusing to start: "
        + "; ".join(problems)
        + " (generate one with `openssl rand -base64 48`; VASMS_DEV=true allows weak secrets)"
    )


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once (tests build `Settings(...)` directly)."""
    return Settings()
