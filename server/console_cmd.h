/*
 * console_cmd: kdex-console's command table and the commands themselves.
 *
 * Every command is one row of console_cmds[] in console_cmd.c, in the
 * manner of tmux's cmd_entry and SQLite's azHelp[]: name, subcommand,
 * usage, summary, flags and handler. That single table feeds tab
 * completion, `help`, --help, argument errors and (checked by a test) the
 * man page. Each handler turns its arguments into one admin API request
 * (doc/api.md, "Admin") and prints the answer through console_fmt.
 */
#ifndef KDEX_CONSOLE_CMD_H
#define KDEX_CONSOLE_CMD_H

#include <stddef.h>
#include <stdio.h>

#include "console_fmt.h"
#include "console_parse.h"

struct console_http;

/* The state every command sees. Owned by main(). */
struct console {
	struct console_http	*http;
	enum console_mode	 mode;
	FILE			*out;	/* data */
	FILE			*err;	/* diagnostics, prompts */
	int			 yes;	/* --yes: no confirmation */
	int			 can_ask; /* stdin is a terminal */
	int			 quit;	/* set by `quit` */
};

#define CONSOLE_CMD_CONFIRM	0x1	/* destructive: ask first */
#define CONSOLE_CMD_LOCAL	0x2	/* needs no server */

struct console_cmd {
	const char	*name;		/* "markets" */
	const char	*sub;		/* "halt"; NULL when none */
	const char	*args;		/* usage after name and sub; "" */
	const char	*summary;
	int		 flags;
	int		(*exec)(struct console *, const struct console_cmd *,
			    struct console_args *);
};

/* Exit statuses of console_cmd_run (and of the process). */
#define CONSOLE_OK	0
#define CONSOLE_FAIL	1	/* the command failed or found a problem */
#define CONSOLE_USAGE	2	/* the line could not be parsed */

/* The table and its length. */
const struct console_cmd	*console_cmd_table(size_t *n);

/*
 * Run one line: split, look up, check arguments, confirm when needed, and
 * execute. A blank line or a comment ('#') does nothing. Returns CONSOLE_OK,
 * CONSOLE_FAIL or CONSOLE_USAGE; errors are printed on c->err in git's
 * style ("error: ..."), prefixed with the usage on a parse error.
 */
int	console_cmd_run(struct console *c, const char *line);

/*
 * The usage of row e as one line: "markets halt MARKET". The caller frees
 * the result.
 */
char	*console_cmd_usage(const struct console_cmd *e);

/*
 * Print the command list (usage and summary) on f in mode: the body of
 * `help` and of --help.
 */
void	 console_cmd_list(FILE *f, enum console_mode mode);

#endif
