/*
 * kdexd_ws: WebSocket clients, channels and bounded outbound queues.
 *
 * A published message is formatted once and shared (reference counted) by
 * every subscriber's queue, so fan-out to thousands of clients costs one
 * allocation plus a queue entry each. Each client may hold at most
 * conf.ws_queue_max bytes queued: a client that falls further behind is a
 * slow consumer and is disconnected (Redis's client-output-buffer-limit),
 * so memory never grows with a stalled reader. The server pings every
 * conf.ws_ping seconds and drops a client silent for three intervals.
 *
 * Channels: "orderbook:P", "trades:P", "ticker:P" (public) and, after an
 * auth message, "orders", "balances", "fills" (private; stored internally
 * as "u:<address>:<name>").
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "kdexd.h"
#include "kdexd_lp.h"
#include "util.h"

#define WS_SUBS_MAX	64		/* channels per client */
#define CHAN_HASH	1024
#define CHAN_NAME_MAX	160

struct ws_msg {
	int	refs;
	size_t	len;
	char	buf[];			/* LWS_PRE bytes, then the text */
};

struct ws_qent {
	struct ws_qent	*next;
	struct ws_msg	*m;
};

struct channel;

struct ws_client {
	struct lws		*wsi;
	char			 peer[64];
	char			 user[KDEXD_USER_MAX];	/* "" until auth */
	int64_t			 auth_exp_ms;

	struct channel		*subs[WS_SUBS_MAX];
	uint64_t		 snap_seq[WS_SUBS_MAX];	/* book snapshot's */
	size_t			 nsubs;

	struct ws_qent		*qhead, *qtail;
	size_t			 qbytes;

	char			*rx;
	size_t			 rxlen;
	int			 rx_too_large;

	int64_t			 last_ping_ms;
	int64_t			 last_seen_ms;
	int			 ping_due;
	int			 dead;
	int			 cancel_on_disconnect;	/* kdexd_lp.c */

	struct ws_client	*prev, *next;
};

struct channel {
	struct channel		*next;		/* hash chain */
	struct ws_client	**subs;
	size_t			 n, cap;
	char			 name[];
};

static struct channel	*chans[CHAN_HASH];
static struct ws_client	*clients;
static size_t		 nclients;

static unsigned int
chan_hash(const char *s)
{
	unsigned int	h = 2166136261u;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return (h % CHAN_HASH);
}

static struct channel *
chan_find(const char *name, int create)
{
	struct channel	*ch;
	unsigned int	 h = chan_hash(name);

	for (ch = chans[h]; ch != NULL; ch = ch->next)
		if (strcmp(ch->name, name) == 0)
			return (ch);
	if (!create)
		return (NULL);
	ch = xcalloc(1, sizeof *ch + strlen(name) + 1);
	strcpy(ch->name, name);
	ch->next = chans[h];
	chans[h] = ch;
	return (ch);
}

/* Free a channel nobody listens to any more. */
static void
chan_gc(struct channel *ch)
{
	struct channel	**pp;

	if (ch->n != 0)
		return;
	for (pp = &chans[chan_hash(ch->name)]; *pp != NULL; pp = &(*pp)->next)
		if (*pp == ch) {
			*pp = ch->next;
			break;
		}
	free(ch->subs);
	free(ch);
}

void
ws_init(struct kdexd *s)
{
	(void)s;
}

size_t
ws_client_count(void)
{
	return (nclients);
}

static void
msg_unref(struct ws_msg *m)
{
	if (--m->refs == 0)
		free(m);
}

static struct ws_msg *
msg_new(const char *text, size_t len)
{
	struct ws_msg	*m;

	m = xmalloc(sizeof *m + LWS_PRE + len + 1);
	m->refs = 0;
	m->len = len;
	memcpy(m->buf + LWS_PRE, text, len + 1);
	return (m);
}

static void
queue_clear(struct ws_client *c)
{
	struct ws_qent	*q, *n;

	for (q = c->qhead; q != NULL; q = n) {
		n = q->next;
		msg_unref(q->m);
		free(q);
	}
	c->qhead = c->qtail = NULL;
	c->qbytes = 0;
}

/* Drop a client at once: it is too slow or misbehaving. */
static void
client_kill(struct ws_client *c, const char *why)
{
	if (c->dead)
		return;
	log_debug("ws %s: disconnect: %s", c->peer, why);
	c->dead = 1;
	queue_clear(c);
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

static void
client_push(struct ws_client *c, struct ws_msg *m)
{
	struct kdexd	*s = kdexd_server;
	struct ws_qent	*q;

	if (c->dead)
		return;
	if (c->qbytes + m->len > s->conf.ws_queue_max) {
		s->stats.ws_slow_disconnects++;
		client_kill(c, "slow consumer");
		return;
	}
	q = xmalloc(sizeof *q);
	q->next = NULL;
	q->m = m;
	m->refs++;
	if (c->qtail != NULL)
		c->qtail->next = q;
	else
		c->qhead = q;
	c->qtail = q;
	c->qbytes += m->len;
	lws_callback_on_writable(c->wsi);
}

/* Queue text (not taken) to one client. */
static void
client_send(struct ws_client *c, const char *text)
{
	struct ws_msg	*m;

	m = msg_new(text, strlen(text));
	m->refs++;
	client_push(c, m);
	msg_unref(m);
}

static void
client_send_json(struct ws_client *c, cJSON *o)
{
	char	*t;

	t = json_print(o);
	cJSON_Delete(o);
	client_send(c, t);
	free(t);
}

static void
client_error(struct ws_client *c, const char *code, const char *msg)
{
	cJSON	*o, *e;

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "error");
	e = cJSON_AddObjectToObject(o, "error");
	cJSON_AddStringToObject(e, "code", code);
	cJSON_AddStringToObject(e, "message", msg);
	client_send_json(c, o);
}

void
ws_publish(const char *name, char *text)
{
	ws_publish_seq(name, 0, text);
}

/* seq 0: every subscriber; else those whose snapshot predates it. */
void
ws_publish_seq(const char *name, uint64_t seq, char *text)
{
	struct kdexd	*s = kdexd_server;
	struct channel	*ch;
	struct ws_client *c;
	struct ws_msg	*m;
	size_t		 i, k, sent = 0;

	if ((ch = chan_find(name, 0)) == NULL || ch->n == 0) {
		free(text);
		return;
	}
	m = msg_new(text, strlen(text));
	free(text);
	m->refs++;
	for (i = 0; i < ch->n; i++) {
		c = ch->subs[i];
		if (seq != 0) {
			for (k = 0; k < c->nsubs && c->subs[k] != ch; k++)
				;
			if (k < c->nsubs && c->snap_seq[k] >= seq)
				continue;	/* its snapshot had this update */
		}
		client_push(c, m);
		sent++;
	}
	s->stats.ws_messages_out += sent;
	msg_unref(m);
}

void
ws_publish_user(const char *user, const char *name, char *text)
{
	char	full[CHAN_NAME_MAX];

	snprintf(full, sizeof full, "u:%s:%s", user, name);
	ws_publish(full, text);
}

int
ws_has_subscribers(const char *name)
{
	struct channel	*ch;

	return ((ch = chan_find(name, 0)) != NULL && ch->n > 0);
}

struct ws_client *
ws_open(struct lws *wsi, const char *peer)
{
	struct kdexd		*s = kdexd_server;
	struct ws_client	*c;

	c = xcalloc(1, sizeof *c);
	c->wsi = wsi;
	snprintf(c->peer, sizeof c->peer, "%s", peer);
	c->last_ping_ms = c->last_seen_ms = kdexd_now_ms();
	c->next = clients;
	if (clients != NULL)
		clients->prev = c;
	clients = c;
	nclients++;
	s->stats.ws_clients = nclients;
	return (c);
}

static void
unsubscribe(struct ws_client *c, struct channel *ch)
{
	size_t	i;

	for (i = 0; i < ch->n; i++)
		if (ch->subs[i] == c) {
			ch->subs[i] = ch->subs[--ch->n];
			break;
		}
	for (i = 0; i < c->nsubs; i++)
		if (c->subs[i] == ch) {
			c->nsubs--;
			c->subs[i] = c->subs[c->nsubs];
			c->snap_seq[i] = c->snap_seq[c->nsubs];
			break;
		}
	chan_gc(ch);
}

void
ws_close(struct ws_client *c)
{
	if (c->cancel_on_disconnect && c->user[0] != '\0')
		lp_ws_disconnected(c->user);
	while (c->nsubs > 0)
		unsubscribe(c, c->subs[0]);
	queue_clear(c);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	nclients--;
	kdexd_server->stats.ws_clients = nclients;
	free(c->rx);
	free(c);
}

/* Note the depth sequence of the book snapshot a subscriber got. */
static void
sub_snapped(struct ws_client *c, const char *name, const cJSON *seq)
{
	struct channel	*ch;
	size_t		 k;

	if ((ch = chan_find(name, 0)) == NULL || !cJSON_IsNumber(seq) ||
	    seq->valuedouble < 0)
		return;
	for (k = 0; k < c->nsubs; k++)
		if (c->subs[k] == ch)
			c->snap_seq[k] = (uint64_t)seq->valuedouble;
}

static int
subscribe(struct ws_client *c, const char *name)
{
	struct channel	*ch;
	size_t		 i;

	if ((ch = chan_find(name, 1)) == NULL)
		return (-1);
	for (i = 0; i < c->nsubs; i++)
		if (c->subs[i] == ch)
			return (0);	/* already */
	if (c->nsubs == WS_SUBS_MAX) {
		chan_gc(ch);
		return (-1);
	}
	if (ch->n == ch->cap) {
		ch->cap = ch->cap == 0 ? 8 : ch->cap * 2;
		ch->subs = xreallocarray(ch->subs, ch->cap, sizeof *ch->subs);
	}
	ch->subs[ch->n++] = c;
	c->snap_seq[c->nsubs] = 0;
	c->subs[c->nsubs++] = ch;
	return (1);
}

/* Map a client channel name to the internal one; -1 if not allowed. */
static int
channel_name(struct ws_client *c, const char *chan, char *out, size_t len,
    const char **why)
{
	const char	*pair;

	if (strcmp(chan, "orders") == 0 || strcmp(chan, "balances") == 0 ||
	    strcmp(chan, "fills") == 0) {
		if (c->user[0] == '\0' || c->auth_exp_ms <= kdexd_now_ms()) {
			*why = "unauthorized";
			return (-1);
		}
		snprintf(out, len, "u:%s:%s", c->user, chan);
		return (0);
	}
	if (strncmp(chan, "orderbook:", 10) == 0)
		pair = chan + 10;
	else if (strncmp(chan, "trades:", 7) == 0)
		pair = chan + 7;
	else if (strncmp(chan, "ticker:", 7) == 0)
		pair = chan + 7;
	else {
		*why = "bad_request";
		return (-1);
	}
	if (!route_market_known(pair)) {
		*why = "unknown_market";
		return (-1);
	}
	snprintf(out, len, "%s", chan);
	return (0);
}

static void
ws_op(struct ws_client *c, cJSON *msg)
{
	struct kdexd	*s = kdexd_server;
	const cJSON	*op, *chan, *tok, *depth;
	const char	*why;
	char		 name[CHAN_NAME_MAX], user[KDEXD_USER_MAX];
	struct channel	*ch;
	cJSON		*o, *snap;
	int64_t		 exp;
	size_t		 d = 50;
	int		 r;

	op = cJSON_GetObjectItemCaseSensitive(msg, "op");
	if (!cJSON_IsString(op)) {
		client_error(c, "bad_request", "missing op");
		return;
	}
	if (strcmp(op->valuestring, "ping") == 0) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "type", "pong");
		client_send_json(c, o);
		return;
	}
	if (strcmp(op->valuestring, "auth") == 0) {
		tok = cJSON_GetObjectItemCaseSensitive(msg, "token");
		if (!cJSON_IsString(tok) || auth_check_token(s,
		    tok->valuestring, user, &exp, &why) != 0) {
			client_error(c, "unauthorized", "bad or expired token");
			return;
		}
		snprintf(c->user, sizeof c->user, "%s", user);
		c->auth_exp_ms = exp;
		c->cancel_on_disconnect = lp_ws_cancel_on_disconnect(msg);
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "type", "authenticated");
		cJSON_AddStringToObject(o, "user", c->user);
		client_send_json(c, o);
		return;
	}
	if (strcmp(op->valuestring, "subscribe") != 0 &&
	    strcmp(op->valuestring, "unsubscribe") != 0) {
		client_error(c, "bad_request", "unknown op");
		return;
	}
	chan = cJSON_GetObjectItemCaseSensitive(msg, "channel");
	if (!cJSON_IsString(chan) || strlen(chan->valuestring) > 64) {
		client_error(c, "bad_request", "missing channel");
		return;
	}
	if (channel_name(c, chan->valuestring, name, sizeof name, &why) != 0) {
		client_error(c, why, chan->valuestring);
		return;
	}
	if (op->valuestring[0] == 'u') {
		if ((ch = chan_find(name, 0)) != NULL)
			unsubscribe(c, ch);
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "type", "unsubscribed");
		cJSON_AddStringToObject(o, "channel", chan->valuestring);
		client_send_json(c, o);
		return;
	}
	if ((r = subscribe(c, name)) < 0) {
		client_error(c, "limit_exceeded", "too many subscriptions");
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "subscribed");
	cJSON_AddStringToObject(o, "channel", chan->valuestring);
	client_send_json(c, o);
	/* A (re)subscription to a book always gets a fresh snapshot. */
	if (strncmp(name, "orderbook:", 10) == 0) {
		depth = cJSON_GetObjectItemCaseSensitive(msg, "depth");
		if (cJSON_IsNumber(depth) && depth->valuedouble >= 1 &&
		    depth->valuedouble <= 1000)
			d = (size_t)depth->valuedouble;
		if ((snap = route_book_snapshot(name + 10, d)) != NULL) {
			sub_snapped(c, name, cJSON_GetObjectItemCaseSensitive(
			    snap, "seq"));
			cJSON_AddStringToObject(snap, "channel", name);
			cJSON_AddStringToObject(snap, "type", "snapshot");
			client_send_json(c, snap);
		}
	} else if (strncmp(name, "ticker:", 7) == 0) {
		if ((snap = route_ticker_json(name + 7)) != NULL) {
			cJSON_AddStringToObject(snap, "channel", name);
			cJSON_AddStringToObject(snap, "type", "ticker");
			client_send_json(c, snap);
		}
	}
}

int
ws_receive(struct ws_client *c, const void *data, size_t len, int final)
{
	cJSON	*msg;

	if (c->dead)
		return (-1);
	c->last_seen_ms = kdexd_now_ms();
	if (c->rx_too_large || c->rxlen + len > KDEXD_WS_MSG_MAX) {
		c->rx_too_large = 1;
	} else {
		c->rx = xreallocarray(c->rx, c->rxlen + len + 1, 1);
		memcpy(c->rx + c->rxlen, data, len);
		c->rxlen += len;
		c->rx[c->rxlen] = '\0';
	}
	if (!final)
		return (0);
	if (c->rx_too_large)
		client_error(c, "too_large", "message too large");
	else if (rate_take(0, c->peer) != 0)
		client_error(c, "rate_limited", "too many messages");
	else if ((msg = cJSON_ParseWithLength(c->rx, c->rxlen)) == NULL)
		client_error(c, "bad_json", "not valid JSON");
	else {
		if (!cJSON_IsObject(msg))
			client_error(c, "bad_request", "not a JSON object");
		else
			ws_op(c, msg);
		cJSON_Delete(msg);
	}
	free(c->rx);
	c->rx = NULL;
	c->rxlen = 0;
	c->rx_too_large = 0;
	return (0);
}

void
ws_pong(struct ws_client *c)
{
	c->last_seen_ms = kdexd_now_ms();
}

int
ws_writable(struct ws_client *c)
{
	struct ws_qent	*q;
	unsigned char	 ping[LWS_PRE + 8];
	int		 n;

	if (c->dead)
		return (-1);
	if (c->ping_due) {
		c->ping_due = 0;
		memcpy(ping + LWS_PRE, "kdexd", 5);
		if (lws_write(c->wsi, ping + LWS_PRE, 5, LWS_WRITE_PING) < 0)
			return (-1);
		if (c->qhead != NULL)
			lws_callback_on_writable(c->wsi);
		return (0);
	}
	if ((q = c->qhead) == NULL)
		return (0);
	n = lws_write(c->wsi, (unsigned char *)q->m->buf + LWS_PRE, q->m->len,
	    LWS_WRITE_TEXT);
	if (n < (int)q->m->len)
		return (-1);
	c->qhead = q->next;
	if (c->qhead == NULL)
		c->qtail = NULL;
	c->qbytes -= q->m->len;
	msg_unref(q->m);
	free(q);
	if (c->qhead != NULL)
		lws_callback_on_writable(c->wsi);
	return (0);
}

void
ws_cron(struct kdexd *s)
{
	struct ws_client	*c;
	int64_t			 now = kdexd_now_ms();
	int64_t			 iv = (int64_t)s->conf.ws_ping * 1000;

	for (c = clients; c != NULL; c = c->next) {
		if (c->dead)
			continue;
		if (now - c->last_seen_ms > 3 * iv) {
			client_kill(c, "no pong");
			continue;
		}
		if (now - c->last_ping_ms >= iv) {
			c->last_ping_ms = now;
			c->ping_due = 1;
			lws_callback_on_writable(c->wsi);
		}
	}
}

void
ws_free(void)
{
	struct channel	*ch, *n;
	size_t		 i;

	/* Clients are freed by LWS_CALLBACK_CLOSED during context teardown. */
	for (i = 0; i < CHAN_HASH; i++) {
		for (ch = chans[i]; ch != NULL; ch = n) {
			n = ch->next;
			free(ch->subs);
			free(ch);
		}
		chans[i] = NULL;
	}
}
