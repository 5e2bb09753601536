# src/engine.mk: build rules for this part (included by Makefile.am).
# The engine half of issue 9: money, markets and the order book (library),
# their unit tests and the engine benchmark.

src_libkdex_a_SOURCES += src/money.c src/money.h src/market.c src/market.h \
	src/book.c src/book.h
