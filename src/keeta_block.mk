# src/keeta_block.mk: the Keeta block layer (permissions, blocks, votes,
# vote staples) and its unit tests.
src_libkdex_a_SOURCES += src/keeta_perm.c src/keeta_perm.h \
	src/keeta_block.c src/keeta_block.h src/keeta_vote.c src/keeta_vote.h \
	src/keeta_staple.c src/keeta_staple.h

check_PROGRAMS += tests/check_keeta_block tests/check_keeta_vote
TESTS += tests/check_keeta_block tests/check_keeta_vote
# Makefile.am assigns VALGRIND_TESTS after the fragments; until that
# moves above the includes, these are run under valgrind by hand.
KEETA_BLOCK_VALGRIND_TESTS = tests/check_keeta_block tests/check_keeta_vote
tests_check_keeta_block_SOURCES = tests/check_keeta_block.c \
	tests/keeta_vectors.c tests/keeta_vectors.h
tests_check_keeta_block_CFLAGS = $(TEST_CFLAGS)
tests_check_keeta_block_LDADD = $(TEST_LIBS)
tests_check_keeta_vote_SOURCES = tests/check_keeta_vote.c \
	tests/keeta_vectors.c tests/keeta_vectors.h
tests_check_keeta_vote_CFLAGS = $(TEST_CFLAGS)
tests_check_keeta_vote_LDADD = $(TEST_LIBS)

EXTRA_DIST += doc/keeta-blocks.md
