/*
 * kdexd_conf: the configuration, its defaults and the config file.
 *
 * The file is line oriented ("name value", '#' starts a comment) so that
 * it can be written by hand and diffed; kdexd(8) documents every name. A
 * market is one line: "market PAIR name=value ...". Unknown names are
 * errors: a typo must not silently fall back to a default.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kdexd.h"
#include "kdexd_conf.h"
#include "util.h"

/* Not in struct kdexd_conf (kdexd.h): see kdexd_conf.h. */
static struct kdexd_settle_conf	settle_conf;

static const char *const tok_names[CONF_TOK_N] = {
	"withdraw-max",
	"withdraw-user-24h",
	"withdraw-global-24h",
	"withdraw-approval",
	"recon-dust",
	"recon-critical"
};

static void
settle_conf_free(void)
{
	size_t	i, k;

	for (i = 0; i < settle_conf.ntokens; i++) {
		free(settle_conf.tokens[i].token);
		for (k = 0; k < CONF_TOK_N; k++)
			free(settle_conf.tokens[i].amount[k]);
	}
	memset(&settle_conf, 0, sizeof settle_conf);
}

const struct kdexd_settle_conf *
conf_settle(void)
{
	return (&settle_conf);
}

const char *
conf_tok_name(enum conf_tok k)
{
	return ((unsigned int)k < CONF_TOK_N ? tok_names[k] : "?");
}

void
conf_defaults(struct kdexd_conf *c)
{
	settle_conf_free();
	memset(c, 0, sizeof *c);
	c->listen = xstrdup("127.0.0.1:8080");
	c->admin_listen = xstrdup("127.0.0.1:8081");
	c->data_dir = xstrdup("./kdex-data");
	c->rate_ip = 200;
	c->burst_ip = 400;
	c->rate_user = 100;
	c->burst_user = 200;
	c->jwt_ttl = 24 * 3600;
	c->ws_ping = 20;
	c->ws_queue_max = 1024 * 1024;
	c->max_clients = 10000;
	c->demo_maker = 1;
	c->ledger_sync = 2;
	c->ledger_pipeline = 1;
}

static int
parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char			*end;
	unsigned long long	 v;

	if (*s == '\0' || !isdigit((unsigned char)*s))
		return (-1);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return (-1);
	*out = v;
	return (0);
}

static int
parse_int(const char *s, long min, long max, int *out)
{
	char	*end;
	long	 v;

	if (*s == '\0')
		return (-1);
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return (-1);
	*out = (int)v;
	return (0);
}

static void
market_free(struct kdexd_market_conf *m)
{
	free(m->pair);
	free(m->base);
	free(m->quote);
	free(m->tick_size);
	free(m->lot_size);
	free(m->min_size);
	free(m->min_notional);
	free(m->base_token);
	free(m->quote_token);
	memset(m, 0, sizeof *m);
}

/* Fill m for pair with the defaults of a new market. */
static int
market_new(struct kdexd_market_conf *m, const char *pair)
{
	const char	*dash;
	size_t		 i;

	dash = strchr(pair, '-');
	if (dash == NULL || dash == pair || dash[1] == '\0' ||
	    strchr(dash + 1, '-') != NULL || strlen(pair) > 33)
		return (-1);
	for (i = 0; pair[i] != '\0'; i++)
		if (pair[i] != '-' && !isupper((unsigned char)pair[i]) &&
		    !isdigit((unsigned char)pair[i]))
			return (-1);
	memset(m, 0, sizeof *m);
	m->pair = xstrdup(pair);
	m->base = xstrndup(pair, (size_t)(dash - pair));
	m->quote = xstrdup(dash + 1);
	m->base_decimals = 9;
	m->quote_decimals = 6;
	m->tick_size = xstrdup("0.0001");
	m->lot_size = xstrdup("0.01");
	m->min_size = xstrdup("0.01");
	m->min_notional = xstrdup("0");
	m->maker_fee_ppm = -100;
	m->taker_fee_ppm = 500;
	return (0);
}

static int
market_set(struct kdexd_market_conf *m, const char *name, const char *value)
{
	unsigned long long	 u;
	char			**sp = NULL;

	if (strcmp(name, "base_decimals") == 0 ||
	    strcmp(name, "quote_decimals") == 0) {
		if (parse_uint(value, 38, &u) != 0)
			return (-1);
		if (name[0] == 'b')
			m->base_decimals = (unsigned int)u;
		else
			m->quote_decimals = (unsigned int)u;
		return (0);
	}
	if (strcmp(name, "maker_fee_ppm") == 0)
		return (parse_int(value, -1000000, 1000000, &m->maker_fee_ppm));
	if (strcmp(name, "taker_fee_ppm") == 0)
		return (parse_int(value, 0, 1000000, &m->taker_fee_ppm));
	if (strcmp(name, "status") == 0) {
		if (strcmp(value, "open") == 0)
			m->status = 0;
		else if (strcmp(value, "halted") == 0)
			m->status = 1;
		else if (strcmp(value, "cancel_only") == 0)
			m->status = 2;
		else
			return (-1);
		return (0);
	}
	if (strcmp(name, "tick_size") == 0)
		sp = &m->tick_size;
	else if (strcmp(name, "lot_size") == 0)
		sp = &m->lot_size;
	else if (strcmp(name, "min_size") == 0)
		sp = &m->min_size;
	else if (strcmp(name, "min_notional") == 0)
		sp = &m->min_notional;
	else if (strcmp(name, "base_token") == 0)
		sp = &m->base_token;
	else if (strcmp(name, "quote_token") == 0)
		sp = &m->quote_token;
	if (sp == NULL || *value == '\0')
		return (-1);
	free(*sp);
	*sp = xstrdup(value);
	return (0);
}

/* One "market PAIR a=b ..." line; words is the rest after "market". */
static int
conf_market(struct kdexd_conf *c, char *rest, char **cause, const char *where)
{
	struct kdexd_market_conf	*m;
	char				*word, *eq, *save = NULL;
	size_t				 i;

	if ((word = strtok_r(rest, " \t", &save)) == NULL) {
		xasprintf(cause, "%s: market needs a pair", where);
		return (-1);
	}
	for (i = 0; i < c->nmarkets; i++)
		if (strcmp(c->markets[i].pair, word) == 0) {
			xasprintf(cause, "%s: market %s twice", where, word);
			return (-1);
		}
	if (c->nmarkets == KDEXD_MARKETS_MAX) {
		xasprintf(cause, "%s: too many markets", where);
		return (-1);
	}
	m = &c->markets[c->nmarkets];
	if (market_new(m, word) != 0) {
		xasprintf(cause, "%s: bad pair '%s' (want BASE-QUOTE, upper "
		    "case)", where, word);
		return (-1);
	}
	c->nmarkets++;
	while ((word = strtok_r(NULL, " \t", &save)) != NULL) {
		if ((eq = strchr(word, '=')) == NULL) {
			xasprintf(cause, "%s: '%s' is not name=value", where,
			    word);
			return (-1);
		}
		*eq++ = '\0';
		if (market_set(m, word, eq) != 0) {
			xasprintf(cause, "%s: bad market setting '%s=%s'",
			    where, word, eq);
			return (-1);
		}
	}
	return (0);
}

/* A decimal amount as written: digits, at most one point, no sign. */
static int
conf_amount_ok(const char *v)
{
	size_t	i, digits = 0, points = 0;

	for (i = 0; v[i] != '\0'; i++) {
		if (isdigit((unsigned char)v[i]))
			digits++;
		else if (v[i] == '.' && points++ == 0 && digits > 0)
			continue;
		else
			return (0);
	}
	return (digits > 0 && v[i - 1] != '.' && i <= 60);
}

/* One "token SYMBOL name=AMOUNT ..." line; several lines merge. */
static int
conf_token(char *rest, char **cause, const char *where)
{
	struct kdexd_token_conf	*t = NULL;
	char			*word, *eq, *save = NULL;
	size_t			 i, k;

	if ((word = strtok_r(rest, " \t", &save)) == NULL ||
	    strlen(word) > 80) {
		xasprintf(cause, "%s: token needs a symbol or address", where);
		return (-1);
	}
	for (i = 0; i < settle_conf.ntokens; i++)
		if (strcmp(settle_conf.tokens[i].token, word) == 0)
			t = &settle_conf.tokens[i];
	if (t == NULL) {
		if (settle_conf.ntokens == KDEXD_TOKENS_MAX) {
			xasprintf(cause, "%s: too many token lines", where);
			return (-1);
		}
		t = &settle_conf.tokens[settle_conf.ntokens++];
		t->token = xstrdup(word);
	}
	while ((word = strtok_r(NULL, " \t", &save)) != NULL) {
		if ((eq = strchr(word, '=')) == NULL) {
			xasprintf(cause, "%s: '%s' is not name=amount", where,
			    word);
			return (-1);
		}
		*eq++ = '\0';
		for (k = 0; k < CONF_TOK_N; k++)
			if (strcmp(word, tok_names[k]) == 0)
				break;
		if (k == CONF_TOK_N) {
			xasprintf(cause, "%s: unknown token setting '%s'",
			    where, word);
			return (-1);
		}
		if (!conf_amount_ok(eq)) {
			xasprintf(cause, "%s: %s: '%s' is not a decimal "
			    "amount", where, word, eq);
			return (-1);
		}
		free(t->amount[k]);
		t->amount[k] = xstrdup(eq);
	}
	return (0);
}

/* Milliseconds between two runs of a chain worker task. */
static int
conf_ms(const char *v, int64_t *out)
{
	unsigned long long	u;

	if (parse_uint(v, 86400000, &u) != 0 || u < 10)
		return (-1);
	*out = (int64_t)u;
	return (0);
}

static int
conf_uint(const char *v, unsigned long long max, unsigned int *out)
{
	unsigned long long	u;

	if (parse_uint(v, max, &u) != 0 || u == 0)
		return (-1);
	*out = (unsigned int)u;
	return (0);
}

static int
conf_line(struct kdexd_conf *c, char *line, char **cause, const char *where)
{
	char			*name, *value, *p;
	unsigned long long	 u;
	int			 bad = 0;

	if ((p = strchr(line, '#')) != NULL)
		*p = '\0';
	while (*line == ' ' || *line == '\t')
		line++;
	p = line + strlen(line);
	while (p > line && isspace((unsigned char)p[-1]))
		*--p = '\0';
	if (*line == '\0')
		return (0);
	name = line;
	value = name + strcspn(name, " \t");
	if (*value != '\0') {
		*value++ = '\0';
		while (*value == ' ' || *value == '\t')
			value++;
	}
	if (strcmp(name, "market") == 0)
		return (conf_market(c, value, cause, where));
	if (strcmp(name, "token") == 0)
		return (conf_token(value, cause, where));
	if (strcmp(name, "demo") == 0 || strcmp(name, "demo-maker") == 0) {
		int *flag = name[4] == '\0' ? &c->demo : &c->demo_maker;

		if (strcmp(value, "yes") == 0)
			*flag = 1;
		else if (strcmp(value, "no") == 0)
			*flag = 0;
		else
			bad = 1;
	} else if (*value == '\0')
		bad = 1;
	else if (strcmp(name, "listen") == 0) {
		free(c->listen);
		c->listen = xstrdup(value);
	} else if (strcmp(name, "admin-listen") == 0) {
		free(c->admin_listen);
		c->admin_listen = xstrdup(value);
	} else if (strcmp(name, "data") == 0) {
		free(c->data_dir);
		c->data_dir = xstrdup(value);
	} else if (strcmp(name, "network") == 0) {
		free(c->network);
		c->network = xstrdup(value);
	} else if (strcmp(name, "keeta-api") == 0) {
		if (c->napis == KDEXD_APIS_MAX)
			bad = 1;
		else
			c->apis[c->napis++] = xstrdup(value);
	} else if (strcmp(name, "rate-ip") == 0)
		bad = conf_uint(value, 10000000, &c->rate_ip);
	else if (strcmp(name, "burst-ip") == 0)
		bad = conf_uint(value, 10000000, &c->burst_ip);
	else if (strcmp(name, "rate-user") == 0)
		bad = conf_uint(value, 10000000, &c->rate_user);
	else if (strcmp(name, "burst-user") == 0)
		bad = conf_uint(value, 10000000, &c->burst_user);
	else if (strcmp(name, "jwt-ttl") == 0)
		bad = conf_uint(value, 30 * 86400, &c->jwt_ttl);
	else if (strcmp(name, "ws-ping") == 0)
		bad = conf_uint(value, 3600, &c->ws_ping);
	else if (strcmp(name, "max-clients") == 0)
		bad = conf_uint(value, 1000000, &c->max_clients);
	else if (strcmp(name, "ledger-sync") == 0) {
		if (strcmp(value, "full") == 0)
			c->ledger_sync = 2;
		else if (strcmp(value, "normal") == 0)
			c->ledger_sync = 1;
		else
			bad = 1;
	} else if (strcmp(name, "ledger-pipeline") == 0) {
		if (strcmp(value, "yes") == 0)
			c->ledger_pipeline = 1;
		else if (strcmp(value, "no") == 0)
			c->ledger_pipeline = 0;
		else
			bad = 1;
	} else if (strcmp(name, "deposit-poll-ms") == 0)
		bad = conf_ms(value, &settle_conf.deposit_poll_ms);
	else if (strcmp(name, "acl-check-ms") == 0)
		bad = conf_ms(value, &settle_conf.acl_check_ms);
	else if (strcmp(name, "settle-interval-ms") == 0)
		bad = conf_ms(value, &settle_conf.settle_ms);
	else if (strcmp(name, "recon-interval-ms") == 0)
		bad = conf_ms(value, &settle_conf.recon_ms);
	else if (strcmp(name, "ws-queue-max") == 0) {
		if (parse_uint(value, 1ULL << 30, &u) != 0 || u < 4096)
			bad = 1;
		else
			c->ws_queue_max = (size_t)u;
	} else {
		xasprintf(cause, "%s: unknown setting '%s'", where, name);
		return (-1);
	}
	if (bad) {
		xasprintf(cause, "%s: bad value for %s: '%s'", where, name,
		    value);
		return (-1);
	}
	return (0);
}

int
conf_load(struct kdexd_conf *c, const char *path, char **cause)
{
	FILE	*f;
	char	 line[2048], *where;
	int	 n = 0, r = 0;

	if ((f = fopen(path, "r")) == NULL) {
		xasprintf(cause, "cannot open %s: %s", path, strerror(errno));
		return (-1);
	}
	while (fgets(line, sizeof line, f) != NULL) {
		n++;
		xasprintf(&where, "%s:%d", path, n);
		if (strchr(line, '\n') == NULL && !feof(f)) {
			xasprintf(cause, "%s: line too long", where);
			r = -1;
		} else
			r = conf_line(c, line, cause, where);
		free(where);
		if (r != 0)
			break;
	}
	fclose(f);
	return (r);
}

void
conf_finish(struct kdexd_conf *c)
{
	char	pair[] = "KTA-USDC";

	if (c->nmarkets == 0) {
		if (market_new(&c->markets[0], pair) != 0)
			fatalx("default market");
		c->nmarkets = 1;
	}
}

void
conf_free(struct kdexd_conf *c)
{
	size_t	i;

	free(c->listen);
	free(c->admin_listen);
	free(c->data_dir);
	free(c->network);
	for (i = 0; i < c->napis; i++)
		free(c->apis[i]);
	for (i = 0; i < c->nmarkets; i++)
		market_free(&c->markets[i]);
	memset(c, 0, sizeof *c);
	settle_conf_free();
}
