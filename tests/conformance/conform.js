#!/usr/bin/env node
/*
 * conform.js: random conformance test of the kdex C Keeta library against
 * the official SDK (@keetanetwork/keetanet-client, pinned in package.json).
 *
 * usage: node conform.js HELPER [CASES] [SEED]
 *   HELPER  path of the tests/keeta_conform program (JSON lines on stdio)
 *   CASES   number of random cases of each kind (default 1000)
 *   SEED    32-bit run seed (default: from the clock); printed first, so a
 *           failing run can be replayed exactly
 *
 * Each case checks both directions:
 *   accounts  C derivation == Account.fromSeed (key and address)
 *   messages  SDK signature verifies in C, C signature verifies in the SDK,
 *             Ed25519/secp256k1 signatures are byte-identical, a tampered
 *             signature fails in C
 *   blocks    a random block (V1/V2, every operation type, random signers,
 *             amounts up to 2^128-1) is sealed by the SDK and built+signed
 *             by C from the same description: same hash; identical bytes
 *             when the signatures are deterministic, else the SDK parses
 *             the C bytes (checking the signatures) and re-encodes them
 *             identically; C decodes the SDK bytes (checking signatures)
 *             and re-encodes them identically.
 *   votes     (CASES / 4) random votes over blocks sealed above, temporary
 *             (with or without a fee) or permanent, issued by random keys
 *             with random serials: same hash and bytes (Ed25519 and
 *             secp256k1; P-256 votes are parsed by the other side), and
 *             each side parses the other's vote.
 * Exit status 0 when every case agrees, 1 on any mismatch.
 */
'use strict';

const { spawn } = require('child_process');
const readline = require('readline');

const KeetaNet = require('@keetanetwork/keetanet-client');
const { Account, Block, Permissions, Vote } = KeetaNet.lib;
const ALG = Account.AccountKeyAlgorithm;
const OP = Block.OperationType;

const helper = process.argv[2];
const CASES = parseInt(process.argv[3] || '1000', 10);
const SEED = process.argv[4] !== undefined ? (parseInt(process.argv[4], 10) >>> 0) :
    ((Date.now() ^ (process.pid << 16)) >>> 0);
if (!helper) {
	console.error('usage: node conform.js HELPER [CASES] [SEED]');
	process.exit(2);
}
console.log(`conform: seed ${SEED}, ${CASES} cases per kind, SDK ` +
    require('@keetanetwork/keetanet-client/package.json').version);

/* sfc32: small, fast, seedable; all randomness below comes from it. */
let sa = 0x9e3779b9, sb = 0x243f6a88, sc = 0xb7e15162, sd = SEED | 0;
function rnd32() {
	sa >>>= 0; sb >>>= 0; sc >>>= 0; sd >>>= 0;
	let t = (sa + sb) | 0;
	sa = sb ^ (sb >>> 9);
	sb = (sc + (sc << 3)) | 0;
	sc = (sc << 21) | (sc >>> 11);
	sd = (sd + 1) | 0;
	t = (t + sd) | 0;
	sc = (sc + t) | 0;
	return (t >>> 0);
}
for (let i = 0; i < 16; i++) {
	rnd32();
}
const rint = (n) => rnd32() % n;		/* 0 .. n-1 */
const chance = (p) => rnd32() / 4294967296 < p;
const pick = (a) => a[rint(a.length)];
function rbytes(n) {
	const b = Buffer.alloc(n);
	for (let i = 0; i < n; i++) {
		b[i] = rint(256);
	}
	return (b);
}
function rbig(bits) {
	let v = 0n;
	for (let i = 0; i < bits; i += 32) {
		v = (v << 32n) | BigInt(rnd32());
	}
	return (v & ((1n << BigInt(bits)) - 1n));
}
const U128_MAX = (1n << 128n) - 1n;
function ramount() {
	switch (rint(6)) {
	case 0: return (BigInt(1 + rint(1000)));
	case 1: return (U128_MAX);
	case 2: return (rbig(64) + 1n);
	case 3: return (1n << BigInt(rint(128)));
	default: return (rbig(1 + rint(128)) + 1n > U128_MAX ? U128_MAX :
	    rbig(1 + rint(128)) + 1n);
	}
}
function rstring(alphabet, max) {
	let s = '';
	const n = rint(max + 1);
	for (let i = 0; i < n; i++) {
		s += alphabet[rint(alphabet.length)];
	}
	return (s);
}
const hex = (b) => Buffer.from(b).toString('hex');
const ALGOS = [ALG.ECDSA_SECP256K1, ALG.ED25519, ALG.ECDSA_SECP256R1];

/* The C helper: one JSON request per line, one reply per line. */
const child = spawn(helper, [], { stdio: ['pipe', 'pipe', 'inherit'] });
const waiting = [];
readline.createInterface({ input: child.stdout }).on('line', (line) => {
	const w = waiting.shift();
	if (w) {
		w(JSON.parse(line));
	}
});
let childExit = null;
child.on('exit', (code, sig) => {
	childExit = `helper exited (${code}, ${sig})`;
	while (waiting.length) {
		waiting.shift()({ error: childExit });
	}
});
function call(req) {
	return (new Promise((resolve) => {
		if (childExit) {
			resolve({ error: childExit });
			return;
		}
		waiting.push(resolve);
		child.stdin.write(JSON.stringify(req) + '\n');
	}));
}

let mismatches = 0;
const counts = { acct: 0, msg: 0, vote: 0, block: 0, blockOps: {}, v1: 0, v2: 0,
	sdkRejected: 0, p256: 0, multisig: 0 };
function mismatch(what, detail) {
	mismatches++;
	if (mismatches <= 20) {
		console.log(`MISMATCH ${what}: ${detail}`);
	}
}

/* A random keyed account, remembered with its seed for the C side. */
function newKeyed(algo) {
	const seed = rbytes(32);
	const index = chance(0.5) ? rint(4) : rnd32();
	if (algo === undefined) {
		algo = pick(ALGOS);
	}
	const acct = Account.fromSeed(seed.toString('hex'), index, algo);
	return ({ acct, key: { seed: hex(seed), index, algo }, pkt: hex(acct.publicKeyAndType) });
}
/*
 * Blocks draw their keyed accounts from a pool made once per run (random
 * seeds, indices and algorithms): deriving fresh keys in JavaScript for
 * every block would dominate the run time.
 */
const pool = [];
function distinct(n) {
	const idx = new Set();
	while (idx.size < n) {
		idx.add(rint(pool.length));
	}
	return ([...idx].map((i) => pool[i]));
}
function wrap(acct) {
	return ({ acct, pkt: hex(acct.publicKeyAndType) });
}

/*
 * Each case draws all its randomness synchronously and returns the async
 * part, so cases can run in parallel batches (pipelining requests to the
 * helper) while a seed still replays the same cases.
 */
function accountCase() {
	const k = newKeyed();
	return (async () => {
		const r = await call({ op: 'acct', ...k.key });
		counts.acct++;
		if (r.pub !== hex(k.acct.publicKey.getBuffer()) || r.address !== k.acct.publicKeyString.get()) {
			mismatch('account', `${JSON.stringify(k.key)}: C ${JSON.stringify(r)} SDK ${k.acct.publicKeyString.get()}`);
		}
	});
}

function messageCase() {
	const k = newKeyed();
	const msg = rbytes(rint(100));
	const tamperAt = rint(64), tamperBit = rint(8);
	return (async () => {
		const sdkSig = Buffer.from((await k.acct.sign(msg)).getBuffer());
		counts.msg++;
		let r = await call({ op: 'verify', address: k.acct.publicKeyString.get(), msg: hex(msg), sig: hex(sdkSig) });
		if (r.valid !== true) {
			mismatch('verify SDK signature in C', `${JSON.stringify(k.key)} msg ${hex(msg)}`);
		}
		const bad = Buffer.from(sdkSig);
		bad[tamperAt] ^= 1 << tamperBit;
		r = await call({ op: 'verify', address: k.acct.publicKeyString.get(), msg: hex(msg), sig: hex(bad) });
		if (r.valid !== false || k.acct.verify(msg, bad) !== false) {
			mismatch('tampered signature accepted', `${JSON.stringify(k.key)} C ${r.valid}`);
		}
		r = await call({ op: 'sign', ...k.key, msg: hex(msg) });
		if (!r.sig || k.acct.verify(msg, Buffer.from(r.sig, 'hex')) !== true) {
			mismatch('verify C signature in SDK', `${JSON.stringify(k.key)} msg ${hex(msg)} sig ${r.sig}`);
		} else if (k.key.algo !== ALG.ECDSA_SECP256R1 && r.sig !== hex(sdkSig)) {
			mismatch('deterministic signature differs', `${JSON.stringify(k.key)} C ${r.sig} SDK ${hex(sdkSig)}`);
		}
	});
}

const NETWORKS = [0n, 0x54455354n, 0x5382n, 0x538201n, 0x444556n];
const EXT_CHARS = '-_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= ';
const NAME_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ_';
const DESC_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,!?-_';

function rperm(flags) {
	const ext = [];
	if (chance(0.3)) {
		for (let i = 0; i < 31; i++) {
			if (chance(0.15)) {
				ext.push(i);
			}
		}
	}
	return ({ sdk: new Permissions(flags, ext), c: { flags, external: ext } });
}

/*
 * A random block: returns { input (SDK Builder), desc (C), signers, ops }.
 * kind: 'keyed' (self-signed keyed account), 'token' / 'storage'
 * (identifier account, other signer), 'multisig' (V2, multisig signer),
 * 'fee' (V2 FEE block).
 */
function randomBlock() {
	const kind = pick(['keyed', 'keyed', 'keyed', 'token', 'storage', 'multisig', 'fee']);
	let version = kind === 'multisig' || kind === 'fee' ? 2 : (chance(0.5) ? 1 : 2);
	/* The SDK validates blocks only on the networks it knows (its
	 * getValidation() throws for other ids), so stay on those. */
	const network = pick(NETWORKS);
	const previous = rbytes(32);
	let date = Date.UTC(2000 + rint(100), rint(12), 1 + rint(28), rint(24), rint(60), rint(60));
	if (chance(0.5)) {
		date += 1 + rint(999);
	}
	/* Five distinct keyed accounts from the run's pool. */
	const picked = distinct(5);
	const creator = picked[0];
	const tokens = [wrap(Account.generateBaseAddresses(network).baseToken),
		wrap(creator.acct.generateIdentifier(ALG.TOKEN, hex(rbytes(32)), rint(4)))];
	const others = [picked[1], picked[2], picked[3]];
	const storageOther = wrap(creator.acct.generateIdentifier(ALG.STORAGE, hex(rbytes(32)), rint(4)));

	let account, signerIn = undefined, signerDesc = null, keys;
	if (kind === 'keyed' || kind === 'fee') {
		account = picked[4];
		keys = [account];
	} else if (kind === 'token' || kind === 'storage') {
		account = wrap(creator.acct.generateIdentifier(kind === 'token' ? ALG.TOKEN : ALG.STORAGE,
		    hex(rbytes(32)), rint(3)));
		signerIn = creator.acct;
		signerDesc = creator.pkt;
		keys = [creator];
	} else {
		account = chance(0.5) ? storageOther : picked[4];
		const members = [creator, others[0]];
		if (chance(0.4)) {
			members.push(others[1]);
		}
		const ms = wrap(creator.acct.generateIdentifier(ALG.MULTISIG, hex(rbytes(32)), 0));
		signerIn = [ms.acct, members.map((m) => m.acct)];
		signerDesc = { multisig: ms.pkt, members: members.map((m) => m.pkt) };
		keys = members;
		counts.multisig++;
	}
	const isToken = kind === 'token';
	const isStorage = kind === 'storage' || (kind === 'multisig' && account === storageOther);
	const keyed = !isToken && !isStorage;

	const ops = [], cops = [];
	let setRep = false;
	const usedPrincipals = new Set();
	const nops = 1 + rint(4);
	for (let i = 0; i < nops; i++) {
		let choices;
		if (kind === 'fee' || kind === 'multisig') {
			choices = [OP.SEND];
		} else if (isToken) {
			choices = [OP.TOKEN_ADMIN_SUPPLY, OP.SET_INFO, OP.MODIFY_PERMISSIONS, OP.SEND];
		} else if (isStorage) {
			choices = [OP.SEND, OP.SET_INFO, OP.MODIFY_PERMISSIONS, OP.RECEIVE,
				OP.TOKEN_ADMIN_MODIFY_BALANCE];
		} else {
			choices = [OP.SEND, OP.SET_REP, OP.SET_INFO, OP.MODIFY_PERMISSIONS,
				OP.CREATE_IDENTIFIER, OP.TOKEN_ADMIN_MODIFY_BALANCE, OP.RECEIVE,
				OP.MANAGE_CERTIFICATE];
		}
		const type = pick(choices);
		const token = pick(tokens);
		switch (type) {
		case OP.SEND: {
			const to = chance(0.8) ? pick(others) : storageOther;
			const amount = ramount();
			const tok = isToken ? account : token;
			const op = { type, to: to.acct, amount, token: tok.acct };
			const c = { type, to: to.pkt, amount: amount.toString(), token: tok.pkt };
			if (chance(0.4)) {
				op.external = c.external = rstring(EXT_CHARS, 40);
			}
			ops.push(op); cops.push(c);
			break;
		}
		case OP.SET_REP: {
			if (setRep) {
				i--;
				continue;
			}
			setRep = true;
			const to = pick(others);
			ops.push({ type, to: to.acct }); cops.push({ type, to: to.pkt });
			break;
		}
		case OP.SET_INFO: {
			const name = rstring(NAME_CHARS, 12), description = rstring(DESC_CHARS, 40);
			const metadata = chance(0.5) ? rbytes(1 + rint(30)).toString('base64') : '';
			const op = { type, name, description, metadata };
			const c = { type, name, description, metadata };
			if (!keyed) {
				const p = rperm(isStorage && chance(0.5) ? ['STORAGE_DEPOSIT', 'STORAGE_CAN_HOLD'] : ['ACCESS']);
				p.sdk = new Permissions(p.c.flags);
				p.c.external = [];
				op.defaultPermission = p.sdk; c.defaultPermission = p.c;
			}
			ops.push(op); cops.push(c);
			break;
		}
		case OP.MODIFY_PERMISSIONS: {
			const principal = pick(pool);
			if (usedPrincipals.has(principal.pkt)) {
				i--;
				continue;
			}
			usedPrincipals.add(principal.pkt);
			const variant = rint(isStorage ? 5 : 4);
			let op, c;
			if (variant === 0) {
				const p = rperm(['SEND_ON_BEHALF']);
				op = { type, principal: principal.acct, method: 2, permissions: p.sdk, target: token.acct };
				c = { type, principal: principal.pkt, method: 2, permissions: p.c, target: token.pkt };
			} else if (variant === 1) {
				const p = rperm(['SEND_ON_BEHALF']);
				op = { type, principal: principal.acct, method: 1, permissions: p.sdk, target: token.acct };
				c = { type, principal: principal.pkt, method: 1, permissions: p.c, target: token.pkt };
			} else if (variant === 2) {
				op = { type, principal: principal.acct, method: 2, permissions: null };
				c = { type, principal: principal.pkt, method: 2, permissions: null };
			} else if (variant === 3) {
				const p = rperm(['ACCESS']);
				const m = rint(2);
				op = { type, principal: principal.acct, method: m, permissions: p.sdk };
				c = { type, principal: principal.pkt, method: m, permissions: p.c };
			} else {
				const p = rperm(['STORAGE_DEPOSIT']);
				op = { type, principal: principal.acct, method: 0, permissions: p.sdk, target: token.acct };
				c = { type, principal: principal.pkt, method: 0, permissions: p.c, target: token.pkt };
			}
			ops.push(op); cops.push(c);
			break;
		}
		case OP.CREATE_IDENTIFIER: {
			const idtype = pick([ALG.TOKEN, ALG.STORAGE, ALG.MULTISIG]);
			const identifier = account.acct.generateIdentifier(idtype, hex(previous), ops.length);
			const op = { type, identifier };
			const c = { type, idtype };
			if (idtype === ALG.MULTISIG) {
				const signers = [others[0], others[1]];
				if (chance(0.5)) {
					signers.push(others[2]);
				}
				const quorum = BigInt(1 + rint(signers.length));
				op.createArguments = { type: ALG.MULTISIG, signers: signers.map((s) => s.acct), quorum };
				c.signers = signers.map((s) => s.pkt);
				c.quorum = Number(quorum);
			}
			ops.push(op); cops.push(c);
			break;
		}
		case OP.TOKEN_ADMIN_SUPPLY: {
			const amount = ramount(), method = rint(2);
			ops.push({ type, amount, method });
			cops.push({ type, amount: amount.toString(), method });
			break;
		}
		case OP.TOKEN_ADMIN_MODIFY_BALANCE: {
			const amount = ramount(), method = rint(3);
			ops.push({ type, token: token.acct, amount, method });
			cops.push({ type, token: token.pkt, amount: amount.toString(), method });
			break;
		}
		case OP.RECEIVE: {
			const from = pick(others), amount = ramount(), exact = chance(0.5);
			const op = { type, amount, token: token.acct, from: from.acct, exact };
			const c = { type, amount: amount.toString(), token: token.pkt, from: from.pkt, exact };
			if (exact && chance(0.4)) {
				const fwd = others[2];
				op.forward = fwd.acct; c.forward = fwd.pkt;
			}
			ops.push(op); cops.push(c);
			break;
		}
		case OP.MANAGE_CERTIFICATE: {
			const h = rbytes(32);
			ops.push({ type, method: 1, certificateOrHash: h });
			cops.push({ type, method: 1, certificateOrHash: hex(h) });
			break;
		}
		}
	}

	const input = {
		version, purpose: kind === 'fee' ? 1 : 0, account: account.acct, network,
		previous: hex(previous).toUpperCase(), date: new Date(date), operations: ops
	};
	const desc = {
		version, purpose: input.purpose, network: network.toString(), subnet: null,
		idempotent: null, date, previous: hex(previous), account: account.pkt,
		signer: signerDesc, keys: keys.map((k) => k.key), operations: cops
	};
	if (signerIn !== undefined) {
		input.signer = signerIn;
	}
	if (chance(0.3)) {
		const subnet = BigInt(rint(1000));
		input.subnet = subnet;
		desc.subnet = subnet.toString();
	}
	if (chance(0.3)) {
		const idem = rbytes(1 + rint(32));
		input.idempotent = idem;
		desc.idempotent = hex(idem);
	}
	return ({ input, desc, keys, cops });
}

function blockCase() {
	const { input, desc, keys, cops } = randomBlock();
	return (async () => {
		let sdkBlock = null, sdkError = null;
		try {
			sdkBlock = await new Block.Builder(input).seal();
		} catch (e) {
			sdkError = e.message;
		}
		const built = await call({ op: 'build', block: desc });
		if (sdkBlock === null) {
			/* Both must refuse what the SDK refuses. */
			counts.sdkRejected++;
			if (built.ok) {
				mismatch('C built a block the SDK refuses', `SDK: ${sdkError}; ${JSON.stringify(desc)}`);
			}
			return;
		}
		counts.block++;
		counts[desc.version === 1 ? 'v1' : 'v2']++;
		if (sealed.length < 64) {
			sealed.push(sdkBlock);
		}
		for (const c of cops) {
			counts.blockOps[c.type] = (counts.blockOps[c.type] || 0) + 1;
		}
		const sdkBytes = Buffer.from(sdkBlock.toBytes());
		const sdkHash = sdkBlock.hash.toString();
		const deterministic = keys.every((k) => k.key.algo !== ALG.ECDSA_SECP256R1);
		if (!deterministic) {
			counts.p256++;
		}
		if (!built.ok) {
			mismatch('C refused a block the SDK seals', `${built.error}; ${JSON.stringify(desc)}`);
		} else {
			if (built.hash !== sdkHash) {
				mismatch('block hash', `C ${built.hash} SDK ${sdkHash}; ${JSON.stringify(desc)}`);
			}
			if (deterministic && built.der !== hex(sdkBytes)) {
				mismatch('block bytes', `C ${built.der}\n  SDK ${hex(sdkBytes)}`);
			}
			/* The SDK parses the C bytes, verifying every signature. */
			try {
				const parsed = new Block(Buffer.from(built.der, 'hex'));
				if (parsed.hash.toString() !== built.hash) {
					mismatch('SDK hash of C block', `${parsed.hash.toString()} vs ${built.hash}`);
				}
				if (hex(parsed.toBytes()) !== built.der) {
					mismatch('SDK re-encoding of C block', built.der);
				}
			} catch (e) {
				mismatch('SDK refuses the C block', `${e.message}; ${built.der}`);
			}
		}
		/* C decodes the SDK bytes (verifying signatures) and re-encodes them. */
		const dec = await call({ op: 'decode', der: hex(sdkBytes) });
		if (!dec.ok) {
			mismatch('C refuses the SDK block', `${dec.error}; ${hex(sdkBytes)}`);
		} else if (dec.der !== hex(sdkBytes) || dec.hash !== sdkHash) {
			mismatch('C re-encoding of SDK block', `${dec.hash} vs ${sdkHash}`);
		}
	});
}

/* Blocks sealed by the SDK in the block phase, for the votes. */
const sealed = [];

function voteCase() {
	const issuer = pick(pool);
	const nb = Math.min(1 + rint(4), sealed.length);
	const idx = new Set();
	while (idx.size < nb) {
		idx.add(rint(sealed.length));
	}
	const blocks = [...idx].map((i) => sealed[i]);
	const serial = chance(0.5) ? BigInt(1 + rint(100000)) : rbig(1 + rint(100)) + 1n;
	const from = Date.UTC(2000 + rint(100), rint(12), 1 + rint(28), rint(24), rint(60), rint(60));
	const permanent = chance(0.3);
	const to = permanent ?
	    Date.UTC(new Date(from).getUTCFullYear() + 1001, 0, 31, 0, 0, 0, 0) :
	    from + 5 * 60 * 1000;
	let fee = null, cfee = null;
	if (!permanent && chance(0.5)) {
		const amount = ramount();
		fee = { amount };
		cfee = { amount: amount.toString() };
		if (chance(0.5)) {
			const p = pick(pool);
			fee.payTo = p.acct;
			cfee.payTo = p.pkt;
		}
		if (chance(0.5)) {
			const t = wrap(pick(pool).acct.generateIdentifier(ALG.TOKEN, hex(rbytes(32)), 0));
			fee.token = t.acct;
			cfee.token = t.pkt;
		}
	}
	const now = from + 1000;
	return (async () => {
		counts.vote++;
		const builder = new Vote.Builder(issuer.acct, blocks, fee ? { fee } : undefined);
		const vote = await builder.seal(serial, new Date(to), new Date(from), { now: new Date(now) });
		const bytes = hex(vote.toBytes());
		const sdkHash = vote.hash.toString().toUpperCase();
		const c = await call({ op: 'vote', issuer: issuer.key, serial: serial.toString(), from, to,
			blocks: blocks.map((b) => b.hash.toString()), fee: cfee });
		if (!c.ok) {
			mismatch('C refused a vote the SDK seals', `${c.error}; ${bytes}`);
		} else {
			if (issuer.key.algo !== ALG.ECDSA_SECP256R1 && (c.der !== bytes || c.hash !== sdkHash)) {
				mismatch('vote bytes', `C ${c.der}\n  SDK ${bytes}`);
			}
			try {
				const parsed = new Vote(Buffer.from(c.der, 'hex'), { now: new Date(now) });
				if (hex(parsed.toBytes()) !== c.der || parsed.hash.toString().toUpperCase() !== c.hash) {
					mismatch('SDK re-encoding of C vote', c.der);
				}
			} catch (e) {
				mismatch('SDK refuses the C vote', `${e.message}; ${c.der}`);
			}
		}
		const d = await call({ op: 'vdecode', der: bytes, now });
		if (!d.ok) {
			mismatch('C refuses the SDK vote', `${d.error}; ${bytes}`);
		} else if (d.der !== bytes || d.hash !== sdkHash) {
			mismatch('C decoding of SDK vote', `${d.hash} vs ${sdkHash}`);
		}
	});
}

async function main() {
	const t0 = Date.now();
	for (let i = 0; i < 48; i++) {
		pool.push(newKeyed());
	}
	const BATCH = 25;
	for (let i = 0; i < CASES; i += BATCH) {
		const tasks = [];
		for (let j = i; j < Math.min(CASES, i + BATCH); j++) {
			tasks.push(accountCase(), messageCase(), blockCase());
		}
		await Promise.all(tasks.map((t) => t()));
	}
	/* Keep producing blocks until CASES of them were accepted by the SDK. */
	let extra = 0;
	while (counts.block < CASES && extra < CASES) {
		await blockCase()();
		extra++;
	}
	const VOTES = sealed.length > 0 ? Math.ceil(CASES / 4) : 0;
	for (let i = 0; i < VOTES; i += BATCH) {
		const tasks = [];
		for (let j = i; j < Math.min(VOTES, i + BATCH); j++) {
			tasks.push(voteCase());
		}
		await Promise.all(tasks.map((t) => t()));
	}
	child.stdin.end();
	const secs = ((Date.now() - t0) / 1000).toFixed(1);
	const opNames = Object.fromEntries(Object.entries(counts.blockOps).map(
	    ([k, v]) => [Object.keys(OP).find((n) => OP[n] === Number(k)) || k, v]));
	console.log(`conform: seed ${SEED}: ${counts.acct} accounts, ${counts.msg} messages, ` +
	    `${counts.vote} votes, ` +
	    `${counts.block} blocks (V1 ${counts.v1}, V2 ${counts.v2}, multisig ${counts.multisig}, ` +
	    `P-256-signed ${counts.p256}, SDK-refused ${counts.sdkRejected}) in ${secs} s`);
	console.log(`conform: operations ${JSON.stringify(opNames)}`);
	if (childExit && !/\(0,/.test(childExit)) {
		mismatch('helper', childExit);
	}
	if (counts.block < CASES) {
		mismatch('coverage', `only ${counts.block} blocks accepted by the SDK`);
	}
	console.log(`conform: ${mismatches} mismatches`);
	process.exit(mismatches === 0 ? 0 : 1);
}

main().catch((e) => {
	console.error(`conform: ${e.stack}`);
	process.exit(1);
});
