# src/ledger.mk: build rules for this part (included by Makefile.am).
# The ledger (SQLite) and the exchange glue that drives books and ledger.
src_libkdex_a_SOURCES += src/ledger.c src/ledger.h src/exchange.c \
	src/exchange.h
