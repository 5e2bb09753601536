# src/devnet.mk: kdex-devnet (a local Keeta representative) and the Keeta
# REST client (included by Makefile.am).
src_libkdex_a_SOURCES += src/devnet.c src/devnet.h \
	src/devnet_http.c src/devnet_http.h \
	src/devnet_ledger.c src/devnet_ledger.h \
	src/devnet_vote.c src/devnet_vote.h \
	src/keeta_client.h
src_libkdex_a_CFLAGS += $(LWS_CFLAGS)
