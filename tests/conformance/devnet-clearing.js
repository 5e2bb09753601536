/*
 * kdexd's settlement staple through a clearing account (issue 5), driven
 * by the official SDK against kdex-devnet (or the SDK-based reference node
 * when REFERENCE_NODE is set), so both nodes are held to the SDK's rules:
 *   - the operator owns a storage account C (default STORAGE_DEPOSIT +
 *     STORAGE_CAN_HOLD); users' storage accounts S1, S2 grant it only
 *     SEND_ON_BEHALF per token;
 *   - a SEND from the operator's own account into S1 is refused (the
 *     operator has explicit rows on S1, so the default DEPOSIT is not its);
 *   - one staple: S1 -> C and S2 -> C (operator signs on behalf), then
 *     C -> S2 and C -> S1 (operator signs as OWNER), the fee left in C;
 *   - C's block first, spending what the payers only send later in the
 *     same staple, is refused (balances run op by op) and changes nothing.
 * Prints the outcomes as JSON; exits non-zero when one differs.
 */
'use strict';
const { KeetaNet, startNode, client, Steps } = require('./devnet-lib.js');
const { lib } = KeetaNet;
const { Account, Permissions } = lib;
const SET = lib.Block.AdjustMethod.SET;
const TOKEN = Account.AccountKeyAlgorithm.TOKEN;
const STORAGE = Account.AccountKeyAlgorithm.STORAGE;

function acct() { return Account.fromSeed(Account.generateRandomSeed(), 0); }
const storageDefault = () => new Permissions(['STORAGE_DEPOSIT', 'STORAGE_CAN_HOLD']);

async function main() {
	const trusted = acct();
	const node = await startNode(['--memory', '--trusted', trusted.publicKeyString.get()]);
	const steps = new Steps();
	const out = {};
	try {
		const T = client(node, trusted);
		const issuer = acct(), u1 = acct(), u2 = acct(), op = acct();
		const I = client(node, issuer), U1 = client(node, u1), U2 = client(node, u2), O = client(node, op);
		const repAcct = Account.fromPublicKeyString(node.rep);

		await steps.run('initializeNetwork', 'ok', () => T.initializeNetwork({ addSupplyAmount: 10n ** 15n, delegateTo: repAcct }));
		await steps.run('grant TOKEN_ADMIN_CREATE', 'ok', () => T.updatePermissions(issuer, new Permissions(['TOKEN_ADMIN_CREATE']), undefined, SET, { account: T.networkAddress }));
		const tok = {};
		for (const name of ['KTA', 'USD']) {
			await steps.run(`create ${name}`, 'ok', async () => { tok[name] = (await I.generateIdentifier(TOKEN)).account; });
			await steps.run(`${name} setInfo`, 'ok', () => I.setInfo({ name, description: '', metadata: '', defaultPermission: new Permissions(['ACCESS']) }, { account: tok[name] }));
			await steps.run(`mint ${name}`, 'ok', async () => { const b = I.initBuilder(); b.modifyTokenSupply(10n ** 9n, { account: tok[name] }); await I.publishBuilder(b); });
		}
		await steps.run('fund u1', 'ok', () => I.send(u1, 1000n, tok.KTA, undefined, { account: tok.KTA }));
		await steps.run('fund u2', 'ok', () => I.send(u2, 5000n, tok.USD, undefined, { account: tok.USD }));
		await steps.run('fund operator', 'ok', () => I.send(op, 10n, tok.KTA, undefined, { account: tok.KTA }));

		/* Users' storage accounts: OWNER user, operator SEND_ON_BEHALF per token. */
		const S = {};
		for (const [n, U, u] of [['S1', U1, u1], ['S2', U2, u2]]) {
			await steps.run(`create ${n}`, 'ok', async () => { S[n] = (await U.generateIdentifier(STORAGE)).account; });
			await steps.run(`${n} permissions`, 'ok', async () => {
				const b = U.initBuilder();
				b.setInfo({ name: 'KDEX', description: '', metadata: '', defaultPermission: storageDefault() }, { account: S[n] });
				for (const t of [tok.KTA, tok.USD])
					b.updatePermissions(op, new Permissions(['SEND_ON_BEHALF']), t, SET, { account: S[n] });
				await U.publishBuilder(b);
			});
			void u;
		}
		await steps.run('deposit S1', 'ok', () => U1.send(S.S1, 1000n, tok.KTA, 'dep'));
		await steps.run('deposit S2', 'ok', () => U2.send(S.S2, 5000n, tok.USD, 'dep'));

		/* The clearing account: a storage account the operator owns. */
		let C;
		await steps.run('operator creates clearing', 'ok', async () => { C = (await O.generateIdentifier(STORAGE)).account; });
		await steps.run('clearing defaults', 'ok', () => O.setInfo({ name: 'KDEXCLEARING', description: 'kdex clearing', metadata: '', defaultPermission: storageDefault() }, { account: C }));

		await steps.run('operator account -> S1 refused', 'LEDGER_INVALID_PERMISSIONS', () => O.send(S.S1, 1n, tok.KTA));

		/* Wrong order: C pays before anyone paid C. */
		await steps.run('clearing block first refused', 'LEDGER_INVALID_BALANCE', async () => {
			const b = O.initBuilder();
			b.send(S.S2, 100n, tok.KTA, undefined, { account: C });
			b.send(S.S1, 300n, tok.USD, undefined, { account: C });
			b.send(C, 100n, tok.KTA, undefined, { account: S.S1 });
			b.send(C, 302n, tok.USD, undefined, { account: S.S2 });
			await O.publishBuilder(b);
		});
		steps.check('refused staple changed nothing',
		    await O.balance(tok.KTA, { account: S.S1 }) === 1000n &&
		    await O.balance(tok.USD, { account: S.S2 }) === 5000n, null);

		/* u1 sells 100 KTA to u2 for 300 USD; u2 pays a 2 USD fee. */
		await steps.run('settlement staple payers -> C -> receivers', 'ok', async () => {
			const b = O.initBuilder();
			b.send(C, 100n, tok.KTA, undefined, { account: S.S1 });
			b.send(C, 302n, tok.USD, undefined, { account: S.S2 });
			b.send(S.S2, 100n, tok.KTA, undefined, { account: C });
			b.send(S.S1, 300n, tok.USD, undefined, { account: C });
			await O.publishBuilder(b);
		});
		const bal = {
			S1_KTA: await O.balance(tok.KTA, { account: S.S1 }),
			S1_USD: await O.balance(tok.USD, { account: S.S1 }),
			S2_KTA: await O.balance(tok.KTA, { account: S.S2 }),
			S2_USD: await O.balance(tok.USD, { account: S.S2 }),
			C_KTA: await O.balance(tok.KTA, { account: C }),
			C_USD: await O.balance(tok.USD, { account: C })
		};
		steps.check('S1', bal.S1_KTA === 900n && bal.S1_USD === 300n, bal);
		steps.check('S2', bal.S2_KTA === 100n && bal.S2_USD === 4698n, bal);
		steps.check('clearing keeps the fee only', bal.C_KTA === 0n && bal.C_USD === 2n, bal);
		const hist = await O.history({}, { account: C });
		steps.check('one staple in clearing history after setInfo', hist.length === 2, hist.length);
		const blocks = hist[0].voteStaple.blocks.map((x) => x.account.publicKeyString.get());
		steps.check('block order S1, S2, C', blocks.length === 3 &&
		    blocks[0] === S.S1.publicKeyString.get() &&
		    blocks[1] === S.S2.publicKeyString.get() &&
		    blocks[2] === C.publicKeyString.get(), blocks);
		/* A rebate paid out of kept fees: C -> S1 on its own. */
		await steps.run('clearing pays a rebate from fees', 'ok', () => O.send(S.S1, 1n, tok.USD, undefined, { account: C }));
		out.balances = Object.fromEntries(Object.entries(bal).map(([k, v]) => [k, String(v)]));
	} finally {
		await node.stop();
	}
	out.steps = steps.list.map((s) => ({ name: s.name, got: s.got }));
	console.log(JSON.stringify(out));
	process.exit(steps.failed === 0 ? 0 : 1);
}

main().catch((e) => { console.error(e); process.exit(1); });
