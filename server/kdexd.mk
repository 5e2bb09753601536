# server/kdexd.mk: kdexd, the exchange server (issue 4), its load
# generator and its integration tests. Included by Makefile.am.
#
# kdexd is built at the top of the build tree (bin_PROGRAMS, path "kdexd")
# so that the README's first command, ./kdexd --demo, works from there.
bin_PROGRAMS += kdexd
kdexd_SOURCES = server/kdexd.c server/kdexd.h server/kdexd_http.c \
	server/kdexd_http.h server/kdexd_conf.c server/kdexd_auth.c \
	server/kdexd_ws.c server/kdexd_route.c server/kdexd_trade.c server/kdexd_demo.c \
	server/kdexd_admin.c server/kdexd_settle.c server/kdexd_settle.h
kdexd_CFLAGS = $(AM_CFLAGS) $(LWS_CFLAGS) $(CJSON_CFLAGS) $(SQLITE_CFLAGS) \
	$(SODIUM_CFLAGS) $(CRYPTO_CFLAGS)
kdexd_LDADD = $(KDEX_LIBS) $(LWS_LIBS)

# Integration tests: node scripts that start the real kdexd (skip with 77
# when node or tests/conformance/node_modules is missing).
TESTS += tests/kdexd_help.test tests/kdexd_api.test tests/kdexd_ws.test \
	tests/kdexd_restart.test
EXTRA_DIST += tests/kdexd_help.test tests/kdexd_api.test tests/kdexd_ws.test \
	tests/kdexd_restart.test \
	tests/kdexd-lib.js tests/kdexd-api.js tests/kdexd-ws.js \
	tests/kdexd-restart.js

# Pipelined durability: answers wait for their batch's sync, the loop does
# not (a preloaded shim slows every fsync; needs a C compiler).
TESTS += tests/kdexd_durable.test
EXTRA_DIST += tests/kdexd_durable.test tests/kdexd-durable.js

# The loopback load generator and `make loadtest` (Makefile.am's loadtest
# target runs loadtest-run). Figures: doc/kdexd.md.
noinst_PROGRAMS += contrib/loadgen
contrib_loadgen_SOURCES = contrib/loadgen.c
contrib_loadgen_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS)
contrib_loadgen_LDADD = $(KDEX_LIBS)
EXTRA_DIST += contrib/kdexd-loadtest.sh
loadtest-run: kdexd contrib/loadgen
	$(SHELL) $(top_srcdir)/contrib/kdexd-loadtest.sh $(abs_top_builddir)
.PHONY: loadtest-run
dist_man_MANS += man/kdexd.8
EXTRA_DIST += contrib/openapi.yaml
EXTRA_DIST += doc/kdexd.md

# Unit test of the config parser (also under valgrind).
check_PROGRAMS += tests/check_kdexd_conf
TESTS += tests/check_kdexd_conf
VALGRIND_TESTS += tests/check_kdexd_conf
tests_check_kdexd_conf_SOURCES = tests/check_kdexd_conf.c server/kdexd_conf.c
tests_check_kdexd_conf_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/server
tests_check_kdexd_conf_CFLAGS = $(TEST_CFLAGS)
tests_check_kdexd_conf_LDADD = $(TEST_LIBS)

# Settlement on Keeta (issue 5; engineer I): the chain worker's tests.
TESTS += tests/settle_deposit.test tests/settle_trade.test \
	tests/settle_demo.test
EXTRA_DIST += tests/settle_deposit.test tests/settle_trade.test \
	tests/settle_demo.test \
	doc/settlement.md

# contrib/openapi.yaml lists every route of the route table.
TESTS += tests/kdexd_openapi.test
EXTRA_DIST += tests/kdexd_openapi.test

# Market makers (issue 8; engineer J): API keys, batches, dead-man's
# switch (server/kdexd_lp.c, doc/lp.md).
kdexd_SOURCES += server/kdexd_lp.c server/kdexd_lp.h
# the admin API's view of the chain: representative health, the
# operator's on-chain balances and grants
kdexd_SOURCES += server/kdexd_chainview.c server/kdexd_chainview.h
TESTS += tests/kdexd_lp.test
EXTRA_DIST += tests/kdexd_lp.test tests/kdexd-lp.js doc/lp.md \
	contrib/mmbot.js
# kdex apikey / lp stats (tui/cmd_lp.c) against kdexd.
TESTS += tests/kdex_lp.test
EXTRA_DIST += tests/kdex_lp.test
