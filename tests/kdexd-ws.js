// kdexd-ws.js: WebSocket integration test of kdexd: book snapshot + diffs
// with contiguous sequence numbers (a replica built from them equals the
// REST book), trade and ticker streams, private channels after auth, server
// pings, bad messages, and the slow-consumer disconnect.
'use strict';
const L = require('./kdexd-lib.js');
const { ok, eq, http } = L;

const CONFIG = `
demo-maker no
ws-ping 1
ws-queue-max 262144
rate-ip 100000
burst-ip 100000
rate-user 100000
burst-user 100000
`;

// Keep a replica of one book from a snapshot and its updates; report gaps.
function replica() {
	const r = { seq: null, bids: new Map(), asks: new Map(), gaps: 0, updates: 0 };
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
		r.updates++;
		for (const [side, lv] of [[r.bids, m.bids], [r.asks, m.asks]])
			for (const [p, q] of lv)
				if (q === '0')
					side.delete(p);
				else
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

L.main(async () => {
	const srv = await L.startServer({ config: CONFIG });
	const A = await L.login(srv, L.newAccount());
	const B = await L.login(srv, L.newAccount());
	await funded(srv, A);
	await funded(srv, B);

	const pub = await L.wsClient(srv);
	const rep = replica();
	pub.ws.on('message', (d) => {
		const m = JSON.parse(d.toString());
		if (m.channel === 'orderbook:KTA-USDC')
			rep.apply(m);
	});
	pub.send({ op: 'subscribe', channel: 'orderbook:KTA-USDC' });
	pub.send({ op: 'subscribe', channel: 'trades:KTA-USDC' });
	pub.send({ op: 'subscribe', channel: 'ticker:KTA-USDC' });
	const snap = await pub.wait((m) => m.type === 'snapshot', 'snapshot');
	eq([snap.channel, snap.bids, snap.asks], ['orderbook:KTA-USDC', [], []], 'empty snapshot');
	await pub.wait((m) => m.type === 'subscribed' && m.channel === 'ticker:KTA-USDC', 'subscribed');

	// Private channels need auth first.
	const priv = await L.wsClient(srv);
	priv.send({ op: 'subscribe', channel: 'orders' });
	let m = await priv.wait((x) => x.type === 'error', 'unauthorized error');
	eq(m.error.code, 'unauthorized', 'private channel before auth');
	priv.send({ op: 'auth', token: A.token.slice(0, -3) + 'abc' });
	m = await priv.wait((x) => x.type === 'error' && priv.msgs.indexOf(x) > 0, 'bad token error');
	eq(m.error.code, 'unauthorized', 'auth with a tampered token');
	priv.send({ op: 'auth', token: A.token });
	m = await priv.wait((x) => x.type === 'authenticated', 'authenticated');
	eq(m.user, A.user, 'authenticated user');
	for (const c of ['orders', 'balances', 'fills'])
		priv.send({ op: 'subscribe', channel: c });
	await priv.wait((x) => x.type === 'subscribed' && x.channel === 'fills', 'fills subscribed');

	// Bad messages get errors, the connection lives on.
	pub.send({ op: 'subscribe', channel: 'orderbook:NOPE-USDC' });
	m = await pub.wait((x) => x.type === 'error' && x.error.code === 'unknown_market', 'unknown market');
	pub.ws.send('{not json');
	await pub.wait((x) => x.type === 'error' && x.error.code === 'bad_json', 'bad json');
	pub.send({ op: 'dance' });
	await pub.wait((x) => x.type === 'error' && x.error.code === 'bad_request', 'unknown op');
	pub.send({ op: 'ping' });
	await pub.wait((x) => x.type === 'pong', 'pong');

	// Activity: A's asks, B's bids, a crossing buy, a cancel, an amend.
	const ids = [];
	for (const [who, side, price, qty] of [[A, 'sell', '2.5', '3'],
	    [A, 'sell', '2.6', '2'], [A, 'sell', '2.5', '1'], [B, 'buy', '2.4', '5'],
	    [B, 'buy', '2.3', '1'], [B, 'buy', '2.55', '3.5']]) {
		const r = await http(srv, 'POST', '/orders/place', { market: 'KTA-USDC',
		    side, price, qty }, who.auth);
		eq(r.status, 200, `place ${side} ${qty}@${price}`);
		ids.push(r.json.order && r.json.order.id);
	}
	let r = await http(srv, 'POST', '/orders/cancel', { id: ids[4] }, B.auth);
	eq(r.status, 200, 'cancel');
	r = await http(srv, 'POST', '/orders/amend', { id: ids[1], qty: '1' }, A.auth);
	eq(r.status, 200, 'amend');

	const book = await http(srv, 'GET', '/markets/KTA-USDC/book?depth=100');
	await L.waitFor(() => rep.seq === book.json.seq, 'replica catches up');
	eq(rep.gaps, 0, 'no sequence gaps');
	ok(rep.updates >= 6, 'updates arrived: ' + rep.updates);
	eq(rep.levels(rep.bids, true), book.json.bids, 'replica bids == REST book');
	eq(rep.levels(rep.asks, false), book.json.asks, 'replica asks == REST book');

	// The crossing buy traded 3 @ 2.5 then 0.5 @ 2.5 (two makers).
	const trades = await L.waitFor(() => {
		const t = pub.msgs.filter((x) => x.type === 'trade');
		return t.length >= 2 ? t : null;
	}, 'trades');
	eq(trades.map((t) => [t.price, t.qty, t.taker_side]),
	    [['2.5', '3', 'buy'], ['2.5', '0.5', 'buy']], 'trade stream');
	const tick = await pub.wait((x) => x.type === 'ticker' && x.last === '2.5', 'ticker');
	eq(tick.volume_24h, '3.5', 'ticker volume');

	// A's private streams saw its orders, fills and balances.
	await priv.wait((x) => x.type === 'fill' && x.fill.qty === '0.5', 'fill 0.5');
	const fills = priv.msgs.filter((x) => x.type === 'fill').map((x) =>
	    [x.fill.liquidity, x.fill.qty, x.fill.side]);
	eq(fills, [['maker', '3', 'sell'], ['maker', '0.5', 'sell']], 'private fills');
	const ord = priv.msgs.filter((x) => x.type === 'order' && x.order.id === ids[0]);
	ok(ord.length >= 2 && ord[ord.length - 1].order.status === 'filled',
	    'private order updates end filled');
	ok(priv.msgs.some((x) => x.type === 'balance' && x.balance.symbol === 'USDC'),
	    'private balance update');
	ok(!priv.msgs.some((x) => x.type === 'order' && x.order.id === ids[3]),
	    "no private update of another user's order");

	// A resubscription starts again from a fresh snapshot at the same seq.
	pub.send({ op: 'subscribe', channel: 'orderbook:KTA-USDC' });
	const snap2 = await pub.wait((x) => x.type === 'snapshot' && x !== snap, 'second snapshot');
	eq(snap2.seq, book.json.seq, 'resubscribe snapshot seq');
	pub.send({ op: 'unsubscribe', channel: 'trades:KTA-USDC' });
	await pub.wait((x) => x.type === 'unsubscribed', 'unsubscribed');

	// Server pings every second here (ws-ping 1).
	await L.waitFor(() => pub.pings >= 1, 'server ping', 4000);
	ok(pub.pings >= 1, 'server ping');

	// Slow consumer: stop reading and ask for big snapshots; the server
	// must cut the client off instead of queueing without bound.
	for (let i = 0; i < 150; i++) {
		r = await http(srv, 'POST', '/orders/place', { market: 'KTA-USDC',
		    side: 'buy', price: (1 + i / 1000).toFixed(4), qty: '0.01' }, B.auth);
		if (r.status !== 200) {
			eq(r.status, 200, 'ladder order');
			break;
		}
	}
	const slow = await L.wsClient(srv);
	slow.ws._socket.pause();
	const msg = JSON.stringify({ op: 'subscribe', channel: 'orderbook:KTA-USDC', depth: 1000 });
	for (let i = 0; i < 3000; i++)
		slow.ws.send(msg);
	const dropped = await L.waitFor(async () => {
		const met = await http(srv, 'GET', '/metrics');
		const mm = /kdexd_ws_slow_consumer_disconnects_total (\d+)/.exec(met.text);
		return mm && Number(mm[1]) >= 1;
	}, 'slow consumer disconnect', 20000).catch(() => false);
	ok(dropped, 'slow consumer disconnected');
	slow.ws._socket.resume();
	await L.waitFor(() => slow.closed, 'slow client closed', 10000).catch(() => null);
	ok(slow.closed, 'slow client sees the close');
	// Others are unaffected.
	pub.send({ op: 'ping' });
	const pongs = () => pub.msgs.filter((x) => x.type === 'pong').length;
	await L.waitFor(() => pongs() >= 2, 'pong after slow consumer');
	ok(!pub.closed, 'healthy client still connected');

	pub.close();
	priv.close();
	const st = await L.stopServer(srv);
	eq(st.code, 0, 'clean exit');
});
