/*
 * Durability of kdex-devnet with --data: publishes with the official SDK,
 * stops the node with SIGTERM and with kill -9 (also in the middle of a
 * stream of publishes), restarts it on the same directory, and checks that
 * nothing acknowledged is lost, that re-publishing a staple applies
 * nothing twice, and that the vote serial never repeats.
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { KeetaNet, startNode, client, Steps } = require('./devnet-lib.js');
const { lib } = KeetaNet;
const { Account } = lib;

async function rawPublish(api, staple) {
	const r = await fetch(`${api}/node/publish`, { method: 'POST', headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ votesAndBlocks: Buffer.from(staple.toBytes()).toString('base64') }) });
	return r.json();
}

async function main() {
	const steps = new Steps();
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdex-devnet-'));
	const args = ['--data', dir, '--genesis', '--token', 'USDX:6'];
	const dest = Account.fromSeed(Account.generateRandomSeed(), 0);
	let node = await startNode(args, { forceDevnet: true });
	try {
		const seed = node.banner.faucetSeed;
		const tokAddr = node.banner.tokens[0].address;
		const tok = Account.fromPublicKeyString(tokAddr);
		let F = client(node, Account.fromSeed(seed, 0));
		let last, serial0 = 0n;
		for (let i = 1; i <= 10; i++) {
			last = await F.send(dest, BigInt(i), tok, `n-${i}`);
		}
		for (const v of last.voteStaple.votes) if (v.serial > serial0) serial0 = v.serial;
		steps.check('ten transfers', (await F.balance(tok, { account: dest })) === 55n);

		/* kill -9 straight after an acknowledged publish. */
		await node.stop('SIGKILL');
		node = await startNode(args, { forceDevnet: true });
		steps.check('same faucet after restart', node.banner.faucetSeed === seed);
		steps.check('same token after restart', node.banner.tokens[0].address === tokAddr);
		F = client(node, Account.fromSeed(seed, 0));
		steps.check('nothing lost after kill -9', (await F.balance(tok, { account: dest })) === 55n);
		const again = await rawPublish(node.api, last.voteStaple);
		steps.check('re-publishing an applied staple is refused', again.error === true && again.code === 'LEDGER_BLOCK_ALREADY_EXISTS', again.code);
		steps.check('and applies nothing twice', (await F.balance(tok, { account: dest })) === 55n);
		const hist = await F.history({}, { account: dest });
		steps.check('history kept', hist.length === 10, hist.length);
		const next = await F.send(dest, 100n, tok, 'after');
		const serial1 = next.voteStaple.votes.reduce((m, v) => (v.serial > m ? v.serial : m), 0n);
		steps.check('vote serial continues after restart', serial1 > serial0, [String(serial0), String(serial1)]);

		/* kill -9 in the middle of a stream of publishes. */
		let acked = 0, stop = false;
		const stream = (async () => {
			while (!stop) {
				try { await F.send(dest, 1n, tok); acked++; } catch (e) { break; }
			}
		})();
		await new Promise((r) => setTimeout(r, 700));
		await node.stop('SIGKILL');
		stop = true;
		await stream;
		node = await startNode(args, { forceDevnet: true });
		F = client(node, Account.fromSeed(seed, 0));
		const b = await F.balance(tok, { account: dest });
		const base = 155n;
		steps.check('every acknowledged publish survived kill -9', acked > 0 && b >= base + BigInt(acked) && b <= base + BigInt(acked) + 1n, [acked, String(b)]);
		/* The SDK's send() may first finish a staple the kill left
		 * half-way (its recovery path), so read the balance back. */
		await steps.run('the chain continues after kill -9', 'ok', () => F.send(dest, 1n, tok));
		const b2 = await F.balance(tok, { account: dest });
		steps.check('at most the in-flight transfer was added', b2 >= b + 1n && b2 <= b + 2n, String(b2));

		const code = await node.stop('SIGTERM');
		steps.check('SIGTERM exits cleanly', code === 0, code);
		node = await startNode(args, { forceDevnet: true });
		F = client(node, Account.fromSeed(seed, 0));
		steps.check('state after SIGTERM', (await F.balance(tok, { account: dest })) === b2);
	} finally {
		await node.stop();
		fs.rmSync(dir, { recursive: true, force: true });
	}
	process.exit(steps.failed === 0 ? 0 : 1);
}

main().catch((e) => { console.error(e); process.exit(1); });
