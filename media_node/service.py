"""The gRPC servicer: protobuf in, MediaNode call, protobuf out, errors mapped.

All of the node's behaviour lives in MediaNode; this module only translates.
The error mapping is the one place that decides status codes, so bad input can
never surface as UNKNOWN or INTERNAL.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc
from mediasoup_driver import InvalidStateError

from media_node.convert import struct_to_dict
from media_node.errors import FailedPrecondition, InvalidArgument, NodeError, NotFound, Unavailable
from media_node.events import Overflowed
from media_node.node import MediaNode
from protos import media_node_pb2 as pb
from protos import media_node_pb2_grpc as pb_grpc

_log = logging.getLogger(__name__)
T = TypeVar("T")

_CODES: dict[type[NodeError], grpc.StatusCode] = {
    NotFound: grpc.StatusCode.NOT_FOUND,
    FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    Unavailable: grpc.StatusCode.UNAVAILABLE,
}


def _mapped(
    handler: Callable[..., Awaitable[T]],
) -> Callable[..., Awaitable[T]]:
    @functools.wraps(handler)
    async def wrapper(self: Servicer, request: Any, context: grpc.aio.ServicerContext) -> T:
        try:
            return await handler(self, request, context)
        except NodeError as error:
            await context.abort(_CODES.get(type(error), grpc.StatusCode.INTERNAL), str(error))
        except InvalidStateError as error:
            # An entity closed under our feet (viewer left, stream stopped meanwhile).
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(error))
        raise AssertionError("unreachable")  # context.abort always raises

    return wrapper


def _required(value: str, field: str) -> str:
    if not value:
        raise InvalidArgument(field, "required")
    return value


def _json_object(text: str, field: str) -> dict[str, Any]:
    """A *_json request field: a JSON object, else INVALID_ARGUMENT naming the field."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidArgument(field, "not JSON") from None
    if not isinstance(value, dict):
        raise InvalidArgument(field, "must be a JSON object")
    return value


class Servicer(pb_grpc.MediaNodeServicer):
    def __init__(self, node: MediaNode) -> None:
        self.node = node

    @_mapped
    async def GetRouterCapabilities(
        self, request: pb.GetRouterCapabilitiesRequest, context: Any
    ) -> pb.RouterCapabilities:
        return self.node.router_capabilities(
            _required(request.stream_id, "stream_id"), as_json=request.json
        )

    @_mapped
    async def StartStream(self, request: pb.StartStreamRequest, context: Any) -> pb.StreamInfo:
        return await self.node.start_stream(request)

    @_mapped
    async def StopStream(self, request: pb.StopStreamRequest, context: Any) -> pb.StreamInfo:
        return await self.node.stop_stream(_required(request.stream_id, "stream_id"))

    @_mapped
    async def ForgetStream(
        self, request: pb.ForgetStreamRequest, context: Any
    ) -> pb.ForgetStreamResponse:
        await self.node.forget_stream(_required(request.stream_id, "stream_id"))
        return pb.ForgetStreamResponse()

    @_mapped
    async def GetStream(self, request: pb.GetStreamRequest, context: Any) -> pb.StreamInfo:
        stream = self.node.streams.get(_required(request.stream_id, "stream_id"))
        return self.node.stream_info(stream)

    @_mapped
    async def ListStreams(
        self, request: pb.ListStreamsRequest, context: Any
    ) -> pb.ListStreamsResponse:
        return pb.ListStreamsResponse(
            streams=[self.node.stream_info(s) for s in self.node.streams.streams.values()]
        )

    @_mapped
    async def Consume(self, request: pb.ConsumeRequest, context: Any) -> pb.ConsumeResponse:
        _required(request.stream_id, "stream_id")
        if request.rtp_capabilities_json:
            caps = _json_object(request.rtp_capabilities_json, "rtp_capabilities")
        elif request.HasField("rtp_capabilities"):
            caps = struct_to_dict(request.rtp_capabilities)
        else:
            raise InvalidArgument("rtp_capabilities", "required")
        dtls = None
        if request.dtls_parameters_json:
            dtls = _json_object(request.dtls_parameters_json, "dtls_parameters")
        elif request.HasField("dtls_parameters"):
            dtls = struct_to_dict(request.dtls_parameters)
        return await self.node.consume(
            request.stream_id,
            request.client_id,
            caps,
            dtls,
            request.paused,
            audio=not request.no_audio,
            as_json=request.json,
        )

    @_mapped
    async def ConnectTransport(
        self, request: pb.ConnectTransportRequest, context: Any
    ) -> pb.ConnectTransportResponse:
        _required(request.transport_id, "transport_id")
        if not request.HasField("dtls_parameters"):
            raise InvalidArgument("dtls_parameters", "required")
        await self.node.viewers.connect(
            request.transport_id, struct_to_dict(request.dtls_parameters)
        )
        return pb.ConnectTransportResponse()

    @_mapped
    async def ResumeConsumer(self, request: pb.ConsumerRef, context: Any) -> pb.ConsumerInfo:
        session = await self.node.viewers.resume(_required(request.consumer_id, "consumer_id"))
        return session.info()

    @_mapped
    async def GetConsumer(self, request: pb.ConsumerRef, context: Any) -> pb.ConsumerInfo:
        return await self.node.consumer_info(_required(request.consumer_id, "consumer_id"))

    @_mapped
    async def CloseConsumer(self, request: pb.ConsumerRef, context: Any) -> pb.CloseResponse:
        await self.node.close_consumer(_required(request.consumer_id, "consumer_id"))
        return pb.CloseResponse()

    @_mapped
    async def CloseTransport(
        self, request: pb.CloseTransportRequest, context: Any
    ) -> pb.CloseResponse:
        await self.node.close_transport(_required(request.transport_id, "transport_id"))
        return pb.CloseResponse()

    @_mapped
    async def GetLoad(self, request: pb.GetLoadRequest, context: Any) -> pb.Load:
        return self.node.load.current

    async def WatchEvents(
        self, request: pb.WatchEventsRequest, context: Any
    ) -> AsyncIterator[pb.NodeEvent]:
        snapshot = [
            {"stream_status": pb.StreamStatusChanged(stream=self.node.stream_info(stream))}
            for stream in self.node.streams.streams.values()
        ]
        # Headers now, so a watcher knows it is subscribed before any event exists.
        await context.send_initial_metadata(())
        try:
            async for event in self.node.bus.subscribe(snapshot):
                yield event
        except Overflowed:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "watcher fell behind")

    @_mapped
    async def Drain(self, request: pb.DrainRequest, context: Any) -> pb.DrainResponse:
        return self.node.start_drain(float(request.deadline_s))

    @_mapped
    async def GetSnapshot(self, request: pb.GetSnapshotRequest, context: Any) -> pb.Snapshot:
        return await self.node.snapshot(_required(request.stream_id, "stream_id"), request.width)

    @_mapped
    async def Dump(self, request: pb.DumpRequest, context: Any) -> pb.NodeDump:
        return await self.node.dump()

    @_mapped
    async def OpenRelay(self, request: pb.OpenRelayRequest, context: Any) -> pb.RelayInfo:
        return await self.node.relays.open(request)

    @_mapped
    async def ConnectRelay(self, request: pb.ConnectRelayRequest, context: Any) -> pb.RelayInfo:
        return await self.node.relays.connect(request)

    @_mapped
    async def CloseRelay(self, request: pb.CloseRelayRequest, context: Any) -> pb.CloseResponse:
        await self.node.relays.close(_required(request.relay_id, "relay_id"), request.reason)
        return pb.CloseResponse()
