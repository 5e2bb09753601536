// kdexd-chaos.js: the crash and outage campaigns of issue 5.
//
//   node kdexd-chaos.js crash    kill -9 kdexd at random moments (>= 30
//                                times) while deposits arrive on chain,
//                                trades cross and withdrawals are asked for
//   node kdexd-chaos.js outage   the devnet stopped (SIGSTOP) and then
//                                killed and restarted on its data dir while
//                                users trade and withdraw
//
// Real binaries only: an external kdex-devnet with its own data dir (so the
// chain outlives kdexd), kdexd on top of it with --keeta-api, users whose
// storage accounts the official SDK creates. At the end the chain is read
// back with the SDK and compared with the ledger (admin API): every
// deposit credited once, every withdrawal sent once, every batch applied
// once, each storage account holding exactly its ledger total, the
// operator exactly the fees, reconciliation and the ledger check ok.
// The seed is printed; KDEX_CHAOS_SEED=N replays the same choices.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const readline = require('readline');
const { spawn, spawnSync } = require('child_process');
const L = require('./kdexd-lib.js');
const { http, sleep } = L;

let failures = 0, checks = 0;
function ok(cond, what) {
	checks++;
	if (!cond) {
		failures++;
		console.log('FAIL: ' + what);
	}
	return !!cond;
}
function eq(a, b, what) {
	const j = (v) => JSON.stringify(v, (k, x) => typeof x === 'bigint' ?
	    String(x) : x);
	return ok(j(a) === j(b), what + ': got ' + j(a) + ', want ' + j(b));
}

const KeetaNet = require(path.join(process.env.KDEX_SRCDIR ||
    path.resolve(__dirname, '..'), 'tests/conformance/node_modules',
    '@keetanetwork/keetanet-client'));
const { Account, Permissions } = KeetaNet.lib;
const SET = KeetaNet.lib.Block.AdjustMethod.SET;
const SUBTRACT = KeetaNet.lib.Block.AdjustMethod.SUBTRACT;
const STORAGE = Account.AccountKeyAlgorithm.STORAGE;
const BUILD = process.env.KDEX_BUILDDIR || process.cwd();

const MODE = process.argv[2] || 'crash';
const KILLS = Number(process.env.KDEX_CHAOS_KILLS || 30);
const SEED = Number(process.env.KDEX_CHAOS_SEED ||
    Math.floor(Math.random() * 2 ** 31));
const FSEED = '7a'.repeat(32);
const RSEED = '7b'.repeat(32);

// mulberry32: small, seedable, good enough to pick delays and amounts.
let rs = SEED >>> 0;
function rnd() {
	rs = (rs + 0x6d2b79f5) >>> 0;
	let t = rs;
	t = Math.imul(t ^ (t >>> 15), t | 1);
	t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
	return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const rint = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));
const pick = (a) => a[Math.floor(rnd() * a.length)];

const T = fs.mkdtempSync(path.join(os.tmpdir(), 'kdex-chaos-'));
const procs = new Set();
function cleanup() {
	for (const p of procs)
		try { p.kill('SIGKILL'); } catch (e) { /* gone */ }
	if (!process.env.KDEX_CHAOS_KEEP)
		fs.rmSync(T, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const s of ['SIGINT', 'SIGTERM'])
	process.on(s, () => process.exit(1));

function log(...a) {
	console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);
}
const t0 = Date.now();

// ------------------------------ processes ------------------------------

// The devnet on a fixed port and data dir, so a restart is the same node.
const devnet = { port: 0, proc: null, banner: null };
async function devnetStart() {
	const args = ['--listen', '127.0.0.1:' + devnet.port, '--data',
	    path.join(T, 'devnet'), '--rep-seed', RSEED, '--faucet-seed', FSEED,
	    '--token', 'KTA:9', '--token', 'USDC:6'];
	const p = spawn(path.join(BUILD, 'kdex-devnet'), args,
	    { stdio: ['ignore', 'pipe', fs.openSync(path.join(T,
	    'devnet.log'), 'a')] });
	procs.add(p);
	p.on('exit', () => procs.delete(p));
	const rl = readline.createInterface({ input: p.stdout });
	const line = await new Promise((resolve, reject) => {
		const t = setTimeout(() => reject(new Error('kdex-devnet did ' +
		    'not start')), 20000);
		rl.once('line', (l) => { clearTimeout(t); resolve(l); });
		p.once('exit', (c) => { clearTimeout(t);
		    reject(new Error('kdex-devnet exited ' + c)); });
	});
	devnet.proc = p;
	devnet.banner = JSON.parse(line);
}
function exited(p) {
	if (p.exitCode !== null || p.signalCode !== null)
		return Promise.resolve();
	return new Promise((r) => p.once('exit', r));
}

const KENV = {
	KDEXD_DEPOSIT_POLL_MS: '100', KDEXD_SETTLE_MS: '100',
	KDEXD_ACL_CHECK_MS: '5000', KDEXD_RECON_MS: '3000'
};
const kd = { port: 0, admin: 0, proc: null, base: '', adminBase: '',
    starts: 0 };
async function kdexdStart() {
	const args = ['--data', path.join(T, 'kdexd'), '--listen',
	    '127.0.0.1:' + kd.port, '--admin-listen', '127.0.0.1:' + kd.admin,
	    '--config', path.join(T, 'kdexd.conf'), '--keeta-api',
	    devnet.banner.api];
	const logfd = fs.openSync(path.join(T, 'kdexd.log'), 'a');
	const p = spawn(path.join(BUILD, 'kdexd'), args, { env: Object.assign(
	    {}, process.env, KENV), stdio: ['ignore', 'pipe', logfd] });
	fs.closeSync(logfd);
	procs.add(p);
	p.on('exit', () => procs.delete(p));
	let out = '';
	await new Promise((resolve, reject) => {
		const t = setTimeout(() => reject(new Error('kdexd did not ' +
		    'start')), 30000);
		p.stdout.on('data', (d) => {
			out += d;
			if (out.includes('kdexd ready')) {
				clearTimeout(t);
				resolve();
			}
		});
		p.once('exit', (c, s) => { clearTimeout(t);
		    reject(new Error('kdexd exited ' + (c ?? s))); });
	});
	p.stdout.resume();
	kd.proc = p;
	kd.starts++;
}
const srv = () => ({ base: kd.base });
function adminKey() {
	return fs.readFileSync(path.join(T, 'kdexd', 'admin.key'),
	    'utf8').trim();
}
async function admin(method, p, body) {
	const r = await fetch(kd.adminBase + p, { method, headers:
	    { 'X-Admin-Key': adminKey() }, body: method === 'GET' ? undefined :
	    JSON.stringify(body === undefined ? {} : body) });
	const text = await r.text();
	let json = null;
	try { json = JSON.parse(text); } catch (e) { /* not JSON */ }
	return { status: r.status, json, text };
}

// ------------------------------- chain ---------------------------------

function sdk(signer) {
	return KeetaNet.UserClient.fromSimpleSingleRep('127.0.0.1:' +
	    devnet.port, false, devnet.banner.representative, 0n, 'test',
	    signer);
}
// Publishing with a deadline: a stopped devnet must not hang the driver.
function within(ms, pr) {
	return Promise.race([pr, sleep(ms).then(() => {
		throw new Error('timed out');
	})]);
}

// Every staple in an account's history, newest first, all pages.
async function history(C, acct) {
	const all = [];
	let start;
	for (;;) {
		const q = start ? { startBlocksHash: start, depth: 50 } :
		    { depth: 50 };
		const h = await C.client.getHistory(acct, q);
		if (h.length === 0)
			break;
		all.push(...h.map((e) => e.voteStaple));
		start = h[h.length - 1].voteStaple.blocksHash;
		if (h.length < 50)
			break;
	}
	return all;
}

function keyString(b) {
	if (b.idempotent === undefined)
		return '';
	return Buffer.from(b.idempotent).toString('latin1');
}

// ------------------------------ the users ------------------------------

const users = [];
let tokens, operator, faucet, F;

async function setup() {
	if (MODE === 'revoke') {
		KENV.KDEXD_SETTLE_MS = '4000';
		KENV.KDEXD_ACL_CHECK_MS = '300';
		KENV.KDEXD_RECON_MS = '600000';
	}
	devnet.port = await L.freePort();
	await devnetStart();
	const bn = devnet.banner;
	tokens = {};
	for (const t of bn.tokens)
		tokens[t.name] = t.address;
	fs.writeFileSync(path.join(T, 'kdexd.conf'), 'market KTA-USDC ' +
	    'base_decimals=9 quote_decimals=6 tick_size=0.0001 lot_size=0.01 ' +
	    'min_size=0.01 min_notional=0 maker_fee_ppm=-100 ' +
	    'taker_fee_ppm=500 base_token=' + tokens.KTA + ' quote_token=' +
	    tokens.USDC + '\n');
	kd.port = await L.freePort();
	kd.admin = await L.freePort();
	kd.base = 'http://127.0.0.1:' + kd.port;
	kd.adminBase = 'http://127.0.0.1:' + kd.admin;
	// The operator key under the cheapest KDF: kdexd opens it at every
	// one of the many restarts (the default KDF costs seconds there).
	const home = path.join(T, 'home');
	fs.writeFileSync(path.join(T, 'pass'), 'chaos operator\n');
	const kn = spawnSync(path.join(BUILD, 'kdex'), ['key', 'new', '--kdf',
	    'min', '--passphrase-file', path.join(T, 'pass')], { env: Object.assign(
	    {}, process.env, { KDEX_HOME: home }), encoding: 'utf8' });
	if (kn.status !== 0)
		throw new Error('kdex key new: ' + kn.stderr);
	fs.mkdirSync(path.join(T, 'kdexd'), { mode: 0o700 });
	fs.copyFileSync(path.join(home, 'keys', 'default.key'), path.join(T,
	    'kdexd', 'operator.key'));
	fs.writeFileSync(path.join(T, 'kdexd', 'operator.pass'),
	    'chaos operator\n', { mode: 0o600 });
	await kdexdStart();
	operator = (await http(srv(), 'GET', '/info')).json.operator;
	faucet = Account.fromSeed(FSEED, 0);
	F = sdk(faucet);
	const op = Account.fromPublicKeyString(operator);

	// Three users: storage account by the SDK (user OWNER, default
	// STORAGE_DEPOSIT + STORAGE_CAN_HOLD, operator SEND_ON_BEHALF per
	// token), registered with kdexd, funded by the faucet.
	for (const name of ['alice', 'bob', 'carol']) {
		const acct = L.newAccount();
		const U = sdk(acct);
		const st = (await U.generateIdentifier(STORAGE)).account;
		await U.setInfo({ name: 'KDEX', description: '', metadata: '',
		    defaultPermission: new Permissions(['STORAGE_DEPOSIT',
		    'STORAGE_CAN_HOLD']) }, { account: st });
		for (const t of ['KTA', 'USDC'])
			await U.updatePermissions(op, new Permissions(
			    ['SEND_ON_BEHALF']), Account.fromPublicKeyString(
			    tokens[t]), SET, { account: st });
		const u = { name, acct, U, st, addr: acct.publicKeyString.get(),
		    stAddr: st.publicKeyString.get(), dest: L.newAccount() };
		u.auth = (await L.login(srv(), acct)).auth;
		const r = await http(srv(), 'POST', '/account/storage',
		    { storage: u.stAddr }, u.auth);
		if (!eq(r.status, 200, name + ' registers storage'))
			throw new Error(r.text);
		users.push(u);
	}
	for (const u of users) {
		await F.send(u.st, 50n * 10n ** 9n, Account.fromPublicKeyString(
		    tokens.KTA));
		await F.send(u.st, 100n * 10n ** 6n, Account.fromPublicKeyString(
		    tokens.USDC));
	}
	for (const u of users)
		await L.waitFor(async () => {
			const b = await balances(u);
			return b && b.KTA === '50' && b.USDC === '100';
		}, u.name + ' initial deposits credited', 30000);
	log('setup done:', users.map((u) => u.name + ' ' + u.stAddr).join(', '));
}

async function balances(u) {
	try {
		const r = await http(srv(), 'GET', '/balances', undefined, u.auth);
		if (r.status !== 200)
			return null;
		const o = {};
		for (const b of r.json.balances)
			o[b.symbol] = b.total;
		return o;
	} catch (e) {
		return null;
	}
}

// -------------------------------- load ---------------------------------

const stats = { deposits: 0, depositErr: 0, orders: 0, orderErr: 0,
    fills: 0, wdAcked: 0, wdErr: 0, slowAck: 0, maxAckMs: 0 };
const acked = new Set();		// withdrawal ids kdexd acknowledged
let stopLoad = false;

async function tryHttp(method, p, body, auth) {
	try {
		return await http(srv(), method, p, body, auth);
	} catch (e) {
		return null;
	}
}

// Deposits keep arriving on chain, whatever kdexd is doing.
let chainDown = false;		// no deposits while the devnet is away
async function depositor(gap) {
	while (!stopLoad) {
		if (chainDown) {
			await sleep(100);
			continue;
		}
		const u = pick(users);
		const sym = pick(['KTA', 'USDC']);
		const amt = BigInt(rint(1, 300)) * (sym === 'KTA' ? 10n ** 7n :
		    10n ** 4n);
		try {
			await within(8000, F.send(u.st, amt,
			    Account.fromPublicKeyString(tokens[sym])));
			stats.deposits++;
		} catch (e) {
			stats.depositErr++;
			await sleep(300);
		}
		await sleep(gap);
	}
}

// Crossing trades: a maker rests, a taker takes it (IOC), the maker's
// leftovers are cancelled.
async function trader(gap) {
	while (!stopLoad) {
		const m = pick(users);
		const t = pick(users.filter((x) => x !== m));
		const side = pick(['buy', 'sell']);
		const price = (1 + rint(0, 9999) / 10000).toFixed(4);
		const qty = (rint(1, 80) / 100).toFixed(2);
		const t1 = Date.now();
		let r = await tryHttp('POST', '/orders/place', { market: 'KTA-USDC',
		    side, price, qty }, m.auth);
		if (r !== null && r.status === 200) {
			stats.orders++;
			r = await tryHttp('POST', '/orders/place', { market:
			    'KTA-USDC', side: side === 'buy' ? 'sell' : 'buy',
			    price, qty, tif: 'IOC' }, t.auth);
			if (r !== null && r.status === 200) {
				stats.orders++;
				stats.fills += r.json.fills.length;
				const ms = Date.now() - t1;
				stats.maxAckMs = Math.max(stats.maxAckMs, ms);
			}
		}
		if (r === null || r.status !== 200)
			stats.orderErr++;
		if (r === null)
			await sleep(250);	/* kdexd is down */
		await tryHttp('POST', '/orders/cancel-all', {}, m.auth);
		await sleep(gap);
	}
}

async function withdrawer(gap) {
	while (!stopLoad) {
		const u = pick(users);
		const sym = pick(['KTA', 'USDC']);
		const amount = (rint(1, 50) / 100).toFixed(2);
		const r = await tryHttp('POST', '/withdrawals/request', { token: sym,
		    amount, to: u.dest.publicKeyString.get() }, u.auth);
		if (r !== null && r.status === 200) {
			stats.wdAcked++;
			acked.add(r.json.withdrawal.id);
		} else {
			stats.wdErr++;
			if (r === null)
				await sleep(250);
		}
		await sleep(gap);
	}
}

// ------------------------------ checking -------------------------------

// Wait until kdexd has nothing left to do: deposits credited, fills
// settled, withdrawals out, and the chain's deposits all in the ledger.
async function quiesce(ms) {
	const end = Date.now() + ms;
	let last = '';
	depositsOnChain = null;
	for (;;) {
		let s = null;
		try {
			s = (await admin('GET', '/admin/settlement')).json.status;
			const st = (await admin('GET', '/admin/status')).json;
			const q = st.queues;
			last = JSON.stringify({ q, s: { unsettled: s.unsettled_fills,
			    pending: s.pending, published: s.published,
			    failed: s.failed } });
			if (q.settlement === 0 && q.withdrawals === 0 &&
			    q.deposits === 0 && q.engine === 0 &&
			    s.pending === 0 && s.published === 0 &&
			    await depositsCaughtUp())
				return;
		} catch (e) {
			last = String(e);
		}
		if (Date.now() > end)
			throw new Error('kdexd did not catch up: ' + last);
		await sleep(250);
	}
}

// Every block in the storage accounts' histories (a staple touches
// several accounts: kept once) and the deposits among them: the faucet's
// SENDs into a storage account, by "HASH:op".
async function chainScan() {
	const blocks = new Map(), deposits = new Map();
	for (const u of users)
		for (const sp of await history(F, u.st))
			for (const b of sp.blocks) {
				blocks.set(b.hash.toString(), b);
				if (!b.account.comparePublicKey(faucet))
					continue;
				b.operations.forEach((o, i) => {
					if (o.type !== KeetaNet.lib.Block.OperationType.SEND ||
					    !o.to.comparePublicKey(u.st))
						return;
					deposits.set(b.hash.toString().toUpperCase() + ':' +
					    i, { user: u.addr, token:
					    o.token.publicKeyString.get(), amount: o.amount });
				});
			}
	return { blocks, deposits };
}

// Once the load has stopped no deposit arrives any more: read the chain
// once, then wait for the ledger to have credited all of it.
let depositsOnChain = null;
async function depositsCaughtUp() {
	if (depositsOnChain === null)
		depositsOnChain = (await chainScan()).deposits.size;
	const r = await admin('GET', '/admin/deposits');
	return r.status === 200 && r.json.deposits.filter((d) =>
	    d.status === 'credited').length >= depositsOnChain;
}

// "1.5" with d decimals -> base units.
function units(s, d) {
	const [i, f = ''] = s.split('.');
	return BigInt(i) * 10n ** BigInt(d) + BigInt((f + '0'.repeat(d)).slice(0,
	    d) || '0');
}
const DEC = () => ({ [tokens.KTA]: 9, [tokens.USDC]: 6 });

async function verify() {
	const dec = DEC();
	// Deposits: the chain's SENDs from the faucet to storage accounts
	// against the ledger's deposit rows, one for one.
	const scan = await chainScan();
	const chain = scan.deposits;
	const ld = (await admin('GET', '/admin/deposits')).json.deposits;
	const seen = new Map();
	for (const d of ld) {
		const k = d.block.toUpperCase() + ':' + d.op_index;
		seen.set(k, (seen.get(k) || 0) + 1);
		const c = chain.get(k);
		ok(c !== undefined, 'ledger deposit ' + k + ' is on chain');
		if (c === undefined)
			continue;
		ok(c.user === d.user && c.token === d.token &&
		    c.amount === units(d.amount, dec[d.token]) &&
		    d.status === 'credited', 'deposit ' + k + ' credited as sent');
	}
	for (const k of chain.keys())
		eq(seen.get(k) || 0, 1, 'chain deposit ' + k + ' credited times');
	ok(ld.length < 1000, 'deposit list complete');

	// Every block kdexd signed, by idempotency key, over every storage
	// account's history (a staple touches several: count it once).
	const blocks = scan.blocks;
	const wdBlocks = new Map(), settleBlocks = new Map();
	for (const b of blocks.values()) {
		const k = keyString(b);
		let m;
		if ((m = /^kdex-wd-(\d+)\x00?$/.exec(k)) !== null)
			wdBlocks.set(m[1], (wdBlocks.get(m[1]) || []).concat([b]));
		else if ((m = /^kdex-settle-(\d+)([\s\S]?)$/.exec(k)) !== null) {
			const kk = m[1] + '/' + (m[2] ? m[2].charCodeAt(0) : '');
			settleBlocks.set(kk, (settleBlocks.get(kk) || 0) + 1);
		}
	}

	// Withdrawals: each completed one sent exactly once, as asked;
	// a failed one never sent; none left behind.
	const lw = (await admin('GET', '/admin/withdrawals')).json.withdrawals;
	const byId = new Map(lw.map((w) => [w.id, w]));
	let completed = 0, failed = 0;
	for (const w of lw) {
		const bs = wdBlocks.get(w.id) || [];
		if (w.status === 'completed') {
			completed++;
			if (!eq(bs.length, 1, 'withdrawal ' + w.id + ' sends on chain'))
				continue;
			const o = bs[0].operations[0];
			ok(bs[0].account.publicKeyString.get() === users.find((u) =>
			    u.addr === w.user).stAddr && o.to.publicKeyString.get() ===
			    w.to && o.amount === units(w.amount, dec[w.token]) &&
			    o.token.publicKeyString.get() === w.token,
			    'withdrawal ' + w.id + ' sent as asked');
		} else {
			failed++;
			eq(bs.length, 0, 'withdrawal ' + w.id + ' (' + w.status +
			    ': ' + w.reason + ') on chain');
			ok(w.status === 'failed' || w.status === 'canceled',
			    'withdrawal ' + w.id + ' finished: ' + w.status);
		}
	}
	for (const id of wdBlocks.keys())
		ok(byId.has(id), 'chain withdrawal ' + id + ' is in the ledger');
	for (const id of acked)
		ok(byId.has(id), 'acknowledged withdrawal ' + id + ' kept');

	// Settlement: each block of each batch applied once; every batch
	// confirmed, and every confirmed batch with a staple is on chain.
	for (const [k, n] of settleBlocks)
		eq(n, 1, 'settlement block ' + k + ' applied times');
	const sj = (await admin('GET', '/admin/settlement')).json;
	eq([sj.status.unsettled_fills, sj.status.pending, sj.status.published,
	    sj.status.failed], [0, 0, 0, 0], 'settlement all confirmed');
	const onChainBatches = new Set([...settleBlocks.keys()].map((k) =>
	    k.split('/')[0]));
	let staples = 0;
	for (const b of sj.batches) {
		if (b.staple_hash === 'off-chain' || b.fills === 0)
			continue;
		staples++;
		ok(onChainBatches.has(b.id), 'batch ' + b.id + ' is on chain');
	}
	for (const id of onChainBatches)
		ok(sj.batches.some((b) => b.id === id && b.state === 'confirmed'),
		    'chain batch ' + id + ' confirmed in the ledger');

	// Balances: chain == ledger total for every storage account, and the
	// operator's account holds exactly the fee account's total.
	for (const u of users) {
		const lb = (await admin('GET', '/admin/users/' + u.addr +
		    '/balances')).json.balances;
		for (const sym of ['KTA', 'USDC']) {
			const tk = Account.fromPublicKeyString(tokens[sym]);
			const c = await F.balance(tk, { account: u.st });
			const l = lb.find((x) => x.token === tokens[sym]);
			eq(String(c), String(l ? units(l.total, dec[tokens[sym]]) :
			    0n), u.name + ' ' + sym + ' chain == ledger');
		}
		const ust = (await admin('GET', '/admin/users/' + u.addr)).json;
		eq(ust.user.status, 'active', u.name + ' still active');
	}
	// Fees stay with the operator: in its clearing account when kdexd
	// keeps one (<data>/clearing), else in its own account.
	const cf = path.join(T, 'kdexd', 'clearing');
	const holder = fs.existsSync(cf) ? fs.readFileSync(cf, 'utf8').trim() :
	    operator;
	// The fee account is the ledger's user "fees" (id 1).
	const fr = await admin('GET', '/admin/users/fees/balances');
	eq(fr.status, 200, 'fee account balances');
	const fb = fr.json.balances;
	for (const sym of ['KTA', 'USDC']) {
		const c = await F.balance(Account.fromPublicKeyString(tokens[sym]),
		    { account: Account.fromPublicKeyString(holder) });
		const l = fb.find((x) => x.token === tokens[sym]);
		eq(String(c), String(l ? units(l.total, dec[tokens[sym]]) : 0n),
		    'fees ' + sym + ': chain (' + holder.slice(0, 12) +
		    ') == ledger fee account');
	}

	const rr = await admin('POST', '/admin/recon/run');
	if (eq(rr.status, 200, 'recon run')) {
		const rows = rr.json.recon.rows;
		ok(rows.length >= 6 && rows.every((x) => x.status === 'ok'),
		    'reconciliation all ok: ' + JSON.stringify(rows.filter((x) =>
		    x.status !== 'ok')));
	}
	const lc = await admin('GET', '/admin/ledger/check');
	eq(lc.status, 200, 'ledger check: ' + lc.text.slice(0, 300));
	log(`verified: ${chain.size} deposits, ${completed} withdrawals ` +
	    `completed (${failed} not), ${staples} settlement staples ` +
	    `(${settleBlocks.size} blocks), ${sj.batches.length} batches`);
}

// ------------------------------ campaigns ------------------------------

function logCount(re) {
	const s = fs.readFileSync(path.join(T, 'kdexd.log'), 'utf8');
	return (s.match(re) || []).length;
}

async function crash() {
	const load = [depositor(300), trader(100), trader(150), withdrawer(200)];
	let kills = 0;
	while (kills < KILLS) {
		// Short, random: with 100 ms intervals something is always
		// being credited, published or sent; the smallest delays land
		// in the resume of what the last kill interrupted.
		await sleep(rint(20, 1000));
		kd.proc.kill('SIGKILL');
		await exited(kd.proc);
		kills++;
		await kdexdStart();
	}
	log(`${kills} kills done`);
	// Load a while longer: traffic on an account finishes a staple a
	// kill abandoned after its votes (LEDGER_SUCCESSOR_VOTE_EXISTS).
	await sleep(5000);
	stopLoad = true;
	await Promise.all(load);
	return kills;
}

// While the chain is away the traders keep going: fills must keep coming,
// each order acknowledged quickly (matching never waits on the chain).
let window0 = null;
function windowStart() {
	window0 = stats.fills;
	stats.maxAckMs = 0;
}
function windowCheck(what) {
	ok(stats.fills > window0, what + ': trades kept crossing (' +
	    (stats.fills - window0) + ' fills)');
	ok(stats.maxAckMs < 3000, what + ': slowest order answered in ' +
	    stats.maxAckMs + ' ms');
}

async function outage() {
	const load = [trader(100), withdrawer(400)];
	await sleep(3000);

	// Unreachable: the devnet stops answering (its sockets stay open).
	log('devnet SIGSTOP');
	devnet.proc.kill('SIGSTOP');
	windowStart();
	const r = await http(srv(), 'POST', '/withdrawals/request', { token:
	    'USDC', amount: '0.5', to: users[0].dest.publicKeyString.get() },
	    users[0].auth);
	if (eq(r.status, 200, 'withdrawal acked while the devnet is stopped'))
		acked.add(r.json.withdrawal.id);
	await sleep(5000);
	let st = (await admin('GET', '/admin/status')).json.queues;
	ok(st.settlement > 0 && st.withdrawals > 0, 'settlement and ' +
	    'withdrawals queue while the devnet is stopped: ' +
	    JSON.stringify(st));
	windowCheck('devnet stopped');
	log('devnet SIGCONT; queued', JSON.stringify(st));
	devnet.proc.kill('SIGCONT');
	const c1 = Date.now();
	stopLoad = true;
	await Promise.all(load);
	await quiesce(60000);
	const catch1 = Date.now() - c1;
	log(`caught up after SIGCONT in ${catch1} ms`);

	// Restarted: killed, away a while, back on the same data dir.
	stopLoad = false;
	const load2 = [trader(100), withdrawer(400), depositor(300)];
	await sleep(2000);
	log('devnet kill -9');
	chainDown = true;
	devnet.proc.kill('SIGKILL');
	await exited(devnet.proc);
	windowStart();
	await sleep(5000);
	st = (await admin('GET', '/admin/status')).json.queues;
	ok(st.settlement > 0 && st.withdrawals > 0, 'settlement and ' +
	    'withdrawals queue while the devnet is down: ' + JSON.stringify(st));
	windowCheck('devnet down');
	log('devnet restart; queued', JSON.stringify(st));
	await devnetStart();
	chainDown = false;
	const c2 = Date.now();
	await sleep(2000);
	stopLoad = true;
	await Promise.all(load2);
	await quiesce(60000);
	log(`caught up after the restart in ${Date.now() - c2} ms`);
}

// A user revokes the operator while one of their fills is not yet on
// chain: kdexd makes them withdraw-only, keeps that fill (unsettled, never
// lost) out of the batches so the others' trades go on settling, refuses
// their withdrawals, and the user still moves the funds out as OWNER.
async function revoke() {
	const [a, b, c] = users;
	const dec = DEC();
	const op = Account.fromPublicKeyString(operator);
	const KTA = Account.fromPublicKeyString(tokens.KTA);

	// The fill, then kdexd killed at once: settlement ticks every 4 s
	// here, so the fill is journaled but on no staple.
	let r = await http(srv(), 'POST', '/orders/place', { market: 'KTA-USDC',
	    side: 'sell', price: '1.5000', qty: '1.00' }, a.auth);
	eq(r.status, 200, 'alice rests a sell');
	r = await http(srv(), 'POST', '/orders/place', { market: 'KTA-USDC',
	    side: 'buy', price: '1.5000', qty: '1.00', tif: 'IOC' }, b.auth);
	kd.proc.kill('SIGKILL');
	eq(r.status, 200, 'bob takes it');
	eq(r.json.fills.length, 1, 'one fill between alice and bob');
	await exited(kd.proc);
	for (const t of ['KTA', 'USDC'])
		await a.U.updatePermissions(op, new Permissions(['SEND_ON_BEHALF']),
		    Account.fromPublicKeyString(tokens[t]), SUBTRACT,
		    { account: a.st });
	log('alice revoked the operator with kdexd down');
	KENV.KDEXD_SETTLE_MS = '200';
	await kdexdStart();
	await L.waitFor(async () => {
		const u = await admin('GET', '/admin/users/' + a.addr);
		return u.status === 200 && u.json.user.status === 'withdraw_only';
	}, 'alice withdraw-only after the ACL re-check', 30000);

	r = await http(srv(), 'POST', '/withdrawals/request', { token: 'KTA',
	    amount: '1', to: a.dest.publicKeyString.get() }, a.auth);
	ok(r.status >= 400, 'alice\'s withdrawal refused: ' + r.status);
	r = await http(srv(), 'POST', '/orders/place', { market: 'KTA-USDC',
	    side: 'sell', price: '1.5000', qty: '1.00' }, a.auth);
	ok(r.status >= 400, 'alice cannot trade: ' + r.status);

	// Bob and carol trade on: their batch settles past alice's.
	r = await http(srv(), 'POST', '/orders/place', { market: 'KTA-USDC',
	    side: 'sell', price: '1.2000', qty: '2.00' }, c.auth);
	eq(r.status, 200, 'carol rests a sell');
	r = await http(srv(), 'POST', '/orders/place', { market: 'KTA-USDC',
	    side: 'buy', price: '1.2000', qty: '2.00', tif: 'IOC' }, b.auth);
	eq(r.status, 200, 'bob takes it');
	const carolSettled = async () => {
		const cb = (await admin('GET', '/admin/users/' + c.addr +
		    '/balances')).json.balances;
		for (const sym of ['KTA', 'USDC']) {
			const tk = Account.fromPublicKeyString(tokens[sym]);
			const l = cb.find((x) => x.token === tokens[sym]);
			if (await F.balance(tk, { account: c.st }) !==
			    units(l.total, dec[tokens[sym]]))
				return false;
		}
		return true;
	};
	await L.waitFor(carolSettled, 'carol\'s trade settled on chain past ' +
	    'alice\'s fill (chain == ledger)', 30000);
	const sj = (await admin('GET', '/admin/settlement')).json;
	log('settlement:', JSON.stringify(sj.status));
	ok(sj.batches.some((x) => x.state === 'failed' &&
	    /withdraw-only/.test(x.error || '')),
	    'alice\'s fill set aside, not settled');
	// Nothing lost: alice's ledger total still reflects her fill (50 KTA
	// deposited, 1 sold) while her chain balance is untouched.
	const ab = (await admin('GET', '/admin/users/' + a.addr +
	    '/balances')).json.balances;
	eq(ab.find((x) => x.token === tokens.KTA).total, '49',
	    'alice\'s ledger keeps the fill');
	eq(String(await F.balance(KTA, { account: a.st })), String(50n *
	    10n ** 9n), 'alice\'s storage account untouched by settlement');

	// Alice takes her funds out herself, as OWNER.
	await a.U.send(a.dest, 50n * 10n ** 9n, KTA, undefined,
	    { account: a.st });
	eq(String(await F.balance(KTA, { account: a.dest })),
	    String(50n * 10n ** 9n), 'alice self-withdrew with OWNER');
	const lc = await admin('GET', '/admin/ledger/check');
	eq(lc.status, 200, 'ledger check: ' + lc.text.slice(0, 300));
}

async function main() {
	log(`mode ${MODE}, seed ${SEED} (KDEX_CHAOS_SEED=${SEED} replays)`);
	const timer = setTimeout(() => {
		console.log('FAIL: timed out');
		process.exit(1);
	}, Number(process.env.KDEX_CHAOS_TIMEOUT || 400) * 1000);
	try {
		await setup();
		if (MODE === 'crash') {
			const k = await crash();
			ok(k >= 30 || process.env.KDEX_CHAOS_KILLS, 'at least 30 kills');
			await quiesce(90000);
		} else if (MODE === 'revoke') {
			await revoke();
		} else
			await outage();
		if (MODE !== 'revoke') {
			log('load:', JSON.stringify(stats));
			await verify();
		}
		log(`kdexd started ${kd.starts} times; resumed on restart: ` +
		    `${logCount(/batch \d+ resumed: on chain/g)} batches and ` +
		    `${logCount(/withdrawal \d+ resumed: on chain/g)} withdrawals ` +
		    `found applied, ${logCount(/batch \d+ resumed: not on/g)} and ` +
		    `${logCount(/withdrawal \d+ resumed: not on/g)} published anew`);
	} catch (e) {
		ok(false, String(e.stack || e));
		const s = fs.readFileSync(path.join(T, 'kdexd.log'), 'utf8');
		console.log('--- kdexd.log (tail)\n' + s.slice(-4000));
	}
	clearTimeout(timer);
	console.log(`seed ${SEED}: ${checks} checks, ${failures} failures`);
	process.exit(failures === 0 ? 0 : 1);
}
main();
