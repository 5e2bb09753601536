// console-live.js: kdex-console against a real kdexd (embedded devnet, no
// demo maker), for the two console commands that change a live market:
//   - `orders cancel` publishes what a user's own cancel publishes: the
//     user's order and balance updates, and book diffs whose sequence
//     numbers go on without a gap (a replica built from them equals the
//     REST book);
//   - `markets set-limits` is in effect for the next order, refuses limits
//     a resting order would not fit (changing nothing), is stored in the
//     ledger (seen again after a restart) and leaves an audit line.
'use strict';
const L = require('./kdexd-lib.js');
const path = require('path');
const { spawnSync } = require('child_process');
const { ok, eq, http } = L;

const BUILD = process.env.KDEX_BUILDDIR || process.cwd();
const CONFIG = `
demo-maker no
rate-ip 100000
burst-ip 100000
rate-user 100000
burst-user 100000
`;

// Run kdex-console; returns { status, out, err }.
function kc(srv, ...args) {
	const r = spawnSync(path.join(BUILD, 'kdex-console'), ['--url',
	    srv.adminBase, '--admin-key-file', path.join(srv.data,
	    'admin.key'), ...args], { encoding: 'utf8', input: '' });
	return { status: r.status, out: r.stdout, err: r.stderr };
}

function replica() {
	const r = { seq: null, bids: new Map(), asks: new Map(), gaps: 0,
	    zeros: 0 };
	r.apply = (m) => {
		if (m.type === 'snapshot') {
			r.seq = m.seq;
			r.bids = new Map(m.bids);
			r.asks = new Map(m.asks);
			return;
		}
		if (m.type !== 'update' || r.seq === null)
			return;
		if (m.seq !== r.seq + 1)
			r.gaps++;
		r.seq = m.seq;
		for (const [side, lv] of [[r.bids, m.bids], [r.asks, m.asks]])
			for (const [p, q] of lv)
				if (q === '0') {
					side.delete(p);
					r.zeros++;
				} else
					side.set(p, q);
	};
	r.levels = (side, desc) => [...side.entries()].sort((a, b) =>
	    desc ? Number(b[0]) - Number(a[0]) : Number(a[0]) - Number(b[0]));
	return r;
}

async function funded(srv, u) {
	await L.waitFor(async () => {
		const b = await http(srv, 'GET', '/balances', undefined, u.auth);
		return b.json.balances.length >= 2;
	}, 'demo funds');
}

const place = (srv, u, side, price, qty) => http(srv, 'POST',
    '/orders/place', { market: 'KTA-USDC', side, price, qty }, u.auth);

L.main(async () => {
	let srv = await L.startServer({ config: CONFIG });
	const A = await L.login(srv, L.newAccount());
	const B = await L.login(srv, L.newAccount());
	await funded(srv, A);
	await funded(srv, B);

	// ---- admin cancel: the same WebSocket updates as a user's cancel.
	const ids = [];
	for (const [u, side, price, qty] of [[A, 'buy', '2.4', '2'],
	    [A, 'buy', '2.3', '1'], [B, 'buy', '2.4', '1'],
	    [B, 'sell', '2.7', '1']]) {
		const r = await place(srv, u, side, price, qty);
		eq(r.status, 200, `place ${side} ${qty}@${price}`);
		ids.push(r.json.order.id);
	}
	const pub = await L.wsClient(srv);
	const rep = replica();
	pub.ws.on('message', (d) => {
		const m = JSON.parse(d.toString());
		if (m.channel === 'orderbook:KTA-USDC')
			rep.apply(m);
	});
	pub.send({ op: 'subscribe', channel: 'orderbook:KTA-USDC' });
	await pub.wait((m) => m.type === 'snapshot', 'snapshot');
	const priv = await L.wsClient(srv);
	priv.send({ op: 'auth', token: A.token });
	await priv.wait((x) => x.type === 'authenticated', 'authenticated');
	for (const c of ['orders', 'balances'])
		priv.send({ op: 'subscribe', channel: c });
	await priv.wait((x) => x.type === 'subscribed' &&
	    x.channel === 'balances', 'balances subscribed');
	const before = await http(srv, 'GET', '/balances', undefined, A.auth);
	const usdc0 = before.json.balances.find((b) => b.symbol === 'USDC');

	// One order by id, then the rest of A's in KTA-USDC.
	let r = kc(srv, '-y', '-c', 'orders cancel --id ' + ids[1]);
	eq([r.status, r.out.trim()], [0, ids[1]], 'orders cancel --id');
	r = kc(srv, '-y', '-c', 'orders cancel --user ' + A.user +
	    ' --market KTA-USDC');
	eq([r.status, r.out.trim()], [0, ids[0]], 'orders cancel --user');

	for (const id of [ids[0], ids[1]])
		await priv.wait((x) => x.type === 'order' &&
		    x.order.id === id && x.order.status === 'cancelled',
		    'order ' + id + ' cancelled on the orders channel');
	const after = await http(srv, 'GET', '/balances', undefined, A.auth);
	const usdc1 = after.json.balances.find((b) => b.symbol === 'USDC');
	ok(usdc1.available !== usdc0.available, 'the cancel released USDC');
	await priv.wait((x) => x.type === 'balance' &&
	    x.balance.symbol === 'USDC' &&
	    x.balance.available === usdc1.available,
	    'balance update with the released USDC');
	const book = await http(srv, 'GET', '/markets/KTA-USDC/book?depth=50');
	await L.waitFor(() => rep.seq === book.json.seq, 'replica catches up');
	eq(rep.gaps, 0, 'no sequence gap across the admin cancels');
	ok(rep.zeros >= 1, 'the 2.3 level was removed by a diff');
	eq(rep.levels(rep.bids, true), book.json.bids, 'replica bids == REST');
	eq(rep.levels(rep.asks, false), book.json.asks, 'replica asks == REST');
	eq(book.json.bids, [['2.4', '1']], 'only B\'s bid is left');
	// Every order of B's, whatever the market.
	r = kc(srv, '-y', '-c', 'orders cancel --user ' + B.user);
	eq([r.status, r.out.trim().split('\n').sort()],
	    [0, [ids[2], ids[3]].sort()], 'orders cancel --user (all markets)');
	await L.waitFor(async () => {
		const b = await http(srv, 'GET', '/markets/KTA-USDC/book');
		return rep.seq === b.json.seq && b.json.bids.length === 0 &&
		    b.json.asks.length === 0;
	}, 'an empty book, replica caught up');
	eq([rep.gaps, rep.bids.size, rep.asks.size], [0, 0, 0],
	    'the replica is empty too, no gap');

	// ---- set-limits: the next order sees them.
	r = kc(srv, '-c', 'markets set-limits KTA-USDC --min-size 2 ' +
	    '--max-orders-per-user 3');
	eq(r.status, 0, 'set-limits: ' + r.err);
	ok(/^min_size\t2$/m.test(r.out), 'set-limits shows min_size 2');
	ok(/^max_orders_per_user\t3$/m.test(r.out), 'and max_orders_per_user 3');
	let pm = await http(srv, 'GET', '/markets');
	eq(pm.json.markets[0].min_size, '2', 'public /markets min_size');
	r = await place(srv, A, 'buy', '2.0', '1');
	ok(r.status >= 400, 'an order below the new min size is refused: ' +
	    r.text);
	r = await place(srv, A, 'buy', '2.0', '2');
	eq(r.status, 200, 'an order at the new min size is accepted');
	for (let i = 0; i < 2; i++)
		eq((await place(srv, A, 'buy', '1.9', '2')).status, 200,
		    'orders up to the per-user count');
	r = await place(srv, A, 'buy', '1.8', '2');
	ok(r.status >= 400 && /limit/.test(r.text),
	    'the 4th resting order is refused: ' + r.text);

	// Limits a resting order does not fit: refused, nothing changes.
	r = kc(srv, '-c', 'markets set-limits KTA-USDC --min-size 3');
	eq(r.status, 1, 'set-limits refused');
	ok(/does not fit the new limits/.test(r.err), 'why: ' + r.err);
	pm = await http(srv, 'GET', '/markets');
	eq(pm.json.markets[0].min_size, '2', 'min_size unchanged');
	r = kc(srv, '-c', 'markets set-limits KTA-USDC --max-orders 0');
	eq(r.status, 2, 'max-orders 0 is a usage error');
	r = kc(srv, '-c', 'markets set-limits KTA-USDC --min-size 0.001');
	eq(r.status, 1, 'min-size off the lot size');
	ok(/lot size/.test(r.err), 'why: ' + r.err);
	r = kc(srv, '-c', 'markets set-limits KTA-USDC --min-size 5 ' +
	    '--max-size 4');
	ok(r.status === 1 && /limits refused/.test(r.err),
	    'max below min refused: ' + r.err);
	r = kc(srv, '-c', 'markets set-limits NOPE-USDC --min-size 1');
	ok(r.status === 1 && /unknown market/.test(r.err), 'unknown market');

	// Raising a count beyond what the book was created for works: the
	// book is rebuilt (same orders, same priority).
	const bk0 = await http(srv, 'GET', '/markets/KTA-USDC/book?depth=50');
	r = kc(srv, '--json', '-c', 'markets show KTA-USDC');
	const m0 = JSON.parse(r.out);
	r = kc(srv, '-c', 'markets set-limits KTA-USDC --max-orders ' +
	    (m0.max_orders * 2) + ' --max-orders-per-user 4');
	eq(r.status, 0, 'raise max_orders: ' + r.err);
	const bk1 = await http(srv, 'GET', '/markets/KTA-USDC/book?depth=50');
	eq([bk1.json.bids, bk1.json.asks], [bk0.json.bids, bk0.json.asks],
	    'the rebuilt book holds the same orders');
	eq((await place(srv, A, 'buy', '1.8', '2')).status, 200,
	    'the 4th order fits the raised per-user count');

	// The audit line.
	r = kc(srv, '-c', 'audit search --action correction');
	ok(r.status === 0 && /limits KTA-USDC lots=\d+\.\.\d+ notional=/.test(r.out),
	    'audit line for the limits change: ' + r.out);

	// Stored: a restart loads the new limits.
	const data = srv.data;
	await L.stopServer(srv);
	srv = await L.startServer({ config: CONFIG, data });
	r = kc(srv, '--json', '-c', 'markets show KTA-USDC');
	const m1 = JSON.parse(r.out);
	eq([m1.min_size, m1.max_orders, m1.max_orders_per_user],
	    ['2', m0.max_orders * 2, 4], 'limits after a restart');
	r = kc(srv, '-c', 'ledger check');
	eq(r.status, 0, 'ledger check after all this: ' + r.out + r.err);
});
