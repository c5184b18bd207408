// vasms-loadrecv: many real WebRTC receivers in one process, for load tests.
//
// Each receiver is a pion PeerConnection (ICE, DTLS, SRTP, RTCP receiver
// reports and NACK through pion's default interceptors) that reads RTP and
// counts it without decoding. The process is driven by JSON lines on stdin
// and answers with JSON lines on stdout, so a Python orchestrator can attach
// receivers to any server that hands out an SDP offer (our REST API, via an
// offer built from the consume answer, or Janus's streaming plugin).
//
// Commands (one JSON object per line):
//
//	{"op":"add","id":"v1","offer":"<sdp>"}   -> {"ev":"answer","id":"v1","sdp":"<sdp>"}
//	{"op":"stats"}                           -> {"ev":"stats","viewers":[...]}
//	{"op":"remove","id":"v1"}                -> {"ev":"removed","id":"v1"}
//	{"op":"quit"}
//
// At start it prints {"ev":"ready","fingerprint":"sha-256 AA:BB:..."}: the
// DTLS certificate all its receivers use, so a client can send the
// fingerprint inside the consume request (no connect round trip).
//
// Built offline from Debian's golang-github-pion-webrtc.v3-dev in GOPATH mode
// (see bench/load/README.md); it never downloads modules.
package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v3"
)

type command struct {
	Op    string `json:"op"`
	ID    string `json:"id"`
	Offer string `json:"offer"`
}

type viewerStats struct {
	ID          string  `json:"id"`
	State       string  `json:"state"`
	Packets     uint64  `json:"packets"`
	Bytes       uint64  `json:"bytes"`
	Expected    uint64  `json:"expected"`
	Lost        int64   `json:"lost"`
	FirstPktAge float64 `json:"first_packet_age_s"`
	ConnectedS  float64 `json:"connected_after_s"`
}

// receiver counts what one PeerConnection receives. The counters are written by
// its track goroutine and read by the stats command, hence atomics.
type receiver struct {
	id        string
	pc        *webrtc.PeerConnection
	created   time.Time
	packets   atomic.Uint64
	bytes     atomic.Uint64
	expected  atomic.Uint64
	firstNano atomic.Int64
	connNano  atomic.Int64
	state     atomic.Value
}

type server struct {
	api       *webrtc.API
	cert      webrtc.Certificate
	mu        sync.Mutex
	receivers map[string]*receiver
	out       *json.Encoder
	outMu     sync.Mutex
}

func (s *server) emit(v any) {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	_ = s.out.Encode(v)
}

func (s *server) fail(id string, err error) {
	s.emit(map[string]string{"ev": "error", "id": id, "error": err.Error()})
}

// newAPI builds the shared pion API; allowed lists the networks local ICE candidates may
// come from (loopback by default; a bench adds the host side of a veth pair when the
// server under test sits in a network namespace).
func newAPI(allowed []*net.IPNet) (*webrtc.API, error) {
	// Video codecs the servers send, with NACK/PLI/FIR feedback and no RTX: a server
	// then retransmits on the media SSRC (mediasoup and Janus both do), so repaired
	// packets are counted like any other and loss is what no retransmission fixed.
	media := &webrtc.MediaEngine{}
	feedback := []webrtc.RTCPFeedback{{Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}}
	codecs := []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: feedback}, PayloadType: 96},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", RTCPFeedback: feedback}, PayloadType: 102},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f", RTCPFeedback: feedback}, PayloadType: 104},
	}
	for _, codec := range codecs {
		if err := media.RegisterCodec(codec, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, err
		}
	}
	registry := &interceptor.Registry{}
	// NACK generator/responder and RTCP sender/receiver reports; no TWCC (the
	// offers carry no transport-wide-cc extension).
	if err := webrtc.ConfigureNack(media, registry); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureRTCPReports(registry); err != nil {
		return nil, err
	}
	settings := webrtc.SettingEngine{}
	settings.SetIncludeLoopbackCandidate(true)
	settings.SetIPFilter(func(ip net.IP) bool {
		for _, network := range allowed {
			if network.Contains(ip) {
				return true
			}
		}
		return false
	})
	settings.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	settings.SetICEMulticastDNSMode(0) // ice.MulticastDNSModeDisabled
	// DTLS client, as the fingerprint sent in consume says (pion would answer an
	// ICE-lite offer as DTLS server, and mediasoup is the server).
	if err := settings.SetAnsweringDTLSRole(webrtc.DTLSRoleClient); err != nil {
		return nil, err
	}
	return webrtc.NewAPI(
		webrtc.WithMediaEngine(media),
		webrtc.WithInterceptorRegistry(registry),
		webrtc.WithSettingEngine(settings),
	), nil
}

func (s *server) add(id, offer string) {
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{Certificates: []webrtc.Certificate{s.cert}})
	if err != nil {
		s.fail(id, err)
		return
	}
	r := &receiver{id: id, pc: pc, created: time.Now()}
	r.state.Store("new")
	pc.OnConnectionStateChange(func(state webrtc.PeerConnectionState) {
		r.state.Store(state.String())
		if state == webrtc.PeerConnectionStateConnected {
			r.connNano.CompareAndSwap(0, time.Now().UnixNano())
		}
	})
	pc.OnTrack(func(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		go r.read(track)
	})
	if err = pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		_ = pc.Close()
		s.fail(id, err)
		return
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		_ = pc.Close()
		s.fail(id, err)
		return
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err = pc.SetLocalDescription(answer); err != nil {
		_ = pc.Close()
		s.fail(id, err)
		return
	}
	<-gathered
	s.mu.Lock()
	s.receivers[id] = r
	s.mu.Unlock()
	s.emit(map[string]string{"ev": "answer", "id": id, "sdp": pc.LocalDescription().SDP})
}

// read drains a track: RTP is counted (packets, bytes, the extended sequence
// range for loss as RFC 3550 defines it), never decoded. Read runs the
// interceptors, so NACKs and receiver reports go out as in a real client.
func (r *receiver) read(track *webrtc.TrackRemote) {
	var baseSeq, maxExt int64 = -1, 0
	var cycles int64
	var lastSeq uint16
	buf := make([]byte, 1500)
	for {
		// Read (not ReadRTP): the interceptors still see every packet, but no
		// rtp.Packet is allocated here; the sequence number is all we need.
		n, _, err := track.Read(buf)
		if err != nil {
			return
		}
		if n < 12 {
			continue
		}
		r.packets.Add(1)
		r.bytes.Add(uint64(n))
		r.firstNano.CompareAndSwap(0, time.Now().UnixNano())
		seq := binary.BigEndian.Uint16(buf[2:4])
		if baseSeq < 0 {
			baseSeq, lastSeq = int64(seq), seq
			maxExt = int64(seq)
		} else {
			if seq < 0x4000 && lastSeq > 0xC000 {
				cycles += 1 << 16
			}
			if ext := cycles + int64(seq); ext > maxExt {
				maxExt = ext
				lastSeq = seq
			}
		}
		r.expected.Store(uint64(maxExt - baseSeq + 1))
	}
}

func (s *server) stats() {
	s.mu.Lock()
	list := make([]viewerStats, 0, len(s.receivers))
	now := time.Now()
	for _, r := range s.receivers {
		v := viewerStats{
			ID:       r.id,
			State:    r.state.Load().(string),
			Packets:  r.packets.Load(),
			Bytes:    r.bytes.Load(),
			Expected: r.expected.Load(),
		}
		v.Lost = int64(v.Expected) - int64(v.Packets)
		if first := r.firstNano.Load(); first != 0 {
			v.FirstPktAge = now.Sub(time.Unix(0, first)).Seconds()
		}
		if conn := r.connNano.Load(); conn != 0 {
			v.ConnectedS = time.Unix(0, conn).Sub(r.created).Seconds()
		}
		list = append(list, v)
	}
	s.mu.Unlock()
	s.emit(map[string]any{"ev": "stats", "viewers": list})
}

func (s *server) remove(id string) {
	s.mu.Lock()
	r := s.receivers[id]
	delete(s.receivers, id)
	s.mu.Unlock()
	if r != nil {
		_ = r.pc.Close()
	}
	s.emit(map[string]string{"ev": "removed", "id": id})
}

func main() {
	// Receivers allocate little but often; a lazier GC trades memory for CPU, which is
	// what a load generator sharing cores with the server under test should do.
	debug.SetGCPercent(400)
	allow := flag.String("allow", "127.0.0.0/8", "comma-separated networks for local ICE candidates")
	flag.Parse()
	var allowed []*net.IPNet
	for _, cidr := range strings.Split(*allow, ",") {
		_, network, err := net.ParseCIDR(strings.TrimSpace(cidr))
		if err != nil {
			fmt.Fprintln(os.Stderr, "-allow:", err)
			os.Exit(2)
		}
		allowed = append(allowed, network)
	}
	api, err := newAPI(allowed)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cert, err := webrtc.GenerateCertificate(key)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fingerprints, err := cert.GetFingerprints()
	if err != nil || len(fingerprints) == 0 {
		fmt.Fprintln(os.Stderr, "no fingerprint", err)
		os.Exit(1)
	}
	s := &server{
		api: api, cert: *cert, receivers: map[string]*receiver{}, out: json.NewEncoder(os.Stdout),
	}
	s.emit(map[string]string{
		"ev":          "ready",
		"fingerprint": fingerprints[0].Algorithm + " " + strings.ToUpper(fingerprints[0].Value),
	})
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	for in.Scan() {
		var cmd command
		if err := json.Unmarshal(in.Bytes(), &cmd); err != nil {
			s.fail("", err)
			continue
		}
		switch cmd.Op {
		case "add":
			go s.add(cmd.ID, cmd.Offer)
		case "stats":
			s.stats()
		case "remove":
			go s.remove(cmd.ID)
		case "quit":
			s.mu.Lock()
			for _, r := range s.receivers {
				_ = r.pc.Close()
			}
			s.mu.Unlock()
			return
		}
	}
	// stdin closed: the orchestrator is gone; close everything and exit.
	s.mu.Lock()
	for _, r := range s.receivers {
		_ = r.pc.Close()
	}
	s.mu.Unlock()
}
