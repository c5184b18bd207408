"""A real coturn (Debian `coturn`) for tests: TURN REST secret, UDP/TCP 3478, TLS 443.

Started with `-n` (no configuration file, everything on the command line) on one
address of the test's own, with its own pid and log files, and stopped (SIGTERM, then
SIGKILL) when the context exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Coturn:
    ip: str
    port: int
    tls_port: int
    secret: str
    ca_file: Path
    log_path: Path
    process: asyncio.subprocess.Process

    @property
    def urls(self) -> list[str]:
        """UDP, TCP and TLS URLs, as VASMS_TURN_URLS lists them."""
        return [
            f"turn:{self.ip}:{self.port}?transport=udp",
            f"turn:{self.ip}:{self.port}?transport=tcp",
            f"turns:{self.ip}:{self.tls_port}?transport=tcp",
        ]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


async def self_signed(tmp_path: Path, ip: str) -> tuple[Path, Path]:
    """A P-256 certificate for `ip` (subjectAltName IP), its own CA; (cert, key)."""
    cert, key = tmp_path / "turn-cert.pem", tmp_path / "turn-key.pem"
    proc = await asyncio.create_subprocess_exec(
        "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-days", "2", "-subj", "/CN=vasms-test-turn", "-addext",
        f"subjectAltName=IP:{ip}", "-keyout", str(key), "-out", str(cert),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"openssl: {err.decode()}")
    return cert, key


async def _listening(ip: str, port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection(ip, port)
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


@contextlib.asynccontextmanager
async def coturn(
    tmp_path: Path,
    ip: str,
    secret: str,
    *,
    relay_ports: tuple[int, int],
    port: int = 3478,
    tls_port: int = 443,
) -> AsyncIterator[Coturn]:
    cert, key = await self_signed(tmp_path, ip)
    log_path = tmp_path / "coturn.log"
    cmd = [
        "turnserver", "-n", "--listening-ip", ip, "--relay-ip", ip,
        "--listening-port", str(port), "--tls-listening-port", str(tls_port),
        "--min-port", str(relay_ports[0]), "--max-port", str(relay_ports[1]),
        "--use-auth-secret", "--static-auth-secret", secret, "--realm", "vasms.test",
        "--cert", str(cert), "--pkey", str(key), "--no-tlsv1", "--no-tlsv1_1",
        # As in production (docs/operations.md): relay to the media node only.
        "--denied-peer-ip", "0.0.0.0-255.255.255.255", "--allowed-peer-ip", ip,
        "--fingerprint", "--no-cli", "--no-multicast-peers", "--no-rfc5780",
        "--no-software-attribute", "--simple-log", "--log-file", "stdout",
        "--pidfile", str(tmp_path / "coturn.pid"), "--verbose",
    ]  # fmt: skip
    with log_path.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            *cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Coturn(ip, port, tls_port, secret, cert, log_path, process)
    try:
        async with asyncio.timeout(20):
            while not (await _listening(ip, port) and await _listening(ip, tls_port)):
                if process.returncode is not None:
                    raise RuntimeError(f"coturn exited {process.returncode}:\n{server.log()}")
                await asyncio.sleep(0.1)
        yield server
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
