"""Development certificates for TLS tests, made by the project's own `scripts/certs.py`."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import grpc

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Certs:
    dir: Path

    def path(self, name: str) -> Path:
        return self.dir / name

    def node_env(self, client_ca: bool = True) -> dict[str, str]:
        """The media node's VASMS_NODE_TLS_* settings."""
        env = {
            "VASMS_NODE_TLS_CERT": str(self.path("node.pem")),
            "VASMS_NODE_TLS_KEY": str(self.path("node-key.pem")),
        }
        if client_ca:
            env["VASMS_NODE_TLS_CLIENT_CA"] = str(self.path("ca.pem"))
        return env

    def api_settings(self) -> dict[str, Path]:
        """The control API's node_tls_* settings."""
        return {
            "node_tls_ca": self.path("ca.pem"),
            "node_tls_client_cert": self.path("client.pem"),
            "node_tls_client_key": self.path("client-key.pem"),
        }

    def credentials(self, client: bool = True) -> grpc.ChannelCredentials:
        """Channel credentials trusting this CA, with the client certificate or without."""
        return grpc.ssl_channel_credentials(
            root_certificates=self.path("ca.pem").read_bytes(),
            private_key=self.path("client-key.pem").read_bytes() if client else None,
            certificate_chain=self.path("client.pem").read_bytes() if client else None,
        )


def make_certs(out: Path, *node_ids: str) -> Certs:
    """Runs `scripts/certs.py --out <out>` (what `make certs` runs) and returns the paths."""
    argv = [sys.executable, str(REPO / "scripts" / "certs.py"), "--out", str(out)]
    for node_id in node_ids:
        argv += ["--node-id", node_id]
    subprocess.run(argv, check=True, capture_output=True, timeout=60)
    return Certs(out)
