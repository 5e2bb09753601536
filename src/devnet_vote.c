/*
 * devnet_vote: votes and staples for the devnet. See devnet_vote.h.
 */
#include "config.h"

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

#include "devnet_vote.h"
#include "keeta_block.h"
#include "keeta_der.h"
#include "keeta_vote.h"
#include "util.h"

uint8_t *
devnet_vote_issue(const struct keeta_account *rep, uint64_t serial,
    const uint8_t (*hashes)[KEETA_HASH_LEN], size_t n, int64_t now,
    int permanent, size_t *len, int64_t *expires)
{
	struct keeta_amount	 s;
	struct keeta_vote	*v;
	int64_t			 to;
	uint8_t			*out;

	keeta_amount_from_u128(&s, serial);
	to = permanent ? keeta_vote_permanent_until(now) :
	    now + KEETA_VOTE_TEMPORARY_MS;
	if (keeta_vote_build(rep, &s, now, to, hashes, n, NULL, &v,
	    NULL) != 0)
		return (NULL);
	out = xmalloc(v->derlen);
	memcpy(out, v->der, v->derlen);
	*len = v->derlen;
	*expires = to;
	keeta_vote_free(v);
	return (out);
}

static int
blocks_match(const struct keeta_vote *v,
    const uint8_t (*hashes)[KEETA_HASH_LEN], size_t n)
{
	size_t	i;

	if (v->nblocks != n)
		return (0);
	for (i = 0; i < n; i++) {
		if (memcmp(v->blocks[i], hashes[i], KEETA_HASH_LEN) != 0)
			return (0);
	}
	return (1);
}

int
devnet_vote_check(const uint8_t *der, size_t len,
    const uint8_t (*hashes)[KEETA_HASH_LEN], size_t n, int64_t now,
    struct devnet_vote_info *info, struct devnet_err *err)
{
	struct keeta_vote	*v;
	const char		*cause = NULL;

	if (keeta_vote_decode(der, len, now, 0, &v, &cause) != 0) {
		devnet_err_set(err, 400, "VOTE", "VOTE_INVALID",
		    "invalid vote: %s", cause != NULL ? cause : "?");
		return (-1);
	}
	if (!blocks_match(v, hashes, n)) {
		keeta_vote_free(v);
		devnet_err_set(err, 400, "LEDGER",
		    "LEDGER_BLOCKS_DIFFER_FROM_VOTED_ON",
		    "the votes do not cover exactly these blocks");
		return (-1);
	}
	info->issuer = v->issuer;
	info->permanent = keeta_vote_is_permanent(v, now);
	info->valid_from = v->valid_from;
	keeta_vote_free(v);
	return (0);
}

static int64_t
clock_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

cJSON *
devnet_vote_json(const uint8_t *der, size_t len)
{
	struct keeta_vote	*v;
	cJSON			*o;
	int64_t			 now = clock_now();

	if (keeta_vote_decode(der, len, now, KEETA_VOTE_ANYTIME |
	    KEETA_VOTE_NOVERIFY | KEETA_VOTE_ANYKIND, &v, NULL) != 0)
		return (NULL);
	o = keeta_vote_to_json(v, now, 1);
	keeta_vote_free(v);
	return (o);
}

/* Inflate a zlib stream, bounded; NULL when it is not one. */
static uint8_t *
inflate_bounded(const uint8_t *in, size_t inlen, size_t *outlen)
{
	z_stream	 z;
	uint8_t		*out;
	size_t		 cap = inlen * 4 + 1024;
	int		 rc;

	if (inlen < 2 || in[0] != 0x78)
		return (NULL);
	memset(&z, 0, sizeof z);
	if (inflateInit(&z) != Z_OK)
		return (NULL);
	out = xmalloc(cap);
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)inlen;
	for (;;) {
		z.next_out = out + z.total_out;
		z.avail_out = (uInt)(cap - z.total_out);
		rc = inflate(&z, Z_NO_FLUSH);
		if (rc == Z_STREAM_END)
			break;
		if (rc != Z_OK && rc != Z_BUF_ERROR)
			goto fail;
		if (z.avail_out != 0 && z.avail_in == 0)
			goto fail;	/* truncated */
		if (cap >= DEVNET_STAPLE_MAX)
			goto fail;
		cap *= 2;
		if (cap > DEVNET_STAPLE_MAX)
			cap = DEVNET_STAPLE_MAX;
		out = xreallocarray(out, 1, cap);
	}
	if (z.avail_in != 0)
		goto fail;
	*outlen = z.total_out;
	inflateEnd(&z);
	return (out);
fail:
	inflateEnd(&z);
	free(out);
	return (NULL);
}

void
devnet_staple_close(struct devnet_staple *st)
{
	free(st->raw);
	free(st->blocks);
	free(st->blocklens);
	free(st->votes);
	free(st->votelens);
	free(st->vinfo);
	memset(st, 0, sizeof *st);
}

/* Split the DER into block and vote pointers; -1 when malformed. */
static int
staple_split(struct devnet_staple *st)
{
	struct keeta_der_reader	r, top, lists[2];
	struct keeta_der_tlv	t;
	int			i;

	keeta_der_reader_init(&r, st->raw, st->rawlen);
	if (keeta_der_enter(&r, KEETA_DER_SEQUENCE, &top) != 0 ||
	    keeta_der_expect_end(&r) != 0)
		return (-1);
	for (i = 0; i < 2; i++) {
		if (keeta_der_enter(&top, KEETA_DER_SEQUENCE, &lists[i]) != 0)
			return (-1);
		while (!keeta_der_at_end(&lists[i])) {
			if (keeta_der_read(&lists[i], KEETA_DER_OCTETSTRING,
			    &t) != 0)
				return (-1);
			if (i == 0) {
				st->blocks = xreallocarray(st->blocks,
				    st->nblocks + 1, sizeof *st->blocks);
				st->blocklens = xreallocarray(st->blocklens,
				    st->nblocks + 1, sizeof *st->blocklens);
				st->blocks[st->nblocks] = t.val;
				st->blocklens[st->nblocks++] = t.len;
			} else {
				st->votes = xreallocarray(st->votes,
				    st->nvotes + 1, sizeof *st->votes);
				st->votelens = xreallocarray(st->votelens,
				    st->nvotes + 1, sizeof *st->votelens);
				st->votes[st->nvotes] = t.val;
				st->votelens[st->nvotes++] = t.len;
			}
		}
	}
	if (keeta_der_expect_end(&top) != 0 || st->nblocks == 0 ||
	    st->nvotes == 0)
		return (-1);
	return (0);
}

static int
staple_load(const uint8_t *wire, size_t len, struct devnet_staple *st)
{
	memset(st, 0, sizeof *st);
	st->raw = inflate_bounded(wire, len, &st->rawlen);
	if (st->raw == NULL) {
		if (len > DEVNET_STAPLE_MAX)
			return (-1);
		st->raw = xmalloc(len > 0 ? len : 1);
		memcpy(st->raw, wire, len);
		st->rawlen = len;
	}
	if (staple_split(st) != 0) {
		devnet_staple_close(st);
		return (-1);
	}
	return (0);
}

int
devnet_staple_open(const uint8_t *wire, size_t len, int64_t now,
    struct devnet_staple *st, struct devnet_err *err)
{
	uint8_t			(*h)[KEETA_HASH_LEN] = NULL;
	struct keeta_block	*b;
	struct keeta_vote	*v;
	const char		*cause = NULL;
	size_t			 i, j;

	if (staple_load(wire, len, st) != 0) {
		devnet_err_set(err, 400, "VOTE", "VOTE_STAPLE_INVALID",
		    "votesAndBlocks is not a vote staple");
		return (-1);
	}
	h = xreallocarray(NULL, st->nblocks, sizeof *h);
	for (i = 0; i < st->nblocks; i++) {
		b = NULL;
		if (keeta_block_decode(st->blocks[i], st->blocklens[i],
		    KEETA_BLOCK_NOVERIFY, &b, &cause) != 0 ||
		    keeta_block_hash(b, h[i], &cause) != 0) {
			if (b != NULL)
				keeta_block_free(b);
			devnet_err_set(err, 400, "BLOCK", "BLOCK_INVALID",
			    "invalid block in staple: %s", cause != NULL ?
			    cause : "?");
			goto fail;
		}
		keeta_block_free(b);
		b = NULL;
	}
	/* The staple id is the vote-blocks hash, H(h1 || h2 || ...). */
	keeta_sha3_256(h, st->nblocks * KEETA_HASH_LEN, st->id);
	st->vinfo = xcalloc(st->nvotes, sizeof *st->vinfo);
	for (i = 0; i < st->nvotes; i++) {
		if (keeta_vote_decode(st->votes[i], st->votelens[i], now,
		    KEETA_VOTE_EXPIRED_OK, &v, &cause) != 0) {
			devnet_err_set(err, 400, "VOTE", "VOTE_INVALID",
			    "invalid vote in staple: %s", cause != NULL ?
			    cause : "?");
			goto fail;
		}
		if (!blocks_match(v, (const uint8_t (*)[KEETA_HASH_LEN])h,
		    st->nblocks)) {
			keeta_vote_free(v);
			devnet_err_set(err, 400, "LEDGER",
			    "LEDGER_BLOCKS_DIFFER_FROM_VOTED_ON",
			    "a vote does not cover the staple's blocks");
			goto fail;
		}
		st->vinfo[i].issuer = v->issuer;
		st->vinfo[i].permanent = keeta_vote_is_permanent(v, now);
		st->vinfo[i].valid_from = v->valid_from;
		if (v->valid_from > st->timestamp)
			st->timestamp = v->valid_from;
		keeta_vote_free(v);
		for (j = 0; j < i; j++) {
			if (keeta_pubkey_equal(&st->vinfo[j].issuer,
			    &st->vinfo[i].issuer)) {
				devnet_err_set(err, 400, "VOTE",
				    "VOTE_DUPLICATE_ISSUER",
				    "two votes by the same issuer");
				goto fail;
			}
			if (st->vinfo[j].permanent != st->vinfo[i].permanent) {
				devnet_err_set(err, 400, "VOTE",
				    "VOTE_MIXED_PERMANENCE", "a staple may not "
				    "mix temporary and permanent votes");
				goto fail;
			}
		}
	}
	free(h);
	return (0);
fail:
	free(h);
	devnet_staple_close(st);
	return (-1);
}

struct vsort {
	const uint8_t	*der;
	size_t		 len;
	uint8_t		 hash[KEETA_HASH_LEN];
};

static int
vsort_cmp(const void *a, const void *b)
{
	const struct vsort	*x = a, *y = b;

	return (memcmp(x->hash, y->hash, KEETA_HASH_LEN));
}

uint8_t *
devnet_staple_build(const uint8_t *const *blocks, const size_t *blocklens,
    size_t nblocks, const uint8_t *const *votes, const size_t *votelens,
    size_t nvotes, size_t *len)
{
	struct keeta_der_writer	 w;
	struct vsort		*vs;
	const uint8_t		*raw;
	size_t			 rawlen, i;
	uLongf			 zlen;
	uint8_t			*out;

	vs = xcalloc(nvotes, sizeof *vs);
	for (i = 0; i < nvotes; i++) {
		vs[i].der = votes[i];
		vs[i].len = votelens[i];
		keeta_sha3_256(votes[i], votelens[i], vs[i].hash);
	}
	qsort(vs, nvotes, sizeof *vs, vsort_cmp);
	keeta_der_writer_init(&w);
	keeta_der_begin(&w, KEETA_DER_SEQUENCE);
	keeta_der_begin(&w, KEETA_DER_SEQUENCE);
	for (i = 0; i < nblocks; i++)
		keeta_der_put_octets(&w, blocks[i], blocklens[i]);
	keeta_der_end(&w);
	keeta_der_begin(&w, KEETA_DER_SEQUENCE);
	for (i = 0; i < nvotes; i++)
		keeta_der_put_octets(&w, vs[i].der, vs[i].len);
	keeta_der_end(&w);
	keeta_der_end(&w);
	free(vs);
	raw = keeta_der_writer_data(&w, &rawlen);
	zlen = compressBound((uLong)rawlen);
	out = xmalloc(zlen);
	if (compress2(out, &zlen, raw, (uLong)rawlen,
	    Z_DEFAULT_COMPRESSION) != Z_OK) {
		free(out);
		keeta_der_writer_release(&w);
		return (NULL);
	}
	keeta_der_writer_release(&w);
	*len = zlen;
	return (out);
}

cJSON *
devnet_staple_json(const uint8_t *wire, size_t len)
{
	struct devnet_staple	 st;
	struct keeta_block	*b;
	cJSON			*o, *arr, *it;
	size_t			 i;

	if (staple_load(wire, len, &st) != 0)
		return (NULL);
	o = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(o, "votes");
	for (i = 0; i < st.nvotes; i++) {
		it = devnet_vote_json(st.votes[i], st.votelens[i]);
		if (it != NULL)
			cJSON_AddItemToArray(arr, it);
	}
	arr = cJSON_AddArrayToObject(o, "blocks");
	for (i = 0; i < st.nblocks; i++) {
		if (keeta_block_decode(st.blocks[i], st.blocklens[i],
		    KEETA_BLOCK_NOVERIFY, &b, NULL) != 0)
			continue;
		it = keeta_block_to_json(b, 1, NULL);
		keeta_block_free(b);
		if (it != NULL)
			cJSON_AddItemToArray(arr, it);
	}
	devnet_staple_close(&st);
	return (o);
}

int
devnet_staple_votes(const uint8_t *wire, size_t len,
    int (*fn)(void *, const uint8_t *, size_t), void *arg)
{
	struct devnet_staple	st;
	size_t			i;

	if (staple_load(wire, len, &st) != 0)
		return (-1);
	for (i = 0; i < st.nvotes; i++)
		fn(arg, st.votes[i], st.votelens[i]);
	devnet_staple_close(&st);
	return (0);
}
