# tui/kdex.mk: the kdex client (included by Makefile.am).
bin_PROGRAMS += kdex
kdex_SOURCES = tui/kdex.c tui/kdex.h tui/cmd_keeta.c
kdex_CFLAGS = $(AM_CFLAGS) $(NCURSES_CFLAGS) $(CJSON_CFLAGS) $(CURL_CFLAGS) \
	$(LWS_CFLAGS) $(SODIUM_CFLAGS)
kdex_LDADD = $(KDEX_LIBS) $(NCURSES_LIBS) $(LWS_LIBS)
