# src/devnet.mk: kdex-devnet (a local Keeta representative) and the Keeta
# REST client (included by Makefile.am).
src_libkdex_a_SOURCES += src/devnet.c src/devnet.h \
	src/devnet_http.c src/devnet_http.h \
	src/devnet_ledger.c src/devnet_ledger.h \
	src/devnet_vote.c src/devnet_vote.h \
	src/keeta_client.c src/keeta_client.h
src_libkdex_a_CFLAGS += $(LWS_CFLAGS)

bin_PROGRAMS += kdex-devnet
dist_man_MANS += man/kdex-devnet.1
EXTRA_DIST += doc/devnet.md
TESTS += tests/devnet_cli.test
EXTRA_DIST += tests/devnet_cli.test
kdex_devnet_SOURCES = server/kdex-devnet.c
kdex_devnet_CFLAGS = $(AM_CFLAGS) $(LWS_CFLAGS) $(CJSON_CFLAGS)
kdex_devnet_LDADD = $(KDEX_LIBS) $(LWS_LIBS)

# Integration tests: real kdex-devnet processes on loopback, driven by the
# official SDK (tests/conformance) and by the C client.
TESTS += tests/devnet_sdk.test tests/devnet_restart.test
EXTRA_DIST += tests/devnet_sdk.test tests/conformance/devnet-lib.js \
	tests/conformance/devnet-sdk-flow.js tests/devnet_restart.test \
	tests/conformance/devnet-restart.js

# The C client against an embedded devnet (Check). VALGRIND_TESTS is reset
# after the fragments in Makefile.am, so the list is kept here until that
# moves (see the report of issue 3).
check_PROGRAMS += tests/check_keeta_client
TESTS += tests/check_keeta_client
DEVNET_VALGRIND_TESTS = tests/check_keeta_client
tests_check_keeta_client_SOURCES = tests/check_keeta_client.c
tests_check_keeta_client_CFLAGS = $(TEST_CFLAGS) $(CURL_CFLAGS) $(LWS_CFLAGS) \
	$(SODIUM_CFLAGS)
tests_check_keeta_client_LDADD = $(TEST_LIBS) $(LWS_LIBS)

# Published transactions per second (not in make check; see doc/devnet.md).
noinst_PROGRAMS += contrib/bench/devnet-bench
contrib_bench_devnet_bench_SOURCES = contrib/bench/devnet-bench.c
contrib_bench_devnet_bench_CFLAGS = $(AM_CFLAGS) $(LWS_CFLAGS) \
	$(SODIUM_CFLAGS) $(CJSON_CFLAGS)
contrib_bench_devnet_bench_LDADD = $(KDEX_LIBS) $(LWS_LIBS)

# The C client as a tool for the mixed SDK/C test.
check_PROGRAMS += tests/devnet_ctool
tests_devnet_ctool_SOURCES = tests/devnet_ctool.c
tests_devnet_ctool_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS)
tests_devnet_ctool_LDADD = $(KDEX_LIBS)
TESTS += tests/devnet_mixed.test
EXTRA_DIST += tests/devnet_mixed.test tests/conformance/devnet-mixed.js
