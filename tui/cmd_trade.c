/*
 * The scripted trading commands: login, markets, book, trades, ticker,
 * candles, balances, order ..., fills, deposit address, deposits,
 * withdraw, withdrawals.
 *
 * Each is one or two kdexd requests (api.h). stdout is data: --json prints
 * kdexd's answer as is; otherwise a table, aligned with a header when
 * stdout is a terminal and tab-separated without one when it is not, so
 * `cut -f` and `while read` work. Diagnostics go to stderr and the exit
 * status follows kdex.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "api.h"
#include "kdex.h"
#include "keyfile.h"
#include "util.h"

/* ------------------------------------------------------------------ */
/* Output                                                             */

/* A column: header and the field path in each row ("base.symbol"). */
struct col {
	const char	*head;
	const char	*field;
};

/* Field text: strings as they are (amounts stay exact decimal strings),
 * integers without a fraction, null/missing as "-". Returns a static or
 * row-owned string, or buf. */
static const char *
field_text(const cJSON *row, const char *path, char *buf, size_t len)
{
	const cJSON	*v = row;
	char		 part[64];
	const char	*p = path, *dot;
	size_t		 n;

	while (v != NULL && *p != '\0') {
		dot = strchr(p, '.');
		n = dot != NULL ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof part)
			return "-";
		memcpy(part, p, n);
		part[n] = '\0';
		if (cJSON_IsArray(v))
			v = cJSON_GetArrayItem(v, atoi(part));
		else
			v = cJSON_GetObjectItemCaseSensitive(v, part);
		p += n + (dot != NULL);
	}
	if (v == NULL || cJSON_IsNull(v))
		return "-";
	if (cJSON_IsString(v))
		return v->valuestring;
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v) ? "true" : "false";
	if (cJSON_IsNumber(v)) {
		/* Ids, ms times and ppm are integers in the contract. */
		snprintf(buf, len, "%lld", (long long)v->valuedouble);
		return buf;
	}
	return "-";
}

/* Print the objects of arr under cols. */
static void
print_table(const cJSON *arr, const struct col *cols, size_t ncols)
{
	const cJSON	*row;
	size_t		*w, i;
	int		 tty = isatty(STDOUT_FILENO);
	char		 buf[64];
	const char	*s;

	w = xcalloc(ncols, sizeof *w);
	for (i = 0; i < ncols; i++)
		w[i] = strlen(cols[i].head);
	if (tty) {
		cJSON_ArrayForEach(row, arr) {
			for (i = 0; i < ncols; i++) {
				s = field_text(row, cols[i].field, buf,
				    sizeof buf);
				if (strlen(s) > w[i])
					w[i] = strlen(s);
			}
		}
		for (i = 0; i < ncols; i++)
			printf("%-*s%s", i + 1 < ncols ? (int)w[i] : 0,
			    cols[i].head, i + 1 < ncols ? "  " : "\n");
	}
	cJSON_ArrayForEach(row, arr) {
		for (i = 0; i < ncols; i++) {
			s = field_text(row, cols[i].field, buf, sizeof buf);
			if (tty)
				printf("%-*s%s", i + 1 < ncols ? (int)w[i] : 0,
				    s, i + 1 < ncols ? "  " : "\n");
			else
				printf("%s%s", s, i + 1 < ncols ? "\t" : "\n");
		}
	}
	free(w);
}

/* "name value" lines for an object, in cols order. */
static void
print_kv(const cJSON *obj, const struct col *cols, size_t ncols)
{
	char	buf[64];
	size_t	i;

	for (i = 0; i < ncols; i++)
		printf("%s %s\n", cols[i].head,
		    field_text(obj, cols[i].field, buf, sizeof buf));
}

static void
print_json(const cJSON *j)
{
	char	*s;

	if ((s = cJSON_PrintUnformatted(j)) == NULL)
		fatalx("out of memory");
	printf("%s\n", s);
	free(s);
}

#define NCOLS(c)	(sizeof (c) / sizeof (c)[0])

static const struct col order_cols[] = {
	{ "id", "id" }, { "client_id", "client_id" }, { "market", "market" },
	{ "side", "side" }, { "type", "type" }, { "price", "price" },
	{ "qty", "qty" }, { "filled", "filled" },
	{ "remaining", "remaining" }, { "status", "status" },
	{ "tif", "tif" }, { "post_only", "post_only" },
	{ "created_at", "created_at" }, { "updated_at", "updated_at" },
	{ "reason", "reason" },
};
static const struct col order_list_cols[] = {
	{ "ID", "id" }, { "MARKET", "market" }, { "SIDE", "side" },
	{ "TYPE", "type" }, { "PRICE", "price" }, { "QTY", "qty" },
	{ "FILLED", "filled" }, { "STATUS", "status" }, { "TIF", "tif" },
	{ "CLIENT_ID", "client_id" }, { "CREATED", "created_at" },
};
static const struct col fill_cols[] = {
	{ "ID", "id" }, { "ORDER", "order_id" }, { "MARKET", "market" },
	{ "SIDE", "side" }, { "PRICE", "price" }, { "QTY", "qty" },
	{ "FEE", "fee" }, { "FEE_TOKEN", "fee_token" },
	{ "LIQUIDITY", "liquidity" }, { "TS", "ts" },
};
static const struct col withdrawal_cols[] = {
	{ "id", "id" }, { "token", "token" }, { "symbol", "symbol" },
	{ "amount", "amount" }, { "to", "to" }, { "status", "status" },
	{ "block_hash", "block_hash" }, { "reason", "reason" },
	{ "created_at", "created_at" },
};

/* ------------------------------------------------------------------ */
/* Requests                                                           */

/* Log in with the profile's key (asks for the passphrase) and cache the
 * session; an exit status. */
static int
trade_login(struct api *a)
{
	struct keyfile	 kf;
	char		*path, *cause = NULL;
	int64_t		 exp = 0;
	int		 rc, status;

	if ((path = keyfile_profile_path(kdex_g.profile, &cause)) == NULL) {
		kdex_err(KDEX_EXIT_USAGE, "%s", cause);
		free(cause);
		return KDEX_EXIT_USAGE;
	}
	rc = kdex_key_open(path, &kf);
	free(path);
	if (rc != KDEX_EXIT_OK)
		return rc;
	rc = api_login(a, &kf, &exp, &status, &cause);
	if (rc != 0) {
		keyfile_clear(&kf);
		kdex_err(0, "%s", cause);
		free(cause);
		return status == 0 ? KDEX_EXIT_NET : KDEX_EXIT_AUTH;
	}
	if (api_session_save(a, kdex_g.profile, kf.address, exp,
	    &cause) != 0) {
		/* Still logged in for this command; only the cache failed. */
		kdex_err(0, "warning: %s", cause);
		free(cause);
	}
	keyfile_clear(&kf);
	return KDEX_EXIT_OK;
}

/*
 * One request. priv: needs the session (cached, else log in). A 401 on a
 * cached token drops the cache and logs in again once. Returns an exit
 * status; on 0, *out is the answer (caller frees). Errors are printed as
 * "kdex: <what>: <code>: <message>".
 */
int
trade_call(struct api *a, int priv, const char *method, const char *path,
    const cJSON *body, cJSON **out)
{
	char	*cause = NULL;
	int	 st, rc, retried = 0;

	*out = NULL;
	if (priv && api_token(a) == NULL && api_session_load(a,
	    kdex_g.profile) != 0 && (rc = trade_login(a)) != KDEX_EXIT_OK)
		return rc;
again:
	st = api_request(a, method, path, body, out, &cause);
	if (st < 0) {
		kdex_err(0, "%s", cause);
		free(cause);
		return KDEX_EXIT_NET;
	}
	if (st >= 200 && st < 300)
		return KDEX_EXIT_OK;
	if (st == 401 && priv && !retried) {
		cJSON_Delete(*out);
		*out = NULL;
		api_session_forget(kdex_g.profile);
		api_set_token(a, NULL);
		if ((rc = trade_login(a)) != KDEX_EXIT_OK)
			return rc;
		retried = 1;
		goto again;
	}
	if (*api_error_code(*out) != '\0')
		kdex_err(0, "%s %s: %s%s%s", method, path,
		    api_error_code(*out), *api_error_message(*out) != '\0' ?
		    ": " : "", api_error_message(*out));
	else
		kdex_err(0, "%s %s: HTTP %d", method, path, st);
	cJSON_Delete(*out);
	*out = NULL;
	return st == 401 || st == 403 ? KDEX_EXIT_AUTH : KDEX_EXIT_FAIL;
}

struct api *
trade_api(void)
{
	return api_new(kdex_g.url, 0);
}

/* Parse the command's arguments; *rc is the exit status to return when
 * this returns -1. */
int
trade_args(struct kdex_args *a, int argc, char **argv,
    const char *const *spec, size_t minpos, size_t maxpos, int *rc)
{
	int	r;

	if ((r = kdex_args_parse(a, argc, argv, spec)) != 0) {
		*rc = r > 0 ? KDEX_EXIT_OK : KDEX_EXIT_USAGE;
		return -1;
	}
	if (a->npos < minpos || a->npos > maxpos) {
		*rc = kdex_usage();
		return -1;
	}
	return 0;
}

/* A positive integer option, or -1 after an error. */
static long
trade_count(const char *v, const char *name)
{
	char	*end;
	long	 n;

	if (v == NULL)
		return 0;
	n = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || n <= 0 || n > 100000) {
		kdex_err(0, "invalid --%s '%s'", name, v);
		return -1;
	}
	return n;
}

/* A decimal amount as the contract writes them: digits, at most one '.'
 * followed by digits. kdexd checks decimals and ticks; this catches typos
 * before the passphrase is asked for. */
static int
trade_decimal_ok(const char *s)
{
	int	digits = 0, dot = 0;

	for (; *s != '\0'; s++) {
		if (*s >= '0' && *s <= '9')
			digits++;
		else if (*s == '.' && !dot && digits > 0)
			dot = 1, digits = 0;
		else
			return 0;
	}
	return digits > 0;
}

/* GET a public or private path and print it. */
static int
trade_show(int priv, const char *path, const char *arrname,
    const struct col *cols, size_t ncols)
{
	struct api	*a = trade_api();
	cJSON		*ans;
	int		 rc;

	if ((rc = trade_call(a, priv, "GET", path, NULL, &ans)) == 0) {
		if (kdex_g.json)
			print_json(ans);
		else if (arrname != NULL)
			print_table(cJSON_GetObjectItemCaseSensitive(ans,
			    arrname), cols, ncols);
		else
			print_kv(ans, cols, ncols);
	}
	cJSON_Delete(ans);
	api_free(a);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Commands                                                           */

int
cmd_login(int argc, char **argv)
{
	static const char *const spec[] = { NULL };
	struct kdex_args	 args;
	struct api		*a;
	int			 rc;

	if (trade_args(&args, argc, argv, spec, 0, 0, &rc) != 0)
		return rc;
	a = trade_api();
	if ((rc = trade_login(a)) == KDEX_EXIT_OK) {
		struct keyfile	 kf;
		char		*path = keyfile_profile_path(kdex_g.profile,
				    NULL);

		if (path != NULL && keyfile_peek(path, &kf, NULL) == 0) {
			if (kdex_g.json)
				printf("{\"user\":\"%s\",\"url\":\"%s\"}\n",
				    kf.address, api_base(a));
			else
				printf("user %s\nurl %s\n", kf.address,
				    api_base(a));
		}
		free(path);
	}
	api_free(a);
	return rc;
}

int
cmd_logout(int argc, char **argv)
{
	static const char *const spec[] = { NULL };
	struct kdex_args	 args;
	int			 rc;

	if (trade_args(&args, argc, argv, spec, 0, 0, &rc) != 0)
		return rc;
	api_session_forget(kdex_g.profile);
	return KDEX_EXIT_OK;
}

int
cmd_markets(int argc, char **argv)
{
	static const char *const spec[] = { NULL };
	static const struct col cols[] = {
		{ "PAIR", "pair" }, { "BASE", "base.symbol" },
		{ "QUOTE", "quote.symbol" }, { "TICK", "tick_size" },
		{ "LOT", "lot_size" }, { "MIN_SIZE", "min_size" },
		{ "MIN_NOTIONAL", "min_notional" },
		{ "MAKER_PPM", "maker_fee_ppm" },
		{ "TAKER_PPM", "taker_fee_ppm" }, { "STATUS", "status" },
	};
	struct kdex_args	 args;
	int			 rc;

	if (trade_args(&args, argc, argv, spec, 0, 0, &rc) != 0)
		return rc;
	return trade_show(0, "/markets", "markets", cols, NCOLS(cols));
}

/* "/markets/<PAIR>/<what>[?query]" */
static char *
trade_market_path(const char *pair, const char *what, const char *query)
{
	char	*p, *e = api_escape(pair);

	xasprintf(&p, "/markets/%s/%s%s%s", e, what, query != NULL ? "?" : "",
	    query != NULL ? query : "");
	free(e);
	return p;
}

int
cmd_book(int argc, char **argv)
{
	static const char *const spec[] = { "depth=", NULL };
	struct kdex_args	 args;
	struct api		*a;
	cJSON			*ans;
	const cJSON		*asks, *bids, *lvl;
	char			*path, q[32];
	long			 depth;
	int			 rc, i, tty = isatty(STDOUT_FILENO);

	if (trade_args(&args, argc, argv, spec, 1, 1, &rc) != 0)
		return rc;
	if ((depth = trade_count(kdex_args_get(&args, "depth"),
	    "depth")) < 0)
		return kdex_usage();
	snprintf(q, sizeof q, "depth=%ld", depth > 0 ? depth : 20);
	path = trade_market_path(args.pos[0], "book", q);
	a = trade_api();
	rc = trade_call(a, 0, "GET", path, NULL, &ans);
	free(path);
	if (rc == 0 && kdex_g.json)
		print_json(ans);
	else if (rc == 0) {
		/* A ladder: every level by price, highest first, so the
		 * spread sits between the last ask and the first bid. */
		asks = cJSON_GetObjectItemCaseSensitive(ans, "asks");
		bids = cJSON_GetObjectItemCaseSensitive(ans, "bids");
		if (tty)
			printf("%-4s  %-20s  %s\n", "SIDE", "PRICE", "QTY");
		for (i = cJSON_GetArraySize(asks) - 1; i >= 0; i--) {
			lvl = cJSON_GetArrayItem(asks, i);
			printf(tty ? "%-4s  %-20s  %s\n" : "%s\t%s\t%s\n",
			    "ask", cJSON_GetStringValue(cJSON_GetArrayItem(lvl,
			    0)), cJSON_GetStringValue(cJSON_GetArrayItem(lvl,
			    1)));
		}
		cJSON_ArrayForEach(lvl, bids)
			printf(tty ? "%-4s  %-20s  %s\n" : "%s\t%s\t%s\n",
			    "bid", cJSON_GetStringValue(cJSON_GetArrayItem(lvl,
			    0)), cJSON_GetStringValue(cJSON_GetArrayItem(lvl,
			    1)));
	}
	cJSON_Delete(ans);
	api_free(a);
	return rc;
}

int
cmd_trades(int argc, char **argv)
{
	static const char *const spec[] = { "limit=", NULL };
	static const struct col cols[] = {
		{ "ID", "id" }, { "PRICE", "price" }, { "QTY", "qty" },
		{ "TAKER", "taker_side" }, { "TS", "ts" },
	};
	struct kdex_args	 args;
	char			*path, q[32];
	long			 n;
	int			 rc;

	if (trade_args(&args, argc, argv, spec, 1, 1, &rc) != 0)
		return rc;
	if ((n = trade_count(kdex_args_get(&args, "limit"), "limit")) < 0)
		return kdex_usage();
	snprintf(q, sizeof q, "limit=%ld", n > 0 ? n : 50);
	path = trade_market_path(args.pos[0], "trades", q);
	rc = trade_show(0, path, "trades", cols, NCOLS(cols));
	free(path);
	return rc;
}

int
cmd_ticker(int argc, char **argv)
{
	static const char *const spec[] = { NULL };
	static const struct col cols[] = {
		{ "pair", "pair" }, { "last", "last" },
		{ "open_24h", "open_24h" }, { "high_24h", "high_24h" },
		{ "low_24h", "low_24h" }, { "volume_24h", "volume_24h" },
		{ "change_24h", "change_24h" }, { "best_bid", "best_bid" },
		{ "best_ask", "best_ask" }, { "seq", "seq" },
	};
	struct kdex_args	 args;
	char			*path;
	int			 rc;

	if (trade_args(&args, argc, argv, spec, 1, 1, &rc) != 0)
		return rc;
	path = trade_market_path(args.pos[0], "ticker", NULL);
	rc = trade_show(0, path, NULL, cols, NCOLS(cols));
	free(path);
	return rc;
}

int
cmd_candles(int argc, char **argv)
{
	static const char *const spec[] = { "interval=", "limit=", NULL };
	static const char *const ivals[] = { "1m", "5m", "15m", "1h", "4h",
	    "1d" };
	static const struct col cols[] = {
		{ "T", "t" }, { "OPEN", "o" }, { "HIGH", "h" }, { "LOW", "l" },
		{ "CLOSE", "c" }, { "VOLUME", "v" },
	};
	struct kdex_args	 args;
	const char		*iv;
	char			*path, q[64];
	long			 n;
	size_t			 i;
	int			 rc;

	if (trade_args(&args, argc, argv, spec, 1, 1, &rc) != 0)
		return rc;
	if ((iv = kdex_args_get(&args, "interval")) == NULL)
		iv = "1m";
	for (i = 0; i < NCOLS(ivals); i++)
		if (strcmp(iv, ivals[i]) == 0)
			break;
	if (i == NCOLS(ivals)) {
		kdex_err(0, "invalid --interval '%s'", iv);
		return kdex_usage();
	}
	if ((n = trade_count(kdex_args_get(&args, "limit"), "limit")) < 0)
		return kdex_usage();
	snprintf(q, sizeof q, "interval=%s&limit=%ld", iv, n > 0 ? n : 60);
	path = trade_market_path(args.pos[0], "candles", q);
	rc = trade_show(0, path, "candles", cols, NCOLS(cols));
	free(path);
	return rc;
}

int
cmd_balances(int argc, char **argv)
{
	static const char *const spec[] = { NULL };
	static const struct col cols[] = {
		{ "SYMBOL", "symbol" }, { "AVAILABLE", "available" },
		{ "TOTAL", "total" }, { "TOKEN", "token" },
	};
	struct kdex_args	 args;
	int			 rc;

	if (trade_args(&args, argc, argv, spec, 0, 0, &rc) != 0)
		return rc;
	return trade_show(1, "/balances", "balances", cols, NCOLS(cols));
}

static void
print_order_answer(const cJSON *ans)
{
	const cJSON	*order, *fills, *f;
	char		 b1[64];

	order = cJSON_GetObjectItemCaseSensitive(ans, "order");
	print_kv(order, order_cols, NCOLS(order_cols));
	fills = cJSON_GetObjectItemCaseSensitive(ans, "fills");
	cJSON_ArrayForEach(f, fills) {
		printf("fill %s", field_text(f, "id", b1, sizeof b1));
		printf(" %s", field_text(f, "price", b1, sizeof b1));
		printf(" %s", field_text(f, "qty", b1, sizeof b1));
		printf(" %s", field_text(f, "fee", b1, sizeof b1));
		printf(" %s\n", field_text(f, "liquidity", b1, sizeof b1));
	}
}

static int
order_place(const struct kdex_args *args)
{
	struct api	*a;
	cJSON		*body, *ans;
	const char	*pair, *side, *qty, *price, *tif, *cid;
	int		 market = kdex_args_has(args, "market"), rc;
	const char	*status;

	if (args->npos < 3 || args->npos > 4)
		return kdex_usage();
	pair = args->pos[0];
	side = args->pos[1];
	qty = args->pos[2];
	price = args->npos == 4 ? args->pos[3] : NULL;
	tif = kdex_args_get(args, "tif");
	cid = kdex_args_get(args, "client-id");
	if (strcmp(side, "buy") != 0 && strcmp(side, "sell") != 0) {
		kdex_err(0, "side must be 'buy' or 'sell', not '%s'", side);
		return kdex_usage();
	}
	if (!trade_decimal_ok(qty))
		return kdex_err(KDEX_EXIT_USAGE, "invalid quantity '%s'", qty);
	if (price != NULL && !trade_decimal_ok(price))
		return kdex_err(KDEX_EXIT_USAGE, "invalid price '%s'", price);
	if ((price == NULL) == !market) {
		kdex_err(0, "give a PRICE for a limit order, or --market "
		    "without one");
		return kdex_usage();
	}
	if (tif != NULL && strcmp(tif, "GTC") != 0 && strcmp(tif, "IOC") != 0
	    && strcmp(tif, "FOK") != 0)
		return kdex_err(KDEX_EXIT_USAGE, "invalid --tif '%s'", tif);

	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "market", pair);
	cJSON_AddStringToObject(body, "side", side);
	cJSON_AddStringToObject(body, "type", market ? "market" : "limit");
	if (price != NULL)
		cJSON_AddStringToObject(body, "price", price);
	cJSON_AddStringToObject(body, "qty", qty);
	cJSON_AddStringToObject(body, "tif", tif != NULL ? tif :
	    market ? "IOC" : "GTC");
	cJSON_AddBoolToObject(body, "post_only",
	    kdex_args_has(args, "post-only"));
	if (cid != NULL)
		cJSON_AddStringToObject(body, "client_id", cid);
	a = trade_api();
	rc = trade_call(a, 1, "POST", "/orders/place", body, &ans);
	cJSON_Delete(body);
	if (rc == 0) {
		if (kdex_g.json)
			print_json(ans);
		else
			print_order_answer(ans);
		status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(ans, "order"), "status"));
		if (status != NULL && strcmp(status, "rejected") == 0)
			rc = KDEX_EXIT_FAIL;
	}
	cJSON_Delete(ans);
	api_free(a);
	return rc;
}

/* Print {"cancelled":[ids]} one id per line. */
static int
order_post_cancel(const char *path, cJSON *body)
{
	struct api	*a = trade_api();
	cJSON		*ans;
	const cJSON	*id;
	int		 rc;

	rc = trade_call(a, 1, "POST", path, body, &ans);
	if (rc == 0 && kdex_g.json)
		print_json(ans);
	else if (rc == 0) {
		cJSON_ArrayForEach(id,
		    cJSON_GetObjectItemCaseSensitive(ans, "cancelled"))
			if (cJSON_IsString(id))
				printf("%s\n", id->valuestring);
	}
	cJSON_Delete(ans);
	api_free(a);
	return rc;
}

int
cmd_order(int argc, char **argv)
{
	static const char *const spec_place[] = { "market", "tif=",
	    "post-only", "client-id=", NULL };
	static const char *const spec_id[] = { "client-id=", NULL };
	static const char *const spec_list[] = { "status=", "market=",
	    "limit=", NULL };
	static const char *const spec_none[] = { NULL };
	struct kdex_args	 args;
	const char		*sub = argv[0], *cid, *v;
	const char *const	*spec;
	cJSON			*body;
	char			*path, *e, *q = NULL, *t;
	long			 n;
	int			 rc;

	if (strcmp(sub, "place") == 0)
		spec = spec_place;
	else if (strcmp(sub, "cancel") == 0 || strcmp(sub, "show") == 0)
		spec = spec_id;
	else if (strcmp(sub, "list") == 0)
		spec = spec_list;
	else
		spec = spec_none;
	if (trade_args(&args, argc, argv, spec, 0, 4, &rc) != 0)
		return rc;

	if (strcmp(sub, "place") == 0)
		return order_place(&args);
	if (strcmp(sub, "cancel") == 0 || strcmp(sub, "show") == 0) {
		cid = kdex_args_get(&args, "client-id");
		if ((cid != NULL) == (args.npos == 1) || args.npos > 1)
			return kdex_usage();
		if (strcmp(sub, "cancel") == 0) {
			body = cJSON_CreateObject();
			if (cid != NULL)
				cJSON_AddStringToObject(body, "client_id",
				    cid);
			else
				cJSON_AddStringToObject(body, "id",
				    args.pos[0]);
			rc = order_post_cancel("/orders/cancel", body);
			cJSON_Delete(body);
			return rc;
		}
		e = api_escape(cid != NULL ? cid : args.pos[0]);
		xasprintf(&path, "/orders/%s%s", cid != NULL ?
		    "by-client-id/" : "", e);
		free(e);
		if (kdex_g.json)
			rc = trade_show(1, path, NULL, NULL, 0);
		else {
			struct api	*a = trade_api();
			cJSON		*ans;

			rc = trade_call(a, 1, "GET", path, NULL, &ans);
			if (rc == 0)
				print_kv(cJSON_GetObjectItemCaseSensitive(ans,
				    "order"), order_cols, NCOLS(order_cols));
			cJSON_Delete(ans);
			api_free(a);
		}
		free(path);
		return rc;
	}
	if (strcmp(sub, "cancel-all") == 0) {
		if (args.npos > 1)
			return kdex_usage();
		body = cJSON_CreateObject();
		if (args.npos == 1)
			cJSON_AddStringToObject(body, "market", args.pos[0]);
		rc = order_post_cancel("/orders/cancel-all", body);
		cJSON_Delete(body);
		return rc;
	}
	/* list */
	if (args.npos != 0)
		return kdex_usage();
	v = kdex_args_get(&args, "status");
	if (v != NULL && strcmp(v, "open") != 0 && strcmp(v, "closed") != 0 &&
	    strcmp(v, "all") != 0)
		return kdex_err(KDEX_EXIT_USAGE, "invalid --status '%s'", v);
	if ((n = trade_count(kdex_args_get(&args, "limit"), "limit")) < 0)
		return kdex_usage();
	xasprintf(&q, "status=%s", v != NULL ? v : "open");
	if ((v = kdex_args_get(&args, "market")) != NULL) {
		e = api_escape(v);
		xasprintf(&t, "%s&market=%s", q, e);
		free(e);
		free(q);
		q = t;
	}
	if (n > 0) {
		xasprintf(&t, "%s&limit=%ld", q, n);
		free(q);
		q = t;
	}
	xasprintf(&path, "/orders?%s", q);
	free(q);
	rc = trade_show(1, path, "orders", order_list_cols,
	    NCOLS(order_list_cols));
	free(path);
	return rc;
}

int
cmd_fills(int argc, char **argv)
{
	static const char *const spec[] = { "market=", "limit=", NULL };
	struct kdex_args	 args;
	const char		*m;
	char			*path, *e = NULL;
	long			 n;
	int			 rc;

	if (trade_args(&args, argc, argv, spec, 0, 0, &rc) != 0)
		return rc;
	if ((n = trade_count(kdex_args_get(&args, "limit"), "limit")) < 0)
		return kdex_usage();
	if ((m = kdex_args_get(&args, "market")) != NULL)
		e = api_escape(m);
	xasprintf(&path, "/fills?limit=%ld%s%s", n > 0 ? n : 100,
	    e != NULL ? "&market=" : "", e != NULL ? e : "");
	free(e);
	rc = trade_show(1, path, "fills", fill_cols, NCOLS(fill_cols));
	free(path);
	return rc;
}

int
cmd_deposit(int argc, char **argv)
{
	static const char *const spec[] = { NULL };
	static const struct col cols[] = { { "address", "address" } };
	struct kdex_args	 args;
	struct api		*a;
	cJSON			*ans;
	int			 rc;

	if (trade_args(&args, argc, argv, spec, 0, 0, &rc) != 0)
		return rc;
	if (kdex_g.json)
		return trade_show(1, "/deposits/address", NULL, cols, 1);
	a = trade_api();
	if ((rc = trade_call(a, 1, "GET", "/deposits/address", NULL,
	    &ans)) == 0)
		printf("%s\n", cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(ans, "address")));
	cJSON_Delete(ans);
	api_free(a);
	return rc;
}

int
cmd_deposits(int argc, char **argv)
{
	static const char *const spec[] = { NULL };
	static const struct col cols[] = {
		{ "ID", "id" }, { "SYMBOL", "symbol" }, { "AMOUNT", "amount" },
		{ "STATUS", "status" }, { "BLOCK", "block" }, { "TS", "ts" },
		{ "TOKEN", "token" },
	};
	struct kdex_args	 args;
	int			 rc;

	if (trade_args(&args, argc, argv, spec, 0, 0, &rc) != 0)
		return rc;
	return trade_show(1, "/deposits", "deposits", cols, NCOLS(cols));
}

int
cmd_withdraw(int argc, char **argv)
{
	static const char *const spec[] = { NULL };
	struct kdex_args	 args;
	struct api		*a;
	cJSON			*body, *ans;
	int			 rc;

	if (trade_args(&args, argc, argv, spec, 3, 3, &rc) != 0)
		return rc;
	if (!trade_decimal_ok(args.pos[1]))
		return kdex_err(KDEX_EXIT_USAGE, "invalid amount '%s'",
		    args.pos[1]);
	if (strncmp(args.pos[2], "keeta_", 6) != 0)
		return kdex_err(KDEX_EXIT_USAGE, "destination '%s' is not a "
		    "Keeta address", args.pos[2]);
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "token", args.pos[0]);
	cJSON_AddStringToObject(body, "amount", args.pos[1]);
	cJSON_AddStringToObject(body, "to", args.pos[2]);
	a = trade_api();
	rc = trade_call(a, 1, "POST", "/withdrawals/request", body, &ans);
	cJSON_Delete(body);
	if (rc == 0 && kdex_g.json)
		print_json(ans);
	else if (rc == 0)
		print_kv(cJSON_GetObjectItemCaseSensitive(ans, "withdrawal"),
		    withdrawal_cols, NCOLS(withdrawal_cols));
	cJSON_Delete(ans);
	api_free(a);
	return rc;
}

int
cmd_withdrawals(int argc, char **argv)
{
	static const char *const spec[] = { NULL };
	static const struct col cols[] = {
		{ "ID", "id" }, { "SYMBOL", "symbol" }, { "AMOUNT", "amount" },
		{ "TO", "to" }, { "STATUS", "status" },
		{ "CREATED", "created_at" }, { "BLOCK", "block_hash" },
	};
	struct kdex_args	 args;
	struct api		*a;
	cJSON			*ans;
	char			*path, *e;
	int			 rc;

	if (trade_args(&args, argc, argv, spec, 0, 1, &rc) != 0)
		return rc;
	if (args.npos == 0)
		return trade_show(1, "/withdrawals", "withdrawals", cols,
		    NCOLS(cols));
	e = api_escape(args.pos[0]);
	xasprintf(&path, "/withdrawals/%s", e);
	free(e);
	a = trade_api();
	rc = trade_call(a, 1, "GET", path, NULL, &ans);
	free(path);
	if (rc == 0 && kdex_g.json)
		print_json(ans);
	else if (rc == 0)
		print_kv(cJSON_GetObjectItemCaseSensitive(ans, "withdrawal"),
		    withdrawal_cols, NCOLS(withdrawal_cols));
	cJSON_Delete(ans);
	api_free(a);
	return rc;
}
