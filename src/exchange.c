/*
 * exchange: books + ledger, batched and group-committed (exchange.h).
 *
 * The exchange keeps, besides the books, a table of the orders that are
 * live or were touched in the running batch: what the book does not know
 * (reservation, filled lots, times, status) and what must be written back
 * to the ledger's orders table.  Each order row is written once per batch,
 * however many events touched it.
 *
 * Reservations follow market.h: a live limit order always holds exactly
 * market_reserve(price, lots left) (sells: lots left * lot_size).  A fill
 * spends what the fill costs; the surplus (price improvement, rounding of
 * the per-lot fee) goes back to available at once, so the invariant holds
 * after every event.  Market orders never rest: whatever they still hold
 * is released when they are done or cancelled.
 */
#include "config.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "book.h"
#include "exchange.h"
#include "ledger.h"
#include "market.h"
#include "money.h"
#include "util.h"

#define NIL	UINT32_MAX

struct xorder {
	int64_t		 id;
	int64_t		 user;
	uint32_t	 mk;		/* index in ex->mk */
	uint32_t	 next;		/* hash chain */
	uint8_t		 side;
	uint8_t		 type;
	uint8_t		 tif;
	uint8_t		 post_only;
	uint8_t		 stp;
	uint8_t		 live;		/* in the book and in the hash */
	uint8_t		 dirty;		/* row to write this batch */
	uint8_t		 stored;	/* its row is in the database */
	uint64_t	 price;
	uint64_t	 qty;
	uint64_t	 filled;
	u128		 reserved;
	int64_t		 reserve_token;
	enum ledger_order_status status;
	const char	*reason;	/* static */
	int64_t		 expire_at;
	int64_t		 created_at;
	int64_t		 updated_at;
	char		 client_id[BOOK_CLIENT_ID_MAX + 1];
};

/* A user's 30-day volume and fee tier in one market (issue 8). */
struct xvol {
	int64_t		 user;		/* 0: free slot */
	unsigned int	 tier;
	u128		 vol;		/* quote base units, saturating */
};

struct xmarket {
	struct exchange	*ex;
	int64_t		 id;
	struct market	 m;
	struct book	*book;
	int64_t		 base;		/* token ids */
	int64_t		 quote;
	uint64_t	 saved_seq;
	uint32_t	 idx;		/* in ex->mk */

	struct market_tiers tiers;	/* n 1: base rates, no counting */
	struct xvol	*vol;		/* open addressing; NULL: empty */
	uint32_t	 nvol;
	uint32_t	 vmask;
	uint64_t	 recount_at;	/* batch time of the next recount */
};

/* What the running place command will reserve when it is accepted. */
struct pending {
	int64_t		 user;
	int64_t		 token;
	u128		 amount;
	const struct exchange_cmd *cmd;
};

struct exchange {
	struct ledger		*l;
	uint64_t		 ticket;	/* the last committed batch's */
	struct xmarket		**mk;		/* stable pointers: books' sink args */
	size_t			 nmk;

	struct xorder		*pool;
	uint32_t		 npool;
	uint32_t		 free;		/* free list through next */
	uint32_t		*bucket;
	uint32_t		 nbucket;	/* power of two */
	uint32_t		*dirty;
	size_t			 ndirty, capdirty;
	struct ledger_order	*rows;		/* new rows, for oflush */
	size_t			 caprows;

	struct exchange_cmd	*q;
	size_t			 nq, capq;
	struct exchange_result	*res;
	size_t			 nres, capres;
	struct exchange_event	*ev;
	size_t			 nev, capev;
	size_t			 ev_done;	/* events already applied */

	int64_t			 next_order;
	int64_t			 next_fill;
	uint64_t		 last_ts;
	uint64_t		 ts;		/* the running batch's time */
	struct pending		 pend;
	int			 err;		/* a ledger write failed */
};

static int	 load(struct exchange *, char **);
static void	 unload(struct exchange *);

/* Orders: pool with a free list, chained hash on id. */

static uint32_t
ohash(struct exchange *ex, int64_t id)
{
	return (uint32_t)(((uint64_t)id * 0x9e3779b97f4a7c15ULL) >> 32) &
	    (ex->nbucket - 1);
}

static struct xorder *
ofind(struct exchange *ex, int64_t id)
{
	uint32_t	i;

	for (i = ex->bucket[ohash(ex, id)]; i != NIL; i = ex->pool[i].next) {
		if (ex->pool[i].id == id)
			return &ex->pool[i];
	}
	return NULL;
}

static void
orehash(struct exchange *ex, uint32_t n)
{
	uint32_t	i, h;

	free(ex->bucket);
	ex->nbucket = n;
	ex->bucket = xreallocarray(NULL, n, sizeof *ex->bucket);
	for (i = 0; i < n; i++)
		ex->bucket[i] = NIL;
	for (i = 0; i < ex->npool; i++) {
		if (!ex->pool[i].live)
			continue;
		h = ohash(ex, ex->pool[i].id);
		ex->pool[i].next = ex->bucket[h];
		ex->bucket[h] = i;
	}
}

/* A new order entry, live and in the hash. */
static struct xorder *
onew(struct exchange *ex, int64_t id)
{
	struct xorder	*o;
	uint32_t	 i, h, n;

	if (ex->free == NIL) {
		n = ex->npool == 0 ? 1024 : ex->npool * 2;
		ex->pool = xreallocarray(ex->pool, n, sizeof *ex->pool);
		for (i = n; i > ex->npool; i--) {
			ex->pool[i - 1].live = 0;
			ex->pool[i - 1].dirty = 0;
			ex->pool[i - 1].next = ex->free;
			ex->free = i - 1;
		}
		ex->npool = n;
		if (ex->nbucket < n)
			orehash(ex, n);
	}
	i = ex->free;
	o = &ex->pool[i];
	ex->free = o->next;
	memset(o, 0, sizeof *o);
	o->id = id;
	o->live = 1;
	h = ohash(ex, id);
	o->next = ex->bucket[h];
	ex->bucket[h] = i;
	return o;
}

/* Take an order out of the hash; its slot is freed after the flush. */
static void
ounlink(struct exchange *ex, struct xorder *o)
{
	uint32_t	*pp, i = (uint32_t)(o - ex->pool);

	assert(o->live);
	for (pp = &ex->bucket[ohash(ex, o->id)]; *pp != i;
	    pp = &ex->pool[*pp].next)
		assert(*pp != NIL);
	*pp = o->next;
	o->live = 0;
	if (!o->dirty) {
		o->next = ex->free;
		ex->free = i;
	}
}

static void
omark(struct exchange *ex, struct xorder *o)
{
	o->updated_at = (int64_t)ex->ts;
	if (o->dirty)
		return;
	o->dirty = 1;
	if (ex->ndirty == ex->capdirty) {
		ex->capdirty = ex->capdirty == 0 ? 1024 : ex->capdirty * 2;
		ex->dirty = xreallocarray(ex->dirty, ex->capdirty,
		    sizeof *ex->dirty);
	}
	ex->dirty[ex->ndirty++] = (uint32_t)(o - ex->pool);
}

/* Bounded string copy without printf: several per order on the hot path. */
static void
scopy(char *dst, size_t len, const char *src)
{
	size_t	n;

	n = strnlen(src, len - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void
otorow(const struct exchange *ex, const struct xorder *o,
    struct ledger_order *r)
{
	memset(r, 0, sizeof *r);
	r->id = o->id;
	r->user_id = o->user;
	r->market_id = ex->mk[o->mk]->id;
	scopy(r->client_id, sizeof r->client_id, o->client_id);
	r->side = o->side;
	r->type = o->type;
	r->tif = o->tif;
	r->post_only = o->post_only;
	r->stp = o->stp;
	r->price = o->price;
	r->qty = o->qty;
	r->filled = o->filled;
	r->reserved = o->reserved;
	r->reserve_token = o->reserve_token;
	r->status = o->status;
	scopy(r->reason, sizeof r->reason, o->reason ? o->reason : "");
	r->expire_at = o->expire_at;
	r->created_at = o->created_at;
	r->updated_at = o->updated_at;
}

/*
 * Write every touched order once, several per statement.  Then free the
 * slots of finished orders.
 */
static int
oflush(struct exchange *ex)
{
	struct xorder	*o;
	size_t		 i, j, nnew = 0;
	int		 rc = 0;

	if (ex->ndirty > ex->caprows) {
		ex->caprows = ex->ndirty;
		ex->rows = xreallocarray(ex->rows, ex->caprows,
		    sizeof *ex->rows);
	}
	/* New rows first (inserted), then the stored ones (updated). */
	for (i = 0; i < ex->ndirty; i++) {
		o = &ex->pool[ex->dirty[i]];
		assert(o->dirty);
		if (!o->stored)
			otorow(ex, o, &ex->rows[nnew++]);
	}
	for (i = 0, j = nnew; i < ex->ndirty; i++) {
		o = &ex->pool[ex->dirty[i]];
		if (o->stored)
			otorow(ex, o, &ex->rows[j++]);
	}
	if (ex->ndirty != 0 && ledger_order_write_many(ex->l, ex->rows,
	    ex->ndirty, nnew) != LEDGER_OK) {
		fprintf(stderr, "exchange: cannot write orders\n");
		rc = -1;
	}
	/* On failure the batch rolls back and everything is reloaded. */
	for (i = 0; i < ex->ndirty; i++) {
		o = &ex->pool[ex->dirty[i]];
		o->dirty = 0;
		o->stored = 1;
		if (!o->live) {
			o->next = ex->free;
			ex->free = ex->dirty[i];
		}
	}
	ex->ndirty = 0;
	return rc;
}

/* Markets. */

static struct xmarket *
mfind(struct exchange *ex, int64_t id)
{
	size_t	i;

	for (i = 0; i < ex->nmk; i++) {
		if (ex->mk[i]->id == id)
			return ex->mk[i];
	}
	return NULL;
}

/*
 * The books' sink: copy each event into the batch's event array; they are
 * applied to the ledger by apply_events() after the book call returns.
 */
static void
sink(void *arg, const struct book_event *e)
{
	struct xmarket		*x = arg;
	struct exchange		*ex = x->ex;
	struct exchange_event	*xe;

	if (ex->nev == ex->capev) {
		ex->capev = ex->capev == 0 ? 4096 : ex->capev * 2;
		ex->ev = xreallocarray(ex->ev, ex->capev, sizeof *ex->ev);
	}
	xe = &ex->ev[ex->nev++];
	xe->market = x->id;
	xe->ev = *e;
	xe->fill_id = 0;
	xe->client_id[0] = '\0';
	if (e->type == BOOK_EV_ACCEPTED) {
		if (e->accepted.client_id != NULL)
			scopy(xe->client_id, sizeof xe->client_id,
			    e->accepted.client_id);
		xe->ev.accepted.client_id = NULL;
	}
}

/* Add a market and its empty book; events start after first_seq - 1. */
static struct xmarket *
madd(struct exchange *ex, const struct ledger_market *lm,
    const struct market *m, uint64_t first_seq)
{
	struct xmarket	*x;

	x = xcalloc(1, sizeof *x);
	x->ex = ex;
	x->id = lm->id;
	x->m = *m;
	x->base = lm->base_token;
	x->quote = lm->quote_token;
	x->saved_seq = first_seq - 1;
	x->idx = (uint32_t)ex->nmk;
	market_tiers_base(&x->m, &x->tiers);
	x->book = book_create(&x->m, first_seq, sink, x);
	ex->mk = xreallocarray(ex->mk, ex->nmk + 1, sizeof *ex->mk);
	ex->mk[ex->nmk++] = x;
	return x;
}

/*
 * Fee tiers. Each tiered market keeps, per user, the volume counted from
 * the ledger's fills of the last 30 days plus the fills since, and the tier
 * it gives; the book holds the same tier on the user's resting orders and
 * gets it with each new order. Markets without tiers count nothing.
 */

static uint32_t
vslot(const struct xmarket *x, int64_t user)
{
	return (uint32_t)(((uint64_t)user * UINT64_C(0x9e3779b97f4a7c15)) >>
	    32) & x->vmask;
}

static struct xvol *
vfind(const struct xmarket *x, int64_t user)
{
	uint32_t	i;

	if (x->vol == NULL)
		return NULL;
	for (i = vslot(x, user); x->vol[i].user != 0; i = (i + 1) & x->vmask)
		if (x->vol[i].user == user)
			return &x->vol[i];
	return NULL;
}

/* The entry of user, made (volume 0, tier 0) if new. */
static struct xvol *
vget(struct xmarket *x, int64_t user)
{
	struct xvol	*old = x->vol, *e;
	uint32_t	 i, n = old == NULL ? 0 : x->vmask + 1;

	/* Load factor at most 1/2 keeps probes short. */
	if (old == NULL || (x->nvol + 1) * 2 > n) {
		x->vmask = (n == 0 ? 256 : 2 * n) - 1;
		x->vol = xcalloc((size_t)x->vmask + 1, sizeof *x->vol);
		x->nvol = 0;
		for (i = 0; i < n; i++) {
			if (old[i].user == 0)
				continue;
			e = vget(x, old[i].user);
			*e = old[i];
		}
		free(old);
	}
	for (i = vslot(x, user); x->vol[i].user != 0; i = (i + 1) & x->vmask)
		if (x->vol[i].user == user)
			return &x->vol[i];
	x->vol[i].user = user;
	x->nvol++;
	return &x->vol[i];
}

static unsigned int
vtier(const struct xmarket *x, int64_t user)
{
	const struct xvol	*e = vfind(x, user);

	return e != NULL ? e->tier : 0;
}

/* Volume only grows between recounts; the new tier from the next command. */
static void
vadd(struct xmarket *x, int64_t user, u128 amount)
{
	struct xvol	*e;
	unsigned int	 t;

	if (x->tiers.n <= 1)
		return;
	e = vget(x, user);
	e->vol = e->vol > U128_MAX - amount ? U128_MAX : e->vol + amount;
	if ((t = market_tier_for(&x->tiers, e->vol)) != e->tier) {
		e->tier = t;
		(void)book_set_user_tier(x->book, (uint64_t)user, t);
	}
}

static void
vcount(int64_t user, u128 amount, void *arg)
{
	struct xmarket	*x = arg;
	struct xvol	*e = vget(x, user);

	e->vol = e->vol > U128_MAX - amount ? U128_MAX : e->vol + amount;
}

/*
 * Count every user's volume again from the ledger (the window moves) and
 * give each the tier of the table. -1 on a database error.
 */
static int
vrecount(struct exchange *ex, struct xmarket *x)
{
	uint64_t	since;
	uint32_t	i;
	unsigned int	t;

	for (i = 0; x->vol != NULL && i <= x->vmask; i++)
		if (x->vol[i].user != 0 && x->vol[i].tier != 0)
			(void)book_set_user_tier(x->book,
			    (uint64_t)x->vol[i].user, 0);
	free(x->vol);
	x->vol = NULL;
	x->nvol = x->vmask = 0;
	x->recount_at = ex->ts + EXCHANGE_TIER_RECOUNT_MS;
	if (x->tiers.n <= 1)
		return 0;
	since = ex->ts > EXCHANGE_TIER_WINDOW_MS ?
	    ex->ts - EXCHANGE_TIER_WINDOW_MS : 0;
	if (ledger_fill_volumes(ex->l, x->id, (int64_t)since, vcount, x) !=
	    LEDGER_OK)
		return -1;
	for (i = 0; x->vol != NULL && i <= x->vmask; i++) {
		if (x->vol[i].user == 0)
			continue;
		t = market_tier_for(&x->tiers, x->vol[i].vol);
		x->vol[i].tier = t;
		if (t != 0)
			(void)book_set_user_tier(x->book,
			    (uint64_t)x->vol[i].user, t);
	}
	return 0;
}

/* A new book of x (rebuilt with new fees or limits) gets the tiers. */
static void
vbook(struct xmarket *x)
{
	uint32_t	i;
	int		rc;

	rc = book_set_tiers(x->book, &x->tiers);
	assert(rc == 0);	/* checked against the same base rates */
	(void)rc;
	for (i = 0; x->vol != NULL && i <= x->vmask; i++)
		if (x->vol[i].user != 0 && x->vol[i].tier != 0)
			(void)book_set_user_tier(x->book,
			    (uint64_t)x->vol[i].user, x->vol[i].tier);
}

/* Reservations. */

/* What a live limit order with left lots must hold. */
static u128
need(const struct xmarket *x, const struct xorder *o, uint64_t left)
{
	u128	r;
	int	rc;

	rc = market_reserve(&x->m, o->side == BOOK_BUY, o->price, left, &r);
	assert(rc == 0);	/* bounded by market_init's checks */
	(void)rc;
	return r;
}

static void
ledger_fail(struct exchange *ex, int rc)
{
	/* Checked before: anything but OK is a database failure. */
	if (rc != LEDGER_OK) {
		fprintf(stderr, "exchange: ledger: %s\n",
		    ledger_result_string(rc));
		ex->err = 1;
	}
}

/* "what:id", without printf: several per order on the hot path. */
static void
oref(char *buf, size_t len, const char *what, int64_t id)
{
	char		 tmp[24];
	uint64_t	 v = id < 0 ? 0 : (uint64_t)id;
	size_t		 n = 0, w = strlen(what), i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	assert(w + 1 + n < len);
	memcpy(buf, what, w);
	buf[w] = ':';
	for (i = 0; i < n; i++)
		buf[w + 1 + i] = tmp[n - 1 - i];
	buf[w + 1 + n] = '\0';
}

/* Give back what a live limit order holds beyond what it needs. */
static void
normalize(struct exchange *ex, struct xorder *o)
{
	struct xmarket	*x = ex->mk[o->mk];
	u128		 n;

	if (!o->live || o->type != BOOK_LIMIT)
		return;
	n = need(x, o, o->qty - o->filled);
	assert(o->reserved >= n);
	if (o->reserved == n)
		return;
	ledger_fail(ex, ledger_hold(ex->l, o->user, o->reserve_token, true,
	    o->reserved - n));
	o->reserved = n;
	omark(ex, o);
}

/* The order left the book: release all it still holds. */
static void
finish(struct exchange *ex, struct xorder *o, enum ledger_order_status st,
    const char *reason)
{
	/* A market buy by budget has no size until it is done. */
	if (o->qty == 0)
		o->qty = o->filled;
	if (o->reserved != 0)
		ledger_fail(ex, ledger_hold(ex->l, o->user, o->reserve_token,
		    true, o->reserved));
	o->reserved = 0;
	o->status = st;
	o->reason = reason;
	omark(ex, o);
	ounlink(ex, o);
}

static void
apply_trade(struct exchange *ex, struct xmarket *x, struct exchange_event *xe)
{
	const struct book_event	*e = &xe->ev;
	struct ledger_fill	 f;
	struct ledger_delta	 da, dt;
	struct xorder		*t, *mo, *buyer, *seller;
	u128			 base, bfee, sfee, brebate, srebate, fees;
	char			 ref[32];
	int			 rc;

	t = ofind(ex, (int64_t)e->trade.taker_id);
	mo = ofind(ex, (int64_t)e->trade.maker_id);
	assert(t != NULL && mo != NULL);
	rc = market_base_units(&x->m, e->trade.qty, &base);
	assert(rc == 0);
	(void)rc;
	buyer = e->trade.taker_side == BOOK_BUY ? t : mo;
	seller = buyer == t ? mo : t;
	bfee = buyer == t ? e->trade.taker_fee : e->trade.maker_fee;
	sfee = seller == t ? e->trade.taker_fee : e->trade.maker_fee;
	brebate = buyer == mo ? e->trade.maker_rebate : 0;
	srebate = seller == mo ? e->trade.maker_rebate : 0;

	xe->fill_id = ex->next_fill++;
	oref(ref, sizeof ref, "fill", xe->fill_id);

	/*
	 * One audit line per party and token; the fill row itemizes
	 * notional, fees and rebate.  Buyer: pays notional + fee from the
	 * reservation (a maker rebate comes back as available), gets base.
	 */
	assert(buyer->reserved >= e->trade.notional &&
	    buyer->reserved - e->trade.notional >= bfee);
	buyer->reserved -= e->trade.notional + bfee;
	da.neg = false;
	da.abs = brebate;
	dt.neg = true;
	dt.abs = e->trade.notional + bfee;
	if (dt.abs >= brebate)
		dt.abs -= brebate;
	else {
		dt.neg = false;
		dt.abs = brebate - dt.abs;
	}
	ledger_fail(ex, ledger_move(ex->l, buyer->user, x->quote, &da, &dt,
	    LEDGER_CAUSE_FILL, ref));
	ledger_fail(ex, ledger_credit(ex->l, buyer->user, x->base, base,
	    LEDGER_CAUSE_FILL, ref));
	/* Seller: gives base from the reservation, gets notional - fee. */
	assert(seller->reserved >= base && e->trade.notional >= sfee);
	seller->reserved -= base;
	ledger_fail(ex, ledger_spend_reserved(ex->l, seller->user, x->base,
	    base, LEDGER_CAUSE_FILL, ref));
	ledger_fail(ex, ledger_credit(ex->l, seller->user, x->quote,
	    e->trade.notional - sfee + srebate, LEDGER_CAUSE_FILL, ref));
	/* The fee account: both fees in, the rebate out (never below 0). */
	fees = e->trade.taker_fee + e->trade.maker_fee;
	assert(fees >= brebate + srebate);
	ledger_fail(ex, ledger_credit(ex->l, LEDGER_FEE_USER, x->quote,
	    fees - brebate - srebate, LEDGER_CAUSE_FEE, ref));

	t->filled += e->trade.qty;
	mo->filled += e->trade.qty;
	assert(t->filled <= t->qty || t->qty == 0);
	assert(mo->filled <= mo->qty);
	assert(mo->qty - mo->filled == e->trade.maker_left);
	t->status = mo->status = LEDGER_ORDER_PARTIAL;
	omark(ex, t);
	omark(ex, mo);

	memset(&f, 0, sizeof f);
	f.id = xe->fill_id;
	f.market_id = x->id;
	f.seq = e->seq;
	f.ts = (int64_t)e->time;
	f.price = e->trade.price;
	f.qty = e->trade.qty;
	f.taker_side = e->trade.taker_side;
	f.taker_order = t->id;
	f.maker_order = mo->id;
	f.taker_user = t->user;
	f.maker_user = mo->user;
	f.base_amount = base;
	f.quote_amount = e->trade.notional;
	f.taker_fee.abs = e->trade.taker_fee;
	if (e->trade.maker_rebate != 0) {
		f.maker_fee.neg = true;
		f.maker_fee.abs = e->trade.maker_rebate;
	} else
		f.maker_fee.abs = e->trade.maker_fee;
	f.fee_token = x->quote;
	f.taker_fee_ppm = e->trade.taker_fee_ppm;
	f.maker_fee_ppm = e->trade.maker_fee_ppm;
	f.fee_tier = (int)e->trade.taker_tier;
	f.maker_tier = (int)e->trade.maker_tier;
	ledger_fail(ex, ledger_fill_insert(ex->l, &f));
	vadd(x, t->user, e->trade.notional);
	vadd(x, mo->user, e->trade.notional);

	/* Keep reservations exact: what the filled lots held is surplus. */
	normalize(ex, mo);
	if (t->qty != 0 && t->filled < t->qty)
		normalize(ex, t);
}

static void
apply_accepted(struct exchange *ex, struct xmarket *x,
    const struct exchange_event *xe)
{
	const struct book_event	*e = &xe->ev;
	struct xorder		*o;

	assert(ex->pend.cmd != NULL);
	o = onew(ex, (int64_t)e->accepted.id);
	o->user = (int64_t)e->accepted.user;
	o->mk = x->idx;
	o->side = (uint8_t)e->accepted.side;
	o->type = (uint8_t)e->accepted.type;
	o->tif = (uint8_t)e->accepted.tif;
	o->post_only = e->accepted.post_only;
	o->stp = (uint8_t)ex->pend.cmd->stp;
	o->price = e->accepted.price;
	o->qty = e->accepted.qty;
	o->reserve_token = ex->pend.token;
	o->status = LEDGER_ORDER_OPEN;
	o->expire_at = (int64_t)e->accepted.expire_at;
	o->created_at = (int64_t)e->time;
	scopy(o->client_id, sizeof o->client_id, xe->client_id);
	ledger_fail(ex, ledger_hold(ex->l, o->user, o->reserve_token, false,
	    ex->pend.amount));
	o->reserved = ex->pend.amount;
	omark(ex, o);
}

/* Turn the book events of the last call into ledger movements. */
static void
apply_events(struct exchange *ex)
{
	struct exchange_event	*xe;
	struct xmarket		*x;
	struct xorder		*o;
	const struct book_event	*e;

	for (; ex->ev_done < ex->nev; ex->ev_done++) {
		xe = &ex->ev[ex->ev_done];
		e = &xe->ev;
		x = mfind(ex, xe->market);
		assert(x != NULL);
		switch (e->type) {
		case BOOK_EV_ACCEPTED:
			apply_accepted(ex, x, xe);
			break;
		case BOOK_EV_TRADE:
			apply_trade(ex, x, xe);
			break;
		case BOOK_EV_CANCELLED:
			o = ofind(ex, (int64_t)e->cancelled.id);
			assert(o != NULL);
			if (e->cancelled.reason == BOOK_CXL_EXPIRED)
				finish(ex, o, LEDGER_ORDER_EXPIRED, "expired");
			else
				finish(ex, o, LEDGER_ORDER_CANCELLED,
				    book_cancel_reason_name(
				    e->cancelled.reason));
			break;
		case BOOK_EV_DONE:
			o = ofind(ex, (int64_t)e->done.id);
			assert(o != NULL);
			finish(ex, o, LEDGER_ORDER_FILLED, NULL);
			break;
		case BOOK_EV_AMENDED:
			o = ofind(ex, (int64_t)e->amended.id);
			assert(o != NULL);
			o->price = e->amended.price;
			o->qty = o->filled + e->amended.qty;
			omark(ex, o);
			break;
		case BOOK_EV_REJECTED:
		case BOOK_EV_RESTED:
		case BOOK_EV_LEVEL:
			break;
		}
	}
}

/* Commands. */

static struct exchange_result *
new_result(struct exchange *ex, const struct exchange_cmd *c)
{
	struct exchange_result	*r;

	if (ex->nres == ex->capres) {
		ex->capres = ex->capres == 0 ? 1024 : ex->capres * 2;
		ex->res = xreallocarray(ex->res, ex->capres, sizeof *ex->res);
	}
	r = &ex->res[ex->nres++];
	memset(r, 0, sizeof *r);
	r->tag = c->tag;
	r->type = c->type;
	r->ev_first = ex->nev;
	return r;
}

/* The user exists and (when trading) may trade; anyone may cancel. */
static enum exchange_reject
user_ok(struct exchange *ex, int64_t user, bool trading)
{
	enum ledger_user_status	st;
	int			rc;

	if (user <= LEDGER_FEE_USER)
		return EXCHANGE_REJ_UNKNOWN_USER;
	if ((rc = ledger_user_status(ex->l, user, &st)) != LEDGER_OK) {
		if (rc == LEDGER_ERR)
			ex->err = 1;
		return EXCHANGE_REJ_UNKNOWN_USER;
	}
	if (trading && st != LEDGER_USER_ACTIVE)
		return EXCHANGE_REJ_FORBIDDEN;
	return EXCHANGE_OK;
}

/* What a place command must reserve, in which token; -1 if it cannot. */
static int
place_reserve(struct xmarket *x, const struct exchange_cmd *c,
    int64_t *token, u128 *amount)
{
	uint64_t	lim, best, q;
	u128		v, r;

	if (c->side == BOOK_SELL) {
		*token = x->base;
		return market_base_units(&x->m, c->qty, amount);
	}
	*token = x->quote;
	lim = c->price;
	if (c->order_type == BOOK_MARKET && c->slippage_bps != 0 &&
	    book_best(x->book, BOOK_SELL, &best, &q)) {
		v = (u128)best * (10000u + (u128)c->slippage_bps) / 10000u;
		if (v > x->m.cfg.max_price_ticks)
			v = x->m.cfg.max_price_ticks;
		if (lim == 0 || v < lim)
			lim = (uint64_t)v;
	}
	if (lim > x->m.cfg.max_price_ticks || c->qty > x->m.cfg.max_qty_lots)
		return -1;	/* the book will refuse it */
	if (c->max_quote != 0 && (c->qty == 0 || lim == 0)) {
		*amount = c->max_quote;
		return 0;
	}
	if (market_reserve(&x->m, true, lim, c->qty, &r) == -1)
		return -1;
	if (c->max_quote != 0 && c->max_quote < r)
		r = c->max_quote;
	*amount = r;
	return 0;
}

static void
do_place(struct exchange *ex, const struct exchange_cmd *c,
    struct exchange_result *r)
{
	struct xmarket		*x;
	struct book_place	 p;
	struct ledger_balance	 b;
	enum book_reject	 br;
	int64_t			 token;
	u128			 amount = 0;

	if ((x = mfind(ex, c->market)) == NULL) {
		r->reject = EXCHANGE_REJ_UNKNOWN_MARKET;
		return;
	}
	if ((r->reject = user_ok(ex, c->user, true)) != EXCHANGE_OK)
		return;
	if (place_reserve(x, c, &token, &amount) == 0) {
		if (ledger_balance_get(ex->l, c->user, token, &b) !=
		    LEDGER_OK) {
			ex->err = 1;
			r->reject = EXCHANGE_REJ_INTERNAL;
			return;
		}
		if (b.available < amount) {
			r->reject = EXCHANGE_REJ_INSUFFICIENT;
			return;
		}
	} else
		token = 0;	/* invalid: the book rejects, nothing held */

	memset(&p, 0, sizeof p);
	p.id = (uint64_t)ex->next_order++;
	p.user = (uint64_t)c->user;
	p.client_id = c->client_id;
	p.side = c->side;
	p.type = c->order_type;
	p.tif = c->tif;
	p.post_only = c->post_only;
	p.stp = c->stp;
	p.price = c->price;
	p.qty = c->qty;
	p.max_quote = c->max_quote;
	p.slippage_bps = c->slippage_bps;
	p.expire_at = c->expire_at;
	p.tier = vtier(x, c->user);
	ex->pend.cmd = c;
	ex->pend.user = c->user;
	ex->pend.token = token;
	ex->pend.amount = amount;
	br = book_place(x->book, ex->ts, &p);
	apply_events(ex);
	ex->pend.cmd = NULL;
	if (br != BOOK_OK) {
		r->reject = EXCHANGE_REJ_BOOK;
		r->book_reason = br;
		return;
	}
	assert(token != 0);
	r->id = (int64_t)p.id;
}

static void
do_cancel(struct exchange *ex, const struct exchange_cmd *c,
    struct exchange_result *r)
{
	struct xorder		*o;
	struct xmarket		*x;
	struct book_order_info	 info;
	enum book_reject	 br = BOOK_REJ_NOT_FOUND;
	size_t			 i;

	if (c->user != 0 &&
	    (r->reject = user_ok(ex, c->user, false)) != EXCHANGE_OK)
		return;
	if (c->type == EXCHANGE_CANCEL) {
		o = ofind(ex, c->order_id);
		if (o == NULL || (c->user != 0 && o->user != c->user)) {
			r->reject = EXCHANGE_REJ_NOT_FOUND;
			return;
		}
		r->id = o->id;
		br = book_cancel(ex->mk[o->mk]->book, ex->ts,
		    (uint64_t)c->user, (uint64_t)c->order_id);
	} else {
		if (c->user == 0 || c->client_id[0] == '\0') {
			r->reject = EXCHANGE_REJ_BAD_REQUEST;
			return;
		}
		for (i = 0; i < ex->nmk; i++) {
			x = ex->mk[i];
			if (c->market != 0 && x->id != c->market)
				continue;
			if (!book_order_by_client(x->book, (uint64_t)c->user,
			    c->client_id, &info))
				continue;
			r->id = (int64_t)info.id;
			br = book_cancel_client(x->book, ex->ts,
			    (uint64_t)c->user, c->client_id);
			break;
		}
	}
	apply_events(ex);
	if (br == BOOK_REJ_NOT_FOUND)
		r->reject = EXCHANGE_REJ_NOT_FOUND;
	else if (br != BOOK_OK) {
		r->reject = EXCHANGE_REJ_BOOK;
		r->book_reason = br;
	} else
		r->ncancelled = 1;
}

static void
do_cancel_all(struct exchange *ex, const struct exchange_cmd *c,
    struct exchange_result *r)
{
	size_t	i;

	if (c->user != 0 &&
	    (r->reject = user_ok(ex, c->user, false)) != EXCHANGE_OK)
		return;
	if (c->market != 0 && mfind(ex, c->market) == NULL) {
		r->reject = EXCHANGE_REJ_UNKNOWN_MARKET;
		return;
	}
	for (i = 0; i < ex->nmk; i++) {
		if (c->market != 0 && ex->mk[i]->id != c->market)
			continue;
		r->ncancelled += book_cancel_all(ex->mk[i]->book, ex->ts,
		    (uint64_t)c->user);
		apply_events(ex);
	}
}

static void
do_amend(struct exchange *ex, const struct exchange_cmd *c,
    struct exchange_result *r)
{
	struct xorder		*o;
	struct xmarket		*x;
	struct ledger_balance	 b;
	enum book_reject	 br;
	uint64_t		 price, left, old_price;
	u128			 n;
	char			 ref[32];

	if ((r->reject = user_ok(ex, c->user, false)) != EXCHANGE_OK)
		return;
	o = ofind(ex, c->order_id);
	if (o == NULL || o->user != c->user) {
		r->reject = EXCHANGE_REJ_NOT_FOUND;
		return;
	}
	x = ex->mk[o->mk];
	r->id = o->id;
	price = c->price != 0 ? c->price : o->price;
	left = c->qty != 0 ? c->qty : o->qty - o->filled;
	/* Hold what the amended order needs before the book sees it. */
	if (price <= x->m.cfg.max_price_ticks &&
	    left <= x->m.cfg.max_qty_lots) {
		old_price = o->price;
		o->price = price;
		n = need(x, o, left);
		o->price = old_price;
		if (n > o->reserved) {
			if (ledger_balance_get(ex->l, o->user, o->reserve_token,
			    &b) != LEDGER_OK) {
				ex->err = 1;
				r->reject = EXCHANGE_REJ_INTERNAL;
				return;
			}
			if (b.available < n - o->reserved) {
				r->reject = EXCHANGE_REJ_INSUFFICIENT;
				return;
			}
			oref(ref, sizeof ref, "order", o->id);
			ledger_fail(ex, ledger_reserve(ex->l, o->user,
			    o->reserve_token, n - o->reserved,
			    LEDGER_CAUSE_RESERVATION, ref));
			o->reserved = n;
			omark(ex, o);
		}
	}
	br = book_amend(x->book, ex->ts, (uint64_t)c->user,
	    (uint64_t)c->order_id, c->price, c->qty);
	apply_events(ex);
	/* Still live (amended or refused): hold exactly what it needs. */
	if ((o = ofind(ex, r->id)) != NULL)
		normalize(ex, o);
	if (br != BOOK_OK) {
		r->reject = br == BOOK_REJ_NOT_FOUND ? EXCHANGE_REJ_NOT_FOUND :
		    EXCHANGE_REJ_BOOK;
		r->book_reason = br;
	}
}

static void
do_deposit(struct exchange *ex, const struct exchange_cmd *c,
    struct exchange_result *r)
{
	int	rc;

	rc = ledger_deposit_credit(ex->l, c->user, c->token, c->amount, c->ref,
	    c->op_index, &r->id);
	switch (rc) {
	case LEDGER_OK:
		break;
	case LEDGER_DUPLICATE:
		r->reject = EXCHANGE_REJ_DUPLICATE;
		break;
	case LEDGER_OVERFLOW:
	case LEDGER_INVALID:
		r->reject = EXCHANGE_REJ_BAD_REQUEST;
		break;
	default:
		ex->err = 1;
		r->reject = EXCHANGE_REJ_INTERNAL;
		break;
	}
}

static void
do_withdraw(struct exchange *ex, const struct exchange_cmd *c,
    struct exchange_result *r)
{
	int	rc;

	rc = ledger_withdrawal_request(ex->l, c->user, c->token, c->amount,
	    c->to, c->ref, c->needs_approval, &r->id);
	switch (rc) {
	case LEDGER_OK:
		break;
	case LEDGER_DUPLICATE:
		r->reject = EXCHANGE_REJ_DUPLICATE;
		break;
	case LEDGER_INSUFFICIENT:
		r->reject = EXCHANGE_REJ_INSUFFICIENT;
		break;
	case LEDGER_FORBIDDEN:
		r->reject = EXCHANGE_REJ_FORBIDDEN;
		break;
	case LEDGER_INVALID:
	case LEDGER_OVERFLOW:
	case LEDGER_NOTFOUND:
	case LEDGER_BADSTATE:
		r->reject = EXCHANGE_REJ_BAD_REQUEST;
		break;
	default:
		ex->err = 1;
		r->reject = EXCHANGE_REJ_INTERNAL;
		break;
	}
}

static int
cmp_xorder_id(const void *a, const void *b)
{
	const struct xorder	*x = *(struct xorder * const *)a;
	const struct xorder	*y = *(struct xorder * const *)b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * New fee rates: store them, rebuild the market's book with them (same
 * orders, same time priority, sequence numbers go on), then make every
 * resting buy hold what the new rates need.
 */
static void
do_set_fees(struct exchange *ex, const struct exchange_cmd *c,
    struct exchange_result *r)
{
	struct xmarket		*x;
	struct market_config	 cfg;
	struct market		 m;
	struct market_tiers	 nt;
	struct book		*nb;
	struct book_place	 p;
	struct xorder		**v = NULL, *o;
	struct ledger_balance	 b;
	char			*why = NULL, ref[32];
	size_t			 n = 0, i;
	uint32_t		 j;
	u128			 nd;

	if ((x = mfind(ex, c->market)) == NULL) {
		r->reject = EXCHANGE_REJ_UNKNOWN_MARKET;
		return;
	}
	cfg = x->m.cfg;
	cfg.maker_fee_ppm = c->maker_fee_ppm;
	cfg.taker_fee_ppm = c->taker_fee_ppm;
	if (market_init(&m, &cfg, &why) == -1) {
		free(why);
		r->reject = EXCHANGE_REJ_BAD_REQUEST;
		return;
	}
	/* The tiers stay within the base rates (market.h): else refused. */
	nt = x->tiers;
	nt.tier[0].maker_fee_ppm = c->maker_fee_ppm;
	nt.tier[0].taker_fee_ppm = c->taker_fee_ppm;
	if (market_tiers_check(&m, &nt, &why) == -1) {
		free(why);
		r->reject = EXCHANGE_REJ_BAD_REQUEST;
		return;
	}
	if (ledger_market_set_fees(ex->l, x->id, c->maker_fee_ppm,
	    c->taker_fee_ppm) != LEDGER_OK) {
		ex->err = 1;
		r->reject = EXCHANGE_REJ_INTERNAL;
		return;
	}
	for (j = 0; j < ex->npool; j++) {
		o = &ex->pool[j];
		if (o->live && o->mk == x->idx) {
			v = xreallocarray(v, n + 1, sizeof *v);
			v[n++] = o;
		}
	}
	if (n > 1)
		qsort(v, n, sizeof *v, cmp_xorder_id);
	nb = book_create(&m, book_seq(x->book) + 1, sink, x);
	for (i = 0; i < n; i++) {
		o = v[i];
		memset(&p, 0, sizeof p);
		p.id = (uint64_t)o->id;
		p.user = (uint64_t)o->user;
		p.client_id = o->client_id;
		p.side = (enum book_side)o->side;
		p.type = BOOK_LIMIT;
		p.tif = (enum book_tif)o->tif;
		p.post_only = o->post_only != 0;
		p.stp = (enum book_stp)o->stp;
		p.price = o->price;
		p.qty = o->qty;
		p.expire_at = (uint64_t)o->expire_at;
		if (book_restore(nb, &p, o->qty - o->filled) != BOOK_OK)
			fatalx("exchange: order %" PRId64 " does not fit the "
			    "rebuilt book", o->id);
	}
	book_free(x->book);
	x->book = nb;
	x->m = m;
	x->tiers = nt;
	vbook(x);
	for (i = 0; i < n; i++) {
		o = v[i];
		if (o->side != BOOK_BUY || !o->live)
			continue;
		nd = need(x, o, o->qty - o->filled);
		if (nd <= o->reserved) {
			normalize(ex, o);
			continue;
		}
		if (ledger_balance_get(ex->l, o->user, o->reserve_token, &b) !=
		    LEDGER_OK) {
			ex->err = 1;
			break;
		}
		if (b.available >= nd - o->reserved) {
			oref(ref, sizeof ref, "order", o->id);
			ledger_fail(ex, ledger_reserve(ex->l, o->user,
			    o->reserve_token, nd - o->reserved,
			    LEDGER_CAUSE_RESERVATION, ref));
			o->reserved = nd;
			omark(ex, o);
			continue;
		}
		/* Cannot cover the new fee: the order goes. */
		book_cancel(x->book, ex->ts, BOOK_ANY_USER, (uint64_t)o->id);
		apply_events(ex);
		r->ncancelled++;
	}
	free(v);
}

/*
 * The market's live orders, oldest first (time priority), for rebuilding
 * its book; *n of them in an array the caller frees.
 */
static struct xorder **
live_orders(struct exchange *ex, const struct xmarket *x, size_t *n)
{
	struct xorder	**v = NULL, *o;
	uint32_t	 j;

	*n = 0;
	for (j = 0; j < ex->npool; j++) {
		o = &ex->pool[j];
		if (o->live && o->mk == x->idx) {
			v = xreallocarray(v, *n + 1, sizeof *v);
			v[(*n)++] = o;
		}
	}
	if (*n > 1)
		qsort(v, *n, sizeof *v, cmp_xorder_id);
	return v;
}

/*
 * The audit line of a market setting change (limits, fee tiers). The
 * audit log only has balance causes, so it is a zero "correction" on the
 * fee account in the market's quote token, the new setting in ref. Same
 * transaction as the change.
 */
static int
market_audit(struct exchange *ex, const struct xmarket *x, const char *ref)
{
	sqlite3_stmt	*st;
	int		 rc;

	if (sqlite3_prepare_v2(ledger_db(ex->l), "INSERT INTO audit_log(ts, "
	    "user_id, token_id, cause, ref, d_available, d_total) VALUES (?1,"
	    " ?2, ?3, 'correction', ?4, '0', '0')", -1, &st, NULL) !=
	    SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, (int64_t)ex->ts);
	sqlite3_bind_int64(st, 2, LEDGER_FEE_USER);
	sqlite3_bind_int64(st, 3, x->quote);
	sqlite3_bind_text(st, 4, ref, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* The audit line of a limits change. */
static int
limits_audit(struct exchange *ex, const struct xmarket *x,
    const struct market_config *c)
{
	char	mn[MONEY_BUFSZ], ref[LEDGER_REASON_MAX];

	money_format(mn, c->min_notional, c->quote.decimals);
	/* Fits for any sane pair; a longer one is cut, never overflows. */
	if (snprintf(ref, sizeof ref, "limits %s lots=%" PRIu64 "..%" PRIu64
	    " notional=%s orders=%" PRIu32 " levels=%" PRIu32 " per_user=%"
	    PRIu32, x->m.pair, c->min_lots, c->max_qty_lots, mn,
	    c->limits.max_orders, c->limits.max_levels,
	    c->limits.max_orders_per_user) < 0)
		return -1;
	return market_audit(ex, x, ref);
}

/*
 * New limits: check them, rebuild the book with them (it allocates for
 * max_orders and max_levels, so raising those needs a new book; same
 * orders, same time priority, sequence numbers go on), then store them.
 * The new book is built before anything changes, so an order that does not
 * fit leaves the old book, the ledger and the market as they were.
 */
static void
do_set_limits(struct exchange *ex, const struct exchange_cmd *c,
    struct exchange_result *r)
{
	struct xmarket		*x;
	struct market_config	 cfg;
	struct market		 m;
	struct book		*nb;
	struct book_place	 p;
	struct xorder		**v, *o;
	enum book_reject	 why = BOOK_OK;
	char			*cause = NULL;
	int64_t			 id;
	size_t			 n, i;

	if ((x = mfind(ex, c->market)) == NULL) {
		r->reject = EXCHANGE_REJ_UNKNOWN_MARKET;
		return;
	}
	cfg = x->m.cfg;
	cfg.min_lots = c->min_lots;
	cfg.min_notional = c->min_notional;
	cfg.max_qty_lots = c->max_qty_lots;
	cfg.limits = c->limits;
	if (market_init(&m, &cfg, &cause) == -1) {
		free(cause);
		r->reject = EXCHANGE_REJ_BAD_REQUEST;
		return;
	}
	v = live_orders(ex, x, &n);
	nb = book_create(&m, book_seq(x->book) + 1, sink, x);
	for (i = 0; i < n && why == BOOK_OK; i++) {
		o = v[i];
		memset(&p, 0, sizeof p);
		p.id = (uint64_t)o->id;
		p.user = (uint64_t)o->user;
		p.client_id = o->client_id;
		p.side = (enum book_side)o->side;
		p.type = BOOK_LIMIT;
		p.tif = (enum book_tif)o->tif;
		p.post_only = o->post_only != 0;
		p.stp = (enum book_stp)o->stp;
		p.price = o->price;
		p.qty = o->qty;
		p.expire_at = (uint64_t)o->expire_at;
		if ((why = book_restore(nb, &p, o->qty - o->filled)) !=
		    BOOK_OK) {
			r->reject = EXCHANGE_REJ_BOOK;
			r->book_reason = why;
			r->id = o->id;
		}
	}
	free(v);
	if (why != BOOK_OK) {
		book_free(nb);
		return;
	}
	if (ledger_market_put(ex->l, &m, &id) != LEDGER_OK || id != x->id ||
	    limits_audit(ex, x, &m.cfg) == -1) {
		book_free(nb);
		ex->err = 1;
		r->reject = EXCHANGE_REJ_INTERNAL;
		return;
	}
	book_free(x->book);
	x->book = nb;
	x->m = m;
}

/* The audit line of a tier table change. */
static int
tiers_audit(struct exchange *ex, const struct xmarket *x,
    const struct market_tiers *t)
{
	char		 ref[LEDGER_REASON_MAX], v[MONEY_BUFSZ];
	size_t		 len;
	unsigned int	 i;

	len = (size_t)snprintf(ref, sizeof ref, "fee tiers %s", x->m.pair);
	for (i = 1; i < t->n && len < sizeof ref; i++) {
		money_format(v, t->tier[i].min_volume, x->m.cfg.quote.decimals);
		len += (size_t)snprintf(ref + len, sizeof ref - len,
		    " %s:%d:%d", v, t->tier[i].maker_fee_ppm,
		    t->tier[i].taker_fee_ppm);
	}
	return market_audit(ex, x, ref);
}

/*
 * A new tier table: checked against the base rates, stored and audited,
 * then every user's tier recounted; reservations never change (tier rates
 * are capped by the base rates).
 */
static void
do_set_tiers(struct exchange *ex, const struct exchange_cmd *c,
    struct exchange_result *r)
{
	struct xmarket		*x;
	struct market_tiers	 t;
	char			*why = NULL;
	int			 rc;

	if ((x = mfind(ex, c->market)) == NULL) {
		r->reject = EXCHANGE_REJ_UNKNOWN_MARKET;
		return;
	}
	t = c->tiers;
	t.tier[0].min_volume = 0;
	t.tier[0].maker_fee_ppm = x->m.cfg.maker_fee_ppm;
	t.tier[0].taker_fee_ppm = x->m.cfg.taker_fee_ppm;
	if (market_tiers_check(&x->m, &t, &why) == -1) {
		free(why);
		r->reject = EXCHANGE_REJ_BAD_REQUEST;
		return;
	}
	if (ledger_fee_tiers_put(ex->l, x->id, &t) != LEDGER_OK ||
	    tiers_audit(ex, x, &t) == -1) {
		ex->err = 1;
		r->reject = EXCHANGE_REJ_INTERNAL;
		return;
	}
	rc = book_set_tiers(x->book, &t);
	assert(rc == 0);
	(void)rc;
	x->tiers = t;
	if (vrecount(ex, x) == -1) {
		ex->err = 1;
		r->reject = EXCHANGE_REJ_INTERNAL;
	}
}

static void
run_one(struct exchange *ex, const struct exchange_cmd *c)
{
	struct exchange_result	*r;
	size_t			 i;

	r = new_result(ex, c);
	switch (c->type) {
	case EXCHANGE_PLACE:
		do_place(ex, c, r);
		break;
	case EXCHANGE_CANCEL:
	case EXCHANGE_CANCEL_CLIENT:
		do_cancel(ex, c, r);
		break;
	case EXCHANGE_CANCEL_ALL:
		do_cancel_all(ex, c, r);
		break;
	case EXCHANGE_AMEND:
		do_amend(ex, c, r);
		break;
	case EXCHANGE_EXPIRE:
		for (i = 0; i < ex->nmk; i++) {
			r->ncancelled += book_expire(ex->mk[i]->book, ex->ts);
			apply_events(ex);
		}
		break;
	case EXCHANGE_DEPOSIT:
		do_deposit(ex, c, r);
		break;
	case EXCHANGE_WITHDRAW:
		do_withdraw(ex, c, r);
		break;
	case EXCHANGE_SET_FEES:
		do_set_fees(ex, c, r);
		break;
	case EXCHANGE_SET_TIERS:
		do_set_tiers(ex, c, r);
		break;
	case EXCHANGE_SET_LIMITS:
		do_set_limits(ex, c, r);
		/* A new book: it gets the fee tiers again. */
		if (r->reject == EXCHANGE_OK)
			vbook(mfind(ex, c->market));
		break;
	default:
		r->reject = EXCHANGE_REJ_BAD_REQUEST;
		break;
	}
	/* r may have moved if new_result grew the array: refetch. */
	r = &ex->res[ex->nres - 1];
	r->ev_count = ex->nev - r->ev_first;
}

static int
save_counters(struct exchange *ex)
{
	char	name[48];
	size_t	i;
	uint64_t s;

	if (ledger_counter_set(ex->l, "next_order", ex->next_order) !=
	    LEDGER_OK || ledger_counter_set(ex->l, "next_fill",
	    ex->next_fill) != LEDGER_OK || ledger_counter_set(ex->l,
	    "last_ts", (int64_t)ex->ts) != LEDGER_OK)
		return -1;
	for (i = 0; i < ex->nmk; i++) {
		s = book_seq(ex->mk[i]->book);
		if (s == ex->mk[i]->saved_seq)
			continue;
		snprintf(name, sizeof name, "seq:%" PRId64, ex->mk[i]->id);
		if (ledger_counter_set(ex->l, name, (int64_t)s) != LEDGER_OK)
			return -1;
	}
	return 0;
}

int
exchange_run(struct exchange *ex, uint64_t now, struct exchange_out *out,
    char **cause)
{
	size_t	i;
	char	*why = NULL;

	ex->nres = ex->nev = ex->ev_done = 0;
	ex->err = 0;
	ex->ts = now > ex->last_ts ? now : ex->last_ts;
	if (ledger_begin(ex->l, cause) == -1)
		goto failed;
	/* The 30-day window moves: recount tiered markets now and then. */
	for (i = 0; i < ex->nmk && !ex->err; i++)
		if (ex->mk[i]->tiers.n > 1 && ex->ts >= ex->mk[i]->recount_at &&
		    vrecount(ex, ex->mk[i]) == -1)
			ex->err = 1;
	for (i = 0; i < ex->nq && !ex->err; i++)
		run_one(ex, &ex->q[i]);
	if (ex->err || oflush(ex) == -1 || save_counters(ex) == -1) {
		ledger_rollback(ex->l);
		if (cause != NULL)
			xasprintf(cause, "ledger write failed");
		goto failed;
	}
	if (ledger_commit_async(ex->l, &out->ticket, &why) == -1) {
		if (cause != NULL)
			*cause = why;
		else
			free(why);
		goto failed;
	}
	for (i = 0; i < ex->nmk; i++)
		ex->mk[i]->saved_seq = book_seq(ex->mk[i]->book);
	ex->last_ts = ex->ts;
	ex->ticket = out->ticket;
	ex->nq = 0;
	out->results = ex->res;
	out->nresults = ex->nres;
	out->events = ex->ev;
	out->nevents = ex->nev;
	out->ts = ex->ts;
	return 0;

failed:
	/* Nothing of this batch is durable: forget it, rebuild from disk. */
	ex->nres = ex->nev = ex->ev_done = 0;
	for (i = 0; i < ex->nq; i++) {
		struct exchange_result	*r = new_result(ex, &ex->q[i]);

		r->reject = EXCHANGE_REJ_INTERNAL;
	}
	ex->nq = 0;
	unload(ex);
	if (load(ex, &why) == -1)
		fatalx("exchange: cannot reload after a failed batch: %s", why);
	out->results = ex->res;
	out->nresults = ex->nres;
	out->events = NULL;
	out->nevents = 0;
	out->ts = ex->ts;
	out->ticket = ex->ticket;
	return -1;
}

int
exchange_submit(struct exchange *ex, const struct exchange_cmd *c)
{
	if (ex->nq >= EXCHANGE_QUEUE_MAX)
		return -1;
	if (ex->nq == ex->capq) {
		ex->capq = ex->capq == 0 ? 1024 : ex->capq * 2;
		ex->q = xreallocarray(ex->q, ex->capq, sizeof *ex->q);
	}
	ex->q[ex->nq] = *c;
	/* Strings must be terminated whatever the caller sent. */
	ex->q[ex->nq].client_id[sizeof c->client_id - 1] = '\0';
	ex->q[ex->nq].ref[sizeof c->ref - 1] = '\0';
	ex->q[ex->nq].to[sizeof c->to - 1] = '\0';
	ex->nq++;
	return 0;
}

size_t
exchange_pending(struct exchange *ex)
{
	return ex->nq;
}

/* Loading: markets, books, open orders. */

struct loadctx {
	struct exchange	*ex;
	char		*cause;
};

static void
load_market(const struct ledger_market *lm, void *arg)
{
	struct loadctx	*lc = arg;
	struct market	 m;
	char		 name[48], *why = NULL;
	int64_t		 seq;

	if (lc->cause != NULL)
		return;
	if (market_init(&m, &lm->cfg, &why) == -1) {
		xasprintf(&lc->cause, "market %s: %s", lm->pair, why);
		free(why);
		return;
	}
	snprintf(name, sizeof name, "seq:%" PRId64, lm->id);
	if (ledger_counter_get(lc->ex->l, name, &seq) == -1 || seq < 0) {
		xasprintf(&lc->cause, "market %s: no sequence", lm->pair);
		return;
	}
	madd(lc->ex, lm, &m, (uint64_t)seq + 1);
}

/* Each market's tier table and everyone's tier, before the orders. */
static int
load_tiers(struct exchange *ex, char **cause)
{
	struct xmarket		*x;
	struct market_tiers	 t;
	char			*why = NULL;
	size_t			 i;

	for (i = 0; i < ex->nmk; i++) {
		x = ex->mk[i];
		if (ledger_fee_tiers_get(ex->l, x->id, &t) != LEDGER_OK) {
			xasprintf(cause, "market %s: cannot read fee tiers",
			    x->m.pair);
			return -1;
		}
		t.tier[0].maker_fee_ppm = x->m.cfg.maker_fee_ppm;
		t.tier[0].taker_fee_ppm = x->m.cfg.taker_fee_ppm;
		if (market_tiers_check(&x->m, &t, &why) == -1 ||
		    book_set_tiers(x->book, &t) == -1) {
			xasprintf(cause, "market %s: fee tiers: %s", x->m.pair,
			    why != NULL ? why : "refused");
			free(why);
			return -1;
		}
		x->tiers = t;
		if (vrecount(ex, x) == -1) {
			xasprintf(cause, "market %s: cannot count volumes",
			    x->m.pair);
			return -1;
		}
	}
	return 0;
}

static void
load_order(const struct ledger_order *r, void *arg)
{
	struct loadctx		*lc = arg;
	struct exchange		*ex = lc->ex;
	struct xmarket		*x;
	struct xorder		*o;
	struct book_place	 p;
	enum book_reject	 br;

	if (lc->cause != NULL)
		return;
	if ((x = mfind(ex, r->market_id)) == NULL || r->type != BOOK_LIMIT ||
	    r->filled >= r->qty) {
		xasprintf(&lc->cause, "order %" PRId64 ": bad open row", r->id);
		return;
	}
	memset(&p, 0, sizeof p);
	p.id = (uint64_t)r->id;
	p.user = (uint64_t)r->user_id;
	p.client_id = r->client_id;
	p.side = (enum book_side)r->side;
	p.type = BOOK_LIMIT;
	p.tif = (enum book_tif)r->tif;
	p.post_only = r->post_only != 0;
	p.stp = (enum book_stp)r->stp;
	p.price = r->price;
	p.qty = r->qty;
	p.expire_at = (uint64_t)r->expire_at;
	p.tier = vtier(x, r->user_id);
	if ((br = book_restore(x->book, &p, r->qty - r->filled)) != BOOK_OK) {
		xasprintf(&lc->cause, "order %" PRId64 ": cannot restore: %s",
		    r->id, book_reject_name(br));
		return;
	}
	o = onew(ex, r->id);
	o->user = r->user_id;
	o->mk = x->idx;
	o->side = (uint8_t)r->side;
	o->type = (uint8_t)r->type;
	o->tif = (uint8_t)r->tif;
	o->post_only = (uint8_t)r->post_only;
	o->stp = (uint8_t)r->stp;
	o->price = r->price;
	o->qty = r->qty;
	o->filled = r->filled;
	o->reserved = r->reserved;
	o->reserve_token = r->reserve_token;
	o->status = r->status;
	o->expire_at = r->expire_at;
	o->created_at = r->created_at;
	o->updated_at = r->updated_at;
	o->stored = 1;
	snprintf(o->client_id, sizeof o->client_id, "%.*s", BOOK_CLIENT_ID_MAX,
	    r->client_id);
}

/* Build markets, books and live orders from the ledger. */
static int
load(struct exchange *ex, char **cause)
{
	struct loadctx	lc = { ex, NULL };
	int64_t		v;

	if (ledger_counter_get(ex->l, "next_order", &v) == -1)
		goto dberr;
	ex->next_order = v > 0 ? v : 1;
	if (ledger_counter_get(ex->l, "next_fill", &v) == -1)
		goto dberr;
	ex->next_fill = v > 0 ? v : 1;
	if (ledger_counter_get(ex->l, "last_ts", &v) == -1)
		goto dberr;
	ex->last_ts = v > 0 ? (uint64_t)v : 0;
	ex->ts = ex->last_ts;
	if (ledger_market_list(ex->l, load_market, &lc) != LEDGER_OK &&
	    lc.cause == NULL)
		xasprintf(&lc.cause, "cannot read markets");
	if (lc.cause == NULL)
		(void)load_tiers(ex, &lc.cause);
	if (lc.cause == NULL &&
	    ledger_order_list_open(ex->l, load_order, &lc) != LEDGER_OK &&
	    lc.cause == NULL)
		xasprintf(&lc.cause, "cannot read open orders");
	if (lc.cause != NULL) {
		*cause = lc.cause;
		unload(ex);
		return -1;
	}
	return 0;

dberr:
	xasprintf(cause, "cannot read counters");
	return -1;
}

static void
unload(struct exchange *ex)
{
	size_t	i;

	for (i = 0; i < ex->nmk; i++) {
		book_free(ex->mk[i]->book);
		free(ex->mk[i]->vol);
		free(ex->mk[i]);
	}
	free(ex->mk);
	ex->mk = NULL;
	ex->nmk = 0;
	free(ex->pool);
	free(ex->bucket);
	ex->pool = NULL;
	ex->bucket = NULL;
	ex->npool = ex->nbucket = 0;
	ex->free = NIL;
	ex->ndirty = 0;
	orehash(ex, 1024);
}

struct exchange *
exchange_open(const char *path, const struct ledger_options *opts,
    char **cause)
{
	struct exchange	*ex;
	char		**fail;
	size_t		 nfail;
	int		 n;

	ex = xcalloc(1, sizeof *ex);
	ex->free = NIL;
	orehash(ex, 1024);
	if ((ex->l = ledger_open(path, opts, cause)) == NULL) {
		free(ex->bucket);
		free(ex);
		return NULL;
	}
	if (load(ex, cause) == -1)
		goto fail;
	/* Pair the checks: what was written is checked again when read. */
	n = exchange_check(ex, &fail, &nfail);
	if (n != 0) {
		if (n < 0)
			xasprintf(cause, "check failed: database error");
		else {
			xasprintf(cause, "check failed (%d): %s", n, fail[0]);
			ledger_check_free(fail, nfail);
		}
		goto fail;
	}
	return ex;

fail:
	exchange_close(ex);
	return NULL;
}

void
exchange_close(struct exchange *ex)
{
	if (ex == NULL)
		return;
	unload(ex);
	ledger_close(ex->l);
	free(ex->bucket);
	free(ex->dirty);
	free(ex->rows);
	free(ex->q);
	free(ex->res);
	free(ex->ev);
	free(ex);
}

struct ledger *
exchange_ledger(struct exchange *ex)
{
	return ex->l;
}

const struct book *
exchange_book(struct exchange *ex, int64_t id)
{
	struct xmarket	*x;

	return (x = mfind(ex, id)) != NULL ? x->book : NULL;
}

const struct market *
exchange_market(struct exchange *ex, int64_t id)
{
	struct xmarket	*x;

	return (x = mfind(ex, id)) != NULL ? &x->m : NULL;
}

const struct market_tiers *
exchange_market_tiers(struct exchange *ex, int64_t id)
{
	struct xmarket	*x;

	return (x = mfind(ex, id)) != NULL ? &x->tiers : NULL;
}

int
exchange_user_tier(struct exchange *ex, int64_t market, int64_t user,
    unsigned int *tier, u128 *volume)
{
	const struct xvol	*e;
	struct xmarket		*x;

	if ((x = mfind(ex, market)) == NULL)
		return -1;
	e = vfind(x, user);
	*tier = e != NULL ? e->tier : 0;
	*volume = e != NULL ? e->vol : 0;
	return 0;
}

int
exchange_market_add(struct exchange *ex, const struct market_config *cfg,
    int64_t *id, char **cause)
{
	struct ledger_market	 lm;
	struct market		 m;
	struct xmarket		*x;
	int			 rc;

	if (market_init(&m, cfg, cause) == -1)
		return -1;
	if (ledger_market_find(ex->l, m.pair, &lm) == LEDGER_OK) {
		if ((x = mfind(ex, lm.id)) == NULL)
			fatalx("exchange: market %s not loaded", m.pair);
		*id = lm.id;
		return 0;
	}
	if ((rc = ledger_market_put(ex->l, &m, id)) != LEDGER_OK) {
		xasprintf(cause, "cannot store market %s: %s", m.pair,
		    ledger_result_string(rc));
		return -1;
	}
	if (ledger_market_get(ex->l, *id, &lm) != LEDGER_OK) {
		xasprintf(cause, "cannot read market %s back", m.pair);
		return -1;
	}
	madd(ex, &lm, &m, 1);
	return 0;
}

int
exchange_market_set_status(struct exchange *ex, int64_t id,
    enum market_status st)
{
	struct xmarket	*x;

	if ((x = mfind(ex, id)) == NULL)
		return -1;
	if (ledger_market_set_status(ex->l, id, st) != LEDGER_OK)
		return -1;
	x->m.cfg.status = st;
	book_set_status(x->book, st);
	return 0;
}

/* Checks. */

struct checkctx {
	struct exchange	*ex;
	char		**msg;
	size_t		 n, cap;
	size_t		 rows;
};

static void
check_msg(struct checkctx *cc, char *m)
{
	if (cc->n == cc->cap) {
		cc->cap = cc->cap == 0 ? 8 : cc->cap * 2;
		cc->msg = xreallocarray(cc->msg, cc->cap, sizeof *cc->msg);
	}
	cc->msg[cc->n++] = m;
}

static void
check_row(const struct ledger_order *r, void *arg)
{
	struct checkctx		*cc = arg;
	struct exchange		*ex = cc->ex;
	struct xorder		*o;
	struct book_order_info	 info;
	struct xmarket		*x;
	char			*m;

	cc->rows++;
	o = ofind(ex, r->id);
	x = mfind(ex, r->market_id);
	if (o == NULL || x == NULL || !book_order(x->book, (uint64_t)r->id,
	    &info)) {
		xasprintf(&m, "order %" PRId64 ": live in the ledger, not in "
		    "the book", r->id);
		check_msg(cc, m);
		return;
	}
	if (info.left != r->qty - r->filled || info.price != r->price ||
	    o->reserved != r->reserved || o->filled != r->filled) {
		xasprintf(&m, "order %" PRId64 ": book and ledger disagree",
		    r->id);
		check_msg(cc, m);
	}
	if (r->reserved != need(x, o, info.left)) {
		xasprintf(&m, "order %" PRId64 ": reservation is not what its "
		    "remaining lots need", r->id);
		check_msg(cc, m);
	}
	if (r->reserve_token != (r->side == BOOK_BUY ? x->quote : x->base)) {
		xasprintf(&m, "order %" PRId64 ": reserves the wrong token",
		    r->id);
		check_msg(cc, m);
	}
}

int
exchange_check(struct exchange *ex, char ***failures, size_t *nfailures)
{
	struct checkctx	 cc;
	char		**lf, *m;
	size_t		 nlf, i, inbooks = 0;
	int		 n;

	memset(&cc, 0, sizeof cc);
	cc.ex = ex;
	if (ledger_order_list_open(ex->l, check_row, &cc) != LEDGER_OK)
		goto dberr;
	for (i = 0; i < ex->nmk; i++) {
		book_check(ex->mk[i]->book);
		inbooks += book_order_count(ex->mk[i]->book);
	}
	if (inbooks != cc.rows) {
		xasprintf(&m, "books hold %zu orders, the ledger %zu live",
		    inbooks, cc.rows);
		check_msg(&cc, m);
	}
	if ((n = ledger_check(ex->l, &lf, &nlf)) < 0)
		goto dberr;
	for (i = 0; i < nlf; i++)
		check_msg(&cc, lf[i]);
	free(lf);
	n = (int)cc.n;
	if (failures != NULL) {
		*failures = cc.msg;
		*nfailures = cc.n;
	} else
		ledger_check_free(cc.msg, cc.n);
	return n;

dberr:
	ledger_check_free(cc.msg, cc.n);
	return -1;
}

const char *
exchange_reject_code(const struct exchange_result *r)
{
	switch (r->reject) {
	case EXCHANGE_OK:
		return "ok";
	case EXCHANGE_REJ_INSUFFICIENT:
		return "insufficient_funds";
	case EXCHANGE_REJ_UNKNOWN_MARKET:
		return "unknown_market";
	case EXCHANGE_REJ_UNKNOWN_USER:
		return "unauthorized";
	case EXCHANGE_REJ_FORBIDDEN:
		return "forbidden";
	case EXCHANGE_REJ_NOT_FOUND:
		return "not_found";
	case EXCHANGE_REJ_BAD_REQUEST:
		return "bad_request";
	case EXCHANGE_REJ_DUPLICATE:
		return "conflict";
	case EXCHANGE_REJ_INTERNAL:
		return "internal";
	case EXCHANGE_REJ_BOOK:
		break;
	}
	switch (r->book_reason) {
	case BOOK_REJ_HALTED:
		return "market_halted";
	case BOOK_REJ_CANCEL_ONLY:
		return "market_cancel_only";
	case BOOK_REJ_BAD_PRICE:
		return "bad_price";
	case BOOK_REJ_BAD_QTY:
	case BOOK_REJ_MIN_SIZE:
	case BOOK_REJ_MIN_NOTIONAL:
		return "bad_amount";
	case BOOK_REJ_DUPLICATE_CLIENT_ID:
		return "duplicate_client_id";
	case BOOK_REJ_WOULD_TAKE:
		return "would_take";
	case BOOK_REJ_NO_LIQUIDITY:
		return "no_liquidity";
	case BOOK_REJ_BOOK_FULL:
	case BOOK_REJ_LEVELS_FULL:
	case BOOK_REJ_USER_LIMIT:
		return "limit_exceeded";
	case BOOK_REJ_NOT_FOUND:
		return "not_found";
	case BOOK_OK:
	case BOOK_REJ_BAD_ORDER:
	case BOOK_REJ_BAD_CLIENT_ID:
	case BOOK_REJ_DUPLICATE_ID:
	case BOOK_REJ_NO_PROTECTION:
	case BOOK_REJ_EXPIRED:
		break;
	}
	return "bad_request";
}
