/*
 * kdex: entry point. Dispatches to a subcommand from the table below; with
 * no subcommand it opens the full-screen trading client (when stdout is a
 * terminal). Also holds what every subcommand shares: the option parser,
 * usage and error printing, and passphrase input.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kdex.h"
#include "keyfile.h"
#include "util.h"

/*
 * One row per command: name (one or two words), usage (after "kdex "),
 * summary. Keep in the order of the man page.
 */
const struct kdex_cmd kdex_cmds[] = {
	{ "key new", "key new [--type ed25519|secp256k1|p256] [--index N] "
	    "[--kdf COST] [--force]", "create a key in the profile's key file", cmd_key },
	{ "key import", "key import --seed HEX|--passphrase-words|--private HEX "
	    "[--type T] [--index N] [--kdf COST] [--force]",
	    "import a seed, a seed passphrase or a private key", cmd_key },
	{ "key export", "key export [--private]",
	    "print the profile's seed (or private key) after the passphrase",
	    cmd_key },
	{ "key show", "key show", "print the profile's address and key type",
	    cmd_key },
	{ "key list", "key list", "list the profiles that have a key",
	    cmd_key },
	{ "login", "login", "log in to kdexd (signs the challenge locally)",
	    cmd_login },
	{ "logout", "logout", "forget the cached session token", cmd_logout },
	{ "markets", "markets", "list the markets", cmd_markets },
	{ "book", "book PAIR [--depth N]", "print a market's order book",
	    cmd_book },
	{ "trades", "trades PAIR [--limit N]", "print a market's recent trades",
	    cmd_trades },
	{ "ticker", "ticker PAIR", "print a market's 24 h ticker", cmd_ticker },
	{ "candles", "candles PAIR [--interval 1m|5m|15m|1h|4h|1d] "
	    "[--limit N]", "print a market's candles", cmd_candles },
	{ "balances", "balances", "print your balances", cmd_balances },
	{ "order place", "order place PAIR buy|sell QTY [PRICE] "
	    "[--market] [--tif GTC|IOC|FOK] [--post-only] [--client-id ID]",
	    "place an order (limit when PRICE is given)", cmd_order },
	{ "order cancel", "order cancel ID|--client-id ID",
	    "cancel one order", cmd_order },
	{ "order cancel-all", "order cancel-all [PAIR]",
	    "cancel all your open orders (in one market)", cmd_order },
	{ "order list", "order list [--status open|closed|all] [--market PAIR] "
	    "[--limit N]", "list your orders", cmd_order },
	{ "order show", "order show ID|--client-id ID", "print one order",
	    cmd_order },
	{ "fills", "fills [--market PAIR] [--limit N]", "list your fills",
	    cmd_fills },
	{ "deposit address", "deposit address",
	    "print your deposit (storage account) address", cmd_deposit },
	{ "deposits", "deposits", "list your deposits", cmd_deposits },
	{ "withdraw", "withdraw TOKEN AMOUNT TO",
	    "ask kdexd to withdraw to a Keeta address", cmd_withdraw },
	{ "withdrawals", "withdrawals [ID]", "list your withdrawals",
	    cmd_withdrawals },
	{ "wallet setup", "wallet setup [--token SYMBOL]... [--rep URL] [--new]",
	    "create and register your storage account (deposit address)",
	    cmd_wallet },
	{ "wallet permissions", "wallet permissions [--storage ADDRESS] "
	    "[--rep URL]", "show the storage account's permissions from the "
	    "chain", cmd_wallet },
	{ "wallet grant", "wallet grant TOKEN|--all [--rep URL]",
	    "let the exchange operator move TOKEN for you", cmd_wallet },
	{ "wallet revoke", "wallet revoke TOKEN|--all [--rep URL]",
	    "take the exchange operator's right on TOKEN away", cmd_wallet },
	{ "wallet export-state", "wallet export-state [--out FILE] "
	    "[--rep URL]", "save the storage account's head and balances",
	    cmd_wallet },
	{ "wallet balances", "wallet balances [ADDRESS] [--rep URL]",
	    "balances on chain of the storage account (or ADDRESS)",
	    cmd_wallet },
	{ "wallet send", "wallet send TO TOKEN AMOUNT [--rep URL]",
	    "send from your own Keeta account (e.g. a deposit)", cmd_wallet },
	{ "self-withdraw", "self-withdraw TO [--token SYMBOL]... [--revoke] "
	    "[--rep URL] [--offline --state FILE --out FILE]",
	    "move your funds out without kdexd (owner key)",
	    cmd_self_withdraw },
	{ "publish", "publish FILE [--rep URL]",
	    "publish a transaction signed by self-withdraw --offline",
	    cmd_publish },
	{ "apikey create", "apikey create --scope trade|read [--label TEXT]",
	    "make an API key for a bot (the secret is shown once)",
	    cmd_apikey },
	{ "apikey list", "apikey list", "list your API keys", cmd_apikey },
	{ "apikey revoke", "apikey revoke ID", "revoke an API key",
	    cmd_apikey },
	{ "lp stats", "lp stats [--market PAIR]",
	    "your liquidity statistics (volume, maker share, quotes)",
	    cmd_lp },
	{ "ui", "ui [PAIR] [--keys]", "open the full-screen trading client "
	    "(--keys: list its key bindings)", cmd_ui },
	{ "keeta", "keeta address|decode|sign-message|verify-message ...",
	    "inspect Keeta keys, blocks, votes and staples", cmd_keeta },
};
const size_t kdex_ncmds = sizeof kdex_cmds / sizeof kdex_cmds[0];

struct kdex_global kdex_g = { .pass_fd = -1 };

static void
usage(FILE *f)
{
	size_t	 i;

	fprintf(f, "usage: kdex [--profile NAME] [--url URL] [--json] "
	    "<command> [args]\n       kdex [--help] [--version]\n\n"
	    "commands:\n");
	for (i = 0; i < kdex_ncmds; i++)
		fprintf(f, "  %-20s %s\n", kdex_cmds[i].name,
		    kdex_cmds[i].summary);
	fprintf(f, "\nWith no command, kdex opens the full-screen client.\n"
	    "`kdex COMMAND --help` shows a command's usage; see kdex(1).\n");
}

int
kdex_usage(void)
{
	if (kdex_g.cmd != NULL)
		fprintf(stderr, "usage: kdex %s\n", kdex_g.cmd->usage);
	else
		usage(stderr);
	return KDEX_EXIT_USAGE;
}

int
kdex_err(int code, const char *fmt, ...)
{
	va_list	ap;

	fputs("kdex: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

/* The global options: 1 if name is one (and *takes says if it has a
 * value), else 0. */
static int
kdex_global_opt(const char *name, int *takes)
{
	static const char *const flags[] = { "json", "help" };
	static const char *const vals[] = { "profile", "url",
	    "passphrase-file", "passphrase-fd" };
	size_t	i;

	for (i = 0; i < sizeof flags / sizeof flags[0]; i++)
		if (strcmp(name, flags[i]) == 0) {
			*takes = 0;
			return 1;
		}
	for (i = 0; i < sizeof vals / sizeof vals[0]; i++)
		if (strcmp(name, vals[i]) == 0) {
			*takes = 1;
			return 1;
		}
	return 0;
}

/* Apply a global option; -1 on a bad value. */
static int
kdex_global_set(const char *name, const char *val)
{
	char	*end;
	long	 fd;

	if (strcmp(name, "json") == 0)
		kdex_g.json = 1;
	else if (strcmp(name, "profile") == 0) {
		if (!keyfile_profile_valid(val)) {
			kdex_err(KDEX_EXIT_USAGE, "invalid profile name '%s'",
			    val);
			return -1;
		}
		kdex_g.profile = val;
	} else if (strcmp(name, "url") == 0)
		kdex_g.url = val;
	else if (strcmp(name, "passphrase-file") == 0)
		kdex_g.pass_file = val;
	else if (strcmp(name, "passphrase-fd") == 0) {
		fd = strtol(val, &end, 10);
		if (*val == '\0' || *end != '\0' || fd < 0 || fd > 1024) {
			kdex_err(KDEX_EXIT_USAGE, "invalid --passphrase-fd "
			    "'%s'", val);
			return -1;
		}
		kdex_g.pass_fd = (int)fd;
	}
	return 0;
}

int
kdex_args_parse(struct kdex_args *a, int argc, char **argv,
    const char *const *spec)
{
	const char	*arg, *eq, *val;
	char		 name[64];
	size_t		 nlen, slen;
	int		 i, takes, found, only_pos = 0;
	const char *const *s;

	memset(a, 0, sizeof *a);
	for (i = 1; i < argc; i++) {
		arg = argv[i];
		if (only_pos || arg[0] != '-' || arg[1] != '-' ||
		    arg[2] == '\0') {
			if (!only_pos && strcmp(arg, "--") == 0) {
				only_pos = 1;
				continue;
			}
			if (!only_pos && arg[0] == '-' && arg[1] == 'h' &&
			    arg[2] == '\0')
				goto help;
			if (a->npos == KDEX_ARGS_MAX)
				goto toomany;
			a->pos[a->npos++] = arg;
			continue;
		}
		arg += 2;
		eq = strchr(arg, '=');
		nlen = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
		if (nlen >= sizeof name)
			goto unknown;
		memcpy(name, arg, nlen);
		name[nlen] = '\0';
		found = 0;
		takes = 0;
		if (kdex_global_opt(name, &takes))
			found = 1;
		for (s = spec; !found && s != NULL && *s != NULL; s++) {
			slen = strlen(*s);
			takes = slen > 0 && (*s)[slen - 1] == '=';
			if (slen - (size_t)takes == nlen &&
			    strncmp(*s, name, nlen) == 0)
				found = 1;
		}
		if (!found)
			goto unknown;
		if (takes) {
			if (eq != NULL)
				val = eq + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else {
				kdex_err(KDEX_EXIT_USAGE, "option '--%s' "
				    "needs a value", name);
				kdex_usage();
				return -1;
			}
		} else {
			if (eq != NULL) {
				kdex_err(KDEX_EXIT_USAGE, "option '--%s' "
				    "takes no value", name);
				kdex_usage();
				return -1;
			}
			val = "";
		}
		if (strcmp(name, "help") == 0)
			goto help;
		if (kdex_global_opt(name, &takes)) {
			if (kdex_global_set(name, val) != 0) {
				kdex_usage();
				return -1;
			}
			continue;
		}
		if (a->nopt == KDEX_ARGS_MAX)
			goto toomany;
		/* Point at the spec's copy of the name: it outlives us. */
		for (s = spec; *s != NULL; s++)
			if (strncmp(*s, name, nlen) == 0 &&
			    ((*s)[nlen] == '\0' || (*s)[nlen] == '='))
				break;
		a->name[a->nopt] = *s;
		a->val[a->nopt++] = val;
	}
	return 0;
help:
	if (kdex_g.cmd != NULL)
		printf("usage: kdex %s\n\n%s.\n", kdex_g.cmd->usage,
		    kdex_g.cmd->summary);
	return 1;
unknown:
	kdex_err(KDEX_EXIT_USAGE, "unknown option '%s'", argv[i]);
	kdex_usage();
	return -1;
toomany:
	kdex_err(KDEX_EXIT_USAGE, "too many arguments");
	kdex_usage();
	return -1;
}

const char *
kdex_args_get(const struct kdex_args *a, const char *name)
{
	size_t		 i, nlen = strlen(name);
	const char	*v = NULL;

	for (i = 0; i < a->nopt; i++)
		if (strncmp(a->name[i], name, nlen) == 0 &&
		    (a->name[i][nlen] == '\0' || a->name[i][nlen] == '='))
			v = a->val[i];
	return v;
}

int
kdex_args_has(const struct kdex_args *a, const char *name)
{
	return kdex_args_get(a, name) != NULL;
}

char *
kdex_passphrase(const char *prompt, int confirm)
{
	char	*p, *cause = NULL;

	if (kdex_g.pass_file != NULL)
		p = keyfile_pass_file(kdex_g.pass_file, &cause);
	else if (kdex_g.pass_fd != -1)
		p = keyfile_pass_fd(kdex_g.pass_fd, &cause);
	else
		p = keyfile_pass_tty(prompt, confirm, &cause);
	if (p == NULL) {
		kdex_err(KDEX_EXIT_AUTH, "%s", cause);
		free(cause);
	}
	return p;
}

int
kdex_key_open(const char *path, struct keyfile *kf)
{
	char	*pass, *cause = NULL;
	int	 rc;

	if (access(path, F_OK) != 0)
		return kdex_err(KDEX_EXIT_AUTH, "profile '%s' has no key "
		    "(create one with 'kdex key new')", kdex_g.profile);
	if ((pass = kdex_passphrase("Passphrase: ", 0)) == NULL)
		return KDEX_EXIT_AUTH;
	rc = keyfile_read(path, pass, strlen(pass), kf, &cause);
	keyfile_pass_free(pass);
	if (rc != 0) {
		kdex_err(KDEX_EXIT_AUTH, "%s", cause);
		free(cause);
		return KDEX_EXIT_AUTH;
	}
	return KDEX_EXIT_OK;
}

/* Find the row for argv[0] (and argv[1] for two-word commands); *words
 * says how many words matched. */
static const struct kdex_cmd *
kdex_find(int argc, char **argv, int *words)
{
	size_t	 i, len;
	const struct kdex_cmd *one = NULL;

	for (i = 0; i < kdex_ncmds; i++) {
		const char *n = kdex_cmds[i].name, *sp = strchr(n, ' ');

		if (sp == NULL) {
			if (strcmp(n, argv[0]) == 0)
				one = &kdex_cmds[i];
			continue;
		}
		len = (size_t)(sp - n);
		if (argc >= 2 && strncmp(n, argv[0], len) == 0 &&
		    argv[0][len] == '\0' && strcmp(sp + 1, argv[1]) == 0) {
			*words = 2;
			return &kdex_cmds[i];
		}
	}
	*words = 1;
	return one;
}

/* A group ("key", "order") named without a valid second word. */
static int
kdex_group_usage(const char *group)
{
	size_t	i, len = strlen(group), n = 0;

	for (i = 0; i < kdex_ncmds; i++) {
		if (strncmp(kdex_cmds[i].name, group, len) != 0 ||
		    kdex_cmds[i].name[len] != ' ')
			continue;
		fprintf(stderr, "%s kdex %s\n", n++ == 0 ? "usage:" : "      ",
		    kdex_cmds[i].usage);
	}
	return n > 0;
}

int
main(int argc, char **argv)
{
	const struct kdex_cmd	*cmd;
	const char		*e;
	int			 i, words, takes;

	kdex_g.profile = (e = getenv("KDEX_PROFILE")) != NULL && *e != '\0' ?
	    e : KDEX_DEFAULT_PROFILE;
	kdex_g.url = (e = getenv("KDEX_URL")) != NULL && *e != '\0' ?
	    e : KDEX_DEFAULT_URL;

	/* Global options before the command. */
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			usage(stdout);
			return KDEX_EXIT_OK;
		}
		if (strcmp(arg, "--version") == 0) {
			printf("kdex %s\n", PACKAGE_VERSION);
			return KDEX_EXIT_OK;
		}
		if (arg[0] != '-' || arg[1] != '-')
			break;
		if (!kdex_global_opt(arg + 2, &takes)) {
			kdex_err(KDEX_EXIT_USAGE, "unknown option '%s'", arg);
			usage(stderr);
			return KDEX_EXIT_USAGE;
		}
		if (takes && i + 1 >= argc) {
			kdex_err(KDEX_EXIT_USAGE, "option '%s' needs a value",
			    arg);
			return KDEX_EXIT_USAGE;
		}
		if (kdex_global_set(arg + 2, takes ? argv[i + 1] : "") != 0)
			return KDEX_EXIT_USAGE;
		i += takes;
	}
	if (i >= argc) {
		if (isatty(STDOUT_FILENO) && isatty(STDIN_FILENO)) {
			static char	 ui[] = "ui";
			char		*uiv[] = { ui, NULL };

			kdex_g.cmd = kdex_find(1, uiv, &words);
			return cmd_ui(1, uiv);
		}
		usage(stderr);
		return KDEX_EXIT_USAGE;
	}
	argc -= i;
	argv += i;
	if ((cmd = kdex_find(argc, argv, &words)) == NULL) {
		if (kdex_group_usage(argv[0]))
			return KDEX_EXIT_USAGE;
		kdex_err(KDEX_EXIT_USAGE, "unknown command '%s'", argv[0]);
		usage(stderr);
		return KDEX_EXIT_USAGE;
	}
	kdex_g.cmd = cmd;
	return cmd->exec(argc - (words - 1), argv + (words - 1));
}
