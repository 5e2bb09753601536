/*
 * kdex: the trading client. Each subcommand is a row in the table in
 * kdex.c (git's commands[] / tmux's cmd_entry) and lives in a cmd_*.c file;
 * the same usage string feeds `kdex --help`, `kdex CMD --help`, parse
 * errors and the man page SYNOPSIS (tests/kdex_help.test checks that).
 *
 * Exit status of every subcommand (kdex(1) EXIT STATUS):
 *   0 success, 1 the request failed (kdexd or the chain said no),
 *   2 usage error, 3 cannot reach kdexd, 4 not logged in / bad key or
 *   passphrase.
 */
#ifndef KDEX_KDEX_H
#define KDEX_KDEX_H

#include <stddef.h>

#define KDEX_EXIT_OK		0
#define KDEX_EXIT_FAIL		1
#define KDEX_EXIT_USAGE		2
#define KDEX_EXIT_NET		3
#define KDEX_EXIT_AUTH		4

#define KDEX_DEFAULT_URL	"http://127.0.0.1:8080"
#define KDEX_DEFAULT_PROFILE	"default"

struct kdex_cmd {
	const char	*name;		/* "order place": one or two words */
	const char	*usage;		/* one line: feeds --help and errors */
	const char	*summary;
	int		(*exec)(int, char **);	/* argv[0] is the last word */
};

/* The table (kdex.c), for help output and lookups. */
extern const struct kdex_cmd	kdex_cmds[];
extern const size_t		kdex_ncmds;

/* Options shared by every subcommand (set by kdex_args_parse or main). */
struct kdex_global {
	const char	*profile;	/* --profile, $KDEX_PROFILE, "default" */
	const char	*url;		/* --url, $KDEX_URL, KDEX_DEFAULT_URL */
	int		 json;		/* --json */
	const char	*pass_file;	/* --passphrase-file */
	int		 pass_fd;	/* --passphrase-fd, -1 if none */
	const struct kdex_cmd *cmd;	/* the running command */
};
extern struct kdex_global	kdex_g;

/* Print "usage: kdex <usage>" for the running command; returns 2. */
int	kdex_usage(void);
/* "kdex: msg" to stderr; returns code, so `return kdex_err(1, ...)`. */
int	kdex_err(int code, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * Arguments of a subcommand. spec lists the command's own options as
 * "name" (a flag) or "name=" (takes a value); the global ones (--profile,
 * --url, --json, --passphrase-file, --passphrase-fd, --help) are always
 * accepted. Options and positionals may be mixed; "--" ends options.
 * Values are pointers into argv. Returns 0, 1 when --help was given (help
 * printed), or -1 after printing an error and the usage.
 */
#define KDEX_ARGS_MAX	32
struct kdex_args {
	const char	*pos[KDEX_ARGS_MAX];
	size_t		 npos;
	const char	*name[KDEX_ARGS_MAX];
	const char	*val[KDEX_ARGS_MAX];	/* "" for flags */
	size_t		 nopt;
};
int		 kdex_args_parse(struct kdex_args *, int, char **,
		    const char *const *spec);
/* The value of --name, or NULL when absent (last one wins). */
const char	*kdex_args_get(const struct kdex_args *, const char *name);
int		 kdex_args_has(const struct kdex_args *, const char *name);

/*
 * The passphrase for the key file, from --passphrase-file, --passphrase-fd
 * or the terminal (without echo; confirm asks twice). NULL after printing
 * an error. Free with keyfile_pass_free().
 */
char	*kdex_passphrase(const char *prompt, int confirm);

/* Open the key file at path with kdex_passphrase(); an exit status
 * (0 on success, after printing the error otherwise). Wipe kf with
 * keyfile_clear(). */
struct keyfile;
int	kdex_key_open(const char *path, struct keyfile *kf);

/* Subcommand entry points: return the process exit status. */
int	cmd_keeta(int, char **);
int	cmd_key(int, char **);		/* cmd_key.c */
int	cmd_login(int, char **);	/* cmd_trade.c */
int	cmd_logout(int, char **);
int	cmd_markets(int, char **);
int	cmd_book(int, char **);
int	cmd_trades(int, char **);
int	cmd_ticker(int, char **);
int	cmd_candles(int, char **);
int	cmd_balances(int, char **);
int	cmd_order(int, char **);
int	cmd_fills(int, char **);
int	cmd_deposit(int, char **);
int	cmd_deposits(int, char **);
int	cmd_withdraw(int, char **);
int	cmd_withdrawals(int, char **);
int	cmd_wallet(int, char **);	/* cmd_wallet.c */
int	cmd_self_withdraw(int, char **);
int	cmd_publish(int, char **);	/* cmd_offline.c */
/* self-withdraw --offline (cmd_offline.c): args as parsed, TO. */
int	offline_self_withdraw(const struct kdex_args *, const char *to);
int	cmd_ui(int, char **);		/* screen.c */
int	cmd_apikey(int, char **);	/* cmd_lp.c */
int	cmd_lp(int, char **);

/*
 * Shared by cmd_trade.c and cmd_lp.c. trade_api(): a client for --url
 * (api_free() it). trade_call(): one request (priv: with the session,
 * logging in when needed); an exit status, *out the answer on 0 (caller
 * frees); errors printed. trade_args(): kdex_args_parse() plus a count of
 * positionals; -1 with the exit status in *rc.
 */
struct api;
struct cJSON;
struct api	*trade_api(void);
int		 trade_call(struct api *, int priv, const char *method,
		    const char *path, const struct cJSON *body,
		    struct cJSON **out);
int		 trade_args(struct kdex_args *, int, char **,
		    const char *const *spec, size_t minpos, size_t maxpos,
		    int *rc);

#endif
