# src/keeta_block.mk: the Keeta block layer (permissions, blocks, votes,
# vote staples) and its unit tests.
src_libkdex_a_SOURCES += src/keeta_perm.c src/keeta_perm.h \
	src/keeta_block.c src/keeta_block.h
