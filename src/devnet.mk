# src/devnet.mk: kdex-devnet (a local Keeta representative) and the Keeta
# REST client (included by Makefile.am).
src_libkdex_a_SOURCES += src/devnet.h src/keeta_client.h
