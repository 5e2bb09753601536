// kdexd-lp.js: market makers (issue 8) against the real kdexd: API keys
// (create, list, revoke, scopes, signed requests, window, replay), batch
// place and batch cancel with partial success, the dead-man's switch.
'use strict';
const crypto = require('crypto');
const L = require('./kdexd-lib.js');
const { ok, eq, http } = L;

const CONFIG = `
demo-maker no
market KTA-USDC base_decimals=9 quote_decimals=6 tick_size=0.0001 lot_size=0.01 min_size=0.01 maker_fee_ppm=-100 taker_fee_ppm=500
market HLT-USDC base_decimals=9 quote_decimals=6 tick_size=0.0001 lot_size=0.01 min_size=0.01 maker_fee_ppm=0 taker_fee_ppm=0
`;

// Headers of a request signed with an API key: HMAC-SHA256 (key = the
// secret's text) over ts + METHOD + path + body.
function signed(key, method, p, body, ts = Date.now()) {
	const b = body === undefined ? '' : JSON.stringify(body);
	const sig = crypto.createHmac('sha256', key.secret)
	    .update(String(ts) + method + p + b).digest('hex');
	return { authorization: `KDEX-HMAC key=${key.id},ts=${ts},sig=${sig}` };
}

// Send exactly the body that was signed.
async function khttp(srv, key, method, p, body, ts) {
	const h = signed(key, method, p, body, ts);
	if (body !== undefined)
		h['content-type'] = 'application/json';
	return http(srv, method, p, body === undefined ? undefined :
	    JSON.stringify(body), h);
}

function bal(b, sym) {
	const r = b.json.balances.find((x) => x.symbol === sym);
	return r ? r.available : null;
}

async function funded(srv, u) {
	await L.waitFor(async () => {
		const b = await http(srv, 'GET', '/balances', undefined, u.auth);
		return b.json && b.json.balances && bal(b, 'KTA') && bal(b, 'USDC');
	}, 'demo funds');
}

async function testKeys(srv) {
	const A = await L.login(srv, L.newAccount());
	const B = await L.login(srv, L.newAccount());
	await funded(srv, A);

	let r = await http(srv, 'POST', '/apikeys', { scope: 'trade',
	    label: 'bot' }, A.auth);
	eq(r.status, 201, 'create trade key');
	const tk = { id: r.json.key.id, secret: r.json.secret };
	ok(/^[0-9a-f]{24}$/.test(tk.id) && /^[0-9a-f]{64}$/.test(tk.secret),
	    'key id and secret shapes');
	r = await http(srv, 'POST', '/apikeys', { scope: 'read' }, A.auth);
	eq(r.status, 201, 'create read key');
	const rk = { id: r.json.key.id, secret: r.json.secret };
	r = await http(srv, 'POST', '/apikeys', { scope: 'admin' }, A.auth);
	eq(r.status, 400, 'bad scope refused');
	r = await http(srv, 'POST', '/apikeys', { scope: 'read' });
	eq(r.status, 401, 'no login, no key');

	r = await http(srv, 'GET', '/apikeys', undefined, A.auth);
	eq(r.status, 200, 'list keys');
	eq(r.json.keys.map((k) => [k.id, k.scope]), [[tk.id, 'trade'],
	    [rk.id, 'read']], 'both keys listed');
	ok(!r.text.includes(tk.secret), 'list shows no secret');
	r = await http(srv, 'GET', '/apikeys', undefined, B.auth);
	eq(r.json.keys, [], 'B sees none of A\'s keys');

	// The secret is stored hashed: it is nowhere in auth.db.
	const fs = require('fs');
	const path = require('path');
	const db = fs.readFileSync(path.join(srv.data, 'auth.db'));
	let wal = Buffer.alloc(0);
	try { wal = fs.readFileSync(path.join(srv.data, 'auth.db-wal')); } catch (e) { /* none */ }
	ok(!db.includes(tk.secret) && !wal.includes(tk.secret),
	    'secret not stored in auth.db');

	// Signed requests.
	r = await khttp(srv, tk, 'GET', '/balances');
	eq(r.status, 200, 'trade key reads balances');
	eq(bal(r, 'KTA'), '1000', 'key acts as its owner');
	const place = { market: 'KTA-USDC', side: 'sell', price: '3', qty: '1',
	    client_id: 'k-1' };
	r = await khttp(srv, tk, 'POST', '/orders/place', place);
	eq(r.status, 200, 'trade key places');
	const oid = r.json && r.json.order && r.json.order.id;
	r = await khttp(srv, tk, 'GET', '/orders?status=open');
	eq(r.status, 200, 'signed GET with a query');
	eq((r.json.orders || []).map((o) => o.id), [oid], 'open orders');

	// Replay: the same signed request again is refused, even within the
	// window; a new timestamp is a new request.
	const ts = Date.now();
	const body = { id: oid };
	r = await khttp(srv, tk, 'POST', '/orders/amend', Object.assign({},
	    body, { qty: '0.5' }), ts);
	eq(r.status, 200, 'signed amend');
	r = await khttp(srv, tk, 'POST', '/orders/amend', Object.assign({},
	    body, { qty: '0.5' }), ts);
	eq(r.status, 401, 'replayed request refused');
	ok(/replay/.test(r.text), 'says replay: ' + r.text);
	// Tampering with the body breaks the signature.
	let h = signed(tk, 'POST', '/orders/cancel', { id: '999' });
	h['content-type'] = 'application/json';
	r = await http(srv, 'POST', '/orders/cancel', JSON.stringify({ id: oid }), h);
	eq(r.status, 401, 'tampered body refused');
	ok(/signature/.test(r.text), 'says signature');
	// Outside the window.
	r = await khttp(srv, tk, 'GET', '/balances', undefined, Date.now() - 6000);
	eq(r.status, 401, 'old timestamp refused');
	r = await khttp(srv, tk, 'GET', '/balances', undefined, Date.now() + 6000);
	eq(r.status, 401, 'future timestamp refused');
	// A wrong secret.
	r = await khttp(srv, { id: tk.id, secret: rk.secret }, 'GET', '/balances');
	eq(r.status, 401, 'wrong secret refused');

	// Scopes: a trade key never reaches the wallet routes.
	for (const [m, p, b] of [
	    ['POST', '/withdrawals/request', { token: 'KTA', amount: '1',
	      to: A.user }],
	    ['GET', '/withdrawals', undefined],
	    ['POST', '/account/storage', { storage: A.user }],
	    ['GET', '/deposits/address', undefined],
	    ['GET', '/deposits', undefined],
	    ['GET', '/apikeys', undefined],
	    ['POST', '/apikeys', { scope: 'trade' }]]) {
		r = await khttp(srv, tk, m, p, b);
		eq(r.status, 403, `trade key refused on ${m} ${p}`);
	}
	r = await http(srv, 'GET', '/withdrawals', undefined, A.auth);
	eq(r.json.withdrawals, [], 'no withdrawal was made');
	// A read key reads but does not trade.
	r = await khttp(srv, rk, 'GET', '/orders');
	eq(r.status, 200, 'read key lists orders');
	r = await khttp(srv, rk, 'POST', '/orders/cancel', { id: oid });
	eq(r.status, 403, 'read key cannot cancel');
	r = await khttp(srv, rk, 'POST', '/orders/batch-place', { orders: [place] });
	eq(r.status, 403, 'read key cannot batch');

	// Revoke.
	r = await http(srv, 'POST', '/apikeys/' + tk.id + '/revoke', {}, B.auth);
	eq(r.status, 404, 'B cannot revoke A\'s key');
	r = await http(srv, 'POST', '/apikeys/' + tk.id + '/revoke', {}, A.auth);
	eq(r.status, 200, 'A revokes');
	r = await khttp(srv, tk, 'GET', '/balances');
	eq(r.status, 401, 'revoked key refused');
	r = await http(srv, 'GET', '/apikeys', undefined, A.auth);
	ok(r.json.keys[0].revoked_at > 0, 'list shows revoked_at');
	r = await http(srv, 'POST', '/apikeys/' + tk.id + '/revoke', {}, A.auth);
	eq(r.status, 404, 'second revoke: not found');
	r = await http(srv, 'POST', '/orders/cancel-all', {}, A.auth);
	eq(r.json.cancelled, [oid], 'cancel-all (JWT) clears the book');
	return { A, rk };
}

async function testBatch(srv) {
	const A = await L.login(srv, L.newAccount());
	const B = await L.login(srv, L.newAccount());
	await funded(srv, A);
	await funded(srv, B);
	let r = await http(srv, 'POST', '/apikeys', { scope: 'trade' }, A.auth);
	const key = { id: r.json.key.id, secret: r.json.secret };
	const o = (side, price, qty, cid) => ({ market: 'KTA-USDC', side,
	    price, qty, client_id: cid });
	// Partial success: items 1 and 3 are refused, the others rest.
	r = await khttp(srv, key, 'POST', '/orders/batch-place', { orders: [
	    o('buy', '1', '1', 'b-1'),
	    o('buy', '1.00001', '1', 'b-2'),	/* off tick */
	    o('buy', '1.1', '1', 'b-3'),
	    o('buy', '1.2', '1', 'b-1'),	/* duplicate client id */
	    o('sell', '5', '2', 'b-5'),
	    { market: 'NOPE-USDC', side: 'buy', price: '1', qty: '1' }] });
	eq(r.status, 200, 'batch answered');
	const res = r.json.results || [];
	eq(res.map((x) => x.status), [200, 400, 200, 409, 200, 404],
	    'each item answered on its own');
	eq(res.map((x) => x.order ? x.order.client_id : x.error.code),
	    ['b-1', 'bad_price', 'b-3', 'duplicate_client_id', 'b-5',
	    'unknown_market'], 'item answers in order');
	r = await http(srv, 'GET', '/orders?status=open', undefined, A.auth);
	eq(r.json.orders.length, 3, 'three orders rest');

	// Limits and shapes.
	const many = [];
	for (let i = 0; i < 21; i++)
		many.push(o('buy', '1', '1', 'm-' + i));
	r = await http(srv, 'POST', '/orders/batch-place', { orders: many }, A.auth);
	eq(r.status, 400, 'above the batch maximum');
	r = await http(srv, 'POST', '/orders/batch-place', { orders: [] }, A.auth);
	eq(r.status, 400, 'empty batch');
	r = await http(srv, 'POST', '/orders/batch-place', { orders: [1] }, A.auth);
	eq(r.status, 200, 'non-object item answered');
	eq(r.json.results[0].status, 400, 'non-object item refused');

	// A batch that trades: B takes A's sell within a batch (JWT).
	r = await http(srv, 'POST', '/orders/batch-place', { orders: [
	    o('buy', '5', '1', 't-1'), o('buy', '5', '5', 't-2')] }, B.auth);
	eq(r.json.results.map((x) => x.order.status), ['filled',
	    'partially_filled'], 'batch fills in order');
	eq(r.json.results[0].fills.length, 1, 'fill reported with the item');

	// Batch cancel with partial success.
	r = await khttp(srv, key, 'POST', '/orders/batch-cancel', { orders: [
	    { client_id: 'b-1' }, { id: '999999' }, { client_id: 'b-3' },
	    { client_id: 'b-1' }] });
	eq(r.status, 200, 'batch cancel answered');
	eq(r.json.results.map((x) => x.status), [200, 404, 200, 404],
	    'batch cancel items');
	r = await http(srv, 'GET', '/orders?status=open', undefined, A.auth);
	eq(r.json.orders.length, 0, 'all of A\'s orders gone');
}

async function testDeadMan(srv) {
	const A = await L.login(srv, L.newAccount());
	await funded(srv, A);
	const o = (price, cid) => ({ market: 'KTA-USDC', side: 'buy', price,
	    qty: '1', client_id: cid });
	let r = await http(srv, 'POST', '/orders/batch-place', { orders: [
	    o('1', 'd-1'), o('1.1', 'd-2')] }, A.auth);
	eq(r.json.results.map((x) => x.status), [200, 200], 'two resting');
	r = await http(srv, 'POST', '/orders/cancel-all-after', { timeout_s: -1 }, A.auth);
	eq(r.status, 400, 'negative timeout refused');
	r = await http(srv, 'POST', '/orders/cancel-all-after', { timeout_s: 1.5 }, A.auth);
	eq(r.status, 400, 'fractional timeout refused');
	// Armed, disarmed: nothing happens.
	r = await http(srv, 'POST', '/orders/cancel-all-after', { timeout_s: 1 }, A.auth);
	eq(r.status, 200, 'armed');
	ok(r.json.cancel_at > Date.now(), 'cancel_at in the future');
	r = await http(srv, 'POST', '/orders/cancel-all-after', { timeout_s: 0 }, A.auth);
	eq([r.status, r.json.cancel_at], [200, null], 'disarmed');
	await L.sleep(1500);
	r = await http(srv, 'GET', '/orders?status=open', undefined, A.auth);
	eq(r.json.orders.length, 2, 'disarmed switch cancelled nothing');
	// Renewed in time: still there; then it lapses.
	r = await http(srv, 'POST', '/orders/cancel-all-after', { timeout_s: 2 }, A.auth);
	await L.sleep(1200);
	r = await http(srv, 'POST', '/orders/cancel-all-after', { timeout_s: 2 }, A.auth);
	eq(r.status, 200, 'renewed');
	await L.sleep(1200);
	r = await http(srv, 'GET', '/orders?status=open', undefined, A.auth);
	eq(r.json.orders.length, 2, 'renewed switch has not fired');
	const t0 = Date.now();
	await L.waitFor(async () => {
		const x = await http(srv, 'GET', '/orders?status=open', undefined, A.auth);
		return x.json.orders.length === 0;
	}, 'the switch to fire', 5000);
	ok(Date.now() - t0 < 3000, 'fired about when due');
	r = await http(srv, 'GET', '/orders?status=all', undefined, A.auth);
	eq(r.json.orders.map((x) => x.status), ['cancelled', 'cancelled'],
	    'both orders cancelled');
	// It fires once: a new order afterwards stays.
	r = await http(srv, 'POST', '/orders/place', o('1', 'd-3'), A.auth);
	await L.sleep(300);
	r = await http(srv, 'GET', '/orders?status=open', undefined, A.auth);
	eq(r.json.orders.length, 1, 'fired once only');
}

async function testCancelOnDisconnect(srv) {
	const A = await L.login(srv, L.newAccount());
	await funded(srv, A);
	const o = (price, cid) => ({ market: 'KTA-USDC', side: 'buy', price,
	    qty: '1', client_id: cid });
	const open = async () => (await http(srv, 'GET', '/orders?status=open',
	    undefined, A.auth)).json.orders.length;
	// Without the flag a closed session leaves the orders alone.
	let ws = await L.wsClient(srv);
	ws.send({ op: 'auth', token: A.token });
	await ws.wait((m) => m.type === 'authenticated', 'auth');
	await http(srv, 'POST', '/orders/place', o('1', 'w-1'), A.auth);
	ws.close();
	await L.sleep(500);
	eq(await open(), 1, 'plain session: order stays');
	// With it, closing the session cancels them.
	ws = await L.wsClient(srv);
	ws.send({ op: 'auth', token: A.token, cancel_on_disconnect: true });
	await ws.wait((m) => m.type === 'authenticated', 'auth');
	await http(srv, 'POST', '/orders/place', o('1.1', 'w-2'), A.auth);
	eq(await open(), 2, 'two open');
	ws.close();
	await L.waitFor(async () => await open() === 0,
	    'cancel on disconnect', 5000);
	ok(true, 'cancel-on-disconnect cancelled both');
}

// Statistics from a scripted session on a market of its own.
async function testStats(srv) {
	const A = await L.login(srv, L.newAccount());
	const B = await L.login(srv, L.newAccount());
	await funded(srv, A);
	await funded(srv, B);
	let r = await http(srv, 'POST', '/apikeys', { scope: 'read' }, A.auth);
	const key = { id: r.json.key.id, secret: r.json.secret };
	const o = (side, price, qty) => ({ market: 'HLT-USDC', side, price, qty });
	r = await http(srv, 'POST', '/orders/batch-place', { orders: [
	    o('buy', '2', '1'), o('sell', '3', '2')] }, A.auth);
	eq(r.json.results.map((x) => x.status), [200, 200], 'A quotes');
	await L.sleep(2300);
	r = await http(srv, 'POST', '/orders/place', o('buy', '3', '0.5'), B.auth);
	eq(r.json.order.status, 'filled', 'B lifts A\'s ask');
	r = await http(srv, 'POST', '/orders/place', o('sell', '2.5', '1'), B.auth);
	r = await http(srv, 'POST', '/orders/place', o('buy', '2.5', '1'), A.auth);
	eq(r.json.order.status, 'filled', 'A takes B\'s ask');
	r = await khttp(srv, key, 'GET', '/lp/stats?market=HLT-USDC');
	eq(r.status, 200, 'stats with a read key');
	const m = (r.json.markets || [])[0] || {};
	eq([m.market, m.fills, m.maker_fills, m.volume, m.volume_quote,
	    m.maker_volume_quote, m.maker_share_ppm],
	    ['HLT-USDC', 2, 1, '1.5', '4', '1.5', 375000],
	    'volume and maker share (exact)');
	const q = m.quote || {};
	eq([q.orders, q.bid, q.ask, q.spread, q.spread_ppm, q.bid_depth,
	    q.ask_depth, q.at_best_bid, q.at_best_ask],
	    [2, '2', '3', '1', 400000, '1', '1.5', true, true],
	    'quoted spread and depth');
	const t = m.top_of_book || {};
	ok(t.bid_ms >= 1000 && t.ask_ms >= 1000 && t.sampled_ms >= t.bid_ms,
	    'time at top sampled: ' + JSON.stringify(t));
	r = await http(srv, 'GET', '/lp/stats', undefined, B.auth);
	eq(r.json.markets.map((x) => x.market), ['KTA-USDC', 'HLT-USDC'],
	    'all markets');
	const bm = r.json.markets[1];
	eq([bm.fills, bm.maker_fills, bm.maker_share_ppm, bm.volume_quote],
	    [2, 1, 625000, '4'], 'B: the other side');
	// The operator's view: the admin route and kdex-console.
	const akey = require('fs').readFileSync(require('path').join(srv.data,
	    'admin.key'), 'utf8').trim();
	let ar = await fetch(srv.adminBase + '/admin/users/' + A.user +
	    '/lp-stats?market=HLT-USDC', { headers: { 'x-admin-key': akey } });
	let aj = await ar.json();
	eq([ar.status, aj.markets[0].maker_share_ppm, aj.markets[0].quote.spread],
	    [200, 375000, '1'], 'admin lp-stats');
	ar = await fetch(srv.adminBase + '/admin/users/keeta_nobody/lp-stats',
	    { headers: { 'x-admin-key': akey } });
	eq(ar.status, 404, 'admin lp-stats: unknown user');
	const con = require('path').join(process.env.KDEX_BUILDDIR ||
	    process.cwd(), 'kdex-console');
	const cout = await new Promise((resolve) => require('child_process')
	    .execFile(con, ['--url', srv.adminBase, '-c',
	    'users lp-stats ' + A.user + ' --market HLT-USDC'],
	    { env: Object.assign({}, process.env, { KDEX_ADMIN_KEY: akey }),
	    timeout: 10000 }, (err, stdout, stderr) =>
	    resolve({ err, stdout, stderr })));
	eq(cout.err, null, 'kdex-console users lp-stats: ' + cout.stderr);
	ok(/HLT-USDC\t2\t1\.5\t4\t375000\t\d+\t\d+\t2\t3\t1\t1\t1\.5/
	    .test(cout.stdout), 'console row: ' + JSON.stringify(cout.stdout));
	r = await http(srv, 'GET', '/lp/stats?market=NOPE-X', undefined, B.auth);
	eq(r.status, 404, 'unknown market');
	r = await http(srv, 'GET', '/lp/stats');
	eq(r.status, 401, 'stats need a login');
}

// The reference bot (contrib/mmbot.js): two cycles, then it stops
// renewing and the dead-man's switch clears its quotes.
async function testBot(srv) {
	const { execFile } = require('child_process');
	const path = require('path');
	const C = await L.login(srv, L.newAccount());
	await funded(srv, C);
	let r = await http(srv, 'POST', '/apikeys', { scope: 'trade' }, C.auth);
	const env = Object.assign({}, process.env, { KDEX_API_KEY: r.json.key.id,
	    KDEX_API_SECRET: r.json.secret });
	const bot = path.resolve(__dirname, '..', 'contrib', 'mmbot.js');
	const out = await new Promise((resolve) => execFile(process.execPath,
	    [bot, '--url', srv.base, '--market', 'HLT-USDC', '--mid', '2',
	    '--levels', '3', '--qty', '0.5', '--interval-ms', '300',
	    '--dead-man-s', '2', '--iterations', '2'], { env, timeout: 20000 },
	    (err, stdout, stderr) => resolve({ err, stdout, stderr })));
	eq(out.err, null, 'bot exits 0: ' + out.stderr);
	ok(/cycle 2 ref 2.5 placed 6\/6/.test(out.stdout),
	    'bot quotes around the last trade: ' + out.stdout + out.stderr);
	r = await http(srv, 'GET', '/orders?status=open&market=HLT-USDC',
	    undefined, C.auth);
	eq(r.json.orders.map((x) => x.price).sort(), ['2.4837', '2.4887',
	    '2.4937', '2.5063', '2.5113', '2.5163'], 'the ladder, exact');
	ok(r.json.orders.every((x) => x.client_id.startsWith('mm-2-')),
	    'cycle 1 quotes were cancelled');
	await L.waitFor(async () => (await http(srv, 'GET', '/orders?status=open',
	    undefined, C.auth)).json.orders.length === 0,
	    'the switch to clear the bot\'s quotes', 5000);
	ok(true, 'dead-man\'s switch cleared the stopped bot\'s quotes');
}

// Keys survive a restart; a request captured before it does not replay.
async function testRestart(srv) {
	const R = await L.login(srv, L.newAccount());
	await funded(srv, R);
	let r = await http(srv, 'POST', '/apikeys', { scope: 'trade' }, R.auth);
	const key = { id: r.json.key.id, secret: r.json.secret };
	const captured = signed(key, 'GET', '/balances');
	r = await http(srv, 'GET', '/balances', undefined, captured);
	eq(r.status, 200, 'signed request before the restart');
	await L.stopServer(srv);
	const srv2 = await L.startServer({ config: CONFIG, data: srv.data });
	r = await http(srv2, 'GET', '/balances', undefined, captured);
	eq(r.status, 401, 'captured request refused after a restart');
	r = await khttp(srv2, key, 'GET', '/balances');
	eq(r.status, 200, 'the key works after a restart');
	eq(bal(r, 'KTA'), '1000', 'same owner');
	return srv2;
}

L.main(async () => {
	const srv = await L.startServer({ config: CONFIG });
	await testKeys(srv);
	await testBatch(srv);
	await testDeadMan(srv);
	await testCancelOnDisconnect(srv);
	await testStats(srv);
	await testBot(srv);
	const srv2 = await testRestart(srv);
	await L.stopServer(srv2);
	for (const x of [srv, srv2])
		ok(!/ERROR: AddressSanitizer|runtime error|LeakSanitizer/
		    .test(x.stderr()), 'no sanitizer report');
});
