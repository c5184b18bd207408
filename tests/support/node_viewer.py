"""A real viewer (pymediasoup/aiortc) driving a media node over gRPC only."""

from __future__ import annotations

import time
from dataclasses import dataclass

from media_node.convert import dict_to_struct, struct_to_dict
from protos import media_node_pb2 as pb
from tests.support.node_process import NodeClient
from tests.support.viewer import Viewer


@dataclass
class NodeWatch:
    viewer: Viewer
    consumer_id: str
    transport_id: str
    consume_returned_at: float
    response: pb.ConsumeResponse | None = None
    audio_consumer_id: str = ""
    """The audio consumer on the same transport ("" when the node gave none)."""


async def watch_over_grpc(
    client: NodeClient, stream_id: str, client_id: str = "test-viewer", audio: bool = True
) -> NodeWatch:
    """capabilities -> Consume -> (viewer connects through ConnectTransport) -> consumer
    (and the audio consumer, when the node adds one; ``audio`` False opts out)."""
    viewer = Viewer()
    capabilities = await client.GetRouterCapabilities(
        pb.GetRouterCapabilitiesRequest(stream_id=stream_id)
    )
    caps = await viewer.load(struct_to_dict(capabilities.rtp_capabilities))
    response = await client.Consume(
        pb.ConsumeRequest(
            stream_id=stream_id,
            client_id=client_id,
            rtp_capabilities=dict_to_struct(caps),
            no_audio=not audio,
        )
    )
    returned_at = time.monotonic()
    transport = response.transport

    async def connect(dtls: dict) -> None:
        await client.ConnectTransport(
            pb.ConnectTransportRequest(
                transport_id=transport.id, dtls_parameters=dict_to_struct(dtls)
            )
        )

    viewer.create_transport(
        {
            "id": transport.id,
            "iceParameters": struct_to_dict(transport.ice_parameters),
            "iceCandidates": [struct_to_dict(c) for c in transport.ice_candidates],
            "dtlsParameters": struct_to_dict(transport.dtls_parameters),
        },
        on_connect=connect,
    )
    consumer = response.consumer
    await viewer.consume(
        {
            "id": consumer.id,
            "producerId": consumer.producer_id,
            "kind": consumer.kind,
            "rtpParameters": struct_to_dict(consumer.rtp_parameters),
        }
    )
    audio_id = ""
    if response.HasField("audio"):
        audio_id = response.audio.id
        await viewer.consume_audio(
            {
                "id": audio_id,
                "producerId": response.audio.producer_id,
                "rtpParameters": struct_to_dict(response.audio.rtp_parameters),
            }
        )
    return NodeWatch(viewer, consumer.id, transport.id, returned_at, response, audio_id)


def pattern_request(
    stream_id: str, codec: int = pb.CODEC_VP8, keyframe_interval_s: int = 10
) -> pb.StartStreamRequest:
    return pb.StartStreamRequest(
        stream_id=stream_id,
        source=pb.StreamSource(
            test_pattern=pb.TestPatternSource(keyframe_interval_s=keyframe_interval_s)
        ),
        codec=codec,
    )
