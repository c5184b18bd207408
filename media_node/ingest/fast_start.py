"""The viewer side of fast start: start a joining viewer on the bridge, then raise it.

A fast-start producer (``Ingest`` of a passthrough camera, see ``bridge``) is
simulcast: spatial layer 0 is the bridge (answers key-frame requests), layer 1 the
camera's own bitstream. A viewer's consumer is created with preferred layer 0, so
the worker asks the bridge for a key frame and forwards it within a frame time; as
soon as the consumer's first layer is known (its first key frame was forwarded) the
preferred layer is raised to 1, and the worker moves the viewer to the camera's
encoding at the camera's next natural key frame (it never switches between key
frames, and aligns the two by their sender reports' capture times). A consumer
whose first layer is already the camera's (a transcoded camera sends no bridge;
the bridge had not started yet) is simply raised too.

Use::

    layers = start_layers(producer)
    consumer = await transport.consume(ConsumerOptions(..., preferred_layers=layers))
    raise_when_started(consumer)
"""

from __future__ import annotations

import asyncio
import logging

from mediasoup_driver import Consumer, MediasoupError, Producer
from mediasoup_driver.consumer import ConsumerLayers

_log = logging.getLogger(__name__)

BRIDGE_LAYER = ConsumerLayers(spatial_layer=0, temporal_layer=0)
CAMERA_LAYER = ConsumerLayers(spatial_layer=1, temporal_layer=0)

_raising: set[asyncio.Task[None]] = set()
"""Layer raises in flight (held so that they are not garbage-collected)."""


def is_fast_start(producer: Producer) -> bool:
    """Whether ``producer`` carries a bridge encoding (an ingest with fast start)."""
    return (
        bool(producer.app_data.get("fast_start")) and len(producer.rtp_parameters["encodings"]) == 2
    )


def start_layers(producer: Producer) -> ConsumerLayers | None:
    """The preferred layers a new viewer's consumer starts with (None: the default)."""
    return BRIDGE_LAYER if is_fast_start(producer) else None


def raise_when_started(consumer: Consumer) -> None:
    """Raises ``consumer`` to the camera's encoding once its first layer is known.
    No-op for a consumer not started on the bridge."""
    if consumer.preferred_layers != BRIDGE_LAYER:
        return

    def on_layers(layers: ConsumerLayers | None) -> None:
        if layers is None or consumer.closed:
            return
        consumer.on_layers_change.remove_listener(on_layers)
        task = asyncio.get_running_loop().create_task(_raise(consumer))
        _raising.add(task)
        task.add_done_callback(_raising.discard)

    consumer.on_layers_change.add_listener(on_layers)
    if consumer.current_layers is not None:
        on_layers(consumer.current_layers)


async def _raise(consumer: Consumer) -> None:
    try:
        await consumer.set_preferred_layers(CAMERA_LAYER)
    except MediasoupError as error:  # closed meanwhile
        _log.debug("consumer %s: cannot raise to the camera's layer: %s", consumer.id, error)
