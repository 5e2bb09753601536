/*
 * check_console: unit tests of kdex-console's parts that need no server:
 * word splitting, the command table and its usage strings, argument
 * checking, completion candidates, --since, output formatting and the
 * error paths of console_cmd_run. The commands against a real kdexd are in
 * tests/console_*.test.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "console_cmd.h"
#include "console_fmt.h"
#include "console_http.h"
#include "console_parse.h"

/* Output captured in memory: open, run, then look at buf. */
struct capture {
	FILE	*f;
	char	*buf;
	size_t	 len;
};

static void
capture_open(struct capture *c)
{
	c->buf = NULL;
	c->len = 0;
	c->f = open_memstream(&c->buf, &c->len);
	ck_assert_ptr_nonnull(c->f);
}

static const char *
capture_text(struct capture *c)
{
	ck_assert_int_eq(fflush(c->f), 0);
	return c->buf;
}

static void
capture_close(struct capture *c)
{
	fclose(c->f);
	free(c->buf);
}

START_TEST(test_split)
{
	char	**argv, *cause = NULL;
	int	  argc;

	argc = console_split("  markets   halt KTA-USDC ", 0, &argv, &cause);
	ck_assert_int_eq(argc, 3);
	ck_assert_str_eq(argv[0], "markets");
	ck_assert_str_eq(argv[1], "halt");
	ck_assert_str_eq(argv[2], "KTA-USDC");
	ck_assert_ptr_null(argv[3]);
	console_words_free(argv);

	argc = console_split("a 'b c' \"d \\\"e\\\\\" f\\ g ''", 0, &argv,
	    &cause);
	ck_assert_int_eq(argc, 5);
	ck_assert_str_eq(argv[1], "b c");
	ck_assert_str_eq(argv[2], "d \"e\\");
	ck_assert_str_eq(argv[3], "f g");
	ck_assert_str_eq(argv[4], "");
	console_words_free(argv);

	ck_assert_int_eq(console_split("", 0, &argv, &cause), 0);
	console_words_free(argv);

	ck_assert_int_eq(console_split("users freeze 'oops", 0, &argv,
	    &cause), -1);
	ck_assert_ptr_null(argv);
	ck_assert_str_eq(cause, "unterminated ' quote");
	free(cause);

	/* While typing, an open quote is fine. */
	ck_assert_int_eq(console_split("users freeze 'oops", 1, &argv,
	    &cause), 3);
	ck_assert_str_eq(argv[2], "oops");
	console_words_free(argv);
}
END_TEST

START_TEST(test_split_limit)
{
	char	 line[CONSOLE_WORDS_MAX * 2 + 8], **argv, *cause = NULL;
	size_t	 i;

	for (i = 0; i < CONSOLE_WORDS_MAX; i++) {
		line[2 * i] = 'x';
		line[2 * i + 1] = ' ';
	}
	line[2 * CONSOLE_WORDS_MAX] = '\0';
	ck_assert_int_eq(console_split(line, 0, &argv, &cause),
	    CONSOLE_WORDS_MAX);
	console_words_free(argv);
	strcat(line, "y");
	ck_assert_int_eq(console_split(line, 0, &argv, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "more than"));
	free(cause);
}
END_TEST

/* Every usage string of the table parses, and rows are well formed. */
START_TEST(test_table)
{
	const struct console_cmd	*t;
	struct console_item		 items[CONSOLE_ITEMS_MAX];
	size_t				 n, i, j;
	int				 k;

	t = console_cmd_table(&n);
	ck_assert_uint_gt(n, 30);
	for (i = 0; i < n; i++) {
		k = console_spec_parse(t[i].args, items, CONSOLE_ITEMS_MAX);
		ck_assert_msg(k >= 0, "bad usage for %s %s: %s", t[i].name,
		    t[i].sub ? t[i].sub : "", t[i].args);
		ck_assert_ptr_nonnull(t[i].exec);
		ck_assert_ptr_nonnull(t[i].summary);
		/* No two rows share a name and subcommand. */
		for (j = 0; j < i; j++) {
			ck_assert(!(strcmp(t[i].name, t[j].name) == 0 &&
			    t[i].sub != NULL && t[j].sub != NULL &&
			    strcmp(t[i].sub, t[j].sub) == 0));
		}
		/* Rows of one command are adjacent (help relies on it). */
		if (i > 1 && strcmp(t[i].name, t[i - 1].name) != 0) {
			for (j = 0; j + 1 < i; j++)
				ck_assert_str_ne(t[j].name, t[i].name);
		}
	}
}
END_TEST

START_TEST(test_spec)
{
	struct console_item	items[CONSOLE_ITEMS_MAX];

	ck_assert_int_eq(console_spec_parse(
	    "MARKET --to ADDR [--user USER] [--pending] [ID]", items,
	    CONSOLE_ITEMS_MAX), 5);
	ck_assert_str_eq(items[0].name, "MARKET");
	ck_assert(!items[0].option && !items[0].optional);
	ck_assert_str_eq(items[1].name, "--to");
	ck_assert_str_eq(items[1].value, "ADDR");
	ck_assert(items[1].option && !items[1].optional);
	ck_assert_str_eq(items[2].name, "--user");
	ck_assert_str_eq(items[2].value, "USER");
	ck_assert(items[2].optional);
	ck_assert_str_eq(items[3].name, "--pending");
	ck_assert_str_eq(items[3].value, "");
	ck_assert_str_eq(items[4].name, "ID");
	ck_assert(items[4].optional);

	ck_assert_int_eq(console_spec_parse("", items, CONSOLE_ITEMS_MAX), 0);
	ck_assert_int_eq(console_spec_parse("[OPEN", items,
	    CONSOLE_ITEMS_MAX), -1);
	/* A required positional after an optional one is ambiguous. */
	ck_assert_int_eq(console_spec_parse("[A] B", items,
	    CONSOLE_ITEMS_MAX), -1);
	ck_assert_int_eq(console_spec_parse("A B C", items, 2), -1);

	ck_assert_int_eq(console_spec_type("MARKET"), CONSOLE_T_MARKET);
	ck_assert_int_eq(console_spec_type("USER"), CONSOLE_T_USER);
	ck_assert_int_eq(console_spec_type("ID"), CONSOLE_T_WORD);
}
END_TEST

static int
parse(const char *spec, const char *line, struct console_args *args,
    char ***argv, char **cause)
{
	int	argc;

	argc = console_split(line, 0, argv, cause);
	ck_assert_int_ge(argc, 0);
	return console_args_parse(spec, argc, *argv, args, cause);
}

START_TEST(test_args)
{
	const char		*spec = "USER [TOKEN] [--reason TEXT] [--pending]";
	struct console_args	 a;
	char			**argv, *cause = NULL;

	ck_assert_int_eq(parse(spec, "keeta_a --reason 'kyc hold' KTA",
	    &a, &argv, &cause), 0);
	ck_assert_int_eq(a.argc, 2);
	ck_assert_str_eq(a.argv[0], "keeta_a");
	ck_assert_str_eq(a.argv[1], "KTA");
	ck_assert_str_eq(console_args_opt(&a, "--reason"), "kyc hold");
	ck_assert_ptr_null(console_args_opt(&a, "--pending"));
	console_words_free(argv);

	ck_assert_int_eq(parse(spec, "--pending --reason=x keeta_a", &a,
	    &argv, &cause), 0);
	ck_assert_str_eq(console_args_opt(&a, "--pending"), "");
	ck_assert_str_eq(console_args_opt(&a, "--reason"), "x");
	ck_assert_int_eq(a.argc, 1);
	console_words_free(argv);

	/* After "--" a word that looks like an option is an argument. */
	ck_assert_int_eq(parse(spec, "-- --odd", &a, &argv, &cause), 0);
	ck_assert_str_eq(a.argv[0], "--odd");
	console_words_free(argv);

	/* The last of a repeated option wins. */
	ck_assert_int_eq(parse(spec, "u --reason a --reason b", &a, &argv,
	    &cause), 0);
	ck_assert_uint_eq(a.nopts, 1);
	ck_assert_str_eq(console_args_opt(&a, "--reason"), "b");
	console_words_free(argv);
}
END_TEST

START_TEST(test_args_errors)
{
	static const struct {
		const char	*spec;
		const char	*line;
		const char	*cause;
	} cases[] = {
		{ "USER", "", "missing USER" },
		{ "USER TOKEN", "u", "missing TOKEN" },
		{ "USER", "u v", "unexpected argument 'v'" },
		{ "", "x", "unexpected argument 'x'" },
		{ "USER", "u --nope", "unknown option '--nope'" },
		{ "USER", "u --nope=1", "unknown option '--nope'" },
		{ "[--user USER]", "--user", "option '--user' needs a value" },
		{ "[--pending]", "--pending=1",
		  "option '--pending' takes no value" },
		{ "--to ADDR", "", "missing option '--to'" },
	};
	struct console_args	 a;
	char			**argv, *cause;
	size_t			 i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cause = NULL;
		ck_assert_int_eq(parse(cases[i].spec, cases[i].line, &a, &argv,
		    &cause), -1);
		ck_assert_str_eq(cause, cases[i].cause);
		free(cause);
		console_words_free(argv);
	}
}
END_TEST

START_TEST(test_lookup)
{
	const struct console_cmd	*t, *e;
	char				 m[] = "markets", h[] = "halt";
	char				 x[] = "X", f[] = "frob", st[] = "status";
	char				*w1[] = { m, h, x, NULL };
	char				*w2[] = { m, f, NULL };
	char				*w3[] = { f, NULL };
	char				*w4[] = { st, x, NULL };
	size_t				 n;
	int				 used;

	t = console_cmd_table(&n);
	e = console_cmd_lookup(t, n, 3, w1, &used);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->sub, "halt");
	ck_assert_int_eq(used, 2);
	ck_assert(e->flags & CONSOLE_CMD_CONFIRM);
	ck_assert_ptr_null(console_cmd_lookup(t, n, 2, w2, &used));
	ck_assert_int_eq(used, 1);
	ck_assert_ptr_null(console_cmd_lookup(t, n, 1, w2, &used));
	ck_assert_int_eq(used, 1);
	ck_assert_ptr_null(console_cmd_lookup(t, n, 1, w3, &used));
	ck_assert_int_eq(used, 0);
	e = console_cmd_lookup(t, n, 2, w4, &used);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(used, 1);
}
END_TEST

static const char *const test_markets[] = { "KTA-USDC", "KTA-EURC",
    "BTC-USDC", NULL };
static const char *const test_users[] = { "keeta_aaa", "keeta_abb",
    "keeta_b", NULL };
static int test_names_calls;

static const char *const *
test_names(void *arg, enum console_type type)
{
	(void)arg;
	test_names_calls++;
	if (type == CONSOLE_T_MARKET)
		return test_markets;
	if (type == CONSOLE_T_USER)
		return test_users;
	return NULL;
}

/* Completion of line (the word being typed runs to its end) as "a b c". */
static char *
complete(const char *line)
{
	const struct console_cmd	*t;
	const char			*sp;
	char				**v, *s;
	size_t				 n, i, len = 0, start;

	t = console_cmd_table(&n);
	sp = strrchr(line, ' ');
	start = sp == NULL ? 0 : (size_t)(sp - line) + 1;
	v = console_complete(t, n, line, start, test_names, NULL);
	if (v == NULL)
		return strdup("");
	for (i = 0; v[i] != NULL; i++)
		len += strlen(v[i]) + 1;
	s = calloc(1, len + 1);
	ck_assert_ptr_nonnull(s);
	for (i = 0; v[i] != NULL; i++) {
		if (i > 0)
			strcat(s, " ");
		strcat(s, v[i]);
	}
	console_words_free(v);
	return s;
}

START_TEST(test_complete)
{
	static const struct {
		const char	*line;
		const char	*want;
	} cases[] = {
		{ "ma", "markets" },
		{ "s", "settlement status" },
		{ "markets h", "halt" },
		{ "markets ", "add cancel-only halt list resume set-fees "
		  "set-limits set-tiers show" },
		{ "markets halt ", "BTC-USDC KTA-EURC KTA-USDC" },
		{ "markets halt KTA-", "KTA-EURC KTA-USDC" },
		{ "markets halt KTA-USDC ", "" },
		{ "markets set-limits KTA-USDC --max-o",
		  "--max-orders --max-orders-per-user" },
		{ "markets set-limits KTA-USDC --mi",
		  "--min-notional --min-size" },
		{ "users freeze keeta_a", "keeta_aaa keeta_abb" },
		{ "users freeze keeta_b --", "--reason" },
		{ "orders list ", "--market --user" },
		{ "orders list --user ", "keeta_aaa keeta_abb keeta_b" },
		{ "orders list --user keeta_b --market K",
		  "KTA-EURC KTA-USDC" },
		{ "orders cancel --id ", "" },
		{ "recon explain keeta_b ", "" },
		{ "help ", "audit deposits help ledger lp markets operator "
		  "orders quit recon settlement status users withdrawals" },
		{ "help recon ", "explain history run show status" },
		{ "status ", "" },
		{ "nosuch ", "" },
		{ "'users' fr", "freeze" },
	};
	size_t	 i;
	char	*got;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		got = complete(cases[i].line);
		ck_assert_msg(strcmp(got, cases[i].want) == 0,
		    "complete '%s': got '%s', want '%s'", cases[i].line, got,
		    cases[i].want);
		free(got);
	}
}
END_TEST

/* Commands and subcommands never ask the server for names. */
START_TEST(test_complete_lazy)
{
	char	*got;

	test_names_calls = 0;
	got = complete("withdrawals re");
	ck_assert_str_eq(got, "reject retry");
	free(got);
	got = complete("");
	ck_assert_ptr_nonnull(strstr(got, "withdrawals"));
	free(got);
	ck_assert_int_eq(test_names_calls, 0);
}
END_TEST

START_TEST(test_since)
{
	int64_t	t;

	ck_assert_int_eq(console_parse_since("1764032400000", 5, &t), 0);
	ck_assert(t == 1764032400000LL);
	ck_assert_int_eq(console_parse_since("15m", 1000000000, &t), 0);
	ck_assert(t == 1000000000 - 15 * 60 * 1000);
	ck_assert_int_eq(console_parse_since("2h", 86400000, &t), 0);
	ck_assert(t == 86400000 - 2 * 3600 * 1000);
	ck_assert_int_eq(console_parse_since("1d", 86400000, &t), 0);
	ck_assert(t == 0);
	ck_assert_int_eq(console_parse_since("2d", 86400000, &t), -1);
	ck_assert_int_eq(console_parse_since("90s", 90000, &t), 0);
	ck_assert(t == 0);
	ck_assert_int_eq(console_parse_since("", 1, &t), -1);
	ck_assert_int_eq(console_parse_since("-5", 1, &t), -1);
	ck_assert_int_eq(console_parse_since("5w", 1, &t), -1);
	ck_assert_int_eq(console_parse_since("5mm", 1, &t), -1);
	ck_assert_int_eq(console_parse_since("1.5h", 1, &t), -1);
	ck_assert_int_eq(console_parse_since("99999999999999999999", 1, &t),
	    -1);
	ck_assert_int_eq(console_parse_since("9223372036854775807d",
	    INT64_MAX, &t), -1);
}
END_TEST

START_TEST(test_value)
{
	static const struct {
		const char	*json;
		const char	*want;
	} cases[] = {
		{ "\"0.000000001\"", "0.000000001" },
		{ "\"340282366920938463463374607431768211455\"",
		  "340282366920938463463374607431768211455" },
		{ "1764032400000", "1764032400000" },
		{ "-100", "-100" },
		{ "true", "true" },
		{ "false", "false" },
		{ "null", "" },
		{ "[\"a\",\"b\",3]", "a,b,3" },
		{ "[]", "" },
		{ "{\"a\":1}", "{\"a\":1}" },
		{ "\"tab\\there\\nnl\\u001b[31m\"", "tab here nl?[31m" },
	};
	cJSON	*v;
	char	*s;
	size_t	 i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		v = cJSON_Parse(cases[i].json);
		ck_assert_ptr_nonnull(v);
		s = console_fmt_value(v);
		ck_assert_str_eq(s, cases[i].want);
		free(s);
		cJSON_Delete(v);
	}
	s = console_fmt_value(NULL);
	ck_assert_str_eq(s, "");
	free(s);
	ck_assert_uint_eq(console_fmt_width("µs"), 2);
}
END_TEST

START_TEST(test_get)
{
	cJSON	*v;

	v = cJSON_Parse("{\"base\":{\"symbol\":\"KTA\"},\"n\":1}");
	ck_assert_str_eq(console_fmt_get(v, "base.symbol")->valuestring,
	    "KTA");
	ck_assert_ptr_null(console_fmt_get(v, "base.nope"));
	ck_assert_ptr_null(console_fmt_get(v, "n.x"));
	ck_assert_ptr_null(console_fmt_get(NULL, "n"));
	cJSON_Delete(v);
}
END_TEST

static const struct console_col test_cols[] = {
	{ "PAIR", "pair" },
	{ "BASE", "base.symbol" },
	{ "TICK", "tick_size" },
};

static const char test_rows[] =
    "[{\"pair\":\"KTA-USDC\",\"base\":{\"symbol\":\"KTA\"},"
    "\"tick_size\":\"0.0001\"},"
    "{\"pair\":\"X-Y\",\"base\":{\"symbol\":\"X\"},\"tick_size\":null}]";

START_TEST(test_table_tsv)
{
	struct capture	 c;
	cJSON		*rows;

	rows = cJSON_Parse(test_rows);
	capture_open(&c);
	console_fmt_table(c.f, CONSOLE_MODE_TSV, test_cols, 3, rows);
	ck_assert_str_eq(capture_text(&c),
	    "KTA-USDC\tKTA\t0.0001\n"
	    "X-Y\tX\t\n");
	capture_close(&c);
	cJSON_Delete(rows);
}
END_TEST

START_TEST(test_table_tty)
{
	struct capture	 c;
	cJSON		*rows;

	rows = cJSON_Parse(test_rows);
	capture_open(&c);
	console_fmt_table(c.f, CONSOLE_MODE_TABLE, test_cols, 3, rows);
	ck_assert_str_eq(capture_text(&c),
	    "PAIR      BASE  TICK\n"
	    "KTA-USDC  KTA   0.0001\n"
	    "X-Y       X     -\n"
	    "(2 rows)\n");
	capture_close(&c);

	capture_open(&c);
	console_fmt_table(c.f, CONSOLE_MODE_TABLE, test_cols, 3, NULL);
	ck_assert_str_eq(capture_text(&c), "PAIR  BASE  TICK\n(0 rows)\n");
	capture_close(&c);

	capture_open(&c);
	console_fmt_table(c.f, CONSOLE_MODE_JSON, test_cols, 3, rows);
	ck_assert_ptr_nonnull(strstr(capture_text(&c), "\"0.0001\""));
	capture_close(&c);
	cJSON_Delete(rows);
}
END_TEST

START_TEST(test_object)
{
	static const char *const	 skip[] = { "rows", NULL };
	struct capture			 c;
	cJSON				*o;

	o = cJSON_Parse("{\"id\":\"7\",\"status\":\"drift\",\"q\":{\"a\":1,"
	    "\"b\":null},\"rows\":[{\"x\":1}],\"tags\":[\"p\",\"q\"]}");
	capture_open(&c);
	console_fmt_object(c.f, CONSOLE_MODE_TSV, o, skip);
	ck_assert_str_eq(capture_text(&c),
	    "id\t7\nstatus\tdrift\nq.a\t1\nq.b\t\ntags\tp,q\n");
	capture_close(&c);

	capture_open(&c);
	console_fmt_object(c.f, CONSOLE_MODE_TABLE, o, skip);
	ck_assert_str_eq(capture_text(&c),
	    "id      7\nstatus  drift\nq.a     1\nq.b     -\ntags    p,q\n");
	capture_close(&c);
	cJSON_Delete(o);
}
END_TEST

START_TEST(test_escape)
{
	char	*s;

	s = console_http_escape("keeta_abc-1.2~x");
	ck_assert_str_eq(s, "keeta_abc-1.2~x");
	free(s);
	s = console_http_escape("a b/c?d&e=f%\xc3\xa9");
	ck_assert_str_eq(s, "a%20b%2Fc%3Fd%26e%3Df%25%C3%A9");
	free(s);
}
END_TEST

START_TEST(test_resp_error)
{
	struct console_resp	r;
	char			*s;

	memset(&r, 0, sizeof r);
	r.status = 404;
	r.json = cJSON_Parse("{\"error\":{\"code\":\"not_found\","
	    "\"message\":\"unknown user 'x'\"}}");
	s = console_resp_error(&r);
	ck_assert_str_eq(s, "unknown user 'x' (not_found)");
	free(s);
	cJSON_Delete(r.json);
	r.json = NULL;
	r.status = 502;
	s = console_resp_error(&r);
	ck_assert_str_eq(s, "HTTP status 502");
	free(s);
}
END_TEST

/* console_cmd_run with no key: every path that needs no answer. */
START_TEST(test_run)
{
	struct console	c;
	struct capture	out, err;

	memset(&c, 0, sizeof c);
	c.http = console_http_create("http://127.0.0.1:1", NULL,
	    "no key here", NULL);
	capture_open(&out);
	capture_open(&err);
	c.out = out.f;
	c.err = err.f;
	c.mode = CONSOLE_MODE_TSV;

	ck_assert_int_eq(console_cmd_run(&c, "   "), CONSOLE_OK);
	ck_assert_int_eq(console_cmd_run(&c, "# a comment"), CONSOLE_OK);
	ck_assert_int_eq(console_cmd_run(&c, "help recon"), CONSOLE_OK);
	ck_assert_ptr_nonnull(strstr(capture_text(&out),
	    "recon explain USER TOKEN\twalk the audit log"));
	ck_assert_ptr_null(strstr(capture_text(&out), "markets"));

	ck_assert_int_eq(console_cmd_run(&c, "help nosuch"), CONSOLE_USAGE);
	ck_assert_int_eq(console_cmd_run(&c, "nosuch"), CONSOLE_USAGE);
	ck_assert_ptr_nonnull(strstr(capture_text(&err),
	    "error: unknown command 'nosuch' (try 'help')"));
	ck_assert_int_eq(console_cmd_run(&c, "recon"), CONSOLE_USAGE);
	ck_assert_ptr_nonnull(strstr(capture_text(&err),
	    "usage: recon run|status|history|show|explain\n"));
	ck_assert_int_eq(console_cmd_run(&c, "recon explain keeta_x"),
	    CONSOLE_USAGE);
	ck_assert_ptr_nonnull(strstr(capture_text(&err),
	    "error: recon explain: missing TOKEN\n"
	    "usage: recon explain USER TOKEN\n"));
	ck_assert_int_eq(console_cmd_run(&c, "users 'freeze"), CONSOLE_USAGE);

	/* Destructive, no terminal to ask on, no --yes: refused. */
	ck_assert_int_eq(console_cmd_run(&c, "users freeze keeta_x"),
	    CONSOLE_FAIL);
	ck_assert_ptr_nonnull(strstr(capture_text(&err),
	    "error: users freeze: not confirmed"));
	/* With --yes it runs, and fails for want of a key. */
	c.yes = 1;
	ck_assert_int_eq(console_cmd_run(&c, "users freeze keeta_x"),
	    CONSOLE_FAIL);
	ck_assert_ptr_nonnull(strstr(capture_text(&err),
	    "error: users freeze: no key here"));

	/* Bad values are caught before any request. */
	ck_assert_int_eq(console_cmd_run(&c, "markets set-fees A-B 1.5 2"),
	    CONSOLE_USAGE);
	ck_assert_int_eq(console_cmd_run(&c,
	    "markets add AB k:9 q:6 0.01 1"), CONSOLE_USAGE);
	ck_assert_int_eq(console_cmd_run(&c,
	    "markets add A-B k q:6 0.01 1"), CONSOLE_USAGE);
	ck_assert_int_eq(console_cmd_run(&c, "markets set-limits A-B"),
	    CONSOLE_USAGE);
	ck_assert_int_eq(console_cmd_run(&c,
	    "markets set-limits A-B --max-orders 0"), CONSOLE_USAGE);
	ck_assert_int_eq(console_cmd_run(&c,
	    "markets set-limits A-B --max-levels lots"), CONSOLE_USAGE);
	ck_assert_int_eq(console_cmd_run(&c, "orders cancel"), CONSOLE_USAGE);
	ck_assert_int_eq(console_cmd_run(&c, "audit search --since soon"),
	    CONSOLE_USAGE);

	ck_assert_int_eq(c.quit, 0);
	ck_assert_int_eq(console_cmd_run(&c, "quit"), CONSOLE_OK);
	ck_assert_int_eq(c.quit, 1);

	capture_close(&out);
	capture_close(&err);
	console_http_free(c.http);
}
END_TEST

/* Without a listener the request fails cleanly: no crash, FAIL. */
START_TEST(test_run_refused)
{
	struct console	c;
	struct capture	out, err;

	memset(&c, 0, sizeof c);
	/* Port 1 on loopback: nothing listens there in a test box. */
	c.http = console_http_create("http://127.0.0.1:1/", "k", NULL, NULL);
	capture_open(&out);
	capture_open(&err);
	c.out = out.f;
	c.err = err.f;
	c.mode = CONSOLE_MODE_TABLE;
	ck_assert_int_eq(console_cmd_run(&c, "status"), CONSOLE_FAIL);
	ck_assert_ptr_nonnull(strstr(capture_text(&err),
	    "error: status: cannot reach http://127.0.0.1:1: "));
	ck_assert_str_eq(capture_text(&out), "");
	capture_close(&out);
	capture_close(&err);
	console_http_free(c.http);
}
END_TEST

static Suite *
console_suite(void)
{
	Suite	*s = suite_create("console");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_split);
	tcase_add_test(tc, test_split_limit);
	tcase_add_test(tc, test_table);
	tcase_add_test(tc, test_spec);
	tcase_add_test(tc, test_args);
	tcase_add_test(tc, test_args_errors);
	tcase_add_test(tc, test_lookup);
	tcase_add_test(tc, test_complete);
	tcase_add_test(tc, test_complete_lazy);
	tcase_add_test(tc, test_since);
	tcase_add_test(tc, test_value);
	tcase_add_test(tc, test_get);
	tcase_add_test(tc, test_table_tsv);
	tcase_add_test(tc, test_table_tty);
	tcase_add_test(tc, test_object);
	tcase_add_test(tc, test_escape);
	tcase_add_test(tc, test_resp_error);
	tcase_add_test(tc, test_run);
	tcase_add_test(tc, test_run_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(console_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
