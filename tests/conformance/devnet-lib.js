/*
 * Helpers for the kdex-devnet conformance scripts: start a node (kdex-devnet
 * from the build tree, or the SDK-based reference node when REFERENCE_NODE
 * names its script), read its banner, and always stop it again.
 */
'use strict';
const { spawn } = require('node:child_process');
const net = require('node:net');
const path = require('node:path');
const readline = require('node:readline');

const KeetaNet = require('@keetanetwork/keetanet-client');

function devnetBinary() {
	if (process.env.KDEX_DEVNET) return process.env.KDEX_DEVNET;
	const b = process.env.KDEX_BUILDDIR || path.join(__dirname, '..', '..');
	return path.join(b, 'kdex-devnet');
}

function freePort() {
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.on('error', reject);
		s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
	});
}

const children = new Set();
function killAll() { for (const c of children) { try { c.kill('SIGKILL'); } catch (e) { /* gone */ } } }
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { killAll(); process.exit(1); });

/*
 * Start a node. args: extra kdex-devnet arguments. Returns {proc, banner,
 * host, api, rep, stop()}. With REFERENCE_NODE set, runs that script with
 * TRUSTED_PUB (args must then contain --trusted ADDR).
 */
async function startNode(args, opts = {}) {
	let proc;
	if (process.env.REFERENCE_NODE && !opts.forceDevnet) {
		const i = args.indexOf('--trusted');
		if (i < 0) throw new Error('the reference node needs --trusted');
		const port = await freePort();
		proc = spawn(process.execPath, [process.env.REFERENCE_NODE], {
			env: { ...process.env, TRUSTED_PUB: args[i + 1], PORT: String(port),
				KEETA_SDK_DIR: __dirname },
			stdio: ['ignore', 'pipe', 'inherit'] });
	} else {
		proc = spawn(devnetBinary(), ['--listen', '127.0.0.1:0', ...args],
			{ stdio: ['ignore', 'pipe', opts.quiet ? 'ignore' : 'inherit'] });
	}
	children.add(proc);
	proc.on('exit', () => children.delete(proc));
	const rl = readline.createInterface({ input: proc.stdout });
	const line = await new Promise((resolve, reject) => {
		const t = setTimeout(() => reject(new Error('node did not start')), 20000);
		rl.once('line', (l) => { clearTimeout(t); resolve(l); });
		proc.once('exit', (code) => { clearTimeout(t); reject(new Error(`node exited (${code})`)); });
	});
	const b = JSON.parse(line);
	const api = b.api || b.listening;
	const rep = b.representative || b.rep;
	const host = new URL(api).host;
	return {
		proc, banner: b, api, rep, host,
		async stop(signal = 'SIGTERM') {
			if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
			const done = new Promise((r) => proc.once('exit', (code, sig) => r(code ?? sig)));
			proc.kill(signal);
			return done;
		}
	};
}

function client(node, signer) {
	return KeetaNet.UserClient.fromSimpleSingleRep(node.host, false, node.rep, 0n, 'test', signer);
}

/* Run fn; return 'ok' or the error code (or message). */
async function outcome(fn) {
	try { await fn(); return 'ok'; } catch (e) { return e && e.code ? e.code : `error: ${e && e.message}`; }
}

class Steps {
	constructor() { this.list = []; this.failed = 0; }
	async run(name, expect, fn) {
		const got = await outcome(fn);
		this.list.push({ name, expect, got });
		const good = got === expect;
		if (!good) this.failed++;
		console.error(`${good ? 'ok  ' : 'FAIL'} ${name}: ${got}${good ? '' : ` (expected ${expect})`}`);
		return got;
	}
	check(name, cond, detail) {
		this.list.push({ name, expect: true, got: !!cond, detail });
		if (!cond) this.failed++;
		console.error(`${cond ? 'ok  ' : 'FAIL'} ${name}${detail !== undefined ? `: ${JSON.stringify(detail, (k, v) => typeof v === 'bigint' ? String(v) : v)}` : ''}`);
	}
}

module.exports = { KeetaNet, startNode, client, outcome, Steps, freePort, devnetBinary, killAll };
