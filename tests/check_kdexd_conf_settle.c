/*
 * check_kdexd_conf_settle: the settlement lines of kdexd's config file
 * (server/kdexd_conf.c, kdexd_conf.h): the chain worker's intervals and
 * the per-token withdrawal limits and reconciliation thresholds, and the
 * errors that must stop kdexd instead of leaving a limit off.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kdexd.h"
#include "kdexd_conf.h"
#include "util.h"

static int
load_text(struct kdexd_conf *c, const char *text, char **cause)
{
	char	 path[] = "/tmp/check_kdexd_conf_settle.XXXXXX";
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
	struct kdexd_conf		 c;
	const struct kdexd_settle_conf	*sc;

	conf_defaults(&c);
	sc = conf_settle();
	ck_assert_int_eq(sc->deposit_poll_ms, 0);
	ck_assert_int_eq(sc->settle_ms, 0);
	ck_assert_int_eq(sc->recon_ms, 0);
	ck_assert_uint_eq(sc->ntokens, 0);
	conf_free(&c);
}
END_TEST

START_TEST(test_settings)
{
	struct kdexd_conf		 c;
	const struct kdexd_settle_conf	*sc;
	char				*cause = NULL;

	conf_defaults(&c);
	ck_assert_int_eq(load_text(&c,
	    "deposit-poll-ms 250\n"
	    "acl-check-ms 10\n"
	    "settle-interval-ms 1000\n"
	    "recon-interval-ms 86400000\n"
	    "token USDC withdraw-max=1000 withdraw-user-24h=5000.5\n"
	    "token KTA recon-dust=0.000000001\n"
	    "token USDC withdraw-global-24h=100000 withdraw-approval=500 "
	    "recon-dust=0.000001 recon-critical=0.01\n"
	    "token USDC withdraw-max=900\n", &cause), 0);
	ck_assert_ptr_null(cause);
	sc = conf_settle();
	ck_assert_int_eq(sc->deposit_poll_ms, 250);
	ck_assert_int_eq(sc->acl_check_ms, 10);
	ck_assert_int_eq(sc->settle_ms, 1000);
	ck_assert_int_eq(sc->recon_ms, 86400000);
	/* Lines for one token merge; a later value replaces. */
	ck_assert_uint_eq(sc->ntokens, 2);
	ck_assert_str_eq(sc->tokens[0].token, "USDC");
	ck_assert_str_eq(sc->tokens[0].amount[CONF_WD_MAX], "900");
	ck_assert_str_eq(sc->tokens[0].amount[CONF_WD_USER_24H], "5000.5");
	ck_assert_str_eq(sc->tokens[0].amount[CONF_WD_GLOBAL_24H], "100000");
	ck_assert_str_eq(sc->tokens[0].amount[CONF_WD_APPROVAL], "500");
	ck_assert_str_eq(sc->tokens[0].amount[CONF_RECON_DUST], "0.000001");
	ck_assert_str_eq(sc->tokens[0].amount[CONF_RECON_CRITICAL], "0.01");
	ck_assert_str_eq(sc->tokens[1].token, "KTA");
	ck_assert_ptr_null(sc->tokens[1].amount[CONF_WD_MAX]);
	ck_assert_str_eq(sc->tokens[1].amount[CONF_RECON_DUST],
	    "0.000000001");
	ck_assert_str_eq(conf_tok_name(CONF_WD_USER_24H), "withdraw-user-24h");
	/* conf_defaults() starts over. */
	conf_free(&c);
	conf_defaults(&c);
	ck_assert_uint_eq(conf_settle()->ntokens, 0);
	conf_free(&c);
}
END_TEST

START_TEST(test_errors)
{
	static const char *const bad[] = {
		"deposit-poll-ms 9\n",			/* below 10 */
		"settle-interval-ms 86400001\n",
		"recon-interval-ms 1s\n",
		"acl-check-ms\n",
		"token\n",				/* no symbol */
		"token USDC withdraw-max\n",		/* not name=amount */
		"token USDC withdraw-min=1\n",		/* unknown name */
		"token USDC withdraw-max=-1\n",		/* signed */
		"token USDC withdraw-max=1.\n",
		"token USDC withdraw-max=.5\n",
		"token USDC withdraw-max=1.2.3\n",
		"token USDC withdraw-max=1e6\n",
		"token USDC recon-dust=\n",
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
		ck_assert_ptr_nonnull(strstr(cause, ":1:"));
		free(cause);
		conf_free(&c);
	}
}
END_TEST

static Suite *
suite(void)
{
	Suite	*s = suite_create("kdexd_conf_settle");
	TCase	*tc = tcase_create("settle");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_settings);
	tcase_add_test(tc, test_errors);
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
