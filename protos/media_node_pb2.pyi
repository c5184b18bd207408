from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Codec(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CODEC_UNSPECIFIED: _ClassVar[Codec]
    CODEC_VP8: _ClassVar[Codec]
    CODEC_H264: _ClassVar[Codec]

class StreamStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STREAM_STATUS_UNSPECIFIED: _ClassVar[StreamStatus]
    STREAM_STATUS_STARTING: _ClassVar[StreamStatus]
    STREAM_STATUS_LIVE: _ClassVar[StreamStatus]
    STREAM_STATUS_STOPPED: _ClassVar[StreamStatus]
    STREAM_STATUS_ERROR: _ClassVar[StreamStatus]

class TranscodeMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRANSCODE_MODE_AUTO: _ClassVar[TranscodeMode]
    TRANSCODE_MODE_ALWAYS: _ClassVar[TranscodeMode]
    TRANSCODE_MODE_NEVER: _ClassVar[TranscodeMode]

class ConsumerState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONSUMER_STATE_UNSPECIFIED: _ClassVar[ConsumerState]
    CONSUMER_STATE_NEW: _ClassVar[ConsumerState]
    CONSUMER_STATE_CONNECTING: _ClassVar[ConsumerState]
    CONSUMER_STATE_CONNECTED: _ClassVar[ConsumerState]
    CONSUMER_STATE_CLOSED: _ClassVar[ConsumerState]

class CloseReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CLOSE_REASON_UNSPECIFIED: _ClassVar[CloseReason]
    CLOSE_REASON_REQUESTED: _ClassVar[CloseReason]
    CLOSE_REASON_STREAM_STOPPED: _ClassVar[CloseReason]
    CLOSE_REASON_DTLS_FAILED: _ClassVar[CloseReason]
    CLOSE_REASON_DTLS_CLOSED: _ClassVar[CloseReason]
    CLOSE_REASON_ICE_DISCONNECTED: _ClassVar[CloseReason]
    CLOSE_REASON_NEVER_CONNECTED: _ClassVar[CloseReason]
    CLOSE_REASON_WORKER_DIED: _ClassVar[CloseReason]
    CLOSE_REASON_DRAIN_DEADLINE: _ClassVar[CloseReason]
    CLOSE_REASON_NODE_LOST: _ClassVar[CloseReason]

class RelayRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RELAY_ROLE_UNSPECIFIED: _ClassVar[RelayRole]
    RELAY_ROLE_ORIGIN: _ClassVar[RelayRole]
    RELAY_ROLE_EDGE: _ClassVar[RelayRole]
CODEC_UNSPECIFIED: Codec
CODEC_VP8: Codec
CODEC_H264: Codec
STREAM_STATUS_UNSPECIFIED: StreamStatus
STREAM_STATUS_STARTING: StreamStatus
STREAM_STATUS_LIVE: StreamStatus
STREAM_STATUS_STOPPED: StreamStatus
STREAM_STATUS_ERROR: StreamStatus
TRANSCODE_MODE_AUTO: TranscodeMode
TRANSCODE_MODE_ALWAYS: TranscodeMode
TRANSCODE_MODE_NEVER: TranscodeMode
CONSUMER_STATE_UNSPECIFIED: ConsumerState
CONSUMER_STATE_NEW: ConsumerState
CONSUMER_STATE_CONNECTING: ConsumerState
CONSUMER_STATE_CONNECTED: ConsumerState
CONSUMER_STATE_CLOSED: ConsumerState
CLOSE_REASON_UNSPECIFIED: CloseReason
CLOSE_REASON_REQUESTED: CloseReason
CLOSE_REASON_STREAM_STOPPED: CloseReason
CLOSE_REASON_DTLS_FAILED: CloseReason
CLOSE_REASON_DTLS_CLOSED: CloseReason
CLOSE_REASON_ICE_DISCONNECTED: CloseReason
CLOSE_REASON_NEVER_CONNECTED: CloseReason
CLOSE_REASON_WORKER_DIED: CloseReason
CLOSE_REASON_DRAIN_DEADLINE: CloseReason
CLOSE_REASON_NODE_LOST: CloseReason
RELAY_ROLE_UNSPECIFIED: RelayRole
RELAY_ROLE_ORIGIN: RelayRole
RELAY_ROLE_EDGE: RelayRole

class TestPatternSource(_message.Message):
    __slots__ = ("width", "height", "fps", "keyframe_interval_s", "audio")
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    KEYFRAME_INTERVAL_S_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    width: int
    height: int
    fps: int
    keyframe_interval_s: int
    audio: bool
    def __init__(self, width: _Optional[int] = ..., height: _Optional[int] = ..., fps: _Optional[int] = ..., keyframe_interval_s: _Optional[int] = ..., audio: _Optional[bool] = ...) -> None: ...

class RtspSource(_message.Message):
    __slots__ = ("url", "transcode", "transcode_mode", "no_fast_start", "no_audio")
    URL_FIELD_NUMBER: _ClassVar[int]
    TRANSCODE_FIELD_NUMBER: _ClassVar[int]
    TRANSCODE_MODE_FIELD_NUMBER: _ClassVar[int]
    NO_FAST_START_FIELD_NUMBER: _ClassVar[int]
    NO_AUDIO_FIELD_NUMBER: _ClassVar[int]
    url: str
    transcode: bool
    transcode_mode: TranscodeMode
    no_fast_start: bool
    no_audio: bool
    def __init__(self, url: _Optional[str] = ..., transcode: _Optional[bool] = ..., transcode_mode: _Optional[_Union[TranscodeMode, str]] = ..., no_fast_start: _Optional[bool] = ..., no_audio: _Optional[bool] = ...) -> None: ...

class RtpSource(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StreamSource(_message.Message):
    __slots__ = ("test_pattern", "rtsp", "rtp")
    TEST_PATTERN_FIELD_NUMBER: _ClassVar[int]
    RTSP_FIELD_NUMBER: _ClassVar[int]
    RTP_FIELD_NUMBER: _ClassVar[int]
    test_pattern: TestPatternSource
    rtsp: RtspSource
    rtp: RtpSource
    def __init__(self, test_pattern: _Optional[_Union[TestPatternSource, _Mapping]] = ..., rtsp: _Optional[_Union[RtspSource, _Mapping]] = ..., rtp: _Optional[_Union[RtpSource, _Mapping]] = ...) -> None: ...

class StartStreamRequest(_message.Message):
    __slots__ = ("stream_id", "source", "codec")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    CODEC_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    source: StreamSource
    codec: Codec
    def __init__(self, stream_id: _Optional[str] = ..., source: _Optional[_Union[StreamSource, _Mapping]] = ..., codec: _Optional[_Union[Codec, str]] = ...) -> None: ...

class StopStreamRequest(_message.Message):
    __slots__ = ("stream_id",)
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    def __init__(self, stream_id: _Optional[str] = ...) -> None: ...

class ForgetStreamRequest(_message.Message):
    __slots__ = ("stream_id",)
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    def __init__(self, stream_id: _Optional[str] = ...) -> None: ...

class ForgetStreamResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetStreamRequest(_message.Message):
    __slots__ = ("stream_id",)
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    def __init__(self, stream_id: _Optional[str] = ...) -> None: ...

class ListStreamsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListStreamsResponse(_message.Message):
    __slots__ = ("streams",)
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    streams: _containers.RepeatedCompositeFieldContainer[StreamInfo]
    def __init__(self, streams: _Optional[_Iterable[_Union[StreamInfo, _Mapping]]] = ...) -> None: ...

class IngestStats(_message.Message):
    __slots__ = ("packets", "bytes", "bitrate_bps", "restarts", "last_packet_age_ms", "process_pid")
    PACKETS_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    BITRATE_BPS_FIELD_NUMBER: _ClassVar[int]
    RESTARTS_FIELD_NUMBER: _ClassVar[int]
    LAST_PACKET_AGE_MS_FIELD_NUMBER: _ClassVar[int]
    PROCESS_PID_FIELD_NUMBER: _ClassVar[int]
    packets: int
    bytes: int
    bitrate_bps: int
    restarts: int
    last_packet_age_ms: int
    process_pid: int
    def __init__(self, packets: _Optional[int] = ..., bytes: _Optional[int] = ..., bitrate_bps: _Optional[int] = ..., restarts: _Optional[int] = ..., last_packet_age_ms: _Optional[int] = ..., process_pid: _Optional[int] = ...) -> None: ...

class RtpEndpoint(_message.Message):
    __slots__ = ("ip", "port", "payload_type", "ssrc", "codec", "srtp_crypto_suite", "srtp_key_base64")
    IP_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_TYPE_FIELD_NUMBER: _ClassVar[int]
    SSRC_FIELD_NUMBER: _ClassVar[int]
    CODEC_FIELD_NUMBER: _ClassVar[int]
    SRTP_CRYPTO_SUITE_FIELD_NUMBER: _ClassVar[int]
    SRTP_KEY_BASE64_FIELD_NUMBER: _ClassVar[int]
    ip: str
    port: int
    payload_type: int
    ssrc: int
    codec: Codec
    srtp_crypto_suite: str
    srtp_key_base64: str
    def __init__(self, ip: _Optional[str] = ..., port: _Optional[int] = ..., payload_type: _Optional[int] = ..., ssrc: _Optional[int] = ..., codec: _Optional[_Union[Codec, str]] = ..., srtp_crypto_suite: _Optional[str] = ..., srtp_key_base64: _Optional[str] = ...) -> None: ...

class VideoInfo(_message.Message):
    __slots__ = ("codec", "width", "height")
    CODEC_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    codec: str
    width: int
    height: int
    def __init__(self, codec: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ...) -> None: ...

class AudioInfo(_message.Message):
    __slots__ = ("codec",)
    CODEC_FIELD_NUMBER: _ClassVar[int]
    codec: str
    def __init__(self, codec: _Optional[str] = ...) -> None: ...

class StreamInfo(_message.Message):
    __slots__ = ("stream_id", "status", "status_reason", "producer_id", "codec", "source", "ingest", "rtp_endpoint", "consumer_count", "worker_pid", "node_id", "video", "audio", "audio_producer_id")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_REASON_FIELD_NUMBER: _ClassVar[int]
    PRODUCER_ID_FIELD_NUMBER: _ClassVar[int]
    CODEC_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    INGEST_FIELD_NUMBER: _ClassVar[int]
    RTP_ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_COUNT_FIELD_NUMBER: _ClassVar[int]
    WORKER_PID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    VIDEO_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    AUDIO_PRODUCER_ID_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    status: StreamStatus
    status_reason: str
    producer_id: str
    codec: Codec
    source: StreamSource
    ingest: IngestStats
    rtp_endpoint: RtpEndpoint
    consumer_count: int
    worker_pid: int
    node_id: str
    video: VideoInfo
    audio: AudioInfo
    audio_producer_id: str
    def __init__(self, stream_id: _Optional[str] = ..., status: _Optional[_Union[StreamStatus, str]] = ..., status_reason: _Optional[str] = ..., producer_id: _Optional[str] = ..., codec: _Optional[_Union[Codec, str]] = ..., source: _Optional[_Union[StreamSource, _Mapping]] = ..., ingest: _Optional[_Union[IngestStats, _Mapping]] = ..., rtp_endpoint: _Optional[_Union[RtpEndpoint, _Mapping]] = ..., consumer_count: _Optional[int] = ..., worker_pid: _Optional[int] = ..., node_id: _Optional[str] = ..., video: _Optional[_Union[VideoInfo, _Mapping]] = ..., audio: _Optional[_Union[AudioInfo, _Mapping]] = ..., audio_producer_id: _Optional[str] = ...) -> None: ...

class GetRouterCapabilitiesRequest(_message.Message):
    __slots__ = ("stream_id", "json")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    JSON_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    json: bool
    def __init__(self, stream_id: _Optional[str] = ..., json: _Optional[bool] = ...) -> None: ...

class RouterCapabilities(_message.Message):
    __slots__ = ("rtp_capabilities", "rtp_capabilities_json")
    RTP_CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    RTP_CAPABILITIES_JSON_FIELD_NUMBER: _ClassVar[int]
    rtp_capabilities: _struct_pb2.Struct
    rtp_capabilities_json: str
    def __init__(self, rtp_capabilities: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., rtp_capabilities_json: _Optional[str] = ...) -> None: ...

class ConsumeRequest(_message.Message):
    __slots__ = ("stream_id", "client_id", "rtp_capabilities", "dtls_parameters", "paused", "no_audio", "rtp_capabilities_json", "dtls_parameters_json", "json")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    RTP_CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    DTLS_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    NO_AUDIO_FIELD_NUMBER: _ClassVar[int]
    RTP_CAPABILITIES_JSON_FIELD_NUMBER: _ClassVar[int]
    DTLS_PARAMETERS_JSON_FIELD_NUMBER: _ClassVar[int]
    JSON_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    client_id: str
    rtp_capabilities: _struct_pb2.Struct
    dtls_parameters: _struct_pb2.Struct
    paused: bool
    no_audio: bool
    rtp_capabilities_json: str
    dtls_parameters_json: str
    json: bool
    def __init__(self, stream_id: _Optional[str] = ..., client_id: _Optional[str] = ..., rtp_capabilities: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., dtls_parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., paused: _Optional[bool] = ..., no_audio: _Optional[bool] = ..., rtp_capabilities_json: _Optional[str] = ..., dtls_parameters_json: _Optional[str] = ..., json: _Optional[bool] = ...) -> None: ...

class TransportInfo(_message.Message):
    __slots__ = ("id", "ice_parameters", "ice_candidates", "dtls_parameters", "ice_parameters_json", "ice_candidates_json", "dtls_parameters_json")
    ID_FIELD_NUMBER: _ClassVar[int]
    ICE_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    ICE_CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    DTLS_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    ICE_PARAMETERS_JSON_FIELD_NUMBER: _ClassVar[int]
    ICE_CANDIDATES_JSON_FIELD_NUMBER: _ClassVar[int]
    DTLS_PARAMETERS_JSON_FIELD_NUMBER: _ClassVar[int]
    id: str
    ice_parameters: _struct_pb2.Struct
    ice_candidates: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    dtls_parameters: _struct_pb2.Struct
    ice_parameters_json: str
    ice_candidates_json: str
    dtls_parameters_json: str
    def __init__(self, id: _Optional[str] = ..., ice_parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., ice_candidates: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ..., dtls_parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., ice_parameters_json: _Optional[str] = ..., ice_candidates_json: _Optional[str] = ..., dtls_parameters_json: _Optional[str] = ...) -> None: ...

class ConsumerStats(_message.Message):
    __slots__ = ("bitrate_bps", "packets_sent", "packets_lost", "score", "nack_count", "nack_packet_count", "packets_retransmitted", "pli_count", "fir_count", "round_trip_time_ms")
    BITRATE_BPS_FIELD_NUMBER: _ClassVar[int]
    PACKETS_SENT_FIELD_NUMBER: _ClassVar[int]
    PACKETS_LOST_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    NACK_COUNT_FIELD_NUMBER: _ClassVar[int]
    NACK_PACKET_COUNT_FIELD_NUMBER: _ClassVar[int]
    PACKETS_RETRANSMITTED_FIELD_NUMBER: _ClassVar[int]
    PLI_COUNT_FIELD_NUMBER: _ClassVar[int]
    FIR_COUNT_FIELD_NUMBER: _ClassVar[int]
    ROUND_TRIP_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    bitrate_bps: int
    packets_sent: int
    packets_lost: int
    score: int
    nack_count: int
    nack_packet_count: int
    packets_retransmitted: int
    pli_count: int
    fir_count: int
    round_trip_time_ms: float
    def __init__(self, bitrate_bps: _Optional[int] = ..., packets_sent: _Optional[int] = ..., packets_lost: _Optional[int] = ..., score: _Optional[int] = ..., nack_count: _Optional[int] = ..., nack_packet_count: _Optional[int] = ..., packets_retransmitted: _Optional[int] = ..., pli_count: _Optional[int] = ..., fir_count: _Optional[int] = ..., round_trip_time_ms: _Optional[float] = ...) -> None: ...

class ConsumerInfo(_message.Message):
    __slots__ = ("id", "stream_id", "transport_id", "producer_id", "kind", "rtp_parameters", "state", "closed_reason", "client_id", "paused", "stats", "ice_state", "dtls_state", "rtp_parameters_json")
    ID_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    TRANSPORT_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCER_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RTP_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CLOSED_REASON_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    ICE_STATE_FIELD_NUMBER: _ClassVar[int]
    DTLS_STATE_FIELD_NUMBER: _ClassVar[int]
    RTP_PARAMETERS_JSON_FIELD_NUMBER: _ClassVar[int]
    id: str
    stream_id: str
    transport_id: str
    producer_id: str
    kind: str
    rtp_parameters: _struct_pb2.Struct
    state: ConsumerState
    closed_reason: CloseReason
    client_id: str
    paused: bool
    stats: ConsumerStats
    ice_state: str
    dtls_state: str
    rtp_parameters_json: str
    def __init__(self, id: _Optional[str] = ..., stream_id: _Optional[str] = ..., transport_id: _Optional[str] = ..., producer_id: _Optional[str] = ..., kind: _Optional[str] = ..., rtp_parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., state: _Optional[_Union[ConsumerState, str]] = ..., closed_reason: _Optional[_Union[CloseReason, str]] = ..., client_id: _Optional[str] = ..., paused: _Optional[bool] = ..., stats: _Optional[_Union[ConsumerStats, _Mapping]] = ..., ice_state: _Optional[str] = ..., dtls_state: _Optional[str] = ..., rtp_parameters_json: _Optional[str] = ...) -> None: ...

class ConsumeResponse(_message.Message):
    __slots__ = ("transport", "consumer", "connected", "audio")
    TRANSPORT_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_FIELD_NUMBER: _ClassVar[int]
    CONNECTED_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    transport: TransportInfo
    consumer: ConsumerInfo
    connected: bool
    audio: ConsumerInfo
    def __init__(self, transport: _Optional[_Union[TransportInfo, _Mapping]] = ..., consumer: _Optional[_Union[ConsumerInfo, _Mapping]] = ..., connected: _Optional[bool] = ..., audio: _Optional[_Union[ConsumerInfo, _Mapping]] = ...) -> None: ...

class ConnectTransportRequest(_message.Message):
    __slots__ = ("transport_id", "dtls_parameters")
    TRANSPORT_ID_FIELD_NUMBER: _ClassVar[int]
    DTLS_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    transport_id: str
    dtls_parameters: _struct_pb2.Struct
    def __init__(self, transport_id: _Optional[str] = ..., dtls_parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ConnectTransportResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ConsumerRef(_message.Message):
    __slots__ = ("consumer_id",)
    CONSUMER_ID_FIELD_NUMBER: _ClassVar[int]
    consumer_id: str
    def __init__(self, consumer_id: _Optional[str] = ...) -> None: ...

class CloseTransportRequest(_message.Message):
    __slots__ = ("transport_id",)
    TRANSPORT_ID_FIELD_NUMBER: _ClassVar[int]
    transport_id: str
    def __init__(self, transport_id: _Optional[str] = ...) -> None: ...

class CloseResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetLoadRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WorkerLoad(_message.Message):
    __slots__ = ("pid", "cpu_percent", "routers", "transports", "producers", "consumers", "viewers", "piped_routers")
    PID_FIELD_NUMBER: _ClassVar[int]
    CPU_PERCENT_FIELD_NUMBER: _ClassVar[int]
    ROUTERS_FIELD_NUMBER: _ClassVar[int]
    TRANSPORTS_FIELD_NUMBER: _ClassVar[int]
    PRODUCERS_FIELD_NUMBER: _ClassVar[int]
    CONSUMERS_FIELD_NUMBER: _ClassVar[int]
    VIEWERS_FIELD_NUMBER: _ClassVar[int]
    PIPED_ROUTERS_FIELD_NUMBER: _ClassVar[int]
    pid: int
    cpu_percent: float
    routers: int
    transports: int
    producers: int
    consumers: int
    viewers: int
    piped_routers: int
    def __init__(self, pid: _Optional[int] = ..., cpu_percent: _Optional[float] = ..., routers: _Optional[int] = ..., transports: _Optional[int] = ..., producers: _Optional[int] = ..., consumers: _Optional[int] = ..., viewers: _Optional[int] = ..., piped_routers: _Optional[int] = ...) -> None: ...

class Load(_message.Message):
    __slots__ = ("node_id", "draining", "workers", "streams", "transports", "producers", "consumers", "outgoing_bitrate_bps", "incoming_bitrate_bps", "updated_at_ms")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    DRAINING_FIELD_NUMBER: _ClassVar[int]
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    TRANSPORTS_FIELD_NUMBER: _ClassVar[int]
    PRODUCERS_FIELD_NUMBER: _ClassVar[int]
    CONSUMERS_FIELD_NUMBER: _ClassVar[int]
    OUTGOING_BITRATE_BPS_FIELD_NUMBER: _ClassVar[int]
    INCOMING_BITRATE_BPS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    draining: bool
    workers: _containers.RepeatedCompositeFieldContainer[WorkerLoad]
    streams: int
    transports: int
    producers: int
    consumers: int
    outgoing_bitrate_bps: int
    incoming_bitrate_bps: int
    updated_at_ms: int
    def __init__(self, node_id: _Optional[str] = ..., draining: _Optional[bool] = ..., workers: _Optional[_Iterable[_Union[WorkerLoad, _Mapping]]] = ..., streams: _Optional[int] = ..., transports: _Optional[int] = ..., producers: _Optional[int] = ..., consumers: _Optional[int] = ..., outgoing_bitrate_bps: _Optional[int] = ..., incoming_bitrate_bps: _Optional[int] = ..., updated_at_ms: _Optional[int] = ...) -> None: ...

class WatchEventsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StreamStatusChanged(_message.Message):
    __slots__ = ("stream",)
    STREAM_FIELD_NUMBER: _ClassVar[int]
    stream: StreamInfo
    def __init__(self, stream: _Optional[_Union[StreamInfo, _Mapping]] = ...) -> None: ...

class TransportStateChanged(_message.Message):
    __slots__ = ("transport_id", "stream_id", "client_id", "ice_state", "dtls_state")
    TRANSPORT_ID_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    ICE_STATE_FIELD_NUMBER: _ClassVar[int]
    DTLS_STATE_FIELD_NUMBER: _ClassVar[int]
    transport_id: str
    stream_id: str
    client_id: str
    ice_state: str
    dtls_state: str
    def __init__(self, transport_id: _Optional[str] = ..., stream_id: _Optional[str] = ..., client_id: _Optional[str] = ..., ice_state: _Optional[str] = ..., dtls_state: _Optional[str] = ...) -> None: ...

class ConsumerClosed(_message.Message):
    __slots__ = ("consumer_id", "transport_id", "stream_id", "client_id", "reason")
    CONSUMER_ID_FIELD_NUMBER: _ClassVar[int]
    TRANSPORT_ID_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    consumer_id: str
    transport_id: str
    stream_id: str
    client_id: str
    reason: CloseReason
    def __init__(self, consumer_id: _Optional[str] = ..., transport_id: _Optional[str] = ..., stream_id: _Optional[str] = ..., client_id: _Optional[str] = ..., reason: _Optional[_Union[CloseReason, str]] = ...) -> None: ...

class WorkerDied(_message.Message):
    __slots__ = ("pid", "exit_code", "signal", "stream_ids")
    PID_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_FIELD_NUMBER: _ClassVar[int]
    STREAM_IDS_FIELD_NUMBER: _ClassVar[int]
    pid: int
    exit_code: int
    signal: int
    stream_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, pid: _Optional[int] = ..., exit_code: _Optional[int] = ..., signal: _Optional[int] = ..., stream_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class WorkerRestarted(_message.Message):
    __slots__ = ("old_pid", "pid")
    OLD_PID_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    old_pid: int
    pid: int
    def __init__(self, old_pid: _Optional[int] = ..., pid: _Optional[int] = ...) -> None: ...

class NodeDraining(_message.Message):
    __slots__ = ("deadline_ms",)
    DEADLINE_MS_FIELD_NUMBER: _ClassVar[int]
    deadline_ms: int
    def __init__(self, deadline_ms: _Optional[int] = ...) -> None: ...

class NodeEvent(_message.Message):
    __slots__ = ("node_id", "sequence", "timestamp_ms", "stream_status", "transport_state", "consumer_closed", "worker_died", "worker_restarted", "draining", "relay_closed")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    STREAM_STATUS_FIELD_NUMBER: _ClassVar[int]
    TRANSPORT_STATE_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_CLOSED_FIELD_NUMBER: _ClassVar[int]
    WORKER_DIED_FIELD_NUMBER: _ClassVar[int]
    WORKER_RESTARTED_FIELD_NUMBER: _ClassVar[int]
    DRAINING_FIELD_NUMBER: _ClassVar[int]
    RELAY_CLOSED_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    sequence: int
    timestamp_ms: int
    stream_status: StreamStatusChanged
    transport_state: TransportStateChanged
    consumer_closed: ConsumerClosed
    worker_died: WorkerDied
    worker_restarted: WorkerRestarted
    draining: NodeDraining
    relay_closed: RelayClosed
    def __init__(self, node_id: _Optional[str] = ..., sequence: _Optional[int] = ..., timestamp_ms: _Optional[int] = ..., stream_status: _Optional[_Union[StreamStatusChanged, _Mapping]] = ..., transport_state: _Optional[_Union[TransportStateChanged, _Mapping]] = ..., consumer_closed: _Optional[_Union[ConsumerClosed, _Mapping]] = ..., worker_died: _Optional[_Union[WorkerDied, _Mapping]] = ..., worker_restarted: _Optional[_Union[WorkerRestarted, _Mapping]] = ..., draining: _Optional[_Union[NodeDraining, _Mapping]] = ..., relay_closed: _Optional[_Union[RelayClosed, _Mapping]] = ...) -> None: ...

class OpenRelayRequest(_message.Message):
    __slots__ = ("relay_id", "stream_id", "role")
    RELAY_ID_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    relay_id: str
    stream_id: str
    role: RelayRole
    def __init__(self, relay_id: _Optional[str] = ..., stream_id: _Optional[str] = ..., role: _Optional[_Union[RelayRole, str]] = ...) -> None: ...

class RelayEndpoint(_message.Message):
    __slots__ = ("ip", "port", "srtp_parameters")
    IP_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    SRTP_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    ip: str
    port: int
    srtp_parameters: _struct_pb2.Struct
    def __init__(self, ip: _Optional[str] = ..., port: _Optional[int] = ..., srtp_parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class RelayProducer(_message.Message):
    __slots__ = ("id", "kind", "rtp_parameters", "paused")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RTP_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: str
    rtp_parameters: _struct_pb2.Struct
    paused: bool
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[str] = ..., rtp_parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., paused: _Optional[bool] = ...) -> None: ...

class RelayInfo(_message.Message):
    __slots__ = ("relay_id", "stream_id", "role", "endpoint", "producers", "viewers")
    RELAY_ID_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    PRODUCERS_FIELD_NUMBER: _ClassVar[int]
    VIEWERS_FIELD_NUMBER: _ClassVar[int]
    relay_id: str
    stream_id: str
    role: RelayRole
    endpoint: RelayEndpoint
    producers: _containers.RepeatedCompositeFieldContainer[RelayProducer]
    viewers: int
    def __init__(self, relay_id: _Optional[str] = ..., stream_id: _Optional[str] = ..., role: _Optional[_Union[RelayRole, str]] = ..., endpoint: _Optional[_Union[RelayEndpoint, _Mapping]] = ..., producers: _Optional[_Iterable[_Union[RelayProducer, _Mapping]]] = ..., viewers: _Optional[int] = ...) -> None: ...

class ConnectRelayRequest(_message.Message):
    __slots__ = ("relay_id", "peer", "producers")
    RELAY_ID_FIELD_NUMBER: _ClassVar[int]
    PEER_FIELD_NUMBER: _ClassVar[int]
    PRODUCERS_FIELD_NUMBER: _ClassVar[int]
    relay_id: str
    peer: RelayEndpoint
    producers: _containers.RepeatedCompositeFieldContainer[RelayProducer]
    def __init__(self, relay_id: _Optional[str] = ..., peer: _Optional[_Union[RelayEndpoint, _Mapping]] = ..., producers: _Optional[_Iterable[_Union[RelayProducer, _Mapping]]] = ...) -> None: ...

class CloseRelayRequest(_message.Message):
    __slots__ = ("relay_id", "reason")
    RELAY_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    relay_id: str
    reason: CloseReason
    def __init__(self, relay_id: _Optional[str] = ..., reason: _Optional[_Union[CloseReason, str]] = ...) -> None: ...

class RelayClosed(_message.Message):
    __slots__ = ("relay_id", "stream_id", "role", "reason")
    RELAY_ID_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    relay_id: str
    stream_id: str
    role: RelayRole
    reason: str
    def __init__(self, relay_id: _Optional[str] = ..., stream_id: _Optional[str] = ..., role: _Optional[_Union[RelayRole, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class DrainRequest(_message.Message):
    __slots__ = ("deadline_s",)
    DEADLINE_S_FIELD_NUMBER: _ClassVar[int]
    deadline_s: int
    def __init__(self, deadline_s: _Optional[int] = ...) -> None: ...

class DrainResponse(_message.Message):
    __slots__ = ("draining", "consumers_remaining", "deadline_ms")
    DRAINING_FIELD_NUMBER: _ClassVar[int]
    CONSUMERS_REMAINING_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_MS_FIELD_NUMBER: _ClassVar[int]
    draining: bool
    consumers_remaining: int
    deadline_ms: int
    def __init__(self, draining: _Optional[bool] = ..., consumers_remaining: _Optional[int] = ..., deadline_ms: _Optional[int] = ...) -> None: ...

class DumpRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TransportDump(_message.Message):
    __slots__ = ("id", "stream_id", "client_id", "consumer_ids", "ice_state", "dtls_state", "worker_pid")
    ID_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_IDS_FIELD_NUMBER: _ClassVar[int]
    ICE_STATE_FIELD_NUMBER: _ClassVar[int]
    DTLS_STATE_FIELD_NUMBER: _ClassVar[int]
    WORKER_PID_FIELD_NUMBER: _ClassVar[int]
    id: str
    stream_id: str
    client_id: str
    consumer_ids: _containers.RepeatedScalarFieldContainer[str]
    ice_state: str
    dtls_state: str
    worker_pid: int
    def __init__(self, id: _Optional[str] = ..., stream_id: _Optional[str] = ..., client_id: _Optional[str] = ..., consumer_ids: _Optional[_Iterable[str]] = ..., ice_state: _Optional[str] = ..., dtls_state: _Optional[str] = ..., worker_pid: _Optional[int] = ...) -> None: ...

class WorkerDumpInfo(_message.Message):
    __slots__ = ("pid", "router_ids", "worker_router_ids", "worker_transports", "worker_consumers", "worker_producers", "viewers", "piped_router_ids")
    PID_FIELD_NUMBER: _ClassVar[int]
    ROUTER_IDS_FIELD_NUMBER: _ClassVar[int]
    WORKER_ROUTER_IDS_FIELD_NUMBER: _ClassVar[int]
    WORKER_TRANSPORTS_FIELD_NUMBER: _ClassVar[int]
    WORKER_CONSUMERS_FIELD_NUMBER: _ClassVar[int]
    WORKER_PRODUCERS_FIELD_NUMBER: _ClassVar[int]
    VIEWERS_FIELD_NUMBER: _ClassVar[int]
    PIPED_ROUTER_IDS_FIELD_NUMBER: _ClassVar[int]
    pid: int
    router_ids: _containers.RepeatedScalarFieldContainer[str]
    worker_router_ids: _containers.RepeatedScalarFieldContainer[str]
    worker_transports: int
    worker_consumers: int
    worker_producers: int
    viewers: int
    piped_router_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, pid: _Optional[int] = ..., router_ids: _Optional[_Iterable[str]] = ..., worker_router_ids: _Optional[_Iterable[str]] = ..., worker_transports: _Optional[int] = ..., worker_consumers: _Optional[int] = ..., worker_producers: _Optional[int] = ..., viewers: _Optional[int] = ..., piped_router_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class NodeDump(_message.Message):
    __slots__ = ("node_id", "draining", "workers", "streams", "transports", "consumers")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    DRAINING_FIELD_NUMBER: _ClassVar[int]
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    TRANSPORTS_FIELD_NUMBER: _ClassVar[int]
    CONSUMERS_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    draining: bool
    workers: _containers.RepeatedCompositeFieldContainer[WorkerDumpInfo]
    streams: _containers.RepeatedCompositeFieldContainer[StreamInfo]
    transports: _containers.RepeatedCompositeFieldContainer[TransportDump]
    consumers: _containers.RepeatedCompositeFieldContainer[ConsumerInfo]
    def __init__(self, node_id: _Optional[str] = ..., draining: _Optional[bool] = ..., workers: _Optional[_Iterable[_Union[WorkerDumpInfo, _Mapping]]] = ..., streams: _Optional[_Iterable[_Union[StreamInfo, _Mapping]]] = ..., transports: _Optional[_Iterable[_Union[TransportDump, _Mapping]]] = ..., consumers: _Optional[_Iterable[_Union[ConsumerInfo, _Mapping]]] = ...) -> None: ...

class GetSnapshotRequest(_message.Message):
    __slots__ = ("stream_id", "width")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    width: int
    def __init__(self, stream_id: _Optional[str] = ..., width: _Optional[int] = ...) -> None: ...

class Snapshot(_message.Message):
    __slots__ = ("jpeg", "width", "height", "source_width", "source_height", "key_frame_at_ms", "cached")
    JPEG_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_WIDTH_FIELD_NUMBER: _ClassVar[int]
    SOURCE_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    KEY_FRAME_AT_MS_FIELD_NUMBER: _ClassVar[int]
    CACHED_FIELD_NUMBER: _ClassVar[int]
    jpeg: bytes
    width: int
    height: int
    source_width: int
    source_height: int
    key_frame_at_ms: int
    cached: bool
    def __init__(self, jpeg: _Optional[bytes] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., source_width: _Optional[int] = ..., source_height: _Optional[int] = ..., key_frame_at_ms: _Optional[int] = ..., cached: _Optional[bool] = ...) -> None: ...
