/*
 * check_keeta_block: permissions and blocks against the SDK vectors.
 *
 * Every block of tests/data/keeta/blocks.json is decoded (bytes, hash,
 * signatures, JSON must match the SDK), rebuilt from its inputs with the
 * builder API and signed with keys derived from the recorded seeds (the
 * signed DER must match byte for byte: Ed25519 and RFC 6979 secp256k1 are
 * deterministic), and mutated (truncations, bit flips, garbage) to show
 * the decoder refuses what the SDK would refuse.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "keeta_block.h"
#include "keeta_perm.h"
#include "keeta_vectors.h"
#include "util.h"

static cJSON	*vectors;

static void
setup(void)
{
	vectors = kv_load("blocks.json");
}

static void
teardown(void)
{
	cJSON_Delete(vectors);
	vectors = NULL;
}

static const cJSON *
vec_list(void)
{
	const cJSON	*l;

	l = cJSON_GetObjectItemCaseSensitive(vectors, "vectors");
	ck_assert(cJSON_IsArray(l));
	ck_assert_int_eq(cJSON_GetArraySize(l), 18);
	return l;
}

/* Permissions. */

START_TEST(test_perm_normalise)
{
	struct keeta_perm	p;
	uint8_t			buf[KEETA_PERM_DER_MAX];
	size_t			n;

	keeta_perm_init(&p);
	ck_assert_int_eq(keeta_perm_add_flag(&p, KEETA_PERM_STORAGE_DEPOSIT,
	    NULL), 0);
	ck_assert_int_eq(keeta_perm_add_flag(&p, KEETA_PERM_STORAGE_CAN_HOLD,
	    NULL), 0);
	ck_assert_uint_eq(p.base, 0x601);
	n = keeta_perm_encode(&p, buf);
	ck_assert(kv_eq_hex(buf, n, "300702020601020100"));

	keeta_perm_init(&p);
	keeta_perm_add_flag(&p, KEETA_PERM_SEND_ON_BEHALF, NULL);
	ck_assert_uint_eq(p.base, 0x11);
	keeta_perm_add_flag(&p, KEETA_PERM_OWNER, NULL);
	ck_assert_uint_eq(p.base, 0x03);

	keeta_perm_init(&p);
	keeta_perm_add_flag(&p, KEETA_PERM_UPDATE_INFO, NULL);
	keeta_perm_add_flag(&p, KEETA_PERM_ADMIN, NULL);
	ck_assert_uint_eq(p.base, 0x05);

	/* External-only sets do not gain ACCESS. */
	keeta_perm_init(&p);
	ck_assert_int_eq(keeta_perm_add_external(&p, 3, NULL), 0);
	keeta_perm_normalise(&p);
	ck_assert_uint_eq(p.base, 0);
	ck_assert_uint_eq(p.external, 8);
	ck_assert_int_eq(keeta_perm_add_external(&p, 30, NULL), 0);
	ck_assert_int_eq(keeta_perm_add_external(&p, 31, NULL), -1);
	ck_assert_int_eq(keeta_perm_add_flag(&p, 15, NULL), -1);
	n = keeta_perm_encode(&p, buf);
	ck_assert(kv_eq_hex(buf, n, "30090201000204400000" "08"));

	/* 0x600 decodes (normalised to 0x601) but is flagged non-canonical. */
	{
		uint8_t	der[] = { 0x30, 0x07, 0x02, 0x02, 0x06, 0x00, 0x02,
		    0x01, 0x00 };
		int	canon = 1;

		ck_assert_int_eq(keeta_perm_decode(&p, der, sizeof der, &canon,
		    NULL), 0);
		ck_assert_int_eq(canon, 0);
		ck_assert_uint_eq(p.base, 0x601);
	}
}
END_TEST

START_TEST(test_perm_decode_errors)
{
	static const char *const bad[] = {
		"",
		"3007020100020100",		/* length mismatch */
		"30060201000201",		/* truncated */
		"300702020001020100",		/* non-minimal base */
		"3006020180020100",		/* negative */
		"30060201000201ff",		/* negative external */
		"3007020300800002 0100",
		"300702028000020100",		/* unknown flag bit 15 */
		"3009020100020480000000",	/* external bit 31 */
		"300902010002010002 0100",	/* trailing */
		"3106020100020100",		/* SET */
		"3006040100020100",		/* OCTET STRING */
	};
	struct keeta_perm	 p;
	const char		*cause;
	uint8_t			*der;
	size_t			 i, n;
	char			 hex[64];
	size_t			 j, k;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		/* Strip the spaces used for readability. */
		for (j = k = 0; bad[i][j] != '\0' && k < sizeof hex - 1; j++)
			if (bad[i][j] != ' ')
				hex[k++] = bad[i][j];
		hex[k] = '\0';
		der = kv_unhex(hex, &n);
		cause = NULL;
		ck_assert_msg(keeta_perm_decode(&p, der, n, NULL, &cause) == -1,
		    "accepted %s", hex);
		ck_assert_ptr_nonnull(cause);
		free(der);
	}
}
END_TEST

START_TEST(test_perm_rules)
{
	struct keeta_perm	p;
	cJSON			*j;
	char			*s;

	/* SEND_ON_BEHALF to a keyed principal, target a token: fine. */
	keeta_perm_init(&p);
	keeta_perm_add_flag(&p, KEETA_PERM_SEND_ON_BEHALF, NULL);
	ck_assert_int_eq(keeta_perm_check_grant(&p, KEETA_KEY_STORAGE,
	    KEETA_KEY_ED25519, KEETA_KEY_TOKEN, NULL), 0);
	ck_assert_int_eq(keeta_perm_check_grant(&p, KEETA_KEY_STORAGE,
	    KEETA_KEY_MULTISIG, KEETA_PERM_NO_TARGET, NULL), 0);
	ck_assert_int_eq(keeta_perm_check_grant(&p, KEETA_KEY_STORAGE,
	    KEETA_KEY_TOKEN, KEETA_KEY_TOKEN, NULL), -1);
	ck_assert_int_eq(keeta_perm_check_grant(&p, KEETA_KEY_STORAGE,
	    KEETA_KEY_ED25519, KEETA_KEY_STORAGE, NULL), -1);
	/* Conflicting groups cannot even be combined (the SDK throws). */
	ck_assert_int_eq(keeta_perm_add_flag(&p, KEETA_PERM_STORAGE_CAN_HOLD,
	    NULL), -1);
	ck_assert_uint_eq(p.base, 0x11);
	ck_assert_int_eq(keeta_perm_check_mix(0x211, NULL), -1);
	ck_assert_int_eq(keeta_perm_check_mix(0x60, NULL), -1);
	/* NONIDENTIFIER and NONIDENTIFIER_OR_MULTISIG are distinct groups. */
	ck_assert_int_eq(keeta_perm_check_mix(0x4008, NULL), -1);
	/* A NEVER target wins over a later TOKEN target. */
	ck_assert_int_eq(keeta_perm_check_mix(0x13, NULL), 0);
	ck_assert_int_eq(keeta_perm_set(&p, 0x211, 0, NULL), -1);
	{
		uint8_t	der[] = { 0x30, 0x08, 0x02, 0x03, 0x00, 0x82, 0x11,
		    0x02, 0x01, 0x00 };

		ck_assert_int_eq(keeta_perm_decode(&p, der, sizeof der, NULL,
		    NULL), -1);
	}
	/* OWNER: identifiers only, never a target. */
	keeta_perm_init(&p);
	keeta_perm_add_flag(&p, KEETA_PERM_OWNER, NULL);
	ck_assert_int_eq(keeta_perm_check_grant(&p, KEETA_KEY_ED25519,
	    KEETA_KEY_ED25519, KEETA_PERM_NO_TARGET, NULL), -1);
	ck_assert_int_eq(keeta_perm_check_grant(&p, KEETA_KEY_TOKEN,
	    KEETA_KEY_ED25519, KEETA_PERM_NO_TARGET, NULL), 0);
	ck_assert_int_eq(keeta_perm_check_grant(&p, KEETA_KEY_TOKEN,
	    KEETA_KEY_ED25519, KEETA_KEY_TOKEN, NULL), -1);
	ck_assert(keeta_perm_requires_set(&p));
	/* Entity column. */
	keeta_perm_init(&p);
	keeta_perm_add_flag(&p, KEETA_PERM_TOKEN_ADMIN_SUPPLY, NULL);
	ck_assert_int_eq(keeta_perm_check_grant(&p, KEETA_KEY_STORAGE,
	    KEETA_KEY_ED25519, KEETA_PERM_NO_TARGET, NULL), -1);
	ck_assert_int_eq(keeta_perm_check_grant(&p, KEETA_KEY_TOKEN,
	    KEETA_KEY_SECP256K1, KEETA_PERM_NO_TARGET, NULL), 0);
	ck_assert(!keeta_perm_requires_set(&p));
	/* Defaults. */
	keeta_perm_init(&p);
	keeta_perm_add_flag(&p, KEETA_PERM_STORAGE_DEPOSIT, NULL);
	keeta_perm_add_flag(&p, KEETA_PERM_STORAGE_CAN_HOLD, NULL);
	ck_assert_int_eq(keeta_perm_check_default(&p, KEETA_KEY_STORAGE,
	    NULL), 0);
	ck_assert_int_eq(keeta_perm_check_default(&p, KEETA_KEY_TOKEN,
	    NULL), -1);
	ck_assert_int_eq(keeta_perm_check_default(&p, KEETA_KEY_ED25519,
	    NULL), -1);
	keeta_perm_add_external(&p, 1, NULL);
	ck_assert_int_eq(keeta_perm_check_default(&p, KEETA_KEY_STORAGE,
	    NULL), -1);
	keeta_perm_init(&p);
	keeta_perm_add_flag(&p, KEETA_PERM_SEND_ON_BEHALF, NULL);
	ck_assert_int_eq(keeta_perm_check_default(&p, KEETA_KEY_STORAGE,
	    NULL), -1);
	/* Names and JSON. */
	ck_assert_str_eq(keeta_perm_flag_name(KEETA_PERM_MULTISIG_SIGNER),
	    "MULTISIG_SIGNER");
	ck_assert_int_eq(keeta_perm_flag_from_name("STORAGE_CAN_HOLD"), 9);
	ck_assert_int_eq(keeta_perm_flag_from_name("NOPE"), -1);
	keeta_perm_set(&p, 0x401, 0x21, NULL);
	j = keeta_perm_to_json(&p);
	s = cJSON_PrintUnformatted(j);
	ck_assert_str_eq(s, "[\"0x401\",\"0x21\"]");
	free(s);
	keeta_perm_init(&p);
	ck_assert_int_eq(keeta_perm_from_json(&p, j, NULL), 0);
	ck_assert_uint_eq(p.base, 0x401);
	ck_assert_uint_eq(p.external, 0x21);
	cJSON_Delete(j);
	/* Ledger arithmetic. */
	{
		struct keeta_perm	a, b2;

		keeta_perm_set(&a, 0x11, 0, NULL);
		keeta_perm_set(&b2, 0x401, 1, NULL);
		keeta_perm_combine(&a, &b2);
		ck_assert_uint_eq(a.base, 0x411);
		ck_assert_uint_eq(a.external, 1);
		ck_assert(keeta_perm_contains(&a, &b2));
		keeta_perm_set(&b2, 0x10, 1, NULL);
		keeta_perm_remove(&a, &b2);
		ck_assert_uint_eq(a.base, 0x401);
		ck_assert_uint_eq(a.external, 0);
	}
}
END_TEST

/* Amounts. */

START_TEST(test_amounts)
{
	struct keeta_amount	a, b, r;
	keeta_u128		v, max = ~(keeta_u128)0;
	char			hex[KEETA_AMOUNT_HEX_MAX], *d;

	keeta_amount_from_u128(&a, 0);
	ck_assert_uint_eq(a.len, 0);
	keeta_amount_to_hex(&a, hex);
	ck_assert_str_eq(hex, "0x0");
	keeta_amount_from_u128(&a, 0xF4240);
	keeta_amount_to_hex(&a, hex);
	ck_assert_str_eq(hex, "0xF4240");
	ck_assert_int_eq(keeta_amount_from_hex(&b, "0xde0b6b3a7640000"), 0);
	d = keeta_amount_to_dec(&b);
	ck_assert_str_eq(d, "1000000000000000000");
	free(d);
	ck_assert_int_eq(keeta_amount_from_hex(&b, "0x"), -1);
	ck_assert_int_eq(keeta_amount_from_hex(&b, "12"), -1);
	ck_assert_int_eq(keeta_amount_from_hex(&b, "0xg"), -1);

	keeta_amount_from_u128(&a, max);
	ck_assert_uint_eq(a.len, 16);
	ck_assert_int_eq(keeta_amount_to_u128(&a, &v), 0);
	ck_assert(v == max);
	keeta_amount_from_u128(&b, 1);
	ck_assert_int_eq(keeta_amount_add(&r, &a, &b), 0);
	ck_assert_uint_eq(r.len, 17);
	ck_assert_int_eq(keeta_amount_to_u128(&r, &v), -1);
	ck_assert_int_eq(keeta_amount_sub(&r, &r, &b), 0);
	ck_assert_int_eq(keeta_amount_cmp(&r, &a), 0);
	ck_assert_int_eq(keeta_amount_sub(&r, &b, &a), -1);
	ck_assert_int_eq(keeta_amount_from_dec(&r,
	    "340282366920938463463374607431768211455"), 0);
	ck_assert_int_eq(keeta_amount_cmp(&r, &a), 0);
	/* The full-width value overflows on add. */
	memset(a.b, 0xff, KEETA_AMOUNT_MAX);
	a.len = KEETA_AMOUNT_MAX;
	ck_assert_int_eq(keeta_amount_add(&r, &a, &b), -1);
	{
		uint8_t	big[KEETA_AMOUNT_MAX + 1];

		memset(big, 1, sizeof big);
		ck_assert_int_eq(keeta_amount_set(&r, big, sizeof big), -1);
		big[0] = 0;
		ck_assert_int_eq(keeta_amount_set(&r, big, sizeof big), 0);
		ck_assert_uint_eq(r.len, KEETA_AMOUNT_MAX);
	}
}
END_TEST

/* Base64. */

START_TEST(test_base64)
{
	static const struct {
		const char	*in, *out;
	} v[] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" },
		{ "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	size_t	 i, n;
	char	*s;
	uint8_t	*p;

	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		s = keeta_block_base64_encode((const uint8_t *)v[i].in,
		    strlen(v[i].in));
		ck_assert_str_eq(s, v[i].out);
		free(s);
		p = keeta_block_base64_decode(v[i].out, strlen(v[i].out), &n);
		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq(n, strlen(v[i].in));
		ck_assert(memcmp(p, v[i].in, n) == 0);
		free(p);
	}
	ck_assert_ptr_null(keeta_block_base64_decode("Zg=", 3, &n));
	ck_assert_ptr_null(keeta_block_base64_decode("Zh==", 4, &n));
	ck_assert_ptr_null(keeta_block_base64_decode("Z", 1, &n));
	ck_assert_ptr_null(keeta_block_base64_decode("Zm9v!", 5, &n));
}
END_TEST

/* Vectors: decode. */

static void
check_decoded(const cJSON *v, const struct keeta_block *b)
{
	const cJSON	*sigs, *want;
	cJSON		*got, *bin;
	uint8_t		*der, hash[KEETA_HASH_LEN];
	size_t		 len, i;
	const char	*cause = NULL;
	char		*s;

	der = keeta_block_encode(b, 0, &len, &cause);
	ck_assert_msg(der != NULL, "%s", cause);
	ck_assert(kv_eq_hex(der, len, kv_str(v, "unsignedDER")));
	free(der);
	der = keeta_block_encode(b, 1, &len, &cause);
	ck_assert_msg(der != NULL, "%s", cause);
	ck_assert(kv_eq_hex(der, len, kv_str(v, "DER")));
	free(der);
	ck_assert_int_eq(keeta_block_hash(b, hash, NULL), 0);
	ck_assert(kv_eq_hex(hash, sizeof hash, kv_str(v, "hash")));
	sigs = cJSON_GetObjectItemCaseSensitive(v, "signatures");
	ck_assert_uint_eq(b->nsigs, (size_t)cJSON_GetArraySize(sigs));
	for (i = 0; i < b->nsigs; i++)
		ck_assert(kv_eq_hex(b->sigs[i], KEETA_SIG_LEN,
		    cJSON_GetArrayItem(sigs, (int)i)->valuestring));
	ck_assert_int_eq(b->version,
	    cJSON_GetObjectItemCaseSensitive(v, "version")->valueint);
	ck_assert_int_eq(keeta_block_is_opening(b),
	    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "opening")));

	want = cJSON_GetObjectItemCaseSensitive(v, "json");
	got = keeta_block_to_json(b, 0, &cause);
	ck_assert_msg(got != NULL, "%s", cause);
	if (!cJSON_Compare(got, want, 1)) {
		s = cJSON_PrintUnformatted(got);
		ck_abort_msg("%s: JSON differs: %s", kv_str(v, "label"), s);
	}
	/* Same key order as the SDK prints. */
	{
		char	*a = cJSON_PrintUnformatted(got);
		char	*w = cJSON_PrintUnformatted(want);

		ck_assert_str_eq(a, w);
		free(a);
		free(w);
	}
	cJSON_Delete(got);
	got = keeta_block_to_json(b, 1, NULL);
	bin = cJSON_GetObjectItemCaseSensitive(got, "$binary");
	ck_assert(cJSON_IsString(bin));
	ck_assert_str_eq(bin->valuestring, kv_str(v, "base64"));
	cJSON_Delete(got);
}

START_TEST(test_vectors_decode)
{
	const cJSON		*v;
	struct keeta_block	*b, *c;
	uint8_t			*der;
	size_t			 len;
	const char		*cause;

	cJSON_ArrayForEach(v, vec_list()) {
		der = kv_unhex(kv_str(v, "DER"), &len);
		cause = NULL;
		ck_assert_msg(keeta_block_decode(der, len, 0, &b, &cause) == 0,
		    "%s: %s", kv_str(v, "label"), cause);
		check_decoded(v, b);
		ck_assert_int_eq(keeta_block_verify(b, NULL), 0);
		c = keeta_block_dup(b);
		check_decoded(v, c);
		keeta_block_free(c);
		keeta_block_free(b);
		free(der);

		der = kv_unhex(kv_str(v, "unsignedDER"), &len);
		ck_assert_int_eq(keeta_block_decode(der, len,
		    KEETA_BLOCK_UNSIGNED, &b, &cause), 0);
		ck_assert_uint_eq(b->nsigs, 0);
		ck_assert_int_eq(keeta_block_verify(b, NULL), -1);
		keeta_block_free(b);
		/* The unsigned form is not a signed block. */
		ck_assert_int_eq(keeta_block_decode(der, len, 0, &b, &cause),
		    -1);
		ck_assert_ptr_null(b);
		free(der);
	}
}
END_TEST

START_TEST(test_vectors_negative)
{
	const cJSON		*neg, *v;
	struct keeta_block	*b;
	uint8_t			*der;
	size_t			 len;
	const char		*cause;

	neg = cJSON_GetObjectItemCaseSensitive(vectors, "negative");
	ck_assert_int_eq(cJSON_GetArraySize(neg), 2);
	cJSON_ArrayForEach(v, neg) {
		der = kv_unhex(kv_str(v, "DER"), &len);
		cause = NULL;
		ck_assert_msg(keeta_block_decode(der, len, 0, &b, &cause) == -1,
		    "%s accepted", kv_str(v, "label"));
		ck_assert_ptr_nonnull(cause);
		ck_assert_ptr_null(b);
		/* Rejected for its encoding, even without verifying. */
		cause = NULL;
		ck_assert_int_eq(keeta_block_decode(der, len,
		    KEETA_BLOCK_NOVERIFY, &b, &cause), -1);
		ck_assert_ptr_nonnull(cause);
		free(der);
	}
}
END_TEST

/* Vectors: rebuild from the inputs with the builder and sign. */

static struct keeta_account	*accts[8];
static size_t			 naccts;

static void
load_accounts(void)
{
	const cJSON	*seeds, *e;

	naccts = 0;
	seeds = cJSON_GetObjectItemCaseSensitive(vectors, "accountSeeds");
	cJSON_ArrayForEach(e, seeds) {
		ck_assert_uint_lt(naccts, 8);
		accts[naccts++] = kv_account(e);
	}
}

static void
free_accounts(void)
{
	size_t	i;

	for (i = 0; i < naccts; i++)
		keeta_account_free(accts[i]);
	naccts = 0;
}

static struct keeta_account *
find_account(const char *addr)
{
	struct keeta_pubkey	pk;
	size_t			i;

	kv_pubkey(addr, &pk);
	for (i = 0; i < naccts; i++) {
		if (keeta_pubkey_equal(&pk, keeta_account_pubkey(accts[i])))
			return accts[i];
	}
	ck_abort_msg("no key for %s", addr);
	return NULL;
}

static void
tree_from_json(const cJSON *j, struct keeta_signer_node *n)
{
	const cJSON	*m, *e;
	size_t		 i = 0;

	ck_assert(cJSON_IsArray(j));
	kv_pubkey(cJSON_GetArrayItem(j, 0)->valuestring, &n->key);
	m = cJSON_GetArrayItem(j, 1);
	n->nchildren = (size_t)cJSON_GetArraySize(m);
	n->children = xcalloc(n->nchildren, sizeof *n->children);
	cJSON_ArrayForEach(e, m) {
		if (cJSON_IsArray(e))
			tree_from_json(e, &n->children[i]);
		else
			kv_pubkey(e->valuestring, &n->children[i].key);
		i++;
	}
}

static void
tree_free(struct keeta_signer_node *n)
{
	size_t	i;

	for (i = 0; i < n->nchildren; i++)
		tree_free(&n->children[i]);
	free(n->children);
}

static const char *
opt_str(const cJSON *o, const char *key)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int
num(const cJSON *o, const char *key)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	ck_assert_msg(cJSON_IsNumber(v), "missing %s", key);
	return v->valueint;
}

static void
add_op(struct keeta_block *b, const cJSON *op)
{
	struct keeta_pubkey	 a, t, f, sig[16], id, want;
	struct keeta_amount	 amt;
	struct keeta_perm	 perm;
	const cJSON		*p, *args, *e;
	const char		*cause = NULL, *s;
	uint8_t			*bytes;
	size_t			 n, nsig = 0;
	int			 rc = -1;

	switch (num(op, "type")) {
	case KEETA_OP_SEND:
		kv_pubkey(kv_str(op, "to"), &a);
		kv_pubkey(kv_str(op, "token"), &t);
		ck_assert_int_eq(keeta_amount_from_hex(&amt,
		    kv_str(op, "amount")), 0);
		rc = keeta_block_add_send(b, &a, &amt, &t,
		    opt_str(op, "external"), &cause);
		break;
	case KEETA_OP_SET_REP:
		kv_pubkey(kv_str(op, "to"), &a);
		rc = keeta_block_add_set_rep(b, &a, &cause);
		break;
	case KEETA_OP_SET_INFO:
		p = cJSON_GetObjectItemCaseSensitive(op, "defaultPermission");
		if (p != NULL)
			ck_assert_int_eq(keeta_perm_from_json(&perm, p, NULL),
			    0);
		rc = keeta_block_add_set_info(b, kv_str(op, "name"),
		    kv_str(op, "description"), kv_str(op, "metadata"),
		    p != NULL ? &perm : NULL, &cause);
		break;
	case KEETA_OP_MODIFY_PERMISSIONS:
		kv_pubkey(kv_str(op, "principal"), &a);
		p = cJSON_GetObjectItemCaseSensitive(op, "permissions");
		if (!cJSON_IsNull(p))
			ck_assert_int_eq(keeta_perm_from_json(&perm, p, NULL),
			    0);
		if ((s = opt_str(op, "target")) != NULL)
			kv_pubkey(s, &t);
		rc = keeta_block_add_modify_permissions(b, &a,
		    (enum keeta_adjust)num(op, "method"),
		    cJSON_IsNull(p) ? NULL : &perm, s != NULL ? &t : NULL,
		    &cause);
		break;
	case KEETA_OP_CREATE_IDENTIFIER:
		kv_pubkey(kv_str(op, "identifier"), &want);
		args = cJSON_GetObjectItemCaseSensitive(op, "createArguments");
		if (args == NULL)
			rc = keeta_block_add_create_identifier(b, want.type,
			    &id, &cause);
		else {
			cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(
			    args, "signers"))
				kv_pubkey(e->valuestring, &sig[nsig++]);
			ck_assert_int_eq(keeta_amount_from_hex(&amt,
			    kv_str(args, "quorum")), 0);
			rc = keeta_block_add_create_multisig(b, sig, nsig,
			    amt.b[0], &id, &cause);
		}
		ck_assert(keeta_pubkey_equal(&id, &want));
		break;
	case KEETA_OP_TOKEN_ADMIN_SUPPLY:
		ck_assert_int_eq(keeta_amount_from_hex(&amt,
		    kv_str(op, "amount")), 0);
		rc = keeta_block_add_token_supply(b, &amt,
		    (enum keeta_adjust)num(op, "method"), &cause);
		break;
	case KEETA_OP_TOKEN_ADMIN_MODIFY_BALANCE:
		kv_pubkey(kv_str(op, "token"), &t);
		ck_assert_int_eq(keeta_amount_from_hex(&amt,
		    kv_str(op, "amount")), 0);
		rc = keeta_block_add_modify_balance(b, &t, &amt,
		    (enum keeta_adjust)num(op, "method"), &cause);
		break;
	case KEETA_OP_RECEIVE:
		kv_pubkey(kv_str(op, "token"), &t);
		kv_pubkey(kv_str(op, "from"), &f);
		ck_assert_int_eq(keeta_amount_from_hex(&amt,
		    kv_str(op, "amount")), 0);
		if ((s = opt_str(op, "forward")) != NULL)
			kv_pubkey(s, &a);
		rc = keeta_block_add_receive(b, &amt, &t, &f,
		    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(op, "exact")),
		    s != NULL ? &a : NULL, &cause);
		break;
	case KEETA_OP_MANAGE_CERTIFICATE:
		bytes = kv_unhex(kv_str(op, "certificateOrHash"), &n);
		rc = keeta_block_add_manage_certificate(b,
		    (enum keeta_adjust)num(op, "method"), bytes, n, NULL, 0,
		    &cause);
		free(bytes);
		break;
	default:
		ck_abort_msg("unknown op type");
	}
	ck_assert_msg(rc >= 0, "add op: %s", cause);
}

static struct keeta_block *
build_from_input(const cJSON *v)
{
	const cJSON		*in, *op, *signer, *ver;
	struct keeta_block	*b;
	struct keeta_pubkey	 acct, pk[16];
	struct keeta_signer_node tree;
	struct keeta_account	*sa[16];
	struct keeta_amount	 amt;
	uint8_t			 prev[KEETA_HASH_LEN], *p;
	const char		*s, *cause = NULL;
	size_t			 n, i, nreq;
	int			 version = 1;

	in = cJSON_GetObjectItemCaseSensitive(v, "input");
	kv_pubkey(kv_str(in, "account"), &acct);
	s = kv_str(in, "previous");
	if (strstr(s, "NO_PREVIOUS") != NULL)
		keeta_opening_hash(&acct, prev);
	else {
		p = kv_unhex(s, &n);
		ck_assert_uint_eq(n, KEETA_HASH_LEN);
		memcpy(prev, p, n);
		free(p);
	}
	if ((ver = cJSON_GetObjectItemCaseSensitive(in, "version")) != NULL)
		version = ver->valueint;
	ck_assert_int_eq(keeta_amount_from_hex(&amt, kv_str(in, "network")),
	    0);
	{
		keeta_u128	net;

		ck_assert_int_eq(keeta_amount_to_u128(&amt, &net), 0);
		b = keeta_block_new(version, (uint64_t)net, &acct, prev,
		    kv_iso_ms(kv_str(in, "date")));
	}
	if ((s = opt_str(in, "subnet")) != NULL) {
		ck_assert_int_eq(keeta_amount_from_hex(&amt, s), 0);
		keeta_block_set_subnet(b, amt.len ? amt.b[0] : 0);
	}
	if ((s = opt_str(in, "idempotent_hex")) != NULL) {
		p = kv_unhex(s, &n);
		ck_assert_int_eq(keeta_block_set_idempotent(b, p, n, NULL), 0);
		free(p);
	}
	if (cJSON_GetObjectItemCaseSensitive(in, "purpose") != NULL)
		ck_assert_int_eq(keeta_block_set_purpose(b,
		    (enum keeta_purpose)num(in, "purpose"), NULL), 0);
	cJSON_ArrayForEach(op, cJSON_GetObjectItemCaseSensitive(in,
	    "operations"))
		add_op(b, op);

	signer = cJSON_GetObjectItemCaseSensitive(in, "signer");
	if (cJSON_IsArray(signer)) {
		memset(&tree, 0, sizeof tree);
		tree_from_json(signer, &tree);
		ck_assert_int_eq(keeta_block_set_multisig(b, &tree, &cause), 0);
		tree_free(&tree);
		nreq = 0;
		{
			struct keeta_pubkey	*req;

			nreq = keeta_block_required_signers(b, &req);
			ck_assert_uint_le(nreq, 16);
			memcpy(pk, req, nreq * sizeof *req);
			free(req);
		}
		/* Hand the keys over in reverse: sign() must order them. */
		for (i = 0; i < nreq; i++) {
			char	addr[KEETA_ADDRESS_MAX];

			keeta_address_encode(&pk[nreq - 1 - i], addr);
			sa[i] = find_account(addr);
		}
		ck_assert_msg(keeta_block_sign(b, sa, nreq, &cause) == 0, "%s",
		    cause);
	} else {
		s = signer != NULL ? signer->valuestring :
		    kv_str(in, "account");
		sa[0] = find_account(s);
		ck_assert_msg(keeta_block_sign(b, sa, 1, &cause) == 0, "%s: %s",
		    kv_str(v, "label"), cause);
	}
	return b;
}

START_TEST(test_vectors_build)
{
	const cJSON		*v;
	struct keeta_block	*b;

	load_accounts();
	cJSON_ArrayForEach(v, vec_list()) {
		b = build_from_input(v);
		check_decoded(v, b);
		keeta_block_free(b);
	}
	free_accounts();
}
END_TEST

/* Mutations. */

START_TEST(test_truncated_and_flipped)
{
	const cJSON		*v;
	struct keeta_block	*b;
	uint8_t			*der;
	size_t			 len, i;
	unsigned int		 bit;
	const char		*cause;

	cJSON_ArrayForEach(v, vec_list()) {
		der = kv_unhex(kv_str(v, "DER"), &len);
		for (i = 0; i < len; i++) {
			cause = NULL;
			ck_assert_int_eq(keeta_block_decode(der, i, 0, &b,
			    &cause), -1);
			ck_assert_ptr_nonnull(cause);
		}
		/* Every single-bit change breaks the encoding, a rule, or a
		 * signature. */
		for (i = 0; i < len; i++) {
			for (bit = 0; bit < 8; bit += 5) {
				der[i] ^= (uint8_t)(1u << bit);
				cause = NULL;
				ck_assert_msg(keeta_block_decode(der, len, 0, &b,
				    &cause) == -1, "%s: flip %zu.%u accepted",
				    kv_str(v, "label"), i, bit);
				der[i] ^= (uint8_t)(1u << bit);
			}
		}
		/* Trailing data. */
		der = xreallocarray(der, len + 1, 1);
		der[len] = 0;
		ck_assert_int_eq(keeta_block_decode(der, len + 1, 0, &b,
		    &cause), -1);
		free(der);
	}
}
END_TEST

START_TEST(test_garbage)
{
	const cJSON		*v;
	struct keeta_block	*b;
	uint8_t			*der, buf[512];
	size_t			 len, i, k;
	uint64_t		 st = 0x9e3779b97f4a7c15ULL;
	int			 rounds;

	for (rounds = 0; rounds < 8000; rounds++) {
		len = (size_t)(kv_rand(&st) % sizeof buf);
		for (i = 0; i < len; i++)
			buf[i] = (uint8_t)kv_rand(&st);
		if (len > 0)
			buf[0] = (rounds & 1) ? 0x30 : 0xa1;
		if (keeta_block_decode(buf, len, KEETA_BLOCK_NOVERIFY, &b,
		    NULL) == 0)
			keeta_block_free(b);
	}
	/* Random byte changes of real blocks, without verification so that
	 * the parser itself is exercised past the first changed byte. */
	cJSON_ArrayForEach(v, vec_list()) {
		der = kv_unhex(kv_str(v, "DER"), &len);
		for (rounds = 0; rounds < 150; rounds++) {
			uint8_t	*m = xmalloc(len);

			memcpy(m, der, len);
			for (k = 0; k < 1 + kv_rand(&st) % 3; k++)
				m[kv_rand(&st) % len] = (uint8_t)kv_rand(&st);
			if (keeta_block_decode(m, len, KEETA_BLOCK_NOVERIFY, &b,
			    NULL) == 0)
				keeta_block_free(b);
			free(m);
		}
		free(der);
	}
}
END_TEST

/* Builder rules. */

/* A self-signed X.509 v3 certificate whose subject key is the account's
 * (Ed25519 or secp256k1; the EC point is written uncompressed). */
static uint8_t *
make_cert(const struct keeta_account *acct, size_t *len)
{
	const struct keeta_pubkey	*pk = keeta_account_pubkey(acct);
	EVP_PKEY			*k = NULL;
	EVP_PKEY_CTX			*ctx;
	OSSL_PARAM_BLD			*bld;
	OSSL_PARAM			*params;
	BIGNUM				*d;
	X509				*x;
	X509_NAME			*n;
	uint8_t				 priv[32], *out = NULL, *q;
	int				 l;

	ck_assert_int_eq(keeta_account_private(acct, priv), 0);
	if (pk->type == KEETA_KEY_ED25519)
		k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv,
		    sizeof priv);
	else {
		bld = OSSL_PARAM_BLD_new();
		d = BN_bin2bn(priv, sizeof priv, NULL);
		ck_assert(OSSL_PARAM_BLD_push_utf8_string(bld,
		    OSSL_PKEY_PARAM_GROUP_NAME, "secp256k1", 0));
		ck_assert(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY,
		    d));
		ck_assert(OSSL_PARAM_BLD_push_octet_string(bld,
		    OSSL_PKEY_PARAM_PUB_KEY, pk->key, pk->len));
		params = OSSL_PARAM_BLD_to_param(bld);
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
		ck_assert_int_eq(EVP_PKEY_fromdata_init(ctx), 1);
		ck_assert_int_eq(EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_KEYPAIR,
		    params), 1);
		EVP_PKEY_CTX_free(ctx);
		OSSL_PARAM_free(params);
		OSSL_PARAM_BLD_free(bld);
		BN_free(d);
	}
	ck_assert_ptr_nonnull(k);
	x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"kdex test", -1, -1, 0);
	X509_set_issuer_name(x, n);
	ck_assert_int_eq(X509_set_pubkey(x, k), 1);
	ck_assert_int_gt(X509_sign(x, k, pk->type == KEETA_KEY_ED25519 ? NULL :
	    EVP_sha256()), 0);
	l = i2d_X509(x, NULL);
	ck_assert_int_gt(l, 0);
	out = q = xmalloc((size_t)l);
	i2d_X509(x, &q);
	*len = (size_t)l;
	X509_free(x);
	EVP_PKEY_free(k);
	return out;
}

START_TEST(test_manage_certificate)
{
	struct keeta_account	*alice, *bob, *carol;
	struct keeta_block	*b, *d;
	struct keeta_bytes	 inter[2];
	uint8_t			 prev[KEETA_HASH_LEN], *cert, *cert2, *der;
	size_t			 len, len2, n;
	const char		*cause = NULL;
	cJSON			*j;
	const cJSON		*op;

	load_accounts();
	alice = accts[0];
	bob = accts[1];
	carol = accts[2];
	memset(prev, 9, sizeof prev);
	cert = make_cert(alice, &len);
	cert2 = make_cert(carol, &len2);

	/* ADD with no intermediates (NULL) on alice's chain. */
	b = keeta_block_new(1, 0x54455354, keeta_account_pubkey(alice), prev,
	    1735787045000);
	ck_assert_int_eq(keeta_block_add_manage_certificate(b, KEETA_ADJUST_ADD,
	    cert, len, NULL, 0, &cause), 0);
	ck_assert_msg(keeta_block_sign(b, &alice, 1, &cause) == 0, "%s", cause);
	der = keeta_block_encode(b, 1, &n, &cause);
	ck_assert_int_eq(keeta_block_decode(der, n, 0, &d, &cause), 0);
	ck_assert_int_eq(d->ops[0].u.certificate.intermediates, 0);
	ck_assert_uint_eq(d->ops[0].u.certificate.cert.len, len);
	j = keeta_op_to_json(&d->ops[0]);
	ck_assert(strncmp(cJSON_GetObjectItemCaseSensitive(j,
	    "certificateOrHash")->valuestring, "-----BEGIN CERTIFICATE-----\n",
	    28) == 0);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j,
	    "intermediateCertificates")));
	cJSON_Delete(j);
	keeta_block_free(d);
	free(der);
	keeta_block_free(b);

	/* secp256k1 subject (uncompressed point in the certificate), with
	 * intermediates. */
	b = keeta_block_new(1, 0x54455354, keeta_account_pubkey(carol), prev,
	    1735787045000);
	inter[0].p = cert;
	inter[0].len = len;
	inter[1].p = cert;
	inter[1].len = 10;
	ck_assert_msg(keeta_block_add_manage_certificate(b, KEETA_ADJUST_ADD,
	    cert2, len2, inter, 2, &cause) == 0, "%s", cause);
	ck_assert_msg(keeta_block_sign(b, &carol, 1, &cause) == 0, "%s", cause);
	der = keeta_block_encode(b, 1, &n, &cause);
	ck_assert_int_eq(keeta_block_decode(der, n, 0, &d, &cause), 0);
	ck_assert_uint_eq(d->ops[0].u.certificate.nintermediates, 2);
	ck_assert_uint_eq(d->ops[0].u.certificate.intermediate[1].len, 10);
	j = keeta_block_to_json(d, 0, NULL);
	op = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j,
	    "operations"), 0);
	ck_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(op,
	    "intermediateCertificates")));
	cJSON_Delete(j);
	keeta_block_free(d);
	free(der);
	keeta_block_free(b);

	/* The subject must be the block account; garbage is no certificate. */
	b = keeta_block_new(1, 0x54455354, keeta_account_pubkey(bob), prev,
	    1735787045000);
	keeta_block_add_manage_certificate(b, KEETA_ADJUST_ADD, cert, len,
	    NULL, 0, NULL);
	ck_assert_int_eq(keeta_block_sign(b, &bob, 1, &cause), -1);
	ck_assert_str_eq(cause, "manage certificate: subject does not match "
	    "the block account");
	b->ops[0].u.certificate.cert.len = len - 1;
	ck_assert_int_eq(keeta_block_validate(b, &cause), -1);
	ck_assert_str_eq(cause, "manage certificate: not an X.509 certificate");
	keeta_block_free(b);
	free(cert);
	free(cert2);
	free_accounts();
}
END_TEST

START_TEST(test_builder_rules)
{
	struct keeta_account	*alice, *bob;
	struct keeta_pubkey	 a, bpk, token, storage, ms;
	struct keeta_block	*b;
	struct keeta_amount	 one;
	struct keeta_perm	 perm;
	struct keeta_signer_node tree, kids[2];
	uint8_t			 prev[KEETA_HASH_LEN];
	const char		*cause;
	uint8_t			*der;
	size_t			 len;
	struct keeta_block	*d;

	load_accounts();
	alice = accts[0];
	bob = accts[1];
	a = *keeta_account_pubkey(alice);
	bpk = *keeta_account_pubkey(bob);
	keeta_base_token(0x54455354, &token);
	keeta_amount_from_u128(&one, 1);
	memset(prev, 7, sizeof prev);

	/* No operations: the SDK accepts such a block, and so do we. */
	b = keeta_block_new(1, 0x54455354, &a, prev, 1735787045000);
	ck_assert_int_eq(keeta_block_sign(b, &alice, 1, &cause), 0);
	der = keeta_block_encode(b, 1, &len, NULL);
	ck_assert_int_eq(keeta_block_decode(der, len, 0, &d, &cause), 0);
	ck_assert_uint_eq(d->nops, 0);
	keeta_block_free(d);
	free(der);
	/* FEE purpose needs V2; V1 cannot take a multisig signer. */
	ck_assert_int_eq(keeta_block_set_purpose(b, KEETA_PURPOSE_FEE, NULL),
	    -1);
	ck_assert_int_eq(keeta_block_set_idempotent(b, prev, 33, NULL), -1);
	ck_assert_int_eq(keeta_block_add_send(b, &bpk, &one, &a, NULL, NULL),
	    -1);
	ck_assert_int_eq(keeta_block_add_send(b, &bpk, &one, &token, "bad!",
	    NULL), -1);
	ck_assert_int_eq(keeta_block_add_send(b, &bpk, &one, &token, "",
	    NULL), 0);
	ck_assert_int_eq(keeta_block_add_set_info(b, "lower", NULL, NULL,
	    NULL, NULL), -1);
	ck_assert_int_eq(keeta_block_add_receive(b, &one, &token, &bpk, 0,
	    &bpk, NULL), -1);
	ck_assert_int_eq(keeta_block_sign(b, &alice, 1, &cause), 0);
	ck_assert_int_eq(keeta_block_verify(b, NULL), 0);
	/* An empty external is kept and differs from an absent one. */
	der = keeta_block_encode(b, 1, &len, NULL);
	ck_assert_int_eq(keeta_block_decode(der, len, 0, &d, &cause), 0);
	ck_assert_str_eq(d->ops[0].u.send.external, "");
	keeta_block_free(d);
	free(der);
	/* Signing with someone else turns the signer into OTHER; a keyed
	 * account signed by another still verifies. */
	ck_assert_int_eq(keeta_block_sign(b, &bob, 1, &cause), 0);
	ck_assert_int_eq(b->signer_kind, KEETA_SIGNER_OTHER);
	ck_assert_int_eq(keeta_block_verify(b, NULL), 0);
	/* A tampered signature fails. */
	b->sigs[0][5] ^= 1;
	ck_assert_int_eq(keeta_block_verify(b, &cause), -1);
	keeta_block_free(b);

	/* Identifier accounts: SET_INFO needs a default permission and the
	 * block needs another signer. */
	keeta_identifier_derive(&a, prev, 0, KEETA_KEY_STORAGE, &storage);
	b = keeta_block_new(1, 0x54455354, &storage, prev, 1735787045000);
	ck_assert_int_eq(keeta_block_add_set_info(b, "", "", "", NULL, NULL),
	    0);
	ck_assert_int_eq(keeta_block_validate(b, &cause), -1);
	keeta_block_free(b);
	b = keeta_block_new(1, 0x54455354, &storage, prev, 1735787045000);
	keeta_perm_init(&perm);
	keeta_perm_add_flag(&perm, KEETA_PERM_STORAGE_DEPOSIT, NULL);
	ck_assert_int_eq(keeta_block_add_set_info(b, "", "", "", &perm, NULL),
	    0);
	ck_assert_int_eq(keeta_block_validate(b, &cause), -1);	/* no signer */
	ck_assert_int_eq(keeta_block_sign(b, &alice, 1, &cause), 0);
	ck_assert_int_eq(b->signer_kind, KEETA_SIGNER_OTHER);
	/* MODIFY_PERMISSIONS rules. */
	keeta_perm_init(&perm);
	keeta_perm_add_flag(&perm, KEETA_PERM_ADMIN, NULL);
	ck_assert_int_eq(keeta_block_add_modify_permissions(b, &bpk,
	    KEETA_ADJUST_ADD, &perm, NULL, NULL), 1);
	ck_assert_int_eq(keeta_block_validate(b, &cause), -1);
	keeta_block_free(b);
	b = keeta_block_new(1, 0x54455354, &a, prev, 1735787045000);
	ck_assert_int_eq(keeta_block_add_modify_permissions(b, &bpk,
	    KEETA_ADJUST_ADD, NULL, NULL, NULL), -1);
	keeta_perm_init(&perm);
	keeta_perm_add_flag(&perm, KEETA_PERM_OWNER, NULL);
	keeta_block_add_modify_permissions(b, &bpk, KEETA_ADJUST_SET, &perm,
	    NULL, NULL);
	ck_assert_int_eq(keeta_block_validate(b, &cause), -1);
	keeta_block_free(b);
	b = keeta_block_new(1, 0x54455354, &a, prev, 1735787045000);
	keeta_perm_init(&perm);
	keeta_perm_add_flag(&perm, KEETA_PERM_SEND_ON_BEHALF, NULL);
	keeta_block_add_modify_permissions(b, &bpk, KEETA_ADJUST_ADD, &perm,
	    &token, NULL);
	ck_assert_int_eq(keeta_block_validate(b, &cause), 0);
	keeta_block_add_modify_permissions(b, &bpk, KEETA_ADJUST_SET, &perm,
	    &token, NULL);
	ck_assert_int_eq(keeta_block_validate(b, &cause), -1);
	keeta_block_free(b);
	/* No target and a target equal to the account are the same pair. */
	b = keeta_block_new(1, 0x54455354, &storage, prev, 1735787045000);
	keeta_block_set_signer(b, &a, NULL);
	keeta_perm_init(&perm);
	keeta_perm_add_flag(&perm, KEETA_PERM_UPDATE_INFO, NULL);
	keeta_block_add_modify_permissions(b, &bpk, KEETA_ADJUST_ADD, &perm,
	    NULL, NULL);
	ck_assert_int_eq(keeta_block_validate(b, &cause), 0);
	keeta_perm_init(&perm);
	keeta_perm_add_flag(&perm, KEETA_PERM_PERMISSION_DELEGATE_ADD, NULL);
	keeta_block_add_modify_permissions(b, &bpk, KEETA_ADJUST_SET, &perm,
	    &storage, NULL);
	ck_assert_int_eq(keeta_block_validate(b, &cause), -1);
	ck_assert_str_eq(cause, "modify permissions: SET after another change "
	    "of the same permission");
	/* With another target it is a different pair. */
	b->ops[1].u.modify_perms.target = token;
	ck_assert_int_eq(keeta_block_validate(b, &cause), 0);
	keeta_block_free(b);
	/* Table checks: STORAGE_DEPOSIT on a keyed account, SEND_ON_BEHALF
	 * to a token principal. */
	b = keeta_block_new(1, 0x54455354, &a, prev, 1735787045000);
	keeta_perm_init(&perm);
	keeta_perm_add_flag(&perm, KEETA_PERM_STORAGE_DEPOSIT, NULL);
	keeta_block_add_modify_permissions(b, &bpk, KEETA_ADJUST_ADD, &perm,
	    NULL, NULL);
	ck_assert_int_eq(keeta_block_validate(b, &cause), -1);
	keeta_block_free(b);
	b = keeta_block_new(1, 0x54455354, &a, prev, 1735787045000);
	keeta_perm_init(&perm);
	keeta_perm_add_flag(&perm, KEETA_PERM_SEND_ON_BEHALF, NULL);
	keeta_block_add_modify_permissions(b, &token, KEETA_ADJUST_ADD, &perm,
	    NULL, NULL);
	ck_assert_int_eq(keeta_block_validate(b, &cause), -1);
	keeta_block_free(b);
	/* Identifiers never create identifiers. */
	b = keeta_block_new(1, 0x54455354, &storage, prev, 1735787045000);
	keeta_block_set_signer(b, &a, NULL);
	keeta_block_add_create_identifier(b, KEETA_KEY_TOKEN, NULL, NULL);
	ck_assert_int_eq(keeta_block_validate(b, &cause), -1);
	keeta_block_free(b);
	/* Supply limit 10^200 - 1. */
	{
		struct keeta_amount	lim;
		char			dec[202];

		memset(dec, '9', 200);
		dec[200] = '\0';
		ck_assert_int_eq(keeta_amount_from_dec(&lim, dec), 0);
		b = keeta_block_new(1, 0x54455354, &token, prev, 1735787045000);
		keeta_block_set_signer(b, &a, NULL);
		keeta_block_add_token_supply(b, &lim, KEETA_ADJUST_ADD, NULL);
		ck_assert_int_eq(keeta_block_validate(b, &cause), 0);
		keeta_amount_add(&lim, &lim, &one);
		b->ops[0].u.supply.amount = lim;
		ck_assert_int_eq(keeta_block_validate(b, &cause), -1);
		keeta_block_free(b);
	}

	/* TOKEN_ADMIN_SUPPLY only on a token; SET_REP once. */
	b = keeta_block_new(1, 0x54455354, &a, prev, 1735787045000);
	keeta_block_add_token_supply(b, &one, KEETA_ADJUST_ADD, NULL);
	ck_assert_int_eq(keeta_block_validate(b, &cause), -1);
	keeta_block_free(b);
	b = keeta_block_new(1, 0x54455354, &a, prev, 1735787045000);
	keeta_block_add_set_rep(b, &bpk, NULL);
	keeta_block_add_set_rep(b, &bpk, NULL);
	ck_assert_int_eq(keeta_block_validate(b, &cause), -1);
	keeta_block_free(b);

	/* A certificate managed twice (by hash or by DER) is refused. */
	{
		uint8_t	*cert, h[KEETA_HASH_LEN];
		size_t	 certlen;

		cert = make_cert(alice, &certlen);
		keeta_sha3_256(cert, certlen, h);
		b = keeta_block_new(1, 0x54455354, &a, prev, 1735787045000);
		ck_assert_int_eq(keeta_block_add_manage_certificate(b,
		    KEETA_ADJUST_ADD, cert, certlen, NULL, 0, NULL), 0);
		ck_assert_int_eq(keeta_block_validate(b, &cause), 0);
		ck_assert_int_eq(keeta_block_add_manage_certificate(b,
		    KEETA_ADJUST_SUBTRACT, h, sizeof h, NULL, 0, NULL), 1);
		ck_assert_int_eq(keeta_block_validate(b, &cause), -1);
		ck_assert_str_eq(cause,
		    "manage certificate: duplicate certificate");
		ck_assert_int_eq(keeta_block_add_manage_certificate(b,
		    KEETA_ADJUST_SUBTRACT, cert, certlen, NULL, 0, NULL), -1);
		keeta_block_free(b);
		free(cert);
	}

	/* V2 FEE blocks take only SEND. */
	b = keeta_block_new(2, 0x54455354, &a, prev, 1735787045000);
	ck_assert_int_eq(keeta_block_set_purpose(b, KEETA_PURPOSE_FEE, NULL),
	    0);
	keeta_block_add_set_rep(b, &bpk, NULL);
	ck_assert_int_eq(keeta_block_validate(b, &cause), -1);
	keeta_block_free(b);

	/* V2 multisig: two signers, any order, extra or missing refused. */
	keeta_identifier_derive(&bpk, prev, 0, KEETA_KEY_MULTISIG, &ms);
	memset(&tree, 0, sizeof tree);
	memset(kids, 0, sizeof kids);
	tree.key = ms;
	kids[0].key = a;
	kids[1].key = bpk;
	tree.children = kids;
	tree.nchildren = 2;
	b = keeta_block_new(1, 0x54455354, &storage, prev, 1735787045000);
	ck_assert_int_eq(keeta_block_set_multisig(b, &tree, NULL), -1);
	keeta_block_free(b);
	b = keeta_block_new(2, 0x54455354, &storage, prev, 1735787045000);
	kids[1].key = a;
	ck_assert_int_eq(keeta_block_set_multisig(b, &tree, NULL), -1);
	kids[1].key = bpk;
	ck_assert_int_eq(keeta_block_set_multisig(b, &tree, NULL), 0);
	keeta_block_add_send(b, &bpk, &one, &token, NULL, NULL);
	ck_assert_int_eq(keeta_block_sign(b, &alice, 1, &cause), -1);
	{
		struct keeta_account	*three[3] = { bob, alice, accts[2] };

		ck_assert_int_eq(keeta_block_sign(b, three, 3, &cause), -1);
		ck_assert_int_eq(keeta_block_sign(b, three, 2, &cause), 0);
	}
	ck_assert_uint_eq(b->nsigs, 2);
	ck_assert_int_eq(keeta_block_verify(b, NULL), 0);
	der = keeta_block_encode(b, 1, &len, NULL);
	ck_assert_int_eq(keeta_block_decode(der, len, 0, &d, &cause), 0);
	ck_assert_int_eq(d->signer_kind, KEETA_SIGNER_MULTISIG);
	ck_assert_uint_eq(d->multisig->nchildren, 2);
	keeta_block_free(d);
	/* Swapped signatures no longer verify. */
	{
		uint8_t	tmp[KEETA_SIG_LEN];

		memcpy(tmp, b->sigs[0], KEETA_SIG_LEN);
		memcpy(b->sigs[0], b->sigs[1], KEETA_SIG_LEN);
		memcpy(b->sigs[1], tmp, KEETA_SIG_LEN);
		ck_assert_int_eq(keeta_block_verify(b, NULL), -1);
		free(der);
		der = keeta_block_encode(b, 1, &len, NULL);
		ck_assert_int_eq(keeta_block_decode(der, len, 0, &d, &cause),
		    -1);
		free(der);
	}
	/* Offline signatures attached afterwards. */
	{
		uint8_t	sigs[2][KEETA_SIG_LEN], h[KEETA_HASH_LEN];

		ck_assert_int_eq(keeta_block_hash(b, h, NULL), 0);
		keeta_account_sign(alice, h, sizeof h, sigs[0]);
		keeta_account_sign(bob, h, sizeof h, sigs[1]);
		ck_assert_int_eq(keeta_block_set_signatures(b,
		    (const uint8_t (*)[KEETA_SIG_LEN])sigs, 1, NULL), -1);
		ck_assert_int_eq(keeta_block_set_signatures(b,
		    (const uint8_t (*)[KEETA_SIG_LEN])sigs, 2, NULL), 0);
		ck_assert_int_eq(keeta_block_verify(b, NULL), 0);
	}
	keeta_block_free(b);
	free_accounts();
}
END_TEST

static Suite *
block_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("keeta_block");
	tc = tcase_create("perm");
	tcase_add_test(tc, test_perm_normalise);
	tcase_add_test(tc, test_perm_decode_errors);
	tcase_add_test(tc, test_perm_rules);
	tcase_add_test(tc, test_amounts);
	tcase_add_test(tc, test_base64);
	suite_add_tcase(s, tc);
	tc = tcase_create("vectors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_vectors_decode);
	tcase_add_test(tc, test_vectors_negative);
	tcase_add_test(tc, test_vectors_build);
	tcase_add_test(tc, test_truncated_and_flipped);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_builder_rules);
	tcase_add_test(tc, test_manage_certificate);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(block_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
