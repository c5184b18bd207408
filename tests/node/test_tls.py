"""Node gRPC security on a real node process: mTLS, plaintext refusal, token handling.

Certificates come from `scripts/certs.py` (what `make certs` runs).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from media_node.config import NodeSettings
from protos import media_node_pb2 as pb
from protos import media_node_pb2_grpc as pb_grpc
from tests.control_api.support import REPO, Node, free_port, start_node
from tests.support.certs import Certs, make_certs

GRPCURL = str(REPO / ".venv" / "bin" / "grpcurl")


@pytest.fixture
def certs(tmp_path: Path) -> Certs:
    return make_certs(tmp_path / "certs")


async def _get_load(node: Node, credentials: grpc.ChannelCredentials | None) -> pb.Load:
    channel = (
        grpc.aio.insecure_channel(node.address)
        if credentials is None
        else grpc.aio.secure_channel(node.address, credentials)
    )
    async with channel:
        stub = pb_grpc.MediaNodeStub(channel)
        return await stub.GetLoad(pb.GetLoadRequest(), metadata=node.metadata, timeout=5)


async def test_mtls_accepts_the_right_client_and_refuses_others(
    tmp_path: Path, certs: Certs
) -> None:
    node = await start_node(tmp_path, credentials=certs.credentials(), **certs.node_env())
    try:
        assert "mTLS" in node.log()
        load = await _get_load(node, certs.credentials())
        assert load.node_id == node.node_id

        # No client certificate: the handshake fails before any RPC.
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await _get_load(node, certs.credentials(client=False))
        assert missing.value.code() == grpc.StatusCode.UNAVAILABLE

        # A client certificate of another CA (right server CA): refused too.
        other = make_certs(tmp_path / "other")
        foreign = grpc.ssl_channel_credentials(
            root_certificates=certs.path("ca.pem").read_bytes(),
            private_key=other.path("client-key.pem").read_bytes(),
            certificate_chain=other.path("client.pem").read_bytes(),
        )
        with pytest.raises(grpc.aio.AioRpcError) as wrong:
            await _get_load(node, foreign)
        assert wrong.value.code() == grpc.StatusCode.UNAVAILABLE

        # The client checks the server as well: a node certificate of another CA fails.
        with pytest.raises(grpc.aio.AioRpcError) as untrusted:
            await _get_load(node, other.credentials())
        assert untrusted.value.code() == grpc.StatusCode.UNAVAILABLE

        # Plaintext to a TLS port: refused.
        with pytest.raises(grpc.aio.AioRpcError) as plain:
            await _get_load(node, None)
        assert plain.value.code() == grpc.StatusCode.UNAVAILABLE

        # The right certificate with a wrong token: TLS is not a substitute for the token.
        async with grpc.aio.secure_channel(node.address, certs.credentials()) as channel:
            stub = pb_grpc.MediaNodeStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as token:
                await stub.GetLoad(
                    pb.GetLoadRequest(), metadata=(("authorization", "Bearer nope"),), timeout=5
                )
        assert token.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        await node.stop()


def _grpcurl(certs: Certs, node: Node, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            GRPCURL,
            "-cacert",
            str(certs.path("ca.pem")),
            "-cert",
            str(certs.path("client.pem")),
            "-key",
            str(certs.path("client-key.pem")),
            "-H",
            f"authorization: Bearer {node.token}",
            node.address,
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )


async def test_grpcurl_cookbook_with_client_certificate(tmp_path: Path, certs: Certs) -> None:
    """The operations.md cookbook: `grpcurl -cacert -cert -key -H token` against mTLS."""
    node = await start_node(tmp_path, credentials=certs.credentials(), **certs.node_env())
    try:
        done = await asyncio.to_thread(
            _grpcurl, certs, node, "vasms.medianode.v1.MediaNode/GetLoad"
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["node_id"] == node.node_id
        listed = await asyncio.to_thread(_grpcurl, certs, node, "list")
        assert "vasms.medianode.v1.MediaNode" in listed.stdout.split(), listed.stderr
    finally:
        await node.stop()


async def _run_node(env: dict[str, str], *argv: str) -> tuple[int, str]:
    """Runs the daemon expecting it to exit at once; returns (exit code, stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "media_node.server",
        *argv,
        env={**os.environ, **env},
        cwd=REPO,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, err.decode()


async def test_plaintext_on_a_non_loopback_address_refuses_to_start() -> None:
    code, err = await _run_node(
        {
            "VASMS_NODE_GRPC_LISTEN": f"0.0.0.0:{free_port()}",
            "VASMS_NODE_TOKEN": secrets.token_hex(16),
        }
    )
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "refusing plaintext gRPC on 0.0.0.0" in lines[0], err
    assert "VASMS_NODE_INSECURE" in lines[0]


def test_insecure_and_tls_settings_are_checked(certs: Certs) -> None:
    token = {"node_token": "t" * 32}
    # The operator's explicit choice: plaintext on a trusted network.
    assert not NodeSettings(node_grpc_listen="0.0.0.0:1", node_insecure=True, **token).tls
    assert NodeSettings(
        node_grpc_listen="0.0.0.0:1",
        node_tls_cert=certs.path("node.pem"),
        node_tls_key=certs.path("node-key.pem"),
        **token,
    ).tls
    for listen in ("127.0.0.1:1", "localhost:1", "[::1]:1"):
        assert not NodeSettings(node_grpc_listen=listen, **token).tls
    with pytest.raises(ValueError, match="go together"):
        NodeSettings(node_tls_cert=certs.path("node.pem"), **token)
    with pytest.raises(ValueError, match="no such file"):
        NodeSettings(node_tls_cert=Path("/nonexistent"), node_tls_key=Path("/nonexistent"), **token)


async def test_token_comes_from_env_or_file_never_argv(tmp_path: Path) -> None:
    # --token is gone: argv is readable by every user of the host (ps, /proc).
    code, err = await _run_node({"VASMS_NODE_TOKEN": "x" * 32}, "--token", "y" * 32)
    assert code == 2 and "unrecognized arguments: --token" in err, err

    token = secrets.token_hex(16)
    token_file = tmp_path / "node-token"
    token_file.write_text(token + "\n")
    node = await start_node(
        tmp_path, token=token, VASMS_NODE_TOKEN="", VASMS_NODE_TOKEN_FILE=str(token_file)
    )
    try:
        load = await node.call("GetLoad", pb.GetLoadRequest())  # the file's token works
        assert load.node_id == node.node_id
        cmdline = await asyncio.to_thread(Path(f"/proc/{node.process.pid}/cmdline").read_bytes)
        assert cmdline and token.encode() not in cmdline
        # -ww: whole command lines (without it ps cuts them at 80 columns when its output
        # is not a terminal, and a checkout under a long path loses the program's name).
        ps = await asyncio.to_thread(
            subprocess.run, ["ps", "-eww", "-o", "args"], capture_output=True, text=True, check=True
        )
        assert "vasms-media-node" in ps.stdout and token not in ps.stdout
    finally:
        await node.stop()
