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
from typing import TYPE_CHECKING, Any, Literal, NewType

from . import ortc
from .channel import Channel
from .consume_plan import ConsumePlan
from .errors import InvalidStateError, MediasoupError
from .events import Event, OnceEvent
from .fbs.FBS.Notification.Event import Event as NotificationEvent
from .fbs.FBS.Producer.DumpResponse import DumpResponse, DumpResponseT
from .fbs.FBS.Producer.GetStatsResponse import GetStatsResponse
from .fbs.FBS.Producer.ScoreNotification import ScoreNotification
from .fbs.FBS.Producer.VideoOrientationChangeNotification import (
    VideoOrientationChangeNotification,
)
from .fbs.FBS.Request.Method import Method
from .rtp_fbs import read_rtp_stream_stats
from .rtp_parameters import MediaKind, RtpCapabilities, RtpParameters
from .wire import body_as, plain

if TYPE_CHECKING:
    from .transport import Transport

ProducerId = NewType("ProducerId", str)
ProducerType = Literal["simple", "simulcast", "svc", "pipe"]

_log = logging.getLogger(__name__)
_MAX_PLANS = 32


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


class Producer:
    """Handle of a producer in the worker. Create with ``Transport.produce``."""

    def __init__(
        self,
        *,
        producer_id: ProducerId,
        transport: Transport,
        channel: Channel,
        kind: MediaKind,
        rtp_parameters: RtpParameters,
        consumable_rtp_parameters: RtpParameters,
        paused: bool,
        app_data: dict[str, Any],
    ) -> None:
        self.id = producer_id
        self.transport = transport
        self.kind: MediaKind = kind
        self.rtp_parameters = rtp_parameters
        self.consumable_rtp_parameters = consumable_rtp_parameters
        self.app_data = app_data
        self.type: ProducerType = "simple"
        self._channel = channel
        self._paused = paused
        self._closed = False
        self._score: list[ProducerScore] = []
        self._plans: dict[tuple[str, bool], ConsumePlan] = {}
        self.on_close: OnceEvent[str] = OnceEvent("producer.close")
        """Fires once with the reason: "closed" or "transport closed"."""
        self.on_score: Event[list[ProducerScore]] = Event("producer.score")
        self.on_pause: Event[None] = Event("producer.pause")
        self.on_resume: Event[None] = Event("producer.resume")
        self.on_video_orientation_change: Event[dict[str, Any]] = Event("producer.orientation")
        self._unsubscribe = channel.subscribe(producer_id, self._on_notification)

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

    def _set_type(self, producer_type: ProducerType) -> None:
        self.type = producer_type

    # -- requests ------------------------------------------------------------------------

    async def dump(self) -> dict[str, Any]:
        self._check_open()
        response = await self._channel.request(Method.PRODUCER_DUMP, self.id)
        return plain(DumpResponseT.InitFromObj(body_as(response, DumpResponse)))

    async def get_stats(self) -> list[dict[str, Any]]:
        """RTP statistics of each received stream (mediasoup's RtpStreamRecvStats)."""
        self._check_open()
        response = await self._channel.request(Method.PRODUCER_GET_STATS, self.id)
        body = body_as(response, GetStatsResponse)
        return [read_rtp_stream_stats(body.Stats(i)) for i in range(body.StatsLength())]

    async def pause(self) -> None:
        self._check_open()
        await self._channel.request(Method.PRODUCER_PAUSE, self.id)
        was_paused, self._paused = self._paused, True
        if not was_paused:
            self.on_pause.emit(None)

    async def resume(self) -> None:
        self._check_open()
        await self._channel.request(Method.PRODUCER_RESUME, self.id)
        was_paused, self._paused = self._paused, False
        if was_paused:
            self.on_resume.emit(None)

    async def close(self) -> None:
        """Closes the producer and, in the worker, all its consumers. Idempotent."""
        if self._closed:
            return
        self._mark_closed("closed")
        try:
            await self.transport._close_producer_request(self.id)
        except MediasoupError as error:
            _log.debug("closing producer %s: %s", self.id, error)

    def _check_open(self) -> None:
        if self._closed:
            raise InvalidStateError("producer closed")

    # -- consume plans -------------------------------------------------------------------

    def _consume_plan(self, rtp_capabilities: RtpCapabilities, enable_rtx: bool) -> ConsumePlan:
        """Consumer parameters for these capabilities, computed on first use only.

        Raises TypeError for malformed capabilities and UnsupportedError when
        they cannot consume this producer (nothing is cached then).
        """
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

    def _transport_closed(self, reason: str = "transport closed") -> None:
        if not self._closed:
            self._mark_closed(reason)

    def _discard(self) -> None:
        """The produce request failed: drop the subscription, emit nothing."""
        self._closed = True
        self._unsubscribe()

    def _mark_closed(self, reason: str) -> None:
        self._closed = True
        self._unsubscribe()
        self._plans.clear()
        self.on_close.emit(reason)
        for event in (
            self.on_score,
            self.on_pause,
            self.on_resume,
            self.on_video_orientation_change,
        ):
            event.clear()
