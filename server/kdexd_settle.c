/*
 * kdexd_settle.c: the chain worker and its loop-side half (see
 * kdexd_settle.h). Owned by engineer I (issue 5).
 *
 * Jobs go loop -> worker on one queue and come back on another, the same
 * struct both ways, so a job carries its own result. Only the loop thread
 * reads the ledger or runs exchange commands; only the worker talks to
 * the chain.
 */
#include "config.h"

#include <sys/types.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>
#include <sodium.h>

#include "devnet.h"
#include "exchange.h"
#include "keeta_account.h"
#include "keeta_block.h"
#include "keeta_client.h"
#include "keeta_hash.h"
#include "keeta_perm.h"
#include "keeta_staple.h"
#include "keyfile.h"
#include "kdexd.h"
#include "kdexd_conf.h"
#include "kdexd_settle.h"
#include "ledger.h"
#include "market.h"
#include "util.h"

#ifndef nitems
#define nitems(a)		(sizeof (a) / sizeof (a)[0])
#endif
#define SETTLE_TOKENS_MAX	(KDEXD_MARKETS_MAX * 2)
#define SETTLE_PAGE		50
#define SETTLE_FULL_SCAN_MS	60000	/* forget cursors this often */
#define SETTLE_KEY_PREFIX	"kdex-settle-"	/* batch idempotency keys */
#define SETTLE_WD_PREFIX	"kdex-wd-"	/* withdrawal keys */
#define SETTLE_WD_SCAN		64		/* withdrawals looked at per tick */
#define SETTLE_DEMO_MAX		4		/* demo users funded on chain */
#define SETTLE_RETRY_MS		2000		/* set-up jobs that failed */
#define SETTLE_RECON_FROZEN	"reconciliation: chain holds less than the " \
				"ledger"

enum sjob_type {
	SJ_VERIFY = 0,		/* registration: answer hp */
	SJ_RECHECK,		/* periodic ACL check */
	SJ_SCAN,		/* deposits into storage */
	SJ_FORGET,		/* drop every scan cursor */
	SJ_SETTLE,		/* publish one settlement batch */
	SJ_WITHDRAW,		/* publish one withdrawal */
	SJ_RECON,		/* read every storage account's balances */
	SJ_OPSTORE,		/* find or create an operator-owned storage */
	SJ_DEMO			/* a demo user's storage account and funds */
};

/* The operator's own storage accounts (SJ_OPSTORE kind). */
enum opstore {
	OPS_CLEARING = 0,	/* settlement passes through it; fees stay */
	OPS_RESERVE,		/* --demo: stands for off-chain demo funds */
	OPS_N
};

/* RECON: one storage account and what the chain says it holds. */
struct racct {
	int64_t			 uid;
	struct keeta_pubkey	 storage;
	int			 err;
	int			 moved;	/* balances changed while read */
	struct keeta_balance	*bal;
	size_t			 nbal;
	struct sdep		*deps;	/* every deposit in its history */
	size_t			 ndeps;
};

/* A token's settings from the config (kdexd_conf.h) in base units. */
struct stoken {
	int64_t		 token;
	char		 symbol[LEDGER_SYMBOL_MAX];
	unsigned int	 decimals;
	int		 set[CONF_TOK_N];
	u128		 v[CONF_TOK_N];
};

/* A withdrawal request let through but not committed yet. */
struct wflight {
	int64_t	user;
	int64_t	token;
	u128	amount;
};

struct sdep {
	char	token[KEETA_ADDRESS_MAX];
	u128	amount;
	char	block[2 * KEETA_HASH_LEN + 1];
	int	op;
};

/* One SEND of a settlement staple (or a withdrawal): from a storage
 * account, signed by the operator (SEND_ON_BEHALF, or OWNER of the
 * clearing account), to to. */
struct ssend {
	struct keeta_pubkey	from;
	struct keeta_pubkey	to;
	struct keeta_pubkey	token;
	u128			amount;
};


struct sjob {
	enum sjob_type		 type;
	int64_t			 uid;
	struct keeta_pubkey	 user;
	struct keeta_pubkey	 storage;
	char			 storage_addr[LEDGER_ADDR_MAX];
	struct http_pending	*hp;

	/* Result. */
	int			 ok;		/* VERIFY/RECHECK passed */
	int			 unreachable;	/* no answer from the chain */
	char			 why[LEDGER_REASON_MAX];
	uint8_t			 granted[SETTLE_TOKENS_MAX];
	struct sdep		*deps;
	size_t			 ndeps;

	/* SETTLE, WITHDRAW (batch: the withdrawal id) */
	int64_t			 batch;
	int			 resume;	/* ask the chain first */
	struct ssend		*sends;
	size_t			 nsends;
	char			 staple[2 * KEETA_HASH_LEN + 1];

	/* RECON */
	struct racct		*accts;
	size_t			 naccts;

	/* OPSTORE (kind), DEMO (signer: the demo user, borrowed) */
	int			 kind;
	int			 have;		/* storage known already */
	struct keeta_account	*signer;
	u128			 fund[SETTLE_TOKENS_MAX];

	struct sjob		*next;
};

struct squeue {
	struct sjob	*head, *tail;
};

/* A demo user kdexd funds through the chain (loop only). */
struct sdemo {
	int64_t			 uid;
	struct keeta_account	*acct;		/* its key: owns its storage */
	u128			 fund[SETTLE_TOKENS_MAX];
	int			 out, done;
	int64_t			 next;
};

/* A scan cursor: the newest staple seen in one storage account. */
struct scursor {
	struct keeta_pubkey	storage;
	uint8_t			newest[KEETA_HASH_LEN];
};

static struct {
	pthread_t		 thread;
	int			 running;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	int			 stop;		/* under lock */
	struct squeue		 todo, done;	/* under lock */

	/* Worker only. */
	struct keeta_client	*kc;
	struct scursor		*cur;
	size_t			 ncur;

	/* Set at start, read-only after. */
	struct lws_context	*ctx;
	struct keeta_pubkey	 operator_pk;
	struct keeta_pubkey	 tokens[SETTLE_TOKENS_MAX];
	char			 symbols[SETTLE_TOKENS_MAX][MARKET_SYMBOL_MAX + 1];
	size_t			 ntokens;

	struct keeta_account	*op;		/* signs settlements */
	struct keeta_account	*faucet;	/* --demo on the embedded devnet */
	char			*data_dir;

	/* Loop only: the operator's storage accounts, once known. */
	struct keeta_pubkey	 ops[OPS_N];
	char			 ops_addr[OPS_N][LEDGER_ADDR_MAX];
	int			 have_ops[OPS_N];
	int			 want_ops[OPS_N];
	int			 opstore_out;	/* an OPSTORE job is out */
	int64_t			 next_opstore;
	struct sdemo		 demo[SETTLE_DEMO_MAX];
	size_t			 ndemo;

	/* Loop only. */
	size_t			 inflight;	/* scan/recheck jobs out */
	int			 settling;	/* a SETTLE job is out */
	int			 withdrawing;	/* a WITHDRAW job is out */
	int			 reconciling;	/* a RECON job is out */
	int			 recon_wanted;
	int64_t			 recon_ms, next_recon;
	struct http_pending	*recon_hp[8];	/* POST /admin/recon/run */
	settle_recon_fn		*recon_fn[8];
	size_t			 nrecon_hp;
	int64_t			 settle_ms, next_settle;
	int64_t			*lat;		/* fill -> settled, ms: ring */
	size_t			 nlat, lathead;
	int			 notify;
	int64_t			 poll_ms, acl_ms;
	int64_t			 next_scan, next_acl, next_forget;

	/* Limits and thresholds (loop only). */
	struct stoken		*lim;
	size_t			 nlim;
	struct wflight		*wf;
	size_t			 nwf;
	uint64_t		 wf_batch;	/* stats.batches of wf */

	/* Alerts since the start (loop only). */
	uint64_t		 recon_runs;
	uint64_t		 recon_critical;
	uint64_t		 recon_corrections;
	uint64_t		 wd_refused[3];	/* max, user, global */
} st;

static void
sq_push(struct squeue *q, struct sjob *j)
{
	j->next = NULL;
	if (q->tail != NULL)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
}

static struct sjob *
sq_pop(struct squeue *q)
{
	struct sjob	*j;

	if ((j = q->head) != NULL) {
		q->head = j->next;
		if (q->head == NULL)
			q->tail = NULL;
	}
	return (j);
}

static void
sjob_free(struct sjob *j)
{
	size_t	i;

	for (i = 0; i < j->naccts; i++) {
		free(j->accts[i].bal);
		free(j->accts[i].deps);
	}
	free(j->accts);
	free(j->deps);
	free(j->sends);
	free(j);
}

/* ------------------------------ worker ------------------------------ */

static size_t
token_index(const struct keeta_pubkey *pk)
{
	size_t	i;

	for (i = 0; i < st.ntokens; i++)
		if (keeta_pubkey_equal(&st.tokens[i], pk))
			return (i);
	return (SIZE_MAX);
}

/*
 * The ACL rule of issue 5: the user is the one OWNER, the operator holds
 * SEND_ON_BEHALF scoped to listed tokens (at least one) and nothing more,
 * and nobody else may move funds or change permissions.
 */
static void
work_verify(struct sjob *j)
{
	struct keeta_client_error	 e;
	struct keeta_acl		*rows = NULL, *r;
	const uint32_t			 harmless = KEETA_PERM_BIT(
					    KEETA_PERM_ACCESS) |
					    KEETA_PERM_BIT(
					    KEETA_PERM_STORAGE_DEPOSIT) |
					    KEETA_PERM_BIT(
					    KEETA_PERM_STORAGE_CAN_HOLD);
	const uint32_t			 opbits = KEETA_PERM_BIT(
					    KEETA_PERM_ACCESS) |
					    KEETA_PERM_BIT(
					    KEETA_PERM_SEND_ON_BEHALF);
	size_t				 n = 0, i, t, owners = 0, grants = 0;
	int				 user_owner = 0;

	j->ok = 0;
	memset(j->granted, 0, sizeof j->granted);
	if (keeta_client_acl_by_entity(st.kc, &j->storage, &rows, &n,
	    &e) != 0) {
		j->unreachable = e.http_status == 0 || e.http_status >= 500;
		snprintf(j->why, sizeof j->why, "cannot read the account's "
		    "permissions from the chain: %s", e.code);
		return;
	}
	for (i = 0; i < n; i++) {
		r = &rows[i];
		if (keeta_perm_has(&r->perm, KEETA_PERM_OWNER)) {
			owners++;
			if (keeta_pubkey_equal(&r->principal, &j->user))
				user_owner = 1;
			continue;
		}
		if (keeta_pubkey_equal(&r->principal, &st.operator_pk)) {
			if ((r->perm.base & ~opbits) != 0 ||
			    r->perm.external != 0) {
				snprintf(j->why, sizeof j->why, "the operator "
				    "holds more than SEND_ON_BEHALF");
				goto out;
			}
			if (!keeta_perm_has(&r->perm,
			    KEETA_PERM_SEND_ON_BEHALF))
				continue;
			/* The chain names the entity itself for an
			 * account-wide row: that is not scoped. */
			if (r->target.len == 0 ||
			    keeta_pubkey_equal(&r->target, &r->entity)) {
				snprintf(j->why, sizeof j->why, "the "
				    "operator's SEND_ON_BEHALF is not scoped "
				    "to a token");
				goto out;
			}
			if ((t = token_index(&r->target)) == SIZE_MAX) {
				snprintf(j->why, sizeof j->why, "the "
				    "operator's SEND_ON_BEHALF names a token "
				    "no market lists");
				goto out;
			}
			if (!j->granted[t])
				grants++;
			j->granted[t] = 1;
			continue;
		}
		if ((r->perm.base & ~harmless) != 0 || r->perm.external != 0) {
			snprintf(j->why, sizeof j->why, "an account other "
			    "than the user and the operator holds rights "
			    "over the storage account");
			goto out;
		}
	}
	if (owners != 1 || !user_owner)
		snprintf(j->why, sizeof j->why, "the user is not the one "
		    "OWNER of the storage account");
	else if (grants == 0)
		snprintf(j->why, sizeof j->why, "the operator holds no "
		    "SEND_ON_BEHALF for any market token");
	else
		j->ok = 1;
out:
	free(rows);
}

static struct scursor *
cursor_find(const struct keeta_pubkey *s, int create)
{
	size_t	i;

	for (i = 0; i < st.ncur; i++)
		if (keeta_pubkey_equal(&st.cur[i].storage, s))
			return (&st.cur[i]);
	if (!create)
		return (NULL);
	st.cur = xreallocarray(st.cur, st.ncur + 1, sizeof *st.cur);
	memset(&st.cur[st.ncur], 0, sizeof *st.cur);
	st.cur[st.ncur].storage = *s;
	return (&st.cur[st.ncur++]);
}

/* The SENDs into the storage account in one staple. */
static void
scan_staple(struct sjob *j, const struct keeta_history_entry *h)
{
	struct keeta_staple	*sp;
	struct keeta_block	*b;
	struct keeta_op_send	*o;
	struct sdep		*d;
	const char		*why;
	keeta_u128		 v;
	size_t			 i, k;

	if (keeta_staple_decode(h->staple, h->staple_len, 0,
	    KEETA_VOTE_ANYTIME|KEETA_VOTE_EXPIRED_OK, &sp, &why) != 0) {
		log_info("settle: undecodable staple in %s history: %s",
		    j->storage_addr, why);
		return;
	}
	for (i = 0; i < sp->nblocks; i++) {
		b = sp->blocks[i];
		/* Our own blocks and the operator's are not deposits, nor
		 * are settlement sends (the ledger moved those at the fill):
		 * they carry our settlement idempotency key. */
		if (keeta_pubkey_equal(&b->account, &j->storage) ||
		    keeta_pubkey_equal(&b->account, &st.operator_pk))
			continue;
		if (b->has_idempotent && b->idempotent_len >=
		    sizeof SETTLE_KEY_PREFIX - 1 && memcmp(b->idempotent,
		    SETTLE_KEY_PREFIX, sizeof SETTLE_KEY_PREFIX - 1) == 0)
			continue;
		for (k = 0; k < b->nops; k++) {
			if (b->ops[k].type != KEETA_OP_SEND)
				continue;
			o = &b->ops[k].u.send;
			if (!keeta_pubkey_equal(&o->to, &j->storage))
				continue;
			if (keeta_amount_to_u128(&o->amount, &v) != 0 ||
			    v == 0)
				continue;
			j->deps = xreallocarray(j->deps, j->ndeps + 1,
			    sizeof *j->deps);
			d = &j->deps[j->ndeps++];
			keeta_address_encode(&o->token, d->token);
			d->amount = (u128)v;
			keeta_hex_encode(sp->block_hash[i], KEETA_HASH_LEN,
			    d->block);
			d->op = (int)k;
		}
	}
	keeta_staple_free(sp);
}

/*
 * Newest first, page by page (exclusive start), down to the newest staple
 * an earlier scan saw. The cursor moves only when the whole walk worked.
 */
static void
work_scan(struct sjob *j)
{
	struct keeta_client_error	 e;
	struct keeta_history_entry	*h = NULL;
	struct scursor			*c;
	uint8_t				 start[KEETA_HASH_LEN];
	uint8_t				 newest[KEETA_HASH_LEN];
	size_t				 n, i;
	int				 have_start = 0, have_newest = 0;
	int				 reached = 0;

	c = cursor_find(&j->storage, 0);
	for (;;) {
		if (keeta_client_history(st.kc, &j->storage, have_start ?
		    start : NULL, SETTLE_PAGE, &h, &n, &e) != 0) {
			j->unreachable = 1;
			snprintf(j->why, sizeof j->why, "%s", e.code);
			return;
		}
		if (n > 0 && !have_newest) {
			memcpy(newest, h[0].id, sizeof newest);
			have_newest = 1;
		}
		for (i = 0; i < n && !reached; i++) {
			if (c != NULL && memcmp(h[i].id, c->newest,
			    KEETA_HASH_LEN) == 0)
				reached = 1;
			else
				scan_staple(j, &h[i]);
		}
		if (n > 0)
			memcpy(start, h[n - 1].id, sizeof start);
		keeta_history_free(h, n);
		if (reached || n < SETTLE_PAGE)
			break;
		have_start = 1;
	}
	if (have_newest) {
		c = cursor_find(&j->storage, 1);
		memcpy(c->newest, newest, sizeof newest);
	}
	j->ok = 1;
}

/* The idempotency key of a batch: unique per operator key. */
static size_t
batch_key(int64_t id, uint8_t key[32])
{
	int	n;

	n = snprintf((char *)key, 32, SETTLE_KEY_PREFIX "%lld", (long long)id);
	return ((size_t)n);
}

/*
 * One atomic staple: net payers' storage accounts send to the clearing
 * account, which sends to net receivers' (all signed by the operator).
 * The batch id is the idempotency
 * key, so a publish retried after a crash applies at most once; a batch
 * resumed after a restart first asks the chain whether it applied.
 */
static void
work_settle(struct sjob *j)
{
	struct keeta_client_error	 e;
	struct keeta_tx			*tx;
	struct keeta_amount		 a;
	uint8_t				 key[33], id[KEETA_HASH_LEN];
	uint8_t				 hash[KEETA_HASH_LEN];
	size_t				 klen, i;
	int				 found = 0;

	klen = batch_key(j->batch, key);
	if (j->resume) {
		const struct keeta_pubkey *acct = &j->sends[0].from;

		/* key || u8(block index), or the bare key of a one-block
		 * staple: any block of ours means applied. */
		for (i = 0; i <= j->nsends + 1 && !found; i++) {
			key[klen] = (uint8_t)i;
			if (keeta_client_idempotent(st.kc, acct, key, i ==
			    j->nsends + 1 ? klen : klen + 1, &found, hash,
			    &e) != 0) {
				j->unreachable = 1;
				snprintf(j->why, sizeof j->why, "%s", e.code);
				return;
			}
		}
		/* Logged: the crash test counts both outcomes. */
		log_info("settle: batch %lld resumed: %s", (long long)j->batch,
		    found ? "on chain already" : "not on chain, publishing");
		if (found) {
			keeta_hex_encode(hash, KEETA_HASH_LEN, j->staple);
			j->ok = 1;
			return;
		}
	}
	tx = keeta_tx_new(st.kc, st.op, key, klen);
	for (i = 0; i < j->nsends; i++) {
		keeta_amount_from_u128(&a, (keeta_u128)j->sends[i].amount);
		if (keeta_tx_send(tx, &j->sends[i].from, &j->sends[i].to,
		    &j->sends[i].token, &a, NULL) != 0) {
			keeta_tx_free(tx);
			snprintf(j->why, sizeof j->why, "cannot build send %zu",
			    i);
			return;
		}
	}
	if (keeta_tx_publish(tx, &e) != 0) {
		keeta_tx_free(tx);
		/* Our key held by a staple of an earlier attempt (applied,
		 * or abandoned after its votes) is no failure: the chain
		 * is asked again at the next try. */
		j->unreachable = e.http_status == 0 ||
		    strcmp(e.code, "CLIENT_TRANSPORT") == 0 ||
		    strcmp(e.code, "LEDGER_IDEMPOTENT_KEY_EXISTS") == 0 ||
		    e.http_status >= 500;
		snprintf(j->why, sizeof j->why, "%.40s: %.80s", e.code,
		    e.message);
		log_debug("settle: batch %lld: %s: %s", (long long)j->batch,
		    e.code, e.message);
		return;
	}
	if (keeta_tx_staple_id(tx, id) == 0)
		keeta_hex_encode(id, KEETA_HASH_LEN, j->staple);
	keeta_tx_free(tx);
	j->ok = 1;
}

/* Names the chain shows on the operator's storage accounts. */
static const char *const ops_name[OPS_N] = { "KDEXCLEARING", "KDEXRESERVE" };
static const char *const ops_desc[OPS_N] = {
	"kdex settlement clearing account",
	"kdex demo reserve for off-chain demo funds"
};
static const char *const ops_file[OPS_N] = { "clearing", "reserve" };
#define DEMO_STORAGE_NAME	"KDEX"

static int
chain_unreachable(const struct keeta_client_error *e)
{
	return (e->http_status == 0 || e->http_status >= 500 ||
	    strcmp(e->code, "CLIENT_TRANSPORT") == 0);
}

static void
chain_why(struct sjob *j, const char *what, const struct keeta_client_error *e)
{
	j->unreachable = chain_unreachable(e);
	snprintf(j->why, sizeof j->why, "%s: %.40s: %.80s", what, e->code,
	    e->message);
}

/* STORAGE_DEPOSIT + STORAGE_CAN_HOLD: anyone may send any token in. */
static void
storage_default(struct keeta_perm *p)
{
	const char	*why;

	keeta_perm_init(p);
	if (keeta_perm_add_flag(p, KEETA_PERM_STORAGE_DEPOSIT, &why) != 0 ||
	    keeta_perm_add_flag(p, KEETA_PERM_STORAGE_CAN_HOLD, &why) != 0)
		fatalx("storage permissions: %s", why);
}

/*
 * A storage account owner is the OWNER of, named name on chain; else one
 * not named yet (a crash came between creating and naming it): *named 0.
 * *found 0 when there is neither. -1 when the chain cannot be read.
 */
static int
owned_storage(struct sjob *j, const struct keeta_pubkey *owner,
    const char *name, struct keeta_pubkey *out, int *found, int *named)
{
	struct keeta_client_error	 e;
	struct keeta_acl		*rows = NULL;
	struct keeta_account_info	*ai;
	size_t				 n = 0, i;

	*found = *named = 0;
	if (keeta_client_acl_by_principal(st.kc, owner, NULL, 0, &rows, &n,
	    &e) != 0) {
		chain_why(j, "cannot read the owner's permissions", &e);
		return (-1);
	}
	for (i = 0; i < n && !*named; i++) {
		if (rows[i].entity.type != KEETA_KEY_STORAGE ||
		    !keeta_perm_has(&rows[i].perm, KEETA_PERM_OWNER))
			continue;
		if (keeta_client_account_info(st.kc, &rows[i].entity, &ai,
		    &e) != 0) {
			free(rows);
			chain_why(j, "cannot read a storage account", &e);
			return (-1);
		}
		if (ai->name != NULL && strcmp(ai->name, name) == 0) {
			*out = rows[i].entity;
			*found = *named = 1;
		} else if (!*found && !ai->has_default) {
			*out = rows[i].entity;
			*found = 1;
		}
		keeta_account_info_free(ai);
	}
	free(rows);
	return (0);
}

/*
 * Create a storage account owned by signer. Its address derives from the
 * signer's head (keeta_identifier_derive), so it is known before
 * publishing and storage_name() can add its naming block to the same
 * staple (tx). Should the head move under us, the names go to the wrong
 * account and the publish fails; the account then exists unnamed, and the
 * next attempt finds it (owned_storage) and names it.
 */
static int
storage_create(struct sjob *j, const struct keeta_account *signer,
    struct keeta_tx *tx, struct keeta_pubkey *out)
{
	struct keeta_client_error	 e;
	uint8_t				 prev[KEETA_HASH_LEN];
	int				 has;

	if (keeta_client_head(st.kc, keeta_account_pubkey(signer), &has,
	    prev, NULL, &e) != 0) {
		chain_why(j, "cannot read the owner's chain", &e);
		return (-1);
	}
	if (!has)
		keeta_opening_hash(keeta_account_pubkey(signer), prev);
	keeta_identifier_derive(keeta_account_pubkey(signer), prev, 0,
	    KEETA_KEY_STORAGE, out);
	if (keeta_tx_create_identifier(tx, KEETA_KEY_STORAGE) < 0) {
		snprintf(j->why, sizeof j->why, "cannot build the creation");
		return (-1);
	}
	return (0);
}

/*
 * Name the storage account s and set its default permissions; a demo
 * user's account also grants the operator SEND_ON_BEHALF per market token
 * (the rights a kdex client's "wallet setup" grants), in the same block.
 * create: s does not exist yet; it is created (and *s set) in the same
 * staple.
 */
static int
storage_name(struct sjob *j, const struct keeta_account *signer,
    const struct keeta_pubkey *s, const char *name, const char *desc,
    int grants, int create)
{
	struct keeta_client_error	 e;
	struct keeta_tx			*tx;
	struct keeta_perm		 def, sob;
	struct keeta_pubkey		 made;
	const char			*why;
	size_t				 i;
	int				 rc;

	storage_default(&def);
	keeta_perm_init(&sob);
	if (keeta_perm_add_flag(&sob, KEETA_PERM_SEND_ON_BEHALF, &why) != 0)
		fatalx("operator permission: %s", why);
	tx = keeta_tx_new(st.kc, signer, NULL, 0);
	if (create && storage_create(j, signer, tx, &j->storage) != 0) {
		keeta_tx_free(tx);
		return (-1);
	}
	rc = keeta_tx_set_info(tx, s, name, desc, "", &def);
	for (i = 0; grants && rc == 0 && i < st.ntokens; i++)
		rc = keeta_tx_modify_permissions(tx, s, &st.operator_pk, 0,
		    &sob, &st.tokens[i]);
	if (rc != 0) {
		keeta_tx_free(tx);
		snprintf(j->why, sizeof j->why, "cannot build the permission "
		    "block");
		return (-1);
	}
	if (keeta_tx_publish(tx, &e) != 0) {
		keeta_tx_free(tx);
		chain_why(j, create ? "cannot create the storage account" :
		    "cannot set the storage account's permissions", &e);
		return (-1);
	}
	if (create && (keeta_tx_identifier(tx, 0, &made) != 0 ||
	    !keeta_pubkey_equal(&made, s))) {
		keeta_tx_free(tx);
		snprintf(j->why, sizeof j->why, "the storage account was "
		    "created at another address; naming it next time");
		return (-1);
	}
	keeta_tx_free(tx);
	return (0);
}

/*
 * The faucet sends j->fund into j->storage once: the key names the
 * account, and the faucet's chain is asked for it first, so a restart
 * (or a publish repeated after a lost answer) never funds twice.
 */
static int
faucet_fund(struct sjob *j)
{
	struct keeta_client_error	 e;
	struct keeta_tx			*tx;
	struct keeta_amount		 a;
	uint8_t				 key[33], h[KEETA_HASH_LEN];
	char				 hex[2 * KEETA_HASH_LEN + 1];
	size_t				 klen, i, n = 0;
	int				 found = 0;

	if (st.faucet == NULL) {
		snprintf(j->why, sizeof j->why, "no faucet: kdexd runs on "
		    "external representatives");
		return (-1);
	}
	keeta_sha3_256(j->storage.key, j->storage.len, h);
	keeta_hex_encode(h, 10, hex);
	klen = (size_t)snprintf((char *)key, 32, "kdex-demo-%s", hex);
	for (i = 0; i < 2 && !found; i++) {
		key[klen] = 0;
		if (keeta_client_idempotent(st.kc, keeta_account_pubkey(
		    st.faucet), key, klen + i, &found, h, &e) != 0) {
			chain_why(j, "cannot ask the faucet's chain", &e);
			return (-1);
		}
	}
	if (found)
		return (0);
	tx = keeta_tx_new(st.kc, st.faucet, key, klen);
	for (i = 0; i < st.ntokens; i++) {
		if (j->fund[i] == 0)
			continue;
		keeta_amount_from_u128(&a, (keeta_u128)j->fund[i]);
		if (keeta_tx_send(tx, NULL, &j->storage, &st.tokens[i], &a,
		    "kdex-demo") != 0) {
			keeta_tx_free(tx);
			snprintf(j->why, sizeof j->why, "cannot build the "
			    "faucet send");
			return (-1);
		}
		n++;
	}
	if (n > 0 && keeta_tx_publish(tx, &e) != 0) {
		keeta_tx_free(tx);
		chain_why(j, "the faucet could not send", &e);
		return (-1);
	}
	keeta_tx_free(tx);
	return (0);
}

/*
 * One of the operator's storage accounts (the clearing account, or the
 * demo reserve): checked when recorded, else found on chain (adopted
 * and named if a failed attempt left it unnamed), else created and named
 * in one staple, with the default
 * STORAGE_DEPOSIT + STORAGE_CAN_HOLD. The operator is its one OWNER and
 * holds no row on users' accounts but SEND_ON_BEHALF, so the clearing
 * account, having no row there, deposits into them under their defaults.
 */
static void
work_opstore(struct sjob *j)
{
	struct keeta_client_error	 e;
	struct keeta_account_info	*ai;
	int				 found = j->have, named = 0;

	if (j->have) {
		if (keeta_client_account_info(st.kc, &j->storage, &ai,
		    &e) != 0) {
			chain_why(j, "cannot read the account", &e);
			return;
		}
		named = ai->has_default && keeta_perm_has(&ai->default_perm,
		    KEETA_PERM_STORAGE_DEPOSIT) && keeta_perm_has(
		    &ai->default_perm, KEETA_PERM_STORAGE_CAN_HOLD);
		keeta_account_info_free(ai);
	} else if (owned_storage(j, &st.operator_pk, ops_name[j->kind],
	    &j->storage, &found, &named) != 0)
		return;
	if (!named && storage_name(j, st.op, &j->storage, ops_name[j->kind],
	    ops_desc[j->kind], 0, !found) != 0)
		return;
	keeta_address_encode(&j->storage, j->storage_addr);
	if (j->kind == OPS_RESERVE && faucet_fund(j) != 0)
		return;
	j->ok = 1;
}

/*
 * A demo user, funded the way a real user is: a storage account it owns
 * (created with its key when the ledger has none, or found again after a
 * crash), the operator's SEND_ON_BEHALF per market token, the same check
 * as POST /account/storage, then the faucet's deposit. j->ok: registered;
 * j->batch 1: funded as well.
 */
static void
work_demo(struct sjob *j)
{
	int	found = j->have, named = j->have;

	j->user = *keeta_account_pubkey(j->signer);
	if (!j->have) {
		if (owned_storage(j, &j->user, DEMO_STORAGE_NAME, &j->storage,
		    &found, &named) != 0)
			return;
		if (!named && storage_name(j, j->signer, &j->storage,
		    DEMO_STORAGE_NAME, "kdex exchange deposits", 1,
		    !found) != 0)
			return;
		keeta_address_encode(&j->storage, j->storage_addr);
	}
	work_verify(j);
	if (!j->ok)
		return;
	if (faucet_fund(j) == 0)
		j->batch = 1;
}

/*
 * One withdrawal: a SEND from the user's storage account signed by the
 * operator, keyed by the withdrawal id. Resumed (it was processing when
 * kdexd stopped) means: ask the chain first.
 */
static void
work_withdraw(struct sjob *j)
{
	struct keeta_client_error	 e;
	struct keeta_tx			*tx;
	struct keeta_amount		 a;
	uint8_t				 key[33], hash[KEETA_HASH_LEN];
	size_t				 klen, i;
	int				 n, found = 0;

	n = snprintf((char *)key, 32, SETTLE_WD_PREFIX "%lld",
	    (long long)j->batch);
	klen = (size_t)n;
	if (j->resume) {
		/* The key alone or key || u8(0), as keeta_tx builds it. */
		for (i = 0; i < 2 && !found; i++) {
			key[klen] = 0;
			if (keeta_client_idempotent(st.kc, &j->sends[0].from,
			    key, klen + i, &found, hash, &e) != 0) {
				j->unreachable = 1;
				snprintf(j->why, sizeof j->why, "%s", e.code);
				return;
			}
		}
		log_info("settle: withdrawal %lld resumed: %s",
		    (long long)j->batch, found ? "on chain already" :
		    "not on chain, publishing");
		if (found) {
			keeta_hex_encode(hash, KEETA_HASH_LEN, j->staple);
			j->ok = 1;
			return;
		}
	}
	tx = keeta_tx_new(st.kc, st.op, key, klen);
	keeta_amount_from_u128(&a, (keeta_u128)j->sends[0].amount);
	if (keeta_tx_send(tx, &j->sends[0].from, &j->sends[0].to,
	    &j->sends[0].token, &a, NULL) != 0) {
		keeta_tx_free(tx);
		snprintf(j->why, sizeof j->why, "cannot build the send");
		return;
	}
	if (keeta_tx_publish(tx, &e) != 0) {
		keeta_tx_free(tx);
		/* Our key held by a staple of an earlier attempt (applied,
		 * or abandoned after its votes) is no failure: the chain
		 * is asked again at the next try. */
		j->unreachable = e.http_status == 0 ||
		    strcmp(e.code, "CLIENT_TRANSPORT") == 0 ||
		    strcmp(e.code, "LEDGER_IDEMPOTENT_KEY_EXISTS") == 0 ||
		    e.http_status >= 500;
		snprintf(j->why, sizeof j->why, "%.40s: %.80s", e.code,
		    e.message);
		return;
	}
	if (keeta_tx_staple_id(tx, hash) == 0)
		keeta_hex_encode(hash, KEETA_HASH_LEN, j->staple);
	keeta_tx_free(tx);
	j->ok = 1;
}

/* Same balances, token by token (both read from the chain). */
static int
bal_same(const struct keeta_balance *a, size_t na,
    const struct keeta_balance *b, size_t nb)
{
	keeta_u128	va, vb;
	size_t		i, k;

	if (na != nb)
		return (0);
	for (i = 0; i < na; i++) {
		for (k = 0; k < nb; k++)
			if (keeta_pubkey_equal(&a[i].token, &b[k].token))
				break;
		if (k == nb ||
		    keeta_amount_to_u128(&a[i].balance, &va) != 0 ||
		    keeta_amount_to_u128(&b[k].balance, &vb) != 0 ||
		    va != vb)
			return (0);
	}
	return (1);
}

/*
 * One account for a reconciliation: its balances, then every deposit in
 * its whole history (so that the loop can tell a deposit the watcher has
 * not credited yet from drift), then the balances again. An account whose
 * balances moved meanwhile is left out of this run.
 */
static void
recon_account(struct racct *a)
{
	struct keeta_client_error	 e;
	struct keeta_history_entry	*h = NULL;
	struct keeta_balance		*again = NULL;
	struct sjob			 tmp;
	uint8_t				 start[KEETA_HASH_LEN];
	size_t				 n, i, nagain = 0;
	int				 have_start = 0;

	if (keeta_client_balances(st.kc, &a->storage, &a->bal, &a->nbal,
	    &e) != 0) {
		a->err = 1;
		return;
	}
	memset(&tmp, 0, sizeof tmp);
	tmp.storage = a->storage;
	keeta_address_encode(&a->storage, tmp.storage_addr);
	for (;;) {
		if (keeta_client_history(st.kc, &a->storage, have_start ?
		    start : NULL, SETTLE_PAGE, &h, &n, &e) != 0) {
			a->err = 1;
			break;
		}
		for (i = 0; i < n; i++)
			scan_staple(&tmp, &h[i]);
		if (n > 0)
			memcpy(start, h[n - 1].id, sizeof start);
		keeta_history_free(h, n);
		if (n < SETTLE_PAGE)
			break;
		have_start = 1;
	}
	a->deps = tmp.deps;
	a->ndeps = tmp.ndeps;
	if (a->err)
		return;
	if (keeta_client_balances(st.kc, &a->storage, &again, &nagain,
	    &e) != 0)
		a->err = 1;
	else if (!bal_same(a->bal, a->nbal, again, nagain))
		a->moved = 1;
	free(again);
}

static void
work_recon(struct sjob *j)
{
	size_t	i;

	for (i = 0; i < j->naccts; i++)
		recon_account(&j->accts[i]);
	j->ok = 1;
}

static void *
worker(void *arg)
{
	struct sjob	*j;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&st.lock);
		while (!st.stop && st.todo.head == NULL)
			pthread_cond_wait(&st.cond, &st.lock);
		if (st.stop) {
			pthread_mutex_unlock(&st.lock);
			break;
		}
		j = sq_pop(&st.todo);
		pthread_mutex_unlock(&st.lock);

		switch (j->type) {
		case SJ_VERIFY:
		case SJ_RECHECK:
			work_verify(j);
			break;
		case SJ_SCAN:
			work_scan(j);
			break;
		case SJ_FORGET:
			free(st.cur);
			st.cur = NULL;
			st.ncur = 0;
			break;
		case SJ_SETTLE:
			work_settle(j);
			break;
		case SJ_WITHDRAW:
			work_withdraw(j);
			break;
		case SJ_RECON:
			work_recon(j);
			break;
		case SJ_OPSTORE:
			work_opstore(j);
			break;
		case SJ_DEMO:
			work_demo(j);
			break;
		}

		pthread_mutex_lock(&st.lock);
		sq_push(&st.done, j);
		pthread_mutex_unlock(&st.lock);
		lws_cancel_service(st.ctx);
	}
	return (NULL);
}

/* ---------------------------- loop side ---------------------------- */

static void
enqueue(struct sjob *j)
{
	pthread_mutex_lock(&st.lock);
	sq_push(&st.todo, j);
	pthread_cond_signal(&st.cond);
	pthread_mutex_unlock(&st.lock);
}

static int64_t
env_ms(const char *name, int64_t def)
{
	const char	*v = getenv(name);
	char		*end;
	long long	 n;

	if (v == NULL || *v == '\0')
		return (def);
	n = strtoll(v, &end, 10);
	if (*end != '\0' || n < 10 || n > 86400000)
		fatalx("%s: not a number of milliseconds in 10..86400000", name);
	return ((int64_t)n);
}

/*
 * The operator's signing key, opened the way kdexd.c's load_operator()
 * made it (same file, same passphrase source).
 */
static struct keeta_account *
load_operator_account(struct kdexd *s, char **cause)
{
	struct keyfile		 kf;
	struct keeta_account	*acct = NULL;
	char			*path, *pass;
	const char		*env;

	xasprintf(&path, "%s/operator.key", s->conf.data_dir);
	if ((env = getenv("KDEXD_OPERATOR_PASSPHRASE")) != NULL &&
	    *env != '\0')
		pass = xstrdup(env);
	else {
		char	*pp;

		xasprintf(&pp, "%s/operator.pass", s->conf.data_dir);
		pass = kdexd_read_file(pp, 256, NULL);
		free(pp);
		if (pass == NULL) {
			free(path);
			xasprintf(cause, "no operator passphrase");
			return (NULL);
		}
		pass[strcspn(pass, "\r\n")] = '\0';
	}
	if (keyfile_read(path, pass, strlen(pass), &kf, cause) == 0) {
		acct = keyfile_account(&kf, cause);
		keyfile_clear(&kf);
	}
	memset(pass, 0, strlen(pass));
	free(pass);
	free(path);
	return (acct);
}

/*
 * The per-token settings of the config in base units. A token no market
 * lists, an amount the token cannot represent or a critical threshold
 * below the dust one stops kdexd: a limit must never be silently off.
 */
static int
resolve_tokens(struct kdexd *s, char **cause)
{
	const struct kdexd_settle_conf	*sc = conf_settle();
	const struct kdexd_token_conf	*tc;
	struct ledger_token		 t;
	struct stoken			*lt;
	enum money_status		 ms;
	size_t				 i, k;

	st.lim = xcalloc(sc->ntokens + 1, sizeof *st.lim);
	for (i = 0; i < sc->ntokens; i++) {
		tc = &sc->tokens[i];
		if (ledger_token_find(s->ledger, tc->token, &t) != LEDGER_OK) {
			xasprintf(cause, "token %s: no market lists it",
			    tc->token);
			return (-1);
		}
		for (k = 0; k < st.nlim; k++)
			if (st.lim[k].token == t.id)
				break;
		if (k < st.nlim) {
			xasprintf(cause, "token %s: named twice", tc->token);
			return (-1);
		}
		lt = &st.lim[st.nlim++];
		lt->token = t.id;
		snprintf(lt->symbol, sizeof lt->symbol, "%s", t.symbol);
		lt->decimals = (unsigned int)t.decimals;
		for (k = 0; k < CONF_TOK_N; k++) {
			if (tc->amount[k] == NULL)
				continue;
			ms = money_parse(&lt->v[k], tc->amount[k],
			    lt->decimals);
			if (ms != MONEY_OK) {
				xasprintf(cause, "token %s: %s=%s: %s",
				    tc->token, conf_tok_name(k),
				    tc->amount[k], money_strerror(ms));
				return (-1);
			}
			lt->set[k] = 1;
		}
		if (lt->set[CONF_RECON_CRITICAL] &&
		    lt->v[CONF_RECON_CRITICAL] < lt->v[CONF_RECON_DUST]) {
			xasprintf(cause, "token %s: recon-critical is below "
			    "recon-dust", tc->token);
			return (-1);
		}
	}
	return (0);
}

static const struct stoken *
stoken_find(int64_t token)
{
	size_t	i;

	for (i = 0; i < st.nlim; i++)
		if (st.lim[i].token == token)
			return (&st.lim[i]);
	return (NULL);
}

/* A setting of a token; 0 when unset. */
static u128
stoken_get(const struct stoken *lt, enum conf_tok k)
{
	return (lt != NULL && lt->set[k] ? lt->v[k] : 0);
}

/*
 * The operator's storage accounts recorded by an earlier start
 * (<data>/clearing, <data>/reserve: one address each), and, for --demo on
 * the embedded devnet, the faucet that funds demo users. The worker then
 * checks, finds or creates each account (SJ_OPSTORE).
 */
static void
opstore_load(struct kdexd *s)
{
	uint8_t		 seed[KEETA_SEED_LEN];
	const char	*why, *hex;
	char		*path, *txt;
	int		 k;

	st.data_dir = xstrdup(s->conf.data_dir);
	st.want_ops[OPS_CLEARING] = 1;
	if (s->conf.demo && s->devnet != NULL &&
	    (hex = devnet_faucet_seed(s->devnet)) != NULL &&
	    keeta_seed_from_hex(hex, seed, &why) == 0) {
		/* As the devnet derives it (secp256k1, index 0). */
		st.faucet = keeta_account_from_seed(seed, 0,
		    KEETA_KEY_SECP256K1, &why);
		sodium_memzero(seed, sizeof seed);
		st.want_ops[OPS_RESERVE] = st.faucet != NULL;
	} else if (s->conf.demo)
		log_info("settle: --demo on external representatives: no "
		    "faucet, demo users are not funded");
	for (k = 0; k < OPS_N; k++) {
		xasprintf(&path, "%s/%s", st.data_dir, ops_file[k]);
		txt = kdexd_read_file(path, 256, NULL);
		free(path);
		if (txt == NULL)
			continue;
		txt[strcspn(txt, "\r\n")] = '\0';
		if (keeta_address_decode(txt, &st.ops[k], &why) == 0 &&
		    st.ops[k].type == KEETA_KEY_STORAGE) {
			snprintf(st.ops_addr[k], sizeof st.ops_addr[k], "%s",
			    txt);
			st.have_ops[k] = 1;
		} else
			log_info("settle: %s/%s: not a storage account; "
			    "looking on chain", st.data_dir, ops_file[k]);
		free(txt);
	}
}

int
settle_start(struct kdexd *s, char **cause)
{
	const struct kdexd_settle_conf *sc;
	const struct market	*m;
	const struct market_token *mt;
	struct keeta_client_options o;
	struct keeta_pubkey	 pk;
	const char		*why;
	size_t			 i;
	int			 k;

	memset(&st, 0, sizeof st);
	st.ctx = s->ctx;
	if (keeta_address_decode(s->operator_addr, &st.operator_pk,
	    &why) != 0) {
		xasprintf(cause, "operator address: %s", why);
		return (-1);
	}
	for (i = 0; i < route_market_count(); i++) {
		if ((m = route_market(i)) == NULL)
			continue;
		for (k = 0; k < 2; k++) {
			mt = k ? &m->cfg.quote : &m->cfg.base;
			if (keeta_address_decode(mt->address, &pk, &why) != 0)
				continue;
			if (token_index(&pk) != SIZE_MAX ||
			    st.ntokens == SETTLE_TOKENS_MAX)
				continue;
			snprintf(st.symbols[st.ntokens],
			    sizeof st.symbols[st.ntokens], "%s", mt->symbol);
			st.tokens[st.ntokens++] = pk;
		}
	}
	memset(&o, 0, sizeof o);
	o.timeout_ms = 5000;
	o.max_retries = 2;
	o.backoff_ms = 50;
	o.max_rebuilds = 3;
	if ((st.op = load_operator_account(s, cause)) == NULL)
		return (-1);
	st.kc = keeta_client_new((const char *const *)s->apis, s->napis,
	    s->network_id, &o);
	if (st.kc == NULL) {
		xasprintf(cause, "no Keeta representative to talk to");
		return (-1);
	}
	if (resolve_tokens(s, cause) != 0) {
		keeta_client_free(st.kc);
		keeta_account_free(st.op);
		free(st.lim);
		return (-1);
	}
	/* The config file's intervals; the environment overrides (tests). */
	sc = conf_settle();
	st.poll_ms = env_ms("KDEXD_DEPOSIT_POLL_MS", sc->deposit_poll_ms != 0 ?
	    sc->deposit_poll_ms : 1000);
	st.acl_ms = env_ms("KDEXD_ACL_CHECK_MS", sc->acl_check_ms != 0 ?
	    sc->acl_check_ms : 30000);
	st.settle_ms = env_ms("KDEXD_SETTLE_MS", sc->settle_ms != 0 ?
	    sc->settle_ms : 1000);
	st.recon_ms = env_ms("KDEXD_RECON_MS", sc->recon_ms != 0 ?
	    sc->recon_ms : 60000);
	log_info("settle: deposit poll %lld ms, ACL check %lld ms, "
	    "settlement %lld ms, reconciliation %lld ms",
	    (long long)st.poll_ms, (long long)st.acl_ms,
	    (long long)st.settle_ms, (long long)st.recon_ms);
	st.next_recon = kdexd_now_ms() + st.recon_ms;
	st.next_forget = kdexd_now_ms() + SETTLE_FULL_SCAN_MS;
	opstore_load(s);
	pthread_mutex_init(&st.lock, NULL);
	pthread_cond_init(&st.cond, NULL);
	if (pthread_create(&st.thread, NULL, worker, NULL) != 0) {
		keeta_client_free(st.kc);
		xasprintf(cause, "cannot start the chain worker");
		return (-1);
	}
	st.running = 1;
	return (0);
}

static void
answer_unavailable(struct sjob *j)
{
	struct kdexd_resp	resp;

	if (j->hp == NULL)
		return;
	memset(&resp, 0, sizeof resp);
	kdexd_resp_error(&resp, 503, "unavailable", "kdexd is stopping");
	http_finish(j->hp, &resp);
	j->hp = NULL;
}

void
settle_stop(struct kdexd *s)
{
	struct sjob	*j;
	size_t		 i;

	(void)s;
	if (!st.running)
		return;
	pthread_mutex_lock(&st.lock);
	st.stop = 1;
	pthread_cond_signal(&st.cond);
	pthread_mutex_unlock(&st.lock);
	pthread_join(st.thread, NULL);
	st.running = 0;
	while ((j = sq_pop(&st.todo)) != NULL) {
		answer_unavailable(j);
		sjob_free(j);
	}
	while ((j = sq_pop(&st.done)) != NULL) {
		answer_unavailable(j);
		sjob_free(j);
	}
	for (i = 0; i < st.nrecon_hp; i++) {
		struct kdexd_resp	resp;

		memset(&resp, 0, sizeof resp);
		kdexd_resp_error(&resp, 503, "unavailable",
		    "kdexd is stopping");
		http_finish(st.recon_hp[i], &resp);
	}
	st.nrecon_hp = 0;
	keeta_client_free(st.kc);
	keeta_account_free(st.op);
	keeta_account_free(st.faucet);
	for (i = 0; i < st.ndemo; i++)
		keeta_account_free(st.demo[i].acct);
	free(st.data_dir);
	free(st.cur);
	free(st.lat);
	free(st.lim);
	free(st.wf);
	pthread_mutex_destroy(&st.lock);
	pthread_cond_destroy(&st.cond);
}

void
settle_register(struct kdexd_req *req, struct kdexd_resp *resp, int64_t uid,
    const char *storage)
{
	struct ledger_user	 u;
	struct sjob		*j;
	const char		*why;

	if (!st.running) {
		kdexd_resp_error(resp, 503, "unavailable",
		    "the chain worker is not running");
		return;
	}
	if (ledger_user_get(kdexd_server->ledger, uid, &u) != LEDGER_OK) {
		kdexd_resp_error(resp, 500, "internal", "cannot read user");
		return;
	}
	j = xcalloc(1, sizeof *j);
	j->type = SJ_VERIFY;
	j->uid = uid;
	if (keeta_address_decode(u.address, &j->user, &why) != 0 ||
	    keeta_address_decode(storage, &j->storage, &why) != 0) {
		free(j);
		kdexd_resp_error(resp, 400, "bad_request", "%s", why);
		return;
	}
	snprintf(j->storage_addr, sizeof j->storage_addr, "%s", storage);
	if ((j->hp = http_defer(req)) == NULL) {
		free(j);
		kdexd_resp_error(resp, 500, "internal", "cannot defer");
		return;
	}
	enqueue(j);
}

void
settle_notify(int64_t uid)
{
	(void)uid;	/* one round covers every account */
	st.notify = 1;
}

struct ucollect {
	struct ledger_user	*u;
	size_t			 n;
};

static void
collect_cb(const struct ledger_user *u, void *arg)
{
	struct ucollect	*c = arg;

	if (u->storage[0] == '\0')
		return;
	c->u = xreallocarray(c->u, c->n + 1, sizeof *c->u);
	c->u[c->n++] = *u;
}

/* One job per registered storage account. */
static void
schedule(enum sjob_type type)
{
	struct ucollect	 c;
	struct sjob	*j;
	const char	*why;
	size_t		 i;

	memset(&c, 0, sizeof c);
	if (ledger_user_list(kdexd_server->ledger, collect_cb, &c) !=
	    LEDGER_OK) {
		free(c.u);
		return;
	}
	for (i = 0; i < c.n; i++) {
		if (type == SJ_RECHECK &&
		    c.u[i].status != LEDGER_USER_ACTIVE)
			continue;
		j = xcalloc(1, sizeof *j);
		j->type = type;
		j->uid = c.u[i].id;
		snprintf(j->storage_addr, sizeof j->storage_addr, "%s",
		    c.u[i].storage);
		if (keeta_address_decode(c.u[i].address, &j->user,
		    &why) != 0 || keeta_address_decode(c.u[i].storage,
		    &j->storage, &why) != 0) {
			free(j);
			continue;
		}
		st.inflight++;
		enqueue(j);
	}
	free(c.u);
}

/* ------------------- the operator's storage accounts ------------------- */

/*
 * Demo amounts per market token, as the off-chain demo credit had them:
 * 1,000 base and 100,000 quote tokens, times mult.
 */
static void
demo_amounts(u128 fund[SETTLE_TOKENS_MAX], unsigned int mult)
{
	const struct market		*m;
	const struct market_token	*mt;
	struct keeta_pubkey		 pk;
	const char			*why;
	size_t				 i, t;
	int				 k;

	memset(fund, 0, SETTLE_TOKENS_MAX * sizeof *fund);
	for (i = 0; i < route_market_count(); i++) {
		if ((m = route_market(i)) == NULL)
			continue;
		for (k = 0; k < 2; k++) {
			mt = k ? &m->cfg.quote : &m->cfg.base;
			if (keeta_address_decode(mt->address, &pk, &why) != 0 ||
			    (t = token_index(&pk)) == SIZE_MAX || fund[t] != 0)
				continue;
			fund[t] = money_pow10(mt->decimals) *
			    (k ? 100000u : 1000u) * mult;
		}
	}
}

static void
opstore_next(void)
{
	struct sjob	*j;
	int		 k;

	for (k = 0; k < OPS_N; k++) {
		if (!st.want_ops[k])
			continue;
		j = xcalloc(1, sizeof *j);
		j->type = SJ_OPSTORE;
		j->kind = k;
		j->have = st.have_ops[k];
		j->storage = st.ops[k];
		/* The reserve stands for up to 1,000 logged-in demo users. */
		if (k == OPS_RESERVE)
			demo_amounts(j->fund, 1000);
		st.opstore_out = 1;
		enqueue(j);
		return;
	}
}

static void
finish_opstore(struct sjob *j)
{
	char	*path, *txt;
	int	 r;

	if (!j->ok) {
		log_info("settle: %s account: %s", ops_file[j->kind], j->why);
		st.next_opstore = kdexd_now_ms() + SETTLE_RETRY_MS;
		return;
	}
	/* Recorded before use, so a restart finds the same account. */
	if (!st.have_ops[j->kind] ||
	    strcmp(st.ops_addr[j->kind], j->storage_addr) != 0) {
		xasprintf(&path, "%s/%s", st.data_dir, ops_file[j->kind]);
		xasprintf(&txt, "%s\n", j->storage_addr);
		r = kdexd_write_file(path, txt, strlen(txt));
		free(txt);
		free(path);
		if (r != 0) {
			log_info("settle: cannot record the %s account %s",
			    ops_file[j->kind], j->storage_addr);
			st.next_opstore = kdexd_now_ms() + SETTLE_RETRY_MS;
			return;
		}
	}
	st.ops[j->kind] = j->storage;
	snprintf(st.ops_addr[j->kind], sizeof st.ops_addr[j->kind], "%s",
	    j->storage_addr);
	st.have_ops[j->kind] = 1;
	st.want_ops[j->kind] = 0;
	log_info("settle: %s account %s (owner %s)", ops_file[j->kind],
	    j->storage_addr, kdexd_server->operator_addr);
}

const char *
settle_clearing_address(void)
{
	return (st.have_ops[OPS_CLEARING] ? st.ops_addr[OPS_CLEARING] : "");
}

const char *
settle_reserve_address(void)
{
	return (st.have_ops[OPS_RESERVE] ? st.ops_addr[OPS_RESERVE] : "");
}

void
settle_demo_user(int64_t uid, struct keeta_account *acct, unsigned int mult)
{
	struct sdemo	*d;

	if (!st.running || st.faucet == NULL ||
	    st.ndemo == SETTLE_DEMO_MAX) {
		keeta_account_free(acct);
		return;
	}
	d = &st.demo[st.ndemo++];
	memset(d, 0, sizeof *d);
	d->uid = uid;
	d->acct = acct;
	demo_amounts(d->fund, mult);
}

static void
demo_next(int64_t now)
{
	struct ledger_user	 u;
	struct sdemo		*d;
	struct sjob		*j;
	const char		*why;
	size_t			 i;

	for (i = 0; i < st.ndemo; i++) {
		d = &st.demo[i];
		if (d->done || d->out || now < d->next ||
		    ledger_user_get(kdexd_server->ledger, d->uid, &u) !=
		    LEDGER_OK)
			continue;
		j = xcalloc(1, sizeof *j);
		j->type = SJ_DEMO;
		j->uid = d->uid;
		j->signer = d->acct;
		memcpy(j->fund, d->fund, sizeof j->fund);
		if (u.storage[0] != '\0' && keeta_address_decode(u.storage,
		    &j->storage, &why) == 0) {
			j->have = 1;
			snprintf(j->storage_addr, sizeof j->storage_addr,
			    "%s", u.storage);
		}
		d->out = 1;
		enqueue(j);
	}
}

/* Registered as POST /account/storage registers; then funded. */
static void
finish_demo(struct sjob *j)
{
	struct ledger_user	 u;
	struct sdemo		*d = NULL;
	size_t			 i;

	for (i = 0; i < st.ndemo; i++)
		if (st.demo[i].uid == j->uid)
			d = &st.demo[i];
	if (d == NULL)
		return;
	d->out = 0;
	if (j->ok && ledger_user_get(kdexd_server->ledger, j->uid, &u) ==
	    LEDGER_OK && strcmp(u.storage, j->storage_addr) != 0) {
		if (ledger_user_set_storage(kdexd_server->ledger, j->uid,
		    j->storage_addr) != LEDGER_OK) {
			log_info("settle: cannot record demo storage %s",
			    j->storage_addr);
			j->ok = 0;
		} else
			log_info("settle: demo user %s registered storage %s",
			    u.address, j->storage_addr);
	}
	if (j->ok && j->batch == 1) {
		d->done = 1;
		st.notify = 1;
		log_info("settle: demo storage %s funded by the faucet",
		    j->storage_addr);
		return;
	}
	log_info("settle: demo user %lld: %s", (long long)j->uid, j->why);
	d->next = kdexd_now_ms() + SETTLE_RETRY_MS;
}

#define SETTLE_UNBALANCED	"the batch does not net to zero among on-chain " \
				"accounts"
#define SETTLE_REVOKED		"a party is withdraw-only"

struct bpick {
	int64_t	id;
	int	attempts;
};

static void
bpick_cb(const struct ledger_batch *b, void *arg)
{
	struct bpick	*p = arg;

	/*
	 * A batch that mixes off-chain (demo) funds cannot settle on chain
	 * however often it is tried: leave it failed for the operator
	 * (POST /admin/settlement/:id/retry) instead of holding up the rest.
	 */
	if (b->status == LEDGER_BATCH_FAILED &&
	    (strncmp(b->reason, SETTLE_UNBALANCED,
	    sizeof SETTLE_UNBALANCED - 1) == 0 ||
	    strncmp(b->reason, SETTLE_REVOKED,
	    sizeof SETTLE_REVOKED - 1) == 0))
		return;
	if (p->id == 0 || b->id < p->id) {
		p->id = b->id;
		p->attempts = b->attempts;
	}
}

/* One side of the netting: an account that pays or gets one token. */
struct sleg {
	int			is_clearing;	/* the fee account's leg */
	struct keeta_pubkey	acct;
	struct keeta_pubkey	token;
	int			neg;
	u128			left;
};

struct bbuild {
	struct sjob	*j;
	struct sleg	*legs;
	size_t		 nlegs;
	size_t		 onchain;	/* legs of users, not fees */
	int		 bad;
	char		 why[LEDGER_REASON_MAX];
};

/*
 * One netted (user, token) change becomes one leg: a user's storage
 * account, or the clearing account for the fee account (fees stay there).
 * A user without one (logged-in --demo users, credited off chain) is
 * carried by the demo reserve when there is one, else left off the chain.
 */
static void
bbuild_cb(const struct ledger_batch_delta *d, void *arg)
{
	struct bbuild		*b = arg;
	struct ledger_user	 u;
	struct ledger_token	 t;
	struct keeta_pubkey	 spk, tpk;
	struct sleg		*x;
	const char		*why;
	int			 fee = d->user_id == LEDGER_FEE_USER;

	if (b->bad || d->delta.abs == 0)
		return;
	if (ledger_user_get(kdexd_server->ledger, d->user_id, &u) !=
	    LEDGER_OK || ledger_token_get(kdexd_server->ledger, d->token_id,
	    &t) != LEDGER_OK) {
		b->bad = 1;
		snprintf(b->why, sizeof b->why, "unknown user or token");
		return;
	}
	/*
	 * The user revoked the operator after the batch was netted: it can
	 * never apply. Set it aside for the operator (its fills stay
	 * unsettled, so reconciliation still accounts for them) and let the
	 * batches after it go on.
	 */
	if (u.status == LEDGER_USER_WITHDRAW_ONLY) {
		b->bad = 1;
		snprintf(b->why, sizeof b->why, "%s: user %lld",
		    SETTLE_REVOKED, (long long)u.id);
		return;
	}
	if (fee)
		spk = st.ops[OPS_CLEARING];
	else if (u.storage[0] != '\0') {
		if (keeta_address_decode(u.storage, &spk, &why) != 0) {
			b->bad = 1;
			snprintf(b->why, sizeof b->why, "bad address: %s", why);
			return;
		}
	} else if (st.have_ops[OPS_RESERVE])
		spk = st.ops[OPS_RESERVE];
	else
		return;
	if (keeta_address_decode(t.address, &tpk, &why) != 0) {
		b->bad = 1;
		snprintf(b->why, sizeof b->why, "bad address: %s", why);
		return;
	}
	b->legs = xreallocarray(b->legs, b->nlegs + 1, sizeof *b->legs);
	x = &b->legs[b->nlegs++];
	memset(x, 0, sizeof *x);
	x->is_clearing = fee;
	if (!fee)
		b->onchain++;
	x->acct = spk;
	x->token = tpk;
	x->neg = d->delta.neg;
	x->left = d->delta.abs;
}

static void
bbuild_send(struct bbuild *b, const struct keeta_pubkey *from,
    const struct keeta_pubkey *to, const struct sleg *l)
{
	struct ssend	*x;

	b->j->sends = xreallocarray(b->j->sends, b->j->nsends + 1,
	    sizeof *b->j->sends);
	x = &b->j->sends[b->j->nsends++];
	memset(x, 0, sizeof *x);
	x->from = *from;
	x->to = *to;
	x->token = l->token;
	x->amount = l->left;
}

/*
 * Route every leg through the clearing account C: each net payer's
 * storage account sends to C, then C sends to each net receiver. The fee
 * account's leg is C itself, so what a batch leaves in C is its fees less
 * its rebates. Payers come first: the chain runs balances op by op across
 * the staple, so C pays out only what it holds by then. -1 when a token
 * does not net to zero (off-chain users with no reserve behind them).
 */
static int
bbuild_route(struct bbuild *b)
{
	const struct keeta_pubkey	*c = &st.ops[OPS_CLEARING];
	u128				 in[SETTLE_TOKENS_MAX];
	u128				 out[SETTLE_TOKENS_MAX];
	size_t				 i, t;

	memset(in, 0, sizeof in);
	memset(out, 0, sizeof out);
	for (i = 0; i < b->nlegs; i++) {
		if ((t = token_index(&b->legs[i].token)) == SIZE_MAX)
			return (-1);
		if (b->legs[i].neg) {
			if (out[t] + b->legs[i].left < out[t])
				return (-1);
			out[t] += b->legs[i].left;
		} else {
			if (in[t] + b->legs[i].left < in[t])
				return (-1);
			in[t] += b->legs[i].left;
		}
	}
	for (t = 0; t < st.ntokens; t++)
		if (in[t] != out[t])
			return (-1);
	for (i = 0; i < b->nlegs; i++)
		if (b->legs[i].neg && !b->legs[i].is_clearing)
			bbuild_send(b, &b->legs[i].acct, c, &b->legs[i]);
	for (i = 0; i < b->nlegs; i++)
		if (!b->legs[i].neg && !b->legs[i].is_clearing)
			bbuild_send(b, c, &b->legs[i].acct, &b->legs[i]);
	return (0);
}

static void finish_settle(struct sjob *);

/*
 * Settlement: resume the oldest pending or published batch (a crash or a
 * failed publish left it), else net the unsettled fills into a new one.
 * The batch and its deltas are in the ledger (journaled) before the
 * worker publishes anything.
 */
static void
settle_next(void)
{
	struct ledger	*l = kdexd_server->ledger;
	struct bpick	 p;
	struct bbuild	 b;
	struct sjob	*j;
	int		 resume = 1;

	/* Fills wait (journaled in the ledger) until the accounts the
	 * staple passes through are known. */
	if (!st.have_ops[OPS_CLEARING] ||
	    (st.faucet != NULL && !st.have_ops[OPS_RESERVE]))
		return;
	memset(&p, 0, sizeof p);
	if (ledger_batch_list(l, LEDGER_BATCH_PENDING, 0, bpick_cb, &p) !=
	    LEDGER_OK || ledger_batch_list(l, LEDGER_BATCH_PUBLISHED, 0,
	    bpick_cb, &p) != LEDGER_OK)
		return;
	if (p.id == 0) {
		if (ledger_batch_list(l, LEDGER_BATCH_FAILED, 0, bpick_cb,
		    &p) != LEDGER_OK)
			return;
		if (p.id != 0 && ledger_batch_retry(l, p.id) != LEDGER_OK)
			return;
	}
	if (p.id == 0) {
		resume = 0;
		if (ledger_batch_create(l, &p.id) != LEDGER_OK || p.id == 0)
			return;
	}
	j = xcalloc(1, sizeof *j);
	j->type = SJ_SETTLE;
	j->batch = p.id;
	j->resume = resume;
	memset(&b, 0, sizeof b);
	b.j = j;
	if (ledger_batch_deltas(l, p.id, bbuild_cb, &b) != LEDGER_OK ||
	    b.bad || (b.onchain > 0 && bbuild_route(&b) != 0)) {
		if (!b.bad && b.onchain > 0) {
			b.bad = 1;
			snprintf(b.why, sizeof b.why, "%s",
			    SETTLE_UNBALANCED);
		}
		log_info("settle: batch %lld: %s", (long long)p.id, b.bad ?
		    b.why : "cannot read deltas");
		if (b.bad)
			ledger_batch_failed(l, p.id, b.why);
		/* Set aside: net the fills after it at the next tick. */
		if (b.bad && strncmp(b.why, SETTLE_REVOKED,
		    sizeof SETTLE_REVOKED - 1) == 0)
			st.next_settle = 0;
		free(b.legs);
		sjob_free(j);
		return;
	}
	free(b.legs);
	if (b.onchain == 0) {
		free(j->sends);
		j->sends = NULL;
		j->nsends = 0;
	}
	if (j->nsends == 0) {
		/* Only off-chain users (no reserve) and fees: nothing to
		 * publish; the batch records that in place of a hash. */
		snprintf(j->staple, sizeof j->staple, "off-chain");
		j->ok = 1;
		finish_settle(j);
		sjob_free(j);
		return;
	}
	st.settling = 1;
	enqueue(j);
}

static int
lat_cmp(const void *a, const void *b)
{
	int64_t	x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x < y ? -1 : x > y);
}

/*
 * Fill -> settled figures (p50, p99) over the last LAT_KEEP samples. A
 * settled batch gives at most LAT_SAMPLE of its fills, evenly spread:
 * each costs a ledger read on the event loop, and under load a batch nets
 * tens of thousands of fills (reading them all stalled the loop for tens
 * of ms every settlement).
 */
#define LAT_SAMPLE	256
#define LAT_KEEP	10000
static void
lat_record(int64_t batch)
{
	struct ledger_batch	 b;
	struct ledger_fill	 f;
	int64_t			 now = kdexd_now_ms(), *c, fid, step;
	size_t			 n;

	if (ledger_batch_get(kdexd_server->ledger, batch, &b) != LEDGER_OK)
		return;
	step = (b.last_fill - b.first_fill) / LAT_SAMPLE + 1;
	if (st.lat == NULL)
		st.lat = xreallocarray(NULL, LAT_KEEP, sizeof *st.lat);
	for (fid = b.first_fill; fid != 0 && fid <= b.last_fill;
	    fid += step) {
		if (ledger_fill_get(kdexd_server->ledger, fid, &f) !=
		    LEDGER_OK || f.settlement_batch != batch)
			continue;
		st.lat[st.lathead] = now - f.ts;
		st.lathead = (st.lathead + 1) % LAT_KEEP;
		if (st.nlat < LAT_KEEP)
			st.nlat++;
	}
	if ((n = st.nlat) == 0)
		return;
	c = xreallocarray(NULL, n, sizeof *c);
	memcpy(c, st.lat, n * sizeof *c);
	qsort(c, n, sizeof *c, lat_cmp);
	log_info("settle: batch %lld settled; fill->settled over %zu fills: "
	    "p50 %lld ms, p99 %lld ms", (long long)batch, n,
	    (long long)c[n / 2], (long long)c[(n * 99) / 100 < n ?
	    (n * 99) / 100 : n - 1]);
	free(c);
}

static void
finish_settle(struct sjob *j)
{
	struct ledger	*l = kdexd_server->ledger;
	struct ledger_batch b;

	if (!j->ok) {
		log_info("settle: batch %lld not published: %s",
		    (long long)j->batch, j->why);
		/* Unreachable: stays pending and is tried again. */
		if (!j->unreachable)
			ledger_batch_failed(l, j->batch, j->why);
		st.next_settle = kdexd_now_ms() + 5 * st.settle_ms;
		return;
	}
	if (ledger_batch_get(l, j->batch, &b) == LEDGER_OK &&
	    b.status == LEDGER_BATCH_PENDING &&
	    ledger_batch_published(l, j->batch, j->staple) != LEDGER_OK) {
		log_info("settle: cannot record batch %lld as published",
		    (long long)j->batch);
		return;
	}
	if (ledger_batch_confirmed(l, j->batch) != LEDGER_OK) {
		log_info("settle: cannot confirm batch %lld",
		    (long long)j->batch);
		return;
	}
	lat_record(j->batch);
}

struct wpick {
	struct ledger_withdrawal w[SETTLE_WD_SCAN];
	size_t			 n;
};

static void
wpick_cb(const struct ledger_withdrawal *w, void *arg)
{
	struct wpick	*p = arg;

	if (p->n < SETTLE_WD_SCAN)
		p->w[p->n++] = *w;
}

/*
 * The oldest withdrawal to publish: one left processing by a crash or an
 * unreachable chain first, else the oldest queued one whose user has a
 * storage account (others wait: their funds are not on chain).
 */
static void
withdraw_next(void)
{
	struct ledger		*l = kdexd_server->ledger;
	struct ledger_user	 u;
	struct ledger_token	 t;
	struct wpick		*p;
	struct ledger_withdrawal *w = NULL;
	struct sjob		*j;
	const char		*why;
	size_t			 i;
	int			 resume = 1, r;

	p = xcalloc(1, sizeof *p);
	if (ledger_withdrawal_list(l, 0, LEDGER_WD_PROCESSING, SETTLE_WD_SCAN,
	    wpick_cb, p) != LEDGER_OK)
		goto out;
	if (p->n == 0) {
		resume = 0;
		if (ledger_withdrawal_list(l, 0, LEDGER_WD_QUEUED,
		    SETTLE_WD_SCAN, wpick_cb, p) != LEDGER_OK)
			goto out;
	}
	/* Newest first: walk from the end for the oldest. */
	for (i = p->n; i > 0 && w == NULL; i--) {
		if (ledger_user_get(l, p->w[i - 1].user_id, &u) == LEDGER_OK &&
		    u.storage[0] != '\0')
			w = &p->w[i - 1];
	}
	if (w == NULL || ledger_token_get(l, w->token_id, &t) != LEDGER_OK)
		goto out;
	j = xcalloc(1, sizeof *j);
	j->type = SJ_WITHDRAW;
	j->batch = w->id;
	j->resume = resume;
	j->sends = xcalloc(1, sizeof *j->sends);
	j->nsends = 1;
	j->sends[0].amount = w->amount;
	if (keeta_address_decode(u.storage, &j->sends[0].from, &why) != 0 ||
	    keeta_address_decode(w->to, &j->sends[0].to, &why) != 0 ||
	    keeta_address_decode(t.address, &j->sends[0].token, &why) != 0) {
		r = ledger_withdrawal_fail(l, w->id, why);
		log_info("settle: withdrawal %lld failed: %s (%s)",
		    (long long)w->id, why, ledger_result_string(r));
		sjob_free(j);
		goto out;
	}
	/* Journal: processing before anything is published. */
	if (!resume && (r = ledger_withdrawal_processing(l, w->id)) !=
	    LEDGER_OK) {
		log_info("settle: withdrawal %lld: %s", (long long)w->id,
		    ledger_result_string(r));
		sjob_free(j);
		goto out;
	}
	st.withdrawing = 1;
	enqueue(j);
out:
	free(p);
}

static void
finish_withdraw(struct sjob *j)
{
	struct ledger	*l = kdexd_server->ledger;
	int		 r;

	if (j->ok) {
		r = ledger_withdrawal_complete(l, j->batch, j->staple);
		log_info("settle: withdrawal %lld completed %s (%s)",
		    (long long)j->batch, j->staple, ledger_result_string(r));
		/* A queue drains back to back, not one per interval (the
		 * default 1 s interval capped withdrawals at 1/s). */
		st.next_settle = kdexd_now_ms();
		return;
	}
	if (j->unreachable) {
		/* Still processing: asked again (resume) at the next tick. */
		log_info("settle: withdrawal %lld waits: %s",
		    (long long)j->batch, j->why);
		st.next_settle = kdexd_now_ms() + 5 * st.settle_ms;
		return;
	}
	r = ledger_withdrawal_fail(l, j->batch, j->why);
	log_info("settle: withdrawal %lld failed: %s (%s)",
	    (long long)j->batch, j->why, ledger_result_string(r));
}

/* Refuse a withdrawal request: which limit, how much is left. */
static int
wd_refuse(struct kdexd_resp *resp, const struct stoken *lt, int which,
    const char *what, u128 limit, u128 used)
{
	char	lb[MONEY_BUFSZ], ub[MONEY_BUFSZ];

	money_format(lb, limit, lt->decimals);
	money_format(ub, used, lt->decimals);
	st.wd_refused[which]++;
	kdexd_resp_error(resp, 422, "limit_exceeded", "the withdrawal is "
	    "above %s of %s %s (%s %s already requested in the last 24 h)",
	    what, lb, lt->symbol, ub, lt->symbol);
	return (-1);
}

int
settle_withdraw_check(struct kdexd_resp *resp, int64_t uid, int64_t token,
    u128 amount, int *approval)
{
	struct ledger		*l = kdexd_server->ledger;
	const struct stoken	*lt;
	u128			 used, fl_user = 0, fl_all = 0, sum;
	int64_t			 since;
	size_t			 i;

	*approval = 0;
	if ((lt = stoken_find(token)) == NULL)
		return (0);
	/* Requests counted here have reached the ledger once a batch ran. */
	if (st.wf_batch != kdexd_server->stats.batches) {
		st.nwf = 0;
		st.wf_batch = kdexd_server->stats.batches;
	}
	for (i = 0; i < st.nwf; i++) {
		if (st.wf[i].token != token)
			continue;
		if (money_add(&fl_all, fl_all, st.wf[i].amount) != 0 ||
		    (st.wf[i].user == uid &&
		    money_add(&fl_user, fl_user, st.wf[i].amount) != 0))
			goto overflow;
	}
	if (lt->set[CONF_WD_MAX] && amount > lt->v[CONF_WD_MAX]) {
		char	lb[MONEY_BUFSZ];

		money_format(lb, lt->v[CONF_WD_MAX], lt->decimals);
		st.wd_refused[0]++;
		kdexd_resp_error(resp, 422, "limit_exceeded", "the withdrawal "
		    "is above the limit of %s %s per withdrawal", lb,
		    lt->symbol);
		return (-1);
	}
	since = ledger_now(l) - 24 * 3600 * 1000;
	if (lt->set[CONF_WD_USER_24H]) {
		if (ledger_withdrawal_sum(l, uid, token, since, &used) !=
		    LEDGER_OK || money_add(&used, used, fl_user) != 0)
			goto overflow;
		if (money_add(&sum, used, amount) != 0 ||
		    sum > lt->v[CONF_WD_USER_24H])
			return (wd_refuse(resp, lt, 1, "your 24 h limit",
			    lt->v[CONF_WD_USER_24H], used));
	}
	if (lt->set[CONF_WD_GLOBAL_24H]) {
		if (ledger_withdrawal_sum(l, 0, token, since, &used) !=
		    LEDGER_OK || money_add(&used, used, fl_all) != 0)
			goto overflow;
		if (money_add(&sum, used, amount) != 0 ||
		    sum > lt->v[CONF_WD_GLOBAL_24H])
			return (wd_refuse(resp, lt, 2, "the exchange's 24 h "
			    "limit", lt->v[CONF_WD_GLOBAL_24H], used));
	}
	*approval = lt->set[CONF_WD_APPROVAL] &&
	    amount > lt->v[CONF_WD_APPROVAL];
	st.wf = xreallocarray(st.wf, st.nwf + 1, sizeof *st.wf);
	st.wf[st.nwf].user = uid;
	st.wf[st.nwf].token = token;
	st.wf[st.nwf].amount = amount;
	st.nwf++;
	return (0);
overflow:
	kdexd_resp_error(resp, 500, "internal", "cannot sum the withdrawals "
	    "of the last 24 h");
	return (-1);
}

/* One job with every registered storage account. */
static void
recon_start(void)
{
	struct ucollect	 c;
	struct sjob	*j;
	const char	*why;
	size_t		 i;

	memset(&c, 0, sizeof c);
	if (ledger_user_list(kdexd_server->ledger, collect_cb, &c) !=
	    LEDGER_OK) {
		free(c.u);
		return;
	}
	j = xcalloc(1, sizeof *j);
	j->type = SJ_RECON;
	j->accts = xcalloc(c.n + 1, sizeof *j->accts);
	for (i = 0; i < c.n; i++) {
		if (keeta_address_decode(c.u[i].storage,
		    &j->accts[j->naccts].storage, &why) != 0)
			continue;
		j->accts[j->naccts++].uid = c.u[i].id;
	}
	free(c.u);
	/* The clearing account holds the fee account's funds: its fees. */
	if (st.have_ops[OPS_CLEARING]) {
		j->accts[j->naccts].storage = st.ops[OPS_CLEARING];
		j->accts[j->naccts++].uid = LEDGER_FEE_USER;
	}
	st.reconciling = 1;
	enqueue(j);
}

/* The chain's balance of token t in account a (0 when absent). */
static u128
racct_balance(const struct racct *a, const struct keeta_pubkey *t)
{
	keeta_u128	v;
	size_t		i;

	for (i = 0; i < a->nbal; i++)
		if (keeta_pubkey_equal(&a->bal[i].token, t) &&
		    keeta_amount_to_u128(&a->bal[i].balance, &v) == 0)
			return ((u128)v);
	return (0);
}

/* Processing withdrawals of a run (the chain may have applied them). */
struct rproc {
	int64_t	user[SETTLE_WD_SCAN];
	int64_t	token[SETTLE_WD_SCAN];
	size_t	n;
};

static void
rproc_cb(const struct ledger_withdrawal *w, void *arg)
{
	struct rproc	*p = arg;

	if (p->n < SETTLE_WD_SCAN) {
		p->user[p->n] = w->user_id;
		p->token[p->n++] = w->token_id;
	}
}

static int
rproc_has(const struct rproc *p, int64_t user, int64_t token)
{
	size_t	i;

	for (i = 0; i < p->n; i++)
		if (p->user[i] == user && p->token[i] == token)
			return (1);
	return (0);
}

/*
 * What the history holds for token t that the ledger has not credited
 * yet: the deposit watcher will, so it is not drift. -1 on overflow.
 */
static int
racct_uncredited(const struct racct *a, const char *t, u128 *out)
{
	struct ledger_deposit	d;
	size_t			i;

	*out = 0;
	for (i = 0; i < a->ndeps; i++) {
		if (strcmp(a->deps[i].token, t) != 0)
			continue;
		if (ledger_deposit_find(kdexd_server->ledger,
		    a->deps[i].block, a->deps[i].op, &d) == LEDGER_OK &&
		    d.status == LEDGER_DEPOSIT_CREDITED)
			continue;
		if (money_add(out, *out, a->deps[i].amount) != 0)
			return (-1);
	}
	return (0);
}

/*
 * Record one comparison and, for drift at or below the token's dust
 * threshold, correct the user's ledger balance to the chain: both in one
 * transaction, the correction with its audit row (cause correction, ref
 * "recon:<run>"). *corrected says whether it was.
 */
static int
recon_record(int64_t run, int64_t uid, int64_t tid, u128 chain,
    u128 expected, u128 dust, u128 crit, int may_correct,
    enum ledger_recon_status *rs, int *corrected)
{
	struct ledger		*l = kdexd_server->ledger;
	struct ledger_delta	 d;
	char			 ref[LEDGER_REASON_MAX], *cause = NULL;
	int			 r;

	*corrected = 0;
	d.neg = chain < expected;
	d.abs = d.neg ? expected - chain : chain - expected;
	if (d.abs == 0 || d.abs > dust || !may_correct)
		return (ledger_recon_add(l, run, uid, tid, chain, expected,
		    crit, rs));
	snprintf(ref, sizeof ref, "recon:%lld", (long long)run);
	if (ledger_begin(l, &cause) != 0) {
		log_info("settle: recon: %s", cause);
		free(cause);
		return (LEDGER_ERR);
	}
	if ((r = ledger_recon_add(l, run, uid, tid, chain, expected, crit,
	    rs)) == LEDGER_OK)
		r = ledger_correct(l, uid, tid, &d, ref);
	if (r != LEDGER_OK) {
		ledger_rollback(l);
		log_info("settle: recon: cannot correct user %lld token %lld "
		    "(%s): recorded only", (long long)uid, (long long)tid,
		    ledger_result_string(r));
		return (ledger_recon_add(l, run, uid, tid, chain, expected,
		    crit, rs));
	}
	if (ledger_commit(l, &cause) != 0) {
		log_info("settle: recon: correction not committed: %s", cause);
		free(cause);
		return (ledger_recon_add(l, run, uid, tid, chain, expected,
		    crit, rs));
	}
	*corrected = 1;
	return (LEDGER_OK);
}

/*
 * Compare, per user and market token, the chain with the ledger's view of
 * it: total minus what fills moved that no confirmed batch carried yet,
 * plus deposits in the history the watcher has not credited yet. Runs
 * only while no settlement or withdrawal is out. The token's thresholds
 * (kdexd_conf.h) decide: a difference at or below recon-dust is corrected
 * in the ledger; up to recon-critical it is drift; above, critical: an
 * alert (log line, metric), and a user whose chain balance is short is
 * frozen (orders cancelled). A surplus is never frozen: it cannot make
 * the exchange pay out what the chain does not hold, and freezing on it
 * would let anyone freeze a user by sending them tokens. A pair with a
 * withdrawal still processing is recorded but neither corrected nor
 * frozen: the chain may already have applied it.
 */
static void
finish_recon(struct sjob *j)
{
	struct ledger		*l = kdexd_server->ledger;
	struct ledger_token	 t;
	struct ledger_balance	 b;
	struct ledger_delta	 un;
	struct exchange_cmd	 cmd;
	struct rproc		 proc;
	const struct stoken	*lt;
	enum ledger_recon_status rs;
	char			 addr[KEETA_ADDRESS_MAX];
	char			 cb[MONEY_BUFSZ], eb[MONEY_BUFSZ];
	int64_t			 run = 0, uid;
	u128			 chain, expected, pend, dust, crit;
	size_t			 i, k;
	int			 shortfall, busy, corrected;

	memset(&proc, 0, sizeof proc);
	if (ledger_withdrawal_list(l, 0, LEDGER_WD_PROCESSING, SETTLE_WD_SCAN,
	    rproc_cb, &proc) != LEDGER_OK ||
	    ledger_recon_begin(l, &run) != LEDGER_OK) {
		log_info("settle: cannot start a reconciliation run");
		run = 0;
		goto answer;
	}
	st.recon_runs++;
	for (i = 0; i < j->naccts; i++) {
		uid = j->accts[i].uid;
		if (j->accts[i].err || j->accts[i].moved) {
			log_info("settle: recon: user %lld skipped: %s",
			    (long long)uid, j->accts[i].err ? "chain "
			    "unreadable" : "balances moved while read");
			continue;
		}
		shortfall = 0;
		for (k = 0; k < st.ntokens; k++) {
			keeta_address_encode(&st.tokens[k], addr);
			if (ledger_token_find(l, addr, &t) != LEDGER_OK ||
			    ledger_balance_get(l, uid, t.id, &b) !=
			    LEDGER_OK || ledger_unsettled(l, uid, t.id,
			    &un) != LEDGER_OK ||
			    racct_uncredited(&j->accts[i], addr, &pend) != 0)
				continue;
			expected = b.total;
			if (un.neg)
				expected += un.abs;
			else
				expected = expected >= un.abs ?
				    expected - un.abs : 0;
			if (money_add(&expected, expected, pend) != 0)
				continue;
			chain = racct_balance(&j->accts[i], &st.tokens[k]);
			lt = stoken_find(t.id);
			dust = stoken_get(lt, CONF_RECON_DUST);
			crit = lt != NULL && lt->set[CONF_RECON_CRITICAL] ?
			    lt->v[CONF_RECON_CRITICAL] : dust;
			busy = rproc_has(&proc, uid, t.id);
			if (recon_record(run, uid, t.id, chain, expected, dust,
			    crit, !busy && uid != LEDGER_FEE_USER, &rs,
			    &corrected) != LEDGER_OK)
				continue;
			money_format(cb, chain, (unsigned int)t.decimals);
			money_format(eb, expected, (unsigned int)t.decimals);
			if (corrected) {
				st.recon_corrections++;
				log_info("settle: recon %lld: user %lld %s "
				    "corrected to the chain: %s (ledger had "
				    "%s)", (long long)run, (long long)uid,
				    st.symbols[k], cb, eb);
			} else if (rs == LEDGER_RECON_DRIFT)
				log_info("settle: recon %lld: user %lld %s "
				    "drift: chain %s, ledger %s", (long long)
				    run, (long long)uid, st.symbols[k], cb, eb);
			if (rs != LEDGER_RECON_CRITICAL)
				continue;
			st.recon_critical++;
			log_info("settle: ALERT: recon %lld CRITICAL: user "
			    "%lld %s chain %s, ledger %s%s", (long long)run,
			    (long long)uid, st.symbols[k], cb, eb, busy ?
			    " (a withdrawal is in flight)" : "");
			if (chain < expected && !busy)
				shortfall = 1;
		}
		if (shortfall && uid != LEDGER_FEE_USER) {
			memset(&cmd, 0, sizeof cmd);
			cmd.type = EXCHANGE_CANCEL_ALL;
			cmd.user = uid;
			(void)kdexd_run_command(kdexd_server, &cmd, NULL, NULL);
			if (ledger_user_set_status(l, uid, LEDGER_USER_FROZEN,
			    SETTLE_RECON_FROZEN) == LEDGER_OK)
				log_info("settle: ALERT: user %lld frozen: %s",
				    (long long)uid, SETTLE_RECON_FROZEN);
		}
	}
	if (ledger_recon_finish(l, run) != LEDGER_OK)
		log_info("settle: cannot finish reconciliation %lld",
		    (long long)run);
answer:
	for (i = 0; i < st.nrecon_hp; i++) {
		struct kdexd_resp	resp;

		memset(&resp, 0, sizeof resp);
		if (run == 0)
			kdexd_resp_error(&resp, 500, "internal",
			    "cannot record the reconciliation");
		else
			st.recon_fn[i](run, &resp);
		http_finish(st.recon_hp[i], &resp);
	}
	st.nrecon_hp = 0;
}

void
settle_recon_run(struct kdexd_req *req, struct kdexd_resp *resp,
    settle_recon_fn *fn)
{
	if (!st.running || st.nrecon_hp == nitems(st.recon_hp)) {
		kdexd_resp_error(resp, 503, "unavailable", "the chain worker "
		    "is not running or busy");
		return;
	}
	if ((st.recon_hp[st.nrecon_hp] = http_defer(req)) == NULL) {
		kdexd_resp_error(resp, 500, "internal", "cannot defer");
		return;
	}
	st.recon_fn[st.nrecon_hp++] = fn;
	st.recon_wanted = 1;
}

void
settle_cron(struct kdexd *s)
{
	int64_t		 now = kdexd_now_ms();
	struct sjob	*j;

	(void)s;
	if (!st.running)
		return;
	/* Demo users first: the maker waits for its funds to quote. */
	demo_next(now);
	if (!st.opstore_out && now >= st.next_opstore)
		opstore_next();
	if (!st.settling && !st.withdrawing && !st.reconciling &&
	    (st.recon_wanted || now >= st.next_recon)) {
		st.recon_wanted = 0;
		st.next_recon = now + st.recon_ms;
		recon_start();
	}
	if (!st.settling && !st.withdrawing && !st.reconciling &&
	    now >= st.next_settle) {
		st.next_settle = now + st.settle_ms;
		/* Settle first: a withdrawal may spend what a trade brought. */
		settle_next();
		withdraw_next();
	}
	if (st.inflight > 0)
		return;
	if (now >= st.next_forget) {
		j = xcalloc(1, sizeof *j);
		j->type = SJ_FORGET;
		enqueue(j);
		st.next_forget = now + SETTLE_FULL_SCAN_MS;
	}
	if (st.notify || now >= st.next_scan) {
		st.notify = 0;
		st.next_scan = now + st.poll_ms;
		schedule(SJ_SCAN);
	}
	if (now >= st.next_acl) {
		st.next_acl = now + st.acl_ms;
		schedule(SJ_RECHECK);
	}
}

static void
finish_verify(struct sjob *j)
{
	struct ledger		*l = kdexd_server->ledger;
	struct kdexd_resp	 resp;
	struct ledger_user	 u;
	cJSON			*o;

	memset(&resp, 0, sizeof resp);
	if (!j->ok) {
		if (j->unreachable)
			kdexd_resp_error(&resp, 503, "unavailable", "%s",
			    j->why);
		else
			kdexd_resp_error(&resp, 422, "storage_rejected",
			    "%s", j->why);
		goto done;
	}
	if (ledger_user_set_storage(l, j->uid, j->storage_addr) !=
	    LEDGER_OK || ledger_user_get(l, j->uid, &u) != LEDGER_OK) {
		kdexd_resp_error(&resp, 500, "internal",
		    "cannot record the storage account");
		goto done;
	}
	/* A user who granted the operator again may trade again. */
	if (u.status == LEDGER_USER_WITHDRAW_ONLY &&
	    ledger_user_set_status(l, j->uid, LEDGER_USER_ACTIVE, "") ==
	    LEDGER_OK)
		u.status = LEDGER_USER_ACTIVE;
	log_info("settle: user %s registered storage %s", u.address,
	    j->storage_addr);
	st.notify = 1;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "storage", j->storage_addr);
	cJSON_AddStringToObject(o, "status", ledger_user_status_name(u.status));
	kdexd_resp_json(&resp, 200, o);
done:
	http_finish(j->hp, &resp);
	j->hp = NULL;
}

/* Withdraw-only: cancel the user's orders, then record why. */
static void
make_withdraw_only(int64_t uid, const char *why)
{
	struct exchange_cmd	 cmd;
	struct ledger_user	 u;

	if (ledger_user_get(kdexd_server->ledger, uid, &u) != LEDGER_OK ||
	    u.status != LEDGER_USER_ACTIVE)
		return;
	memset(&cmd, 0, sizeof cmd);
	cmd.type = EXCHANGE_CANCEL_ALL;
	cmd.user = uid;
	if (kdexd_run_command(kdexd_server, &cmd, NULL, NULL) != 0)
		log_info("settle: cannot cancel the orders of %s", u.address);
	if (ledger_user_set_status(kdexd_server->ledger, uid,
	    LEDGER_USER_WITHDRAW_ONLY, why) != LEDGER_OK) {
		log_info("settle: cannot make %s withdraw-only", u.address);
		return;
	}
	log_info("settle: user %s is withdraw-only: %s", u.address, why);
}

static void
finish_recheck(struct sjob *j)
{
	struct ledger_token	 t;
	struct ledger_balance	 b;
	char			 why[LEDGER_REASON_MAX];
	size_t			 i;

	if (j->unreachable)
		return;		/* the chain is away, not the user */
	if (!j->ok) {
		make_withdraw_only(j->uid, j->why);
		return;
	}
	/* A token the user holds but the operator may no longer send. */
	for (i = 0; i < st.ntokens; i++) {
		char	addr[KEETA_ADDRESS_MAX];

		if (j->granted[i])
			continue;
		keeta_address_encode(&st.tokens[i], addr);
		if (ledger_token_find(kdexd_server->ledger, addr, &t) !=
		    LEDGER_OK || ledger_balance_get(kdexd_server->ledger,
		    j->uid, t.id, &b) != LEDGER_OK || b.total == 0)
			continue;
		snprintf(why, sizeof why, "operator right on %s revoked "
		    "on chain", st.symbols[i]);
		make_withdraw_only(j->uid, why);
		return;
	}
}

static void
finish_scan(struct sjob *j)
{
	struct ledger_user	 u;
	struct ledger_token	 t;
	struct exchange_cmd	 cmd;
	size_t			 i;

	if (j->unreachable)
		log_debug("settle: history of %s: %s", j->storage_addr,
		    j->why);
	if (j->ndeps == 0 ||
	    ledger_user_get(kdexd_server->ledger, j->uid, &u) != LEDGER_OK ||
	    strcmp(u.storage, j->storage_addr) != 0)
		return;
	for (i = 0; i < j->ndeps; i++) {
		if (ledger_token_find(kdexd_server->ledger, j->deps[i].token,
		    &t) != LEDGER_OK)
			continue;	/* no market lists it */
		memset(&cmd, 0, sizeof cmd);
		cmd.type = EXCHANGE_DEPOSIT;
		cmd.user = j->uid;
		cmd.token = t.id;
		cmd.amount = j->deps[i].amount;
		snprintf(cmd.ref, sizeof cmd.ref, "%s", j->deps[i].block);
		cmd.op_index = j->deps[i].op;
		if (route_submit(&cmd) != 0)
			log_info("settle: engine queue full; deposit %s/%d "
			    "waits for the next scan", cmd.ref, cmd.op_index);
	}
}

void
settle_poll(struct kdexd *s)
{
	struct sjob	*j;

	(void)s;
	if (!st.running)
		return;
	for (;;) {
		pthread_mutex_lock(&st.lock);
		j = sq_pop(&st.done);
		pthread_mutex_unlock(&st.lock);
		if (j == NULL)
			break;
		switch (j->type) {
		case SJ_VERIFY:
			finish_verify(j);
			break;
		case SJ_RECHECK:
			st.inflight--;
			finish_recheck(j);
			break;
		case SJ_SCAN:
			st.inflight--;
			finish_scan(j);
			break;
		case SJ_FORGET:
			break;
		case SJ_SETTLE:
			st.settling = 0;
			finish_settle(j);
			break;
		case SJ_WITHDRAW:
			st.withdrawing = 0;
			finish_withdraw(j);
			break;
		case SJ_RECON:
			st.reconciling = 0;
			finish_recon(j);
			break;
		case SJ_OPSTORE:
			st.opstore_out = 0;
			finish_opstore(j);
			break;
		case SJ_DEMO:
			finish_demo(j);
			break;
		}
		sjob_free(j);
	}
}

/* ------------------------- metrics and alerts ------------------------ */

struct acount {
	uint64_t	frozen;		/* by reconciliation */
	uint64_t	pending;	/* withdrawals awaiting approval */
};

static void
acount_user_cb(const struct ledger_user *u, void *arg)
{
	struct acount	*c = arg;

	if (u->status == LEDGER_USER_FROZEN &&
	    strncmp(u->reason, "reconciliation", 14) == 0)
		c->frozen++;
}

static void
acount_wd_cb(const struct ledger_withdrawal *w, void *arg)
{
	struct acount	*c = arg;

	(void)w;
	c->pending++;
}

/* The gauges come from the ledger, so they survive a restart. */
static void
acount_read(struct acount *c)
{
	struct ledger	*l = kdexd_server->ledger;

	memset(c, 0, sizeof *c);
	if (ledger_user_list(l, acount_user_cb, c) != LEDGER_OK)
		log_info("settle: cannot count frozen users");
	if (ledger_withdrawal_list(l, 0, LEDGER_WD_PENDING_APPROVAL, 0,
	    acount_wd_cb, c) != LEDGER_OK)
		log_info("settle: cannot count withdrawals to approve");
}

char *
settle_metrics(void)
{
	struct acount	 c;
	char		*t;

	acount_read(&c);
	xasprintf(&t,
	    "# HELP kdex_recon_runs_total Reconciliation runs since the "
	    "start.\n"
	    "# TYPE kdex_recon_runs_total counter\n"
	    "kdex_recon_runs_total %llu\n"
	    "# HELP kdex_recon_critical_total Critical reconciliation rows "
	    "since the start.\n"
	    "# TYPE kdex_recon_critical_total counter\n"
	    "kdex_recon_critical_total %llu\n"
	    "# HELP kdex_recon_corrections_total Dust drifts corrected in the "
	    "ledger since the start.\n"
	    "# TYPE kdex_recon_corrections_total counter\n"
	    "kdex_recon_corrections_total %llu\n"
	    "# HELP kdex_recon_frozen_users Users frozen by reconciliation.\n"
	    "# TYPE kdex_recon_frozen_users gauge\n"
	    "kdex_recon_frozen_users %llu\n"
	    "# HELP kdex_withdrawals_pending_approval Withdrawals waiting for "
	    "an operator.\n"
	    "# TYPE kdex_withdrawals_pending_approval gauge\n"
	    "kdex_withdrawals_pending_approval %llu\n"
	    "# HELP kdex_withdrawals_refused_total Withdrawal requests refused "
	    "by a limit since the start.\n"
	    "# TYPE kdex_withdrawals_refused_total counter\n"
	    "kdex_withdrawals_refused_total{limit=\"withdraw-max\"} %llu\n"
	    "kdex_withdrawals_refused_total{limit=\"withdraw-user-24h\"} %llu\n"
	    "kdex_withdrawals_refused_total{limit=\"withdraw-global-24h\"} "
	    "%llu\n",
	    (unsigned long long)st.recon_runs,
	    (unsigned long long)st.recon_critical,
	    (unsigned long long)st.recon_corrections,
	    (unsigned long long)c.frozen,
	    (unsigned long long)c.pending,
	    (unsigned long long)st.wd_refused[0],
	    (unsigned long long)st.wd_refused[1],
	    (unsigned long long)st.wd_refused[2]);
	return (t);
}

void
settle_alerts_json(cJSON *o)
{
	struct acount	 c;
	cJSON		*a, *th, *tk;
	char		 buf[MONEY_BUFSZ];
	size_t		 i, k;

	acount_read(&c);
	if ((a = cJSON_AddObjectToObject(o, "alerts")) == NULL)
		fatalx("cJSON_AddObjectToObject");
	cJSON_AddNumberToObject(a, "recon_critical_total",
	    (double)st.recon_critical);
	cJSON_AddNumberToObject(a, "recon_corrections_total",
	    (double)st.recon_corrections);
	cJSON_AddNumberToObject(a, "recon_frozen_users", (double)c.frozen);
	cJSON_AddNumberToObject(a, "withdrawals_pending_approval",
	    (double)c.pending);
	if ((th = cJSON_AddObjectToObject(o, "thresholds")) == NULL)
		fatalx("cJSON_AddObjectToObject");
	for (i = 0; i < st.nlim; i++) {
		if ((tk = cJSON_AddObjectToObject(th, st.lim[i].symbol)) ==
		    NULL)
			fatalx("cJSON_AddObjectToObject");
		for (k = 0; k < CONF_TOK_N; k++) {
			if (!st.lim[i].set[k])
				continue;
			money_format(buf, st.lim[i].v[k], st.lim[i].decimals);
			cJSON_AddStringToObject(tk, conf_tok_name(k), buf);
		}
	}
}
