// Node baseline for bench/driver_vs_node.py: the official mediasoup library
// driving the same worker binary (MEDIASOUP_WORKER_BIN) through the same
// operation: create WebRtcTransport + consume an existing producer + close.
// Usage: node driver_ops.js <mediasoup node/lib> <config.json>; prints one JSON line.
'use strict';

const fs = require('node:fs');
const mediasoup = require(process.argv[2]);
const config = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));

async function main() {
	const worker = await mediasoup.createWorker({ logLevel: 'warn' });
	const router = await worker.createRouter({ mediaCodecs: config.mediaCodecs });
	const plain = await router.createPlainTransport({
		listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
		comedia: true,
	});
	const producer = await plain.produce({ kind: 'video', rtpParameters: config.producerRtpParameters });
	const listenInfos = [{ protocol: 'udp', ip: '127.0.0.1' }];

	async function op() {
		const transport = await router.createWebRtcTransport({ listenInfos });
		await transport.consume({ producerId: producer.id, rtpCapabilities: config.viewerRtpCapabilities });
		transport.close();
	}

	async function run(total, lanes) {
		const perLane = Math.floor(total / lanes);
		const start = process.hrtime.bigint();
		await Promise.all(
			Array.from({ length: lanes }, async () => {
				for (let i = 0; i < perLane; i++) await op();
			})
		);
		// transport.close() is fire-and-forget in Node: wait until the worker is done.
		await worker.dump();
		return (perLane * lanes) / (Number(process.hrtime.bigint() - start) / 1e9);
	}

	await run(100, 1); // warm-up
	const sequential = await run(config.operations, 1);
	const concurrent = await run(config.operations, config.concurrency);
	const usage = await worker.getResourceUsage();
	console.log(JSON.stringify({ sequential_ops: sequential, concurrent_ops: concurrent, worker_cpu_ms: usage.ru_utime + usage.ru_stime }));
	worker.close();
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
