// kdexd-tiers.js: fee tiers by 30-day traded volume (issue 8) against the
// real kdexd (embedded devnet, no demo maker) and kdex-console:
//   - `markets set-tiers` stores a table that GET /markets and
//     `markets show` publish; tables above the base rates are refused, and
//     so is set-fees below a tier;
//   - a user who crosses a volume threshold is charged the new tier from
//     the next fill (the crossing fill itself at the old one), and each
//     fill records the tier and rate of its side (GET /fills, WS fills);
//   - a table changed from the console applies from the next fill;
//   - after a restart the table and everyone's tier are back (volumes are
//     counted again from the ledger's fills).
// Amounts are compared as exact decimal strings.
'use strict';
const L = require('./kdexd-lib.js');
const path = require('path');
const { spawnSync } = require('child_process');
const { ok, eq, http } = L;

const BUILD = process.env.KDEX_BUILDDIR || process.cwd();
// Base rates: maker rebate 100 ppm, taker fee 500 ppm.
const CONFIG = `
demo-maker no
rate-ip 100000
burst-ip 100000
rate-user 100000
burst-user 100000
market KTA-USDC base_decimals=9 quote_decimals=6 tick_size=0.0001 lot_size=0.01 min_size=0.01 maker_fee_ppm=-100 taker_fee_ppm=500
`;

function kc(srv, ...args) {
	const r = spawnSync(path.join(BUILD, 'kdex-console'), ['--url',
	    srv.adminBase, '--admin-key-file', path.join(srv.data,
	    'admin.key'), ...args], { encoding: 'utf8', input: '' });
	return { status: r.status, out: r.stdout, err: r.stderr };
}

async function funded(srv, u) {
	await L.waitFor(async () => {
		const b = await http(srv, 'GET', '/balances', undefined, u.auth);
		return b.json.balances.length >= 2;
	}, 'demo funds');
}

async function usdc(srv, u) {
	const b = await http(srv, 'GET', '/balances', undefined, u.auth);
	return b.json.balances.find((x) => x.symbol === 'USDC').available;
}

// Exact decimal difference a - b of 6-decimal strings, as a string.
function sub6(a, b) {
	const v = (s) => {
		const [i, f = ''] = s.split('.');
		return BigInt(i) * 1000000n + BigInt((f + '000000').slice(0, 6));
	};
	let d = v(a) - v(b);
	const neg = d < 0n;
	if (neg)
		d = -d;
	let f = (d % 1000000n).toString().padStart(6, '0').replace(/0+$/, '');
	return (neg ? '-' : '') + (d / 1000000n).toString() +
	    (f ? '.' + f : '');
}

// A sells 2 KTA at 3, B buys them: one fill of notional 6 USDC. Returns
// the two sides' newest fill.
async function trade(srv, A, B) {
	let r = await http(srv, 'POST', '/orders/place', { market: 'KTA-USDC',
	    side: 'sell', price: '3', qty: '2' }, A.auth);
	eq(r.status, 200, 'maker sell');
	r = await http(srv, 'POST', '/orders/place', { market: 'KTA-USDC',
	    side: 'buy', price: '3', qty: '2' }, B.auth);
	eq(r.status, 200, 'taker buy');
	eq(r.json.order.status, 'filled', 'taker filled');
	const fa = (await http(srv, 'GET', '/fills?market=KTA-USDC', undefined,
	    A.auth)).json.fills[0];
	const fb = (await http(srv, 'GET', '/fills?market=KTA-USDC', undefined,
	    B.auth)).json.fills[0];
	eq(fa.id, fb.id, 'the same fill on both sides');
	return { maker: fa, taker: fb };
}

function charged(f, what, tier, ppm, fee) {
	eq([f.fee_tier, f.fee_ppm, f.fee], [tier, ppm, fee], what);
}

L.main(async () => {
	let srv = await L.startServer({ config: CONFIG });
	const A = await L.login(srv, L.newAccount());
	const B = await L.login(srv, L.newAccount());
	await funded(srv, A);
	await funded(srv, B);

	// ---- the table: refused ones change nothing.
	let r = kc(srv, '-c', 'markets set-tiers KTA-USDC 10:-100:600');
	eq(r.status, 1, 'a tier above the base taker rate is refused');
	ok(/above the base rates/.test(r.err), 'says why: ' + r.err);
	r = kc(srv, '-c', 'markets set-tiers KTA-USDC 10:-300:200');
	eq(r.status, 1, 'a rebate above the lowest taker rate is refused');
	ok(/rebate/.test(r.err), 'says why: ' + r.err);
	r = kc(srv, '-c', 'markets set-tiers KTA-USDC 10:-150:300,5:-200:200');
	eq(r.status, 1, 'volumes must increase');
	r = kc(srv, '-c', 'markets set-tiers KTA-USDC 10:-150:x');
	eq(r.status, 2, 'a bad rate is a usage error');
	let m = (await http(srv, 'GET', '/markets')).json.markets[0];
	eq(m.fee_tiers, [{ tier: 0, min_volume: '0', maker_fee_ppm: -100,
	    taker_fee_ppm: 500 }], 'no tiers yet: tier 0 is the base rates');

	// Tier 1 from 10 USDC of 30-day volume, tier 2 from 1000.
	r = kc(srv, '-c', 'markets set-tiers KTA-USDC 10:-150:300,1000:-200:200');
	eq(r.status, 0, 'set-tiers: ' + r.err);
	ok(/^1\t10\t-150\t300$/m.test(r.out), 'set-tiers shows the table');
	m = (await http(srv, 'GET', '/markets')).json.markets[0];
	eq(m.fee_tiers.map((t) => [t.tier, t.min_volume, t.maker_fee_ppm,
	    t.taker_fee_ppm]), [[0, '0', -100, 500], [1, '10', -150, 300],
	    [2, '1000', -200, 200]], 'GET /markets publishes the tiers');
	r = kc(srv, '-c', 'markets show KTA-USDC');
	eq(r.status, 0, 'markets show');
	ok(/^2\t1000\t-200\t200$/m.test(r.out), 'markets show lists tiers');
	r = kc(srv, '-c', 'markets set-fees KTA-USDC -100 250');
	eq(r.status, 1, 'set-fees below tier 1\'s taker rate is refused');
	ok(/fee tiers/.test(r.err), 'says why: ' + r.err);

	// WS fills of B, to see the tier there too.
	const ws = await L.wsClient(srv);
	ws.send({ op: 'auth', token: B.token });
	await ws.wait((x) => x.type === 'authenticated', 'authenticated');
	ws.send({ op: 'subscribe', channel: 'fills' });
	await ws.wait((x) => x.type === 'subscribed', 'fills subscribed');

	// ---- crossing a threshold: 6 USDC, then 12 (crossed by fill 2).
	let f = await trade(srv, A, B);
	charged(f.taker, 'fill 1 taker at tier 0', 0, 500, '0.003');
	charged(f.maker, 'fill 1 maker rebate at tier 0', 0, -100, '-0.0006');
	const w = await ws.wait((x) => x.type === 'fill' &&
	    x.fill.id === f.taker.id, 'WS fill 1');
	eq([w.fill.fee_tier, w.fill.fee_ppm], [0, 500], 'WS fill shows tier');
	f = await trade(srv, A, B);
	charged(f.taker, 'the crossing fill is still tier 0', 0, 500, '0.003');
	charged(f.maker, 'maker too', 0, -100, '-0.0006');
	const before = await usdc(srv, B);
	f = await trade(srv, A, B);
	charged(f.taker, 'next fill: taker at tier 1', 1, 300, '0.0018');
	charged(f.maker, 'next fill: maker rebate at tier 1', 1, -150,
	    '-0.0009');
	eq(sub6(before, await usdc(srv, B)), '6.0018',
	    'B paid notional + tier-1 fee exactly');
	const w3 = await ws.wait((x) => x.type === 'fill' &&
	    x.fill.id === f.taker.id, 'WS fill 3');
	eq([w3.fill.fee_tier, w3.fill.fee_ppm, w3.fill.fee], [1, 300,
	    '0.0018'], 'WS fill 3 at tier 1');
	ws.ws.close();

	// ---- a table change from the console: from the next fill.
	r = kc(srv, '-c', 'markets set-tiers KTA-USDC 10:-120:250');
	eq(r.status, 0, 'change the table: ' + r.err);
	f = await trade(srv, A, B);
	charged(f.taker, 'new table, taker', 1, 250, '0.0015');
	charged(f.maker, 'new table, maker (0.00072 rounds down)', 1, -120,
	    '-0.00072');
	r = kc(srv, '-c', 'markets set-tiers KTA-USDC 30:-120:250');
	eq(r.status, 0, 'raise the threshold above their 24 USDC');
	f = await trade(srv, A, B);
	charged(f.taker, 'back to tier 0 below the new threshold', 0, 500,
	    '0.003');
	// Now 30 each: tier 1 again from the next fill.

	// ---- a restart: the table and the tiers come back from the ledger.
	await L.stopServer(srv);
	srv = await L.startServer({ config: CONFIG, data: srv.data });
	m = (await http(srv, 'GET', '/markets')).json.markets[0];
	eq(m.fee_tiers.length, 2, 'the table survives a restart');
	f = await trade(srv, A, B);
	charged(f.taker, 'after a restart: tier from counted volume', 1, 250,
	    '0.0015');

	// The audit log has the table changes.
	r = kc(srv, '-c', 'audit search --action correction');
	ok(/fee tiers KTA-USDC 30:-120:250/.test(r.out),
	    'audited: ' + r.out + r.err);

	// None: the base rates for everyone.
	r = kc(srv, '-c', 'markets set-tiers KTA-USDC none');
	eq(r.status, 0, 'remove the tiers');
	f = await trade(srv, A, B);
	charged(f.taker, 'no tiers: base rate', 0, 500, '0.003');
	await L.stopServer(srv);
	ok(!/ERROR: AddressSanitizer|runtime error|LeakSanitizer/
	    .test(srv.stderr()), "no sanitizer report: " + srv.stderr().slice(0, 3000));
});
