# src/ledger.mk: build rules for this part (included by Makefile.am).
