// kdexd-restart.js: SIGTERM drains and exits cleanly; after a restart on
// the same data directory a used login nonce stays used, an unused one
// still works, tokens and orders survive, and the keys are the same.
'use strict';
const fs = require('fs');
const path = require('path');
const L = require('./kdexd-lib.js');
const { ok, eq, http } = L;

L.main(async () => {
	const config = 'demo-maker no\n';
	let srv = await L.startServer({ config });
	const data = srv.data;
	const acct = L.newAccount();
	const pub = acct.publicKeyString.get();
	const A = await L.login(srv, acct);
	await L.waitFor(async () => (await http(srv, 'GET', '/balances',
	    undefined, A.auth)).json.balances.length === 2, 'demo funds');

	// A used nonce, and one issued but never used.
	const used = await http(srv, 'POST', '/auth/challenge', { pubkey: pub });
	const usedSig = await L.signHex(acct, 'keeta-login:' + used.json.nonce);
	let r = await http(srv, 'POST', '/auth/verify', { pubkey: pub,
	    nonce: used.json.nonce, signature: usedSig });
	eq(r.status, 200, 'first use');
	const spare = await http(srv, 'POST', '/auth/challenge', { pubkey: pub });

	r = await http(srv, 'POST', '/orders/place', { market: 'KTA-USDC',
	    side: 'sell', price: '3', qty: '2', client_id: 'keep' }, A.auth);
	eq(r.status, 200, 'order before restart');
	const oid = r.json.order.id;
	const info1 = (await http(srv, 'GET', '/info')).json;
	const adminKey = fs.readFileSync(path.join(data, 'admin.key'), 'utf8');

	// SIGTERM: drain and exit 0; the port is closed afterwards.
	const st = await L.stopServer(srv);
	eq([st.code, st.sig], [0, null], 'SIGTERM exit status');
	ok(/stopping: draining/.test(srv.stderr()) && /stopped/.test(srv.stderr()),
	    'drain logged');
	const refused = await fetch(srv.base + '/health').then(() => false, () => true);
	ok(refused, 'no longer accepting');
	ok(!fs.readdirSync(data).some((f) => f.endsWith('.tmp')), 'no temp files left');

	srv = await L.startServer({ config, data });
	r = await http(srv, 'POST', '/auth/verify', { pubkey: pub,
	    nonce: used.json.nonce, signature: usedSig });
	eq(r.status, 401, 'used nonce stays used after restart');
	const spareSig = await L.signHex(acct, 'keeta-login:' + spare.json.nonce);
	r = await http(srv, 'POST', '/auth/verify', { pubkey: pub,
	    nonce: spare.json.nonce, signature: spareSig });
	eq(r.status, 200, 'unused nonce works after restart');
	r = await http(srv, 'GET', '/orders/' + oid, undefined, A.auth);
	eq([r.status, r.json.order && r.json.order.status], [200, 'open'],
	    'old token and order survive');
	r = await http(srv, 'GET', '/markets/KTA-USDC/book');
	eq(r.json.asks, [['3', '2']], 'book rebuilt');
	r = await http(srv, 'GET', '/balances', undefined, A.auth);
	const kta = r.json.balances.find((b) => b.symbol === 'KTA');
	eq([kta.available, kta.total], ['998', '1000'],
	    'demo funds credited once, reservation kept');
	const info2 = (await http(srv, 'GET', '/info')).json;
	eq(info2.operator, info1.operator, 'same operator key');
	eq(info2.markets.map((m) => m.base.token), info1.markets.map((m) => m.base.token),
	    'same genesis tokens');
	eq(fs.readFileSync(path.join(data, 'admin.key'), 'utf8'), adminKey, 'same admin key');
	const mode = fs.statSync(path.join(data, 'operator.key')).mode & 0o777;
	eq(mode.toString(8), '600', 'operator key mode');
	ok(!fs.readFileSync(path.join(data, 'operator.key'), 'utf8').includes('secret'),
	    'operator key file is sealed');

	// Admin listener: key required.
	r = await fetch(srv.adminBase + '/admin/status');
	eq(r.status, 401, 'admin without key');
	r = await fetch(srv.adminBase + '/admin/status', { headers: { 'x-admin-key': 'f'.repeat(64) } });
	eq(r.status, 401, 'admin with a wrong key');
	r = await fetch(srv.adminBase + '/admin/status', { headers: { 'x-admin-key': adminKey.trim() } });
	ok(r.status !== 401, 'admin with the key');
	r = await fetch(srv.base.replace('http', 'ws').replace('ws:', 'http:') + '/admin/status');
	eq(r.status, 404, 'admin routes are not on the public listener');

	eq((await L.stopServer(srv)).code, 0, 'second clean exit');
});
