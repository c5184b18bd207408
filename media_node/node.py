"""MediaNode: the node's state and operations, independent of gRPC.

It owns the worker pool, the streams, the viewers, the event bus and the load
monitor, and wires their lifecycles together: a dying worker fails its streams
and reports its viewers closed; a stopped stream closes its viewers; a drain
refuses new work and waits for viewers to leave.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from mediasoup_driver import WorkerExit, WorkerSettings

from media_node.config import NodeSettings
from media_node.convert import dict_to_struct
from media_node.errors import FailedPrecondition, Unavailable
from media_node.events import EventBus
from media_node.fanout import Fanout, FanoutPolicy
from media_node.load import LoadMonitor
from media_node.pool import WorkerPool, WorkerSlot
from media_node.relay import RelayManager, RelayPolicy
from media_node.snapshots import Snapshots
from media_node.streams import CODEC_TO_PB, STATUS_TO_PB, Stream, StreamManager
from media_node.viewers import Session, ViewerManager, ViewerPolicy
from protos import media_node_pb2 as pb

_log = logging.getLogger(__name__)


class MediaNode:
    def __init__(self, settings: NodeSettings) -> None:
        self.settings = settings
        self.bus = EventBus(settings.node_id)
        self.pool = WorkerPool(
            settings.workers,
            WorkerSettings(
                worker_bin=settings.worker_bin,
                log_level=settings.worker_log_level,  # type: ignore[arg-type]
                rtc_min_port=settings.rtc_min_port,
                rtc_max_port=settings.rtc_max_port,
            ),
            on_died=self._worker_died,
            on_restarted=self._worker_restarted,
        )
        self.streams = StreamManager(
            self.pool,
            settings.rtc_listen_ip,
            settings.ingest_no_packet_timeout_s,
            on_status=self._stream_status,
            announced_address=settings.rtc_announced_address,
            transcode_max_height=settings.transcode_max_height,
        )
        self.viewers = ViewerManager(
            ViewerPolicy(
                listen_ip=settings.rtc_listen_ip,
                announced_address=settings.rtc_announced_address,
                enable_tcp=settings.rtc_enable_tcp,
                connect_timeout_s=settings.connect_timeout_s,
                ice_consent_timeout_s=settings.ice_consent_timeout_s,
                ice_disconnected_grace_s=settings.ice_disconnected_grace_s,
            ),
            on_closed=self._viewer_closed,
            on_transport_state=self._transport_state,
            on_audio_closed=self._audio_closed,
        )
        self.snapshots = Snapshots(
            settings.rtc_listen_ip, settings.snapshot_timeout_s, settings.snapshot_linger_s
        )
        self.load = LoadMonitor(self.pool, self._load_snapshot, settings.load_refresh_s)
        self.fanout = Fanout(
            self.pool,
            FanoutPolicy(
                mode=settings.fanout,
                max_viewers_per_worker=settings.fanout_max_viewers_per_worker,
                max_cpu_percent=settings.fanout_max_cpu_percent,
            ),
            self.load.cpu_percent,
            on_lost=self._route_lost,
        )
        self._caps_json: dict[str, str] = {}  # router id -> its capabilities as JSON
        self.relays = RelayManager(
            self.pool,
            self.streams,
            RelayPolicy(
                listen_ip=settings.pipe_listen_ip or settings.rtc_listen_ip,
                announced_address=settings.pipe_announced_address,
                srtp=settings.pipe_srtp,
                idle_timeout_s=settings.relay_idle_timeout_s,
            ),
            on_closed=self._relay_closed,
            close_viewers=self.viewers.close_stream,
            count_viewers=self._viewers_of,
        )
        self.draining = False
        self.drain_deadline_ms = 0
        self.drained = asyncio.Event()
        self._drain_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.pool.start()
        await self.load.refresh()
        self.load.start()

    async def close(self) -> None:
        await self.load.stop()
        await self.viewers.close_all(pb.CLOSE_REASON_STREAM_STOPPED)
        await self.relays.close_all()
        await self.fanout.close()
        await self.snapshots.close()
        await self.streams.close()
        await self.pool.close()
        self.bus.close()

    # -- streams -------------------------------------------------------------------------

    async def start_stream(self, request: pb.StartStreamRequest) -> pb.StreamInfo:
        if self.draining:
            raise Unavailable("draining")
        stream = await self.streams.start(request.stream_id, request.source, request.codec)
        return self.stream_info(stream)

    async def stop_stream(self, stream_id: str) -> pb.StreamInfo:
        stream = self.streams.get(stream_id)
        await self.viewers.close_stream(stream.id, pb.CLOSE_REASON_STREAM_STOPPED)
        await self.fanout.close_stream(stream.id)
        await self.snapshots.close_stream(stream.id)
        return self.stream_info(await self.streams.stop(stream.id))

    async def forget_stream(self, stream_id: str) -> None:
        """Stops the stream if it runs and drops it: the node keeps no record of streams
        the control plane deleted (ListStreams would grow forever otherwise)."""
        await self.stop_stream(stream_id)
        self.streams.forget(stream_id)
        _log.info("stream %s: forgotten", stream_id)

    def router_capabilities(self, stream_id: str, as_json: bool = False) -> pb.RouterCapabilities:
        """`as_json`: in rtp_capabilities_json, serialised once per router (a router's
        capabilities never change; building the Struct costs ~0.4 ms every call)."""
        stream = self.relays.edge_stream(stream_id) or self.streams.get(stream_id)
        if stream.status != "live" or stream.router is None:
            raise FailedPrecondition(f"stream {stream_id!r} is not live ({stream.status})")
        caps = dict(stream.router.rtp_capabilities)
        if not as_json:
            return pb.RouterCapabilities(rtp_capabilities=dict_to_struct(caps))
        cached = self._caps_json.get(stream.router.id)
        if cached is None:
            if len(self._caps_json) >= 1024:  # routers of stopped streams: forget them all
                self._caps_json.clear()
            cached = self._caps_json[stream.router.id] = json.dumps(caps)
        return pb.RouterCapabilities(rtp_capabilities_json=cached)

    async def snapshot(self, stream_id: str, width: int) -> pb.Snapshot:
        """The latest key frame as JPEG (snapshots.py); FailedPrecondition when not live."""
        stream = self.streams.get(stream_id)
        producer_id = stream.producer_id
        if stream.status != "live" or stream.router is None or not producer_id:
            raise FailedPrecondition(f"stream {stream_id!r} is not live ({stream.status})")
        picture, jpeg, cached = await self.snapshots.get(
            stream.id, stream.router, producer_id, width
        )
        out_width, out_height = (picture.width, picture.height)
        if width and width != picture.width:
            out_width = width
            out_height = max(2, round(picture.height * width / picture.width / 2) * 2)
        return pb.Snapshot(
            jpeg=jpeg,
            width=out_width,
            height=out_height,
            source_width=picture.width,
            source_height=picture.height,
            key_frame_at_ms=picture.at_ms,
            cached=cached,
        )

    def stream_info(self, stream: Stream) -> pb.StreamInfo:
        info = pb.StreamInfo(
            stream_id=stream.id,
            status=STATUS_TO_PB[stream.status],
            status_reason=stream.reason,
            producer_id=stream.producer_id,
            codec=CODEC_TO_PB.get(stream.spec.codec, pb.CODEC_UNSPECIFIED),
            source=stream.source,
            consumer_count=sum(
                1 for s in self.viewers.by_consumer.values() if s.stream_id == stream.id
            ),
            worker_pid=stream.slot.pid if stream.slot is not None else 0,
            node_id=self.settings.node_id,
        )
        if stream.ingest is not None:
            stats = stream.ingest.stats()
            info.ingest.CopyFrom(
                pb.IngestStats(
                    packets=stats.packets,
                    bytes=stats.bytes,
                    bitrate_bps=stats.bitrate_bps,
                    restarts=stats.restarts,
                    last_packet_age_ms=stats.last_packet_age_ms,
                    process_pid=stats.process_pid or 0,
                )
            )
            endpoint = stream.ingest.rtp_endpoint
            if endpoint is not None:
                info.rtp_endpoint.CopyFrom(
                    pb.RtpEndpoint(
                        ip=endpoint.ip,
                        port=endpoint.port,
                        payload_type=endpoint.payload_type,
                        ssrc=endpoint.ssrc,
                        codec=CODEC_TO_PB.get(stream.spec.codec, pb.CODEC_UNSPECIFIED),
                        srtp_crypto_suite=endpoint.srtp_crypto_suite,
                        srtp_key_base64=endpoint.srtp_key_base64,
                    )
                )
            video = stream.ingest.video
            if video is not None:
                info.video.CopyFrom(
                    pb.VideoInfo(codec=video.codec, width=video.width, height=video.height)
                )
            audio = stream.ingest.audio
            audio_producer = stream.audio_producer
            if audio is not None and audio_producer is not None:
                info.audio.CopyFrom(pb.AudioInfo(codec=audio.codec))
                info.audio_producer_id = audio_producer.id
        return info

    # -- viewers -------------------------------------------------------------------------

    async def consume(
        self,
        stream_id: str,
        client_id: str,
        rtp_capabilities: dict[str, Any],
        dtls_parameters: dict[str, Any] | None,
        paused: bool,
        audio: bool = True,
        as_json: bool = False,
    ) -> pb.ConsumeResponse:
        """`as_json`: the answer's parameters in the *_json fields instead of Structs."""
        if self.draining:
            raise Unavailable("draining")
        stream = self.relays.edge_stream(stream_id) or self.streams.get(stream_id)
        placement = await self.fanout.place(stream)
        try:
            session, connected = await self.viewers.consume(
                stream,
                client_id,
                rtp_capabilities,
                dtls_parameters,
                paused,
                router=placement.router if placement is not None else None,
                audio=audio,
            )
        except BaseException:
            if placement is not None:
                self.fanout.release(placement)
            raise
        if placement is not None:
            if session.closed_reason == pb.CLOSE_REASON_UNSPECIFIED:
                self.fanout.attach(placement, session.consumer.id)
            else:  # closed while being created: already reported, nothing to count
                self.fanout.release(placement)
        if stream.id in self.streams.streams:  # a relayed stream's status is its origin's
            self._publish_stream(stream)
        transport = session.transport
        if as_json:
            response = pb.ConsumeResponse(
                transport=pb.TransportInfo(
                    id=transport.id,
                    ice_parameters_json=json.dumps(dict(transport.ice_parameters)),
                    ice_candidates_json=json.dumps([dict(c) for c in transport.ice_candidates]),
                    dtls_parameters_json=json.dumps(
                        {
                            "role": transport.dtls_parameters["role"],
                            "fingerprints": [
                                dict(f) for f in transport.dtls_parameters["fingerprints"]
                            ],
                        }
                    ),
                ),
                consumer=session.info(as_json=True),
                connected=connected,
            )
            if session.audio is not None:
                response.audio.CopyFrom(session.info(session.audio, as_json=True))
            return response
        response = pb.ConsumeResponse(
            transport=pb.TransportInfo(
                id=transport.id,
                ice_parameters=dict_to_struct(dict(transport.ice_parameters)),
                ice_candidates=[dict_to_struct(dict(c)) for c in transport.ice_candidates],
                dtls_parameters=dict_to_struct(
                    {
                        "role": transport.dtls_parameters["role"],
                        "fingerprints": [
                            dict(f) for f in transport.dtls_parameters["fingerprints"]
                        ],
                    }
                ),
            ),
            consumer=session.info(),
            connected=connected,
        )
        if session.audio is not None:
            response.audio.CopyFrom(session.info(session.audio))
        return response

    async def close_consumer(self, consumer_id: str) -> None:
        """The video consumer: its transport and audio consumer go too; the audio
        consumer: it alone."""
        session = self.viewers.session(consumer_id)
        if session.consumer.id != consumer_id:
            await self.viewers.close_audio(session, pb.CLOSE_REASON_REQUESTED)
            return
        await self.viewers.close_session(session, pb.CLOSE_REASON_REQUESTED)

    async def close_transport(self, transport_id: str) -> None:
        session = self.viewers.transport_session(transport_id)
        await self.viewers.close_session(session, pb.CLOSE_REASON_REQUESTED)

    async def consumer_info(self, consumer_id: str) -> pb.ConsumerInfo:
        session = self.viewers.session(consumer_id)
        info = session.info(session.consumer_by_id(consumer_id))
        info.stats.CopyFrom(await self.viewers.stats(consumer_id))
        return info

    # -- wiring of lifecycles ----------------------------------------------------------

    def _stream_status(self, stream: Stream) -> None:
        # Viewers of a stream whose router went away were closed with it by the driver;
        # the viewer manager reports each of them.
        self._publish_stream(stream)

    def _publish_stream(self, stream: Stream) -> None:
        self.bus.publish(stream_status=pb.StreamStatusChanged(stream=self.stream_info(stream)))

    def _viewers_of(self, stream_id: str) -> int:
        return sum(1 for s in self.viewers.by_consumer.values() if s.stream_id == stream_id)

    def _relay_closed(self, relay_id: str, stream_id: str, role: int, reason: str) -> None:
        self.bus.publish(
            relay_closed=pb.RelayClosed(
                relay_id=relay_id, stream_id=stream_id, role=role, reason=reason
            )
        )

    def _viewer_closed(self, session: Session) -> None:
        self.fanout.viewer_left(session.consumer.id)
        self.relays.viewer_left(session.stream_id)
        self.bus.publish(
            consumer_closed=pb.ConsumerClosed(
                consumer_id=session.consumer.id,
                transport_id=session.transport.id,
                stream_id=session.stream_id,
                client_id=session.client_id,
                reason=session.closed_reason,
            )
        )
        stream = self.streams.streams.get(session.stream_id)
        if stream is not None:
            self._publish_stream(stream)
        if self.draining and not self.viewers.by_consumer:
            self.drained.set()

    def _audio_closed(self, session: Session, consumer_id: str, reason: int) -> None:
        self.bus.publish(
            consumer_closed=pb.ConsumerClosed(
                consumer_id=consumer_id,
                transport_id=session.transport.id,
                stream_id=session.stream_id,
                client_id=session.client_id,
                reason=reason,
            )
        )

    def _route_lost(self, consumer_ids: list[str], reason: str) -> None:
        """A piped route lost its origin (worker death, producer gone): its viewers are
        closed like the origin's own, with the same reason."""
        code = (
            pb.CLOSE_REASON_WORKER_DIED
            if reason == "worker closed"
            else pb.CLOSE_REASON_STREAM_STOPPED
        )
        for consumer_id in consumer_ids:
            session = self.viewers.by_consumer.get(consumer_id)
            if session is None:
                continue
            if session.closed_reason == pb.CLOSE_REASON_UNSPECIFIED:
                session.closed_reason = code  # before the router's own close reaches it
            task = asyncio.ensure_future(self.viewers.close_session(session, code))
            task.add_done_callback(lambda _t: None)

    def _transport_state(self, session: Session) -> None:
        self.bus.publish(
            transport_state=pb.TransportStateChanged(
                transport_id=session.transport.id,
                stream_id=session.stream_id,
                client_id=session.client_id,
                ice_state=session.transport.ice_state,
                dtls_state=session.transport.dtls_state,
            )
        )

    def _worker_died(self, slot: WorkerSlot, pid: int, exit_info: WorkerExit) -> None:
        stream_ids = self.streams.worker_died(slot)
        self.bus.publish(
            worker_died=pb.WorkerDied(
                pid=pid,
                exit_code=exit_info.code if exit_info.code is not None else -1,
                signal=exit_info.signal or 0,
                stream_ids=stream_ids,
            )
        )

    def _worker_restarted(self, slot: WorkerSlot, old_pid: int) -> None:
        self.bus.publish(worker_restarted=pb.WorkerRestarted(old_pid=old_pid, pid=slot.pid))

    # -- load, drain, dump ---------------------------------------------------------------

    def _load_snapshot(self) -> pb.Load:
        sessions = list(self.viewers.by_consumer.values())
        load = pb.Load(
            node_id=self.settings.node_id,
            draining=self.draining,
            streams=sum(1 for s in self.streams.streams.values() if s.status != "stopped"),
            transports=len(sessions),
            consumers=len(sessions),
            producers=sum(1 for s in self.streams.streams.values() if s.producer_id),
            updated_at_ms=int(time.time() * 1000),
        )
        incoming = outgoing = 0
        for stream in self.streams.streams.values():
            if stream.ingest is None:
                continue
            bitrate = stream.ingest.stats().bitrate_bps
            incoming += bitrate
            connected = sum(
                1
                for s in sessions
                if s.stream_id == stream.id and s.transport.dtls_state == "connected"
            )
            outgoing += bitrate * connected
        load.incoming_bitrate_bps = incoming
        load.outgoing_bitrate_bps = outgoing
        for slot in self.pool.slots:
            streams = [s for s in self.streams.streams.values() if s.slot is slot]
            piped = self.fanout.piped_routers_on(slot)
            viewers = sum(1 for s in sessions if self.fanout.slot_of(s.consumer.id) is slot)
            load.workers.append(
                pb.WorkerLoad(
                    pid=slot.pid,
                    cpu_percent=self.load.cpu_percent(slot.pid),
                    routers=len(streams) + len(piped),
                    transports=viewers + len(streams) + len(piped),
                    producers=sum(1 for s in streams if s.producer_id) + len(piped),
                    consumers=viewers,
                    viewers=viewers,
                    piped_routers=len(piped),
                )
            )
        return load

    def start_drain(self, deadline_s: float) -> pb.DrainResponse:
        if not self.draining:
            self.draining = True
            deadline = deadline_s or self.settings.drain_deadline_s
            self.drain_deadline_ms = int((time.time() + deadline) * 1000)
            self.bus.publish(draining=pb.NodeDraining(deadline_ms=self.drain_deadline_ms))
            if not self.viewers.by_consumer:
                self.drained.set()
            self._drain_task = asyncio.ensure_future(self._drain(deadline))
            _log.info(
                "draining: %d viewers, deadline in %.0f s", len(self.viewers.by_consumer), deadline
            )
        return pb.DrainResponse(
            draining=True,
            consumers_remaining=len(self.viewers.by_consumer),
            deadline_ms=self.drain_deadline_ms,
        )

    async def _drain(self, deadline_s: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.drained.wait(), deadline_s)
        if self.viewers.by_consumer:
            await self.viewers.close_all(pb.CLOSE_REASON_DRAIN_DEADLINE)
        self.drained.set()

    async def dump(self) -> pb.NodeDump:
        dump = pb.NodeDump(node_id=self.settings.node_id, draining=self.draining)
        for slot in self.pool.slots:
            info = pb.WorkerDumpInfo(pid=slot.pid)
            worker = slot.worker
            info.router_ids.extend(
                s.router.id
                for s in self.streams.streams.values()
                if s.slot is slot and s.router is not None
            )
            piped = self.fanout.piped_routers_on(slot)
            info.router_ids.extend(r.router.id for r in piped)
            info.router_ids.extend(self.relays.relay_router_ids(slot))
            info.piped_router_ids.extend(r.router.id for r in piped)
            info.viewers = sum(
                1 for c in self.viewers.by_consumer if self.fanout.slot_of(c) is slot
            )
            if worker is not None and not worker.closed:
                worker_dump = await worker.dump()
                info.worker_router_ids.extend(worker_dump.router_ids)
                for router in worker.routers.values():
                    router_dump = await router.dump()
                    info.worker_transports += len(router_dump.transport_ids)
                    info.worker_consumers += len(router_dump.map_consumer_id_producer_id)
                    info.worker_producers += len(router_dump.map_producer_id_consumer_ids)
            dump.workers.append(info)
        dump.streams.extend(self.stream_info(s) for s in self.streams.streams.values())
        for session in self.viewers.by_consumer.values():
            dump.transports.append(
                pb.TransportDump(
                    id=session.transport.id,
                    stream_id=session.stream_id,
                    client_id=session.client_id,
                    consumer_ids=[session.consumer.id],
                    ice_state=session.transport.ice_state,
                    dtls_state=session.transport.dtls_state,
                    worker_pid=getattr(self.fanout.slot_of(session.consumer.id), "pid", 0),
                )
            )
            dump.consumers.append(session.info())
        return dump
