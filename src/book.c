/*
 * book: price-time-priority matching for one market (book.h).
 *
 * Layout, chosen so every hot operation is O(1) or O(log levels) and the
 * matching path never allocates:
 * - orders live in a pool of max_orders slots (plus one for the taker being
 *   matched) with a free stack; each resting order is on an intrusive
 *   doubly linked FIFO of its price level and on its user's list;
 * - an open-addressing table (linear probing, backward-shift delete) maps
 *   order id to slot, another maps user id to a per-user record (count and
 *   list), a third maps a hash of (user, client id) to slot;
 * - each side keeps its level records in an array sorted so the BEST price
 *   is LAST: the best price is O(1), a level emptied by matching is popped,
 *   and a new level near the top of the book moves few entries;
 * - GTD orders sit in a binary min-heap on (expire_at, stamp).
 */
#include "config.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "book.h"
#include "util.h"

#define NIL	UINT32_MAX

/* For the few helpers on the hot path with one or two callers. */
#define HOT	static inline __attribute__((always_inline))

struct book_order {
	uint64_t	 id;
	uint64_t	 user;
	uint64_t	 price;
	uint64_t	 left;		/* lots still open */
	uint32_t	 next;		/* level FIFO */
	uint32_t	 prev;
	uint32_t	 level;		/* level record, NIL if not resting */
	uint8_t		 side;
	uint8_t		 stp;
	uint8_t		 post_only;
	uint8_t		 has_cid;
	uint8_t		 tier;		/* fee tier: a row of book.rate */
	/* Colder fields. */
	uint64_t	 qty;		/* original lots */
	uint64_t	 expire_at;
	uint64_t	 stamp;		/* time priority, for expiry ties */
	uint32_t	 unext;		/* user's list, oldest first */
	uint32_t	 uprev;
	uint32_t	 urec;		/* user record */
	uint32_t	 heap;		/* position in expiry heap or NIL */
};

struct book_lvl {
	uint64_t	 price;
	uint64_t	 total;
	uint32_t	 count;
	uint32_t	 head;
	uint32_t	 tail;
	uint32_t	 side;
};

struct book_user {
	uint64_t	 user;
	uint32_t	 count;
	uint32_t	 head;
	uint32_t	 tail;
};

/*
 * Index slot: the low 32 bits of the key pick the home and filter
 * candidates; the full key is confirmed in the order or user record.
 */
struct ix_slot {
	uint32_t	 key;
	uint32_t	 val;		/* NIL: empty */
};

struct ix {
	struct ix_slot	*s;
	uint32_t	 mask;
	unsigned int	 shift;		/* 32 - log2(size) */
};

struct book {
	struct market	 m;
	book_sink_fn	*sink;
	void		*arg;
	uint64_t	 seq;
	uint64_t	 depth_seq;
	uint64_t	 now;
	uint64_t	 stamp;

	struct book_order *o;
	char		(*cid)[BOOK_CLIENT_ID_MAX + 1];
	uint32_t	*ofree;
	uint32_t	 nofree;
	uint32_t	 cap;		/* slots: max_orders + 1 */
	uint32_t	 cap_levels;	/* level slots per side */
	uint32_t	 nlive;		/* resting orders */

	struct book_lvl	*lv;
	uint32_t	*lvfree;
	uint32_t	 nlvfree;
	uint32_t	*side[2];	/* level records, best last */
	uint32_t	 nside[2];

	struct book_user *u;
	uint32_t	*ufree;
	uint32_t	 nufree;

	struct ix	 ids;
	struct ix	 users;
	struct ix	 cids;
	struct ix	 lvix;		/* (price, side) -> level record */

	uint32_t	*heap;
	uint32_t	 nheap;

	uint32_t	 uhint;		/* user record of the last place */

	/*
	 * Fee rates by tier, [tier][0] maker, [tier][1] taker: one load per
	 * fill. Rows past tiers.n hold the base rates.
	 */
	int32_t		 rate[MARKET_TIERS_MAX][2];
	struct market_tiers tiers;
};

static void	 rates_load(struct book *);

/* Open-addressing tables. */

static void
ix_init(struct ix *t, uint32_t entries)
{
	uint32_t	size = 16, i;
	unsigned int	bits = 4;

	/* Load factor at most 2/3 keeps linear probes short. */
	while (size < entries + entries / 2) {
		size <<= 1;
		bits++;
	}
	t->s = xcalloc(size, sizeof *t->s);
	for (i = 0; i < size; i++)
		t->s[i].val = NIL;
	t->mask = size - 1;
	t->shift = 32 - bits;
}

/*
 * Fibonacci hashing: sequential ids (what the ledger hands out) spread
 * evenly, so probe runs stay short and a delete shifts few entries.
 */
static inline uint32_t
ix_home(const struct ix *t, uint32_t key)
{
	return (key * 0x9e3779b1u) >> t->shift;
}

static inline void
ix_put(struct ix *t, uint32_t key, uint32_t val)
{
	uint32_t	p = ix_home(t, key);

	while (t->s[p].val != NIL)
		p = (p + 1) & t->mask;
	t->s[p].key = key;
	t->s[p].val = val;
}

/* Delete the entry holding val, shifting later entries back. */
static inline void
ix_del(struct ix *t, uint32_t key, uint32_t val)
{
	uint32_t	p = ix_home(t, key), q, h;

	while (t->s[p].val != val) {
		assert(t->s[p].val != NIL);
		p = (p + 1) & t->mask;
	}
	for (q = (p + 1) & t->mask; t->s[q].val != NIL;
	    q = (q + 1) & t->mask) {
		h = ix_home(t, t->s[q].key);
		/* Move q back to p unless its home lies in (p, q]. */
		if (((q - h) & t->mask) >= ((q - p) & t->mask)) {
			t->s[p] = t->s[q];
			p = q;
		}
	}
	t->s[p].val = NIL;
}

static inline uint32_t
id_find(const struct book *b, uint64_t id)
{
	const struct ix	*t = &b->ids;
	uint32_t	 p = ix_home(t, (uint32_t)id), v;

	for (;;) {
		v = t->s[p].val;
		if (v == NIL)
			return NIL;
		if (t->s[p].key == (uint32_t)id && b->o[v].id == id)
			return v;
		p = (p + 1) & t->mask;
	}
}

static inline uint32_t
user_find(const struct book *b, uint64_t user)
{
	const struct ix	*t = &b->users;
	uint32_t	 p = ix_home(t, (uint32_t)user), v;

	for (;;) {
		v = t->s[p].val;
		if (v == NIL)
			return NIL;
		if (t->s[p].key == (uint32_t)user && b->u[v].user == user)
			return v;
		p = (p + 1) & t->mask;
	}
}

static uint32_t
cid_hash(uint64_t user, const char *cid)
{
	uint64_t	h = 0xcbf29ce484222325ULL ^ user;

	for (; *cid != '\0'; cid++) {
		h ^= (unsigned char)*cid;
		h *= 0x100000001b3ULL;
	}
	return (uint32_t)(h ^ (h >> 32));
}

static uint32_t
cid_find(const struct book *b, uint64_t user, const char *cid)
{
	const struct ix	*t = &b->cids;
	uint32_t	 h = cid_hash(user, cid);
	uint32_t	 p = ix_home(t, h), v;

	for (;;) {
		v = t->s[p].val;
		if (v == NIL)
			return NIL;
		if (t->s[p].key == h && b->o[v].user == user &&
		    strcmp(b->cid[v], cid) == 0)
			return v;
		p = (p + 1) & t->mask;
	}
}

static inline uint32_t
lv_key(uint32_t side, uint64_t price)
{
	return (uint32_t)(price * 2 + side);
}

/* The level record at (side, price), or NIL. */
static inline uint32_t
lv_get(const struct book *b, uint32_t side, uint64_t price)
{
	const struct ix	*t = &b->lvix;
	uint32_t	 k = lv_key(side, price), p = ix_home(t, k), v;

	for (;;) {
		v = t->s[p].val;
		if (v == NIL)
			return NIL;
		if (t->s[p].key == k && b->lv[v].price == price &&
		    b->lv[v].side == side)
			return v;
		p = (p + 1) & t->mask;
	}
}

/* Events. */

static inline void
emit(struct book *b, struct book_event *ev)
{
	ev->seq = ++b->seq;
	ev->time = b->now;
	b->sink(b->arg, ev);
}

HOT void
emit_level(struct book *b, const struct book_lvl *l, enum book_side side,
    uint64_t price)
{
	struct book_event	ev;

	ev.type = BOOK_EV_LEVEL;
	ev.level.side = side;
	ev.level.price = price;
	ev.level.qty = l != NULL ? l->total : 0;
	ev.level.orders = l != NULL ? l->count : 0;
	ev.level.depth_seq = ++b->depth_seq;
	emit(b, &ev);
}

static void
emit_reject(struct book *b, enum book_cmd cmd, enum book_reject why,
    uint64_t id, uint64_t user)
{
	struct book_event	ev;

	ev.type = BOOK_EV_REJECTED;
	ev.rejected.cmd = cmd;
	ev.rejected.reason = why;
	ev.rejected.id = id;
	ev.rejected.user = user;
	emit(b, &ev);
}

HOT void
emit_cancelled(struct book *b, const struct book_order *o,
    enum book_cancel_reason why)
{
	struct book_event	ev;

	ev.type = BOOK_EV_CANCELLED;
	ev.cancelled.id = o->id;
	ev.cancelled.user = o->user;
	ev.cancelled.side = o->side;
	ev.cancelled.price = o->price;
	ev.cancelled.left = o->left;
	ev.cancelled.reason = why;
	emit(b, &ev);
}

static void
emit_done(struct book *b, const struct book_order *o)
{
	struct book_event	ev;

	ev.type = BOOK_EV_DONE;
	ev.done.id = o->id;
	ev.done.user = o->user;
	ev.done.side = o->side;
	ev.done.price = o->price;
	emit(b, &ev);
}

/* Levels. */

/* Is price a better than b on this side? */
static inline int
better(uint32_t side, uint64_t a, uint64_t p)
{
	return side == BOOK_BUY ? a > p : a < p;
}

/*
 * Position of price in the side array (best last): returns the level record
 * or NIL, and in *pos where it is or would be inserted.
 */
static uint32_t
lv_find(const struct book *b, uint32_t side, uint64_t price, uint32_t *pos)
{
	const uint32_t	*a = b->side[side];
	uint32_t	 lo = 0, hi = b->nside[side], mid;
	uint64_t	 p;

	/* Most traffic is at or near the best price: look there first. */
	if (hi > 0) {
		p = b->lv[a[hi - 1]].price;
		if (p == price) {
			*pos = hi - 1;
			return a[hi - 1];
		}
		if (better(side, price, p)) {
			*pos = hi;
			return NIL;
		}
	}
	/* Ascending in "worse to better" order. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		p = b->lv[a[mid]].price;
		if (p == price) {
			*pos = mid;
			return a[mid];
		}
		if (better(side, price, p))
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return NIL;
}

static uint32_t
lv_insert(struct book *b, uint32_t side, uint64_t price, uint32_t pos)
{
	uint32_t	 li, *a = b->side[side], n = b->nside[side];
	struct book_lvl	*l;

	assert(n < b->cap_levels && b->nlvfree > 0);
	li = b->lvfree[--b->nlvfree];
	l = &b->lv[li];
	l->price = price;
	l->total = 0;
	l->count = 0;
	l->head = l->tail = NIL;
	l->side = side;
	memmove(&a[pos + 1], &a[pos], (size_t)(n - pos) * sizeof *a);
	a[pos] = li;
	b->nside[side] = n + 1;
	ix_put(&b->lvix, lv_key(side, price), li);
	return li;
}

static void
lv_remove(struct book *b, uint32_t li)
{
	struct book_lvl	*l = &b->lv[li];
	uint32_t	 side = l->side, pos, found, n = b->nside[side];
	uint32_t	*a = b->side[side];

	assert(l->count == 0 && l->total == 0);
	if (a[n - 1] == li)
		pos = n - 1;	/* the best: the common case */
	else {
		found = lv_find(b, side, l->price, &pos);
		assert(found == li);
		(void)found;
		memmove(&a[pos], &a[pos + 1], (size_t)(n - pos - 1) *
		    sizeof *a);
	}
	b->nside[side] = n - 1;
	ix_del(&b->lvix, lv_key(side, l->price), li);
	b->lvfree[b->nlvfree++] = li;
}

/* Expiry heap on (expire_at, stamp). */

static inline int
heap_less(const struct book *b, uint32_t x, uint32_t y)
{
	const struct book_order	*ox = &b->o[x], *oy = &b->o[y];

	if (ox->expire_at != oy->expire_at)
		return ox->expire_at < oy->expire_at;
	return ox->stamp < oy->stamp;
}

static void
heap_set(struct book *b, uint32_t pos, uint32_t oi)
{
	b->heap[pos] = oi;
	b->o[oi].heap = pos;
}

static void
heap_up(struct book *b, uint32_t pos)
{
	uint32_t	oi = b->heap[pos], parent;

	while (pos > 0) {
		parent = (pos - 1) / 2;
		if (!heap_less(b, oi, b->heap[parent]))
			break;
		heap_set(b, pos, b->heap[parent]);
		pos = parent;
	}
	heap_set(b, pos, oi);
}

static void
heap_down(struct book *b, uint32_t pos)
{
	uint32_t	oi = b->heap[pos], c;

	for (;;) {
		c = 2 * pos + 1;
		if (c >= b->nheap)
			break;
		if (c + 1 < b->nheap && heap_less(b, b->heap[c + 1],
		    b->heap[c]))
			c++;
		if (!heap_less(b, b->heap[c], oi))
			break;
		heap_set(b, pos, b->heap[c]);
		pos = c;
	}
	heap_set(b, pos, oi);
}

static void
heap_push(struct book *b, uint32_t oi)
{
	assert(b->nheap < b->cap);
	heap_set(b, b->nheap++, oi);
	heap_up(b, b->nheap - 1);
}

static void
heap_remove(struct book *b, uint32_t oi)
{
	uint32_t	pos = b->o[oi].heap, last;

	assert(pos < b->nheap && b->heap[pos] == oi);
	b->o[oi].heap = NIL;
	last = b->heap[--b->nheap];
	if (pos == b->nheap)
		return;
	heap_set(b, pos, last);
	heap_up(b, pos);
	heap_down(b, b->o[last].heap);
}

/* Orders: slots, indexes, resting and leaving. */

static uint32_t
order_alloc(struct book *b)
{
	assert(b->nofree > 0);
	return b->ofree[--b->nofree];
}

/* Take a non-resting order out of every index and free its slot. */
HOT void
order_release(struct book *b, uint32_t oi)
{
	struct book_order	*o = &b->o[oi];

	assert(o->level == NIL);
	ix_del(&b->ids, (uint32_t)o->id, oi);
	if (o->has_cid)
		ix_del(&b->cids, cid_hash(o->user, b->cid[oi]), oi);
	if (o->heap != NIL)
		heap_remove(b, oi);
	b->ofree[b->nofree++] = oi;
}

static struct book_user *
user_get(const struct book *b, uint64_t user)
{
	uint32_t	ui = user_find(b, user);

	return ui == NIL ? NULL : &b->u[ui];
}

/* Put order oi at the back of its level and of its user's list. */
HOT void
order_rest(struct book *b, uint32_t oi, uint32_t li)
{
	struct book_order	*o = &b->o[oi];
	struct book_lvl		*l = &b->lv[li];
	struct book_user	*u;
	uint32_t		 ui;

	o->level = li;
	o->next = NIL;
	o->prev = l->tail;
	if (l->tail != NIL)
		b->o[l->tail].next = oi;
	else
		l->head = oi;
	l->tail = oi;
	l->count++;
	l->total += o->left;

	/* The place command looked the user up already (checked here). */
	ui = b->uhint;
	if (ui == NIL || b->u[ui].user != o->user)
		ui = user_find(b, o->user);
	if (ui == NIL) {
		assert(b->nufree > 0);
		ui = b->ufree[--b->nufree];
		u = &b->u[ui];
		u->user = o->user;
		u->count = 0;
		u->head = u->tail = NIL;
		ix_put(&b->users, (uint32_t)o->user, ui);
	}
	u = &b->u[ui];
	o->urec = ui;
	o->unext = NIL;
	o->uprev = u->tail;
	if (u->tail != NIL)
		b->o[u->tail].unext = oi;
	else
		u->head = oi;
	u->tail = oi;
	u->count++;
	b->nlive++;
	if (o->expire_at != 0) {
		/* Time priority breaks expiry ties; only GTD orders need it. */
		o->stamp = ++b->stamp;
		if (o->heap == NIL)
			heap_push(b, oi);
	}
}

/*
 * Take a resting order off its level and user list (it stays indexed).
 * Returns its level record, NIL if the level went away with it.
 */
HOT uint32_t
order_unrest(struct book *b, uint32_t oi)
{
	struct book_order	*o = &b->o[oi];
	uint32_t		 li = o->level;
	struct book_lvl		*l = &b->lv[li];
	struct book_user	*u = &b->u[o->urec];

	assert(li != NIL && l->count > 0 && l->total >= o->left);
	if (o->prev != NIL)
		b->o[o->prev].next = o->next;
	else
		l->head = o->next;
	if (o->next != NIL)
		b->o[o->next].prev = o->prev;
	else
		l->tail = o->prev;
	l->count--;
	l->total -= o->left;
	o->level = NIL;

	if (o->uprev != NIL)
		b->o[o->uprev].unext = o->unext;
	else
		u->head = o->unext;
	if (o->unext != NIL)
		b->o[o->unext].uprev = o->uprev;
	else
		u->tail = o->uprev;
	assert(u->count > 0);
	if (--u->count == 0) {
		ix_del(&b->users, (uint32_t)u->user, o->urec);
		u->user = 0;	/* a stale uhint must not match */
		b->ufree[b->nufree++] = o->urec;
	}
	o->urec = NIL;
	assert(b->nlive > 0);
	b->nlive--;

	if (l->count == 0) {
		lv_remove(b, li);
		return NIL;
	}
	return li;
}

/* Remove a resting order with an event: CANCELLED then LEVEL. */
static void
order_cancel(struct book *b, uint32_t oi, enum book_cancel_reason why)
{
	struct book_order	*o = &b->o[oi];
	uint32_t		 li;

	li = order_unrest(b, oi);
	emit_cancelled(b, o, why);
	emit_level(b, li == NIL ? NULL : &b->lv[li], o->side, o->price);
	order_release(b, oi);
}

/* Checks after every command. */

HOT void
book_assert(const struct book *b)
{
	uint32_t	nb = b->nside[BOOK_BUY], na = b->nside[BOOK_SELL];

	/* Level counts are bounded where levels are made (lv_insert). */
	if (nb > 0 && na > 0)
		assert(b->lv[b->side[BOOK_BUY][nb - 1]].price <
		    b->lv[b->side[BOOK_SELL][na - 1]].price);
	/* Every slot is resting or free: no order is lost or leaked. */
	assert(b->nofree + b->nlive == b->cap);
	assert(b->nlive < b->cap);
#ifdef KDEX_DEBUG
	book_check(b);
#endif
}

/* Matching. */

enum stop {
	STOP_FILLED,	/* taker has nothing left */
	STOP_PRICE,	/* no more liquidity within the limit */
	STOP_STP,	/* self-trade prevention cancels the taker */
	STOP_BUDGET,	/* max_quote cannot buy another lot */
};

/* Quote cost per lot at price for a taker: notional plus fee, rounded up. */
static u128
taker_cost_per_lot(const struct book *b, uint64_t price, int32_t ppm)
{
	u128	per = (u128)price * b->m.unit, fee, rebate;

	money_fee(&fee, &rebate, per, ppm);
	return per + fee;
}

/*
 * Match taker slot ti against the other side up to limit. budget, when
 * not NULL, is the quote left to spend (notional + taker fee).
 */
static enum stop
match(struct book *b, uint32_t ti, uint64_t limit, u128 *budget)
{
	struct book_order	*t = &b->o[ti], *mk;
	uint32_t		 os = t->side ^ 1u, li, mi, next;
	uint32_t		*a = b->side[os];
	struct book_lvl		*l;
	struct book_event	 ev;
	uint64_t		 fill, price, before_t, before_m;
	u128			 notional, afford, cost, reb;
	int32_t			 tppm = b->rate[t->tier][1], mppm;

	while (t->left > 0 && b->nside[os] > 0) {
		li = a[b->nside[os] - 1];
		l = &b->lv[li];
		price = l->price;
		if (os == BOOK_SELL ? price > limit : price < limit)
			return STOP_PRICE;
		mi = l->head;
		while (mi != NIL && t->left > 0) {
			mk = &b->o[mi];
			next = mk->next;
			if (mk->user == t->user) {
				if (t->stp == BOOK_STP_CANCEL_TAKER)
					return STOP_STP;
				/* Maker leaves; the level may go with it. */
				order_cancel(b, mi, BOOK_CXL_STP);
				if (t->stp == BOOK_STP_CANCEL_BOTH)
					return STOP_STP;
				mi = next;
				continue;
			}
			fill = t->left < mk->left ? t->left : mk->left;
			if (budget != NULL) {
				afford = *budget /
				    taker_cost_per_lot(b, price, tppm);
				if (afford == 0)
					return STOP_BUDGET;
				if (afford < fill)
					fill = (uint64_t)afford;
			}
			/*
			 * Cannot overflow: market_init checked the largest
			 * order at the largest price.
			 */
			assert(fill <= b->m.cfg.max_qty_lots &&
			    price <= b->m.cfg.max_price_ticks);
			notional = (u128)price * fill * b->m.unit;

			ev.type = BOOK_EV_TRADE;
			ev.trade.taker_fee = 0;
			ev.trade.maker_fee = 0;
			ev.trade.maker_rebate = 0;
			mppm = b->rate[mk->tier][0];
			if (tppm != 0)
				money_fee(&ev.trade.taker_fee, &reb, notional,
				    tppm);
			if (mppm != 0)
				money_fee(&ev.trade.maker_fee,
				    &ev.trade.maker_rebate, notional, mppm);
			ev.trade.taker_tier = t->tier;
			ev.trade.maker_tier = mk->tier;
			ev.trade.taker_fee_ppm = tppm;
			ev.trade.maker_fee_ppm = mppm;
			if (budget != NULL) {
				cost = notional + ev.trade.taker_fee;
				assert(cost <= *budget);
				*budget -= cost;
			}
			before_t = t->left;
			before_m = mk->left;
			t->left -= fill;
			mk->left -= fill;
			l->total -= fill;
			/* A fill moves the same lots out of both orders. */
			assert(before_t - t->left == before_m - mk->left);
			(void)before_t;
			(void)before_m;

			ev.trade.taker_id = t->id;
			ev.trade.maker_id = mk->id;
			ev.trade.taker_user = t->user;
			ev.trade.maker_user = mk->user;
			ev.trade.taker_side = t->side;
			ev.trade.price = price;
			ev.trade.qty = fill;
			ev.trade.notional = notional;
			ev.trade.taker_left = t->left;
			ev.trade.maker_left = mk->left;
			emit(b, &ev);

			if (mk->left == 0) {
				uint32_t	left_li;

				left_li = order_unrest(b, mi);
				emit_done(b, mk);
				emit_level(b, left_li == NIL ? NULL :
				    &b->lv[left_li], mk->side, price);
				order_release(b, mi);
				if (left_li == NIL)
					break;	/* level gone */
				mi = next;
			} else {
				/* Taker done or out of budget: same maker. */
				emit_level(b, l, mk->side, price);
			}
		}
	}
	return t->left == 0 ? STOP_FILLED : STOP_PRICE;
}

/*
 * FOK: would the taker fill completely, stepping over the makers STP would
 * cancel, and stopping where STP would cancel the taker?
 */
static int
fok_fillable(const struct book *b, const struct book_order *t, uint64_t limit)
{
	uint32_t		 os = t->side ^ 1u, n = b->nside[os], mi;
	const struct book_lvl	*l;
	uint64_t		 need = t->left;

	while (n-- > 0) {
		l = &b->lv[b->side[os][n]];
		if (os == BOOK_SELL ? l->price > limit : l->price < limit)
			return 0;
		for (mi = l->head; mi != NIL; mi = b->o[mi].next) {
			if (b->o[mi].user == t->user) {
				if (t->stp == BOOK_STP_CANCEL_MAKER)
					continue;
				return 0;
			}
			if (b->o[mi].left >= need)
				return 1;
			need -= b->o[mi].left;
		}
	}
	return 0;
}

/* Would a limit order at price on side take liquidity? */
HOT int
crosses(const struct book *b, uint32_t side, uint64_t price)
{
	uint32_t	os = side ^ 1u, n = b->nside[os];
	uint64_t	best;

	if (n == 0)
		return 0;
	best = b->lv[b->side[os][n - 1]].price;
	return side == BOOK_BUY ? best <= price : best >= price;
}

/*
 * After matching: the taker filled, rests, or is cancelled. Emits the
 * events and frees the slot unless it rests.
 */
HOT void
finish_taker(struct book *b, uint32_t ti, enum stop why, int may_rest)
{
	struct book_order	*t = &b->o[ti];
	struct book_event	 ev;
	uint32_t		 li, pos;

	switch (why) {
	case STOP_FILLED:
		emit_done(b, t);
		order_release(b, ti);
		return;
	case STOP_STP:
		emit_cancelled(b, t, BOOK_CXL_STP);
		order_release(b, ti);
		return;
	case STOP_BUDGET:
		emit_cancelled(b, t, BOOK_CXL_MAX_QUOTE);
		order_release(b, ti);
		return;
	case STOP_PRICE:
		break;
	}
	if (!may_rest) {
		emit_cancelled(b, t, BOOK_CXL_IOC);
		order_release(b, ti);
		return;
	}
	if ((li = lv_get(b, t->side, t->price)) == NIL) {
		(void)lv_find(b, t->side, t->price, &pos);
		li = lv_insert(b, t->side, t->price, pos);
	}
	order_rest(b, ti, li);
	ev.type = BOOK_EV_RESTED;
	ev.rested.id = t->id;
	ev.rested.user = t->user;
	ev.rested.side = t->side;
	ev.rested.price = t->price;
	ev.rested.qty = t->left;
	emit(b, &ev);
	emit_level(b, &b->lv[li], t->side, t->price);
}

/* Life cycle. */

struct book *
book_create(const struct market *m, uint64_t first_seq, book_sink_fn *sink,
    void *arg)
{
	struct book	*b;
	uint32_t	 i, maxo = m->cfg.limits.max_orders;
	uint32_t	 maxl = m->cfg.limits.max_levels;

	assert(maxo > 0 && maxl > 0 && sink != NULL);
	b = xcalloc(1, sizeof *b);
	b->m = *m;
	market_tiers_base(m, &b->tiers);
	rates_load(b);
	b->sink = sink;
	b->arg = arg;
	b->seq = first_seq - 1;
	b->uhint = NIL;

	/* One slot more than the limit: the taker being matched. */
	b->cap = maxo + 1;
	b->cap_levels = maxl;
	b->o = xcalloc(b->cap, sizeof *b->o);
	b->cid = xcalloc(b->cap, sizeof *b->cid);
	b->ofree = xcalloc(b->cap, sizeof *b->ofree);
	for (i = 0; i < b->cap; i++) {
		b->o[i].level = NIL;
		b->o[i].heap = NIL;
		b->ofree[i] = b->cap - 1 - i;	/* slot 0 first */
	}
	b->nofree = b->cap;

	b->lv = xcalloc((size_t)maxl * 2, sizeof *b->lv);
	b->lvfree = xcalloc((size_t)maxl * 2, sizeof *b->lvfree);
	for (i = 0; i < maxl * 2; i++)
		b->lvfree[i] = maxl * 2 - 1 - i;
	b->nlvfree = maxl * 2;
	b->side[BOOK_BUY] = xcalloc(maxl, sizeof *b->side[BOOK_BUY]);
	b->side[BOOK_SELL] = xcalloc(maxl, sizeof *b->side[BOOK_SELL]);

	b->u = xcalloc(b->cap, sizeof *b->u);
	b->ufree = xcalloc(b->cap, sizeof *b->ufree);
	for (i = 0; i < b->cap; i++)
		b->ufree[i] = b->cap - 1 - i;
	b->nufree = b->cap;

	ix_init(&b->ids, b->cap);
	ix_init(&b->users, b->cap);
	ix_init(&b->cids, b->cap);
	ix_init(&b->lvix, maxl * 2);
	b->heap = xcalloc(b->cap, sizeof *b->heap);

	/*
	 * calloc hands back untouched pages; fault them in now, so that the
	 * matching path never takes a page fault (tens of microseconds on a
	 * virtual machine).
	 */
	memset(b->cid, 0, (size_t)b->cap * sizeof *b->cid);
	memset(b->u, 0, (size_t)b->cap * sizeof *b->u);
	memset(b->heap, 0, (size_t)b->cap * sizeof *b->heap);
	return b;
}

void
book_free(struct book *b)
{
	if (b == NULL)
		return;
	free(b->o);
	free(b->cid);
	free(b->ofree);
	free(b->lv);
	free(b->lvfree);
	free(b->side[BOOK_BUY]);
	free(b->side[BOOK_SELL]);
	free(b->u);
	free(b->ufree);
	free(b->ids.s);
	free(b->users.s);
	free(b->cids.s);
	free(b->lvix.s);
	free(b->heap);
	free(b);
}

/* Expire due GTD orders; every command starts with this. */
static size_t
expire_due(struct book *b, uint64_t now)
{
	size_t	n = 0;

	while (b->nheap > 0 && b->o[b->heap[0]].expire_at <= now) {
		order_cancel(b, b->heap[0], BOOK_CXL_EXPIRED);
		n++;
	}
	return n;
}

static int
cid_valid(const char *cid)
{
	size_t	n;

	for (n = 0; cid[n] != '\0'; n++) {
		if (n >= BOOK_CLIENT_ID_MAX)
			return 0;
		if (cid[n] < 0x21 || cid[n] > 0x7e)
			return 0;
	}
	return 1;
}

/* Field checks of a place; BOOK_OK or the reason. No state changes. */
HOT enum book_reject
place_check(const struct book *b, const struct book_place *p,
    const char *cid, uint64_t now)
{
	const struct market_config	*c = &b->m.cfg;
	bool				 mkt = p->type == BOOK_MARKET;

	if (c->status != MARKET_OPEN)
		return c->status == MARKET_HALTED ? BOOK_REJ_HALTED :
		    BOOK_REJ_CANCEL_ONLY;
	if (p->id == 0 || p->user == 0 || (unsigned int)p->side > BOOK_SELL ||
	    (unsigned int)p->type > BOOK_MARKET ||
	    (unsigned int)p->tif > BOOK_FOK ||
	    (unsigned int)p->stp > BOOK_STP_CANCEL_BOTH ||
	    p->tier >= MARKET_TIERS_MAX)
		return BOOK_REJ_BAD_ORDER;
	if (mkt) {
		if (p->post_only || p->tif == BOOK_GTC || p->expire_at != 0)
			return BOOK_REJ_BAD_ORDER;
		if (p->max_quote != 0 && (p->side != BOOK_BUY ||
		    p->tif == BOOK_FOK))
			return BOOK_REJ_BAD_ORDER;
	} else {
		if (p->slippage_bps != 0 || p->max_quote != 0)
			return BOOK_REJ_BAD_ORDER;
		if (p->tif != BOOK_GTC && (p->post_only || p->expire_at != 0))
			return BOOK_REJ_BAD_ORDER;
	}
	if (*cid != '\0' && !cid_valid(cid))
		return BOOK_REJ_BAD_CLIENT_ID;
	if (p->price > c->max_price_ticks || (!mkt && p->price == 0))
		return BOOK_REJ_BAD_PRICE;
	if (mkt && p->price == 0 && p->slippage_bps == 0)
		return BOOK_REJ_NO_PROTECTION;
	if (p->qty > c->max_qty_lots || (p->qty == 0 && p->max_quote == 0))
		return BOOK_REJ_BAD_QTY;
	if (p->qty != 0 && p->qty < c->min_lots)
		return BOOK_REJ_MIN_SIZE;
	/* Both within the market's bounds (above): no overflow. */
	if (!mkt && c->min_notional != 0 &&
	    (u128)p->price * p->qty * b->m.unit < c->min_notional)
		return BOOK_REJ_MIN_NOTIONAL;
	if (p->expire_at != 0 && p->expire_at <= now)
		return BOOK_REJ_EXPIRED;
	if (id_find(b, p->id) != NIL)
		return BOOK_REJ_DUPLICATE_ID;
	if (*cid != '\0' && cid_find(b, p->user, cid) != NIL)
		return BOOK_REJ_DUPLICATE_CLIENT_ID;
	return BOOK_OK;
}

/* Protection price of a market order from its price and slippage. */
static uint64_t
market_limit(const struct book *b, const struct book_place *p)
{
	uint32_t	os = p->side ^ 1u;
	uint64_t	best, lim = p->price;
	u128		v;

	if (p->slippage_bps == 0)
		return lim;
	best = b->lv[b->side[os][b->nside[os] - 1]].price;
	if (p->side == BOOK_BUY) {
		/* Round down: never worse than the slippage allows. */
		v = (u128)best * (10000u + (u128)p->slippage_bps) / 10000u;
		if (v > b->m.cfg.max_price_ticks)
			v = b->m.cfg.max_price_ticks;
		if (lim == 0 || v < lim)
			lim = (uint64_t)v;
	} else {
		if (p->slippage_bps >= 10000u)
			v = 1;
		else {
			v = (u128)best * (10000u - p->slippage_bps);
			v = (v + 9999u) / 10000u;	/* round up */
			if (v == 0)
				v = 1;
		}
		if (lim == 0 || v > lim)
			lim = (uint64_t)v;
	}
	return lim;
}

enum book_reject
book_place(struct book *b, uint64_t now, const struct book_place *p)
{
	const struct market_config	*c = &b->m.cfg;
	const char			*cid = p->client_id != NULL ?
					    p->client_id : "";
	enum book_reject		 why;
	struct book_order		*t;
	struct book_event		 ev;
	struct book_user		*u;
	uint32_t			 ti;
	uint64_t			 limit;
	u128				 budget;
	bool				 mkt = p->type == BOOK_MARKET;
	bool				 may_rest;
	enum stop			 stop;

	b->now = now;
	expire_due(b, now);
	why = place_check(b, p, cid, now);
	if (why == BOOK_OK && mkt && b->nside[p->side ^ 1u] == 0)
		why = BOOK_REJ_NO_LIQUIDITY;
	limit = why == BOOK_OK && mkt ? market_limit(b, p) : p->price;
	if (why == BOOK_OK && p->post_only && crosses(b, p->side, limit))
		why = BOOK_REJ_WOULD_TAKE;
	may_rest = !mkt && p->tif == BOOK_GTC;
	/* Room to rest is checked up front: a fill cannot be undone. */
	if (why == BOOK_OK && may_rest) {
		b->uhint = user_find(b, p->user);
		u = b->uhint != NIL ? &b->u[b->uhint] : NULL;
		if (b->nlive >= c->limits.max_orders)
			why = BOOK_REJ_BOOK_FULL;
		else if (u != NULL && u->count >= c->limits.max_orders_per_user)
			why = BOOK_REJ_USER_LIMIT;
		else if (b->nside[p->side] >= c->limits.max_levels &&
		    lv_get(b, p->side, p->price) == NIL)
			why = BOOK_REJ_LEVELS_FULL;
	}
	if (why != BOOK_OK) {
		emit_reject(b, BOOK_CMD_PLACE, why, p->id, p->user);
		book_assert(b);
		return why;
	}

	ti = order_alloc(b);
	t = &b->o[ti];
	t->id = p->id;
	t->user = p->user;
	t->price = limit;
	t->qty = p->qty;
	/* A market buy by budget alone may take up to the largest order. */
	t->left = p->qty != 0 ? p->qty : c->max_qty_lots;
	t->level = NIL;
	t->side = (uint8_t)p->side;
	t->stp = (uint8_t)p->stp;
	t->post_only = p->post_only;
	t->has_cid = *cid != '\0';
	t->tier = (uint8_t)p->tier;
	t->expire_at = p->expire_at;
	t->heap = NIL;
	t->urec = NIL;
	if (t->has_cid) {
		strcpy(b->cid[ti], cid);
		ix_put(&b->cids, cid_hash(p->user, cid), ti);
	}	/* else b->cid[ti] is stale and never read: see has_cid */
	ix_put(&b->ids, (uint32_t)p->id, ti);

	if (p->tif == BOOK_FOK && !fok_fillable(b, t, limit)) {
		order_release(b, ti);
		emit_reject(b, BOOK_CMD_PLACE, BOOK_REJ_NO_LIQUIDITY, p->id,
		    p->user);
		book_assert(b);
		return BOOK_REJ_NO_LIQUIDITY;
	}

	ev.type = BOOK_EV_ACCEPTED;
	ev.accepted.id = p->id;
	ev.accepted.user = p->user;
	ev.accepted.side = p->side;
	ev.accepted.type = p->type;
	ev.accepted.tif = p->tif;
	ev.accepted.post_only = p->post_only;
	ev.accepted.price = limit;
	ev.accepted.qty = p->qty;
	ev.accepted.max_quote = p->max_quote;
	ev.accepted.expire_at = p->expire_at;
	ev.accepted.client_id = t->has_cid ? b->cid[ti] : "";
	emit(b, &ev);

	budget = p->max_quote;
	/* Most orders do not cross: skip the matching loop for them. */
	if (crosses(b, p->side, limit))
		stop = match(b, ti, limit, p->max_quote != 0 ? &budget : NULL);
	else
		stop = STOP_PRICE;
	finish_taker(b, ti, stop, may_rest);
	book_assert(b);
	return BOOK_OK;
}

enum book_reject
book_cancel(struct book *b, uint64_t now, uint64_t user, uint64_t id)
{
	uint32_t	oi;

	b->now = now;
	expire_due(b, now);
	if (b->m.cfg.status == MARKET_HALTED) {
		emit_reject(b, BOOK_CMD_CANCEL, BOOK_REJ_HALTED, id, user);
		return BOOK_REJ_HALTED;
	}
	oi = id_find(b, id);
	if (oi == NIL || (user != BOOK_ANY_USER && b->o[oi].user != user)) {
		emit_reject(b, BOOK_CMD_CANCEL, BOOK_REJ_NOT_FOUND, id, user);
		return BOOK_REJ_NOT_FOUND;
	}
	order_cancel(b, oi, BOOK_CXL_USER);
	book_assert(b);
	return BOOK_OK;
}

enum book_reject
book_cancel_client(struct book *b, uint64_t now, uint64_t user,
    const char *client_id)
{
	uint32_t	oi = NIL;

	b->now = now;
	expire_due(b, now);
	if (b->m.cfg.status == MARKET_HALTED) {
		emit_reject(b, BOOK_CMD_CANCEL_CLIENT, BOOK_REJ_HALTED, 0,
		    user);
		return BOOK_REJ_HALTED;
	}
	if (client_id != NULL && *client_id != '\0' && user != BOOK_ANY_USER)
		oi = cid_find(b, user, client_id);
	if (oi == NIL) {
		emit_reject(b, BOOK_CMD_CANCEL_CLIENT, BOOK_REJ_NOT_FOUND, 0,
		    user);
		return BOOK_REJ_NOT_FOUND;
	}
	order_cancel(b, oi, BOOK_CXL_USER);
	book_assert(b);
	return BOOK_OK;
}

size_t
book_cancel_all(struct book *b, uint64_t now, uint64_t user)
{
	struct book_user	*u;
	size_t			 n = 0;
	uint32_t		 s, cnt;

	b->now = now;
	expire_due(b, now);
	if (b->m.cfg.status == MARKET_HALTED) {
		emit_reject(b, BOOK_CMD_CANCEL_ALL, BOOK_REJ_HALTED, 0, user);
		return 0;
	}
	if (user != BOOK_ANY_USER) {
		/* Oldest first; the record goes away with the last order. */
		while ((u = user_get(b, user)) != NULL) {
			order_cancel(b, u->head, BOOK_CXL_USER);
			n++;
		}
	} else {
		/* Bids then asks, best level first, FIFO within a level. */
		for (s = 0; s < 2; s++) {
			while ((cnt = b->nside[s]) > 0) {
				order_cancel(b, b->lv[b->side[s][cnt - 1]].head,
				    BOOK_CXL_USER);
				n++;
			}
		}
	}
	book_assert(b);
	return n;
}

enum book_reject
book_amend(struct book *b, uint64_t now, uint64_t user, uint64_t id,
    uint64_t price, uint64_t qty)
{
	const struct market_config	*c = &b->m.cfg;
	struct book_order		*o;
	struct book_event		 ev;
	enum book_reject		 why = BOOK_OK;
	uint32_t			 oi, li;
	uint64_t			 np, nq, oldp, oldq;
	enum stop			 stop;

	b->now = now;
	expire_due(b, now);
	oi = id_find(b, id);
	if (c->status == MARKET_HALTED)
		why = BOOK_REJ_HALTED;
	else if (oi == NIL || (user != BOOK_ANY_USER &&
	    b->o[oi].user != user))
		why = BOOK_REJ_NOT_FOUND;
	else if (price > c->max_price_ticks)
		why = BOOK_REJ_BAD_PRICE;
	else if (qty > c->max_qty_lots)
		why = BOOK_REJ_BAD_QTY;
	if (why != BOOK_OK) {
		emit_reject(b, BOOK_CMD_AMEND, why, id, user);
		return why;
	}
	o = &b->o[oi];
	oldp = o->price;
	oldq = o->left;
	np = price != 0 ? price : oldp;
	nq = qty != 0 ? qty : oldq;
	ev.type = BOOK_EV_AMENDED;
	ev.amended.id = id;
	ev.amended.user = o->user;
	ev.amended.side = o->side;
	ev.amended.old_price = oldp;
	ev.amended.old_qty = oldq;
	ev.amended.price = np;
	ev.amended.qty = nq;

	if (np == oldp && nq <= oldq) {
		/* Reduce in place: keeps its place in the queue. */
		li = o->level;
		o->left = nq;
		o->qty -= oldq - nq;
		b->lv[li].total -= oldq - nq;
		ev.amended.kept_priority = true;
		emit(b, &ev);
		if (nq != oldq)
			emit_level(b, &b->lv[li], o->side, oldp);
		book_assert(b);
		return BOOK_OK;
	}
	if (c->status == MARKET_CANCEL_ONLY)
		why = BOOK_REJ_CANCEL_ONLY;
	else if (o->post_only && crosses(b, o->side, np))
		why = BOOK_REJ_WOULD_TAKE;
	else if (np != oldp && b->nside[o->side] >= c->limits.max_levels &&
	    lv_get(b, o->side, np) == NIL)
		why = BOOK_REJ_LEVELS_FULL;
	if (why != BOOK_OK) {
		emit_reject(b, BOOK_CMD_AMEND, why, id, user);
		return why;
	}

	/* Cancel and new: same slot, id and client id; back of the queue. */
	li = order_unrest(b, oi);
	if (o->heap != NIL)
		heap_remove(b, oi);	/* re-keyed by its new stamp */
	ev.amended.kept_priority = false;
	emit(b, &ev);
	emit_level(b, li == NIL ? NULL : &b->lv[li], o->side, oldp);
	o->price = np;
	o->qty = o->qty - oldq + nq;
	o->left = nq;
	stop = match(b, oi, np, NULL);
	finish_taker(b, oi, stop, 1);
	book_assert(b);
	return BOOK_OK;
}

size_t
book_expire(struct book *b, uint64_t now)
{
	size_t	n;

	b->now = now;
	n = expire_due(b, now);
	book_assert(b);
	return n;
}

enum book_reject
book_restore(struct book *b, const struct book_place *p, uint64_t lots_left)
{
	const struct market_config	*c = &b->m.cfg;
	const char			*cid = p->client_id != NULL ?
					    p->client_id : "";
	struct book_order		*o;
	struct book_user		*u;
	enum market_status		 saved = c->status;
	enum book_reject		 why;
	uint32_t			 oi, li, pos;

	/* Restoring ignores the status and GTD time; the rest is checked. */
	b->m.cfg.status = MARKET_OPEN;
	why = place_check(b, p, cid, 0);
	b->m.cfg.status = saved;
	if (why == BOOK_OK && (p->type != BOOK_LIMIT || p->tif != BOOK_GTC ||
	    lots_left == 0 || lots_left > p->qty))
		why = BOOK_REJ_BAD_ORDER;
	if (why == BOOK_OK && crosses(b, p->side, p->price))
		why = BOOK_REJ_WOULD_TAKE;
	if (why == BOOK_OK) {
		u = user_get(b, p->user);
		li = lv_get(b, p->side, p->price);
		(void)lv_find(b, p->side, p->price, &pos);
		if (b->nlive >= c->limits.max_orders)
			why = BOOK_REJ_BOOK_FULL;
		else if (u != NULL && u->count >= c->limits.max_orders_per_user)
			why = BOOK_REJ_USER_LIMIT;
		else if (li == NIL && b->nside[p->side] >= c->limits.max_levels)
			why = BOOK_REJ_LEVELS_FULL;
	}
	if (why != BOOK_OK)
		return why;
	oi = order_alloc(b);
	o = &b->o[oi];
	memset(o, 0, sizeof *o);
	o->id = p->id;
	o->user = p->user;
	o->price = p->price;
	o->qty = p->qty;
	o->left = lots_left;
	o->level = NIL;
	o->heap = NIL;
	o->urec = NIL;
	o->side = (uint8_t)p->side;
	o->stp = (uint8_t)p->stp;
	o->post_only = p->post_only;
	o->has_cid = *cid != '\0';
	o->tier = (uint8_t)p->tier;
	o->expire_at = p->expire_at;
	if (o->has_cid) {
		strcpy(b->cid[oi], cid);
		ix_put(&b->cids, cid_hash(p->user, cid), oi);
	}
	ix_put(&b->ids, (uint32_t)p->id, oi);
	if (li == NIL)
		li = lv_insert(b, p->side, p->price, pos);
	order_rest(b, oi, li);
	book_assert(b);
	return BOOK_OK;
}

void
book_set_status(struct book *b, enum market_status st)
{
	b->m.cfg.status = st;
}

/* Fill the rate rows from the tier table; rows past it: base rates. */
static void
rates_load(struct book *b)
{
	unsigned int	i;

	for (i = 0; i < MARKET_TIERS_MAX; i++) {
		b->rate[i][0] = i < b->tiers.n ?
		    b->tiers.tier[i].maker_fee_ppm : b->m.cfg.maker_fee_ppm;
		b->rate[i][1] = i < b->tiers.n ?
		    b->tiers.tier[i].taker_fee_ppm : b->m.cfg.taker_fee_ppm;
	}
}

int
book_set_fees(struct book *b, int32_t maker_ppm, int32_t taker_ppm)
{
	struct market		m = b->m;
	struct market_tiers	t = b->tiers;
	char			*cause = NULL;

	/* The same rule as market_init: a rebate never beats the fee. */
	if (taker_ppm < 0 || taker_ppm > MONEY_PPM || maker_ppm > MONEY_PPM ||
	    maker_ppm < -taker_ppm)
		return -1;
	/* The tiers must stay within the new base rates. */
	m.cfg.maker_fee_ppm = t.tier[0].maker_fee_ppm = maker_ppm;
	m.cfg.taker_fee_ppm = t.tier[0].taker_fee_ppm = taker_ppm;
	if (market_tiers_check(&m, &t, &cause) == -1) {
		free(cause);
		return -1;
	}
	b->m.cfg.maker_fee_ppm = maker_ppm;
	b->m.cfg.taker_fee_ppm = taker_ppm;
	b->tiers = t;
	rates_load(b);
	return 0;
}

int
book_set_tiers(struct book *b, const struct market_tiers *t)
{
	char	*cause = NULL;

	if (market_tiers_check(&b->m, t, &cause) == -1) {
		free(cause);
		return -1;
	}
	b->tiers = *t;
	rates_load(b);
	return 0;
}

const struct market_tiers *
book_tiers(const struct book *b)
{
	return &b->tiers;
}

int
book_set_user_tier(struct book *b, uint64_t user, unsigned int tier)
{
	const struct book_user	*u;
	uint32_t		 oi;
	int			 n = 0;

	if (tier >= MARKET_TIERS_MAX)
		return -1;
	if ((u = user_get(b, user)) == NULL)
		return 0;
	for (oi = u->head; oi != NIL; oi = b->o[oi].unext) {
		b->o[oi].tier = (uint8_t)tier;
		n++;
	}
	return n;
}

int
book_set_limits(struct book *b, const struct market_limits *lim)
{
	/* Memory was sized at creation: limits may go down, not up. */
	if (lim->max_orders == 0 || lim->max_orders >= b->cap ||
	    lim->max_levels == 0 || lim->max_levels > b->cap_levels ||
	    lim->max_orders_per_user == 0)
		return -1;
	b->m.cfg.limits = *lim;
	return 0;
}

const struct market *
book_market(const struct book *b)
{
	return &b->m;
}

bool
book_best(const struct book *b, enum book_side side, uint64_t *price,
    uint64_t *qty)
{
	const struct book_lvl	*l;
	uint32_t		 n = b->nside[side];

	if (n == 0)
		return false;
	l = &b->lv[b->side[side][n - 1]];
	if (price != NULL)
		*price = l->price;
	if (qty != NULL)
		*qty = l->total;
	return true;
}

size_t
book_depth(const struct book *b, enum book_side side, struct book_level *out,
    size_t max)
{
	const struct book_lvl	*l;
	uint32_t		 n = b->nside[side];
	size_t			 i;

	for (i = 0; i < max && i < n; i++) {
		l = &b->lv[b->side[side][n - 1 - i]];
		out[i].price = l->price;
		out[i].qty = l->total;
		out[i].orders = l->count;
	}
	return i;
}

uint64_t
book_seq(const struct book *b)
{
	return b->seq;
}

uint64_t
book_depth_seq(const struct book *b)
{
	return b->depth_seq;
}

static void
order_info(const struct book *b, uint32_t oi, struct book_order_info *out)
{
	const struct book_order	*o = &b->o[oi];

	out->id = o->id;
	out->user = o->user;
	out->side = o->side;
	out->price = o->price;
	out->qty = o->qty;
	out->left = o->left;
	out->expire_at = o->expire_at;
	if (o->has_cid)
		memcpy(out->client_id, b->cid[oi], sizeof out->client_id);
	else
		out->client_id[0] = '\0';
}

bool
book_order(const struct book *b, uint64_t id, struct book_order_info *out)
{
	uint32_t	oi = id_find(b, id);

	if (oi == NIL)
		return false;
	if (out != NULL)
		order_info(b, oi, out);
	return true;
}

bool
book_order_by_client(const struct book *b, uint64_t user,
    const char *client_id, struct book_order_info *out)
{
	uint32_t	oi;

	if (client_id == NULL || *client_id == '\0')
		return false;
	if ((oi = cid_find(b, user, client_id)) == NIL)
		return false;
	if (out != NULL)
		order_info(b, oi, out);
	return true;
}

size_t
book_order_count(const struct book *b)
{
	return b->nlive;
}

size_t
book_user_order_count(const struct book *b, uint64_t user)
{
	const struct book_user	*u = user_get(b, user);

	return u == NULL ? 0 : u->count;
}

size_t
book_level_count(const struct book *b, enum book_side side)
{
	return b->nside[side];
}

void
book_check(const struct book *b)
{
	const struct book_lvl	*l;
	const struct book_order	*o;
	const struct book_user	*u;
	uint32_t		 s, i, oi, prev, cnt, nusers = 0;
	uint64_t		 total, lastp = 0;
	size_t			 live = 0, uorders = 0;

	for (s = 0; s < 2; s++) {
		assert(b->nside[s] <= b->cap_levels);
		for (i = 0; i < b->nside[s]; i++) {
			l = &b->lv[b->side[s][i]];
			assert(l->side == s);
			/* Strictly improving towards the end. */
			if (i > 0)
				assert(better(s, l->price, lastp));
			lastp = l->price;
			total = 0;
			cnt = 0;
			prev = NIL;
			for (oi = l->head; oi != NIL; oi = o->next) {
				o = &b->o[oi];
				assert(o->prev == prev);
				assert(o->level == b->side[s][i]);
				assert(o->side == s && o->price == l->price);
				assert(o->left > 0 && o->left <= o->qty);
				assert(id_find(b, o->id) == oi);
				if (o->has_cid)
					assert(cid_find(b, o->user,
					    b->cid[oi]) == oi);
				assert(o->urec != NIL &&
				    b->u[o->urec].user == o->user);
				assert((o->expire_at != 0) ==
				    (o->heap != NIL));
				/*
				 * What the order reserves is a function of the
				 * lots left, linear in them (market.h), and
				 * cannot overflow.
				 */
				{
					u128	one = 0, all = 0;
					int	rc1, rc2;

					rc1 = market_reserve(&b->m,
					    s == BOOK_BUY, o->price, 1, &one);
					rc2 = market_reserve(&b->m,
					    s == BOOK_BUY, o->price, o->left,
					    &all);
					assert(rc1 == 0 && rc2 == 0);
					assert(all == one * o->left);
					(void)rc1;
					(void)rc2;
					(void)all;
				}
				total += o->left;
				cnt++;
				prev = oi;
			}
			assert(l->tail == prev);
			assert(l->total == total && l->count == cnt);
			assert(total > 0);
			live += cnt;
		}
	}
	assert(live == b->nlive);
	assert(b->nlive + b->nofree == b->cap);
	for (i = 0; i <= b->users.mask; i++) {
		if (b->users.s[i].val == NIL)
			continue;
		u = &b->u[b->users.s[i].val];
		nusers++;
		cnt = 0;
		for (oi = u->head; oi != NIL; oi = b->o[oi].unext) {
			assert(b->o[oi].user == u->user);
			cnt++;
		}
		/* A lowered per-user limit may leave more than it allows. */
		assert(cnt == u->count && cnt > 0);
		uorders += cnt;
	}
	assert(uorders == b->nlive);
	assert(nusers + b->nufree == b->cap);
	for (i = 0; i < b->nheap; i++) {
		assert(b->o[b->heap[i]].heap == i);
		if (i > 0)
			assert(!heap_less(b, b->heap[i], b->heap[(i - 1) / 2]));
	}
	if (b->nside[0] > 0 && b->nside[1] > 0)
		assert(b->lv[b->side[0][b->nside[0] - 1]].price <
		    b->lv[b->side[1][b->nside[1] - 1]].price);
}

const char *
book_reject_name(enum book_reject r)
{
	switch (r) {
	case BOOK_OK:
		return "ok";
	case BOOK_REJ_HALTED:
		return "market_halted";
	case BOOK_REJ_CANCEL_ONLY:
		return "market_cancel_only";
	case BOOK_REJ_BAD_PRICE:
		return "bad_price";
	case BOOK_REJ_BAD_QTY:
		return "bad_qty";
	case BOOK_REJ_MIN_SIZE:
		return "min_size";
	case BOOK_REJ_MIN_NOTIONAL:
		return "min_notional";
	case BOOK_REJ_BAD_ORDER:
		return "bad_order";
	case BOOK_REJ_BAD_CLIENT_ID:
		return "bad_client_id";
	case BOOK_REJ_DUPLICATE_ID:
		return "duplicate_id";
	case BOOK_REJ_DUPLICATE_CLIENT_ID:
		return "duplicate_client_id";
	case BOOK_REJ_WOULD_TAKE:
		return "would_take";
	case BOOK_REJ_NO_LIQUIDITY:
		return "no_liquidity";
	case BOOK_REJ_NO_PROTECTION:
		return "no_protection";
	case BOOK_REJ_EXPIRED:
		return "expired";
	case BOOK_REJ_BOOK_FULL:
		return "book_full";
	case BOOK_REJ_LEVELS_FULL:
		return "levels_full";
	case BOOK_REJ_USER_LIMIT:
		return "user_limit";
	case BOOK_REJ_NOT_FOUND:
		return "not_found";
	}
	return "unknown";
}

const char *
book_cancel_reason_name(enum book_cancel_reason r)
{
	switch (r) {
	case BOOK_CXL_USER:
		return "user";
	case BOOK_CXL_IOC:
		return "ioc";
	case BOOK_CXL_STP:
		return "stp";
	case BOOK_CXL_EXPIRED:
		return "expired";
	case BOOK_CXL_MAX_QUOTE:
		return "max_quote";
	}
	return "unknown";
}

const char *
book_side_name(enum book_side s)
{
	return s == BOOK_BUY ? "buy" : "sell";
}
