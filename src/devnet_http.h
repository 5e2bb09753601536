/*
 * devnet_http: the devnet's HTTP/1.1 listener on libwebsockets.
 *
 * It owns one lws context and one service thread. Each complete request
 * (method, path, query arguments, body) is handed to the handler on that
 * thread, which fills a JSON response; the layer never interprets routes.
 * Requests and bodies are bounded (DEVNET_HTTP_MAXBODY) so a client cannot
 * make the node allocate without limit.
 */
#ifndef KDEX_DEVNET_HTTP_H
#define KDEX_DEVNET_HTTP_H

#include <stddef.h>

#define DEVNET_HTTP_MAXBODY	(8u * 1024 * 1024)
#define DEVNET_HTTP_MAXARGS	16

enum devnet_method {
	DEVNET_GET,
	DEVNET_POST,
	DEVNET_OTHER
};

struct devnet_req {
	enum devnet_method	 method;
	char			*path;		/* percent-decoded, no query */
	char			*args[DEVNET_HTTP_MAXARGS]; /* "k=v", decoded */
	size_t			 nargs;
	char			*body;		/* NUL-terminated; NULL if none */
	size_t			 bodylen;
};

/* The handler sets status and body (a string it allocates; the layer
 * frees it after sending). */
struct devnet_resp {
	int	 status;
	char	*body;
};

typedef void (*devnet_http_cb)(void *, const struct devnet_req *,
    struct devnet_resp *);

struct devnet_http;

/*
 * Bind host:port (port 0 = a free one) and start serving on a new thread.
 * Returns a server the caller owns (devnet_http_stop() frees it), or NULL
 * with *cause set (caller frees).
 */
struct devnet_http	*devnet_http_start(const char *host, int port,
			    devnet_http_cb, void *arg, char **cause);
int			 devnet_http_port(const struct devnet_http *);
/* Stop the thread, close every connection and free the server. */
void			 devnet_http_stop(struct devnet_http *);

/* Value of query argument key (decoded), or NULL. */
const char	*devnet_req_arg(const struct devnet_req *, const char *key);

#endif
