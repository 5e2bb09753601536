# tests/tests.mk: test rules shared by every part (included by Makefile.am
# after the parts' fragments).

# Parts that kept their valgrind list in a variable of their own.
VALGRIND_TESTS += $(KEETA_BLOCK_VALGRIND_TESTS) $(DEVNET_VALGRIND_TESTS)

# Issue 8 (engineer H): dead-man's switch across kill -9.
TESTS += tests/kdexd_lp_restart.test tests/kdex_lp_ui.test
EXTRA_DIST += tests/kdexd_lp_restart.test tests/kdexd-lp-restart.js \
	tests/kdex_lp_ui.test

# Issue 5 (engineer C2): withdrawal limits and approval, dust correction
# and alerts, intervals from the config file (doc/settlement.md).
EXTRA_DIST += server/kdexd_conf.h
check_PROGRAMS += tests/check_kdexd_conf_settle
TESTS += tests/check_kdexd_conf_settle tests/settle_limits.test \
	tests/settle_recon.test
VALGRIND_TESTS += tests/check_kdexd_conf_settle
tests_check_kdexd_conf_settle_SOURCES = tests/check_kdexd_conf_settle.c \
	server/kdexd_conf.c
tests_check_kdexd_conf_settle_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/server
tests_check_kdexd_conf_settle_CFLAGS = $(TEST_CFLAGS)
tests_check_kdexd_conf_settle_LDADD = $(TEST_LIBS)
EXTRA_DIST += tests/settle_limits.test tests/settle_recon.test

# Settlement through the clearing account, demo funding on chain (issue 5).
TESTS += tests/devnet_clearing.test
EXTRA_DIST += tests/devnet_clearing.test tests/conformance/devnet-clearing.js

# Issue 4 (engineer B): SIGTERM drains under load (contrib/loadgen -D).
TESTS += tests/kdexd_drain.test
EXTRA_DIST += tests/kdexd_drain.test

# Issue 8 (engineer G): fee tiers by 30-day volume, real kdexd + console.
TESTS += tests/kdexd_tiers.test
EXTRA_DIST += tests/kdexd_tiers.test tests/kdexd-tiers.js

# Issue 5 (engineer D): kill -9 campaign and devnet outage, real kdexd and
# kdex-devnet driven through the official SDK (tests/kdexd-chaos.js).
TESTS += tests/settle_crash.test tests/settle_outage.test tests/settle_revoke.test
EXTRA_DIST += tests/settle_crash.test tests/settle_outage.test tests/settle_revoke.test \
	tests/kdexd-chaos.js contrib/bench/withdrawals.sh

# Issue 9: the ledger's batch write path.
check_PROGRAMS += tests/check_ledger_batch
TESTS += tests/check_ledger_batch
VALGRIND_TESTS += tests/check_ledger_batch
tests_check_ledger_batch_SOURCES = tests/check_ledger_batch.c
tests_check_ledger_batch_CFLAGS = $(TEST_CFLAGS)
tests_check_ledger_batch_LDADD = $(TEST_LIBS)
