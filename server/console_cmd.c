/*
 * console_cmd: the command table of kdex-console and one handler per row.
 *
 * A handler builds the admin API request (doc/api.md, "Admin") from its
 * parsed arguments, sends it with console_http and prints the answer with
 * console_fmt. Handlers return CONSOLE_OK or CONSOLE_FAIL; argument errors
 * are caught before they run, from the row's usage string.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "console_cmd.h"
#include "console_http.h"
#include "util.h"

static int	cmd_help(struct console *, const struct console_cmd *,
		    struct console_args *);
static int	cmd_quit(struct console *, const struct console_cmd *,
		    struct console_args *);
static int	cmd_status(struct console *, const struct console_cmd *,
		    struct console_args *);
static int	cmd_markets_list(struct console *, const struct console_cmd *,
		    struct console_args *);
static int	cmd_markets_show(struct console *, const struct console_cmd *,
		    struct console_args *);
static int	cmd_markets_add(struct console *, const struct console_cmd *,
		    struct console_args *);
static int	cmd_markets_status(struct console *,
		    const struct console_cmd *, struct console_args *);
static int	cmd_markets_fees(struct console *, const struct console_cmd *,
		    struct console_args *);
static int	cmd_markets_limits(struct console *,
		    const struct console_cmd *, struct console_args *);
static int	cmd_markets_tiers(struct console *, const struct console_cmd *,
		    struct console_args *);
static int	cmd_users_list(struct console *, const struct console_cmd *,
		    struct console_args *);
static int	cmd_users_show(struct console *, const struct console_cmd *,
		    struct console_args *);
static int	cmd_users_freeze(struct console *, const struct console_cmd *,
		    struct console_args *);
static int	cmd_users_balances(struct console *,
		    const struct console_cmd *, struct console_args *);
static int	cmd_orders_list(struct console *, const struct console_cmd *,
		    struct console_args *);
static int	cmd_orders_cancel(struct console *, const struct console_cmd *,
		    struct console_args *);
static int	cmd_deposits_list(struct console *,
		    const struct console_cmd *, struct console_args *);
static int	cmd_withdrawals_list(struct console *,
		    const struct console_cmd *, struct console_args *);
static int	cmd_withdrawals_one(struct console *,
		    const struct console_cmd *, struct console_args *);
static int	cmd_settlement_status(struct console *,
		    const struct console_cmd *, struct console_args *);
static int	cmd_settlement_list(struct console *,
		    const struct console_cmd *, struct console_args *);
static int	cmd_settlement_one(struct console *,
		    const struct console_cmd *, struct console_args *);
static int	cmd_recon_run(struct console *, const struct console_cmd *,
		    struct console_args *);
static int	cmd_recon_status(struct console *, const struct console_cmd *,
		    struct console_args *);
static int	cmd_recon_history(struct console *,
		    const struct console_cmd *, struct console_args *);
static int	cmd_recon_show(struct console *, const struct console_cmd *,
		    struct console_args *);
static int	cmd_recon_explain(struct console *,
		    const struct console_cmd *, struct console_args *);
static int	cmd_ledger_check(struct console *, const struct console_cmd *,
		    struct console_args *);
static int	cmd_audit_search(struct console *, const struct console_cmd *,
		    struct console_args *);
static int	cmd_users_lp_stats(struct console *,
		    const struct console_cmd *, struct console_args *);
static int	cmd_lp_stats(struct console *, const struct console_cmd *,
		    struct console_args *);
static int	cmd_operator_show(struct console *,
		    const struct console_cmd *, struct console_args *);
static int	cmd_operator_permissions(struct console *,
		    const struct console_cmd *, struct console_args *);

#define CONSOLE_HELP_WIDTH	36	/* usage column of `help` */

#define CONFIRM	CONSOLE_CMD_CONFIRM
#define LOCAL	CONSOLE_CMD_LOCAL

/*
 * The one command table. Order is the order of `help` and the man page.
 * Usage strings follow the grammar in console_parse.h.
 */
static const struct console_cmd console_cmds[] = {
	{ "status", NULL, "",
	  "server version, uptime, counts, queues and chain health",
	  0, cmd_status },
	{ "markets", "list", "",
	  "list markets with their status, sizes and fees",
	  0, cmd_markets_list },
	{ "markets", "show", "MARKET",
	  "show one market",
	  0, cmd_markets_show },
	{ "markets", "add",
	  "MARKET BASE QUOTE TICK_SIZE LOT_SIZE [--min-size QTY] "
	  "[--min-notional AMOUNT] [--maker-fee PPM] [--taker-fee PPM]",
	  "add a market; BASE and QUOTE are TOKEN:DECIMALS",
	  0, cmd_markets_add },
	{ "markets", "halt", "MARKET",
	  "stop all trading and cancels on a market",
	  CONFIRM, cmd_markets_status },
	{ "markets", "resume", "MARKET",
	  "open a halted or cancel-only market again",
	  0, cmd_markets_status },
	{ "markets", "cancel-only", "MARKET",
	  "accept only cancels on a market",
	  CONFIRM, cmd_markets_status },
	{ "markets", "set-fees", "MARKET MAKER_PPM TAKER_PPM",
	  "set maker and taker fees in parts per million",
	  0, cmd_markets_fees },
	{ "markets", "set-limits",
	  "MARKET [--min-size QTY] [--min-notional AMOUNT] [--max-size QTY] "
	  "[--max-orders N] [--max-levels N] [--max-orders-per-user N]",
	  "change the order size and count limits of a market",
	  0, cmd_markets_limits },
	{ "markets", "set-tiers", "MARKET TIERS",
	  "set fee tiers by 30-day volume: VOLUME:MAKER_PPM:TAKER_PPM,... "
	  "or none",
	  0, cmd_markets_tiers },
	{ "users", "list", "",
	  "list users with their status",
	  0, cmd_users_list },
	{ "users", "show", "USER",
	  "show one user",
	  0, cmd_users_show },
	{ "users", "lp-stats", "USER [--market MARKET]",
	  "a user's liquidity statistics: volume, maker share, quotes",
	  0, cmd_users_lp_stats },
	{ "users", "freeze", "USER [--reason TEXT]",
	  "cancel a user's orders; stop them trading and withdrawing",
	  CONFIRM, cmd_users_freeze },
	{ "users", "unfreeze", "USER [--reason TEXT]",
	  "let a frozen user trade and withdraw again",
	  0, cmd_users_freeze },
	{ "users", "balances", "USER",
	  "show a user's ledger balances",
	  0, cmd_users_balances },
	{ "lp", "stats", "[USER] [--market MARKET]",
	  "liquidity statistics per user and market (all active users)",
	  0, cmd_lp_stats },
	{ "orders", "list", "[--user USER] [--market MARKET]",
	  "list open orders of a user or a market",
	  0, cmd_orders_list },
	{ "orders", "cancel", "[--user USER] [--market MARKET] [--id ID]",
	  "cancel one order, or the open orders of a user or market",
	  CONFIRM, cmd_orders_cancel },
	{ "deposits", "list", "[--pending]",
	  "list deposits, or only those not yet credited",
	  0, cmd_deposits_list },
	{ "withdrawals", "list", "",
	  "list withdrawals",
	  0, cmd_withdrawals_list },
	{ "withdrawals", "show", "ID",
	  "show one withdrawal",
	  0, cmd_withdrawals_one },
	{ "withdrawals", "approve", "ID",
	  "approve a withdrawal waiting for approval",
	  0, cmd_withdrawals_one },
	{ "withdrawals", "reject", "ID [--reason TEXT]",
	  "reject a withdrawal and release its funds",
	  CONFIRM, cmd_withdrawals_one },
	{ "withdrawals", "retry", "ID",
	  "publish a failed withdrawal again",
	  0, cmd_withdrawals_one },
	{ "settlement", "status", "",
	  "settlement queue and the state of the latest batch",
	  0, cmd_settlement_status },
	{ "settlement", "list", "",
	  "list settlement batches with their staple hashes and states",
	  0, cmd_settlement_list },
	{ "settlement", "show", "ID",
	  "show one settlement batch and its transfers",
	  0, cmd_settlement_one },
	{ "settlement", "retry", "ID",
	  "publish a failed settlement batch again",
	  0, cmd_settlement_one },
	{ "recon", "run", "",
	  "reconcile on-chain balances with the ledger now",
	  0, cmd_recon_run },
	{ "recon", "status", "",
	  "the latest reconciliation and the thresholds",
	  0, cmd_recon_status },
	{ "recon", "history", "",
	  "list past reconciliations",
	  0, cmd_recon_history },
	{ "recon", "show", "ID",
	  "show one reconciliation, per user and token",
	  0, cmd_recon_show },
	{ "recon", "explain", "USER TOKEN",
	  "walk the audit log to show how a balance came to be",
	  0, cmd_recon_explain },
	{ "ledger", "check", "",
	  "check the ledger's conservation invariants",
	  0, cmd_ledger_check },
	{ "audit", "search",
	  "[--user USER] [--action ACTION] [--since TIME]",
	  "search the audit log; TIME is epoch ms or an age (15m, 2h, 7d)",
	  0, cmd_audit_search },
	{ "operator", "show", "",
	  "the operator account and its balances",
	  0, cmd_operator_show },
	{ "operator", "permissions", "",
	  "which storage accounts grant the operator what on chain",
	  0, cmd_operator_permissions },
	{ "help", NULL, "[COMMAND] [SUBCOMMAND]",
	  "list commands, or describe one",
	  LOCAL, cmd_help },
	{ "quit", NULL, "",
	  "leave the console",
	  LOCAL, cmd_quit },
};

const struct console_cmd *
console_cmd_table(size_t *n)
{
	*n = sizeof console_cmds / sizeof console_cmds[0];
	return console_cmds;
}

char *
console_cmd_usage(const struct console_cmd *e)
{
	char	*s;

	xasprintf(&s, "%s%s%s%s%s", e->name, e->sub != NULL ? " " : "",
	    e->sub != NULL ? e->sub : "", *e->args != '\0' ? " " : "",
	    e->args);
	return s;
}

/* "error: markets halt: ..." on c->err. */
static void
console_error(struct console *c, const struct console_cmd *e,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
console_error(struct console *c, const struct console_cmd *e,
    const char *fmt, ...)
{
	va_list	ap;

	fprintf(c->err, "error: ");
	if (e != NULL)
		fprintf(c->err, "%s%s%s: ", e->name, e->sub != NULL ? " " : "",
		    e->sub != NULL ? e->sub : "");
	va_start(ap, fmt);
	vfprintf(c->err, fmt, ap);
	va_end(ap);
	fputc('\n', c->err);
}

static void
console_print_list(FILE *f, enum console_mode mode,
    const struct console_cmd *rows, size_t n)
{
	char	**usage;
	size_t	  i, width = 0;
	cJSON	 *a, *o;
	char	 *s;

	usage = xcalloc(n, sizeof *usage);
	for (i = 0; i < n; i++) {
		usage[i] = console_cmd_usage(&rows[i]);
		if (console_fmt_width(usage[i]) > width)
			width = console_fmt_width(usage[i]);
	}
	/* Long usages get their summary on the next line, as git does. */
	if (width > CONSOLE_HELP_WIDTH)
		width = CONSOLE_HELP_WIDTH;
	if (mode == CONSOLE_MODE_JSON) {
		if ((a = cJSON_CreateArray()) == NULL)
			fatalx("cJSON_CreateArray");
		for (i = 0; i < n; i++) {
			if ((o = cJSON_CreateObject()) == NULL ||
			    cJSON_AddStringToObject(o, "usage",
			    usage[i]) == NULL ||
			    cJSON_AddStringToObject(o, "summary",
			    rows[i].summary) == NULL)
				fatalx("cJSON");
			cJSON_AddItemToArray(a, o);
		}
		if ((s = cJSON_PrintUnformatted(a)) == NULL)
			fatalx("cJSON_PrintUnformatted");
		fprintf(f, "%s\n", s);
		free(s);
		cJSON_Delete(a);
	} else {
		for (i = 0; i < n; i++) {
			if (mode == CONSOLE_MODE_TSV)
				fprintf(f, "%s\t%s\n", usage[i],
				    rows[i].summary);
			else if (console_fmt_width(usage[i]) <= width)
				fprintf(f, "  %-*s  %s\n", (int)width,
				    usage[i], rows[i].summary);
			else
				fprintf(f, "  %s\n  %-*s  %s\n", usage[i],
				    (int)width, "", rows[i].summary);
		}
	}
	for (i = 0; i < n; i++)
		free(usage[i]);
	free(usage);
}

void
console_cmd_list(FILE *f, enum console_mode mode)
{
	console_print_list(f, mode, console_cmds,
	    sizeof console_cmds / sizeof console_cmds[0]);
}

/* "usage: markets list|show|..." for a command with subcommands. */
static void
console_sub_usage(FILE *f, const char *name)
{
	size_t	i;
	int	first = 1;

	fprintf(f, "usage: %s ", name);
	for (i = 0; i < sizeof console_cmds / sizeof console_cmds[0]; i++) {
		if (strcmp(console_cmds[i].name, name) != 0)
			continue;
		fprintf(f, "%s%s", first ? "" : "|", console_cmds[i].sub);
		first = 0;
	}
	fputc('\n', f);
}

/* Ask on the terminal before a destructive command. 1 when confirmed. */
static int
console_confirm(struct console *c, const char *line)
{
	char	*answer = NULL;
	size_t	 size = 0;
	ssize_t	 n;
	int	 yes;

	fprintf(c->err, "really '%s'? [y/N] ", line);
	fflush(c->err);
	n = getline(&answer, &size, stdin);
	if (n < 0) {
		clearerr(stdin);
		fputc('\n', c->err);
		free(answer);
		return 0;
	}
	yes = strcmp(answer, "y\n") == 0 || strcmp(answer, "yes\n") == 0 ||
	    strcmp(answer, "Y\n") == 0;
	free(answer);
	return yes;
}

int
console_cmd_run(struct console *c, const char *line)
{
	const struct console_cmd	*e;
	struct console_args		 args;
	char				**argv, *cause, *usage;
	const char			*p;
	int				 argc, used, rv;
	size_t				 n;

	for (p = line; *p == ' ' || *p == '\t'; p++)
		;
	if (*p == '\0' || *p == '#' || *p == '\n')
		return CONSOLE_OK;
	if ((argc = console_split(line, 0, &argv, &cause)) < 0) {
		fprintf(c->err, "error: %s\n", cause);
		free(cause);
		return CONSOLE_USAGE;
	}
	if (argc == 0) {
		console_words_free(argv);
		return CONSOLE_OK;
	}
	n = sizeof console_cmds / sizeof console_cmds[0];
	if ((e = console_cmd_lookup(console_cmds, n, argc, argv,
	    &used)) == NULL) {
		if (used == 0)
			fprintf(c->err, "error: unknown command '%s' "
			    "(try 'help')\n", argv[0]);
		else {
			if (argc > 1)
				fprintf(c->err, "error: unknown %s subcommand "
				    "'%s'\n", argv[0], argv[1]);
			else
				fprintf(c->err, "error: %s needs a "
				    "subcommand\n", argv[0]);
			console_sub_usage(c->err, argv[0]);
		}
		console_words_free(argv);
		return CONSOLE_USAGE;
	}
	if (console_args_parse(e->args, argc - used, argv + used, &args,
	    &cause) != 0) {
		console_error(c, e, "%s", cause);
		usage = console_cmd_usage(e);
		fprintf(c->err, "usage: %s\n", usage);
		free(usage);
		free(cause);
		console_words_free(argv);
		return CONSOLE_USAGE;
	}
	if ((e->flags & CONSOLE_CMD_CONFIRM) && !c->yes) {
		if (!c->can_ask) {
			console_error(c, e, "not confirmed: rerun with --yes "
			    "to run it without a terminal");
			console_words_free(argv);
			return CONSOLE_FAIL;
		}
		if (!console_confirm(c, p)) {
			console_error(c, e, "not confirmed: nothing done");
			console_words_free(argv);
			return CONSOLE_FAIL;
		}
	}
	rv = e->exec(c, e, &args);
	fflush(c->out);
	console_words_free(argv);
	return rv;
}

/*
 * Send one request. Returns 0 with resp filled on a 2xx answer with a JSON
 * body; otherwise prints the error and returns -1 (resp is left filled on
 * an HTTP error so the caller may look at it, and must be cleared).
 */
static int
console_request(struct console *c, const struct console_cmd *e,
    const char *method, const char *path, cJSON *body,
    struct console_resp *resp)
{
	char	*text = NULL, *cause;
	int	 rv;

	if (body != NULL) {
		if ((text = cJSON_PrintUnformatted(body)) == NULL)
			fatalx("cJSON_PrintUnformatted");
		cJSON_Delete(body);
	}
	rv = console_http_request(c->http, method, path, text, resp, &cause);
	free(text);
	if (rv != 0) {
		console_error(c, e, "%s", cause);
		free(cause);
		return -1;
	}
	if (resp->status < 200 || resp->status > 299) {
		cause = console_resp_error(resp);
		console_error(c, e, "%s", cause);
		free(cause);
		return -1;
	}
	if (!cJSON_IsObject(resp->json)) {
		console_error(c, e, "answer from kdexd is not a JSON object");
		console_resp_clear(resp);
		return -1;
	}
	return 0;
}

/* --json prints the body exactly as kdexd sent it. */
static void
console_print_raw(struct console *c, const struct console_resp *resp)
{
	fputs(resp->body, c->out);
	if (resp->len == 0 || resp->body[resp->len - 1] != '\n')
		fputc('\n', c->out);
}

/* GET or POST path and print the array member key as a table. */
static int
console_rows(struct console *c, const struct console_cmd *e,
    const char *method, const char *path, cJSON *body, const char *key,
    const struct console_col *cols, size_t ncols)
{
	struct console_resp	resp;

	if (console_request(c, e, method, path, body, &resp) != 0) {
		console_resp_clear(&resp);
		return CONSOLE_FAIL;
	}
	if (c->mode == CONSOLE_MODE_JSON)
		console_print_raw(c, &resp);
	else
		console_fmt_table(c->out, c->mode, cols, ncols,
		    cJSON_GetObjectItemCaseSensitive(resp.json, key));
	console_resp_clear(&resp);
	return CONSOLE_OK;
}

/*
 * Print object (member key of the answer, or the answer itself when key
 * is NULL) as key/value lines, then its array member rows, if any, as a
 * table with cols.
 */
static void
console_print_object(struct console *c, const cJSON *json, const char *key,
    const char *rows, const struct console_col *cols, size_t ncols)
{
	const cJSON		*obj, *r;
	const char *const	 skip[] = { rows, NULL };

	obj = key != NULL ? cJSON_GetObjectItemCaseSensitive(json, key) : json;
	if (cJSON_IsNull(obj) || obj == NULL) {
		if (c->mode == CONSOLE_MODE_TABLE)
			fprintf(c->out, "(none)\n");
		return;
	}
	console_fmt_object(c->out, c->mode, obj, skip);
	if (rows == NULL)
		return;
	r = cJSON_GetObjectItemCaseSensitive(obj, rows);
	if (!cJSON_IsArray(r))
		return;
	if (c->mode == CONSOLE_MODE_TABLE)
		fputc('\n', c->out);
	console_fmt_table(c->out, c->mode, cols, ncols, r);
}

static int
console_object(struct console *c, const struct console_cmd *e,
    const char *method, const char *path, cJSON *body, const char *key,
    const char *rows, const struct console_col *cols, size_t ncols)
{
	struct console_resp	resp;

	if (console_request(c, e, method, path, body, &resp) != 0) {
		console_resp_clear(&resp);
		return CONSOLE_FAIL;
	}
	if (c->mode == CONSOLE_MODE_JSON)
		console_print_raw(c, &resp);
	else
		console_print_object(c, resp.json, key, rows, cols, ncols);
	console_resp_clear(&resp);
	return CONSOLE_OK;
}

/* prefix + escaped arg + suffix. The caller frees the result. */
static char *
console_path(const char *prefix, const char *arg, const char *suffix)
{
	char	*esc, *s;

	esc = console_http_escape(arg);
	xasprintf(&s, "%s%s%s", prefix, esc, suffix);
	free(esc);
	return s;
}

/* Append "name=value" (escaped) to the query string in *path. */
static void
console_query(char **path, const char *name, const char *value)
{
	char	*esc, *s;

	if (value == NULL)
		return;
	esc = console_http_escape(value);
	xasprintf(&s, "%s%c%s=%s", *path, strchr(*path, '?') ? '&' : '?',
	    name, esc);
	free(esc);
	free(*path);
	*path = s;
}

static cJSON *
console_new_object(void)
{
	cJSON	*o;

	if ((o = cJSON_CreateObject()) == NULL)
		fatalx("cJSON_CreateObject");
	return o;
}

static void
console_add_string(cJSON *o, const char *name, const char *value)
{
	if (value != NULL && cJSON_AddStringToObject(o, name, value) == NULL)
		fatalx("cJSON_AddStringToObject");
}

static void
console_add_int(cJSON *o, const char *name, long value)
{
	/* Small integers (fees, decimals) are exact in a double. */
	if (cJSON_AddNumberToObject(o, name, (double)value) == NULL)
		fatalx("cJSON_AddNumberToObject");
}

/* Parse a decimal integer in [min, max]. 0 or -1. */
static int
console_int(const char *s, long min, long max, long *out)
{
	char	*end;
	long	 v;

	if (*s == '\0' || *s == ' ')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

#define NCOLS(a)	(sizeof (a) / sizeof (a)[0])

static int
cmd_help(struct console *c, const struct console_cmd *e,
    struct console_args *args)
{
	const struct console_cmd	*rows;
	size_t				 n, i, first = 0, count = 0;

	if (args->argc == 0) {
		console_cmd_list(c->out, c->mode);
		return CONSOLE_OK;
	}
	rows = console_cmd_table(&n);
	for (i = 0; i < n; i++) {
		if (strcmp(rows[i].name, args->argv[0]) != 0)
			continue;
		if (args->argc > 1 && (rows[i].sub == NULL ||
		    strcmp(rows[i].sub, args->argv[1]) != 0))
			continue;
		if (count++ == 0)
			first = i;
	}
	if (count == 0) {
		if (args->argc > 1)
			console_error(c, e, "unknown command '%s %s'",
			    args->argv[0], args->argv[1]);
		else
			console_error(c, e, "unknown command '%s'",
			    args->argv[0]);
		return CONSOLE_USAGE;
	}
	/* Rows of one command are adjacent in the table. */
	console_print_list(c->out, c->mode, rows + first, count);
	return CONSOLE_OK;
}

static int
cmd_quit(struct console *c, const struct console_cmd *e,
    struct console_args *args)
{
	(void)e;
	(void)args;
	c->quit = 1;
	return CONSOLE_OK;
}

/*
 * 1 when any row of arr has member key equal to bad (a JSON string) or,
 * for bad NULL, false (a JSON false): a problem the exit status reports.
 */
static int
console_any(const cJSON *arr, const char *key, const char *bad)
{
	const cJSON	*it, *v;

	cJSON_ArrayForEach(it, arr) {
		v = cJSON_GetObjectItemCaseSensitive(it, key);
		if (bad == NULL ? cJSON_IsFalse(v) :
		    (cJSON_IsString(v) && strcmp(v->valuestring, bad) == 0))
			return 1;
	}
	return 0;
}

static int
cmd_status(struct console *c, const struct console_cmd *e,
    struct console_args *args)
{
	static const struct console_col	cols[] = {
		{ "REPRESENTATIVE", "url" },
		{ "REACHABLE", "reachable" },
		{ "LATENCY_MS", "latency_ms" },
		{ "VERSION", "version" },
		{ "OPERATOR_HEIGHT", "operator_height" },
		{ "CLEARING_HEIGHT", "clearing_height" },
		{ "STORAGE_BLOCKS", "storage_blocks" },
		{ "ERROR", "error" },
	};
	struct console_resp	 resp;
	int			 down;

	(void)args;
	if (console_request(c, e, "GET", "/admin/status", NULL, &resp) != 0) {
		console_resp_clear(&resp);
		return CONSOLE_FAIL;
	}
	if (c->mode == CONSOLE_MODE_JSON)
		console_print_raw(c, &resp);
	else
		console_print_object(c, resp.json, NULL, "representatives",
		    cols, NCOLS(cols));
	/* An unreachable representative is a problem a script should see. */
	down = console_any(cJSON_GetObjectItemCaseSensitive(resp.json,
	    "representatives"), "reachable", NULL);
	console_resp_clear(&resp);
	if (down) {
		console_error(c, e, "a representative is unreachable");
		return CONSOLE_FAIL;
	}
	return CONSOLE_OK;
}

static const struct console_col market_cols[] = {
	{ "PAIR", "pair" },
	{ "STATUS", "status" },
	{ "BASE", "base.symbol" },
	{ "QUOTE", "quote.symbol" },
	{ "TICK", "tick_size" },
	{ "LOT", "lot_size" },
	{ "MIN_SIZE", "min_size" },
	{ "MIN_NOTIONAL", "min_notional" },
	{ "MAKER_PPM", "maker_fee_ppm" },
	{ "TAKER_PPM", "taker_fee_ppm" },
};

static int
cmd_markets_list(struct console *c, const struct console_cmd *e,
    struct console_args *args)
{
	(void)args;
	return console_rows(c, e, "GET", "/admin/markets", NULL, "markets",
	    market_cols, NCOLS(market_cols));
}

/* A market's fee tiers (markets show, set-tiers). */
static const struct console_col tier_cols[] = {
	{ "TIER", "tier" },
	{ "MIN_VOLUME", "min_volume" },
	{ "MAKER_PPM", "maker_fee_ppm" },
	{ "TAKER_PPM", "taker_fee_ppm" },
};

static int
cmd_markets_show(struct console *c, const struct console_cmd *e,
    struct console_args *args)
{
	struct console_resp	 resp;
	const cJSON		*m, *pair;
	char			*s;

	/* The contract has no GET /admin/markets/:pair: pick it out. */
	if (console_request(c, e, "GET", "/admin/markets", NULL,
	    &resp) != 0) {
		console_resp_clear(&resp);
		return CONSOLE_FAIL;
	}
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(resp.json,
	    "markets")) {
		pair = cJSON_GetObjectItemCaseSensitive(m, "pair");
		if (cJSON_IsString(pair) &&
		    strcmp(pair->valuestring, args->argv[0]) == 0)
			break;
	}
	if (m == NULL) {
		console_error(c, e, "unknown market '%s'", args->argv[0]);
		console_resp_clear(&resp);
		return CONSOLE_FAIL;
	}
	if (c->mode == CONSOLE_MODE_JSON) {
		if ((s = cJSON_PrintUnformatted(m)) == NULL)
			fatalx("cJSON_PrintUnformatted");
		fprintf(c->out, "%s\n", s);
		free(s);
	} else
		console_print_object(c, m, NULL, "fee_tiers", tier_cols,
		    NCOLS(tier_cols));
	console_resp_clear(&resp);
	return CONSOLE_OK;
}

/* "TOKEN:DECIMALS" and the symbol into {"symbol","token","decimals"}. */
static cJSON *
console_asset(const char *symbol, size_t symlen, const char *spec)
{
	const char	*colon;
	char		*token, *sym;
	long		 decimals;
	cJSON		*o;

	if ((colon = strrchr(spec, ':')) == NULL || colon == spec ||
	    console_int(colon + 1, 0, 255, &decimals) != 0)
		return NULL;
	o = console_new_object();
	sym = xstrndup(symbol, symlen);
	token = xstrndup(spec, (size_t)(colon - spec));
	console_add_string(o, "symbol", sym);
	console_add_string(o, "token", token);
	console_add_int(o, "decimals", decimals);
	free(sym);
	free(token);
	return o;
}

static int
cmd_markets_add(struct console *c, const struct console_cmd *e,
    struct console_args *args)
{
	static const struct {
		const char	*opt;
		const char	*field;
	} strs[] = {
		{ "--min-size", "min_size" },
		{ "--min-notional", "min_notional" },
	}, fees[] = {
		{ "--maker-fee", "maker_fee_ppm" },
		{ "--taker-fee", "taker_fee_ppm" },
	};
	const char	*pair = args->argv[0], *dash, *v;
	cJSON		*body, *base, *quote;
	long		 ppm;
	size_t		 i;

	if ((dash = strchr(pair, '-')) == NULL || dash == pair ||
	    dash[1] == '\0' || strchr(dash + 1, '-') != NULL) {
		console_error(c, e, "bad market name '%s': want BASE-QUOTE",
		    pair);
		return CONSOLE_USAGE;
	}
	base = console_asset(pair, (size_t)(dash - pair), args->argv[1]);
	quote = console_asset(dash + 1, strlen(dash + 1), args->argv[2]);
	if (base == NULL || quote == NULL) {
		console_error(c, e, "bad asset '%s': want TOKEN:DECIMALS",
		    base == NULL ? args->argv[1] : args->argv[2]);
		cJSON_Delete(base);
		cJSON_Delete(quote);
		return CONSOLE_USAGE;
	}
	body = console_new_object();
	console_add_string(body, "pair", pair);
	cJSON_AddItemToObject(body, "base", base);
	cJSON_AddItemToObject(body, "quote", quote);
	console_add_string(body, "tick_size", args->argv[3]);
	console_add_string(body, "lot_size", args->argv[4]);
	for (i = 0; i < NCOLS(strs); i++)
		console_add_string(body, strs[i].field,
		    console_args_opt(args, strs[i].opt));
	for (i = 0; i < NCOLS(fees); i++) {
		if ((v = console_args_opt(args, fees[i].opt)) == NULL)
			continue;
		if (console_int(v, -1000000, 1000000, &ppm) != 0) {
			console_error(c, e, "bad fee '%s': want an integer "
			    "number of parts per million", v);
			cJSON_Delete(body);
			return CONSOLE_USAGE;
		}
		console_add_int(body, fees[i].field, ppm);
	}
	return console_object(c, e, "POST", "/admin/markets", body, "market",
	    NULL, NULL, 0);
}

static int
cmd_markets_status(struct console *c, const struct console_cmd *e,
    struct console_args *args)
{
	const char	*status;
	char		*path;
	cJSON		*body;
	int		 rv;

	if (strcmp(e->sub, "halt") == 0)
		status = "halted";
	else if (strcmp(e->sub, "cancel-only") == 0)
		status = "cancel_only";
	else
		status = "open";
	body = console_new_object();
	console_add_string(body, "status", status);
	path = console_path("/admin/markets/", args->argv[0], "/status");
	rv = console_object(c, e, "POST", path, body, "market", NULL, NULL, 0);
	free(path);
	return rv;
}

static int
cmd_markets_fees(struct console *c, const struct console_cmd *e,
    struct console_args *args)
{
	long	 maker, taker;
	char	*path;
	cJSON	*body;
	int	 rv;

	if (console_int(args->argv[1], -1000000, 1000000, &maker) != 0 ||
	    console_int(args->argv[2], -1000000, 1000000, &taker) != 0) {
		console_error(c, e, "bad fee: want integers of parts per "
		    "million between -1000000 and 1000000");
		return CONSOLE_USAGE;
	}
	body = console_new_object();
	console_add_int(body, "maker_fee_ppm", maker);
	console_add_int(body, "taker_fee_ppm", taker);
	path = console_path("/admin/markets/", args->argv[0], "/fees");
	rv = console_object(c, e, "POST", path, body, "market", NULL, NULL, 0);
	free(path);
	return rv;
}

/*
 * TIERS is VOLUME:MAKER_PPM:TAKER_PPM[,...] (tiers above the base rates,
 * volume in quote tokens, kept as the exact decimal string) or "none".
 */
static int
cmd_markets_tiers(struct console *c, const struct console_cmd *e,
    struct console_args *args)
{
	char	*list, *item, *next, *vol, *mk, *tk, *path;
	long	 maker, taker;
	cJSON	*body, *arr, *t;
	int	 rv;

	body = console_new_object();
	if ((arr = cJSON_AddArrayToObject(body, "tiers")) == NULL)
		fatalx("cJSON_AddArrayToObject");
	list = xstrdup(args->argv[1]);
	for (item = list; strcmp(args->argv[1], "none") != 0 &&
	    item != NULL; item = next) {
		if ((next = strchr(item, ',')) != NULL)
			*next++ = '\0';
		vol = item;
		if ((mk = strchr(vol, ':')) == NULL ||
		    (tk = strchr(mk + 1, ':')) == NULL) {
			console_error(c, e, "bad tier '%s': want "
			    "VOLUME:MAKER_PPM:TAKER_PPM", item);
			goto usage;
		}
		*mk++ = '\0';
		*tk++ = '\0';
		if (*vol == '\0' ||
		    console_int(mk, -1000000, 1000000, &maker) != 0 ||
		    console_int(tk, -1000000, 1000000, &taker) != 0) {
			console_error(c, e, "bad tier '%s': want a volume and "
			    "integers of parts per million between -1000000 "
			    "and 1000000", vol);
			goto usage;
		}
		t = console_new_object();
		console_add_string(t, "min_volume", vol);
		console_add_int(t, "maker_fee_ppm", maker);
		console_add_int(t, "taker_fee_ppm", taker);
		cJSON_AddItemToArray(arr, t);
	}
	free(list);
	path = console_path("/admin/markets/", args->argv[0], "/tiers");
	rv = console_object(c, e, "POST", path, body, "market", "fee_tiers",
	    tier_cols, NCOLS(tier_cols));
	free(path);
	return rv;

usage:
	free(list);
	cJSON_Delete(body);
	return CONSOLE_USAGE;
}

static int
cmd_markets_limits(struct console *c, const struct console_cmd *e,
    struct console_args *args)
{
	/* Sizes are decimal strings (exact); counts are integers. */
	static const struct {
		const char	*opt;
		const char	*field;
		long		 max;		/* 0: a decimal string */
	} lim[] = {
		{ "--min-size", "min_size", 0 },
		{ "--min-notional", "min_notional", 0 },
		{ "--max-size", "max_size", 0 },
		{ "--max-orders", "max_orders", (1L << 30) - 1 },
		{ "--max-levels", "max_levels", 1L << 20 },
		{ "--max-orders-per-user", "max_orders_per_user",
		  (1L << 30) - 1 },
	};
	const char	*v;
	char		*path;
	cJSON		*body;
	size_t		 i;
	long		 n;
	int		 rv;

	if (args->nopts == 0) {
		console_error(c, e, "nothing to change: give at least one of "
		    "--min-size, --min-notional, --max-size, --max-orders, "
		    "--max-levels, --max-orders-per-user");
		return CONSOLE_USAGE;
	}
	body = console_new_object();
	for (i = 0; i < NCOLS(lim); i++) {
		if ((v = console_args_opt(args, lim[i].opt)) == NULL)
			continue;
		if (lim[i].max == 0) {
			console_add_string(body, lim[i].field, v);
			continue;
		}
		if (console_int(v, 1, lim[i].max, &n) != 0) {
			console_error(c, e, "bad %s '%s': want an integer "
			    "between 1 and %ld", lim[i].opt, v, lim[i].max);
			cJSON_Delete(body);
			return CONSOLE_USAGE;
		}
		console_add_int(body, lim[i].field, n);
	}
	path = console_path("/admin/markets/", args->argv[0], "/limits");
	rv = console_object(c, e, "POST", path, body, "market", NULL, NULL, 0);
	free(path);
	return rv;
}

static const struct console_col user_cols[] = {
	{ "USER", "address" },
	{ "STATUS", "status" },
	{ "STORAGE", "storage" },
	{ "OPEN_ORDERS", "open_orders" },
	{ "CREATED", "created_at" },
};

static const struct console_col balance_cols[] = {
	{ "SYMBOL", "symbol" },
	{ "AVAILABLE", "available" },
	{ "LOCKED", "locked" },
	{ "TOTAL", "total" },
	{ "TOKEN", "token" },
};

static int
cmd_users_list(struct console *c, const struct console_cmd *e,
    struct console_args *args)
{
	(void)args;
	return console_rows(c, e, "GET", "/admin/users", NULL, "users",
	    user_cols, NCOLS(user_cols));
}

static int
cmd_users_show(struct console *c, const struct console_cmd *e,
    struct console_args *args)
{
	char	*path;
	int	 rv;

	path = console_path("/admin/users/", args->argv[0], "");
	rv = console_object(c, e, "GET", path, NULL, "user", "balances",
	    balance_cols, NCOLS(balance_cols));
	free(path);
	return rv;
}

/* GET /admin/users/USER/lp-stats (kdexd_lp.c; doc/lp.md). */
static int
cmd_users_lp_stats(struct console *c, const struct console_cmd *e,
    struct console_args *args)
{
	static const struct console_col	cols[] = {
		{ "MARKET", "market" },
		{ "FILLS", "fills" },
		{ "VOLUME", "volume" },
		{ "VOLUME_QUOTE", "volume_quote" },
		{ "MAKER_PPM", "maker_share_ppm" },
		{ "TOP_BID_MS", "top_of_book.bid_ms" },
		{ "TOP_ASK_MS", "top_of_book.ask_ms" },
		{ "BID", "quote.bid" },
		{ "ASK", "quote.ask" },
		{ "SPREAD", "quote.spread" },
		{ "BID_DEPTH", "quote.bid_depth" },
		{ "ASK_DEPTH", "quote.ask_depth" },
	};
	char	*path;
	int	 rv;

	path = console_path("/admin/users/", args->argv[0], "/lp-stats");
	console_query(&path, "market", console_args_opt(args, "--market"));
	rv = console_rows(c, e, "GET", path, NULL, "markets", cols,
	    NCOLS(cols));
	free(path);
	return rv;
}

/* GET /admin/lp/stats?user=&market= (kdexd_lp.c; doc/lp.md). */
static int
cmd_lp_stats(struct console *c, const struct console_cmd *e,
    struct console_args *args)
{
	static const struct console_col	cols[] = {
		{ "USER", "user" },
		{ "MARKET", "market" },
		{ "FILLS", "fills" },
		{ "VOLUME", "volume" },
		{ "VOLUME_QUOTE", "volume_quote" },
		{ "MAKER_PPM", "maker_share_ppm" },
		{ "TOP_BID_MS", "top_of_book.bid_ms" },
		{ "TOP_ASK_MS", "top_of_book.ask_ms" },
		{ "SAMPLED_MS", "top_of_book.sampled_ms" },
		{ "BID", "quote.bid" },
		{ "ASK", "quote.ask" },
		{ "SPREAD_PPM", "quote.spread_ppm" },
		{ "BID_DEPTH", "quote.bid_depth" },
		{ "ASK_DEPTH", "quote.ask_depth" },
	};
	char	*path;
	int	 rv;

	path = xstrdup("/admin/lp/stats");
	console_query(&path, "user", args->argc > 0 ? args->argv[0] : NULL);
	console_query(&path, "market", console_args_opt(args, "--market"));
	rv = console_rows(c, e, "GET", path, NULL, "rows", cols, NCOLS(cols));
	free(path);
	return rv;
}

static int
cmd_users_freeze(struct console *c, const struct console_cmd *e,
    struct console_args *args)
{
	char	*path, *suffix;
	cJSON	*body;
	int	 rv;

	body = console_new_object();
	console_add_string(body, "reason", console_args_opt(args, "--reason"));
	xasprintf(&suffix, "/%s", e->sub);
	path = console_path("/admin/users/", args->argv[0], suffix);
	rv = console_object(c, e, "POST", path, body, "user", NULL, NULL, 0);
	free(suffix);
	free(path);
	return rv;
}

static int
cmd_users_balances(struct console *c, const struct console_cmd *e,
    struct console_args *args)
{
	char	*path;
	int	 rv;

	path = console_path("/admin/users/", args->argv[0], "/balances");
	rv = console_rows(c, e, "GET", path, NULL, "balances", balance_cols,
	    NCOLS(balance_cols));
	free(path);
	return rv;
}

static int
cmd_orders_list(struct console *c, const struct console_cmd *e,
    struct console_args *args)
{
	static const struct console_col	cols[] = {
		{ "ID", "id" },
		{ "USER", "user" },
		{ "MARKET", "market" },
		{ "SIDE", "side" },
		{ "TYPE", "type" },
		{ "PRICE", "price" },
		{ "QTY", "qty" },
		{ "FILLED", "filled" },
		{ "STATUS", "status" },
		{ "CREATED", "created_at" },
	};
	char	*path;
	int	 rv;

	path = xstrdup("/admin/orders");
	console_query(&path, "user", console_args_opt(args, "--user"));
	console_query(&path, "market", console_args_opt(args, "--market"));
	rv = console_rows(c, e, "GET", path, NULL, "orders", cols,
	    NCOLS(cols));
	free(path);
	return rv;
}

static int
cmd_orders_cancel(struct console *c, const struct console_cmd *e,
    struct console_args *args)
{
	struct console_resp	 resp;
	const cJSON		*ids, *id;
	cJSON			*body;
	int			 n;

	if (args->nopts == 0) {
		console_error(c, e, "say which orders: --user, --market or "
		    "--id");
		return CONSOLE_USAGE;
	}
	body = console_new_object();
	console_add_string(body, "user", console_args_opt(args, "--user"));
	console_add_string(body, "market", console_args_opt(args, "--market"));
	console_add_string(body, "id", console_args_opt(args, "--id"));
	if (console_request(c, e, "POST", "/admin/orders/cancel", body,
	    &resp) != 0) {
		console_resp_clear(&resp);
		return CONSOLE_FAIL;
	}
	if (c->mode == CONSOLE_MODE_JSON)
		console_print_raw(c, &resp);
	else {
		ids = cJSON_GetObjectItemCaseSensitive(resp.json, "cancelled");
		n = cJSON_GetArraySize(ids);
		cJSON_ArrayForEach(id, ids) {
			if (cJSON_IsString(id))
				fprintf(c->out, "%s\n", id->valuestring);
		}
		if (c->mode == CONSOLE_MODE_TABLE)
			fprintf(c->out, "(%d order%s cancelled)\n", n,
			    n == 1 ? "" : "s");
	}
	console_resp_clear(&resp);
	return CONSOLE_OK;
}

static int
cmd_deposits_list(struct console *c, const struct console_cmd *e,
    struct console_args *args)
{
	static const struct console_col	cols[] = {
		{ "ID", "id" },
		{ "USER", "user" },
		{ "SYMBOL", "symbol" },
		{ "AMOUNT", "amount" },
		{ "STATUS", "status" },
		{ "BLOCK", "block" },
		{ "TS", "ts" },
	};
	const char	*path = "/admin/deposits";

	if (console_args_opt(args, "--pending") != NULL)
		path = "/admin/deposits?pending=1";
	return console_rows(c, e, "GET", path, NULL, "deposits", cols,
	    NCOLS(cols));
}

static const struct console_col withdrawal_cols[] = {
	{ "ID", "id" },
	{ "USER", "user" },
	{ "SYMBOL", "symbol" },
	{ "AMOUNT", "amount" },
	{ "TO", "to" },
	{ "STATUS", "status" },
	{ "BLOCK", "block_hash" },
	{ "CREATED", "created_at" },
	{ "REASON", "reason" },
};

static int
cmd_withdrawals_list(struct console *c, const struct console_cmd *e,
    struct console_args *args)
{
	(void)args;
	return console_rows(c, e, "GET", "/admin/withdrawals", NULL,
	    "withdrawals", withdrawal_cols, NCOLS(withdrawal_cols));
}

/* show, approve, reject and retry: one withdrawal by id. */
static int
cmd_withdrawals_one(struct console *c, const struct console_cmd *e,
    struct console_args *args)
{
	char	*path, *suffix;
	cJSON	*body = NULL;
	int	 rv;

	if (strcmp(e->sub, "show") == 0) {
		path = console_path("/admin/withdrawals/", args->argv[0], "");
		rv = console_object(c, e, "GET", path, NULL, "withdrawal",
		    NULL, NULL, 0);
		free(path);
		return rv;
	}
	if (strcmp(e->sub, "reject") == 0) {
		body = console_new_object();
		console_add_string(body, "reason",
		    console_args_opt(args, "--reason"));
	}
	xasprintf(&suffix, "/%s", e->sub);
	path = console_path("/admin/withdrawals/", args->argv[0], suffix);
	rv = console_object(c, e, "POST", path, body, "withdrawal", NULL,
	    NULL, 0);
	free(suffix);
	free(path);
	return rv;
}

static const struct console_col batch_cols[] = {
	{ "ID", "id" },
	{ "STATE", "state" },
	{ "FILLS", "fills" },
	{ "STAPLE", "staple_hash" },
	{ "CREATED", "created_at" },
	{ "UPDATED", "updated_at" },
	{ "ERROR", "error" },
};

static int
cmd_settlement_status(struct console *c, const struct console_cmd *e,
    struct console_args *args)
{
	(void)args;
	return console_object(c, e, "GET", "/admin/settlement", NULL,
	    "status", NULL, NULL, 0);
}

static int
cmd_settlement_list(struct console *c, const struct console_cmd *e,
    struct console_args *args)
{
	(void)args;
	return console_rows(c, e, "GET", "/admin/settlement", NULL, "batches",
	    batch_cols, NCOLS(batch_cols));
}

static int
cmd_settlement_one(struct console *c, const struct console_cmd *e,
    struct console_args *args)
{
	static const struct console_col	cols[] = {
		{ "USER", "user" },
		{ "SYMBOL", "symbol" },
		{ "DELTA", "delta" },
		{ "TOKEN", "token" },
	};
	char	*path;
	int	 rv;

	if (strcmp(e->sub, "retry") == 0) {
		path = console_path("/admin/settlement/", args->argv[0],
		    "/retry");
		rv = console_object(c, e, "POST", path, NULL, "batch", NULL,
		    NULL, 0);
	} else {
		path = console_path("/admin/settlement/", args->argv[0], "");
		rv = console_object(c, e, "GET", path, NULL, "batch",
		    "deltas", cols, NCOLS(cols));
	}
	free(path);
	return rv;
}

static const struct console_col recon_cols[] = {
	{ "USER", "user" },
	{ "SYMBOL", "symbol" },
	{ "ONCHAIN", "onchain" },
	{ "LEDGER", "ledger" },
	{ "UNSETTLED", "unsettled" },
	{ "DIFFERENCE", "difference" },
	{ "STATUS", "status" },
};

static int
cmd_recon_run(struct console *c, const struct console_cmd *e,
    struct console_args *args)
{
	(void)args;
	return console_object(c, e, "POST", "/admin/recon/run", NULL, "recon",
	    "rows", recon_cols, NCOLS(recon_cols));
}

static int
cmd_recon_status(struct console *c, const struct console_cmd *e,
    struct console_args *args)
{
	(void)args;
	return console_object(c, e, "GET", "/admin/reconciliation/status",
	    NULL, "recon", "rows", recon_cols, NCOLS(recon_cols));
}

static int
cmd_recon_history(struct console *c, const struct console_cmd *e,
    struct console_args *args)
{
	static const struct console_col	cols[] = {
		{ "ID", "id" },
		{ "STATUS", "status" },
		{ "STARTED", "started_at" },
		{ "FINISHED", "finished_at" },
		{ "ROWS", "rows" },
		{ "DRIFT", "drift" },
		{ "CRITICAL", "critical" },
	};

	(void)args;
	return console_rows(c, e, "GET", "/admin/recon/history", NULL,
	    "recons", cols, NCOLS(cols));
}

static int
cmd_recon_show(struct console *c, const struct console_cmd *e,
    struct console_args *args)
{
	char	*path;
	int	 rv;

	path = console_path("/admin/recon/", args->argv[0], "");
	rv = console_object(c, e, "GET", path, NULL, "recon", "rows",
	    recon_cols, NCOLS(recon_cols));
	free(path);
	return rv;
}

static int
cmd_recon_explain(struct console *c, const struct console_cmd *e,
    struct console_args *args)
{
	static const struct console_col	cols[] = {
		{ "TS", "ts" },
		{ "ACTION", "action" },
		{ "DELTA", "delta" },
		{ "BALANCE", "balance" },
		{ "REF", "ref" },
	};
	char	*path;
	int	 rv;

	path = xstrdup("/admin/recon/explain");
	console_query(&path, "user", args->argv[0]);
	console_query(&path, "token", args->argv[1]);
	rv = console_object(c, e, "GET", path, NULL, NULL, "entries", cols,
	    NCOLS(cols));
	free(path);
	return rv;
}

static int
cmd_ledger_check(struct console *c, const struct console_cmd *e,
    struct console_args *args)
{
	static const struct console_col	cols[] = {
		{ "CHECK", "name" },
		{ "OK", "ok" },
		{ "DETAIL", "detail" },
	};
	struct console_resp	 resp;
	const cJSON		*checks;
	char			*cause;
	int			 rv;

	(void)args;
	if (console_http_request(c->http, "GET", "/admin/ledger/check", NULL,
	    &resp, &cause) != 0) {
		console_error(c, e, "%s", cause);
		free(cause);
		return CONSOLE_FAIL;
	}
	/* 409 is an answer, not a failure to ask: print the failures. */
	checks = cJSON_GetObjectItemCaseSensitive(resp.json, "checks");
	if ((resp.status != 200 && resp.status != 409) ||
	    !cJSON_IsArray(checks)) {
		cause = console_resp_error(&resp);
		console_error(c, e, "%s", cause);
		free(cause);
		console_resp_clear(&resp);
		return CONSOLE_FAIL;
	}
	if (c->mode == CONSOLE_MODE_JSON)
		console_print_raw(c, &resp);
	else
		console_fmt_table(c->out, c->mode, cols, NCOLS(cols), checks);
	rv = CONSOLE_OK;
	if (resp.status == 409) {
		cause = console_resp_error(&resp);
		console_error(c, e, "%s", cause);
		free(cause);
		rv = CONSOLE_FAIL;
	}
	console_resp_clear(&resp);
	return rv;
}

static int
cmd_audit_search(struct console *c, const struct console_cmd *e,
    struct console_args *args)
{
	static const struct console_col	cols[] = {
		{ "ID", "id" },
		{ "TS", "ts" },
		{ "USER", "user" },
		{ "ACTION", "action" },
		{ "SYMBOL", "symbol" },
		{ "DELTA", "delta" },
		{ "AVAILABLE_DELTA", "delta_available" },
		{ "REF", "ref" },
	};
	struct timespec	 ts;
	const char	*since;
	char		*path, buf[32];
	int64_t		 now, t;
	int		 rv;

	path = xstrdup("/admin/audit");
	console_query(&path, "user", console_args_opt(args, "--user"));
	console_query(&path, "action", console_args_opt(args, "--action"));
	if ((since = console_args_opt(args, "--since")) != NULL) {
		if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
			fatal("clock_gettime");
		now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		if (console_parse_since(since, now, &t) != 0) {
			console_error(c, e, "bad time '%s': want epoch "
			    "milliseconds or an age such as 15m, 2h, 7d",
			    since);
			free(path);
			return CONSOLE_USAGE;
		}
		snprintf(buf, sizeof buf, "%lld", (long long)t);
		console_query(&path, "since", buf);
	}
	rv = console_rows(c, e, "GET", path, NULL, "entries", cols,
	    NCOLS(cols));
	free(path);
	return rv;
}

/*
 * Print the operator's chain view; 1 when a row of what was printed (key:
 * "balances" or "permissions") is not ok, with a message on c->err.
 */
static int
operator_mismatch(struct console *c, const struct console_cmd *e,
    const cJSON *op, const char *key)
{
	const cJSON	*ch = cJSON_GetObjectItemCaseSensitive(op, "chain");
	const cJSON	*arr = cJSON_GetObjectItemCaseSensitive(op, key);
	const cJSON	*it, *st;
	int		 n = 0;

	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ch, "ok"))) {
		console_error(c, e, "cannot read the operator account on "
		    "chain");
		return 1;
	}
	cJSON_ArrayForEach(it, arr) {
		st = cJSON_GetObjectItemCaseSensitive(it, "status");
		if (!cJSON_IsString(st) || strcmp(st->valuestring, "ok") != 0)
			n++;
	}
	if (n > 0)
		console_error(c, e, "%d %s differ%s between the chain and the "
		    "ledger", n, key, n == 1 ? "s" : "");
	return n > 0;
}

static int
cmd_operator_show(struct console *c, const struct console_cmd *e,
    struct console_args *args)
{
	/* On chain next to the fee account's ledger total. */
	static const struct console_col	cols[] = {
		{ "SYMBOL", "symbol" },
		{ "ONCHAIN", "onchain" },
		{ "CLEARING", "clearing" },
		{ "LEDGER", "ledger" },
		{ "UNSETTLED", "unsettled" },
		{ "STATUS", "status" },
		{ "TOKEN", "token" },
	};
	const char *const	 skip[] = { "permissions", "balances", NULL };
	struct console_resp	 resp;
	const cJSON		*op;
	int			 bad;

	(void)args;
	if (console_request(c, e, "GET", "/admin/operator", NULL,
	    &resp) != 0) {
		console_resp_clear(&resp);
		return CONSOLE_FAIL;
	}
	op = cJSON_GetObjectItemCaseSensitive(resp.json, "operator");
	if (c->mode == CONSOLE_MODE_JSON)
		console_print_raw(c, &resp);
	else {
		console_fmt_object(c->out, c->mode, op, skip);
		if (c->mode == CONSOLE_MODE_TABLE)
			fputc('\n', c->out);
		console_fmt_table(c->out, c->mode, cols, NCOLS(cols),
		    cJSON_GetObjectItemCaseSensitive(op, "balances"));
	}
	bad = operator_mismatch(c, e, op, "balances");
	console_resp_clear(&resp);
	return bad ? CONSOLE_FAIL : CONSOLE_OK;
}

static int
cmd_operator_permissions(struct console *c, const struct console_cmd *e,
    struct console_args *args)
{
	static const struct console_col	cols[] = {
		{ "STORAGE", "storage" },
		{ "USER", "user" },
		{ "SYMBOL", "symbol" },
		{ "PERMISSIONS", "permissions" },
		{ "LEDGER", "ledger" },
		{ "STATUS", "status" },
	};
	struct console_resp	 resp;
	const cJSON		*op;
	int			 bad;

	(void)args;
	if (console_request(c, e, "GET", "/admin/operator", NULL,
	    &resp) != 0) {
		console_resp_clear(&resp);
		return CONSOLE_FAIL;
	}
	/* --json prints the permissions array alone. */
	op = cJSON_GetObjectItemCaseSensitive(resp.json, "operator");
	console_fmt_table(c->out, c->mode, cols, NCOLS(cols),
	    cJSON_GetObjectItemCaseSensitive(op, "permissions"));
	bad = operator_mismatch(c, e, op, "permissions");
	console_resp_clear(&resp);
	return bad ? CONSOLE_FAIL : CONSOLE_OK;
}
