/*
 * kdexd_trade: the routes over the exchange: markets, books, trades,
 * tickers, candles, balances, orders, fills, deposits and withdrawals.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kdexd.h"
#include "util.h"

#define STUB(n) void trade_##n(struct kdexd_req *req, struct kdexd_resp *resp, \
    struct kdexd_args *a) { (void)req; (void)a; \
    kdexd_resp_error(resp, 501, "internal", "not yet"); }
STUB(info) STUB(markets) STUB(book) STUB(trades) STUB(ticker) STUB(candles)
STUB(balances) STUB(storage) STUB(deposit_address) STUB(deposit_notify)
STUB(deposits) STUB(place) STUB(cancel) STUB(cancel_all) STUB(amend)
STUB(orders) STUB(order_by_cid) STUB(order) STUB(fills) STUB(withdraw)
STUB(withdrawals) STUB(withdrawal)

cJSON *route_book_snapshot(const char *pair, size_t depth) { (void)pair; (void)depth; return NULL; }
int route_market_known(const char *pair) { (void)pair; return 0; }
cJSON *route_ticker_json(const char *pair) { (void)pair; return NULL; }
void route_run_batch(struct kdexd *s) { (void)s; }
int route_batch_pending(void) { return 0; }
int route_init(struct kdexd *s, char **cause) { (void)s; (void)cause; return 0; }
void route_free(void) { }
void route_cron(struct kdexd *s) { (void)s; }
