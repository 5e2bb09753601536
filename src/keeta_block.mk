# src/keeta_block.mk: build rules for this part (included by Makefile.am).
