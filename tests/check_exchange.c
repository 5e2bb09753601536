/*
 * check_exchange: books + ledger through exchange_run().  Every balance
 * figure asserted below is worked out by hand in the comment beside it
 * from the market's units; exchange_check() (books against ledger,
 * reservations, conservation) must pass after every batch.
 *
 * Market used throughout: base KTA and quote USDC, both 6 decimals, tick
 * 1000 and lot 1000 base units, so unit = 1000 * 1000 / 10^6 = 1 and the
 * notional of q lots at p ticks is q * p quote base units.
 *
 * Every test runs twice: on a plain ledger and on a pipelined one (the
 * writer thread commits each batch while the next runs; reads wait for it).
 */
#include "config.h"

#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "exchange.h"
#include "ledger.h"
#include "market.h"
#include "money.h"
#include "util.h"

struct fx {
	char		 dir[64];
	char		 path[96];
	struct exchange	*ex;
	struct ledger	*l;
	int64_t		 mkt;
	int64_t		 base, quote;
	int64_t		 a, b, c;	/* users */
	uint64_t	 now;
	int		 ndep;
};

static void
fx_config(struct market_config *cfg, int32_t maker, int32_t taker)
{
	memset(cfg, 0, sizeof *cfg);
	snprintf(cfg->base.address, sizeof cfg->base.address, "keeta_kta");
	snprintf(cfg->base.symbol, sizeof cfg->base.symbol, "KTA");
	cfg->base.decimals = 6;
	snprintf(cfg->quote.address, sizeof cfg->quote.address, "keeta_usdc");
	snprintf(cfg->quote.symbol, sizeof cfg->quote.symbol, "USDC");
	cfg->quote.decimals = 6;
	cfg->tick_size = 1000;
	cfg->lot_size = 1000;
	cfg->min_lots = 1;
	cfg->maker_fee_ppm = maker;
	cfg->taker_fee_ppm = taker;
	cfg->status = MARKET_OPEN;
	cfg->max_price_ticks = 1000000;
	cfg->max_qty_lots = 1000000;
	cfg->limits.max_orders = 10000;
	cfg->limits.max_levels = 1000;
	cfg->limits.max_orders_per_user = 5000;
}

static void
assert_checked(struct exchange *ex)
{
	char	**fail;
	size_t	  nfail, i;
	int	  n;

	n = exchange_check(ex, &fail, &nfail);
	for (i = 0; i < nfail; i++)
		fprintf(stderr, "check: %s\n", fail[i]);
	ledger_check_free(fail, nfail);
	ck_assert_int_eq(n, 0);
}

/* Run one batch and check; returns the out (valid until the next run). */
static struct exchange_out
batch(struct fx *f)
{
	struct exchange_out	 out;
	char			*cause = NULL;

	f->now += 10;
	if (exchange_run(f->ex, f->now, &out, &cause) != 0)
		ck_abort_msg("batch failed: %s", cause);
	assert_checked(f->ex);
	return out;
}

static struct exchange_result
run1(struct fx *f, const struct exchange_cmd *c)
{
	struct exchange_out	out;

	ck_assert_int_eq(exchange_submit(f->ex, c), 0);
	out = batch(f);
	ck_assert_uint_eq(out.nresults, 1);
	return out.results[0];
}

static void
deposit(struct fx *f, int64_t user, int64_t token, u128 amount)
{
	struct exchange_cmd	c;
	struct exchange_result	r;

	memset(&c, 0, sizeof c);
	c.type = EXCHANGE_DEPOSIT;
	c.user = user;
	c.token = token;
	c.amount = amount;
	snprintf(c.ref, sizeof c.ref, "block%d", f->ndep++);
	r = run1(f, &c);
	ck_assert_int_eq(r.reject, EXCHANGE_OK);
}

/* Set per test case, before its tests fork. */
static int	pipelined;

static void
plain(void)
{
	pipelined = 0;
}

static void
piped(void)
{
	pipelined = 1;
}

static void
fx_open(struct fx *f)
{
	struct ledger_options	 o = { .synchronous = 2 };
	char			*cause = NULL;

	o.pipelined = pipelined != 0;
	f->ex = exchange_open(f->path, &o, &cause);
	if (f->ex == NULL)
		ck_abort_msg("exchange_open: %s", cause);
	f->l = exchange_ledger(f->ex);
}

static void
fx_setup(struct fx *f, int32_t maker, int32_t taker)
{
	struct market_config	cfg;
	struct ledger_market	lm;
	char			*cause = NULL;

	memset(f, 0, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/check_exchange.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/ledger.db", f->dir);
	fx_open(f);
	fx_config(&cfg, maker, taker);
	if (exchange_market_add(f->ex, &cfg, &f->mkt, &cause) != 0)
		ck_abort_msg("market: %s", cause);
	ck_assert_int_eq(ledger_market_get(f->l, f->mkt, &lm), LEDGER_OK);
	f->base = lm.base_token;
	f->quote = lm.quote_token;
	ck_assert_int_eq(ledger_user_add(f->l, "keeta_a", "ed25519", &f->a),
	    LEDGER_OK);
	ck_assert_int_eq(ledger_user_add(f->l, "keeta_b", "ed25519", &f->b),
	    LEDGER_OK);
	ck_assert_int_eq(ledger_user_add(f->l, "keeta_c", "ed25519", &f->c),
	    LEDGER_OK);
	f->now = 1700000000000ULL;
	deposit(f, f->a, f->base, 1000000000);
	deposit(f, f->a, f->quote, 1000000000);
	deposit(f, f->b, f->base, 1000000000);
	deposit(f, f->b, f->quote, 1000000000);
}

static void
fx_teardown(struct fx *f)
{
	char	cmd[128];

	exchange_close(f->ex);
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void
bal(struct fx *f, int64_t user, int64_t token, u128 avail, u128 total)
{
	struct ledger_balance	b;

	ck_assert_int_eq(ledger_balance_get(f->l, user, token, &b), LEDGER_OK);
	if (b.available != avail || b.total != total) {
		char	x[MONEY_BUFSZ], y[MONEY_BUFSZ];
		char	z[MONEY_BUFSZ], w[MONEY_BUFSZ];

		money_format_u128(x, b.available);
		money_format_u128(y, b.total);
		money_format_u128(z, avail);
		money_format_u128(w, total);
		ck_abort_msg("user %" PRId64 " token %" PRId64 ": %s/%s, "
		    "want %s/%s", user, token, x, y, z, w);
	}
}

static struct exchange_cmd
limit(struct fx *f, int64_t user, enum book_side side, uint64_t px,
    uint64_t qty)
{
	struct exchange_cmd	c;

	memset(&c, 0, sizeof c);
	c.type = EXCHANGE_PLACE;
	c.user = user;
	c.market = f->mkt;
	c.side = side;
	c.order_type = BOOK_LIMIT;
	c.tif = BOOK_GTC;
	c.price = px;
	c.qty = qty;
	return c;
}

#define DEP	1000000000

START_TEST(test_fill_fees)
{
	struct fx		f;
	struct exchange_cmd	c;
	struct exchange_result	r;
	struct ledger_order	o;
	struct ledger_fill	fl;
	int64_t			sell, buy;

	/* maker rebate 200 ppm, taker fee 1000 ppm */
	fx_setup(&f, -200, 1000);
	c = limit(&f, f.a, BOOK_SELL, 1000, 100);
	r = run1(&f, &c);
	ck_assert_int_eq(r.reject, EXCHANGE_OK);
	sell = r.id;
	/* A sells 100 lots: 100 * 1000 KTA base units reserved. */
	bal(&f, f.a, f.base, DEP - 100000, DEP);

	c = limit(&f, f.b, BOOK_BUY, 1000, 100);
	r = run1(&f, &c);
	ck_assert_int_eq(r.reject, EXCHANGE_OK);
	buy = r.id;
	/*
	 * Notional 100 * 1000 = 100000; taker fee ceil(100000 * 0.001) =
	 * 100; maker rebate floor(100000 * 0.0002) = 20.
	 */
	bal(&f, f.a, f.base, DEP - 100000, DEP - 100000);
	bal(&f, f.a, f.quote, DEP + 100000 + 20, DEP + 100000 + 20);
	bal(&f, f.b, f.base, DEP + 100000, DEP + 100000);
	bal(&f, f.b, f.quote, DEP - 100100, DEP - 100100);
	bal(&f, LEDGER_FEE_USER, f.quote, 80, 80);

	ck_assert_int_eq(ledger_order_get(f.l, sell, &o), LEDGER_OK);
	ck_assert_int_eq(o.status, LEDGER_ORDER_FILLED);
	ck_assert(o.reserved == 0);
	ck_assert_uint_eq(o.filled, 100);
	ck_assert_int_eq(ledger_order_get(f.l, buy, &o), LEDGER_OK);
	ck_assert_int_eq(o.status, LEDGER_ORDER_FILLED);
	ck_assert_int_eq(ledger_fill_get(f.l, 1, &fl), LEDGER_OK);
	ck_assert_int_eq(fl.taker_order, buy);
	ck_assert_int_eq(fl.maker_order, sell);
	ck_assert(fl.quote_amount == 100000 && fl.base_amount == 100000);
	ck_assert(fl.taker_fee.abs == 100 && !fl.taker_fee.neg);
	ck_assert(fl.maker_fee.abs == 20 && fl.maker_fee.neg);
	fx_teardown(&f);
}
END_TEST

START_TEST(test_price_improvement)
{
	struct fx		f;
	struct exchange_cmd	c;
	struct exchange_result	r;
	struct exchange_out	out;
	size_t			i, trades = 0;

	fx_setup(&f, 500, 1000);
	c = limit(&f, f.a, BOOK_SELL, 1000, 50);
	ck_assert_int_eq(run1(&f, &c).reject, EXCHANGE_OK);
	c = limit(&f, f.a, BOOK_SELL, 1050, 50);
	ck_assert_int_eq(run1(&f, &c).reject, EXCHANGE_OK);
	/*
	 * B buys 100 at 1100: reserves per lot 1100 + ceil(1.1) = 1102, so
	 * 110200.  Fills 50 @ 1000 (50000 + fee 50) and 50 @ 1050 (52500 +
	 * fee ceil(52.5) = 53): pays 102603, the rest comes back.
	 */
	c = limit(&f, f.b, BOOK_BUY, 1100, 100);
	ck_assert_int_eq(exchange_submit(f.ex, &c), 0);
	out = batch(&f);
	r = out.results[0];
	ck_assert_int_eq(r.reject, EXCHANGE_OK);
	for (i = r.ev_first; i < r.ev_first + r.ev_count; i++) {
		if (out.events[i].ev.type == BOOK_EV_TRADE) {
			trades++;
			ck_assert_int_gt(out.events[i].fill_id, 0);
		}
	}
	ck_assert_uint_eq(trades, 2);
	bal(&f, f.b, f.quote, DEP - 102603, DEP - 102603);
	bal(&f, f.b, f.base, DEP + 100000, DEP + 100000);
	/* A as maker pays 500 ppm: ceil(25) = 25 and ceil(26.25) = 27. */
	bal(&f, f.a, f.quote, DEP + 102500 - 52, DEP + 102500 - 52);
	bal(&f, LEDGER_FEE_USER, f.quote, 103 + 52, 103 + 52);
	fx_teardown(&f);
}
END_TEST

START_TEST(test_partial_cancel_release)
{
	struct fx		f;
	struct exchange_cmd	c;
	struct exchange_result	r;
	struct ledger_order	o;
	int64_t			id;

	fx_setup(&f, 0, 0);
	/* B bids 100 lots at 500: reserves 50000 quote (no fees). */
	c = limit(&f, f.b, BOOK_BUY, 500, 100);
	r = run1(&f, &c);
	ck_assert_int_eq(r.reject, EXCHANGE_OK);
	id = r.id;
	bal(&f, f.b, f.quote, DEP - 50000, DEP);
	/* A sells 30 into it at 400: fills at the maker's 500. */
	c = limit(&f, f.a, BOOK_SELL, 400, 30);
	ck_assert_int_eq(run1(&f, &c).reject, EXCHANGE_OK);
	bal(&f, f.b, f.quote, DEP - 50000, DEP - 15000);
	bal(&f, f.a, f.quote, DEP + 15000, DEP + 15000);
	ck_assert_int_eq(ledger_order_get(f.l, id, &o), LEDGER_OK);
	ck_assert_int_eq(o.status, LEDGER_ORDER_PARTIAL);
	ck_assert(o.reserved == 35000);
	/* Cancel: the 70 lots' 35000 come back. */
	memset(&c, 0, sizeof c);
	c.type = EXCHANGE_CANCEL;
	c.user = f.b;
	c.order_id = id;
	r = run1(&f, &c);
	ck_assert_int_eq(r.reject, EXCHANGE_OK);
	bal(&f, f.b, f.quote, DEP - 15000, DEP - 15000);
	ck_assert_int_eq(ledger_order_get(f.l, id, &o), LEDGER_OK);
	ck_assert_int_eq(o.status, LEDGER_ORDER_CANCELLED);
	ck_assert(o.reserved == 0);
	/* Cancelling again: not found; someone else's order: not found. */
	ck_assert_int_eq(run1(&f, &c).reject, EXCHANGE_REJ_NOT_FOUND);
	fx_teardown(&f);
}
END_TEST

START_TEST(test_rejections_change_nothing)
{
	struct fx		f;
	struct exchange_cmd	c;
	struct exchange_result	r;
	int64_t			poor;
	int			changes;

	fx_setup(&f, 0, 1000);
	ck_assert_int_eq(ledger_user_add(f.l, "keeta_poor", "", &poor),
	    LEDGER_OK);
	deposit(&f, poor, f.quote, 1000);
	changes = sqlite3_total_changes(ledger_db(f.l));
	/* 10 lots at 100 need 10 * (100 + ceil(0.1)) = 1010 > 1000. */
	c = limit(&f, poor, BOOK_BUY, 100, 10);
	r = run1(&f, &c);
	ck_assert_int_eq(r.reject, EXCHANGE_REJ_INSUFFICIENT);
	ck_assert_str_eq(exchange_reject_code(&r), "insufficient_funds");
	bal(&f, poor, f.quote, 1000, 1000);
	/* Bad price (0), unknown market, unknown user, frozen user. */
	c = limit(&f, poor, BOOK_BUY, 0, 1);
	r = run1(&f, &c);
	ck_assert_int_eq(r.reject, EXCHANGE_REJ_BOOK);
	ck_assert_str_eq(exchange_reject_code(&r), "bad_price");
	c = limit(&f, poor, BOOK_BUY, 1, 1);
	c.market = 999;
	ck_assert_int_eq(run1(&f, &c).reject, EXCHANGE_REJ_UNKNOWN_MARKET);
	c = limit(&f, 4242, BOOK_BUY, 1, 1);
	ck_assert_int_eq(run1(&f, &c).reject, EXCHANGE_REJ_UNKNOWN_USER);
	/* Only counters and no order rows were written. */
	bal(&f, poor, f.quote, 1000, 1000);
	ck_assert_int_eq(ledger_user_set_status(f.l, poor,
	    LEDGER_USER_FROZEN, "test"), LEDGER_OK);
	c = limit(&f, poor, BOOK_BUY, 1, 1);
	r = run1(&f, &c);
	ck_assert_int_eq(r.reject, EXCHANGE_REJ_FORBIDDEN);
	bal(&f, poor, f.quote, 1000, 1000);
	(void)changes;
	fx_teardown(&f);
}
END_TEST

START_TEST(test_amend)
{
	struct fx		f;
	struct exchange_cmd	c;
	struct exchange_result	r;
	struct ledger_order	o;
	int64_t			id;

	fx_setup(&f, 0, 0);
	c = limit(&f, f.b, BOOK_BUY, 500, 100);
	id = run1(&f, &c).id;
	bal(&f, f.b, f.quote, DEP - 50000, DEP);
	/* Reduce to 40 lots left: 20000 held. */
	memset(&c, 0, sizeof c);
	c.type = EXCHANGE_AMEND;
	c.user = f.b;
	c.order_id = id;
	c.qty = 40;
	r = run1(&f, &c);
	ck_assert_int_eq(r.reject, EXCHANGE_OK);
	bal(&f, f.b, f.quote, DEP - 20000, DEP);
	/* Reprice to 600: 40 * 600 = 24000 held. */
	c.qty = 0;
	c.price = 600;
	ck_assert_int_eq(run1(&f, &c).reject, EXCHANGE_OK);
	bal(&f, f.b, f.quote, DEP - 24000, DEP);
	ck_assert_int_eq(ledger_order_get(f.l, id, &o), LEDGER_OK);
	ck_assert_uint_eq(o.price, 600);
	ck_assert_uint_eq(o.qty, 40);
	/* An amend beyond the funds is refused and changes nothing. */
	c.price = 2000;
	c.qty = 1000000;
	ck_assert_int_eq(run1(&f, &c).reject, EXCHANGE_REJ_INSUFFICIENT);
	bal(&f, f.b, f.quote, DEP - 24000, DEP);
	fx_teardown(&f);
}
END_TEST

START_TEST(test_market_orders_and_cancel_all)
{
	struct fx		f;
	struct exchange_cmd	c;
	struct exchange_result	r;

	fx_setup(&f, 0, 0);
	c = limit(&f, f.a, BOOK_SELL, 1000, 10);
	ck_assert_int_eq(run1(&f, &c).reject, EXCHANGE_OK);
	c = limit(&f, f.a, BOOK_SELL, 1200, 10);
	snprintf(c.client_id, sizeof c.client_id, "ask2");
	ck_assert_int_eq(run1(&f, &c).reject, EXCHANGE_OK);
	/* Market buy of 15 lots protected at 1100: takes 10, rest cancelled. */
	c = limit(&f, f.b, BOOK_BUY, 1100, 15);
	c.order_type = BOOK_MARKET;
	c.tif = BOOK_IOC;
	r = run1(&f, &c);
	ck_assert_int_eq(r.reject, EXCHANGE_OK);
	bal(&f, f.b, f.quote, DEP - 10000, DEP - 10000);
	bal(&f, f.b, f.base, DEP + 10000, DEP + 10000);
	/* Market buy by budget: 6000 quote buys 5 lots at 1200. */
	memset(&c, 0, sizeof c);
	c.type = EXCHANGE_PLACE;
	c.user = f.b;
	c.market = f.mkt;
	c.side = BOOK_BUY;
	c.order_type = BOOK_MARKET;
	c.tif = BOOK_IOC;
	c.slippage_bps = 5000;
	c.max_quote = 6000;
	r = run1(&f, &c);
	ck_assert_int_eq(r.reject, EXCHANGE_OK);
	bal(&f, f.b, f.quote, DEP - 16000, DEP - 16000);
	/* Duplicate client id refused; cancel by client id; cancel-all. */
	c = limit(&f, f.a, BOOK_SELL, 1300, 1);
	snprintf(c.client_id, sizeof c.client_id, "ask2");
	r = run1(&f, &c);
	ck_assert_int_eq(r.reject, EXCHANGE_REJ_BOOK);
	ck_assert_str_eq(exchange_reject_code(&r), "duplicate_client_id");
	c = limit(&f, f.a, BOOK_SELL, 1300, 1);
	ck_assert_int_eq(run1(&f, &c).reject, EXCHANGE_OK);
	c = limit(&f, f.a, BOOK_SELL, 1400, 1);
	ck_assert_int_eq(run1(&f, &c).reject, EXCHANGE_OK);
	memset(&c, 0, sizeof c);
	c.type = EXCHANGE_CANCEL_CLIENT;
	c.user = f.a;
	snprintf(c.client_id, sizeof c.client_id, "ask2");
	ck_assert_int_eq(run1(&f, &c).reject, EXCHANGE_OK);
	memset(&c, 0, sizeof c);
	c.type = EXCHANGE_CANCEL_ALL;
	c.user = f.a;
	r = run1(&f, &c);
	ck_assert_int_eq(r.reject, EXCHANGE_OK);
	ck_assert_uint_eq(r.ncancelled, 2);
	/* A sold 15 lots; nothing is held any more. */
	bal(&f, f.a, f.base, DEP - 15000, DEP - 15000);
	bal(&f, f.a, f.quote, DEP + 16000, DEP + 16000);
	fx_teardown(&f);
}
END_TEST

START_TEST(test_restart_rebuilds)
{
	struct fx		f;
	struct exchange_cmd	c;
	struct exchange_result	r;
	uint64_t		px, qty, seq;
	int64_t			id;

	fx_setup(&f, 0, 1000);
	c = limit(&f, f.a, BOOK_SELL, 1000, 10);
	id = run1(&f, &c).id;
	c = limit(&f, f.b, BOOK_BUY, 900, 7);
	ck_assert_int_eq(run1(&f, &c).reject, EXCHANGE_OK);
	c = limit(&f, f.b, BOOK_BUY, 1000, 3);
	ck_assert_int_eq(run1(&f, &c).reject, EXCHANGE_OK);
	seq = book_seq(exchange_book(f.ex, f.mkt));
	exchange_close(f.ex);
	fx_open(&f);
	/* Same book, same sequence, ids go on. */
	ck_assert(book_best(exchange_book(f.ex, f.mkt), BOOK_SELL, &px, &qty));
	ck_assert_uint_eq(px, 1000);
	ck_assert_uint_eq(qty, 7);
	ck_assert(book_best(exchange_book(f.ex, f.mkt), BOOK_BUY, &px, &qty));
	ck_assert_uint_eq(px, 900);
	ck_assert_uint_eq(book_seq(exchange_book(f.ex, f.mkt)), seq);
	assert_checked(f.ex);
	c = limit(&f, f.b, BOOK_BUY, 1000, 7);
	r = run1(&f, &c);
	ck_assert_int_eq(r.reject, EXCHANGE_OK);
	ck_assert_int_gt(r.id, id + 2);
	ck_assert(!book_best(exchange_book(f.ex, f.mkt), BOOK_SELL, &px,
	    &qty));
	fx_teardown(&f);
}
END_TEST

START_TEST(test_failed_commit_rolls_back)
{
	struct fx		 f;
	struct exchange_cmd	 c;
	struct exchange_out	 out;
	uint64_t		 px, qty;
	char			*cause = NULL;

	fx_setup(&f, 0, 0);
	c = limit(&f, f.a, BOOK_SELL, 1000, 10);
	ck_assert_int_eq(run1(&f, &c).reject, EXCHANGE_OK);
	c = limit(&f, f.b, BOOK_BUY, 1000, 4);
	ck_assert_int_eq(exchange_submit(f.ex, &c), 0);
	c = limit(&f, f.b, BOOK_BUY, 990, 4);
	ck_assert_int_eq(exchange_submit(f.ex, &c), 0);
	ledger_fail_next_commit(f.l);
	ck_assert_int_eq(exchange_run(f.ex, f.now + 1, &out, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	free(cause);
	ck_assert_uint_eq(out.nresults, 2);
	ck_assert_int_eq(out.results[0].reject, EXCHANGE_REJ_INTERNAL);
	ck_assert_uint_eq(out.nevents, 0);
	/* Books and balances as before the batch. */
	ck_assert(book_best(exchange_book(f.ex, f.mkt), BOOK_SELL, &px, &qty));
	ck_assert_uint_eq(qty, 10);
	ck_assert(!book_best(exchange_book(f.ex, f.mkt), BOOK_BUY, &px, &qty));
	bal(&f, f.b, f.quote, DEP, DEP);
	assert_checked(f.ex);
	/* And the exchange goes on. */
	c = limit(&f, f.b, BOOK_BUY, 1000, 4);
	ck_assert_int_eq(run1(&f, &c).reject, EXCHANGE_OK);
	bal(&f, f.b, f.quote, DEP - 4000, DEP - 4000);
	fx_teardown(&f);
}
END_TEST

START_TEST(test_deposit_withdraw_commands)
{
	struct fx		f;
	struct exchange_cmd	c;
	struct exchange_result	r;
	int64_t			wid;

	fx_setup(&f, 0, 0);
	memset(&c, 0, sizeof c);
	c.type = EXCHANGE_DEPOSIT;
	c.user = f.c;
	c.token = f.quote;
	c.amount = 777;
	snprintf(c.ref, sizeof c.ref, "blk-c");
	r = run1(&f, &c);
	ck_assert_int_eq(r.reject, EXCHANGE_OK);
	/* The same block and op index again: credited once. */
	r = run1(&f, &c);
	ck_assert_int_eq(r.reject, EXCHANGE_REJ_DUPLICATE);
	bal(&f, f.c, f.quote, 777, 777);
	memset(&c, 0, sizeof c);
	c.type = EXCHANGE_WITHDRAW;
	c.user = f.c;
	c.token = f.quote;
	c.amount = 700;
	snprintf(c.ref, sizeof c.ref, "wd-1");
	snprintf(c.to, sizeof c.to, "keeta_dest");
	r = run1(&f, &c);
	ck_assert_int_eq(r.reject, EXCHANGE_OK);
	wid = r.id;
	bal(&f, f.c, f.quote, 77, 777);
	ck_assert_int_eq(run1(&f, &c).reject, EXCHANGE_REJ_DUPLICATE);
	snprintf(c.ref, sizeof c.ref, "wd-2");
	ck_assert_int_eq(run1(&f, &c).reject, EXCHANGE_REJ_INSUFFICIENT);
	ck_assert_int_eq(ledger_withdrawal_complete(f.l, wid, "blockhash"),
	    LEDGER_OK);
	bal(&f, f.c, f.quote, 77, 77);
	assert_checked(f.ex);
	fx_teardown(&f);
}
END_TEST

START_TEST(test_set_fees)
{
	struct fx		f;
	struct exchange_cmd	c;
	struct exchange_result	r;
	struct ledger_order	o;
	struct ledger_market	lm;
	int64_t			poor, pid, bid, bid2;

	fx_setup(&f, 0, 1000);
	ck_assert_int_eq(ledger_user_add(f.l, "keeta_poor", "", &poor),
	    LEDGER_OK);
	/* 10 lots at 1000 at 0.1 %: 10 * (1000 + ceil(1)) = 10010. */
	deposit(&f, poor, f.quote, 10010);
	c = limit(&f, poor, BOOK_BUY, 1000, 10);
	pid = run1(&f, &c).id;
	bal(&f, poor, f.quote, 0, 10010);
	/* B: 10 * (999 + ceil(0.999)) = 10000. */
	c = limit(&f, f.b, BOOK_BUY, 999, 10);
	bid = run1(&f, &c).id;
	bal(&f, f.b, f.quote, DEP - 10000, DEP);

	/*
	 * Taker 0.5 %: poor needs 10 * 1005 = 10050 and is cancelled; B
	 * needs 10 * (999 + ceil(4.995)) = 10040 and holds 40 more.
	 */
	memset(&c, 0, sizeof c);
	c.type = EXCHANGE_SET_FEES;
	c.market = f.mkt;
	c.maker_fee_ppm = 0;
	c.taker_fee_ppm = 5000;
	r = run1(&f, &c);
	ck_assert_int_eq(r.reject, EXCHANGE_OK);
	ck_assert_uint_eq(r.ncancelled, 1);
	ck_assert_int_eq(ledger_order_get(f.l, pid, &o), LEDGER_OK);
	ck_assert_int_eq(o.status, LEDGER_ORDER_CANCELLED);
	bal(&f, poor, f.quote, 10010, 10010);
	bal(&f, f.b, f.quote, DEP - 10040, DEP);
	ck_assert_int_eq(ledger_market_get(f.l, f.mkt, &lm), LEDGER_OK);
	ck_assert_int_eq(lm.cfg.taker_fee_ppm, 5000);

	/* The next fill pays the new rate: ceil(9990 * 0.005) = 50. */
	c = limit(&f, f.a, BOOK_SELL, 999, 10);
	ck_assert_int_eq(run1(&f, &c).reject, EXCHANGE_OK);
	bal(&f, f.a, f.quote, DEP + 9940, DEP + 9940);
	bal(&f, LEDGER_FEE_USER, f.quote, 50, 50);
	/* B paid 9990 from 10040 held: the 50 came back. */
	bal(&f, f.b, f.quote, DEP - 9990, DEP - 9990);
	ck_assert_int_eq(ledger_order_get(f.l, bid, &o), LEDGER_OK);
	ck_assert_int_eq(o.status, LEDGER_ORDER_FILLED);

	/* Lower again: 10 * (900 + ceil(4.5)) = 9050 becomes 9010. */
	c = limit(&f, f.b, BOOK_BUY, 900, 10);
	bid2 = run1(&f, &c).id;
	bal(&f, f.b, f.quote, DEP - 9990 - 9050, DEP - 9990);
	memset(&c, 0, sizeof c);
	c.type = EXCHANGE_SET_FEES;
	c.market = f.mkt;
	c.taker_fee_ppm = 1000;
	ck_assert_int_eq(run1(&f, &c).reject, EXCHANGE_OK);
	bal(&f, f.b, f.quote, DEP - 9990 - 9010, DEP - 9990);
	/* Bad rates are refused; unknown market too. */
	c.maker_fee_ppm = -2000;
	ck_assert_int_eq(run1(&f, &c).reject, EXCHANGE_REJ_BAD_REQUEST);
	c.maker_fee_ppm = 0;
	c.market = 77;
	ck_assert_int_eq(run1(&f, &c).reject, EXCHANGE_REJ_UNKNOWN_MARKET);
	/* After a restart the book has the new rates and the order. */
	exchange_close(f.ex);
	fx_open(&f);
	ck_assert_int_eq(exchange_market(f.ex, f.mkt)->cfg.taker_fee_ppm,
	    1000);
	ck_assert_int_eq(ledger_order_get(f.l, bid2, &o), LEDGER_OK);
	ck_assert(o.reserved == 9010);
	assert_checked(f.ex);
	fx_teardown(&f);
}
END_TEST

static void
fill_tiers(struct fx *f, int64_t id, int ttier, int mtier, int32_t tppm,
    int32_t mppm)
{
	struct ledger_fill	fl;

	ck_assert_int_eq(ledger_fill_get(f->l, id, &fl), LEDGER_OK);
	ck_assert_int_eq(fl.fee_tier, ttier);
	ck_assert_int_eq(fl.maker_tier, mtier);
	ck_assert_int_eq(fl.taker_fee_ppm, tppm);
	ck_assert_int_eq(fl.maker_fee_ppm, mppm);
}

static void
cross(struct fx *f, int64_t maker, int64_t taker, enum book_side mside,
    uint64_t qty)
{
	struct exchange_cmd	c;

	c = limit(f, maker, mside, 1000, qty);
	ck_assert_int_eq(run1(f, &c).reject, EXCHANGE_OK);
	c = limit(f, taker, mside == BOOK_SELL ? BOOK_BUY : BOOK_SELL, 1000,
	    qty);
	ck_assert_int_eq(run1(f, &c).reject, EXCHANGE_OK);
}

/*
 * Fee tiers by 30-day volume: the table's rules, the crossing fill at the
 * old tier and the next at the new one, rates and rounding per tier, a
 * resting buy's reservation covering its tier's fee, the table and the
 * tiers after a restart, and volume leaving the 30-day window.
 */
START_TEST(test_fee_tiers)
{
	struct fx			 f;
	struct exchange_cmd		 c;
	struct ledger_market		 lm;
	struct market_tiers		 t;
	const struct market_tiers	*mt;
	struct exchange_out		 out;
	char				*cause = NULL;
	unsigned int			 tier;
	u128				 vol;

	/* Base: maker rebate 200 ppm, taker 1000 ppm. */
	fx_setup(&f, -200, 1000);
	memset(&c, 0, sizeof c);
	c.type = EXCHANGE_SET_TIERS;
	c.market = f.mkt;
	c.tiers.n = 3;
	c.tiers.tier[1].min_volume = 150000;
	c.tiers.tier[1].maker_fee_ppm = -300;
	c.tiers.tier[1].taker_fee_ppm = 2000;	/* above the base taker */
	c.tiers.tier[2].min_volume = 1000000000;
	c.tiers.tier[2].maker_fee_ppm = -400;
	c.tiers.tier[2].taker_fee_ppm = 400;
	ck_assert_int_eq(run1(&f, &c).reject, EXCHANGE_REJ_BAD_REQUEST);
	ck_assert_int_eq(ledger_fee_tiers_get(f.l, f.mkt, &t), LEDGER_OK);
	ck_assert_uint_eq(t.n, 1);
	c.tiers.tier[1].taker_fee_ppm = 500;
	ck_assert_int_eq(run1(&f, &c).reject, EXCHANGE_OK);
	ck_assert_int_eq(ledger_fee_tiers_get(f.l, f.mkt, &t), LEDGER_OK);
	ck_assert_uint_eq(t.n, 3);
	ck_assert(t.tier[1].min_volume == 150000);
	ck_assert_int_eq(t.tier[2].maker_fee_ppm, -400);
	/* Base rates below tier 1's taker rate are refused. */
	memset(&c, 0, sizeof c);
	c.type = EXCHANGE_SET_FEES;
	c.market = f.mkt;
	c.maker_fee_ppm = -200;
	c.taker_fee_ppm = 400;
	ck_assert_int_eq(run1(&f, &c).reject, EXCHANGE_REJ_BAD_REQUEST);
	ck_assert_int_eq(ledger_market_get(f.l, f.mkt, &lm), LEDGER_OK);
	ck_assert_int_eq(lm.cfg.taker_fee_ppm, 1000);

	/* 100000 each: fee 100, rebate 20, at tier 0. */
	cross(&f, f.a, f.b, BOOK_SELL, 100);
	fill_tiers(&f, 1, 0, 0, 1000, -200);
	/* 200000: both cross 150000 in this fill, still charged tier 0. */
	cross(&f, f.a, f.b, BOOK_SELL, 100);
	fill_tiers(&f, 2, 0, 0, 1000, -200);
	bal(&f, LEDGER_FEE_USER, f.quote, 160, 160);
	ck_assert_int_eq(exchange_user_tier(f.ex, f.mkt, f.a, &tier, &vol), 0);
	ck_assert(tier == 1 && vol == 200000);
	/* The next fill at tier 1: 7000 * 500 ppm = 3.5 -> 4; 2.1 -> 2. */
	cross(&f, f.a, f.b, BOOK_SELL, 7);
	fill_tiers(&f, 3, 1, 1, 500, -300);
	bal(&f, f.a, f.quote, DEP + 207042, DEP + 207042);
	bal(&f, f.b, f.quote, DEP - 207204, DEP - 207204);
	bal(&f, LEDGER_FEE_USER, f.quote, 162, 162);

	/*
	 * A resting buy reserves at the base rates, 10 * (1000 + 1) =
	 * 10010, which covers any tier; as a tier-1 maker B gets a 3 rebate
	 * (10000 * 300 ppm) and A pays 5 as a tier-1 taker.
	 */
	c = limit(&f, f.b, BOOK_BUY, 1000, 10);
	ck_assert_int_eq(run1(&f, &c).reject, EXCHANGE_OK);
	bal(&f, f.b, f.quote, DEP - 207204 - 10010, DEP - 207204);
	c = limit(&f, f.a, BOOK_SELL, 1000, 10);
	ck_assert_int_eq(run1(&f, &c).reject, EXCHANGE_OK);
	fill_tiers(&f, 4, 1, 1, 500, -300);
	bal(&f, f.b, f.quote, DEP - 217201, DEP - 217201);
	bal(&f, f.a, f.quote, DEP + 217037, DEP + 217037);
	bal(&f, LEDGER_FEE_USER, f.quote, 164, 164);

	/*
	 * A batch that fails to commit (a table removal and a fill): the
	 * exchange reloads, with the table and tiers of the ledger.
	 */
	memset(&c, 0, sizeof c);
	c.type = EXCHANGE_SET_TIERS;
	c.market = f.mkt;
	c.tiers.n = 1;
	ck_assert_int_eq(exchange_submit(f.ex, &c), 0);
	c = limit(&f, f.a, BOOK_SELL, 1000, 100);
	ck_assert_int_eq(exchange_submit(f.ex, &c), 0);
	ledger_fail_next_commit(f.l);
	ck_assert_int_eq(exchange_run(f.ex, f.now + 1, &out, &cause), -1);
	free(cause);
	ck_assert_uint_eq(exchange_market_tiers(f.ex, f.mkt)->n, 3);
	ck_assert_int_eq(exchange_user_tier(f.ex, f.mkt, f.a, &tier, &vol), 0);
	ck_assert(tier == 1 && vol == 217000);
	assert_checked(f.ex);

	/* A restart: the table from the ledger, tiers from the fills. */
	exchange_close(f.ex);
	fx_open(&f);
	mt = exchange_market_tiers(f.ex, f.mkt);
	ck_assert_ptr_nonnull(mt);
	ck_assert_uint_eq(mt->n, 3);
	ck_assert_int_eq(mt->tier[0].taker_fee_ppm, 1000);
	ck_assert_int_eq(exchange_user_tier(f.ex, f.mkt, f.b, &tier, &vol), 0);
	ck_assert(tier == 1 && vol == 217000);
	cross(&f, f.b, f.a, BOOK_SELL, 1);
	fill_tiers(&f, 5, 1, 1, 500, -300);

	/* 31 days on, the volume has left the window: tier 0 again. */
	f.now += 31ULL * 86400 * 1000;
	cross(&f, f.a, f.b, BOOK_SELL, 1);
	fill_tiers(&f, 6, 0, 0, 1000, -200);
	ck_assert_int_eq(exchange_user_tier(f.ex, f.mkt, f.a, &tier, &vol), 0);
	ck_assert(tier == 0 && vol == 1000);

	/* No tiers: n 1 stored, everyone at the base rates. */
	memset(&c, 0, sizeof c);
	c.type = EXCHANGE_SET_TIERS;
	c.market = f.mkt;
	c.tiers.n = 1;
	ck_assert_int_eq(run1(&f, &c).reject, EXCHANGE_OK);
	ck_assert_int_eq(ledger_fee_tiers_get(f.l, f.mkt, &t), LEDGER_OK);
	ck_assert_uint_eq(t.n, 1);
	c.market = 77;
	ck_assert_int_eq(run1(&f, &c).reject, EXCHANGE_REJ_UNKNOWN_MARKET);
	fx_teardown(&f);
}
END_TEST

/*
 * Smaller runs under valgrind (which preloads its vgpreload library) or
 * when KDEX_TEST_SMALL is set: same code paths, fewer iterations.
 */
static int
small_run(void)
{
	const char	*pre = getenv("LD_PRELOAD");

	return getenv("KDEX_TEST_SMALL") != NULL ||
	    (pre != NULL && strstr(pre, "vgpreload") != NULL);
}

/* splitmix64, for reproducible random streams. */
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

START_TEST(test_random_conservation)
{
	struct fx		f;
	struct exchange_cmd	c;
	struct exchange_out	out;
	int64_t			users[3], ids[256];
	size_t			nids = 0, i, k;
	uint64_t		s = 12345;
	int			b, nb, fills = 0;

	nb = small_run() ? 30 : 150;
	fx_setup(&f, -100, 700);
	users[0] = f.a;
	users[1] = f.b;
	users[2] = f.c;
	deposit(&f, f.c, f.quote, 5000000);
	deposit(&f, f.c, f.base, 5000000);
	for (b = 0; b < nb; b++) {
		k = 1 + rnd(&s) % 20;
		for (i = 0; i < k; i++) {
			uint64_t r = rnd(&s) % 100;

			memset(&c, 0, sizeof c);
			c.user = users[rnd(&s) % 3];
			c.market = f.mkt;
			if (r < 60) {
				c = limit(&f, c.user, rnd(&s) & 1 ? BOOK_BUY :
				    BOOK_SELL, 950 + rnd(&s) % 100,
				    1 + rnd(&s) % 300);
				if (r < 10) {
					c.order_type = BOOK_MARKET;
					c.tif = BOOK_IOC;
				} else if (r < 15)
					c.tif = BOOK_IOC;
				else if (r < 18)
					c.post_only = true;
			} else if (r < 85 && nids > 0) {
				c.type = EXCHANGE_CANCEL;
				c.order_id = ids[rnd(&s) % nids];
			} else if (r < 92 && nids > 0) {
				c.type = EXCHANGE_AMEND;
				c.order_id = ids[rnd(&s) % nids];
				c.qty = 1 + rnd(&s) % 100;
				if (rnd(&s) & 1)
					c.price = 950 + rnd(&s) % 100;
			} else if (r < 95) {
				c.type = EXCHANGE_CANCEL_ALL;
			} else {
				c.type = EXCHANGE_DEPOSIT;
				c.token = rnd(&s) & 1 ? f.base : f.quote;
				c.amount = 1 + rnd(&s) % 100000;
				snprintf(c.ref, sizeof c.ref, "r%d-%zu", b, i);
			}
			ck_assert_int_eq(exchange_submit(f.ex, &c), 0);
		}
		/* batch() asserts exchange_check() after the commit. */
		out = batch(&f);
		for (i = 0; i < out.nresults; i++) {
			if (out.results[i].type == EXCHANGE_PLACE &&
			    out.results[i].reject == EXCHANGE_OK &&
			    nids < 256)
				ids[nids++] = out.results[i].id;
			else if (out.results[i].type == EXCHANGE_PLACE &&
			    out.results[i].reject == EXCHANGE_OK)
				ids[rnd(&s) % 256] = out.results[i].id;
		}
		for (i = 0; i < out.nevents; i++)
			fills += out.events[i].ev.type == BOOK_EV_TRADE;
	}
	ck_assert_int_gt(fills, 10);
	/* And once more from disk. */
	exchange_close(f.ex);
	fx_open(&f);
	assert_checked(f.ex);
	fx_teardown(&f);
}
END_TEST

static Suite *
exchange_suite(void)
{
	Suite	*s = suite_create("exchange");
	TCase	*tc;
	int	 i;

	for (i = 0; i < 2; i++) {
		tc = tcase_create(i == 0 ? "core" : "pipelined");
		tcase_add_unchecked_fixture(tc, i == 0 ? plain : piped, NULL);
		tcase_set_timeout(tc, 120);
		tcase_add_test(tc, test_fill_fees);
		tcase_add_test(tc, test_price_improvement);
		tcase_add_test(tc, test_partial_cancel_release);
		tcase_add_test(tc, test_rejections_change_nothing);
		tcase_add_test(tc, test_amend);
		tcase_add_test(tc, test_market_orders_and_cancel_all);
		tcase_add_test(tc, test_restart_rebuilds);
		tcase_add_test(tc, test_failed_commit_rolls_back);
		tcase_add_test(tc, test_deposit_withdraw_commands);
		tcase_add_test(tc, test_set_fees);
		tcase_add_test(tc, test_fee_tiers);
		tcase_add_test(tc, test_random_conservation);
		suite_add_tcase(s, tc);
	}
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(exchange_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
