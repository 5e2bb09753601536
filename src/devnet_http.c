/*
 * devnet_http: HTTP listener for the devnet on libwebsockets. See
 * devnet_http.h. Everything below runs on the service thread except
 * start (which creates the context before the thread exists) and stop
 * (which only flags the thread and wakes it with lws_cancel_service()).
 */
#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "devnet_http.h"
#include "util.h"

struct devnet_http {
	struct lws_context	*ctx;
	struct lws_vhost	*vh;
	pthread_t		 thread;
	atomic_int		 stop;
	devnet_http_cb		 cb;
	void			*arg;
	int			 port;
	struct lws_protocols	 protocols[2];
};

/* Per-connection state (lws allocates and zeroes it). */
struct devnet_conn {
	struct devnet_req	 req;
	size_t			 bodycap;
	int			 toobig;
	char			*out;		/* response body */
	size_t			 outlen;
	size_t			 outoff;
	int			 status;
	int			 headers_sent;
	int			 dispatched;	/* answer queued */
};

static void
conn_reset(struct devnet_conn *c)
{
	size_t	i;

	free(c->req.path);
	for (i = 0; i < c->req.nargs; i++)
		free(c->req.args[i]);
	free(c->req.body);
	free(c->out);
	memset(c, 0, sizeof *c);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* Decode %XX escapes in place (lws normally has done it already). */
static void
pct_decode(char *s)
{
	char	*w = s;
	int	 hi, lo;

	for (; *s != '\0'; s++) {
		if (s[0] == '%' && s[1] != '\0' && s[2] != '\0' &&
		    (hi = hexval(s[1])) >= 0 && (lo = hexval(s[2])) >= 0) {
			*w++ = (char)(hi * 16 + lo);
			s += 2;
		} else
			*w++ = *s;
	}
	*w = '\0';
}

const char *
devnet_req_arg(const struct devnet_req *req, const char *key)
{
	size_t	i, klen = strlen(key);

	for (i = 0; i < req->nargs; i++) {
		if (strncmp(req->args[i], key, klen) == 0 &&
		    req->args[i][klen] == '=')
			return (req->args[i] + klen + 1);
	}
	return (NULL);
}

/* Run the handler and queue the response for the writeable callback. */
static void
conn_dispatch(struct devnet_http *h, struct lws *wsi, struct devnet_conn *c)
{
	struct devnet_resp	resp = { 0, NULL };

	c->dispatched = 1;

	if (c->toobig) {
		resp.status = 413;
		resp.body = xstrdup("{\"error\":true,\"message\":\"request body "
		    "too large\",\"type\":\"API\",\"code\":\"API_REQUEST_TOO_LARGE\"}");
	} else
		h->cb(h->arg, &c->req, &resp);
	if (resp.status == 0)
		resp.status = 200;
	if (resp.body == NULL)
		resp.body = xstrdup("{}");
	c->out = resp.body;
	c->outlen = strlen(resp.body);
	c->outoff = 0;
	c->status = resp.status;
	c->headers_sent = 0;
	lws_callback_on_writable(wsi);
}

static int
conn_write(struct lws *wsi, struct devnet_conn *c)
{
	uint8_t	 buf[LWS_PRE + 16384];
	uint8_t	*start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf;
	size_t	 n;
	int	 last;

	if (c->out == NULL)
		return (0);
	if (!c->headers_sent) {
		if (lws_add_http_common_headers(wsi, (unsigned int)c->status,
		    "application/json", (lws_filepos_t)c->outlen, &p, end) ||
		    lws_finalize_write_http_header(wsi, start, &p, end))
			return (1);
		c->headers_sent = 1;
		lws_callback_on_writable(wsi);
		return (0);
	}
	n = c->outlen - c->outoff;
	if (n > sizeof buf - LWS_PRE)
		n = sizeof buf - LWS_PRE;
	memcpy(start, c->out + c->outoff, n);
	c->outoff += n;
	last = c->outoff == c->outlen;
	if (lws_write(wsi, start, n, last ? LWS_WRITE_HTTP_FINAL :
	    LWS_WRITE_HTTP) != (int)n)
		return (1);
	if (!last) {
		lws_callback_on_writable(wsi);
		return (0);
	}
	/* Keep-alive: ready for the next request on this connection. */
	conn_reset(c);
	if (lws_http_transaction_completed(wsi))
		return (-1);
	return (0);
}

static void
conn_collect_args(struct lws *wsi, struct devnet_conn *c)
{
	char	buf[2048];
	int	i, n;

	for (i = 0; i < DEVNET_HTTP_MAXARGS; i++) {
		n = lws_hdr_copy_fragment(wsi, buf, sizeof buf,
		    WSI_TOKEN_HTTP_URI_ARGS, i);
		if (n <= 0)
			break;
		c->req.args[c->req.nargs++] = xstrdup(buf);
	}
}

static int
devnet_http_callback(struct lws *wsi, enum lws_callback_reasons reason,
    void *user, void *in, size_t len)
{
	struct devnet_http	*h;
	struct devnet_conn	*c = user;
	size_t			 need;

	h = lws_context_user(lws_get_context(wsi));
	switch (reason) {
	case LWS_CALLBACK_HTTP:
		conn_reset(c);
		c->req.path = xstrdup(in != NULL ? (const char *)in : "/");
		pct_decode(c->req.path);
		conn_collect_args(wsi, c);
		if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0) {
			char	cl[32];

			c->req.method = DEVNET_POST;
			/*
			 * The body arrives in HTTP_BODY callbacks; with no
			 * body there is no completion callback, so answer
			 * now.
			 */
			if (lws_hdr_copy(wsi, cl, sizeof cl,
			    WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0 ||
			    strtoul(cl, NULL, 10) == 0)
				conn_dispatch(h, wsi, c);
			return (0);
		}
		if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0)
			c->req.method = DEVNET_GET;
		else
			c->req.method = DEVNET_OTHER;
		conn_dispatch(h, wsi, c);
		return (0);
	case LWS_CALLBACK_HTTP_BODY:
		if (c->toobig || c->dispatched || len == 0 || in == NULL)
			return (0);
		if (len > DEVNET_HTTP_MAXBODY - c->req.bodylen) {
			c->toobig = 1;
			return (0);
		}
		need = c->req.bodylen + len + 1;
		if (need > c->bodycap) {
			c->bodycap = need * 2;
			c->req.body = xreallocarray(c->req.body, 1, c->bodycap);
		}
		memcpy(c->req.body + c->req.bodylen, in, len);
		c->req.bodylen += len;
		c->req.body[c->req.bodylen] = '\0';
		return (0);
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (!c->dispatched)
			conn_dispatch(h, wsi, c);
		return (0);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return (conn_write(wsi, c));
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		/* a client may drop before its request was bound */
		if (c != NULL)
			conn_reset(c);
		return (0);
	default:
		break;
	}
	return (lws_callback_http_dummy(wsi, reason, user, in, len));
}

static void *
devnet_http_main(void *arg)
{
	struct devnet_http	*h = arg;

	while (!atomic_load(&h->stop)) {
		if (lws_service(h->ctx, 0) < 0)
			break;
	}
	return (NULL);
}

struct devnet_http *
devnet_http_start(const char *host, int port, devnet_http_cb cb, void *arg,
    char **cause)
{
	struct devnet_http		*h;
	struct lws_context_creation_info info;

	h = xcalloc(1, sizeof *h);
	h->cb = cb;
	h->arg = arg;
	atomic_init(&h->stop, 0);
	h->protocols[0].name = "http";
	h->protocols[0].callback = devnet_http_callback;
	h->protocols[0].per_session_data_size = sizeof(struct devnet_conn);
	h->protocols[0].rx_buffer_size = 0;

	memset(&info, 0, sizeof info);
	info.port = port;
	info.iface = host;
	info.protocols = h->protocols;
	info.user = h;
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	info.timeout_secs = 30;
	h->ctx = lws_create_context(&info);
	if (h->ctx == NULL) {
		*cause = xstrdup("cannot create the libwebsockets context");
		free(h);
		return (NULL);
	}
	h->vh = lws_create_vhost(h->ctx, &info);
	if (h->vh == NULL) {
		xasprintf(cause, "cannot listen on %s:%d", host, port);
		lws_context_destroy(h->ctx);
		free(h);
		return (NULL);
	}
	h->port = lws_get_vhost_listen_port(h->vh);
	if (pthread_create(&h->thread, NULL, devnet_http_main, h) != 0) {
		*cause = xstrdup("cannot create the server thread");
		lws_context_destroy(h->ctx);
		free(h);
		return (NULL);
	}
	return (h);
}

int
devnet_http_port(const struct devnet_http *h)
{
	return (h->port);
}

void
devnet_http_stop(struct devnet_http *h)
{
	if (h == NULL)
		return;
	atomic_store(&h->stop, 1);
	lws_cancel_service(h->ctx);
	pthread_join(h->thread, NULL);
	lws_context_destroy(h->ctx);
	free(h);
}
