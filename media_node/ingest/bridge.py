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
bridging. Otherwise a closed ``valve`` drops the decoded frames in C before the
scaler, and a main-loop timer opens it for one frame every ``KEEPALIVE_S``: the
worker marks a stream that sends nothing for 1.5 s inactive and would then put a
joining viewer straight onto the camera's encoding (to wait a GOP). No Python runs
per frame while idle. The bridge becomes *active* on a key-frame request arriving at
its encoder (rtpbin turns the worker's PLI into a force-key-unit event): the valve
opens and a probe watches the camera's frames, until the first camera key frame at
least ``HOLD_S`` after the last request: by then every viewer that asked has been
switched to the camera's encoding, and the bridge is *idle* again.

Picture: the camera's picture at half its height (aspect kept, even sides), x264
``ultrafast``/``zerolatency``, constrained baseline (what the router's H.264 codec
``42e01f`` announces; every encoding of a producer shares its codec and payload
type). Timestamps: the decoder keeps the camera's PTS, so both encodings carry the
same RTP timestamp for the same picture (same ``timestamp_offset``).
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol

KEEPALIVE_S = 1.0
"""Idle bridge: one frame this often keeps the encoding alive in the worker, whose
``RtpStreamRecv`` marks a simulcast stream inactive (score 0) after 1.5 s without a
packet carrying payload; one small P-frame (one packet) per second is the least that
keeps layer 0 choosable, with 0.5 s to spare for a late frame."""
HOLD_S = 1.0
"""The bridge stays active until a camera key frame at least this long after the last
key-frame request (a viewer raised to the camera's encoding switches at that frame)."""
BRIDGE_KBPS = 800
DECODE_QUEUE_S = 2
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
    """The bridge branch: tee -> queue -> avdec_h264 -> valve -> videoscale -> x264enc
    -> the bridge payloader (rtpbin session 1).

    Nothing of Python runs per frame while idle: the valve (closed) drops decoded frames
    in C, a main-loop timer opens it for one frame every ``KEEPALIVE_S``, and the camera's
    key frames are watched only while active. Python runs on a key-frame request, once
    per keep-alive, and per camera frame only while someone is bridging."""

    def __init__(self, pipeline: Pipeline, payloader: Any, emit: Any) -> None:
        self.p = pipeline
        self.Gst = pipeline.Gst
        self.payloader = payloader
        self.emit = emit
        self.active = False
        self.requested_at = 0.0
        self.built = False
        self.activations = 0
        self.valve: Any = None
        self.tee_pad: Any = None
        self.camera_probe = 0
        """The camera-frame probe's id while active (0: none)."""
        self.lock = threading.Lock()
        """Guards ``active`` and the valve against the RTCP, camera and decoder threads."""

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
        # Closed while idle: decoded frames end here, in C, before any scaling.
        self.valve = self.p.make("valve", drop=True)
        scale = self.p.make("videoscale")
        size = self.p.make(
            "capsfilter",
            caps=self.p.caps(
                f"video/x-raw,format=I420,width={bw},height={bh},pixel-aspect-ratio=1/1"
            ),
        )
        enc = self.p.make(
            "x264enc",
            bitrate=BRIDGE_KBPS,
            key_int_max=3000,
            threads=1,
            b_adapt=False,
        )
        self.p.set_enum(enc, "tune", "zerolatency")
        self.p.set_enum(enc, "speed-preset", "ultrafast")
        profile = self.p.make(
            "capsfilter", caps=self.p.caps("video/x-h264,profile=constrained-baseline")
        )
        self.p.link(queue, decode, self.valve, scale, size, enc, profile, self.payloader)
        enc.get_static_pad("src").add_probe(gst.PadProbeType.EVENT_UPSTREAM, self.on_request)
        self.tee_pad = tee.get_static_pad("sink")
        for element in (queue, decode, self.valve, scale, size, enc, profile):
            element.sync_state_with_parent()
        branch = tee.request_pad_simple("src_%u")
        if branch.link(queue.get_static_pad("sink")) != gst.PadLinkReturn.OK:
            raise RuntimeError("cannot link the camera's stream to the bridge")
        self.p.GLib.timeout_add(round(KEEPALIVE_S * 1000), self.keep_alive)
        self.emit("bridge", state="idle", width=bw, height=bh)

    # -- main loop --------------------------------------------------------------------------

    def keep_alive(self) -> bool:
        """Idle: lets the next decoded frame through the valve (closed again behind it)."""
        with self.lock:
            if not self.active:
                self.valve.set_property("drop", False)
                self.valve.get_static_pad("src").add_probe(
                    self.Gst.PadProbeType.BUFFER, self.close_behind
                )
        return True  # the timer keeps running

    # -- probes (streaming threads) -------------------------------------------------------

    def close_behind(self, _pad: Any, _info: Any) -> Any:
        """One keep-alive frame passed: the valve closes again (unless someone joined)."""
        with self.lock:
            if not self.active:
                self.valve.set_property("drop", True)
        return self.Gst.PadProbeReturn.REMOVE

    def on_request(self, _pad: Any, info: Any) -> Any:
        """A key-frame request reached the encoder: someone is joining."""
        event = info.get_event()
        structure = event.get_structure() if event is not None else None
        if structure is not None and structure.get_name() == "GstForceKeyUnit":
            with self.lock:
                self.requested_at = time.monotonic()
                if self.active:
                    return self.Gst.PadProbeReturn.OK
                self.active = True
                self.activations += 1
                activations = self.activations
                self.valve.set_property("drop", False)
                self.camera_probe = self.tee_pad.add_probe(
                    self.Gst.PadProbeType.BUFFER, self.on_camera_frame
                )
            self.emit("bridge", state="active", activations=activations)
        return self.Gst.PadProbeReturn.OK

    def on_camera_frame(self, _pad: Any, info: Any) -> Any:
        """A camera key frame ends the bridging once ``HOLD_S`` passed since the last
        request: viewers raised to the camera's encoding switch at this very frame."""
        gst = self.Gst
        if info.get_buffer().has_flags(gst.BufferFlags.DELTA_UNIT):
            return gst.PadProbeReturn.OK
        with self.lock:
            if not self.active or time.monotonic() - self.requested_at < HOLD_S:
                return gst.PadProbeReturn.OK
            self.active = False
            self.camera_probe = 0
            self.valve.set_property("drop", True)
        self.emit("bridge", state="idle")
        return gst.PadProbeReturn.REMOVE
