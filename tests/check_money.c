/*
 * check_money: checked 128-bit arithmetic, fees, decimal strings (money.c)
 * and market configuration and price/quantity conversion (market.c).
 *
 * Boundaries at 0, INT64_MAX and 2^128-1 in the spirit of SQLite's
 * testcase(); every failing operation must leave its output untouched
 * (STYLE.md practice 6).
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "market.h"
#include "money.h"

#define SENTINEL	((u128)0xdeadbeef)

static const u128	i64max = (u128)INT64_MAX;

/* Decimal text of v, for messages and comparisons. */
static const char *
str(u128 v, unsigned int dec)
{
	static char	buf[4][MONEY_BUFSZ];
	static int	n;

	n = (n + 1) % 4;
	money_format(buf[n], v, dec);
	return buf[n];
}

START_TEST(test_add_sub_mul)
{
	u128	r;

	ck_assert_int_eq(money_add(&r, 0, 0), 0);
	ck_assert(r == 0);
	ck_assert_int_eq(money_add(&r, i64max, i64max), 0);
	ck_assert_str_eq(str(r, 0), "18446744073709551614");
	ck_assert_int_eq(money_add(&r, U128_MAX - 1, 1), 0);
	ck_assert(r == U128_MAX);
	r = SENTINEL;
	ck_assert_int_eq(money_add(&r, U128_MAX, 1), -1);
	ck_assert(r == SENTINEL);

	ck_assert_int_eq(money_sub(&r, 5, 5), 0);
	ck_assert(r == 0);
	ck_assert_int_eq(money_sub(&r, U128_MAX, U128_MAX), 0);
	ck_assert(r == 0);
	r = SENTINEL;
	ck_assert_int_eq(money_sub(&r, 0, 1), -1);
	ck_assert(r == SENTINEL);
	ck_assert_int_eq(money_sub(&r, i64max, i64max + 1), -1);
	ck_assert(r == SENTINEL);

	ck_assert_int_eq(money_mul(&r, i64max, i64max), 0);
	ck_assert_str_eq(str(r, 0),
	    "85070591730234615847396907784232501249");
	ck_assert_int_eq(money_mul(&r, U128_MAX, 1), 0);
	ck_assert(r == U128_MAX);
	ck_assert_int_eq(money_mul(&r, U128_MAX, 0), 0);
	ck_assert(r == 0);
	r = SENTINEL;
	ck_assert_int_eq(money_mul(&r, U128_MAX, 2), -1);
	ck_assert(r == SENTINEL);
	/* 2^64 * 2^64 = 2^128: just over. */
	ck_assert_int_eq(money_mul(&r, (u128)1 << 64, (u128)1 << 64), -1);
	ck_assert(r == SENTINEL);
	ck_assert_int_eq(money_mul(&r, (u128)1 << 64, ((u128)1 << 63)), 0);
	ck_assert(r == (u128)1 << 127);
}
END_TEST

START_TEST(test_muldiv)
{
	u128	r;

	ck_assert_int_eq(money_muldiv(&r, 10, 3, 4, 0), 0);
	ck_assert(r == 7);
	ck_assert_int_eq(money_muldiv(&r, 10, 3, 4, 1), 0);
	ck_assert(r == 8);
	ck_assert_int_eq(money_muldiv(&r, 12, 3, 4, 1), 0);
	ck_assert(r == 9);
	ck_assert_int_eq(money_muldiv(&r, 0, 3, 4, 1), 0);
	ck_assert(r == 0);
	r = SENTINEL;
	ck_assert_int_eq(money_muldiv(&r, 1, 1, 0, 0), -1);
	ck_assert(r == SENTINEL);
	/* a*b overflows 128 bits but the quotient fits. */
	ck_assert_int_eq(money_muldiv(&r, U128_MAX, U128_MAX, U128_MAX, 0),
	    0);
	ck_assert(r == U128_MAX);
	ck_assert_int_eq(money_muldiv(&r, (u128)1 << 100, (u128)1 << 100,
	    (u128)1 << 90, 0), 0);
	ck_assert(r == (u128)1 << 110);
	ck_assert_int_eq(money_muldiv(&r, U128_MAX, 1000000, 1000001, 0), 0);
	/* (2^128-1)*1000000/1000001, checked by the identity below. */
	{
		u128	q = r, back;

		ck_assert_int_eq(money_muldiv(&back, q, 1000001, 1000000, 0),
		    0);
		ck_assert(back <= U128_MAX && U128_MAX - back < 2000002);
	}
	/* Wide path with rounding up. */
	ck_assert_int_eq(money_muldiv(&r, ((u128)1 << 127) + 1, 3,
	    ((u128)1 << 126) * 3, 1), 0);
	ck_assert(r == 3);
	r = SENTINEL;
	ck_assert_int_eq(money_muldiv(&r, U128_MAX, 2, 1, 0), -1);
	ck_assert(r == SENTINEL);
	ck_assert_int_eq(money_muldiv(&r, U128_MAX, U128_MAX, 2, 0), -1);
	ck_assert(r == SENTINEL);
	/* Rounding up past the maximum. */
	ck_assert_int_eq(money_muldiv(&r, U128_MAX, 3, 3, 1), 0);
	ck_assert(r == U128_MAX);
}
END_TEST

START_TEST(test_fee)
{
	u128	c, rb;

	money_fee(&c, &rb, 1000000, 1000);
	ck_assert(c == 1000 && rb == 0);
	/* 0.1 % of 999 is 0.999: a charge rounds up... */
	money_fee(&c, &rb, 999, 1000);
	ck_assert(c == 1 && rb == 0);
	/* ...a rebate rounds down. */
	money_fee(&c, &rb, 999, -1000);
	ck_assert(c == 0 && rb == 0);
	money_fee(&c, &rb, 1999, -1000);
	ck_assert(c == 0 && rb == 1);
	money_fee(&c, &rb, 0, 1000);
	ck_assert(c == 0 && rb == 0);
	money_fee(&c, &rb, 12345, 0);
	ck_assert(c == 0 && rb == 0);
	money_fee(&c, &rb, U128_MAX, MONEY_PPM);
	ck_assert(c == U128_MAX && rb == 0);
	money_fee(&c, &rb, U128_MAX, -MONEY_PPM);
	ck_assert(c == 0 && rb == U128_MAX);
	money_fee(&c, &rb, U128_MAX, 1);
	ck_assert_str_eq(str(c, 0), "340282366920938463463374607431769");
	money_fee(&c, &rb, i64max, 2500);
	ck_assert_str_eq(str(c, 0), "23058430092136940");
}
END_TEST

START_TEST(test_fee_never_pays_out_more)
{
	u128		c, rb, n;
	uint64_t	s = 7;
	int		i;
	int32_t		t, mk;

	for (i = 0; i < 20000; i++) {
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		n = (u128)(s >> 11);
		t = (int32_t)((s >> 3) % 5000);
		mk = -(int32_t)((s >> 17) % (uint64_t)(t + 1));
		money_fee(&c, &rb, n, t);
		ck_assert(rb == 0);
		{
			u128	c2, rb2;

			money_fee(&c2, &rb2, n, mk);
			ck_assert(c2 == 0 && rb2 <= c);
		}
	}
}
END_TEST

START_TEST(test_parse_ok)
{
	u128	v;

	ck_assert_int_eq(money_parse(&v, "0", 0), MONEY_OK);
	ck_assert(v == 0);
	ck_assert_int_eq(money_parse(&v, "0.0", 6), MONEY_OK);
	ck_assert(v == 0);
	ck_assert_int_eq(money_parse(&v, "1.5", 6), MONEY_OK);
	ck_assert(v == 1500000);
	ck_assert_int_eq(money_parse(&v, "001.250000", 6), MONEY_OK);
	ck_assert(v == 1250000);
	ck_assert_int_eq(money_parse(&v, "0.000001", 6), MONEY_OK);
	ck_assert(v == 1);
	ck_assert_int_eq(money_parse(&v, "9223372036854775807", 0), MONEY_OK);
	ck_assert(v == i64max);
	ck_assert_int_eq(money_parse(&v, "9223372036854775808", 0), MONEY_OK);
	ck_assert(v == i64max + 1);
	ck_assert_int_eq(money_parse(&v,
	    "340282366920938463463374607431768211455", 0), MONEY_OK);
	ck_assert(v == U128_MAX);
	ck_assert_int_eq(money_parse(&v,
	    "3.40282366920938463463374607431768211455", 38), MONEY_OK);
	ck_assert(v == U128_MAX);
	ck_assert_int_eq(money_parse(&v, "1", 38), MONEY_OK);
	ck_assert(v == money_pow10(38));
	ck_assert_int_eq(money_parse_u128(&v, "42"), MONEY_OK);
	ck_assert(v == 42);
}
END_TEST

START_TEST(test_parse_errors)
{
	u128	v = SENTINEL;

	ck_assert_int_eq(money_parse(&v, "", 6), MONEY_EMPTY);
	ck_assert_int_eq(money_parse(&v, NULL, 6), MONEY_EMPTY);
	ck_assert_int_eq(money_parse(&v, "-1", 6), MONEY_SIGN);
	ck_assert_int_eq(money_parse(&v, "+1", 6), MONEY_SIGN);
	ck_assert_int_eq(money_parse(&v, "-0", 6), MONEY_SIGN);
	ck_assert_int_eq(money_parse(&v, "1.", 6), MONEY_JUNK);
	ck_assert_int_eq(money_parse(&v, ".5", 6), MONEY_JUNK);
	ck_assert_int_eq(money_parse(&v, "1.2.3", 6), MONEY_JUNK);
	ck_assert_int_eq(money_parse(&v, "1e5", 6), MONEY_JUNK);
	ck_assert_int_eq(money_parse(&v, " 1", 6), MONEY_JUNK);
	ck_assert_int_eq(money_parse(&v, "1 ", 6), MONEY_JUNK);
	ck_assert_int_eq(money_parse(&v, "0x10", 6), MONEY_JUNK);
	ck_assert_int_eq(money_parse(&v, "1,5", 6), MONEY_JUNK);
	ck_assert_int_eq(money_parse(&v, "1.5", 0), MONEY_DECIMALS);
	ck_assert_int_eq(money_parse(&v, "1.0000001", 6), MONEY_DECIMALS);
	/* Trailing zeros beyond the token's decimals are refused too. */
	ck_assert_int_eq(money_parse(&v, "1.0000000", 6), MONEY_DECIMALS);
	ck_assert_int_eq(money_parse(&v, "1.0000001x", 6), MONEY_JUNK);
	ck_assert_int_eq(money_parse(&v,
	    "340282366920938463463374607431768211456", 0), MONEY_OVERFLOW);
	ck_assert_int_eq(money_parse(&v,
	    "99999999999999999999999999999999999999999999", 0),
	    MONEY_OVERFLOW);
	ck_assert_int_eq(money_parse(&v,
	    "9999999999999999999999999999999999999999999x", 0), MONEY_JUNK);
	/* Fits as digits, overflows once scaled to base units. */
	ck_assert_int_eq(money_parse(&v, "340282366920938463463374607431768211",
	    6), MONEY_OVERFLOW);
	ck_assert_int_eq(money_parse(&v, "4", 38), MONEY_OVERFLOW);
	ck_assert(v == SENTINEL);
	ck_assert_str_ne(money_strerror(MONEY_DECIMALS), "");
}
END_TEST

START_TEST(test_format)
{
	char		buf[MONEY_BUFSZ];
	u128		v, back;
	uint64_t	s = 1;
	unsigned int	dec;
	int		i;

	ck_assert_uint_eq(money_format(buf, 0, 0), 1);
	ck_assert_str_eq(buf, "0");
	money_format(buf, 0, 18);
	ck_assert_str_eq(buf, "0");
	money_format(buf, 1500000, 6);
	ck_assert_str_eq(buf, "1.5");
	money_format(buf, 1, 6);
	ck_assert_str_eq(buf, "0.000001");
	money_format(buf, 2000000, 6);
	ck_assert_str_eq(buf, "2");
	money_format(buf, i64max, 0);
	ck_assert_str_eq(buf, "9223372036854775807");
	money_format_u128(buf, U128_MAX);
	ck_assert_str_eq(buf, "340282366920938463463374607431768211455");
	money_format(buf, U128_MAX, 38);
	ck_assert_str_eq(buf, "3.40282366920938463463374607431768211455");
	money_format(buf, 1, 38);
	ck_assert_str_eq(buf, "0.00000000000000000000000000000000000001");
	ck_assert_uint_lt(strlen(buf), MONEY_BUFSZ);

	/* Round trips over random values and every decimal count. */
	for (i = 0; i < 5000; i++) {
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		v = ((u128)s << 64) | (s * 31);
		v >>= (s >> 58);	/* all magnitudes */
		dec = (unsigned int)(s % (MONEY_MAX_DECIMALS + 1));
		money_format(buf, v, dec);
		ck_assert_int_eq(money_parse(&back, buf, dec), MONEY_OK);
		ck_assert_msg(back == v, "round trip of %s", buf);
	}
}
END_TEST

/* Markets. */

static void
usdc_market(struct market_config *c)
{
	memset(c, 0, sizeof *c);
	strcpy(c->base.symbol, "KTA");
	strcpy(c->base.address, "keeta_base");
	c->base.decimals = 9;
	strcpy(c->quote.symbol, "USDC");
	strcpy(c->quote.address, "keeta_quote");
	c->quote.decimals = 6;
	c->tick_size = 100;		/* 0.0001 USDC per KTA */
	c->lot_size = 10000000;		/* 0.01 KTA */
	c->min_lots = 1;
	c->min_notional = 0;
	c->maker_fee_ppm = -100;
	c->taker_fee_ppm = 500;
	c->max_price_ticks = 100000000;	/* 10000 USDC */
	c->max_qty_lots = 100000000000ULL;
	c->limits.max_orders = 100;
	c->limits.max_levels = 10;
	c->limits.max_orders_per_user = 5;
}

START_TEST(test_market_init)
{
	struct market_config	c;
	struct market		m;
	char			*cause = NULL;

	usdc_market(&c);
	ck_assert_int_eq(market_init(&m, &c, &cause), 0);
	ck_assert_ptr_null(cause);
	ck_assert_str_eq(m.pair, "KTA-USDC");
	/* 100 * 10^7 / 10^9 = 1 quote unit per lot per tick. */
	ck_assert(m.unit == 1);

	/* Tick * lot not a whole number of quote units. */
	c.lot_size = 1000000;
	ck_assert_int_eq(market_init(&m, &c, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	ck_assert_ptr_nonnull(strstr(cause, "whole number"));
	free(cause);
	cause = NULL;

	usdc_market(&c);
	c.maker_fee_ppm = -501;	/* rebate above the taker fee */
	ck_assert_int_eq(market_init(&m, &c, &cause), -1);
	free(cause);
	usdc_market(&c);
	c.taker_fee_ppm = -1;
	c.maker_fee_ppm = 0;
	ck_assert_int_eq(market_init(&m, &c, &cause), -1);
	free(cause);
	usdc_market(&c);
	c.tick_size = 0;
	ck_assert_int_eq(market_init(&m, &c, &cause), -1);
	free(cause);
	usdc_market(&c);
	c.base.decimals = 39;
	ck_assert_int_eq(market_init(&m, &c, &cause), -1);
	free(cause);
	usdc_market(&c);
	c.limits.max_levels = 0;
	ck_assert_int_eq(market_init(&m, &c, &cause), -1);
	free(cause);
	usdc_market(&c);
	c.limits.max_levels = (1u << 20) + 1;
	ck_assert_int_eq(market_init(&m, &c, &cause), -1);
	free(cause);
	usdc_market(&c);
	c.limits.max_orders = (1u << 30) + 1;
	ck_assert_int_eq(market_init(&m, &c, &cause), -1);
	free(cause);
	usdc_market(&c);
	c.base.symbol[0] = '\0';
	ck_assert_int_eq(market_init(&m, &c, &cause), -1);
	free(cause);
	/* Largest order overflows 128 bits. */
	usdc_market(&c);
	c.base.decimals = 0;
	c.lot_size = (u128)1 << 60;
	c.max_qty_lots = UINT64_MAX;
	c.max_price_ticks = UINT64_MAX;
	ck_assert_int_eq(market_init(&m, &c, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "overflow"));
	free(cause);
}
END_TEST

START_TEST(test_market_parse)
{
	struct market_config	c;
	struct market		m;
	char			*cause, buf[MONEY_BUFSZ];
	uint64_t		v = 77;

	usdc_market(&c);
	ck_assert_int_eq(market_init(&m, &c, &cause), 0);
	ck_assert_int_eq(market_parse_price(&m, "1.25", &v), MARKET_OK);
	ck_assert_uint_eq(v, 12500);
	ck_assert_int_eq(market_parse_price(&m, "0.0001", &v), MARKET_OK);
	ck_assert_uint_eq(v, 1);
	ck_assert_int_eq(market_parse_price(&m, "10000", &v), MARKET_OK);
	ck_assert_uint_eq(v, 100000000);
	v = 77;
	ck_assert_int_eq(market_parse_price(&m, "10000.0001", &v),
	    MARKET_TOO_LARGE);
	ck_assert_int_eq(market_parse_price(&m, "1.00005", &v),
	    MARKET_NOT_TICK);
	ck_assert_int_eq(market_parse_price(&m, "1.0000001", &v),
	    MARKET_DECIMALS);
	ck_assert_int_eq(market_parse_price(&m, "0", &v), MARKET_ZERO);
	ck_assert_int_eq(market_parse_price(&m, "0.000", &v), MARKET_ZERO);
	ck_assert_int_eq(market_parse_price(&m, "-1", &v), MARKET_SIGN);
	ck_assert_int_eq(market_parse_price(&m, "", &v), MARKET_EMPTY);
	ck_assert_int_eq(market_parse_price(&m, "1.2x", &v), MARKET_JUNK);
	ck_assert_int_eq(market_parse_price(&m,
	    "99999999999999999999999999999999999999999", &v),
	    MARKET_TOO_LARGE);
	ck_assert_uint_eq(v, 77);

	ck_assert_int_eq(market_parse_qty(&m, "10.5", &v), MARKET_OK);
	ck_assert_uint_eq(v, 1050);
	ck_assert_int_eq(market_parse_qty(&m, "0.001", &v), MARKET_NOT_LOT);
	ck_assert_int_eq(market_parse_qty(&m, "0.0000000001", &v),
	    MARKET_DECIMALS);
	ck_assert_int_eq(market_parse_qty(&m, "1000000001", &v),
	    MARKET_TOO_LARGE);

	market_format_price(&m, 12500, buf);
	ck_assert_str_eq(buf, "1.25");
	market_format_qty(&m, 1050, buf);
	ck_assert_str_eq(buf, "10.5");
	market_format_qty(&m, 1, buf);
	ck_assert_str_eq(buf, "0.01");
	ck_assert_str_eq(market_strerror(MARKET_NOT_TICK),
	    "not a multiple of the tick size");
}
END_TEST

START_TEST(test_market_amounts)
{
	struct market_config	c;
	struct market		m;
	char			*cause;
	u128			v;
	enum market_status	st;

	usdc_market(&c);
	ck_assert_int_eq(market_init(&m, &c, &cause), 0);
	/* 10.5 KTA at 1.25 USDC = 13.125 USDC = 13125000 units. */
	ck_assert_int_eq(market_notional(&m, 12500, 1050, &v), 0);
	ck_assert(v == 13125000);
	ck_assert_int_eq(market_base_units(&m, 1050, &v), 0);
	ck_assert(v == (u128)10500000000ULL);
	/* Buy reserve per lot: 12500 + ceil(12500 * 500 / 1e6) = 12507. */
	ck_assert_int_eq(market_reserve(&m, true, 12500, 1050, &v), 0);
	ck_assert(v == (u128)12507 * 1050);
	ck_assert_int_eq(market_reserve(&m, false, 12500, 1050, &v), 0);
	ck_assert(v == (u128)10500000000ULL);
	ck_assert_int_eq(market_status_parse("cancel_only", &st), 0);
	ck_assert_int_eq(st, MARKET_CANCEL_ONLY);
	ck_assert_str_eq(market_status_name(st), "cancel_only");
	ck_assert_int_eq(market_status_parse("closed", &st), -1);
}
END_TEST

static Suite *
money_suite(void)
{
	Suite	*s = suite_create("money");
	TCase	*tc = tcase_create("money");

	tcase_add_test(tc, test_add_sub_mul);
	tcase_add_test(tc, test_muldiv);
	tcase_add_test(tc, test_fee);
	tcase_add_test(tc, test_fee_never_pays_out_more);
	tcase_add_test(tc, test_parse_ok);
	tcase_add_test(tc, test_parse_errors);
	tcase_add_test(tc, test_format);
	suite_add_tcase(s, tc);
	tc = tcase_create("market");
	tcase_add_test(tc, test_market_init);
	tcase_add_test(tc, test_market_parse);
	tcase_add_test(tc, test_market_amounts);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(money_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
