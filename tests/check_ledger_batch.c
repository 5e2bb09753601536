/*
 * check_ledger_batch: the ledger's batch write path (doc/ledger.md): order
 * reservations netted by ledger_hold() into one audit line per user and
 * token, fills buffered inside ledger_begin() and visible to reads before
 * the commit, all or nothing with a duplicate, and ledger_order_write_many()
 * inserting new rows and updating stored ones.  Real SQLite files in /tmp.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger.h"
#include "money.h"
#include "util.h"

struct fx {
	char		 dir[64];
	char		 path[96];
	struct ledger	*l;
	int64_t		 u, t;
};

static void
fx_setup(struct fx *f)
{
	char	*cause = NULL;
	int64_t	 id;

	snprintf(f->dir, sizeof f->dir, "/tmp/check_ledger_batch.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/ledger.db", f->dir);
	f->l = ledger_open(f->path, NULL, &cause);
	ck_assert_msg(f->l != NULL, "open: %s", cause ? cause : "?");
	ck_assert_int_eq(ledger_token_add(f->l, "keeta_kta", "KTA", 6, &f->t),
	    LEDGER_OK);
	ck_assert_int_eq(ledger_user_add(f->l, "keeta_u", "ed25519", &f->u),
	    LEDGER_OK);
	ck_assert_int_eq(ledger_deposit_credit(f->l, f->u, f->t, 1000, "blk",
	    0, &id), LEDGER_OK);
}

static void
fx_teardown(struct fx *f)
{
	char	cmd[128];

	ledger_close(f->l);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void
fx_reopen(struct fx *f)
{
	char	*cause = NULL;

	ledger_close(f->l);
	f->l = ledger_open(f->path, NULL, &cause);
	ck_assert_msg(f->l != NULL, "reopen: %s", cause ? cause : "?");
}

struct lines {
	size_t			n;
	struct ledger_audit	last;
};

static void
line_cb(const struct ledger_audit *a, void *arg)
{
	struct lines	*ls = arg;

	ls->n++;
	ls->last = *a;
}

static void
assert_consistent(struct ledger *l)
{
	char	**fail;
	size_t	  nfail, i;
	int	  n;

	n = ledger_check(l, &fail, &nfail);
	for (i = 0; i < nfail; i++)
		fprintf(stderr, "check: %s\n", fail[i]);
	ledger_check_free(fail, nfail);
	ck_assert_int_eq(n, 0);
}

/* A limit order row holding amount of token t. */
static void
order_row(struct ledger_order *o, const struct fx *f, int64_t id,
    u128 amount)
{
	memset(o, 0, sizeof *o);
	o->id = id;
	o->user_id = f->u;
	o->market_id = 1;
	o->side = 1;
	o->price = 100;
	o->qty = 10;
	o->reserved = amount;
	o->reserve_token = f->t;
	o->status = LEDGER_ORDER_OPEN;
	o->created_at = o->updated_at = 1;
}

START_TEST(test_hold_net_line)
{
	struct fx		 f;
	struct ledger_balance	 b;
	struct ledger_order	 o[2];
	struct lines		 ls;

	fx_setup(&f);
	ck_assert_int_eq(ledger_begin(f.l, NULL), 0);
	/* Reserve 100 and 5 for two orders, give 30 of the first back. */
	ck_assert_int_eq(ledger_hold(f.l, f.u, f.t, false, 100), LEDGER_OK);
	ck_assert_int_eq(ledger_hold(f.l, f.u, f.t, true, 30), LEDGER_OK);
	ck_assert_int_eq(ledger_hold(f.l, f.u, f.t, false, 5), LEDGER_OK);
	/* Refused ones change nothing: 925 is available, 1000 is the total. */
	ck_assert_int_eq(ledger_hold(f.l, f.u, f.t, false, 926),
	    LEDGER_INSUFFICIENT);
	ck_assert_int_eq(ledger_hold(f.l, f.u, f.t, true, 76),
	    LEDGER_OVERFLOW);
	ck_assert_int_eq(ledger_balance_get(f.l, f.u, f.t, &b), LEDGER_OK);
	ck_assert(b.available == 925 && b.total == 1000);
	order_row(&o[0], &f, 1, 70);
	order_row(&o[1], &f, 2, 5);
	ck_assert_int_eq(ledger_order_write_many(f.l, o, 2, 2), LEDGER_OK);
	ck_assert_int_eq(ledger_commit(f.l, NULL), 0);

	/* One reservation line for the net, and the books balance. */
	fx_reopen(&f);
	memset(&ls, 0, sizeof ls);
	ck_assert_int_eq(ledger_audit_list(f.l, f.u, LEDGER_CAUSE_RESERVATION,
	    0, 0, line_cb, &ls), LEDGER_OK);
	ck_assert_uint_eq(ls.n, 1);
	ck_assert_str_eq(ls.last.ref, "orders");
	ck_assert(ls.last.d_available.neg && ls.last.d_available.abs == 75);
	ck_assert(ls.last.d_total.abs == 0);
	ck_assert_int_eq(ledger_balance_get(f.l, f.u, f.t, &b), LEDGER_OK);
	ck_assert(b.available == 925 && b.total == 1000);
	assert_consistent(f.l);

	/* A rolled back transaction leaves neither balance nor line. */
	ck_assert_int_eq(ledger_begin(f.l, NULL), 0);
	ck_assert_int_eq(ledger_hold(f.l, f.u, f.t, false, 25), LEDGER_OK);
	ledger_rollback(f.l);
	memset(&ls, 0, sizeof ls);
	ck_assert_int_eq(ledger_audit_list(f.l, f.u, LEDGER_CAUSE_RESERVATION,
	    0, 0, line_cb, &ls), LEDGER_OK);
	ck_assert_uint_eq(ls.n, 1);
	ck_assert_int_eq(ledger_balance_get(f.l, f.u, f.t, &b), LEDGER_OK);
	ck_assert(b.available == 925);
	fx_teardown(&f);
}
END_TEST

static void
fill_row(struct ledger_fill *fl, const struct fx *f, int64_t id)
{
	memset(fl, 0, sizeof *fl);
	fl->id = id;
	fl->market_id = 1;
	fl->seq = (uint64_t)id;
	fl->ts = 1;
	fl->price = 100;
	fl->qty = 1;
	fl->taker_order = 1;
	fl->maker_order = 2;
	fl->taker_user = f->u;
	fl->maker_user = f->u;
	fl->base_amount = (u128)1 << 100;	/* above 2^64 */
	fl->quote_amount = 10000000000000000000ULL;	/* 10^19 */
	fl->taker_fee.abs = 7;
	fl->maker_fee.neg = true;
	fl->maker_fee.abs = 2;
	fl->fee_token = f->t;
}

START_TEST(test_fills_buffered)
{
	struct fx		 f;
	struct ledger_fill	 fl, got;
	size_t			 i;

	fx_setup(&f);
	/* More than one statement's worth, read back before the commit. */
	ck_assert_int_eq(ledger_begin(f.l, NULL), 0);
	for (i = 1; i <= 40; i++) {
		fill_row(&fl, &f, (int64_t)i);
		ck_assert_int_eq(ledger_fill_insert(f.l, &fl), LEDGER_OK);
	}
	ck_assert_int_eq(ledger_fill_get(f.l, 40, &got), LEDGER_OK);
	fill_row(&fl, &f, 41);
	ck_assert_int_eq(ledger_fill_insert(f.l, &fl), LEDGER_OK);
	ck_assert_int_eq(ledger_commit(f.l, NULL), 0);
	fx_reopen(&f);
	for (i = 1; i <= 41; i++)
		ck_assert_int_eq(ledger_fill_get(f.l, (int64_t)i, &got),
		    LEDGER_OK);
	fill_row(&fl, &f, 41);
	ck_assert(got.base_amount == fl.base_amount);
	ck_assert(got.quote_amount == fl.quote_amount);
	ck_assert(!got.taker_fee.neg && got.taker_fee.abs == 7);
	ck_assert(got.maker_fee.neg && got.maker_fee.abs == 2);

	/* A duplicate id found at commit: nothing of the batch stays. */
	ck_assert_int_eq(ledger_begin(f.l, NULL), 0);
	fill_row(&fl, &f, 42);
	ck_assert_int_eq(ledger_fill_insert(f.l, &fl), LEDGER_OK);
	fill_row(&fl, &f, 5);
	ck_assert_int_eq(ledger_fill_insert(f.l, &fl), LEDGER_OK);
	ck_assert_int_eq(ledger_hold(f.l, f.u, f.t, false, 10), LEDGER_OK);
	ck_assert_int_eq(ledger_commit(f.l, NULL), -1);
	ck_assert_int_eq(ledger_fill_get(f.l, 42, &got), LEDGER_NOTFOUND);
	fx_reopen(&f);
	ck_assert_int_eq(ledger_fill_get(f.l, 42, &got), LEDGER_NOTFOUND);
	assert_consistent(f.l);
	fx_teardown(&f);
}
END_TEST

START_TEST(test_order_write_many)
{
	struct fx		 f;
	struct ledger_order	 o[17], got;
	size_t			 i;

	fx_setup(&f);
	/* 17 new rows: one full statement and one left over. */
	ck_assert_int_eq(ledger_begin(f.l, NULL), 0);
	for (i = 0; i < 17; i++)
		order_row(&o[i], &f, (int64_t)i + 1, 0);
	ck_assert_int_eq(ledger_order_write_many(f.l, o, 17, 17), LEDGER_OK);
	ck_assert_int_eq(ledger_commit(f.l, NULL), 0);

	/* Two new, then two stored ones updated in the same call. */
	ck_assert_int_eq(ledger_begin(f.l, NULL), 0);
	order_row(&o[0], &f, 18, 0);
	order_row(&o[1], &f, 19, 0);
	order_row(&o[2], &f, 3, 0);
	o[2].filled = 10;
	o[2].status = LEDGER_ORDER_FILLED;
	o[2].updated_at = 9;
	order_row(&o[3], &f, 4, 0);
	o[3].status = LEDGER_ORDER_CANCELLED;
	ck_assert_int_eq(ledger_order_write_many(f.l, o, 4, 2), LEDGER_OK);
	ck_assert_int_eq(ledger_commit(f.l, NULL), 0);
	fx_reopen(&f);
	ck_assert_int_eq(ledger_order_get(f.l, 19, &got), LEDGER_OK);
	ck_assert_int_eq(ledger_order_get(f.l, 3, &got), LEDGER_OK);
	ck_assert_int_eq(got.status, LEDGER_ORDER_FILLED);
	ck_assert_uint_eq(got.filled, 10);
	ck_assert_int_eq(got.updated_at, 9);
	ck_assert_int_eq(ledger_order_get(f.l, 4, &got), LEDGER_OK);
	ck_assert_int_eq(got.status, LEDGER_ORDER_CANCELLED);

	/* Updating a row that is not stored, or nnew > n, is refused. */
	ck_assert_int_eq(ledger_begin(f.l, NULL), 0);
	order_row(&o[0], &f, 5, 0);
	o[0].status = LEDGER_ORDER_CANCELLED;
	order_row(&o[1], &f, 99, 0);
	ck_assert_int_eq(ledger_order_write_many(f.l, o, 2, 0),
	    LEDGER_NOTFOUND);
	ck_assert_int_eq(ledger_order_write_many(f.l, o, 1, 2),
	    LEDGER_INVALID);
	ledger_rollback(f.l);
	ck_assert_int_eq(ledger_order_get(f.l, 5, &got), LEDGER_OK);
	ck_assert_int_eq(got.status, LEDGER_ORDER_OPEN);
	ck_assert_int_eq(ledger_order_get(f.l, 99, &got), LEDGER_NOTFOUND);
	fx_teardown(&f);
}
END_TEST

int
main(void)
{
	Suite	*s;
	TCase	*tc;
	SRunner	*sr;
	int	 failed;

	s = suite_create("ledger_batch");
	tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_hold_net_line);
	tcase_add_test(tc, test_fills_buffered);
	tcase_add_test(tc, test_order_write_many);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
