#!/usr/bin/env node
// mmbot.js: reference market-making bot for kdex (issue 8; engineer J).
//
// Uses only the public API (doc/api.md, doc/lp.md) with a signed API key of
// scope trade: every cycle it re-arms the dead-man's switch, cancels its
// previous quotes in one batch and places a fresh ladder around a reference
// price in one batch. If the bot dies, the switch cancels its quotes.
// Prices are exact: decimal strings are turned into integer ticks (BigInt);
// no floating point touches a price or a quantity.
//
//   KDEX_API_KEY=<id> KDEX_API_SECRET=<secret> node contrib/mmbot.js \
//       --url http://127.0.0.1:8080 --market KTA-USDC --mid 2.5 \
//       [--spread-bps 50] [--step-bps 20] [--levels 3] [--qty 1] \
//       [--interval-ms 1000] [--dead-man-s 10] [--iterations N]
//
// The reference price is the market's last trade (GET /markets/P/ticker),
// else --mid. Node 18 or later (global fetch); no packages needed.
'use strict';
const crypto = require('crypto');

function usage(msg) {
	if (msg)
		process.stderr.write('mmbot: ' + msg + '\n');
	process.stderr.write('usage: mmbot --url URL --market PAIR --mid PRICE ' +
	    '[--spread-bps N] [--step-bps N] [--levels N] [--qty Q] ' +
	    '[--interval-ms N] [--dead-man-s N] [--iterations N]\n' +
	    '(KDEX_API_KEY and KDEX_API_SECRET in the environment)\n');
	process.exit(2);
}

function parseArgs(argv) {
	const o = { spreadBps: 50n, stepBps: 20n, levels: 3, qty: '1',
	    intervalMs: 1000, deadManS: 10, iterations: 0 };
	const ints = { '--spread-bps': 'spreadBps', '--step-bps': 'stepBps' };
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i], v = argv[i + 1];
		if (v === undefined)
			usage('missing value for ' + a);
		i++;
		if (a === '--url') o.url = v.replace(/\/$/, '');
		else if (a === '--market') o.market = v;
		else if (a === '--mid') o.mid = v;
		else if (a === '--qty') o.qty = v;
		else if (ints[a]) {
			if (!/^\d+$/.test(v)) usage(a + ' wants an integer');
			o[ints[a]] = BigInt(v);
		} else if (a === '--levels' || a === '--interval-ms' ||
		    a === '--dead-man-s' || a === '--iterations') {
			if (!/^\d+$/.test(v)) usage(a + ' wants an integer');
			const k = { '--levels': 'levels', '--interval-ms': 'intervalMs',
			    '--dead-man-s': 'deadManS', '--iterations': 'iterations' }[a];
			o[k] = Number(v);
		} else
			usage('unknown option ' + a);
	}
	if (!o.url || !o.market || !o.mid)
		usage('--url, --market and --mid are needed');
	if (o.levels < 1 || o.levels > 10)
		usage('--levels from 1 to 10 (a batch holds 20 orders)');
	o.key = process.env.KDEX_API_KEY;
	o.secret = process.env.KDEX_API_SECRET;
	if (!o.key || !o.secret)
		usage('KDEX_API_KEY and KDEX_API_SECRET must be set');
	return o;
}

// Decimal string <-> integer count of 10^-scale.
function toScaled(s, scale) {
	const m = /^(\d+)(?:\.(\d+))?$/.exec(s);
	if (!m)
		throw new Error('not a decimal: ' + s);
	const frac = (m[2] || '').replace(/0+$/, '');
	if (frac.length > scale)
		throw new Error(s + ' has more than ' + scale + ' decimals');
	return BigInt(m[1]) * 10n ** BigInt(scale) +
	    BigInt((frac + '0'.repeat(scale)).slice(0, scale) || '0');
}
function fromScaled(v, scale) {
	const p = 10n ** BigInt(scale);
	const i = v / p, f = (v % p).toString().padStart(scale, '0')
	    .replace(/0+$/, '');
	return f ? i + '.' + f : i.toString();
}
function decimals(s) {
	const d = s.split('.')[1];
	return d ? d.replace(/0+$/, '').length : 0;
}

class Client {
	constructor(o) { this.o = o; this.lastTs = 0; }
	async req(method, path, body) {
		// A signature is good once: never reuse a millisecond.
		let ts = Date.now();
		if (ts <= this.lastTs)
			ts = this.lastTs + 1;
		this.lastTs = ts;
		const b = body === undefined ? '' : JSON.stringify(body);
		const sig = crypto.createHmac('sha256', this.o.secret)
		    .update(String(ts) + method + path + b).digest('hex');
		const h = { authorization: `KDEX-HMAC key=${this.o.key},ts=${ts},sig=${sig}` };
		if (body !== undefined)
			h['content-type'] = 'application/json';
		const r = await fetch(this.o.url + path, { method, headers: h,
		    body: body === undefined ? undefined : b });
		const j = await r.json().catch(() => null);
		if (r.status !== 200)
			throw new Error(`${method} ${path}: ${r.status} ` +
			    JSON.stringify(j && j.error));
		return j;
	}
	async pub(path) {
		const r = await fetch(this.o.url + path);
		if (r.status !== 200)
			throw new Error(`GET ${path}: ${r.status}`);
		return r.json();
	}
}

// The ladder around mid (in units of 10^-scale), on the tick grid: bids
// rounded down, asks rounded up, so the spread is never below --spread-bps.
function ladder(o, mid, tick) {
	const out = [];
	for (let i = 0; i < o.levels; i++) {
		const bps = o.spreadBps / 2n + o.stepBps * BigInt(i);
		let bid = mid * (10000n - bps) / 10000n;
		bid -= bid % tick;
		let ask = mid * (10000n + bps);
		ask = (ask + 9999n) / 10000n;
		if (ask % tick !== 0n)
			ask += tick - ask % tick;
		if (bid > 0n)
			out.push(['buy', bid, i]);
		out.push(['sell', ask, i]);
	}
	return out;
}

async function main() {
	const o = parseArgs(process.argv.slice(2));
	const c = new Client(o);
	const { markets } = await c.pub('/markets');
	const m = markets.find((x) => x.pair === o.market);
	if (!m)
		throw new Error('unknown market ' + o.market);
	const scale = Math.max(decimals(m.tick_size), decimals(o.mid));
	const tick = toScaled(m.tick_size, scale);
	let live = [];
	let stopping = false;
	const stop = async () => {
		if (stopping)
			return;
		stopping = true;
		try {
			await c.req('POST', '/orders/cancel-all', { market: o.market });
			await c.req('POST', '/orders/cancel-all-after', { timeout_s: 0 });
		} catch (e) { process.stderr.write('mmbot: ' + e.message + '\n'); }
		process.exit(0);
	};
	process.on('SIGINT', stop);
	process.on('SIGTERM', stop);
	for (let n = 1; !stopping; n++) {
		const t0 = Date.now();
		try {
			await c.req('POST', '/orders/cancel-all-after',
			    { timeout_s: o.deadManS });
			const tk = await c.pub(`/markets/${o.market}/ticker`);
			const ref = tk.last && decimals(tk.last) <= scale ?
			    tk.last : o.mid;
			const mid = toScaled(ref, scale);
			if (live.length > 0) {
				const r = await c.req('POST', '/orders/batch-cancel',
				    { orders: live.map((id) => ({ client_id: id })) });
				for (const x of r.results)
					if (x.status !== 200 && x.status !== 404)
						process.stderr.write('mmbot: cancel: ' +
						    JSON.stringify(x.error) + '\n');
			}
			const orders = ladder(o, mid, tick).map(([side, p, i]) => ({
			    market: o.market, side, type: 'limit',
			    price: fromScaled(p, scale), qty: o.qty, post_only: true,
			    client_id: `mm-${n}-${side[0]}${i}` }));
			const r = await c.req('POST', '/orders/batch-place', { orders });
			live = [];
			let placed = 0;
			r.results.forEach((x, i) => {
				if (x.status === 200) {
					placed++;
					live.push(orders[i].client_id);
				} else
					process.stderr.write('mmbot: place ' +
					    orders[i].price + ': ' +
					    JSON.stringify(x.error) + '\n');
			});
			process.stdout.write(`cycle ${n} ref ${ref} placed ${placed}/` +
			    `${orders.length}\n`);
		} catch (e) {
			process.stderr.write('mmbot: ' + e.message + '\n');
		}
		if (o.iterations > 0 && n >= o.iterations)
			break;
		const wait = o.intervalMs - (Date.now() - t0);
		if (wait > 0)
			await new Promise((r) => setTimeout(r, wait));
	}
}

main().catch((e) => {
	process.stderr.write('mmbot: ' + e.message + '\n');
	process.exit(1);
});
