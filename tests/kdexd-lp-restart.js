// kdexd-lp-restart.js: the dead-man's switch survives kdexd being killed
// (SIGKILL, no drain): a switch that lapsed while kdexd was down cancels
// the user's orders as kdexd starts, one still running is re-armed with
// its deadline and fires on time, a disarmed one stays disarmed, and a
// switch that fired is not fired again by a later restart (issue 8).
// Also the per-key rate limit: 429 with Retry-After on signed requests.
'use strict';
const crypto = require('crypto');
const L = require('./kdexd-lib.js');
const { ok, eq, http } = L;

const CONFIG = 'demo-maker no\n';

async function funded(srv, u) {
	await L.waitFor(async () => {
		const b = await http(srv, 'GET', '/balances', undefined, u.auth);
		return b.json && b.json.balances && b.json.balances.length === 2;
	}, 'demo funds');
}

async function open(srv, u) {
	const r = await http(srv, 'GET', '/orders?status=open', undefined, u.auth);
	return r.json.orders.map((o) => o.client_id).sort();
}

async function quote(srv, u, tag) {
	const o = (price, cid) => ({ market: 'KTA-USDC', side: 'buy', price,
	    qty: '1', client_id: cid });
	const r = await http(srv, 'POST', '/orders/batch-place', { orders: [
	    o('1', tag + '-1'), o('1.1', tag + '-2')] }, u.auth);
	eq(r.json.results.map((x) => x.status), [200, 200], tag + ' quotes');
}

async function arm(srv, u, s) {
	return http(srv, 'POST', '/orders/cancel-all-after', { timeout_s: s },
	    u.auth);
}

L.main(async () => {
	let srv = await L.startServer({ config: CONFIG });
	const data = srv.data;
	const A = await L.login(srv, L.newAccount());	/* lapses while down */
	const B = await L.login(srv, L.newAccount());	/* re-armed */
	const C = await L.login(srv, L.newAccount());	/* disarmed */
	const D = await L.login(srv, L.newAccount());	/* never armed */
	for (const u of [A, B, C, D]) {
		await funded(srv, u);
		await quote(srv, u, u === A ? 'a' : u === B ? 'b' : u === C ?
		    'c' : 'd');
	}
	let r = await http(srv, 'GET', '/lp/cancel-all-after', undefined,
	    D.auth);
	eq([r.status, r.json.timeout_s, r.json.cancel_at], [200, 0, null],
	    'GET: not armed');
	r = await arm(srv, A, 1);
	eq(r.status, 200, 'A armed for 1 s');
	r = await arm(srv, B, 12);
	eq(r.status, 200, 'B armed for 12 s');
	const bAt = r.json.cancel_at;
	r = await arm(srv, C, 30);
	r = await arm(srv, C, 0);
	eq([r.status, r.json.cancel_at], [200, null], 'C disarmed');
	r = await http(srv, 'GET', '/lp/cancel-all-after', undefined, B.auth);
	eq([r.json.timeout_s, r.json.cancel_at], [12, bAt], 'GET: B armed');

	// kill -9 at once: the arm was answered, so it is on disk.
	let st = await L.stopServer(srv, 'SIGKILL');
	eq(st.sig, 'SIGKILL', 'killed');
	await L.sleep(1300);		/* A's deadline passes while down */
	srv = await L.startServer({ config: CONFIG, data });
	const up = Date.now();
	await L.waitFor(async () => (await open(srv, A)).length === 0,
	    'A\'s lapsed switch to fire at start', 3000);
	ok(Date.now() - up < 1000, 'lapsed switch fired as kdexd started (' +
	    (Date.now() - up) + ' ms)');
	ok(/lapsed while stopped/.test(srv.stderr()), 'logged');
	r = await http(srv, 'GET', '/orders?status=all', undefined, A.auth);
	eq(r.json.orders.map((x) => x.status), ['cancelled', 'cancelled'],
	    'A\'s orders cancelled');
	eq(await open(srv, B), ['b-1', 'b-2'], 'B\'s orders stay');
	eq(await open(srv, C), ['c-1', 'c-2'], 'C\'s orders stay');
	eq(await open(srv, D), ['d-1', 'd-2'], 'D\'s orders stay');
	r = await http(srv, 'GET', '/lp/cancel-all-after', undefined, B.auth);
	eq([r.json.timeout_s, r.json.cancel_at], [12, bAt],
	    'B re-armed with the same deadline');
	r = await http(srv, 'GET', '/lp/cancel-all-after', undefined, C.auth);
	eq(r.json.cancel_at, null, 'C still disarmed');
	r = await http(srv, 'GET', '/lp/cancel-all-after', undefined, A.auth);
	eq(r.json.cancel_at, null, 'A\'s switch is spent');

	// B's re-armed switch fires when due, not before.
	ok(Date.now() < bAt - 300, 'B not yet due');
	eq(await open(srv, B), ['b-1', 'b-2'], 'B before its deadline');
	await L.waitFor(async () => (await open(srv, B)).length === 0,
	    'B\'s re-armed switch', bAt - Date.now() + 3000);
	ok(Date.now() >= bAt, 'fired at or after the deadline');
	ok(Date.now() < bAt + 1500, 'fired about when due');

	// Once fired, gone from disk: new orders outlive another kill -9.
	await quote(srv, A, 'a2');
	await quote(srv, B, 'b2');
	r = await arm(srv, D, 60);
	eq(r.status, 200, 'D armed');
	const dAt = r.json.cancel_at;
	st = await L.stopServer(srv, 'SIGKILL');
	srv = await L.startServer({ config: CONFIG, data });
	await L.sleep(400);
	eq(await open(srv, A), ['a2-1', 'a2-2'], 'fired switch not replayed (A)');
	eq(await open(srv, B), ['b2-1', 'b2-2'], 'fired switch not replayed (B)');
	eq(await open(srv, C), ['c-1', 'c-2'], 'C untouched');
	// A clean stop keeps the switch too; re-arming and disarming after
	// a restart work on the loaded switch.
	st = await L.stopServer(srv);
	eq([st.code, st.sig], [0, null], 'SIGTERM');
	srv = await L.startServer({ config: CONFIG, data });
	r = await http(srv, 'GET', '/lp/cancel-all-after', undefined, D.auth);
	eq(r.json.cancel_at, dAt, 'D armed after kill -9 and a clean restart');
	r = await arm(srv, D, 0);
	eq(r.json.cancel_at, null, 'D disarmed after the restart');
	st = await L.stopServer(srv, 'SIGKILL');
	srv = await L.startServer({ config: CONFIG, data });
	r = await http(srv, 'GET', '/lp/cancel-all-after', undefined, D.auth);
	eq(r.json.cancel_at, null, 'the disarm was durable too');
	eq(await open(srv, D), ['d-1', 'd-2'], 'D\'s orders stay');
	r = await arm(srv, D, 86401);
	eq(r.status, 400, 'timeout above the maximum refused');
	await L.stopServer(srv);
	ok(!/ERROR: AddressSanitizer|runtime error|LeakSanitizer/
	    .test(srv.stderr()), 'no sanitizer report');
	await testRate();
});

// Signed requests draw on the key's bucket and the user's (rate-user,
// burst-user): past the burst, 429 rate_limited with Retry-After.
async function testRate() {
	const srv = await L.startServer({ config: CONFIG +
	    'rate-user 1\nburst-user 4\n' });
	const A = await L.login(srv, L.newAccount());
	let r = await http(srv, 'POST', '/apikeys', { scope: 'read' }, A.auth);
	eq(r.status, 201, 'key made (one token of the user\'s four)');
	const key = { id: r.json.key.id, secret: r.json.secret };
	const sts = [];
	let ra = null, ts = Date.now();
	for (let i = 0; i < 6; i++) {
		ts++;
		const sig = crypto.createHmac('sha256', key.secret)
		    .update(String(ts) + 'GET' + '/balances').digest('hex');
		r = await http(srv, 'GET', '/balances', undefined, {
		    authorization: `KDEX-HMAC key=${key.id},ts=${ts},sig=${sig}` });
		sts.push(r.status);
		if (r.status === 429 && ra === null)
			ra = r.headers.get('retry-after');
	}
	ok(sts.slice(0, 2).every((x) => x === 200) && sts[5] === 429,
	    'burst spent, then 429: ' + sts);
	ok(Number(ra) >= 1, 'Retry-After on the 429: ' + ra);
	ok(/rate_limited/.test(r.text), 'rate_limited code');
	await L.stopServer(srv);
}
