/*
 * check_mdata: the full-screen client's live book and tape (tui/mdata.c):
 * snapshots, updates, level removal, sequence gaps, crossed books, bad
 * levels, the level bound, trade de-duplication and decimal comparison.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <cjson/cJSON.h>

#include "mdata.h"

static struct mdata	md;

static enum mdata_result
feed(const char *json, int snapshot)
{
	cJSON			*j = cJSON_Parse(json);
	enum mdata_result	 r;

	ck_assert_ptr_nonnull(j);
	r = mdata_book(&md, j, snapshot);
	cJSON_Delete(j);
	return r;
}

static void
setup(void)
{
	/* KTA-USDC: prices with 6 decimals, quantities with 9. */
	mdata_init(&md, "KTA-USDC", 6, 9);
}

START_TEST(test_snapshot_update)
{
	ck_assert_int_eq(feed("{\"seq\":10,\"bids\":[[\"1.2\",\"5\"],"
	    "[\"1.1\",\"7\"]],\"asks\":[[\"1.3\",\"2\"],[\"1.5\",\"1\"]]}", 1),
	    MDATA_CHANGED);
	ck_assert_uint_eq(md.nbids, 2);
	ck_assert_uint_eq(md.nasks, 2);
	ck_assert_str_eq(md.bids[0].price, "1.2");
	ck_assert_str_eq(md.asks[0].price, "1.3");
	ck_assert(md.bids[0].p == 1200000);
	ck_assert(md.asks[1].q == (u128)1000000000);

	/* Insert between, change one, remove one ("0"). */
	ck_assert_int_eq(feed("{\"seq\":11,\"bids\":[[\"1.15\",\"3\"],"
	    "[\"1.2\",\"0\"]],\"asks\":[[\"1.4\",\"9\"],[\"1.5\",\"4.5\"]]}",
	    0), MDATA_CHANGED);
	ck_assert_uint_eq(md.nbids, 2);
	ck_assert_str_eq(md.bids[0].price, "1.15");
	ck_assert_str_eq(md.bids[1].price, "1.1");
	ck_assert_uint_eq(md.nasks, 3);
	ck_assert_str_eq(md.asks[1].price, "1.4");
	ck_assert_str_eq(md.asks[2].qty, "4.5");
	ck_assert_uint_eq(md.seq, 11);

	/* A replayed (old) update is ignored, not a gap. */
	ck_assert_int_eq(feed("{\"seq\":11,\"bids\":[[\"1.19\",\"1\"]]}", 0),
	    MDATA_IGNORED);
	ck_assert_uint_eq(md.nbids, 2);
}
END_TEST

START_TEST(test_gap)
{
	ck_assert_int_eq(feed("{\"seq\":5,\"bids\":[[\"1\",\"1\"]],"
	    "\"asks\":[]}", 1), MDATA_CHANGED);
	ck_assert_int_eq(feed("{\"seq\":7,\"bids\":[[\"0.9\",\"1\"]]}", 0),
	    MDATA_GAP);
	ck_assert_int_eq(md.have_book, 0);
	ck_assert_uint_eq(md.nbids, 0);
	ck_assert_uint_eq(md.gaps, 1);
	/* Updates before the next snapshot are ignored. */
	ck_assert_int_eq(feed("{\"seq\":8,\"bids\":[[\"0.9\",\"1\"]]}", 0),
	    MDATA_IGNORED);
	ck_assert_int_eq(feed("{\"seq\":9,\"bids\":[[\"0.9\",\"1\"]],"
	    "\"asks\":[]}", 1), MDATA_CHANGED);
	ck_assert_int_eq(feed("{\"seq\":10,\"asks\":[[\"2\",\"1\"]]}", 0),
	    MDATA_CHANGED);
}
END_TEST

START_TEST(test_bad_data)
{
	ck_assert_int_eq(feed("{\"seq\":1,\"bids\":[[\"1\",\"1\"]],"
	    "\"asks\":[[\"2\",\"1\"]]}", 1), MDATA_CHANGED);
	/* A crossed book after an update means we missed something. */
	ck_assert_int_eq(feed("{\"seq\":2,\"bids\":[[\"2.5\",\"1\"]]}", 0),
	    MDATA_GAP);
	ck_assert_int_eq(feed("{\"seq\":1,\"bids\":[[\"1\",\"1\"]]}", 1),
	    MDATA_CHANGED);
	/* Too many decimals for the market, junk, wrong shapes. */
	ck_assert_int_eq(feed("{\"seq\":2,\"bids\":[[\"1.0000001\",\"1\"]]}",
	    0), MDATA_GAP);
	ck_assert_int_eq(feed("{\"seq\":1,\"bids\":[[\"-1\",\"1\"]]}", 1),
	    MDATA_GAP);
	ck_assert_int_eq(feed("{\"seq\":1,\"bids\":[[1,\"1\"]]}", 1),
	    MDATA_GAP);
	ck_assert_int_eq(feed("{\"seq\":1,\"bids\":{}}", 1), MDATA_GAP);
	ck_assert_int_eq(feed("{\"bids\":[]}", 1), MDATA_GAP);
	ck_assert_uint_eq(md.gaps, 6);
}
END_TEST

START_TEST(test_level_bound)
{
	char	buf[64];
	cJSON	*j, *bids;
	int	i;

	j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "seq", 1);
	bids = cJSON_AddArrayToObject(j, "bids");
	for (i = 1; i <= MDATA_LEVELS_MAX + 10; i++) {
		cJSON	*l = cJSON_CreateArray();

		snprintf(buf, sizeof buf, "%d", i);
		cJSON_AddItemToArray(l, cJSON_CreateString(buf));
		cJSON_AddItemToArray(l, cJSON_CreateString("1"));
		cJSON_AddItemToArray(bids, l);
	}
	ck_assert_int_eq(mdata_book(&md, j, 1), MDATA_CHANGED);
	cJSON_Delete(j);
	/* The best (highest) bids are kept. */
	ck_assert_uint_eq(md.nbids, MDATA_LEVELS_MAX);
	snprintf(buf, sizeof buf, "%d", MDATA_LEVELS_MAX + 10);
	ck_assert_str_eq(md.bids[0].price, buf);
	ck_assert_str_eq(md.bids[MDATA_LEVELS_MAX - 1].price, "11");
}
END_TEST

START_TEST(test_trades)
{
	cJSON	*t;

	t = cJSON_Parse("{\"id\":\"1\",\"price\":\"1.2\",\"qty\":\"3\","
	    "\"taker_side\":\"buy\",\"ts\":1764032400000}");
	ck_assert_int_eq(mdata_trade(&md, t), MDATA_CHANGED);
	ck_assert_int_eq(mdata_trade(&md, t), MDATA_IGNORED);
	cJSON_Delete(t);
	t = cJSON_Parse("{\"id\":\"2\",\"price\":\"1.1\",\"qty\":\"1\","
	    "\"taker_side\":\"sell\",\"ts\":1764032401000}");
	ck_assert_int_eq(mdata_trade(&md, t), MDATA_CHANGED);
	cJSON_Delete(t);
	ck_assert_uint_eq(md.ntrades, 2);
	ck_assert_str_eq(md.trades[0].id, "2");
	ck_assert_int_eq(md.trades[0].buy, 0);
	ck_assert_int_eq(md.trades[1].buy, 1);
	ck_assert(md.trades[1].ts == 1764032400000LL);
	t = cJSON_Parse("{\"id\":\"3\"}");
	ck_assert_int_eq(mdata_trade(&md, t), MDATA_IGNORED);
	cJSON_Delete(t);
}
END_TEST

START_TEST(test_deccmp)
{
	ck_assert_int_eq(mdata_deccmp("1.5", "1.50"), 0);
	ck_assert_int_lt(mdata_deccmp("1.05", "1.5"), 0);
	ck_assert_int_gt(mdata_deccmp("10", "9.99"), 0);
	ck_assert_int_eq(mdata_deccmp("007", "7"), 0);
	ck_assert_int_lt(mdata_deccmp("0.1", "0.10001"), 0);
	ck_assert_int_gt(mdata_deccmp("340282366920938463463374607431768211456",
	    "340282366920938463463374607431768211455"), 0);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("mdata");
	TCase	*tc = tcase_create("core");
	SRunner	*sr;
	int	 failed;

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_snapshot_update);
	tcase_add_test(tc, test_gap);
	tcase_add_test(tc, test_bad_data);
	tcase_add_test(tc, test_level_bound);
	tcase_add_test(tc, test_trades);
	tcase_add_test(tc, test_deccmp);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
