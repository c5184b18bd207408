// Baseline of bench/consume_latency.py: a minimal Node.js HTTP server of the REST V2
// consume contract on mediasoup's official Node library, driving the same worker binary
// (MEDIASOUP_WORKER_BIN) as VAS-MS.
//
// What it does, as VAS-MS does it:
// - one router with the media node's codecs, one live test-pattern stream: a PlainTransport
//   (rtcp-mux off, comedia off, connected to the ports the bench's GStreamer pipeline
//   sends from) and its VP8 producer; the bench starts the same gst-launch pipeline the
//   media node's ingest runs, so the worker forwards the same live media;
// - `Authorization: Bearer <JWT>`: HS256 signature, `exp` and `typ` checked (401 otherwise);
// - bodies over 64 KiB answer 413, malformed ones 422;
// - POST /api/v2/streams/{id}/consume {client_id, rtp_capabilities, dtls_parameters?, paused?}:
//   404 unknown stream, 422 capabilities that cannot consume, else a WebRtcTransport
//   (UDP + TCP, UDP preferred, as the node offers) + consumer, connected at once when
//   dtls_parameters are given; 201 with the V2 response shape;
// - DELETE /api/v2/consumers/{id}: 404 unknown or another user's, else closes the
//   transport (and so the consumer), 204.
//
// What it leaves out (what VAS-MS does on top, and pays for): no database (consumers live
// in a Map, lost on restart; the user is not looked up, so a disabled user keeps access
// until the token expires), no roles, no media node process and no gRPC hop (the lib and
// the worker are in this process), no events, reconciliation, placement, failover or
// metrics, no validation of the capabilities' shape beyond what mediasoup itself checks,
// no logging per request, one stream only.
//
// Usage: node consume_server.js <mediasoup node/lib> <config.json>; prints one JSON line
// {http_port, rtp_port, stream_id} once it listens, and runs until stdin closes or SIGTERM.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');

const mediasoup = require(process.argv[2]);
const config = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
const MAX_BODY = 64 * 1024;
const secret = Buffer.from(config.jwtSecret, 'utf8');

function b64url(buffer) {
	return buffer.toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}

// The token's subject, or null unless it is an HS256 access token signed with our secret and live.
function verify(header) {
	if (!header || !header.startsWith('Bearer ')) return null;
	const parts = header.slice(7).trim().split('.');
	if (parts.length !== 3) return null;
	const expected = Buffer.from(b64url(crypto.createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest()));
	const given = Buffer.from(parts[2]);
	if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return null;
	try {
		const head = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
		const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
		if (head.alg !== 'HS256' || claims.typ !== 'access' || typeof claims.sub !== 'string') return null;
		if (typeof claims.exp !== 'number' || claims.exp * 1000 < Date.now()) return null;
		return claims.sub;
	} catch {
		return null;
	}
}

function send(res, status, body) {
	if (body === undefined) {
		res.writeHead(status, { 'content-length': '0' });
		res.end();
		return;
	}
	const data = JSON.stringify(body);
	res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
	res.end(data);
}

function error(res, status, code, detail) {
	send(res, status, { detail, code });
}

async function main() {
	const worker = await mediasoup.createWorker({
		logLevel: 'warn',
		rtcMinPort: config.rtcMinPort,
		rtcMaxPort: config.rtcMaxPort,
	});
	const router = await worker.createRouter({ mediaCodecs: config.mediaCodecs });
	const plain = await router.createPlainTransport({
		listenInfo: { protocol: 'udp', ip: config.listenIp },
		rtcpMux: false,
		comedia: false,
	});
	await plain.connect({ ip: config.listenIp, port: config.rtpPorts[0], rtcpPort: config.rtpPorts[1] });
	const producer = await plain.produce({ kind: 'video', rtpParameters: config.producerRtpParameters });
	const streamId = config.streamId;
	const listenInfos = [{ protocol: 'udp', ip: config.listenIp }];
	if (config.enableTcp) listenInfos.push({ protocol: 'tcp', ip: config.listenIp });
	const consumers = new Map(); // consumer id -> {owner, transport}

	async function consume(res, owner, body) {
		if (typeof body.client_id !== 'string' || !body.client_id || typeof body.rtp_capabilities !== 'object' || body.rtp_capabilities === null) {
			return error(res, 422, 'invalid_request', 'client_id and rtp_capabilities are required');
		}
		let capable;
		try {
			capable = router.canConsume({ producerId: producer.id, rtpCapabilities: body.rtp_capabilities });
		} catch (e) {
			return error(res, 422, 'invalid_request', String(e.message || e));
		}
		if (!capable) return error(res, 422, 'cannot_consume', 'rtp_capabilities cannot consume the producer');
		const transport = await router.createWebRtcTransport({ listenInfos, preferUdp: true });
		try {
			const consumer = await transport.consume({
				producerId: producer.id,
				rtpCapabilities: body.rtp_capabilities,
				paused: Boolean(body.paused),
			});
			let connected = false;
			if (body.dtls_parameters) {
				await transport.connect({ dtlsParameters: body.dtls_parameters });
				connected = true;
			}
			consumers.set(consumer.id, { owner, transport });
			transport.observer.once('close', () => consumers.delete(consumer.id));
			send(res, 201, {
				consumer_id: consumer.id,
				producer_id: producer.id,
				stream_id: streamId,
				kind: consumer.kind,
				rtp_parameters: consumer.rtpParameters,
				transport: {
					id: transport.id,
					ice_parameters: transport.iceParameters,
					ice_candidates: transport.iceCandidates,
					dtls_parameters: transport.dtlsParameters,
				},
				connected,
				paused: consumer.paused,
			});
		} catch (e) {
			transport.close();
			error(res, 422, 'cannot_consume', String(e.message || e));
		}
	}

	function route(req, res, owner, raw) {
		const path = req.url.split('?')[0];
		const consumeMatch = /^\/api\/v2\/streams\/([^/]+)\/consume$/.exec(path);
		if (req.method === 'POST' && consumeMatch) {
			if (consumeMatch[1] !== streamId) return error(res, 404, 'not_found', `stream ${consumeMatch[1]} not found`);
			let body;
			try {
				body = JSON.parse(raw);
			} catch {
				return error(res, 422, 'invalid_request', 'malformed body');
			}
			if (typeof body !== 'object' || body === null) return error(res, 422, 'invalid_request', 'malformed body');
			return consume(res, owner, body).catch((e) => error(res, 503, 'node_error', String(e)));
		}
		const consumerMatch = /^\/api\/v2\/consumers\/([^/]+)$/.exec(path);
		if (req.method === 'DELETE' && consumerMatch) {
			const entry = consumers.get(consumerMatch[1]);
			if (!entry || entry.owner !== owner) return error(res, 404, 'not_found', `consumer ${consumerMatch[1]} not found`);
			consumers.delete(consumerMatch[1]);
			entry.transport.close();
			return send(res, 204);
		}
		return error(res, 404, 'not_found', 'not found');
	}

	const server = http.createServer((req, res) => {
		const owner = verify(req.headers.authorization);
		if (owner === null) {
			req.resume();
			res.setHeader('www-authenticate', 'Bearer');
			return error(res, 401, 'unauthorized', 'not authenticated');
		}
		const declared = Number(req.headers['content-length'] || 0);
		if (declared > MAX_BODY) {
			req.resume();
			return error(res, 413, 'payload_too_large', `request body exceeds ${MAX_BODY} bytes`);
		}
		const chunks = [];
		let size = 0;
		let refused = false;
		req.on('data', (chunk) => {
			size += chunk.length;
			if (size > MAX_BODY && !refused) {
				refused = true;
				error(res, 413, 'payload_too_large', `request body exceeds ${MAX_BODY} bytes`);
			}
			if (!refused) chunks.push(chunk);
		});
		req.on('end', () => {
			if (!refused) route(req, res, owner, Buffer.concat(chunks).toString('utf8'));
		});
	});
	server.keepAliveTimeout = 60_000;
	server.listen(0, '127.0.0.1', () => {
		console.log(JSON.stringify({ http_port: server.address().port, rtp_port: plain.tuple.localPort, stream_id: streamId }));
	});

	const stop = () => {
		server.close();
		worker.close();
		process.exit(0);
	};
	process.on('SIGTERM', stop);
	process.on('SIGINT', stop);
	process.stdin.on('end', stop); // the bench died: do not outlive it
	process.stdin.resume();
}

main().catch((e) => {
	console.error(e);
	process.exit(1);
});
