// Node baseline for bench/router_rates.py: the official mediasoup library (same
// tarball, same worker binary via MEDIASOUP_WORKER_BIN) doing create_router + close,
// then WORKER_DUMP with N routers open. Prints one JSON line.
// Usage: node router_rates.js <path to mediasoup node/lib> <config.json>
'use strict';

const fs = require('node:fs');
const mediasoup = require(process.argv[2]);
const config = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));

function seconds(start) {
	return Number(process.hrtime.bigint() - start) / 1e9;
}

async function main() {
	const worker = await mediasoup.createWorker({ logLevel: 'warn' });
	const options = { mediaCodecs: config.mediaCodecs };

	// Microseconds of this process's CPU (user + system) since `since`.
	function cpuMicros(since) {
		const used = process.cpuUsage(since);
		return used.user + used.system;
	}

	async function createClose(count) {
		const start = process.hrtime.bigint();
		const cpu = process.cpuUsage();
		for (let i = 0; i < count; i++) {
			const router = await worker.createRouter(options);
			router.close();
		}
		// router.close() is fire-and-forget in Node: wait until the worker is done.
		await worker.dump();
		return [count / seconds(start), cpuMicros(cpu) / count];
	}

	await createClose(100); // warm-up
	const [createCloseOps, createCloseCpu] = await createClose(config.routerOps);

	const routers = [];
	for (let i = 0; i < config.routers; i++) routers.push(await worker.createRouter(options));
	const dump = await worker.dump();
	if (dump.routerIds.length !== config.routers) throw new Error(`dump has ${dump.routerIds.length} routers`);
	for (let i = 0; i < 10; i++) await worker.dump(); // warm-up
	const start = process.hrtime.bigint();
	const cpu = process.cpuUsage();
	for (let i = 0; i < config.dumps; i++) await worker.dump();
	const dumpRate = config.dumps / seconds(start);
	const dumpCpu = cpuMicros(cpu) / config.dumps;
	for (const router of routers) router.close();

	console.log(
		JSON.stringify({
			create_close_ops: createCloseOps,
			dump_rps: dumpRate,
			create_close_cpu_us: createCloseCpu,
			dump_cpu_us: dumpCpu,
		})
	);
	worker.close();
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
