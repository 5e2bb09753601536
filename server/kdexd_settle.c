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

#include "exchange.h"
#include "keeta_account.h"
#include "keeta_block.h"
#include "keeta_client.h"
#include "keeta_hash.h"
#include "keeta_perm.h"
#include "keeta_staple.h"
#include "keyfile.h"
#include "kdexd.h"
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

enum sjob_type {
	SJ_VERIFY = 0,		/* registration: answer hp */
	SJ_RECHECK,		/* periodic ACL check */
	SJ_SCAN,		/* deposits into storage */
	SJ_FORGET,		/* drop every scan cursor */
	SJ_SETTLE,		/* publish one settlement batch */
	SJ_WITHDRAW,		/* publish one withdrawal */
	SJ_RECON		/* read every storage account's balances */
};

/* RECON: one storage account and what the chain says it holds. */
struct racct {
	int64_t			 uid;
	struct keeta_pubkey	 storage;
	int			 err;
	struct keeta_balance	*bal;
	size_t			 nbal;
};

/* One SEND of a settlement staple: from a storage account (or, when
 * from_operator, the operator's own chain) to to. */
struct ssend {
	int			from_operator;
	struct keeta_pubkey	from;
	struct keeta_pubkey	to;
	struct keeta_pubkey	token;
	u128			amount;
};

struct sdep {
	char	token[KEETA_ADDRESS_MAX];
	u128	amount;
	char	block[2 * KEETA_HASH_LEN + 1];
	int	op;
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

	struct sjob		*next;
};

struct squeue {
	struct sjob	*head, *tail;
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
	int64_t			*lat;		/* fill -> settled, ms */
	size_t			 nlat;
	int			 notify;
	int64_t			 poll_ms, acl_ms;
	int64_t			 next_scan, next_acl, next_forget;
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

	for (i = 0; i < j->naccts; i++)
		free(j->accts[i].bal);
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
 * One atomic staple: net payers' storage accounts send to the operator,
 * the operator sends to net receivers. The batch id is the idempotency
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
		const struct keeta_pubkey *acct = j->sends[0].from_operator ?
		    keeta_account_pubkey(st.op) : &j->sends[0].from;

		/* key || u8(block index): any block of ours means applied. */
		for (i = 0; i <= j->nsends && !found; i++) {
			key[klen] = (uint8_t)i;
			if (keeta_client_idempotent(st.kc, acct, key, klen + 1,
			    &found, hash, &e) != 0) {
				j->unreachable = 1;
				snprintf(j->why, sizeof j->why, "%s", e.code);
				return;
			}
		}
		if (found) {
			keeta_hex_encode(hash, KEETA_HASH_LEN, j->staple);
			j->ok = 1;
			return;
		}
	}
	tx = keeta_tx_new(st.kc, st.op, key, klen);
	for (i = 0; i < j->nsends; i++) {
		keeta_amount_from_u128(&a, (keeta_u128)j->sends[i].amount);
		if (keeta_tx_send(tx, j->sends[i].from_operator ? NULL :
		    &j->sends[i].from, &j->sends[i].to, &j->sends[i].token,
		    &a, NULL) != 0) {
			keeta_tx_free(tx);
			snprintf(j->why, sizeof j->why, "cannot build send %zu",
			    i);
			return;
		}
	}
	if (keeta_tx_publish(tx, &e) != 0) {
		keeta_tx_free(tx);
		j->unreachable = e.http_status == 0 ||
		    strcmp(e.code, "CLIENT_TRANSPORT") == 0 ||
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
		j->unreachable = e.http_status == 0 ||
		    strcmp(e.code, "CLIENT_TRANSPORT") == 0 ||
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

static void
work_recon(struct sjob *j)
{
	struct keeta_client_error	 e;
	size_t				 i;

	for (i = 0; i < j->naccts; i++)
		if (keeta_client_balances(st.kc, &j->accts[i].storage,
		    &j->accts[i].bal, &j->accts[i].nbal, &e) != 0)
			j->accts[i].err = 1;
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

int
settle_start(struct kdexd *s, char **cause)
{
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
	st.poll_ms = env_ms("KDEXD_DEPOSIT_POLL_MS", 1000);
	st.acl_ms = env_ms("KDEXD_ACL_CHECK_MS", 30000);
	st.settle_ms = env_ms("KDEXD_SETTLE_MS", 1000);
	st.recon_ms = env_ms("KDEXD_RECON_MS", 60000);
	st.next_recon = kdexd_now_ms() + st.recon_ms;
	st.next_forget = kdexd_now_ms() + SETTLE_FULL_SCAN_MS;
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
	free(st.cur);
	free(st.lat);
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

#define SETTLE_UNBALANCED	"the batch does not net to zero among on-chain " \
				"accounts"

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
	    strncmp(b->reason, SETTLE_UNBALANCED,
	    sizeof SETTLE_UNBALANCED - 1) == 0)
		return;
	if (p->id == 0 || b->id < p->id) {
		p->id = b->id;
		p->attempts = b->attempts;
	}
}

/* One side of the netting: an account that pays or gets one token. */
struct sleg {
	int			is_operator;
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

/* One netted (user, token) change becomes one leg; the fee account's
 * leg is the operator's own account, where fees stay. */
static void
bbuild_cb(const struct ledger_batch_delta *d, void *arg)
{
	struct bbuild		*b = arg;
	struct ledger_user	 u;
	struct ledger_token	 t;
	struct keeta_pubkey	 spk, tpk;
	struct sleg		*x;
	const char		*why;

	if (b->bad || d->delta.abs == 0)
		return;
	if (ledger_user_get(kdexd_server->ledger, d->user_id, &u) !=
	    LEDGER_OK || ledger_token_get(kdexd_server->ledger, d->token_id,
	    &t) != LEDGER_OK) {
		b->bad = 1;
		snprintf(b->why, sizeof b->why, "unknown user or token");
		return;
	}
	/* Funds that never came from the chain (demo credits) stay off it. */
	if (d->user_id != LEDGER_FEE_USER && u.storage[0] == '\0')
		return;
	if ((d->user_id != LEDGER_FEE_USER &&
	    keeta_address_decode(u.storage, &spk, &why) != 0) ||
	    keeta_address_decode(t.address, &tpk, &why) != 0) {
		b->bad = 1;
		snprintf(b->why, sizeof b->why, "bad address: %s", why);
		return;
	}
	b->legs = xreallocarray(b->legs, b->nlegs + 1, sizeof *b->legs);
	x = &b->legs[b->nlegs++];
	memset(x, 0, sizeof *x);
	x->is_operator = d->user_id == LEDGER_FEE_USER;
	if (!x->is_operator)
		b->onchain++;
	x->acct = x->is_operator ? *keeta_account_pubkey(st.op) : spk;
	x->token = tpk;
	x->neg = d->delta.neg;
	x->left = d->delta.abs;
}

/*
 * Pair payers with receivers per token (greedy): each pair is one SEND
 * straight from the payer's storage account to the receiver's, signed by
 * the operator. (A send from the operator's own account into a storage
 * account is refused by the chain: the operator holds explicit rows there,
 * so the default STORAGE_DEPOSIT does not apply to it. The fee account's
 * receipts therefore go to the operator's account directly.)
 */
static int
bbuild_pair(struct bbuild *b)
{
	struct sleg	*p, *r;
	struct ssend	*x;
	size_t		 i, k;
	u128		 a;

	for (i = 0; i < b->nlegs; i++) {
		p = &b->legs[i];
		if (!p->neg)
			continue;
		for (k = 0; k < b->nlegs && p->left > 0; k++) {
			r = &b->legs[k];
			if (r->neg || r->left == 0 ||
			    !keeta_pubkey_equal(&r->token, &p->token))
				continue;
			a = p->left < r->left ? p->left : r->left;
			b->j->sends = xreallocarray(b->j->sends,
			    b->j->nsends + 1, sizeof *b->j->sends);
			x = &b->j->sends[b->j->nsends++];
			memset(x, 0, sizeof *x);
			x->from_operator = p->is_operator;
			x->from = p->acct;
			x->to = r->acct;
			x->token = p->token;
			x->amount = a;
			p->left -= a;
			r->left -= a;
		}
	}
	/* Off-chain (demo) users leave the netting unbalanced. */
	for (i = 0; i < b->nlegs; i++)
		if (b->legs[i].left != 0)
			return (-1);
	return (0);
}

static int
send_cmp(const void *a, const void *b)
{
	const struct ssend	*x = a, *y = b;

	/* The operator's own block last (rebates it pays). */
	return (x->from_operator - y->from_operator);	/* operator last */
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
	    b.bad || (b.onchain > 0 && bbuild_pair(&b) != 0)) {
		if (!b.bad && b.onchain > 0) {
			b.bad = 1;
			snprintf(b.why, sizeof b.why, "%s",
			    SETTLE_UNBALANCED);
		}
		log_info("settle: batch %lld: %s", (long long)p.id, b.bad ?
		    b.why : "cannot read deltas");
		if (b.bad)
			ledger_batch_failed(l, p.id, b.why);
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
		/* Only off-chain users and fees: nothing to publish; the
		 * batch records that in place of a staple hash. */
		snprintf(j->staple, sizeof j->staple, "off-chain");
		j->ok = 1;
		finish_settle(j);
		sjob_free(j);
		return;
	}
	qsort(j->sends, j->nsends, sizeof *j->sends, send_cmp);
	st.settling = 1;
	enqueue(j);
}

static int
lat_cmp(const void *a, const void *b)
{
	int64_t	x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x < y ? -1 : x > y);
}

/* Fill -> settled figures over the last samples (p50, p99). */
static void
lat_record(int64_t batch)
{
	struct ledger_batch	 b;
	struct ledger_fill	 f;
	int64_t			 now = kdexd_now_ms(), *c, fid;
	size_t			 n;

	if (ledger_batch_get(kdexd_server->ledger, batch, &b) != LEDGER_OK)
		return;
	for (fid = b.first_fill; fid != 0 && fid <= b.last_fill; fid++) {
		if (ledger_fill_get(kdexd_server->ledger, fid, &f) !=
		    LEDGER_OK || f.settlement_batch != batch)
			continue;
		if (st.nlat == 100000)
			st.nlat = 0;
		st.lat = xreallocarray(st.lat, st.nlat + 1, sizeof *st.lat);
		st.lat[st.nlat++] = now - f.ts;
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

/*
 * Compare, per user and market token, the chain with the ledger's view of
 * it: total minus what fills moved that no confirmed batch carried yet.
 * Runs only while no settlement or withdrawal is out, so the two agree
 * unless something is wrong (or a deposit is not credited yet: the chain
 * then holds more, which is reported, never acted on). A shortfall on
 * chain is critical: the user is frozen (orders cancelled) and logged.
 */
static void
finish_recon(struct sjob *j)
{
	struct ledger		*l = kdexd_server->ledger;
	struct ledger_token	 t;
	struct ledger_balance	 b;
	struct ledger_delta	 un;
	struct exchange_cmd	 cmd;
	enum ledger_recon_status rs;
	char			 addr[KEETA_ADDRESS_MAX];
	int64_t			 run = 0;
	u128			 chain, expected;
	size_t			 i, k;
	int			 shortfall;

	if (ledger_recon_begin(l, &run) != LEDGER_OK) {
		log_info("settle: cannot start a reconciliation run");
		goto answer;
	}
	for (i = 0; i < j->naccts; i++) {
		if (j->accts[i].err) {
			log_info("settle: recon: balances of user %lld "
			    "unreadable", (long long)j->accts[i].uid);
			continue;
		}
		shortfall = 0;
		for (k = 0; k < st.ntokens; k++) {
			keeta_address_encode(&st.tokens[k], addr);
			if (ledger_token_find(l, addr, &t) != LEDGER_OK ||
			    ledger_balance_get(l, j->accts[i].uid, t.id,
			    &b) != LEDGER_OK ||
			    ledger_unsettled(l, j->accts[i].uid, t.id,
			    &un) != LEDGER_OK)
				continue;
			expected = b.total;
			if (un.neg)
				expected += un.abs;
			else
				expected = expected >= un.abs ?
				    expected - un.abs : 0;
			chain = racct_balance(&j->accts[i], &st.tokens[k]);
			if (ledger_recon_add(l, run, j->accts[i].uid, t.id,
			    chain, expected, 0, &rs) != LEDGER_OK)
				continue;
			if (rs == LEDGER_RECON_CRITICAL && chain < expected) {
				shortfall = 1;
				log_info("settle: recon CRITICAL: user %lld %s "
				    "short on chain", (long long)
				    j->accts[i].uid, st.symbols[k]);
			}
		}
		if (shortfall && j->accts[i].uid != LEDGER_FEE_USER) {
			memset(&cmd, 0, sizeof cmd);
			cmd.type = EXCHANGE_CANCEL_ALL;
			cmd.user = j->accts[i].uid;
			(void)kdexd_run_command(kdexd_server, &cmd, NULL, NULL);
			(void)ledger_user_set_status(l, j->accts[i].uid,
			    LEDGER_USER_FROZEN, "reconciliation: chain holds "
			    "less than the ledger");
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
		}
		sjob_free(j);
	}
}
