"""The aiortc candidate of the load receiver, measured against pion (see README.md).

Same JSON-lines protocol as recv/main.go, so bench/load/candidates.py can run the
same fleet on either. aiortc's RTCPeerConnection supplies ICE, DTLS, SRTP, receiver
reports and NACK; its decoder thread is stopped as soon as the track arrives, so
what remains per packet is aiortc's transport and RTP receiver (statistics, NACK
generator, jitter buffer). Two things reach into aiortc's private names, which is
why this stays a measured candidate and not the tool: the shared pre-made DTLS
certificate (aiortc's public API cannot take one) and stopping the decoder.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.rtcdtlstransport import RTCCertificate


class Receiver:
    def __init__(self, rid: str, pc: RTCPeerConnection) -> None:
        self.id, self.pc = rid, pc
        self.created = time.monotonic()
        self.connected_after = 0.0
        self.packets = self.bytes = 0
        self.base = self.max_ext = -1
        self.cycles = 0
        self.last = 0

    def count(self, seq: int, size: int) -> None:
        self.packets += 1
        self.bytes += size
        if self.base < 0:
            self.base = self.max_ext = seq
            self.last = seq
            return
        if seq < 0x4000 and self.last > 0xC000:
            self.cycles += 1 << 16
        ext = self.cycles + seq
        if ext > self.max_ext:
            self.max_ext, self.last = ext, seq

    def stats(self) -> dict[str, Any]:
        expected = self.max_ext - self.base + 1 if self.base >= 0 else 0
        return {
            "id": self.id,
            "state": self.pc.connectionState,
            "packets": self.packets,
            "bytes": self.bytes,
            "expected": expected,
            "lost": expected - self.packets,
            "connected_after_s": self.connected_after,
        }


def emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def add(receivers: dict[str, Receiver], cert: RTCCertificate, rid: str, offer: str) -> None:
    pc = RTCPeerConnection()
    pc._RTCPeerConnection__certificates = [cert]  # type: ignore[attr-defined]
    receiver = Receiver(rid, pc)

    @pc.on("connectionstatechange")
    def _state() -> None:
        if pc.connectionState == "connected" and not receiver.connected_after:
            receiver.connected_after = time.monotonic() - receiver.created

    @pc.on("track")
    def _track(track: Any) -> None:
        for transceiver in pc.getTransceivers():
            rtp_receiver = transceiver.receiver
            if getattr(rtp_receiver, "_counted", False):
                continue
            rtp_receiver._counted = True
            original = rtp_receiver._handle_rtp_packet

            async def counted(packet: Any, arrival_time_ms: int, original: Any = original) -> None:
                receiver.count(packet.sequence_number, len(packet.payload) + 12)
                await original(packet, arrival_time_ms)

            rtp_receiver._handle_rtp_packet = counted
            rtp_receiver._RTCRtpReceiver__stop_decoder()  # no decoding

    await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
    answer = await pc.createAnswer()
    answer = RTCSessionDescription(
        answer.sdp.replace("a=setup:passive", "a=setup:active"), "answer"
    )
    await pc.setLocalDescription(answer)
    receivers[rid] = receiver
    emit({"ev": "answer", "id": rid, "sdp": pc.localDescription.sdp})


async def main() -> None:
    cert = RTCCertificate.generateCertificate()
    fp = cert.getFingerprints()[0]
    emit({"ev": "ready", "fingerprint": f"{fp.algorithm} {fp.value.upper()}"})
    receivers: dict[str, Receiver] = {}
    tasks: set[asyncio.Task[None]] = set()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        command = json.loads(line)
        op = command["op"]
        if op == "add":
            task = asyncio.ensure_future(add(receivers, cert, command["id"], command["offer"]))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        elif op == "stats":
            emit({"ev": "stats", "viewers": [r.stats() for r in receivers.values()]})
        elif op == "remove":
            receiver = receivers.pop(command["id"], None)
            if receiver is not None:
                await receiver.pc.close()
            emit({"ev": "removed", "id": command["id"]})
        elif op == "quit":
            break
    for receiver in receivers.values():
        await receiver.pc.close()


if __name__ == "__main__":
    asyncio.run(main())
