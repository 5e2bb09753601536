/*
 * console: kdex-console's entry point, its options and the readline loop.
 *
 * kdex-console is the operator's console for a running kdexd, modelled on
 * redis-cli and psql. It only ever talks to kdexd's admin listener over
 * HTTP with the admin key (doc/api.md, "Admin"); it never opens the
 * database. Three ways to run a command: interactively (readline with
 * completion and a persistent history), once with -c, or one per line
 * from a standard input that is not a terminal.
 *
 * The commands live in console_cmd.c, their parsing and completion in
 * console_parse.c, the HTTP client in console_http.c and the output in
 * console_fmt.c.
 */
#ifndef KDEX_CONSOLE_H
#define KDEX_CONSOLE_H

#define CONSOLE_DEFAULT_URL	"http://127.0.0.1:8081"
#define CONSOLE_DEFAULT_KEYFILE	"./kdex-data/admin.key"
#define CONSOLE_HISTORY_FILE	".kdex_console_history"	/* in $HOME */
#define CONSOLE_HISTORY_MAX	1000	/* lines kept in the history file */
#define CONSOLE_NAMES_TTL_MS	5000	/* completion names cache lifetime */
#define CONSOLE_KEY_MAX		256	/* bytes of an admin key */

/*
 * Read the admin key from path: the first line, without surrounding
 * whitespace. Returns the key (caller frees) or NULL with *cause (caller
 * frees) when the file cannot be read or holds no key.
 */
char	*console_read_key(const char *path, char **cause);

#endif
