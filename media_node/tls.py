"""TLS for the node's gRPC server: server certificate, and client certificates (mTLS).

The control plane holds full control of a node (StartStream, CloseConsumer,
Drain), so the channel carries the node token only inside TLS, and with
`VASMS_NODE_TLS_CLIENT_CA` the node also checks who is calling before any
token is looked at: a caller without a certificate that CA signed never gets
past the handshake.
"""

from __future__ import annotations

import grpc

from media_node.config import NodeSettings


def server_credentials(settings: NodeSettings) -> grpc.ServerCredentials | None:
    """The server's TLS credentials, or None when the node serves plaintext."""
    if not settings.tls:
        return None
    assert settings.node_tls_cert is not None and settings.node_tls_key is not None
    client_ca = settings.node_tls_client_ca.read_bytes() if settings.node_tls_client_ca else None
    return grpc.ssl_server_credentials(
        [(settings.node_tls_key.read_bytes(), settings.node_tls_cert.read_bytes())],
        root_certificates=client_ca,
        require_client_auth=client_ca is not None,
    )


def describe(settings: NodeSettings) -> str:
    """How the listener is secured, for the start-up line."""
    if not settings.tls:
        return "plaintext"
    return "mTLS" if settings.node_tls_client_ca else "TLS (no client certificates)"
