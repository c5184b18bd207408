"""`make certs`: a development CA and the certificates of node gRPC mutual TLS.

Writes to var/certs/ (or --out):
  ca.pem, ca-key.pem        the CA (keep ca-key.pem private; it signs the others)
  node.pem, node-key.pem    the media nodes' server certificate: SANs 127.0.0.1, ::1,
                            localhost, host.docker.internal and each --node-id
                            (default node-1..node-3), plus each --ip
  client.pem, client-key.pem  the control API's client certificate
Nodes take VASMS_NODE_TLS_CERT=node.pem, VASMS_NODE_TLS_KEY=node-key.pem and
VASMS_NODE_TLS_CLIENT_CA=ca.pem; control APIs VASMS_NODE_TLS_CA=ca.pem,
VASMS_NODE_TLS_CLIENT_CERT=client.pem and VASMS_NODE_TLS_CLIENT_KEY=client-key.pem.
Existing files are kept (running processes keep working) unless --force. For
production, issue the same three roles from your own CA.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

REPO = Path(__file__).resolve().parents[1]
NAMES = ("ca", "node", "client")


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "VAS-MS development"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _builder(
    subject: str, issuer: x509.Name, key: ec.EllipticCurvePrivateKey, days: int
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
    )


def make_ca(days: int) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    cert = (
        _builder("VAS-MS development CA", _name("VAS-MS development CA"), key, days)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return cert, key


def make_leaf(
    ca: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    common_name: str,
    usage: x509.ObjectIdentifier,
    days: int,
    dns: tuple[str, ...] = (),
    ips: tuple[str, ...] = (),
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A certificate for one role (`usage`: server or client auth) signed by the CA."""
    key = _key()
    builder = (
        _builder(common_name, ca.subject, key, days)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def _write(path: Path, data: bytes, private: bool) -> None:
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(temporary, path)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_all(out: Path, node_ids: list[str], extra_ips: list[str], days: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    ca, ca_key = make_ca(days)
    node, node_key = make_leaf(
        ca,
        ca_key,
        "vasms-media-node",
        ExtendedKeyUsageOID.SERVER_AUTH,
        days,
        # host.docker.internal: how deploy/docker's API containers reach the host's nodes.
        dns=("localhost", "host.docker.internal", *node_ids),
        ips=("127.0.0.1", "::1", *extra_ips),
    )
    client, client_key = make_leaf(
        ca, ca_key, "vasms-control-api", ExtendedKeyUsageOID.CLIENT_AUTH, days
    )
    for name, cert, key in (
        ("ca", ca, ca_key),
        ("node", node, node_key),
        ("client", client, client_key),
    ):
        _write(out / f"{name}.pem", _pem(cert), private=False)
        _write(out / f"{name}-key.pem", _key_pem(key), private=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "var" / "certs")
    parser.add_argument(
        "--node-id", action="append", dest="node_ids", help="a DNS SAN of node.pem (repeatable)"
    )
    parser.add_argument("--ip", action="append", default=[], help="an extra IP SAN of node.pem")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--force", action="store_true", help="replace existing files")
    args = parser.parse_args()
    existing = [n for n in NAMES if (args.out / f"{n}.pem").exists()]
    if existing and not args.force:
        print(f"{args.out}: certificates exist ({', '.join(existing)}); --force replaces them")
        return 0
    write_all(args.out, args.node_ids or ["node-1", "node-2", "node-3"], args.ip, args.days)
    print(f"wrote CA, node and client certificates to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
