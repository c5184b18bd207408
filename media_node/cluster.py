"""Which control-plane cluster owns this node.

Two control planes must never fight over one node: a second one (another
deployment, a replica started on an empty database by mistake) would stop
every stream it does not know. So the node belongs to one cluster. Each
control API presents its cluster id as gRPC metadata (`x-vasms-cluster`); the
node accepts the id from its own config (`VASMS_NODE_CLUSTER_ID`), or else the
first one that calls claims it and it is written to `VASMS_NODE_STATE_FILE`
so a restart keeps it. Calls carrying another id are refused. Calls carrying
none (an operator's grpcurl, which still needs the token and, with mTLS, a
client certificate) are let through and claim nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path

_log = logging.getLogger(__name__)
CLUSTER_METADATA = "x-vasms-cluster"
"""The metadata key the control plane puts its cluster id under (lower case: gRPC rule)."""


class ForeignCluster(Exception):
    """The caller's cluster is not the one that owns this node."""

    def __init__(self, owner: str, caller: str) -> None:
        super().__init__(
            f"this node belongs to cluster {owner!r}, not {caller!r} "
            "(see VASMS_NODE_CLUSTER_ID / VASMS_NODE_STATE_FILE)"
        )


class Membership:
    """The owning cluster id: configured, remembered, or claimed by the first caller."""

    def __init__(self, configured: str | None, state_file: Path | None) -> None:
        self._state_file = state_file
        self.cluster_id: str | None = configured or self._load()
        self._saving: asyncio.Task[None] | None = None

    def _load(self) -> str | None:
        if self._state_file is None or not self._state_file.exists():
            return None
        try:
            value = json.loads(self._state_file.read_text()).get("cluster_id")
        except (OSError, ValueError, AttributeError) as error:
            raise ValueError(
                f"VASMS_NODE_STATE_FILE {self._state_file}: unreadable ({error})"
            ) from None
        return str(value) if value else None

    def check(self, caller: str) -> None:
        """Accepts `caller`, claiming the node when nobody has; ForeignCluster otherwise.

        Synchronous up to the claim, so two first callers cannot both win.
        """
        if self.cluster_id is None:
            self.cluster_id = caller
            _log.warning("node claimed by cluster %r", caller)
            if self._state_file is not None:
                self._saving = asyncio.ensure_future(asyncio.to_thread(self._save, caller))
            return
        if caller != self.cluster_id:
            raise ForeignCluster(self.cluster_id, caller)

    def _save(self, cluster_id: str) -> None:
        assert self._state_file is not None
        self._state_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._state_file.with_suffix(self._state_file.suffix + ".tmp")
        temporary.write_text(json.dumps({"cluster_id": cluster_id}) + "\n")
        os.replace(temporary, self._state_file)  # atomic: never a half-written claim

    async def saved(self) -> None:
        """Waits for the claim to be on disk (shutdown, tests)."""
        if self._saving is not None:
            await self._saving
