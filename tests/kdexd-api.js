// kdexd-api.js: REST integration test of kdexd: login with the three key
// algorithms, auth attacks, place/cancel/fill between two users with exact
// balances, order queries, and every bad-input case of doc/api.md.
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const L = require('./kdexd-lib.js');
const { Account, ok, eq, http } = L;

const CONFIG = `
# test config: no demo market maker so the book is ours alone
demo-maker no
market KTA-USDC base_decimals=9 quote_decimals=6 tick_size=0.0001 lot_size=0.01 min_size=0.01 maker_fee_ppm=-100 taker_fee_ppm=500
market HLT-USDC status=halted
`;

function b64url(buf) {
	return Buffer.from(buf).toString('base64').replace(/=+$/, '')
	    .replace(/\+/g, '-').replace(/\//g, '_');
}

// A token signed with the server's own secret (read from the data dir),
// to check expiry on its own.
function forgeToken(srv, payload) {
	const key = Buffer.from(fs.readFileSync(path.join(srv.data, 'jwt.key'),
	    'utf8').trim(), 'hex');
	const h = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
	const p = b64url(JSON.stringify(payload));
	const mac = crypto.createHmac('sha256', key).update(h + '.' + p).digest();
	return h + '.' + p + '.' + b64url(mac);
}

function bal(b, sym) {
	const r = b.json.balances.find((x) => x.symbol === sym);
	return r ? { available: r.available, total: r.total } : null;
}

async function testLogin(srv) {
	const algs = [Account.AccountKeyAlgorithm.ED25519,
	    Account.AccountKeyAlgorithm.ECDSA_SECP256K1,
	    Account.AccountKeyAlgorithm.ECDSA_SECP256R1];
	for (const alg of algs) {
		const a = L.newAccount(alg);
		const s = await L.login(srv, a);
		eq(s.user, a.publicKeyString.get(), 'login user, alg ' + alg);
		const b = await http(srv, 'GET', '/balances', undefined, s.auth);
		eq(b.status, 200, 'balances with token, alg ' + alg);
	}

	const a = L.newAccount(), other = L.newAccount();
	const pub = a.publicKeyString.get();
	let ch = await http(srv, 'POST', '/auth/challenge', { pubkey: pub });
	eq(ch.status, 200, 'challenge');
	ok(/^[0-9a-f]{32}$/.test(ch.json.nonce), 'nonce is 32 hex');
	ok(ch.json.expires_at > Date.now() + 4 * 60000 &&
	    ch.json.expires_at <= Date.now() + 5 * 60000 + 1000,
	    'nonce expires in 5 minutes');
	// Signature by another key.
	let sig = await L.signHex(other, 'keeta-login:' + ch.json.nonce);
	let v = await http(srv, 'POST', '/auth/verify',
	    { pubkey: pub, nonce: ch.json.nonce, signature: sig });
	eq(v.status, 401, 'signature by another key');
	eq(v.json.error.code, 'unauthorized', 'another key: code');
	// Another key presenting a nonce issued to pub.
	v = await http(srv, 'POST', '/auth/verify', { pubkey:
	    other.publicKeyString.get(), nonce: ch.json.nonce, signature: sig });
	eq(v.status, 401, 'nonce issued to another key');
	// Wrong message signed.
	sig = await L.signHex(a, 'keeta-login:' + ch.json.nonce + 'x');
	v = await http(srv, 'POST', '/auth/verify',
	    { pubkey: pub, nonce: ch.json.nonce, signature: sig });
	eq(v.status, 401, 'signature over another message');
	// The right one works once, even after the failures above.
	sig = await L.signHex(a, 'keeta-login:' + ch.json.nonce);
	v = await http(srv, 'POST', '/auth/verify',
	    { pubkey: pub, nonce: ch.json.nonce, signature: sig });
	eq(v.status, 200, 'good signature');
	const tok = v.json.token;
	v = await http(srv, 'POST', '/auth/verify',
	    { pubkey: pub, nonce: ch.json.nonce, signature: sig });
	eq(v.status, 401, 'replayed nonce');
	ok(/already used/.test(v.json.error.message), 'replay message');
	// Unknown nonce, malformed fields.
	v = await http(srv, 'POST', '/auth/verify', { pubkey: pub,
	    nonce: '00'.repeat(16), signature: sig });
	eq(v.status, 401, 'unknown nonce');
	v = await http(srv, 'POST', '/auth/verify', { pubkey: pub,
	    nonce: ch.json.nonce, signature: 'zz' });
	eq(v.status, 400, 'malformed signature');
	v = await http(srv, 'POST', '/auth/challenge', { pubkey: 'keeta_xyz' });
	eq(v.status, 400, 'bad pubkey');
	v = await http(srv, 'POST', '/auth/challenge', { pubkey: 7 });
	eq(v.status, 400, 'pubkey of the wrong type');

	// JWT attacks.
	const auth = (t) => ({ authorization: 'Bearer ' + t });
	let r = await http(srv, 'GET', '/balances', undefined, auth(tok));
	eq(r.status, 200, 'token works');
	const [h, p, s] = tok.split('.');
	const pl = JSON.parse(Buffer.from(p, 'base64url').toString());
	pl.sub = other.publicKeyString.get();
	r = await http(srv, 'GET', '/balances', undefined,
	    auth(h + '.' + b64url(JSON.stringify(pl)) + '.' + s));
	eq(r.status, 401, 'tampered payload');
	r = await http(srv, 'GET', '/balances', undefined,
	    auth(h + '.' + p + '.' + s.slice(0, -2) + (s.endsWith('AA') ? 'BA' : 'AA')));
	eq(r.status, 401, 'tampered signature');
	r = await http(srv, 'GET', '/balances', undefined, auth(b64url(
	    JSON.stringify({ alg: 'none', typ: 'JWT' })) + '.' + p + '.'));
	eq(r.status, 401, 'alg none');
	const expired = forgeToken(srv, { sub: pub, iat: 1, exp:
	    Math.floor(Date.now() / 1000) - 10, jti: 'x' });
	r = await http(srv, 'GET', '/balances', undefined, auth(expired));
	eq(r.status, 401, 'expired token');
	ok(/expired/.test(r.json.error.message), 'expired message');
	const fresh = forgeToken(srv, { sub: pub, iat: 1, exp:
	    Math.floor(Date.now() / 1000) + 100, jti: 'y' });
	r = await http(srv, 'GET', '/balances', undefined, auth(fresh));
	eq(r.status, 200, 'control: a fresh token signed by the server');
	r = await http(srv, 'GET', '/balances');
	eq(r.status, 401, 'no token');
	r = await http(srv, 'GET', '/balances', undefined,
	    { authorization: 'Basic abc' });
	eq(r.status, 401, 'not a bearer token');
}

async function testTrading(srv) {
	const A = await L.login(srv, L.newAccount());
	const B = await L.login(srv, L.newAccount(
	    Account.AccountKeyAlgorithm.ECDSA_SECP256K1));
	// Demo funds arrive through the deposit path in the next batch.
	for (const u of [A, B])
		await L.waitFor(async () => {
			const b = await http(srv, 'GET', '/balances', undefined, u.auth);
			return bal(b, 'KTA') && bal(b, 'USDC');
		}, 'demo funds');
	let b = await http(srv, 'GET', '/balances', undefined, A.auth);
	eq(bal(b, 'KTA'), { available: '1000', total: '1000' }, 'A funded KTA');
	eq(bal(b, 'USDC'), { available: '100000', total: '100000' }, 'A funded USDC');
	let d = await http(srv, 'GET', '/deposits', undefined, A.auth);
	eq(d.json.deposits.length, 3, 'three demo deposits (KTA, USDC, HLT)');
	eq(d.json.deposits[0].status, 'credited', 'deposit credited');

	// A rests a sell; B takes part of it.
	let r = await http(srv, 'POST', '/orders/place', { market: 'KTA-USDC',
	    side: 'sell', type: 'limit', price: '2.5', qty: '10',
	    client_id: 'a-1' }, A.auth);
	eq(r.status, 200, 'A places');
	const aid = r.json.order.id;
	eq(r.json.order.status, 'open', 'A order open');
	eq(r.json.order.remaining, '10', 'A remaining');
	eq(r.json.fills, [], 'no fills for A');
	b = await http(srv, 'GET', '/balances', undefined, A.auth);
	eq(bal(b, 'KTA'), { available: '990', total: '1000' }, 'A reserved 10 KTA');

	r = await http(srv, 'POST', '/orders/place', { market: 'KTA-USDC',
	    side: 'buy', price: '2.6', qty: '4' }, B.auth);
	eq(r.status, 200, 'B places');
	eq(r.json.order.status, 'filled', 'B filled');
	eq(r.json.fills.length, 1, 'B one fill');
	const f = r.json.fills[0] || {};
	eq([f.price, f.qty, f.fee, f.fee_token, f.liquidity, f.side],
	    ['2.5', '4', '0.005', 'USDC', 'taker', 'buy'], 'B fill');

	b = await http(srv, 'GET', '/balances', undefined, B.auth);
	eq(bal(b, 'KTA'), { available: '1004', total: '1004' }, 'B got 4 KTA');
	eq(bal(b, 'USDC'), { available: '99989.995', total: '99989.995' },
	    'B paid 10 USDC + 0.005 fee');
	b = await http(srv, 'GET', '/balances', undefined, A.auth);
	eq(bal(b, 'KTA'), { available: '990', total: '996' }, 'A sold 4 KTA');
	eq(bal(b, 'USDC'), { available: '100010.001', total: '100010.001' },
	    'A got 10 USDC + 0.001 rebate');

	r = await http(srv, 'GET', '/orders/' + aid, undefined, A.auth);
	eq([r.json.order.status, r.json.order.filled, r.json.order.remaining],
	    ['partially_filled', '4', '6'], 'A order partially filled');
	r = await http(srv, 'GET', '/orders/by-client-id/a-1', undefined, A.auth);
	eq(r.json.order && r.json.order.id, aid, 'order by client id');
	r = await http(srv, 'GET', '/fills', undefined, A.auth);
	eq(r.json.fills.map((x) => [x.liquidity, x.fee, x.side]),
	    [['maker', '-0.001', 'sell']], 'A fills');
	r = await http(srv, 'GET', '/markets/KTA-USDC/trades?limit=5');
	eq(r.json.trades.map((t) => [t.price, t.qty, t.taker_side]),
	    [['2.5', '4', 'buy']], 'public trades');
	r = await http(srv, 'GET', '/markets/KTA-USDC/book?depth=5');
	eq([r.json.asks, r.json.bids], [[['2.5', '6']], []], 'book');
	ok(typeof r.json.seq === 'number' && r.json.seq > 0, 'book seq');
	r = await http(srv, 'GET', '/markets/KTA-USDC/ticker');
	eq([r.json.last, r.json.best_ask, r.json.best_bid, r.json.volume_24h],
	    ['2.5', '2.5', null, '4'], 'ticker');
	r = await http(srv, 'GET', '/markets/KTA-USDC/candles?interval=1m');
	eq(r.json.candles.length, 1, 'one candle');
	eq([r.json.candles[0].o, r.json.candles[0].v], ['2.5', '4'], 'candle');
	r = await http(srv, 'GET', '/markets/KTA-USDC/candles?interval=2m');
	eq(r.status, 400, 'bad candle interval');

	// Another user's order.
	r = await http(srv, 'POST', '/orders/cancel', { id: aid }, B.auth);
	eq([r.status, r.json.error.code], [404, 'not_found'], "cancel another user's order");
	r = await http(srv, 'GET', '/orders/' + aid, undefined, B.auth);
	eq(r.status, 404, "read another user's order");
	r = await http(srv, 'POST', '/orders/amend', { id: aid, qty: '1' }, B.auth);
	eq(r.status, 404, "amend another user's order");

	// Amend down keeps the order; cancel releases the reservation.
	r = await http(srv, 'POST', '/orders/amend', { id: aid, qty: '5' }, A.auth);
	eq(r.status, 200, 'amend');
	eq(r.json.order && r.json.order.remaining, '5', 'amended remaining');
	r = await http(srv, 'POST', '/orders/cancel', { client_id: 'a-1' }, A.auth);
	eq([r.status, r.json.cancelled], [200, [aid]], 'cancel by client id');
	r = await http(srv, 'POST', '/orders/cancel', { id: aid }, A.auth);
	eq(r.status, 409, 'cancel twice');
	b = await http(srv, 'GET', '/balances', undefined, A.auth);
	eq(bal(b, 'KTA'), { available: '996', total: '996' }, 'A reservation released');

	// Cancel-all and the open/closed filters.
	for (const p of ['1', '1.1', '1.2']) {
		r = await http(srv, 'POST', '/orders/place', { market: 'KTA-USDC',
		    side: 'buy', price: p, qty: '1' }, B.auth);
		eq(r.status, 200, 'B bid ' + p);
	}
	r = await http(srv, 'GET', '/orders?status=open', undefined, B.auth);
	eq(r.json.orders.length, 3, 'three open');
	r = await http(srv, 'POST', '/orders/cancel-all', { market: 'KTA-USDC' }, B.auth);
	eq([r.status, r.json.cancelled.length], [200, 3], 'cancel-all');
	r = await http(srv, 'GET', '/orders?status=open', undefined, B.auth);
	eq(r.json.orders.length, 0, 'none open');
	r = await http(srv, 'GET', '/orders?status=closed&market=KTA-USDC', undefined, B.auth);
	eq(r.json.orders.length, 4, 'four closed');
	b = await http(srv, 'GET', '/balances', undefined, B.auth);
	eq(bal(b, 'USDC'), { available: '99989.995', total: '99989.995' },
	    'B reservations released');

	// Market order with a client id, FOK with no liquidity.
	r = await http(srv, 'POST', '/orders/place', { market: 'KTA-USDC',
	    side: 'buy', type: 'market', qty: '1' }, B.auth);
	eq(r.status >= 400 && r.json.error.code, 'no_liquidity', 'market order on an empty side');
	return { A, B };
}

async function testBadInput(srv, A) {
	const place = (body, auth = A.auth) => http(srv, 'POST', '/orders/place', body, auth);
	const good = { market: 'KTA-USDC', side: 'buy', price: '1', qty: '1' };
	const cases = [
		['malformed JSON', '{"market":', 400, 'bad_json'],
		['trailing garbage', JSON.stringify(good) + 'x', 400, 'bad_json'],
		['not an object', '[1,2]', 400, 'bad_request'],
		['unknown field', Object.assign({}, good, { colour: 'red' }), 400, 'unknown_field'],
		['duplicate field', '{"market":"KTA-USDC","side":"buy","price":"1","qty":"1","qty":"2"}', 400, 'bad_request'],
		['price as number', Object.assign({}, good, { price: 1 }), 400, 'bad_price'],
		['qty as number', Object.assign({}, good, { qty: 1 }), 400, 'bad_amount'],
		['side wrong', Object.assign({}, good, { side: 'hold' }), 400, 'bad_request'],
		['side missing', { market: 'KTA-USDC', price: '1', qty: '1' }, 400, 'bad_request'],
		['post_only string', Object.assign({}, good, { post_only: 'yes' }), 400, 'bad_request'],
		['too many price decimals', Object.assign({}, good, { price: '1.00001' }), 400, 'bad_price'],
		['too many qty decimals', Object.assign({}, good, { qty: '1.001' }), 400, 'bad_amount'],
		['negative qty', Object.assign({}, good, { qty: '-1' }), 400, 'bad_amount'],
		['zero price', Object.assign({}, good, { price: '0' }), 400, 'bad_price'],
		['exponent', Object.assign({}, good, { price: '1e2' }), 400, 'bad_price'],
		['unknown market', Object.assign({}, good, { market: 'DOGE-USDC' }), 404, 'unknown_market'],
		['halted market', Object.assign({}, good, { market: 'HLT-USDC' }), 409, 'market_halted'],
		['insufficient funds', Object.assign({}, good, { qty: '1000000' }), 400, 'insufficient_funds'],
		['market order with price', { market: 'KTA-USDC', side: 'buy', type: 'market', price: '1', qty: '1' }, 400, 'bad_request'],
		['expire_at in the past', Object.assign({}, good, { expire_at: 1000 }), 400, 'bad_request'],
		['bad client id', Object.assign({}, good, { client_id: 'has space' }), 400, 'bad_request'],
	];
	const before = await http(srv, 'GET', '/balances', undefined, A.auth);
	const ordersBefore = await http(srv, 'GET', '/orders?status=all', undefined, A.auth);
	for (const [what, body, status, code] of cases) {
		const r = await place(body);
		eq([r.status, r.json && r.json.error && r.json.error.code], [status, code], what);
		ok(r.json && typeof r.json.error.message === 'string', what + ': message');
	}
	const after = await http(srv, 'GET', '/balances', undefined, A.auth);
	eq(after.json, before.json, 'bad input changed no balance');
	const ordersAfter = await http(srv, 'GET', '/orders?status=all', undefined, A.auth);
	eq(ordersAfter.json.orders.length, ordersBefore.json.orders.length,
	    'bad input left no order');

	// Oversized body: bounded, answered, nothing read past the bound.
	const big = JSON.stringify(Object.assign({}, good, { pad: 'x'.repeat(70000) }));
	let r = await place(big);
	eq([r.status, r.json && r.json.error.code], [413, 'too_large'], 'oversized body');

	// A chunked body is refused at once, not waited for.
	const raw = await new Promise((resolve) => {
		const sock = require('net').connect(srv.port, '127.0.0.1', () => {
			sock.write('POST /auth/challenge HTTP/1.1\r\nHost: x\r\n' +
			    'Transfer-Encoding: chunked\r\n\r\n5\r\n{\"a\"\r\n');
		});
		let got = '';
		sock.on('data', (d) => { got += d; });
		sock.on('close', () => resolve(got));
		setTimeout(() => { sock.destroy(); resolve(got); }, 5000);
	});
	ok(/^HTTP\/1\.1 411/.test(raw) && /bad_request/.test(raw), 'chunked body refused: ' + raw.slice(0, 40));

	r = await http(srv, 'GET', '/markets/NOPE-USDC/book');
	eq([r.status, r.json.error.code], [404, 'unknown_market'], 'unknown market book');
	r = await http(srv, 'GET', '/markets/KTA-USDC/book?depth=abc');
	eq(r.status, 400, 'bad depth');
	r = await http(srv, 'GET', '/orders?status=weird', undefined, A.auth);
	eq(r.status, 400, 'bad status filter');
	r = await http(srv, 'GET', '/nope');
	eq([r.status, r.json.error.code], [404, 'not_found'], 'unknown route');
	r = await http(srv, 'GET', '/auth/challenge');
	eq(r.status, 405, 'wrong method');
	r = await http(srv, 'GET', '/orders/99999999', undefined, A.auth);
	eq(r.status, 404, 'unknown order');
	r = await http(srv, 'POST', '/withdrawals/request', { token: 'USDC',
	    amount: '1.0000001', to: A.user }, A.auth);
	eq([r.status, r.json.error.code], [400, 'bad_amount'], 'withdrawal decimals');
	r = await http(srv, 'POST', '/withdrawals/request', { token: 'USDC',
	    amount: '99999999', to: A.user }, A.auth);
	eq([r.status, r.json.error.code], [400, 'insufficient_funds'], 'withdrawal too big');
	r = await http(srv, 'POST', '/withdrawals/request', { token: 'USDC',
	    amount: '1', to: 'keeta_nope' }, A.auth);
	eq(r.status, 400, 'withdrawal to a bad address');
	r = await http(srv, 'POST', '/withdrawals/request', { token: 'USDC',
	    amount: '1.5', to: A.user }, A.auth);
	eq(r.status, 200, 'withdrawal request');
	const wid = r.json.withdrawal && r.json.withdrawal.id;
	eq(r.json.withdrawal && r.json.withdrawal.amount, '1.5', 'withdrawal amount');
	r = await http(srv, 'GET', '/withdrawals/' + wid, undefined, A.auth);
	eq(r.status, 200, 'withdrawal by id');
	r = await http(srv, 'GET', '/deposits/address', undefined, A.auth);
	eq([r.status, r.json.error.code], [409, 'conflict'], 'no storage account yet');

	r = await http(srv, 'GET', '/metrics');
	ok(/kdexd_orders_total\{result="placed"\} [1-9]/.test(r.text), 'metrics count orders');
	eq(r.headers.get('content-type').startsWith('text/plain'), true, 'metrics content type');
	r = await http(srv, 'GET', '/health');
	eq([r.status, r.json.status, r.json.version], [200, 'ok', '0.1.0'], 'health');
	r = await http(srv, 'GET', '/info');
	ok(/^keeta_/.test(r.json.operator) && r.json.representatives.length === 1 &&
	    r.json.markets.length === 2 && /^keeta_/.test(r.json.markets[0].base.token),
	    'info');
	// The embedded devnet answers like a representative.
	const rep = await fetch(r.json.representatives[0] + '/node/ledger');
	ok(rep.status < 500, 'representative URL answers');
}

async function testRateLimit() {
	const srv = await L.startServer({ config: 'demo-maker no\nrate-ip 2\nburst-ip 3\n' });
	let limited = null;
	for (let i = 0; i < 10 && !limited; i++) {
		const r = await http(srv, 'GET', '/markets');
		if (r.status === 429)
			limited = r;
	}
	ok(limited !== null, 'per-IP rate limit answers 429');
	if (limited) {
		eq(limited.json.error.code, 'rate_limited', '429 code');
		ok(Number(limited.headers.get('retry-after')) >= 1, 'Retry-After');
	}
	const h = await http(srv, 'GET', '/health');
	eq(h.status, 200, 'health is not rate limited');
	await L.stopServer(srv);

	// Per user: another user (same IP) is not affected.
	const srv2 = await L.startServer({ config: 'demo-maker no\nrate-user 2\nburst-user 3\n' });
	const U = await L.login(srv2, L.newAccount()), V = await L.login(srv2, L.newAccount());
	limited = null;
	for (let i = 0; i < 10 && !limited; i++) {
		const r = await http(srv2, 'GET', '/orders', undefined, U.auth);
		if (r.status === 429)
			limited = r;
	}
	ok(limited !== null && limited.json.error.code === 'rate_limited' &&
	    Number(limited.headers.get('retry-after')) >= 1, 'per-user rate limit');
	const v = await http(srv2, 'GET', '/orders', undefined, V.auth);
	eq(v.status, 200, 'another user is not limited');
	await L.stopServer(srv2);
}

L.main(async () => {
	const srv = await L.startServer({ config: CONFIG });
	await testLogin(srv);
	const { A } = await testTrading(srv);
	await testBadInput(srv, A);
	const r = await L.stopServer(srv);
	eq(r.code, 0, 'SIGTERM: clean exit');
	await testRateLimit();
});
