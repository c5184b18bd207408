"""The ingest child process: builds one GStreamer pipeline in code and runs it.

Run by the *system* Python (``/usr/bin/python3``, which has python3-gi; the
project's virtualenv has no ``gi``) as ``python3 runner.py``. It imports nothing
from the project: the node hands it everything on its stdin.

**Nothing can be injected.** No pipeline description is ever parsed: every element
is made with ``Gst.ElementFactory.make`` from a factory name written in this file,
every value is set with ``set_property`` (the camera URL is one string property of
``rtspsrc``, whatever characters it holds), and elements are linked by code. Caps
are formatted here from integers only. The element graph therefore depends on the
source kind, the transcode mode and what the camera sends, never on a value.

**Nothing can be orphaned.** The process asks the kernel to SIGKILL it when its
parent dies (``PR_SET_PDEATHSIG``), and also watches its stdin, a pipe whose
other end only the node holds: EOF means the node is gone, and the process exits
at once. Either alone ends it within milliseconds of a SIGKILLed node.

Protocol. stdin: one JSON line (the configuration, see ``media_node.ingest.pipelines``),
then nothing until EOF. stdout: one JSON object per line, ``{"event": ...}``:
``elements`` (the pipeline's element factories: ``stage`` ``built`` once the part
known in advance is built, ``video`` once the part chosen by the camera is), ``camera``
(what an RTSP camera sends and what is done with it), ``video`` (codec and size
the viewers receive), ``camera_audio`` (what a camera's audio stream is), ``audio``
(the audio codec viewers receive: ``opus``, ``pcma`` or ``pcmu``, sent once its
branch is linked), ``unused_stream`` (a camera stream not ingested, e.g. its
audio when audio is off, drained into a fakesink), ``error`` (``element``,
``message``, ``debug``, and a human ``reason`` when the runner knows better than
GStreamer), ``eos``. Logs go to stderr.

With ``GST_DEBUG_DUMP_DOT_DIR`` set, the pipeline is written there as
``vasms-ingest-<pid>-built.dot`` and, once video is negotiated,
``vasms-ingest-<pid>-video.dot`` (GStreamer's own graph dump: what really runs).
"""

from __future__ import annotations

import base64
import ctypes
import itertools
import json
import os
import signal
import sys
import threading
from typing import Any

PR_SET_PDEATHSIG = 1

CAMERA_CODECS = {"H264": "h264", "H265": "h265", "JPEG": "mjpeg", "MP4V-ES": "mpeg4"}
HUMAN_CODECS = {
    "h264": "H.264",
    "h265": "H.265",
    "mjpeg": "MJPEG",
    "mpeg4": "MPEG-4 Part 2",
    "vp8": "VP8",
}
H264_FORWARDABLE_PROFILES = {66: "baseline", 77: "main", 100: "high"}
"""profile_idc values whose bitstream every viewer decodes as it is (checked with
aiortc and Chromium); others (High 10, 4:2:2, 4:4:4, extended) are transcoded."""


G711_PTIME_NS = 20_000_000
"""Packet duration of the G.711 audio the node sends (WebRTC's usual 20 ms)."""

_EMIT_LOCK = threading.Lock()


def emit(event: str, **fields: Any) -> None:
    """One JSON line on stdout. Called from GStreamer's streaming threads too (pad-added
    handlers), so each line is written whole under a lock."""
    line = json.dumps({"event": event, **fields}) + "\n"
    with _EMIT_LOCK:
        sys.stdout.write(line)
        sys.stdout.flush()


def die_with_parent(parent_pid: int) -> None:
    """SIGKILL when the parent dies; exit now if it already did (the race before prctl)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        print(f"prctl failed: errno {ctypes.get_errno()}", file=sys.stderr)
    if parent_pid and os.getppid() != parent_pid:
        os._exit(0)


def h264_profile_idc(structure: Any) -> int | None:
    """profile_idc of an RTP H.264 stream, from its SDP (profile-level-id, else the SPS)."""
    level_id = structure.get_string("profile-level-id")
    if level_id and len(level_id) >= 2:
        try:
            return int(level_id[:2], 16)
        except ValueError:
            pass
    sprops = structure.get_string("sprop-parameter-sets")
    if sprops:
        try:
            sps = base64.b64decode(sprops.split(",")[0] + "==")
        except ValueError:
            return None
        if len(sps) > 1 and sps[0] & 0x1F == 7:
            return sps[1]
    return None


def scaled_size(width: int, height: int, max_height: int) -> tuple[int, int]:
    """The camera's size, scaled down (aspect kept) to at most ``max_height``; each side
    rounded to the nearest even number (4:2:0 video)."""
    scale = min(1.0, max_height / height)
    return max(2, 2 * round(width * scale / 2)), max(2, 2 * round(height * scale / 2))


def bitrate_for(width: int, height: int, base_kbps: int) -> int:
    """``base_kbps`` is meant for 640x360; bigger pictures get more, sub-linearly."""
    return max(300, round(base_kbps * ((width * height) / (640 * 360)) ** 0.75))


class Runner:
    """One pipeline: the source part, our encoder or passthrough, and the RTP output."""

    def __init__(self, config: dict[str, Any], gst: Any, glib: Any) -> None:
        self.Gst = gst
        self.GLib = glib
        self.config = config
        self.source: dict[str, Any] = config["source"]
        self.output: dict[str, Any] = config["output"]
        self.rtp: dict[str, Any] = config["rtp"]
        self.pipeline = gst.Pipeline.new("ingest")
        self.loop = glib.MainLoop()
        self.exit_code = 0
        self.video_linked = False
        self.payloader: Any = None
        self.bridge: Any = None
        """Passthrough with fast start: the bridge encoding (``bridge.Bridge``)."""
        self.tee: Any = None
        self.audio: dict[str, Any] | None = config.get("audio")
        """``{ssrc, payload_types, tone}`` when the source's audio is wanted, else None."""
        self.audio_linked = False
        self.funnel: Any = None
        """Where the audio payloader joins the video's RTP in front of the one udpsink."""

    # -- building blocks --------------------------------------------------------------

    def make(self, factory: str, **properties: Any) -> Any:
        """An element of ``factory`` (a name from this file), added to the pipeline.
        Property names use underscores for dashes; values are set as they are."""
        element = self.Gst.ElementFactory.make(factory, None)
        if element is None:
            raise RuntimeError(f"GStreamer element {factory!r} is not installed")
        for name, value in properties.items():
            element.set_property(name.rstrip("_").replace("_", "-"), value)
        self.pipeline.add(element)
        return element

    def set_enum(self, element: Any, name: str, nick: str) -> None:
        """Enum and flags properties by their nick (constants of this file only)."""
        self.Gst.util_set_object_arg(element, name, nick)

    def caps(self, text: str) -> Any:
        return self.Gst.Caps.from_string(text)

    def link(self, *elements: Any) -> None:
        for upstream, downstream in itertools.pairwise(elements):
            if not upstream.link(downstream):
                raise RuntimeError(
                    f"cannot link {upstream.get_factory().get_name()} to "
                    f"{downstream.get_factory().get_name()}"
                )

    def factories(self) -> list[str]:
        names = []
        iterator = self.pipeline.iterate_elements()
        while True:
            result, element = iterator.next()
            if result != self.Gst.IteratorResult.OK:
                break
            names.append(element.get_factory().get_name())
        return sorted(names)

    def dump(self, stage: str) -> None:
        """Reports the pipeline's elements (``elements`` event) and writes GStreamer's
        graph of it when GST_DEBUG_DUMP_DOT_DIR is set."""
        emit("elements", stage=stage, elements=self.factories())
        self.Gst.debug_bin_to_dot_file(
            self.pipeline, self.Gst.DebugGraphDetails.ALL, f"vasms-ingest-{os.getpid()}-{stage}"
        )

    # -- the RTP output ---------------------------------------------------------------

    def build_output(self) -> None:
        """Payloader -> rtpbin -> udpsink (from P1), udpsrc (P2) -> rtpbin's RTCP input.
        The worker's PLI arrives on P2 and rtpbin sends a force-key-unit event upstream
        to whatever encoder there is."""
        rtp = self.rtp
        rtpbin = self.make("rtpbin")
        self.set_enum(rtpbin, "rtp-profile", "avpf")
        codec = self.output["codec"]
        common = {
            "mtu": int(rtp["mtu"]),
            "ssrc": int(rtp["ssrc"]),
            "pt": int(rtp["payload_type"]),
            "seqnum_offset": int(rtp["seqnum_offset"]),
            "timestamp_offset": int(rtp["timestamp_offset"]),
        }
        if codec == "vp8":
            pay = self.make("rtpvp8pay", picture_id_offset=int(rtp["picture_id_offset"]), **common)
            self.set_enum(pay, "picture-id-mode", "15-bit")
        else:
            # config-interval -1: SPS/PPS before every IDR, so any key frame decodes alone.
            pay = self.make("rtph264pay", config_interval=-1, **common)
            self.set_enum(pay, "aggregate-mode", "zero-latency")
        self.payloader = pay
        if not pay.link_pads("src", rtpbin, "send_rtp_sink_0"):
            raise RuntimeError("cannot link the payloader to rtpbin")
        if rtp.get("bridge_ssrc"):
            self.build_muxed_output(rtpbin, common)
            return
        sink = self.make(
            "udpsink",
            host=str(rtp["transport_ip"]),
            port=int(rtp["transport_port"]),
            bind_address=str(rtp["local_ip"]),
            bind_port=int(rtp["rtp_source_port"]),
            sync=False,
            async_=False,
        )
        rtcp = self.make(
            "udpsrc",
            address=str(rtp["local_ip"]),
            port=int(rtp["rtcp_port"]),
            caps=self.caps("application/x-rtcp"),
        )
        if self.audio is not None:
            # Audio leaves from P1 too (the transport's only accepted source): the two
            # RTP streams meet in a funnel in front of the one udpsink.
            self.funnel = self.make("funnel")
            if not rtpbin.link_pads("send_rtp_src_0", self.funnel, "sink_%u"):
                raise RuntimeError("cannot link rtpbin to the funnel")
            self.link(self.funnel, sink)
        elif not rtpbin.link_pads("send_rtp_src_0", sink, "sink"):
            raise RuntimeError("cannot link rtpbin to udpsink")
        if not rtcp.link_pads("src", rtpbin, "recv_rtcp_sink_0"):
            raise RuntimeError("cannot link udpsrc to rtpbin")

    def build_muxed_output(self, rtpbin: Any, common: dict[str, Any]) -> None:
        """Fast start: two RTP sessions (0: the camera's encoding, 1: the bridge) and
        the RTCP of both through ONE socket, bound to P1, for a transport with rtcp-mux.
        The worker aligns simulcast layers by the capture time in each encoding's
        sender reports, and accepts RTCP only from the address RTP comes from; its
        RTCP (PLI) comes back to that socket and goes to both sessions (rtpbin turns a
        PLI for the bridge's SSRC into a key-frame request to the bridge's encoder)."""
        from gi.repository import Gio

        rtp = self.rtp
        bridge_pay = self.make(
            "rtph264pay",
            config_interval=-1,
            **{
                **common,
                "ssrc": int(rtp["bridge_ssrc"]),
                "seqnum_offset": int(rtp["bridge_seqnum_offset"]),
            },
        )
        self.set_enum(bridge_pay, "aggregate-mode", "zero-latency")
        if not bridge_pay.link_pads("src", rtpbin, "send_rtp_sink_1"):
            raise RuntimeError("cannot link the bridge payloader to rtpbin")
        # bridge.py lies next to this file (the script's directory is on sys.path); only
        # a fast-start pipeline needs it.
        from bridge import Bridge

        self.bridge = Bridge(self, bridge_pay, emit)
        sock = Gio.Socket.new(
            Gio.SocketFamily.IPV6 if ":" in str(rtp["local_ip"]) else Gio.SocketFamily.IPV4,
            Gio.SocketType.DATAGRAM,
            Gio.SocketProtocol.UDP,
        )
        try:
            sock.bind(
                Gio.InetSocketAddress.new_from_string(
                    str(rtp["local_ip"]), int(rtp["rtp_source_port"])
                ),
                False,
            )
        except self.GLib.Error as error:
            raise RuntimeError(f"cannot bind the RTP socket: {error.message}") from error
        funnel = self.funnel = self.make("funnel")  # the audio payloader joins it too
        sink = self.make(
            "udpsink",
            host=str(rtp["transport_ip"]),
            port=int(rtp["transport_port"]),
            socket=sock,
            close_socket=False,
            sync=False,
            async_=False,
        )
        rtcp = self.make(
            "udpsrc", socket=sock, close_socket=False, caps=self.caps("application/x-rtcp")
        )
        rtcp_tee = self.make("tee")
        self.link(rtcp, rtcp_tee)
        self.link(funnel, sink)
        for session in (0, 1):
            for kind in ("rtp", "rtcp"):
                if not rtpbin.link_pads(f"send_{kind}_src_{session}", funnel, "sink_%u"):
                    raise RuntimeError(f"cannot link rtpbin's {kind} to the funnel")
            if not rtcp_tee.link_pads("src_%u", rtpbin, f"recv_rtcp_sink_{session}"):
                raise RuntimeError("cannot link the RTCP input to rtpbin")
        self.socket = sock
        self.bridge.resend_with(
            lambda data: sock.send_to(
                Gio.InetSocketAddress.new_from_string(
                    str(rtp["transport_ip"]), int(rtp["transport_port"])
                ),
                data,
                None,
            )
        )

    def encoder(self, width: int, height: int, fps: int) -> Any:
        """Our encoder (answers key-frame requests), linked to the payloader; returns its
        input. Realtime settings as measured: vp8enc deadline=1 cpu-used=8, x264enc
        zerolatency ultrafast constrained-baseline."""
        out = self.output
        keyframe_frames = max(1, round(float(out["keyframe_interval_s"]) * fps))
        kbps = bitrate_for(width, height, int(out["bitrate_kbps"]))
        if out["codec"] == "vp8":
            enc = self.make(
                "vp8enc",
                deadline=1,
                cpu_used=8,
                keyframe_max_dist=keyframe_frames,
                target_bitrate=kbps * 1000,
            )
            self.link(enc, self.payloader)
            return enc
        enc = self.make("x264enc", key_int_max=keyframe_frames, bitrate=kbps)
        self.set_enum(enc, "tune", "zerolatency")
        self.set_enum(enc, "speed-preset", "ultrafast")
        profile = self.make(
            "capsfilter", caps=self.caps("video/x-h264,profile=constrained-baseline")
        )
        self.link(enc, profile, self.payloader)
        return enc

    # -- sources ----------------------------------------------------------------------

    def build_test_pattern(self) -> None:
        """A moving ball with the wall clock burnt in (latency readable off a screen)."""
        src = self.source
        width, height, fps = int(src["width"]), int(src["height"]), int(src["fps"])
        test = self.make("videotestsrc", is_live=True)
        self.set_enum(test, "pattern", "ball")
        raw = self.make(
            "capsfilter",
            caps=self.caps(f"video/x-raw,width={width},height={height},framerate={fps}/1"),
        )
        clock = self.make(
            "clockoverlay",
            shaded_background=True,
            font_desc=f"Sans {max(8, height // 15)}",
            time_format="%H:%M:%S",
        )
        self.set_enum(clock, "halignment", "right")
        self.set_enum(clock, "valignment", "bottom")
        self.link(test, raw, clock, self.encoder(width, height, fps))
        emit("video", codec=self.output["codec"], width=width, height=height, fps=fps)
        self.video_linked = True
        if self.audio is not None and self.audio.get("tone"):
            tone = self.make("audiotestsrc", is_live=True, freq=440.0, volume=0.3)
            self.set_enum(tone, "wave", "sine")
            self.link(tone, self.opus_encoder())
            self.audio_linked = True
            emit("audio", codec="opus")

    # -- audio ------------------------------------------------------------------------

    def audio_payloader(self, codec: str) -> Any:
        """The audio payloader (our SSRC, the codec's payload type), linked to the funnel."""
        assert self.audio is not None
        factory = {"opus": "rtpopuspay", "pcma": "rtppcmapay", "pcmu": "rtppcmupay"}[codec]
        pay = self.make(
            factory,
            mtu=int(self.rtp["mtu"]),
            ssrc=int(self.audio["ssrc"]),
            pt=int(self.audio["payload_types"][codec]),
        )
        if codec != "opus":
            # 20 ms packets whatever the camera's packetisation (some send 128 ms): a
            # receiver's jitter buffer waits for a few packets before playing the first.
            pay.set_property("max-ptime", G711_PTIME_NS)
        self.link(pay, self.funnel)
        return pay

    def opus_encoder(self) -> Any:
        """Raw audio of any format and rate -> 48 kHz stereo Opus (WebRTC's own audio
        codec) -> payloader; returns the chain's input."""
        convert = self.make("audioconvert")
        resample = self.make("audioresample")
        raw = self.make("capsfilter", caps=self.caps("audio/x-raw,rate=48000,channels=2"))
        enc = self.make("opusenc", bitrate=64000)
        self.set_enum(enc, "audio-type", "restricted-lowdelay")
        self.link(convert, resample, raw, enc, self.audio_payloader("opus"))
        return convert

    def link_audio(self, pad: Any, structure: Any) -> None:
        """The camera's audio: G.711 at 8 kHz mono repayloaded as it is (every viewer
        decodes it), anything else decoded and encoded to Opus."""
        encoding = (structure.get_string("encoding-name") or "").upper()
        ok_rate, rate = structure.get_int("clock-rate")
        channels = structure.get_string("encoding-params") or "1"
        g711 = {"PCMA": "pcma", "PCMU": "pcmu"}.get(encoding)
        emit("camera_audio", encoding=encoding, clock_rate=rate if ok_rate else 0)
        if g711 is not None and ok_rate and rate == 8000 and channels == "1":
            depay = self.make("rtppcmadepay" if g711 == "pcma" else "rtppcmudepay")
            pay = self.audio_payloader(g711)
            self.link(depay, pay)
            for element in (depay, pay):
                element.sync_state_with_parent()
            if pad.link(depay.get_static_pad("sink")) != self.Gst.PadLinkReturn.OK:
                raise RuntimeError("cannot link the camera's audio to its depayloader")
            emit("audio", codec=g711)
        else:
            decode = self.make("decodebin")
            decode.connect("pad-added", self.on_decoded_audio)
            decode.sync_state_with_parent()
            if pad.link(decode.get_static_pad("sink")) != self.Gst.PadLinkReturn.OK:
                raise RuntimeError("cannot link the camera's audio to a decoder")
        emit("elements", stage="audio", elements=self.factories())

    def on_decoded_audio(self, _decode: Any, pad: Any) -> None:
        caps = pad.get_current_caps() or pad.query_caps(None)
        if not caps.get_structure(0).get_name().startswith("audio/"):
            return
        try:
            head = self.opus_encoder()
            for element in self.chain_from(head):
                element.sync_state_with_parent()
            if pad.link(head.get_static_pad("sink")) != self.Gst.PadLinkReturn.OK:
                raise RuntimeError("cannot link the audio decoder to audioconvert")
        except RuntimeError as error:
            self.fail(f"cannot encode the camera's audio to Opus: {error}")
            return
        emit("audio", codec="opus")
        emit("elements", stage="audio", elements=self.factories())

    def chain_from(self, element: Any) -> list[Any]:
        """``element`` and everything linked after it up to (not including) the funnel."""
        found = [element]
        pad = element.get_static_pad("src")
        while pad is not None and pad.get_peer() is not None:
            peer = pad.get_peer().get_parent_element()
            if peer is self.funnel:
                break
            found.append(peer)
            pad = peer.get_static_pad("src")
        return found

    def build_rtsp(self) -> None:
        src = self.source
        rtsp = self.make("rtspsrc", location=str(src["url"]), latency=int(src["latency_ms"]))
        self.set_enum(rtsp, "protocols", "tcp" if src["protocols"] == "tcp" else "udp")
        rtsp.connect("pad-added", self.on_rtsp_pad)

    def on_rtsp_pad(self, _rtsp: Any, pad: Any) -> None:
        caps = pad.get_current_caps() or pad.query_caps(None)
        structure = caps.get_structure(0)
        media = structure.get_string("media")
        if media == "audio" and self.audio is not None and not self.audio_linked:
            self.audio_linked = True
            try:
                self.link_audio(pad, structure)
            except RuntimeError as error:
                self.fail(f"cannot ingest the camera's audio: {error}")
            return
        if media != "video" or self.video_linked:
            # The camera's audio (not ingested yet) or a second video stream: drained
            # into a fakesink, so that no stream of the session is left unlinked.
            encoding = (structure.get_string("encoding-name") or "").upper()
            emit("unused_stream", media=structure.get_string("media"), encoding=encoding)
            sink = self.make("fakesink", sync=False, async_=False)
            sink.sync_state_with_parent()
            pad.link(sink.get_static_pad("sink"))
            emit("elements", stage="unused", elements=self.factories())
            return
        self.video_linked = True
        encoding = (structure.get_string("encoding-name") or "").upper()
        camera = CAMERA_CODECS.get(encoding, encoding.lower() or "unknown")
        mode = self.source["transcode"]
        profile = h264_profile_idc(structure) if camera == "h264" else None
        forwardable = camera == "h264" and (profile is None or profile in H264_FORWARDABLE_PROFILES)
        passthrough = forwardable and mode != "always" and self.output["codec"] == "h264"
        detail = "GStreamer: camera stream " + ", ".join(
            f"{field}={structure.get_value(field)}"
            for field in ("media", "encoding-name", "clock-rate", "profile-level-id")
            if structure.has_field(field)
        )
        emit(
            "camera",
            codec=camera,
            h264_profile=H264_FORWARDABLE_PROFILES.get(profile or 0, profile),
            action="passthrough" if passthrough else "transcode",
        )
        try:
            if passthrough:
                self.link_passthrough(pad)
            elif mode == "never":
                what = HUMAN_CODECS.get(camera, camera)
                if camera == "h264":
                    what = f"H.264 profile {profile} (not baseline, main or high)"
                self.fail(
                    f"camera sends {what}; viewers receive H.264 or VP8 — "
                    f"set transcode to auto ({detail})"
                )
            else:
                self.link_decoder(pad)
        except RuntimeError as error:
            self.fail(f"cannot play the camera's {HUMAN_CODECS.get(camera, camera)}: {error}")

    def link_passthrough(self, pad: Any) -> None:
        """Depayload and repayload only (our SSRC, payload type and MTU); h264parse hands
        the payloader whole access units. No decoder, no encoder."""
        depay = self.make("rtph264depay")
        parse = self.make("h264parse")
        if self.bridge is not None:
            # The bridge's branch joins this tee once the camera's size is known.
            self.tee = self.make("tee", allow_not_linked=True)
            self.link(depay, parse, self.tee, self.payloader)
            elements = (depay, parse, self.tee)
        else:
            self.link(depay, parse, self.payloader)
            elements = (depay, parse)
        for element in elements:
            element.sync_state_with_parent()
        parse.get_static_pad("src").connect("notify::caps", self.on_passthrough_caps)
        if pad.link(depay.get_static_pad("sink")) != self.Gst.PadLinkReturn.OK:
            raise RuntimeError("cannot link the camera's stream to rtph264depay")

    def on_passthrough_caps(self, pad: Any, _spec: Any) -> None:
        caps = pad.get_current_caps()
        if caps is None:
            return
        s = caps.get_structure(0)
        ok_w, width = s.get_int("width")
        ok_h, height = s.get_int("height")
        if ok_w and ok_h:
            ok_f, num, den = s.get_fraction("framerate")
            fps = round(num / den) if ok_f and den else 0
            emit("video", codec="h264", width=width, height=height, fps=fps)
            if self.bridge is not None and not self.bridge.built:
                try:
                    self.bridge.build(self.tee, width, height)
                except RuntimeError as error:
                    self.fail(f"cannot build the fast-start bridge: {error}")
                    return
            self.dump("video")

    def link_decoder(self, pad: Any) -> None:
        """decodebin picks the depayloader and decoder for whatever the camera sends;
        the encoder branch is built once the decoded size and rate are known."""
        decode = self.make("decodebin")
        decode.connect("pad-added", self.on_decoded_pad)
        decode.sync_state_with_parent()
        if pad.link(decode.get_static_pad("sink")) != self.Gst.PadLinkReturn.OK:
            raise RuntimeError("cannot link the camera's stream to a decoder")

    def on_decoded_pad(self, _decode: Any, pad: Any) -> None:
        caps = pad.get_current_caps() or pad.query_caps(None)
        s = caps.get_structure(0)
        if not s.get_name().startswith("video/"):
            return
        ok_w, cam_w = s.get_int("width")
        ok_h, cam_h = s.get_int("height")
        ok_f, num, den = s.get_fraction("framerate")
        fps = round(num / den) if ok_f and den and num else 25
        if not (ok_w and ok_h):
            self.fail(f"the decoder reported no picture size (GStreamer: {s.to_string()})")
            return
        width, height = scaled_size(cam_w, cam_h, int(self.source["max_height"]))
        try:
            convert = self.make("videoconvert")
            scale = self.make("videoscale", add_borders=True)
            size = self.make(
                "capsfilter",
                caps=self.caps(
                    f"video/x-raw,format=I420,width={width},height={height},pixel-aspect-ratio=1/1"
                ),
            )
            enc = self.encoder(width, height, fps)
            self.link(convert, scale, size, enc)
            for element in (convert, scale, size, enc, *self.downstream_of(enc)):
                element.sync_state_with_parent()
            if pad.link(convert.get_static_pad("sink")) != self.Gst.PadLinkReturn.OK:
                raise RuntimeError("cannot link the decoder to videoconvert")
        except RuntimeError as error:
            self.fail(f"cannot build the transcoder: {error}")
            return
        emit("video", codec=self.output["codec"], width=width, height=height, fps=fps)
        self.dump("video")

    def downstream_of(self, element: Any) -> list[Any]:
        """Elements between ``element`` and the payloader (the encoder's caps filter)."""
        found = []
        pad = element.get_static_pad("src")
        while pad is not None and pad.get_peer() is not None:
            peer = pad.get_peer().get_parent_element()
            if peer is self.payloader:
                break
            found.append(peer)
            pad = peer.get_static_pad("src")
        return found

    # -- running ----------------------------------------------------------------------

    def fail(self, reason: str, element: str = "", message: str = "", debug: str = "") -> None:
        emit("error", reason=reason, element=element, message=message, debug=debug)
        self.exit_code = 1
        self.loop.quit()

    def on_message(self, _bus: Any, message: Any) -> None:
        kind = message.type
        if kind == self.Gst.MessageType.ERROR:
            error, debug = message.parse_error()
            source = message.src.get_name() if message.src is not None else ""
            self.fail("", element=source, message=error.message, debug=debug or "")
        elif kind == self.Gst.MessageType.EOS:
            emit("eos")
            self.loop.quit()

    def on_stdin(self, _fd: int, _condition: Any) -> bool:
        """The node's end of our stdin closed (or wrote, which it never does): gone."""
        os._exit(0)

    def run(self) -> int:
        try:
            self.build_output()
            if self.source["kind"] == "test_pattern":
                self.build_test_pattern()
            else:
                self.build_rtsp()
        except RuntimeError as error:
            emit(
                "error",
                reason=f"cannot build the pipeline: {error}",
                element="",
                message=str(error),
            )
            return 1
        self.dump("built")
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message", self.on_message)
        self.GLib.io_add_watch(
            0, self.GLib.PRIORITY_HIGH, self.GLib.IO_IN | self.GLib.IO_HUP, self.on_stdin
        )
        if self.pipeline.set_state(self.Gst.State.PLAYING) == self.Gst.StateChangeReturn.FAILURE:
            # The element that failed posted why (e.g. a taken port) before the main loop
            # could deliver it.
            message = bus.pop_filtered(self.Gst.MessageType.ERROR)
            if message is not None:
                self.on_message(bus, message)
            else:
                self.fail("", element="pipeline", message="cannot start the pipeline")
        else:
            self.loop.run()
        self.pipeline.set_state(self.Gst.State.NULL)
        return self.exit_code


def main() -> int:
    die_with_parent(int(os.environ.get("VASMS_INGEST_PARENT_PID", "0")))
    line = sys.stdin.readline()
    if not line:
        return 0
    config = json.loads(line)
    import gi

    gi.require_version("Gst", "1.0")
    from gi.repository import GLib, Gst

    Gst.init(None)
    return Runner(config, Gst, GLib).run()


if __name__ == "__main__":
    sys.exit(main())
