/*
 * console_parse: word splitting, usage strings, argument checking and
 * completion candidates for kdex-console (see console_parse.h).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "console_cmd.h"
#include "console_parse.h"
#include "util.h"

void
console_words_free(char **argv)
{
	char	**p;

	if (argv == NULL)
		return;
	for (p = argv; *p != NULL; p++)
		free(*p);
	free(argv);
}

int
console_split(const char *line, int partial, char ***argvp, char **cause)
{
	char	**argv;
	char	 *word;
	size_t	  len;
	int	  argc = 0;
	char	  quote;

	argv = xcalloc(CONSOLE_WORDS_MAX + 1, sizeof *argv);
	word = xmalloc(strlen(line) + 1);
	for (;;) {
		while (*line == ' ' || *line == '\t' || *line == '\n' ||
		    *line == '\r')
			line++;
		if (*line == '\0')
			break;
		if (argc == CONSOLE_WORDS_MAX) {
			xasprintf(cause, "more than %d words",
			    CONSOLE_WORDS_MAX);
			goto fail;
		}
		len = 0;
		quote = '\0';
		for (; *line != '\0'; line++) {
			if (quote == '\'') {
				if (*line == '\'')
					quote = '\0';
				else
					word[len++] = *line;
			} else if (quote == '"') {
				if (*line == '"')
					quote = '\0';
				else if (*line == '\\' && (line[1] == '"' ||
				    line[1] == '\\'))
					word[len++] = *++line;
				else
					word[len++] = *line;
			} else if (*line == '\'' || *line == '"')
				quote = *line;
			else if (*line == '\\' && line[1] != '\0')
				word[len++] = *++line;
			else if (*line == ' ' || *line == '\t' ||
			    *line == '\n' || *line == '\r')
				break;
			else
				word[len++] = *line;
		}
		if (quote != '\0' && !partial) {
			xasprintf(cause, "unterminated %c quote", quote);
			goto fail;
		}
		argv[argc++] = xstrndup(word, len);
	}
	free(word);
	*argvp = argv;
	return argc;

fail:
	free(word);
	console_words_free(argv);
	*argvp = NULL;
	return -1;
}

int
console_spec_parse(const char *spec, struct console_item *items, size_t max)
{
	const char	*p = spec, *end;
	char		 tok[2 * CONSOLE_NAME_MAX];
	char		*sp;
	size_t		 n = 0, len;
	int		 optional;

	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		if (n == max)
			return -1;
		optional = *p == '[';
		if (optional) {
			if ((end = strchr(p, ']')) == NULL)
				return -1;
			p++;
		} else if ((end = strchr(p, ' ')) == NULL)
			end = p + strlen(p);
		len = (size_t)(end - p);
		if (len == 0 || len >= sizeof tok)
			return -1;
		memcpy(tok, p, len);
		tok[len] = '\0';
		p = optional ? end + 1 : end;

		/* A required option is "--opt VALUE": take the next word. */
		if (!optional && strncmp(tok, "--", 2) == 0) {
			while (*p == ' ')
				p++;
			if (*p != '\0' && *p != '[' && *p != '-') {
				end = strchr(p, ' ');
				if (end == NULL)
					end = p + strlen(p);
				if (len + 1 + (size_t)(end - p) >= sizeof tok)
					return -1;
				tok[len] = ' ';
				memcpy(tok + len + 1, p, (size_t)(end - p));
				tok[len + 1 + (size_t)(end - p)] = '\0';
				p = end;
			}
		}

		memset(&items[n], 0, sizeof items[n]);
		items[n].optional = optional;
		items[n].option = strncmp(tok, "--", 2) == 0;
		if ((sp = strchr(tok, ' ')) != NULL) {
			*sp++ = '\0';
			if (!items[n].option || strchr(sp, ' ') != NULL ||
			    strlen(sp) >= CONSOLE_NAME_MAX)
				return -1;
			strcpy(items[n].value, sp);
		}
		if (strlen(tok) >= CONSOLE_NAME_MAX)
			return -1;
		strcpy(items[n].name, tok);
		/* A required positional may not follow an optional one. */
		if (!items[n].option && !optional) {
			size_t	i;

			for (i = 0; i < n; i++) {
				if (!items[i].option && items[i].optional)
					return -1;
			}
		}
		n++;
	}
	return (int)n;
}

enum console_type
console_spec_type(const char *name)
{
	if (strcmp(name, "MARKET") == 0)
		return CONSOLE_T_MARKET;
	if (strcmp(name, "USER") == 0)
		return CONSOLE_T_USER;
	if (strcmp(name, "COMMAND") == 0)
		return CONSOLE_T_COMMAND;
	if (strcmp(name, "SUBCOMMAND") == 0)
		return CONSOLE_T_SUBCOMMAND;
	return CONSOLE_T_WORD;
}

/* The option item named name (len bytes) in items, or NULL. */
static const struct console_item *
console_find_option(const struct console_item *items, int n,
    const char *name, size_t len)
{
	int	i;

	for (i = 0; i < n; i++) {
		if (items[i].option && strlen(items[i].name) == len &&
		    strncmp(items[i].name, name, len) == 0)
			return &items[i];
	}
	return NULL;
}

int
console_args_parse(const char *spec, int argc, char **argv,
    struct console_args *args, char **cause)
{
	struct console_item		 items[CONSOLE_ITEMS_MAX];
	const struct console_item	*it;
	const char			*eq, *value;
	int				 n, i, j, npos = 0, nreq = 0;
	int				 dashdash = 0;

	memset(args, 0, sizeof *args);
	if ((n = console_spec_parse(spec, items, CONSOLE_ITEMS_MAX)) < 0)
		fatalx("bad usage string '%s'", spec);
	for (i = 0; i < n; i++) {
		if (!items[i].option) {
			npos++;
			if (!items[i].optional)
				nreq++;
		}
	}

	for (i = 0; i < argc; i++) {
		if (!dashdash && strcmp(argv[i], "--") == 0) {
			dashdash = 1;
			continue;
		}
		if (!dashdash && strncmp(argv[i], "--", 2) == 0) {
			eq = strchr(argv[i], '=');
			it = console_find_option(items, n, argv[i],
			    eq != NULL ? (size_t)(eq - argv[i]) :
			    strlen(argv[i]));
			if (it == NULL) {
				if (eq != NULL)
					xasprintf(cause, "unknown option '%.*s'",
					    (int)(eq - argv[i]), argv[i]);
				else
					xasprintf(cause, "unknown option '%s'",
					    argv[i]);
				return -1;
			}
			if (it->value[0] == '\0') {
				if (eq != NULL) {
					xasprintf(cause, "option '%s' takes "
					    "no value", it->name);
					return -1;
				}
				value = "";
			} else if (eq != NULL)
				value = eq + 1;
			else if (i + 1 < argc)
				value = argv[++i];
			else {
				xasprintf(cause, "option '%s' needs a value",
				    it->name);
				return -1;
			}
			for (j = 0; j < (int)args->nopts; j++) {
				if (strcmp(args->opts[j].name, it->name) == 0)
					break;
			}
			if (j == (int)args->nopts) {
				if (args->nopts == CONSOLE_ITEMS_MAX)
					fatalx("too many options");
				args->nopts++;
			}
			/* The last of a repeated option wins, as in getopt. */
			strcpy(args->opts[j].name, it->name);
			args->opts[j].value = value;
			continue;
		}
		if (args->argc == npos) {
			xasprintf(cause, "unexpected argument '%s'", argv[i]);
			return -1;
		}
		args->argv[args->argc++] = argv[i];
	}
	if (args->argc < nreq) {
		for (i = 0, j = 0; i < n; i++) {
			if (!items[i].option && j++ == args->argc)
				break;
		}
		xasprintf(cause, "missing %s", items[i].name);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (items[i].option && !items[i].optional &&
		    console_args_opt(args, items[i].name) == NULL) {
			xasprintf(cause, "missing option '%s'", items[i].name);
			return -1;
		}
	}
	return 0;
}

const char *
console_args_opt(const struct console_args *args, const char *name)
{
	size_t	i;

	for (i = 0; i < args->nopts; i++) {
		if (strcmp(args->opts[i].name, name) == 0)
			return args->opts[i].value;
	}
	return NULL;
}

const struct console_cmd *
console_cmd_lookup(const struct console_cmd *table, size_t n, int argc,
    char **argv, int *used)
{
	size_t	i;
	int	known = 0;

	*used = 0;
	if (argc < 1)
		return NULL;
	for (i = 0; i < n; i++) {
		if (strcmp(table[i].name, argv[0]) != 0)
			continue;
		known = 1;
		if (table[i].sub == NULL) {
			*used = 1;
			return &table[i];
		}
		if (argc >= 2 && strcmp(table[i].sub, argv[1]) == 0) {
			*used = 2;
			return &table[i];
		}
	}
	*used = known;
	return NULL;
}

/* A growing, NULL-terminated list of candidates. */
struct console_cands {
	char	**v;
	size_t	  n;
	size_t	  size;
};

static void
console_cands_add(struct console_cands *c, const char *prefix, const char *s)
{
	if (s == NULL || strncmp(s, prefix, strlen(prefix)) != 0)
		return;
	if (c->n + 2 > c->size) {
		c->size = c->size == 0 ? 16 : c->size * 2;
		c->v = xreallocarray(c->v, c->size, sizeof *c->v);
	}
	c->v[c->n++] = xstrdup(s);
	c->v[c->n] = NULL;
}

static int
console_cands_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **
console_cands_done(struct console_cands *c)
{
	size_t	i, j;

	if (c->n == 0) {
		free(c->v);
		return NULL;
	}
	qsort(c->v, c->n, sizeof *c->v, console_cands_cmp);
	for (i = 1, j = 1; i < c->n; i++) {
		if (strcmp(c->v[i], c->v[j - 1]) == 0)
			free(c->v[i]);
		else
			c->v[j++] = c->v[i];
	}
	c->v[j] = NULL;
	return c->v;
}

static void
console_cands_type(struct console_cands *c, enum console_type type,
    const char *word, const char *prev, const struct console_cmd *table,
    size_t n, console_names_fn names, void *arg)
{
	const char *const	*list;
	size_t			 i;

	switch (type) {
	case CONSOLE_T_WORD:
		break;
	case CONSOLE_T_COMMAND:
		for (i = 0; i < n; i++)
			console_cands_add(c, word, table[i].name);
		break;
	case CONSOLE_T_SUBCOMMAND:
		for (i = 0; prev != NULL && i < n; i++) {
			if (strcmp(table[i].name, prev) == 0)
				console_cands_add(c, word, table[i].sub);
		}
		break;
	case CONSOLE_T_MARKET:
	case CONSOLE_T_USER:
		if (names == NULL || (list = names(arg, type)) == NULL)
			break;
		for (; *list != NULL; list++)
			console_cands_add(c, word, *list);
		break;
	}
}

char **
console_complete(const struct console_cmd *table, size_t n, const char *line,
    size_t start, console_names_fn names, void *arg)
{
	struct console_cands		 c;
	struct console_item		 items[CONSOLE_ITEMS_MAX];
	const struct console_item	*it;
	const struct console_cmd	*e;
	const char			*word = line + start;
	char				*head, *cause, **argv;
	int				 argc, used, nitems, i, pos;

	memset(&c, 0, sizeof c);
	head = xstrndup(line, start);
	argc = console_split(head, 1, &argv, &cause);
	free(head);
	if (argc < 0) {
		free(cause);
		return NULL;
	}

	if (argc == 0) {
		console_cands_type(&c, CONSOLE_T_COMMAND, word, NULL, table, n,
		    names, arg);
		goto out;
	}
	e = console_cmd_lookup(table, n, argc, argv, &used);
	if (e == NULL) {
		/* The command is known but its subcommand not yet typed. */
		if (used == 1 && argc == 1)
			console_cands_type(&c, CONSOLE_T_SUBCOMMAND, word,
			    argv[0], table, n, names, arg);
		goto out;
	}
	if ((nitems = console_spec_parse(e->args, items,
	    CONSOLE_ITEMS_MAX)) < 0)
		goto out;

	/* Walk the words already typed to know where the cursor is. */
	pos = 0;
	it = NULL;
	for (i = used; i < argc; i++) {
		it = NULL;
		if (strncmp(argv[i], "--", 2) == 0) {
			if (strchr(argv[i], '=') == NULL)
				it = console_find_option(items, nitems, argv[i],
				    strlen(argv[i]));
			if (it != NULL && it->value[0] == '\0')
				it = NULL;
			continue;
		}
		pos++;
	}
	if (it != NULL) {
		/* The previous word is an option waiting for its value. */
		console_cands_type(&c, console_spec_type(it->value), word,
		    NULL, table, n, names, arg);
		goto out;
	}
	if (*word != '-') {
		for (i = 0; i < nitems; i++) {
			if (!items[i].option && pos-- == 0)
				break;
		}
		if (i < nitems) {
			console_cands_type(&c, console_spec_type(items[i].name),
			    word, argc > used ? argv[argc - 1] : NULL, table,
			    n, names, arg);
			goto out;
		}
	}
	for (i = 0; i < nitems; i++) {
		if (items[i].option)
			console_cands_add(&c, word, items[i].name);
	}

out:
	console_words_free(argv);
	return console_cands_done(&c);
}

int
console_parse_since(const char *s, int64_t now_ms, int64_t *out)
{
	char		*end;
	long long	 v;
	int64_t		 unit, age;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || v < 0)
		return -1;
	if (*end == '\0') {
		*out = v;
		return 0;
	}
	if (end[1] != '\0')
		return -1;
	switch (*end) {
	case 's':
		unit = 1000;
		break;
	case 'm':
		unit = 60 * 1000;
		break;
	case 'h':
		unit = 3600 * 1000;
		break;
	case 'd':
		unit = 86400 * 1000;
		break;
	default:
		return -1;
	}
	if (__builtin_mul_overflow((int64_t)v, unit, &age) || age > now_ms)
		return -1;
	*out = now_ms - age;
	return 0;
}
