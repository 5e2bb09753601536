# src/keeta.mk: the Keeta primitives (hash, accounts, DER), the kdex keeta
# tests, the SDK conformance test and the decoder fuzz target.
src_libkdex_a_SOURCES += src/keeta_hash.c src/keeta_hash.h \
	src/keeta_account.c src/keeta_account.h src/keeta_der.c src/keeta_der.h

EXTRA_DIST += tests/data/keeta/README.md tests/data/keeta/accounts.json \
	tests/data/keeta/blocks.json tests/data/keeta/c-check.txt \
	tests/data/keeta/identifiers.json tests/data/keeta/message-signing.json \
	tests/data/keeta/meta.json tests/data/keeta/networks.json \
	tests/data/keeta/passphrase.json tests/data/keeta/staples.json \
	tests/data/keeta/votes.json

# Unit tests (Check), also run under valgrind by make check-valgrind.
check_PROGRAMS += tests/check_keeta_account tests/check_keeta_der
TESTS += tests/check_keeta_account tests/check_keeta_der
VALGRIND_TESTS += tests/check_keeta_account tests/check_keeta_der
tests_check_keeta_account_SOURCES = tests/check_keeta_account.c
tests_check_keeta_account_CFLAGS = $(TEST_CFLAGS)
tests_check_keeta_account_LDADD = $(TEST_LIBS)
tests_check_keeta_der_SOURCES = tests/check_keeta_der.c
tests_check_keeta_der_CFLAGS = $(TEST_CFLAGS)
tests_check_keeta_der_LDADD = $(TEST_LIBS)

# kdex keeta subcommands, driven from the shell; and the man page kdex(1)
# (engineer G adds the other commands' sections to the same file).
TESTS += tests/keeta_cli.test
EXTRA_DIST += tests/keeta_cli.test doc/keeta.md
dist_man_MANS += man/kdex.1

# SDK conformance: conform.js (node + the pinned SDK) drives the C helper.
check_PROGRAMS += tests/keeta_conform
tests_keeta_conform_SOURCES = tests/keeta_conform.c
tests_keeta_conform_CFLAGS = $(TEST_CFLAGS)
tests_keeta_conform_LDADD = $(TEST_LIBS)
TESTS += tests/keeta_conform.test
EXTRA_DIST += tests/keeta_conform.test tests/conformance/conform.js \
	tests/conformance/package.json tests/conformance/package-lock.json

# Decoder fuzz target: always with the portable driver; with libFuzzer
# too when configure found clang (FUZZ_CC), compiled straight from the
# sources so that every file carries the fuzzer's coverage hooks.
check_PROGRAMS += tests/fuzz_keeta_standalone
tests_fuzz_keeta_standalone_SOURCES = tests/fuzz_keeta_decode.c \
	tests/fuzz_driver.c
tests_fuzz_keeta_standalone_CFLAGS = $(TEST_CFLAGS)
tests_fuzz_keeta_standalone_LDADD = $(TEST_LIBS)
TESTS += tests/fuzz_keeta.test
EXTRA_DIST += tests/fuzz_keeta.test
if HAVE_FUZZ_CC
KEETA_FUZZ_SRC = $(top_srcdir)/src/util.c $(top_srcdir)/src/keeta_hash.c \
	$(top_srcdir)/src/keeta_account.c $(top_srcdir)/src/keeta_der.c \
	$(top_srcdir)/src/keeta_perm.c $(top_srcdir)/src/keeta_block.c \
	$(top_srcdir)/src/keeta_vote.c $(top_srcdir)/src/keeta_staple.c \
	$(top_srcdir)/tests/fuzz_keeta_decode.c
tests/fuzz_keeta_decode: $(KEETA_FUZZ_SRC)
	@$(MKDIR_P) tests
	$(FUZZ_CC) -g -O1 -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=all -I$(top_builddir) -I$(top_srcdir)/src \
	    $(CRYPTO_CFLAGS) $(SODIUM_CFLAGS) $(SECP256K1_CFLAGS) \
	    $(ZLIB_CFLAGS) $(CJSON_CFLAGS) -o $@ $(KEETA_FUZZ_SRC) \
	    $(CRYPTO_LIBS) $(SODIUM_LIBS) $(SECP256K1_LIBS) $(ZLIB_LIBS) \
	    $(CJSON_LIBS) -lpthread
tests/fuzz_keeta.log: tests/fuzz_keeta_decode
CLEANFILES += tests/fuzz_keeta_decode
endif
