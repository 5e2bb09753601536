/*
 * kdexd_lp: market makers and liquidity providers (issue 8; engineer J).
 * Interface and limits: kdexd_lp.h; the wire contract: doc/lp.md.
 *
 * API key secrets are never stored. A key's secret is
 * HMAC-SHA256(master, "kdex-apikey:" id) in hex, where master is derived
 * from the server's jwt.key, so the database holds only a SHA-256 of each
 * secret (a copy of auth.db alone signs nothing) and the server can still
 * check signatures. Whoever holds jwt.key can already mint any login, so
 * deriving from it adds no new secret to keep.
 *
 * Batches reuse the single-order handlers of kdexd_trade.c: each item is a
 * sub-request whose deferred answer goes to a sink (http_defer_sink())
 * instead of the connection, so every item shares the next engine batch
 * and the whole batch is answered once the last item is.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <sqlite3.h>

#include "book.h"
#include "exchange.h"
#include "ledger.h"
#include "market.h"
#include "money.h"
#include "kdexd.h"
#include "kdexd_lp.h"
#include "util.h"

#define KEY_ID_BYTES	12
#define KEY_ID_LEN	(2 * KEY_ID_BYTES)
#define SECRET_LEN	64		/* hex of 32 bytes */
#define AUTH_SCHEME	"KDEX-HMAC "
#define SEEN_SLOTS	65536		/* signatures kept per generation */
#define SEEN_ROTATE_MS	(2 * LP_KEY_WINDOW_MS)
#define DMS_MAX		4096		/* users with an armed switch */

static struct kdexd	*srv;
static uint8_t		 master[32];
static sqlite3_stmt	*st_key_ins, *st_key_get, *st_key_list, *st_key_rev,
			*st_key_count;
static sqlite3_stmt	*st_dms_set, *st_dms_del, *st_dms_fired, *st_dms_all;

/*
 * Replay guard: digests of accepted signatures, in two generations that
 * rotate every SEEN_ROTATE_MS, so each is remembered for at least twice
 * the window (a request is acceptable for at most that long).
 */
struct seen {
	uint8_t	 d[SEEN_SLOTS][16];
	size_t	 n;
};
static struct seen	*seen_cur, *seen_old;
static int64_t		 seen_rotated_ms;
static int64_t		 started_ms;	/* signed before it: maybe replayed */

/*
 * Dead-man's switches, in memory for the cron and in auth.db's dead_man
 * table so that a restart (even kill -9) keeps them: a row is written
 * before the arm is answered and deleted only once the cancel-all it
 * stands for has committed, so a crash in between fires it again (a
 * second cancel-all is harmless) rather than losing it.
 */
struct dms {
	int64_t	 uid;		/* 0 until resolved (rows loaded at start) */
	int64_t	 deadline_ms;
	int64_t	 timeout_s;
	char	 user[KDEXD_USER_MAX];
};
static struct dms	 dms[DMS_MAX];
static size_t		 ndms;
static int		 dms_started;	/* lapsed rows of the last run fired */

/*
 * LP statistics: users who made an API key or asked for their statistics
 * are sampled every LP_SAMPLE_MS: whether one of their live orders is at
 * the best bid or ask of each market. Bounded; in memory since the start.
 */
#define TRACK_MAX	256
struct track {
	int64_t	 uid;
	int64_t	 since_ms;
	uint64_t top_bid_ms[KDEXD_MARKETS_MAX];
	uint64_t top_ask_ms[KDEXD_MARKETS_MAX];
	uint64_t sampled_ms[KDEXD_MARKETS_MAX];
};
static struct track	*tracks;
static size_t		 ntracks;
static int64_t		 last_sample_ms;

static struct track	*track_get(int64_t);
static void		 lp_sample(int64_t);

/* Routes that API keys may use, by kdexd_route.c pattern (else 403). */
struct key_route {
	enum kdexd_method	 method;
	const char		*pattern;
	int			 trade;		/* needs scope trade */
};
static const struct key_route key_routes[] = {
	{ KDEXD_GET,  "/balances", 0 },
	{ KDEXD_GET,  "/orders", 0 },
	{ KDEXD_GET,  "/orders/by-client-id/:", 0 },
	{ KDEXD_GET,  "/orders/:", 0 },
	{ KDEXD_GET,  "/fills", 0 },
	{ KDEXD_GET,  "/lp/stats", 0 },
	{ KDEXD_GET,  "/lp/cancel-all-after", 0 },
	{ KDEXD_POST, "/orders/place", 1 },
	{ KDEXD_POST, "/orders/cancel", 1 },
	{ KDEXD_POST, "/orders/cancel-all", 1 },
	{ KDEXD_POST, "/orders/amend", 1 },
	{ KDEXD_POST, "/orders/batch-place", 1 },
	{ KDEXD_POST, "/orders/batch-cancel", 1 },
	{ KDEXD_POST, "/orders/cancel-all-after", 1 },
};

static void
hexify(const uint8_t *in, size_t len, char *out)
{
	static const char	 hx[] = "0123456789abcdef";
	size_t			 i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static void
hmac256(const void *key, size_t keylen, const void *msg, size_t len,
    uint8_t out[32])
{
	unsigned int	 outlen = 32;

	if (HMAC(EVP_sha256(), key, (int)keylen, msg, len, out,
	    &outlen) == NULL || outlen != 32)
		fatalx("HMAC-SHA256 failed");
}

static void
sha256_hex(const char *s, size_t len, char out[65])
{
	uint8_t		 d[32];
	unsigned int	 dlen = 32;

	if (EVP_Digest(s, len, d, &dlen, EVP_sha256(), NULL) != 1 ||
	    dlen != 32)
		fatalx("SHA-256 failed");
	hexify(d, 32, out);
}

/* The secret of key id (hex, SECRET_LEN + 1 bytes). */
static void
key_secret(const char *id, char out[SECRET_LEN + 1])
{
	char	 msg[64];
	uint8_t	 mac[32];
	int	 n;

	n = snprintf(msg, sizeof msg, "kdex-apikey:%s", id);
	if (n < 0 || (size_t)n >= sizeof msg)
		fatalx("key id too long");
	hmac256(master, sizeof master, msg, (size_t)n, mac);
	hexify(mac, 32, out);
	sodium_memzero(mac, sizeof mac);
}

/*
 * The switches armed when kdexd last stopped (or died): each is re-armed
 * with its deadline; a lapsed one fires in the first lp_start()/cron.
 */
static int
dms_load(char **cause)
{
	const char	*u;
	int		 r;
	size_t		 lapsed = 0;
	int64_t		 now = kdexd_now_ms();

	ndms = 0;
	while ((r = sqlite3_step(st_dms_all)) == SQLITE_ROW) {
		u = (const char *)sqlite3_column_text(st_dms_all, 0);
		if (u == NULL || strlen(u) >= KDEXD_USER_MAX || ndms == DMS_MAX)
			continue;
		memset(&dms[ndms], 0, sizeof dms[ndms]);
		snprintf(dms[ndms].user, sizeof dms[ndms].user, "%s", u);
		dms[ndms].timeout_s = sqlite3_column_int64(st_dms_all, 1);
		dms[ndms].deadline_ms = sqlite3_column_int64(st_dms_all, 2);
		if (dms[ndms].deadline_ms <= now)
			lapsed++;
		ndms++;
	}
	sqlite3_reset(st_dms_all);
	if (r != SQLITE_DONE) {
		xasprintf(cause, "auth.db dead_man: %s",
		    sqlite3_errmsg(srv->authdb));
		return (-1);
	}
	if (ndms > 0)
		log_info("dead-man's switches: %zu re-armed, %zu lapsed while "
		    "stopped", ndms - lapsed, lapsed);
	return (0);
}

int
lp_init(struct kdexd *s, char **cause)
{
	static const char schema[] =
	    "CREATE TABLE IF NOT EXISTS api_keys ("
	    " id TEXT PRIMARY KEY,"
	    " user TEXT NOT NULL,"
	    " scope TEXT NOT NULL CHECK (scope IN ('trade','read')),"
	    " label TEXT NOT NULL DEFAULT '',"
	    " secret_sha256 TEXT NOT NULL,"
	    " created_at INTEGER NOT NULL,"
	    " revoked_at INTEGER);"
	    "CREATE INDEX IF NOT EXISTS api_keys_user ON api_keys (user);"
	    /* Armed dead-man's switches (since 0.1.0 + issue 8). */
	    "CREATE TABLE IF NOT EXISTS dead_man ("
	    " user TEXT PRIMARY KEY,"
	    " timeout_s INTEGER NOT NULL,"
	    " armed_at INTEGER NOT NULL,"
	    " cancel_at INTEGER NOT NULL);";
	static const char label[] = "kdex-apikey-master";

	srv = s;
	hmac256(s->jwt_secret, sizeof s->jwt_secret, label, sizeof label - 1,
	    master);
	if (sqlite3_exec(s->authdb, schema, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->authdb, "INSERT INTO api_keys (id, user, "
	    "scope, label, secret_sha256, created_at) VALUES (?,?,?,?,?,?)",
	    -1, &st_key_ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->authdb, "SELECT user, scope, secret_sha256, "
	    "revoked_at FROM api_keys WHERE id = ?", -1, &st_key_get,
	    NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->authdb, "SELECT id, scope, label, "
	    "created_at, revoked_at FROM api_keys WHERE user = ? "
	    "ORDER BY created_at, id", -1, &st_key_list, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->authdb, "UPDATE api_keys SET revoked_at = ? "
	    "WHERE id = ? AND user = ? AND revoked_at IS NULL", -1,
	    &st_key_rev, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->authdb, "SELECT count(*) FROM api_keys "
	    "WHERE user = ? AND revoked_at IS NULL", -1, &st_key_count,
	    NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->authdb, "INSERT OR REPLACE INTO dead_man "
	    "(user, timeout_s, armed_at, cancel_at) VALUES (?,?,?,?)", -1,
	    &st_dms_set, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->authdb, "DELETE FROM dead_man WHERE "
	    "user = ?", -1, &st_dms_del, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->authdb, "DELETE FROM dead_man WHERE "
	    "user = ? AND cancel_at = ?", -1, &st_dms_fired, NULL) !=
	    SQLITE_OK ||
	    sqlite3_prepare_v2(s->authdb, "SELECT user, timeout_s, cancel_at "
	    "FROM dead_man ORDER BY cancel_at, user", -1, &st_dms_all,
	    NULL) != SQLITE_OK) {
		xasprintf(cause, "auth.db api_keys: %s",
		    sqlite3_errmsg(s->authdb));
		return (-1);
	}
	if (dms_load(cause) != 0)
		return (-1);
	seen_cur = xcalloc(1, sizeof *seen_cur);
	seen_old = xcalloc(1, sizeof *seen_old);
	seen_rotated_ms = started_ms = kdexd_now_ms();
	return (0);
}

void
lp_free(void)
{
	sqlite3_finalize(st_key_ins);
	sqlite3_finalize(st_key_get);
	sqlite3_finalize(st_key_list);
	sqlite3_finalize(st_key_rev);
	sqlite3_finalize(st_key_count);
	st_key_ins = st_key_get = st_key_list = st_key_rev = NULL;
	st_key_count = NULL;
	sqlite3_finalize(st_dms_set);
	sqlite3_finalize(st_dms_del);
	sqlite3_finalize(st_dms_fired);
	sqlite3_finalize(st_dms_all);
	st_dms_set = st_dms_del = st_dms_fired = st_dms_all = NULL;
	ndms = 0;
	dms_started = 0;
	free(seen_cur);
	free(seen_old);
	free(tracks);
	tracks = NULL;
	ntracks = 0;
	seen_cur = seen_old = NULL;
	sodium_memzero(master, sizeof master);
}

/* Slot of digest d in g: where it is, or the empty slot it would take. */
static size_t
seen_slot(const struct seen *g, const uint8_t d[16])
{
	static const uint8_t	 zero[16];
	size_t			 i;

	i = ((size_t)d[0] | (size_t)d[1] << 8) % SEEN_SLOTS;
	for (;;) {
		if (memcmp(g->d[i], d, 16) == 0 ||
		    memcmp(g->d[i], zero, 16) == 0)
			return (i);
		i = (i + 1) % SEEN_SLOTS;
	}
}

/* 1 when the digest was seen, 0 when remembered now, -1 when full. */
static int
seen_check(const uint8_t d[16])
{
	size_t	 i;

	i = seen_slot(seen_old, d);
	if (memcmp(seen_old->d[i], d, 16) == 0)
		return (1);
	i = seen_slot(seen_cur, d);
	if (memcmp(seen_cur->d[i], d, 16) == 0)
		return (1);
	if (seen_cur->n >= SEEN_SLOTS / 2)
		return (-1);
	memcpy(seen_cur->d[i], d, 16);
	seen_cur->n++;
	return (0);
}

static void
seen_rotate(int64_t now)
{
	struct seen	*g;

	if (now - seen_rotated_ms < SEEN_ROTATE_MS)
		return;
	g = seen_old;
	seen_old = seen_cur;
	memset(g, 0, sizeof *g);
	seen_cur = g;
	seen_rotated_ms = now;
}

/* kdexd_run_command() hook: did the cancel-all commit? */
static void
dms_committed(const struct exchange_out *out, uint64_t tag, void *arg)
{
	(void)tag;
	*(int *)arg = out != NULL;
}

/* Forget a switch that fired: its row first, unless re-armed since. */
static void
dms_forget(size_t i)
{
	sqlite3_bind_text(st_dms_fired, 1, dms[i].user, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st_dms_fired, 2, dms[i].deadline_ms);
	if (sqlite3_step(st_dms_fired) != SQLITE_DONE)
		log_info("dead_man: cannot delete %s: %s (fires again after "
		    "a restart)", dms[i].user, sqlite3_errmsg(srv->authdb));
	sqlite3_reset(st_dms_fired);
	dms[i] = dms[--ndms];
}

/*
 * Cancel all orders of every user whose switch lapsed, each in a batch of
 * its own run now, so the row goes only once the cancel has committed.
 */
static void
dms_fire(int64_t now)
{
	struct exchange_cmd	 cmd;
	size_t			 i;
	int			 committed;

	for (i = 0; i < ndms; ) {
		if (dms[i].deadline_ms > now) {
			i++;
			continue;
		}
		if (dms[i].uid <= 0 &&
		    (dms[i].uid = route_user_id(dms[i].user)) <= 0) {
			log_info("cancel-all-after: unknown user %s dropped",
			    dms[i].user);
			dms_forget(i);
			continue;
		}
		memset(&cmd, 0, sizeof cmd);
		cmd.type = EXCHANGE_CANCEL_ALL;
		cmd.user = dms[i].uid;
		committed = 0;
		if (kdexd_run_command(srv, &cmd, dms_committed,
		    &committed) != 0 || !committed) {
			i++;		/* queue full or not committed: retry */
			continue;
		}
		log_info("cancel-all-after lapsed for %s: cancelled all%s",
		    dms[i].user, dms_started ? "" : " (lapsed while stopped)");
		dms_forget(i);
	}
}

void
lp_start(struct kdexd *s)
{
	(void)s;
	if (dms_started)
		return;
	dms_fire(kdexd_now_ms());
	dms_started = 1;
}

void
lp_cron(struct kdexd *s)
{
	int64_t	 now = kdexd_now_ms();

	lp_start(s);
	seen_rotate(now);
	dms_fire(now);
	lp_sample(now);
}

int
lp_ws_cancel_on_disconnect(const cJSON *msg)
{
	return (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg,
	    "cancel_on_disconnect")));
}

void
lp_ws_disconnected(const char *user)
{
	struct exchange_cmd	 cmd;
	int64_t			 uid;

	if (srv == NULL || srv->stopping || srv->draining ||
	    (uid = route_user_id(user)) <= 0)
		return;
	memset(&cmd, 0, sizeof cmd);
	cmd.type = EXCHANGE_CANCEL_ALL;
	cmd.user = uid;
	if (route_submit(&cmd) != 0)
		log_info("cancel-on-disconnect for %s: engine queue full", user);
	else
		log_info("cancel-on-disconnect for %s", user);
}

int
lp_key_request(const char *authorization)
{
	return (authorization != NULL &&
	    strncmp(authorization, AUTH_SCHEME, sizeof AUTH_SCHEME - 1) == 0);
}

/*
 * Parse "KDEX-HMAC key=<id>,ts=<ms>,sig=<hex>" (any order, no spaces).
 * 0 or -1 with *why.
 */
static int
parse_auth(const char *auth, char id[KEY_ID_LEN + 1], int64_t *ts,
    char sig[SECRET_LEN + 1], const char **why)
{
	const char	*p = auth + sizeof AUTH_SCHEME - 1, *v, *e;
	size_t		 n, klen;
	int		 have = 0;
	long long	 t;
	char		*end;

	while (*p != '\0') {
		if ((e = strchr(p, ',')) == NULL)
			e = p + strlen(p);
		if ((v = memchr(p, '=', (size_t)(e - p))) == NULL)
			goto bad;
		klen = (size_t)(v - p);
		v++;
		n = (size_t)(e - v);
		if (klen == 3 && strncmp(p, "key", 3) == 0) {
			if (n != KEY_ID_LEN)
				goto bad;
			memcpy(id, v, n);
			id[n] = '\0';
			have |= 1;
		} else if (klen == 2 && strncmp(p, "ts", 2) == 0) {
			if (n == 0 || n > 15 || !isdigit((unsigned char)*v))
				goto bad;
			t = strtoll(v, &end, 10);
			if (end != e)
				goto bad;
			*ts = (int64_t)t;
			have |= 2;
		} else if (klen == 3 && strncmp(p, "sig", 3) == 0) {
			if (n != SECRET_LEN)
				goto bad;
			memcpy(sig, v, n);
			sig[n] = '\0';
			have |= 4;
		} else
			goto bad;
		p = *e == ',' ? e + 1 : e;
	}
	if (have == 7)
		return (0);
bad:
	*why = "want Authorization: KDEX-HMAC key=<id>,ts=<ms>,sig=<hex>";
	return (-1);
}

static const char *
method_name(enum kdexd_method m)
{
	switch (m) {
	case KDEXD_GET:
		return ("GET");
	case KDEXD_POST:
		return ("POST");
	case KDEXD_PUT:
		return ("PUT");
	case KDEXD_DELETE:
		return ("DELETE");
	default:
		return ("OTHER");
	}
}

/* The signed text: ts + METHOD + path[?query] + body. Caller frees. */
static char *
signed_text(const struct kdexd_req *req, int64_t ts, size_t *len)
{
	char	*t, *q = NULL, *nq;
	size_t	 i, n;

	for (i = 0; i < req->nquery; i++) {
		xasprintf(&nq, "%s%s%s=%s", q != NULL ? q : "",
		    i == 0 ? "?" : "&", req->query[i].name,
		    req->query[i].value != NULL ? req->query[i].value : "");
		free(q);
		q = nq;
	}
	xasprintf(&t, "%lld%s%s%s", (long long)ts, method_name(req->method),
	    req->path, q != NULL ? q : "");
	free(q);
	n = strlen(t);
	if (req->raw_body != NULL && req->raw_len > 0) {
		t = xreallocarray(t, n + req->raw_len + 1, 1);
		memcpy(t + n, req->raw_body, req->raw_len);
		n += req->raw_len;
		t[n] = '\0';
	}
	*len = n;
	return (t);
}

int
lp_key_auth(struct kdexd_req *req, struct kdexd_resp *resp,
    const char *auth, const char *pattern, char user[KDEXD_USER_MAX])
{
	char			 id[KEY_ID_LEN + 1], sig[SECRET_LEN + 1];
	char			 secret[SECRET_LEN + 1], hash[65], want[65];
	char			 scope[8], rkey[KEY_ID_LEN + 8];
	const char		*why = NULL, *u, *sc, *h;
	const struct key_route	*kr = NULL;
	uint8_t			 mac[32], d[32];
	int64_t			 ts = 0, now = kdexd_now_ms();
	size_t			 i, len;
	unsigned int		 wait;
	char			*text;
	int			 found = 0, revoked = 0, r;

	if (parse_auth(auth, id, &ts, sig, &why) != 0) {
		kdexd_resp_error(resp, 401, "unauthorized", "%s", why);
		return (-1);
	}
	if (ts < now - LP_KEY_WINDOW_MS || ts > now + LP_KEY_WINDOW_MS) {
		kdexd_resp_error(resp, 401, "unauthorized",
		    "timestamp outside the %d ms window (server time %lld)",
		    LP_KEY_WINDOW_MS, (long long)now);
		return (-1);
	}
	if (ts < started_ms) {
		/* The replay guard is in memory: it forgot what came before. */
		kdexd_resp_error(resp, 401, "unauthorized",
		    "timestamp before the server started");
		return (-1);
	}
	sqlite3_bind_text(st_key_get, 1, id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st_key_get) == SQLITE_ROW) {
		u = (const char *)sqlite3_column_text(st_key_get, 0);
		sc = (const char *)sqlite3_column_text(st_key_get, 1);
		h = (const char *)sqlite3_column_text(st_key_get, 2);
		if (u != NULL && sc != NULL && h != NULL &&
		    strlen(u) < KDEXD_USER_MAX && strlen(sc) < sizeof scope &&
		    strlen(h) == 64) {
			found = 1;
			snprintf(user, KDEXD_USER_MAX, "%s", u);
			snprintf(scope, sizeof scope, "%s", sc);
			memcpy(hash, h, 65);
			revoked = sqlite3_column_type(st_key_get, 3) !=
			    SQLITE_NULL;
		}
	}
	sqlite3_reset(st_key_get);
	if (!found || revoked) {
		kdexd_resp_error(resp, 401, "unauthorized", "%s API key",
		    found ? "revoked" : "unknown");
		return (-1);
	}
	key_secret(id, secret);
	sha256_hex(secret, SECRET_LEN, want);
	if (util_memeq_ct(want, hash, 64) != 0) {
		/* jwt.key was replaced: every key made before is void. */
		sodium_memzero(secret, sizeof secret);
		kdexd_resp_error(resp, 401, "unauthorized",
		    "API key made under an earlier server secret");
		return (-1);
	}
	text = signed_text(req, ts, &len);
	hmac256(secret, SECRET_LEN, text, len, mac);
	free(text);
	sodium_memzero(secret, sizeof secret);
	for (i = 0; i < SECRET_LEN; i++)
		sig[i] = (char)tolower((unsigned char)sig[i]);
	hexify(mac, 32, want);
	if (util_memeq_ct(want, sig, SECRET_LEN) != 0) {
		kdexd_resp_error(resp, 401, "unauthorized", "bad signature");
		return (-1);
	}

	/* Scope before the replay guard, so a refusal costs no slot. */
	for (i = 0; i < sizeof key_routes / sizeof key_routes[0]; i++)
		if (key_routes[i].method == req->method &&
		    strcmp(key_routes[i].pattern, pattern) == 0) {
			kr = &key_routes[i];
			break;
		}
	if (kr == NULL || (kr->trade && strcmp(scope, "trade") != 0)) {
		kdexd_resp_error(resp, 403, "forbidden",
		    "a %s API key cannot use %s %s", scope,
		    method_name(req->method), req->path);
		return (-1);
	}

	/* The signature itself is the nonce: one use within the window. */
	if (EVP_Digest(sig, SECRET_LEN, d, NULL, EVP_sha256(), NULL) != 1)
		fatalx("SHA-256 failed");
	if ((r = seen_check(d)) != 0) {
		if (r > 0)
			kdexd_resp_error(resp, 401, "unauthorized",
			    "replayed request (signature already used)");
		else {
			kdexd_resp_error(resp, 503, "rate_limited",
			    "replay guard full");
			resp->retry_after = 1;
		}
		return (-1);
	}
	snprintf(rkey, sizeof rkey, "key:%s", id);
	if ((wait = rate_take(1, rkey)) > 0 ||
	    (wait = rate_take(1, user)) > 0) {
		kdexd_resp_error(resp, 429, "rate_limited",
		    "too many requests for this key");
		resp->retry_after = wait;
		return (-1);
	}
	return (0);
}

/*
 * Authenticate a route of this module: a JWT, or (unless jwt_only) a
 * signed key request. 0 with user filled, or -1 with resp filled.
 */
static int
lp_auth(struct kdexd_req *req, struct kdexd_resp *resp, const char *auth,
    const char *pattern, int jwt_only, char user[KDEXD_USER_MAX])
{
	const char	*why;
	unsigned int	 wait;

	if (lp_key_request(auth)) {
		if (jwt_only) {
			kdexd_resp_error(resp, 403, "forbidden",
			    "API keys are managed with a login token only");
			return (-1);
		}
		return (lp_key_auth(req, resp, auth, pattern, user));
	}
	if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0) {
		kdexd_resp_error(resp, 401, "unauthorized",
		    "want Authorization: Bearer <token> or KDEX-HMAC");
		return (-1);
	}
	if (auth_check_token(req->server, auth, user, NULL, &why) != 0) {
		kdexd_resp_error(resp, 401, "unauthorized", "%s", why);
		return (-1);
	}
	if ((wait = rate_take(1, user)) > 0) {
		kdexd_resp_error(resp, 429, "rate_limited",
		    "too many requests for this user");
		resp->retry_after = wait;
		return (-1);
	}
	return (0);
}

static cJSON *
key_json(sqlite3_stmt *st)
{
	cJSON		*o = cJSON_CreateObject();
	const char	*lbl;

	cJSON_AddStringToObject(o, "id",
	    (const char *)sqlite3_column_text(st, 0));
	cJSON_AddStringToObject(o, "scope",
	    (const char *)sqlite3_column_text(st, 1));
	lbl = (const char *)sqlite3_column_text(st, 2);
	cJSON_AddStringToObject(o, "label", lbl != NULL ? lbl : "");
	cJSON_AddNumberToObject(o, "created_at",
	    (double)sqlite3_column_int64(st, 3));
	if (sqlite3_column_type(st, 4) == SQLITE_NULL)
		cJSON_AddNullToObject(o, "revoked_at");
	else
		cJSON_AddNumberToObject(o, "revoked_at",
		    (double)sqlite3_column_int64(st, 4));
	return (o);
}

/* POST /apikeys {"scope":"trade|read","label"?} */
static void
r_key_create(struct kdexd_req *req, struct kdexd_resp *resp,
    const char *user)
{
	static const char *const allowed[] = { "scope", "label", NULL };
	const char	*scope, *label;
	char		 id[KEY_ID_LEN + 1], secret[SECRET_LEN + 1], hash[65];
	uint8_t		 raw[KEY_ID_BYTES];
	int64_t		 now = kdexd_now_ms(), n;
	int		 err = 0;
	cJSON		*o, *k;

	if (kdexd_body_check(req, resp, allowed) != 0)
		return;
	scope = kdexd_body_str(req, resp, "scope", 1, &err);
	if (err)
		return;
	label = kdexd_body_str(req, resp, "label", 0, &err);
	if (err)
		return;
	if (strcmp(scope, "trade") != 0 && strcmp(scope, "read") != 0) {
		kdexd_resp_error(resp, 400, "bad_request",
		    "scope must be trade or read, not '%s'", scope);
		return;
	}
	if (label == NULL)
		label = "";
	if (strlen(label) > 64) {
		kdexd_resp_error(resp, 400, "bad_request",
		    "label longer than 64 bytes");
		return;
	}
	sqlite3_bind_text(st_key_count, 1, user, -1, SQLITE_TRANSIENT);
	n = sqlite3_step(st_key_count) == SQLITE_ROW ?
	    sqlite3_column_int64(st_key_count, 0) : LP_KEYS_PER_USER;
	sqlite3_reset(st_key_count);
	if (n >= LP_KEYS_PER_USER) {
		kdexd_resp_error(resp, 409, "limit_exceeded",
		    "at most %d live API keys per user", LP_KEYS_PER_USER);
		return;
	}
	randombytes_buf(raw, sizeof raw);
	hexify(raw, sizeof raw, id);
	key_secret(id, secret);
	sha256_hex(secret, SECRET_LEN, hash);
	sqlite3_bind_text(st_key_ins, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st_key_ins, 2, user, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st_key_ins, 3, scope, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st_key_ins, 4, label, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st_key_ins, 5, hash, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st_key_ins, 6, now);
	if (sqlite3_step(st_key_ins) != SQLITE_DONE) {
		sqlite3_reset(st_key_ins);
		sodium_memzero(secret, sizeof secret);
		kdexd_resp_error(resp, 500, "internal", "cannot store the key");
		return;
	}
	sqlite3_reset(st_key_ins);
	log_info("api key %s (%s) created for %s", id, scope, user);
	if ((n = route_user_id(user)) > 0)
		(void)track_get(n);	/* a bot: sample its quotes */
	o = cJSON_CreateObject();
	k = cJSON_AddObjectToObject(o, "key");
	cJSON_AddStringToObject(k, "id", id);
	cJSON_AddStringToObject(k, "scope", scope);
	cJSON_AddStringToObject(k, "label", label);
	cJSON_AddNumberToObject(k, "created_at", (double)now);
	cJSON_AddNullToObject(k, "revoked_at");
	cJSON_AddStringToObject(o, "secret", secret);
	sodium_memzero(secret, sizeof secret);
	kdexd_resp_json(resp, 201, o);
}

/* GET /apikeys */
static void
r_key_list(struct kdexd_req *req, struct kdexd_resp *resp, const char *user)
{
	cJSON	*o, *arr;

	(void)req;
	o = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(o, "keys");
	sqlite3_bind_text(st_key_list, 1, user, -1, SQLITE_TRANSIENT);
	while (sqlite3_step(st_key_list) == SQLITE_ROW)
		cJSON_AddItemToArray(arr, key_json(st_key_list));
	sqlite3_reset(st_key_list);
	kdexd_resp_json(resp, 200, o);
}

/* POST /apikeys/:id/revoke */
static void
r_key_revoke(struct kdexd_req *req, struct kdexd_resp *resp,
    const char *user, const char *id)
{
	cJSON	*o;

	(void)req;
	sqlite3_bind_int64(st_key_rev, 1, kdexd_now_ms());
	sqlite3_bind_text(st_key_rev, 2, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st_key_rev, 3, user, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st_key_rev) != SQLITE_DONE) {
		sqlite3_reset(st_key_rev);
		kdexd_resp_error(resp, 500, "internal", "cannot revoke");
		return;
	}
	sqlite3_reset(st_key_rev);
	if (sqlite3_changes(srv->authdb) != 1) {
		kdexd_resp_error(resp, 404, "not_found",
		    "no live API key '%s'", id);
		return;
	}
	log_info("api key %s revoked by %s", id, user);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddBoolToObject(o, "revoked", 1);
	kdexd_resp_json(resp, 200, o);
}

/* The tracking slot of uid, made when new (NULL when all are taken). */
static struct track *
track_get(int64_t uid)
{
	size_t	 i;

	for (i = 0; i < ntracks; i++)
		if (tracks[i].uid == uid)
			return (&tracks[i]);
	if (ntracks == TRACK_MAX)
		return (NULL);
	if (tracks == NULL)
		tracks = xcalloc(TRACK_MAX, sizeof *tracks);
	memset(&tracks[ntracks], 0, sizeof tracks[ntracks]);
	tracks[ntracks].uid = uid;
	tracks[ntracks].since_ms = kdexd_now_ms();
	return (&tracks[ntracks++]);
}

/* A user's live orders in one market, summed. */
struct quote {
	int	 have_bid, have_ask;
	uint64_t bid, ask;		/* ticks: best of the user's */
	uint64_t bid_lots, ask_lots;	/* resting */
	size_t	 orders;
};

static void
quote_cb(const struct ledger_order *o, void *arg)
{
	struct quote	*q = arg;
	uint64_t	 left = o->qty > o->filled ? o->qty - o->filled : 0;

	q->orders++;
	if (o->side == 0) {
		if (!q->have_bid || o->price > q->bid)
			q->bid = o->price;
		q->have_bid = 1;
		if (q->bid_lots + left >= q->bid_lots)
			q->bid_lots += left;
	} else {
		if (!q->have_ask || o->price < q->ask)
			q->ask = o->price;
		q->have_ask = 1;
		if (q->ask_lots + left >= q->ask_lots)
			q->ask_lots += left;
	}
}

static void
quote_get(int64_t uid, int64_t market_id, struct quote *q)
{
	struct ledger_order_filter	 f;

	memset(q, 0, sizeof *q);
	memset(&f, 0, sizeof f);
	f.user_id = uid;
	f.market_id = market_id;
	f.which = 1;
	f.limit = 0;
	(void)ledger_order_list(srv->ledger, &f, quote_cb, q);
}

/* Once a second: who is at the top of each book. */
static void
lp_sample(int64_t now)
{
	const struct book	*b;
	struct quote		 q;
	struct track		*t;
	uint64_t		 dt, bp, bq, ap, aq;
	size_t			 i, m, nm = route_market_count();
	int			 hb, ha;

	if (last_sample_ms == 0) {
		last_sample_ms = now;
		return;
	}
	if (now - last_sample_ms < 1000)
		return;
	dt = (uint64_t)(now - last_sample_ms);
	last_sample_ms = now;
	if (nm > KDEXD_MARKETS_MAX)
		nm = KDEXD_MARKETS_MAX;
	for (m = 0; m < nm; m++) {
		if ((b = route_book(m)) == NULL)
			continue;
		hb = book_best(b, BOOK_BUY, &bp, &bq);
		ha = book_best(b, BOOK_SELL, &ap, &aq);
		for (i = 0; i < ntracks; i++) {
			t = &tracks[i];
			t->sampled_ms[m] += dt;
			if (book_user_order_count(b, (uint64_t)t->uid) == 0)
				continue;
			quote_get(t->uid, route_market_id(m), &q);
			if (hb && q.have_bid && q.bid == bp)
				t->top_bid_ms[m] += dt;
			if (ha && q.have_ask && q.ask == ap)
				t->top_ask_ms[m] += dt;
		}
	}
}

/* Fills of the last 30 days, summed. */
struct volume {
	int64_t	 uid;
	int64_t	 since;
	uint64_t lots;
	u128	 quote, maker_quote;
	size_t	 fills, maker_fills;
};

static void
volume_cb(const struct ledger_fill *f, void *arg)
{
	struct volume	*v = arg;
	u128		 t;

	if (f->ts < v->since)
		return;
	v->fills++;
	if (v->lots + f->qty >= v->lots)
		v->lots += f->qty;
	if (money_add(&t, v->quote, f->quote_amount) == 0)
		v->quote = t;
	if (f->maker_user == v->uid) {
		v->maker_fills++;
		if (money_add(&t, v->maker_quote, f->quote_amount) == 0)
			v->maker_quote = t;
	}
}

static uint64_t
ppm_of(u128 part, u128 whole)
{
	u128	 r;

	if (whole == 0 || money_muldiv(&r, part, 1000000, whole, 0) != 0)
		return (0);
	return ((uint64_t)r);
}

/*
 * One market's statistics of uid (t may be NULL: not tracked) into a new
 * object; *active says whether there is anything to show (fills in the
 * window or live orders). The caller owns the object.
 */
static cJSON *
stats_market(int64_t uid, size_t m, const struct track *t, int64_t now,
    int *active)
{
	const struct market	*mk = route_market(m);
	const struct book	*b = route_book(m);
	struct volume		 v;
	struct quote		 q;
	cJSON			*x, *y;
	char			 buf[MONEY_BUFSZ];
	uint64_t		 bp, bq, ap, aq;

	x = cJSON_CreateObject();
	cJSON_AddStringToObject(x, "market", mk->pair);

	memset(&v, 0, sizeof v);
	v.uid = uid;
	v.since = now - 30LL * 86400 * 1000;
	(void)ledger_fill_list(srv->ledger, uid, route_market_id(m), 0,
	    volume_cb, &v);
	cJSON_AddNumberToObject(x, "fills", (double)v.fills);
	cJSON_AddNumberToObject(x, "maker_fills", (double)v.maker_fills);
	market_format_qty(mk, v.lots, buf);
	cJSON_AddStringToObject(x, "volume", buf);
	money_format(buf, v.quote, mk->cfg.quote.decimals);
	cJSON_AddStringToObject(x, "volume_quote", buf);
	money_format(buf, v.maker_quote, mk->cfg.quote.decimals);
	cJSON_AddStringToObject(x, "maker_volume_quote", buf);
	cJSON_AddNumberToObject(x, "maker_share_ppm",
	    (double)ppm_of(v.maker_quote, v.quote));

	y = cJSON_AddObjectToObject(x, "top_of_book");
	cJSON_AddNumberToObject(y, "sampled_ms", t != NULL ?
	    (double)t->sampled_ms[m] : 0);
	cJSON_AddNumberToObject(y, "bid_ms", t != NULL ?
	    (double)t->top_bid_ms[m] : 0);
	cJSON_AddNumberToObject(y, "ask_ms", t != NULL ?
	    (double)t->top_ask_ms[m] : 0);

	quote_get(uid, route_market_id(m), &q);
	y = cJSON_AddObjectToObject(x, "quote");
	cJSON_AddNumberToObject(y, "orders", (double)q.orders);
	if (q.have_bid) {
		market_format_price(mk, q.bid, buf);
		cJSON_AddStringToObject(y, "bid", buf);
	} else
		cJSON_AddNullToObject(y, "bid");
	if (q.have_ask) {
		market_format_price(mk, q.ask, buf);
		cJSON_AddStringToObject(y, "ask", buf);
	} else
		cJSON_AddNullToObject(y, "ask");
	if (q.have_bid && q.have_ask && q.ask >= q.bid) {
		market_format_price(mk, q.ask - q.bid, buf);
		cJSON_AddStringToObject(y, "spread", buf);
		/* (ask - bid) / mid in ppm, rounded down. */
		cJSON_AddNumberToObject(y, "spread_ppm", (double)ppm_of(
		    (u128)(q.ask - q.bid) * 2, (u128)q.ask + q.bid));
	} else {
		cJSON_AddNullToObject(y, "spread");
		cJSON_AddNullToObject(y, "spread_ppm");
	}
	market_format_qty(mk, q.bid_lots, buf);
	cJSON_AddStringToObject(y, "bid_depth", buf);
	market_format_qty(mk, q.ask_lots, buf);
	cJSON_AddStringToObject(y, "ask_depth", buf);
	cJSON_AddBoolToObject(y, "at_best_bid", q.have_bid &&
	    book_best(b, BOOK_BUY, &bp, &bq) && bp == q.bid);
	cJSON_AddBoolToObject(y, "at_best_ask", q.have_ask &&
	    book_best(b, BOOK_SELL, &ap, &aq) && ap == q.ask);
	*active = v.fills > 0 || q.orders > 0;
	return (x);
}

/* Index of market pair (NULL: all), or -1 with resp filled. */
static int
stats_pair(struct kdexd_resp *resp, const char *pair, size_t *nm)
{
	const struct market	*mk;
	size_t			 m;

	*nm = route_market_count();
	if (*nm > KDEXD_MARKETS_MAX)
		*nm = KDEXD_MARKETS_MAX;
	for (m = 0; pair != NULL && m < *nm; m++)
		if ((mk = route_market(m)) != NULL &&
		    strcmp(pair, mk->pair) == 0)
			return (0);
	if (pair == NULL)
		return (0);
	kdexd_resp_error(resp, 404, "unknown_market", "unknown market '%s'",
	    pair);
	return (-1);
}

static int
stats_skip(size_t m, const char *pair)
{
	const struct market	*mk = route_market(m);

	return (mk == NULL || route_book(m) == NULL ||
	    (pair != NULL && strcmp(pair, mk->pair) != 0));
}

/* GET /lp/stats?market=P */
static void
r_lp_stats(struct kdexd_req *req, struct kdexd_resp *resp, const char *user)
{
	const char	*pair = kdexd_req_query(req, "market");
	struct track	*t;
	cJSON		*o, *arr;
	int64_t		 uid, now = kdexd_now_ms();
	size_t		 m, nm;
	int		 active;

	if ((uid = route_user_id(user)) <= 0) {
		kdexd_resp_error(resp, 404, "not_found", "unknown user");
		return;
	}
	if (stats_pair(resp, pair, &nm) != 0)
		return;
	t = track_get(uid);
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "window_days", 30);
	if (t != NULL)
		cJSON_AddNumberToObject(o, "tracked_since", (double)t->since_ms);
	else
		cJSON_AddNullToObject(o, "tracked_since");
	arr = cJSON_AddArrayToObject(o, "markets");
	for (m = 0; m < nm; m++)
		if (!stats_skip(m, pair))
			cJSON_AddItemToArray(arr, stats_market(uid, m, t, now,
			    &active));
	kdexd_resp_json(resp, 200, o);
}

/* Operator view of every user: rows of users with fills or orders. */
struct stats_all {
	cJSON		*rows;
	const char	*pair;
	size_t		 nm, n, max;
	int64_t		 now;
};

static void
stats_all_cb(const struct ledger_user *u, void *arg)
{
	struct stats_all	*sa = arg;
	const struct track	*t = NULL;
	cJSON			*x;
	size_t			 i, m;
	int			 active;

	for (i = 0; i < ntracks; i++)
		if (tracks[i].uid == u->id)
			t = &tracks[i];
	for (m = 0; m < sa->nm && sa->n < sa->max; m++) {
		if (stats_skip(m, sa->pair))
			continue;
		x = stats_market(u->id, m, t, sa->now, &active);
		if (!active) {
			cJSON_Delete(x);
			continue;
		}
		cJSON_AddItemToObject(x, "user", cJSON_CreateString(u->address));
		cJSON_AddItemToArray(sa->rows, x);
		sa->n++;
	}
}

/* A batch in flight: items answered so far, and the batch's own answer. */
struct batch {
	struct http_pending	*hp;	/* NULL until every item is queued */
	cJSON			*results;
	size_t			 n;
	size_t			 left;	/* items not yet answered */
	int			 queued;	/* every item went through */
};
struct batch_item {
	struct batch	*b;
	size_t		 i;
};

static void
batch_done(struct batch *b)
{
	struct kdexd_resp	 resp;
	cJSON			*o;

	memset(&resp, 0, sizeof resp);
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "results", b->results);
	kdexd_resp_json(&resp, 200, o);
	http_finish(b->hp, &resp);
	free(b);
}

/* An item's answer (at once or from the engine batch): keep it. */
static void
batch_sink(void *arg, struct kdexd_resp *r)
{
	struct batch_item	*it = arg;
	struct batch		*b = it->b;
	cJSON			*o;

	o = r->body != NULL ? r->body : cJSON_CreateObject();
	r->body = NULL;
	free(r->text);
	r->text = NULL;
	cJSON_AddNumberToObject(o, "status", r->status);
	cJSON_ReplaceItemInArray(b->results, (int)it->i, o);
	free(it);
	if (--b->left == 0 && b->queued)
		batch_done(b);
}

/* POST /orders/batch-place {"orders":[...]}, batch-cancel {"orders":[...]} */
static void
r_batch(struct kdexd_req *req, struct kdexd_resp *resp, route_fn *fn)
{
	static const char *const allowed[] = { "orders", NULL };
	struct kdexd_req	 sub;
	struct kdexd_resp	 sresp;
	struct kdexd_args	 args;
	struct batch		*b;
	struct batch_item	*it;
	cJSON			*items, *x;
	size_t			 i, n;

	if (kdexd_body_check(req, resp, allowed) != 0)
		return;
	items = cJSON_GetObjectItemCaseSensitive(req->body, "orders");
	if (!cJSON_IsArray(items) || (n = (size_t)cJSON_GetArraySize(items))
	    == 0) {
		kdexd_resp_error(resp, 400, "bad_request",
		    "want \"orders\": a non-empty array");
		return;
	}
	if (n > LP_BATCH_MAX) {
		kdexd_resp_error(resp, 400, "limit_exceeded",
		    "at most %d orders per batch, not %zu", LP_BATCH_MAX, n);
		return;
	}
	b = xcalloc(1, sizeof *b);
	b->results = cJSON_CreateArray();
	b->n = n;
	b->left = n;
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(b->results, cJSON_CreateNull());
	i = 0;
	cJSON_ArrayForEach(x, items) {
		sub = *req;
		sub.body = x;
		sub.raw_body = NULL;
		sub.raw_len = 0;
		sub.nquery = 0;
		memset(&sresp, 0, sizeof sresp);
		memset(&args, 0, sizeof args);
		it = xcalloc(1, sizeof *it);
		it->b = b;
		it->i = i++;
		if (!cJSON_IsObject(x)) {
			kdexd_resp_error(&sresp, 400, "bad_request",
			    "each item must be an object");
			batch_sink(it, &sresp);
			continue;
		}
		http_defer_sink(batch_sink, it);
		fn(&sub, &sresp, &args);
		http_defer_sink(NULL, NULL);
		if (sresp.status != 0)		/* answered at once */
			batch_sink(it, &sresp);
	}
	b->queued = 1;
	if (b->left == 0) {
		/* Nothing deferred: answer now, on the connection. */
		x = cJSON_CreateObject();
		cJSON_AddItemToObject(x, "results", b->results);
		kdexd_resp_json(resp, 200, x);
		free(b);
		return;
	}
	b->hp = http_defer(req);
}

/* {"timeout_s","cancel_at"} of user's switch (null, 0 when disarmed). */
static cJSON *
dms_json(const char *user)
{
	cJSON	*o = cJSON_CreateObject();
	size_t	 i;

	for (i = 0; i < ndms; i++)
		if (strcmp(dms[i].user, user) == 0)
			break;
	cJSON_AddNumberToObject(o, "timeout_s", i < ndms ?
	    (double)dms[i].timeout_s : 0);
	if (i < ndms)
		cJSON_AddNumberToObject(o, "cancel_at",
		    (double)dms[i].deadline_ms);
	else
		cJSON_AddNullToObject(o, "cancel_at");
	return (o);
}

/*
 * POST /orders/cancel-all-after {"timeout_s":N}; 0 disarms. The row in
 * auth.db is written (synchronous=FULL) before the answer, so an armed
 * switch survives a crash; memory changes only once it is.
 */
static void
r_cancel_after(struct kdexd_req *req, struct kdexd_resp *resp,
    const char *user)
{
	static const char *const allowed[] = { "timeout_s", NULL };
	cJSON		*v;
	int64_t		 uid, now = kdexd_now_ms(), secs, deadline;
	size_t		 i;
	double		 t;
	sqlite3_stmt	*st;

	if (kdexd_body_check(req, resp, allowed) != 0)
		return;
	v = cJSON_GetObjectItemCaseSensitive(req->body, "timeout_s");
	if (!cJSON_IsNumber(v) || (t = v->valuedouble) < 0 ||
	    t > LP_DMS_MAX_S || t != (double)(int64_t)t) {
		kdexd_resp_error(resp, 400, "bad_request",
		    "timeout_s must be an integer from 0 to %d", LP_DMS_MAX_S);
		return;
	}
	secs = (int64_t)t;
	if ((uid = route_user_id(user)) <= 0) {
		kdexd_resp_error(resp, 404, "not_found", "unknown user");
		return;
	}
	for (i = 0; i < ndms; i++)
		if (strcmp(dms[i].user, user) == 0)
			break;
	if (secs != 0 && i == ndms && ndms == DMS_MAX) {
		kdexd_resp_error(resp, 503, "limit_exceeded",
		    "too many armed switches");
		return;
	}
	deadline = now + secs * 1000;
	if (secs == 0) {
		st = st_dms_del;
		sqlite3_bind_text(st, 1, user, -1, SQLITE_TRANSIENT);
	} else {
		st = st_dms_set;
		sqlite3_bind_text(st, 1, user, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, secs);
		sqlite3_bind_int64(st, 3, now);
		sqlite3_bind_int64(st, 4, deadline);
	}
	if (sqlite3_step(st) != SQLITE_DONE) {
		log_info("dead_man: %s: %s", user, sqlite3_errmsg(srv->authdb));
		sqlite3_reset(st);
		kdexd_resp_error(resp, 500, "internal",
		    "cannot store the switch; nothing changed");
		return;
	}
	sqlite3_reset(st);
	if (secs == 0) {
		if (i < ndms)
			dms[i] = dms[--ndms];
	} else {
		if (i == ndms) {
			memset(&dms[i], 0, sizeof dms[i]);
			snprintf(dms[i].user, sizeof dms[i].user, "%s", user);
			ndms++;
		}
		dms[i].uid = uid;
		dms[i].timeout_s = secs;
		dms[i].deadline_ms = deadline;
	}
	kdexd_resp_json(resp, 200, dms_json(user));
}

/*
 * GET /admin/lp/stats?market=&user=&limit=: a row per user and market
 * with fills in the window or live orders (all users, or one: asking for
 * one starts tracking their time at the top, as the user's own route does).
 */
static void
adm_lp_stats(struct kdexd_req *req, struct kdexd_resp *resp)
{
	const char		*user = kdexd_req_query(req, "user");
	const char		*lim = kdexd_req_query(req, "limit");
	struct stats_all	 sa;
	struct ledger_user	 u;
	cJSON			*o;
	char			*end;
	long			 l;

	memset(&sa, 0, sizeof sa);
	sa.pair = kdexd_req_query(req, "market");
	sa.now = kdexd_now_ms();
	sa.max = LP_STATS_ROWS_MAX;
	if (lim != NULL) {
		l = strtol(lim, &end, 10);
		if (*lim == '\0' || *end != '\0' || l < 1 ||
		    l > LP_STATS_ROWS_MAX) {
			kdexd_resp_error(resp, 400, "bad_request",
			    "limit must be an integer from 1 to %d",
			    LP_STATS_ROWS_MAX);
			return;
		}
		sa.max = (size_t)l;
	}
	if (stats_pair(resp, sa.pair, &sa.nm) != 0)
		return;
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "window_days", 30);
	sa.rows = cJSON_AddArrayToObject(o, "rows");
	if (user != NULL) {
		if (ledger_user_find(srv->ledger, user, &u) != LEDGER_OK) {
			cJSON_Delete(o);
			kdexd_resp_error(resp, 404, "not_found",
			    "no user '%s'", user);
			return;
		}
		(void)track_get(u.id);
		stats_all_cb(&u, &sa);
	} else if (ledger_user_list(srv->ledger, stats_all_cb, &sa) !=
	    LEDGER_OK) {
		cJSON_Delete(o);
		kdexd_resp_error(resp, 500, "internal", "cannot list users");
		return;
	}
	cJSON_AddBoolToObject(o, "truncated", sa.n >= sa.max);
	kdexd_resp_json(resp, 200, o);
}

/* GET /admin/users/:addr/lp-stats?market=: as the user's GET /lp/stats. */
static void
adm_user_lp_stats(struct kdexd_req *req, struct kdexd_resp *resp,
    const char *addr)
{
	struct ledger_user	 u;

	if (ledger_user_find(srv->ledger, addr, &u) != LEDGER_OK) {
		kdexd_resp_error(resp, 404, "not_found", "no user '%s'", addr);
		return;
	}
	r_lp_stats(req, resp, addr);
}

/* Admin routes of this module (same table form as kdexd_admin.c's). */
static const struct {
	enum kdexd_method	 method;
	const char		*pattern;
	int			 per_user;
} lp_adm_routes[] = {
	{ KDEXD_GET,  "/admin/users/:/lp-stats", 1 },
	{ KDEXD_GET,  "/admin/lp/stats", 0 },
};

int
lp_admin_route(struct kdexd_req *req, struct kdexd_resp *resp)
{
	struct kdexd_args	 a;
	size_t			 i;

	for (i = 0; i < sizeof lp_adm_routes / sizeof lp_adm_routes[0]; i++) {
		memset(&a, 0, sizeof a);
		if (kdexd_path_match(req->path, lp_adm_routes[i].pattern, &a))
			break;
	}
	if (i == sizeof lp_adm_routes / sizeof lp_adm_routes[0])
		return (-1);
	if (req->method != lp_adm_routes[i].method) {
		kdexd_resp_error(resp, 405, "bad_request",
		    "method not allowed on %s", req->path);
		return (0);
	}
	if (lp_adm_routes[i].per_user)
		adm_user_lp_stats(req, resp, a.arg[0]);
	else
		adm_lp_stats(req, resp);
	return (0);
}

/*
 * This module's public routes, in kdexd_route.c's table form (the OpenAPI
 * test reads both tables).
 */
enum lp_what { KCREATE, KLIST, KREVOKE, BPLACE, BCANCEL, DMS, DMSGET, STATS };
struct lp_route_ent {
	enum kdexd_method	 method;
	const char		*pattern;
	int			 jwt_only;	/* API keys refused (403) */
	enum lp_what		 what;
};
static const struct lp_route_ent lp_routes[] = {
	{ KDEXD_POST, "/apikeys", 1, KCREATE },
	{ KDEXD_GET,  "/apikeys", 1, KLIST },
	{ KDEXD_POST, "/apikeys/:/revoke", 1, KREVOKE },
	{ KDEXD_POST, "/orders/batch-place", 0, BPLACE },
	{ KDEXD_POST, "/orders/batch-cancel", 0, BCANCEL },
	{ KDEXD_POST, "/orders/cancel-all-after", 0, DMS },
	{ KDEXD_GET,  "/lp/cancel-all-after", 0, DMSGET },
	{ KDEXD_GET,  "/lp/stats", 0, STATS },
};

int
lp_route(struct kdexd_req *req, struct kdexd_resp *resp, const char *auth)
{
	struct kdexd_args		 a;
	char				 user[KDEXD_USER_MAX];
	const struct lp_route_ent	*r = NULL;
	const char			*pattern;
	size_t				 i;
	int				 jwt_only, path_seen = 0;
	enum lp_what			 what;

	for (i = 0; i < sizeof lp_routes / sizeof lp_routes[0]; i++) {
		memset(&a, 0, sizeof a);
		if (!kdexd_path_match(req->path, lp_routes[i].pattern, &a))
			continue;
		path_seen = 1;
		if (lp_routes[i].method == req->method) {
			r = &lp_routes[i];
			break;
		}
	}
	if (r == NULL) {
		if (!path_seen)
			return (-1);
		kdexd_resp_error(resp, 405, "bad_request",
		    "method not allowed on %s", req->path);
		return (0);
	}
	pattern = r->pattern;
	jwt_only = r->jwt_only;
	what = r->what;
	if (lp_auth(req, resp, auth, pattern, jwt_only, user) != 0)
		return (0);
	req->user = user;
	switch (what) {
	case KCREATE:
		r_key_create(req, resp, user);
		break;
	case KLIST:
		r_key_list(req, resp, user);
		break;
	case KREVOKE:
		r_key_revoke(req, resp, user, a.arg[0]);
		break;
	case BPLACE:
		r_batch(req, resp, trade_place);
		break;
	case BCANCEL:
		r_batch(req, resp, trade_cancel);
		break;
	case DMS:
		r_cancel_after(req, resp, user);
		break;
	case DMSGET:
		kdexd_resp_json(resp, 200, dms_json(user));
		break;
	case STATS:
		r_lp_stats(req, resp, user);
		break;
	}
	req->user = NULL;
	return (0);
}
