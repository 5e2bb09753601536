/*
 * devnet_vote: what the devnet needs from votes and staples, on top of
 * keeta_vote and keeta_der: issue a vote as the representative, check a
 * vote presented in the permanent round, open a published staple (zlib +
 * DER, keeta-encoding.md 9.5) and build one for the node's own genesis.
 */
#ifndef KDEX_DEVNET_VOTE_H
#define KDEX_DEVNET_VOTE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "devnet_ledger.h"
#include "keeta_account.h"
#include "keeta_hash.h"

/* Largest inflated staple accepted (a bound against zip bombs). */
#define DEVNET_STAPLE_MAX	(16u * 1024 * 1024)

struct devnet_vote_info {
	struct keeta_pubkey	issuer;
	int			permanent;
	int64_t			valid_from;
};

/*
 * Issue a vote by rep on hashes (staple order) at now: temporary (5 min)
 * or permanent (SDK horizon). Returns the DER the caller frees, its
 * length and validityTo in *expires; NULL on failure.
 */
uint8_t	*devnet_vote_issue(const struct keeta_account *rep, uint64_t serial,
	    const uint8_t (*hashes)[KEETA_HASH_LEN], size_t n, int64_t now,
	    int permanent, size_t *len, int64_t *expires);

/*
 * Check a vote at now: decodes, verifies, and requires it to cover
 * exactly hashes in order (LEDGER_BLOCKS_DIFFER_FROM_VOTED_ON). Fills
 * info; -1 with err set.
 */
int	devnet_vote_check(const uint8_t *der, size_t len,
	    const uint8_t (*hashes)[KEETA_HASH_LEN], size_t n, int64_t now,
	    struct devnet_vote_info *, struct devnet_err *);

/* The SDK JSON of a vote, with $binary; NULL when it does not parse.
 * Caller owns. */
cJSON	*devnet_vote_json(const uint8_t *der, size_t len);

/* An opened staple: pointers into the inflated copy it owns. */
struct devnet_staple {
	uint8_t			 *raw;		/* inflated DER */
	size_t			  rawlen;
	const uint8_t		**blocks;
	size_t			 *blocklens;
	size_t			  nblocks;
	const uint8_t		**votes;
	size_t			 *votelens;
	struct devnet_vote_info	 *vinfo;
	size_t			  nvotes;
	uint8_t			  id[KEETA_HASH_LEN];	/* vote-blocks hash */
	int64_t			  timestamp;		/* ms */
};

/*
 * Open a wire staple (zlib, or plain DER): parse, check every vote (valid
 * signature, covering exactly the staple's block hashes in order, no
 * issuer twice, all permanent or all temporary). The block DERs are not
 * decoded here. -1 with err set; release with devnet_staple_close().
 */
int	devnet_staple_open(const uint8_t *wire, size_t len, int64_t now,
	    struct devnet_staple *, struct devnet_err *);
void	devnet_staple_close(struct devnet_staple *);

/* Build a canonical wire staple (votes sorted by hash, zlib). Returns
 * bytes the caller frees, or NULL. */
uint8_t	*devnet_staple_build(const uint8_t *const *blocks,
	    const size_t *blocklens, size_t nblocks,
	    const uint8_t *const *votes, const size_t *votelens, size_t nvotes,
	    size_t *len);

/* {blocks:[block JSON], votes:[vote JSON]} of a wire staple; caller owns;
 * NULL when it does not open. */
cJSON	*devnet_staple_json(const uint8_t *wire, size_t len);
/* Call fn on each vote DER of a wire staple; -1 when it does not open. */
int	devnet_staple_votes(const uint8_t *wire, size_t len,
	    int (*fn)(void *, const uint8_t *, size_t), void *);

#endif
