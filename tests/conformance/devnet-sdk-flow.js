/*
 * The exchange flow driven by the official SDK's UserClient against a node
 * started with --trusted (kdex-devnet, or the reference node when
 * REFERENCE_NODE is set): genesis by initializeNetwork, token creation and
 * mint, a storage account with default STORAGE_DEPOSIT + STORAGE_CAN_HOLD,
 * deposit, SEND_ON_BEHALF withdrawal, revocation, and the refusals.
 * Prints the step outcomes and final balances as JSON on stdout (so two
 * nodes can be compared) and exits non-zero when any step differs from
 * what the ledger rules say.
 */
'use strict';
const { KeetaNet, startNode, client, Steps } = require('./devnet-lib.js');
const { lib } = KeetaNet;
const { Account, Permissions } = lib;
const SET = lib.Block.AdjustMethod.SET;
const SUBTRACT = lib.Block.AdjustMethod.SUBTRACT;
const TOKEN = Account.AccountKeyAlgorithm.TOKEN;
const STORAGE = Account.AccountKeyAlgorithm.STORAGE;

function acct(i) { return Account.fromSeed(Account.generateRandomSeed(), i); }

async function main() {
	const trusted = acct(0);
	const node = await startNode(['--memory', '--trusted', trusted.publicKeyString.get()]);
	const steps = new Steps();
	const out = {};
	try {
		const T = client(node, trusted);
		const issuer = acct(0), user = acct(0), op = acct(0), dest = acct(0);
		const I = client(node, issuer), U = client(node, user), O = client(node, op);
		const repAcct = Account.fromPublicKeyString(node.rep);

		await steps.run('initializeNetwork', 'ok', () => T.initializeNetwork({ addSupplyAmount: 10n ** 15n, delegateTo: repAcct }));
		await steps.run('create token without TOKEN_ADMIN_CREATE', 'LEDGER_INVALID_PERMISSIONS', () => I.generateIdentifier(TOKEN));
		await steps.run('grant TOKEN_ADMIN_CREATE', 'ok', () => T.updatePermissions(issuer, new Permissions(['TOKEN_ADMIN_CREATE']), undefined, SET, { account: T.networkAddress }));
		let tok;
		await steps.run('create token', 'ok', async () => { tok = (await I.generateIdentifier(TOKEN)).account; });
		await steps.run('token setInfo ACCESS default', 'ok', () => I.setInfo({ name: 'USDX', description: 'test dollar', metadata: '', defaultPermission: new Permissions(['ACCESS']) }, { account: tok }));
		await steps.run('mint', 'ok', async () => { const b = I.initBuilder(); b.modifyTokenSupply(1000000n, { account: tok }); await I.publishBuilder(b); });
		await steps.run('distribute to user', 'ok', () => I.send(user, 500000n, tok, undefined, { account: tok }));
		let st;
		await steps.run('create storage', 'ok', async () => { st = (await U.generateIdentifier(STORAGE)).account; });
		await steps.run('storage defaults DEPOSIT+CAN_HOLD', 'ok', () => U.setInfo({ name: 'VAULT', description: '', metadata: '', defaultPermission: new Permissions(['STORAGE_DEPOSIT', 'STORAGE_CAN_HOLD']) }, { account: st }));
		await steps.run('deposit', 'ok', () => U.send(st, 1000n, tok, 'dep-1'));
		await steps.run('overdraft refused', 'LEDGER_INVALID_BALANCE', () => U.send(st, 10n ** 12n, tok, 'dep-2'));
		await steps.run('withdraw without SEND_ON_BEHALF', 'LEDGER_INVALID_PERMISSIONS', () => O.send(dest, 10n, tok, 'wd-0', { account: st }));
		await steps.run('grant SEND_ON_BEHALF on token', 'ok', () => U.updatePermissions(op, new Permissions(['SEND_ON_BEHALF']), tok, SET, { account: st }));
		await steps.run('withdraw by operator', 'ok', () => O.send(dest, 100n, tok, 'wd-1', { account: st }));
		await steps.run('operator overdraft refused', 'LEDGER_INVALID_BALANCE', () => O.send(dest, 10n ** 9n, tok, 'wd-x', { account: st }));
		await steps.run('second OWNER refused', 'LEDGER_INVALID_OWNER_COUNT', () => U.updatePermissions(op, new Permissions(['OWNER']), undefined, SET, { account: st }));
		await steps.run('send of a token not held refused', 'LEDGER_INVALID_BALANCE', () => U.send(dest, 1n, U.baseToken, 'none'));
		await steps.run('revoke SEND_ON_BEHALF', 'ok', () => U.updatePermissions(op, new Permissions(['SEND_ON_BEHALF']), tok, SUBTRACT, { account: st }));
		await steps.run('withdraw after revoke refused', 'LEDGER_INVALID_PERMISSIONS', () => O.send(dest, 10n, tok, 'wd-2', { account: st }));
		await steps.run('owner withdraws directly', 'ok', () => U.send(dest, 50n, tok, 'wd-3', { account: st }));

		const bal = {
			storage: await U.balance(tok, { account: st }),
			user: await U.balance(tok),
			dest: await U.balance(tok, { account: dest }),
			tokenSelf: await I.balance(tok, { account: tok }),
			supply: await I.client.getTokenSupply(tok)
		};
		steps.check('storage balance', bal.storage === 850n, bal.storage);
		steps.check('user balance', bal.user === 499000n, bal.user);
		steps.check('destination balance', bal.dest === 150n, bal.dest);
		steps.check('token keeps the undistributed supply', bal.tokenSelf === 500000n, bal.tokenSelf);
		steps.check('supply', bal.supply === 1000000n, bal.supply);
		const all = await U.allBalances({ account: st });
		steps.check('allBalances of storage', all.length === 1 && all[0].balance === 850n && all[0].token.comparePublicKey(tok), all);

		const byEntity = await U.listACLsByEntity({ account: st });
		const ownerRow = byEntity.find((r) => r.principal.comparePublicKey(user));
		steps.check('ACL by entity: owner row', ownerRow && ownerRow.permissions.base.flags.includes('OWNER'), byEntity.length);
		const opRow = byEntity.find((r) => r.principal.comparePublicKey(op));
		steps.check('ACL by entity: revoked operator row left empty of SEND_ON_BEHALF', opRow && !opRow.permissions.base.flags.includes('SEND_ON_BEHALF'), opRow && opRow.permissions.base.flags);
		const byPrincipal = await O.listACLsByPrincipal([st]);
		steps.check('ACL by principal', byPrincipal.length === 1 && byPrincipal[0].entity.comparePublicKey(st) && byPrincipal[0].target.comparePublicKey(tok), byPrincipal.length);
		const iRows = await I.listACLsByPrincipal();
		steps.check('ACL by principal (all entities)', iRows.length >= 2, iRows.length);

		const hist = await U.history({}, { account: st });
		/* setInfo + deposit + grant + withdraw + revoke + owner withdraw (the
		 * creation is on the user's chain and, as in the SDK, not in S's history) */
		steps.check('storage history', hist.length === 6, hist.length);
		const chain = await U.chain({}, { account: st });
		/* opening setInfo, grant, withdraw, revoke, owner withdraw: the
		 * creation is on the user's chain, the deposit is not on S's */
		steps.check('storage chain', chain.length === 5, chain.length);
		const uchain = await U.chain();
		steps.check('user chain', uchain.length === 2 && uchain[0].account.comparePublicKey(user), uchain.length);

		out.balances = Object.fromEntries(Object.entries(bal).map(([k, v]) => [k, String(v)]));
		out.history = hist.length; out.chain = chain.length;
		const ver = await T.client.getVersion();
		steps.check('version', typeof ver === 'object' || typeof ver === 'string', ver);
	} finally {
		await node.stop();
	}
	out.steps = steps.list.map((s) => ({ name: s.name, got: typeof s.got === 'boolean' ? s.got : s.got }));
	console.log(JSON.stringify(out));
	process.exit(steps.failed === 0 ? 0 : 1);
}

main().catch((e) => { console.error(e); process.exit(1); });
