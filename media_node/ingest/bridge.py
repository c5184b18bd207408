"""The fast-start bridge of a passthrough camera: a second, cheap H.264 encoding of it.

Runs inside the ingest child process (``runner.py``, system Python with python3-gi);
like the runner it imports nothing from the project.

Why. A passthrough camera's bitstream goes to viewers untouched, so a new viewer
can only start at the camera's next key frame (up to a whole GOP: ~10 s with a
10 s GOP), and cameras ignore key-frame requests. The bridge is a second encoding
of the same picture that *does* answer them. The producer is simulcast: encoding 0
is the bridge, encoding 1 the camera's own bitstream. A joining viewer starts on
the bridge (a key frame of *now* within one frame time of its PLI) and is raised
to the camera's encoding at once; mediasoup switches it there at the camera's next
natural key frame, aligning the two by the capture time in their RTCP sender
reports. Viewers already on the camera's encoding never see the bridge.

How, and what it costs. The decoder is warm: it decodes every camera frame (the
bulk of the bridge's cost, ~75 % of it idle), because a picture of *now* needs every
frame since the last key frame. Scaling and encoding run only while someone is
bridging. Otherwise decoded frames are dropped before the scaler except one every
``KEEPALIVE_S``: the worker marks a stream that sends nothing for 1.5 s inactive and
would then put a joining viewer straight onto the camera's encoding (to wait a GOP).
The bridge becomes *active* on a key-frame request arriving at its encoder (rtpbin
turns the worker's PLI into a force-key-unit event), and a probe watches the
camera's frames (only then) for the first camera key frame at least ``HOLD_S`` after
the last request: by then every viewer that asked has been switched to the camera's
encoding, and the bridge is *idle* again.

Picture: the camera's picture at half its height (aspect kept, even sides), x264
``ultrafast``/``zerolatency``, constrained baseline (what the router's H.264 codec
``42e01f`` announces; every encoding of a producer shares its codec and payload
type). Timestamps: the decoder keeps the camera's PTS, so both encodings carry the
same RTP timestamp for the same picture (same ``timestamp_offset``).
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, Protocol

KEEPALIVE_S = 0.5
"""Idle bridge: one frame this often keeps the encoding alive in the worker, whose
``RtpStreamRecv`` marks a simulcast stream inactive (score 0) after 1.5 s without a
packet carrying payload. One frame per 1 s was tried: on a loaded machine (the
ingest niced, load ~10) a late decoded frame made layer 0 inactive now and then, and
a viewer joining then started on the camera's encoding (to wait for its key frame)."""
HOLD_S = 1.0
"""The bridge stays active until a camera key frame at least this long after the last
key-frame request (a viewer raised to the camera's encoding switches at that frame)."""
BRIDGE_KBPS = 800
DECODE_QUEUE_S = 2
RESEND_AFTER_S = 0.7
"""Idle and no bridge packet for this long (the decoder starved on a loaded machine):
the last keep-alive packet is sent again, so that the worker never sees 1.5 s of
silence on layer 0 (a duplicate sequence number; it restarts the worker's inactivity
timer and nobody decodes it: idle, no viewer is on layer 0, and a joining one waits
for a key frame)."""
"""Coded frames queued for the decoder at most; the camera's branch never waits."""


class Pipeline(Protocol):
    """What the bridge needs of the runner."""

    Gst: Any
    GLib: Any

    def make(self, factory: str, **properties: Any) -> Any: ...
    def set_enum(self, element: Any, name: str, nick: str) -> None: ...
    def caps(self, text: str) -> Any: ...
    def link(self, *elements: Any) -> None: ...


def bridge_size(width: int, height: int) -> tuple[int, int]:
    """Half the camera's height, aspect kept, both sides even."""
    half = max(2, 2 * round(height / 4))
    return max(2, 2 * round(width * half / height / 2)), half


class Bridge:
    """The bridge branch: tee -> queue -> avdec_h264 -> [gate] -> videoscale -> x264enc
    -> the bridge payloader (rtpbin session 1)."""

    def __init__(self, pipeline: Pipeline, payloader: Any, emit: Any) -> None:
        self.p = pipeline
        self.Gst = pipeline.Gst
        self.payloader = payloader
        self.emit = emit
        self.active = False
        self.requested_at = 0.0
        self.last_passed_pts: int | None = None
        self.built = False
        self.activations = 0
        self.tee_pad: Any = None
        self.send: Any = None
        """Sends one datagram from the stream's RTP socket (``resend_with``)."""
        self.last_packet: bytes | None = None
        """The last single-NAL non-IDR packet of the bridge (a keep-alive frame)."""
        self.last_packet_at = time.monotonic()
        self.lock = threading.Lock()
        """Guards ``active`` against the RTCP and camera threads."""
        gst = self.Gst
        # Looked up once: these run in the probes, per frame.
        self.ok = gst.PadProbeReturn.OK
        self.drop = gst.PadProbeReturn.DROP
        self.no_time = gst.CLOCK_TIME_NONE
        self.keepalive_ns = round(KEEPALIVE_S * gst.SECOND)

    def resend_with(self, send: Any) -> None:
        """``send(bytes)`` puts a datagram on the wire to the worker (the runner's socket)."""
        self.send = send

    def build(self, tee: Any, width: int, height: int) -> None:
        """Adds the branch to ``tee`` (called once the camera's size is known, from the
        streaming thread; the elements join the running pipeline)."""
        if self.built:
            return
        self.built = True
        gst = self.Gst
        bw, bh = bridge_size(width, height)
        queue = self.p.make(
            "queue",
            max_size_buffers=0,
            max_size_bytes=0,
            max_size_time=DECODE_QUEUE_S * gst.SECOND,
        )
        self.p.set_enum(queue, "leaky", "downstream")
        # No corrupt pictures: before the first camera key frame nothing is decoded.
        # One thread: the least CPU per frame (frame threads add a frame of delay too).
        # No direct rendering: libav then decodes into its own frames and copies each
        # out once; with it, every output frame, still referenced by libav, was copied
        # again to be made writable (measured: ~0.3-0.5 % of a core less for 720p25).
        decode = self.p.make(
            "avdec_h264", output_corrupt=False, max_threads=1, direct_rendering=False
        )
        scale = self.p.make("videoscale")
        size = self.p.make(
            "capsfilter",
            caps=self.p.caps(
                f"video/x-raw,format=I420,width={bw},height={bh},pixel-aspect-ratio=1/1"
            ),
        )
        enc = self.p.make(
            "x264enc", bitrate=BRIDGE_KBPS, key_int_max=3000, threads=1, b_adapt=False
        )
        self.p.set_enum(enc, "tune", "zerolatency")
        self.p.set_enum(enc, "speed-preset", "ultrafast")
        profile = self.p.make(
            "capsfilter", caps=self.p.caps("video/x-h264,profile=constrained-baseline")
        )
        self.p.link(queue, decode, scale, size, enc, profile, self.payloader)
        decode.get_static_pad("src").add_probe(gst.PadProbeType.BUFFER, self.gate)
        enc.get_static_pad("src").add_probe(gst.PadProbeType.EVENT_UPSTREAM, self.on_request)
        self.tee_pad = tee.get_static_pad("sink")
        self.payloader.get_static_pad("src").add_probe(gst.PadProbeType.BUFFER, self.on_packet)
        if self.send is not None:
            self.p.GLib.timeout_add(round(RESEND_AFTER_S * 1000 / 3), self.guard_silence)
        for element in (queue, decode, scale, size, enc, profile):
            element.sync_state_with_parent()
        branch = tee.request_pad_simple("src_%u")
        if branch.link(queue.get_static_pad("sink")) != gst.PadLinkReturn.OK:
            raise RuntimeError("cannot link the camera's stream to the bridge")
        self.emit("bridge", state="idle", width=bw, height=bh)

    # -- main loop --------------------------------------------------------------------------

    def guard_silence(self) -> bool:
        """Idle and silent for ``RESEND_AFTER_S``: the last keep-alive packet again."""
        packet = self.last_packet
        now = time.monotonic()
        if not self.active and packet is not None and now - self.last_packet_at >= RESEND_AFTER_S:
            self.last_packet_at = now
            try:
                self.send(packet)
            except self.p.GLib.Error as error:
                print(f"bridge keep-alive resend failed: {error.message}", file=sys.stderr)
        return True  # the timer keeps running

    # -- probes (streaming threads) -------------------------------------------------------

    def on_packet(self, _pad: Any, info: Any) -> Any:
        """Every bridge RTP packet: when it was sent; kept for ``guard_silence`` only if it
        is the newest packet and a single-NAL non-IDR slice (an idle keep-alive frame), so
        that a re-send is always a duplicate of the worker's highest sequence number (an
        older one would look like a sequence jump, and two like a restarted stream)."""
        self.last_packet_at = time.monotonic()
        kept = None
        if not self.active:
            buffer = info.get_buffer()
            ok, mapped = buffer.map(self.Gst.MapFlags.READ)
            if ok:
                data = bytes(mapped.data)
                buffer.unmap(mapped)
                # RTP header: 12 bytes + 4 per CSRC (no extension: ours have none).
                start = 12 + 4 * (data[0] & 0x0F) if data else 0
                if not data[0] & 0x10 and len(data) > start and data[start] & 0x1F == 1:
                    kept = data
        self.last_packet = kept
        return self.ok

    def on_request(self, _pad: Any, info: Any) -> Any:
        """A key-frame request reached the encoder: someone is joining. The camera's
        frames are watched from now on, until the bridging ends."""
        event = info.get_event()
        structure = event.get_structure() if event is not None else None
        if structure is not None and structure.get_name() == "GstForceKeyUnit":
            with self.lock:
                self.requested_at = time.monotonic()
                if self.active:
                    return self.ok
                self.active = True
                self.activations += 1
                activations = self.activations
                self.tee_pad.add_probe(self.Gst.PadProbeType.BUFFER, self.on_camera_frame)
            self.emit("bridge", state="active", activations=activations)
        return self.ok

    def gate(self, _pad: Any, info: Any) -> Any:
        """Decoded frames go on to the scaler and encoder while active; when idle, one
        every ``KEEPALIVE_S`` (of the camera's time)."""
        if self.active:
            return self.ok
        pts = info.get_buffer().pts
        if pts == self.no_time:
            return self.drop
        last = self.last_passed_pts
        if last is None or pts < last or pts - last >= self.keepalive_ns:
            self.last_passed_pts = pts
            return self.ok
        return self.drop

    def on_camera_frame(self, _pad: Any, info: Any) -> Any:
        """A camera key frame ends the bridging once ``HOLD_S`` passed since the last
        request: viewers raised to the camera's encoding switch at this very frame."""
        gst = self.Gst
        if info.get_buffer().has_flags(gst.BufferFlags.DELTA_UNIT):
            return self.ok
        with self.lock:
            if not self.active or time.monotonic() - self.requested_at < HOLD_S:
                return self.ok
            self.active = False
            self.last_passed_pts = None
        self.emit("bridge", state="idle")
        return gst.PadProbeReturn.REMOVE
