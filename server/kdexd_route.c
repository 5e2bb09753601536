/*
 * kdexd_route: the public and private REST routes (doc/api.md).
 *
 * One table maps method and path pattern to a handler and says whether the
 * route needs a JWT. Handlers that change state queue a command for the
 * next engine batch and defer their answer; reads are answered at once
 * from the books and the ledger.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"
#include "kdexd.h"
#include "kdexd_lp.h"
#include "kdexd_settle.h"
#include "util.h"

struct route {
	enum kdexd_method	 method;
	const char		*pattern;
	int			 private;
	route_fn		*fn;
};

static void
r_health(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	cJSON	*o;

	(void)a;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "status", req->server->draining ?
	    "draining" : "ok");
	cJSON_AddStringToObject(o, "version", KDEXD_VERSION);
	cJSON_AddNumberToObject(o, "uptime_s",
	    (double)((kdexd_now_ms() - req->server->started_ms) / 1000));
	kdexd_resp_json(resp, 200, o);
}

static void
r_metrics(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	struct kdexd_stats	*st = &req->server->stats;
	char			*t, *h, *sm, *all;
	uint64_t		 released, durable;

	(void)a;
	/* Released before durable: both only grow, so released <= durable. */
	released = st->released_ticket;
	durable = ledger_durable(req->server->ledger);
	xasprintf(&t,
	    "# HELP kdexd_http_requests_total HTTP requests answered.\n"
	    "# TYPE kdexd_http_requests_total counter\n"
	    "kdexd_http_requests_total %llu\n"
	    "kdexd_http_responses_total{class=\"2xx\"} %llu\n"
	    "kdexd_http_responses_total{class=\"4xx\"} %llu\n"
	    "kdexd_http_responses_total{class=\"5xx\"} %llu\n"
	    "# TYPE kdexd_rate_limited_total counter\n"
	    "kdexd_rate_limited_total %llu\n"
	    "# TYPE kdexd_logins_total counter\n"
	    "kdexd_logins_total{result=\"ok\"} %llu\n"
	    "kdexd_logins_total{result=\"fail\"} %llu\n"
	    "# TYPE kdexd_orders_total counter\n"
	    "kdexd_orders_total{result=\"placed\"} %llu\n"
	    "kdexd_orders_total{result=\"rejected\"} %llu\n"
	    "kdexd_orders_total{result=\"cancelled\"} %llu\n"
	    "# TYPE kdexd_trades_total counter\n"
	    "kdexd_trades_total %llu\n"
	    "# TYPE kdexd_batches_total counter\n"
	    "kdexd_batches_total %llu\n"
	    "# TYPE kdexd_batch_commands_total counter\n"
	    "kdexd_batch_commands_total %llu\n"
	    "# TYPE kdexd_batch_seconds_total counter\n"
	    "kdexd_batch_seconds_total %.6f\n"
	    "# TYPE kdexd_engine_seconds_total counter\n"
	    "kdexd_engine_seconds_total %.6f\n"
	    "# HELP kdexd_ledger_ticket The last batch's ledger ticket.\n"
	    "# TYPE kdexd_ledger_ticket gauge\n"
	    "kdexd_ledger_ticket %llu\n"
	    "# HELP kdexd_released_ticket The ticket of the last batch whose "
	    "answers and events went out.\n"
	    "# TYPE kdexd_released_ticket gauge\n"
	    "kdexd_released_ticket %llu\n"
	    "# HELP kdexd_ledger_durable_ticket The highest ticket on disk "
	    "(read after the two above).\n"
	    "# TYPE kdexd_ledger_durable_ticket gauge\n"
	    "kdexd_ledger_durable_ticket %llu\n"
	    "# TYPE kdexd_batches_released_total counter\n"
	    "kdexd_batches_released_total %llu\n"
	    "# TYPE kdexd_batches_waiting gauge\n"
	    "kdexd_batches_waiting %llu\n"
	    "# TYPE kdexd_ws_messages_total counter\n"
	    "kdexd_ws_messages_total %llu\n"
	    "# TYPE kdexd_ws_slow_consumer_disconnects_total counter\n"
	    "kdexd_ws_slow_consumer_disconnects_total %llu\n"
	    "# TYPE kdexd_ws_clients gauge\n"
	    "kdexd_ws_clients %llu\n"
	    "# TYPE kdexd_http_in_flight gauge\n"
	    "kdexd_http_in_flight %llu\n"
	    "# TYPE kdexd_uptime_seconds gauge\n"
	    "kdexd_uptime_seconds %lld\n",
	    (unsigned long long)st->http_requests,
	    (unsigned long long)st->http_2xx,
	    (unsigned long long)st->http_4xx,
	    (unsigned long long)st->http_5xx,
	    (unsigned long long)st->http_429,
	    (unsigned long long)st->auth_ok,
	    (unsigned long long)st->auth_fail,
	    (unsigned long long)st->orders_placed,
	    (unsigned long long)st->orders_rejected,
	    (unsigned long long)st->orders_cancelled,
	    (unsigned long long)st->trades,
	    (unsigned long long)st->batches,
	    (unsigned long long)st->batch_commands,
	    (double)st->batch_us_total / 1e6,
	    (double)st->commit_us_total / 1e6,
	    (unsigned long long)st->last_ticket,
	    (unsigned long long)released,
	    (unsigned long long)durable,
	    (unsigned long long)st->batches_released,
	    (unsigned long long)route_outbox_pending(),
	    (unsigned long long)st->ws_messages_out,
	    (unsigned long long)st->ws_slow_disconnects,
	    (unsigned long long)ws_client_count(),
	    (unsigned long long)st->http_conns,
	    (long long)((kdexd_now_ms() - req->server->started_ms) / 1000));
	xasprintf(&h,
	    "# HELP kdexd_batch_hold_seconds From a batch's run to its answers "
	    "going out (its sync).\n"
	    "# TYPE kdexd_batch_hold_seconds histogram\n"
	    "kdexd_batch_hold_seconds_bucket{le=\"0.001\"} %llu\n"
	    "kdexd_batch_hold_seconds_bucket{le=\"0.002\"} %llu\n"
	    "kdexd_batch_hold_seconds_bucket{le=\"0.005\"} %llu\n"
	    "kdexd_batch_hold_seconds_bucket{le=\"0.01\"} %llu\n"
	    "kdexd_batch_hold_seconds_bucket{le=\"0.02\"} %llu\n"
	    "kdexd_batch_hold_seconds_bucket{le=\"0.05\"} %llu\n"
	    "kdexd_batch_hold_seconds_bucket{le=\"0.1\"} %llu\n"
	    "kdexd_batch_hold_seconds_bucket{le=\"+Inf\"} %llu\n"
	    "kdexd_batch_hold_seconds_sum %.6f\n"
	    "kdexd_batch_hold_seconds_count %llu\n",
	    (unsigned long long)st->hold_le[0],
	    (unsigned long long)st->hold_le[1],
	    (unsigned long long)st->hold_le[2],
	    (unsigned long long)st->hold_le[3],
	    (unsigned long long)st->hold_le[4],
	    (unsigned long long)st->hold_le[5],
	    (unsigned long long)st->hold_le[6],
	    (unsigned long long)st->hold_count,
	    (double)st->hold_us_total / 1e6,
	    (unsigned long long)st->hold_count);
	sm = settle_metrics();	/* reconciliation alerts, withdrawal queue */
	xasprintf(&all, "%s%s%s", t, h, sm);
	free(h);
	free(t);
	free(sm);
	resp->status = 200;
	resp->text = all;
	resp->content_type = "text/plain; version=0.0.4";
}

static void
r_challenge(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	(void)a;
	auth_challenge(req, resp);
}

static void
r_verify(struct kdexd_req *req, struct kdexd_resp *resp,
    struct kdexd_args *a)
{
	(void)a;
	auth_verify(req, resp);
}

static const struct route routes[] = {
	{ KDEXD_GET,  "/health", 0, r_health },
	{ KDEXD_GET,  "/metrics", 0, r_metrics },
	{ KDEXD_GET,  "/info", 0, trade_info },
	{ KDEXD_POST, "/auth/challenge", 0, r_challenge },
	{ KDEXD_POST, "/auth/verify", 0, r_verify },
	{ KDEXD_GET,  "/markets", 0, trade_markets },
	{ KDEXD_GET,  "/markets/:/book", 0, trade_book },
	{ KDEXD_GET,  "/markets/:/trades", 0, trade_trades },
	{ KDEXD_GET,  "/markets/:/ticker", 0, trade_ticker },
	{ KDEXD_GET,  "/markets/:/candles", 0, trade_candles },
	{ KDEXD_GET,  "/balances", 1, trade_balances },
	{ KDEXD_POST, "/account/storage", 1, trade_storage },
	{ KDEXD_GET,  "/deposits/address", 1, trade_deposit_address },
	{ KDEXD_POST, "/deposits/notify", 1, trade_deposit_notify },
	{ KDEXD_GET,  "/deposits", 1, trade_deposits },
	{ KDEXD_POST, "/orders/place", 1, trade_place },
	{ KDEXD_POST, "/orders/cancel", 1, trade_cancel },
	{ KDEXD_POST, "/orders/cancel-all", 1, trade_cancel_all },
	{ KDEXD_POST, "/orders/amend", 1, trade_amend },
	{ KDEXD_GET,  "/orders", 1, trade_orders },
	{ KDEXD_GET,  "/orders/by-client-id/:", 1, trade_order_by_cid },
	{ KDEXD_GET,  "/orders/:", 1, trade_order },
	{ KDEXD_GET,  "/fills", 1, trade_fills },
	{ KDEXD_POST, "/withdrawals/request", 1, trade_withdraw },
	{ KDEXD_GET,  "/withdrawals", 1, trade_withdrawals },
	{ KDEXD_GET,  "/withdrawals/:", 1, trade_withdrawal },
};

int
route_public(struct kdexd_req *req, struct kdexd_resp *resp,
    const char *authorization)
{
	struct kdexd_args	 args;
	const struct route	*r;
	size_t			 i;
	int			 path_seen = 0;
	char			 user[KDEXD_USER_MAX];
	const char		*why;
	unsigned int		 wait;

	for (i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		r = &routes[i];
		if (!kdexd_path_match(req->path, r->pattern, &args))
			continue;
		path_seen = 1;
		if (r->method == req->method)
			break;
	}
	if (i == sizeof routes / sizeof routes[0]) {
		if (lp_route(req, resp, authorization) == 0)
			return (0);
		if (path_seen)
			kdexd_resp_error(resp, 405, "bad_request",
			    "method not allowed on %s", req->path);
		else
			kdexd_resp_error(resp, 404, "not_found",
			    "no route %s", req->path);
		return (0);
	}
	if (r->private && lp_key_request(authorization)) {
		/* Signed API key request (kdexd_lp.c): scope, replay. */
		if (lp_key_auth(req, resp, authorization, r->pattern,
		    user) != 0)
			return (0);
		req->user = user;
	} else if (r->private) {
		if (authorization == NULL || *authorization == '\0') {
			kdexd_resp_error(resp, 401, "unauthorized",
			    "missing Authorization: Bearer token");
			return (0);
		}
		if (strncmp(authorization, "Bearer ", 7) != 0 ||
		    auth_check_token(req->server, authorization, user, NULL,
		    &why) != 0) {
			if (strncmp(authorization, "Bearer ", 7) != 0)
				why = "want Authorization: Bearer <token>";
			kdexd_resp_error(resp, 401, "unauthorized", "%s", why);
			return (0);
		}
		if ((wait = rate_take(1, user)) > 0) {
			kdexd_resp_error(resp, 429, "rate_limited",
			    "too many requests for this user");
			resp->retry_after = wait;
			return (0);
		}
		req->user = user;
	}
	r->fn(req, resp, &args);
	req->user = NULL;
	return (0);
}
