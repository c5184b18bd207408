// Node baseline for bench/worker_channel.py: the official mediasoup library
// (same tarball, same worker binary via MEDIASOUP_WORKER_BIN) doing the same
// WORKER_DUMP round trips. Prints one JSON line.
// Usage: node worker_dump.js <path to mediasoup node/lib> <requests> <concurrency>
'use strict';

const mediasoup = require(process.argv[2]);
const total = Number(process.argv[3]);
const concurrency = Number(process.argv[4]);

function percentile(sorted, p) {
	return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main() {
	const worker = await mediasoup.createWorker({ logLevel: 'warn' });
	for (let i = 0; i < 500; i++) await worker.dump(); // warm-up

	const latencies = [];
	let start = process.hrtime.bigint();
	for (let i = 0; i < total; i++) {
		const t0 = process.hrtime.bigint();
		await worker.dump();
		latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
	}
	const sequentialSeconds = Number(process.hrtime.bigint() - start) / 1e9;

	const perLane = Math.floor(total / concurrency);
	start = process.hrtime.bigint();
	await Promise.all(
		Array.from({ length: concurrency }, async () => {
			for (let i = 0; i < perLane; i++) await worker.dump();
		})
	);
	const concurrentSeconds = Number(process.hrtime.bigint() - start) / 1e9;

	latencies.sort((a, b) => a - b);
	console.log(
		JSON.stringify({
			sequential_rps: total / sequentialSeconds,
			concurrent_rps: (perLane * concurrency) / concurrentSeconds,
			p50_ms: percentile(latencies, 50),
			p99_ms: percentile(latencies, 99),
		})
	);
	worker.close();
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
