/*
 * keeta_vote: representative votes (keeta-encoding.md section 9.1-9.4).
 *
 * A vote is an X.509 v3-shaped certificate a representative issues over
 * a list of block hashes. There is no "permanent" flag: a vote is
 * permanent when its notAfter lies more than 100 years (of 365 days) past
 * the moment it is judged; temporary votes may carry a fee extension,
 * and a quote is a vote whose fee extension says quote = TRUE.
 *
 * The decoder re-encodes the tbsCertificate from the parsed fields and
 * requires the same bytes (verifiers hash the re-encoding), checks the
 * issuer, subject, key, algorithms and extensions, verifies the
 * signature, and applies the validity window at a caller-given time.
 *
 * struct keeta_vote is public and read-only for callers; it owns its
 * arrays and its DER. Functions that can fail return 0 or -1 and set
 * *cause (when not NULL) to a static string.
 */
#ifndef KDEX_KEETA_VOTE_H
#define KDEX_KEETA_VOTE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "keeta_account.h"
#include "keeta_block.h"
#include "keeta_hash.h"

/* Clock slop for validity checks, and the permanence horizon. */
#define KEETA_VOTE_SLOP_MS	((int64_t)60 * 1000)
#define KEETA_VOTE_PERMANENT_MS	((int64_t)100 * 365 * 86400 * 1000)
/* Temporary votes last five minutes in the node code. */
#define KEETA_VOTE_TEMPORARY_MS	((int64_t)5 * 60 * 1000)
/* Limit on block hashes in one vote: a bound for the decoder, far above
 * what a staple of KEETA_STAPLE_MAX_BYTES can carry in practice. */
#define KEETA_VOTE_MAX_BLOCKS	65536

/* The fees extension. */
struct keeta_vote_fee {
	int			quote;		/* TRUE: a quote, not a vote */
	struct keeta_amount	amount;
	int			has_pay_to;	/* default: the issuer */
	struct keeta_pubkey	pay_to;
	int			has_token;	/* default: the base token */
	struct keeta_pubkey	token;
};

struct keeta_vote {
	struct keeta_pubkey	 issuer;
	struct keeta_amount	 serial;
	int64_t			 valid_from;	/* ms since the epoch */
	int64_t			 valid_to;
	size_t			 nblocks;
	uint8_t			(*blocks)[KEETA_HASH_LEN];
	int			 has_fee;
	struct keeta_vote_fee	 fee;
	uint8_t			*sig;		/* BIT STRING contents: */
	size_t			 siglen;	/* Ed25519 raw, ECDSA DER */
	uint8_t			*der;		/* the whole certificate */
	size_t			 derlen;
	uint8_t			 hash[KEETA_HASH_LEN];	/* H(der) */
};

/* Decoder flags. By default a vote (not a quote) valid at "now". */
#define KEETA_VOTE_ANYTIME	0x1	/* skip the validity window */
#define KEETA_VOTE_EXPIRED_OK	0x2	/* PossiblyExpiredVote */
#define KEETA_VOTE_NOVERIFY	0x4	/* skip the signature check */
#define KEETA_VOTE_QUOTE	0x8	/* expect a quote instead */
#define KEETA_VOTE_ANYKIND	0x10	/* accept votes and quotes */

/*
 * Parse one vote of exactly len bytes at time now (ms). Rejects
 * non-canonical encodings, malformed or inconsistent fields, permanent
 * votes with fees, a quote where a vote is expected (and the reverse),
 * votes issued more than 60 s in the future and (unless EXPIRED_OK)
 * expired more than 60 s ago, and bad signatures. On success *out is a
 * vote the caller owns (keeta_vote_free()).
 */
int	keeta_vote_decode(const uint8_t *der, size_t len, int64_t now,
	    int flags, struct keeta_vote **out, const char **cause);
void	keeta_vote_free(struct keeta_vote *);
struct keeta_vote *keeta_vote_dup(const struct keeta_vote *);

/*
 * Issue and sign a vote as the representative issuer (Ed25519, secp256k1
 * or P-256) over nblocks block hashes (in staple order), valid from
 * valid_from to valid_to (ms). fee may be NULL; permanent votes must not
 * carry one. On success *out is a vote the caller owns.
 */
int	keeta_vote_build(const struct keeta_account *issuer,
	    const struct keeta_amount *serial, int64_t valid_from,
	    int64_t valid_to, const uint8_t (*blocks)[KEETA_HASH_LEN],
	    size_t nblocks, const struct keeta_vote_fee *fee,
	    struct keeta_vote **out, const char **cause);
/* The SDK's permanent notAfter for a vote issued at now: January 31 of
 * (year(now) + 1001), 00:00:00 UTC. */
int64_t	keeta_vote_permanent_until(int64_t now);

/* 1 when permanent as judged at now (notAfter > now + 100 years). */
int	keeta_vote_is_permanent(const struct keeta_vote *, int64_t now);
/* 1 when the vote is a quote (fee extension with quote = TRUE). */
int	keeta_vote_is_quote(const struct keeta_vote *);
/* Validity window at now (see the decoder). */
int	keeta_vote_check_time(const struct keeta_vote *, int64_t now,
	    int expired_ok, const char **cause);
/* Verify the issuer's signature over the tbsCertificate. */
int	keeta_vote_verify(const struct keeta_vote *, const char **cause);

/* H(block hash 1 || block hash 2 || ...): the staple id. */
void	keeta_vote_blocks_hash(const struct keeta_vote *,
	    uint8_t out[KEETA_HASH_LEN]);
/* "ID=<issuer address>/Serial=<decimal serial>"; the caller frees it.
 * Its SHA3-256 is the SDK's $id. */
char	*keeta_vote_uid(const struct keeta_vote *);

/*
 * The SDK's JSON form: issuer, serial, blocks, validityFrom, validityTo,
 * signature, $trusted (false), $permanent (judged at now), $uid, $id, and
 * fee and quote when the fee extension is present, then $binary (base64
 * of the DER) when with_binary. The caller owns the result.
 */
cJSON	*keeta_vote_to_json(const struct keeta_vote *, int64_t now,
	    int with_binary);

#endif
