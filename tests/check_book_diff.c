/*
 * check_book_diff: the book against a deliberately simple reference.
 *
 * The reference matcher below keeps orders in a flat array and finds
 * everything by linear scans: the best order is the live order with the
 * best price and then the lowest time stamp; levels are summed on demand.
 * It shares no code with book.c (fees are computed here with plain
 * division). Seeded random command streams (places of every type and TIF,
 * STP modes, cancels by id and client id, cancel-all, amends, GTD expiry,
 * status changes, tight limits) go to both; the formatted event streams
 * must be identical, command by command, and the depth snapshots equal.
 *
 * Fee tiers: a second random source (so the streams above stay as they
 * were) now and then sets a user's tier or a new tier table on both; the
 * reference looks the rates up by the user's tier at each fill, where the
 * book keeps the tier on each order.
 *
 * KDEX_DIFF_N sets the commands per stream (default 30000, four streams:
 * 120,000 commands); under valgrind the default drops to 3000.
 */
#include "config.h"

#include <check.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book.h"
#include "market.h"
#include "money.h"
#include "util.h"

#define REF_MAX		4096	/* orders ever live at once in a stream */
#define MAXEV		512

/* Event text, shared by both sides so streams compare as strings. */

static void
fmt_event(char *buf, size_t len, const struct book_event *ev)
{
	char	a[MONEY_BUFSZ], b[MONEY_BUFSZ], c[MONEY_BUFSZ], d[MONEY_BUFSZ];

	switch (ev->type) {
	case BOOK_EV_ACCEPTED:
		money_format_u128(a, ev->accepted.max_quote);
		snprintf(buf, len, "A %" PRIu64 " %" PRIu64 " %d %d %d %d %"
		    PRIu64 " %" PRIu64 " %s %" PRIu64 " [%s]", ev->accepted.id,
		    ev->accepted.user, ev->accepted.side, ev->accepted.type,
		    ev->accepted.tif, ev->accepted.post_only,
		    ev->accepted.price, ev->accepted.qty, a,
		    ev->accepted.expire_at, ev->accepted.client_id);
		break;
	case BOOK_EV_REJECTED:
		snprintf(buf, len, "R %d %s %" PRIu64 " %" PRIu64,
		    ev->rejected.cmd, book_reject_name(ev->rejected.reason),
		    ev->rejected.id, ev->rejected.user);
		break;
	case BOOK_EV_TRADE:
		money_format_u128(a, ev->trade.notional);
		money_format_u128(b, ev->trade.taker_fee);
		money_format_u128(c, ev->trade.maker_fee);
		money_format_u128(d, ev->trade.maker_rebate);
		snprintf(buf, len, "T %" PRIu64 " %" PRIu64 " %" PRIu64 " %"
		    PRIu64 " %d %" PRIu64 " %" PRIu64 " %s %s %s %s %" PRIu64
		    " %" PRIu64 " tiers %u %u %d %d", ev->trade.taker_id,
		    ev->trade.maker_id, ev->trade.taker_user,
		    ev->trade.maker_user, ev->trade.taker_side,
		    ev->trade.price, ev->trade.qty, a, b, c, d,
		    ev->trade.taker_left, ev->trade.maker_left,
		    ev->trade.taker_tier, ev->trade.maker_tier,
		    ev->trade.taker_fee_ppm, ev->trade.maker_fee_ppm);
		break;
	case BOOK_EV_RESTED:
		snprintf(buf, len, "S %" PRIu64 " %" PRIu64 " %d %" PRIu64 " %"
		    PRIu64, ev->rested.id, ev->rested.user, ev->rested.side,
		    ev->rested.price, ev->rested.qty);
		break;
	case BOOK_EV_CANCELLED:
		snprintf(buf, len, "C %" PRIu64 " %" PRIu64 " %d %" PRIu64 " %"
		    PRIu64 " %s", ev->cancelled.id, ev->cancelled.user,
		    ev->cancelled.side, ev->cancelled.price,
		    ev->cancelled.left,
		    book_cancel_reason_name(ev->cancelled.reason));
		break;
	case BOOK_EV_DONE:
		snprintf(buf, len, "D %" PRIu64 " %" PRIu64 " %d %" PRIu64,
		    ev->done.id, ev->done.user, ev->done.side, ev->done.price);
		break;
	case BOOK_EV_AMENDED:
		snprintf(buf, len, "M %" PRIu64 " %" PRIu64 " %d %" PRIu64 " %"
		    PRIu64 " %" PRIu64 " %" PRIu64 " %d", ev->amended.id,
		    ev->amended.user, ev->amended.side, ev->amended.old_price,
		    ev->amended.old_qty, ev->amended.price, ev->amended.qty,
		    ev->amended.kept_priority);
		break;
	case BOOK_EV_LEVEL:
		snprintf(buf, len, "L %d %" PRIu64 " %" PRIu64 " %u %" PRIu64,
		    ev->level.side, ev->level.price, ev->level.qty,
		    ev->level.orders, ev->level.depth_seq);
		break;
	}
}

struct evlog {
	char		 line[MAXEV][400];
	int		 n;
	uint64_t	 seq;
};

static void
log_event(struct evlog *l, const struct book_event *ev)
{
	ck_assert_int_lt(l->n, MAXEV);
	ck_assert(ev->seq == l->seq + 1);
	l->seq = ev->seq;
	fmt_event(l->line[l->n++], sizeof l->line[0], ev);
}

static void
engine_sink(void *arg, const struct book_event *ev)
{
	log_event(arg, ev);
}

/* The reference. */

struct rorder {
	int		 live;
	uint64_t	 id, user, price, left, expire_at, stamp;
	int		 side, stp, post_only;
	char		 cid[BOOK_CLIENT_ID_MAX + 1];
};

struct ref {
	struct market	 m;
	struct rorder	 o[REF_MAX];
	int		 n;		/* slots used */
	uint64_t	 stamp;
	uint64_t	 dseq;
	uint64_t	 now;
	struct evlog	*log;
	uint64_t	 seq;
	struct market_tiers tiers;
	unsigned int	 utier[64];	/* by user id */
};

/* The rate of a user's fills as maker or taker: by their current tier. */
static int32_t
ref_rate(const struct ref *r, uint64_t user, int maker)
{
	unsigned int	t = r->utier[user];

	if (t >= r->tiers.n)
		return maker ? r->m.cfg.maker_fee_ppm : r->m.cfg.taker_fee_ppm;
	return maker ? r->tiers.tier[t].maker_fee_ppm :
	    r->tiers.tier[t].taker_fee_ppm;
}

static void
ref_emit(struct ref *r, struct book_event *ev)
{
	ev->seq = ++r->seq;
	ev->time = r->now;
	log_event(r->log, ev);
}

static void
ref_level(struct ref *r, int side, uint64_t price)
{
	struct book_event	ev;
	uint64_t		qty = 0;
	uint32_t		cnt = 0;
	int			i;

	for (i = 0; i < r->n; i++)
		if (r->o[i].live && r->o[i].side == side &&
		    r->o[i].price == price) {
			qty += r->o[i].left;
			cnt++;
		}
	memset(&ev, 0, sizeof ev);
	ev.type = BOOK_EV_LEVEL;
	ev.level.side = (enum book_side)side;
	ev.level.price = price;
	ev.level.qty = qty;
	ev.level.orders = cnt;
	ev.level.depth_seq = ++r->dseq;
	ref_emit(r, &ev);
}

static void
ref_reject(struct ref *r, enum book_cmd cmd, enum book_reject why,
    uint64_t id, uint64_t user)
{
	struct book_event	ev;

	memset(&ev, 0, sizeof ev);
	ev.type = BOOK_EV_REJECTED;
	ev.rejected.cmd = cmd;
	ev.rejected.reason = why;
	ev.rejected.id = id;
	ev.rejected.user = user;
	ref_emit(r, &ev);
}

static void
ref_cancelled(struct ref *r, const struct rorder *o, uint64_t price,
    uint64_t left, enum book_cancel_reason why)
{
	struct book_event	ev;

	memset(&ev, 0, sizeof ev);
	ev.type = BOOK_EV_CANCELLED;
	ev.cancelled.id = o->id;
	ev.cancelled.user = o->user;
	ev.cancelled.side = (enum book_side)o->side;
	ev.cancelled.price = price;
	ev.cancelled.left = left;
	ev.cancelled.reason = why;
	ref_emit(r, &ev);
}

static void
ref_done(struct ref *r, const struct rorder *o)
{
	struct book_event	ev;

	memset(&ev, 0, sizeof ev);
	ev.type = BOOK_EV_DONE;
	ev.done.id = o->id;
	ev.done.user = o->user;
	ev.done.side = (enum book_side)o->side;
	ev.done.price = o->price;
	ref_emit(r, &ev);
}

/* Take a live order out with CANCELLED and LEVEL. */
static void
ref_kill(struct ref *r, struct rorder *o, enum book_cancel_reason why)
{
	o->live = 0;
	ref_cancelled(r, o, o->price, o->left, why);
	ref_level(r, o->side, o->price);
}

static struct rorder *
ref_find(struct ref *r, uint64_t id)
{
	int	i;

	for (i = 0; i < r->n; i++)
		if (r->o[i].live && r->o[i].id == id)
			return &r->o[i];
	return NULL;
}

static struct rorder *
ref_find_cid(struct ref *r, uint64_t user, const char *cid)
{
	int	i;

	for (i = 0; i < r->n; i++)
		if (r->o[i].live && r->o[i].user == user &&
		    strcmp(r->o[i].cid, cid) == 0)
			return &r->o[i];
	return NULL;
}

/* Best live order of a side: best price, then oldest. */
static struct rorder *
ref_best(struct ref *r, int side)
{
	struct rorder	*best = NULL, *o;
	int		 i;

	for (i = 0; i < r->n; i++) {
		o = &r->o[i];
		if (!o->live || o->side != side)
			continue;
		if (best == NULL ||
		    (side == BOOK_BUY ? o->price > best->price :
		    o->price < best->price) ||
		    (o->price == best->price && o->stamp < best->stamp))
			best = o;
	}
	return best;
}

static int
ref_count(struct ref *r, int side, uint64_t user, int by_user)
{
	int	i, n = 0;

	for (i = 0; i < r->n; i++)
		if (r->o[i].live && (side < 0 || r->o[i].side == side) &&
		    (!by_user || r->o[i].user == user))
			n++;
	return n;
}

static int
ref_nlevels(struct ref *r, int side, uint64_t with_price, int *has)
{
	uint64_t	seen[REF_MAX];
	int		i, j, n = 0;

	*has = 0;
	for (i = 0; i < r->n; i++) {
		if (!r->o[i].live || r->o[i].side != side)
			continue;
		if (r->o[i].price == with_price)
			*has = 1;
		for (j = 0; j < n; j++)
			if (seen[j] == r->o[i].price)
				break;
		if (j == n)
			seen[n++] = r->o[i].price;
	}
	return n;
}

static void
ref_expire(struct ref *r, uint64_t now)
{
	struct rorder	*due, *o;
	int		 i;

	for (;;) {
		due = NULL;
		for (i = 0; i < r->n; i++) {
			o = &r->o[i];
			if (!o->live || o->expire_at == 0 || o->expire_at > now)
				continue;
			if (due == NULL || o->expire_at < due->expire_at ||
			    (o->expire_at == due->expire_at &&
			    o->stamp < due->stamp))
				due = o;
		}
		if (due == NULL)
			return;
		ref_kill(r, due, BOOK_CXL_EXPIRED);
	}
}

static int
ref_crosses(struct ref *r, int side, uint64_t price)
{
	struct rorder	*b = ref_best(r, !side);

	if (b == NULL)
		return 0;
	return side == BOOK_BUY ? b->price <= price : b->price >= price;
}

static u128
ref_fee_up(u128 n, int32_t ppm)
{
	return ppm <= 0 ? 0 : (n * (u128)ppm + 999999) / 1000000;
}

static u128
ref_rebate(u128 n, int32_t ppm)
{
	return ppm >= 0 ? 0 : n * (u128)(-(int64_t)ppm) / 1000000;
}

enum { R_FILLED, R_PRICE, R_STP, R_BUDGET };

/* Match taker t (not live) up to limit. */
static int
ref_match(struct ref *r, struct rorder *t, uint64_t limit, u128 *budget)
{
	struct rorder			*mk;
	struct book_event		 ev;
	uint64_t			 fill;
	u128				 notional, per, afford;
	int32_t				 tr = ref_rate(r, t->user, 0), mr;

	while (t->left > 0) {
		mk = ref_best(r, !t->side);
		if (mk == NULL || (t->side == BOOK_BUY ? mk->price > limit :
		    mk->price < limit))
			return R_PRICE;
		if (mk->user == t->user) {
			if (t->stp == BOOK_STP_CANCEL_TAKER)
				return R_STP;
			ref_kill(r, mk, BOOK_CXL_STP);
			if (t->stp == BOOK_STP_CANCEL_BOTH)
				return R_STP;
			continue;
		}
		fill = t->left < mk->left ? t->left : mk->left;
		if (budget != NULL) {
			per = (u128)mk->price * r->m.unit;
			per += ref_fee_up(per, tr);
			afford = *budget / per;
			if (afford == 0)
				return R_BUDGET;
			if (afford < fill)
				fill = (uint64_t)afford;
		}
		notional = (u128)fill * mk->price * r->m.unit;
		memset(&ev, 0, sizeof ev);
		ev.type = BOOK_EV_TRADE;
		mr = ref_rate(r, mk->user, 1);
		ev.trade.taker_fee = ref_fee_up(notional, tr);
		ev.trade.maker_fee = ref_fee_up(notional, mr);
		ev.trade.maker_rebate = ref_rebate(notional, mr);
		ev.trade.taker_tier = r->utier[t->user];
		ev.trade.maker_tier = r->utier[mk->user];
		ev.trade.taker_fee_ppm = tr;
		ev.trade.maker_fee_ppm = mr;
		if (budget != NULL)
			*budget -= notional + ev.trade.taker_fee;
		t->left -= fill;
		mk->left -= fill;
		ev.trade.taker_id = t->id;
		ev.trade.maker_id = mk->id;
		ev.trade.taker_user = t->user;
		ev.trade.maker_user = mk->user;
		ev.trade.taker_side = (enum book_side)t->side;
		ev.trade.price = mk->price;
		ev.trade.qty = fill;
		ev.trade.notional = notional;
		ev.trade.taker_left = t->left;
		ev.trade.maker_left = mk->left;
		ref_emit(r, &ev);
		if (mk->left == 0) {
			mk->live = 0;
			ref_done(r, mk);
		}
		ref_level(r, mk->side, mk->price);
	}
	return R_FILLED;
}

static void
ref_finish(struct ref *r, struct rorder *t, int why, int may_rest)
{
	struct book_event	ev;

	switch (why) {
	case R_FILLED:
		ref_done(r, t);
		return;
	case R_STP:
		ref_cancelled(r, t, t->price, t->left, BOOK_CXL_STP);
		return;
	case R_BUDGET:
		ref_cancelled(r, t, t->price, t->left, BOOK_CXL_MAX_QUOTE);
		return;
	}
	if (!may_rest) {
		ref_cancelled(r, t, t->price, t->left, BOOK_CXL_IOC);
		return;
	}
	t->live = 1;
	t->stamp = ++r->stamp;
	memset(&ev, 0, sizeof ev);
	ev.type = BOOK_EV_RESTED;
	ev.rested.id = t->id;
	ev.rested.user = t->user;
	ev.rested.side = (enum book_side)t->side;
	ev.rested.price = t->price;
	ev.rested.qty = t->left;
	ref_emit(r, &ev);
	ref_level(r, t->side, t->price);
}

/* A free slot (dead orders are recycled). */
static struct rorder *
ref_slot(struct ref *r)
{
	int	i;

	for (i = 0; i < r->n; i++)
		if (!r->o[i].live)
			return &r->o[i];
	ck_assert_int_lt(r->n, REF_MAX);
	return &r->o[r->n++];
}

static enum book_reject
ref_place(struct ref *r, uint64_t now, const struct book_place *p)
{
	const struct market_config	*c = &r->m.cfg;
	const char			*cid = p->client_id ? p->client_id : "";
	int				 mkt = p->type == BOOK_MARKET, has, i;
	int				 may_rest = !mkt && p->tif == BOOK_GTC;
	enum book_reject		 why = BOOK_OK;
	struct rorder			 t, *best;
	struct book_event		 ev;
	uint64_t			 limit = p->price, need;
	u128				 v, budget;
	size_t				 len = strlen(cid);

	r->now = now;
	ref_expire(r, now);
	for (i = 0; i < (int)len; i++)
		if (cid[i] < 0x21 || cid[i] > 0x7e)
			break;
	if (c->status == MARKET_HALTED)
		why = BOOK_REJ_HALTED;
	else if (c->status == MARKET_CANCEL_ONLY)
		why = BOOK_REJ_CANCEL_ONLY;
	else if (p->id == 0 || p->user == 0)
		why = BOOK_REJ_BAD_ORDER;
	else if (mkt && (p->post_only || p->tif == BOOK_GTC ||
	    p->expire_at != 0))
		why = BOOK_REJ_BAD_ORDER;
	else if (!mkt && (p->slippage_bps != 0 || p->max_quote != 0))
		why = BOOK_REJ_BAD_ORDER;
	else if (!mkt && p->tif != BOOK_GTC && (p->post_only ||
	    p->expire_at != 0))
		why = BOOK_REJ_BAD_ORDER;
	else if (p->max_quote != 0 && (p->side != BOOK_BUY ||
	    p->tif == BOOK_FOK))
		why = BOOK_REJ_BAD_ORDER;
	else if (len > BOOK_CLIENT_ID_MAX || i != (int)len)
		why = BOOK_REJ_BAD_CLIENT_ID;
	else if (p->price > c->max_price_ticks || (!mkt && p->price == 0))
		why = BOOK_REJ_BAD_PRICE;
	else if (mkt && p->price == 0 && p->slippage_bps == 0)
		why = BOOK_REJ_NO_PROTECTION;
	else if (p->qty > c->max_qty_lots || (p->qty == 0 &&
	    p->max_quote == 0))
		why = BOOK_REJ_BAD_QTY;
	else if (p->qty != 0 && p->qty < c->min_lots)
		why = BOOK_REJ_MIN_SIZE;
	else if (!mkt && (u128)p->price * p->qty * r->m.unit <
	    c->min_notional)
		why = BOOK_REJ_MIN_NOTIONAL;
	else if (p->expire_at != 0 && p->expire_at <= now)
		why = BOOK_REJ_EXPIRED;
	else if (ref_find(r, p->id) != NULL)
		why = BOOK_REJ_DUPLICATE_ID;
	else if (len > 0 && ref_find_cid(r, p->user, cid) != NULL)
		why = BOOK_REJ_DUPLICATE_CLIENT_ID;
	else if (mkt && ref_best(r, !p->side) == NULL)
		why = BOOK_REJ_NO_LIQUIDITY;
	if (why == BOOK_OK && mkt && p->slippage_bps != 0) {
		best = ref_best(r, !p->side);
		if (p->side == BOOK_BUY) {
			v = (u128)best->price * (10000 + p->slippage_bps) /
			    10000;
			if (v > c->max_price_ticks)
				v = c->max_price_ticks;
			if (limit == 0 || v < limit)
				limit = (uint64_t)v;
		} else {
			if (p->slippage_bps >= 10000)
				v = 1;
			else {
				v = ((u128)best->price *
				    (10000 - p->slippage_bps) + 9999) / 10000;
				if (v == 0)
					v = 1;
			}
			if (limit == 0 || v > limit)
				limit = (uint64_t)v;
		}
	}
	if (why == BOOK_OK && p->post_only && ref_crosses(r, p->side, limit))
		why = BOOK_REJ_WOULD_TAKE;
	if (why == BOOK_OK && may_rest) {
		if (ref_count(r, -1, 0, 0) >= (int)c->limits.max_orders)
			why = BOOK_REJ_BOOK_FULL;
		else if (ref_count(r, -1, p->user, 1) >=
		    (int)c->limits.max_orders_per_user)
			why = BOOK_REJ_USER_LIMIT;
		else if (ref_nlevels(r, p->side, p->price, &has) >=
		    (int)c->limits.max_levels && !has)
			why = BOOK_REJ_LEVELS_FULL;
	}
	memset(&t, 0, sizeof t);
	t.id = p->id;
	t.user = p->user;
	t.side = p->side;
	t.stp = p->stp;
	t.post_only = p->post_only;
	t.price = limit;
	t.left = p->qty != 0 ? p->qty : c->max_qty_lots;
	t.expire_at = p->expire_at;
	snprintf(t.cid, sizeof t.cid, "%s", cid);
	if (why == BOOK_OK && p->tif == BOOK_FOK) {
		/* Walk the other side in priority order. */
		struct rorder	*saved[REF_MAX];
		int		 ns = 0, ok = 0;

		need = t.left;
		while ((best = ref_best(r, !t.side)) != NULL) {
			if (t.side == BOOK_BUY ? best->price > limit :
			    best->price < limit)
				break;
			best->live = 0;	/* hide while walking */
			saved[ns++] = best;
			if (best->user == t.user) {
				if (t.stp == BOOK_STP_CANCEL_MAKER)
					continue;
				break;
			}
			if (best->left >= need) {
				ok = 1;
				break;
			}
			need -= best->left;
		}
		while (ns > 0)
			saved[--ns]->live = 1;
		if (!ok)
			why = BOOK_REJ_NO_LIQUIDITY;
	}
	if (why != BOOK_OK) {
		ref_reject(r, BOOK_CMD_PLACE, why, p->id, p->user);
		return why;
	}
	memset(&ev, 0, sizeof ev);
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
	ev.accepted.client_id = t.cid;
	ref_emit(r, &ev);
	budget = p->max_quote;
	i = ref_match(r, &t, limit, p->max_quote != 0 ? &budget : NULL);
	if (i == R_PRICE && may_rest) {
		best = ref_slot(r);
		*best = t;
		ref_finish(r, best, i, may_rest);
	} else
		ref_finish(r, &t, i, may_rest);
	return BOOK_OK;
}

static enum book_reject
ref_cancel(struct ref *r, uint64_t now, uint64_t user, uint64_t id)
{
	struct rorder	*o;

	r->now = now;
	ref_expire(r, now);
	if (r->m.cfg.status == MARKET_HALTED) {
		ref_reject(r, BOOK_CMD_CANCEL, BOOK_REJ_HALTED, id, user);
		return BOOK_REJ_HALTED;
	}
	o = ref_find(r, id);
	if (o == NULL || (user != 0 && o->user != user)) {
		ref_reject(r, BOOK_CMD_CANCEL, BOOK_REJ_NOT_FOUND, id, user);
		return BOOK_REJ_NOT_FOUND;
	}
	ref_kill(r, o, BOOK_CXL_USER);
	return BOOK_OK;
}

static enum book_reject
ref_cancel_cid(struct ref *r, uint64_t now, uint64_t user, const char *cid)
{
	struct rorder	*o = NULL;

	r->now = now;
	ref_expire(r, now);
	if (r->m.cfg.status == MARKET_HALTED) {
		ref_reject(r, BOOK_CMD_CANCEL_CLIENT, BOOK_REJ_HALTED, 0, user);
		return BOOK_REJ_HALTED;
	}
	if (cid != NULL && *cid != '\0' && user != 0)
		o = ref_find_cid(r, user, cid);
	if (o == NULL) {
		ref_reject(r, BOOK_CMD_CANCEL_CLIENT, BOOK_REJ_NOT_FOUND, 0,
		    user);
		return BOOK_REJ_NOT_FOUND;
	}
	ref_kill(r, o, BOOK_CXL_USER);
	return BOOK_OK;
}

static size_t
ref_cancel_all(struct ref *r, uint64_t now, uint64_t user)
{
	struct rorder	*o, *pick;
	size_t		 n = 0;
	int		 i, s;

	r->now = now;
	ref_expire(r, now);
	if (r->m.cfg.status == MARKET_HALTED) {
		ref_reject(r, BOOK_CMD_CANCEL_ALL, BOOK_REJ_HALTED, 0, user);
		return 0;
	}
	if (user != 0) {
		for (;;) {
			pick = NULL;
			for (i = 0; i < r->n; i++) {
				o = &r->o[i];
				if (o->live && o->user == user &&
				    (pick == NULL || o->stamp < pick->stamp))
					pick = o;
			}
			if (pick == NULL)
				break;
			ref_kill(r, pick, BOOK_CXL_USER);
			n++;
		}
		return n;
	}
	for (s = 0; s < 2; s++)
		while ((pick = ref_best(r, s)) != NULL) {
			ref_kill(r, pick, BOOK_CXL_USER);
			n++;
		}
	return n;
}

static enum book_reject
ref_amend(struct ref *r, uint64_t now, uint64_t user, uint64_t id,
    uint64_t price, uint64_t qty)
{
	const struct market_config	*c = &r->m.cfg;
	struct rorder			*o;
	struct book_event		 ev;
	enum book_reject		 why = BOOK_OK;
	uint64_t			 np, nq, oldp, oldq;
	int				 has, res;

	r->now = now;
	ref_expire(r, now);
	o = ref_find(r, id);
	if (c->status == MARKET_HALTED)
		why = BOOK_REJ_HALTED;
	else if (o == NULL || (user != 0 && o->user != user))
		why = BOOK_REJ_NOT_FOUND;
	else if (price > c->max_price_ticks)
		why = BOOK_REJ_BAD_PRICE;
	else if (qty > c->max_qty_lots)
		why = BOOK_REJ_BAD_QTY;
	if (why != BOOK_OK) {
		ref_reject(r, BOOK_CMD_AMEND, why, id, user);
		return why;
	}
	oldp = o->price;
	oldq = o->left;
	np = price ? price : oldp;
	nq = qty ? qty : oldq;
	memset(&ev, 0, sizeof ev);
	ev.type = BOOK_EV_AMENDED;
	ev.amended.id = id;
	ev.amended.user = o->user;
	ev.amended.side = (enum book_side)o->side;
	ev.amended.old_price = oldp;
	ev.amended.old_qty = oldq;
	ev.amended.price = np;
	ev.amended.qty = nq;
	if (np == oldp && nq <= oldq) {
		o->left = nq;
		ev.amended.kept_priority = true;
		ref_emit(r, &ev);
		if (nq != oldq)
			ref_level(r, o->side, oldp);
		return BOOK_OK;
	}
	if (c->status == MARKET_CANCEL_ONLY)
		why = BOOK_REJ_CANCEL_ONLY;
	else if (o->post_only && ref_crosses(r, o->side, np))
		why = BOOK_REJ_WOULD_TAKE;
	else if (np != oldp && ref_nlevels(r, o->side, np, &has) >=
	    (int)c->limits.max_levels && !has)
		why = BOOK_REJ_LEVELS_FULL;
	if (why != BOOK_OK) {
		ref_reject(r, BOOK_CMD_AMEND, why, id, user);
		return why;
	}
	o->live = 0;
	ev.amended.kept_priority = false;
	ref_emit(r, &ev);
	ref_level(r, o->side, oldp);
	o->price = np;
	o->left = nq;
	res = ref_match(r, o, np, NULL);
	ref_finish(r, o, res, 1);
	return BOOK_OK;
}

/* Random streams. */

static uint64_t
rnd(uint64_t *s)
{
	uint64_t	z;

	*s += 0x9e3779b97f4a7c15ULL;
	z = *s;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t
pick(uint64_t *s, uint64_t n)
{
	return rnd(s) % n;
}

struct profile {
	uint32_t	max_orders, max_levels, per_user;
	int32_t		maker, taker;
	uint64_t	tick, lot;
	unsigned int	bdec;
	uint64_t	users;
	uint64_t	band;		/* prices MID +/- band */
	uint64_t	min_lots;
	uint64_t	min_notional;
};

static const struct profile profiles[] = {
	/* Roomy book, fees, few users (lots of STP). */
	{ 1000, 200, 1000, -100, 300, 1, 1, 0, 4, 10, 1, 0 },
	/* Tight limits: full book, levels and users refused. */
	{ 12, 6, 4, 0, 0, 1, 1, 0, 6, 8, 1, 0 },
	/* Non-trivial unit (tick 5, lot 60, 2 base decimals: unit 3). */
	{ 300, 50, 300, 500, 2500, 5, 60, 2, 8, 15, 2, 100 },
	/* Many users, wide band, rebates equal to the taker fee. */
	{ 2000, 400, 2000, -1000, 1000, 1, 1, 0, 50, 60, 1, 0 },
};

/* What a stream exercised: each must show up, or the test proves little. */
static const char *coverage[] = {
	"T ", " stp", " expired", " max_quote", " ioc", "S ", "D ", "M ",
	"no_liquidity", "would_take", "duplicate_client_id", "not_found",
	"market_halted", "market_cancel_only", "bad_order",
	/* Only the tight profile (1) must reach these. */
	"book_full", "levels_full", "user_limit",
};
#define NCOVER_ALL	15
#define NCOVER	(sizeof coverage / sizeof coverage[0])

static const char *cids[] = { "", "", "", "a", "b", "c", "order-1" };

/*
 * A random table valid for m's base rates: takers within [floor, base],
 * floor keeping the lowest taker rate at least the base rebate; makers
 * within [-lowest taker, base maker].
 */
static void
diff_tiers(uint64_t *ts, const struct market *m, struct market_tiers *t)
{
	int32_t		bm = m->cfg.maker_fee_ppm, bt = m->cfg.taker_fee_ppm;
	int32_t		lo = bm < 0 ? -bm : 0, mint = bt;
	unsigned int	i;

	market_tiers_base(m, t);
	t->n = 1 + (unsigned int)pick(ts, 3);
	for (i = 1; i < t->n; i++) {
		t->tier[i].min_volume = t->tier[i - 1].min_volume + 1 +
		    pick(ts, 1000);
		t->tier[i].taker_fee_ppm = lo + (int32_t)pick(ts,
		    (uint64_t)(bt - lo) + 1);
		if (t->tier[i].taker_fee_ppm < mint)
			mint = t->tier[i].taker_fee_ppm;
	}
	for (i = 1; i < t->n; i++)
		t->tier[i].maker_fee_ppm = bm - (int32_t)pick(ts,
		    (uint64_t)(bm + mint) + 1);
}

static void
diff_stream(unsigned int seed, const struct profile *pf, int n)
{
	struct market_config	 cfg;
	struct market		 m;
	struct evlog		*el, *rl;
	struct ref		*ref;
	struct book		*b;
	struct book_place	 p;
	struct book_level	 lv[512];
	char			*cause;
	uint64_t		 s = seed, now = 1000, next_id = 1, id, mid = 1000;
	uint64_t		 ts = seed * 7919u + 1;	/* tier changes */
	uint64_t		 user, ids[64];
	enum book_reject	 e1, e2;
	size_t			 c1, c2, nl, k;
	int			 i, j, op, sd, nids = 0, nrec, halt_left = 0;
	struct rorder		*o;
	size_t			 seen[NCOVER];

	memset(seen, 0, sizeof seen);
	memset(&cfg, 0, sizeof cfg);
	strcpy(cfg.base.symbol, "B");
	strcpy(cfg.quote.symbol, "Q");
	cfg.base.decimals = pf->bdec;
	cfg.quote.decimals = 2;
	cfg.tick_size = pf->tick;
	cfg.lot_size = pf->lot;
	cfg.min_lots = pf->min_lots;
	cfg.min_notional = pf->min_notional;
	cfg.maker_fee_ppm = pf->maker;
	cfg.taker_fee_ppm = pf->taker;
	cfg.max_price_ticks = 2000;
	cfg.max_qty_lots = 1000;
	cfg.limits.max_orders = pf->max_orders;
	cfg.limits.max_levels = pf->max_levels;
	cfg.limits.max_orders_per_user = pf->per_user;
	ck_assert_msg(market_init(&m, &cfg, &cause) == 0, "%s", cause);

	el = xcalloc(1, sizeof *el);
	rl = xcalloc(1, sizeof *rl);
	ref = xcalloc(1, sizeof *ref);
	ref->m = m;
	ref->log = rl;
	market_tiers_base(&m, &ref->tiers);
	b = book_create(&m, 1, engine_sink, el);

	for (i = 0; i < n; i++) {
		/* No events: a user's tier (some past the table) or a table. */
		if (pick(&ts, 40) == 0) {
			j = 1 + (int)pick(&ts, pf->users);
			ref->utier[j] = (unsigned int)pick(&ts, 4);
			ck_assert_int_ge(book_set_user_tier(b, (uint64_t)j,
			    ref->utier[j]), 0);
		}
		if (pick(&ts, 400) == 0) {
			diff_tiers(&ts, &m, &ref->tiers);
			ck_assert_int_eq(book_set_tiers(b, &ref->tiers), 0);
		}
		el->n = rl->n = 0;
		now += pick(&s, 3);
		user = 1 + pick(&s, pf->users);
		/* Remember some live ids to aim cancels and amends at. */
		nrec = 0;
		for (j = 0; j < ref->n && nrec < 64; j++)
			if (ref->o[j].live)
				ids[nrec++] = ref->o[j].id;
		nids = nrec;
		id = nids > 0 && pick(&s, 10) != 0 ?
		    ids[pick(&s, (uint64_t)nids)] : 1 + pick(&s, next_id);
		op = (int)pick(&s, 100);
		if (op < 55) {
			memset(&p, 0, sizeof p);
			p.id = pick(&s, 200) == 0 ? id : next_id++;
			p.user = user;
			p.side = (enum book_side)pick(&s, 2);
			sd = p.side == BOOK_BUY ? -1 : 1;
			/* Mostly near the middle, some crossing. */
			p.price = (uint64_t)((int64_t)mid + sd *
			    ((int64_t)pick(&s, pf->band + 1) -
			    (int64_t)pf->band / 3));
			p.qty = 1 + pick(&s, 20);
			p.client_id = cids[pick(&s, 7)];
			p.stp = (enum book_stp)pick(&s, 3);
			j = (int)pick(&s, 100);
			if (j < 55) {
				p.tif = BOOK_GTC;
				if (pick(&s, 8) == 0)
					p.post_only = true;
				if (pick(&s, 5) == 0)
					p.expire_at = now + pick(&s, 60);
			} else if (j < 68)
				p.tif = BOOK_IOC;
			else if (j < 80)
				p.tif = BOOK_FOK;
			else {
				p.type = BOOK_MARKET;
				p.tif = pick(&s, 4) == 0 ? BOOK_FOK : BOOK_IOC;
				k = pick(&s, 4);
				if (k == 0)
					p.price = 0;
				if (k <= 1)
					p.slippage_bps = (uint32_t)pick(&s,
					    300);
				if (p.side == BOOK_BUY && p.tif == BOOK_IOC &&
				    pick(&s, 3) == 0) {
					p.max_quote = pick(&s, 20000);
					if (pick(&s, 2) == 0)
						p.qty = 0;
				}
			}
			/* Now and then a malformed order. */
			if (pick(&s, 50) == 0) {
				switch (pick(&s, 6)) {
				case 0:
					p.price = 0;
					break;
				case 1:
					p.qty = 5000;
					break;
				case 2:
					p.post_only = true;
					break;
				case 3:
					p.expire_at = now;
					break;
				case 4:
					p.max_quote = 10;
					break;
				default:
					p.client_id =
					    "much-too-long-client-id-0123456789";
					break;
				}
			}
			p.tier = ref->utier[user];
			e1 = book_place(b, now, &p);
			e2 = ref_place(ref, now, &p);
		} else if (op < 73) {
			uint64_t u;

			o = ref_find(ref, id);
			u = o != NULL && pick(&s, 4) != 0 ? o->user : user;
			if (pick(&s, 8) == 0)
				u = BOOK_ANY_USER;
			e1 = book_cancel(b, now, u, id);
			e2 = ref_cancel(ref, now, u, id);
		} else if (op < 78) {
			const char *c = cids[3 + pick(&s, 4)];

			e1 = book_cancel_client(b, now, user, c);
			e2 = ref_cancel_cid(ref, now, user, c);
		} else if (op < 80) {
			uint64_t u = pick(&s, 10) == 0 ? 0 : user;

			c1 = book_cancel_all(b, now, u);
			c2 = ref_cancel_all(ref, now, u);
			ck_assert_uint_eq(c1, c2);
			e1 = e2 = BOOK_OK;
		} else if (op < 95) {
			uint64_t np = 0, nq = 0;

			o = ref_find(ref, id);
			if (pick(&s, 2) == 0)
				nq = 1 + pick(&s, 25);
			if (pick(&s, 2) == 0 && o != NULL)
				np = (uint64_t)((int64_t)o->price +
				    (int64_t)pick(&s, 7) - 3);
			if (np == 0 && nq == 0)
				nq = 1;
			{
				uint64_t u = o != NULL && pick(&s, 10) != 0 ?
				    o->user : user;

				e1 = book_amend(b, now, u, id, np, nq);
				e2 = ref_amend(ref, now, u, id, np, nq);
			}
		} else if (op < 99) {
			now += pick(&s, 30);
			c1 = book_expire(b, now);
			ref->now = now;
			ref_expire(ref, now);
			c2 = c1;
			e1 = e2 = BOOK_OK;
		} else {
			enum market_status st = (enum market_status)pick(&s, 3);

			if (pick(&s, 3) != 0)
				st = MARKET_OPEN;
			book_set_status(b, st);
			ref->m.cfg.status = st;
			halt_left = 3 + (int)pick(&s, 20);
			e1 = e2 = BOOK_OK;
		}
		/* Halts and cancel-only spells are short. */
		if (halt_left > 0 && --halt_left == 0) {
			book_set_status(b, MARKET_OPEN);
			ref->m.cfg.status = MARKET_OPEN;
		}
		/* Drift the middle so levels come and go. */
		if (pick(&s, 200) == 0)
			mid = 1000 + pick(&s, 40) - 20;
		if (getenv("KDEX_DIFF_TRACE") != NULL)
			for (j = 0; j < el->n || j < rl->n; j++)
				fprintf(stderr, "%d: %s | %s\n", i,
				    j < el->n ? el->line[j] : "-",
				    j < rl->n ? rl->line[j] : "-");
		for (j = 0; j < el->n; j++)
			for (k = 0; k < NCOVER; k++)
				if (strstr(el->line[j], coverage[k]) != NULL)
					seen[k]++;
		ck_assert_int_eq(e1, e2);
		for (j = 0; j < el->n || j < rl->n; j++) {
			ck_assert_msg(j < el->n && j < rl->n &&
			    strcmp(el->line[j], rl->line[j]) == 0,
			    "seed %u command %d event %d: engine '%s' "
			    "reference '%s'", seed, i, j,
			    j < el->n ? el->line[j] : "(none)",
			    j < rl->n ? rl->line[j] : "(none)");
		}
		if (i % 64 == 0 || i == n - 1) {
			book_check(b);
			ck_assert_uint_eq(book_order_count(b),
			    (size_t)ref_count(ref, -1, 0, 0));
			for (sd = 0; sd < 2; sd++) {
				struct rorder	*bo;
				uint64_t	 bp, bq;

				nl = book_depth(b, (enum book_side)sd, lv, 512);
				bo = ref_best(ref, sd);
				ck_assert_int_eq(book_best(b,
				    (enum book_side)sd, &bp, &bq), bo != NULL);
				if (bo != NULL)
					ck_assert_uint_eq(bp, bo->price);
				for (k = 0; k < nl; k++) {
					uint64_t q = 0;
					uint32_t cnt = 0;

					for (j = 0; j < ref->n; j++) {
						o = &ref->o[j];
						if (o->live && o->side == sd &&
						    o->price == lv[k].price) {
							q += o->left;
							cnt++;
						}
					}
					ck_assert_uint_eq(q, lv[k].qty);
					ck_assert_uint_eq(cnt, lv[k].orders);
				}
				ck_assert_uint_eq(nl, (size_t)ref_nlevels(ref,
				    sd, 0, &j));
			}
			ck_assert_uint_eq(book_user_order_count(b, user),
			    (size_t)ref_count(ref, -1, user, 1));
		}
	}
	for (k = 0; k < NCOVER; k++) {
		if (getenv("KDEX_DIFF_TRACE") != NULL)
			fprintf(stderr, "seed %u: '%s' %zu\n", seed,
			    coverage[k], seen[k]);
		/* Short runs (valgrind) may miss the rarer ones. */
		if (n >= 20000 && (k < NCOVER_ALL || pf == &profiles[1]))
			ck_assert_msg(seen[k] > 0, "seed %u never saw '%s'",
			    seed, coverage[k]);
	}
	book_free(b);
	free(el);
	free(rl);
	free(ref);
}

static int
diff_n(void)
{
	const char	*v = getenv("KDEX_DIFF_N"), *pre = getenv("LD_PRELOAD");

	if (v != NULL && atoi(v) > 0)
		return atoi(v);
	/* Under valgrind (its preload is visible) keep the run short. */
	if (pre != NULL && strstr(pre, "vgpreload") != NULL)
		return 3000;
	return 30000;
}

START_TEST(test_diff)
{
	const char	*only = getenv("KDEX_DIFF_ONLY");

	if (only != NULL && atoi(only) != _i)
		return;
	diff_stream(1000u + (unsigned int)_i, &profiles[_i], diff_n());
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("book_diff");
	TCase	*tc = tcase_create("diff");
	SRunner	*sr;
	int	 failed;

	tcase_set_timeout(tc, 600);
	tcase_add_loop_test(tc, test_diff, 0,
	    (int)(sizeof profiles / sizeof profiles[0]));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
