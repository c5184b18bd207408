"""Consumer RTP parameters and TRANSPORT_CONSUME requests, computed once per viewer kind.

Thousands of viewers of a live stream share the same few browser capability
sets. For each (producer, capabilities) a ConsumePlan runs ORTC once and
serialises the consume request once per (MID, paused) as a wire.RequestTemplate;
each further viewer only gets its ids and SSRCs patched into a copy of those bytes. Pure-Python
FlatBuffers building costs hundreds of microseconds per consume; the patch
costs a few.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import flatbuffers

from .channel import Channel
from .fbs.FBS.Consumer import ConsumerLayers as consumer_layers_fbs
from .fbs.FBS.Request.Body import Body as RequestBody
from .fbs.FBS.Request.Method import Method
from .fbs.FBS.RtpParameters.MediaKind import MediaKind as FbsMediaKind
from .fbs.FBS.RtpParameters.Type import Type as FbsRtpType
from .fbs.FBS.Transport import ConsumeRequest as consume_fbs
from .rtp_fbs import write_rtp_encoding_parameters, write_rtp_parameters
from .rtp_parameters import RtpParameters
from .wire import RequestTemplate, Sentinels

if TYPE_CHECKING:
    import asyncio

    from .consumer import ConsumerLayers
    from .producer import Producer
    from .wire import Reply

RTP_TYPE_NAMES = {
    FbsRtpType.SIMPLE: "simple",
    FbsRtpType.SIMULCAST: "simulcast",
    FbsRtpType.SVC: "svc",
    FbsRtpType.PIPE: "pipe",
}
RTP_TYPE_VALUES = {name: value for value, name in RTP_TYPE_NAMES.items()}
KIND_VALUES = {"audio": FbsMediaKind.AUDIO, "video": FbsMediaKind.VIDEO}

_MAX_TEMPLATES = 64


def consume_request_body(
    producer: Producer,
    consumer_id: str,
    rtp_parameters: RtpParameters,
    pipe: bool,
    paused: bool,
    preferred_layers: ConsumerLayers | None,
    ignore_dtx: bool,
) -> Callable[[flatbuffers.Builder], int]:
    """The Transport_ConsumeRequest body writer (mediasoup's createConsumeRequest)."""
    consumable_encodings = producer.consumable_rtp_parameters.get("encodings", [])
    kind = KIND_VALUES[producer.kind]
    rtp_type = FbsRtpType.PIPE if pipe else RTP_TYPE_VALUES[producer.type]

    def body(b: flatbuffers.Builder) -> int:
        cid = b.CreateString(consumer_id)
        pid = b.CreateString(producer.id)
        params = write_rtp_parameters(b, rtp_parameters)
        encodings = [write_rtp_encoding_parameters(b, e) for e in consumable_encodings]
        consume_fbs.StartConsumableRtpEncodingsVector(b, len(encodings))
        for offset in reversed(encodings):
            b.PrependUOffsetTRelative(offset)
        encodings_vector = b.EndVector()
        layers = None
        if preferred_layers is not None:
            consumer_layers_fbs.Start(b)
            consumer_layers_fbs.AddSpatialLayer(b, preferred_layers.spatial_layer)
            if preferred_layers.temporal_layer is not None:
                consumer_layers_fbs.AddTemporalLayer(b, preferred_layers.temporal_layer)
            layers = consumer_layers_fbs.End(b)
        consume_fbs.Start(b)
        consume_fbs.AddConsumerId(b, cid)
        consume_fbs.AddProducerId(b, pid)
        consume_fbs.AddKind(b, kind)
        consume_fbs.AddRtpParameters(b, params)
        consume_fbs.AddType(b, rtp_type)
        consume_fbs.AddConsumableRtpEncodings(b, encodings_vector)
        consume_fbs.AddPaused(b, paused)
        if layers is not None:
            consume_fbs.AddPreferredLayers(b, layers)
        consume_fbs.AddIgnoreDtx(b, ignore_dtx)
        result: int = consume_fbs.End(b)
        return result

    return body


@dataclass(slots=True)
class ConsumePlan:
    """Consumer parameters of one producer for one capability set (non-pipe consumers)."""

    producer: Producer
    base_parameters: RtpParameters
    """Output of ortc.get_consumer_rtp_parameters; ssrc/rtx/mid are set per consumer."""
    _templates: dict[tuple[str, bool], RequestTemplate] = field(default_factory=dict)
    _base_json: str | None = None

    @property
    def has_rtx(self) -> bool:
        return "rtx" in self.base_parameters["encodings"][0]

    def rtp_parameters(self, mid: str, ssrc: int) -> RtpParameters:
        """This consumer's parameters: the plan's, with its own MID and SSRCs.

        A fresh copy each time (callers may keep or change it); json.loads of
        the cached text is several times faster than copy.deepcopy.
        """
        if self._base_json is None:
            self._base_json = json.dumps(self.base_parameters)
        params: RtpParameters = json.loads(self._base_json)
        params["mid"] = mid
        encoding = params["encodings"][0]
        encoding["ssrc"] = ssrc
        if "rtx" in encoding:
            encoding["rtx"] = {"ssrc": ssrc + 1}
        return params

    def send(
        self,
        channel: Channel,
        transport_id: str,
        consumer_id: str,
        rtp_parameters: RtpParameters,
        paused: bool,
    ) -> asyncio.Future[Reply]:
        """Sends TRANSPORT_CONSUME from the cached bytes with this consumer's ids patched in."""
        template = self._template(channel, rtp_parameters["mid"], paused)
        encoding = rtp_parameters["encodings"][0]
        numbers = {"ssrc": encoding["ssrc"]}
        if "rtx" in encoding:
            numbers["rtx_ssrc"] = encoding["rtx"]["ssrc"]
        return channel.send(
            template, {"transport_id": transport_id, "consumer_id": consumer_id}, numbers
        )

    def _template(self, channel: Channel, mid: str, paused: bool) -> RequestTemplate:
        key = (mid, paused)
        cached = self._templates.get(key)
        if cached is not None:
            return cached
        sentinels = Sentinels()
        consumer_id = sentinels.uuid("consumer_id")
        ssrc = sentinels.u32("ssrc")
        params = self.rtp_parameters(mid, ssrc)
        if self.has_rtx:
            sentinels.u32("rtx_ssrc", ssrc + 1)
        body = consume_request_body(self.producer, consumer_id, params, False, paused, None, False)
        built = channel.template(
            Method.TRANSPORT_CONSUME,
            sentinels.uuid("transport_id"),
            RequestBody.Transport_ConsumeRequest,
            body,
            sentinels=sentinels,
        )
        if len(self._templates) >= _MAX_TEMPLATES:
            self._templates.clear()
        self._templates[key] = built
        return built
