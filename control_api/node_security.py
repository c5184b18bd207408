"""How this replica proves itself to media nodes: TLS, the token, the cluster id.

Kept apart from the node client so the channel's security is decided in one
place: mTLS credentials from `VASMS_NODE_TLS_*`, the bearer token (second
factor), and the cluster id nodes use to refuse a foreign control plane.
"""

from __future__ import annotations

import hashlib

import grpc
from sqlalchemy.engine import make_url

from control_api.config import Settings

CLUSTER_METADATA = "x-vasms-cluster"
"""The metadata key nodes read the caller's cluster id from (see media_node/cluster.py)."""


def channel_credentials(settings: Settings) -> grpc.ChannelCredentials | None:
    """TLS credentials for node channels; None (plaintext) when no TLS setting is given."""
    if not (settings.node_tls_ca or settings.node_tls_client_cert):
        return None
    return grpc.ssl_channel_credentials(
        root_certificates=settings.node_tls_ca.read_bytes() if settings.node_tls_ca else None,
        private_key=(
            settings.node_tls_client_key.read_bytes() if settings.node_tls_client_key else None
        ),
        certificate_chain=(
            settings.node_tls_client_cert.read_bytes() if settings.node_tls_client_cert else None
        ),
    )


def cluster_id(settings: Settings) -> str:
    """`VASMS_CLUSTER_ID`, else one derived from the database URL without its password.

    Replicas of one deployment share the database, so they agree on the id without
    configuration; a control API started on another (say, empty) database is another
    cluster and a node already owned refuses it instead of being swept by it.
    """
    if settings.cluster_id:
        return settings.cluster_id
    url = make_url(settings.database_url)
    identity = f"{url.get_backend_name()}://{url.username or ''}@{url.host or ''}:{url.port or ''}"
    digest = hashlib.sha256(f"{identity}/{url.database or ''}".encode()).hexdigest()
    return f"db-{digest[:16]}"
