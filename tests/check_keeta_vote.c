/*
 * check_keeta_vote: votes and vote staples against the SDK vectors.
 *
 * Votes of tests/data/keeta/votes.json are parsed at their recorded
 * parseMoment (DER, hash, JSON, permanence must match) and re-issued from
 * the representative seeds: Ed25519 and RFC 6979 secp256k1 signatures are
 * deterministic, so the rebuilt certificates must equal the SDK's bytes.
 * Staples of staples.json are parsed compressed and uncompressed and
 * rebuilt from their blocks and votes. Mutations and the section 9.4/9.5
 * rules (quotes, time windows, mixed permanence, duplicate issuers,
 * order) must be refused.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keeta_staple.h"
#include "keeta_vectors.h"
#include "keeta_vote.h"
#include "util.h"

static cJSON	*votes, *staples, *blocks;

static void
setup(void)
{
	votes = kv_load("votes.json");
	staples = kv_load("staples.json");
	blocks = kv_load("blocks.json");
}

static void
teardown(void)
{
	cJSON_Delete(votes);
	cJSON_Delete(staples);
	cJSON_Delete(blocks);
}

static const cJSON *
list(const cJSON *root, int n)
{
	const cJSON	*l;

	l = cJSON_GetObjectItemCaseSensitive(root, "vectors");
	ck_assert(cJSON_IsArray(l));
	ck_assert_int_eq(cJSON_GetArraySize(l), n);
	return l;
}

static int
is_quote(const cJSON *v)
{
	return strstr(kv_str(v, "label"), "quote") != NULL;
}

/* The vote vector whose hash is hex. */
static const cJSON *
vote_by_hash(const char *hex)
{
	const cJSON	*v;

	cJSON_ArrayForEach(v, list(votes, 6)) {
		if (strcasecmp(kv_str(v, "hash"), hex) == 0)
			return v;
	}
	ck_abort_msg("no vote %s", hex);
	return NULL;
}

static struct keeta_vote *
decode_vote(const cJSON *v, int flags)
{
	struct keeta_vote	*vote;
	uint8_t			*der;
	size_t			 len;
	const char		*cause = NULL;

	der = kv_unhex(kv_str(v, "DER"), &len);
	ck_assert_msg(keeta_vote_decode(der, len,
	    kv_iso_ms(kv_str(v, "parseMoment")), flags, &vote, &cause) == 0,
	    "%s: %s", kv_str(v, "label"), cause);
	free(der);
	return vote;
}

START_TEST(test_vote_vectors)
{
	const cJSON		*v, *want;
	struct keeta_vote	*vote;
	cJSON			*got;
	char			*a, *w, *uid;
	uint8_t			 h[KEETA_HASH_LEN];
	int64_t			 now;

	cJSON_ArrayForEach(v, list(votes, 6)) {
		now = kv_iso_ms(kv_str(v, "parseMoment"));
		vote = decode_vote(v, is_quote(v) ? KEETA_VOTE_QUOTE : 0);
		ck_assert(kv_eq_hex(vote->der, vote->derlen, kv_str(v, "DER")));
		ck_assert(kv_eq_hex(vote->hash, KEETA_HASH_LEN,
		    kv_str(v, "hash")));
		ck_assert_int_eq(vote->nblocks, 3);
		ck_assert_int_eq(keeta_vote_is_quote(vote), is_quote(v));
		if (!is_quote(v)) {
			ck_assert_int_eq(keeta_vote_is_permanent(vote, now),
			    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v,
			    "permanent")));
			keeta_vote_blocks_hash(vote, h);
			ck_assert(kv_eq_hex(h, sizeof h,
			    kv_str(v, "blocksHash")));
			uid = keeta_vote_uid(vote);
			ck_assert_str_eq(uid, kv_str(v, "uid"));
			free(uid);
			ck_assert(kv_eq_hex(vote->sig, vote->siglen,
			    kv_str(v, "signatureValue")));
		}
		want = cJSON_GetObjectItemCaseSensitive(v, "json");
		got = keeta_vote_to_json(vote, now, 0);
		a = cJSON_PrintUnformatted(got);
		w = cJSON_PrintUnformatted(want);
		ck_assert_str_eq(a, w);
		free(a);
		free(w);
		cJSON_Delete(got);
		got = keeta_vote_to_json(vote, now, 1);
		ck_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(got,
		    "$binary")));
		cJSON_Delete(got);
		ck_assert_int_eq(keeta_vote_verify(vote, NULL), 0);
		keeta_vote_free(vote);
	}
}
END_TEST

START_TEST(test_vote_kinds_and_times)
{
	const cJSON		*v;
	struct keeta_vote	*vote;
	uint8_t			*der;
	size_t			 len;
	const char		*cause;
	int64_t			 from, to;
	int			 quote;

	cJSON_ArrayForEach(v, list(votes, 6)) {
		der = kv_unhex(kv_str(v, "DER"), &len);
		from = kv_iso_ms(kv_str(v, "validityFrom"));
		to = kv_iso_ms(kv_str(v, "validityTo"));
		quote = is_quote(v);
		/* A quote is no vote and the other way round. */
		cause = NULL;
		ck_assert_int_eq(keeta_vote_decode(der, len, from,
		    quote ? 0 : KEETA_VOTE_QUOTE, &vote, &cause), -1);
		ck_assert_ptr_nonnull(cause);
		ck_assert_int_eq(keeta_vote_decode(der, len, from,
		    KEETA_VOTE_ANYKIND, &vote, &cause), 0);
		keeta_vote_free(vote);
		/* Issued in the future: 60 s of slop. */
		ck_assert_int_eq(keeta_vote_decode(der, len, from - 60000,
		    KEETA_VOTE_ANYKIND, &vote, &cause), 0);
		keeta_vote_free(vote);
		ck_assert_int_eq(keeta_vote_decode(der, len, from - 60001,
		    KEETA_VOTE_ANYKIND, &vote, &cause), -1);
		ck_assert_str_eq(cause, "vote issued in the future");
		ck_assert_int_eq(keeta_vote_decode(der, len, from - 60001,
		    KEETA_VOTE_ANYKIND | KEETA_VOTE_ANYTIME, &vote, &cause),
		    0);
		keeta_vote_free(vote);
		if (to > from + KEETA_VOTE_PERMANENT_MS) {
			free(der);
			continue;
		}
		/* Expired: 60 s of slop, unless PossiblyExpired. */
		ck_assert_int_eq(keeta_vote_decode(der, len, to + 60000,
		    KEETA_VOTE_ANYKIND, &vote, &cause), 0);
		keeta_vote_free(vote);
		ck_assert_int_eq(keeta_vote_decode(der, len, to + 60001,
		    KEETA_VOTE_ANYKIND, &vote, &cause), -1);
		ck_assert_str_eq(cause, "vote expired");
		ck_assert_int_eq(keeta_vote_decode(der, len, to + 86400000,
		    KEETA_VOTE_ANYKIND | KEETA_VOTE_EXPIRED_OK, &vote, &cause),
		    0);
		keeta_vote_free(vote);
		free(der);
	}
}
END_TEST

/* Re-issue every vote from the representative seeds. */
START_TEST(test_vote_build)
{
	const cJSON		*v, *e, *seeds, *fee;
	struct keeta_account	*rep, *repk1, *issuer;
	struct keeta_vote	*vote, *back;
	struct keeta_vote_fee	 f;
	struct keeta_amount	 serial;
	uint8_t			 hashes[8][KEETA_HASH_LEN], *p;
	size_t			 n, nb;
	char			 addr[KEETA_ADDRESS_MAX];
	const char		*cause = NULL;

	seeds = cJSON_GetObjectItemCaseSensitive(votes, "accountSeeds");
	rep = kv_account(cJSON_GetObjectItemCaseSensitive(seeds, "rep"));
	repk1 = kv_account(cJSON_GetObjectItemCaseSensitive(seeds, "repK1"));
	cJSON_ArrayForEach(v, list(votes, 6)) {
		keeta_address_encode(keeta_account_pubkey(rep), addr);
		issuer = strcmp(addr, kv_str(v, "issuer")) == 0 ? rep : repk1;
		ck_assert_int_eq(keeta_amount_from_hex(&serial, "0x0"), 0);
		p = kv_unhex(kv_str(v, "serialHex"), &n);
		ck_assert_int_eq(keeta_amount_set(&serial, p, n), 0);
		free(p);
		nb = 0;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(v, "json"), "blocks")) {
			p = kv_unhex(e->valuestring, &n);
			ck_assert_uint_eq(n, KEETA_HASH_LEN);
			memcpy(hashes[nb++], p, n);
			free(p);
		}
		fee = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(v, "json"), "fee");
		if (fee != NULL) {
			memset(&f, 0, sizeof f);
			f.quote = is_quote(v);
			ck_assert_int_eq(keeta_amount_from_hex(&f.amount,
			    kv_str(fee, "amount")), 0);
			kv_pubkey(kv_str(fee, "payTo"), &f.pay_to);
			f.has_pay_to = 1;
			kv_pubkey(kv_str(fee, "token"), &f.token);
			f.has_token = 1;
		}
		ck_assert_msg(keeta_vote_build(issuer, &serial,
		    kv_iso_ms(kv_str(v, "validityFrom")),
		    kv_iso_ms(kv_str(v, "validityTo")),
		    (const uint8_t (*)[KEETA_HASH_LEN])hashes, nb,
		    fee != NULL ? &f : NULL, &vote, &cause) == 0, "%s", cause);
		ck_assert_msg(kv_eq_hex(vote->der, vote->derlen,
		    kv_str(v, "DER")), "%s differs", kv_str(v, "label"));
		ck_assert(kv_eq_hex(vote->hash, KEETA_HASH_LEN,
		    kv_str(v, "hash")));
		ck_assert_int_eq(keeta_vote_decode(vote->der, vote->derlen,
		    kv_iso_ms(kv_str(v, "parseMoment")), KEETA_VOTE_ANYKIND,
		    &back, &cause), 0);
		keeta_vote_free(back);
		keeta_vote_free(vote);
	}
	/* A permanent vote cannot carry a fee. */
	memset(&f, 0, sizeof f);
	ck_assert_int_eq(keeta_vote_build(rep, &serial, 0,
	    keeta_vote_permanent_until(0), (const uint8_t (*)[32])hashes, 1,
	    &f, &vote, &cause), -1);
	ck_assert_int_eq(keeta_vote_build(rep, &serial, 10, 5,
	    (const uint8_t (*)[32])hashes, 1, NULL, &vote, &cause), -1);
	ck_assert_int_eq(keeta_vote_build(rep, &serial, 0, 5,
	    (const uint8_t (*)[32])hashes, 0, NULL, &vote, &cause), -1);
	keeta_account_free(rep);
	keeta_account_free(repk1);
}
END_TEST

START_TEST(test_vote_p256_and_permanent_until)
{
	struct keeta_account	*a;
	struct keeta_vote	*vote, *back;
	struct keeta_amount	 serial;
	uint8_t			 seed[KEETA_SEED_LEN], hashes[2][32];
	const char		*cause = NULL;
	int64_t			 now;

	now = kv_iso_ms("2025-01-02T03:05:00.000Z");
	ck_assert(keeta_vote_permanent_until(now) ==
	    kv_iso_ms("3026-01-31T00:00:00.000Z"));
	ck_assert(keeta_vote_permanent_until(kv_iso_ms(
	    "2024-12-31T23:59:59.999Z")) ==
	    kv_iso_ms("3025-01-31T00:00:00.000Z"));
	memset(seed, 0x42, sizeof seed);
	a = keeta_account_from_seed(seed, 3, KEETA_KEY_SECP256R1, &cause);
	ck_assert_ptr_nonnull(a);
	memset(hashes, 0x11, sizeof hashes);
	keeta_amount_from_u128(&serial, 99);
	ck_assert_int_eq(keeta_vote_build(a, &serial, now,
	    keeta_vote_permanent_until(now), (const uint8_t (*)[32])hashes, 2,
	    NULL, &vote, &cause), 0);
	ck_assert_int_eq(keeta_vote_decode(vote->der, vote->derlen, now + 1000,
	    0, &back, &cause), 0);
	ck_assert(keeta_vote_is_permanent(back, now));
	ck_assert_uint_eq(back->nblocks, 2);
	ck_assert_int_eq(keeta_amount_cmp(&back->serial, &serial), 0);
	/* A flipped signature byte fails. */
	vote->der[vote->derlen - 3] ^= 0x40;
	{
		struct keeta_vote	*bad;

		ck_assert_int_eq(keeta_vote_decode(vote->der, vote->derlen,
		    now + 1000, 0, &bad, &cause), -1);
		ck_assert_ptr_null(bad);
	}
	keeta_vote_free(back);
	keeta_vote_free(vote);
	keeta_account_free(a);
}
END_TEST

START_TEST(test_vote_mutations)
{
	const cJSON		*v;
	struct keeta_vote	*vote;
	uint8_t			*der, buf[600];
	size_t			 len, i;
	unsigned int		 bit;
	uint64_t		 st = 12345;
	const char		*cause;
	int			 rounds;

	cJSON_ArrayForEach(v, list(votes, 6)) {
		der = kv_unhex(kv_str(v, "DER"), &len);
		for (i = 0; i < len; i++) {
			cause = NULL;
			ck_assert_int_eq(keeta_vote_decode(der, i, 0,
			    KEETA_VOTE_ANYTIME | KEETA_VOTE_ANYKIND, &vote,
			    &cause), -1);
			ck_assert_ptr_nonnull(cause);
		}
		for (i = 0; i < len; i++) {
			for (bit = 1; bit < 8; bit += 4) {
				der[i] ^= (uint8_t)(1u << bit);
				ck_assert_msg(keeta_vote_decode(der, len, 0,
				    KEETA_VOTE_ANYTIME | KEETA_VOTE_ANYKIND,
				    &vote, &cause) == -1, "%s: flip %zu.%u",
				    kv_str(v, "label"), i, bit);
				der[i] ^= (uint8_t)(1u << bit);
			}
		}
		free(der);
	}
	for (rounds = 0; rounds < 8000; rounds++) {
		len = (size_t)(kv_rand(&st) % sizeof buf);
		for (i = 0; i < len; i++)
			buf[i] = (uint8_t)kv_rand(&st);
		if (len > 2) {
			buf[0] = 0x30;
			buf[1] = 0x82;
		}
		if (keeta_vote_decode(buf, len, 0, KEETA_VOTE_ANYTIME |
		    KEETA_VOTE_ANYKIND | KEETA_VOTE_NOVERIFY, &vote, NULL) == 0)
			keeta_vote_free(vote);
	}
}
END_TEST

/* Staples. */

static struct keeta_block *
block_by_hash(const char *hex)
{
	const cJSON		*v;
	struct keeta_block	*b;
	uint8_t			*der;
	size_t			 len;

	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(blocks,
	    "vectors")) {
		if (strcasecmp(kv_str(v, "hash"), hex) != 0)
			continue;
		der = kv_unhex(kv_str(v, "DER"), &len);
		ck_assert_int_eq(keeta_block_decode(der, len, 0, &b, NULL), 0);
		free(der);
		return b;
	}
	ck_abort_msg("no block %s", hex);
	return NULL;
}

static void
check_staple(const cJSON *s, const struct keeta_staple *st)
{
	const cJSON	*e;
	uint8_t		*der, h[KEETA_HASH_LEN];
	size_t		 len, i;

	der = keeta_staple_encode(st, &len);
	ck_assert(kv_eq_hex(der, len, kv_str(s, "uncompressedDER")));
	free(der);
	keeta_staple_hash(st, h);
	ck_assert(kv_eq_hex(h, sizeof h, kv_str(s, "hash")));
	keeta_staple_blocks_hash(st, h);
	ck_assert(kv_eq_hex(h, sizeof h, kv_str(s, "blocksHash")));
	i = 0;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(s,
	    "votesOrderInStaple"))
		ck_assert(kv_eq_hex(st->votes[i++]->hash, KEETA_HASH_LEN,
		    e->valuestring));
	ck_assert_uint_eq(i, st->nvotes);
	i = 0;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(s,
	    "blocksOrderInStaple"))
		ck_assert(kv_eq_hex(st->block_hash[i++], KEETA_HASH_LEN,
		    e->valuestring));
	ck_assert_uint_eq(i, st->nblocks);
}

START_TEST(test_staple_vectors)
{
	const cJSON		*s;
	struct keeta_staple	*st, *st2;
	uint8_t			*raw, *z;
	size_t			 len, zlen;
	int64_t			 now;
	const char		*cause = NULL;
	cJSON			*j;

	cJSON_ArrayForEach(s, list(staples, 2)) {
		now = kv_iso_ms(kv_str(s, "parseMoment"));
		raw = kv_unhex(kv_str(s, "uncompressedDER"), &len);
		ck_assert_msg(keeta_staple_decode(raw, len, now, 0, &st,
		    &cause) == 0, "%s", cause);
		check_staple(s, st);
		ck_assert_int_eq(keeta_staple_is_permanent(st, now),
		    strstr(kv_str(s, "label"), "permanent") != NULL);
		/* Our own zlib form parses back to the same staple. */
		z = keeta_staple_compress(st, &zlen);
		ck_assert_uint_eq(z[0], 0x78);
		ck_assert_int_eq(keeta_staple_decode(z, zlen, now, 0, &st2,
		    &cause), 0);
		check_staple(s, st2);
		keeta_staple_free(st2);
		/* Truncated zlib is neither zlib nor DER. */
		ck_assert_int_eq(keeta_staple_decode(z, zlen - 1, now, 0, &st2,
		    &cause), -1);
		free(z);
		j = keeta_staple_to_json(st, now, 1);
		ck_assert_int_eq(cJSON_GetArraySize(
		    cJSON_GetObjectItemCaseSensitive(j, "votes")), 2);
		ck_assert_int_eq(cJSON_GetArraySize(
		    cJSON_GetObjectItemCaseSensitive(j, "blocks")), 3);
		ck_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j,
		    "$binary")));
		cJSON_Delete(j);
		keeta_staple_free(st);
		free(raw);

		z = kv_unhex(kv_str(s, "compressedZlib"), &zlen);
		ck_assert_int_eq(keeta_staple_decode(z, zlen, now, 0, &st,
		    &cause), 0);
		check_staple(s, st);
		keeta_staple_free(st);
		free(z);
	}
}
END_TEST

/* Build each staple with fromVotesAndBlocks semantics. */
START_TEST(test_staple_build_and_rules)
{
	const cJSON		*s, *e;
	struct keeta_block	*b[3];
	struct keeta_vote	*v[3];
	struct keeta_staple	*st;
	const char		*cause = NULL;
	int64_t			 now;
	size_t			 nv, i;

	cJSON_ArrayForEach(s, list(staples, 2)) {
		now = kv_iso_ms(kv_str(s, "parseMoment"));
		i = 3;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(s,
		    "blocksOrderInStaple"))
			b[--i] = block_by_hash(e->valuestring);
		nv = 0;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(s,
		    "votes"))
			v[nv++] = decode_vote(vote_by_hash(e->valuestring), 0);
		ck_assert_msg(keeta_staple_new(b, 3, v, nv, now, &st,
		    &cause) == 0, "%s", cause);
		check_staple(s, st);
		keeta_staple_free(st);
		/* A missing block, a duplicate issuer. */
		ck_assert_int_eq(keeta_staple_new(b, 2, v, nv, now, &st,
		    &cause), -1);
		v[2] = v[0];
		ck_assert_int_eq(keeta_staple_new(b, 3, v, 3, now, &st,
		    &cause), -1);
		ck_assert_str_eq(cause, "staple has two votes of one issuer");
		for (i = 0; i < 3; i++)
			keeta_block_free(b[i]);
		for (i = 0; i < nv; i++)
			keeta_vote_free(v[i]);
	}
	/* Mixed permanence: a temporary and a permanent vote. */
	now = kv_iso_ms("2025-01-02T03:05:01.000Z");
	v[0] = decode_vote(vote_by_hash(
	    "A08209A7461AB5AA2C6AB3DF1F8943E9DE71640E0030A2A051E115FD27754517"),
	    0);
	v[1] = decode_vote(vote_by_hash(
	    "728227A57169CBEFDB13AF28A681C9BCCBA61E3A0DCD52E8D3391D5BE4010D7E"),
	    0);
	i = 0;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetArrayItem(list(staples, 2), 0), "blocksOrderInStaple"))
		b[i++] = block_by_hash(e->valuestring);
	ck_assert_int_eq(keeta_staple_new(b, 3, v, 2, now, &st, &cause), -1);
	ck_assert_str_eq(cause, "staple mixes temporary and permanent votes");
	/* A vote over the blocks in another order. */
	{
		struct keeta_block	*tmp = b[0];

		b[0] = b[1];
		b[1] = tmp;
		ck_assert_int_eq(keeta_staple_new(b, 3, v, 1, now, &st,
		    &cause), 0);
		ck_assert(memcmp(st->block_hash[0], v[0]->blocks[0], 32) == 0);
		keeta_staple_free(st);
	}
	for (i = 0; i < 3; i++)
		keeta_block_free(b[i]);
	keeta_vote_free(v[0]);
	keeta_vote_free(v[1]);
}
END_TEST

START_TEST(test_staple_noncanonical)
{
	const cJSON		*s;
	struct keeta_staple	*st, *st2;
	struct keeta_der_writer	 w;
	uint8_t			*raw, *der;
	size_t			 len, i, n;
	int64_t			 now;
	const char		*cause = NULL;
	uint64_t		 rs = 777;
	int			 rounds;

	s = cJSON_GetArrayItem(list(staples, 2), 0);
	now = kv_iso_ms(kv_str(s, "parseMoment"));
	raw = kv_unhex(kv_str(s, "uncompressedDER"), &len);
	ck_assert_int_eq(keeta_staple_decode(raw, len, now, 0, &st, &cause),
	    0);
	/* Votes in the wrong order. */
	keeta_der_writer_init(&w);
	keeta_der_begin(&w, KEETA_DER_SEQUENCE);
	keeta_der_begin(&w, KEETA_DER_SEQUENCE);
	for (i = 0; i < st->nblocks; i++) {
		der = keeta_block_encode(st->blocks[i], 1, &n, NULL);
		keeta_der_put_octets(&w, der, n);
		free(der);
	}
	keeta_der_end(&w);
	keeta_der_begin(&w, KEETA_DER_SEQUENCE);
	for (i = st->nvotes; i-- > 0;)
		keeta_der_put_octets(&w, st->votes[i]->der,
		    st->votes[i]->derlen);
	keeta_der_end(&w);
	keeta_der_end(&w);
	der = keeta_der_writer_detach(&w, &n);
	/* Accepted, as by the SDK, and hashed in its canonical form. */
	ck_assert_int_eq(keeta_staple_decode(der, n, now, 0, &st2, &cause),
	    0);
	check_staple(s, st2);
	keeta_staple_free(st2);
	free(der);
	/* A block listed twice is refused. */
	keeta_der_writer_init(&w);
	keeta_der_begin(&w, KEETA_DER_SEQUENCE);
	keeta_der_begin(&w, KEETA_DER_SEQUENCE);
	for (i = 0; i < st->nblocks + 1; i++) {
		der = keeta_block_encode(st->blocks[i % st->nblocks], 1, &n,
		    NULL);
		keeta_der_put_octets(&w, der, n);
		free(der);
	}
	keeta_der_end(&w);
	keeta_der_begin(&w, KEETA_DER_SEQUENCE);
	for (i = 0; i < st->nvotes; i++)
		keeta_der_put_octets(&w, st->votes[i]->der,
		    st->votes[i]->derlen);
	keeta_der_end(&w);
	keeta_der_end(&w);
	der = keeta_der_writer_detach(&w, &n);
	ck_assert_int_eq(keeta_staple_decode(der, n, now, 0, &st2, &cause),
	    -1);
	free(der);
	/* Expired temporary votes fail unless allowed. */
	ck_assert_int_eq(keeta_staple_decode(raw, len, now + 3600000, 0, &st2,
	    &cause), -1);
	ck_assert_int_eq(keeta_staple_decode(raw, len, now + 3600000,
	    KEETA_VOTE_EXPIRED_OK, &st2, &cause), 0);
	keeta_staple_free(st2);
	/* Truncations and random damage never crash. */
	for (i = 0; i < len; i += 7)
		ck_assert_int_eq(keeta_staple_decode(raw, i, now, 0, &st2,
		    &cause), -1);
	for (rounds = 0; rounds < 300; rounds++) {
		uint8_t	*m = xmalloc(len);

		memcpy(m, raw, len);
		m[kv_rand(&rs) % len] ^= (uint8_t)(1 + kv_rand(&rs) % 255);
		ck_assert_int_eq(keeta_staple_decode(m, len, now, 0, &st2,
		    &cause), -1);
		free(m);
	}
	keeta_staple_free(st);
	free(raw);
}
END_TEST

START_TEST(test_decode_any)
{
	const cJSON	*s, *bv, *vv;
	cJSON		*j;
	uint8_t		*p;
	size_t		 len;
	const char	*cause = NULL;
	int64_t		 now = kv_iso_ms("2025-01-02T03:05:01.000Z");

	bv = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(blocks,
	    "vectors"), 14);
	p = kv_unhex(kv_str(bv, "DER"), &len);
	j = keeta_decode_any_json(p, len, now, &cause);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(kv_str(j, "kind"), "block");
	ck_assert_str_eq(kv_str(j, "hash"), kv_str(bv, "hash"));
	ck_assert_str_eq(kv_str(j, "account"),
	    kv_str(cJSON_GetObjectItemCaseSensitive(bv, "json"), "account"));
	cJSON_Delete(j);
	p[len - 1] ^= 1;
	ck_assert_ptr_null(keeta_decode_any_json(p, len, now, &cause));
	ck_assert_str_eq(cause, "block signature does not verify");
	free(p);

	vv = cJSON_GetArrayItem(list(votes, 6), 5);
	p = kv_unhex(kv_str(vv, "DER"), &len);
	/* Long after its expiry: the decoder still shows it. */
	j = keeta_decode_any_json(p, len, now + 86400000, &cause);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(kv_str(j, "kind"), "vote");
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "quote")));
	cJSON_Delete(j);
	free(p);

	s = cJSON_GetArrayItem(list(staples, 2), 1);
	p = kv_unhex(kv_str(s, "compressedZlib"), &len);
	j = keeta_decode_any_json(p, len, now, &cause);
	ck_assert_msg(j != NULL, "%s", cause);
	ck_assert_str_eq(kv_str(j, "kind"), "staple");
	ck_assert_str_eq(kv_str(j, "hash"), kv_str(s, "hash"));
	ck_assert_str_eq(kv_str(j, "blocksHash"), kv_str(s, "blocksHash"));
	cJSON_Delete(j);
	free(p);

	ck_assert_ptr_null(keeta_decode_any_json((const uint8_t *)"hello", 5,
	    now, &cause));
	ck_assert_ptr_null(keeta_decode_any_json(NULL, 0, now, &cause));
}
END_TEST

/* A staple larger than any vector: 1100 blocks, two votes. */
START_TEST(test_staple_large)
{
	const cJSON		*seeds;
	struct keeta_account	*alice, *rep, *repk1;
	struct keeta_block	**b;
	struct keeta_vote	*v[2];
	struct keeta_staple	*st, *st2;
	struct keeta_pubkey	 token;
	struct keeta_amount	 amt, serial;
	uint8_t			 seed[KEETA_SEED_LEN], prev[KEETA_HASH_LEN];
	uint8_t			(*h)[KEETA_HASH_LEN], *z;
	uint8_t			 h1[KEETA_HASH_LEN], h2[KEETA_HASH_LEN];
	const char		*cause = NULL;
	size_t			 i, n = 1100, zlen;
	int64_t			 now = kv_iso_ms("2025-01-02T03:05:00.000Z");

	memset(seed, 0x33, sizeof seed);
	alice = keeta_account_from_seed(seed, 0, KEETA_KEY_ED25519, &cause);
	seeds = cJSON_GetObjectItemCaseSensitive(votes, "accountSeeds");
	rep = kv_account(cJSON_GetObjectItemCaseSensitive(seeds, "rep"));
	repk1 = kv_account(cJSON_GetObjectItemCaseSensitive(seeds, "repK1"));
	keeta_base_token(0x54455354, &token);
	keeta_amount_from_u128(&amt, 1);
	b = xcalloc(n, sizeof *b);
	h = xcalloc(n, sizeof *h);
	keeta_opening_hash(keeta_account_pubkey(alice), prev);
	for (i = 0; i < n; i++) {
		b[i] = keeta_block_new(1, 0x54455354,
		    keeta_account_pubkey(alice), prev, now);
		keeta_block_add_send(b[i], keeta_account_pubkey(rep), &amt,
		    &token, NULL, NULL);
		ck_assert_int_eq(keeta_block_sign(b[i], &alice, 1, &cause), 0);
		ck_assert_int_eq(keeta_block_hash(b[i], h[i], NULL), 0);
		memcpy(prev, h[i], KEETA_HASH_LEN);
	}
	keeta_amount_from_u128(&serial, 1);
	ck_assert_int_eq(keeta_vote_build(rep, &serial, now, now + 300000,
	    (const uint8_t (*)[KEETA_HASH_LEN])h, n, NULL, &v[0], &cause), 0);
	ck_assert_int_eq(keeta_vote_build(repk1, &serial, now, now + 300000,
	    (const uint8_t (*)[KEETA_HASH_LEN])h, n, NULL, &v[1], &cause), 0);
	/* Blocks handed over in reverse order. */
	for (i = 0; i < n / 2; i++) {
		struct keeta_block	*t = b[i];

		b[i] = b[n - 1 - i];
		b[n - 1 - i] = t;
	}
	ck_assert_msg(keeta_staple_new(b, n, v, 2, now, &st, &cause) == 0, "%s",
	    cause);
	ck_assert(memcmp(st->block_hash[0], h[0], KEETA_HASH_LEN) == 0);
	ck_assert(memcmp(st->block_hash[n - 1], h[n - 1], KEETA_HASH_LEN) == 0);
	z = keeta_staple_compress(st, &zlen);
	ck_assert_int_eq(keeta_staple_decode(z, zlen, now + 1000, 0, &st2,
	    &cause), 0);
	keeta_staple_hash(st, h1);
	keeta_staple_hash(st2, h2);
	ck_assert(memcmp(h1, h2, sizeof h1) == 0);
	keeta_staple_blocks_hash(st2, h2);
	keeta_vote_blocks_hash(v[0], h1);
	ck_assert(memcmp(h1, h2, sizeof h1) == 0);
	keeta_staple_free(st2);
	keeta_staple_free(st);
	free(z);
	for (i = 0; i < n; i++)
		keeta_block_free(b[i]);
	free(b);
	free(h);
	keeta_vote_free(v[0]);
	keeta_vote_free(v[1]);
	keeta_account_free(alice);
	keeta_account_free(rep);
	keeta_account_free(repk1);
}
END_TEST

static Suite *
vote_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("keeta_vote");
	tc = tcase_create("vectors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_vote_vectors);
	tcase_add_test(tc, test_vote_kinds_and_times);
	tcase_add_test(tc, test_vote_build);
	tcase_add_test(tc, test_vote_p256_and_permanent_until);
	tcase_add_test(tc, test_vote_mutations);
	tcase_add_test(tc, test_staple_vectors);
	tcase_add_test(tc, test_staple_build_and_rules);
	tcase_add_test(tc, test_staple_noncanonical);
	tcase_add_test(tc, test_decode_any);
	tcase_add_test(tc, test_staple_large);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(vote_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
