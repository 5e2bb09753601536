/*
 * check_kdexd_conf: the kdexd config file parser (server/kdexd_conf.c):
 * defaults, every setting, market lines, and the errors that must stop
 * kdexd instead of falling back to a default.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kdexd.h"
#include "util.h"

/* conf_load reads a file: write text to a temporary one. */
static int
load_text(struct kdexd_conf *c, const char *text, char **cause)
{
	char	 path[] = "/tmp/check_kdexd_conf.XXXXXX";
	FILE	*f;
	int	 fd, r;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	r = conf_load(c, path, cause);
	unlink(path);
	return (r);
}

START_TEST(test_defaults)
{
	struct kdexd_conf	c;

	conf_defaults(&c);
	ck_assert_str_eq(c.listen, "127.0.0.1:8080");
	ck_assert_str_eq(c.admin_listen, "127.0.0.1:8081");
	ck_assert_str_eq(c.data_dir, "./kdex-data");
	ck_assert_uint_eq(c.ws_ping, 20);
	ck_assert_int_eq(c.ledger_sync, 2);
	ck_assert_int_eq(c.ledger_pipeline, 1);
	ck_assert_uint_eq(c.nmarkets, 0);
	conf_finish(&c);
	ck_assert_uint_eq(c.nmarkets, 1);
	ck_assert_str_eq(c.markets[0].pair, "KTA-USDC");
	ck_assert_str_eq(c.markets[0].base, "KTA");
	ck_assert_str_eq(c.markets[0].quote, "USDC");
	ck_assert_int_eq(c.markets[0].maker_fee_ppm, -100);
	conf_free(&c);
}
END_TEST

START_TEST(test_full_file)
{
	struct kdexd_conf	 c;
	char			*cause = NULL;

	conf_defaults(&c);
	ck_assert_int_eq(load_text(&c,
	    "# comment\n"
	    "\n"
	    "listen 0.0.0.0:9000   # trailing comment\n"
	    "admin-listen 127.0.0.1:9001\n"
	    "data /var/lib/kdexd\n"
	    "network test\n"
	    "keeta-api http://a/api\n"
	    "keeta-api http://b/api\n"
	    "demo yes\n"
	    "demo-maker no\n"
	    "rate-ip 5\nburst-ip 6\nrate-user 7\nburst-user 8\n"
	    "jwt-ttl 60\nws-ping 3\nws-queue-max 65536\nmax-clients 9\n"
	    "ledger-sync normal\n"
	    "ledger-pipeline no\n"
	    "market ETH-USDC base_decimals=18 quote_decimals=6 "
	    "tick_size=0.01 lot_size=0.001 min_size=0.01 min_notional=5 "
	    "maker_fee_ppm=0 taker_fee_ppm=1000 status=halted "
	    "base_token=keeta_x quote_token=keeta_y\n"
	    "\tmarket KTA-USDC\n", &cause), 0);
	ck_assert_ptr_null(cause);
	ck_assert_str_eq(c.listen, "0.0.0.0:9000");
	ck_assert_str_eq(c.admin_listen, "127.0.0.1:9001");
	ck_assert_str_eq(c.data_dir, "/var/lib/kdexd");
	ck_assert_str_eq(c.network, "test");
	ck_assert_uint_eq(c.napis, 2);
	ck_assert_str_eq(c.apis[1], "http://b/api");
	ck_assert_int_eq(c.demo, 1);
	ck_assert_int_eq(c.demo_maker, 0);
	ck_assert_uint_eq(c.rate_ip, 5);
	ck_assert_uint_eq(c.burst_ip, 6);
	ck_assert_uint_eq(c.rate_user, 7);
	ck_assert_uint_eq(c.burst_user, 8);
	ck_assert_uint_eq(c.jwt_ttl, 60);
	ck_assert_uint_eq(c.ws_ping, 3);
	ck_assert_uint_eq(c.ws_queue_max, 65536);
	ck_assert_uint_eq(c.max_clients, 9);
	ck_assert_int_eq(c.ledger_sync, 1);
	ck_assert_int_eq(c.ledger_pipeline, 0);
	ck_assert_uint_eq(c.nmarkets, 2);
	ck_assert_str_eq(c.markets[0].pair, "ETH-USDC");
	ck_assert_uint_eq(c.markets[0].base_decimals, 18);
	ck_assert_str_eq(c.markets[0].tick_size, "0.01");
	ck_assert_str_eq(c.markets[0].min_notional, "5");
	ck_assert_int_eq(c.markets[0].taker_fee_ppm, 1000);
	ck_assert_int_eq(c.markets[0].status, 1);
	ck_assert_str_eq(c.markets[0].base_token, "keeta_x");
	ck_assert_str_eq(c.markets[1].pair, "KTA-USDC");
	ck_assert_ptr_null(c.markets[1].base_token);
	conf_finish(&c);
	ck_assert_uint_eq(c.nmarkets, 2);	/* no default added */
	conf_free(&c);
}
END_TEST

START_TEST(test_errors)
{
	static const char *const bad[] = {
		"colour blue\n",			/* unknown setting */
		"listen\n",				/* missing value */
		"demo maybe\n",
		"rate-ip 0\n",				/* must be > 0 */
		"rate-ip -3\n",
		"rate-ip 12abc\n",
		"ws-queue-max 100\n",			/* below 4096 */
		"ledger-sync off\n",
		"ledger-pipeline maybe\n",
		"jwt-ttl 99999999999\n",
		"market\n",				/* no pair */
		"market KTAUSDC\n",
		"market kta-usdc\n",			/* lower case */
		"market A-B-C\n",
		"market KTA-USDC tick_size\n",		/* not name=value */
		"market KTA-USDC colour=red\n",
		"market KTA-USDC base_decimals=39\n",
		"market KTA-USDC maker_fee_ppm=2000000\n",
		"market KTA-USDC taker_fee_ppm=-1\n",
		"market KTA-USDC status=closed\n",
		"market KTA-USDC\nmarket KTA-USDC\n",	/* twice */
		NULL
	};
	struct kdexd_conf	 c;
	char			*cause;
	size_t			 i;

	for (i = 0; bad[i] != NULL; i++) {
		conf_defaults(&c);
		cause = NULL;
		if (load_text(&c, bad[i], &cause) != -1)
			ck_abort_msg("accepted: %s", bad[i]);
		ck_assert_ptr_nonnull(cause);
		/* Errors name the file and line. */
		ck_assert_ptr_nonnull(strstr(cause, "check_kdexd_conf"));
		free(cause);
		conf_free(&c);
	}
	conf_defaults(&c);
	cause = NULL;
	ck_assert_int_eq(conf_load(&c, "/nonexistent/kdexd.conf", &cause), -1);
	ck_assert_ptr_nonnull(cause);
	free(cause);
	conf_free(&c);
}
END_TEST

START_TEST(test_long_line)
{
	struct kdexd_conf	 c;
	char			*cause = NULL, *text;

	text = xmalloc(5000);
	memset(text, 'x', 4998);
	text[4998] = '\n';
	text[4999] = '\0';
	conf_defaults(&c);
	ck_assert_int_eq(load_text(&c, text, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "too long"));
	free(cause);
	free(text);
	conf_free(&c);
}
END_TEST

static Suite *
suite(void)
{
	Suite	*s = suite_create("kdexd_conf");
	TCase	*tc = tcase_create("conf");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_full_file);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_long_line);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr = srunner_create(suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
