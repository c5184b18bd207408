"""The SDP offer a mediasoup recv transport stands for, built from a consume answer.

mediasoup speaks no SDP; a browser's mediasoup-client turns the transport and
consumer parameters into a remote offer for its RTCPeerConnection. The load
receivers (pion) take SDP too, so this does the same for one consumer: ICE-lite,
the server's fingerprint, `a=setup:actpass` (the receiver answers `active`, i.e.
DTLS client — the role sent in `consume`), one sendonly m-section with the
consumer's codec, feedback, header extensions and SSRC.
"""

from __future__ import annotations

from typing import Any


def _fmtp(parameters: dict[str, Any]) -> str:
    return ";".join(f"{key}={value}" for key, value in parameters.items())


def mediasoup_offer(transport: dict[str, Any], consumers: list[dict[str, Any]]) -> str:
    """`transport` and each consumer as in POST /api/v2/streams/{id}/consume's answer."""
    ice, dtls = transport["ice_parameters"], transport["dtls_parameters"]
    fingerprint = next(
        (f for f in dtls["fingerprints"] if f["algorithm"] == "sha-256"), dtls["fingerprints"][0]
    )
    lines = [
        "v=0",
        "o=- 10000 1 IN IP4 0.0.0.0",
        "s=-",
        "t=0 0",
        "a=ice-lite",
        f"a=fingerprint:{fingerprint['algorithm']} {fingerprint['value'].upper()}",
        "a=msid-semantic: WMS *",
        "a=group:BUNDLE " + " ".join(str(i) for i in range(len(consumers))),
    ]
    for mid, consumer in enumerate(consumers):
        rtp = consumer["rtp_parameters"]
        codecs = rtp["codecs"]
        lines += [
            f"m={consumer['kind']} 7 UDP/TLS/RTP/SAVPF "
            + " ".join(str(c["payloadType"]) for c in codecs),
            "c=IN IP4 127.0.0.1",
            f"a=ice-ufrag:{ice['usernameFragment']}",
            f"a=ice-pwd:{ice['password']}",
        ]
        for c in transport["ice_candidates"]:
            if c.get("protocol", "udp") != "udp":
                continue
            address = c.get("address") or c.get("ip")
            foundation, priority, port = c["foundation"], c["priority"], c["port"]
            lines.append(f"a=candidate:{foundation} 1 udp {priority} {address} {port} typ host")
        lines += ["a=end-of-candidates", "a=setup:actpass", f"a=mid:{mid}", "a=sendonly"]
        lines += ["a=rtcp-mux", "a=rtcp-rsize"]
        for ext in rtp.get("headerExtensions", []):
            lines.append(f"a=extmap:{ext['id']} {ext['uri']}")
        for c in codecs:
            name = c["mimeType"].split("/", 1)[1]
            channels = f"/{c['channels']}" if c.get("channels", 1) > 1 else ""
            lines.append(f"a=rtpmap:{c['payloadType']} {name}/{c['clockRate']}{channels}")
            for fb in c.get("rtcpFeedback", []):
                lines.append(
                    f"a=rtcp-fb:{c['payloadType']} {fb['type']}"
                    + (f" {fb['parameter']}" if fb.get("parameter") else "")
                )
            if c.get("parameters"):
                lines.append(f"a=fmtp:{c['payloadType']} {_fmtp(c['parameters'])}")
        cname = rtp.get("rtcp", {}).get("cname", "vasms")
        track = consumer.get("consumer_id", f"track{mid}")
        for encoding in rtp.get("encodings", []):
            lines.append(f"a=ssrc:{encoding['ssrc']} cname:{cname}")
            lines.append(f"a=ssrc:{encoding['ssrc']} msid:vasms {track}")
        lines.append(f"a=msid:vasms {track}")
    return "\r\n".join(lines) + "\r\n"
