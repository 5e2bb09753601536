/*
 * kdexd_http: what a kdexd route handler sees.
 *
 * The HTTP layer (kdexd_http.c) reads a request on the event loop thread,
 * bounds and parses its body, and hands a struct kdexd_req to a handler;
 * the handler fills a struct kdexd_resp and returns. Handlers run on the
 * single event loop thread, between engine batches, so they may read the
 * exchange and the ledger directly and must never block.
 *
 * The public and private routes live in kdexd_route.c; the admin routes
 * (doc/api.md, "Admin") live in kdexd_admin.c, which the admin listener
 * calls after it has checked X-Admin-Key.
 */
#ifndef KDEXD_HTTP_H
#define KDEXD_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct kdexd;
struct exchange;
struct ledger;

enum kdexd_method {
	KDEXD_GET,
	KDEXD_POST,
	KDEXD_PUT,
	KDEXD_DELETE,
	KDEXD_OTHER
};

#define KDEXD_QUERY_MAX		16	/* query parameters kept per request */
#define KDEXD_PATH_ARGS		4	/* ':' captures of kdexd_path_match */
#define KDEXD_PATH_ARG_MAX	128	/* bytes per capture, with the NUL */

struct kdexd_param {
	char	*name;
	char	*value;			/* percent-decoded */
};

/*
 * A request. Everything here is owned by the HTTP layer and lives until the
 * handler returns; copy what you keep.
 */
struct kdexd_req {
	enum kdexd_method	 method;
	const char		*path;	/* no query string, e.g. "/admin/users" */
	struct kdexd_param	 query[KDEXD_QUERY_MAX];
	size_t			 nquery;
	cJSON			*body;	/* parsed JSON body; NULL if none */
	const char		*peer;	/* client IP as text */
	const char		*user;	/* keeta_ address after a valid JWT;
					   NULL on public and admin routes */
	struct kdexd		*server;
	const char		*raw_body; /* the body as sent (signed API
					   key requests); NULL if none */
	size_t			 raw_len;
};

/*
 * A response. Fill it with kdexd_resp_json() or kdexd_resp_error(); the
 * HTTP layer serialises and frees it.
 */
struct kdexd_resp {
	int		 status;	/* HTTP status; 0 = not filled */
	cJSON		*body;		/* owned; freed by the HTTP layer */
	char		*text;		/* owned; a non-JSON body (metrics) */
	const char	*content_type;	/* static; NULL = application/json */
	unsigned int	 retry_after;	/* seconds; > 0 adds Retry-After */
};

/* Captures of kdexd_path_match(). */
struct kdexd_args {
	size_t	n;
	char	arg[KDEXD_PATH_ARGS][KDEXD_PATH_ARG_MAX];
};

/* Value of query parameter name, or NULL. The string belongs to req. */
const char	*kdexd_req_query(const struct kdexd_req *, const char *name);

/*
 * 1 when path matches pattern segment by segment, else 0. A pattern
 * segment ":" matches any one non-empty segment and copies it
 * (percent-decoded) into args->arg[args->n++]; a segment longer than
 * KDEXD_PATH_ARG_MAX - 1 does not match. Example:
 * kdexd_path_match(req->path, "/admin/users/:/balances", &a).
 */
int		 kdexd_path_match(const char *path, const char *pattern,
		    struct kdexd_args *args);

/* Answer status with body; takes ownership of body (may be NULL = {}). */
void		 kdexd_resp_json(struct kdexd_resp *, int status, cJSON *body);

/*
 * Answer {"error":{"code":code,"message":...}} with status. code is one of
 * doc/api.md's stable codes; the message is a printf format.
 */
void		 kdexd_resp_error(struct kdexd_resp *, int status,
		    const char *code, const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));

/*
 * Helpers for bodies: kdexd_body_check() answers 400 unknown_field (and
 * returns -1) when body has a member not in the NULL-terminated allowed
 * list, or 400 bad_request when body is not an object. kdexd_body_str()
 * returns member name as a string; when it is missing (and required) or
 * not a string it answers 400 bad_request and sets *err to 1.
 */
int		 kdexd_body_check(const struct kdexd_req *, struct kdexd_resp *,
		    const char *const *allowed);
const char	*kdexd_body_str(const struct kdexd_req *, struct kdexd_resp *,
		    const char *name, int required, int *err);

/* The handles a handler may use (never NULL once kdexd is serving). */
struct exchange	*kdexd_exchange(struct kdexd *);
struct ledger	*kdexd_ledger(struct kdexd *);
/* Operator account address and the data directory (static strings). */
const char	*kdexd_operator_address(struct kdexd *);
const char	*kdexd_data_dir(struct kdexd *);
/*
 * Adds the server's own figures to obj: "uptime_s", "version",
 * "connections", "ws_clients", "orders_per_s" (for GET /admin/status).
 */
void		 kdexd_status_json(struct kdexd *, cJSON *obj);
/* Milliseconds since the epoch (the clock every route uses). */
int64_t		 kdexd_now_ms(void);

/*
 * Run an exchange command now, in a batch of its own (after whatever is
 * queued), through the server's batch path, so that WebSocket subscribers
 * see its events with no sequence gap. fn (may be NULL) is called once the
 * batch is over with its output (NULL when the commit failed) and the tag
 * of cmd's result, before the events are published; out is valid only
 * during the call. Returns 0, or -1 when the engine queue is full.
 */
struct exchange_cmd;
struct exchange_out;
typedef void	 kdexd_batch_fn(const struct exchange_out *out, uint64_t tag,
		    void *arg);
int		 kdexd_run_command(struct kdexd *, const struct exchange_cmd *,
		    kdexd_batch_fn *fn, void *arg);

/*
 * The admin router (kdexd_admin.c). Called for every request on the admin
 * listener once X-Admin-Key has matched <data>/admin.key. Returns 0 when a
 * route matched and resp is filled, -1 when no route matched (the caller
 * answers 404 not_found).
 */
int		 kdexd_admin_route(struct kdexd_req *, struct kdexd_resp *);

#endif
