"""Supervised ingest of live streams into mediasoup routers (one ``Ingest`` per stream).

Sources: a test pattern the node encodes, an RTSP camera (H.264 passed through,
anything else transcoded to H.264), or SRTP pushed by an external sender. Whatever
the node encodes itself answers key-frame requests, so a new viewer gets a picture
in ~0.1 s whatever the key-frame interval. See ``supervisor`` for the design
(transport and producer kept across process restarts, packet-flow detection,
backoff), ``runner`` for the
GStreamer pipeline (built in code in a child process) and ``pipelines`` for its
wiring.

Time to a new viewer's first frame (aiortc viewer, from DTLS connected; 10 s
key-frame interval unless said): test pattern VP8 41-58 ms, H.264 57-63 ms; RTSP
transcoded to VP8 41-67 ms (camera GOP 10 s). RTSP passthrough has no encoder to
ask, so it waits for the camera's next key frame unless the camera honours RTCP
key-frame requests (the test camera does not): 0.85-0.9 s with a 1 s camera GOP,
~8.7 s with a 10 s one. Use ``transcode="always"`` where that matters (CPU cost of a
decoder plus an encoder per stream).

Typical use by the media node::

    router = await worker.create_router(RouterOptions(media_codecs=router_media_codecs()))
    ingest = Ingest(router, IngestSpec(kind="rtsp", url="rtsp://cam/stream"),
                    on_status=report_status, on_producer=publish_producer)
    await ingest.start()
    ...
    await ingest.stop()
"""

from .process import Backoff
from .spec import (
    AudioCodec,
    AudioInfo,
    Codec,
    IngestKind,
    IngestSpec,
    IngestStats,
    RtpEndpoint,
    Status,
    TranscodeMode,
    VideoInfo,
    check_rtsp_url,
    producer_rtp_parameters,
    router_media_codecs,
)
from .supervisor import Ingest, ProducerCallback, StatusCallback

__all__ = [
    "AudioCodec",
    "AudioInfo",
    "Backoff",
    "Codec",
    "Ingest",
    "IngestKind",
    "IngestSpec",
    "IngestStats",
    "ProducerCallback",
    "RtpEndpoint",
    "Status",
    "StatusCallback",
    "TranscodeMode",
    "VideoInfo",
    "check_rtsp_url",
    "producer_rtp_parameters",
    "router_media_codecs",
]
