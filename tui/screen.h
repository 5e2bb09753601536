/*
 * screen: the full-screen ncurses trading client (`kdex` / `kdex ui`).
 *
 * One loop polls the terminal and kdexd's WebSocket (ws.h); live book
 * and trades are kept in struct mdata (mdata.h), everything else is read
 * over REST (api.h) when it changes or on a slow timer. Key handlers
 * return UI_* flags (htop's HandlerResult) and drawing happens once per
 * loop turn when something asked for it (tmux's redraw flags).
 *
 * The terminal is restored on every way out: normal quit, SIGINT, SIGTERM,
 * SIGHUP (clean exit with 128 + signal), fatal() (atexit), and crashes
 * (SIGSEGV, SIGBUS, SIGFPE, SIGABRT: endwin, then the signal's default
 * action).
 *
 * The key bindings live in one table, ui_keys[], which feeds the footer
 * and the `?` overlay; kdex(1) lists the same keys.
 */
#ifndef KDEX_SCREEN_H
#define KDEX_SCREEN_H

/* Handler results. */
#define UI_NONE		0x00
#define UI_REDRAW	0x01	/* redraw the screen */
#define UI_QUIT		0x02	/* leave the loop */
#define UI_FETCH	0x04	/* refetch market data over REST */
#define UI_FETCH_PRIV	0x08	/* refetch orders, fills, balances */
#define UI_RESUB	0x10	/* (re)subscribe the WebSocket channels */

/* One key binding: the key as shown, what it does, whether the footer
 * shows it (the footer is one line at 80 columns). */
struct ui_key {
	const char	*key;
	const char	*label;		/* short, for the footer */
	const char	*help;		/* for the ? overlay */
	int		 footer;
};
extern const struct ui_key	ui_keys[];

/* `kdex ui [PAIR]` (kdex.h has the prototype of cmd_ui). */

#endif
