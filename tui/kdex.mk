# tui/kdex.mk: the kdex client (included by Makefile.am).
bin_PROGRAMS += kdex
kdex_SOURCES = tui/kdex.c tui/kdex.h tui/cmd_keeta.c tui/cmd_key.c \
	tui/cmd_trade.c tui/api.c tui/api.h tui/screen.c
kdex_CFLAGS = $(AM_CFLAGS) $(NCURSES_CFLAGS) $(CJSON_CFLAGS) $(CURL_CFLAGS) \
	$(LWS_CFLAGS) $(SODIUM_CFLAGS)
kdex_LDADD = $(KDEX_LIBS) $(NCURSES_LIBS) $(LWS_LIBS)

# The encrypted key file lives in src/ so kdexd and kdex keeta can reuse it.
src_libkdex_a_SOURCES += src/keyfile.c src/keyfile.h
