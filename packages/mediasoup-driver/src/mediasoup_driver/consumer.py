"""Consumer: a producer's media sent out to a remote peer over one transport.

A consumer closes for one of these reasons, given by ``on_close``: "closed"
(our call), "producer closed" (the worker closed it with its producer; also
fires ``on_producer_close``), "transport closed", "router closed", "worker
closed". Owners such as the media node report that reason to viewers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NewType

from . import messages
from .channel import Channel
from .dumps import ConsumerDump
from .errors import InvalidStateError, MediasoupTypeError
from .events import Event, OnceEvent
from .fbs.FBS.Consumer.LayersChangeNotification import LayersChangeNotification
from .fbs.FBS.Consumer.ScoreNotification import ScoreNotification
from .fbs.FBS.Notification.Event import Event as NotificationEvent
from .lifecycle import Children, CloseReason, create_request, soft_close
from .options import ConsumerLayers as ConsumerLayers
from .rtp_fbs import RtpStreamStats
from .rtp_parameters import MediaKind, RtpCapabilities, RtpParameters

if TYPE_CHECKING:
    from .producer import Producer, ProducerId
    from .transport import Transport
    from .transport_messages import ConsumeReply

ConsumerId = NewType("ConsumerId", str)

_log = logging.getLogger(__name__)


@dataclass(slots=True)
class ConsumerOptions:
    """Options of ``Transport.consume``."""

    producer_id: str
    rtp_capabilities: RtpCapabilities
    """The receiving endpoint's capabilities (e.g. mediasoup-client's device.rtpCapabilities)."""
    paused: bool = False
    """mediasoup recommends starting paused and resuming once the client is ready so no
    early packets are lost; this product instead requests a key frame on DTLS connect,
    so unpaused is the default here as in mediasoup itself."""
    mid: str | None = None
    preferred_layers: ConsumerLayers | None = None
    ignore_dtx: bool = False
    enable_rtx: bool | None = None
    """None: RTX for video, not for audio (mediasoup's default)."""
    pipe: bool = False
    """Consume all of the producer's streams as they are (for piping between routers)."""
    app_data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ConsumerContext:
    """What a consumer gets from its transport: the channel, the transport's id (close
    requests go to it) and the transport's consumer registry."""

    channel: Channel
    transport_id: str
    consumers: Children[ConsumerId, Consumer]


class Consumer:
    """Handle of a consumer in the worker. Create with ``Transport.consume``."""

    def __init__(
        self,
        context: ConsumerContext,
        *,
        consumer_id: ConsumerId,
        producer_id: ProducerId,
        kind: MediaKind,
        rtp_parameters: RtpParameters,
        consumer_type: str,
        app_data: dict[str, Any],
        initial: ConsumeReply,
        transport: Transport | None = None,
    ) -> None:
        """Called once the worker created the consumer; joins the transport's registry."""
        self.id = consumer_id
        self.transport = transport
        """The transport it sends on (for the application; the consumer itself only
        needs ``context``)."""
        self.producer_id = producer_id
        self.kind: MediaKind = kind
        self.rtp_parameters = rtp_parameters
        self.type = consumer_type
        self.app_data = app_data
        self._context = context
        self._channel = context.channel
        self._closed = False
        self._paused = initial.paused
        # A CONSUMER_PRODUCER_PAUSE may already have arrived; the answer is as fresh.
        self._producer_paused = initial.producer_paused
        self._priority = 1
        self._score: dict[str, Any] = initial.score
        self._preferred_layers: ConsumerLayers | None = initial.preferred_layers
        self._current_layers: ConsumerLayers | None = None
        self.on_close: OnceEvent[CloseReason] = OnceEvent("consumer.close")
        self.on_producer_close: OnceEvent[None] = OnceEvent("consumer.producer_close")
        self.on_producer_pause: Event[None] = Event("consumer.producer_pause")
        self.on_producer_resume: Event[None] = Event("consumer.producer_resume")
        self.on_score: Event[dict[str, Any]] = Event("consumer.score")
        self.on_layers_change: Event[ConsumerLayers | None] = Event("consumer.layers_change")
        context.consumers.adopt(consumer_id, self, self._on_transport_closed)
        # Notifications the worker sent while creating it were held: delivered next.
        self._unsubscribe = self._channel.subscribe(consumer_id, self._on_notification)

    @classmethod
    async def create(
        cls,
        context: ConsumerContext,
        *,
        consumer_id: ConsumerId,
        producer: Producer,
        rtp_parameters: RtpParameters,
        consumer_type: str,
        app_data: dict[str, Any],
        send: Callable[[], Awaitable[ConsumeReply]],
        transport: Transport | None = None,
    ) -> Consumer:
        """Sends TRANSPORT_CONSUME (``send``) and builds the consumer from the answer.

        If the producer closed meanwhile, the worker closed the consumer with it:
        InvalidStateError, and nothing is built.
        """
        initial = await create_request(context.channel, consumer_id, context.consumers, send)
        if producer.closed:
            context.channel.release(consumer_id)
            raise InvalidStateError("producer closed while consuming")
        return cls(
            context,
            consumer_id=consumer_id,
            producer_id=producer.id,
            kind=producer.kind,
            rtp_parameters=rtp_parameters,
            consumer_type=consumer_type,
            app_data=app_data,
            initial=initial,
            transport=transport,
        )

    # -- state -------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def producer_paused(self) -> bool:
        return self._producer_paused

    @property
    def priority(self) -> int:
        return self._priority

    @property
    def score(self) -> dict[str, Any]:
        return dict(self._score)

    @property
    def preferred_layers(self) -> ConsumerLayers | None:
        return self._preferred_layers

    @property
    def current_layers(self) -> ConsumerLayers | None:
        return self._current_layers

    def _check_open(self) -> None:
        if self._closed:
            raise InvalidStateError("consumer closed")

    # -- requests ------------------------------------------------------------------------

    async def dump(self) -> ConsumerDump:
        self._check_open()
        return await messages.CONSUMER_DUMP.call(self._channel, self.id)

    async def get_stats(self) -> list[RtpStreamStats]:
        """Outbound RTP statistics, then the producer's inbound ones (as mediasoup)."""
        self._check_open()
        return await messages.CONSUMER_GET_STATS.call(self._channel, self.id)

    async def pause(self) -> None:
        self._check_open()
        await messages.CONSUMER_PAUSE.call(self._channel, self.id)
        self._paused = True

    async def resume(self) -> None:
        self._check_open()
        await messages.CONSUMER_RESUME.call(self._channel, self.id)
        self._paused = False

    async def request_key_frame(self) -> None:
        """Asks the producer's source for a key frame (PLI/FIR) on this consumer's behalf."""
        self._check_open()
        await messages.CONSUMER_REQUEST_KEY_FRAME.call(self._channel, self.id)

    async def set_preferred_layers(self, layers: ConsumerLayers) -> ConsumerLayers | None:
        """Returns the preferred layers the worker settled on (None for simple streams)."""
        self._check_open()
        if not isinstance(layers, ConsumerLayers):
            raise MediasoupTypeError("layers must be a ConsumerLayers")
        if not isinstance(layers.spatial_layer, int) or layers.spatial_layer < 0:
            raise MediasoupTypeError("spatial_layer must be a non-negative integer")
        if layers.temporal_layer is not None and (
            not isinstance(layers.temporal_layer, int) or layers.temporal_layer < 0
        ):
            raise MediasoupTypeError("if given, temporal_layer must be a non-negative integer")

        preferred = await messages.CONSUMER_SET_PREFERRED_LAYERS.call(
            self._channel, self.id, layers
        )
        self._preferred_layers = preferred
        return preferred

    async def set_priority(self, priority: int) -> None:
        self._check_open()
        if not isinstance(priority, int) or priority < 1 or priority > 255:
            raise MediasoupTypeError("priority must be an integer from 1 to 255")

        self._priority = await messages.CONSUMER_SET_PRIORITY.call(self._channel, self.id, priority)

    async def close(self) -> None:
        """Closes the consumer in the worker. Idempotent."""
        if self._closed:
            return
        self._mark_closed(CloseReason.CLOSED)
        await soft_close(
            lambda: messages.CLOSE_CONSUMER.send(
                self._channel, self._context.transport_id, self.id
            ),
            "consumer",
            self.id,
        )

    # -- notifications and closing -------------------------------------------------------

    def _on_notification(self, event: int, notification: Any) -> None:
        if event == NotificationEvent.CONSUMER_PRODUCER_CLOSE:
            self._on_producer_closed()
        elif event == NotificationEvent.CONSUMER_PRODUCER_PAUSE:
            if not self._producer_paused:
                self._producer_paused = True
                self.on_producer_pause.emit(None)
        elif event == NotificationEvent.CONSUMER_PRODUCER_RESUME:
            if self._producer_paused:
                self._producer_paused = False
                self.on_producer_resume.emit(None)
        elif event == NotificationEvent.CONSUMER_SCORE:
            body = notification.Body()
            score_fbs = ScoreNotification()
            score_fbs.Init(body.Bytes, body.Pos)
            score = score_fbs.Score()
            self._score = {
                "score": score.Score(),
                "producerScore": score.ProducerScore(),
                "producerScores": [
                    score.ProducerScores(i) for i in range(score.ProducerScoresLength())
                ],
            }
            self.on_score.emit(dict(self._score))
        elif event == NotificationEvent.CONSUMER_LAYERS_CHANGE:
            body = notification.Body()
            change = LayersChangeNotification()
            change.Init(body.Bytes, body.Pos)
            layers = change.Layers()
            self._current_layers = (
                ConsumerLayers(layers.SpatialLayer(), layers.TemporalLayer()) if layers else None
            )
            self.on_layers_change.emit(self._current_layers)

    def _on_producer_closed(self) -> None:
        """The worker already closed this consumer along with its producer."""
        if self._closed:
            return
        self._mark_closed(CloseReason.PRODUCER_CLOSED)
        self.on_producer_close.emit(None)

    def _on_transport_closed(self, reason: CloseReason) -> None:
        if not self._closed:
            self._mark_closed(reason)

    def _mark_closed(self, reason: CloseReason) -> None:
        self._closed = True
        self._unsubscribe()
        self._context.consumers.leave(self.id, self)
        self.on_close.emit(reason)
        for event in (
            self.on_producer_pause,
            self.on_producer_resume,
            self.on_score,
            self.on_layers_change,
        ):
            event.clear()
