"""Typed dumps of transports, producers and consumers, as the worker reports them.

Dumps are read rarely (diagnostics, tests), so they keep the worker's own
shape and names (the FlatBuffers schema's, mediasoup's camelCase JSON names):
plain dicts typed here so callers know the keys. Enums stay the worker's
integers; nested parameter structures are left as ``Any`` (see
rtp_parameters.py for their meaning). A field the worker left out is absent.
Router and worker dumps, read on repeating paths, are dataclasses read field
by field (router.RouterDump, worker.WorkerDump).
"""

from __future__ import annotations

from typing import Any, TypedDict


class TransportBaseDump(TypedDict, total=False):
    """FBS.Transport.Dump: what every transport kind reports under ``base``."""

    id: str
    direct: bool
    producerIds: list[str]
    consumerIds: list[str]
    mapSsrcConsumerId: list[dict[str, Any]]
    mapRtxSsrcConsumerId: list[dict[str, Any]]
    dataProducerIds: list[str]
    dataConsumerIds: list[str]
    recvRtpHeaderExtensions: dict[str, Any]
    rtpListener: dict[str, Any]
    maxSendMessageSize: int
    maxReceiveMessageSize: int
    sctpParameters: dict[str, Any]
    sctpState: int
    sctpNegotiatedCapabilities: dict[str, Any]
    sctpListener: dict[str, Any]
    traceEventTypes: list[int]


class WebRtcTransportDump(TypedDict, total=False):
    """FBS.WebRtcTransport.DumpResponse."""

    base: TransportBaseDump
    iceRole: int
    iceParameters: dict[str, Any]
    iceCandidates: list[dict[str, Any]]
    iceState: int
    iceSelectedTuple: dict[str, Any]
    dtlsParameters: dict[str, Any]
    dtlsState: int


class PlainTransportDump(TypedDict, total=False):
    """FBS.PlainTransport.DumpResponse."""

    base: TransportBaseDump
    rtcpMux: bool
    comedia: bool
    tuple: dict[str, Any]
    rtcpTuple: dict[str, Any]
    srtpParameters: dict[str, Any]


class PipeTransportDump(TypedDict, total=False):
    """FBS.PipeTransport.DumpResponse."""

    base: TransportBaseDump
    tuple: dict[str, Any]
    rtx: bool
    srtpParameters: dict[str, Any]


TransportDump = WebRtcTransportDump | PlainTransportDump | PipeTransportDump


class ProducerDump(TypedDict, total=False):
    """FBS.Producer.DumpResponse."""

    id: str
    kind: int
    type: int
    rtpParameters: dict[str, Any]
    rtpMapping: dict[str, Any]
    rtpStreams: list[dict[str, Any]]
    traceEventTypes: list[int]
    paused: bool


class ConsumerDump(TypedDict, total=False):
    """FBS.Consumer.DumpResponse flattened as mediasoup's parseConsumerDumpResponse does:
    the base consumer fields at the top, then the kind-specific ones."""

    id: str
    type: int
    producerId: str
    kind: int
    rtpParameters: dict[str, Any]
    consumableRtpEncodings: list[dict[str, Any]]
    supportedCodecPayloadTypes: list[int]
    traceEventTypes: list[int]
    paused: bool
    producerPaused: bool
    priority: int
    rtpStreams: list[dict[str, Any]]
    rtpStream: dict[str, Any]
    preferredSpatialLayer: int
    targetSpatialLayer: int
    currentSpatialLayer: int
    preferredTemporalLayer: int
    targetTemporalLayer: int
    currentTemporalLayer: int
