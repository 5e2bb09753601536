# tui/kdex.mk: the kdex client (included by Makefile.am).
bin_PROGRAMS += kdex
kdex_SOURCES = tui/kdex.c tui/kdex.h tui/cmd_keeta.c tui/cmd_key.c \
	tui/cmd_trade.c tui/cmd_wallet.c tui/cmd_offline.c tui/api.c tui/api.h tui/ws.c tui/ws.h tui/mdata.c \
	tui/mdata.h tui/screen.c tui/screen.h tui/cmd_lp.c
kdex_CFLAGS = $(AM_CFLAGS) $(NCURSES_CFLAGS) $(CJSON_CFLAGS) $(CURL_CFLAGS) \
	$(LWS_CFLAGS) $(SODIUM_CFLAGS) $(CRYPTO_CFLAGS)
kdex_LDADD = $(KDEX_LIBS) $(NCURSES_LIBS) $(LWS_LIBS)

# The encrypted key file lives in src/ so kdexd and kdex keeta can reuse it.
src_libkdex_a_SOURCES += src/keyfile.c src/keyfile.h

check_PROGRAMS += tests/check_keyfile
tests_check_keyfile_SOURCES = tests/check_keyfile.c
tests_check_keyfile_CFLAGS = $(TEST_CFLAGS) $(SODIUM_CFLAGS)
tests_check_keyfile_LDADD = $(TEST_LIBS)
VALGRIND_TESTS += tests/check_keyfile

check_PROGRAMS += tests/check_mdata
tests_check_mdata_SOURCES = tests/check_mdata.c tui/mdata.c tui/mdata.h
tests_check_mdata_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tui
tests_check_mdata_CFLAGS = $(TEST_CFLAGS)
tests_check_mdata_LDADD = $(TEST_LIBS)
VALGRIND_TESTS += tests/check_mdata

# Shell tests drive the real kdex binary; those that need kdexd skip (77)
# until server/kdexd exists.
KDEX_SHELL_TESTS = tests/kdex_key.test tests/kdex_help.test \
	tests/kdex_trade.test tests/kdex_ui.test tests/kdex_wallet.test
TESTS += tests/check_keyfile tests/check_mdata $(KDEX_SHELL_TESTS)
EXTRA_DIST += $(KDEX_SHELL_TESTS) tests/kdex_lib.sh doc/kdex.md
