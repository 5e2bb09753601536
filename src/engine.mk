# src/engine.mk: build rules for this part (included by Makefile.am).
# The engine half of issue 9: money, markets and the order book (library),
# their unit tests and the engine benchmark.

src_libkdex_a_SOURCES += src/money.c src/money.h src/market.c src/market.h \
	src/book.c src/book.h

# Unit tests (Check); also run under valgrind by make check-valgrind.
check_PROGRAMS += tests/check_money tests/check_book tests/check_book_diff
TESTS += tests/check_money tests/check_book tests/check_book_diff
VALGRIND_TESTS += tests/check_money tests/check_book tests/check_book_diff

tests_check_money_SOURCES = tests/check_money.c
tests_check_money_CFLAGS = $(TEST_CFLAGS)
tests_check_money_LDADD = $(TEST_LIBS)

tests_check_book_SOURCES = tests/check_book.c
tests_check_book_CFLAGS = $(TEST_CFLAGS)
tests_check_book_LDADD = $(TEST_LIBS)

tests_check_book_diff_SOURCES = tests/check_book_diff.c
tests_check_book_diff_CFLAGS = $(TEST_CFLAGS)
tests_check_book_diff_LDADD = $(TEST_LIBS)

EXTRA_DIST += tests/data/book doc/engine.md

# The engine benchmark (contrib/bench/README.md). make bench-engine builds
# it with the configured flags: use a build without --enable-sanitizers
# (and without --enable-debug) for meaningful figures.
noinst_PROGRAMS += contrib/bench/bench_engine
contrib_bench_bench_engine_SOURCES = contrib/bench/bench_engine.c
contrib_bench_bench_engine_LDADD = $(KDEX_LIBS)
EXTRA_DIST += contrib/bench/README.md contrib/bench/run-engine \
	contrib/bench/reference_model.py

bench-engine: contrib/bench/bench_engine$(EXEEXT)
	$(SHELL) $(top_srcdir)/contrib/bench/run-engine \
	    ./contrib/bench/bench_engine$(EXEEXT)
.PHONY: bench-engine
