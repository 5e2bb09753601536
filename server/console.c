/*
 * console: kdex-console's main(), options, key loading and the readline
 * loop (see console.h).
 *
 * The interactive loop uses readline's callback interface around select()
 * so that Ctrl-C can cancel the line being typed (or the request being
 * sent, through the flag console_http polls) without leaving the console.
 */
#include "config.h"

#include <sys/select.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "console.h"
#include "console_cmd.h"
#include "console_http.h"
#include "util.h"

static volatile sig_atomic_t	console_sigint;
static volatile sig_atomic_t	console_sigwinch;

/* Market names and user ids for completion, fetched from kdexd. */
struct console_names {
	char	**markets;
	char	**users;
	int64_t	  fetched_ms;
};

static struct console		*repl_c;
static struct console_names	 repl_names;
static int			 repl_done;
static char			*repl_last;	/* last line added to history */

static void
console_on_signal(int sig)
{
	if (sig == SIGINT)
		console_sigint = 1;
	else if (sig == SIGWINCH)
		console_sigwinch = 1;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: kdex-console [-hjVy] [-c command] [-k keyfile] [-u url] "
	    "[-H historyfile]\n"
	    "\n"
	    "  -c, --command CMD        run one command and exit\n"
	    "  -j, --json               print kdexd's JSON answers\n"
	    "  -y, --yes                do not ask before destructive "
	    "commands\n"
	    "  -u, --url URL            admin API (default %s)\n"
	    "  -k, --admin-key-file F   admin key (default %s;\n"
	    "                           KDEX_ADMIN_KEY overrides the default)\n"
	    "  -H, --history FILE       history file (default "
	    "~/%s)\n"
	    "  -h, --help               this help\n"
	    "  -V, --version            print the version\n"
	    "\n"
	    "commands:\n", CONSOLE_DEFAULT_URL, CONSOLE_DEFAULT_KEYFILE,
	    CONSOLE_HISTORY_FILE);
	console_cmd_list(f, CONSOLE_MODE_TABLE);
}

char *
console_read_key(const char *path, char **cause)
{
	FILE	*f;
	char	 buf[CONSOLE_KEY_MAX + 2], *p, *end;

	if ((f = fopen(path, "r")) == NULL) {
		xasprintf(cause, "cannot read admin key '%s': %s", path,
		    strerror(errno));
		return NULL;
	}
	if (fgets(buf, sizeof buf, f) == NULL) {
		fclose(f);
		xasprintf(cause, "admin key file '%s' is empty", path);
		return NULL;
	}
	fclose(f);
	for (p = buf; *p == ' ' || *p == '\t'; p++)
		;
	end = p + strlen(p);
	while (end > p && (end[-1] == '\n' || end[-1] == '\r' ||
	    end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	if (*p == '\0') {
		xasprintf(cause, "admin key file '%s' is empty", path);
		return NULL;
	}
	if (strlen(p) > CONSOLE_KEY_MAX) {
		xasprintf(cause, "admin key in '%s' is too long", path);
		return NULL;
	}
	p = xstrdup(p);
	memset(buf, 0, sizeof buf);
	return p;
}

static int64_t
console_now_ms(void)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		fatal("clock_gettime");
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
console_names_clear(struct console_names *nm)
{
	console_words_free(nm->markets);
	console_words_free(nm->users);
	nm->markets = nm->users = NULL;
}

/* The strings at member field of each element of array key in json. */
static char **
console_names_pick(const cJSON *json, const char *key, const char *field)
{
	const cJSON	*e, *v;
	char		**list;
	size_t		  n = 0;

	list = xcalloc((size_t)cJSON_GetArraySize(
	    cJSON_GetObjectItemCaseSensitive(json, key)) + 1, sizeof *list);
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(json, key)) {
		v = cJSON_GetObjectItemCaseSensitive(e, field);
		if (cJSON_IsString(v))
			list[n++] = xstrdup(v->valuestring);
	}
	return list;
}

/* console_names_fn for completion: ask kdexd, at most every few seconds. */
static const char *const *
console_names_get(void *arg, enum console_type type)
{
	struct console		*c = arg;
	struct console_resp	 resp;
	char			*cause;
	int64_t			 now = console_now_ms();

	if (repl_names.fetched_ms == 0 ||
	    now - repl_names.fetched_ms > CONSOLE_NAMES_TTL_MS) {
		console_names_clear(&repl_names);
		repl_names.fetched_ms = now;
		if (console_http_request(c->http, "GET", "/admin/markets",
		    NULL, &resp, &cause) == 0) {
			if (resp.status == 200)
				repl_names.markets = console_names_pick(
				    resp.json, "markets", "pair");
			console_resp_clear(&resp);
		} else
			free(cause);
		if (console_http_request(c->http, "GET", "/admin/users",
		    NULL, &resp, &cause) == 0) {
			if (resp.status == 200)
				repl_names.users = console_names_pick(
				    resp.json, "users", "address");
			console_resp_clear(&resp);
		} else
			free(cause);
	}
	if (type == CONSOLE_T_MARKET)
		return (const char *const *)repl_names.markets;
	if (type == CONSOLE_T_USER)
		return (const char *const *)repl_names.users;
	return NULL;
}

static char	**repl_cands;
static size_t	  repl_next;

static char *
repl_generator(const char *text, int state)
{
	(void)text;
	if (state == 0)
		repl_next = 0;
	if (repl_cands == NULL || repl_cands[repl_next] == NULL)
		return NULL;
	/* readline frees what it is given: hand over our copy. */
	return xstrdup(repl_cands[repl_next++]);
}

static char **
repl_complete(const char *text, int start, int end)
{
	const struct console_cmd	*table;
	size_t				 n;
	char				*line, **matches;

	rl_attempted_completion_over = 1;
	table = console_cmd_table(&n);
	line = xstrndup(rl_line_buffer, (size_t)end);
	repl_cands = console_complete(table, n, line, (size_t)start,
	    console_names_get, repl_c);
	free(line);
	matches = rl_completion_matches(text, repl_generator);
	console_words_free(repl_cands);
	repl_cands = NULL;
	return matches;
}

static void
repl_line(char *line)
{
	const char	*p;

	if (line == NULL) {
		/* Ctrl-D on an empty line. */
		fputc('\n', stdout);
		repl_done = 1;
		rl_callback_handler_remove();
		return;
	}
	for (p = line; *p == ' ' || *p == '\t'; p++)
		;
	/* A leading space keeps a line out of the history, as in bash. */
	if (*p != '\0' && line[0] != ' ' &&
	    (repl_last == NULL || strcmp(repl_last, line) != 0)) {
		add_history(line);
		free(repl_last);
		repl_last = xstrdup(line);
	}
	console_sigint = 0;
	(void)console_cmd_run(repl_c, line);
	console_sigint = 0;
	free(line);
	if (repl_c->quit) {
		repl_done = 1;
		rl_callback_handler_remove();
	}
}

static void
repl_history_path(const char *opt, char **path)
{
	const char	*home;

	*path = NULL;
	if (opt != NULL)
		*path = xstrdup(opt);
	else if ((home = getenv("KDEX_CONSOLE_HISTORY")) != NULL &&
	    *home != '\0')
		*path = xstrdup(home);
	else if ((home = getenv("HOME")) != NULL && *home != '\0')
		xasprintf(path, "%s/%s", home, CONSOLE_HISTORY_FILE);
}

static int
repl(struct console *c, const char *histopt)
{
	char	*hist;
	fd_set	 rfds;
	int	 fd, rv;

	repl_c = c;
	repl_history_path(histopt, &hist);
	rl_readline_name = "kdex-console";
	rl_attempted_completion_function = repl_complete;
	rl_completer_word_break_characters = " \t\n";
	rl_catch_signals = 0;
	rl_catch_sigwinch = 0;
	using_history();
	stifle_history(CONSOLE_HISTORY_MAX);
	if (hist != NULL && (rv = read_history(hist)) != 0 && rv != ENOENT)
		fprintf(stderr, "warning: cannot read history '%s': %s\n",
		    hist, strerror(rv));

	rl_callback_handler_install("kdex> ", repl_line);
	fd = fileno(rl_instream);
	while (!repl_done) {
		FD_ZERO(&rfds);
		FD_SET(fd, &rfds);
		if (select(fd + 1, &rfds, NULL, NULL, NULL) < 0) {
			if (errno != EINTR)
				fatal("select");
			if (console_sigwinch) {
				console_sigwinch = 0;
				rl_resize_terminal();
			}
			if (console_sigint) {
				/* Ctrl-C drops the line, not the console. */
				console_sigint = 0;
				rl_free_line_state();
				rl_callback_sigcleanup();
				fputs("^C\n", rl_outstream);
				rl_replace_line("", 0);
				rl_on_new_line();
				rl_redisplay();
			}
			continue;
		}
		rl_callback_read_char();
	}
	if (!repl_done)
		rl_callback_handler_remove();

	if (hist != NULL) {
		if ((rv = write_history(hist)) != 0)
			fprintf(stderr, "warning: cannot write history "
			    "'%s': %s\n", hist, strerror(rv));
		else
			(void)history_truncate_file(hist, CONSOLE_HISTORY_MAX);
	}
	free(hist);
	free(repl_last);
	clear_history();
	console_names_clear(&repl_names);
	return CONSOLE_OK;
}

/* Commands one per line from a stdin that is not a terminal. */
static int
run_stdin(struct console *c)
{
	char	*line = NULL;
	size_t	 size = 0;
	ssize_t	 n;
	int	 rv = CONSOLE_OK, r;

	while (!c->quit && (n = getline(&line, &size, stdin)) != -1) {
		if (n > 0 && line[n - 1] == '\n')
			line[n - 1] = '\0';
		r = console_cmd_run(c, line);
		if (rv == CONSOLE_OK)
			rv = r;
		/* Outside the REPL a Ctrl-C stops the script, not one line. */
		if (console_sigint) {
			fprintf(stderr, "error: interrupted\n");
			rv = CONSOLE_FAIL;
			break;
		}
	}
	free(line);
	return rv;
}

int
main(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "command", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "yes", no_argument, NULL, 'y' },
		{ "url", required_argument, NULL, 'u' },
		{ "admin-key-file", required_argument, NULL, 'k' },
		{ "history", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct console		 c;
	struct sigaction	 sa;
	const char		*url = NULL, *keyfile = NULL, *histopt = NULL;
	const char		*env;
	char			**cmds = NULL, *key = NULL, *cause = NULL;
	size_t			 ncmds = 0, i;
	int			 ch, json = 0, rv = CONSOLE_OK, r;

	memset(&c, 0, sizeof c);
	while ((ch = getopt_long(argc, argv, "c:jyu:k:H:hV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			cmds = xreallocarray(cmds, ncmds + 1, sizeof *cmds);
			cmds[ncmds++] = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'y':
			c.yes = 1;
			break;
		case 'u':
			url = optarg;
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 'H':
			histopt = optarg;
			break;
		case 'h':
			usage(stdout);
			return CONSOLE_OK;
		case 'V':
			printf("kdex-console %s\n", PACKAGE_VERSION);
			return CONSOLE_OK;
		default:
			usage(stderr);
			return CONSOLE_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "error: unexpected argument '%s' (commands "
		    "go in -c)\n", argv[optind]);
		usage(stderr);
		free(cmds);
		return CONSOLE_USAGE;
	}

	if (url == NULL && (env = getenv("KDEX_ADMIN_URL")) != NULL &&
	    *env != '\0')
		url = env;
	if (url == NULL)
		url = CONSOLE_DEFAULT_URL;
	/* An explicit file beats the environment, which beats the default. */
	if (keyfile != NULL)
		key = console_read_key(keyfile, &cause);
	else if ((env = getenv("KDEX_ADMIN_KEY")) != NULL && *env != '\0')
		key = xstrdup(env);
	else
		key = console_read_key(CONSOLE_DEFAULT_KEYFILE, &cause);

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: select() and getline() must see the Ctrl-C. */
	sa.sa_handler = console_on_signal;
	if (sigaction(SIGINT, &sa, NULL) != 0 ||
	    sigaction(SIGWINCH, &sa, NULL) != 0)
		fatal("sigaction");
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) != 0)
		fatal("sigaction");

	c.http = console_http_create(url, key, cause, &console_sigint);
	if (key != NULL) {
		memset(key, 0, strlen(key));
		free(key);
	}
	free(cause);
	c.out = stdout;
	c.err = stderr;
	c.can_ask = isatty(STDIN_FILENO);
	if (json)
		c.mode = CONSOLE_MODE_JSON;
	else if (isatty(STDOUT_FILENO))
		c.mode = CONSOLE_MODE_TABLE;
	else
		c.mode = CONSOLE_MODE_TSV;

	if (ncmds > 0) {
		for (i = 0; i < ncmds && !c.quit && !console_sigint; i++) {
			r = console_cmd_run(&c, cmds[i]);
			if (rv == CONSOLE_OK)
				rv = r;
		}
		if (console_sigint && rv == CONSOLE_OK)
			rv = CONSOLE_FAIL;
	} else if (!isatty(STDIN_FILENO))
		rv = run_stdin(&c);
	else
		rv = repl(&c, histopt);

	free(cmds);
	console_http_free(c.http);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		/* A reader that went away (| head) is not worth a message. */
		if (errno != EPIPE)
			fprintf(stderr, "error: cannot write output: %s\n",
			    strerror(errno));
		rv = CONSOLE_FAIL;
	}
	return rv;
}
