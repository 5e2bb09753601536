/*
 * Mixed writers and readers on one kdex-devnet: the official SDK writes
 * and the C client (tests/devnet_ctool) reads, then the C client writes
 * and the SDK reads, through the exchange flow (token, storage account,
 * deposit, SEND_ON_BEHALF withdrawal, revocation).
 */
'use strict';
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const path = require('node:path');
const { KeetaNet, startNode, client, Steps } = require('./devnet-lib.js');
const { lib } = KeetaNet;
const { Account, Permissions } = lib;
const SET = lib.Block.AdjustMethod.SET;
const TOKEN = Account.AccountKeyAlgorithm.TOKEN;

const ctoolPath = path.join(process.env.KDEX_BUILDDIR || path.join(__dirname, '..', '..'), 'tests', 'devnet_ctool');

function seed() { return crypto.randomBytes(32).toString('hex'); }

async function main() {
	const steps = new Steps();
	const trustedSeed = seed();
	const trusted = Account.fromSeed(trustedSeed, 0);
	const node = await startNode(['--memory', '--trusted', trusted.publicKeyString.get()]);
	const ctool = (...args) => {
		try {
			return execFileSync(ctoolPath, [node.api, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
		} catch (e) {
			if (e.status === 3) return e.stdout.trim();
			throw e;
		}
	};
	try {
		const seeds = { issuer: seed(), user: seed(), op: seed(), dest: seed() };
		const acc = Object.fromEntries(Object.entries(seeds).map(([k, s]) => [k, Account.fromSeed(s, 0)]));
		const addr = Object.fromEntries(Object.entries(acc).map(([k, a]) => [k, a.publicKeyString.get()]));
		const T = client(node, trusted), I = client(node, acc.issuer), U = client(node, acc.user), O = client(node, acc.op);

		/* SDK writes, C reads. */
		await steps.run('SDK: initializeNetwork', 'ok', () => T.initializeNetwork({ addSupplyAmount: 10n ** 15n, delegateTo: Account.fromPublicKeyString(node.rep) }));
		await steps.run('SDK: grant TOKEN_ADMIN_CREATE', 'ok', () => T.updatePermissions(acc.issuer, new Permissions(['TOKEN_ADMIN_CREATE']), undefined, SET, { account: T.networkAddress }));
		let tok;
		await steps.run('SDK: create token', 'ok', async () => { tok = (await I.generateIdentifier(TOKEN)).account; });
		await steps.run('SDK: token info', 'ok', () => I.setInfo({ name: 'USDX', description: '', metadata: '', defaultPermission: new Permissions(['ACCESS']) }, { account: tok }));
		await steps.run('SDK: mint', 'ok', async () => { const b = I.initBuilder(); b.modifyTokenSupply(1000000n, { account: tok }); await I.publishBuilder(b); });
		await steps.run('SDK: distribute', 'ok', () => I.send(acc.user, 500000n, tok, undefined, { account: tok }));
		const t = tok.publicKeyString.get();
		steps.check('C reads the SDK-minted balance', ctool('balance', addr.user, t) === '500000', ctool('balance', addr.user, t));
		steps.check('C reads the token balance of itself', ctool('balance', t, t) === '500000');
		steps.check('C reads the base token held by the trusted account', ctool('balance', trusted.publicKeyString.get(), T.baseToken.publicKeyString.get()) === String(10n ** 15n));
		steps.check('C reads the token chain', ctool('chain', t) === '3', ctool('chain', t));
		steps.check('C reads the token ACL', ctool('acl-entity', t).split('\n').length === 1);

		/* C writes, SDK reads. */
		const st = ctool('storage', seeds.user);
		steps.check('C creates a storage account', st.startsWith('keeta_'), st);
		const stA = Account.fromPublicKeyString(st);
		steps.check('C deposits', ctool('send', seeds.user, '-', st, t, '1000', 'dep-1') === 'ok');
		steps.check('C overdraft refused', ctool('send', seeds.user, '-', st, t, '100000000', 'dep-2') === 'LEDGER_INVALID_BALANCE');
		steps.check('SDK reads the C deposit', (await U.balance(tok, { account: stA })) === 1000n);
		steps.check('C grants SEND_ON_BEHALF', ctool('permission', seeds.user, st, addr.op, t, 'SEND_ON_BEHALF', 'set') === 'ok');
		const rows = await U.listACLsByEntity({ account: stA });
		steps.check('SDK reads the C grant', rows.some((r) => r.principal.comparePublicKey(acc.op) && r.permissions.base.flags.includes('SEND_ON_BEHALF')), rows.length);
		await steps.run('SDK: operator withdraws', 'ok', () => O.send(acc.dest, 100n, tok, 'wd-1', { account: stA }));
		steps.check('C reads the SDK withdrawal', ctool('balance', st, t) === '900' && ctool('balance', addr.dest, t) === '100');
		steps.check('C operator withdraws', ctool('send', seeds.op, st, addr.dest, t, '50', 'wd-2') === 'ok');
		steps.check('C second OWNER refused', ctool('permission', seeds.user, st, addr.op, '-', 'OWNER', 'set') === 'LEDGER_INVALID_OWNER_COUNT');
		steps.check('C revokes', ctool('permission', seeds.user, st, addr.op, t, 'SEND_ON_BEHALF', 'subtract') === 'ok');
		await steps.run('SDK: withdrawal after the C revoke refused', 'LEDGER_INVALID_PERMISSIONS', () => O.send(acc.dest, 10n, tok, 'wd-3', { account: stA }));
		steps.check('C: withdrawal after revoke refused', ctool('send', seeds.op, st, addr.dest, t, '10', 'wd-4') === 'LEDGER_INVALID_PERMISSIONS');
		steps.check('SDK reads the final balances', (await U.balance(tok, { account: stA })) === 850n && (await U.balance(tok, { account: acc.dest })) === 150n);
		const hist = await U.history({}, { account: stA });
		steps.check('SDK and C agree on the storage history', String(hist.length) === ctool('history', st), [hist.length, ctool('history', st)]);
		const chain = await U.chain({}, { account: stA });
		steps.check('SDK and C agree on the storage chain', String(chain.length) === ctool('chain', st), [chain.length, ctool('chain', st)]);
		const byP = ctool('acl-principal', addr.op, st);
		steps.check('C reads ACL by principal', byP.split('\n').length === 1 && byP.includes(t), byP);
	} finally {
		await node.stop();
	}
	process.exit(steps.failed === 0 ? 0 : 1);
}

main().catch((e) => { console.error(e); process.exit(1); });
