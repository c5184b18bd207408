"""The control API over mutual TLS to a real node: a stream goes live and a viewer plays;
a replica without the client certificate gets nothing from the node."""

from __future__ import annotations

from pathlib import Path

from tests.control_api.flows import live_stream, watch_v2
from tests.control_api.support import ADMIN, make_settings, serve, start_node, wait_until
from tests.support.certs import make_certs


async def test_stream_and_viewer_over_mtls(db_url: str, tmp_path: Path) -> None:
    certs = make_certs(tmp_path / "certs")
    node = await start_node(tmp_path, credentials=certs.credentials(), **certs.node_env())
    try:
        settings = make_settings(
            db_url, media_nodes=[node.address], node_token=node.token, **certs.api_settings()
        )
        async with serve(settings) as api:
            admin = await api.token(*ADMIN)
            stream = await live_stream(api, admin)
            assert stream["node_id"] == node.node_id
            token = await api.user("tess", "viewer")
            async with api.client(token) as c:
                watch = await watch_v2(c, stream["id"], "tess")
                try:
                    frames = await watch.viewer.frames(3)
                    assert frames[0].width > 0
                finally:
                    await watch.viewer.close()
                assert (await c.delete(f"/api/v2/consumers/{watch.consumer_id}")).status_code == 204
    finally:
        await node.stop()


async def test_replica_without_client_certificate_is_refused(db_url: str, tmp_path: Path) -> None:
    certs = make_certs(tmp_path / "certs")
    node = await start_node(tmp_path, credentials=certs.credentials(), **certs.node_env())
    try:
        # Trusts the node's CA, presents no client certificate: the handshake fails.
        settings = make_settings(
            db_url,
            media_nodes=[node.address],
            node_token=node.token,
            node_tls_ca=certs.path("ca.pem"),
        )
        async with serve(settings) as api:
            admin = await api.token(*ADMIN)
            async with api.client(admin) as c:
                r = await c.post(
                    "/api/v2/streams", json={"name": "x", "source": {"type": "test_pattern"}}
                )
                stream_id = r.json()["id"]

                async def refused() -> bool:
                    r = await c.post(f"/api/v2/streams/{stream_id}/start")
                    return r.status_code == 503 and r.json()["code"] == "no_node_available"

                await wait_until(refused, within=10, interval=0.5)
            handle = api.ctx.nodes.handles[0]
            assert handle.node_id is None and handle.load_at == 0  # never answered
            dump = await node.dump()
            assert list(dump.streams) == []
    finally:
        await node.stop()
