/*
 * check_book: the order book driven by scenario files, curl-style.
 *
 * Each tests/data/book/NAME.txt is a market line, then commands, each
 * followed by the events it must produce, one per "> " line, in order and
 * nothing else. "depth" prints the book ("> bid PRICE QTY ORDERS", best
 * first). Every event's sequence number must be the previous one plus one,
 * and the whole book is checked (book_check) after every command.
 *
 * Commands (key=value, any order; t is the command's time, default 0):
 *   market  tick= lot= bdec= qdec= maker= taker= min_lots= min_notional=
 *           max_price= max_qty= max_orders= max_levels= per_user=
 *   place   t= id= u= side=buy|sell type=limit|market px= qty= tif=gtc|ioc|fok
 *           post=1 stp=taker|maker|both cid= exp= maxq= slip=
 *   cancel  t= u= id=        cancelcid t= u= cid=     cancelall t= u=
 *   amend   t= u= id= px= qty=          expire t=      status s=STATUS
 *   restore (as place) left=    fees maker= taker=
 *   limits  max_orders= max_levels= per_user=
 *   tiers   t1=VOLUME:MAKER:TAKER ... t7=   (fee tiers above tier 0)
 *   usertier u= n=                        (place also takes tier=)
 *   depth   user u=
 * With KDEX_BOOK_REGEN=1 the runner writes FILE.out with the events it saw
 * instead of comparing (for writing new scenarios; review before use).
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book.h"
#include "market.h"
#include "money.h"
#include "util.h"

#define MAXFILES	64
#define MAXOUT		4096

static char	*files[MAXFILES];
static int	 nfiles;

struct out {
	char		*line[MAXOUT];
	int		 n;
	uint64_t	 last_seq;
	int		 any;
};

static void
out_add(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
out_add(struct out *o, const char *fmt, ...)
{
	va_list	ap;

	ck_assert_int_lt(o->n, MAXOUT);
	va_start(ap, fmt);
	xvasprintf(&o->line[o->n++], fmt, ap);
	va_end(ap);
}

static void
out_clear(struct out *o)
{
	int	i;

	for (i = 0; i < o->n; i++)
		free(o->line[i]);
	o->n = 0;
}

static const char *
u128s(u128 v)
{
	static char	buf[8][MONEY_BUFSZ];
	static int	n;

	n = (n + 1) % 8;
	money_format_u128(buf[n], v);
	return buf[n];
}

static const char *cmd_names[] = {
	"place", "cancel", "cancelcid", "cancelall", "amend", "expire"
};
static const char *type_names[] = { "limit", "market" };
static const char *tif_names[] = { "gtc", "ioc", "fok" };

static void
sink(void *arg, const struct book_event *ev)
{
	struct out	*o = arg;

	if (o->any)
		ck_assert_msg(ev->seq == o->last_seq + 1, "sequence gap");
	o->any = 1;
	o->last_seq = ev->seq;
	switch (ev->type) {
	case BOOK_EV_ACCEPTED:
		out_add(o, "accepted id=%" PRIu64 " u=%" PRIu64 " %s %s %s "
		    "px=%" PRIu64 " qty=%" PRIu64 "%s%s%s%s%s%s%s",
		    ev->accepted.id, ev->accepted.user,
		    book_side_name(ev->accepted.side),
		    type_names[ev->accepted.type], tif_names[ev->accepted.tif],
		    ev->accepted.price, ev->accepted.qty,
		    ev->accepted.post_only ? " post" : "",
		    *ev->accepted.client_id != '\0' ? " cid=" : "",
		    ev->accepted.client_id,
		    ev->accepted.expire_at != 0 ? " exp=" : "",
		    ev->accepted.expire_at != 0 ?
		    u128s(ev->accepted.expire_at) : "",
		    ev->accepted.max_quote != 0 ? " maxq=" : "",
		    ev->accepted.max_quote != 0 ?
		    u128s(ev->accepted.max_quote) : "");
		break;
	case BOOK_EV_REJECTED:
		out_add(o, "rejected %s id=%" PRIu64 " u=%" PRIu64 " %s",
		    cmd_names[ev->rejected.cmd], ev->rejected.id,
		    ev->rejected.user, book_reject_name(ev->rejected.reason));
		break;
	case BOOK_EV_TRADE:
		out_add(o, "trade taker=%" PRIu64 " maker=%" PRIu64 " tu=%"
		    PRIu64 " mu=%" PRIu64 " %s px=%" PRIu64 " qty=%" PRIu64
		    " notional=%s tfee=%s mfee=%s rebate=%s tleft=%" PRIu64
		    " mleft=%" PRIu64, ev->trade.taker_id, ev->trade.maker_id,
		    ev->trade.taker_user, ev->trade.maker_user,
		    book_side_name(ev->trade.taker_side), ev->trade.price,
		    ev->trade.qty, u128s(ev->trade.notional),
		    u128s(ev->trade.taker_fee), u128s(ev->trade.maker_fee),
		    u128s(ev->trade.maker_rebate), ev->trade.taker_left,
		    ev->trade.maker_left);
		/* Tiers only when one is not 0: older scenarios stay. */
		if (ev->trade.taker_tier != 0 || ev->trade.maker_tier != 0)
			out_add(o, "  tiers taker=%u/%d maker=%u/%d",
			    ev->trade.taker_tier, ev->trade.taker_fee_ppm,
			    ev->trade.maker_tier, ev->trade.maker_fee_ppm);
		break;
	case BOOK_EV_RESTED:
		out_add(o, "rested id=%" PRIu64 " u=%" PRIu64 " %s px=%" PRIu64
		    " qty=%" PRIu64, ev->rested.id, ev->rested.user,
		    book_side_name(ev->rested.side), ev->rested.price,
		    ev->rested.qty);
		break;
	case BOOK_EV_CANCELLED:
		out_add(o, "cancelled id=%" PRIu64 " u=%" PRIu64 " %s px=%"
		    PRIu64 " left=%" PRIu64 " %s", ev->cancelled.id,
		    ev->cancelled.user, book_side_name(ev->cancelled.side),
		    ev->cancelled.price, ev->cancelled.left,
		    book_cancel_reason_name(ev->cancelled.reason));
		break;
	case BOOK_EV_DONE:
		out_add(o, "done id=%" PRIu64 " u=%" PRIu64 " %s px=%" PRIu64,
		    ev->done.id, ev->done.user, book_side_name(ev->done.side),
		    ev->done.price);
		break;
	case BOOK_EV_AMENDED:
		out_add(o, "amended id=%" PRIu64 " u=%" PRIu64 " %s px=%" PRIu64
		    "->%" PRIu64 " qty=%" PRIu64 "->%" PRIu64 " %s",
		    ev->amended.id, ev->amended.user,
		    book_side_name(ev->amended.side), ev->amended.old_price,
		    ev->amended.price, ev->amended.old_qty, ev->amended.qty,
		    ev->amended.kept_priority ? "kept" : "moved");
		break;
	case BOOK_EV_LEVEL:
		out_add(o, "level %s px=%" PRIu64 " qty=%" PRIu64 " n=%u "
		    "dseq=%" PRIu64, book_side_name(ev->level.side),
		    ev->level.price, ev->level.qty, ev->level.orders,
		    ev->level.depth_seq);
		break;
	}
}

/* key=value lookup in a tokenised command line. */
struct args {
	char	*key[32];
	char	*val[32];
	int	 n;
	int	 used[32];
};

static const char *
arg(struct args *a, const char *key)
{
	int	i;

	for (i = 0; i < a->n; i++) {
		if (strcmp(a->key[i], key) == 0) {
			a->used[i] = 1;
			return a->val[i];
		}
	}
	return NULL;
}

static uint64_t
argu(struct args *a, const char *key, uint64_t def)
{
	const char	*v = arg(a, key);
	u128		 x;

	if (v == NULL)
		return def;
	ck_assert_msg(money_parse_u128(&x, v) == MONEY_OK && x <= UINT64_MAX,
	    "bad number %s=%s", key, v);
	return (uint64_t)x;
}

static int64_t
args_i(struct args *a, const char *key, int64_t def)
{
	const char	*v = arg(a, key);

	if (v == NULL)
		return def;
	return strtoll(v, NULL, 10);
}

static void
market_from(struct args *a, struct market *m)
{
	struct market_config	 c;
	char			*cause = NULL;

	memset(&c, 0, sizeof c);
	strcpy(c.base.symbol, "BASE");
	strcpy(c.quote.symbol, "QUOTE");
	c.base.decimals = (unsigned int)argu(a, "bdec", 0);
	c.quote.decimals = (unsigned int)argu(a, "qdec", 0);
	c.tick_size = argu(a, "tick", 1);
	c.lot_size = argu(a, "lot", 1);
	c.min_lots = argu(a, "min_lots", 1);
	c.min_notional = argu(a, "min_notional", 0);
	c.maker_fee_ppm = (int32_t)args_i(a, "maker", 0);
	c.taker_fee_ppm = (int32_t)args_i(a, "taker", 0);
	c.max_price_ticks = argu(a, "max_price", 1000000);
	c.max_qty_lots = argu(a, "max_qty", 1000000);
	c.limits.max_orders = (uint32_t)argu(a, "max_orders", 100);
	c.limits.max_levels = (uint32_t)argu(a, "max_levels", 100);
	c.limits.max_orders_per_user = (uint32_t)argu(a, "per_user", 100);
	ck_assert_msg(market_init(m, &c, &cause) == 0, "market: %s", cause);
}

static int
find_enum(const char *v, const char **names, int n)
{
	int	i;

	for (i = 0; i < n; i++)
		if (strcmp(v, names[i]) == 0)
			return i;
	ck_abort_msg("unknown value %s", v);
	return -1;
}

/* Run one command; its events land in o. */
static void
run_cmd(struct book **bp, struct market *m, struct out *o, char *verb,
    struct args *a)
{
	static const char	*sides[] = { "buy", "sell" };
	static const char	*stps[] = { "taker", "maker", "both" };
	struct book_place	 p;
	struct book		*b = *bp;
	enum book_reject	 r = BOOK_OK;
	enum market_status	 st;
	struct book_level	 lv[64];
	const char		*v;
	uint64_t		 t = argu(a, "t", 0);
	size_t			 i, n;
	int			 s, check_reject = 1;

	if (strcmp(verb, "market") == 0) {
		market_from(a, m);
		book_free(b);
		o->any = 0;	/* a new book starts its own sequence */
		*bp = book_create(m, 1, sink, o);
		return;
	}
	ck_assert_msg(b != NULL, "command before market");
	if (strcmp(verb, "place") == 0 || strcmp(verb, "restore") == 0) {
		memset(&p, 0, sizeof p);
		p.id = argu(a, "id", 0);
		p.user = argu(a, "u", 0);
		p.client_id = arg(a, "cid");
		if ((v = arg(a, "side")) != NULL)
			p.side = (enum book_side)find_enum(v, sides, 2);
		if ((v = arg(a, "type")) != NULL)
			p.type = (enum book_type)find_enum(v, type_names, 2);
		if ((v = arg(a, "tif")) != NULL)
			p.tif = (enum book_tif)find_enum(v, tif_names, 3);
		if ((v = arg(a, "stp")) != NULL)
			p.stp = (enum book_stp)find_enum(v, stps, 3);
		p.post_only = argu(a, "post", 0) != 0;
		p.price = argu(a, "px", 0);
		p.qty = argu(a, "qty", 0);
		p.expire_at = argu(a, "exp", 0);
		p.max_quote = argu(a, "maxq", 0);
		p.slippage_bps = (uint32_t)argu(a, "slip", 0);
		p.tier = (unsigned int)argu(a, "tier", 0);
		if (*verb == 'r') {
			/* No events: say what happened. */
			r = book_restore(b, &p, argu(a, "left", p.qty));
			out_add(o, "= restore %s", book_reject_name(r));
			r = BOOK_OK;
		} else
			r = book_place(b, t, &p);
	} else if (strcmp(verb, "cancel") == 0)
		r = book_cancel(b, t, argu(a, "u", 0), argu(a, "id", 0));
	else if (strcmp(verb, "cancelcid") == 0)
		r = book_cancel_client(b, t, argu(a, "u", 0), arg(a, "cid"));
	else if (strcmp(verb, "cancelall") == 0) {
		n = book_cancel_all(b, t, argu(a, "u", 0));
		out_add(o, "= cancelled %zu", n);
	} else if (strcmp(verb, "amend") == 0)
		r = book_amend(b, t, argu(a, "u", 0), argu(a, "id", 0),
		    argu(a, "px", 0), argu(a, "qty", 0));
	else if (strcmp(verb, "expire") == 0) {
		n = book_expire(b, t);
		out_add(o, "= expired %zu", n);
	} else if (strcmp(verb, "status") == 0) {
		v = arg(a, "s");
		ck_assert(v != NULL && market_status_parse(v, &st) == 0);
		book_set_status(b, st);
	} else if (strcmp(verb, "fees") == 0) {
		out_add(o, "= fees %d", book_set_fees(b,
		    (int32_t)args_i(a, "maker", 0),
		    (int32_t)args_i(a, "taker", 0)));
	} else if (strcmp(verb, "tiers") == 0) {
		struct market_tiers	tt;
		char			key[4];
		long long		mk, tk;
		unsigned long long	vol;

		market_tiers_base(book_market(b), &tt);
		for (i = 1; i < MARKET_TIERS_MAX; i++) {
			snprintf(key, sizeof key, "t%zu", i);
			if ((v = arg(a, key)) == NULL)
				break;
			ck_assert_int_eq(sscanf(v, "%llu:%lld:%lld", &vol, &mk,
			    &tk), 3);
			tt.tier[i].min_volume = vol;
			tt.tier[i].maker_fee_ppm = (int32_t)mk;
			tt.tier[i].taker_fee_ppm = (int32_t)tk;
			tt.n++;
		}
		out_add(o, "= tiers %d", book_set_tiers(b, &tt));
	} else if (strcmp(verb, "usertier") == 0) {
		out_add(o, "= usertier %d", book_set_user_tier(b,
		    argu(a, "u", 0), (unsigned int)argu(a, "n", 0)));
	} else if (strcmp(verb, "limits") == 0) {
		struct market_limits	lim;

		lim.max_orders = (uint32_t)argu(a, "max_orders", 0);
		lim.max_levels = (uint32_t)argu(a, "max_levels", 0);
		lim.max_orders_per_user = (uint32_t)argu(a, "per_user", 0);
		out_add(o, "= limits %d", book_set_limits(b, &lim));
	} else if (strcmp(verb, "depth") == 0) {
		check_reject = 0;
		for (s = 1; s >= 0; s--) {
			n = book_depth(b, (enum book_side)s, lv, 64);
			for (i = 0; i < n; i++)
				out_add(o, "%s %" PRIu64 " %" PRIu64 " %u",
				    s == BOOK_BUY ? "bid" : "ask",
				    lv[i].price, lv[i].qty, lv[i].orders);
		}
		out_add(o, "= orders %zu", book_order_count(b));
	} else if (strcmp(verb, "user") == 0) {
		out_add(o, "= user %" PRIu64 " orders %zu", argu(a, "u", 0),
		    book_user_order_count(b, argu(a, "u", 0)));
	} else
		ck_abort_msg("unknown command %s", verb);
	if (check_reject && r != BOOK_OK) {
		/* A refused command says so in its last event. */
		ck_assert_int_gt(o->n, 0);
		ck_assert_ptr_nonnull(strstr(o->line[o->n - 1],
		    book_reject_name(r)));
	}
	book_check(b);
	for (i = 0; i < (size_t)a->n; i++)
		ck_assert_msg(a->used[i], "unused argument %s", a->key[i]);
}

static void
split(char *line, char **verb, struct args *a)
{
	char	*tok, *save = NULL, *eq;

	memset(a, 0, sizeof *a);
	*verb = strtok_r(line, " \t\n", &save);
	while ((tok = strtok_r(NULL, " \t\n", &save)) != NULL) {
		ck_assert_int_lt(a->n, 32);
		eq = strchr(tok, '=');
		ck_assert_msg(eq != NULL, "bad argument %s", tok);
		*eq = '\0';
		a->key[a->n] = tok;
		a->val[a->n] = eq + 1;
		a->n++;
	}
}

START_TEST(test_scenario)
{
	const char	*dir = getenv("KDEX_TEST_DATA");
	char		*path, *outpath, line[1024], cmdline[1024], *verb;
	FILE		*f, *regen = NULL;
	struct out	 o;
	struct args	 a;
	struct market	 m;
	struct book	*b = NULL;
	int		 lineno = 0, pending = 0, k = 0, cmds = 0;

	ck_assert_ptr_nonnull(dir);
	xasprintf(&path, "%s/book/%s", dir, files[_i]);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	if (getenv("KDEX_BOOK_REGEN") != NULL) {
		xasprintf(&outpath, "%s.out", path);
		regen = fopen(outpath, "w");
		ck_assert_ptr_nonnull(regen);
		free(outpath);
	}
	memset(&o, 0, sizeof o);
	for (;;) {
		char	*got = fgets(line, sizeof line, f);

		lineno += got != NULL;
		if (got != NULL && strncmp(line, "> ", 2) == 0) {
			line[strcspn(line, "\n")] = '\0';
			if (regen != NULL)
				continue;
			ck_assert_msg(pending, "%s:%d: event without command",
			    files[_i], lineno);
			ck_assert_msg(k < o.n, "%s:%d: expected '%s', no more "
			    "events after '%s'", files[_i], lineno, line + 2,
			    cmdline);
			ck_assert_msg(strcmp(o.line[k], line + 2) == 0,
			    "%s:%d: expected '%s', got '%s'", files[_i],
			    lineno, line + 2, o.line[k]);
			k++;
			continue;
		}
		/* End of a command's block: nothing may be left over. */
		if (pending && regen == NULL)
			ck_assert_msg(k == o.n, "%s: '%s' produced "
			    "unexpected '%s'", files[_i], cmdline,
			    o.line[k]);
		pending = 0;
		out_clear(&o);
		k = 0;
		if (got == NULL)
			break;
		if (regen != NULL && strncmp(line, "> ", 2) != 0)
			fputs(line, regen);
		if (line[0] == '#' || strspn(line, " \t\n") == strlen(line))
			continue;
		strcpy(cmdline, line);
		cmdline[strcspn(cmdline, "\n")] = '\0';
		split(line, &verb, &a);
		run_cmd(&b, &m, &o, verb, &a);
		cmds++;
		pending = 1;
		if (regen != NULL)
			for (k = 0; k < o.n; k++)
				fprintf(regen, "> %s\n", o.line[k]);
		k = 0;
	}
	ck_assert_int_gt(cmds, 1);
	out_clear(&o);
	book_free(b);
	fclose(f);
	if (regen != NULL)
		fclose(regen);
	free(path);
}
END_TEST

static int
cmpstr(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

static void
list_files(void)
{
	const char	*dir = getenv("KDEX_TEST_DATA");
	char		*path;
	DIR		*d;
	struct dirent	*de;
	size_t		 len;

	if (dir == NULL)
		return;
	xasprintf(&path, "%s/book", dir);
	if ((d = opendir(path)) == NULL)
		fatal("opendir %s", path);
	while ((de = readdir(d)) != NULL && nfiles < MAXFILES) {
		len = strlen(de->d_name);
		if (len > 4 && strcmp(de->d_name + len - 4, ".txt") == 0)
			files[nfiles++] = xstrdup(de->d_name);
	}
	closedir(d);
	free(path);
	qsort(files, (size_t)nfiles, sizeof *files, cmpstr);
}

int
main(void)
{
	Suite	*s = suite_create("book");
	TCase	*tc = tcase_create("scenarios");
	SRunner	*sr;
	int	 failed, i;

	list_files();
	if (nfiles == 0) {
		fprintf(stderr, "no scenarios (KDEX_TEST_DATA unset?)\n");
		return EXIT_FAILURE;
	}
	tcase_add_loop_test(tc, test_scenario, 0, nfiles);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	for (i = 0; i < nfiles; i++)
		free(files[i]);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
