"""Producer: media a remote peer (or an ingest process) sends into a router.

Closing a producer closes, in the worker, every consumer of it on every
transport; those consumers learn it through CONSUMER_PRODUCER_CLOSE and fire
``on_producer_close``.
"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NewType

from . import messages, ortc
from .channel import Channel
from .consume_plan import ConsumePlan
from .dumps import ProducerDump
from .errors import InvalidStateError
from .events import Event, OnceEvent
from .fbs.FBS.Notification.Event import Event as NotificationEvent
from .fbs.FBS.Producer.ScoreNotification import ScoreNotification
from .fbs.FBS.Producer.VideoOrientationChangeNotification import (
    VideoOrientationChangeNotification,
)
from .lifecycle import Children, CloseReason, create_request, soft_close
from .options import ProducerType as ProducerType
from .rtp_fbs import RtpStreamStats
from .rtp_parameters import MediaKind, RtpCapabilities, RtpMapping, RtpParameters
from .transport_messages import TRANSPORT_PRODUCE, Produce

if TYPE_CHECKING:
    from .transport import Transport

ProducerId = NewType("ProducerId", str)

_log = logging.getLogger(__name__)
_MAX_PLANS = 32
_RECENT_PLANS = 4


@dataclass(slots=True)
class ProducerOptions:
    """Options of ``Transport.produce``."""

    kind: MediaKind
    rtp_parameters: RtpParameters
    id: str | None = None
    """Normally None (a new UUID); pipe transports reuse the origin producer's id."""
    paused: bool = False
    key_frame_request_delay: int = 0
    """Milliseconds to coalesce key-frame requests from many consumers into one (0: none)."""
    enable_mediasoup_packet_id_header_extension: bool = False
    app_data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProducerScore:
    """Quality of one received stream: 0 (worst) .. 10 (best)."""

    encoding_idx: int
    ssrc: int
    rid: str | None
    score: int


@dataclass(frozen=True, slots=True)
class ProducerContext:
    """What a producer gets from its transport: the channel, the transport's id (close
    requests go to it) and the transport's producer registry."""

    channel: Channel
    transport_id: str
    producers: Children[ProducerId, Producer]


class Producer:
    """Handle of a producer in the worker. Create with ``Transport.produce``."""

    def __init__(
        self,
        context: ProducerContext,
        *,
        producer_id: ProducerId,
        transport: Transport | None = None,
        kind: MediaKind,
        producer_type: ProducerType,
        rtp_parameters: RtpParameters,
        consumable_rtp_parameters: RtpParameters,
        paused: bool,
        app_data: dict[str, Any],
    ) -> None:
        """Called once the worker created the producer; joins the transport's registry."""
        self.id = producer_id
        self.transport = transport
        """The transport it was produced on (for the application; the producer itself
        only needs ``context``)."""
        self.kind: MediaKind = kind
        self.type: ProducerType = producer_type
        self.rtp_parameters = rtp_parameters
        self.consumable_rtp_parameters = consumable_rtp_parameters
        self.app_data = app_data
        self._context = context
        self._channel = context.channel
        self._paused = paused
        self._closed = False
        self._score: list[ProducerScore] = []
        self._plans: dict[tuple[str, bool], ConsumePlan] = {}
        self._recent_plans: list[tuple[RtpCapabilities, bool, ConsumePlan]] = []
        self.on_close: OnceEvent[CloseReason] = OnceEvent("producer.close")
        """Fires once with the reason: "closed" or "transport closed"."""
        self.on_score: Event[list[ProducerScore]] = Event("producer.score")
        self.on_pause: Event[None] = Event("producer.pause")
        self.on_resume: Event[None] = Event("producer.resume")
        self.on_video_orientation_change: Event[dict[str, Any]] = Event("producer.orientation")
        context.producers.adopt(producer_id, self, self._on_transport_closed)
        self._unsubscribe = self._channel.subscribe(producer_id, self._on_notification)

    @classmethod
    async def create(
        cls,
        context: ProducerContext,
        producer_id: ProducerId,
        options: ProducerOptions,
        rtp_parameters: RtpParameters,
        consumable_rtp_parameters: RtpParameters,
        mapping: RtpMapping,
        transport: Transport | None = None,
    ) -> Producer:
        """Sends TRANSPORT_PRODUCE and builds the producer from the answer."""
        params = Produce(
            producer_id=producer_id,
            kind=options.kind,
            rtp_parameters=rtp_parameters,
            rtp_mapping=mapping,
            paused=options.paused,
            key_frame_request_delay=options.key_frame_request_delay,
            enable_mediasoup_packet_id_header_extension=(
                options.enable_mediasoup_packet_id_header_extension
            ),
        )
        producer_type = await create_request(
            context.channel,
            producer_id,
            context.producers,
            lambda: TRANSPORT_PRODUCE.call(context.channel, context.transport_id, params),
        )
        return cls(
            context,
            producer_id=producer_id,
            transport=transport,
            kind=options.kind,
            producer_type=producer_type,
            rtp_parameters=rtp_parameters,
            consumable_rtp_parameters=consumable_rtp_parameters,
            paused=options.paused,
            app_data=options.app_data,
        )

    # -- state -------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def score(self) -> list[ProducerScore]:
        return list(self._score)

    # -- requests ------------------------------------------------------------------------

    async def dump(self) -> ProducerDump:
        self._check_open()
        return await messages.PRODUCER_DUMP.call(self._channel, self.id)

    async def get_stats(self) -> list[RtpStreamStats]:
        """RTP statistics of each received stream (mediasoup's RtpStreamRecvStats)."""
        self._check_open()
        return await messages.PRODUCER_GET_STATS.call(self._channel, self.id)

    async def pause(self) -> None:
        self._check_open()
        await messages.PRODUCER_PAUSE.call(self._channel, self.id)
        was_paused, self._paused = self._paused, True
        if not was_paused:
            self.on_pause.emit(None)

    async def resume(self) -> None:
        self._check_open()
        await messages.PRODUCER_RESUME.call(self._channel, self.id)
        was_paused, self._paused = self._paused, False
        if was_paused:
            self.on_resume.emit(None)

    async def close(self) -> None:
        """Closes the producer and, in the worker, all its consumers. Idempotent."""
        if self._closed:
            return
        self._mark_closed(CloseReason.CLOSED)
        await soft_close(
            lambda: messages.CLOSE_PRODUCER.send(
                self._channel, self._context.transport_id, self.id
            ),
            "producer",
            self.id,
        )

    def _check_open(self) -> None:
        if self._closed:
            raise InvalidStateError("producer closed")

    # -- consume plans -------------------------------------------------------------------

    def consume_plan(self, rtp_capabilities: RtpCapabilities, enable_rtx: bool) -> ConsumePlan:
        """Consumer parameters for these capabilities, computed on first use only
        (transports consume with it; ``Router.check_consume`` warms it).

        Raises TypeError for malformed capabilities and UnsupportedError when
        they cannot consume this producer (nothing is cached then).
        """
        # Viewers of one stream mostly send the same capabilities: comparing with the
        # few last ones (a C-level deep ==, ~2 µs) spares the canonical JSON key
        # (~30x that for a browser's capabilities) on the path that repeats.
        for seen, rtx, recent in self._recent_plans:
            if rtx is enable_rtx and seen == rtp_capabilities:
                return recent
        key = (json.dumps(rtp_capabilities, sort_keys=True, separators=(",", ":")), enable_rtx)
        plan = self._plans.get(key)
        if plan is None:
            caps = copy.deepcopy(rtp_capabilities)
            ortc.validate_and_normalize_rtp_capabilities(caps)
            params = ortc.get_consumer_rtp_parameters(
                self.consumable_rtp_parameters, caps, pipe=False, enable_rtx=enable_rtx
            )
            if len(self._plans) >= _MAX_PLANS:
                self._plans.clear()
            plan = self._plans[key] = ConsumePlan(self, params)
        # A private copy (the caller may change its dict later), newest first.
        snapshot: RtpCapabilities = json.loads(key[0])
        self._recent_plans = [(snapshot, enable_rtx, plan), *self._recent_plans][:_RECENT_PLANS]
        return plan

    # -- notifications and closing -------------------------------------------------------

    def _on_notification(self, event: int, notification: Any) -> None:
        if event == NotificationEvent.PRODUCER_SCORE:
            body = notification.Body()
            scores_fbs = ScoreNotification()
            scores_fbs.Init(body.Bytes, body.Pos)
            scores = []
            for i in range(scores_fbs.ScoresLength()):
                item = scores_fbs.Scores(i)
                rid = item.Rid()
                scores.append(
                    ProducerScore(
                        item.EncodingIdx(), item.Ssrc(), rid.decode() if rid else None, item.Score()
                    )
                )
            self._score = scores
            self.on_score.emit(scores)
        elif event == NotificationEvent.PRODUCER_VIDEO_ORIENTATION_CHANGE:
            body = notification.Body()
            orientation = VideoOrientationChangeNotification()
            orientation.Init(body.Bytes, body.Pos)
            self.on_video_orientation_change.emit(
                {
                    "camera": orientation.Camera(),
                    "flip": orientation.Flip(),
                    "rotation": orientation.Rotation(),
                }
            )

    def _on_transport_closed(self, reason: CloseReason) -> None:
        if not self._closed:
            self._mark_closed(reason)

    def _mark_closed(self, reason: CloseReason) -> None:
        self._closed = True
        self._unsubscribe()
        self._context.producers.leave(self.id, self)
        self._plans.clear()
        self._recent_plans.clear()
        self.on_close.emit(reason)
        for event in (
            self.on_score,
            self.on_pause,
            self.on_resume,
            self.on_video_orientation_change,
        ):
            event.clear()
