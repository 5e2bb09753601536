/*
 * console_http: kdex-console's client for kdexd's admin API.
 *
 * One libcurl easy handle, reused for every request so the connection to
 * the admin listener stays open across commands. Every request carries
 * X-Admin-Key. Answers are read whole (up to CONSOLE_HTTP_MAX bytes) and
 * parsed with cJSON; the raw body is kept so --json can print exactly what
 * kdexd sent, amounts included, without a round trip through cJSON.
 */
#ifndef KDEX_CONSOLE_HTTP_H
#define KDEX_CONSOLE_HTTP_H

#include <signal.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#define CONSOLE_HTTP_MAX	(16 * 1024 * 1024)	/* largest answer kept */
#define CONSOLE_HTTP_TIMEOUT	120L		/* seconds; recon run is slow */

struct console_http;

/* One answer. Fill with console_http_request(), empty with _clear(). */
struct console_resp {
	long	 status;	/* HTTP status */
	char	*body;		/* NUL-terminated raw body; owned */
	size_t	 len;
	cJSON	*json;		/* parsed body, NULL when not JSON; owned */
};

/*
 * Create a client for base (e.g. "http://127.0.0.1:8081"; a trailing '/'
 * is dropped). key may be NULL: then every request fails with keycause
 * (copied), so commands that need no server still run without a key.
 * abort_flag, when not NULL, is polled during transfers: a non-zero value
 * (set by a SIGINT handler) abandons the request. The caller frees the
 * result with console_http_free().
 */
struct console_http	*console_http_create(const char *base, const char *key,
			    const char *keycause,
			    volatile sig_atomic_t *abort_flag);
void			 console_http_free(struct console_http *);

/*
 * Send method ("GET" or "POST") to base + path. path is already escaped
 * (see console_http_escape) and may carry a query string. body, when not
 * NULL, is sent as application/json. Returns 0 and fills resp (any HTTP
 * status) or -1 with *cause (caller frees) when there is no answer at all:
 * no key, connection refused, timeout, interrupted, too large.
 */
int	console_http_request(struct console_http *, const char *method,
	    const char *path, const char *body, struct console_resp *resp,
	    char **cause);
void	console_resp_clear(struct console_resp *);

/*
 * Percent-encode s for a path segment or query value (RFC 3986 unreserved
 * characters are kept). The caller frees the result.
 */
char	*console_http_escape(const char *s);

/*
 * The error of a non-2xx answer as "message (code)", or a generic
 * "HTTP status N" when the body is not kdexd's error object. The caller
 * frees the result.
 */
char	*console_resp_error(const struct console_resp *);

#endif
