/*
 * keeta_vote: vote certificates: build and sign, canonical parse, verify,
 * validity classification and the SDK JSON form.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keeta_vote.h"
#include "util.h"

#define FAIL(why) do {					\
	if (cause != NULL)				\
		*cause = (why);				\
	return -1;					\
} while (0)

#define OID_ED25519	"1.3.101.112"
#define OID_ECDSA_SHA3	"2.16.840.1.101.3.4.3.10"
#define OID_CN		"2.5.4.3"
#define OID_SERIAL	"2.5.4.5"
#define OID_HASHDATA	"2.16.840.1.101.3.3.1.3"
#define OID_SHA3_256	"2.16.840.1.101.3.4.2.8"
#define OID_FEES	"1.3.6.1.4.1.62675.0.1.0"
#define OID_EC_PUBKEY	"1.2.840.10045.2.1"
#define OID_SECP256K1	"1.3.132.0.10"
#define OID_P256	"1.2.840.10045.3.1.7"

static int
put_oid(struct keeta_der_writer *w, const char *oid)
{
	/* Constant OIDs: a failure is a bug here. */
	if (keeta_der_put_oid(w, oid) != 0)
		fatalx("keeta_vote: bad OID %s", oid);
	return 0;
}

static const char *
vote_alg_oid(int keytype)
{
	switch (keytype) {
	case KEETA_KEY_ED25519:
		return OID_ED25519;
	case KEETA_KEY_SECP256K1:
	case KEETA_KEY_SECP256R1:
		return OID_ECDSA_SHA3;
	default:
		return NULL;
	}
}

/* Lower-case hex of the serial without leading zeros ("0" for zero). */
static void
serial_hex(const struct keeta_amount *s, char *out)
{
	char	buf[KEETA_AMOUNT_HEX_MAX], *p;

	keeta_amount_to_hex(s, buf);
	for (p = buf + 2; *p != '\0'; p++)
		*out++ = (*p >= 'A' && *p <= 'F') ? (char)(*p - 'A' + 'a') : *p;
	*out = '\0';
}

static void
put_spki(struct keeta_der_writer *w, const struct keeta_pubkey *pk)
{
	keeta_der_begin(w, KEETA_DER_SEQUENCE);
	keeta_der_begin(w, KEETA_DER_SEQUENCE);
	if (pk->type == KEETA_KEY_ED25519)
		put_oid(w, OID_ED25519);
	else {
		put_oid(w, OID_EC_PUBKEY);
		put_oid(w, pk->type == KEETA_KEY_SECP256K1 ? OID_SECP256K1 :
		    OID_P256);
	}
	keeta_der_end(w);
	keeta_der_put_bits(w, pk->key, pk->len);
	keeta_der_end(w);
}

static void
put_name(struct keeta_der_writer *w, const char *oid, const char *value)
{
	keeta_der_begin(w, KEETA_DER_SEQUENCE);
	keeta_der_begin(w, KEETA_DER_SET);
	keeta_der_begin(w, KEETA_DER_SEQUENCE);
	put_oid(w, oid);
	keeta_der_put_utf8(w, value, strlen(value));
	keeta_der_end(w);
	keeta_der_end(w);
	keeta_der_end(w);
}

static void
put_extension(struct keeta_der_writer *w, const char *oid,
    struct keeta_der_writer *inner)
{
	const uint8_t	*p;
	size_t		 len;

	p = keeta_der_writer_data(inner, &len);
	keeta_der_begin(w, KEETA_DER_SEQUENCE);
	put_oid(w, oid);
	keeta_der_put_bool(w, 1);
	keeta_der_put_octets(w, p, len);
	keeta_der_end(w);
}

/* The tbsCertificate of a vote, exactly as the SDK encodes it. */
static int
vote_write_tbs(const struct keeta_vote *v, struct keeta_der_writer *w,
    const char **cause)
{
	struct keeta_der_writer	 in;
	const char		*alg;
	char			 addr[KEETA_ADDRESS_MAX];
	char			 hex[KEETA_AMOUNT_HEX_MAX];
	uint8_t			 pkt[KEETA_PKT_MAX];
	size_t			 i, n;

	if ((alg = vote_alg_oid(v->issuer.type)) == NULL)
		FAIL("vote issuer cannot sign");
	keeta_address_encode(&v->issuer, addr);
	serial_hex(&v->serial, hex);

	keeta_der_begin(w, KEETA_DER_SEQUENCE);
	keeta_der_begin(w, KEETA_DER_EXPLICIT(0));
	keeta_der_put_u64(w, 2);
	keeta_der_end(w);
	keeta_der_put_uint_bytes(w, v->serial.b, v->serial.len);
	keeta_der_begin(w, KEETA_DER_SEQUENCE);
	put_oid(w, alg);
	keeta_der_end(w);
	put_name(w, OID_CN, addr);
	keeta_der_begin(w, KEETA_DER_SEQUENCE);
	if (keeta_der_put_time(w, v->valid_from) != 0 ||
	    keeta_der_put_time(w, v->valid_to) != 0)
		FAIL("vote validity out of range");
	keeta_der_end(w);
	put_name(w, OID_SERIAL, hex);
	put_spki(w, &v->issuer);

	keeta_der_begin(w, KEETA_DER_EXPLICIT(3));
	keeta_der_begin(w, KEETA_DER_SEQUENCE);
	keeta_der_writer_init(&in);
	keeta_der_begin(&in, KEETA_DER_EXPLICIT(0));
	keeta_der_begin(&in, KEETA_DER_SEQUENCE);
	put_oid(&in, OID_SHA3_256);
	keeta_der_begin(&in, KEETA_DER_SEQUENCE);
	for (i = 0; i < v->nblocks; i++)
		keeta_der_put_octets(&in, v->blocks[i], KEETA_HASH_LEN);
	keeta_der_end(&in);
	keeta_der_end(&in);
	keeta_der_end(&in);
	put_extension(w, OID_HASHDATA, &in);
	if (v->has_fee) {
		keeta_der_writer_clear(&in);
		keeta_der_begin(&in, KEETA_DER_EXPLICIT(0));
		keeta_der_begin(&in, KEETA_DER_SEQUENCE);
		keeta_der_put_bool(&in, v->fee.quote);
		keeta_der_put_uint_bytes(&in, v->fee.amount.b,
		    v->fee.amount.len);
		if (v->fee.has_pay_to) {
			n = keeta_pubkey_to_pkt(&v->fee.pay_to, pkt);
			keeta_der_put_tlv(&in, KEETA_DER_IMPLICIT(0), pkt, n);
		}
		if (v->fee.has_token) {
			n = keeta_pubkey_to_pkt(&v->fee.token, pkt);
			keeta_der_put_tlv(&in, KEETA_DER_IMPLICIT(1), pkt, n);
		}
		keeta_der_end(&in);
		keeta_der_end(&in);
		put_extension(w, OID_FEES, &in);
	}
	keeta_der_writer_release(&in);
	keeta_der_end(w);
	keeta_der_end(w);
	keeta_der_end(w);
	return 0;
}

/* The whole certificate from a tbs and the signature bytes. */
static uint8_t *
vote_write_cert(const struct keeta_vote *v, const uint8_t *tbs, size_t tbslen,
    size_t *len)
{
	struct keeta_der_writer	w;

	keeta_der_writer_init(&w);
	keeta_der_begin(&w, KEETA_DER_SEQUENCE);
	keeta_der_put_raw(&w, tbs, tbslen);
	keeta_der_begin(&w, KEETA_DER_SEQUENCE);
	put_oid(&w, vote_alg_oid(v->issuer.type));
	keeta_der_end(&w);
	keeta_der_put_bits(&w, v->sig, v->siglen);
	keeta_der_end(&w);
	return keeta_der_writer_detach(&w, len);
}

void
keeta_vote_free(struct keeta_vote *v)
{
	if (v == NULL)
		return;
	free(v->blocks);
	free(v->sig);
	free(v->der);
	free(v);
}

struct keeta_vote *
keeta_vote_dup(const struct keeta_vote *src)
{
	struct keeta_vote	*v;

	v = xmalloc(sizeof *v);
	*v = *src;
	v->blocks = xreallocarray(NULL, src->nblocks ? src->nblocks : 1,
	    sizeof *v->blocks);
	memcpy(v->blocks, src->blocks, src->nblocks * sizeof *v->blocks);
	v->sig = xmalloc(src->siglen ? src->siglen : 1);
	memcpy(v->sig, src->sig, src->siglen);
	v->der = xmalloc(src->derlen ? src->derlen : 1);
	memcpy(v->der, src->der, src->derlen);
	return v;
}

int
keeta_vote_is_permanent(const struct keeta_vote *v, int64_t now)
{
	return v->valid_to > now + KEETA_VOTE_PERMANENT_MS;
}

int
keeta_vote_is_quote(const struct keeta_vote *v)
{
	return v->has_fee && v->fee.quote;
}

int
keeta_vote_check_time(const struct keeta_vote *v, int64_t now,
    int expired_ok, const char **cause)
{
	if (now < v->valid_from - KEETA_VOTE_SLOP_MS)
		FAIL("vote issued in the future");
	if (!expired_ok && now > v->valid_to + KEETA_VOTE_SLOP_MS)
		FAIL("vote expired");
	return 0;
}

/* Verify over the tbsCertificate bytes. */
static int
vote_verify_tbs(const struct keeta_vote *v, const uint8_t *tbs,
    size_t tbslen, const char **cause)
{
	uint8_t	sig[KEETA_SIG_LEN], e[KEETA_HASH_LEN];

	if (v->issuer.type == KEETA_KEY_ED25519) {
		if (v->siglen != KEETA_SIG_LEN ||
		    keeta_verify_raw(&v->issuer, tbs, tbslen, v->sig) != 0)
			FAIL("vote signature does not verify");
		return 0;
	}
	if (keeta_ecdsa_sig_from_der(v->sig, v->siglen, sig) != 0)
		FAIL("vote signature is not a canonical ECDSA signature");
	keeta_sha3_256(tbs, tbslen, e);
	if (keeta_verify_raw(&v->issuer, e, sizeof e, sig) != 0)
		FAIL("vote signature does not verify");
	return 0;
}

int
keeta_vote_verify(const struct keeta_vote *v, const char **cause)
{
	struct keeta_der_reader	r, c;
	struct keeta_der_tlv	t;

	keeta_der_reader_init(&r, v->der, v->derlen);
	if (keeta_der_enter(&r, KEETA_DER_SEQUENCE, &c) != 0 ||
	    keeta_der_read(&c, KEETA_DER_SEQUENCE, &t) != 0)
		FAIL("malformed vote");
	return vote_verify_tbs(v, t.raw, t.rawlen, cause);
}

/* Year of a time in ms (UTC). */
static int64_t
year_of(int64_t ms)
{
	int64_t	days;
	int	y, m, d;

	days = ms / 86400000;
	if (ms % 86400000 < 0)
		days--;
	keeta_civil_from_days(days, &y, &m, &d);
	return y;
}

int64_t
keeta_vote_permanent_until(int64_t now)
{
	return keeta_days_from_civil(year_of(now) + 1001, 1, 31) * 86400000;
}

int
keeta_vote_build(const struct keeta_account *issuer,
    const struct keeta_amount *serial, int64_t valid_from, int64_t valid_to,
    const uint8_t (*blocks)[KEETA_HASH_LEN], size_t nblocks,
    const struct keeta_vote_fee *fee, struct keeta_vote **out,
    const char **cause)
{
	struct keeta_vote	*v;
	struct keeta_der_writer	 w;
	const uint8_t		*tbs;
	uint8_t			 sig[KEETA_SIG_LEN], e[KEETA_HASH_LEN];
	uint8_t			 dsig[KEETA_ECDSA_DER_MAX];
	size_t			 tbslen, n;
	const char		*why = NULL;

	*out = NULL;
	if (vote_alg_oid(keeta_account_type(issuer)) == NULL)
		FAIL("vote issuer cannot sign");
	if (nblocks == 0 || nblocks > KEETA_VOTE_MAX_BLOCKS)
		FAIL("vote needs 1 to 65536 block hashes");
	if (valid_from > valid_to)
		FAIL("vote validity ends before it starts");
	if (fee != NULL && fee->has_token &&
	    fee->token.type != KEETA_KEY_TOKEN)
		FAIL("vote fee token is not a TOKEN account");
	if (fee != NULL && fee->has_pay_to &&
	    !keeta_key_type_is_keyed(fee->pay_to.type) &&
	    fee->pay_to.type != KEETA_KEY_STORAGE)
		FAIL("vote fee payee must be keyed or a storage account");
	if (fee != NULL && valid_to > valid_from + KEETA_VOTE_PERMANENT_MS)
		FAIL("permanent votes cannot carry fees");

	v = xcalloc(1, sizeof *v);
	v->issuer = *keeta_account_pubkey(issuer);
	v->serial = *serial;
	v->valid_from = valid_from;
	v->valid_to = valid_to;
	v->blocks = xreallocarray(NULL, nblocks, sizeof *v->blocks);
	memcpy(v->blocks, blocks, nblocks * sizeof *v->blocks);
	v->nblocks = nblocks;
	if (fee != NULL) {
		v->has_fee = 1;
		v->fee = *fee;
	}
	keeta_der_writer_init(&w);
	if (vote_write_tbs(v, &w, &why) != 0)
		goto fail;
	tbs = keeta_der_writer_data(&w, &tbslen);
	if (v->issuer.type == KEETA_KEY_ED25519) {
		if (keeta_account_sign_raw(issuer, tbs, tbslen, sig) != 0) {
			why = "vote signing failed";
			goto fail;
		}
		v->sig = xmalloc(KEETA_SIG_LEN);
		memcpy(v->sig, sig, KEETA_SIG_LEN);
		v->siglen = KEETA_SIG_LEN;
	} else {
		keeta_sha3_256(tbs, tbslen, e);
		if (keeta_account_sign_raw(issuer, e, sizeof e, sig) != 0) {
			why = "vote signing failed";
			goto fail;
		}
		n = keeta_ecdsa_sig_to_der(sig, dsig);
		v->sig = xmalloc(n);
		memcpy(v->sig, dsig, n);
		v->siglen = n;
	}
	v->der = vote_write_cert(v, tbs, tbslen, &v->derlen);
	keeta_sha3_256(v->der, v->derlen, v->hash);
	keeta_der_writer_release(&w);
	*out = v;
	return 0;
fail:
	keeta_der_writer_release(&w);
	keeta_vote_free(v);
	FAIL(why);
}

/* Decoding. */

static int
expect_oid(struct keeta_der_reader *r, const char *oid, const char *why)
{
	const uint8_t	*p;
	size_t		 len;

	if (keeta_der_read_oid(r, &p, &len) != 0)
		return -1;
	if (!keeta_der_oid_equal(p, len, oid))
		return keeta_der_fail(r, why);
	return 0;
}

/* SEQUENCE { SET { SEQUENCE { OID, UTF8String } } } into buf. */
static int
get_name(struct keeta_der_reader *r, const char *oid, char *buf,
    size_t bufsz)
{
	struct keeta_der_reader	 a, b, c;
	const char		*s;
	size_t			 len;

	if (keeta_der_enter(r, KEETA_DER_SEQUENCE, &a) != 0 ||
	    keeta_der_enter(&a, KEETA_DER_SET, &b) != 0 ||
	    keeta_der_expect_end(&a) != 0 ||
	    keeta_der_enter(&b, KEETA_DER_SEQUENCE, &c) != 0 ||
	    keeta_der_expect_end(&b) != 0 ||
	    expect_oid(&c, oid, "vote name has an unexpected attribute") != 0 ||
	    keeta_der_read_utf8(&c, &s, &len) != 0 ||
	    keeta_der_expect_end(&c) != 0)
		return -1;
	if (len >= bufsz || memchr(s, '\0', len) != NULL)
		return keeta_der_fail(r, "vote name too long");
	memcpy(buf, s, len);
	buf[len] = '\0';
	return 0;
}

static int
get_hashdata(struct keeta_der_reader *r, struct keeta_vote *v)
{
	struct keeta_der_reader	 a, b, l;
	const uint8_t		*p;
	size_t			 len;

	if (keeta_der_enter(r, KEETA_DER_EXPLICIT(0), &a) != 0 ||
	    keeta_der_enter(&a, KEETA_DER_SEQUENCE, &b) != 0 ||
	    keeta_der_expect_end(&a) != 0 ||
	    expect_oid(&b, OID_SHA3_256, "vote hash algorithm is not "
	    "SHA3-256") != 0 ||
	    keeta_der_enter(&b, KEETA_DER_SEQUENCE, &l) != 0 ||
	    keeta_der_expect_end(&b) != 0)
		return -1;
	while (!keeta_der_at_end(&l)) {
		if (v->nblocks == KEETA_VOTE_MAX_BLOCKS)
			return keeta_der_fail(r, "vote lists too many blocks");
		if (keeta_der_read_octets(&l, &p, &len) != 0)
			return -1;
		if (len != KEETA_HASH_LEN)
			return keeta_der_fail(r, "vote block hash is not 32 "
			    "bytes");
		v->blocks = xreallocarray(v->blocks, v->nblocks + 1,
		    sizeof *v->blocks);
		memcpy(v->blocks[v->nblocks++], p, KEETA_HASH_LEN);
	}
	if (v->nblocks == 0)
		return keeta_der_fail(r, "vote without blocks");
	return keeta_der_expect_end(r);
}

static int
get_fee_key(struct keeta_der_reader *r, uint8_t tag, struct keeta_pubkey *pk)
{
	struct keeta_der_tlv	 t;
	const char		*why = NULL;

	if (keeta_der_read(r, tag, &t) != 0)
		return -1;
	if (keeta_pubkey_from_pkt(pk, t.val, t.len, &why) != 0)
		return keeta_der_fail(r, why != NULL ? why :
		    "vote fee: invalid account");
	return 0;
}

static int
get_fee(struct keeta_der_reader *r, struct keeta_vote *v)
{
	struct keeta_der_reader	 a, b;
	const uint8_t		*p;
	size_t			 len;

	if (keeta_der_enter(r, KEETA_DER_EXPLICIT(0), &a) != 0 ||
	    keeta_der_enter(&a, KEETA_DER_SEQUENCE, &b) != 0 ||
	    keeta_der_expect_end(&a) != 0 ||
	    keeta_der_read_bool(&b, &v->fee.quote) != 0 ||
	    keeta_der_read_uint_bytes(&b, &p, &len) != 0)
		return -1;
	if (keeta_amount_set(&v->fee.amount, p, len) != 0)
		return keeta_der_fail(r, "vote fee amount too large");
	if (keeta_der_peek_tag(&b) == KEETA_DER_IMPLICIT(0)) {
		if (get_fee_key(&b, KEETA_DER_IMPLICIT(0), &v->fee.pay_to) != 0)
			return -1;
		v->fee.has_pay_to = 1;
		if (!keeta_key_type_is_keyed(v->fee.pay_to.type) &&
		    v->fee.pay_to.type != KEETA_KEY_STORAGE)
			return keeta_der_fail(r, "vote fee payee must be keyed "
			    "or a storage account");
	}
	if (keeta_der_peek_tag(&b) == KEETA_DER_IMPLICIT(1)) {
		if (get_fee_key(&b, KEETA_DER_IMPLICIT(1), &v->fee.token) != 0)
			return -1;
		v->fee.has_token = 1;
		if (v->fee.token.type != KEETA_KEY_TOKEN)
			return keeta_der_fail(r, "vote fee token is not a "
			    "TOKEN account");
	}
	if (keeta_der_expect_end(&b) != 0)
		return -1;
	v->has_fee = 1;
	return keeta_der_expect_end(r);
}

static const char *
inner_cause(const struct keeta_der_reader *in)
{
	const char	*why = keeta_der_cause(in);

	return why != NULL ? why : "malformed vote extension";
}

static int
get_extensions(struct keeta_der_reader *r, struct keeta_vote *v)
{
	struct keeta_der_reader	 a, l, e, in;
	const uint8_t		*oid, *val;
	size_t			 oidlen, vallen;
	int			 critical, seen_hash = 0, seen_fee = 0;

	if (keeta_der_enter(r, KEETA_DER_EXPLICIT(3), &a) != 0 ||
	    keeta_der_enter(&a, KEETA_DER_SEQUENCE, &l) != 0 ||
	    keeta_der_expect_end(&a) != 0)
		return -1;
	while (!keeta_der_at_end(&l)) {
		if (keeta_der_enter(&l, KEETA_DER_SEQUENCE, &e) != 0 ||
		    keeta_der_read_oid(&e, &oid, &oidlen) != 0)
			return -1;
		/* A missing critical flag counts as critical. */
		critical = 1;
		if (keeta_der_peek_tag(&e) == KEETA_DER_BOOLEAN &&
		    keeta_der_read_bool(&e, &critical) != 0)
			return -1;
		if (keeta_der_read_octets(&e, &val, &vallen) != 0 ||
		    keeta_der_expect_end(&e) != 0)
			return -1;
		keeta_der_reader_init(&in, val, vallen);
		if (keeta_der_oid_equal(oid, oidlen, OID_HASHDATA)) {
			if (seen_hash++)
				return keeta_der_fail(r, "duplicate vote "
				    "extension");
			if (get_hashdata(&in, v) != 0)
				return keeta_der_fail(r, inner_cause(&in));
		} else if (keeta_der_oid_equal(oid, oidlen, OID_FEES)) {
			if (seen_fee++)
				return keeta_der_fail(r, "duplicate vote "
				    "extension");
			if (get_fee(&in, v) != 0)
				return keeta_der_fail(r, inner_cause(&in));
		} else if (critical)
			return keeta_der_fail(r, "unknown critical vote "
			    "extension");
		else
			return keeta_der_fail(r, "unknown vote extension");
	}
	if (!seen_hash)
		return keeta_der_fail(r, "vote without block hashes");
	return 0;
}

static int
vote_parse(struct keeta_der_reader *r, struct keeta_vote *v,
    struct keeta_der_tlv *tbs_out, int *alg_ed25519)
{
	struct keeta_der_reader	 c, t, s, a;
	const uint8_t		*oid, *oid2, *p;
	size_t			 oidlen, oid2len, len;
	const char		*why = NULL;
	char			 name[KEETA_ADDRESS_MAX + 8];
	char			 hex[KEETA_AMOUNT_HEX_MAX];
	uint64_t		 version;

	if (keeta_der_enter(r, KEETA_DER_SEQUENCE, &c) != 0 ||
	    keeta_der_read(&c, KEETA_DER_SEQUENCE, tbs_out) != 0)
		return -1;
	keeta_der_reader_init(&t, tbs_out->val, tbs_out->len);
	if (keeta_der_enter(&t, KEETA_DER_EXPLICIT(0), &s) != 0 ||
	    keeta_der_read_u64(&s, &version) != 0 ||
	    keeta_der_expect_end(&s) != 0)
		goto tfail;
	if (version != 2) {
		keeta_der_fail(&t, "vote is not an X.509 v3 certificate");
		goto tfail;
	}
	if (keeta_der_read_uint_bytes(&t, &p, &len) != 0)
		goto tfail;
	if (keeta_amount_set(&v->serial, p, len) != 0) {
		keeta_der_fail(&t, "vote serial too large");
		goto tfail;
	}
	if (keeta_der_enter(&t, KEETA_DER_SEQUENCE, &s) != 0 ||
	    keeta_der_read_oid(&s, &oid, &oidlen) != 0 ||
	    keeta_der_expect_end(&s) != 0)
		goto tfail;
	if (get_name(&t, OID_CN, name, sizeof name) != 0)
		goto tfail;
	if (keeta_address_decode(name, &v->issuer, &why) != 0) {
		keeta_der_fail(&t, "vote issuer is not an account");
		goto tfail;
	}
	if (!keeta_key_type_is_keyed(v->issuer.type)) {
		keeta_der_fail(&t, "vote issuer is not a keyed account");
		goto tfail;
	}
	if (keeta_der_enter(&t, KEETA_DER_SEQUENCE, &s) != 0 ||
	    keeta_der_read_time(&s, &v->valid_from) != 0 ||
	    keeta_der_read_time(&s, &v->valid_to) != 0 ||
	    keeta_der_expect_end(&s) != 0)
		goto tfail;
	if (get_name(&t, OID_SERIAL, name, sizeof name) != 0)
		goto tfail;
	serial_hex(&v->serial, hex);
	if (strcmp(name, hex) != 0) {
		keeta_der_fail(&t, "vote subject does not match its serial");
		goto tfail;
	}
	/* The key itself is compared with the issuer by the re-encoding. */
	if (keeta_der_read(&t, KEETA_DER_SEQUENCE, tbs_out + 1) != 0 ||
	    get_extensions(&t, v) != 0 ||
	    keeta_der_expect_end(&t) != 0)
		goto tfail;

	if (keeta_der_enter(&c, KEETA_DER_SEQUENCE, &a) != 0 ||
	    keeta_der_read_oid(&a, &oid2, &oid2len) != 0 ||
	    keeta_der_expect_end(&a) != 0)
		return -1;
	if (oidlen != oid2len || memcmp(oid, oid2, oidlen) != 0)
		return keeta_der_fail(r, "vote signature algorithms differ");
	if (!keeta_der_oid_equal(oid, oidlen, vote_alg_oid(v->issuer.type)))
		return keeta_der_fail(r, "vote signature algorithm does not "
		    "match the issuer key");
	*alg_ed25519 = v->issuer.type == KEETA_KEY_ED25519;
	if (keeta_der_read_bits(&c, &p, &len) != 0 ||
	    keeta_der_expect_end(&c) != 0)
		return -1;
	v->sig = xmalloc(len ? len : 1);
	memcpy(v->sig, p, len);
	v->siglen = len;
	return keeta_der_expect_end(r);
tfail:
	return keeta_der_fail(r, keeta_der_cause(&t) != NULL ?
	    keeta_der_cause(&t) : "malformed vote");
}

int
keeta_vote_decode(const uint8_t *der, size_t len, int64_t now, int flags,
    struct keeta_vote **out, const char **cause)
{
	struct keeta_der_reader	 r;
	struct keeta_der_tlv	 tbs[2];
	struct keeta_der_writer	 w;
	struct keeta_vote	*v;
	const uint8_t		*re;
	uint8_t			*cert = NULL;
	size_t			 relen, certlen;
	const char		*why = NULL;
	int			 ed = 0;

	*out = NULL;
	v = xcalloc(1, sizeof *v);
	keeta_der_writer_init(&w);
	keeta_der_reader_init(&r, der, len);
	if (vote_parse(&r, v, tbs, &ed) != 0) {
		why = keeta_der_cause(&r);
		if (why == NULL)
			why = "malformed vote";
		goto fail;
	}
	if (v->valid_from > v->valid_to) {
		why = "vote validity ends before it starts";
		goto fail;
	}
	if (ed && v->siglen != KEETA_SIG_LEN) {
		why = "vote signature is not 64 bytes";
		goto fail;
	}
	/* Canonical: the tbs and the whole certificate re-encode the same. */
	if (vote_write_tbs(v, &w, &why) != 0)
		goto fail;
	re = keeta_der_writer_data(&w, &relen);
	if (relen != tbs[0].rawlen || memcmp(re, tbs[0].raw, relen) != 0) {
		why = "vote is not canonically encoded";
		goto fail;
	}
	cert = vote_write_cert(v, re, relen, &certlen);
	if (certlen != len || memcmp(cert, der, len) != 0) {
		why = "vote is not canonically encoded";
		goto fail;
	}
	if (keeta_vote_is_permanent(v, now) && v->has_fee) {
		why = "permanent votes cannot carry fees";
		goto fail;
	}
	if (!(flags & KEETA_VOTE_ANYKIND)) {
		if ((flags & KEETA_VOTE_QUOTE) && !keeta_vote_is_quote(v)) {
			why = "not a vote quote";
			goto fail;
		}
		if (!(flags & KEETA_VOTE_QUOTE) && keeta_vote_is_quote(v)) {
			why = "a vote quote is not a vote";
			goto fail;
		}
	}
	if (!(flags & KEETA_VOTE_ANYTIME) && keeta_vote_check_time(v, now,
	    (flags & KEETA_VOTE_EXPIRED_OK) != 0, &why) != 0)
		goto fail;
	if (!(flags & KEETA_VOTE_NOVERIFY) &&
	    vote_verify_tbs(v, tbs[0].raw, tbs[0].rawlen, &why) != 0)
		goto fail;
	v->der = cert;
	v->derlen = certlen;
	keeta_sha3_256(v->der, v->derlen, v->hash);
	keeta_der_writer_release(&w);
	*out = v;
	return 0;
fail:
	free(cert);
	keeta_der_writer_release(&w);
	keeta_vote_free(v);
	FAIL(why);
}

void
keeta_vote_blocks_hash(const struct keeta_vote *v,
    uint8_t out[KEETA_HASH_LEN])
{
	keeta_sha3_256(v->blocks, v->nblocks * KEETA_HASH_LEN, out);
}

char *
keeta_vote_uid(const struct keeta_vote *v)
{
	char	 addr[KEETA_ADDRESS_MAX], *dec, *s;

	keeta_address_encode(&v->issuer, addr);
	dec = keeta_amount_to_dec(&v->serial);
	xasprintf(&s, "ID=%s/Serial=%s", addr, dec);
	free(dec);
	return s;
}

static void
jadd(cJSON *obj, const char *key, cJSON *item)
{
	if (item == NULL || !cJSON_AddItemToObject(obj, key, item))
		fatalx("cJSON: out of memory");
}

static cJSON *
jstr(const char *s)
{
	cJSON	*j;

	if ((j = cJSON_CreateString(s)) == NULL)
		fatalx("cJSON: out of memory");
	return j;
}

cJSON *
keeta_vote_to_json(const struct keeta_vote *v, int64_t now, int with_binary)
{
	cJSON	*j, *l, *f;
	char	 buf[KEETA_AMOUNT_HEX_MAX], iso[25], *uid, *s;
	uint8_t	 id[KEETA_HASH_LEN];
	size_t	 i;

	if ((j = cJSON_CreateObject()) == NULL ||
	    (l = cJSON_CreateArray()) == NULL)
		fatalx("cJSON: out of memory");
	jadd(j, "issuer", keeta_block_json_address(&v->issuer));
	keeta_amount_to_hex(&v->serial, buf);
	jadd(j, "serial", jstr(buf));
	for (i = 0; i < v->nblocks; i++)
		if (!cJSON_AddItemToArray(l, keeta_block_json_hex(v->blocks[i],
		    KEETA_HASH_LEN)))
			fatalx("cJSON: out of memory");
	jadd(j, "blocks", l);
	/* Times were range-checked when the vote was encoded. */
	if (keeta_time_iso8601(v->valid_from, iso) != 0)
		iso[0] = '\0';
	jadd(j, "validityFrom", jstr(iso));
	if (keeta_time_iso8601(v->valid_to, iso) != 0)
		iso[0] = '\0';
	jadd(j, "validityTo", jstr(iso));
	jadd(j, "signature", keeta_block_json_hex(v->sig, v->siglen));
	jadd(j, "$trusted", cJSON_CreateFalse());
	jadd(j, "$permanent", cJSON_CreateBool(keeta_vote_is_permanent(v,
	    now)));
	uid = keeta_vote_uid(v);
	jadd(j, "$uid", jstr(uid));
	keeta_sha3_256(uid, strlen(uid), id);
	free(uid);
	jadd(j, "$id", keeta_block_json_hex(id, sizeof id));
	if (v->has_fee) {
		if ((f = cJSON_CreateObject()) == NULL)
			fatalx("cJSON: out of memory");
		keeta_amount_to_hex(&v->fee.amount, buf);
		jadd(f, "amount", jstr(buf));
		if (v->fee.has_pay_to)
			jadd(f, "payTo", keeta_block_json_address(
			    &v->fee.pay_to));
		if (v->fee.has_token)
			jadd(f, "token", keeta_block_json_address(
			    &v->fee.token));
		jadd(j, "fee", f);
		jadd(j, "quote", cJSON_CreateBool(v->fee.quote));
	}
	if (with_binary) {
		s = keeta_block_base64_encode(v->der, v->derlen);
		jadd(j, "$binary", jstr(s));
		free(s);
	}
	return j;
}
