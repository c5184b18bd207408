"""Router capabilities are asked of the node once per (node, stream, producer)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from control_api.models import Desired, Stream, StreamStatus
from control_api.services import viewers


class CountingNodes:
    """Stands in for NodePool in this unit test of one function: counts the asks."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    def by_id(self, node_id: str) -> Any:
        return SimpleNamespace(node_id=node_id)

    async def router_capabilities(self, handle: Any, stream_id: str) -> dict[str, Any]:
        self.asked.append((handle.node_id, stream_id))
        return {"codecs": [{"mimeType": "video/VP8", "n": len(self.asked)}]}


def live(producer_id: str | None, node_id: str = "node-a") -> Stream:
    return Stream(
        id="s-1",
        name="cam",
        source={"type": "test_pattern"},
        desired=Desired.running.value,
        status=StreamStatus.live.value,
        node_id=node_id,
        producer_id=producer_id,
    )


async def test_cached_per_producer_and_node_and_never_without_a_producer() -> None:
    nodes = CountingNodes()
    ctx: Any = SimpleNamespace(nodes=nodes, router_caps={})
    first = await viewers.router_capabilities(ctx, live("p-1"))
    again = await viewers.router_capabilities(ctx, live("p-1"))
    assert again == first and len(nodes.asked) == 1
    assert first["headerExtensions"] == [] and first["fecMechanisms"] == []
    # Restarted stream: a new producer id, so the node is asked again.
    restarted = await viewers.router_capabilities(ctx, live("p-2"))
    assert len(nodes.asked) == 2 and restarted["codecs"][0]["n"] == 2
    # Moved to another node.
    await viewers.router_capabilities(ctx, live("p-2", node_id="node-b"))
    assert nodes.asked[-1] == ("node-b", "s-1") and len(nodes.asked) == 3
    # Producer not known yet: asked every time, nothing kept.
    size = len(ctx.router_caps)
    await viewers.router_capabilities(ctx, live(None))
    await viewers.router_capabilities(ctx, live(None))
    assert len(nodes.asked) == 5 and len(ctx.router_caps) == size
