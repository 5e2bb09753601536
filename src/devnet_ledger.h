/*
 * devnet_ledger: the devnet's ledger state in SQLite and the ledger rules
 * of keeta-node-api.md section 4.
 *
 * One SQLite database (a file under --data DIR, WAL, synchronous=FULL, or
 * an in-memory database) holds the main ledger (blocks, heads, balances,
 * account info, ACL rows, staples, per-account history, idempotency keys),
 * the side ledger (blocks this node voted for but that are not yet
 * published) and a few meta values such as the never-repeating vote
 * serial.
 *
 * Effects are computed by applying a staple's blocks, op by op, inside a
 * SQLite savepoint: at vote time with every rule enforced and then rolled
 * back, at publish time without the outcome checks (the votes vouch for
 * them) and committed. Using the same code for both keeps "what was voted"
 * and "what is applied" from drifting apart.
 *
 * Not thread-safe: the devnet's server thread is the only user.
 */
#ifndef KDEX_DEVNET_LEDGER_H
#define KDEX_DEVNET_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "keeta_account.h"
#include "keeta_block.h"

/* A rule violation or failure, as the API reports it. */
struct devnet_err {
	int	 status;		/* HTTP status: 4xx rules, 5xx node */
	char	 type[16];		/* "LEDGER", "BLOCK", "VOTE", "API" */
	char	 code[64];		/* "LEDGER_INVALID_BALANCE" */
	char	 message[512];
	cJSON	*extra;			/* extra members, owned (or NULL) */
};
void	devnet_err_set(struct devnet_err *, int status, const char *type,
	    const char *code, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));
void	devnet_err_clear(struct devnet_err *);

struct devnet_ledger;

/* Open (and create) the state. path NULL = in memory. Caller owns the
 * result (devnet_ledger_close()); NULL with *cause (caller frees). */
struct devnet_ledger *devnet_ledger_open(const char *path, char **cause);
void	devnet_ledger_close(struct devnet_ledger *);

/* Network parameters the rules need; set once after opening. */
void	devnet_ledger_setup(struct devnet_ledger *, uint64_t network,
	    const struct keeta_pubkey *rep, const struct keeta_pubkey *trusted);
const struct keeta_pubkey *devnet_ledger_network_address(
	    const struct devnet_ledger *);
const struct keeta_pubkey *devnet_ledger_base_token(
	    const struct devnet_ledger *);

/* Transactions (savepoints nest). 0 or -1. */
int	devnet_ledger_begin(struct devnet_ledger *);
int	devnet_ledger_commit(struct devnet_ledger *);
void	devnet_ledger_rollback(struct devnet_ledger *);

/* Meta values: get returns a string the caller frees, or NULL. */
char	*devnet_ledger_meta_get(struct devnet_ledger *, const char *key);
int	 devnet_ledger_meta_set(struct devnet_ledger *, const char *key,
	    const char *value);
/*
 * Vote serials. devnet_ledger_serial_prepare() must run outside any
 * transaction before a vote: it makes sure a serial is reserved on disk
 * (a fully synced commit every 1024 serials). devnet_ledger_next_serial()
 * then hands out the next one; no serial is ever issued twice, across
 * restarts, kill -9 and power loss.
 */
int	 devnet_ledger_serial_prepare(struct devnet_ledger *);
uint64_t devnet_ledger_next_serial(struct devnet_ledger *);
/*
 * relaxed != 0: commits until the next call use synchronous=NORMAL (WAL:
 * safe against a process kill, may lose the last commits on power loss).
 * Votes use it, since a lost side-ledger row is harmless with one
 * representative; publishes always run with synchronous=FULL.
 */
void	 devnet_ledger_relaxed(struct devnet_ledger *, int relaxed);

/* 1 when the main ledger has no block at all (before genesis). */
int	devnet_ledger_empty(struct devnet_ledger *);

/* ----------------------------- queries ----------------------------- */

/* Main-ledger head: 1 and hash/height, or 0 for an empty account. */
int	devnet_ledger_head(struct devnet_ledger *, const struct keeta_pubkey *,
	    uint8_t hash[KEETA_HASH_LEN], uint64_t *height);
void	devnet_ledger_balance(struct devnet_ledger *,
	    const struct keeta_pubkey *acct, const struct keeta_pubkey *token,
	    struct keeta_amount *);
/* Non-zero balances as a JSON array [{token,balance}]; caller owns. */
cJSON	*devnet_ledger_balances_json(struct devnet_ledger *,
	    const struct keeta_pubkey *);
/* info object {name,description,metadata[,supply][,defaultPermission]}. */
cJSON	*devnet_ledger_info_json(struct devnet_ledger *,
	    const struct keeta_pubkey *);
/* Representative of an account: 1 and rep, or 0. */
int	devnet_ledger_rep(struct devnet_ledger *, const struct keeta_pubkey *,
	    struct keeta_pubkey *);
/* Voting weight delegated to rep (base token balances). */
void	devnet_ledger_weight(struct devnet_ledger *,
	    const struct keeta_pubkey *rep, struct keeta_amount *);
/* ACL rows as a JSON array of {principal,entity,target,permissions}:
 * by_entity: rows on entity; by_principal: rows of principal, limited to
 * the given entities when n > 0. Caller owns. */
cJSON	*devnet_ledger_acl_by_entity(struct devnet_ledger *,
	    const struct keeta_pubkey *);
cJSON	*devnet_ledger_acl_by_principal(struct devnet_ledger *,
	    const struct keeta_pubkey *, const struct keeta_pubkey *entities,
	    size_t n);

/* A stored block: DER the caller frees, or NULL. side: 0 main, 1 side,
 * 2 either. */
uint8_t	*devnet_ledger_block(struct devnet_ledger *,
	    const uint8_t hash[KEETA_HASH_LEN], int side, size_t *len);
/* Main-ledger block whose previous is prev (its successor); DER or NULL. */
uint8_t	*devnet_ledger_successor(struct devnet_ledger *,
	    const uint8_t prev[KEETA_HASH_LEN], int side, size_t *len,
	    uint8_t hash[KEETA_HASH_LEN]);
/* Block height of a main-ledger block: 1 and *height, or 0. */
int	devnet_ledger_height(struct devnet_ledger *,
	    const uint8_t hash[KEETA_HASH_LEN], uint64_t *height);
/* Staple bytes (deflated) holding a main-ledger block; caller frees. */
uint8_t	*devnet_ledger_block_staple(struct devnet_ledger *,
	    const uint8_t hash[KEETA_HASH_LEN], size_t *len);
/* Block hash for an account's idempotency key (main ledger): 1 or 0. */
int	devnet_ledger_idempotent(struct devnet_ledger *,
	    const struct keeta_pubkey *, const uint8_t *key, size_t keylen,
	    uint8_t hash[KEETA_HASH_LEN]);

/*
 * History page: staple ids newest first, of account (NULL = all), after
 * start (exclusive; NULL = newest), at most limit. Calls fn for each with
 * id, timestamp and the deflated staple bytes; returns the count or -1.
 */
typedef int (*devnet_history_fn)(void *, const uint8_t id[KEETA_HASH_LEN],
    int64_t ts_ms, const uint8_t *staple, size_t len);
int	devnet_ledger_history(struct devnet_ledger *,
	    const struct keeta_pubkey *, const uint8_t *start, unsigned int limit,
	    devnet_history_fn, void *);

/* ----------------------------- side ledger ----------------------------- */

/*
 * Record a vote this node issued on blocks (on the side ledger until
 * published): one row per block, keyed by block hash. expires_ms is the
 * vote's validityTo (permanent votes: far future).
 */
int	devnet_ledger_side_put(struct devnet_ledger *,
	    struct keeta_block *const *, const uint8_t (*hashes)[KEETA_HASH_LEN],
	    size_t n, const uint8_t *vote, size_t votelen, int64_t expires_ms,
	    int permanent);
/*
 * A live side vote by this node on a successor of prev: 1 and the voted
 * block hash (and vote DER the caller frees, when vote != NULL), or 0.
 */
int	devnet_ledger_side_live(struct devnet_ledger *,
	    const uint8_t prev[KEETA_HASH_LEN], int64_t now_ms,
	    uint8_t hash[KEETA_HASH_LEN], uint8_t **vote, size_t *votelen);
/* The pending (side) block of an account after its main head. */
uint8_t	*devnet_ledger_pending(struct devnet_ledger *,
	    const struct keeta_pubkey *, int64_t now_ms, size_t *len);
/* Side votes of a block hash (live): JSON-able vote DERs via fn. */
int	devnet_ledger_side_votes(struct devnet_ledger *,
	    const uint8_t hash[KEETA_HASH_LEN], int64_t now_ms,
	    int (*fn)(void *, const uint8_t *, size_t), void *);
/* Idempotency key in use on main or live side: 1 and the block hash. */
int	devnet_ledger_idem_used(struct devnet_ledger *,
	    const uint8_t key[KEETA_HASH_LEN], int64_t now_ms,
	    uint8_t hash[KEETA_HASH_LEN]);

/* ------------------------------ rules ------------------------------ */

/* H(pkt(account) || idempotent): the ledger-wide idempotency key. */
void	devnet_idem_key(const struct keeta_block *,
	    uint8_t out[KEETA_HASH_LEN]);

/*
 * Apply blocks (hashes given) to the state inside the caller's
 * transaction. enforce != 0 checks every §4 rule (permissions, owners,
 * balances, receives, disabled operations); enforce == 0 is the publish
 * path (and genesis) where the votes vouch for the outcome. Returns 0, or
 * -1 with err set (the caller rolls back).
 */
int	devnet_ledger_apply(struct devnet_ledger *,
	    struct keeta_block *const *, const uint8_t (*hashes)[KEETA_HASH_LEN],
	    size_t n, int enforce, struct devnet_err *);

/*
 * Record a published staple: blocks (with their DER) become main-ledger
 * blocks and heads, the staple is stored with its id and timestamp, the
 * history index gains one row per touched account, idempotency keys are
 * kept, and side rows for these blocks' previous hashes are dropped.
 * Inside the caller's transaction, after devnet_ledger_apply().
 */
int	devnet_ledger_record(struct devnet_ledger *,
	    struct keeta_block *const *, const uint8_t (*hashes)[KEETA_HASH_LEN],
	    const uint8_t *const *ders, const size_t *derlens, size_t n,
	    const uint8_t id[KEETA_HASH_LEN], int64_t ts_ms,
	    const uint8_t *staple, size_t staplelen);

#endif
