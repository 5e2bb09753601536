/*
 * keeta_client: a client for Keeta representatives' REST API (libcurl +
 * cJSON), following keeta-node-api.md for SDK 0.14.12.
 *
 * Writes go through a transaction (struct keeta_tx): the caller lists
 * operations per account, keeta_tx_publish() reads each chain's head,
 * builds and signs one block per account, asks every representative for a
 * temporary vote, turns those into permanent votes, staples them and
 * publishes the staple to the highest-weight representative. When a rep
 * answers LEDGER_NOT_SUCCESSOR the heads are re-read and the blocks
 * rebuilt (bounded). Blocks carry an idempotency key, so a retried or
 * rebuilt publish never applies twice: a later LEDGER_IDEMPOTENT_KEY_EXISTS
 * or LEDGER_BLOCK_ALREADY_EXISTS for our own key means "already applied".
 * LEDGER_SUCCESSOR_VOTE_EXISTS (a staple abandoned after its votes) makes
 * the client finish that staple first, as the SDK's send() does.
 * Transport failures and 5xx answers are retried with exponential backoff
 * up to a bound; error:true answers are returned at once.
 *
 * Reads go to any representative (the first that answers).
 *
 * Errors: functions return 0 on success and -1 on failure, filling the
 * caller's struct keeta_client_error (may be NULL). A client is not
 * thread-safe; use one per thread.
 */
#ifndef KDEX_KEETA_CLIENT_H
#define KDEX_KEETA_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "keeta_account.h"
#include "keeta_block.h"
#include "keeta_der.h"
#include "keeta_perm.h"

/* What went wrong. code is the node's error code ("LEDGER_INVALID_BALANCE",
 * ...) or one of the client's own: "CLIENT_TRANSPORT" (no answer after the
 * retries), "CLIENT_PROTOCOL" (an answer we could not understand),
 * "CLIENT_INVALID" (bad arguments), "CLIENT_CONFLICT" (still not a
 * successor after the rebuild bound). */
struct keeta_client_error {
	int	http_status;		/* 0 when there was no answer */
	char	code[64];
	char	message[256];
};

struct keeta_client_options {
	long	timeout_ms;		/* per request; default 10000 */
	int	max_retries;		/* transport/5xx retries; default 4 */
	long	backoff_ms;		/* first backoff, doubling; default 50 */
	int	max_rebuilds;		/* NOT_SUCCESSOR rebuilds; default 3 */
};

struct keeta_client;

/*
 * New client for one or more representative base URLs ("http://h:p/api").
 * network_id is put in every block built. opts may be NULL (defaults).
 * The caller owns the result; free with keeta_client_free() (NULL fine).
 * Never fails except on empty input (returns NULL).
 */
struct keeta_client *keeta_client_new(const char *const *urls, size_t nurls,
		    uint64_t network_id, const struct keeta_client_options *);
void		 keeta_client_free(struct keeta_client *);
/* The URL that gets publishes (highest weight at the last refresh). */
const char	*keeta_client_publish_url(struct keeta_client *);

/* ---------------------------- queries ---------------------------- */

struct keeta_balance {
	struct keeta_pubkey	token;
	struct keeta_amount	balance;
};

/* GET /node/ledger/account/:a. Caller frees with keeta_account_info_free. */
struct keeta_account_info {
	struct keeta_pubkey	 account;
	int			 has_head;
	uint8_t			 head[KEETA_HASH_LEN];
	uint64_t		 height;
	int			 has_rep;
	struct keeta_pubkey	 rep;
	char			*name, *description, *metadata;
	int			 has_supply;
	struct keeta_amount	 supply;
	int			 has_default;
	struct keeta_perm	 default_perm;
	struct keeta_balance	*balances;
	size_t			 nbalances;
};
int	keeta_client_account_info(struct keeta_client *,
	    const struct keeta_pubkey *, struct keeta_account_info **,
	    struct keeta_client_error *);
void	keeta_account_info_free(struct keeta_account_info *);

/* Head block hash and height; *has_head 0 for an empty account. */
int	keeta_client_head(struct keeta_client *, const struct keeta_pubkey *,
	    int *has_head, uint8_t hash[KEETA_HASH_LEN], uint64_t *height,
	    struct keeta_client_error *);
int	keeta_client_balance(struct keeta_client *,
	    const struct keeta_pubkey *account,
	    const struct keeta_pubkey *token, struct keeta_amount *,
	    struct keeta_client_error *);
/* All balances; *out is an array the caller frees with free(). */
int	keeta_client_balances(struct keeta_client *,
	    const struct keeta_pubkey *, struct keeta_balance **out, size_t *n,
	    struct keeta_client_error *);

struct keeta_acl {
	struct keeta_pubkey	principal, entity, target;
	struct keeta_perm	perm;
};
/* Rows where account is the entity (acl/granted), or the principal
 * (acl/<entities>; nentities 0 = all). *out: caller frees with free(). */
int	keeta_client_acl_by_entity(struct keeta_client *,
	    const struct keeta_pubkey *, struct keeta_acl **out, size_t *n,
	    struct keeta_client_error *);
int	keeta_client_acl_by_principal(struct keeta_client *,
	    const struct keeta_pubkey *, const struct keeta_pubkey *entities,
	    size_t nentities, struct keeta_acl **out, size_t *n,
	    struct keeta_client_error *);

/*
 * One history entry: a staple that touched the account. staple is the
 * raw (deflated) staple bytes; id its vote-blocks hash. The list and its
 * members are freed with keeta_history_free().
 */
struct keeta_history_entry {
	uint8_t		 id[KEETA_HASH_LEN];
	int64_t		 timestamp_ms;
	uint8_t		*staple;
	size_t		 staple_len;
};
/* One page, newest first, starting after start_id (exclusive; NULL =
 * newest). *n 0 means the end. */
int	keeta_client_history(struct keeta_client *,
	    const struct keeta_pubkey *account /* NULL = global */,
	    const uint8_t *start_id, unsigned int limit,
	    struct keeta_history_entry **out, size_t *n,
	    struct keeta_client_error *);
void	keeta_history_free(struct keeta_history_entry *, size_t);

/* Chain blocks newest first (raw DER each); one page from start (NULL =
 * HEAD). next is set to the next page's start when *has_next.
 * Free with keeta_blobs_free(). */
struct keeta_blob {
	uint8_t	*data;
	size_t	 len;
};
int	keeta_client_chain(struct keeta_client *, const struct keeta_pubkey *,
	    const uint8_t *start, unsigned int limit, struct keeta_blob **out,
	    size_t *n, int *has_next, uint8_t next[KEETA_HASH_LEN],
	    struct keeta_client_error *);
void	keeta_blobs_free(struct keeta_blob *, size_t);

struct keeta_rep_info {
	struct keeta_pubkey	rep;
	struct keeta_amount	weight;
	char			api[256];
};
/* GET /node/ledger/representatives; *out: caller frees with free(). */
int	keeta_client_representatives(struct keeta_client *,
	    struct keeta_rep_info **out, size_t *n,
	    struct keeta_client_error *);
/* Version string of the first rep that answers; caller frees. */
int	keeta_client_version(struct keeta_client *, char **out,
	    struct keeta_client_error *);
/* Look up a block by its account and idempotency key: *found, hash. */
int	keeta_client_idempotent(struct keeta_client *,
	    const struct keeta_pubkey *, const uint8_t *key, size_t keylen,
	    int *found, uint8_t hash[KEETA_HASH_LEN],
	    struct keeta_client_error *);

/* -------------------------- transactions -------------------------- */

struct keeta_tx;

/*
 * New transaction signed by signer (borrowed; must outlive the tx). The
 * caller owns the tx; free with keeta_tx_free(). idem/idemlen (<= 32
 * bytes; NULL = random) is the idempotency key base: block i carries
 * key || u8(i) when several blocks are built.
 */
struct keeta_tx	*keeta_tx_new(struct keeta_client *,
		    const struct keeta_account *signer, const uint8_t *idem,
		    size_t idemlen);
void		 keeta_tx_free(struct keeta_tx *);

/*
 * Operations, in order, on the chain of account (NULL = the signer's own
 * chain). Return 0, or -1 on invalid arguments (e.g. external memo with
 * characters outside [-_A-Za-z0-9+/= ] or longer than 256).
 */
int	keeta_tx_send(struct keeta_tx *, const struct keeta_pubkey *account,
	    const struct keeta_pubkey *to, const struct keeta_pubkey *token,
	    const struct keeta_amount *, const char *external);
int	keeta_tx_set_rep(struct keeta_tx *, const struct keeta_pubkey *account,
	    const struct keeta_pubkey *rep);
/* default_perm NULL = none (required for identifiers). */
int	keeta_tx_set_info(struct keeta_tx *, const struct keeta_pubkey *account,
	    const char *name, const char *description, const char *metadata,
	    const struct keeta_perm *default_perm);
/* method: 0 ADD, 1 SUBTRACT, 2 SET; perm NULL = delete the row (SET);
 * target NULL = entity-wide. */
int	keeta_tx_modify_permissions(struct keeta_tx *,
	    const struct keeta_pubkey *account,
	    const struct keeta_pubkey *principal, int method,
	    const struct keeta_perm *perm, const struct keeta_pubkey *target);
/* Create a TOKEN or STORAGE identifier on the signer's chain; its address
 * is known after publish: keeta_tx_identifier(tx, returned index). */
int	keeta_tx_create_identifier(struct keeta_tx *, int type);
/* method 0 ADD (mint), 1 SUBTRACT (burn), on the token's chain. */
int	keeta_tx_token_supply(struct keeta_tx *,
	    const struct keeta_pubkey *token, const struct keeta_amount *,
	    int method);

/* Build, vote, staple, publish (see the top of this file). */
int	keeta_tx_publish(struct keeta_tx *, struct keeta_client_error *);
/* After a successful publish: the n-th created identifier (0-based, in
 * keeta_tx_create_identifier order); -1 when out of range. */
int	keeta_tx_identifier(const struct keeta_tx *, size_t,
	    struct keeta_pubkey *);
/* The published staple's vote-blocks hash. */
int	keeta_tx_staple_id(const struct keeta_tx *,
	    uint8_t id[KEETA_HASH_LEN]);

#endif
