/*
 * kdexd_chainview: the representatives' health and the operator's on-chain
 * state for the admin API, read by a probe thread so that kdexd's event
 * loop never waits on the network (kdexd_chainview.h).
 *
 * Threads: the loop owns the waiters and the lws timer; the probe thread
 * owns its keeta clients while it runs. They share cv.lock, which guards
 * the request (want, storage list), the snapshot and its generation. The
 * loop reads the snapshot under the lock; the thread replaces it whole.
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "keeta_account.h"
#include "keeta_block.h"
#include "keeta_client.h"
#include "keeta_perm.h"
#include "kdexd.h"
#include "kdexd_chainview.h"
#include "kdexd_http.h"
#include "ledger.h"
#include "money.h"
#include "util.h"

#define CHAINVIEW_POLL_MS	20	/* the loop looks for the snapshot */

struct cv_rep {
	char	 url[256];
	int	 reachable;
	int64_t	 latency_ms;
	char	 version[64];
	char	 error[320];
	int	 op_has_head;
	uint64_t op_height;
	int	 cl_has_head;		/* the clearing account's */
	uint64_t cl_height;
	size_t	 nstorage;		/* heads read */
	uint64_t storage_blocks;	/* sum of their heights */
};

/* One probe's result; replaced whole, freed by cv_snap_free. */
struct cv_snap {
	int64_t			 checked_at;	/* ms */
	struct cv_rep		 rep[KDEXD_APIS_MAX];
	size_t			 nreps;
	int			 op_ok;
	char			 op_error[320];
	int			 op_has_head;
	uint64_t		 op_height;
	struct keeta_balance	*bal;
	size_t			 nbal;
	struct keeta_acl	*acl;
	size_t			 nacl;
	int			 has_clearing;	/* its balances were read */
	struct keeta_balance	*cbal;
	size_t			 ncbal;
};

enum cv_kind {
	CV_STATUS,
	CV_OPERATOR
};

struct cv_waiter {
	struct http_pending	*hp;
	cJSON			*body;
	enum cv_kind		 kind;
	uint64_t		 gen;		/* answered once done >= gen */
	int64_t			 deadline;	/* ms */
	struct cv_waiter	*next;
};

static struct {
	int			 started;
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	int			 stop;
	uint64_t		 want, done;	/* generations */
	char			 storage[CHAINVIEW_STORAGE_MAX][LEDGER_ADDR_MAX];
	size_t			 nstorage;
	char			 clearing[LEDGER_ADDR_MAX];	/* or "" */
	struct cv_snap		*snap;
	/* The thread's own, set before it starts. */
	struct keeta_client	*rep_kc[KDEXD_APIS_MAX];
	struct keeta_client	*all_kc;
	size_t			 napis;
	struct keeta_pubkey	 op;
	/* The loop's. */
	struct cv_waiter	*waiters;
	lws_sorted_usec_list_t	 sul;
} cv = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

static void
cv_snap_free(struct cv_snap *sn)
{
	if (sn == NULL)
		return;
	free(sn->bal);
	free(sn->acl);
	free(sn->cbal);
	free(sn);
}

static void
cv_err(char *buf, size_t len, const struct keeta_client_error *e)
{
	/* A long message is cut: the code says what failed. */
	if (snprintf(buf, len, "%s%s%s", e->code, e->message[0] != '\0' ?
	    ": " : "", e->message) < 0)
		buf[0] = '\0';
}

/* ---------------------------- probe thread --------------------------- */

/* One representative: version (reachability, latency), then heights. */
static void
cv_probe_rep(size_t i, struct cv_rep *r, const struct keeta_pubkey *cl,
    const struct keeta_pubkey *st, size_t nst)
{
	struct keeta_client_error	 e;
	uint8_t				 h[KEETA_HASH_LEN];
	uint64_t			 height, sum = 0;
	char				*ver = NULL;
	int64_t				 t0;
	size_t				 k;
	int				 has;

	memset(&e, 0, sizeof e);
	t0 = kdexd_now_us();
	if (keeta_client_version(cv.rep_kc[i], &ver, &e) != 0) {
		cv_err(r->error, sizeof r->error, &e);
		return;
	}
	r->latency_ms = (kdexd_now_us() - t0 + 500) / 1000;
	r->reachable = 1;
	snprintf(r->version, sizeof r->version, "%s", ver);
	free(ver);
	if (keeta_client_head(cv.rep_kc[i], &cv.op, &has, h, &height,
	    &e) != 0) {
		cv_err(r->error, sizeof r->error, &e);
		return;
	}
	r->op_has_head = has;
	r->op_height = has ? height : 0;
	if (cl != NULL) {
		if (keeta_client_head(cv.rep_kc[i], cl, &has, h, &height,
		    &e) != 0) {
			cv_err(r->error, sizeof r->error, &e);
			return;
		}
		r->cl_has_head = has;
		r->cl_height = has ? height : 0;
	}
	for (k = 0; k < nst; k++) {
		if (keeta_client_head(cv.rep_kc[i], &st[k], &has, h, &height,
		    &e) != 0) {
			cv_err(r->error, sizeof r->error, &e);
			return;
		}
		if (has)
			sum += height;
		r->nstorage++;
	}
	r->storage_blocks = sum;
}

/* The operator's head, balances and grants, from any representative. */
static void
cv_probe_op(struct cv_snap *sn, const struct keeta_pubkey *cl)
{
	struct keeta_client_error	 e;
	struct keeta_account_info	*ai = NULL;
	size_t				 n;

	memset(&e, 0, sizeof e);
	if (keeta_client_account_info(cv.all_kc, &cv.op, &ai, &e) != 0) {
		cv_err(sn->op_error, sizeof sn->op_error, &e);
		return;
	}
	sn->op_has_head = ai->has_head;
	sn->op_height = ai->has_head ? ai->height : 0;
	if (ai->nbalances > 0) {
		sn->bal = xreallocarray(NULL, ai->nbalances, sizeof *sn->bal);
		memcpy(sn->bal, ai->balances, ai->nbalances * sizeof *sn->bal);
		sn->nbal = ai->nbalances;
	}
	keeta_account_info_free(ai);
	if (keeta_client_acl_by_principal(cv.all_kc, &cv.op, NULL, 0,
	    &sn->acl, &sn->nacl, &e) != 0) {
		cv_err(sn->op_error, sizeof sn->op_error, &e);
		return;
	}
	if (cl != NULL) {
		if (keeta_client_balances(cv.all_kc, cl, &sn->cbal, &n,
		    &e) != 0) {
			cv_err(sn->op_error, sizeof sn->op_error, &e);
			return;
		}
		sn->ncbal = n;
		sn->has_clearing = 1;
	}
	sn->op_ok = 1;
}

static void *
cv_main(void *arg)
{
	struct keeta_pubkey	 st[CHAINVIEW_STORAGE_MAX], clk, *cl;
	struct cv_snap		*sn, *old;
	const char		*why;
	size_t			 i, nst;
	uint64_t		 gen;

	(void)arg;
	pthread_mutex_lock(&cv.lock);
	for (;;) {
		while (!cv.stop && cv.want == cv.done)
			pthread_cond_wait(&cv.cond, &cv.lock);
		if (cv.stop)
			break;
		gen = cv.want;
		for (i = nst = 0; i < cv.nstorage; i++)
			if (keeta_pubkey_parse(cv.storage[i], &st[nst],
			    &why) == 0)
				nst++;
		cl = NULL;
		if (cv.clearing[0] != '\0' &&
		    keeta_pubkey_parse(cv.clearing, &clk, &why) == 0)
			cl = &clk;
		pthread_mutex_unlock(&cv.lock);

		sn = xcalloc(1, sizeof *sn);
		sn->nreps = cv.napis;
		for (i = 0; i < cv.napis; i++) {
			snprintf(sn->rep[i].url, sizeof sn->rep[i].url, "%s",
			    keeta_client_publish_url(cv.rep_kc[i]));
			cv_probe_rep(i, &sn->rep[i], cl, st, nst);
		}
		cv_probe_op(sn, cl);
		sn->checked_at = kdexd_now_ms();

		pthread_mutex_lock(&cv.lock);
		old = cv.snap;
		cv.snap = sn;
		cv.done = gen;
		cv_snap_free(old);
	}
	pthread_mutex_unlock(&cv.lock);
	return (NULL);
}

/* At exit: stop and join the thread (a probe in flight ends by timeout). */
static void
cv_atexit(void)
{
	size_t	i;

	pthread_mutex_lock(&cv.lock);
	cv.stop = 1;
	pthread_cond_signal(&cv.cond);
	pthread_mutex_unlock(&cv.lock);
	pthread_join(cv.thread, NULL);
	for (i = 0; i < cv.napis; i++)
		keeta_client_free(cv.rep_kc[i]);
	keeta_client_free(cv.all_kc);
	cv_snap_free(cv.snap);
	cv.snap = NULL;
	cv.started = 0;
}

/* Start the thread on first use; its clients are made here, on the loop. */
static int
cv_start(struct kdexd *s)
{
	struct keeta_client_options	 o;
	const char			*why;
	size_t				 i;

	if (cv.started)
		return (0);
	if (s->napis == 0 || keeta_pubkey_parse(s->operator_addr, &cv.op,
	    &why) != 0)
		return (-1);
	memset(&o, 0, sizeof o);
	o.timeout_ms = CHAINVIEW_TIMEOUT_MS;
	o.max_retries = 0;
	o.backoff_ms = 50;
	for (i = 0; i < s->napis; i++)
		cv.rep_kc[i] = keeta_client_new((const char *const *)
		    &s->apis[i], 1, s->network_id, &o);
	cv.all_kc = keeta_client_new((const char *const *)s->apis, s->napis,
	    s->network_id, &o);
	cv.napis = s->napis;
	for (i = 0; i < cv.napis; i++)
		if (cv.rep_kc[i] == NULL)
			fatalx("chainview: no client for %s", s->apis[i]);
	if (cv.all_kc == NULL)
		fatalx("chainview: no client");
	if (pthread_create(&cv.thread, NULL, cv_main, NULL) != 0)
		fatalx("chainview: pthread_create");
	cv.started = 1;
	if (atexit(cv_atexit) != 0)
		fatalx("chainview: atexit");
	return (0);
}

/* ------------------------- answers (loop thread) ------------------------ */

static void
cv_add(cJSON *o, cJSON *item, const char *name)
{
	if (item == NULL)
		fatalx("cJSON");
	cJSON_AddItemToObject(o, name, item);
}

static void
cv_str(cJSON *o, const char *name, const char *v)
{
	cv_add(o, cJSON_CreateString(v), name);
}

/* Counts, heights and times: exact in a JSON number below 2^53. */
static void
cv_num(cJSON *o, const char *name, uint64_t v)
{
	cv_add(o, cJSON_CreateNumber((double)v), name);
}

static void
cv_null(cJSON *o, const char *name)
{
	cv_add(o, cJSON_CreateNull(), name);
}

static void
cv_fill_status(const struct cv_snap *sn, cJSON *body)
{
	struct kdexd	*s = kdexd_server;
	const struct cv_rep *r;
	cJSON		*arr, *o;
	size_t		 i;

	if ((arr = cJSON_AddArrayToObject(body, "representatives")) == NULL)
		fatalx("cJSON");
	for (i = 0; i < s->napis; i++) {
		o = cJSON_CreateObject();
		cJSON_AddItemToArray(arr, o);
		cv_str(o, "url", s->apis[i]);
		if (sn == NULL || i >= sn->nreps) {
			/* Never probed (no thread, or still waiting). */
			cv_null(o, "reachable");
			cv_null(o, "latency_ms");
			cv_null(o, "version");
			cv_null(o, "operator_height");
			cv_null(o, "clearing_height");
			cv_null(o, "storage_blocks");
			cv_null(o, "storage_accounts");
			cv_str(o, "error", "not probed yet");
			cv_null(o, "checked_at");
			continue;
		}
		r = &sn->rep[i];
		cv_add(o, cJSON_CreateBool(r->reachable), "reachable");
		if (r->reachable) {
			cv_num(o, "latency_ms", (uint64_t)r->latency_ms);
			cv_str(o, "version", r->version);
		} else {
			cv_null(o, "latency_ms");
			cv_null(o, "version");
		}
		if (r->reachable && r->op_has_head)
			cv_num(o, "operator_height", r->op_height);
		else
			cv_null(o, "operator_height");
		if (r->reachable && r->cl_has_head)
			cv_num(o, "clearing_height", r->cl_height);
		else
			cv_null(o, "clearing_height");
		if (r->reachable && r->error[0] == '\0') {
			cv_num(o, "storage_blocks", r->storage_blocks);
			cv_num(o, "storage_accounts", r->nstorage);
		} else {
			cv_null(o, "storage_blocks");
			cv_null(o, "storage_accounts");
		}
		cv_str(o, "error", r->error);
		cv_num(o, "checked_at", (uint64_t)sn->checked_at);
	}
}

/*
 * An account of the operator's own that settlement records in the data
 * directory ("clearing", "reserve": kdexd_settle.h) into buf, or "".
 */
static void
cv_own_account(const char *name, char buf[LEDGER_ADDR_MAX])
{
	char	*path, *txt;

	buf[0] = '\0';
	xasprintf(&path, "%s/%s", kdexd_data_dir(kdexd_server), name);
	txt = kdexd_read_file(path, 256, NULL);
	free(path);
	if (txt == NULL)
		return;
	txt[strcspn(txt, " \t\r\n")] = '\0';
	if (strncmp(txt, "keeta_", 6) == 0)
		snprintf(buf, LEDGER_ADDR_MAX, "%s", txt);
	free(txt);
}

/* One token of the balance comparison. */
struct cv_row {
	char			 token[KEETA_ADDRESS_MAX];
	const struct keeta_amount *op, *cl;	/* on chain; NULL: none */
	int			 has_led;
	u128			 led;		/* the fee account's total */
	struct ledger_delta	 uns;		/* of it, not yet on chain */
};

struct cv_rows {
	struct cv_row	*v;
	size_t		 n;
};

static struct cv_row *
cv_row(struct cv_rows *rs, const char *token)
{
	size_t	i;

	for (i = 0; i < rs->n; i++)
		if (strcmp(rs->v[i].token, token) == 0)
			return (&rs->v[i]);
	rs->v = xreallocarray(rs->v, rs->n + 1, sizeof *rs->v);
	memset(&rs->v[rs->n], 0, sizeof rs->v[rs->n]);
	snprintf(rs->v[rs->n].token, sizeof rs->v[rs->n].token, "%s", token);
	return (&rs->v[rs->n++]);
}

struct cv_lctx {
	struct ledger	*l;
	struct cv_rows	*rs;
};

static void
cv_lbal_cb(const struct ledger_balance *b, void *arg)
{
	struct cv_lctx		*lc = arg;
	struct ledger_token	 t;
	struct cv_row		*r;

	if (ledger_token_get(lc->l, b->token_id, &t) != LEDGER_OK)
		return;
	r = cv_row(lc->rs, t.address);
	if (ledger_unsettled(lc->l, LEDGER_FEE_USER, t.id, &r->uns) !=
	    LEDGER_OK)
		return;
	r->has_led = 1;
	r->led = b->total;
}

/*
 * An on-chain amount as token units when the ledger knows the token (1),
 * else as base units (0); *v its value. NULL a is zero.
 */
static int
cv_chain_amount(cJSON *o, const char *name, const struct keeta_amount *a,
    const struct ledger_token *t, u128 *v)
{
	keeta_u128	 x = 0;
	char		 buf[MONEY_BUFSZ], *dec;

	if (a != NULL && keeta_amount_to_u128(a, &x) != 0)
		t = NULL;	/* beyond 128 bits: cannot be a ledger amount */
	*v = (u128)x;
	if (t != NULL) {
		money_format(buf, (u128)x, t->decimals < 0 ? 0 :
		    (unsigned int)t->decimals);
		cv_str(o, name, buf);
		return (1);
	}
	if (a == NULL) {
		cv_str(o, name, "0");
		return (0);
	}
	if ((dec = keeta_amount_to_dec(a)) == NULL)
		fatalx("keeta_amount_to_dec");
	cv_str(o, name, dec);
	free(dec);
	return (0);
}

/*
 * The operator's and the clearing account's on-chain balances next to the
 * fee account's ledger totals. Fees are paid into the clearing account
 * when there is one (else into the operator's), so that is the balance
 * compared with what the ledger expects on chain: the fee total less the
 * fees of fills not yet in a confirmed batch ("unsettled").
 */
static size_t
cv_fill_balances(struct ledger *l, const struct cv_snap *sn, cJSON *op)
{
	struct cv_rows		 rs;
	struct cv_lctx		 lc;
	struct ledger_token	 t;
	const struct ledger_token *tp;
	struct cv_row		*r;
	char			 addr[KEETA_ADDRESS_MAX], buf[MONEY_BUFSZ + 1];
	cJSON			*arr, *o;
	u128			 vop, vcl, vcmp, want;
	size_t			 i, bad = 0;
	int			 exact;

	if ((arr = cJSON_AddArrayToObject(op, "balances")) == NULL)
		fatalx("cJSON");
	if (sn == NULL || !sn->op_ok)
		return (0);
	memset(&rs, 0, sizeof rs);
	for (i = 0; i < sn->nbal; i++) {
		keeta_address_encode(&sn->bal[i].token, addr);
		cv_row(&rs, addr)->op = &sn->bal[i].balance;
	}
	for (i = 0; i < sn->ncbal; i++) {
		keeta_address_encode(&sn->cbal[i].token, addr);
		cv_row(&rs, addr)->cl = &sn->cbal[i].balance;
	}
	lc.l = l;
	lc.rs = &rs;
	if (ledger_balance_list(l, LEDGER_FEE_USER, cv_lbal_cb, &lc) !=
	    LEDGER_OK)
		fatalx("chainview: cannot read the fee account");
	for (i = 0; i < rs.n; i++) {
		r = &rs.v[i];
		tp = ledger_token_find(l, r->token, &t) == LEDGER_OK ? &t :
		    NULL;
		o = cJSON_CreateObject();
		cJSON_AddItemToArray(arr, o);
		cv_str(o, "token", r->token);
		cv_str(o, "symbol", tp != NULL ? t.symbol : "");
		exact = cv_chain_amount(o, "onchain", r->op, tp, &vop);
		if (sn->has_clearing)
			exact &= cv_chain_amount(o, "clearing", r->cl, tp,
			    &vcl);
		else {
			cv_null(o, "clearing");
			vcl = 0;
		}
		want = 0;
		if (r->has_led && tp != NULL) {
			money_format(buf, r->led, t.decimals < 0 ? 0 :
			    (unsigned int)t.decimals);
			cv_str(o, "ledger", buf);
			/* Signed: a rebate paid out is a negative fee. */
			money_format(buf + 1, r->uns.abs, t.decimals < 0 ? 0 :
			    (unsigned int)t.decimals);
			buf[0] = '-';
			cv_str(o, "unsettled", r->uns.neg && r->uns.abs != 0 ?
			    buf : buf + 1);
			if (r->uns.neg)
				exact &= money_add(&want, r->led,
				    r->uns.abs) == 0;
			else if (r->led >= r->uns.abs)
				want = r->led - r->uns.abs;
			else
				exact = 0;
		} else {
			cv_null(o, "ledger");
			cv_null(o, "unsettled");
		}
		vcmp = sn->has_clearing ? vcl : vop;
		if (exact && tp != NULL && vcmp == want)
			cv_str(o, "status", "ok");
		else {
			cv_str(o, "status", "mismatch");
			bad++;
		}
	}
	free(rs.v);
	return (bad);
}

/* The registered storage accounts (the ledger's belief). */
struct cv_store {
	char	storage[LEDGER_ADDR_MAX];
	char	user[LEDGER_ADDR_MAX];	/* or the role of an own account */
	int	seen;
	int	own;			/* clearing or reserve */
};

struct cv_stores {
	struct cv_store	*v;
	size_t		 n;
};

static void
cv_store_cb(const struct ledger_user *u, void *arg)
{
	struct cv_stores	*cs = arg;

	if (u->storage[0] == '\0')
		return;
	cs->v = xreallocarray(cs->v, cs->n + 1, sizeof *cs->v);
	snprintf(cs->v[cs->n].storage, sizeof cs->v[cs->n].storage, "%s",
	    u->storage);
	snprintf(cs->v[cs->n].user, sizeof cs->v[cs->n].user, "%s",
	    u->address);
	cs->v[cs->n].seen = 0;
	cs->v[cs->n].own = 0;
	cs->n++;
}

/*
 * The grants on chain next to the registered storage accounts. What the
 * operator should hold (doc/settlement.md): SEND_ON_BEHALF (with ACCESS),
 * nothing more, on each registered storage account; OWNER on its own
 * clearing and demo reserve accounts.
 */
static size_t
cv_fill_permissions(struct ledger *l, const struct cv_snap *sn, cJSON *op)
{
	const uint32_t		 expected = KEETA_PERM_BIT(KEETA_PERM_ACCESS) |
				    KEETA_PERM_BIT(KEETA_PERM_SEND_ON_BEHALF);
	static const char *const own[2] = { "clearing", "reserve" };
	struct cv_stores	 cs;
	struct ledger_token	 t;
	const struct keeta_acl	*a;
	char			 ent[KEETA_ADDRESS_MAX], tgt[KEETA_ADDRESS_MAX];
	const char		*status, *name;
	cJSON			*arr, *o, *perms;
	size_t			 i, k, bad = 0;
	int			 f, reg, mine;

	memset(&cs, 0, sizeof cs);
	if (ledger_user_list(l, cv_store_cb, &cs) != LEDGER_OK)
		fatalx("chainview: cannot list users");
	/* The operator's own accounts, as users named by their role. */
	for (k = 0; k < 2; k++) {
		cs.v = xreallocarray(cs.v, cs.n + 1, sizeof *cs.v);
		cv_own_account(own[k], cs.v[cs.n].storage);
		if (cs.v[cs.n].storage[0] == '\0')
			continue;
		snprintf(cs.v[cs.n].user, sizeof cs.v[cs.n].user, "%s",
		    own[k]);
		cs.v[cs.n].own = 1;
		cs.v[cs.n].seen = 0;
		cs.n++;
	}
	if ((arr = cJSON_AddArrayToObject(op, "permissions")) == NULL)
		fatalx("cJSON");
	for (i = 0; sn != NULL && sn->op_ok && i < sn->nacl; i++) {
		a = &sn->acl[i];
		keeta_address_encode(&a->entity, ent);
		o = cJSON_CreateObject();
		cJSON_AddItemToArray(arr, o);
		cv_str(o, "storage", ent);
		reg = mine = 0;
		for (k = 0; k < cs.n; k++)
			if (strcmp(cs.v[k].storage, ent) == 0) {
				cv_str(o, "user", cs.v[k].own ? "" :
				    cs.v[k].user);
				cs.v[k].seen = 1;
				reg = 1;
				mine = cs.v[k].own;
				break;
			}
		if (!reg)
			cv_null(o, "user");
		if (a->target.len != 0) {
			keeta_address_encode(&a->target, tgt);
			cv_str(o, "target", tgt);
			cv_str(o, "symbol", ledger_token_find(l, tgt, &t) ==
			    LEDGER_OK ? t.symbol : "");
		} else {
			cv_null(o, "target");
			cv_str(o, "symbol", "");
		}
		if ((perms = cJSON_AddArrayToObject(o, "permissions")) ==
		    NULL)
			fatalx("cJSON");
		for (f = 0; f < KEETA_PERM_NFLAGS; f++)
			if (keeta_perm_has(&a->perm, f) &&
			    (name = keeta_perm_flag_name(f)) != NULL)
				cJSON_AddItemToArray(perms,
				    cJSON_CreateString(name));
		cv_str(o, "ledger", mine ? cs.v[k].user : reg ? "registered" :
		    "unknown");
		if (!reg)
			status = "not_in_ledger";
		else if (mine)
			status = keeta_perm_has(&a->perm, KEETA_PERM_OWNER) ?
			    "ok" : "missing_on_chain";
		else if ((a->perm.base & ~expected) != 0 ||
		    a->perm.external != 0)
			status = "excess_rights";
		else if (!keeta_perm_has(&a->perm, KEETA_PERM_SEND_ON_BEHALF))
			status = "missing_on_chain";
		else
			status = "ok";
		cv_str(o, "status", status);
		bad += strcmp(status, "ok") != 0;
	}
	/* Registered, but the chain shows no grant at all. */
	for (k = 0; sn != NULL && sn->op_ok && k < cs.n; k++) {
		if (cs.v[k].seen)
			continue;
		o = cJSON_CreateObject();
		cJSON_AddItemToArray(arr, o);
		cv_str(o, "storage", cs.v[k].storage);
		cv_str(o, "user", cs.v[k].own ? "" : cs.v[k].user);
		cv_null(o, "target");
		cv_str(o, "symbol", "");
		if (cJSON_AddArrayToObject(o, "permissions") == NULL)
			fatalx("cJSON");
		cv_str(o, "ledger", cs.v[k].own ? cs.v[k].user : "registered");
		cv_str(o, "status", "missing_on_chain");
		bad++;
	}
	free(cs.v);
	return (bad);
}

static void
cv_fill_operator(const struct cv_snap *sn, cJSON *body)
{
	struct ledger	*l = kdexd_server->ledger;
	cJSON		*op, *ch;
	size_t		 bad;

	if ((op = cJSON_GetObjectItemCaseSensitive(body, "operator")) ==
	    NULL)
		fatalx("chainview: no operator object");
	if ((ch = cJSON_AddObjectToObject(op, "chain")) == NULL)
		fatalx("cJSON");
	if (sn == NULL) {
		cv_add(ch, cJSON_CreateBool(0), "ok");
		cv_str(ch, "error", "not probed yet");
		cv_null(ch, "height");
		cv_null(ch, "checked_at");
	} else {
		cv_add(ch, cJSON_CreateBool(sn->op_ok), "ok");
		cv_str(ch, "error", sn->op_error);
		if (sn->op_ok && sn->op_has_head)
			cv_num(ch, "height", sn->op_height);
		else
			cv_null(ch, "height");
		cv_num(ch, "checked_at", (uint64_t)sn->checked_at);
	}
	bad = cv_fill_balances(l, sn, op);
	bad += cv_fill_permissions(l, sn, op);
	cv_num(op, "mismatches", bad);
}

static void
cv_fill(enum cv_kind kind, const struct cv_snap *sn, cJSON *body)
{
	switch (kind) {
	case CV_STATUS:
		cv_fill_status(sn, body);
		break;
	case CV_OPERATOR:
		cv_fill_operator(sn, body);
		break;
	}
}

/* The lws timer: answer the waiters whose snapshot is in (or late). */
static void
cv_poll(lws_sorted_usec_list_t *sul)
{
	struct kdexd		*s = kdexd_server;
	struct cv_waiter	**wp, *w;
	struct kdexd_resp	 resp;
	int64_t			 now = kdexd_now_ms();

	(void)sul;
	pthread_mutex_lock(&cv.lock);
	for (wp = &cv.waiters; (w = *wp) != NULL;) {
		if (cv.done < w->gen && now < w->deadline && !s->stopping &&
		    !s->draining) {
			wp = &w->next;
			continue;
		}
		*wp = w->next;
		/* Late: what the last probe saw, with its checked_at. */
		cv_fill(w->kind, cv.snap, w->body);
		memset(&resp, 0, sizeof resp);
		kdexd_resp_json(&resp, 200, w->body);
		http_finish(w->hp, &resp);
		free(w);
	}
	if (cv.waiters != NULL && s->ctx != NULL)
		lws_sul_schedule(s->ctx, 0, &cv.sul, cv_poll,
		    CHAINVIEW_POLL_MS * LWS_US_PER_MS);
	pthread_mutex_unlock(&cv.lock);
}

/* Set the storage accounts the next probe reads (under cv.lock). */
static void
cv_store_pick_cb(const struct ledger_user *u, void *arg)
{
	(void)arg;
	if (u->storage[0] == '\0' || cv.nstorage >= CHAINVIEW_STORAGE_MAX)
		return;
	snprintf(cv.storage[cv.nstorage], sizeof cv.storage[cv.nstorage],
	    "%s", u->storage);
	cv.nstorage++;
}

static void
cv_answer(struct kdexd_req *req, struct kdexd_resp *resp, cJSON *body,
    enum cv_kind kind)
{
	struct kdexd		*s = req->server;
	struct cv_waiter	*w;
	int64_t			 now = kdexd_now_ms();

	if (cv_start(s) != 0) {
		/* No representative configured: nothing to ask. */
		cv_fill(kind, NULL, body);
		kdexd_resp_json(resp, 200, body);
		return;
	}
	pthread_mutex_lock(&cv.lock);
	if (cv.snap != NULL && cv.want == cv.done &&
	    now - cv.snap->checked_at < CHAINVIEW_FRESH_MS) {
		cv_fill(kind, cv.snap, body);
		pthread_mutex_unlock(&cv.lock);
		kdexd_resp_json(resp, 200, body);
		return;
	}
	if (cv.want == cv.done) {
		/* A new probe; one already running is answer enough. */
		cv.nstorage = 0;
		(void)ledger_user_list(s->ledger, cv_store_pick_cb, NULL);
		cv_own_account("clearing", cv.clearing);
		cv.want++;
		pthread_cond_signal(&cv.cond);
	}
	w = xcalloc(1, sizeof *w);
	w->body = body;
	w->kind = kind;
	w->gen = cv.want;
	w->deadline = now + CHAINVIEW_WAIT_MS;
	w->hp = http_defer(req);
	w->next = cv.waiters;
	cv.waiters = w;
	pthread_mutex_unlock(&cv.lock);
	lws_sul_schedule(s->ctx, 0, &cv.sul, cv_poll,
	    CHAINVIEW_POLL_MS * LWS_US_PER_MS);
}

void
chainview_status(struct kdexd_req *req, struct kdexd_resp *resp,
    cJSON *body)
{
	cv_answer(req, resp, body, CV_STATUS);
}

void
chainview_operator(struct kdexd_req *req, struct kdexd_resp *resp,
    cJSON *body)
{
	cv_answer(req, resp, body, CV_OPERATOR);
}
