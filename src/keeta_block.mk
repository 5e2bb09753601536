# src/keeta_block.mk: the Keeta block layer (permissions, blocks, votes,
# vote staples) and its unit tests.
src_libkdex_a_SOURCES += src/keeta_perm.c src/keeta_perm.h \
	src/keeta_block.c src/keeta_block.h

check_PROGRAMS += tests/check_keeta_block
TESTS += tests/check_keeta_block
# Makefile.am assigns VALGRIND_TESTS after the fragments; until that
# moves above the includes, these are run under valgrind by hand.
KEETA_BLOCK_VALGRIND_TESTS = tests/check_keeta_block
tests_check_keeta_block_SOURCES = tests/check_keeta_block.c \
	tests/keeta_vectors.c tests/keeta_vectors.h
tests_check_keeta_block_CFLAGS = $(TEST_CFLAGS)
tests_check_keeta_block_LDADD = $(TEST_LIBS)
