// kdexd-lib.js: helpers for the kdexd integration tests. Each test starts
// the real kdexd binary (embedded devnet, temporary data dir, free ports),
// drives it over HTTP and WebSocket, and always kills it at the end.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const net = require('net');
const { spawn } = require('child_process');

const SRC = process.env.KDEX_SRCDIR || path.resolve(__dirname, '..');
const BUILD = process.env.KDEX_BUILDDIR || process.cwd();
const NM = path.join(SRC, 'tests/conformance/node_modules');

function skipIfNoModules() {
	if (!fs.existsSync(path.join(NM, '@keetanetwork/keetanet-client')) ||
	    !fs.existsSync(path.join(NM, 'ws'))) {
		console.log('SKIP: tests/conformance/node_modules is missing');
		process.exit(77);
	}
}
skipIfNoModules();
const KeetaNet = require(path.join(NM, '@keetanetwork/keetanet-client'));
const WebSocket = require(path.join(NM, 'ws'));
const { Account } = KeetaNet.lib;

let failures = 0, checks = 0;
function ok(cond, what) {
	checks++;
	if (!cond) {
		failures++;
		console.log('FAIL: ' + what);
		return false;
	}
	return true;
}
function eq(a, b, what) {
	const sa = JSON.stringify(a), sb = JSON.stringify(b);
	return ok(sa === sb, what + ': got ' + sa + ', want ' + sb);
}

function freePort() {
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.listen(0, '127.0.0.1', () => {
			const p = s.address().port;
			s.close(() => resolve(p));
		});
		s.on('error', reject);
	});
}

const servers = [];

// Start kdexd; resolves when it prints its ready line.
async function startServer(opts = {}) {
	const port = opts.port || await freePort();
	const admin = opts.adminPort || await freePort();
	const data = opts.data || fs.mkdtempSync(path.join(os.tmpdir(), 'kdexd-test-'));
	const args = ['--data', data, '--listen', '127.0.0.1:' + port,
	    '--admin-listen', '127.0.0.1:' + admin];
	if (opts.demo !== false)
		args.push('--demo');
	if (opts.config) {
		const cf = path.join(data, 'test.conf');
		if (!fs.existsSync(data))
			fs.mkdirSync(data, { recursive: true });
		fs.writeFileSync(cf, opts.config);
		args.push('--config', cf);
	}
	const bin = path.join(BUILD, 'kdexd');
	const env = opts.env ? Object.assign({}, process.env, opts.env) :
	    process.env;
	const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'],
	    env });
	let out = '', err = '';
	child.stderr.on('data', (d) => {
		err += d;
		if (process.env.KDEXD_TEST_VERBOSE)
			process.stderr.write(d);
	});
	const srv = { child, port, admin, data, base: 'http://127.0.0.1:' + port,
	    adminBase: 'http://127.0.0.1:' + admin, stderr: () => err,
	    exited: null };
	servers.push(srv);
	srv.exit = new Promise((resolve) => child.on('exit', (code, sig) => {
		srv.exited = { code, sig };
		resolve(srv.exited);
	}));
	await new Promise((resolve, reject) => {
		const t = setTimeout(() => reject(new Error('kdexd did not ' +
		    'start: ' + err)), 30000);
		child.stdout.on('data', (d) => {
			out += d;
			if (out.includes('kdexd ready')) {
				clearTimeout(t);
				resolve();
			}
		});
		child.on('exit', (code) => {
			clearTimeout(t);
			reject(new Error('kdexd exited ' + code + ': ' + err));
		});
	});
	return srv;
}

async function stopServer(srv, sig = 'SIGTERM') {
	if (srv.exited)
		return srv.exited;
	srv.child.kill(sig);
	const t = setTimeout(() => srv.child.kill('SIGKILL'), 10000);
	const r = await srv.exit;
	clearTimeout(t);
	return r;
}

function killAll() {
	for (const s of servers)
		if (!s.exited)
			try { s.child.kill('SIGKILL'); } catch (e) { /* gone */ }
}
process.on('exit', killAll);

async function http(srv, method, p, body, headers = {}) {
	const h = Object.assign({}, headers);
	let b = body;
	if (body !== undefined && typeof body !== 'string') {
		b = JSON.stringify(body);
		h['content-type'] = 'application/json';
	}
	const r = await fetch(srv.base + p, { method, body: b, headers: h });
	const text = await r.text();
	let json = null;
	try { json = JSON.parse(text); } catch (e) { /* not JSON */ }
	return { status: r.status, json, text, headers: r.headers };
}

function newAccount(alg) {
	const seed = Account.generateRandomSeed({ asString: true });
	return Account.fromSeed(seed, 0, alg ?? Account.AccountKeyAlgorithm.ED25519);
}

async function signHex(acct, msg) {
	const sig = await acct.sign(Buffer.from(msg));
	return Buffer.from(sig.get()).toString('hex');
}

// Log in; returns { token, user, auth: {authorization} }.
async function login(srv, acct) {
	const pub = acct.publicKeyString.get();
	const ch = await http(srv, 'POST', '/auth/challenge', { pubkey: pub });
	if (ch.status !== 200)
		throw new Error('challenge: ' + ch.text);
	const sig = await signHex(acct, 'keeta-login:' + ch.json.nonce);
	const v = await http(srv, 'POST', '/auth/verify',
	    { pubkey: pub, nonce: ch.json.nonce, signature: sig });
	if (v.status !== 200)
		throw new Error('verify: ' + v.text);
	return { token: v.json.token, user: v.json.user,
	    auth: { authorization: 'Bearer ' + v.json.token } };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(fn, what, ms = 10000) {
	const end = Date.now() + ms;
	for (;;) {
		const v = await fn();
		if (v)
			return v;
		if (Date.now() > end)
			throw new Error('timed out waiting for ' + what);
		await sleep(50);
	}
}

// A WebSocket client that records every message.
function wsClient(srv) {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(srv.base.replace('http', 'ws') + '/ws');
		const c = { ws, msgs: [], pings: 0, closed: false };
		ws.on('message', (d) => c.msgs.push(JSON.parse(d.toString())));
		ws.on('ping', () => c.pings++);
		ws.on('close', () => { c.closed = true; });
		ws.on('open', () => resolve(c));
		ws.on('error', reject);
		c.send = (o) => ws.send(JSON.stringify(o));
		c.wait = (pred, what, ms) => waitFor(() => c.msgs.find(pred),
		    what, ms);
		c.close = () => ws.close();
	});
}

function done() {
	killAll();
	console.log(`${checks} checks, ${failures} failures`);
	process.exit(failures === 0 ? 0 : 1);
}

async function main(fn) {
	const t = setTimeout(() => {
		console.log('FAIL: test timed out');
		killAll();
		process.exit(1);
	}, 150000);
	try {
		await fn();
	} catch (e) {
		failures++;
		console.log('FAIL: ' + (e.stack || e));
		for (const s of servers)
			console.log('--- kdexd stderr:\n' + s.stderr().slice(-3000));
	}
	clearTimeout(t);
	done();
}

module.exports = { Account, WebSocket, ok, eq, startServer, stopServer,
    http, newAccount, signHex, login, sleep, waitFor, wsClient, main,
    freePort };
