# src/ledger.mk: build rules for this part (included by Makefile.am).
# The ledger (SQLite) and the exchange glue that drives books and ledger,
# their unit and crash tests, and the durable benchmark.

src_libkdex_a_SOURCES += src/ledger.c src/ledger.h src/exchange.c \
	src/exchange.h

# check_crash forks and SIGKILLs children: ASan/UBSan only, not valgrind.
check_PROGRAMS += tests/check_ledger tests/check_exchange tests/check_crash
TESTS += tests/check_ledger tests/check_exchange tests/check_crash
VALGRIND_TESTS += tests/check_ledger tests/check_exchange

tests_check_ledger_SOURCES = tests/check_ledger.c
tests_check_ledger_CFLAGS = $(TEST_CFLAGS)
tests_check_ledger_LDADD = $(TEST_LIBS)

tests_check_exchange_SOURCES = tests/check_exchange.c
tests_check_exchange_CFLAGS = $(TEST_CFLAGS)
tests_check_exchange_LDADD = $(TEST_LIBS)

tests_check_crash_SOURCES = tests/check_crash.c
tests_check_crash_CFLAGS = $(TEST_CFLAGS)
tests_check_crash_LDADD = $(TEST_LIBS)

EXTRA_DIST += tests/data/ledger doc/ledger.md

# Engine + ledger with synchronous=FULL and group commit (doc/ledger.md).
# Like bench-engine, meaningful only in a build without sanitizers.
noinst_PROGRAMS += contrib/bench/bench_durable
contrib_bench_bench_durable_SOURCES = contrib/bench/bench_durable.c
contrib_bench_bench_durable_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS)
contrib_bench_bench_durable_LDADD = $(KDEX_LIBS)

bench-durable: contrib/bench/bench_durable$(EXEEXT)
	./contrib/bench/bench_durable$(EXEEXT) -n 300000 -d .
.PHONY: bench-durable
