# server/console.mk: kdex-console, the operator console (issue 7), its unit
# tests and its integration tests. Included by Makefile.am.
#
# kdex-console is built at the top of the build tree (path "kdex-console"),
# beside kdexd, so the integration tests find both in KDEX_BUILDDIR.
bin_PROGRAMS += kdex-console
kdex_console_SOURCES = server/console.c server/console.h \
	server/console_cmd.c server/console_cmd.h \
	server/console_parse.c server/console_parse.h \
	server/console_http.c server/console_http.h \
	server/console_fmt.c server/console_fmt.h
kdex_console_CFLAGS = $(AM_CFLAGS) $(READLINE_CFLAGS) $(CURL_CFLAGS) \
	$(CJSON_CFLAGS)
kdex_console_LDADD = $(KDEX_LIBS) $(READLINE_LIBS)

dist_man_MANS += man/kdex-console.8

# Unit tests of the parts that need no server: parsing, the table,
# completion candidates and formatting.
check_PROGRAMS += tests/check_console
tests_check_console_SOURCES = tests/check_console.c \
	server/console_cmd.c server/console_cmd.h \
	server/console_parse.c server/console_parse.h \
	server/console_http.c server/console_http.h \
	server/console_fmt.c server/console_fmt.h
tests_check_console_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/server
tests_check_console_CFLAGS = $(TEST_CFLAGS) $(CURL_CFLAGS)
tests_check_console_LDADD = $(TEST_LIBS)
VALGRIND_TESTS += tests/check_console

# Integration tests: kdex-console against a real kdexd and its devnet.
CONSOLE_TESTS = tests/console_help.test tests/console_admin.test tests/console_recon.test \
	tests/console_complete.test tests/console_chain.test \
	tests/console_live.test tests/console_reps.test
TESTS += tests/check_console $(CONSOLE_TESTS)
EXTRA_DIST += $(CONSOLE_TESTS) tests/console_lib.sh tests/console-live.js \
	doc/console.md
