/*
 * kdexd_http: the two listeners (public HTTP+WebSocket, admin HTTP), request
 * bodies, the router and responses.
 *
 * One libwebsockets protocol serves both HTTP and the WebSocket upgrade on
 * /ws (a WebSocket without a subprotocol lands on the first protocol). A
 * request is parsed in the callbacks: method, path, query, a body bounded
 * by KDEXD_BODY_MAX and parsed as JSON, then handed to a route. A route
 * either answers at once or defers (http_defer) until the engine batch that
 * carries its command has committed. Answers are written when the socket
 * is writable, never from inside a route.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "kdexd.h"
#include "util.h"

#define HDR_ROOM	1024	/* room for the response headers */

/* Per connection state (libwebsockets' per-session data). */
struct conn {
	struct lws		*wsi;
	int			 admin;		/* on the admin listener */
	int			 busy;		/* a request is in progress */
	enum kdexd_method	 method;
	char			 path[512];
	char			 peer[64];
	char			*body;
	size_t			 bodylen;
	int			 too_large;
	int			 has_body;
	int			 chunked;

	/* the answer, once known */
	int			 ready;
	int			 status;
	char			*out;		/* LWS_PRE + body */
	size_t			 outlen;
	const char		*ctype;
	unsigned int		 retry_after;
	int			 close_after;

	struct http_pending	*pending;
	struct ws_client	*ws;
};

struct http_pending {
	struct conn	*c;		/* NULL once the client went away */
	http_sink_fn	*sink;		/* http_defer_sink(): answer to it */
	void		*sink_arg;
};

/*
 * Peer addresses by descriptor, noted when the connection is accepted
 * (LWS_CALLBACK_FILTER_NETWORK_CONNECTION hands over the address accept()
 * returned), so that a keep-alive request costs no getpeername(): lws
 * hands each HTTP transaction fresh per-session data. Every accepted
 * descriptor passes through peer_note() first, so an entry is never stale.
 */
#define PEERS_MAX	(1 << 20)
struct peer {
	int	valid;
	char	text[INET_ADDRSTRLEN];
};
static struct peer	*peers;
static size_t		 npeers;

static struct conn	*current;	/* the request being routed */
static http_sink_fn	*sink_fn;	/* set around one sub-request */
static void		*sink_arg;

char *
json_print(const cJSON *j)
{
	char	*s;

	if ((s = cJSON_PrintUnformatted(j)) == NULL)
		fatalx("cJSON_PrintUnformatted failed");
	return (s);
}

void
jw_init(struct jw *w)
{
	memset(w, 0, sizeof *w);
}

static void
jw_grow(struct jw *w, size_t n)
{
	size_t	cap;

	if (w->len + n + 1 <= w->cap)
		return;
	cap = w->cap == 0 ? 512 : w->cap;
	while (cap < w->len + n + 1)
		cap *= 2;
	w->buf = xreallocarray(w->buf, cap, 1);
	w->cap = cap;
}

static void
jw_put(struct jw *w, const char *s, size_t n)
{
	jw_grow(w, n);
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

/* cJSON's string escapes: the two specials, five short forms, \u00xx. */
static void
jw_quote(struct jw *w, const char *s)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n = strlen(s);
	char			*o;
	char			 c;

	jw_grow(w, 6 * n + 2);	/* the worst case: all \u00xx */
	o = w->buf + w->len;
	*o++ = '"';
	for (; *p != '\0'; p++) {
		if (*p >= 32 && *p != '"' && *p != '\\') {
			*o++ = (char)*p;
			continue;
		}
		switch (*p) {
		case '"':
		case '\\':
			c = (char)*p;
			break;
		case '\b':
			c = 'b';
			break;
		case '\f':
			c = 'f';
			break;
		case '\n':
			c = 'n';
			break;
		case '\r':
			c = 'r';
			break;
		case '\t':
			c = 't';
			break;
		default:
			memcpy(o, "\\u00", 4);
			o[4] = hex[*p >> 4];
			o[5] = hex[*p & 15];
			o += 6;
			continue;
		}
		*o++ = '\\';
		*o++ = c;
	}
	*o++ = '"';
	w->len = (size_t)(o - w->buf);
}

/* The separator and key (a static name: no escapes) of the next member. */
static void
jw_key(struct jw *w, const char *key)
{
	size_t	n = key != NULL ? strlen(key) : 0;
	char	*o;

	jw_grow(w, n + 4);
	o = w->buf + w->len;
	if (w->depth > 0) {
		if (!w->first[w->depth - 1])
			*o++ = ',';
		w->first[w->depth - 1] = 0;
	}
	if (key != NULL) {
		*o++ = '"';
		memcpy(o, key, n);
		o += n;
		*o++ = '"';
		*o++ = ':';
	}
	w->len = (size_t)(o - w->buf);
}

static void
jw_open(struct jw *w, const char *key, char open, char close)
{
	if (w->depth == JW_DEPTH)
		fatalx("jw: nested too deep");
	jw_key(w, key);
	jw_put(w, &open, 1);
	w->close[w->depth] = close;
	w->first[w->depth] = 1;
	w->depth++;
}

void
jw_obj(struct jw *w, const char *key)
{
	jw_open(w, key, '{', '}');
}

void
jw_arr(struct jw *w, const char *key)
{
	jw_open(w, key, '[', ']');
}

void
jw_end(struct jw *w)
{
	if (w->depth == 0)
		fatalx("jw: nothing to close");
	w->depth--;
	jw_put(w, &w->close[w->depth], 1);
}

void
jw_str(struct jw *w, const char *key, const char *v)
{
	jw_key(w, key);
	jw_quote(w, v);
}

/*
 * A number as cJSON prints one held as a double: below 10^15 in magnitude
 * that is the plain integer; beyond, %1.15g (or %1.17g when that does not
 * read back), as cJSON does.
 */
void
jw_int(struct jw *w, const char *key, int64_t v)
{
	char		 b[32], *p = b + sizeof b;
	uint64_t	 u;
	double		 d = (double)v;
	int		 n;

	jw_key(w, key);
	if (v > -1000000000000000LL && v < 1000000000000000LL) {
		u = v < 0 ? (uint64_t)-v : (uint64_t)v;
		do {
			*--p = (char)('0' + u % 10);
			u /= 10;
		} while (u != 0);
		if (v < 0)
			*--p = '-';
		jw_put(w, p, (size_t)(b + sizeof b - p));
		return;
	}
	n = snprintf(b, sizeof b, "%1.15g", d);
	if (strtod(b, NULL) != d)
		n = snprintf(b, sizeof b, "%1.17g", d);
	jw_put(w, b, (size_t)n);
}

void
jw_bool(struct jw *w, const char *key, int v)
{
	jw_key(w, key);
	if (v)
		jw_put(w, "true", 4);
	else
		jw_put(w, "false", 5);
}

void
jw_null(struct jw *w, const char *key)
{
	jw_key(w, key);
	jw_put(w, "null", 4);
}

char *
jw_take(struct jw *w)
{
	char	*s;

	if (w->depth != 0)
		fatalx("jw: %d open", w->depth);
	jw_grow(w, 0);
	w->buf[w->len] = '\0';
	s = w->buf;
	jw_init(w);
	return (s);
}

void
jw_free(struct jw *w)
{
	free(w->buf);
	jw_init(w);
}

const char *
kdexd_req_query(const struct kdexd_req *req, const char *name)
{
	size_t	i;

	for (i = 0; i < req->nquery; i++)
		if (strcmp(req->query[i].name, name) == 0)
			return (req->query[i].value);
	return (NULL);
}

int
kdexd_path_match(const char *path, const char *pattern,
    struct kdexd_args *args)
{
	const char	*p = path, *q = pattern;
	size_t		 plen, qlen;

	if (args != NULL)
		args->n = 0;
	for (;;) {
		if (*p == '/' && *q == '/') {
			p++;
			q++;
		} else if (*p != *q)
			return (0);
		if (*p == '\0' && *q == '\0')
			return (1);
		plen = strcspn(p, "/");
		qlen = strcspn(q, "/");
		if (qlen == 1 && *q == ':') {
			if (plen == 0 || plen >= KDEXD_PATH_ARG_MAX)
				return (0);
			if (args != NULL) {
				if (args->n == KDEXD_PATH_ARGS)
					return (0);
				memcpy(args->arg[args->n], p, plen);
				args->arg[args->n][plen] = '\0';
				args->n++;
			}
		} else if (plen != qlen || memcmp(p, q, plen) != 0)
			return (0);
		p += plen;
		q += qlen;
		if (*p == '\0' && *q == '\0')
			return (1);
		if (*p != '/' || *q != '/')
			return (0);
	}
}

void
kdexd_resp_json(struct kdexd_resp *resp, int status, cJSON *body)
{
	if (resp->body != NULL)
		cJSON_Delete(resp->body);
	resp->status = status;
	resp->body = body != NULL ? body : cJSON_CreateObject();
}

void
kdexd_resp_error(struct kdexd_resp *resp, int status, const char *code,
    const char *fmt, ...)
{
	cJSON	*o, *e;
	char	*msg;
	va_list	 ap;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	o = cJSON_CreateObject();
	e = cJSON_AddObjectToObject(o, "error");
	cJSON_AddStringToObject(e, "code", code);
	cJSON_AddStringToObject(e, "message", msg);
	free(msg);
	kdexd_resp_json(resp, status, o);
}

int
kdexd_body_check(const struct kdexd_req *req, struct kdexd_resp *resp,
    const char *const *allowed)
{
	const cJSON	*it, *jt;
	size_t		 i;

	if (req->body == NULL || !cJSON_IsObject(req->body)) {
		kdexd_resp_error(resp, 400, "bad_request",
		    "the body must be a JSON object");
		return (-1);
	}
	cJSON_ArrayForEach(it, req->body) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(it->string, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL) {
			kdexd_resp_error(resp, 400, "unknown_field",
			    "unknown field '%s'", it->string);
			return (-1);
		}
		/* A repeated member is ambiguous: refuse it. */
		for (jt = it->next; jt != NULL; jt = jt->next)
			if (strcmp(it->string, jt->string) == 0) {
				kdexd_resp_error(resp, 400, "bad_request",
				    "field '%s' appears twice", it->string);
				return (-1);
			}
	}
	return (0);
}

const char *
kdexd_body_str(const struct kdexd_req *req, struct kdexd_resp *resp,
    const char *name, int required, int *err)
{
	const cJSON	*v;

	v = req->body != NULL ?
	    cJSON_GetObjectItemCaseSensitive(req->body, name) : NULL;
	if (v == NULL || cJSON_IsNull(v)) {
		if (required) {
			kdexd_resp_error(resp, 400, "bad_request",
			    "missing field '%s'", name);
			*err = 1;
		}
		return (NULL);
	}
	if (!cJSON_IsString(v)) {
		kdexd_resp_error(resp, 400, "bad_request",
		    "field '%s' must be a string", name);
		*err = 1;
		return (NULL);
	}
	return (v->valuestring);
}

/* Turn resp into the connection's pending answer and ask to write. */
static void
conn_answer(struct conn *c, struct kdexd_resp *resp)
{
	struct kdexd	*s = kdexd_server;
	char		*text;
	size_t		 len;

	if (resp->status == 0)
		kdexd_resp_error(resp, 500, "internal", "no answer");
	if (resp->text != NULL) {
		text = resp->text;
		resp->text = NULL;
	} else
		text = json_print(resp->body);
	len = strlen(text);
	free(c->out);
	c->out = xmalloc(LWS_PRE + HDR_ROOM + len + 1);
	memcpy(c->out + LWS_PRE + HDR_ROOM, text, len + 1);
	free(text);
	c->outlen = len;
	c->status = resp->status;
	c->ctype = resp->content_type != NULL ? resp->content_type :
	    "application/json";
	c->retry_after = resp->retry_after;
	c->ready = 1;
	if (resp->body != NULL)
		cJSON_Delete(resp->body);
	resp->body = NULL;

	s->stats.http_requests++;
	if (c->status >= 200 && c->status < 300)
		s->stats.http_2xx++;
	else if (c->status == 429)
		s->stats.http_429++;
	if (c->status >= 400 && c->status < 500)
		s->stats.http_4xx++;
	else if (c->status >= 500)
		s->stats.http_5xx++;
	log_debug("%s %s -> %d", c->peer, c->path, c->status);
	lws_callback_on_writable(c->wsi);
}

struct http_pending *
http_defer(struct kdexd_req *req)
{
	struct http_pending	*p;

	(void)req;
	if (sink_fn != NULL) {
		p = xcalloc(1, sizeof *p);
		p->sink = sink_fn;
		p->sink_arg = sink_arg;
		sink_fn = NULL;
		return (p);
	}
	if (current == NULL || current->pending != NULL)
		fatalx("http_defer outside a request");
	p = xcalloc(1, sizeof *p);
	p->c = current;
	current->pending = p;
	return (p);
}

void
http_defer_sink(http_sink_fn *fn, void *arg)
{
	sink_fn = fn;
	sink_arg = arg;
}

void
http_finish(struct http_pending *p, struct kdexd_resp *resp)
{
	if (p->sink != NULL) {
		/* A sink reads the tree: give it one for a direct answer. */
		if (resp->body == NULL && resp->text != NULL &&
		    resp->content_type == NULL) {
			if ((resp->body = cJSON_Parse(resp->text)) == NULL)
				fatalx("http_finish: an answer is not JSON");
			free(resp->text);
			resp->text = NULL;
		}
		p->sink(p->sink_arg, resp);
	}
	else if (p->c != NULL) {
		p->c->pending = NULL;
		conn_answer(p->c, resp);
	} else {
		if (resp->body != NULL)
			cJSON_Delete(resp->body);
		free(resp->text);
		resp->body = NULL;
		resp->text = NULL;
	}
	free(p);
}

static void
conn_reset(struct conn *c)
{
	free(c->body);
	free(c->out);
	c->body = NULL;
	c->out = NULL;
	c->bodylen = 0;
	c->too_large = 0;
	c->has_body = 0;
	c->chunked = 0;
	c->ready = 0;
	c->outlen = 0;
	c->retry_after = 0;
	c->busy = 0;
	if (c->pending != NULL) {
		c->pending->c = NULL;
		c->pending = NULL;
	}
}

static void
query_free(struct kdexd_req *req)
{
	size_t	i;

	for (i = 0; i < req->nquery; i++) {
		free(req->query[i].name);
		free(req->query[i].value);
	}
	req->nquery = 0;
}

static void
query_read(struct lws *wsi, struct kdexd_req *req)
{
	char	 buf[1024], *eq;
	int	 i, n;

	req->nquery = 0;
	for (i = 0; req->nquery < KDEXD_QUERY_MAX; i++) {
		n = lws_hdr_copy_fragment(wsi, buf, sizeof buf,
		    WSI_TOKEN_HTTP_URI_ARGS, i);
		if (n < 0)
			break;
		if (n == 0)
			continue;
		if ((eq = strchr(buf, '=')) != NULL)
			*eq++ = '\0';
		req->query[req->nquery].name = xstrdup(buf);
		req->query[req->nquery].value = xstrdup(eq != NULL ? eq : "");
		req->nquery++;
	}
}

static void
peer_note(const struct lws_filter_network_conn_args *a)
{
	const struct sockaddr_in	*sin;
	struct peer			*p;
	size_t				 fd, n;

	if (a == NULL || a->accept_fd < 0 || a->accept_fd >= PEERS_MAX)
		return;
	fd = (size_t)a->accept_fd;
	if (fd >= npeers) {
		n = npeers == 0 ? 1024 : npeers;
		while (n <= fd)
			n *= 2;
		peers = xreallocarray(peers, n, sizeof *peers);
		memset(peers + npeers, 0, (n - npeers) * sizeof *peers);
		npeers = n;
	}
	p = &peers[fd];
	p->valid = 0;
	if (a->cli_addr.ss_family != AF_INET)
		return;
	sin = (const struct sockaddr_in *)&a->cli_addr;
	if (inet_ntop(AF_INET, &sin->sin_addr, p->text, sizeof p->text) !=
	    NULL)
		p->valid = 1;
}

/* The peer noted at accept time; -1 when unknown (ask the socket). */
static int
peer_lookup(struct lws *wsi, char *out, size_t len)
{
	lws_sockfd_type	fd = lws_get_socket_fd(wsi);

	if (fd < 0 || (size_t)fd >= npeers || !peers[fd].valid)
		return (-1);
	snprintf(out, len, "%s", peers[fd].text);
	return (0);
}

/* Route a complete request on connection c. */
static void
conn_dispatch(struct conn *c)
{
	struct kdexd		*s = kdexd_server;
	struct kdexd_req	 req;
	struct kdexd_resp	 resp;
	char			 auth[2048], key[128];
	const char		*end;
	unsigned int		 wait;
	int			 n;

	memset(&req, 0, sizeof req);
	memset(&resp, 0, sizeof resp);
	req.method = c->method;
	req.path = c->path;
	req.peer = c->peer;
	req.server = s;
	req.raw_body = c->has_body ? c->body : NULL;
	req.raw_len = c->has_body ? c->bodylen : 0;

	if (s->draining) {
		kdexd_resp_error(&resp, 503, "internal",
		    "the server is shutting down");
		c->close_after = 1;
		conn_answer(c, &resp);
		return;
	}
	if (c->too_large) {
		kdexd_resp_error(&resp, 413, "too_large",
		    "request body above %d bytes", KDEXD_BODY_MAX);
		c->close_after = 1;
		conn_answer(c, &resp);
		return;
	}
	if (c->chunked) {
		kdexd_resp_error(&resp, 411, "bad_request",
		    "chunked request bodies are not supported: send "
		    "Content-Length");
		c->close_after = 1;
		conn_answer(c, &resp);
		return;
	}
	if (!c->admin && strcmp(c->path, "/health") != 0 &&
	    strcmp(c->path, "/metrics") != 0 &&
	    (wait = rate_take(0, c->peer)) > 0) {
		kdexd_resp_error(&resp, 429, "rate_limited",
		    "too many requests from %s", c->peer);
		resp.retry_after = wait;
		conn_answer(c, &resp);
		return;
	}
	if (c->has_body && c->bodylen > 0) {
		req.body = cJSON_ParseWithLengthOpts(c->body, c->bodylen, &end,
		    0);
		if (req.body == NULL) {
			kdexd_resp_error(&resp, 400, "bad_json",
			    "the body is not valid JSON");
			conn_answer(c, &resp);
			return;
		}
		while (end < c->body + c->bodylen && isspace((unsigned char)*end))
			end++;
		if (end != c->body + c->bodylen) {
			cJSON_Delete(req.body);
			kdexd_resp_error(&resp, 400, "bad_json",
			    "trailing data after the JSON body");
			conn_answer(c, &resp);
			return;
		}
		if (!cJSON_IsObject(req.body)) {
			cJSON_Delete(req.body);
			kdexd_resp_error(&resp, 400, "bad_request",
			    "the body must be a JSON object");
			conn_answer(c, &resp);
			return;
		}
	} else if (c->method == KDEXD_POST)
		req.body = cJSON_CreateObject();
	query_read(c->wsi, &req);

	current = c;
	if (c->admin) {
		n = lws_hdr_custom_copy(c->wsi, key, sizeof key,
		    "x-admin-key:", 12);
		if (n != 64 || util_memeq_ct(key, s->admin_key, 64) != 0)
			kdexd_resp_error(&resp, 401, "unauthorized",
			    "missing or wrong X-Admin-Key");
		else if (kdexd_admin_route(&req, &resp) != 0)
			kdexd_resp_error(&resp, 404, "not_found",
			    "no route %s", c->path);
	} else {
		auth[0] = '\0';
		if (lws_hdr_copy(c->wsi, auth, sizeof auth,
		    WSI_TOKEN_HTTP_AUTHORIZATION) < 0)
			auth[0] = '\0';
		if (route_public(&req, &resp, auth) != 0) {
			if (resp.status == 0)
				kdexd_resp_error(&resp, 404, "not_found",
				    "no route %s", c->path);
		}
	}
	current = NULL;
	query_free(&req);
	cJSON_Delete(req.body);
	if (c->pending == NULL)
		conn_answer(c, &resp);
	else if (resp.body != NULL || resp.text != NULL) {
		cJSON_Delete(resp.body);
		free(resp.text);
	}
}

/*
 * Headers and body go out in one write (one send() instead of two per
 * answer): the headers are built in front of the body, which conn_answer()
 * placed HDR_ROOM bytes into c->out for that.
 */
static int
conn_write(struct conn *c)
{
	unsigned char	 hdr[LWS_PRE + HDR_ROOM], *start, *p, *end;
	unsigned char	*buf;
	char		 ra[16];
	size_t		 hlen;
	int		 n;

	if (!c->ready)
		return (0);
	start = p = hdr + LWS_PRE;
	end = hdr + sizeof hdr - 1;
	if (lws_add_http_common_headers(c->wsi, (unsigned int)c->status,
	    c->ctype, (lws_filepos_t)c->outlen, &p, end))
		return (-1);
	if (c->retry_after > 0) {
		n = snprintf(ra, sizeof ra, "%u", c->retry_after);
		if (lws_add_http_header_by_name(c->wsi,
		    (const unsigned char *)"retry-after:",
		    (unsigned char *)ra, n, &p, end))
			return (-1);
	}
	if (lws_add_http_header_by_name(c->wsi,
	    (const unsigned char *)"cache-control:",
	    (const unsigned char *)"no-store", 8, &p, end))
		return (-1);
	if (lws_finalize_http_header(c->wsi, &p, end))
		return (-1);
	hlen = (size_t)(p - start);
	buf = (unsigned char *)c->out + LWS_PRE + HDR_ROOM - hlen;
	memcpy(buf, start, hlen);
	/* Raw: lws sends it as is and buffers what the socket refuses. */
	if (lws_write(c->wsi, buf, hlen + c->outlen,
	    LWS_WRITE_HTTP_HEADERS) != (int)(hlen + c->outlen))
		return (-1);
	n = c->close_after;
	conn_reset(c);
	if (kdexd_server->stats.http_conns > 0)
		kdexd_server->stats.http_conns--;
	if (n)
		return (-1);
	if (lws_http_transaction_completed(c->wsi))
		return (-1);
	return (0);
}

static enum kdexd_method
conn_method(struct lws *wsi)
{
	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0)
		return (KDEXD_GET);
	if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0)
		return (KDEXD_POST);
	if (lws_hdr_total_length(wsi, WSI_TOKEN_PUT_URI) > 0)
		return (KDEXD_PUT);
	if (lws_hdr_total_length(wsi, WSI_TOKEN_DELETE_URI) > 0)
		return (KDEXD_DELETE);
	return (KDEXD_OTHER);
}

static int
conn_start(struct lws *wsi, struct conn *c, const char *path, int admin)
{
	char			 cl[32], *endp;
	unsigned long long	 len = 0;

	conn_reset(c);
	c->wsi = wsi;
	c->admin = admin;
	c->busy = 1;
	c->close_after = 0;
	kdexd_server->stats.http_conns++;
	snprintf(c->path, sizeof c->path, "%s", path != NULL ? path : "/");
	if (peer_lookup(wsi, c->peer, sizeof c->peer) != 0 &&
	    lws_get_peer_simple(wsi, c->peer, sizeof c->peer) == NULL)
		snprintf(c->peer, sizeof c->peer, "unknown");
	c->method = conn_method(wsi);

	if (c->method == KDEXD_POST || c->method == KDEXD_PUT) {
		if (lws_hdr_copy(wsi, cl, sizeof cl,
		    WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
			len = strtoull(cl, &endp, 10);
			if (*endp != '\0')
				len = KDEXD_BODY_MAX + 1ULL;
			if (len > KDEXD_BODY_MAX) {
				c->too_large = 1;
				conn_dispatch(c);
				return (0);
			}
			if (len > 0) {
				c->has_body = 1;
				return (0);	/* wait for the body */
			}
		} else if (lws_hdr_total_length(wsi,
		    WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
			/* libwebsockets does not hand us chunked bodies. */
			c->chunked = 1;
			conn_dispatch(c);
			return (0);
		}
	}
	conn_dispatch(c);
	return (0);
}

static int
callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct kdexd	*s = kdexd_server;
	struct conn	*c = user;
	struct lws_vhost *vh;
	char		 uri[64];
	int		 admin;

	switch (reason) {
	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
		peer_note(user);
		return (0);
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		/* The ledger's sync: the loop releases answers after poll. */
		return (0);
	case LWS_CALLBACK_HTTP:
		vh = lws_get_vhost(wsi);
		admin = (vh == s->vh_admin);
		return (conn_start(wsi, c, in, admin));
	case LWS_CALLBACK_HTTP_BODY:
		if (c == NULL || !c->busy)
			return (-1);
		if (c->too_large || c->bodylen + len > KDEXD_BODY_MAX) {
			c->too_large = 1;
			return (0);
		}
		c->body = xreallocarray(c->body, c->bodylen + len + 1, 1);
		if (len > 0)	/* an empty body comes with in == NULL */
			memcpy(c->body + c->bodylen, in, len);
		c->bodylen += len;
		c->body[c->bodylen] = '\0';
		return (0);
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (c == NULL || !c->busy)
			return (-1);
		conn_dispatch(c);
		return (0);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (c == NULL)
			return (0);
		return (conn_write(c));
	case LWS_CALLBACK_CLOSED_HTTP:
		if (c != NULL) {
			if (c->busy && s->stats.http_conns > 0)
				s->stats.http_conns--;
			conn_reset(c);
		}
		return (0);
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		/* WebSocket only on /ws of the public listener. */
		if (lws_get_vhost(wsi) != s->vh_public || s->draining)
			return (-1);
		if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) < 0 ||
		    strcmp(uri, "/ws") != 0)
			return (-1);
		if (ws_client_count() >= s->conf.max_clients)
			return (-1);
		return (0);
	case LWS_CALLBACK_ESTABLISHED:
		memset(c, 0, sizeof *c);
		c->wsi = wsi;
		if (lws_get_peer_simple(wsi, c->peer, sizeof c->peer) == NULL)
			snprintf(c->peer, sizeof c->peer, "unknown");
		c->ws = ws_open(wsi, c->peer);
		return (0);
	case LWS_CALLBACK_RECEIVE:
		if (c == NULL || c->ws == NULL)
			return (-1);
		return (ws_receive(c->ws, in, len, lws_is_final_fragment(wsi)));
	case LWS_CALLBACK_RECEIVE_PONG:
		if (c != NULL && c->ws != NULL)
			ws_pong(c->ws);
		return (0);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (c == NULL || c->ws == NULL)
			return (-1);
		return (ws_writable(c->ws));
	case LWS_CALLBACK_CLOSED:
		if (c != NULL && c->ws != NULL) {
			ws_close(c->ws);
			c->ws = NULL;
		}
		return (0);
	default:
		break;
	}
	return (0);
}

static const struct lws_protocols protocols[] = {
	{ "kdex", callback, sizeof(struct conn), KDEXD_WS_MSG_MAX, 0, NULL,
	  0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

/* Split "host:port" into iface (NULL for all) and port. */
static int
split_listen(const char *spec, char **iface, int *port)
{
	const char	*colon;
	char		*end;
	long		 p;

	colon = strrchr(spec, ':');
	if (colon == NULL)
		return (-1);
	p = strtol(colon + 1, &end, 10);
	if (*end != '\0' || p < 0 || p > 65535 || colon[1] == '\0')
		return (-1);
	*port = (int)p;
	if (colon == spec || (colon - spec == 1 && spec[0] == '*'))
		*iface = NULL;
	else
		*iface = xstrndup(spec, (size_t)(colon - spec));
	return (0);
}

static struct lws_vhost *
make_vhost(struct lws_context *ctx, const char *name, const char *spec,
    char **cause)
{
	struct lws_context_creation_info	 info;
	struct lws_vhost			*vh;
	char					*iface;
	int					 port;

	if (split_listen(spec, &iface, &port) != 0) {
		xasprintf(cause, "bad listen address '%s' (want host:port)",
		    spec);
		return (NULL);
	}
	memset(&info, 0, sizeof info);
	info.vhost_name = name;
	info.port = port;
	info.iface = iface;
	info.protocols = protocols;
	info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
	info.keepalive_timeout = 30;
	info.timeout_secs = 30;
	vh = lws_create_vhost(ctx, &info);
	free(iface);
	if (vh == NULL)
		xasprintf(cause, "cannot listen on %s", spec);
	return (vh);
}

int
http_start(struct kdexd *s, char **cause)
{
	struct lws_context_creation_info	info;

	memset(&info, 0, sizeof info);
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
	    LWS_SERVER_OPTION_DISABLE_IPV6;
	info.count_threads = 1;
	info.fd_limit_per_thread = 0;
	info.pt_serv_buf_size = 64 * 1024;
	if ((s->ctx = lws_create_context(&info)) == NULL) {
		xasprintf(cause, "cannot create the libwebsockets context");
		return (-1);
	}
	if ((s->vh_public = make_vhost(s->ctx, "public", s->conf.listen,
	    cause)) == NULL)
		return (-1);
	if ((s->vh_admin = make_vhost(s->ctx, "admin", s->conf.admin_listen,
	    cause)) == NULL)
		return (-1);
	return (0);
}
