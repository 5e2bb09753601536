/*
 * market: checking a market's configuration and converting prices and
 * quantities between decimal strings and ticks/lots (market.h).
 */
#include "config.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "market.h"
#include "util.h"

static int
market_fail(char **cause, const char *what)
{
	*cause = xstrdup(what);
	return -1;
}

static int
market_token_ok(const struct market_token *t)
{
	size_t	len = strnlen(t->symbol, sizeof t->symbol);

	return len > 0 && len < sizeof t->symbol &&
	    strnlen(t->address, sizeof t->address) < sizeof t->address &&
	    t->decimals <= MONEY_MAX_DECIMALS;
}

/* Quote reserved per lot by a buy at ticks: price*unit plus max fee. */
static int
market_buy_per_lot(const struct market *m, uint64_t ticks, u128 *out)
{
	u128	per, fee, rebate, total;
	int32_t	rate;

	if (money_mul(&per, (u128)ticks, m->unit) != 0)
		return -1;
	rate = m->cfg.maker_fee_ppm > m->cfg.taker_fee_ppm ?
	    m->cfg.maker_fee_ppm : m->cfg.taker_fee_ppm;
	if (rate < 0)
		rate = 0;
	money_fee(&fee, &rebate, per, rate);
	if (money_add(&total, per, fee) != 0)
		return -1;
	*out = total;
	return 0;
}

int
market_init(struct market *m, const struct market_config *cfg, char **cause)
{
	struct market	 tmp;
	u128		 prod, scale, worst;

	memset(&tmp, 0, sizeof tmp);
	tmp.cfg = *cfg;
	if (!market_token_ok(&cfg->base) || !market_token_ok(&cfg->quote))
		return market_fail(cause, "bad token symbol, address or "
		    "decimals");
	if (cfg->tick_size == 0 || cfg->lot_size == 0)
		return market_fail(cause, "tick and lot size must be non-zero");
	scale = money_pow10(cfg->base.decimals);
	if (money_mul(&prod, cfg->tick_size, cfg->lot_size) != 0)
		return market_fail(cause, "tick times lot overflows");
	if (prod % scale != 0)
		return market_fail(cause, "tick times lot is not a whole number "
		    "of quote units per lot");
	tmp.unit = prod / scale;
	tmp.base_scale = scale;
	if (cfg->taker_fee_ppm < 0 || cfg->taker_fee_ppm > MONEY_PPM)
		return market_fail(cause, "taker fee out of range");
	if (cfg->maker_fee_ppm > MONEY_PPM ||
	    cfg->maker_fee_ppm < -cfg->taker_fee_ppm)
		return market_fail(cause, "maker fee out of range (a rebate "
		    "may not exceed the taker fee)");
	if (cfg->min_lots == 0 || cfg->max_price_ticks == 0 ||
	    cfg->max_qty_lots < cfg->min_lots)
		return market_fail(cause, "bad size or price bounds");
	if (cfg->limits.max_orders == 0 || cfg->limits.max_levels == 0 ||
	    cfg->limits.max_orders_per_user == 0 ||
	    cfg->limits.max_orders > (UINT32_MAX >> 2) ||
	    cfg->limits.max_levels > (1u << 20))
		return market_fail(cause, "bad limits");
	if (cfg->status != MARKET_OPEN && cfg->status != MARKET_HALTED &&
	    cfg->status != MARKET_CANCEL_ONLY)
		return market_fail(cause, "bad status");
	/* The largest order's reservation must fit: then nothing overflows. */
	if (market_reserve(&tmp, true, cfg->max_price_ticks,
	    cfg->max_qty_lots, &worst) != 0 ||
	    market_reserve(&tmp, false, cfg->max_price_ticks,
	    cfg->max_qty_lots, &worst) != 0)
		return market_fail(cause, "largest order overflows 128 bits");
	snprintf(tmp.pair, sizeof tmp.pair, "%s-%s", cfg->base.symbol,
	    cfg->quote.symbol);
	*m = tmp;
	return 0;
}

const char *
market_strerror(enum market_err e)
{
	switch (e) {
	case MARKET_OK:
		return "ok";
	case MARKET_EMPTY:
		return "empty value";
	case MARKET_SIGN:
		return "value has a sign";
	case MARKET_JUNK:
		return "not a decimal number";
	case MARKET_DECIMALS:
		return "too many decimals";
	case MARKET_ZERO:
		return "value is zero";
	case MARKET_NOT_TICK:
		return "not a multiple of the tick size";
	case MARKET_NOT_LOT:
		return "not a multiple of the lot size";
	case MARKET_TOO_LARGE:
		return "value too large";
	}
	return "unknown error";
}

static enum market_err
market_from_money(enum money_status st)
{
	switch (st) {
	case MONEY_OK:
		return MARKET_OK;
	case MONEY_EMPTY:
		return MARKET_EMPTY;
	case MONEY_SIGN:
		return MARKET_SIGN;
	case MONEY_JUNK:
		return MARKET_JUNK;
	case MONEY_DECIMALS:
		return MARKET_DECIMALS;
	case MONEY_OVERFLOW:
		return MARKET_TOO_LARGE;
	}
	return MARKET_JUNK;
}

/* Parse s in decimals, divide exactly by step, bound by max. */
static enum market_err
market_parse_units(const char *s, unsigned int decimals, u128 step,
    uint64_t max, enum market_err not_multiple, uint64_t *out)
{
	enum money_status	 st;
	u128			 v, n;

	if ((st = money_parse(&v, s, decimals)) != MONEY_OK)
		return market_from_money(st);
	if (v == 0)
		return MARKET_ZERO;
	if (v % step != 0)
		return not_multiple;
	n = v / step;
	if (n > max)
		return MARKET_TOO_LARGE;
	*out = (uint64_t)n;
	return MARKET_OK;
}

enum market_err
market_parse_price(const struct market *m, const char *s, uint64_t *ticks)
{
	return market_parse_units(s, m->cfg.quote.decimals, m->cfg.tick_size,
	    m->cfg.max_price_ticks, MARKET_NOT_TICK, ticks);
}

enum market_err
market_parse_qty(const struct market *m, const char *s, uint64_t *lots)
{
	return market_parse_units(s, m->cfg.base.decimals, m->cfg.lot_size,
	    m->cfg.max_qty_lots, MARKET_NOT_LOT, lots);
}

size_t
market_format_price(const struct market *m, uint64_t ticks, char *buf)
{
	u128	v;

	/* Prices beyond max_price_ticks may still be formatted for logs. */
	if (money_mul(&v, (u128)ticks, m->cfg.tick_size) != 0)
		v = U128_MAX;
	return money_format(buf, v, m->cfg.quote.decimals);
}

size_t
market_format_qty(const struct market *m, uint64_t lots, char *buf)
{
	u128	v;

	if (money_mul(&v, (u128)lots, m->cfg.lot_size) != 0)
		v = U128_MAX;
	return money_format(buf, v, m->cfg.base.decimals);
}

int
market_notional(const struct market *m, uint64_t ticks, uint64_t lots,
    u128 *out)
{
	u128	pq = (u128)ticks * lots;	/* 64x64 fits in 128 */

	return money_mul(out, pq, m->unit);
}

int
market_base_units(const struct market *m, uint64_t lots, u128 *out)
{
	return money_mul(out, (u128)lots, m->cfg.lot_size);
}

int
market_reserve(const struct market *m, bool buy, uint64_t ticks,
    uint64_t lots, u128 *out)
{
	u128	per;

	if (!buy)
		return market_base_units(m, lots, out);
	if (market_buy_per_lot(m, ticks, &per) != 0)
		return -1;
	return money_mul(out, per, (u128)lots);
}

const char *
market_status_name(enum market_status st)
{
	switch (st) {
	case MARKET_OPEN:
		return "open";
	case MARKET_HALTED:
		return "halted";
	case MARKET_CANCEL_ONLY:
		return "cancel_only";
	}
	return "unknown";
}

int
market_status_parse(const char *s, enum market_status *out)
{
	if (strcmp(s, "open") == 0)
		*out = MARKET_OPEN;
	else if (strcmp(s, "halted") == 0)
		*out = MARKET_HALTED;
	else if (strcmp(s, "cancel_only") == 0)
		*out = MARKET_CANCEL_ONLY;
	else
		return -1;
	return 0;
}

void
market_tiers_base(const struct market *m, struct market_tiers *t)
{
	memset(t, 0, sizeof *t);
	t->n = 1;
	t->tier[0].maker_fee_ppm = m->cfg.maker_fee_ppm;
	t->tier[0].taker_fee_ppm = m->cfg.taker_fee_ppm;
}

int
market_tiers_check(const struct market *m, const struct market_tiers *t,
    char **cause)
{
	const struct market_tier	*e;
	int32_t				 min_taker;
	unsigned int			 i;

	if (t->n < 1 || t->n > MARKET_TIERS_MAX) {
		xasprintf(cause, "between 1 and %d tiers", MARKET_TIERS_MAX);
		return -1;
	}
	if (t->tier[0].min_volume != 0 ||
	    t->tier[0].maker_fee_ppm != m->cfg.maker_fee_ppm ||
	    t->tier[0].taker_fee_ppm != m->cfg.taker_fee_ppm) {
		xasprintf(cause, "tier 0 must be the base rates from volume 0");
		return -1;
	}
	min_taker = m->cfg.taker_fee_ppm;
	for (i = 1; i < t->n; i++) {
		e = &t->tier[i];
		if (e->min_volume <= t->tier[i - 1].min_volume) {
			xasprintf(cause, "tier %u: volumes must increase", i);
			return -1;
		}
		/* Capped by the base rates: the reservation covers them. */
		if (e->taker_fee_ppm < 0 ||
		    e->taker_fee_ppm > m->cfg.taker_fee_ppm ||
		    e->maker_fee_ppm > m->cfg.maker_fee_ppm) {
			xasprintf(cause, "tier %u: rates above the base rates "
			    "(maker %d, taker %d ppm)", i, m->cfg.maker_fee_ppm,
			    m->cfg.taker_fee_ppm);
			return -1;
		}
		if (e->taker_fee_ppm < min_taker)
			min_taker = e->taker_fee_ppm;
	}
	/* Any maker may meet any taker: a rebate never beats a fee. */
	for (i = 0; i < t->n; i++) {
		if (t->tier[i].maker_fee_ppm < -min_taker) {
			xasprintf(cause, "tier %u: maker rebate above the lowest "
			    "taker rate (%d ppm)", i, min_taker);
			return -1;
		}
	}
	return 0;
}

unsigned int
market_tier_for(const struct market_tiers *t, u128 volume)
{
	unsigned int	i = t->n;

	while (i > 1 && t->tier[i - 1].min_volume > volume)
		i--;
	return i - 1;
}
