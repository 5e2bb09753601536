/*
 * keeta_conform: the C side of the SDK conformance test
 * (tests/conformance/conform.js). Reads one JSON request per line on stdin
 * and writes one JSON reply per line on stdout, so that a node process
 * holding the official SDK can compare both implementations case by case.
 *
 * Requests ("op"):
 *   acct    {seed, index, algo}            -> {pub, address}
 *   sign    {seed, index, algo, msg}        -> {sig}
 *   verify  {address, msg, sig}             -> {valid}
 *   decode  {der}                           -> {ok, der, hash} | {ok, error}
 *   build   {block}                         -> {ok, der, hash} | {ok, error}
 *   vote    {issuer: {seed, index, algo}, serial (decimal), from, to (ms),
 *            blocks: [hash hex], fee: null | {amount, payTo, token}}
 *                                           -> {ok, der, hash} | {ok, error}
 *   vdecode {der, now (ms)}                 -> {ok, der, hash} | {ok, error}
 * Binary values are hex. A block description ("build") is:
 *   {version, purpose, network (decimal string), subnet (decimal string
 *    or null), idempotent (hex or null), date (ms), previous (hex),
 *    account (pkt hex), signer: null | pkt hex | {multisig: pkt hex,
 *    members: [pkt hex...]}, keys: [{seed, index, algo}...] (the signing
 *    keys), operations: [{type, ...}]}
 * with operation fields named as in the SDK (to, amount as a decimal
 * string, token, external, ...), accounts as pkt hex, permissions as
 * {flags: [names], external: [offsets]} or null.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "keeta_account.h"
#include "keeta_block.h"
#include "keeta_der.h"
#include "keeta_perm.h"
#include "keeta_vote.h"
#include "util.h"

#define LINE_MAX_BYTES	(8 * 1024 * 1024)

static const char *
jstr(const cJSON *o, const char *name)
{
	const cJSON	*it = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

static int
jint(const cJSON *o, const char *name, double *out)
{
	const cJSON	*it = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsNumber(it))
		return -1;
	*out = it->valuedouble;
	return 0;
}

/* Hex field into a new buffer; NULL if missing or malformed. */
static uint8_t *
jhex(const cJSON *o, const char *name, size_t *len)
{
	const char	*s = jstr(o, name);
	uint8_t		*p;
	ssize_t		 n;

	if (s == NULL)
		return NULL;
	p = xmalloc(strlen(s) / 2 + 1);
	if ((n = keeta_hex_decode(s, strlen(s), p, strlen(s) / 2 + 1)) < 0) {
		free(p);
		return NULL;
	}
	*len = (size_t)n;
	return p;
}

static int
jpk(const cJSON *o, const char *name, struct keeta_pubkey *pk)
{
	uint8_t		*p;
	size_t		 n;
	int		 rc;
	const char	*cause;

	if ((p = jhex(o, name, &n)) == NULL)
		return -1;
	rc = keeta_pubkey_from_pkt(pk, p, n, &cause);
	free(p);
	return rc;
}

static struct keeta_account *
jaccount(const cJSON *o)
{
	uint8_t		 seed[KEETA_SEED_LEN];
	double		 index, algo;
	const char	*s = jstr(o, "seed"), *cause;

	if (s == NULL || keeta_seed_from_hex(s, seed, &cause) != 0 ||
	    jint(o, "index", &index) != 0 || jint(o, "algo", &algo) != 0)
		return NULL;
	return keeta_account_from_seed(seed, (uint32_t)index, (int)algo,
	    &cause);
}

static char *
hexdup(const uint8_t *p, size_t n, int upper)
{
	char	*s = xmalloc(2 * n + 1);
	size_t	 i;

	keeta_hex_encode(p, n, s);
	if (upper)
		for (i = 0; s[i] != '\0'; i++)
			if (s[i] >= 'a' && s[i] <= 'f')
				s[i] = (char)(s[i] - 'a' + 'A');
	return s;
}

static void
add_hex(cJSON *o, const char *name, const uint8_t *p, size_t n, int upper)
{
	char	*s = hexdup(p, n, upper);

	cJSON_AddStringToObject(o, name, s);
	free(s);
}

static cJSON *
fail(const char *cause)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddBoolToObject(o, "ok", 0);
	cJSON_AddStringToObject(o, "error", cause != NULL ? cause : "?");
	return o;
}

static cJSON *
do_acct(const cJSON *req)
{
	struct keeta_account	*a;
	cJSON			*o;
	char			 addr[KEETA_ADDRESS_MAX];
	const struct keeta_pubkey *pk;

	if ((a = jaccount(req)) == NULL)
		return fail("bad account");
	pk = keeta_account_pubkey(a);
	o = cJSON_CreateObject();
	add_hex(o, "pub", pk->key, pk->len, 0);
	keeta_address_encode(pk, addr);
	cJSON_AddStringToObject(o, "address", addr);
	keeta_account_free(a);
	return o;
}

static cJSON *
do_sign(const cJSON *req)
{
	struct keeta_account	*a;
	uint8_t			*msg, sig[KEETA_SIG_LEN];
	size_t			 n;
	cJSON			*o;

	if ((a = jaccount(req)) == NULL)
		return fail("bad account");
	if ((msg = jhex(req, "msg", &n)) == NULL) {
		keeta_account_free(a);
		return fail("bad msg");
	}
	o = cJSON_CreateObject();
	if (keeta_account_sign(a, msg, n, sig) == 0)
		add_hex(o, "sig", sig, sizeof sig, 0);
	free(msg);
	keeta_account_free(a);
	return o;
}

static cJSON *
do_verify(const cJSON *req)
{
	struct keeta_pubkey	 pk;
	uint8_t			*msg, *sig;
	size_t			 n, slen;
	const char		*addr = jstr(req, "address"), *cause;
	cJSON			*o;
	int			 valid = 0;

	if (addr == NULL || keeta_address_decode(addr, &pk, &cause) != 0)
		return fail("bad address");
	msg = jhex(req, "msg", &n);
	sig = jhex(req, "sig", &slen);
	if (msg != NULL && sig != NULL && slen == KEETA_SIG_LEN)
		valid = keeta_verify(&pk, msg, n, sig) == 0;
	free(msg);
	free(sig);
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "valid", valid);
	return o;
}

/* Encode the signed form and its hash into a reply. */
static cJSON *
block_reply(const struct keeta_block *b)
{
	uint8_t		*der, hash[KEETA_HASH_LEN];
	size_t		 n;
	const char	*cause = NULL;
	cJSON		*o;

	if ((der = keeta_block_encode(b, 1, &n, &cause)) == NULL)
		return fail(cause);
	if (keeta_block_hash(b, hash, &cause) != 0) {
		free(der);
		return fail(cause);
	}
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", 1);
	add_hex(o, "der", der, n, 0);
	add_hex(o, "hash", hash, sizeof hash, 1);
	free(der);
	return o;
}

static cJSON *
do_decode(const cJSON *req)
{
	struct keeta_block	*b;
	uint8_t			*der;
	size_t			 n;
	const char		*cause = NULL;
	cJSON			*o;

	if ((der = jhex(req, "der", &n)) == NULL)
		return fail("bad der");
	if (keeta_block_decode(der, n, 0, &b, &cause) != 0) {
		free(der);
		return fail(cause);
	}
	free(der);
	o = block_reply(b);
	keeta_block_free(b);
	return o;
}

static int
jamount(const cJSON *o, const char *name, struct keeta_amount *amt)
{
	const char	*s = jstr(o, name);

	return s == NULL ? -1 : keeta_amount_from_dec(amt, s);
}

static int
jmethod(const cJSON *o, enum keeta_adjust *m)
{
	double	v;

	if (jint(o, "method", &v) != 0 || v < 0 || v > 2)
		return -1;
	*m = (enum keeta_adjust)(int)v;
	return 0;
}

/* {flags: [names], external: [offsets]} into p; 1 when null. */
static int
jperm(const cJSON *o, const char *name, struct keeta_perm *p)
{
	const cJSON	*it = cJSON_GetObjectItemCaseSensitive(o, name), *e;
	int		 f;
	const char	*cause;

	if (it == NULL || cJSON_IsNull(it))
		return 1;
	keeta_perm_init(p);
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(it, "flags")) {
		if (!cJSON_IsString(e) ||
		    (f = keeta_perm_flag_from_name(e->valuestring)) < 0 ||
		    keeta_perm_add_flag(p, f, &cause) != 0)
			return -1;
	}
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(it,
	    "external")) {
		if (!cJSON_IsNumber(e) || e->valuedouble < 0 ||
		    keeta_perm_add_external(p, (unsigned int)e->valuedouble,
		    &cause) != 0)
			return -1;
	}
	return 0;
}

static int
add_op(struct keeta_block *b, const cJSON *op, const char **cause)
{
	struct keeta_pubkey	 to, token, from, fwd, target, *signers;
	struct keeta_amount	 amt;
	struct keeta_perm	 perm;
	enum keeta_adjust	 m;
	const cJSON		*e;
	double			 type, q, idtype;
	uint8_t			*cert;
	size_t			 n, i;
	int			 rc, has, exact;

	*cause = "bad operation";
	if (jint(op, "type", &type) != 0)
		return -1;
	switch ((int)type) {
	case KEETA_OP_SEND:
		if (jpk(op, "to", &to) != 0 || jamount(op, "amount", &amt) != 0 ||
		    jpk(op, "token", &token) != 0)
			return -1;
		return keeta_block_add_send(b, &to, &amt, &token,
		    jstr(op, "external"), cause) < 0 ? -1 : 0;
	case KEETA_OP_SET_REP:
		if (jpk(op, "to", &to) != 0)
			return -1;
		return keeta_block_add_set_rep(b, &to, cause) < 0 ? -1 : 0;
	case KEETA_OP_SET_INFO:
		if ((has = jperm(op, "defaultPermission", &perm)) < 0 ||
		    jstr(op, "name") == NULL ||
		    jstr(op, "description") == NULL ||
		    jstr(op, "metadata") == NULL)
			return -1;
		return keeta_block_add_set_info(b, jstr(op, "name"),
		    jstr(op, "description"), jstr(op, "metadata"),
		    has == 0 ? &perm : NULL, cause) < 0 ? -1 : 0;
	case KEETA_OP_MODIFY_PERMISSIONS:
		if (jpk(op, "principal", &to) != 0 || jmethod(op, &m) != 0 ||
		    (has = jperm(op, "permissions", &perm)) < 0)
			return -1;
		rc = jstr(op, "target") != NULL;
		if (rc && jpk(op, "target", &target) != 0)
			return -1;
		return keeta_block_add_modify_permissions(b, &to, m,
		    has == 0 ? &perm : NULL, rc ? &target : NULL, cause) < 0 ?
		    -1 : 0;
	case KEETA_OP_CREATE_IDENTIFIER:
		if (jint(op, "idtype", &idtype) != 0)
			return -1;
		if ((int)idtype != KEETA_KEY_MULTISIG)
			return keeta_block_add_create_identifier(b,
			    (int)idtype, &to, cause) < 0 ? -1 : 0;
		e = cJSON_GetObjectItemCaseSensitive(op, "signers");
		n = (size_t)cJSON_GetArraySize(e);
		if (jint(op, "quorum", &q) != 0 || n == 0)
			return -1;
		signers = xcalloc(n, sizeof *signers);
		for (i = 0; i < n; i++) {
			const char	*c2;
			uint8_t		 pkt[KEETA_PKT_MAX];
			const cJSON	*s = cJSON_GetArrayItem(e, (int)i);
			ssize_t		 k;

			if (!cJSON_IsString(s) || (k = keeta_hex_decode(
			    s->valuestring, strlen(s->valuestring), pkt,
			    sizeof pkt)) < 0 || keeta_pubkey_from_pkt(
			    &signers[i], pkt, (size_t)k, &c2) != 0) {
				free(signers);
				return -1;
			}
		}
		rc = keeta_block_add_create_multisig(b, signers, n,
		    (uint64_t)q, &to, cause);
		free(signers);
		return rc < 0 ? -1 : 0;
	case KEETA_OP_TOKEN_ADMIN_SUPPLY:
		if (jamount(op, "amount", &amt) != 0 || jmethod(op, &m) != 0)
			return -1;
		return keeta_block_add_token_supply(b, &amt, m, cause) < 0 ?
		    -1 : 0;
	case KEETA_OP_TOKEN_ADMIN_MODIFY_BALANCE:
		if (jpk(op, "token", &token) != 0 ||
		    jamount(op, "amount", &amt) != 0 || jmethod(op, &m) != 0)
			return -1;
		return keeta_block_add_modify_balance(b, &token, &amt, m,
		    cause) < 0 ? -1 : 0;
	case KEETA_OP_RECEIVE:
		if (jamount(op, "amount", &amt) != 0 ||
		    jpk(op, "token", &token) != 0 ||
		    jpk(op, "from", &from) != 0)
			return -1;
		exact = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(op,
		    "exact"));
		rc = jstr(op, "forward") != NULL;
		if (rc && jpk(op, "forward", &fwd) != 0)
			return -1;
		return keeta_block_add_receive(b, &amt, &token, &from, exact,
		    rc ? &fwd : NULL, cause) < 0 ? -1 : 0;
	case KEETA_OP_MANAGE_CERTIFICATE:
		if (jmethod(op, &m) != 0 ||
		    (cert = jhex(op, "certificateOrHash", &n)) == NULL)
			return -1;
		rc = keeta_block_add_manage_certificate(b, m, cert, n, NULL, 0,
		    cause);
		free(cert);
		return rc < 0 ? -1 : 0;
	default:
		return -1;
	}
}

static cJSON *
do_build(const cJSON *req)
{
	const cJSON		*d = cJSON_GetObjectItemCaseSensitive(req,
				    "block"), *e, *signer;
	struct keeta_block	*b = NULL;
	struct keeta_pubkey	 account, spk;
	struct keeta_account	**keys = NULL;
	struct keeta_signer_node node, *members = NULL;
	uint8_t			*prev = NULL, *idem = NULL;
	size_t			 n, nkeys = 0, i;
	uint64_t		 network, subnet;
	double			 version, purpose, date;
	const char		*cause = "bad block description", *s;
	char			*end;
	cJSON			*o = NULL;

	if (d == NULL || jint(d, "version", &version) != 0 ||
	    jint(d, "purpose", &purpose) != 0 ||
	    jint(d, "date", &date) != 0 || jpk(d, "account", &account) != 0 ||
	    (s = jstr(d, "network")) == NULL)
		goto out;
	network = strtoull(s, &end, 10);
	if (*end != '\0' || (prev = jhex(d, "previous", &n)) == NULL ||
	    n != KEETA_HASH_LEN)
		goto out;
	b = keeta_block_new((int)version, network, &account, prev,
	    (int64_t)date);
	if ((s = jstr(d, "subnet")) != NULL) {
		subnet = strtoull(s, &end, 10);
		if (*end != '\0')
			goto out;
		keeta_block_set_subnet(b, subnet);
	}
	if (jstr(d, "idempotent") != NULL) {
		if ((idem = jhex(d, "idempotent", &n)) == NULL ||
		    keeta_block_set_idempotent(b, idem, n, &cause) != 0)
			goto out;
	}
	if (keeta_block_set_purpose(b, (enum keeta_purpose)(int)purpose,
	    &cause) != 0)
		goto out;
	signer = cJSON_GetObjectItemCaseSensitive(d, "signer");
	if (cJSON_IsString(signer)) {
		if (jpk(d, "signer", &spk) != 0 ||
		    keeta_block_set_signer(b, &spk, &cause) != 0)
			goto out;
	} else if (cJSON_IsObject(signer)) {
		memset(&node, 0, sizeof node);
		if (jpk(signer, "multisig", &node.key) != 0)
			goto out;
		e = cJSON_GetObjectItemCaseSensitive(signer, "members");
		node.nchildren = (size_t)cJSON_GetArraySize(e);
		members = xcalloc(node.nchildren + 1, sizeof *members);
		for (i = 0; i < node.nchildren; i++) {
			const cJSON	*m = cJSON_GetArrayItem(e, (int)i);
			uint8_t		 pkt[KEETA_PKT_MAX];
			ssize_t		 k;

			if (!cJSON_IsString(m) || (k = keeta_hex_decode(
			    m->valuestring, strlen(m->valuestring), pkt,
			    sizeof pkt)) < 0 || keeta_pubkey_from_pkt(
			    &members[i].key, pkt, (size_t)k, &cause) != 0)
				goto out;
		}
		node.children = members;
		if (keeta_block_set_multisig(b, &node, &cause) != 0)
			goto out;
	}
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(d,
	    "operations")) {
		if (add_op(b, e, &cause) != 0)
			goto out;
	}
	e = cJSON_GetObjectItemCaseSensitive(d, "keys");
	nkeys = (size_t)cJSON_GetArraySize(e);
	keys = xcalloc(nkeys + 1, sizeof *keys);
	for (i = 0; i < nkeys; i++) {
		if ((keys[i] = jaccount(cJSON_GetArrayItem(e, (int)i))) ==
		    NULL) {
			cause = "bad signing key";
			goto out;
		}
	}
	if (keeta_block_sign(b, keys, nkeys, &cause) != 0)
		goto out;
	o = block_reply(b);
out:
	if (o == NULL)
		o = fail(cause);
	for (i = 0; keys != NULL && i < nkeys; i++)
		keeta_account_free(keys[i]);
	free(keys);
	free(members);
	free(prev);
	free(idem);
	keeta_block_free(b);
	return o;
}

static cJSON *
vote_reply(const struct keeta_vote *v)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddBoolToObject(o, "ok", 1);
	add_hex(o, "der", v->der, v->derlen, 0);
	add_hex(o, "hash", v->hash, sizeof v->hash, 1);
	return o;
}

static cJSON *
do_vote(const cJSON *req)
{
	struct keeta_account	*issuer;
	struct keeta_amount	 serial;
	struct keeta_vote_fee	 fee;
	struct keeta_vote	*v = NULL;
	const cJSON		*bl, *e, *f;
	uint8_t			(*hashes)[KEETA_HASH_LEN] = NULL;
	size_t			 n, i = 0;
	double			 from, to;
	const char		*cause = "bad vote description";
	cJSON			*o;

	if ((issuer = jaccount(cJSON_GetObjectItemCaseSensitive(req,
	    "issuer"))) == NULL)
		return fail("bad issuer");
	bl = cJSON_GetObjectItemCaseSensitive(req, "blocks");
	n = (size_t)cJSON_GetArraySize(bl);
	hashes = xcalloc(n + 1, sizeof *hashes);
	if (jamount(req, "serial", &serial) != 0 ||
	    jint(req, "from", &from) != 0 || jint(req, "to", &to) != 0)
		goto out;
	cJSON_ArrayForEach(e, bl) {
		if (!cJSON_IsString(e) || strlen(e->valuestring) != 64 ||
		    keeta_hex_decode(e->valuestring, 64, hashes[i++],
		    KEETA_HASH_LEN) != KEETA_HASH_LEN)
			goto out;
	}
	memset(&fee, 0, sizeof fee);
	f = cJSON_GetObjectItemCaseSensitive(req, "fee");
	if (cJSON_IsObject(f)) {
		if (jamount(f, "amount", &fee.amount) != 0)
			goto out;
		if (jstr(f, "payTo") != NULL) {
			if (jpk(f, "payTo", &fee.pay_to) != 0)
				goto out;
			fee.has_pay_to = 1;
		}
		if (jstr(f, "token") != NULL) {
			if (jpk(f, "token", &fee.token) != 0)
				goto out;
			fee.has_token = 1;
		}
	}
	if (keeta_vote_build(issuer, &serial, (int64_t)from, (int64_t)to,
	    (const uint8_t (*)[KEETA_HASH_LEN])hashes, n,
	    cJSON_IsObject(f) ? &fee : NULL, &v, &cause) != 0)
		v = NULL;
out:
	o = v != NULL ? vote_reply(v) : fail(cause);
	keeta_vote_free(v);
	free(hashes);
	keeta_account_free(issuer);
	return o;
}

static cJSON *
do_vdecode(const cJSON *req)
{
	struct keeta_vote	*v;
	uint8_t			*der;
	size_t			 n;
	double			 now;
	const char		*cause = NULL;
	cJSON			*o;

	if (jint(req, "now", &now) != 0 || (der = jhex(req, "der", &n)) == NULL)
		return fail("bad der");
	if (keeta_vote_decode(der, n, (int64_t)now, 0, &v, &cause) != 0) {
		free(der);
		return fail(cause);
	}
	free(der);
	o = vote_reply(v);
	keeta_vote_free(v);
	return o;
}

int
main(void)
{
	char		*line = NULL, *out;
	size_t		 cap = 0;
	ssize_t		 len;
	cJSON		*req, *rep;
	const char	*op;

	while ((len = getline(&line, &cap, stdin)) != -1) {
		if (len > LINE_MAX_BYTES)
			fatalx("request line too long");
		if ((req = cJSON_Parse(line)) == NULL)
			rep = fail("bad JSON");
		else if ((op = jstr(req, "op")) == NULL)
			rep = fail("no op");
		else if (strcmp(op, "acct") == 0)
			rep = do_acct(req);
		else if (strcmp(op, "sign") == 0)
			rep = do_sign(req);
		else if (strcmp(op, "verify") == 0)
			rep = do_verify(req);
		else if (strcmp(op, "decode") == 0)
			rep = do_decode(req);
		else if (strcmp(op, "build") == 0)
			rep = do_build(req);
		else if (strcmp(op, "vote") == 0)
			rep = do_vote(req);
		else if (strcmp(op, "vdecode") == 0)
			rep = do_vdecode(req);
		else
			rep = fail("unknown op");
		cJSON_Delete(req);
		if ((out = cJSON_PrintUnformatted(rep)) == NULL)
			fatalx("cJSON_PrintUnformatted failed");
		printf("%s\n", out);
		fflush(stdout);
		free(out);
		cJSON_Delete(rep);
	}
	free(line);
	return 0;
}
