/*
 * console_parse: kdex-console's command lines, without any I/O.
 *
 * A line is split into words the way a shell would (quotes, backslash),
 * then matched against the command table (console_cmd.h). Each row's usage
 * string is the only description of its arguments: the same text feeds
 * `help`, --help, the man page, parse errors, argument checking and tab
 * completion, so they cannot drift apart. Usage grammar, one item per
 * space-separated token:
 *
 *	NAME		required positional (MARKET, USER, ID, ...)
 *	[NAME]		optional positional
 *	--opt VALUE	required option with a value
 *	[--opt VALUE]	optional option with a value
 *	[--flag]	optional flag
 *
 * The placeholder says what completes there: MARKET a market name, USER a
 * user address, COMMAND / SUBCOMMAND the command table.
 */
#ifndef KDEX_CONSOLE_PARSE_H
#define KDEX_CONSOLE_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define CONSOLE_WORDS_MAX	64	/* words in one line */
#define CONSOLE_ITEMS_MAX	16	/* items in one usage string */
#define CONSOLE_NAME_MAX	32	/* bytes of one item name, with NUL */

struct console_cmd;

/* What completes at a place in a line. */
enum console_type {
	CONSOLE_T_WORD,		/* free text: nothing to offer */
	CONSOLE_T_MARKET,
	CONSOLE_T_USER,
	CONSOLE_T_COMMAND,
	CONSOLE_T_SUBCOMMAND
};

/* One item of a usage string. */
struct console_item {
	char	name[CONSOLE_NAME_MAX];	/* "MARKET" or "--user" */
	char	value[CONSOLE_NAME_MAX]; /* "USER" for "--user USER"; "" */
	int	option;			/* starts with "--" */
	int	optional;		/* was in brackets */
};

/* Positionals and options of one command after parsing. */
struct console_args {
	int		 argc;
	const char	*argv[CONSOLE_ITEMS_MAX];	/* belong to the words */
	size_t		 nopts;
	struct {
		char		 name[CONSOLE_NAME_MAX]; /* "--user" */
		const char	*value;			/* "" for a flag */
	}		 opts[CONSOLE_ITEMS_MAX];
};

/*
 * Split line into words: whitespace separates, '...' quotes literally,
 * "..." quotes with \" and \\, a backslash outside quotes escapes the next
 * character. Returns the number of words (0 for a blank line) and fills
 * *argv (NULL-terminated; free with console_words_free), or -1 with *cause
 * (caller frees) for an unterminated quote or more than CONSOLE_WORDS_MAX
 * words. When partial is non-zero an unterminated quote is accepted (for
 * completion of a line still being typed).
 */
int	console_split(const char *line, int partial, char ***argv,
	    char **cause);
void	console_words_free(char **argv);

/*
 * Parse usage string spec into items. Returns the number of items, or -1
 * when spec is malformed or has more than max items (a bug in the table,
 * caught by the unit tests).
 */
int	console_spec_parse(const char *spec, struct console_item *items,
	    size_t max);

/* The completion type of a placeholder name ("MARKET", "USER", ...). */
enum console_type	console_spec_type(const char *name);

/*
 * Check argv (the words after the command and subcommand) against spec
 * and fill args; pointers in args point into argv. Options may be given as
 * "--opt VALUE" or "--opt=VALUE", anywhere. Returns 0, or -1 with *cause
 * (caller frees) naming the first problem: unknown option, missing value,
 * missing or extra argument.
 */
int	console_args_parse(const char *spec, int argc, char **argv,
	    struct console_args *args, char **cause);

/* Value of option name ("--user") in args, "" for a flag, NULL if absent. */
const char	*console_args_opt(const struct console_args *,
		    const char *name);

/*
 * The row of table (n rows) for words argv[0] (command) and argv[1]
 * (subcommand, when the command has any). *used is set to the number of
 * words consumed (1 or 2). NULL when there is no such command; then
 * *used is 0 for an unknown command and 1 for a known command with a
 * missing or unknown subcommand.
 */
const struct console_cmd	*console_cmd_lookup(const struct console_cmd *table,
				    size_t n, int argc, char **argv, int *used);

/* Source of market names and user ids for completion. */
typedef const char *const	*(*console_names_fn)(void *arg,
				    enum console_type type);

/*
 * Candidates to complete the word that starts at byte start of line (the
 * text from start to the end of line is the word being typed). Returns a
 * NULL-terminated array of strings that begin with that word, sorted and
 * unique, or NULL when there are none. names may be NULL (no market or
 * user candidates). The caller frees each string and the array.
 */
char	**console_complete(const struct console_cmd *table, size_t n,
	    const char *line, size_t start, console_names_fn names, void *arg);

/*
 * Parse --since: milliseconds since the epoch ("1764032400000") or an age
 * before now_ms ("90s", "15m", "2h", "7d"). Returns 0 and sets *out, or -1.
 */
int	console_parse_since(const char *s, int64_t now_ms, int64_t *out);

#endif
