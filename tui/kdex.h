/*
 * kdex: the trading client. Each subcommand is a row in the table in
 * kdex.c (git's commands[] / tmux's cmd_entry) and lives in its own file.
 */
#ifndef KDEX_KDEX_H
#define KDEX_KDEX_H

struct kdex_cmd {
	const char	*name;
	const char	*usage;		/* one line: feeds --help and errors */
	const char	*summary;
	int		(*exec)(int, char **);	/* argv[0] is the subcommand */
};

/* Subcommand entry points: return the process exit status. */
int	cmd_keeta(int, char **);

#endif
