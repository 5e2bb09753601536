/*
 * kdexd_trade: the routes over the exchange (markets, books, trades,
 * tickers, candles, balances, orders, fills, deposits, withdrawals) and the
 * engine batch of each event loop iteration.
 *
 * Writes go through the exchange's command queue: a handler validates the
 * request, turns decimal strings into ticks and lots (market.h), submits a
 * command tagged with its pending answer and defers. route_run_batch() runs
 * the queue as one exchange batch (one SQLite transaction); only after the
 * commit does it answer the deferred requests and publish WebSocket events,
 * so nothing a client sees can be lost by a crash.
 *
 * Market data that the ledger does not keep in a form fit for fast reads
 * lives here in memory: the last trades of each market and one-minute
 * candles for a week (rebuilt from the ledger's fills at start), from which
 * the ticker and the coarser candles are derived.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "exchange.h"
#include "keeta_account.h"
#include "kdexd.h"
#include "kdexd_settle.h"
#include "util.h"

#define TRADES_KEEP	1000			/* recent trades per market */
#define CANDLE_SLOTS	(7 * 1440)		/* one-minute candles kept */
#define LIST_MAX	1000			/* most rows a list returns */
#define DEMO_SLIPPAGE	500			/* bps for unprotected market
						   orders */

struct trade_rec {
	int64_t		id;
	uint64_t	price;
	uint64_t	qty;
	int		taker_side;
	int64_t		ts;
};

struct candle {
	int64_t		minute;		/* minutes since the epoch; -1 empty */
	uint64_t	o, h, l, c;
	uint64_t	v;		/* lots */
};

struct tmarket {
	int64_t			 id;
	char			 pair[MARKET_PAIR_MAX + 1];
	struct trade_rec	 trades[TRADES_KEEP];
	size_t			 ntrades;	/* <= TRADES_KEEP */
	size_t			 thead;		/* next slot */
	struct candle		*candles;	/* CANDLE_SLOTS */
	uint64_t		 last;
	int			 have_last;
	int			 ticker_dirty;
};

enum pend_kind {
	PEND_NONE = 0,
	PEND_PLACE,
	PEND_CANCEL,
	PEND_CANCEL_ALL,
	PEND_AMEND,
	PEND_WITHDRAW
};

struct pend {
	struct http_pending	*hp;		/* NULL: nobody waits */
	enum pend_kind		 kind;
	int64_t			 uid;
	int64_t			 market;
	int64_t			 order_id;
};

/* Address <-> ledger user id, both ways. */
struct ucache {
	struct ucache	*next_id, *next_addr;
	int64_t		 id;
	char		 addr[KDEXD_USER_MAX];
};
#define UCACHE_HASH	4096

static struct kdexd	*srv;
static struct exchange	*ex;
static struct tmarket	 markets[KDEXD_MARKETS_MAX];
static size_t		 nmarkets;
static struct pend	*pends;
static size_t		 npends, cappends;
static uint64_t		 tag_base = 1;
static int64_t		 last_expire_ms;
static kdexd_batch_fn	*hook_fn;		/* kdexd_run_command() */
static void		*hook_arg;
static uint64_t		 hook_tag;
static struct ucache	*uc_id[UCACHE_HASH], *uc_addr[UCACHE_HASH];

/* Users touched by a batch, for the private balance and order channels. */
static int64_t		*touched;
static size_t		 ntouched, captouched;

/*
 * The outbox: what a batch owes (HTTP answers, WebSocket messages), built
 * right after its exchange_run, from the state it left, and held until
 * ledger_durable() passes its ticket. With a pipelined ledger the next
 * batches run meanwhile; batches are released in order. At most
 * OUTBOX_MAX batches wait: past that the loop waits for the oldest.
 */
#define OUTBOX_MAX	64
struct omsg {
	struct http_pending	*hp;	/* an answer; NULL: a publication */
	struct kdexd_resp	 resp;	/* the answer, as text */
	char			*chan;	/* a publication's channel */
	uint64_t		 seq;	/* book depth sequence; 0: none */
	char			*text;
};
struct obatch {
	uint64_t	 ticket;
	int64_t		 t_run;		/* when it ran, us */
	struct omsg	*msgs;
	size_t		 n, cap;
};
static struct obatch	 outbox[OUTBOX_MAX];
static size_t		 ohead, nout;		/* ring */
static struct obatch	*ocur;			/* being filled */
static uint64_t		 last_ticket;

/*
 * The answers and events of a batch that read the ledger (amend,
 * withdrawal, the private channels) do it in one read transaction, begun
 * at the first such read: each transaction costs SQLite's WAL lock round
 * trips (fcntl() calls). It writes nothing: its commit takes no ticket,
 * and the async one does not wait for the sync (a rollback would drop the
 * ledger's balance cache).
 */
static int		 read_open;

static void
read_need(void)
{
	if (read_open || ledger_in_transaction(srv->ledger))
		return;
	if (ledger_begin(srv->ledger, NULL) == 0)
		read_open = 1;
}

static void
read_end(void)
{
	uint64_t	 t;
	char		*cause = NULL;

	if (!read_open)
		return;
	read_open = 0;
	if (ledger_commit_async(srv->ledger, &t, &cause) != 0) {
		log_info("answer read transaction: %s", cause);
		free(cause);
	}
}

static void	out_answer(struct http_pending *, struct kdexd_resp *);
static void	out_publish(const char *, uint64_t, char *);
static void	out_publish_user(const char *, const char *, char *);

static unsigned int
str_hash(const char *s)
{
	unsigned int	h = 2166136261u;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return (h);
}

static void
ucache_put(int64_t id, const char *addr)
{
	struct ucache	*u;
	unsigned int	 hi = (unsigned int)((uint64_t)id % UCACHE_HASH);
	unsigned int	 ha = str_hash(addr) % UCACHE_HASH;

	u = xcalloc(1, sizeof *u);
	u->id = id;
	snprintf(u->addr, sizeof u->addr, "%s", addr);
	u->next_id = uc_id[hi];
	uc_id[hi] = u;
	u->next_addr = uc_addr[ha];
	uc_addr[ha] = u;
}

/* The address of ledger user id; "" for the fee account or unknown. */
static const char *
user_addr(int64_t id)
{
	struct ucache		*u;
	struct ledger_user	 lu;

	for (u = uc_id[(uint64_t)id % UCACHE_HASH]; u != NULL; u = u->next_id)
		if (u->id == id)
			return (u->addr);
	if (ledger_user_get(srv->ledger, id, &lu) != LEDGER_OK)
		return ("");
	ucache_put(id, lu.address);
	return (user_addr(id));
}

/* The ledger id of a user, registering it when new; 0 on error. */
static int64_t
user_id(const char *addr)
{
	struct ucache		*u;
	struct ledger_user	 lu;
	struct keeta_pubkey	 pk;
	const char		*why;
	int64_t			 id;
	int			 r;

	for (u = uc_addr[str_hash(addr) % UCACHE_HASH]; u != NULL;
	    u = u->next_addr)
		if (strcmp(u->addr, addr) == 0)
			return (u->id);
	if (ledger_user_find(srv->ledger, addr, &lu) == LEDGER_OK)
		id = lu.id;
	else {
		if (keeta_address_decode(addr, &pk, &why) != 0)
			return (0);
		r = ledger_user_add(srv->ledger, addr,
		    keeta_key_type_name(pk.type), &id);
		if (r != LEDGER_OK && r != LEDGER_DUPLICATE)
			return (0);
	}
	ucache_put(id, addr);
	return (id);
}

static void
ucache_free(void)
{
	struct ucache	*u, *n;
	size_t		 i;

	for (i = 0; i < UCACHE_HASH; i++) {
		for (u = uc_id[i]; u != NULL; u = n) {
			n = u->next_id;
			free(u);
		}
		uc_id[i] = uc_addr[i] = NULL;
	}
}

static void	tm_add(int64_t, const char *);

/* Markets added at run time (admin API) join the registry here. */
static void
tm_sync_cb(const struct ledger_market *lm, void *arg)
{
	size_t	i;

	(void)arg;
	for (i = 0; i < nmarkets; i++)
		if (markets[i].id == lm->id)
			return;
	if (exchange_book(ex, lm->id) != NULL)
		tm_add(lm->id, lm->pair);
}

static void
tm_sync(void)
{
	ledger_market_list(srv->ledger, tm_sync_cb, NULL);
}

static struct tmarket *
tm_by_pair(const char *pair)
{
	size_t	i;
	int	synced = 0;

again:
	for (i = 0; i < nmarkets; i++)
		if (strcmp(markets[i].pair, pair) == 0)
			return (&markets[i]);
	if (!synced && strlen(pair) <= MARKET_PAIR_MAX) {
		synced = 1;
		tm_sync();
		goto again;
	}
	return (NULL);
}

static struct tmarket *
tm_by_id(int64_t id)
{
	size_t	i;

	for (i = 0; i < nmarkets; i++)
		if (markets[i].id == id)
			return (&markets[i]);
	return (NULL);
}

static const struct market *
tm_market(const struct tmarket *tm)
{
	const struct book	*b;

	/* The book's copy carries the status as last set. */
	if ((b = exchange_book(ex, tm->id)) != NULL)
		return (book_market(b));
	return (exchange_market(ex, tm->id));
}

int
route_market_known(const char *pair)
{
	return (tm_by_pair(pair) != NULL);
}

/* Formatting helpers: each returns a pointer to a static rotating buffer. */
static char	fmtbuf[8][MONEY_BUFSZ];
static int	fmtidx;

static const char *
fmt_price(const struct market *m, uint64_t ticks)
{
	char	*b = fmtbuf[fmtidx++ & 7];

	market_format_price(m, ticks, b);
	return (b);
}

static const char *
fmt_qty(const struct market *m, uint64_t lots)
{
	char	*b = fmtbuf[fmtidx++ & 7];

	market_format_qty(m, lots, b);
	return (b);
}

static const char *
fmt_units(u128 v, unsigned int decimals)
{
	char	*b = fmtbuf[fmtidx++ & 7];

	money_format(b, v, decimals);
	return (b);
}

static cJSON *
id_json(int64_t id)
{
	char	b[32];

	snprintf(b, sizeof b, "%lld", (long long)id);
	return (cJSON_CreateString(b));
}

static const char *
side_name(int side)
{
	return (side == BOOK_SELL ? "sell" : "buy");
}

static const char *
tif_name(int tif)
{
	switch (tif) {
	case BOOK_IOC:
		return ("IOC");
	case BOOK_FOK:
		return ("FOK");
	default:
		return ("GTC");
	}
}

/* HTTP status for a stable error code. */
static int
code_status(const char *code)
{
	if (strcmp(code, "not_found") == 0 ||
	    strcmp(code, "unknown_market") == 0)
		return (404);
	if (strcmp(code, "forbidden") == 0)
		return (403);
	if (strcmp(code, "market_halted") == 0 ||
	    strcmp(code, "market_cancel_only") == 0 ||
	    strcmp(code, "conflict") == 0 ||
	    strcmp(code, "duplicate_client_id") == 0)
		return (409);
	if (strcmp(code, "unauthorized") == 0)
		return (401);
	if (strcmp(code, "internal") == 0)
		return (500);
	return (400);
}

/*
 * The market's fee tiers by 30-day volume, tier 0 (the base rates) first:
 * [{"tier", "min_volume" (quote decimal), "maker_fee_ppm", "taker_fee_ppm"}].
 */
static cJSON *
tiers_json(const struct tmarket *tm)
{
	const struct market		*m = tm_market(tm);
	const struct market_tiers	*t = exchange_market_tiers(ex, tm->id);
	struct market_tiers		 base;
	cJSON				*a, *o;
	unsigned int			 i;

	if (t == NULL) {
		market_tiers_base(m, &base);
		t = &base;
	}
	a = cJSON_CreateArray();
	for (i = 0; i < t->n; i++) {
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "tier", i);
		cJSON_AddStringToObject(o, "min_volume",
		    fmt_units(t->tier[i].min_volume, m->cfg.quote.decimals));
		cJSON_AddNumberToObject(o, "maker_fee_ppm",
		    t->tier[i].maker_fee_ppm);
		cJSON_AddNumberToObject(o, "taker_fee_ppm",
		    t->tier[i].taker_fee_ppm);
		cJSON_AddItemToArray(a, o);
	}
	return (a);
}

static cJSON *
market_json(const struct tmarket *tm)
{
	const struct market	*m = tm_market(tm);
	const struct market_config *c = &m->cfg;
	cJSON			*o, *t;
	u128			 min;

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "pair", tm->pair);
	t = cJSON_AddObjectToObject(o, "base");
	cJSON_AddStringToObject(t, "symbol", c->base.symbol);
	cJSON_AddStringToObject(t, "token", c->base.address);
	cJSON_AddNumberToObject(t, "decimals", c->base.decimals);
	t = cJSON_AddObjectToObject(o, "quote");
	cJSON_AddStringToObject(t, "symbol", c->quote.symbol);
	cJSON_AddStringToObject(t, "token", c->quote.address);
	cJSON_AddNumberToObject(t, "decimals", c->quote.decimals);
	cJSON_AddStringToObject(o, "tick_size",
	    fmt_units(c->tick_size, c->quote.decimals));
	cJSON_AddStringToObject(o, "lot_size",
	    fmt_units(c->lot_size, c->base.decimals));
	if (market_base_units(m, c->min_lots, &min) != 0)
		min = 0;
	cJSON_AddStringToObject(o, "min_size", fmt_units(min,
	    c->base.decimals));
	cJSON_AddStringToObject(o, "min_notional",
	    fmt_units(c->min_notional, c->quote.decimals));
	cJSON_AddNumberToObject(o, "maker_fee_ppm", c->maker_fee_ppm);
	cJSON_AddNumberToObject(o, "taker_fee_ppm", c->taker_fee_ppm);
	cJSON_AddItemToObject(o, "fee_tiers", tiers_json(tm));
	cJSON_AddStringToObject(o, "status", market_status_name(c->status));
	return (o);
}

/* Lots still open: none once the order is no longer live. */
static uint64_t
order_remaining(const struct ledger_order *lo)
{
	return ledger_order_status_live(lo->status) && lo->qty > lo->filled ?
	    lo->qty - lo->filled : 0;
}

static cJSON *
order_json(const struct ledger_order *lo)
{
	struct tmarket		*tm = tm_by_id(lo->market_id);
	const struct market	*m;
	cJSON			*o;
	uint64_t		 rem;

	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "id", id_json(lo->id));
	if (lo->client_id[0] != '\0')
		cJSON_AddStringToObject(o, "client_id", lo->client_id);
	else
		cJSON_AddNullToObject(o, "client_id");
	cJSON_AddStringToObject(o, "market", tm != NULL ? tm->pair : "");
	cJSON_AddStringToObject(o, "side", side_name(lo->side));
	cJSON_AddStringToObject(o, "type", lo->type == BOOK_MARKET ?
	    "market" : "limit");
	if (tm == NULL) {
		cJSON_Delete(o);
		return (NULL);
	}
	m = tm_market(tm);
	if (lo->price != 0)
		cJSON_AddStringToObject(o, "price", fmt_price(m, lo->price));
	else
		cJSON_AddNullToObject(o, "price");
	cJSON_AddStringToObject(o, "qty", fmt_qty(m, lo->qty));
	cJSON_AddStringToObject(o, "filled", fmt_qty(m, lo->filled));
	rem = order_remaining(lo);
	cJSON_AddStringToObject(o, "remaining", fmt_qty(m, rem));
	cJSON_AddStringToObject(o, "status",
	    ledger_order_status_name(lo->status));
	cJSON_AddStringToObject(o, "tif", tif_name(lo->tif));
	cJSON_AddBoolToObject(o, "post_only", lo->post_only);
	cJSON_AddNumberToObject(o, "created_at", (double)lo->created_at);
	cJSON_AddNumberToObject(o, "updated_at", (double)lo->updated_at);
	if (lo->reason[0] != '\0')
		cJSON_AddStringToObject(o, "reason", lo->reason);
	else
		cJSON_AddNullToObject(o, "reason");
	return (o);
}

/* order_json() written directly (the place answer, the orders channel). */
static int
order_jw(struct jw *w, const char *key, const struct ledger_order *lo)
{
	struct tmarket		*tm = tm_by_id(lo->market_id);
	const struct market	*m;
	char			 b[32];
	uint64_t		 rem;

	if (tm == NULL)
		return (-1);
	m = tm_market(tm);
	jw_obj(w, key);
	snprintf(b, sizeof b, "%lld", (long long)lo->id);
	jw_str(w, "id", b);
	if (lo->client_id[0] != '\0')
		jw_str(w, "client_id", lo->client_id);
	else
		jw_null(w, "client_id");
	jw_str(w, "market", tm->pair);
	jw_str(w, "side", side_name(lo->side));
	jw_str(w, "type", lo->type == BOOK_MARKET ? "market" : "limit");
	if (lo->price != 0)
		jw_str(w, "price", fmt_price(m, lo->price));
	else
		jw_null(w, "price");
	jw_str(w, "qty", fmt_qty(m, lo->qty));
	jw_str(w, "filled", fmt_qty(m, lo->filled));
	rem = order_remaining(lo);
	jw_str(w, "remaining", fmt_qty(m, rem));
	jw_str(w, "status", ledger_order_status_name(lo->status));
	jw_str(w, "tif", tif_name(lo->tif));
	jw_bool(w, "post_only", lo->post_only);
	jw_int(w, "created_at", lo->created_at);
	jw_int(w, "updated_at", lo->updated_at);
	if (lo->reason[0] != '\0')
		jw_str(w, "reason", lo->reason);
	else
		jw_null(w, "reason");
	jw_end(w);
	return (0);
}

static cJSON *
order_json_id(int64_t id)
{
	struct ledger_order	lo;

	if (ledger_order_get(srv->ledger, id, &lo) != LEDGER_OK)
		return (NULL);
	return (order_json(&lo));
}

/* A fill as seen by uid (maker or taker side). */
static cJSON *
fill_json(const struct ledger_fill *f, int64_t uid)
{
	struct tmarket		*tm = tm_by_id(f->market_id);
	const struct market	*m;
	const struct ledger_delta *fee;
	int			 taker = (f->taker_user == uid);
	char			 fb[MONEY_BUFSZ + 1];
	cJSON			*o;

	if (tm == NULL)
		return (NULL);
	m = tm_market(tm);
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "id", id_json(f->id));
	cJSON_AddItemToObject(o, "order_id", id_json(taker ? f->taker_order :
	    f->maker_order));
	cJSON_AddStringToObject(o, "market", tm->pair);
	cJSON_AddStringToObject(o, "side", side_name(taker ? f->taker_side :
	    !f->taker_side));
	cJSON_AddStringToObject(o, "price", fmt_price(m, f->price));
	cJSON_AddStringToObject(o, "qty", fmt_qty(m, f->qty));
	fee = taker ? &f->taker_fee : &f->maker_fee;
	snprintf(fb, sizeof fb, "%s%s", fee->neg && fee->abs != 0 ? "-" : "",
	    fmt_units(fee->abs, m->cfg.quote.decimals));
	cJSON_AddStringToObject(o, "fee", fb);
	cJSON_AddStringToObject(o, "fee_token", m->cfg.quote.symbol);
	/* The fee tier and rate this side was charged at (issue 8). */
	cJSON_AddNumberToObject(o, "fee_tier", taker ? f->fee_tier :
	    f->maker_tier);
	cJSON_AddNumberToObject(o, "fee_ppm", taker ? f->taker_fee_ppm :
	    f->maker_fee_ppm);
	cJSON_AddStringToObject(o, "liquidity", taker ? "taker" : "maker");
	cJSON_AddNumberToObject(o, "ts", (double)f->ts);
	return (o);
}

/* Market data: trades ring and one-minute candles. */
static void
tm_record(struct tmarket *tm, int64_t id, uint64_t price, uint64_t qty,
    int taker_side, int64_t ts)
{
	struct trade_rec	*t;
	struct candle		*c;
	int64_t			 minute = ts / 60000;

	t = &tm->trades[tm->thead];
	t->id = id;
	t->price = price;
	t->qty = qty;
	t->taker_side = taker_side;
	t->ts = ts;
	tm->thead = (tm->thead + 1) % TRADES_KEEP;
	if (tm->ntrades < TRADES_KEEP)
		tm->ntrades++;
	c = &tm->candles[minute % CANDLE_SLOTS];
	if (c->minute != minute) {
		c->minute = minute;
		c->o = c->h = c->l = c->c = price;
		c->v = 0;
	}
	if (price > c->h)
		c->h = price;
	if (price < c->l)
		c->l = price;
	c->c = price;
	c->v += qty;
	tm->last = price;
	tm->have_last = 1;
	tm->ticker_dirty = 1;
}

static cJSON *
trade_json(const struct tmarket *tm, const struct trade_rec *t)
{
	const struct market	*m = tm_market(tm);
	cJSON			*o;

	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "id", id_json(t->id));
	cJSON_AddStringToObject(o, "price", fmt_price(m, t->price));
	cJSON_AddStringToObject(o, "qty", fmt_qty(m, t->qty));
	cJSON_AddStringToObject(o, "taker_side", side_name(t->taker_side));
	cJSON_AddNumberToObject(o, "ts", (double)t->ts);
	return (o);
}

/* Aggregate one-minute candles [from, to) minutes into *out; 0 if none. */
static int
candle_range(const struct tmarket *tm, int64_t from, int64_t to,
    struct candle *out)
{
	const struct candle	*c;
	int64_t			 mn;
	int			 any = 0;

	for (mn = from; mn < to; mn++) {
		c = &tm->candles[mn % CANDLE_SLOTS];
		if (c->minute != mn)
			continue;
		if (!any) {
			*out = *c;
			out->minute = from;
			any = 1;
			continue;
		}
		if (c->h > out->h)
			out->h = c->h;
		if (c->l < out->l)
			out->l = c->l;
		out->c = c->c;
		out->v += c->v;
	}
	return (any);
}

cJSON *
route_ticker_json(const char *pair)
{
	struct tmarket		*tm = tm_by_pair(pair);
	const struct market	*m;
	const struct book	*b;
	struct candle		 day;
	int64_t			 now_min = kdexd_now_ms() / 60000;
	uint64_t		 p, q;
	char			 ch[MONEY_BUFSZ + 1];
	cJSON			*o;
	int			 have;

	if (tm == NULL)
		return (NULL);
	m = tm_market(tm);
	b = exchange_book(ex, tm->id);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "pair", tm->pair);
	if (tm->have_last)
		cJSON_AddStringToObject(o, "last", fmt_price(m, tm->last));
	else
		cJSON_AddNullToObject(o, "last");
	have = candle_range(tm, now_min - 1439, now_min + 1, &day);
	if (have) {
		cJSON_AddStringToObject(o, "open_24h", fmt_price(m, day.o));
		cJSON_AddStringToObject(o, "high_24h", fmt_price(m, day.h));
		cJSON_AddStringToObject(o, "low_24h", fmt_price(m, day.l));
		cJSON_AddStringToObject(o, "volume_24h", fmt_qty(m, day.v));
		if (day.c >= day.o)
			snprintf(ch, sizeof ch, "%s",
			    fmt_price(m, day.c - day.o));
		else
			snprintf(ch, sizeof ch, "-%s",
			    fmt_price(m, day.o - day.c));
		/* market_format_price of 0 is "0". */
		cJSON_AddStringToObject(o, "change_24h", ch);
	} else {
		cJSON_AddNullToObject(o, "open_24h");
		cJSON_AddNullToObject(o, "high_24h");
		cJSON_AddNullToObject(o, "low_24h");
		cJSON_AddStringToObject(o, "volume_24h", "0");
		cJSON_AddNullToObject(o, "change_24h");
	}
	if (b != NULL && book_best(b, BOOK_BUY, &p, &q))
		cJSON_AddStringToObject(o, "best_bid", fmt_price(m, p));
	else
		cJSON_AddNullToObject(o, "best_bid");
	if (b != NULL && book_best(b, BOOK_SELL, &p, &q))
		cJSON_AddStringToObject(o, "best_ask", fmt_price(m, p));
	else
		cJSON_AddNullToObject(o, "best_ask");
	cJSON_AddNumberToObject(o, "seq", b != NULL ? (double)book_seq(b) : 0);
	return (o);
}

static cJSON *
levels_json(const struct market *m, const struct book *b, enum book_side side,
    size_t depth)
{
	struct book_level	*lv;
	size_t			 n, i;
	cJSON			*a, *pq;

	lv = xreallocarray(NULL, depth, sizeof *lv);
	n = book_depth(b, side, lv, depth);
	a = cJSON_CreateArray();
	for (i = 0; i < n; i++) {
		pq = cJSON_CreateArray();
		cJSON_AddItemToArray(pq,
		    cJSON_CreateString(fmt_price(m, lv[i].price)));
		cJSON_AddItemToArray(pq,
		    cJSON_CreateString(fmt_qty(m, lv[i].qty)));
		cJSON_AddItemToArray(a, pq);
	}
	free(lv);
	return (a);
}

cJSON *
route_book_snapshot(const char *pair, size_t depth)
{
	struct tmarket		*tm = tm_by_pair(pair);
	const struct book	*b;
	const struct market	*m;
	cJSON			*o;

	if (tm == NULL || (b = exchange_book(ex, tm->id)) == NULL)
		return (NULL);
	m = tm_market(tm);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "pair", tm->pair);
	cJSON_AddNumberToObject(o, "seq", (double)book_depth_seq(b));
	cJSON_AddItemToObject(o, "bids", levels_json(m, b, BOOK_BUY, depth));
	cJSON_AddItemToObject(o, "asks", levels_json(m, b, BOOK_SELL, depth));
	return (o);
}

/* Parse an optional integer query parameter within [lo, hi]. */
static int
query_uint(struct kdexd_req *req, struct kdexd_resp *resp, const char *name,
    unsigned long lo, unsigned long hi, unsigned long *out)
{
	const char	*v = kdexd_req_query(req, name);
	char		*end;
	unsigned long	 n;

	if (v == NULL)
		return (0);
	if (!isdigit((unsigned char)*v) || strlen(v) > 12)
		goto bad;
	n = strtoul(v, &end, 10);
	if (*end != '\0' || n < lo || n > hi)
		goto bad;
	*out = n;
	return (0);
bad:
	kdexd_resp_error(resp, 400, "bad_request",
	    "%s must be an integer from %lu to %lu", name, lo, hi);
	return (-1);
}

/* The market named by a path capture, or a 404 answer. */
static struct tmarket *
path_market(struct kdexd_resp *resp, const char *pair)
{
	struct tmarket	*tm;

	if ((tm = tm_by_pair(pair)) == NULL)
		kdexd_resp_error(resp, 404, "unknown_market",
		    "unknown market '%s'", pair);
	return (tm);
}

void
route_info_json(struct kdexd *s, cJSON *o)
{
	char	 id[32];
	cJSON	*a;
	size_t	 i;

	snprintf(id, sizeof id, "0x%llx", (unsigned long long)s->network_id);
	cJSON_AddStringToObject(o, "network_id", id);
	cJSON_AddStringToObject(o, "network_alias", s->network_alias);
	a = cJSON_AddArrayToObject(o, "representatives");
	for (i = 0; i < s->napis; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(s->apis[i]));
	cJSON_AddStringToObject(o, "operator", s->operator_addr);
	cJSON_AddStringToObject(o, "clearing", settle_clearing_address());
	a = cJSON_AddArrayToObject(o, "markets");
	tm_sync();
	for (i = 0; i < nmarkets; i++)
		cJSON_AddItemToArray(a, market_json(&markets[i]));
}

void
trade_info(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	cJSON	*o;

	(void)a;
	o = cJSON_CreateObject();
	route_info_json(req->server, o);
	kdexd_resp_json(resp, 200, o);
}

void
trade_markets(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	cJSON	*o, *arr;
	size_t	 i;

	(void)req;
	(void)a;
	o = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(o, "markets");
	tm_sync();
	for (i = 0; i < nmarkets; i++)
		cJSON_AddItemToArray(arr, market_json(&markets[i]));
	kdexd_resp_json(resp, 200, o);
}

void
trade_book(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	struct tmarket	*tm;
	unsigned long	 depth = 50;

	if ((tm = path_market(resp, a->arg[0])) == NULL ||
	    query_uint(req, resp, "depth", 1, 1000, &depth) != 0)
		return;
	kdexd_resp_json(resp, 200, route_book_snapshot(tm->pair, depth));
}

void
trade_trades(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	struct tmarket	*tm;
	unsigned long	 limit = 100, i;
	cJSON		*o, *arr;
	size_t		 slot;

	if ((tm = path_market(resp, a->arg[0])) == NULL ||
	    query_uint(req, resp, "limit", 1, TRADES_KEEP, &limit) != 0)
		return;
	o = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(o, "trades");
	for (i = 0; i < limit && i < tm->ntrades; i++) {
		slot = (tm->thead + TRADES_KEEP - 1 - i) % TRADES_KEEP;
		cJSON_AddItemToArray(arr, trade_json(tm, &tm->trades[slot]));
	}
	kdexd_resp_json(resp, 200, o);
}

void
trade_ticker(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	struct tmarket	*tm;

	(void)req;
	if ((tm = path_market(resp, a->arg[0])) == NULL)
		return;
	kdexd_resp_json(resp, 200, route_ticker_json(tm->pair));
}

void
trade_candles(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	static const struct {
		const char	*name;
		int64_t		 minutes;
	} ivs[] = {
		{ "1m", 1 }, { "5m", 5 }, { "15m", 15 }, { "1h", 60 },
		{ "4h", 240 }, { "1d", 1440 }
	};
	struct tmarket		*tm;
	const struct market	*m;
	const char		*iv;
	unsigned long		 limit = 100;
	int64_t			 k = 0, now_min, start, first;
	size_t			 i;
	struct candle		 c;
	cJSON			*o, *arr, *e;

	if ((tm = path_market(resp, a->arg[0])) == NULL ||
	    query_uint(req, resp, "limit", 1, 1000, &limit) != 0)
		return;
	iv = kdexd_req_query(req, "interval");
	if (iv == NULL)
		iv = "1m";
	for (i = 0; i < sizeof ivs / sizeof ivs[0]; i++)
		if (strcmp(iv, ivs[i].name) == 0)
			k = ivs[i].minutes;
	if (k == 0) {
		kdexd_resp_error(resp, 400, "bad_request",
		    "interval must be 1m, 5m, 15m, 1h, 4h or 1d");
		return;
	}
	m = tm_market(tm);
	now_min = kdexd_now_ms() / 60000;
	start = now_min - now_min % k;
	first = start - (int64_t)(limit - 1) * k;
	/* Only what the one-minute ring still holds. */
	if (first < now_min - CANDLE_SLOTS + 1)
		first = now_min - CANDLE_SLOTS + 1 + k - 1;
	first -= ((first % k) + k) % k;
	o = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(o, "candles");
	for (; first <= start; first += k) {
		if (!candle_range(tm, first, first + k, &c))
			continue;
		e = cJSON_CreateObject();
		cJSON_AddNumberToObject(e, "t", (double)(first * 60000));
		cJSON_AddStringToObject(e, "o", fmt_price(m, c.o));
		cJSON_AddStringToObject(e, "h", fmt_price(m, c.h));
		cJSON_AddStringToObject(e, "l", fmt_price(m, c.l));
		cJSON_AddStringToObject(e, "c", fmt_price(m, c.c));
		cJSON_AddStringToObject(e, "v", fmt_qty(m, c.v));
		cJSON_AddItemToArray(arr, e);
	}
	kdexd_resp_json(resp, 200, o);
}

/* Private routes: the caller's ledger id or a 500 answer. */
static int64_t
req_uid(struct kdexd_req *req, struct kdexd_resp *resp)
{
	int64_t	id;

	if ((id = user_id(req->user)) == 0)
		kdexd_resp_error(resp, 500, "internal", "cannot find user");
	return (id);
}

struct balcb {
	cJSON	*arr;
};

static void
bal_cb(const struct ledger_balance *b, void *arg)
{
	struct balcb		*bc = arg;
	struct ledger_token	 t;
	cJSON			*o;

	if (ledger_token_get(srv->ledger, b->token_id, &t) != LEDGER_OK)
		return;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "token", t.address);
	cJSON_AddStringToObject(o, "symbol", t.symbol);
	cJSON_AddStringToObject(o, "available",
	    fmt_units(b->available, (unsigned int)t.decimals));
	cJSON_AddStringToObject(o, "total",
	    fmt_units(b->total, (unsigned int)t.decimals));
	cJSON_AddItemToArray(bc->arr, o);
}

static cJSON *
balances_json(int64_t uid)
{
	struct balcb	 bc;
	cJSON		*o;

	o = cJSON_CreateObject();
	bc.arr = cJSON_AddArrayToObject(o, "balances");
	ledger_balance_list(srv->ledger, uid, bal_cb, &bc);
	return (o);
}

void
trade_balances(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	int64_t	uid;

	(void)a;
	if ((uid = req_uid(req, resp)) == 0)
		return;
	kdexd_resp_json(resp, 200, balances_json(uid));
}

void
trade_storage(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	static const char *const allowed[] = { "storage", NULL };
	struct keeta_pubkey	 pk;
	const char		*st, *why;
	int64_t			 uid;
	int			 err = 0;

	(void)a;
	if (kdexd_body_check(req, resp, allowed) != 0 ||
	    (st = kdexd_body_str(req, resp, "storage", 1, &err)) == NULL)
		return;
	if (keeta_address_decode(st, &pk, &why) != 0 ||
	    pk.type != KEETA_KEY_STORAGE) {
		kdexd_resp_error(resp, 400, "bad_request",
		    "storage must be the keeta_ address of a storage account");
		return;
	}
	if ((uid = req_uid(req, resp)) == 0)
		return;
	/* Recorded once the chain shows the ACLs (kdexd_settle.c). */
	settle_register(req, resp, uid, st);
}

void
trade_deposit_address(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	struct ledger_user	 lu;
	int64_t			 uid;
	cJSON			*o;

	(void)a;
	if ((uid = req_uid(req, resp)) == 0)
		return;
	if (ledger_user_get(srv->ledger, uid, &lu) != LEDGER_OK ||
	    lu.storage[0] == '\0') {
		kdexd_resp_error(resp, 409, "conflict",
		    "register a storage account first (POST /account/storage)");
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "address", lu.storage);
	kdexd_resp_json(resp, 200, o);
}

void
trade_deposit_notify(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	static const char *const allowed[] = { NULL };
	int64_t	 uid;
	cJSON	*o;

	(void)a;
	if (kdexd_body_check(req, resp, allowed) != 0)
		return;
	if ((uid = req_uid(req, resp)) == 0)
		return;
	settle_notify(uid);
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", 1);
	kdexd_resp_json(resp, 200, o);
}

static void
dep_cb(const struct ledger_deposit *d, void *arg)
{
	cJSON			*arr = arg, *o;
	struct ledger_token	 t;

	if (ledger_token_get(srv->ledger, d->token_id, &t) != LEDGER_OK)
		return;
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "id", id_json(d->id));
	cJSON_AddStringToObject(o, "token", t.address);
	cJSON_AddStringToObject(o, "symbol", t.symbol);
	cJSON_AddStringToObject(o, "amount", fmt_units(d->amount,
	    (unsigned int)t.decimals));
	cJSON_AddStringToObject(o, "block", d->block);
	cJSON_AddStringToObject(o, "status", d->status ==
	    LEDGER_DEPOSIT_CREDITED ? "credited" : "pending");
	cJSON_AddNumberToObject(o, "ts", (double)d->created_at);
	cJSON_AddItemToArray(arr, o);
}

void
trade_deposits(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	int64_t	 uid;
	cJSON	*o, *arr;

	(void)a;
	if ((uid = req_uid(req, resp)) == 0)
		return;
	o = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(o, "deposits");
	ledger_deposit_list(srv->ledger, uid, false, LIST_MAX, dep_cb, arr);
	kdexd_resp_json(resp, 200, o);
}

/* Queue cmd; the answer is deferred unless req is NULL. */
static int
submit(struct exchange_cmd *cmd, struct kdexd_req *req,
    struct kdexd_resp *resp, enum pend_kind kind)
{
	struct pend	*p;

	cmd->tag = tag_base + npends;
	if (exchange_submit(ex, cmd) != 0) {
		if (resp != NULL) {
			kdexd_resp_error(resp, 503, "rate_limited",
			    "the engine queue is full");
			resp->retry_after = 1;
		}
		return (-1);
	}
	if (npends == cappends) {
		cappends = cappends == 0 ? 1024 : cappends * 2;
		pends = xreallocarray(pends, cappends, sizeof *pends);
	}
	p = &pends[npends++];
	memset(p, 0, sizeof *p);
	p->kind = kind;
	p->uid = cmd->user;
	p->market = cmd->market;
	p->order_id = cmd->order_id;
	p->hp = req != NULL ? http_defer(req) : NULL;
	return (0);
}

int
route_batch_pending(void)
{
	return (npends > 0);
}

/* Parse a JSON string member as a price or quantity of market m. */
static int
body_ticks(struct kdexd_req *req, struct kdexd_resp *resp,
    const struct market *m, const char *name, int price, uint64_t *out)
{
	const cJSON	*v;
	enum market_err	 e;

	v = cJSON_GetObjectItemCaseSensitive(req->body, name);
	if (!cJSON_IsString(v)) {
		kdexd_resp_error(resp, 400, price ? "bad_price" : "bad_amount",
		    "%s must be a decimal string", name);
		return (-1);
	}
	e = price ? market_parse_price(m, v->valuestring, out) :
	    market_parse_qty(m, v->valuestring, out);
	if (e != MARKET_OK) {
		kdexd_resp_error(resp, 400, price ? "bad_price" : "bad_amount",
		    "%s '%s': %s", name, v->valuestring, market_strerror(e));
		return (-1);
	}
	return (0);
}

static int
body_enum(struct kdexd_req *req, struct kdexd_resp *resp, const char *name,
    const char *const *names, int def, int *out)
{
	const cJSON	*v;
	int		 i;

	v = cJSON_GetObjectItemCaseSensitive(req->body, name);
	if (v == NULL || cJSON_IsNull(v)) {
		if (def < 0) {
			kdexd_resp_error(resp, 400, "bad_request",
			    "missing field '%s'", name);
			return (-1);
		}
		*out = def;
		return (0);
	}
	if (cJSON_IsString(v))
		for (i = 0; names[i] != NULL; i++)
			if (strcmp(v->valuestring, names[i]) == 0) {
				*out = i;
				return (0);
			}
	kdexd_resp_error(resp, 400, "bad_request", "bad value for '%s'", name);
	return (-1);
}

static int
client_id_ok(const char *s)
{
	size_t	i, n = strlen(s);

	if (n == 0 || n > BOOK_CLIENT_ID_MAX)
		return (0);
	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~' || s[i] == '/')
			return (0);
	return (1);
}

void
trade_place(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	static const char *const allowed[] = { "market", "side", "type",
	    "price", "qty", "tif", "post_only", "client_id", "stp",
	    "expire_at", "protection_price", NULL };
	static const char *const sides[] = { "buy", "sell", NULL };
	static const char *const types[] = { "limit", "market", NULL };
	static const char *const tifs[] = { "GTC", "IOC", "FOK", NULL };
	static const char *const stps[] = { "cancel_taker", "cancel_maker",
	    "cancel_both", NULL };
	struct exchange_cmd	 cmd;
	struct tmarket		*tm;
	const struct market	*m;
	const char		*pair, *cid;
	const cJSON		*v;
	int			 err = 0, side, type, tif, stp;

	(void)a;
	if (kdexd_body_check(req, resp, allowed) != 0)
		return;
	if ((pair = kdexd_body_str(req, resp, "market", 1, &err)) == NULL)
		return;
	if ((tm = tm_by_pair(pair)) == NULL) {
		kdexd_resp_error(resp, 404, "unknown_market",
		    "unknown market '%s'", pair);
		return;
	}
	m = tm_market(tm);
	if (body_enum(req, resp, "side", sides, -1, &side) != 0 ||
	    body_enum(req, resp, "type", types, 0, &type) != 0 ||
	    body_enum(req, resp, "stp", stps, 0, &stp) != 0)
		return;
	if (body_enum(req, resp, "tif", tifs, type == BOOK_MARKET ? BOOK_IOC :
	    BOOK_GTC, &tif) != 0)
		return;
	memset(&cmd, 0, sizeof cmd);
	cmd.type = EXCHANGE_PLACE;
	cmd.market = tm->id;
	cmd.side = (enum book_side)side;
	cmd.order_type = (enum book_type)type;
	cmd.tif = (enum book_tif)tif;
	cmd.stp = (enum book_stp)stp;
	if (body_ticks(req, resp, m, "qty", 0, &cmd.qty) != 0)
		return;
	if (type == BOOK_LIMIT) {
		if (cJSON_GetObjectItemCaseSensitive(req->body,
		    "protection_price") != NULL) {
			kdexd_resp_error(resp, 400, "bad_request",
			    "protection_price is for market orders");
			return;
		}
		if (body_ticks(req, resp, m, "price", 1, &cmd.price) != 0)
			return;
	} else {
		if (cJSON_GetObjectItemCaseSensitive(req->body, "price") !=
		    NULL) {
			kdexd_resp_error(resp, 400, "bad_request",
			    "a market order has no price (see "
			    "protection_price)");
			return;
		}
		if (tif == BOOK_GTC) {
			kdexd_resp_error(resp, 400, "bad_request",
			    "a market order is IOC or FOK");
			return;
		}
		if (cJSON_GetObjectItemCaseSensitive(req->body,
		    "protection_price") != NULL) {
			if (body_ticks(req, resp, m, "protection_price", 1,
			    &cmd.price) != 0)
				return;
		} else
			cmd.slippage_bps = DEMO_SLIPPAGE;
	}
	v = cJSON_GetObjectItemCaseSensitive(req->body, "post_only");
	if (v != NULL && !cJSON_IsNull(v)) {
		if (!cJSON_IsBool(v)) {
			kdexd_resp_error(resp, 400, "bad_request",
			    "post_only must be true or false");
			return;
		}
		cmd.post_only = cJSON_IsTrue(v);
		if (cmd.post_only && (type != BOOK_LIMIT || tif != BOOK_GTC)) {
			kdexd_resp_error(resp, 400, "bad_request",
			    "post_only needs a GTC limit order");
			return;
		}
	}
	cid = kdexd_body_str(req, resp, "client_id", 0, &err);
	if (err)
		return;
	if (cid != NULL) {
		if (!client_id_ok(cid)) {
			kdexd_resp_error(resp, 400, "bad_request",
			    "client_id must be 1-%d printable characters "
			    "without spaces or '/'", BOOK_CLIENT_ID_MAX);
			return;
		}
		snprintf(cmd.client_id, sizeof cmd.client_id, "%s", cid);
	}
	v = cJSON_GetObjectItemCaseSensitive(req->body, "expire_at");
	if (v != NULL && !cJSON_IsNull(v)) {
		if (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
		    v->valuedouble > 1e15 ||
		    v->valuedouble != (double)(int64_t)v->valuedouble) {
			kdexd_resp_error(resp, 400, "bad_request",
			    "expire_at must be milliseconds since the epoch");
			return;
		}
		if ((int64_t)v->valuedouble <= kdexd_now_ms()) {
			kdexd_resp_error(resp, 400, "bad_request",
			    "expire_at is in the past");
			return;
		}
		if (type != BOOK_LIMIT || tif != BOOK_GTC) {
			kdexd_resp_error(resp, 400, "bad_request",
			    "expire_at needs a GTC limit order");
			return;
		}
		cmd.expire_at = (uint64_t)v->valuedouble;
	}
	if ((cmd.user = req_uid(req, resp)) == 0)
		return;
	submit(&cmd, req, resp, PEND_PLACE);
}

/* Find a user's order by id string; answers 404 and returns -1 if none. */
static int
own_order(struct kdexd_resp *resp, int64_t uid, const char *ids,
    struct ledger_order *lo)
{
	char		*end;
	long long	 id;

	if (!isdigit((unsigned char)*ids) || strlen(ids) > 18)
		goto nf;
	id = strtoll(ids, &end, 10);
	if (*end != '\0' || id <= 0)
		goto nf;
	if (ledger_order_get(srv->ledger, id, lo) != LEDGER_OK ||
	    lo->user_id != uid)
		goto nf;
	return (0);
nf:
	kdexd_resp_error(resp, 404, "not_found", "no order '%s'", ids);
	return (-1);
}

void
trade_cancel(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	static const char *const allowed[] = { "id", "client_id", NULL };
	struct exchange_cmd	 cmd;
	struct ledger_order	 lo;
	const char		*ids, *cid;
	int64_t			 uid;
	int			 err = 0;

	(void)a;
	if (kdexd_body_check(req, resp, allowed) != 0)
		return;
	ids = kdexd_body_str(req, resp, "id", 0, &err);
	if (!err)
		cid = kdexd_body_str(req, resp, "client_id", 0, &err);
	if (err)
		return;
	if ((ids == NULL) == (cid == NULL)) {
		kdexd_resp_error(resp, 400, "bad_request",
		    "give exactly one of id and client_id");
		return;
	}
	if ((uid = req_uid(req, resp)) == 0)
		return;
	if (ids != NULL) {
		if (own_order(resp, uid, ids, &lo) != 0)
			return;
	} else if (!client_id_ok(cid) || ledger_order_find_client(srv->ledger,
	    uid, cid, &lo) != LEDGER_OK) {
		kdexd_resp_error(resp, 404, "not_found",
		    "no order with client_id '%s'", cid);
		return;
	}
	if (!ledger_order_status_live(lo.status)) {
		kdexd_resp_error(resp, 409, "conflict", "order %lld is %s",
		    (long long)lo.id, ledger_order_status_name(lo.status));
		return;
	}
	memset(&cmd, 0, sizeof cmd);
	cmd.type = EXCHANGE_CANCEL;
	cmd.user = uid;
	cmd.market = lo.market_id;
	cmd.order_id = lo.id;
	submit(&cmd, req, resp, PEND_CANCEL);
}

void
trade_cancel_all(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	static const char *const allowed[] = { "market", NULL };
	struct exchange_cmd	 cmd;
	struct tmarket		*tm;
	const char		*pair;
	int			 err = 0;

	(void)a;
	if (kdexd_body_check(req, resp, allowed) != 0)
		return;
	pair = kdexd_body_str(req, resp, "market", 0, &err);
	if (err)
		return;
	memset(&cmd, 0, sizeof cmd);
	cmd.type = EXCHANGE_CANCEL_ALL;
	if (pair != NULL) {
		if ((tm = tm_by_pair(pair)) == NULL) {
			kdexd_resp_error(resp, 404, "unknown_market",
			    "unknown market '%s'", pair);
			return;
		}
		cmd.market = tm->id;
	}
	if ((cmd.user = req_uid(req, resp)) == 0)
		return;
	submit(&cmd, req, resp, PEND_CANCEL_ALL);
}

void
trade_amend(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	static const char *const allowed[] = { "id", "qty", "price", NULL };
	struct exchange_cmd	 cmd;
	struct ledger_order	 lo;
	struct tmarket		*tm;
	const char		*ids;
	int64_t			 uid;
	int			 err = 0;

	(void)a;
	if (kdexd_body_check(req, resp, allowed) != 0 ||
	    (ids = kdexd_body_str(req, resp, "id", 1, &err)) == NULL)
		return;
	if ((uid = req_uid(req, resp)) == 0 || own_order(resp, uid, ids,
	    &lo) != 0)
		return;
	if ((tm = tm_by_id(lo.market_id)) == NULL) {
		kdexd_resp_error(resp, 404, "unknown_market", "no market");
		return;
	}
	memset(&cmd, 0, sizeof cmd);
	cmd.type = EXCHANGE_AMEND;
	cmd.user = uid;
	cmd.market = lo.market_id;
	cmd.order_id = lo.id;
	if (cJSON_GetObjectItemCaseSensitive(req->body, "qty") != NULL &&
	    body_ticks(req, resp, tm_market(tm), "qty", 0, &cmd.qty) != 0)
		return;
	if (cJSON_GetObjectItemCaseSensitive(req->body, "price") != NULL &&
	    body_ticks(req, resp, tm_market(tm), "price", 1, &cmd.price) != 0)
		return;
	if (cmd.qty == 0 && cmd.price == 0) {
		kdexd_resp_error(resp, 400, "bad_request",
		    "give qty, price or both");
		return;
	}
	if (!ledger_order_status_live(lo.status)) {
		kdexd_resp_error(resp, 409, "conflict", "order %lld is %s",
		    (long long)lo.id, ledger_order_status_name(lo.status));
		return;
	}
	submit(&cmd, req, resp, PEND_AMEND);
}

static void
order_cb(const struct ledger_order *lo, void *arg)
{
	cJSON	*arr = arg, *o;

	if ((o = order_json(lo)) != NULL)
		cJSON_AddItemToArray(arr, o);
}

void
trade_orders(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	struct ledger_order_filter	 f;
	struct tmarket			*tm;
	const char			*st, *pair;
	unsigned long			 limit = 100;
	cJSON				*o, *arr;

	(void)a;
	memset(&f, 0, sizeof f);
	if (query_uint(req, resp, "limit", 1, LIST_MAX, &limit) != 0)
		return;
	st = kdexd_req_query(req, "status");
	if (st == NULL || strcmp(st, "all") == 0)
		f.which = 0;
	else if (strcmp(st, "open") == 0)
		f.which = 1;
	else if (strcmp(st, "closed") == 0)
		f.which = 2;
	else {
		kdexd_resp_error(resp, 400, "bad_request",
		    "status must be open, closed or all");
		return;
	}
	if ((pair = kdexd_req_query(req, "market")) != NULL && *pair != '\0') {
		if ((tm = tm_by_pair(pair)) == NULL) {
			kdexd_resp_error(resp, 404, "unknown_market",
			    "unknown market '%s'", pair);
			return;
		}
		f.market_id = tm->id;
	}
	if ((f.user_id = req_uid(req, resp)) == 0)
		return;
	f.limit = limit;
	o = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(o, "orders");
	ledger_order_list(srv->ledger, &f, order_cb, arr);
	kdexd_resp_json(resp, 200, o);
}

void
trade_order(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	struct ledger_order	 lo;
	int64_t			 uid;
	cJSON			*o;

	if ((uid = req_uid(req, resp)) == 0 ||
	    own_order(resp, uid, a->arg[0], &lo) != 0)
		return;
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "order", order_json(&lo));
	kdexd_resp_json(resp, 200, o);
}

void
trade_order_by_cid(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	struct ledger_order	 lo;
	int64_t			 uid;
	cJSON			*o;

	if ((uid = req_uid(req, resp)) == 0)
		return;
	if (!client_id_ok(a->arg[0]) || ledger_order_find_client(srv->ledger,
	    uid, a->arg[0], &lo) != LEDGER_OK) {
		kdexd_resp_error(resp, 404, "not_found",
		    "no order with client_id '%s'", a->arg[0]);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "order", order_json(&lo));
	kdexd_resp_json(resp, 200, o);
}

struct fillcb {
	cJSON	*arr;
	int64_t	 uid;
};

static void
fill_cb(const struct ledger_fill *f, void *arg)
{
	struct fillcb	*fc = arg;
	cJSON		*o;

	if ((o = fill_json(f, fc->uid)) != NULL)
		cJSON_AddItemToArray(fc->arr, o);
}

void
trade_fills(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	struct fillcb	 fc;
	struct tmarket	*tm;
	const char	*pair;
	unsigned long	 limit = 100;
	int64_t		 mid = 0;
	cJSON		*o;

	(void)a;
	if (query_uint(req, resp, "limit", 1, LIST_MAX, &limit) != 0)
		return;
	if ((pair = kdexd_req_query(req, "market")) != NULL && *pair != '\0') {
		if ((tm = tm_by_pair(pair)) == NULL) {
			kdexd_resp_error(resp, 404, "unknown_market",
			    "unknown market '%s'", pair);
			return;
		}
		mid = tm->id;
	}
	if ((fc.uid = req_uid(req, resp)) == 0)
		return;
	o = cJSON_CreateObject();
	fc.arr = cJSON_AddArrayToObject(o, "fills");
	ledger_fill_list(srv->ledger, fc.uid, mid, limit, fill_cb, &fc);
	kdexd_resp_json(resp, 200, o);
}

static cJSON *
withdrawal_json(const struct ledger_withdrawal *w)
{
	struct ledger_token	 t;
	cJSON			*o;

	if (ledger_token_get(srv->ledger, w->token_id, &t) != LEDGER_OK)
		return (NULL);
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "id", id_json(w->id));
	cJSON_AddStringToObject(o, "token", t.address);
	cJSON_AddStringToObject(o, "symbol", t.symbol);
	cJSON_AddStringToObject(o, "amount", fmt_units(w->amount,
	    (unsigned int)t.decimals));
	cJSON_AddStringToObject(o, "to", w->to);
	cJSON_AddStringToObject(o, "status", ledger_wd_status_name(w->status));
	if (w->block[0] != '\0')
		cJSON_AddStringToObject(o, "block_hash", w->block);
	else
		cJSON_AddNullToObject(o, "block_hash");
	if (w->reason[0] != '\0')
		cJSON_AddStringToObject(o, "reason", w->reason);
	else
		cJSON_AddNullToObject(o, "reason");
	cJSON_AddNumberToObject(o, "created_at", (double)w->created_at);
	return (o);
}

void
trade_withdraw(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	static const char *const allowed[] = { "token", "amount", "to", NULL };
	struct exchange_cmd	 cmd;
	struct ledger_token	 t;
	struct keeta_pubkey	 pk;
	const char		*tok, *amt, *to, *why;
	enum money_status	 ms;
	enum ledger_user_status	 us;
	uint8_t			 r[16];
	int			 err = 0, approval;

	(void)a;
	if (kdexd_body_check(req, resp, allowed) != 0)
		return;
	tok = kdexd_body_str(req, resp, "token", 1, &err);
	if (!err)
		amt = kdexd_body_str(req, resp, "amount", 1, &err);
	if (!err)
		to = kdexd_body_str(req, resp, "to", 1, &err);
	if (err)
		return;
	if (strlen(tok) >= LEDGER_ADDR_MAX ||
	    ledger_token_find(srv->ledger, tok, &t) != LEDGER_OK) {
		kdexd_resp_error(resp, 404, "not_found", "unknown token '%s'",
		    tok);
		return;
	}
	memset(&cmd, 0, sizeof cmd);
	ms = money_parse(&cmd.amount, amt, (unsigned int)t.decimals);
	if (ms != MONEY_OK || cmd.amount == 0) {
		kdexd_resp_error(resp, 400, "bad_amount", "amount '%s': %s",
		    amt, ms != MONEY_OK ? money_strerror(ms) : "zero");
		return;
	}
	if (strlen(to) >= LEDGER_ADDR_MAX ||
	    keeta_address_decode(to, &pk, &why) != 0) {
		kdexd_resp_error(resp, 400, "bad_request", "to: %s",
		    strlen(to) >= LEDGER_ADDR_MAX ? "too long" : why);
		return;
	}
	cmd.type = EXCHANGE_WITHDRAW;
	cmd.token = t.id;
	snprintf(cmd.to, sizeof cmd.to, "%s", to);
	/* A fresh idempotency key: each request is a new withdrawal. */
	randombytes_buf(r, sizeof r);
	keeta_hex_encode(r, sizeof r, cmd.ref);
	if ((cmd.user = req_uid(req, resp)) == 0)
		return;
	/* Revoked: the operator can no longer send from the storage account. */
	if (ledger_user_status(srv->ledger, cmd.user, &us) == LEDGER_OK &&
	    us == LEDGER_USER_WITHDRAW_ONLY) {
		kdexd_resp_error(resp, 403, "forbidden", "the operator's rights "
		    "on your storage account are revoked: withdraw with your "
		    "own key as its OWNER (kdex self-withdraw)");
		return;
	}
	/* The config's limits (kdexd_settle.c); nothing queued if refused. */
	if (settle_withdraw_check(resp, cmd.user, t.id, cmd.amount,
	    &approval) != 0)
		return;
	cmd.needs_approval = approval != 0;
	submit(&cmd, req, resp, PEND_WITHDRAW);
}

static void
wd_cb(const struct ledger_withdrawal *w, void *arg)
{
	cJSON	*arr = arg, *o;

	if ((o = withdrawal_json(w)) != NULL)
		cJSON_AddItemToArray(arr, o);
}

void
trade_withdrawals(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	int64_t	 uid;
	cJSON	*o, *arr;

	(void)a;
	if ((uid = req_uid(req, resp)) == 0)
		return;
	o = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(o, "withdrawals");
	ledger_withdrawal_list(srv->ledger, uid, -1, LIST_MAX, wd_cb, arr);
	kdexd_resp_json(resp, 200, o);
}

void
trade_withdrawal(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	struct ledger_withdrawal w;
	int64_t			 uid;
	char			*end;
	long long		 id;
	cJSON			*o;

	if ((uid = req_uid(req, resp)) == 0)
		return;
	id = strtoll(a->arg[0], &end, 10);
	if (!isdigit((unsigned char)a->arg[0][0]) || *end != '\0' ||
	    ledger_withdrawal_get(srv->ledger, id, &w) != LEDGER_OK ||
	    w.user_id != uid) {
		kdexd_resp_error(resp, 404, "not_found", "no withdrawal '%s'",
		    a->arg[0]);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "withdrawal", withdrawal_json(&w));
	kdexd_resp_json(resp, 200, o);
}

/* Users whose balances or orders a batch changed. */
static void
touch(int64_t uid)
{
	size_t	i;

	if (uid <= LEDGER_FEE_USER)
		return;
	for (i = 0; i < ntouched; i++)
		if (touched[i] == uid)
			return;
	if (ntouched == captouched) {
		captouched = captouched == 0 ? 64 : captouched * 2;
		touched = xreallocarray(touched, captouched, sizeof *touched);
	}
	touched[ntouched++] = uid;
}

/* Orders whose state a batch changed, for the private orders channel. */
struct oref {
	int64_t	uid;
	int64_t	oid;
};
static struct oref	*orefs;
static size_t		 norefs, caporefs;

static void
order_touched(uint64_t uid, uint64_t oid)
{
	if (norefs > 0 && orefs[norefs - 1].oid == (int64_t)oid)
		return;
	if (norefs == caporefs) {
		caporefs = caporefs == 0 ? 256 : caporefs * 2;
		orefs = xreallocarray(orefs, caporefs, sizeof *orefs);
	}
	orefs[norefs].uid = (int64_t)uid;
	orefs[norefs].oid = (int64_t)oid;
	norefs++;
	touch((int64_t)uid);
}

/* A fill's fee for one side, signed: a maker's rebate is negative. */
static void
fill_fee(char *fb, size_t len, const struct market *m,
    const struct book_event *ev, int taker)
{
	if (taker)
		snprintf(fb, len, "%s", fmt_units(ev->trade.taker_fee,
		    m->cfg.quote.decimals));
	else if (ev->trade.maker_rebate != 0)
		snprintf(fb, len, "-%s", fmt_units(ev->trade.maker_rebate,
		    m->cfg.quote.decimals));
	else
		snprintf(fb, len, "%s", fmt_units(ev->trade.maker_fee,
		    m->cfg.quote.decimals));
}

/* A fill from a TRADE event as seen by one side. */
static cJSON *
event_fill_json(const struct tmarket *tm, const struct exchange_event *e,
    int taker, uint64_t ts)
{
	const struct market	*m = tm_market(tm);
	const struct book_event	*ev = &e->ev;
	char			 fb[MONEY_BUFSZ + 1];
	cJSON			*o;

	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "id", id_json(e->fill_id));
	cJSON_AddItemToObject(o, "order_id", id_json((int64_t)(taker ?
	    ev->trade.taker_id : ev->trade.maker_id)));
	cJSON_AddStringToObject(o, "market", tm->pair);
	cJSON_AddStringToObject(o, "side", side_name(taker ?
	    (int)ev->trade.taker_side : !ev->trade.taker_side));
	cJSON_AddStringToObject(o, "price", fmt_price(m, ev->trade.price));
	cJSON_AddStringToObject(o, "qty", fmt_qty(m, ev->trade.qty));
	fill_fee(fb, sizeof fb, m, ev, taker);
	cJSON_AddStringToObject(o, "fee", fb);
	cJSON_AddStringToObject(o, "fee_token", m->cfg.quote.symbol);
	cJSON_AddNumberToObject(o, "fee_tier", taker ? ev->trade.taker_tier :
	    ev->trade.maker_tier);
	cJSON_AddNumberToObject(o, "fee_ppm", taker ?
	    ev->trade.taker_fee_ppm : ev->trade.maker_fee_ppm);
	cJSON_AddStringToObject(o, "liquidity", taker ? "taker" : "maker");
	cJSON_AddNumberToObject(o, "ts", (double)ts);
	return (o);
}

/* event_fill_json() written directly. */
static void
event_fill_jw(struct jw *w, const char *key, const struct tmarket *tm,
    const struct exchange_event *e, int taker, uint64_t ts)
{
	const struct market	*m = tm_market(tm);
	const struct book_event	*ev = &e->ev;
	char			 b[32], fb[MONEY_BUFSZ + 1];

	jw_obj(w, key);
	snprintf(b, sizeof b, "%lld", (long long)e->fill_id);
	jw_str(w, "id", b);
	snprintf(b, sizeof b, "%lld", (long long)(taker ?
	    ev->trade.taker_id : ev->trade.maker_id));
	jw_str(w, "order_id", b);
	jw_str(w, "market", tm->pair);
	jw_str(w, "side", side_name(taker ? (int)ev->trade.taker_side :
	    !ev->trade.taker_side));
	jw_str(w, "price", fmt_price(m, ev->trade.price));
	jw_str(w, "qty", fmt_qty(m, ev->trade.qty));
	fill_fee(fb, sizeof fb, m, ev, taker);
	jw_str(w, "fee", fb);
	jw_str(w, "fee_token", m->cfg.quote.symbol);
	jw_int(w, "fee_tier", taker ? ev->trade.taker_tier :
	    ev->trade.maker_tier);
	jw_int(w, "fee_ppm", taker ? ev->trade.taker_fee_ppm :
	    ev->trade.maker_fee_ppm);
	jw_str(w, "liquidity", taker ? "taker" : "maker");
	jw_int(w, "ts", (int64_t)ts);
	jw_end(w);
}

/* Bounded string copy (no printf on the per-order path). */
static void
scopy(char *dst, size_t len, const char *src)
{
	size_t	n = strnlen(src, len - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/*
 * The orders placed in a batch as the batch left them, from its events:
 * the place answers need no read back from the ledger (a read transaction
 * per batch, a query per order). The same fields the exchange writes to
 * the order's row (exchange.c): accepted, then fills as taker or maker,
 * then done, cancelled or expired, or amended, all at the batch's time.
 */
struct bord {
	int64_t				 id;	/* 0: free slot */
	const struct exchange_event	*acc;
	uint64_t			 price;
	uint64_t			 qty;
	uint64_t			 filled;
	enum ledger_order_status	 status;
	const char			*reason;	/* NULL: none */
};
static struct bord	*bords;
static size_t		 capbords;	/* a power of two */

static struct bord *
bord_find(int64_t id, int add)
{
	size_t	i, mask = capbords - 1;

	if (capbords == 0)
		return (NULL);
	for (i = ((uint64_t)id * 0x9e3779b97f4a7c15ULL) >> 20 & mask;;
	    i = (i + 1) & mask) {
		if (bords[i].id == id)
			return (&bords[i]);
		if (bords[i].id == 0) {
			if (!add)
				return (NULL);
			bords[i].id = id;
			return (&bords[i]);
		}
	}
}

static void
bord_finish(struct bord *o, enum ledger_order_status st, const char *reason)
{
	if (o->qty == 0)	/* a market buy by budget: its size now */
		o->qty = o->filled;
	o->status = st;
	o->reason = reason;
}

static void
bord_build(const struct exchange_out *out)
{
	const struct exchange_event	*e;
	const struct book_event		*ev;
	struct bord			*o, *t;
	size_t				 i, n = 0, cap;

	for (i = 0; i < out->nevents; i++)
		if (out->events[i].ev.type == BOOK_EV_ACCEPTED)
			n++;
	for (cap = 64; cap < 2 * n; cap *= 2)
		;
	if (cap > capbords) {
		free(bords);
		bords = xcalloc(cap, sizeof *bords);
		capbords = cap;
	} else
		memset(bords, 0, capbords * sizeof *bords);
	if (n == 0)
		return;
	for (i = 0; i < out->nevents; i++) {
		e = &out->events[i];
		ev = &e->ev;
		switch (ev->type) {
		case BOOK_EV_ACCEPTED:
			o = bord_find((int64_t)ev->accepted.id, 1);
			o->acc = e;
			o->price = ev->accepted.price;
			o->qty = ev->accepted.qty;
			o->filled = 0;
			o->status = LEDGER_ORDER_OPEN;
			o->reason = NULL;
			break;
		case BOOK_EV_TRADE:
			if ((t = bord_find((int64_t)ev->trade.taker_id, 0)) !=
			    NULL) {
				t->filled += ev->trade.qty;
				t->status = LEDGER_ORDER_PARTIAL;
			}
			if ((o = bord_find((int64_t)ev->trade.maker_id, 0)) !=
			    NULL) {
				o->filled += ev->trade.qty;
				o->status = LEDGER_ORDER_PARTIAL;
			}
			break;
		case BOOK_EV_CANCELLED:
			if ((o = bord_find((int64_t)ev->cancelled.id, 0)) ==
			    NULL)
				break;
			if (ev->cancelled.reason == BOOK_CXL_EXPIRED)
				bord_finish(o, LEDGER_ORDER_EXPIRED, "expired");
			else
				bord_finish(o, LEDGER_ORDER_CANCELLED,
				    book_cancel_reason_name(
				    ev->cancelled.reason));
			break;
		case BOOK_EV_DONE:
			if ((o = bord_find((int64_t)ev->done.id, 0)) != NULL)
				bord_finish(o, LEDGER_ORDER_FILLED, NULL);
			break;
		case BOOK_EV_AMENDED:
			if ((o = bord_find((int64_t)ev->amended.id, 0)) !=
			    NULL) {
				o->price = ev->amended.price;
				o->qty = o->filled + ev->amended.qty;
			}
			break;
		case BOOK_EV_REJECTED:
		case BOOK_EV_RESTED:
		case BOOK_EV_LEVEL:
			break;
		}
	}
}

/* The ledger row of an order placed in this batch; -1 if not one. */
static int
bord_row(int64_t id, const struct exchange_out *out, struct ledger_order *lo)
{
	const struct book_event	*ev;
	struct bord		*o;

	if ((o = bord_find(id, 0)) == NULL || o->acc == NULL)
		return (-1);
	ev = &o->acc->ev;
	memset(lo, 0, sizeof *lo);
	lo->id = id;
	lo->user_id = (int64_t)ev->accepted.user;
	lo->market_id = o->acc->market;
	scopy(lo->client_id, sizeof lo->client_id, o->acc->client_id);
	lo->side = (int)ev->accepted.side;
	lo->type = (int)ev->accepted.type;
	lo->tif = (int)ev->accepted.tif;
	lo->post_only = ev->accepted.post_only;
	lo->price = o->price;
	lo->qty = o->qty;
	lo->filled = o->filled;
	lo->status = o->status;
	scopy(lo->reason, sizeof lo->reason, o->reason != NULL ? o->reason :
	    "");
	lo->expire_at = (int64_t)ev->accepted.expire_at;
	lo->created_at = (int64_t)ev->time;
	lo->updated_at = (int64_t)out->ts;
	return (0);
}

#ifdef KDEX_DEBUG
/* --enable-debug: the row from the events is the row in the ledger. */
static void
bord_check(const struct ledger_order *a)
{
	struct ledger_order	b;

	if (ledger_order_get(srv->ledger, a->id, &b) != LEDGER_OK)
		fatalx("order %lld: not in the ledger", (long long)a->id);
	if (a->user_id != b.user_id || a->market_id != b.market_id ||
	    strcmp(a->client_id, b.client_id) != 0 || a->side != b.side ||
	    a->type != b.type || a->tif != b.tif ||
	    a->post_only != b.post_only || a->price != b.price ||
	    a->qty != b.qty || a->filled != b.filled ||
	    a->status != b.status || strcmp(a->reason, b.reason) != 0 ||
	    a->created_at != b.created_at || a->updated_at != b.updated_at)
		fatalx("order %lld: the batch's events and the ledger differ",
		    (long long)a->id);
}
#endif

/* The answer to a place: {"order":{...},"fills":[...]}; -1 if no order. */
static int
place_answer(const struct exchange_result *res, const struct exchange_out *out,
    const struct pend *p, struct kdexd_resp *resp)
{
	struct ledger_order		 lo;
	const struct exchange_event	*e;
	struct tmarket			*tm;
	struct jw			 w;
	size_t				 i;

	if (bord_row(res->id, out, &lo) == 0) {
#ifdef KDEX_DEBUG
		read_need();
		bord_check(&lo);
#endif
	} else {
		read_need();
		if (ledger_order_get(srv->ledger, res->id, &lo) != LEDGER_OK)
			return (-1);
	}
	jw_init(&w);
	jw_obj(&w, NULL);
	if (order_jw(&w, "order", &lo) != 0) {
		jw_free(&w);
		return (-1);
	}
	jw_arr(&w, "fills");
	tm = tm_by_id(p->market);
	for (i = 0; tm != NULL && i < res->ev_count; i++) {
		e = &out->events[res->ev_first + i];
		if (e->ev.type == BOOK_EV_TRADE &&
		    e->ev.trade.taker_id == (uint64_t)res->id)
			event_fill_jw(&w, NULL, tm, e, 1, out->ts);
	}
	jw_end(&w);
	jw_end(&w);
	resp->status = 200;
	resp->text = jw_take(&w);
	return (0);
}

static void
answer(const struct exchange_result *res, const struct exchange_out *out)
{
	struct kdexd		*s = srv;
	struct kdexd_resp	 resp;
	struct pend		*p;
	struct ledger_withdrawal w;
	const struct exchange_event *e;
	const char		*code;
	cJSON			*o, *arr, *x;
	size_t			 i;

	if (res->tag < tag_base || res->tag >= tag_base + npends)
		return;
	p = &pends[res->tag - tag_base];
	if (res->reject == EXCHANGE_OK) {
		if (res->type == EXCHANGE_PLACE)
			s->stats.orders_placed++;
		else if (res->type == EXCHANGE_CANCEL)
			s->stats.orders_cancelled++;
		else if (res->type == EXCHANGE_DEPOSIT ||
		    res->type == EXCHANGE_WITHDRAW)
			touch(p->uid);
	} else {
		if (res->type == EXCHANGE_PLACE)
			s->stats.orders_rejected++;
		if (p->hp == NULL && res->reject != EXCHANGE_REJ_DUPLICATE)
			log_debug("internal command %d refused: %s",
			    (int)res->type, exchange_reject_code(res));
	}
	if (p->hp == NULL)
		return;

	memset(&resp, 0, sizeof resp);
	if (res->reject != EXCHANGE_OK) {
		code = exchange_reject_code(res);
		kdexd_resp_error(&resp, code_status(code), code, "%s",
		    res->reject == EXCHANGE_REJ_BOOK ?
		    book_reject_name(res->book_reason) : code);
		goto done;
	}
	if (p->kind == PEND_PLACE) {
		if (place_answer(res, out, p, &resp) != 0)
			kdexd_resp_error(&resp, 500, "internal",
			    "order %lld not in the ledger", (long long)res->id);
		goto done;
	}
	o = cJSON_CreateObject();
	switch (p->kind) {
	case PEND_PLACE:
		break;
	case PEND_CANCEL:
	case PEND_CANCEL_ALL:
		arr = cJSON_AddArrayToObject(o, "cancelled");
		for (i = 0; i < res->ev_count; i++) {
			e = &out->events[res->ev_first + i];
			if (e->ev.type == BOOK_EV_CANCELLED)
				cJSON_AddItemToArray(arr,
				    id_json((int64_t)e->ev.cancelled.id));
		}
		s->stats.orders_cancelled += res->ncancelled;
		break;
	case PEND_AMEND:
		read_need();
		if ((x = order_json_id(p->order_id)) != NULL)
			cJSON_AddItemToObject(o, "order", x);
		break;
	case PEND_WITHDRAW:
		read_need();
		if (ledger_withdrawal_get(s->ledger, res->id, &w) ==
		    LEDGER_OK && (x = withdrawal_json(&w)) != NULL)
			cJSON_AddItemToObject(o, "withdrawal", x);
		break;
	case PEND_NONE:
		break;
	}
	kdexd_resp_json(&resp, 200, o);
done:
	out_answer(p->hp, &resp);
	p->hp = NULL;
}

static void
publish_level(const struct tmarket *tm, const struct book_event *ev)
{
	const struct market	*m = tm_market(tm);
	char			 chan[64];
	struct jw		 w;
	int			 side;

	if (ws_client_count() == 0)
		return;
	snprintf(chan, sizeof chan, "orderbook:%s", tm->pair);
	if (!ws_has_subscribers(chan))
		return;
	jw_init(&w);
	jw_obj(&w, NULL);
	jw_str(&w, "channel", chan);
	jw_str(&w, "type", "update");
	jw_int(&w, "seq", (int64_t)ev->level.depth_seq);
	for (side = BOOK_BUY; side <= BOOK_SELL; side++) {
		jw_arr(&w, side == BOOK_BUY ? "bids" : "asks");
		if (ev->level.side == (enum book_side)side) {
			jw_arr(&w, NULL);
			jw_str(&w, NULL, fmt_price(m, ev->level.price));
			jw_str(&w, NULL, fmt_qty(m, ev->level.qty));
			jw_end(&w);
		}
		jw_end(&w);
	}
	jw_int(&w, "ts", (int64_t)ev->time);
	jw_end(&w);
	out_publish(chan, ev->level.depth_seq, jw_take(&w));
}

static void
publish_trade(struct tmarket *tm, const struct exchange_event *e,
    uint64_t ts)
{
	const struct book_event	*ev = &e->ev;
	struct trade_rec	 t;
	char			 chan[64], pchan[KDEXD_USER_MAX + 16];
	const char		*addr;
	cJSON			*o, *f;
	int			 side;

	tm_record(tm, e->fill_id, ev->trade.price, ev->trade.qty,
	    (int)ev->trade.taker_side, (int64_t)ts);
	srv->stats.trades++;
	if (ws_client_count() == 0)
		return;		/* nobody to tell */
	snprintf(chan, sizeof chan, "trades:%s", tm->pair);
	if (ws_has_subscribers(chan)) {
		t.id = e->fill_id;
		t.price = ev->trade.price;
		t.qty = ev->trade.qty;
		t.taker_side = (int)ev->trade.taker_side;
		t.ts = (int64_t)ts;
		o = trade_json(tm, &t);
		cJSON_AddStringToObject(o, "channel", chan);
		cJSON_AddStringToObject(o, "type", "trade");
		cJSON_AddStringToObject(o, "pair", tm->pair);
		out_publish(chan, 0, json_print(o));
		cJSON_Delete(o);
	}
	for (side = 0; side < 2; side++) {
		addr = user_addr((int64_t)(side ? ev->trade.maker_user :
		    ev->trade.taker_user));
		if (*addr == '\0')
			continue;
		snprintf(pchan, sizeof pchan, "u:%s:fills", addr);
		if (!ws_has_subscribers(pchan))
			continue;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "channel", "fills");
		cJSON_AddStringToObject(o, "type", "fill");
		f = event_fill_json(tm, e, !side, ts);
		cJSON_AddItemToObject(o, "fill", f);
		out_publish_user(addr, "fills", json_print(o));
		cJSON_Delete(o);
	}
}

static void
publish_private(const struct exchange_out *out)
{
	struct ledger_order	 lo;
	struct balcb		 bc;
	struct jw		 w;
	const char		*addr;
	char			 chan[KDEXD_USER_MAX + 16];
	cJSON			*o, *b, *it;
	size_t			 i;

	if (ws_client_count() == 0)
		return;
	for (i = 0; i < norefs; i++) {
		addr = user_addr(orefs[i].uid);
		if (*addr == '\0')
			continue;
		snprintf(chan, sizeof chan, "u:%s:orders", addr);
		if (!ws_has_subscribers(chan))
			continue;
		if (bord_row(orefs[i].oid, out, &lo) != 0) {
			read_need();
			if (ledger_order_get(srv->ledger, orefs[i].oid, &lo) !=
			    LEDGER_OK)
				continue;
		}
		jw_init(&w);
		jw_obj(&w, NULL);
		jw_str(&w, "channel", "orders");
		jw_str(&w, "type", "order");
		if (order_jw(&w, "order", &lo) != 0) {
			jw_free(&w);
			continue;
		}
		jw_end(&w);
		out_publish_user(addr, "orders", jw_take(&w));
	}
	for (i = 0; i < ntouched; i++) {
		addr = user_addr(touched[i]);
		if (*addr == '\0')
			continue;
		snprintf(chan, sizeof chan, "u:%s:balances", addr);
		if (!ws_has_subscribers(chan))
			continue;
		read_need();
		b = cJSON_CreateObject();
		bc.arr = cJSON_AddArrayToObject(b, "balances");
		ledger_balance_list(srv->ledger, touched[i], bal_cb, &bc);
		cJSON_ArrayForEach(it, bc.arr) {
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "channel", "balances");
			cJSON_AddStringToObject(o, "type", "balance");
			cJSON_AddItemReferenceToObject(o, "balance", it);
			out_publish_user(addr, "balances", json_print(o));
			cJSON_Delete(o);
		}
		cJSON_Delete(b);
	}
}

static void
publish(const struct exchange_out *out)
{
	const struct exchange_event	*e;
	struct tmarket			*tm;
	char				 chan[64];
	cJSON				*o;
	size_t				 i;

	for (i = 0; i < out->nevents; i++) {
		e = &out->events[i];
		if ((tm = tm_by_id(e->market)) == NULL)
			continue;
		switch (e->ev.type) {
		case BOOK_EV_LEVEL:
			publish_level(tm, &e->ev);
			break;
		case BOOK_EV_TRADE:
			publish_trade(tm, e, out->ts);
			order_touched(e->ev.trade.maker_user,
			    e->ev.trade.maker_id);
			order_touched(e->ev.trade.taker_user,
			    e->ev.trade.taker_id);
			break;
		case BOOK_EV_ACCEPTED:
			order_touched(e->ev.accepted.user, e->ev.accepted.id);
			break;
		case BOOK_EV_RESTED:
			order_touched(e->ev.rested.user, e->ev.rested.id);
			break;
		case BOOK_EV_CANCELLED:
			order_touched(e->ev.cancelled.user,
			    e->ev.cancelled.id);
			break;
		case BOOK_EV_DONE:
			order_touched(e->ev.done.user, e->ev.done.id);
			break;
		case BOOK_EV_AMENDED:
			order_touched(e->ev.amended.user, e->ev.amended.id);
			break;
		case BOOK_EV_REJECTED:
			break;
		}
	}
	for (i = 0; i < nmarkets; i++) {
		tm = &markets[i];
		if (!tm->ticker_dirty)
			continue;
		tm->ticker_dirty = 0;
		snprintf(chan, sizeof chan, "ticker:%s", tm->pair);
		if (!ws_has_subscribers(chan))
			continue;
		o = route_ticker_json(tm->pair);
		cJSON_AddStringToObject(o, "channel", chan);
		cJSON_AddStringToObject(o, "type", "ticker");
		out_publish(chan, 0, json_print(o));
		cJSON_Delete(o);
	}
	publish_private(out);
}

static struct omsg *
out_add(void)
{
	struct obatch	*b = ocur;

	if (b == NULL)
		fatalx("outbox: no batch open");
	if (b->n == b->cap) {
		b->cap = b->cap == 0 ? 64 : b->cap * 2;
		b->msgs = xreallocarray(b->msgs, b->cap, sizeof *b->msgs);
	}
	memset(&b->msgs[b->n], 0, sizeof b->msgs[b->n]);
	return (&b->msgs[b->n++]);
}

/* Owe resp (its contents taken, turned to text) to hp. */
static void
out_answer(struct http_pending *hp, struct kdexd_resp *resp)
{
	struct omsg	*m = out_add();

	m->hp = hp;
	m->resp = *resp;
	if (m->resp.body != NULL) {
		if (m->resp.text == NULL)
			m->resp.text = json_print(m->resp.body);
		cJSON_Delete(m->resp.body);
		m->resp.body = NULL;
	}
	memset(resp, 0, sizeof *resp);
}

/* Owe a message (text taken) to channel chan; seq: a book update's. */
static void
out_publish(const char *chan, uint64_t seq, char *text)
{
	struct omsg	*m = out_add();

	m->chan = xstrdup(chan);
	m->seq = seq;
	m->text = text;
}

static void
out_publish_user(const char *user, const char *name, char *text)
{
	char	full[KDEXD_USER_MAX + 32];

	snprintf(full, sizeof full, "u:%s:%s", user, name);
	out_publish(full, 0, text);
}

/* Start the outbox of a batch with ticket t. */
static void
out_open(struct kdexd *s, uint64_t t)
{
	struct obatch	*b;

	if (nout == OUTBOX_MAX) {
		/* Bounded: wait for the oldest batch's sync. */
		ledger_sync_wait(s->ledger, outbox[ohead].ticket);
		route_release(s);
		if (nout == OUTBOX_MAX)
			fatalx("outbox: full inside a release");
	}
	b = &outbox[(ohead + nout) % OUTBOX_MAX];
	b->ticket = t;
	b->t_run = kdexd_now_us();
	b->n = 0;
	ocur = b;
}

static void
out_close(void)
{
	if (ocur == NULL)
		return;
	ocur = NULL;
	nout++;
}

/* Send what batch b owes; its slot may be reused meanwhile. */
static void
out_deliver(struct obatch *b)
{
	struct omsg	*msgs = b->msgs, *m;
	size_t		 i, n = b->n;

	b->msgs = NULL;
	b->n = b->cap = 0;
	for (i = 0; i < n; i++) {
		m = &msgs[i];
		if (m->hp != NULL)
			http_finish(m->hp, &m->resp);
		else {
			ws_publish_seq(m->chan, m->seq, m->text);
			free(m->chan);
		}
	}
	free(msgs);
}

/* How long a batch's answers waited for its sync (a histogram). */
static void
hold_note(struct kdexd *s, int64_t us)
{
	static const int64_t	 le[KDEXD_HOLD_BUCKETS] = { 1000, 2000, 5000,
	    10000, 20000, 50000, 100000 };
	size_t			 i;

	if (us < 0)
		us = 0;
	s->stats.hold_us_total += (uint64_t)us;
	s->stats.hold_count++;
	for (i = 0; i < KDEXD_HOLD_BUCKETS; i++)
		if (us <= le[i])
			s->stats.hold_le[i]++;
}

/* At exit: what is still held is dropped (its clients are gone). */
static void
out_drop(void)
{
	struct obatch	*b;
	struct omsg	*m;
	size_t		 i, k;

	for (k = 0; k < OUTBOX_MAX; k++) {
		b = &outbox[k];
		for (i = 0; i < b->n; i++) {
			m = &b->msgs[i];
			if (m->hp != NULL) {
				free(m->resp.text);
				m->resp.text = NULL;
				http_finish(m->hp, &m->resp);
			} else {
				free(m->chan);
				free(m->text);
			}
		}
		free(b->msgs);
		memset(b, 0, sizeof *b);
	}
	ohead = nout = 0;
	ocur = NULL;
}

void
route_release(struct kdexd *s)
{
	static int	 releasing;
	struct obatch	*b;
	uint64_t	 durable;

	/* An answer's sink that ran a batch must not reorder the rest. */
	if (nout == 0 || releasing)
		return;
	releasing = 1;
	durable = ledger_durable(s->ledger);
	while (nout > 0 && outbox[ohead].ticket <= durable) {
		b = &outbox[ohead];
		ohead = (ohead + 1) % OUTBOX_MAX;
		nout--;
		s->stats.released_ticket = b->ticket;
		hold_note(s, kdexd_now_us() - b->t_run);
		out_deliver(b);
		s->stats.batches_released++;
	}
	releasing = 0;
}

size_t
route_outbox_pending(void)
{
	return (nout);
}

uint64_t
route_last_ticket(void)
{
	return (last_ticket);
}

/*
 * Run the queued commands as one exchange batch; build what it owes and
 * hold it until it is durable (at once unless the ledger is pipelined).
 * wait: do not return before the batch is durable and released (admin and
 * chain commands through kdexd_run_command, the drain).
 */
static void
run_batch(struct kdexd *s, int wait)
{
	struct exchange_out	 out;
	struct kdexd_resp	 resp;
	char			*cause = NULL;
	int64_t			 t0 = kdexd_now_us();
	size_t			 i;
	int			 r;

	memset(&out, 0, sizeof out);
	r = exchange_run(ex, (uint64_t)kdexd_now_ms(), &out, &cause);
	s->last_engine_us = kdexd_now_us() - t0;
	s->stats.commit_us_total += (uint64_t)s->last_engine_us;
	s->stats.batches++;
	s->stats.batch_commands += npends;
	if (r != 0) {
		log_info("batch of %zu commands not committed: %s", npends,
		    cause != NULL ? cause : "?");
		free(cause);
		cause = NULL;
	} else if (out.ticket > last_ticket)
		last_ticket = out.ticket;
	s->stats.last_ticket = last_ticket;
	ntouched = norefs = 0;
	/* A refused batch owes only errors, in order after the last one. */
	out_open(s, r == 0 ? out.ticket : last_ticket);
	if (r == 0)
		bord_build(&out);
	for (i = 0; i < out.nresults; i++)
		answer(&out.results[i], &out);
	/* Anything the exchange did not answer must not hang. */
	for (i = 0; i < npends; i++)
		if (pends[i].hp != NULL) {
			memset(&resp, 0, sizeof resp);
			kdexd_resp_error(&resp, 500, "internal",
			    "the command was not carried out");
			out_answer(pends[i].hp, &resp);
			pends[i].hp = NULL;
		}
	if (hook_fn != NULL) {
		/* The hook answers at once: the batch must be durable first. */
		read_end();
		out_close();
		ledger_sync_wait(s->ledger, last_ticket);
		route_release(s);
		hook_fn(r == 0 ? &out : NULL, hook_tag, hook_arg);
		hook_fn = NULL;
		out_open(s, r == 0 ? out.ticket : last_ticket);
	}
	if (r == 0)
		publish(&out);
	read_end();
	out_close();
	tag_base += npends;
	npends = 0;
	if (wait || s->draining)
		ledger_sync_wait(s->ledger, last_ticket);
	route_release(s);
	s->stats.batch_us_total += (uint64_t)(kdexd_now_us() - t0);
}

void
route_run_batch(struct kdexd *s)
{
	run_batch(s, 0);
}

int
kdexd_run_command(struct kdexd *s, const struct exchange_cmd *cmd,
    kdexd_batch_fn *fn, void *arg)
{
	struct exchange_cmd	c = *cmd;

	if (route_batch_pending())
		run_batch(s, 0);
	if (submit(&c, NULL, NULL, PEND_NONE) != 0)
		return (-1);
	hook_fn = fn;
	hook_arg = arg;
	hook_tag = c.tag;
	run_batch(s, 1);
	return (0);
}

int
route_submit(struct exchange_cmd *cmd)
{
	return (submit(cmd, NULL, NULL, PEND_NONE));
}

/*
 * Demo funds: a deposit through the exchange's deposit path, keyed by
 * "demo-<hash of the address>" and the token id, so a second login or a
 * restart credits nothing more.
 */
void
route_demo_fund(int64_t uid, const char *addr, unsigned int mult)
{
	struct exchange_cmd	 cmd;
	struct ledger_token	 t;
	const struct market	*m;
	uint8_t			 h[KEETA_HASH_LEN];
	char			 hex[2 * KEETA_HASH_LEN + 1];
	size_t			 i;
	int			 k;

	keeta_sha3_256(addr, strlen(addr), h);
	keeta_hex_encode(h, 24, hex);
	for (i = 0; i < nmarkets; i++) {
		m = tm_market(&markets[i]);
		for (k = 0; k < 2; k++) {
			const struct market_token *mt = k ? &m->cfg.quote :
			    &m->cfg.base;

			if (ledger_token_find(srv->ledger, mt->address, &t) !=
			    LEDGER_OK)
				continue;
			memset(&cmd, 0, sizeof cmd);
			cmd.type = EXCHANGE_DEPOSIT;
			cmd.user = uid;
			cmd.token = t.id;
			/* 1,000 base tokens and 100,000 quote tokens. */
			cmd.amount = money_pow10(mt->decimals) *
			    (k ? 100000u : 1000u) * mult;
			snprintf(cmd.ref, sizeof cmd.ref, "demo-%s", hex);
			cmd.op_index = (int)t.id;
			route_submit(&cmd);
		}
	}
}

int64_t
route_login(const char *addr)
{
	int64_t	uid;

	if ((uid = user_id(addr)) == 0)
		return (0);
	if (srv->conf.demo)
		route_demo_fund(uid, addr, 1);
	return (uid);
}

int64_t
route_user_id(const char *addr)
{
	return (user_id(addr));
}

size_t
route_market_count(void)
{
	return (nmarkets);
}

int64_t
route_market_id(size_t i)
{
	return (markets[i].id);
}

const struct market *
route_market(size_t i)
{
	return (tm_market(&markets[i]));
}

const struct book *
route_book(size_t i)
{
	return (exchange_book(ex, markets[i].id));
}

void
route_cron(struct kdexd *s)
{
	struct exchange_cmd	cmd;
	int64_t			now = kdexd_now_ms();

	(void)s;
	if (now - last_expire_ms < 1000)
		return;
	last_expire_ms = now;
	memset(&cmd, 0, sizeof cmd);
	cmd.type = EXCHANGE_EXPIRE;
	route_submit(&cmd);
}

/* Convert one configured market into a market_config. */
static int
conf_market(const struct kdexd_market_conf *mc, struct market_config *cfg,
    char **cause)
{
	enum money_status	ms;
	u128			min;

	memset(cfg, 0, sizeof *cfg);
	if (mc->base_token == NULL || mc->quote_token == NULL) {
		xasprintf(cause, "market %s: no token address (set "
		    "base_token= and quote_token=, or run the embedded "
		    "devnet)", mc->pair);
		return (-1);
	}
	if (strlen(mc->base) > MARKET_SYMBOL_MAX ||
	    strlen(mc->quote) > MARKET_SYMBOL_MAX ||
	    strlen(mc->base_token) > MARKET_ADDRESS_MAX ||
	    strlen(mc->quote_token) > MARKET_ADDRESS_MAX) {
		xasprintf(cause, "market %s: symbol or token too long",
		    mc->pair);
		return (-1);
	}
	snprintf(cfg->base.symbol, sizeof cfg->base.symbol, "%s", mc->base);
	snprintf(cfg->quote.symbol, sizeof cfg->quote.symbol, "%s", mc->quote);
	snprintf(cfg->base.address, sizeof cfg->base.address, "%s",
	    mc->base_token);
	snprintf(cfg->quote.address, sizeof cfg->quote.address, "%s",
	    mc->quote_token);
	cfg->base.decimals = mc->base_decimals;
	cfg->quote.decimals = mc->quote_decimals;
	if ((ms = money_parse(&cfg->tick_size, mc->tick_size,
	    mc->quote_decimals)) != MONEY_OK ||
	    (ms = money_parse(&cfg->lot_size, mc->lot_size,
	    mc->base_decimals)) != MONEY_OK ||
	    (ms = money_parse(&min, mc->min_size, mc->base_decimals)) !=
	    MONEY_OK ||
	    (ms = money_parse(&cfg->min_notional, mc->min_notional,
	    mc->quote_decimals)) != MONEY_OK) {
		xasprintf(cause, "market %s: %s", mc->pair,
		    money_strerror(ms));
		return (-1);
	}
	if (cfg->lot_size == 0 || min % cfg->lot_size != 0 ||
	    min / cfg->lot_size == 0) {
		xasprintf(cause, "market %s: min_size must be a non-zero "
		    "multiple of lot_size", mc->pair);
		return (-1);
	}
	cfg->min_lots = (uint64_t)(min / cfg->lot_size);
	cfg->maker_fee_ppm = mc->maker_fee_ppm;
	cfg->taker_fee_ppm = mc->taker_fee_ppm;
	cfg->status = (enum market_status)mc->status;
	cfg->max_price_ticks = 1000000000000ULL;
	cfg->max_qty_lots = 1000000000000ULL;
	cfg->limits.max_orders = 262144;
	cfg->limits.max_levels = 65536;
	cfg->limits.max_orders_per_user = 100000;
	return (0);
}

/* Replay the newest fills of each market into the trade ring and candles. */
struct rebuild {
	struct ledger_fill	*f;
	size_t			 n, cap;
};

static void
rebuild_cb(const struct ledger_fill *f, void *arg)
{
	struct rebuild	*rb = arg;

	if (rb->n == rb->cap) {
		rb->cap = rb->cap == 0 ? 1024 : rb->cap * 2;
		rb->f = xreallocarray(rb->f, rb->cap, sizeof *rb->f);
	}
	rb->f[rb->n++] = *f;
}

static void
rebuild_market_data(struct tmarket *tm)
{
	struct rebuild	rb;
	size_t		i;

	memset(&rb, 0, sizeof rb);
	ledger_fill_list(srv->ledger, 0, tm->id, 50000, rebuild_cb, &rb);
	for (i = rb.n; i > 0; i--)
		tm_record(tm, rb.f[i - 1].id, rb.f[i - 1].price,
		    rb.f[i - 1].qty, rb.f[i - 1].taker_side, rb.f[i - 1].ts);
	free(rb.f);
}

int
route_init(struct kdexd *s, char **cause)
{
	struct ledger_options	 lo;
	struct market_config	 cfg;
	char			*path;
	size_t			 i;
	int64_t			 id;

	srv = s;
	memset(&lo, 0, sizeof lo);
	lo.synchronous = s->conf.ledger_sync;
	lo.pipelined = s->conf.ledger_pipeline != 0;
	xasprintf(&path, "%s/ledger.db", s->conf.data_dir);
	ex = exchange_open(path, &lo, cause);
	free(path);
	if (ex == NULL)
		return (-1);
	s->exchange = ex;
	s->ledger = exchange_ledger(ex);
	for (i = 0; i < s->conf.nmarkets; i++) {
		if (conf_market(&s->conf.markets[i], &cfg, cause) != 0)
			return (-1);
		if (exchange_market_add(ex, &cfg, &id, cause) != 0)
			return (-1);
		tm_add(id, s->conf.markets[i].pair);
	}
	/* And those the admin API added earlier. */
	tm_sync();
	return (0);
}

static void
tm_add(int64_t id, const char *pair)
{
	struct tmarket	*tm;
	size_t		 j;

	for (j = 0; j < nmarkets; j++)
		if (markets[j].id == id)
			return;
	if (nmarkets == KDEXD_MARKETS_MAX) {
		log_info("market %s: more than %d markets", pair,
		    KDEXD_MARKETS_MAX);
		return;
	}
	tm = &markets[nmarkets];
	memset(tm, 0, sizeof *tm);
	tm->id = id;
	snprintf(tm->pair, sizeof tm->pair, "%s", pair);
	tm->candles = xreallocarray(NULL, CANDLE_SLOTS, sizeof *tm->candles);
	for (j = 0; j < CANDLE_SLOTS; j++)
		tm->candles[j].minute = -1;
	nmarkets++;
	rebuild_market_data(tm);
	tm->ticker_dirty = 0;
}

void
route_free(void)
{
	struct kdexd_resp	resp;
	size_t			i;

	for (i = 0; i < npends; i++)
		if (pends[i].hp != NULL) {
			memset(&resp, 0, sizeof resp);
			kdexd_resp_error(&resp, 503, "internal", "stopping");
			http_finish(pends[i].hp, &resp);
		}
	free(pends);
	pends = NULL;
	npends = cappends = 0;
	out_drop();
	free(bords);
	bords = NULL;
	capbords = 0;
	for (i = 0; i < nmarkets; i++)
		free(markets[i].candles);
	nmarkets = 0;
	free(touched);
	free(orefs);
	touched = NULL;
	orefs = NULL;
	ucache_free();
	if (ex != NULL)
		exchange_close(ex);
	ex = NULL;
	if (srv != NULL) {
		srv->exchange = NULL;
		srv->ledger = NULL;
	}
}
