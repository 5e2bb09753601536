// kdexd-durable.js (tests/kdexd_durable.test): every fsync of kdexd takes
// SLOW ms longer (a preloaded shim), so a batch's sync is slow enough to
// watch. With ledger-pipeline (the default):
//   - every place answer takes at least the sync's time: it was held until
//     its batch was durable (an answer sent at commit would take ~1 ms);
//   - the loop is not blocked meanwhile: /health answers well within it
//     (but for a stray stall);
//   - /metrics: the released ticket never passes the durable one, and
//     batches are seen waiting for their sync.
'use strict';
const L = require('./kdexd-lib.js');
const { ok, eq, http } = L;

const SLOW = 60;	/* ms added to each fsync and fdatasync */

function metric(text, name) {
	const m = text.match(new RegExp('^' + name + ' (\\d+)$', 'm'));
	return m ? Number(m[1]) : NaN;
}

L.main(async () => {
	const asan = (process.env.ASAN_OPTIONS || '') ?
	    process.env.ASAN_OPTIONS + ':verify_asan_link_order=0' :
	    'verify_asan_link_order=0';
	const srv = await L.startServer({ config: 'demo-maker no\n' +
	    'rate-ip 1000000\nburst-ip 1000000\n' +
	    'rate-user 1000000\nburst-user 1000000\n',
	    env: { LD_PRELOAD: process.env.KDEXD_PRELOAD,
	    KDEX_SLOW_SYNC_MS: String(SLOW), ASAN_OPTIONS: asan } });
	const A = await L.login(srv, L.newAccount());
	await L.waitFor(async () => (await http(srv, 'GET', '/balances',
	    undefined, A.auth)).json.balances.length === 2, 'demo funds', 30000);

	// One at a time: each answer waits for its own batch's sync.
	const times = [];
	for (let i = 0; i < 10; i++) {
		const t0 = process.hrtime.bigint();
		const r = await http(srv, 'POST', '/orders/place', {
		    market: 'KTA-USDC', side: 'sell', price: String(5 + i),
		    qty: '1' }, A.auth);
		times.push(Number(process.hrtime.bigint() - t0) / 1e6);
		eq(r.status, 200, 'place ' + i);
	}
	const min = Math.min(...times);
	ok(min >= SLOW * 0.9, 'every place answer waited for its sync ' +
	    '(fastest ' + min.toFixed(1) + ' ms, sync ' + SLOW + ' ms)');

	// While orders wait for a sync, the loop serves other requests, and
	// the released ticket never passes the durable one.
	let stop = false, samples = 0, held = 0, bad = 0;
	const health = [];
	const watch = (async () => {
		while (!stop) {
			const r = await http(srv, 'GET', '/metrics');
			const rel = metric(r.text, 'kdexd_released_ticket');
			const dur = metric(r.text, 'kdexd_ledger_durable_ticket');
			const last = metric(r.text, 'kdexd_ledger_ticket');
			samples++;
			if (!(rel <= dur))
				bad++;
			if (last > rel)
				held++;
			const t0 = process.hrtime.bigint();
			await http(srv, 'GET', '/health');
			health.push(Number(process.hrtime.bigint() - t0) / 1e6);
			await L.sleep(5);
		}
	})();
	const places = [];
	for (let i = 0; i < 60; i++) {
		places.push(http(srv, 'POST', '/orders/place', {
		    market: 'KTA-USDC', side: 'buy', price: '1', qty: '1' },
		    A.auth));
		await L.sleep(4);
	}
	const rs = await Promise.all(places);
	stop = true;
	await watch;
	eq(rs.filter((r) => r.status === 200).length, 60,
	    'concurrent places answered');
	ok(samples >= 10, 'metrics sampled (' + samples + ')');
	eq(bad, 0, 'released ticket never above the durable one');
	ok(held > 0, 'batches seen waiting for their sync (' + held + ' of ' +
	    samples + ' samples)');
	// Blocked by each sync (ledger-pipeline no), most /health probes
	// would wait for part of one; a stray stall (a busy machine) may not
	// fail the test.
	health.sort((a, b) => a - b);
	const slow = health.filter((t) => t >= SLOW / 2).length;
	ok(slow <= health.length / 5, 'the loop serves while syncs run (' +
	    slow + ' of ' + health.length + ' /health probes took ' + SLOW / 2 +
	    ' ms or more; median ' + health[health.length >> 1].toFixed(1) +
	    ' ms, slowest ' + health[health.length - 1].toFixed(1) + ' ms)');
	const r = await http(srv, 'GET', '/metrics');
	ok(metric(r.text, 'kdexd_batches_released_total') > 0,
	    'batches released');
	const st = await L.stopServer(srv);
	eq([st.code, st.sig], [0, null], 'SIGTERM exit status');
});
