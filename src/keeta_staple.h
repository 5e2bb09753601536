/*
 * keeta_staple: vote staples (keeta-encoding.md section 9.5), the unit a
 * client publishes: signed blocks plus the votes of representatives over
 * exactly those blocks.
 *
 * Wire form: zlib(DER SEQUENCE { SEQUENCE OF OCTET STRING blocks,
 * SEQUENCE OF OCTET STRING votes }). The staple hash covers the
 * uncompressed canonical DER, so compressed bytes are never compared.
 * Canonical order: blocks in the order the votes list them, votes sorted
 * by vote hash (ascending bytes).
 *
 * A staple owns its blocks and votes (keeta_staple_free() releases them).
 * Functions that can fail return 0 or -1 and set *cause (when not NULL) to
 * a static string.
 */
#ifndef KDEX_KEETA_STAPLE_H
#define KDEX_KEETA_STAPLE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "keeta_block.h"
#include "keeta_hash.h"
#include "keeta_vote.h"

/* Bounds for decoders: inflated size, blocks and votes per staple. */
#define KEETA_STAPLE_MAX_BYTES	((size_t)16 * 1024 * 1024)
#define KEETA_STAPLE_MAX_VOTES	256

struct keeta_staple {
	size_t			  nblocks;
	struct keeta_block	**blocks;	/* canonical order */
	uint8_t			(*block_hash)[KEETA_HASH_LEN];
	size_t			  nvotes;
	struct keeta_vote	**votes;	/* sorted by hash */
};

/*
 * VoteStaple.fromVotesAndBlocks: a staple from signed blocks (any order)
 * and votes (any order), both copied. Every vote must list exactly these
 * blocks in one order, issuers must differ, and the votes must be all
 * temporary or all permanent as judged at now. The caller owns *out.
 */
int	keeta_staple_new(struct keeta_block *const *blocks, size_t nblocks,
	    struct keeta_vote *const *votes, size_t nvotes, int64_t now,
	    struct keeta_staple **out, const char **cause);
void	keeta_staple_free(struct keeta_staple *);

/*
 * Parse a staple, compressed (zlib) or not, at time now. Blocks are
 * decoded with keeta_block_decode() (signatures verified unless
 * KEETA_VOTE_NOVERIFY), votes with keeta_vote_decode() using flags (the
 * KEETA_VOTE_* flags). Like the SDK it accepts blocks and votes in any
 * order and arranges them canonically (the staple hash covers that form);
 * it rejects the rule breaks listed at keeta_staple_new() and a block
 * listed twice. The caller owns *out.
 */
int	keeta_staple_decode(const uint8_t *, size_t, int64_t now, int flags,
	    struct keeta_staple **out, const char **cause);

/* Uncompressed canonical DER and its zlib form; the caller frees both. */
uint8_t	*keeta_staple_encode(const struct keeta_staple *, size_t *len);
uint8_t	*keeta_staple_compress(const struct keeta_staple *, size_t *len);
/* H(uncompressed DER): the staple hash. */
void	keeta_staple_hash(const struct keeta_staple *,
	    uint8_t out[KEETA_HASH_LEN]);
/* H(block hashes in order): the SDK's staple $id ("blocksHash"). */
void	keeta_staple_blocks_hash(const struct keeta_staple *,
	    uint8_t out[KEETA_HASH_LEN]);
/* 1 when the votes are permanent at now. */
int	keeta_staple_is_permanent(const struct keeta_staple *, int64_t now);

/*
 * JSON {"votes": [...], "blocks": [...]} with each element in its SDK
 * form, plus "$binary" (base64 of the zlib form) when with_binary. The
 * caller owns the result.
 */
cJSON	*keeta_staple_to_json(const struct keeta_staple *, int64_t now,
	    int with_binary);

/*
 * For `kdex keeta decode`: identify a block, vote or staple in raw bytes,
 * decode it strictly (signatures verified; vote validity windows are not
 * applied, permanence is judged at now) and return its JSON with "kind"
 * ("block", "vote" or "staple") and "hash" first. The caller owns the
 * result; NULL with *cause on failure.
 */
cJSON	*keeta_decode_any_json(const uint8_t *, size_t, int64_t now,
	    const char **cause);

#endif
