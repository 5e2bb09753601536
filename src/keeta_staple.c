/*
 * keeta_staple: vote staples (zlib, canonical order, hashes, checks) and
 * the any-object decoder behind `kdex keeta decode`.
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "keeta_staple.h"
#include "util.h"

#define FAIL(why) do {					\
	if (cause != NULL)				\
		*cause = (why);				\
	return -1;					\
} while (0)

void
keeta_staple_free(struct keeta_staple *st)
{
	size_t	i;

	if (st == NULL)
		return;
	for (i = 0; i < st->nblocks; i++)
		keeta_block_free(st->blocks[i]);
	for (i = 0; i < st->nvotes; i++)
		keeta_vote_free(st->votes[i]);
	free(st->blocks);
	free(st->block_hash);
	free(st->votes);
	free(st);
}

static int
vote_cmp(const void *a, const void *b)
{
	const struct keeta_vote	*va = *(struct keeta_vote *const *)a;
	const struct keeta_vote	*vb = *(struct keeta_vote *const *)b;

	return memcmp(va->hash, vb->hash, KEETA_HASH_LEN);
}

/*
 * Check the section 9.5 rules on a staple whose blocks are in the order
 * of their hashes in block_hash and whose votes are given.
 */
static int
staple_check(const struct keeta_staple *st, int64_t now, const char **cause)
{
	const struct keeta_vote	*v;
	size_t			 i, j;
	int			 perm;

	if (st->nblocks == 0)
		FAIL("staple without blocks");
	if (st->nvotes == 0)
		FAIL("staple without votes");
	if (st->nvotes > KEETA_STAPLE_MAX_VOTES)
		FAIL("staple with too many votes");
	perm = keeta_vote_is_permanent(st->votes[0], now);
	for (i = 0; i < st->nvotes; i++) {
		v = st->votes[i];
		if (v->nblocks != st->nblocks)
			FAIL("a vote does not cover the staple's blocks");
		for (j = 0; j < st->nblocks; j++) {
			if (memcmp(v->blocks[j], st->block_hash[j],
			    KEETA_HASH_LEN) != 0)
				FAIL("a vote lists other blocks or another "
				    "order");
		}
		if (keeta_vote_is_permanent(v, now) != perm)
			FAIL("staple mixes temporary and permanent votes");
		for (j = 0; j < i; j++) {
			if (keeta_pubkey_equal(&v->issuer,
			    &st->votes[j]->issuer))
				FAIL("staple has two votes of one issuer");
		}
	}
	return 0;
}

struct block_ref {
	uint8_t	hash[KEETA_HASH_LEN];
	size_t	index;
};

static int
ref_cmp(const void *a, const void *b)
{
	return memcmp(((const struct block_ref *)a)->hash,
	    ((const struct block_ref *)b)->hash, KEETA_HASH_LEN);
}

/*
 * Arrange blocks and votes the canonical way and check them. Takes
 * ownership of both arrays and their elements (freed on failure).
 */
static int
staple_assemble(struct keeta_block **blocks, size_t nblocks,
    struct keeta_vote **votes, size_t nvotes, int64_t now,
    struct keeta_staple **out, const char **cause)
{
	struct keeta_staple	*st;
	struct block_ref	*h = NULL, key, *found;
	const char		*why = NULL;
	size_t			 i;

	st = xcalloc(1, sizeof *st);
	st->votes = votes;
	st->nvotes = nvotes;
	if (nblocks == 0 || nvotes == 0) {
		why = nblocks == 0 ? "staple without blocks" :
		    "staple without votes";
		goto fail;
	}
	/* Sort (hash, index) pairs once: duplicates are neighbours and the
	 * vote order is found by binary search, so large staples stay
	 * O(n log n). */
	h = xcalloc(nblocks, sizeof *h);
	for (i = 0; i < nblocks; i++) {
		if (blocks[i]->nsigs == 0) {
			why = "staple block is not signed";
			goto fail;
		}
		if (keeta_block_hash(blocks[i], h[i].hash, &why) != 0)
			goto fail;
		h[i].index = i;
	}
	qsort(h, nblocks, sizeof *h, ref_cmp);
	for (i = 1; i < nblocks; i++) {
		if (memcmp(h[i - 1].hash, h[i].hash, KEETA_HASH_LEN) == 0) {
			why = "staple lists a block twice";
			goto fail;
		}
	}
	if (votes[0]->nblocks != nblocks) {
		why = "a vote does not cover the staple's blocks";
		goto fail;
	}
	/* Blocks in the order of the first vote's list. */
	st->blocks = xcalloc(nblocks, sizeof *st->blocks);
	st->block_hash = xcalloc(nblocks, sizeof *st->block_hash);
	for (i = 0; i < nblocks; i++) {
		memcpy(key.hash, votes[0]->blocks[i], KEETA_HASH_LEN);
		found = bsearch(&key, h, nblocks, sizeof *h, ref_cmp);
		if (found == NULL || blocks[found->index] == NULL) {
			why = "a voted block is missing from the staple";
			goto fail;
		}
		st->blocks[i] = blocks[found->index];
		blocks[found->index] = NULL;
		memcpy(st->block_hash[i], found->hash, KEETA_HASH_LEN);
		st->nblocks = i + 1;
	}
	free(h);
	free(blocks);
	qsort(st->votes, st->nvotes, sizeof *st->votes, vote_cmp);
	if (staple_check(st, now, cause) != 0) {
		keeta_staple_free(st);
		return -1;
	}
	*out = st;
	return 0;
fail:
	for (i = 0; i < nblocks; i++)
		keeta_block_free(blocks[i]);
	free(blocks);
	free(h);
	keeta_staple_free(st);
	FAIL(why);
}

int
keeta_staple_new(struct keeta_block *const *blocks, size_t nblocks,
    struct keeta_vote *const *votes, size_t nvotes, int64_t now,
    struct keeta_staple **out, const char **cause)
{
	struct keeta_block	**b;
	struct keeta_vote	**v;
	size_t			  i;

	*out = NULL;
	if (nblocks > KEETA_VOTE_MAX_BLOCKS || nvotes > KEETA_STAPLE_MAX_VOTES)
		FAIL("staple too large");
	b = xcalloc(nblocks ? nblocks : 1, sizeof *b);
	for (i = 0; i < nblocks; i++)
		b[i] = keeta_block_dup(blocks[i]);
	v = xcalloc(nvotes ? nvotes : 1, sizeof *v);
	for (i = 0; i < nvotes; i++)
		v[i] = keeta_vote_dup(votes[i]);
	return staple_assemble(b, nblocks, v, nvotes, now, out, cause);
}

uint8_t *
keeta_staple_encode(const struct keeta_staple *st, size_t *len)
{
	struct keeta_der_writer	 w;
	uint8_t			*der;
	size_t			 i, n;

	keeta_der_writer_init(&w);
	keeta_der_begin(&w, KEETA_DER_SEQUENCE);
	keeta_der_begin(&w, KEETA_DER_SEQUENCE);
	for (i = 0; i < st->nblocks; i++) {
		/* Staple blocks are signed and valid: encoding cannot fail. */
		der = keeta_block_encode(st->blocks[i], 1, &n, NULL);
		if (der == NULL)
			fatalx("keeta_staple: block does not encode");
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
	return keeta_der_writer_detach(&w, len);
}

uint8_t *
keeta_staple_compress(const struct keeta_staple *st, size_t *len)
{
	uint8_t	*der, *z;
	uLongf	 zlen;
	size_t	 n;

	der = keeta_staple_encode(st, &n);
	zlen = compressBound((uLong)n);
	z = xmalloc(zlen);
	/* Node's zlib.deflateSync default level is zlib's default (6). */
	if (compress2(z, &zlen, der, (uLong)n, Z_DEFAULT_COMPRESSION) != Z_OK)
		fatalx("keeta_staple: compress2 failed");
	free(der);
	*len = zlen;
	return z;
}

void
keeta_staple_hash(const struct keeta_staple *st, uint8_t out[KEETA_HASH_LEN])
{
	uint8_t	*der;
	size_t	 n;

	der = keeta_staple_encode(st, &n);
	keeta_sha3_256(der, n, out);
	free(der);
}

void
keeta_staple_blocks_hash(const struct keeta_staple *st,
    uint8_t out[KEETA_HASH_LEN])
{
	keeta_sha3_256(st->block_hash, st->nblocks * KEETA_HASH_LEN, out);
}

int
keeta_staple_is_permanent(const struct keeta_staple *st, int64_t now)
{
	return st->nvotes > 0 && keeta_vote_is_permanent(st->votes[0], now);
}

/*
 * Inflate a zlib stream into a new buffer of at most
 * KEETA_STAPLE_MAX_BYTES; -1 when the input is not one complete zlib
 * stream (then it may be plain DER) or inflates too large (-2).
 */
static int
staple_inflate(const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen)
{
	z_stream	 zs;
	uint8_t		*buf = NULL;
	size_t		 cap = 0, n = 0;
	int		 rc;

	if (inlen < 2 || inlen > UINT_MAX)
		return -1;
	memset(&zs, 0, sizeof zs);
	if (inflateInit(&zs) != Z_OK)
		fatalx("keeta_staple: inflateInit failed");
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)inlen;
	do {
		if (n == cap) {
			if (cap >= KEETA_STAPLE_MAX_BYTES) {
				rc = -2;
				goto done;
			}
			cap = cap == 0 ? 4096 : cap * 2;
			if (cap > KEETA_STAPLE_MAX_BYTES)
				cap = KEETA_STAPLE_MAX_BYTES;
			buf = xreallocarray(buf, cap, 1);
		}
		zs.next_out = buf + n;
		zs.avail_out = (uInt)(cap - n);
		rc = inflate(&zs, Z_NO_FLUSH);
		n = cap - zs.avail_out;
		if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
			rc = -1;	/* truncated stream */
			goto done;
		}
	} while (rc == Z_OK || (rc == Z_BUF_ERROR && zs.avail_out == 0));
	if (rc != Z_STREAM_END || zs.avail_in != 0) {
		rc = -1;
		goto done;
	}
	rc = 0;
done:
	inflateEnd(&zs);
	if (rc != 0) {
		free(buf);
		return rc;
	}
	*out = buf;
	*outlen = n;
	return 0;
}

int
keeta_staple_decode(const uint8_t *in, size_t inlen, int64_t now, int flags,
    struct keeta_staple **out, const char **cause)
{
	struct keeta_der_reader	  r, s, lb, lv;
	struct keeta_block	**blocks = NULL;
	struct keeta_vote	**votes = NULL;
	size_t			  nblocks = 0, nvotes = 0, i;
	const uint8_t		 *der, *p;
	uint8_t			 *raw = NULL;
	size_t			  len, n;
	const char		 *why = NULL;
	int			  rc, bflags;

	*out = NULL;
	rc = staple_inflate(in, inlen, &raw, &len);
	if (rc == -2)
		FAIL("staple inflates beyond the size limit");
	if (rc == 0)
		der = raw;
	else {
		der = in;
		len = inlen;
	}
	bflags = (flags & KEETA_VOTE_NOVERIFY) ? KEETA_BLOCK_NOVERIFY : 0;
	keeta_der_reader_init(&r, der, len);
	if (keeta_der_enter(&r, KEETA_DER_SEQUENCE, &s) != 0 ||
	    keeta_der_expect_end(&r) != 0 ||
	    keeta_der_enter(&s, KEETA_DER_SEQUENCE, &lb) != 0 ||
	    keeta_der_enter(&s, KEETA_DER_SEQUENCE, &lv) != 0 ||
	    keeta_der_expect_end(&s) != 0)
		goto derfail;
	while (!keeta_der_at_end(&lb)) {
		if (nblocks == KEETA_VOTE_MAX_BLOCKS) {
			why = "staple with too many blocks";
			goto fail;
		}
		if (keeta_der_read_octets(&lb, &p, &n) != 0)
			goto derfail;
		blocks = xreallocarray(blocks, nblocks + 1, sizeof *blocks);
		if (keeta_block_decode(p, n, bflags, &blocks[nblocks],
		    &why) != 0)
			goto fail;
		nblocks++;
	}
	while (!keeta_der_at_end(&lv)) {
		if (nvotes == KEETA_STAPLE_MAX_VOTES) {
			why = "staple with too many votes";
			goto fail;
		}
		if (keeta_der_read_octets(&lv, &p, &n) != 0)
			goto derfail;
		votes = xreallocarray(votes, nvotes + 1, sizeof *votes);
		if (keeta_vote_decode(p, n, now, flags & ~KEETA_VOTE_QUOTE &
		    ~KEETA_VOTE_ANYKIND, &votes[nvotes], &why) != 0)
			goto fail;
		nvotes++;
	}
	free(raw);
	/* The SDK accepts any order and hashes the canonical one. */
	return staple_assemble(blocks, nblocks, votes, nvotes, now, out,
	    cause);
derfail:
	why = keeta_der_cause(&r);
	if (why == NULL)
		why = "malformed staple";
fail:
	for (i = 0; i < nblocks; i++)
		keeta_block_free(blocks[i]);
	for (i = 0; i < nvotes; i++)
		keeta_vote_free(votes[i]);
	free(blocks);
	free(votes);
	free(raw);
	FAIL(why);
}

cJSON *
keeta_staple_to_json(const struct keeta_staple *st, int64_t now,
    int with_binary)
{
	cJSON	*j, *v, *b, *item;
	uint8_t	*z;
	char	*s;
	size_t	 i, n;

	if ((j = cJSON_CreateObject()) == NULL ||
	    (v = cJSON_CreateArray()) == NULL ||
	    (b = cJSON_CreateArray()) == NULL)
		fatalx("cJSON: out of memory");
	for (i = 0; i < st->nvotes; i++) {
		if (!cJSON_AddItemToArray(v, keeta_vote_to_json(st->votes[i],
		    now, 0)))
			fatalx("cJSON: out of memory");
	}
	for (i = 0; i < st->nblocks; i++) {
		item = keeta_block_to_json(st->blocks[i], 0, NULL);
		if (item == NULL || !cJSON_AddItemToArray(b, item))
			fatalx("keeta_staple: block JSON failed");
	}
	if (!cJSON_AddItemToObject(j, "votes", v) ||
	    !cJSON_AddItemToObject(j, "blocks", b))
		fatalx("cJSON: out of memory");
	if (with_binary) {
		z = keeta_staple_compress(st, &n);
		s = keeta_block_base64_encode(z, n);
		free(z);
		if (cJSON_AddStringToObject(j, "$binary", s) == NULL)
			fatalx("cJSON: out of memory");
		free(s);
	}
	return j;
}

/* What the bytes look like: 'b'lock, 'v'ote, 's'taple or 0. */
static int
sniff(const uint8_t *p, size_t len)
{
	struct keeta_der_reader	r, c, d;
	int			tag;

	if (len == 0)
		return 0;
	if (p[0] == 0x78)
		return 's';
	if (p[0] == KEETA_DER_EXPLICIT(1))
		return 'b';
	keeta_der_reader_init(&r, p, len);
	if (keeta_der_enter(&r, KEETA_DER_SEQUENCE, &c) != 0)
		return 0;
	tag = keeta_der_peek_tag(&c);
	if (tag == KEETA_DER_INTEGER)
		return 'b';
	if (tag != KEETA_DER_SEQUENCE ||
	    keeta_der_enter(&c, KEETA_DER_SEQUENCE, &d) != 0)
		return 0;
	tag = keeta_der_peek_tag(&d);
	if (tag == KEETA_DER_EXPLICIT(0))
		return 'v';
	if (tag == KEETA_DER_OCTETSTRING || tag == -1)
		return 's';
	return 0;
}

static cJSON *
with_kind(const char *kind, const uint8_t hash[KEETA_HASH_LEN], cJSON *body)
{
	cJSON	*j, *item;

	if ((j = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(j, "kind", kind) == NULL ||
	    !cJSON_AddItemToObject(j, "hash",
	    keeta_block_json_hex(hash, KEETA_HASH_LEN)))
		fatalx("cJSON: out of memory");
	/* Move the body's members after kind and hash. */
	while ((item = cJSON_DetachItemViaPointer(body, body->child)) != NULL)
		if (!cJSON_AddItemToObject(j, item->string, item))
			fatalx("cJSON: out of memory");
	cJSON_Delete(body);
	return j;
}

cJSON *
keeta_decode_any_json(const uint8_t *p, size_t len, int64_t now,
    const char **cause)
{
	struct keeta_block	*b;
	struct keeta_vote	*v;
	struct keeta_staple	*st;
	cJSON			*j;
	uint8_t			 h[KEETA_HASH_LEN];
	const char		*why = NULL;

	switch (sniff(p, len)) {
	case 'b':
		if (keeta_block_decode(p, len, 0, &b, &why) != 0)
			break;
		j = keeta_block_to_json(b, 0, &why);
		if (j != NULL && keeta_block_hash(b, h, &why) == 0)
			j = with_kind("block", h, j);
		keeta_block_free(b);
		if (j != NULL)
			return j;
		break;
	case 'v':
		if (keeta_vote_decode(p, len, now, KEETA_VOTE_ANYTIME |
		    KEETA_VOTE_ANYKIND, &v, &why) != 0)
			break;
		j = with_kind("vote", v->hash, keeta_vote_to_json(v, now, 0));
		keeta_vote_free(v);
		return j;
	case 's':
		if (keeta_staple_decode(p, len, now, KEETA_VOTE_ANYTIME |
		    KEETA_VOTE_EXPIRED_OK, &st, &why) != 0)
			break;
		keeta_staple_hash(st, h);
		j = with_kind("staple", h, keeta_staple_to_json(st, now, 0));
		keeta_staple_blocks_hash(st, h);
		if (!cJSON_AddItemToObject(j, "blocksHash",
		    keeta_block_json_hex(h, KEETA_HASH_LEN)))
			fatalx("cJSON: out of memory");
		keeta_staple_free(st);
		return j;
	default:
		why = "not a Keeta block, vote or vote staple";
		break;
	}
	if (cause != NULL)
		*cause = why;
	return NULL;
}
