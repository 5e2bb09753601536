/*
 * kdexd_admin: the admin routes of doc/api.md ("Admin"), which kdex-console
 * drives. kdexd's admin listener calls kdexd_admin_route() once the request
 * has shown the admin key.
 *
 * Handlers read the ledger and the exchange directly: they run on the event
 * loop thread between engine batches, so what they see is committed state.
 * Writes go through the ledger's own operations (each one transaction, each
 * audited) or, for order cancels, through one exchange batch of their own.
 * Nothing here talks to the chain: that would block the loop. Routes that
 * need it are answered off the loop: reconciliation by the chain worker
 * (kdexd_settle.c), representative health and the operator's on-chain
 * state by the probe thread of kdexd_chainview.c.
 *
 * Amounts are formatted from base units with the token's decimals by
 * money_format(): exact decimal strings, never floating point.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "exchange.h"
#include "kdexd.h"
#include "kdexd_chainview.h"
#include "kdexd_http.h"
#include "kdexd_lp.h"
#include "kdexd_settle.h"
#include "ledger.h"
#include "market.h"
#include "money.h"
#include "util.h"

#define ADMIN_LIST_MAX		1000	/* rows of one list answer */
#define ADMIN_EXPLAIN_MAX	10000	/* audit rows walked by explain */

typedef void admin_fn(struct kdexd_req *, struct kdexd_resp *,
    struct kdexd_args *);

static int	adm_cancel(struct kdexd_req *, struct kdexd_resp *,
		    const struct exchange_cmd *, cJSON *, const char *);

static struct ledger *
adm_ledger(struct kdexd_req *req)
{
	return (kdexd_ledger(req->server));
}

static cJSON *
adm_object(void)
{
	cJSON	*o;

	if ((o = cJSON_CreateObject()) == NULL)
		fatalx("cJSON_CreateObject");
	return (o);
}

static cJSON *
adm_array(cJSON *o, const char *name)
{
	cJSON	*a;

	if ((a = cJSON_AddArrayToObject(o, name)) == NULL)
		fatalx("cJSON_AddArrayToObject");
	return (a);
}

static void
adm_str(cJSON *o, const char *name, const char *v)
{
	if (cJSON_AddStringToObject(o, name, v) == NULL)
		fatalx("cJSON_AddStringToObject");
}

/* An id as doc/api.md wants it: a string. */
static void
adm_id(cJSON *o, const char *name, int64_t id)
{
	char	buf[32];

	snprintf(buf, sizeof buf, "%" PRId64, id);
	adm_str(o, name, buf);
}

/* Counts and times: integers well below 2^53, exact in a JSON number. */
static void
adm_int(cJSON *o, const char *name, int64_t v)
{
	if (cJSON_AddNumberToObject(o, name, (double)v) == NULL)
		fatalx("cJSON_AddNumberToObject");
}

static void
adm_bool(cJSON *o, const char *name, int v)
{
	if (cJSON_AddBoolToObject(o, name, v) == NULL)
		fatalx("cJSON_AddBoolToObject");
}

static void
adm_null(cJSON *o, const char *name)
{
	if (cJSON_AddNullToObject(o, name) == NULL)
		fatalx("cJSON_AddNullToObject");
}

/* Base units v of a token with decimals as an exact decimal string. */
static void
adm_amount(cJSON *o, const char *name, u128 v, int decimals)
{
	char	buf[MONEY_BUFSZ];

	money_format(buf, v, decimals < 0 ? 0 : (unsigned int)decimals);
	adm_str(o, name, buf);
}

static void
adm_delta(cJSON *o, const char *name, const struct ledger_delta *d,
    int decimals)
{
	char	buf[MONEY_BUFSZ + 1];
	int	neg = d->neg && d->abs != 0;

	buf[0] = '-';
	money_format(buf + neg, d->abs, decimals < 0 ? 0 :
	    (unsigned int)decimals);
	adm_str(o, name, buf);
}

/* The token of id, or a placeholder so one bad row cannot fail a list. */
static void
adm_token(struct ledger *l, int64_t id, struct ledger_token *t)
{
	if (ledger_token_get(l, id, t) != LEDGER_OK) {
		memset(t, 0, sizeof *t);
		t->id = id;
		snprintf(t->symbol, sizeof t->symbol, "?");
	}
}

static void
adm_user_addr(struct ledger *l, int64_t id, char *buf, size_t len)
{
	struct ledger_user	u;

	if (ledger_user_get(l, id, &u) == LEDGER_OK)
		snprintf(buf, len, "%s", u.address);
	else
		snprintf(buf, len, "%" PRId64, id);
}

/* Map a ledger result to doc/api.md's answer; what names the subject. */
static void
adm_ledger_error(struct kdexd_resp *resp, int rv, const char *what)
{
	switch (rv) {
	case LEDGER_NOTFOUND:
		kdexd_resp_error(resp, 404, "not_found", "%s not found", what);
		break;
	case LEDGER_BADSTATE:
	case LEDGER_DUPLICATE:
		kdexd_resp_error(resp, 409, "conflict",
		    "%s is not in a state that allows this", what);
		break;
	case LEDGER_INSUFFICIENT:
		kdexd_resp_error(resp, 409, "insufficient_funds",
		    "%s: not enough available", what);
		break;
	case LEDGER_FORBIDDEN:
		kdexd_resp_error(resp, 403, "forbidden", "%s: forbidden", what);
		break;
	case LEDGER_INVALID:
	case LEDGER_OVERFLOW:
		kdexd_resp_error(resp, 400, "bad_request", "%s: %s", what,
		    ledger_result_string(rv));
		break;
	default:
		kdexd_resp_error(resp, 500, "internal", "%s: %s", what,
		    ledger_result_string(rv));
		break;
	}
}

/* Find a user by address or answer 404. 0 or -1. */
static int
adm_find_user(struct kdexd_req *req, struct kdexd_resp *resp,
    const char *addr, struct ledger_user *u)
{
	if (ledger_user_find(adm_ledger(req), addr, u) != LEDGER_OK) {
		kdexd_resp_error(resp, 404, "not_found", "unknown user '%s'",
		    addr);
		return (-1);
	}
	return (0);
}

static int
adm_find_market(struct kdexd_req *req, struct kdexd_resp *resp,
    const char *pair, struct ledger_market *lm)
{
	if (ledger_market_find(adm_ledger(req), pair, lm) != LEDGER_OK) {
		kdexd_resp_error(resp, 404, "unknown_market",
		    "unknown market '%s'", pair);
		return (-1);
	}
	return (0);
}

/* Parse a decimal id; 0 when it is not one (ids start at 1). */
static int64_t
adm_parse_id(const char *s)
{
	char		*end;
	long long	 v;

	if (*s < '0' || *s > '9')
		return (0);
	v = strtoll(s, &end, 10);
	if (*end != '\0' || v <= 0)
		return (0);
	return ((int64_t)v);
}

/* ------------------------------ markets ------------------------------ */

/*
 * "fee_tiers": the market's tier table, tier 0 (the base rates) first, as
 * GET /markets shows it; the stored table when the market is not loaded.
 */
static void
adm_tiers_json(struct kdexd_req *req, cJSON *o, int64_t id,
    const struct market_config *c)
{
	const struct market_tiers	*t;
	struct market_tiers		 st;
	cJSON				*a, *e;
	unsigned int			 i;

	if ((t = exchange_market_tiers(kdexd_exchange(req->server), id)) ==
	    NULL) {
		if (ledger_fee_tiers_get(adm_ledger(req), id, &st) !=
		    LEDGER_OK)
			st.n = 1;
		st.tier[0].min_volume = 0;
		st.tier[0].maker_fee_ppm = c->maker_fee_ppm;
		st.tier[0].taker_fee_ppm = c->taker_fee_ppm;
		t = &st;
	}
	if ((a = cJSON_AddArrayToObject(o, "fee_tiers")) == NULL)
		fatalx("cJSON_AddArrayToObject");
	for (i = 0; i < t->n; i++) {
		e = adm_object();
		adm_int(e, "tier", i);
		adm_amount(e, "min_volume", t->tier[i].min_volume,
		    (int)c->quote.decimals);
		adm_int(e, "maker_fee_ppm", t->tier[i].maker_fee_ppm);
		adm_int(e, "taker_fee_ppm", t->tier[i].taker_fee_ppm);
		cJSON_AddItemToArray(a, e);
	}
}

/* A market as GET /markets shows it, from the exchange's live copy. */
static cJSON *
adm_market_json(struct kdexd_req *req, int64_t id)
{
	const struct market		*m;
	struct ledger_market		 lm;
	const struct market_config	*c;
	cJSON				*o, *t;
	u128				 min, max;

	m = exchange_market(kdexd_exchange(req->server), id);
	if (m == NULL) {
		/* Stored but not loaded: show what the ledger has. */
		if (ledger_market_get(adm_ledger(req), id, &lm) != LEDGER_OK)
			return (NULL);
		c = &lm.cfg;
		min = 0;
		if (__builtin_mul_overflow(c->lot_size, (u128)c->min_lots,
		    &min))
			min = 0;
	} else {
		c = &m->cfg;
		if (market_base_units(m, c->min_lots, &min) != 0)
			min = 0;
	}
	o = adm_object();
	adm_str(o, "pair", m != NULL ? m->pair : lm.pair);
	if ((t = cJSON_AddObjectToObject(o, "base")) == NULL)
		fatalx("cJSON_AddObjectToObject");
	adm_str(t, "symbol", c->base.symbol);
	adm_str(t, "token", c->base.address);
	adm_int(t, "decimals", c->base.decimals);
	if ((t = cJSON_AddObjectToObject(o, "quote")) == NULL)
		fatalx("cJSON_AddObjectToObject");
	adm_str(t, "symbol", c->quote.symbol);
	adm_str(t, "token", c->quote.address);
	adm_int(t, "decimals", c->quote.decimals);
	adm_amount(o, "tick_size", c->tick_size, (int)c->quote.decimals);
	adm_amount(o, "lot_size", c->lot_size, (int)c->base.decimals);
	adm_amount(o, "min_size", min, (int)c->base.decimals);
	adm_amount(o, "min_notional", c->min_notional,
	    (int)c->quote.decimals);
	adm_int(o, "maker_fee_ppm", c->maker_fee_ppm);
	adm_int(o, "taker_fee_ppm", c->taker_fee_ppm);
	adm_str(o, "status", market_status_name(c->status));
	adm_id(o, "id", id);
	/* The limits markets set-limits changes (admin view only). */
	if (__builtin_mul_overflow(c->lot_size, (u128)c->max_qty_lots, &max))
		max = 0;
	adm_amount(o, "max_size", max, (int)c->base.decimals);
	adm_int(o, "max_orders", c->limits.max_orders);
	adm_int(o, "max_levels", c->limits.max_levels);
	adm_int(o, "max_orders_per_user", c->limits.max_orders_per_user);
	adm_tiers_json(req, o, id, c);
	return (o);
}

struct adm_list {
	struct kdexd_req	*req;
	cJSON			*arr;
	size_t			 n;
	int64_t			 filter;	/* token for explain */
	int64_t			 count;
};

static void
adm_market_cb(const struct ledger_market *lm, void *arg)
{
	struct adm_list	*al = arg;
	cJSON		*o;

	if ((o = adm_market_json(al->req, lm->id)) != NULL)
		cJSON_AddItemToArray(al->arr, o);
}

static void
adm_markets(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	struct adm_list	 al;
	cJSON		*o;

	(void)a;
	o = adm_object();
	memset(&al, 0, sizeof al);
	al.req = req;
	al.arr = adm_array(o, "markets");
	if (ledger_market_list(adm_ledger(req), adm_market_cb, &al) !=
	    LEDGER_OK) {
		cJSON_Delete(o);
		kdexd_resp_error(resp, 500, "internal", "cannot list markets");
		return;
	}
	kdexd_resp_json(resp, 200, o);
}

/* Parse a decimal string member of token units into base units. */
static int
adm_body_units(struct kdexd_req *req, struct kdexd_resp *resp,
    const char *name, unsigned int decimals, int required, u128 *out)
{
	const char		*s;
	enum money_status	 ms;
	int			 err = 0;

	s = kdexd_body_str(req, resp, name, required, &err);
	if (err)
		return (-1);
	if (s == NULL)
		return (0);
	if ((ms = money_parse(out, s, decimals)) != MONEY_OK) {
		kdexd_resp_error(resp, 400, "bad_amount", "bad %s '%s': %s",
		    name, s, money_strerror(ms));
		return (-1);
	}
	return (0);
}

/* {"symbol","token","decimals"} of a new market into t. */
static int
adm_body_token(struct kdexd_req *req, struct kdexd_resp *resp,
    const char *name, struct market_token *t)
{
	const cJSON	*o, *sym, *tok, *dec;

	o = cJSON_GetObjectItemCaseSensitive(req->body, name);
	sym = cJSON_GetObjectItemCaseSensitive(o, "symbol");
	tok = cJSON_GetObjectItemCaseSensitive(o, "token");
	dec = cJSON_GetObjectItemCaseSensitive(o, "decimals");
	if (!cJSON_IsObject(o) || !cJSON_IsString(sym) ||
	    !cJSON_IsString(tok) || !cJSON_IsNumber(dec) ||
	    dec->valuedouble < 0 || dec->valuedouble > MONEY_MAX_DECIMALS ||
	    dec->valuedouble != (double)dec->valueint ||
	    strlen(sym->valuestring) > MARKET_SYMBOL_MAX ||
	    strlen(tok->valuestring) > MARKET_ADDRESS_MAX) {
		kdexd_resp_error(resp, 400, "bad_request", "'%s' must be "
		    "{\"symbol\",\"token\",\"decimals\"}", name);
		return (-1);
	}
	memset(t, 0, sizeof *t);
	snprintf(t->symbol, sizeof t->symbol, "%s", sym->valuestring);
	snprintf(t->address, sizeof t->address, "%s", tok->valuestring);
	t->decimals = (unsigned int)dec->valueint;
	return (0);
}

/* An integer ppm member in [-1e6, 1e6]; absent leaves *out alone. */
static int
adm_body_ppm(struct kdexd_req *req, struct kdexd_resp *resp,
    const char *name, int required, int32_t *out)
{
	const cJSON	*v;

	v = cJSON_GetObjectItemCaseSensitive(req->body, name);
	if (v == NULL && !required)
		return (0);
	if (!cJSON_IsNumber(v) || v->valuedouble < -1000000 ||
	    v->valuedouble > 1000000 ||
	    v->valuedouble != (double)v->valueint) {
		kdexd_resp_error(resp, 400, "bad_request", "'%s' must be an "
		    "integer between -1000000 and 1000000", name);
		return (-1);
	}
	*out = (int32_t)v->valueint;
	return (0);
}

static void
adm_market_add(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	static const char *const allowed[] = { "pair", "base", "quote",
	    "tick_size", "lot_size", "min_size", "min_notional",
	    "maker_fee_ppm", "taker_fee_ppm", "status", NULL };
	struct market_config	 cfg;
	struct market		 m;
	struct ledger_market	 lm;
	const char		*pair, *status;
	char			 want[MARKET_PAIR_MAX + 8], *cause = NULL;
	cJSON			*o;
	u128			 min_size = 0, lots;
	int64_t			 id;
	int			 err = 0;

	(void)a;
	if (kdexd_body_check(req, resp, allowed) != 0)
		return;
	if ((pair = kdexd_body_str(req, resp, "pair", 1, &err)) == NULL)
		return;
	memset(&cfg, 0, sizeof cfg);
	if (adm_body_token(req, resp, "base", &cfg.base) != 0 ||
	    adm_body_token(req, resp, "quote", &cfg.quote) != 0)
		return;
	snprintf(want, sizeof want, "%s-%s", cfg.base.symbol,
	    cfg.quote.symbol);
	if (strcmp(want, pair) != 0) {
		kdexd_resp_error(resp, 400, "bad_request", "pair '%s' does "
		    "not match its symbols (want '%s')", pair, want);
		return;
	}
	if (ledger_market_find(adm_ledger(req), pair, &lm) == LEDGER_OK) {
		kdexd_resp_error(resp, 409, "conflict", "market '%s' exists",
		    pair);
		return;
	}
	if (adm_body_units(req, resp, "tick_size", cfg.quote.decimals, 1,
	    &cfg.tick_size) != 0 ||
	    adm_body_units(req, resp, "lot_size", cfg.base.decimals, 1,
	    &cfg.lot_size) != 0 ||
	    adm_body_units(req, resp, "min_size", cfg.base.decimals, 0,
	    &min_size) != 0 ||
	    adm_body_units(req, resp, "min_notional", cfg.quote.decimals, 0,
	    &cfg.min_notional) != 0)
		return;
	if (adm_body_ppm(req, resp, "maker_fee_ppm", 0,
	    &cfg.maker_fee_ppm) != 0 ||
	    adm_body_ppm(req, resp, "taker_fee_ppm", 0,
	    &cfg.taker_fee_ppm) != 0)
		return;
	cfg.status = MARKET_OPEN;
	if ((status = kdexd_body_str(req, resp, "status", 0, &err)) != NULL &&
	    market_status_parse(status, &cfg.status) != 0) {
		kdexd_resp_error(resp, 400, "bad_request", "bad status '%s'",
		    status);
		return;
	}
	if (err)
		return;
	if (cfg.lot_size == 0) {
		kdexd_resp_error(resp, 400, "bad_amount", "lot_size is zero");
		return;
	}
	/* The smallest order in lots: min_size must be whole lots. */
	lots = min_size / cfg.lot_size;
	if (min_size % cfg.lot_size != 0 || lots > UINT64_MAX) {
		kdexd_resp_error(resp, 400, "bad_amount",
		    "min_size is not a whole number of lots");
		return;
	}
	cfg.min_lots = lots == 0 ? 1 : (uint64_t)lots;
	/* Bounds as kdexd's configured markets get them. */
	cfg.max_price_ticks = UINT64_C(1) << 40;
	cfg.max_qty_lots = UINT64_C(1) << 40;
	cfg.limits.max_orders = 100000;
	cfg.limits.max_levels = 10000;
	cfg.limits.max_orders_per_user = 1000;
	if (market_init(&m, &cfg, &cause) != 0) {
		kdexd_resp_error(resp, 400, "bad_request", "bad market '%s': "
		    "%s", pair, cause);
		free(cause);
		return;
	}
	if (exchange_market_add(kdexd_exchange(req->server), &cfg, &id,
	    &cause) != 0) {
		kdexd_resp_error(resp, 500, "internal", "cannot add market "
		    "'%s': %s", pair, cause != NULL ? cause : "?");
		free(cause);
		return;
	}
	log_info("admin: market %s added", pair);
	o = adm_object();
	cJSON_AddItemToObject(o, "market", adm_market_json(req, id));
	kdexd_resp_json(resp, 201, o);
}

static void
adm_market_status(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	static const char *const allowed[] = { "status", NULL };
	struct ledger_market	 lm;
	enum market_status	 st;
	const char		*s;
	cJSON			*o;
	int			 err = 0;

	if (kdexd_body_check(req, resp, allowed) != 0)
		return;
	if ((s = kdexd_body_str(req, resp, "status", 1, &err)) == NULL)
		return;
	if (market_status_parse(s, &st) != 0) {
		kdexd_resp_error(resp, 400, "bad_request", "bad status '%s': "
		    "want open, halted or cancel_only", s);
		return;
	}
	if (adm_find_market(req, resp, a->arg[0], &lm) != 0)
		return;
	if (exchange_market_set_status(kdexd_exchange(req->server), lm.id,
	    st) != 0) {
		kdexd_resp_error(resp, 500, "internal", "cannot set the "
		    "status of '%s'", lm.pair);
		return;
	}
	log_info("admin: market %s %s", lm.pair, market_status_name(st));
	o = adm_object();
	cJSON_AddItemToObject(o, "market", adm_market_json(req, lm.id));
	kdexd_resp_json(resp, 200, o);
}

static void
adm_market_fees(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	static const char *const allowed[] = { "maker_fee_ppm",
	    "taker_fee_ppm", NULL };
	struct ledger_market	 lm;
	struct exchange_cmd	 cmd;
	const struct market_tiers *tiers;
	const struct market	*cur;
	struct market		 chk;
	struct market_tiers	 nt;
	char			*cause = NULL;
	int32_t			 maker = 0, taker = 0;
	cJSON			*o, *m;

	if (kdexd_body_check(req, resp, allowed) != 0)
		return;
	if (adm_body_ppm(req, resp, "maker_fee_ppm", 1, &maker) != 0 ||
	    adm_body_ppm(req, resp, "taker_fee_ppm", 1, &taker) != 0)
		return;
	if (adm_find_market(req, resp, a->arg[0], &lm) != 0)
		return;
	/* market_init's rule: a rebate may not exceed the taker fee. */
	if (taker < 0 || maker < -taker) {
		kdexd_resp_error(resp, 400, "bad_request", "fees out of range:"
		    " taker_fee_ppm >= 0 and maker_fee_ppm >= -taker_fee_ppm");
		return;
	}
	/* Fee tiers are capped by the base rates (market.h). */
	if ((tiers = exchange_market_tiers(kdexd_exchange(req->server),
	    lm.id)) != NULL && (cur = exchange_market(kdexd_exchange(
	    req->server), lm.id)) != NULL) {
		chk = *cur;
		chk.cfg.maker_fee_ppm = maker;
		chk.cfg.taker_fee_ppm = taker;
		nt = *tiers;
		nt.tier[0].maker_fee_ppm = maker;
		nt.tier[0].taker_fee_ppm = taker;
		if (market_tiers_check(&chk, &nt, &cause) != 0) {
			kdexd_resp_error(resp, 409, "conflict", "the fee tiers "
			    "of '%s' would exceed these rates (%s): change "
			    "them first", lm.pair, cause);
			free(cause);
			return;
		}
	}
	/*
	 * Through the batch path: the exchange stores the rates, updates the
	 * book's copy and re-reserves resting buys in one transaction, so the
	 * new rates apply from the next fill.
	 */
	memset(&cmd, 0, sizeof cmd);
	cmd.type = EXCHANGE_SET_FEES;
	cmd.market = lm.id;
	cmd.maker_fee_ppm = maker;
	cmd.taker_fee_ppm = taker;
	if (kdexd_run_command(req->server, &cmd, NULL, NULL) != 0) {
		kdexd_resp_error(resp, 503, "unavailable",
		    "the engine queue is full; try again");
		return;
	}
	log_info("admin: market %s fees %d/%d ppm", lm.pair, (int)maker,
	    (int)taker);
	o = adm_object();
	m = adm_market_json(req, lm.id);
	cJSON_ReplaceItemInObject(m, "maker_fee_ppm",
	    cJSON_CreateNumber((double)maker));
	cJSON_ReplaceItemInObject(m, "taker_fee_ppm",
	    cJSON_CreateNumber((double)taker));
	adm_str(m, "fees_effective", "from the next fill");
	cJSON_AddItemToObject(o, "market", m);
	kdexd_resp_json(resp, 202, o);
}

/*
 * The outcome of one admin command run through the exchange batch
 * (kdexd_run_command): the caller sets type, the callback fills the rest
 * from the batch's result with the same tag.
 */
struct adm_cmd_out {
	enum exchange_cmd_type	 type;
	int			 done;
	enum exchange_reject	 reject;
	enum book_reject	 book_reason;
	int64_t			 order;
};

static void
adm_cmd_done(const struct exchange_out *out, uint64_t tag, void *arg)
{
	struct adm_cmd_out	*co = arg;
	size_t			 i;

	if (out == NULL)
		return;
	for (i = 0; i < out->nresults; i++) {
		if (out->results[i].tag != tag ||
		    out->results[i].type != co->type)
			continue;
		co->done = 1;
		co->reject = out->results[i].reject;
		co->book_reason = out->results[i].book_reason;
		co->order = out->results[i].id;
	}
}

/*
 * POST /admin/markets/:pair/tiers {"tiers": [{"min_volume",
 * "maker_fee_ppm", "taker_fee_ppm"}, ...]}: the fee tiers above tier 0
 * (the base rates), by increasing 30-day volume in quote tokens; [] removes
 * them. Checked here with market_tiers_check for a clear reason, then one
 * exchange batch stores, audits and applies them from the next fill.
 */
static void
adm_market_tiers(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	static const char *const allowed[] = { "tiers", NULL };
	static const char *const members[] = { "min_volume", "maker_fee_ppm",
	    "taker_fee_ppm" };
	struct ledger_market	 lm;
	const struct market	*cur;
	struct market_tiers	 t;
	struct market_tier	*e;
	struct exchange_cmd	 cmd;
	struct adm_cmd_out	 to;
	const cJSON		*arr, *it, *v;
	enum money_status	 ms;
	char			*cause = NULL;
	double			 d;
	size_t			 k;
	int			 j;
	cJSON			*o, *m;

	if (kdexd_body_check(req, resp, allowed) != 0)
		return;
	arr = cJSON_GetObjectItemCaseSensitive(req->body, "tiers");
	if (!cJSON_IsArray(arr) ||
	    cJSON_GetArraySize(arr) > MARKET_TIERS_MAX - 1) {
		kdexd_resp_error(resp, 400, "bad_request", "'tiers' must be an "
		    "array of at most %d {\"min_volume\", \"maker_fee_ppm\", "
		    "\"taker_fee_ppm\"}", MARKET_TIERS_MAX - 1);
		return;
	}
	if (adm_find_market(req, resp, a->arg[0], &lm) != 0)
		return;
	if ((cur = exchange_market(kdexd_exchange(req->server), lm.id)) ==
	    NULL) {
		kdexd_resp_error(resp, 409, "conflict", "market '%s' is not "
		    "loaded", lm.pair);
		return;
	}
	market_tiers_base(cur, &t);
	cJSON_ArrayForEach(it, arr) {
		e = &t.tier[t.n];
		for (k = 0; k < 3; k++) {
			v = cJSON_GetObjectItemCaseSensitive(it, members[k]);
			if (k == 0 ? !cJSON_IsString(v) : !cJSON_IsNumber(v)) {
				kdexd_resp_error(resp, 400, "bad_request",
				    "tier %u: '%s' missing or not a %s", t.n,
				    members[k], k == 0 ? "string" : "number");
				return;
			}
		}
		v = cJSON_GetObjectItemCaseSensitive(it, "min_volume");
		if ((ms = money_parse(&e->min_volume, v->valuestring,
		    cur->cfg.quote.decimals)) != MONEY_OK) {
			kdexd_resp_error(resp, 400, "bad_amount", "tier %u: bad "
			    "min_volume '%s': %s", t.n, v->valuestring,
			    money_strerror(ms));
			return;
		}
		for (k = 1; k < 3; k++) {
			d = cJSON_GetObjectItemCaseSensitive(it,
			    members[k])->valuedouble;
			if (d < -1000000 || d > 1000000 || d != (double)(j =
			    (int)d)) {
				kdexd_resp_error(resp, 400, "bad_request", "tier "
				    "%u: '%s' must be an integer between "
				    "-1000000 and 1000000", t.n, members[k]);
				return;
			}
			if (k == 1)
				e->maker_fee_ppm = j;
			else
				e->taker_fee_ppm = j;
		}
		t.n++;
	}
	if (market_tiers_check(cur, &t, &cause) != 0) {
		kdexd_resp_error(resp, 400, "bad_request", "tiers refused: %s",
		    cause);
		free(cause);
		return;
	}
	memset(&cmd, 0, sizeof cmd);
	cmd.type = EXCHANGE_SET_TIERS;
	cmd.market = lm.id;
	cmd.tiers = t;
	memset(&to, 0, sizeof to);
	to.type = EXCHANGE_SET_TIERS;
	if (kdexd_run_command(req->server, &cmd, adm_cmd_done, &to) != 0) {
		kdexd_resp_error(resp, 503, "unavailable",
		    "the engine queue is full; try again");
		return;
	}
	if (!to.done || to.reject == EXCHANGE_REJ_INTERNAL) {
		kdexd_resp_error(resp, 500, "internal", "the fee tiers of '%s' "
		    "were not committed", lm.pair);
		return;
	}
	if (to.reject != EXCHANGE_OK) {
		kdexd_resp_error(resp, 400, "bad_request", "fee tiers of '%s' "
		    "refused by the exchange", lm.pair);
		return;
	}
	log_info("admin: market %s fee tiers: %u", lm.pair, t.n - 1);
	o = adm_object();
	m = adm_market_json(req, lm.id);
	adm_str(m, "fees_effective", "from the next fill");
	cJSON_AddItemToObject(o, "market", m);
	kdexd_resp_json(resp, 200, o);
}

/* A count member: an integer in [1, max]; absent leaves *out alone. */
static int
adm_body_count(struct kdexd_req *req, struct kdexd_resp *resp,
    const char *name, uint32_t max, uint32_t *out)
{
	const cJSON	*v;

	if ((v = cJSON_GetObjectItemCaseSensitive(req->body, name)) == NULL)
		return (0);
	if (!cJSON_IsNumber(v) || v->valuedouble < 1 ||
	    v->valuedouble > (double)max ||
	    v->valuedouble != (double)v->valueint) {
		kdexd_resp_error(resp, 400, "bad_request", "'%s' must be an "
		    "integer between 1 and %" PRIu32, name, max);
		return (-1);
	}
	*out = (uint32_t)v->valueint;
	return (0);
}

/* A size member (base tokens) as whole lots, at least one. */
static int
adm_body_lots(struct kdexd_req *req, struct kdexd_resp *resp,
    const char *name, const struct market_config *c, uint64_t *out)
{
	char	 buf[MONEY_BUFSZ];
	u128	 u = 0, lots;

	if (adm_body_units(req, resp, name, c->base.decimals, 0, &u) != 0)
		return (-1);
	if (cJSON_GetObjectItemCaseSensitive(req->body, name) == NULL)
		return (0);
	lots = u / c->lot_size;
	if (u == 0 || u % c->lot_size != 0 || lots > INT64_MAX) {
		money_format(buf, c->lot_size, c->base.decimals);
		kdexd_resp_error(resp, 400, "bad_amount", "bad %s: want a "
		    "non-zero multiple of the lot size %s", name, buf);
		return (-1);
	}
	*out = (uint64_t)lots;
	return (0);
}


/*
 * POST /admin/markets/:pair/limits {"min_size"?, "min_notional"?,
 * "max_size"?, "max_orders"?, "max_levels"?, "max_orders_per_user"?}:
 * what is given replaces the market's, through one exchange batch (the
 * book is rebuilt with the new limits and the markets row updated with an
 * audit line in the batch's transaction), so the next command sees them.
 * Tick and lot size are the market's units, not limits: not changed here.
 */
static void
adm_market_limits(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	static const char *const allowed[] = { "min_size", "min_notional",
	    "max_size", "max_orders", "max_levels", "max_orders_per_user",
	    NULL };
	struct ledger_market	 lm;
	const struct market	*cur;
	struct market_config	 cfg;
	struct market		 chk;
	struct exchange_cmd	 cmd;
	struct adm_cmd_out	 lo;
	char			*cause = NULL;
	cJSON			*o;
	size_t			 i, given = 0;

	if (kdexd_body_check(req, resp, allowed) != 0)
		return;
	for (i = 0; allowed[i] != NULL; i++)
		if (cJSON_GetObjectItemCaseSensitive(req->body,
		    allowed[i]) != NULL)
			given++;
	if (given == 0) {
		kdexd_resp_error(resp, 400, "bad_request", "nothing to change:"
		    " give min_size, min_notional, max_size, max_orders, "
		    "max_levels or max_orders_per_user");
		return;
	}
	if (adm_find_market(req, resp, a->arg[0], &lm) != 0)
		return;
	if ((cur = exchange_market(kdexd_exchange(req->server), lm.id)) ==
	    NULL) {
		kdexd_resp_error(resp, 409, "conflict", "market '%s' is not "
		    "loaded", lm.pair);
		return;
	}
	cfg = cur->cfg;
	if (adm_body_lots(req, resp, "min_size", &cfg, &cfg.min_lots) != 0 ||
	    adm_body_lots(req, resp, "max_size", &cfg, &cfg.max_qty_lots) !=
	    0 || adm_body_units(req, resp, "min_notional", cfg.quote.decimals,
	    0, &cfg.min_notional) != 0 ||
	    adm_body_count(req, resp, "max_orders", (1U << 30) - 1,
	    &cfg.limits.max_orders) != 0 ||
	    adm_body_count(req, resp, "max_levels", 1U << 20,
	    &cfg.limits.max_levels) != 0 ||
	    adm_body_count(req, resp, "max_orders_per_user", (1U << 30) - 1,
	    &cfg.limits.max_orders_per_user) != 0)
		return;
	/* market_init's refusal, with its reason, before the batch. */
	if (market_init(&chk, &cfg, &cause) != 0) {
		kdexd_resp_error(resp, 400, "bad_request", "limits refused: "
		    "%s", cause);
		free(cause);
		return;
	}
	memset(&cmd, 0, sizeof cmd);
	cmd.type = EXCHANGE_SET_LIMITS;
	cmd.market = lm.id;
	cmd.min_lots = cfg.min_lots;
	cmd.min_notional = cfg.min_notional;
	cmd.max_qty_lots = cfg.max_qty_lots;
	cmd.limits = cfg.limits;
	memset(&lo, 0, sizeof lo);
	lo.type = EXCHANGE_SET_LIMITS;
	if (kdexd_run_command(req->server, &cmd, adm_cmd_done, &lo) != 0) {
		kdexd_resp_error(resp, 503, "unavailable",
		    "the engine queue is full; try again");
		return;
	}
	if (!lo.done || lo.reject == EXCHANGE_REJ_INTERNAL) {
		kdexd_resp_error(resp, 500, "internal", "the limits of '%s' "
		    "were not committed", lm.pair);
		return;
	}
	if (lo.reject == EXCHANGE_REJ_BOOK) {
		kdexd_resp_error(resp, 409, "conflict", "resting order '%"
		    PRId64 "' does not fit the new limits (%s): cancel it "
		    "first", lo.order, book_reject_name(lo.book_reason));
		return;
	}
	if (lo.reject != EXCHANGE_OK) {
		kdexd_resp_error(resp, 400, "bad_request", "limits of '%s' "
		    "refused by the exchange", lm.pair);
		return;
	}
	log_info("admin: market %s limits changed", lm.pair);
	o = adm_object();
	cJSON_AddItemToObject(o, "market", adm_market_json(req, lm.id));
	kdexd_resp_json(resp, 200, o);
}

/* ------------------------------- users ------------------------------- */

static void
adm_count_cb(const struct ledger_order *o, void *arg)
{
	(void)o;
	(*(int64_t *)arg)++;
}

static cJSON *
adm_user_json(struct ledger *l, const struct ledger_user *u)
{
	struct ledger_order_filter	f;
	cJSON				*o;
	int64_t				 n = 0;

	o = adm_object();
	adm_str(o, "address", u->address);
	adm_id(o, "id", u->id);
	adm_str(o, "status", ledger_user_status_name(u->status));
	if (u->storage[0] != '\0')
		adm_str(o, "storage", u->storage);
	else
		adm_null(o, "storage");
	adm_str(o, "reason", u->reason);
	adm_int(o, "fee_tier", u->fee_tier);
	adm_int(o, "created_at", u->created_at);
	memset(&f, 0, sizeof f);
	f.user_id = u->id;
	f.which = 1;
	(void)ledger_order_list(l, &f, adm_count_cb, &n);
	adm_int(o, "open_orders", n);
	return (o);
}

struct adm_users {
	struct ledger	*l;
	cJSON		*arr;
	size_t		 n;
};

static void
adm_user_cb(const struct ledger_user *u, void *arg)
{
	struct adm_users	*au = arg;

	if (au->n++ >= ADMIN_LIST_MAX)
		return;
	cJSON_AddItemToArray(au->arr, adm_user_json(au->l, u));
}

static void
adm_users(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	struct adm_users	 au;
	cJSON			*o;

	(void)a;
	o = adm_object();
	au.l = adm_ledger(req);
	au.arr = adm_array(o, "users");
	au.n = 0;
	if (ledger_user_list(au.l, adm_user_cb, &au) != LEDGER_OK) {
		cJSON_Delete(o);
		kdexd_resp_error(resp, 500, "internal", "cannot list users");
		return;
	}
	kdexd_resp_json(resp, 200, o);
}

struct adm_bal {
	struct ledger	*l;
	cJSON		*arr;
};

static void
adm_balance_cb(const struct ledger_balance *b, void *arg)
{
	struct adm_bal		*ab = arg;
	struct ledger_token	 t;
	cJSON			*o;

	adm_token(ab->l, b->token_id, &t);
	o = adm_object();
	adm_str(o, "token", t.address);
	adm_str(o, "symbol", t.symbol);
	adm_amount(o, "available", b->available, t.decimals);
	adm_amount(o, "locked", b->total >= b->available ?
	    b->total - b->available : 0, t.decimals);
	adm_amount(o, "total", b->total, t.decimals);
	cJSON_AddItemToArray(ab->arr, o);
}

static int
adm_balances_into(struct ledger *l, int64_t uid, cJSON *o)
{
	struct adm_bal	ab;

	ab.l = l;
	ab.arr = adm_array(o, "balances");
	return (ledger_balance_list(l, uid, adm_balance_cb, &ab));
}

static void
adm_user(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	struct ledger_user	 u;
	cJSON			*o, *uj;

	if (adm_find_user(req, resp, a->arg[0], &u) != 0)
		return;
	o = adm_object();
	uj = adm_user_json(adm_ledger(req), &u);
	cJSON_AddItemToObject(o, "user", uj);
	if (adm_balances_into(adm_ledger(req), u.id, uj) != LEDGER_OK) {
		cJSON_Delete(o);
		kdexd_resp_error(resp, 500, "internal", "cannot read balances");
		return;
	}
	kdexd_resp_json(resp, 200, o);
}

static void
adm_user_balances(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	struct ledger_user	 u;
	cJSON			*o;

	if (adm_find_user(req, resp, a->arg[0], &u) != 0)
		return;
	o = adm_object();
	adm_str(o, "user", u.address);
	if (adm_balances_into(adm_ledger(req), u.id, o) != LEDGER_OK) {
		cJSON_Delete(o);
		kdexd_resp_error(resp, 500, "internal", "cannot read balances");
		return;
	}
	kdexd_resp_json(resp, 200, o);
}

static void
adm_user_freeze(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a, int freeze)
{
	static const char *const allowed[] = { "reason", NULL };
	struct ledger_user	 u;
	struct exchange_cmd	 cmd;
	const char		*reason = NULL;
	cJSON			*o, *uj, *cancelled;
	int			 rv, err = 0;

	if (req->body != NULL) {
		if (kdexd_body_check(req, resp, allowed) != 0)
			return;
		reason = kdexd_body_str(req, resp, "reason", 0, &err);
		if (err)
			return;
	}
	if (reason == NULL)
		reason = freeze ? "frozen by operator" : "";
	if (strlen(reason) >= LEDGER_REASON_MAX) {
		kdexd_resp_error(resp, 400, "bad_request", "reason is longer "
		    "than %d bytes", LEDGER_REASON_MAX - 1);
		return;
	}
	if (adm_find_user(req, resp, a->arg[0], &u) != 0)
		return;
	if (u.id == LEDGER_FEE_USER) {
		kdexd_resp_error(resp, 403, "forbidden", "the fee account "
		    "cannot be frozen");
		return;
	}
	/*
	 * A frozen user's resting orders would go on trading: cancel them
	 * first, in the same turn of the loop, so no order of theirs can
	 * rest between the cancel and the freeze.
	 */
	cancelled = cJSON_CreateArray();
	if (cancelled == NULL)
		fatalx("cJSON_CreateArray");
	if (freeze) {
		memset(&cmd, 0, sizeof cmd);
		cmd.type = EXCHANGE_CANCEL_ALL;
		cmd.user = u.id;
		if (adm_cancel(req, resp, &cmd, cancelled, NULL) != 0) {
			cJSON_Delete(cancelled);
			return;
		}
	}
	rv = ledger_user_set_status(adm_ledger(req), u.id, freeze ?
	    LEDGER_USER_FROZEN : LEDGER_USER_ACTIVE, reason);
	if (rv != LEDGER_OK) {
		cJSON_Delete(cancelled);
		adm_ledger_error(resp, rv, "user");
		return;
	}
	log_info("admin: user %s %s (%d order(s) cancelled)", u.address,
	    freeze ? "frozen" : "unfrozen", cJSON_GetArraySize(cancelled));
	if (ledger_user_get(adm_ledger(req), u.id, &u) != LEDGER_OK) {
		cJSON_Delete(cancelled);
		kdexd_resp_error(resp, 500, "internal", "cannot read user");
		return;
	}
	o = adm_object();
	uj = adm_user_json(adm_ledger(req), &u);
	cJSON_AddItemToObject(uj, "cancelled_orders", cancelled);
	cJSON_AddItemToObject(o, "user", uj);
	kdexd_resp_json(resp, 200, o);
}

static void
adm_freeze(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	adm_user_freeze(req, resp, a, 1);
}

static void
adm_unfreeze(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	adm_user_freeze(req, resp, a, 0);
}

/* ------------------------------- orders ------------------------------ */

static const char *
adm_side(int side)
{
	return (side == 0 ? "buy" : "sell");
}

static const char *
adm_tif(int tif)
{
	return (tif == 1 ? "IOC" : tif == 2 ? "FOK" : "GTC");
}

static cJSON *
adm_order_json(struct kdexd_req *req, const struct ledger_order *lo)
{
	const struct market	*m;
	struct ledger_market	 lm;
	char			 buf[MONEY_BUFSZ], addr[LEDGER_ADDR_MAX];
	cJSON			*o;

	m = exchange_market(kdexd_exchange(req->server), lo->market_id);
	o = adm_object();
	adm_id(o, "id", lo->id);
	adm_str(o, "client_id", lo->client_id);
	adm_user_addr(adm_ledger(req), lo->user_id, addr, sizeof addr);
	adm_str(o, "user", addr);
	if (m != NULL)
		adm_str(o, "market", m->pair);
	else if (ledger_market_get(adm_ledger(req), lo->market_id, &lm) ==
	    LEDGER_OK)
		adm_str(o, "market", lm.pair);
	else
		adm_id(o, "market", lo->market_id);
	adm_str(o, "side", adm_side(lo->side));
	adm_str(o, "type", lo->type == 0 ? "limit" : "market");
	if (m != NULL && lo->price != 0) {
		market_format_price(m, lo->price, buf);
		adm_str(o, "price", buf);
	} else
		adm_null(o, "price");
	if (m != NULL) {
		market_format_qty(m, lo->qty, buf);
		adm_str(o, "qty", buf);
		market_format_qty(m, lo->filled, buf);
		adm_str(o, "filled", buf);
		market_format_qty(m, lo->qty >= lo->filled ?
		    lo->qty - lo->filled : 0, buf);
		adm_str(o, "remaining", buf);
	}
	adm_str(o, "status", ledger_order_status_name(lo->status));
	adm_str(o, "tif", adm_tif(lo->tif));
	adm_bool(o, "post_only", lo->post_only);
	adm_int(o, "created_at", lo->created_at);
	adm_int(o, "updated_at", lo->updated_at);
	adm_str(o, "reason", lo->reason);
	return (o);
}

static void
adm_order_cb(const struct ledger_order *lo, void *arg)
{
	struct adm_list	*al = arg;

	if (al->n++ >= ADMIN_LIST_MAX)
		return;
	cJSON_AddItemToArray(al->arr, adm_order_json(al->req, lo));
}

/* The user and market of a filter from query or body; 0 = any. */
static int
adm_user_market(struct kdexd_req *req, struct kdexd_resp *resp,
    const char *user, const char *pair, int64_t *uid, int64_t *mid)
{
	struct ledger_user	u;
	struct ledger_market	lm;

	*uid = *mid = 0;
	if (user != NULL && *user != '\0') {
		if (adm_find_user(req, resp, user, &u) != 0)
			return (-1);
		*uid = u.id;
	}
	if (pair != NULL && *pair != '\0') {
		if (adm_find_market(req, resp, pair, &lm) != 0)
			return (-1);
		*mid = lm.id;
	}
	return (0);
}

static void
adm_orders(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	struct ledger_order_filter	 f;
	struct adm_list			 al;
	cJSON				*o;

	(void)a;
	memset(&f, 0, sizeof f);
	if (adm_user_market(req, resp, kdexd_req_query(req, "user"),
	    kdexd_req_query(req, "market"), &f.user_id, &f.market_id) != 0)
		return;
	f.which = 1;
	f.limit = ADMIN_LIST_MAX;
	o = adm_object();
	memset(&al, 0, sizeof al);
	al.req = req;
	al.arr = adm_array(o, "orders");
	if (ledger_order_list(adm_ledger(req), &f, adm_order_cb, &al) !=
	    LEDGER_OK) {
		cJSON_Delete(o);
		kdexd_resp_error(resp, 500, "internal", "cannot list orders");
		return;
	}
	kdexd_resp_json(resp, 200, o);
}

/*
 * What adm_cancel_done() saw of the admin cancel's batch: the result and
 * the ids of the orders cancelled, in arr.
 */
struct adm_cancel_out {
	int			 done;
	enum exchange_reject	 reject;
	const char		*code;		/* exchange_reject_code() */
	cJSON			*arr;
};

static void
adm_cancel_done(const struct exchange_out *out, uint64_t tag, void *arg)
{
	struct adm_cancel_out		*co = arg;
	const struct exchange_result	*r;
	const struct exchange_event	*ev;
	char				 buf[32];
	size_t				 i, j;

	if (out == NULL)
		return;
	for (i = 0; i < out->nresults; i++) {
		r = &out->results[i];
		if (r->tag != tag)
			continue;
		co->done = 1;
		co->reject = r->reject;
		co->code = exchange_reject_code(r);
		for (j = 0; j < r->ev_count; j++) {
			ev = &out->events[r->ev_first + j];
			if (ev->ev.type != BOOK_EV_CANCELLED)
				continue;
			snprintf(buf, sizeof buf, "%" PRIu64,
			    ev->ev.cancelled.id);
			cJSON_AddItemToArray(co->arr, cJSON_CreateString(buf));
		}
	}
}

/*
 * Run cmd (a cancel) through kdexd_run_command(), the path a user's own
 * cancel takes: one batch of its own after whatever is queued, whose
 * events (orders, balances, book diffs with their sequence numbers) are
 * published to WebSocket subscribers as any batch's are. Adds the ids of
 * the cancelled orders to arr. Returns 0, or -1 with resp filled; what
 * names the order in an error (NULL for cancel-all).
 */
static int
adm_cancel(struct kdexd_req *req, struct kdexd_resp *resp,
    const struct exchange_cmd *cmd, cJSON *arr, const char *what)
{
	struct adm_cancel_out	co;

	memset(&co, 0, sizeof co);
	co.arr = arr;
	if (kdexd_run_command(req->server, cmd, adm_cancel_done, &co) != 0) {
		kdexd_resp_error(resp, 503, "rate_limited", "the engine queue "
		    "is full");
		resp->retry_after = 1;
		return (-1);
	}
	if (!co.done || co.reject == EXCHANGE_REJ_INTERNAL) {
		kdexd_resp_error(resp, 500, "internal", "cancel not "
		    "committed");
		return (-1);
	}
	if (co.reject != EXCHANGE_OK && what != NULL) {
		kdexd_resp_error(resp, 409, "conflict", "order '%s' cannot be "
		    "cancelled (%s)", what, co.code);
		return (-1);
	}
	return (0);
}

/* POST /admin/orders/cancel {"user"?, "market"?, "id"?}. */
static void
adm_orders_cancel(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	static const char *const allowed[] = { "user", "market", "id", NULL };
	struct exchange_cmd		 cmd;
	struct ledger_order		 lo;
	const char			*user, *pair = NULL, *id = NULL;
	cJSON				*o, *arr;
	int64_t				 uid, mid, oid = 0;
	int				 err = 0;

	(void)a;
	if (kdexd_body_check(req, resp, allowed) != 0)
		return;
	user = kdexd_body_str(req, resp, "user", 0, &err);
	if (!err)
		pair = kdexd_body_str(req, resp, "market", 0, &err);
	if (!err)
		id = kdexd_body_str(req, resp, "id", 0, &err);
	if (err)
		return;
	if (user == NULL && pair == NULL && id == NULL) {
		kdexd_resp_error(resp, 400, "bad_request", "say which orders: "
		    "user, market or id");
		return;
	}
	if (adm_user_market(req, resp, user, pair, &uid, &mid) != 0)
		return;
	memset(&cmd, 0, sizeof cmd);
	if (id != NULL) {
		if ((oid = adm_parse_id(id)) == 0 ||
		    ledger_order_get(adm_ledger(req), oid, &lo) != LEDGER_OK ||
		    (uid != 0 && lo.user_id != uid) ||
		    (mid != 0 && lo.market_id != mid)) {
			kdexd_resp_error(resp, 404, "not_found", "unknown "
			    "order '%s'", id);
			return;
		}
		cmd.type = EXCHANGE_CANCEL;
		cmd.order_id = oid;
		cmd.user = lo.user_id;
		cmd.market = lo.market_id;
	} else {
		cmd.type = EXCHANGE_CANCEL_ALL;
		cmd.user = uid;
		cmd.market = mid;
	}
	o = adm_object();
	arr = adm_array(o, "cancelled");
	if (adm_cancel(req, resp, &cmd, arr, id) != 0) {
		cJSON_Delete(o);
		return;
	}
	log_info("admin: %d order(s) cancelled", cJSON_GetArraySize(arr));
	kdexd_resp_json(resp, 200, o);
}

/* ------------------------ deposits, withdrawals ----------------------- */

static void
adm_deposit_cb(const struct ledger_deposit *d, void *arg)
{
	struct adm_list		*al = arg;
	struct ledger		*l = adm_ledger(al->req);
	struct ledger_token	 t;
	char			 addr[LEDGER_ADDR_MAX];
	cJSON			*o;

	if (al->n++ >= ADMIN_LIST_MAX)
		return;
	adm_token(l, d->token_id, &t);
	adm_user_addr(l, d->user_id, addr, sizeof addr);
	o = adm_object();
	adm_id(o, "id", d->id);
	adm_str(o, "user", addr);
	adm_str(o, "token", t.address);
	adm_str(o, "symbol", t.symbol);
	adm_amount(o, "amount", d->amount, t.decimals);
	adm_str(o, "block", d->block);
	adm_int(o, "op_index", d->op_index);
	adm_str(o, "status", d->status == LEDGER_DEPOSIT_CREDITED ?
	    "credited" : "pending");
	adm_int(o, "ts", d->created_at);
	if (d->credited_at != 0)
		adm_int(o, "credited_at", d->credited_at);
	else
		adm_null(o, "credited_at");
	cJSON_AddItemToArray(al->arr, o);
}

static void
adm_deposits(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	struct adm_list	 al;
	const char	*p = kdexd_req_query(req, "pending");
	cJSON		*o;

	(void)a;
	o = adm_object();
	memset(&al, 0, sizeof al);
	al.req = req;
	al.arr = adm_array(o, "deposits");
	if (ledger_deposit_list(adm_ledger(req), 0, p != NULL &&
	    strcmp(p, "0") != 0 && *p != '\0', ADMIN_LIST_MAX, adm_deposit_cb,
	    &al) != LEDGER_OK) {
		cJSON_Delete(o);
		kdexd_resp_error(resp, 500, "internal", "cannot list deposits");
		return;
	}
	kdexd_resp_json(resp, 200, o);
}

static cJSON *
adm_withdrawal_json(struct ledger *l, const struct ledger_withdrawal *w)
{
	struct ledger_token	 t;
	char			 addr[LEDGER_ADDR_MAX];
	cJSON			*o;

	adm_token(l, w->token_id, &t);
	adm_user_addr(l, w->user_id, addr, sizeof addr);
	o = adm_object();
	adm_id(o, "id", w->id);
	adm_str(o, "user", addr);
	adm_str(o, "token", t.address);
	adm_str(o, "symbol", t.symbol);
	adm_amount(o, "amount", w->amount, t.decimals);
	adm_str(o, "to", w->to);
	adm_str(o, "status", ledger_wd_status_name(w->status));
	if (w->block[0] != '\0')
		adm_str(o, "block_hash", w->block);
	else
		adm_null(o, "block_hash");
	adm_str(o, "reason", w->reason);
	adm_int(o, "created_at", w->created_at);
	adm_int(o, "updated_at", w->updated_at);
	return (o);
}

static void
adm_withdrawal_cb(const struct ledger_withdrawal *w, void *arg)
{
	struct adm_list	*al = arg;

	if (al->n++ >= ADMIN_LIST_MAX)
		return;
	cJSON_AddItemToArray(al->arr, adm_withdrawal_json(
	    adm_ledger(al->req), w));
}

static void
adm_withdrawals(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	struct adm_list	 al;
	cJSON		*o;

	(void)a;
	o = adm_object();
	memset(&al, 0, sizeof al);
	al.req = req;
	al.arr = adm_array(o, "withdrawals");
	if (ledger_withdrawal_list(adm_ledger(req), 0, -1, ADMIN_LIST_MAX,
	    adm_withdrawal_cb, &al) != LEDGER_OK) {
		cJSON_Delete(o);
		kdexd_resp_error(resp, 500, "internal",
		    "cannot list withdrawals");
		return;
	}
	kdexd_resp_json(resp, 200, o);
}

/* Answer {"withdrawal":...} for id, or 404. */
static void
adm_withdrawal_answer(struct kdexd_req *req, struct kdexd_resp *resp,
    int64_t id, const char *ids, int status)
{
	struct ledger_withdrawal	 w;
	cJSON				*o;

	if (id == 0 || ledger_withdrawal_get(adm_ledger(req), id, &w) !=
	    LEDGER_OK) {
		kdexd_resp_error(resp, 404, "not_found", "unknown withdrawal "
		    "'%s'", ids);
		return;
	}
	o = adm_object();
	cJSON_AddItemToObject(o, "withdrawal", adm_withdrawal_json(
	    adm_ledger(req), &w));
	kdexd_resp_json(resp, status, o);
}

static void
adm_withdrawal(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	adm_withdrawal_answer(req, resp, adm_parse_id(a->arg[0]), a->arg[0],
	    200);
}

/* approve, reject, retry: a state change of the ledger's withdrawal row. */
static void
adm_withdrawal_act(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a, const char *act)
{
	static const char *const allowed[] = { "reason", NULL };
	struct ledger_withdrawal	 w;
	struct ledger			*l = adm_ledger(req);
	const char			*reason = NULL;
	int64_t				 id = adm_parse_id(a->arg[0]);
	int				 rv, err = 0;

	if (req->body != NULL) {
		if (kdexd_body_check(req, resp, allowed) != 0)
			return;
		reason = kdexd_body_str(req, resp, "reason", 0, &err);
		if (err)
			return;
	}
	if (id == 0 || ledger_withdrawal_get(l, id, &w) != LEDGER_OK) {
		kdexd_resp_error(resp, 404, "not_found", "unknown withdrawal "
		    "'%s'", a->arg[0]);
		return;
	}
	if (strcmp(act, "approve") == 0)
		rv = ledger_withdrawal_approve(l, id);
	else if (strcmp(act, "reject") == 0) {
		/* Only what has not gone to the chain may be rejected. */
		if (w.status != LEDGER_WD_PENDING_APPROVAL &&
		    w.status != LEDGER_WD_QUEUED) {
			kdexd_resp_error(resp, 409, "conflict", "withdrawal "
			    "'%s' is %s: only queued or pending_approval ones "
			    "can be rejected", a->arg[0],
			    ledger_wd_status_name(w.status));
			return;
		}
		rv = ledger_withdrawal_cancel(l, id, reason != NULL ? reason :
		    "rejected by operator");
	} else
		rv = ledger_withdrawal_retry(l, id);
	if (rv != LEDGER_OK) {
		if (rv == LEDGER_BADSTATE) {
			kdexd_resp_error(resp, 409, "conflict", "cannot %s "
			    "withdrawal '%s': it is %s", act, a->arg[0],
			    ledger_wd_status_name(w.status));
			return;
		}
		adm_ledger_error(resp, rv, "withdrawal");
		return;
	}
	log_info("admin: withdrawal %s %s", a->arg[0], act);
	adm_withdrawal_answer(req, resp, id, a->arg[0], 200);
}

static void
adm_wd_approve(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	adm_withdrawal_act(req, resp, a, "approve");
}

static void
adm_wd_reject(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	adm_withdrawal_act(req, resp, a, "reject");
}

static void
adm_wd_retry(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	adm_withdrawal_act(req, resp, a, "retry");
}

/* ----------------------------- settlement ---------------------------- */

static cJSON *
adm_batch_json(const struct ledger_batch *b)
{
	cJSON	*o;

	o = adm_object();
	adm_id(o, "id", b->id);
	adm_str(o, "state", ledger_batch_status_name(b->status));
	if (b->staple[0] != '\0')
		adm_str(o, "staple_hash", b->staple);
	else
		adm_null(o, "staple_hash");
	adm_int(o, "fills", b->first_fill > 0 && b->last_fill >= b->first_fill ?
	    b->last_fill - b->first_fill + 1 : 0);
	adm_id(o, "first_fill", b->first_fill);
	adm_id(o, "last_fill", b->last_fill);
	adm_int(o, "attempts", b->attempts);
	adm_int(o, "created_at", b->created_at);
	adm_int(o, "updated_at", b->updated_at);
	adm_str(o, "error", b->reason);
	return (o);
}

struct adm_batches {
	cJSON	*arr;
	size_t	 n;
	int64_t	 count[4];
	cJSON	*latest;
};

static void
adm_batch_cb(const struct ledger_batch *b, void *arg)
{
	struct adm_batches	*ab = arg;

	if ((unsigned int)b->status < 4)
		ab->count[b->status]++;
	if (ab->latest == NULL)
		ab->latest = adm_batch_json(b);
	if (ab->n++ < ADMIN_LIST_MAX)
		cJSON_AddItemToArray(ab->arr, adm_batch_json(b));
}

/* A count from SQL on the ledger's handle; -1 when it cannot be had. */
static int64_t
adm_sql_count(struct ledger *l, const char *sql)
{
	sqlite3_stmt	*st;
	int64_t		 n = -1;

	if (sqlite3_prepare_v2(ledger_db(l), sql, -1, &st, NULL) != SQLITE_OK)
		return (-1);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return (n);
}

static void
adm_settlement(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	struct adm_batches	 ab;
	struct ledger		*l = adm_ledger(req);
	cJSON			*o, *s;

	(void)a;
	o = adm_object();
	memset(&ab, 0, sizeof ab);
	ab.arr = adm_array(o, "batches");
	/* Counts need every batch; only ADMIN_LIST_MAX are listed. */
	if (ledger_batch_list(l, -1, 0, adm_batch_cb, &ab) != LEDGER_OK) {
		cJSON_Delete(o);
		cJSON_Delete(ab.latest);
		kdexd_resp_error(resp, 500, "internal", "cannot list batches");
		return;
	}
	if ((s = cJSON_AddObjectToObject(o, "status")) == NULL)
		fatalx("cJSON_AddObjectToObject");
	adm_int(s, "unsettled_fills", adm_sql_count(l,
	    "SELECT count(*) FROM fills WHERE settlement_batch = 0"));
	adm_int(s, "pending", ab.count[LEDGER_BATCH_PENDING]);
	adm_int(s, "published", ab.count[LEDGER_BATCH_PUBLISHED]);
	adm_int(s, "confirmed", ab.count[LEDGER_BATCH_CONFIRMED]);
	adm_int(s, "failed", ab.count[LEDGER_BATCH_FAILED]);
	/* No settlement service publishes batches yet (issue 5). */
	adm_bool(s, "publisher_running", 0);
	if (ab.latest != NULL)
		cJSON_AddItemToObject(s, "latest", ab.latest);
	else
		adm_null(s, "latest");
	kdexd_resp_json(resp, 200, o);
}

struct adm_deltas {
	struct ledger	*l;
	cJSON		*arr;
};

static void
adm_delta_cb(const struct ledger_batch_delta *d, void *arg)
{
	struct adm_deltas	*ad = arg;
	struct ledger_token	 t;
	char			 addr[LEDGER_ADDR_MAX];
	cJSON			*o;

	adm_token(ad->l, d->token_id, &t);
	adm_user_addr(ad->l, d->user_id, addr, sizeof addr);
	o = adm_object();
	adm_str(o, "user", addr);
	adm_str(o, "token", t.address);
	adm_str(o, "symbol", t.symbol);
	adm_delta(o, "delta", &d->delta, t.decimals);
	cJSON_AddItemToArray(ad->arr, o);
}

static void
adm_batch_answer(struct kdexd_req *req, struct kdexd_resp *resp,
    const char *ids)
{
	struct ledger_batch	 b;
	struct adm_deltas	 ad;
	int64_t			 id = adm_parse_id(ids);
	cJSON			*o, *bj;

	if (id == 0 || ledger_batch_get(adm_ledger(req), id, &b) !=
	    LEDGER_OK) {
		kdexd_resp_error(resp, 404, "not_found", "unknown settlement "
		    "batch '%s'", ids);
		return;
	}
	o = adm_object();
	bj = adm_batch_json(&b);
	cJSON_AddItemToObject(o, "batch", bj);
	ad.l = adm_ledger(req);
	ad.arr = adm_array(bj, "deltas");
	if (ledger_batch_deltas(ad.l, id, adm_delta_cb, &ad) != LEDGER_OK) {
		cJSON_Delete(o);
		kdexd_resp_error(resp, 500, "internal", "cannot read batch");
		return;
	}
	kdexd_resp_json(resp, 200, o);
}

static void
adm_batch(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	adm_batch_answer(req, resp, a->arg[0]);
}

static void
adm_batch_retry(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	struct ledger_batch	b;
	int64_t			id = adm_parse_id(a->arg[0]);
	int			rv;

	if (id == 0 || ledger_batch_get(adm_ledger(req), id, &b) !=
	    LEDGER_OK) {
		kdexd_resp_error(resp, 404, "not_found", "unknown settlement "
		    "batch '%s'", a->arg[0]);
		return;
	}
	if ((rv = ledger_batch_retry(adm_ledger(req), id)) != LEDGER_OK) {
		if (rv == LEDGER_BADSTATE) {
			kdexd_resp_error(resp, 409, "conflict", "batch '%s' is"
			    " %s: only failed batches can be retried",
			    a->arg[0], ledger_batch_status_name(b.status));
			return;
		}
		adm_ledger_error(resp, rv, "batch");
		return;
	}
	log_info("admin: settlement batch %s retried", a->arg[0]);
	adm_batch_answer(req, resp, a->arg[0]);
}

/* --------------------------- reconciliation -------------------------- */

static const char *
adm_run_status(const struct ledger_recon_run *r)
{
	if (r->finished_at == 0)
		return ("running");
	if (r->n_critical > 0)
		return ("critical");
	if (r->n_drift > 0)
		return ("drift");
	return ("ok");
}

static cJSON *
adm_run_json(const struct ledger_recon_run *r)
{
	cJSON	*o;

	o = adm_object();
	adm_id(o, "id", r->id);
	adm_str(o, "status", adm_run_status(r));
	adm_int(o, "started_at", r->started_at);
	if (r->finished_at != 0)
		adm_int(o, "finished_at", r->finished_at);
	else
		adm_null(o, "finished_at");
	adm_int(o, "ok", r->n_ok);
	adm_int(o, "drift", r->n_drift);
	adm_int(o, "critical", r->n_critical);
	return (o);
}

struct adm_runs {
	cJSON	*arr;
	cJSON	*latest;
	int64_t	 latest_id;
};

static void
adm_run_cb(const struct ledger_recon_run *r, void *arg)
{
	struct adm_runs	*ar = arg;
	cJSON		*o;

	o = adm_run_json(r);
	/* "rows" is the console's name for the number compared. */
	adm_int(o, "rows", (int64_t)r->n_ok + r->n_drift + r->n_critical);
	if (ar->arr != NULL)
		cJSON_AddItemToArray(ar->arr, o);
	else if (ar->latest == NULL) {
		ar->latest = o;
		ar->latest_id = r->id;
	} else
		cJSON_Delete(o);
}

struct adm_rows {
	struct ledger	*l;
	cJSON		*arr;
};

static void
adm_recon_row_cb(const struct ledger_recon *r, void *arg)
{
	struct adm_rows		*ar = arg;
	struct ledger_token	 t;
	char			 addr[LEDGER_ADDR_MAX];
	cJSON			*o;

	adm_token(ar->l, r->token_id, &t);
	adm_user_addr(ar->l, r->user_id, addr, sizeof addr);
	o = adm_object();
	adm_str(o, "user", addr);
	adm_str(o, "token", t.address);
	adm_str(o, "symbol", t.symbol);
	adm_amount(o, "onchain", r->chain, t.decimals);
	adm_amount(o, "ledger", r->expected, t.decimals);
	/* What was unsettled at the time is not stored with the row. */
	adm_null(o, "unsettled");
	adm_delta(o, "difference", &r->diff, t.decimals);
	adm_str(o, "status", ledger_recon_status_name(r->status));
	adm_int(o, "ts", r->ts);
	cJSON_AddItemToArray(ar->arr, o);
}

/* {"recon": run + rows} for run id into o; -1 when unknown. */
static int
adm_recon_into(struct ledger *l, int64_t id, cJSON *o)
{
	struct ledger_recon_run	 r;
	struct adm_rows		 ar;
	cJSON			*rj;

	if (ledger_recon_run_get(l, id, &r) != LEDGER_OK)
		return (-1);
	rj = adm_run_json(&r);
	cJSON_AddItemToObject(o, "recon", rj);
	ar.l = l;
	ar.arr = adm_array(rj, "rows");
	return (ledger_recon_results(l, id, adm_recon_row_cb, &ar) ==
	    LEDGER_OK ? 0 : -1);
}

/* The answer of POST /admin/recon/run once the chain worker is done. */
static void
adm_recon_done(int64_t run, struct kdexd_resp *resp)
{
	cJSON	*o;

	o = adm_object();
	if (adm_recon_into(kdexd_ledger(kdexd_server), run, o) != 0) {
		cJSON_Delete(o);
		kdexd_resp_error(resp, 500, "internal", "cannot read run");
		return;
	}
	kdexd_resp_json(resp, 200, o);
}

static void
adm_recon_run(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	(void)a;
	/* Reading balances from the chain blocks: the chain worker does it
	 * (kdexd_settle.c) and the answer waits for the run. */
	settle_recon_run(req, resp, adm_recon_done);
}

static void
adm_recon_status(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	struct adm_runs	 ar;
	struct ledger	*l = adm_ledger(req);
	cJSON		*o;

	(void)a;
	memset(&ar, 0, sizeof ar);
	if (ledger_recon_run_list(l, 1, adm_run_cb, &ar) != LEDGER_OK) {
		kdexd_resp_error(resp, 500, "internal", "cannot read runs");
		return;
	}
	o = adm_object();
	adm_bool(o, "reconciler_running", 0);
	if (ar.latest == NULL) {
		adm_null(o, "recon");
		settle_alerts_json(o);
	} else {
		cJSON_Delete(ar.latest);
		if (adm_recon_into(l, ar.latest_id, o) != 0) {
			cJSON_Delete(o);
			kdexd_resp_error(resp, 500, "internal",
			    "cannot read the latest run");
			return;
		}
		/* Inside "recon": the part kdex-console's recon status shows. */
		settle_alerts_json(cJSON_GetObjectItemCaseSensitive(o,
		    "recon"));
	}
	kdexd_resp_json(resp, 200, o);
}

/* GET /admin/metrics: the settlement alerts in Prometheus text. */
static void
adm_metrics(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	(void)req;
	(void)a;
	resp->status = 200;
	resp->text = settle_metrics();
	resp->content_type = "text/plain; version=0.0.4";
}

static void
adm_recon_history(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	struct adm_runs	 ar;
	cJSON		*o;

	(void)a;
	o = adm_object();
	memset(&ar, 0, sizeof ar);
	ar.arr = adm_array(o, "recons");
	if (ledger_recon_run_list(adm_ledger(req), ADMIN_LIST_MAX, adm_run_cb,
	    &ar) != LEDGER_OK) {
		cJSON_Delete(o);
		kdexd_resp_error(resp, 500, "internal", "cannot list runs");
		return;
	}
	kdexd_resp_json(resp, 200, o);
}

static void
adm_recon_show(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	int64_t	 id = adm_parse_id(a->arg[0]);
	cJSON	*o;

	o = adm_object();
	if (id == 0 || adm_recon_into(adm_ledger(req), id, o) != 0) {
		cJSON_Delete(o);
		kdexd_resp_error(resp, 404, "not_found", "unknown "
		    "reconciliation '%s'", a->arg[0]);
		return;
	}
	kdexd_resp_json(resp, 200, o);
}

struct adm_audit {
	struct ledger	*l;
	int64_t		 token;		/* 0: any */
	struct ledger_audit *v;
	size_t		 n;
	size_t		 size;
};

static void
adm_audit_collect(const struct ledger_audit *e, void *arg)
{
	struct adm_audit	*aa = arg;

	if (aa->token != 0 && e->token_id != aa->token)
		return;
	if (aa->n == aa->size) {
		aa->size = aa->size == 0 ? 64 : aa->size * 2;
		aa->v = xreallocarray(aa->v, aa->size, sizeof *aa->v);
	}
	aa->v[aa->n++] = *e;
}

/*
 * GET /admin/recon/explain?user=&token=: the user's audit entries for one
 * token, oldest first, each with the total it left. The walk starts from
 * today's total and goes back, so a truncated history still adds up.
 */
static void
adm_recon_explain(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	struct ledger		*l = adm_ledger(req);
	struct ledger_user	 u;
	struct ledger_token	 t;
	struct ledger_balance	 b;
	struct adm_audit	 aa;
	struct ledger_delta	 bal, neg;
	const char		*user, *token;
	cJSON			*o, *arr, *e;
	size_t			 i;

	(void)a;
	user = kdexd_req_query(req, "user");
	token = kdexd_req_query(req, "token");
	if (user == NULL || token == NULL) {
		kdexd_resp_error(resp, 400, "bad_request", "user and token are "
		    "required");
		return;
	}
	if (adm_find_user(req, resp, user, &u) != 0)
		return;
	if (ledger_token_find(l, token, &t) != LEDGER_OK) {
		kdexd_resp_error(resp, 404, "not_found", "unknown token '%s'",
		    token);
		return;
	}
	if (ledger_balance_get(l, u.id, t.id, &b) != LEDGER_OK) {
		kdexd_resp_error(resp, 500, "internal", "cannot read balance");
		return;
	}
	memset(&aa, 0, sizeof aa);
	aa.l = l;
	aa.token = t.id;
	if (ledger_audit_list(l, u.id, -1, 0, ADMIN_EXPLAIN_MAX,
	    adm_audit_collect, &aa) != LEDGER_OK) {
		free(aa.v);
		kdexd_resp_error(resp, 500, "internal", "cannot read audit");
		return;
	}
	o = adm_object();
	adm_str(o, "user", u.address);
	adm_str(o, "token", t.address);
	adm_str(o, "symbol", t.symbol);
	adm_amount(o, "available", b.available, t.decimals);
	adm_amount(o, "total", b.total, t.decimals);
	adm_int(o, "entries_shown", (int64_t)aa.n);
	arr = adm_array(o, "entries");
	/* aa.v is newest first: balance after v[0] is today's total. */
	bal.neg = false;
	bal.abs = b.total;
	for (i = 0; i < aa.n; i++) {
		e = adm_object();
		adm_id(e, "id", aa.v[i].id);
		adm_int(e, "ts", aa.v[i].ts);
		adm_str(e, "action", ledger_cause_name(aa.v[i].cause));
		adm_delta(e, "delta", &aa.v[i].d_total, t.decimals);
		adm_delta(e, "delta_available", &aa.v[i].d_available,
		    t.decimals);
		adm_delta(e, "balance", &bal, t.decimals);
		adm_str(e, "ref", aa.v[i].ref);
		/* Oldest first: insert at the front. */
		if (!cJSON_InsertItemInArray(arr, 0, e))
			cJSON_AddItemToArray(arr, e);
		neg = aa.v[i].d_total;
		neg.neg = !neg.neg;
		if (ledger_delta_add(&bal, &neg) != 0)
			break;
	}
	free(aa.v);
	kdexd_resp_json(resp, 200, o);
}

/* ------------------------------ ledger, audit ------------------------ */

static void
adm_ledger_check(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	char	**fails = NULL;
	size_t	  n = 0, i;
	int	  rv;
	cJSON	 *o, *arr, *c, *err;
	char	  msg[64];

	(void)a;
	rv = exchange_check(kdexd_exchange(req->server), &fails, &n);
	if (rv < 0) {
		kdexd_resp_error(resp, 500, "internal", "cannot check the "
		    "ledger");
		return;
	}
	o = adm_object();
	adm_bool(o, "ok", rv == 0);
	arr = adm_array(o, "checks");
	if (rv == 0) {
		c = adm_object();
		adm_str(c, "name", "books and ledger");
		adm_bool(c, "ok", 1);
		adm_str(c, "detail", "conservation, available <= total, "
		    "reservations match live orders and withdrawals");
		cJSON_AddItemToArray(arr, c);
		kdexd_resp_json(resp, 200, o);
		return;
	}
	for (i = 0; i < n; i++) {
		c = adm_object();
		adm_str(c, "name", "invariant");
		adm_bool(c, "ok", 0);
		adm_str(c, "detail", fails[i]);
		cJSON_AddItemToArray(arr, c);
	}
	ledger_check_free(fails, n);
	snprintf(msg, sizeof msg, "%d invariant check(s) failed", rv);
	if ((err = cJSON_AddObjectToObject(o, "error")) == NULL)
		fatalx("cJSON_AddObjectToObject");
	adm_str(err, "code", "conflict");
	adm_str(err, "message", msg);
	kdexd_resp_json(resp, 409, o);
}

static void
adm_audit(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	struct ledger		*l = adm_ledger(req);
	struct ledger_user	 u;
	struct ledger_token	 t;
	struct adm_audit	 aa;
	enum ledger_cause	 cause;
	const char		*user, *action, *since;
	char			 addr[LEDGER_ADDR_MAX], *end;
	cJSON			*o, *arr, *e;
	int64_t			 uid = 0, ts = 0;
	long long		 v;
	int			 c = -1;
	size_t			 i;

	(void)a;
	user = kdexd_req_query(req, "user");
	action = kdexd_req_query(req, "action");
	since = kdexd_req_query(req, "since");
	if (user != NULL && *user != '\0') {
		if (adm_find_user(req, resp, user, &u) != 0)
			return;
		uid = u.id;
	}
	if (action != NULL && *action != '\0') {
		if (ledger_cause_parse(action, &cause) != 0) {
			kdexd_resp_error(resp, 400, "bad_request", "unknown "
			    "action '%s'", action);
			return;
		}
		c = (int)cause;
	}
	if (since != NULL && *since != '\0') {
		v = strtoll(since, &end, 10);
		if (*end != '\0' || v < 0) {
			kdexd_resp_error(resp, 400, "bad_request", "bad since "
			    "'%s': want milliseconds since the epoch", since);
			return;
		}
		ts = (int64_t)v;
	}
	memset(&aa, 0, sizeof aa);
	aa.l = l;
	if (ledger_audit_list(l, uid, c, ts, ADMIN_LIST_MAX, adm_audit_collect,
	    &aa) != LEDGER_OK) {
		free(aa.v);
		kdexd_resp_error(resp, 500, "internal", "cannot read audit");
		return;
	}
	o = adm_object();
	arr = adm_array(o, "entries");
	for (i = 0; i < aa.n; i++) {
		adm_token(l, aa.v[i].token_id, &t);
		adm_user_addr(l, aa.v[i].user_id, addr, sizeof addr);
		e = adm_object();
		adm_id(e, "id", aa.v[i].id);
		adm_int(e, "ts", aa.v[i].ts);
		adm_str(e, "user", addr);
		adm_str(e, "action", ledger_cause_name(aa.v[i].cause));
		adm_str(e, "token", t.address);
		adm_str(e, "symbol", t.symbol);
		adm_delta(e, "delta", &aa.v[i].d_total, t.decimals);
		adm_delta(e, "delta_available", &aa.v[i].d_available,
		    t.decimals);
		adm_str(e, "ref", aa.v[i].ref);
		cJSON_AddItemToArray(arr, e);
	}
	free(aa.v);
	kdexd_resp_json(resp, 200, o);
}

/* ------------------------------ operator ----------------------------- */

/*
 * The operator account; its on-chain balances and grants next to what the
 * ledger believes are added off the loop (kdexd_chainview.c).
 */
static void
adm_operator(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	struct kdexd	*s = req->server;
	cJSON		*o, *op, *reps;
	size_t		 i;

	(void)a;
	o = adm_object();
	if ((op = cJSON_AddObjectToObject(o, "operator")) == NULL)
		fatalx("cJSON_AddObjectToObject");
	adm_str(op, "address", kdexd_operator_address(s));
	adm_str(op, "network", s->network_alias != NULL ? s->network_alias :
	    "");
	reps = adm_array(op, "representatives");
	for (i = 0; i < s->napis; i++)
		cJSON_AddItemToArray(reps, cJSON_CreateString(s->apis[i]));
	adm_str(op, "clearing", settle_clearing_address());
	adm_str(op, "demo_reserve", settle_reserve_address());
	chainview_operator(req, resp, o);
}

/* ------------------------------- status ------------------------------ */

static void
adm_status(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	struct ledger	*l = adm_ledger(req);
	struct kdexd	*s = req->server;
	struct adm_runs	 ar;
	cJSON		*o, *q;

	(void)a;
	o = adm_object();
	kdexd_status_json(s, o);
	adm_str(o, "operator", kdexd_operator_address(s));
	adm_int(o, "markets", adm_sql_count(l, "SELECT count(*) FROM markets"));
	adm_int(o, "users", adm_sql_count(l, "SELECT count(*) FROM users"));
	adm_int(o, "open_orders", adm_sql_count(l,
	    "SELECT count(*) FROM orders WHERE status < 2"));
	if ((q = cJSON_AddObjectToObject(o, "queues")) == NULL)
		fatalx("cJSON_AddObjectToObject");
	adm_int(q, "engine", (int64_t)exchange_pending(kdexd_exchange(s)));
	adm_int(q, "settlement", adm_sql_count(l,
	    "SELECT count(*) FROM fills WHERE settlement_batch = 0"));
	adm_int(q, "withdrawals", adm_sql_count(l,
	    "SELECT count(*) FROM withdrawals WHERE status IN ('queued',"
	    " 'processing', 'pending_approval')"));
	adm_int(q, "deposits", adm_sql_count(l,
	    "SELECT count(*) FROM deposits WHERE status = 'pending'"));
	memset(&ar, 0, sizeof ar);
	if (ledger_recon_run_list(l, 1, adm_run_cb, &ar) == LEDGER_OK &&
	    ar.latest != NULL)
		cJSON_AddItemToObject(o, "last_recon", ar.latest);
	else {
		cJSON_Delete(ar.latest);
		adm_null(o, "last_recon");
	}
	settle_alerts_json(o);
	adm_str(o, "network", s->network_alias != NULL ? s->network_alias :
	    "");
	/* Health and heights: asked off the loop (kdexd_chainview.c). */
	chainview_status(req, resp, o);
}

/* ------------------------------- router ------------------------------ */

static const struct {
	enum kdexd_method	 method;
	const char		*pattern;
	admin_fn		*fn;
} adm_routes[] = {
	{ KDEXD_GET,  "/admin/status", adm_status },
	{ KDEXD_GET,  "/admin/metrics", adm_metrics },
	{ KDEXD_GET,  "/admin/markets", adm_markets },
	{ KDEXD_POST, "/admin/markets", adm_market_add },
	{ KDEXD_POST, "/admin/markets/:/status", adm_market_status },
	{ KDEXD_POST, "/admin/markets/:/fees", adm_market_fees },
	{ KDEXD_POST, "/admin/markets/:/tiers", adm_market_tiers },
	{ KDEXD_POST, "/admin/markets/:/limits", adm_market_limits },
	{ KDEXD_GET,  "/admin/users", adm_users },
	{ KDEXD_GET,  "/admin/users/:", adm_user },
	{ KDEXD_POST, "/admin/users/:/freeze", adm_freeze },
	{ KDEXD_POST, "/admin/users/:/unfreeze", adm_unfreeze },
	{ KDEXD_GET,  "/admin/users/:/balances", adm_user_balances },
	{ KDEXD_GET,  "/admin/orders", adm_orders },
	{ KDEXD_POST, "/admin/orders/cancel", adm_orders_cancel },
	{ KDEXD_GET,  "/admin/deposits", adm_deposits },
	{ KDEXD_GET,  "/admin/withdrawals", adm_withdrawals },
	{ KDEXD_GET,  "/admin/withdrawals/:", adm_withdrawal },
	{ KDEXD_POST, "/admin/withdrawals/:/approve", adm_wd_approve },
	{ KDEXD_POST, "/admin/withdrawals/:/reject", adm_wd_reject },
	{ KDEXD_POST, "/admin/withdrawals/:/retry", adm_wd_retry },
	{ KDEXD_GET,  "/admin/settlement", adm_settlement },
	{ KDEXD_GET,  "/admin/settlement/:", adm_batch },
	{ KDEXD_POST, "/admin/settlement/:/retry", adm_batch_retry },
	{ KDEXD_POST, "/admin/recon/run", adm_recon_run },
	{ KDEXD_GET,  "/admin/reconciliation/status", adm_recon_status },
	{ KDEXD_GET,  "/admin/recon/history", adm_recon_history },
	{ KDEXD_GET,  "/admin/recon/explain", adm_recon_explain },
	{ KDEXD_GET,  "/admin/recon/:", adm_recon_show },
	{ KDEXD_GET,  "/admin/ledger/check", adm_ledger_check },
	{ KDEXD_GET,  "/admin/audit", adm_audit },
	{ KDEXD_GET,  "/admin/operator", adm_operator },
};

int
kdexd_admin_route(struct kdexd_req *req, struct kdexd_resp *resp)
{
	struct kdexd_args	args;
	size_t			i;
	int			path_known = 0;

	for (i = 0; i < sizeof adm_routes / sizeof adm_routes[0]; i++) {
		memset(&args, 0, sizeof args);
		if (!kdexd_path_match(req->path, adm_routes[i].pattern, &args))
			continue;
		path_known = 1;
		if (adm_routes[i].method != req->method)
			continue;
		adm_routes[i].fn(req, resp, &args);
		return (0);
	}
	if (lp_admin_route(req, resp) == 0)	/* kdexd_lp.c */
		return (0);
	if (path_known) {
		kdexd_resp_error(resp, 405, "bad_request", "method not allowed "
		    "on %s", req->path);
		return (0);
	}
	return (-1);
}
