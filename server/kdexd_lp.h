/*
 * kdexd_lp: market makers and liquidity providers (issue 8; engineer J).
 *
 * API keys for bots (scoped, stored hashed, HMAC-signed requests with a
 * bounded window and a replay guard), batch place and batch cancel, the
 * dead-man's switch (cancel-all-after, kept across restarts in auth.db),
 * LP statistics. Routes: doc/lp.md and doc/api.md
 * "Market makers". Everything runs on the event loop thread.
 */
#ifndef KDEXD_LP_H
#define KDEXD_LP_H

#include "kdexd.h"

#define LP_KEY_WINDOW_MS	5000	/* |now - timestamp| accepted */
#define LP_BATCH_MAX		20	/* items per batch request */
#define LP_KEYS_PER_USER	16	/* live (unrevoked) keys */
#define LP_DMS_MAX_S		86400	/* longest cancel-all-after */
#define LP_STATS_ROWS_MAX	1000	/* rows of GET /admin/lp/stats */

/* Create the api_keys table in auth.db; -1 with *cause on error. */
int	 lp_init(struct kdexd *, char **cause);
void	 lp_free(void);
/*
 * Once the engine and WebSocket layer are up, before requests are served:
 * cancel the orders of users whose dead-man's switch lapsed while kdexd
 * was stopped (switches are kept in auth.db). lp_cron() calls it too, so
 * it runs at the latest on the first cron tick; only the first call acts.
 */
void	 lp_start(struct kdexd *);
/* Dead-man's switches that lapsed; replay guard rotation. */
void	 lp_cron(struct kdexd *);

/* 1 when an Authorization header is a signed API key request. */
int	 lp_key_request(const char *authorization);
/*
 * Check a signed API key request for the route pattern (kdexd_route.c's
 * table): signature, window, replay, revocation, scope, rate limits.
 * 0 and the key owner's address in user, or -1 with resp filled.
 */
int	 lp_key_auth(struct kdexd_req *, struct kdexd_resp *,
	    const char *authorization, const char *pattern,
	    char user[KDEXD_USER_MAX]);
/* The routes of this module; -1 when none matched (resp untouched). */
int	 lp_route(struct kdexd_req *, struct kdexd_resp *,
	    const char *authorization);

/*
 * Admin routes of this module (kdexd_admin.c calls it last):
 * GET /admin/users/:addr/lp-stats?market= and
 * GET /admin/lp/stats?market=&user=&limit=. -1 when none matched.
 */
int	 lp_admin_route(struct kdexd_req *, struct kdexd_resp *);

/*
 * WebSocket cancel-on-disconnect: 1 when an auth message asks for it
 * ({"op":"auth","token":...,"cancel_on_disconnect":true}); when such a
 * session closes (not at server shutdown), all of user's orders are
 * cancelled in the next batch.
 */
int	 lp_ws_cancel_on_disconnect(const cJSON *auth_msg);
void	 lp_ws_disconnected(const char *user);

#endif
