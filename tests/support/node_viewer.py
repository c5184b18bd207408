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


async def watch_over_grpc(
    client: NodeClient, stream_id: str, client_id: str = "test-viewer"
) -> NodeWatch:
    """capabilities -> Consume -> (viewer connects through ConnectTransport) -> consumer."""
    viewer = Viewer()
    capabilities = await client.GetRouterCapabilities(
        pb.GetRouterCapabilitiesRequest(stream_id=stream_id)
    )
    caps = await viewer.load(struct_to_dict(capabilities.rtp_capabilities))
    response = await client.Consume(
        pb.ConsumeRequest(
            stream_id=stream_id, client_id=client_id, rtp_capabilities=dict_to_struct(caps)
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
    return NodeWatch(viewer, consumer.id, transport.id, returned_at)


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
