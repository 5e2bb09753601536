/*
 * kdexd_auth: login with a Keeta key, JWTs, and rate limits.
 *
 * Login is challenge/response: POST /auth/challenge hands out a random
 * single-use nonce for a public key; the client signs "keeta-login:<nonce>"
 * with Account.sign (SHA3-256 pre-hash, any of the three key types) and
 * POST /auth/verify trades the signature for a JWT. Nonces live in a small
 * SQLite file in the data directory (synchronous=FULL), so a used nonce
 * stays used across a crash or restart. Only HS256 tokens whose header is
 * exactly ours are accepted: there is no algorithm negotiation to attack.
 *
 * Rate limits are token buckets keyed by client IP and by user, kept in a
 * bounded hash table swept from cron.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <sqlite3.h>

#include "keeta_account.h"
#include "kdexd.h"
#include "util.h"

#define NONCE_BYTES	16
#define NONCE_PENDING_MAX 100000	/* live challenges kept at most */
#define LOGIN_PREFIX	"keeta-login:"

/* {"alg":"HS256","typ":"JWT"} in base64url. */
static const char jwt_header[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

/*
 * Tokens that verified recently, by hash: a hit is an exact match of a
 * string that passed every check, so only the expiry is looked at again.
 */
#define TOKCACHE	4096
struct tokcache {
	char	*tok;
	char	 user[KDEXD_USER_MAX];
	int64_t	 exp_ms;
};
static struct tokcache	 tokcache[TOKCACHE];

static sqlite3_stmt	*st_insert, *st_get, *st_use, *st_expire, *st_count;
static int64_t		 last_expire_ms;

int
auth_init(struct kdexd *s, char **cause)
{
	char		*path;
	static const char schema[] =
	    "PRAGMA journal_mode=WAL;"
	    "PRAGMA synchronous=FULL;"
	    "CREATE TABLE IF NOT EXISTS nonce ("
	    " nonce TEXT PRIMARY KEY,"
	    " pubkey TEXT NOT NULL,"
	    " expires INTEGER NOT NULL,"
	    " used INTEGER NOT NULL DEFAULT 0);";

	xasprintf(&path, "%s/auth.db", s->conf.data_dir);
	if (sqlite3_open(path, &s->authdb) != SQLITE_OK) {
		xasprintf(cause, "%s: %s", path, sqlite3_errmsg(s->authdb));
		free(path);
		return (-1);
	}
	free(path);
	if (sqlite3_exec(s->authdb, schema, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->authdb, "INSERT INTO nonce (nonce, pubkey, "
	    "expires) VALUES (?, ?, ?)", -1, &st_insert, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->authdb, "SELECT pubkey, expires, used FROM "
	    "nonce WHERE nonce = ?", -1, &st_get, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->authdb, "UPDATE nonce SET used = 1 WHERE "
	    "nonce = ? AND used = 0", -1, &st_use, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->authdb, "DELETE FROM nonce WHERE expires < ?",
	    -1, &st_expire, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->authdb, "SELECT count(*) FROM nonce",
	    -1, &st_count, NULL) != SQLITE_OK) {
		xasprintf(cause, "auth.db: %s", sqlite3_errmsg(s->authdb));
		return (-1);
	}
	return (0);
}

void
auth_free(struct kdexd *s)
{
	sqlite3_finalize(st_insert);
	sqlite3_finalize(st_get);
	sqlite3_finalize(st_use);
	sqlite3_finalize(st_expire);
	sqlite3_finalize(st_count);
	sqlite3_close(s->authdb);
	s->authdb = NULL;
	rate_free();
	for (size_t i = 0; i < TOKCACHE; i++) {
		free(tokcache[i].tok);
		tokcache[i].tok = NULL;
	}
}

void
auth_cron(struct kdexd *s)
{
	int64_t	now = kdexd_now_ms();

	(void)s;
	if (now - last_expire_ms < 10000)
		return;
	last_expire_ms = now;
	rate_sweep();
	/* Keep expired rows a minute past expiry: harmless, and cheap. */
	sqlite3_bind_int64(st_expire, 1, now - 60000);
	sqlite3_step(st_expire);
	sqlite3_reset(st_expire);
}

void
auth_challenge(struct kdexd_req *req, struct kdexd_resp *resp)
{
	static const char *const allowed[] = { "pubkey", NULL };
	struct keeta_pubkey	 pk;
	const char		*pub, *why;
	uint8_t			 raw[NONCE_BYTES];
	char			 nonce[NONCE_BYTES * 2 + 1];
	char			 addr[KEETA_ADDRESS_MAX];
	int			 err = 0;
	int64_t			 exp, n;
	cJSON			*o;

	if (kdexd_body_check(req, resp, allowed) != 0)
		return;
	if ((pub = kdexd_body_str(req, resp, "pubkey", 1, &err)) == NULL)
		return;
	if (keeta_pubkey_parse(pub, &pk, &why) != 0) {
		kdexd_resp_error(resp, 400, "bad_request",
		    "pubkey: %s", why);
		return;
	}
	if (!keeta_key_type_is_keyed(pk.type)) {
		kdexd_resp_error(resp, 400, "bad_request",
		    "pubkey: a %s account cannot sign",
		    keeta_key_type_name(pk.type));
		return;
	}
	keeta_address_encode(&pk, addr);

	sqlite3_step(st_count);
	n = sqlite3_column_int64(st_count, 0);
	sqlite3_reset(st_count);
	if (n >= NONCE_PENDING_MAX) {
		kdexd_resp_error(resp, 429, "rate_limited",
		    "too many pending challenges");
		resp->retry_after = 10;
		return;
	}
	randombytes_buf(raw, sizeof raw);
	keeta_hex_encode(raw, sizeof raw, nonce);
	exp = kdexd_now_ms() + KDEXD_NONCE_TTL_MS;
	sqlite3_bind_text(st_insert, 1, nonce, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st_insert, 2, addr, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st_insert, 3, exp);
	if (sqlite3_step(st_insert) != SQLITE_DONE) {
		sqlite3_reset(st_insert);
		kdexd_resp_error(resp, 500, "internal", "cannot store nonce");
		return;
	}
	sqlite3_reset(st_insert);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "nonce", nonce);
	cJSON_AddNumberToObject(o, "expires_at", (double)exp);
	kdexd_resp_json(resp, 200, o);
}

static char *
b64url(const void *data, size_t len)
{
	size_t	 n;
	char	*out;

	n = sodium_base64_ENCODED_LEN(len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	out = xmalloc(n);
	sodium_bin2base64(out, n, data, len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return (out);
}

static void
jwt_mac(struct kdexd *s, const char *data, size_t len, uint8_t mac[32])
{
	unsigned int	n = 32;

	if (HMAC(EVP_sha256(), s->jwt_secret, (int)sizeof s->jwt_secret,
	    (const unsigned char *)data, len, mac, &n) == NULL || n != 32)
		fatalx("HMAC-SHA256 failed");
}

char *
auth_make_token(struct kdexd *s, const char *user, int64_t exp_s)
{
	cJSON	*p;
	char	*json, *pb, *body, *sig, *tok, jti[33];
	uint8_t	 mac[32], r[16];

	randombytes_buf(r, sizeof r);
	keeta_hex_encode(r, sizeof r, jti);
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "sub", user);
	cJSON_AddNumberToObject(p, "iat", (double)(kdexd_now_ms() / 1000));
	cJSON_AddNumberToObject(p, "exp", (double)exp_s);
	cJSON_AddStringToObject(p, "jti", jti);
	json = json_print(p);
	cJSON_Delete(p);
	pb = b64url(json, strlen(json));
	free(json);
	xasprintf(&body, "%s.%s", jwt_header, pb);
	free(pb);
	jwt_mac(s, body, strlen(body), mac);
	sig = b64url(mac, sizeof mac);
	xasprintf(&tok, "%s.%s", body, sig);
	free(body);
	free(sig);
	return (tok);
}

int
auth_check_token(struct kdexd *s, const char *tok, char user[KDEXD_USER_MAX],
    int64_t *exp_ms, const char **why)
{
	const char		*dot1, *dot2;
	uint8_t			 mac[32], got[32];
	char			 payload[1024];
	size_t			 n;
	cJSON			*p;
	const cJSON		*sub, *exp;
	struct keeta_pubkey	 pk;
	const char		*cause;

	unsigned int		 h = 2166136261u;
	struct tokcache		*tc;
	size_t			 toklen;

	if (strncmp(tok, "Bearer ", 7) == 0)
		tok += 7;
	*why = "malformed token";
	if ((toklen = strlen(tok)) > 2048)
		return (-1);
	for (dot1 = tok; *dot1 != '\0'; dot1++)
		h = (h ^ (unsigned char)*dot1) * 16777619u;
	tc = &tokcache[h % TOKCACHE];
	/*
	 * Constant time: the slot may hold another user's token, and a
	 * byte-by-byte compare would let a prober learn it by timing.
	 */
	if (tc->tok != NULL && strlen(tc->tok) == toklen &&
	    util_memeq_ct(tc->tok, tok, toklen) == 0) {
		if (tc->exp_ms <= kdexd_now_ms()) {
			*why = "token expired";
			return (-1);
		}
		snprintf(user, KDEXD_USER_MAX, "%s", tc->user);
		if (exp_ms != NULL)
			*exp_ms = tc->exp_ms;
		return (0);
	}
	if ((dot1 = strchr(tok, '.')) == NULL ||
	    (dot2 = strchr(dot1 + 1, '.')) == NULL || strchr(dot2 + 1, '.'))
		return (-1);
	if ((size_t)(dot1 - tok) != sizeof jwt_header - 1 ||
	    memcmp(tok, jwt_header, sizeof jwt_header - 1) != 0) {
		*why = "unsupported token header";
		return (-1);
	}
	if (sodium_base642bin(got, sizeof got, dot2 + 1, strlen(dot2 + 1),
	    NULL, &n, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    n != sizeof got) {
		*why = "bad token signature";
		return (-1);
	}
	jwt_mac(s, tok, (size_t)(dot2 - tok), mac);
	if (util_memeq_ct(mac, got, sizeof mac) != 0) {
		*why = "bad token signature";
		return (-1);
	}
	if (sodium_base642bin((uint8_t *)payload, sizeof payload - 1, dot1 + 1,
	    (size_t)(dot2 - dot1 - 1), NULL, &n, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return (-1);
	payload[n] = '\0';
	if ((p = cJSON_Parse(payload)) == NULL)
		return (-1);
	sub = cJSON_GetObjectItemCaseSensitive(p, "sub");
	exp = cJSON_GetObjectItemCaseSensitive(p, "exp");
	if (!cJSON_IsString(sub) || !cJSON_IsNumber(exp) ||
	    keeta_address_decode(sub->valuestring, &pk, &cause) != 0 ||
	    strlen(sub->valuestring) >= KDEXD_USER_MAX) {
		cJSON_Delete(p);
		return (-1);
	}
	if (exp->valuedouble * 1000 <= (double)kdexd_now_ms()) {
		*why = "token expired";
		cJSON_Delete(p);
		return (-1);
	}
	snprintf(user, KDEXD_USER_MAX, "%s", sub->valuestring);
	if (exp_ms != NULL)
		*exp_ms = (int64_t)exp->valuedouble * 1000;
	free(tc->tok);
	tc->tok = xstrdup(tok);
	snprintf(tc->user, sizeof tc->user, "%s", user);
	tc->exp_ms = (int64_t)exp->valuedouble * 1000;
	cJSON_Delete(p);
	return (0);
}

void
auth_verify(struct kdexd_req *req, struct kdexd_resp *resp)
{
	static const char *const allowed[] = { "pubkey", "nonce",
	    "signature", NULL };
	struct kdexd		*s = req->server;
	struct keeta_pubkey	 pk;
	const char		*pub, *nonce, *sigx, *why, *stored;
	char			 addr[KEETA_ADDRESS_MAX], *msg, *tok;
	uint8_t			 sig[KEETA_SIG_LEN];
	int64_t			 exp, now = kdexd_now_ms();
	int			 err = 0, used, ok;
	cJSON			*o;

	if (kdexd_body_check(req, resp, allowed) != 0)
		return;
	pub = kdexd_body_str(req, resp, "pubkey", 1, &err);
	if (!err)
		nonce = kdexd_body_str(req, resp, "nonce", 1, &err);
	if (!err)
		sigx = kdexd_body_str(req, resp, "signature", 1, &err);
	if (err)
		return;
	if (keeta_pubkey_parse(pub, &pk, &why) != 0 ||
	    !keeta_key_type_is_keyed(pk.type)) {
		kdexd_resp_error(resp, 400, "bad_request", "bad pubkey");
		return;
	}
	keeta_address_encode(&pk, addr);
	if (strlen(nonce) != NONCE_BYTES * 2) {
		kdexd_resp_error(resp, 400, "bad_request",
		    "nonce must be %d hex digits", NONCE_BYTES * 2);
		return;
	}
	if (strlen(sigx) != KEETA_SIG_LEN * 2 ||
	    keeta_hex_decode(sigx, strlen(sigx), sig, sizeof sig) !=
	    KEETA_SIG_LEN) {
		kdexd_resp_error(resp, 400, "bad_request",
		    "signature must be %d hex digits", KEETA_SIG_LEN * 2);
		return;
	}

	sqlite3_bind_text(st_get, 1, nonce, -1, SQLITE_TRANSIENT);
	ok = 0;
	if (sqlite3_step(st_get) == SQLITE_ROW) {
		stored = (const char *)sqlite3_column_text(st_get, 0);
		exp = sqlite3_column_int64(st_get, 1);
		used = sqlite3_column_int(st_get, 2);
		if (stored == NULL || strcmp(stored, addr) != 0)
			why = "nonce was issued to another key";
		else if (used)
			why = "nonce already used";
		else if (exp <= now)
			why = "nonce expired";
		else
			ok = 1;
	} else
		why = "unknown nonce";
	sqlite3_reset(st_get);
	if (ok) {
		xasprintf(&msg, "%s%s", LOGIN_PREFIX, nonce);
		if (keeta_verify(&pk, msg, strlen(msg), sig) != 0) {
			ok = 0;
			why = "bad signature";
		}
		free(msg);
	}
	if (ok) {
		/* Spend the nonce durably before answering. */
		sqlite3_bind_text(st_use, 1, nonce, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st_use) != SQLITE_DONE ||
		    sqlite3_changes(s->authdb) != 1) {
			ok = 0;
			why = "nonce already used";
		}
		sqlite3_reset(st_use);
	}
	if (!ok) {
		s->stats.auth_fail++;
		kdexd_resp_error(resp, 401, "unauthorized", "login failed: %s",
		    why);
		return;
	}
	if (route_login(addr) == 0) {
		kdexd_resp_error(resp, 500, "internal", "cannot register user");
		return;
	}
	s->stats.auth_ok++;
	exp = now / 1000 + s->conf.jwt_ttl;
	tok = auth_make_token(s, addr, exp);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "token", tok);
	cJSON_AddNumberToObject(o, "expires_at", (double)(exp * 1000));
	cJSON_AddStringToObject(o, "user", addr);
	free(tok);
	kdexd_resp_json(resp, 200, o);
}

/* Token buckets. */
#define RATE_HASH	4096
#define RATE_MAX	200000		/* entries; beyond, new keys wait */

struct rate_entry {
	struct rate_entry	*next;
	int64_t			 milli;		/* tokens * 1000 */
	int64_t			 last_ms;
	int			 user;
	char			 key[];
};

static struct rate_entry	*rate_table[RATE_HASH];
static size_t			 rate_count;

static unsigned int
rate_hash(int user, const char *key)
{
	unsigned int	h = 2166136261u ^ (unsigned int)user;

	while (*key != '\0')
		h = (h ^ (unsigned char)*key++) * 16777619u;
	return (h % RATE_HASH);
}

unsigned int
rate_take(int user, const char *key)
{
	struct kdexd		*s = kdexd_server;
	struct rate_entry	*e;
	unsigned int		 h = rate_hash(user, key), rate, burst;
	int64_t			 now = kdexd_now_ms(), need;

	rate = user ? s->conf.rate_user : s->conf.rate_ip;
	burst = user ? s->conf.burst_user : s->conf.burst_ip;
	for (e = rate_table[h]; e != NULL; e = e->next)
		if (e->user == user && strcmp(e->key, key) == 0)
			break;
	if (e == NULL) {
		if (rate_count >= RATE_MAX)
			return (1);
		e = xcalloc(1, sizeof *e + strlen(key) + 1);
		strcpy(e->key, key);
		e->user = user;
		e->milli = (int64_t)burst * 1000;
		e->last_ms = now;
		e->next = rate_table[h];
		rate_table[h] = e;
		rate_count++;
	}
	if (now > e->last_ms) {
		e->milli += (now - e->last_ms) * rate;
		if (e->milli > (int64_t)burst * 1000)
			e->milli = (int64_t)burst * 1000;
		e->last_ms = now;
	}
	if (e->milli >= 1000) {
		e->milli -= 1000;
		return (0);
	}
	need = (1000 - e->milli + rate - 1) / rate;	/* ms */
	return ((unsigned int)((need + 999) / 1000));
}

/* Drop buckets that are full again (idle a while): they hold no state. */
void
rate_sweep(void)
{
	struct kdexd		*s = kdexd_server;
	struct rate_entry	**ep, *e;
	int64_t			 now = kdexd_now_ms(), full;
	size_t			 i;

	for (i = 0; i < RATE_HASH; i++) {
		ep = &rate_table[i];
		while ((e = *ep) != NULL) {
			full = (int64_t)(e->user ? s->conf.burst_user :
			    s->conf.burst_ip) * 1000;
			if (now - e->last_ms > 60000 ||
			    e->milli + (now - e->last_ms) * (e->user ?
			    s->conf.rate_user : s->conf.rate_ip) >= full) {
				*ep = e->next;
				free(e);
				rate_count--;
			} else
				ep = &e->next;
		}
	}
}

void
rate_free(void)
{
	struct rate_entry	*e, *n;
	size_t			 i;

	for (i = 0; i < RATE_HASH; i++) {
		for (e = rate_table[i]; e != NULL; e = n) {
			n = e->next;
			free(e);
		}
		rate_table[i] = NULL;
	}
	rate_count = 0;
}
