/*
 * keeta_client: REST client for Keeta representatives. See keeta_client.h
 * for the contract; keeta-node-api.md sections 1-3 for the wire.
 *
 * One curl easy handle per client, reused for keep-alive. Every request
 * is bounded: a timeout per attempt, a retry count with exponential
 * backoff for transport failures and 5xx answers, and a cap on the size
 * of an answer. An answer with error:true is final and is never retried:
 * the node has decided.
 */
#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <sodium.h>

#include "keeta_block.h"
#include "keeta_client.h"
#include "keeta_staple.h"
#include "keeta_vote.h"
#include "util.h"

#define KC_MAX_ANSWER	(64u * 1024 * 1024)
#define KC_USER_AGENT	"kdex-keeta-client/" PACKAGE_VERSION

struct keeta_client {
	char				**urls;
	size_t				  nurls;
	uint64_t			  network;
	struct keeta_client_options	  opt;
	CURL				 *curl;
	struct curl_slist		 *headers;
	size_t				  publish_idx;
	int				  reps_known;
};

struct kc_buf {
	char	*p;
	size_t	 len;
	int	 toobig;
};

static void
kc_err(struct keeta_client_error *err, int status, const char *code,
    const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL)
		return;
	err->http_status = status;
	snprintf(err->code, sizeof err->code, "%s", code);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
}

static int64_t
kc_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void
kc_sleep_ms(long ms)
{
	struct timespec	ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static size_t
kc_write(char *data, size_t size, size_t n, void *arg)
{
	struct kc_buf	*b = arg;
	size_t		 len = size * n;

	if (len > KC_MAX_ANSWER - b->len) {
		b->toobig = 1;
		return (0);
	}
	b->p = xreallocarray(b->p, 1, b->len + len + 1);
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
	return (len);
}

struct keeta_client *
keeta_client_new(const char *const *urls, size_t nurls, uint64_t network,
    const struct keeta_client_options *opt)
{
	struct keeta_client	*c;
	size_t			 i, l;

	if (urls == NULL || nurls == 0)
		return (NULL);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	c = xcalloc(1, sizeof *c);
	c->urls = xcalloc(nurls, sizeof *c->urls);
	for (i = 0; i < nurls; i++) {
		c->urls[i] = xstrdup(urls[i]);
		l = strlen(c->urls[i]);
		while (l > 0 && c->urls[i][l - 1] == '/')
			c->urls[i][--l] = '\0';
	}
	c->nurls = nurls;
	c->network = network;
	c->opt.timeout_ms = 10000;
	c->opt.max_retries = 4;
	c->opt.backoff_ms = 50;
	c->opt.max_rebuilds = 3;
	if (opt != NULL) {
		if (opt->timeout_ms > 0)
			c->opt.timeout_ms = opt->timeout_ms;
		if (opt->max_retries >= 0)
			c->opt.max_retries = opt->max_retries;
		if (opt->backoff_ms > 0)
			c->opt.backoff_ms = opt->backoff_ms;
		if (opt->max_rebuilds >= 0)
			c->opt.max_rebuilds = opt->max_rebuilds;
	}
	c->curl = curl_easy_init();
	if (c->curl == NULL)
		fatalx("keeta_client: curl_easy_init failed");
	c->headers = curl_slist_append(NULL, "content-type: application/json");
	c->headers = curl_slist_append(c->headers, "accept: application/json");
	/* No "Expect: 100-continue" round trip on larger POSTs. */
	c->headers = curl_slist_append(c->headers, "Expect:");
	return (c);
}

void
keeta_client_free(struct keeta_client *c)
{
	size_t	i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nurls; i++)
		free(c->urls[i]);
	free(c->urls);
	curl_slist_free_all(c->headers);
	curl_easy_cleanup(c->curl);
	free(c);
}

/*
 * One request with retries. On success *out is the parsed answer (caller
 * deletes). error:true answers fill err (code, message) and return -1 at
 * once; *out then holds the error object when out_err_json is set.
 */
static int
kc_request(struct keeta_client *c, const char *base, const char *path,
    const char *body, cJSON **out, cJSON **errjson,
    struct keeta_client_error *err)
{
	struct kc_buf	 b;
	char		*url;
	long		 status = 0, backoff = c->opt.backoff_ms;
	int		 attempt, rc;
	CURLcode	 cc;
	cJSON		*j, *code, *msg;

	*out = NULL;
	if (errjson != NULL)
		*errjson = NULL;
	xasprintf(&url, "%s%s", base, path);
	for (attempt = 0;; attempt++) {
		memset(&b, 0, sizeof b);
		curl_easy_reset(c->curl);
		curl_easy_setopt(c->curl, CURLOPT_URL, url);
		curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
		curl_easy_setopt(c->curl, CURLOPT_USERAGENT, KC_USER_AGENT);
		curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, c->opt.timeout_ms);
		curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, kc_write);
		curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &b);
		if (body != NULL) {
			curl_easy_setopt(c->curl, CURLOPT_POST, 1L);
			curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
			curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE,
			    (curl_off_t)strlen(body));
		}
		cc = curl_easy_perform(c->curl);
		status = 0;
		if (cc == CURLE_OK)
			curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE,
			    &status);
		j = cc == CURLE_OK && b.p != NULL ? cJSON_Parse(b.p) : NULL;
		free(b.p);
		if (j != NULL && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
		    j, "error"))) {
			code = cJSON_GetObjectItemCaseSensitive(j, "code");
			msg = cJSON_GetObjectItemCaseSensitive(j, "message");
			kc_err(err, (int)status, cJSON_IsString(code) ?
			    code->valuestring : "UNKNOWN", "%s",
			    cJSON_IsString(msg) ? msg->valuestring : "error");
			if (errjson != NULL)
				*errjson = j;
			else
				cJSON_Delete(j);
			rc = -1;
			break;
		}
		if (j != NULL && status >= 200 && status < 300) {
			*out = j;
			rc = 0;
			break;
		}
		cJSON_Delete(j);
		if (cc == CURLE_OK && status < 500) {
			kc_err(err, (int)status, "CLIENT_PROTOCOL",
			    "%s: HTTP %ld without a JSON answer", path, status);
			rc = -1;
			break;
		}
		if (attempt >= c->opt.max_retries) {
			if (cc != CURLE_OK)
				kc_err(err, 0, "CLIENT_TRANSPORT", "%s: %s", url,
				    curl_easy_strerror(cc));
			else
				kc_err(err, (int)status, "CLIENT_TRANSPORT",
				    "%s: HTTP %ld", url, status);
			rc = -1;
			break;
		}
		kc_sleep_ms(backoff);
		if (backoff < 2000)
			backoff *= 2;
	}
	free(url);
	return (rc);
}

/* GET from any representative: the first that answers. */
static int
kc_get(struct keeta_client *c, const char *path, cJSON **out,
    struct keeta_client_error *err)
{
	size_t	i;
	int	rc = -1;

	for (i = 0; i < c->nurls; i++) {
		rc = kc_request(c, c->urls[i], path, NULL, out, NULL, err);
		if (rc == 0 || err == NULL ||
		    strcmp(err->code, "CLIENT_TRANSPORT") != 0)
			return (rc);
	}
	return (rc);
}

const char *
keeta_client_publish_url(struct keeta_client *c)
{
	return (c->urls[c->publish_idx]);
}

/* ------------------------------ parsing ------------------------------ */

static const char *
jstr(const cJSON *o, const char *k)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, k);

	return (cJSON_IsString(v) ? v->valuestring : NULL);
}

static int
jaddr(const cJSON *o, const char *k, struct keeta_pubkey *pk)
{
	const char	*s = jstr(o, k);

	if (s == NULL || keeta_pubkey_parse(s, pk, NULL) != 0)
		return (-1);
	return (0);
}

static int
jhash(const char *s, uint8_t h[KEETA_HASH_LEN])
{
	if (s == NULL || strlen(s) != 2 * KEETA_HASH_LEN ||
	    keeta_hex_decode(s, strlen(s), h, KEETA_HASH_LEN) !=
	    KEETA_HASH_LEN)
		return (-1);
	return (0);
}

static int
jamount(const cJSON *o, const char *k, struct keeta_amount *a)
{
	const char	*s = jstr(o, k);

	if (s == NULL || keeta_amount_from_hex(a, s) != 0)
		return (-1);
	return (0);
}

static void
hex_upper(const uint8_t *p, size_t len, char *out)
{
	size_t	i;

	keeta_hex_encode(p, len, out);
	for (i = 0; out[i] != '\0'; i++) {
		if (out[i] >= 'a' && out[i] <= 'f')
			out[i] = (char)(out[i] - 'a' + 'A');
	}
}

/* Standard base64 that must carry its padding; NULL on bad input. */
static uint8_t *
unb64(const char *s, size_t *len)
{
	size_t	slen = strlen(s);

	if (slen % 4 != 0)
		return (NULL);
	return (keeta_block_base64_decode(s, slen, len));
}

/* ISO 8601 "YYYY-MM-DDTHH:MM:SS.mmmZ" to ms; -1 on bad input. */
static int
iso_ms(const char *s, int64_t *ms)
{
	struct tm	tm;
	int		y, mo, d, h, mi, sec, frac = 0;
	time_t		t;

	if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h,
	    &mi, &sec) != 6)
		return (-1);
	if (strlen(s) >= 23 && s[19] == '.')
		frac = atoi(s + 20);
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	*ms = (int64_t)t * 1000 + frac;
	return (0);
}

static char *
kc_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
kc_path(const char *fmt, ...)
{
	va_list	 ap;
	char	*p;

	va_start(ap, fmt);
	xvasprintf(&p, fmt, ap);
	va_end(ap);
	return (p);
}

static void
addr_of(const struct keeta_pubkey *pk, char out[KEETA_ADDRESS_MAX])
{
	keeta_address_encode(pk, out);
}

/* ------------------------------ queries ------------------------------ */

static int
parse_balances(const cJSON *arr, struct keeta_balance **out, size_t *n)
{
	const cJSON	*it;
	size_t		 i = 0;

	*out = NULL;
	*n = 0;
	if (!cJSON_IsArray(arr))
		return (-1);
	*out = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof **out);
	cJSON_ArrayForEach(it, arr) {
		if (jaddr(it, "token", &(*out)[i].token) != 0 ||
		    jamount(it, "balance", &(*out)[i].balance) != 0) {
			free(*out);
			*out = NULL;
			return (-1);
		}
		i++;
	}
	*n = i;
	return (0);
}

void
keeta_account_info_free(struct keeta_account_info *ai)
{
	if (ai == NULL)
		return;
	free(ai->name);
	free(ai->description);
	free(ai->metadata);
	free(ai->balances);
	free(ai);
}

int
keeta_client_account_info(struct keeta_client *c,
    const struct keeta_pubkey *pk, struct keeta_account_info **out,
    struct keeta_client_error *err)
{
	char				 a[KEETA_ADDRESS_MAX], *path;
	cJSON				*j, *info, *v;
	struct keeta_account_info	*ai;
	const char			*s;

	*out = NULL;
	addr_of(pk, a);
	path = kc_path("/node/ledger/account/%s", a);
	if (kc_get(c, path, &j, err) != 0) {
		free(path);
		return (-1);
	}
	free(path);
	if ((s = jstr(j, "error")) != NULL) {
		kc_err(err, 200, "ACCOUNT_INVALID", "%s", s);
		cJSON_Delete(j);
		return (-1);
	}
	ai = xcalloc(1, sizeof *ai);
	ai->account = *pk;
	if ((s = jstr(j, "currentHeadBlock")) != NULL) {
		if (jhash(s, ai->head) != 0)
			goto bad;
		ai->has_head = 1;
		s = jstr(j, "currentHeadBlockHeight");
		ai->height = s != NULL ? strtoull(s, NULL, 16) : 0;
	}
	if (jaddr(j, "representative", &ai->rep) == 0)
		ai->has_rep = 1;
	if (parse_balances(cJSON_GetObjectItemCaseSensitive(j, "balances"),
	    &ai->balances, &ai->nbalances) != 0)
		goto bad;
	info = cJSON_GetObjectItemCaseSensitive(j, "info");
	ai->name = xstrdup((s = jstr(info, "name")) != NULL ? s : "");
	ai->description = xstrdup((s = jstr(info, "description")) != NULL ?
	    s : "");
	ai->metadata = xstrdup((s = jstr(info, "metadata")) != NULL ? s : "");
	if (jamount(info, "supply", &ai->supply) == 0)
		ai->has_supply = 1;
	v = cJSON_GetObjectItemCaseSensitive(info, "defaultPermission");
	if (v != NULL && keeta_perm_from_json(&ai->default_perm, v,
	    NULL) == 0)
		ai->has_default = 1;
	cJSON_Delete(j);
	*out = ai;
	return (0);
bad:
	cJSON_Delete(j);
	keeta_account_info_free(ai);
	kc_err(err, 200, "CLIENT_PROTOCOL", "malformed account state");
	return (-1);
}

int
keeta_client_head(struct keeta_client *c, const struct keeta_pubkey *pk,
    int *has_head, uint8_t hash[KEETA_HASH_LEN], uint64_t *height,
    struct keeta_client_error *err)
{
	struct keeta_account_info	*ai;

	if (keeta_client_account_info(c, pk, &ai, err) != 0)
		return (-1);
	*has_head = ai->has_head;
	if (ai->has_head) {
		memcpy(hash, ai->head, KEETA_HASH_LEN);
		if (height != NULL)
			*height = ai->height;
	}
	keeta_account_info_free(ai);
	return (0);
}

int
keeta_client_balance(struct keeta_client *c, const struct keeta_pubkey *pk,
    const struct keeta_pubkey *token, struct keeta_amount *out,
    struct keeta_client_error *err)
{
	char	 a[KEETA_ADDRESS_MAX], t[KEETA_ADDRESS_MAX], *path;
	cJSON	*j;
	int	 rc;

	addr_of(pk, a);
	addr_of(token, t);
	path = kc_path("/node/ledger/account/%s/balance/%s", a, t);
	rc = kc_get(c, path, &j, err);
	free(path);
	if (rc != 0)
		return (-1);
	rc = jamount(j, "balance", out);
	cJSON_Delete(j);
	if (rc != 0)
		kc_err(err, 200, "CLIENT_PROTOCOL", "malformed balance");
	return (rc);
}

int
keeta_client_balances(struct keeta_client *c, const struct keeta_pubkey *pk,
    struct keeta_balance **out, size_t *n, struct keeta_client_error *err)
{
	char	 a[KEETA_ADDRESS_MAX], *path;
	cJSON	*j;
	int	 rc;

	addr_of(pk, a);
	path = kc_path("/node/ledger/account/%s/balance", a);
	rc = kc_get(c, path, &j, err);
	free(path);
	if (rc != 0)
		return (-1);
	rc = parse_balances(cJSON_GetObjectItemCaseSensitive(j, "balances"),
	    out, n);
	cJSON_Delete(j);
	if (rc != 0)
		kc_err(err, 200, "CLIENT_PROTOCOL", "malformed balances");
	return (rc);
}

static int
parse_acl(cJSON *j, struct keeta_acl **out, size_t *n,
    struct keeta_client_error *err)
{
	const cJSON	*arr = cJSON_GetObjectItemCaseSensitive(j,
			    "permissions"), *it;
	size_t		 i = 0;

	*out = NULL;
	*n = 0;
	if (!cJSON_IsArray(arr))
		goto bad;
	*out = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof **out);
	cJSON_ArrayForEach(it, arr) {
		if (jaddr(it, "principal", &(*out)[i].principal) != 0 ||
		    jaddr(it, "entity", &(*out)[i].entity) != 0 ||
		    jaddr(it, "target", &(*out)[i].target) != 0 ||
		    keeta_perm_from_json(&(*out)[i].perm,
		    cJSON_GetObjectItemCaseSensitive(it, "permissions"),
		    NULL) != 0)
			goto bad;
		i++;
	}
	*n = i;
	cJSON_Delete(j);
	return (0);
bad:
	free(*out);
	*out = NULL;
	cJSON_Delete(j);
	kc_err(err, 200, "CLIENT_PROTOCOL", "malformed ACL list");
	return (-1);
}

int
keeta_client_acl_by_entity(struct keeta_client *c,
    const struct keeta_pubkey *pk, struct keeta_acl **out, size_t *n,
    struct keeta_client_error *err)
{
	char	 a[KEETA_ADDRESS_MAX], *path;
	cJSON	*j;
	int	 rc;

	addr_of(pk, a);
	path = kc_path("/node/ledger/account/%s/acl/granted", a);
	rc = kc_get(c, path, &j, err);
	free(path);
	if (rc != 0)
		return (-1);
	return (parse_acl(j, out, n, err));
}

int
keeta_client_acl_by_principal(struct keeta_client *c,
    const struct keeta_pubkey *pk, const struct keeta_pubkey *ents,
    size_t nents, struct keeta_acl **out, size_t *n,
    struct keeta_client_error *err)
{
	char	 a[KEETA_ADDRESS_MAX], e[KEETA_ADDRESS_MAX], *path, *list;
	char	*tmp;
	cJSON	*j;
	size_t	 i;
	int	 rc;

	addr_of(pk, a);
	list = xstrdup("");
	for (i = 0; i < nents; i++) {
		addr_of(&ents[i], e);
		xasprintf(&tmp, "%s%s%s", list, i > 0 ? "%2C" : "", e);
		free(list);
		list = tmp;
	}
	path = kc_path("/node/ledger/account/%s/acl/%s", a, list);
	free(list);
	rc = kc_get(c, path, &j, err);
	free(path);
	if (rc != 0)
		return (-1);
	return (parse_acl(j, out, n, err));
}

void
keeta_history_free(struct keeta_history_entry *h, size_t n)
{
	size_t	i;

	if (h == NULL)
		return;
	for (i = 0; i < n; i++)
		free(h[i].staple);
	free(h);
}

int
keeta_client_history(struct keeta_client *c, const struct keeta_pubkey *pk,
    const uint8_t *start, unsigned int limit, struct keeta_history_entry **out,
    size_t *n, struct keeta_client_error *err)
{
	char				 a[KEETA_ADDRESS_MAX], *path, *q;
	char				 sh[2 * KEETA_HASH_LEN + 1];
	cJSON				*j, *arr, *it, *vs;
	struct keeta_history_entry	*h = NULL;
	size_t				 i = 0;
	const char			*s;

	*out = NULL;
	*n = 0;
	if (start != NULL) {
		hex_upper(start, KEETA_HASH_LEN, sh);
		xasprintf(&q, "?limit=%u&start=%s", limit, sh);
	} else
		xasprintf(&q, "?limit=%u", limit);
	if (pk != NULL) {
		addr_of(pk, a);
		path = kc_path("/node/ledger/account/%s/history%s", a, q);
	} else
		path = kc_path("/node/ledger/history%s", q);
	free(q);
	if (kc_get(c, path, &j, err) != 0) {
		free(path);
		return (-1);
	}
	free(path);
	arr = cJSON_GetObjectItemCaseSensitive(j, "history");
	if (!cJSON_IsArray(arr))
		goto bad;
	h = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof *h);
	cJSON_ArrayForEach(it, arr) {
		vs = cJSON_GetObjectItemCaseSensitive(it, "voteStaple");
		if (jhash(jstr(it, "$id"), h[i].id) != 0 ||
		    (s = jstr(vs, "$binary")) == NULL ||
		    (h[i].staple = unb64(s, &h[i].staple_len)) == NULL)
			goto bad;
		if (iso_ms(jstr(it, "$timestamp"), &h[i].timestamp_ms) != 0)
			h[i].timestamp_ms = 0;
		i++;
	}
	cJSON_Delete(j);
	*out = h;
	*n = i;
	return (0);
bad:
	keeta_history_free(h, i + 1);
	cJSON_Delete(j);
	kc_err(err, 200, "CLIENT_PROTOCOL", "malformed history");
	return (-1);
}

void
keeta_blobs_free(struct keeta_blob *b, size_t n)
{
	size_t	i;

	if (b == NULL)
		return;
	for (i = 0; i < n; i++)
		free(b[i].data);
	free(b);
}

int
keeta_client_chain(struct keeta_client *c, const struct keeta_pubkey *pk,
    const uint8_t *start, unsigned int limit, struct keeta_blob **out,
    size_t *n, int *has_next, uint8_t next[KEETA_HASH_LEN],
    struct keeta_client_error *err)
{
	char			 a[KEETA_ADDRESS_MAX], *path;
	char			 sh[2 * KEETA_HASH_LEN + 1];
	cJSON			*j, *arr, *it, *b;
	struct keeta_blob	*bl = NULL;
	size_t			 i = 0;
	const char		*s;

	*out = NULL;
	*n = 0;
	*has_next = 0;
	addr_of(pk, a);
	if (start != NULL)
		hex_upper(start, KEETA_HASH_LEN, sh);
	else
		snprintf(sh, sizeof sh, "HEAD");
	path = kc_path("/node/ledger/account/%s/chain?start=%s&limit=%u", a,
	    sh, limit);
	if (kc_get(c, path, &j, err) != 0) {
		free(path);
		return (-1);
	}
	free(path);
	arr = cJSON_GetObjectItemCaseSensitive(j, "blocks");
	if (!cJSON_IsArray(arr))
		goto bad;
	bl = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof *bl);
	cJSON_ArrayForEach(it, arr) {
		b = cJSON_GetObjectItemCaseSensitive(it, "block");
		if ((s = jstr(b, "$binary")) == NULL ||
		    (bl[i].data = unb64(s, &bl[i].len)) == NULL)
			goto bad;
		i++;
	}
	if ((s = jstr(j, "nextKey")) != NULL) {
		if (jhash(s, next) != 0)
			goto bad;
		*has_next = 1;
	}
	cJSON_Delete(j);
	*out = bl;
	*n = i;
	return (0);
bad:
	keeta_blobs_free(bl, i + 1);
	cJSON_Delete(j);
	kc_err(err, 200, "CLIENT_PROTOCOL", "malformed chain");
	return (-1);
}

int
keeta_client_representatives(struct keeta_client *c,
    struct keeta_rep_info **out, size_t *n, struct keeta_client_error *err)
{
	cJSON			*j, *arr, *it, *ep;
	struct keeta_rep_info	*r;
	size_t			 i = 0;
	const char		*s;

	*out = NULL;
	*n = 0;
	if (kc_get(c, "/node/ledger/representatives", &j, err) != 0)
		return (-1);
	arr = cJSON_GetObjectItemCaseSensitive(j, "representatives");
	if (!cJSON_IsArray(arr)) {
		cJSON_Delete(j);
		kc_err(err, 200, "CLIENT_PROTOCOL", "malformed representatives");
		return (-1);
	}
	r = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof *r);
	cJSON_ArrayForEach(it, arr) {
		if (jaddr(it, "representative", &r[i].rep) != 0 ||
		    jamount(it, "weight", &r[i].weight) != 0)
			continue;
		ep = cJSON_GetObjectItemCaseSensitive(it, "endpoints");
		if ((s = jstr(ep, "api")) != NULL)
			snprintf(r[i].api, sizeof r[i].api, "%s", s);
		i++;
	}
	cJSON_Delete(j);
	*out = r;
	*n = i;
	return (0);
}

int
keeta_client_version(struct keeta_client *c, char **out,
    struct keeta_client_error *err)
{
	cJSON		*j;
	const char	*s;

	*out = NULL;
	if (kc_get(c, "/node/version", &j, err) != 0)
		return (-1);
	if ((s = jstr(j, "node")) == NULL) {
		cJSON_Delete(j);
		kc_err(err, 200, "CLIENT_PROTOCOL", "malformed version");
		return (-1);
	}
	*out = xstrdup(s);
	cJSON_Delete(j);
	return (0);
}

int
keeta_client_idempotent(struct keeta_client *c, const struct keeta_pubkey *pk,
    const uint8_t *key, size_t keylen, int *found,
    uint8_t hash[KEETA_HASH_LEN], struct keeta_client_error *err)
{
	char		 a[KEETA_ADDRESS_MAX], *path, *k, *ek;
	cJSON		*j, *b;
	size_t		 i, o;

	*found = 0;
	addr_of(pk, a);
	k = keeta_block_base64_encode(key, keylen);
	/* Percent-encode the base64 alphabet's '+', '/' and '='. */
	ek = xmalloc(strlen(k) * 3 + 1);
	for (i = 0, o = 0; k[i] != '\0'; i++) {
		if (k[i] == '+' || k[i] == '/' || k[i] == '=') {
			snprintf(ek + o, 4, "%%%02X", (unsigned char)k[i]);
			o += 3;
		} else
			ek[o++] = k[i];
	}
	ek[o] = '\0';
	free(k);
	path = kc_path("/node/ledger/account/%s/idempotent/%s?side=main", a,
	    ek);
	free(ek);
	if (kc_get(c, path, &j, err) != 0) {
		free(path);
		return (-1);
	}
	free(path);
	b = cJSON_GetObjectItemCaseSensitive(j, "block");
	if (cJSON_IsObject(b) && jhash(jstr(b, "$hash"), hash) == 0)
		*found = 1;
	cJSON_Delete(j);
	return (0);
}

/* 1 when a block is on the main ledger of the first rep that answers. */
static int
kc_block_exists(struct keeta_client *c, const uint8_t h[KEETA_HASH_LEN])
{
	char		 hex[2 * KEETA_HASH_LEN + 1], *path;
	cJSON		*j;
	int		 found;

	hex_upper(h, KEETA_HASH_LEN, hex);
	path = kc_path("/node/ledger/block/%s", hex);
	if (kc_get(c, path, &j, NULL) != 0) {
		free(path);
		return (0);
	}
	free(path);
	found = cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, "block"));
	cJSON_Delete(j);
	return (found);
}

/*
 * Pick the highest-weight representative among our URLs for publishing:
 * each URL is asked for its representatives and the entry whose API
 * endpoint is that URL gives its weight.
 */
static void
kc_pick_publisher(struct keeta_client *c)
{
	struct keeta_amount	 best, w;
	size_t			 i;
	cJSON			*j, *arr, *it;
	const char		*api;

	if (c->reps_known || c->nurls == 1) {
		c->reps_known = 1;
		return;
	}
	keeta_amount_zero(&best);
	for (i = 0; i < c->nurls; i++) {
		if (kc_request(c, c->urls[i], "/node/ledger/representatives",
		    NULL, &j, NULL, NULL) != 0)
			continue;
		arr = cJSON_GetObjectItemCaseSensitive(j, "representatives");
		cJSON_ArrayForEach(it, arr) {
			api = jstr(cJSON_GetObjectItemCaseSensitive(it,
			    "endpoints"), "api");
			if (api == NULL || strcmp(api, c->urls[i]) != 0 ||
			    jamount(it, "weight", &w) != 0)
				continue;
			if (keeta_amount_cmp(&w, &best) > 0) {
				best = w;
				c->publish_idx = i;
			}
		}
		cJSON_Delete(j);
	}
	c->reps_known = 1;
}

/* ---------------------------- transactions ---------------------------- */

enum tx_kind {
	TX_SEND,
	TX_SET_REP,
	TX_SET_INFO,
	TX_MODIFY_PERMS,
	TX_CREATE_ID,
	TX_SUPPLY
};

struct tx_op {
	enum tx_kind		 kind;
	int			 has_account;
	struct keeta_pubkey	 account;
	struct keeta_pubkey	 to, token, principal, target;
	struct keeta_amount	 amount;
	char			*external;
	char			*name, *description, *metadata;
	int			 has_perm, has_target;
	struct keeta_perm	 perm;
	int			 method;
	int			 idtype;
};

struct keeta_tx {
	struct keeta_client		*c;
	const struct keeta_account	*signer;
	uint8_t				 idem[KEETA_IDEMPOTENT_MAX];
	size_t				 idemlen;
	struct tx_op			*ops;
	size_t				 nops;
	struct keeta_pubkey		*ids;
	size_t				 nids;
	int				 published;
	uint8_t				 staple_id[KEETA_HASH_LEN];
};

struct keeta_tx *
keeta_tx_new(struct keeta_client *c, const struct keeta_account *signer,
    const uint8_t *idem, size_t idemlen)
{
	struct keeta_tx	*tx;

	tx = xcalloc(1, sizeof *tx);
	tx->c = c;
	tx->signer = signer;
	if (idem != NULL && idemlen > 0) {
		/* Leave room for the one-byte block index suffix. */
		if (idemlen > KEETA_IDEMPOTENT_MAX - 1)
			idemlen = KEETA_IDEMPOTENT_MAX - 1;
		memcpy(tx->idem, idem, idemlen);
		tx->idemlen = idemlen;
	} else {
		randombytes_buf(tx->idem, 16);
		tx->idemlen = 16;
	}
	return (tx);
}

void
keeta_tx_free(struct keeta_tx *tx)
{
	size_t	i;

	if (tx == NULL)
		return;
	for (i = 0; i < tx->nops; i++) {
		free(tx->ops[i].external);
		free(tx->ops[i].name);
		free(tx->ops[i].description);
		free(tx->ops[i].metadata);
	}
	free(tx->ops);
	free(tx->ids);
	free(tx);
}

static struct tx_op *
tx_add(struct keeta_tx *tx, enum tx_kind kind,
    const struct keeta_pubkey *account)
{
	struct tx_op	*op;

	tx->ops = xreallocarray(tx->ops, tx->nops + 1, sizeof *tx->ops);
	op = &tx->ops[tx->nops++];
	memset(op, 0, sizeof *op);
	op->kind = kind;
	if (account != NULL) {
		op->has_account = 1;
		op->account = *account;
	}
	return (op);
}

static int
external_ok(const char *s)
{
	size_t	n;

	if (s == NULL)
		return (1);
	n = strlen(s);
	if (n > KEETA_EXTERNAL_MAX)
		return (0);
	return (strspn(s, "-_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/= ") == n);
}

int
keeta_tx_send(struct keeta_tx *tx, const struct keeta_pubkey *account,
    const struct keeta_pubkey *to, const struct keeta_pubkey *token,
    const struct keeta_amount *amount, const char *external)
{
	struct tx_op	*op;

	if (!external_ok(external) || token->type != KEETA_KEY_TOKEN)
		return (-1);
	op = tx_add(tx, TX_SEND, account);
	op->to = *to;
	op->token = *token;
	op->amount = *amount;
	op->external = external != NULL ? xstrdup(external) : NULL;
	return (0);
}

int
keeta_tx_set_rep(struct keeta_tx *tx, const struct keeta_pubkey *account,
    const struct keeta_pubkey *rep)
{
	tx_add(tx, TX_SET_REP, account)->to = *rep;
	return (0);
}

int
keeta_tx_set_info(struct keeta_tx *tx, const struct keeta_pubkey *account,
    const char *name, const char *description, const char *metadata,
    const struct keeta_perm *default_perm)
{
	struct tx_op	*op;

	op = tx_add(tx, TX_SET_INFO, account);
	op->name = xstrdup(name != NULL ? name : "");
	op->description = xstrdup(description != NULL ? description : "");
	op->metadata = xstrdup(metadata != NULL ? metadata : "");
	if (default_perm != NULL) {
		op->has_perm = 1;
		op->perm = *default_perm;
	}
	return (0);
}

int
keeta_tx_modify_permissions(struct keeta_tx *tx,
    const struct keeta_pubkey *account, const struct keeta_pubkey *principal,
    int method, const struct keeta_perm *perm,
    const struct keeta_pubkey *target)
{
	struct tx_op	*op;

	if (method < KEETA_ADJUST_ADD || method > KEETA_ADJUST_SET ||
	    (perm == NULL && method != KEETA_ADJUST_SET))
		return (-1);
	op = tx_add(tx, TX_MODIFY_PERMS, account);
	op->principal = *principal;
	op->method = method;
	if (perm != NULL) {
		op->has_perm = 1;
		op->perm = *perm;
	}
	if (target != NULL) {
		op->has_target = 1;
		op->target = *target;
	}
	return (0);
}

int
keeta_tx_create_identifier(struct keeta_tx *tx, int type)
{
	size_t	i, n = 0;

	if (type != KEETA_KEY_TOKEN && type != KEETA_KEY_STORAGE)
		return (-1);
	for (i = 0; i < tx->nops; i++) {
		if (tx->ops[i].kind == TX_CREATE_ID)
			n++;
	}
	tx_add(tx, TX_CREATE_ID, NULL)->idtype = type;
	return ((int)n);
}

int
keeta_tx_token_supply(struct keeta_tx *tx, const struct keeta_pubkey *token,
    const struct keeta_amount *amount, int method)
{
	struct tx_op	*op;

	if (method != KEETA_ADJUST_ADD && method != KEETA_ADJUST_SUBTRACT)
		return (-1);
	op = tx_add(tx, TX_SUPPLY, token);
	op->amount = *amount;
	op->method = method;
	return (0);
}

int
keeta_tx_identifier(const struct keeta_tx *tx, size_t i,
    struct keeta_pubkey *out)
{
	if (!tx->published || i >= tx->nids)
		return (-1);
	*out = tx->ids[i];
	return (0);
}

int
keeta_tx_staple_id(const struct keeta_tx *tx, uint8_t id[KEETA_HASH_LEN])
{
	if (!tx->published)
		return (-1);
	memcpy(id, tx->staple_id, KEETA_HASH_LEN);
	return (0);
}

/* Built blocks of one attempt. */
struct tx_build {
	struct keeta_block	**b;
	uint8_t			(*h)[KEETA_HASH_LEN];
	size_t			  n;
};

static void
tx_build_free(struct tx_build *bd)
{
	size_t	i;

	for (i = 0; i < bd->n; i++)
		keeta_block_free(bd->b[i]);
	free(bd->b);
	free(bd->h);
	memset(bd, 0, sizeof *bd);
}

static const struct keeta_pubkey *
op_account(const struct keeta_tx *tx, const struct tx_op *op)
{
	return (op->has_account ? &op->account :
	    keeta_account_pubkey(tx->signer));
}

static int
tx_add_op(struct keeta_tx *tx, struct keeta_block *b, const struct tx_op *op,
    const char **cause)
{
	struct keeta_pubkey	id;

	switch (op->kind) {
	case TX_SEND:
		return (keeta_block_add_send(b, &op->to, &op->amount,
		    &op->token, op->external, cause) < 0 ? -1 : 0);
	case TX_SET_REP:
		return (keeta_block_add_set_rep(b, &op->to, cause) < 0 ?
		    -1 : 0);
	case TX_SET_INFO:
		return (keeta_block_add_set_info(b, op->name, op->description,
		    op->metadata, op->has_perm ? &op->perm : NULL, cause) < 0 ?
		    -1 : 0);
	case TX_MODIFY_PERMS:
		return (keeta_block_add_modify_permissions(b, &op->principal,
		    (enum keeta_adjust)op->method, op->has_perm ? &op->perm :
		    NULL, op->has_target ? &op->target : NULL, cause) < 0 ?
		    -1 : 0);
	case TX_CREATE_ID:
		if (keeta_block_add_create_identifier(b, op->idtype, &id,
		    cause) < 0)
			return (-1);
		tx->ids = xreallocarray(tx->ids, tx->nids + 1,
		    sizeof *tx->ids);
		tx->ids[tx->nids++] = id;
		return (0);
	case TX_SUPPLY:
		return (keeta_block_add_token_supply(b, &op->amount,
		    (enum keeta_adjust)op->method, cause) < 0 ? -1 : 0);
	}
	return (-1);
}

/* Read heads and build one signed block per account, in first-use order. */
static int
tx_build(struct keeta_tx *tx, struct tx_build *bd,
    struct keeta_client_error *err)
{
	struct keeta_pubkey	 accts[64];
	struct keeta_account	*signer;
	struct keeta_block	*b;
	uint8_t			 prev[KEETA_HASH_LEN], idem[KEETA_IDEMPOTENT_MAX];
	size_t			 na = 0, i, j;
	int			 has;
	const char		*cause = NULL;
	int64_t			 now = kc_now();

	memset(bd, 0, sizeof *bd);
	tx->nids = 0;
	for (i = 0; i < tx->nops; i++) {
		for (j = 0; j < na; j++) {
			if (keeta_pubkey_equal(&accts[j],
			    op_account(tx, &tx->ops[i])))
				break;
		}
		if (j == na) {
			if (na == sizeof accts / sizeof accts[0]) {
				kc_err(err, 0, "CLIENT_INVALID",
				    "too many accounts in one transaction");
				return (-1);
			}
			accts[na++] = *op_account(tx, &tx->ops[i]);
		}
	}
	if (na == 0) {
		kc_err(err, 0, "CLIENT_INVALID", "empty transaction");
		return (-1);
	}
	bd->b = xcalloc(na, sizeof *bd->b);
	bd->h = xcalloc(na, sizeof *bd->h);
	for (j = 0; j < na; j++) {
		if (keeta_client_head(tx->c, &accts[j], &has, prev, NULL,
		    err) != 0)
			return (-1);
		if (!has)
			keeta_opening_hash(&accts[j], prev);
		b = keeta_block_new(1, tx->c->network, &accts[j], prev, now);
		bd->b[bd->n++] = b;
		memcpy(idem, tx->idem, tx->idemlen);
		idem[tx->idemlen] = (uint8_t)j;
		if (keeta_block_set_idempotent(b, idem, tx->idemlen + 1,
		    &cause) != 0)
			goto bad;
		for (i = 0; i < tx->nops; i++) {
			if (!keeta_pubkey_equal(&accts[j],
			    op_account(tx, &tx->ops[i])))
				continue;
			if (tx_add_op(tx, b, &tx->ops[i], &cause) != 0)
				goto bad;
		}
		signer = (struct keeta_account *)(uintptr_t)tx->signer;
		if (keeta_block_sign(b, &signer, 1, &cause) != 0 ||
		    keeta_block_hash(b, bd->h[j], &cause) != 0)
			goto bad;
	}
	return (0);
bad:
	kc_err(err, 0, "CLIENT_INVALID", "cannot build block: %s",
	    cause != NULL ? cause : "?");
	return (-1);
}

/* {"blocks":[...]} (+ "votes") request body. */
static char *
vote_body(const struct tx_build *bd, struct keeta_vote *const *votes,
    size_t nvotes)
{
	cJSON	*o, *arr;
	uint8_t	*der;
	size_t	 len, i;
	char	*s;

	o = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(o, "blocks");
	for (i = 0; i < bd->n; i++) {
		der = keeta_block_encode(bd->b[i], 1, &len, NULL);
		if (der == NULL)
			fatalx("keeta_client: cannot encode a signed block");
		s = keeta_block_base64_encode(der, len);
		cJSON_AddItemToArray(arr, cJSON_CreateString(s));
		free(s);
		free(der);
	}
	if (votes != NULL) {
		arr = cJSON_AddArrayToObject(o, "votes");
		for (i = 0; i < nvotes; i++) {
			s = keeta_block_base64_encode(votes[i]->der,
			    votes[i]->derlen);
			cJSON_AddItemToArray(arr, cJSON_CreateString(s));
			free(s);
		}
	}
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (s == NULL)
		fatalx("keeta_client: cannot print JSON");
	return (s);
}

static int
parse_vote_answer(cJSON *j, const struct tx_build *bd,
    struct keeta_vote **out, struct keeta_client_error *err)
{
	cJSON		*v = cJSON_GetObjectItemCaseSensitive(j, "vote");
	const char	*s = jstr(v, "$binary"), *cause = NULL;
	uint8_t		*der;
	size_t		 len, i;

	*out = NULL;
	if (s == NULL || (der = unb64(s, &len)) == NULL) {
		kc_err(err, 200, "CLIENT_PROTOCOL", "vote answer without vote");
		return (-1);
	}
	if (keeta_vote_decode(der, len, kc_now(), KEETA_VOTE_EXPIRED_OK, out,
	    &cause) != 0) {
		free(der);
		kc_err(err, 200, "CLIENT_PROTOCOL", "bad vote: %s",
		    cause != NULL ? cause : "?");
		return (-1);
	}
	free(der);
	if ((*out)->nblocks != bd->n)
		goto differ;
	for (i = 0; i < bd->n; i++) {
		if (memcmp((*out)->blocks[i], bd->h[i], KEETA_HASH_LEN) != 0)
			goto differ;
	}
	return (0);
differ:
	keeta_vote_free(*out);
	*out = NULL;
	kc_err(err, 200, "CLIENT_PROTOCOL", "vote covers other blocks");
	return (-1);
}

/* The blocks already applied: our idempotency key or blocks were seen. */
static int
tx_already_applied(struct keeta_tx *tx, const struct tx_build *bd)
{
	int	found;
	uint8_t	h[KEETA_HASH_LEN], idem[KEETA_IDEMPOTENT_MAX];

	if (bd->n > 0 && kc_block_exists(tx->c, bd->h[0]))
		return (1);
	memcpy(idem, tx->idem, tx->idemlen);
	idem[tx->idemlen] = 0;
	if (bd->n > 0 && keeta_client_idempotent(tx->c, &bd->b[0]->account,
	    idem, tx->idemlen + 1, &found, h, NULL) == 0 && found)
		return (1);
	return (0);
}

static void
votes_free(struct keeta_vote **v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		keeta_vote_free(v[i]);
	free(v);
}

/* Decode the "$binary" of a block JSON object; NULL when absent. */
static struct keeta_block *
json_block(const cJSON *o)
{
	const char		*s = jstr(o, "$binary");
	uint8_t			*der;
	size_t			 len;
	struct keeta_block	*b = NULL;

	if (s == NULL || (der = unb64(s, &len)) == NULL)
		return (NULL);
	if (keeta_block_decode(der, len, 0, &b, NULL) != 0)
		b = NULL;
	free(der);
	return (b);
}

/*
 * Finish a staple left half-way on an account (another client, or this
 * process before a crash, got votes but never published): fetch the
 * pending block and its votes from the side ledger, turn temporary votes
 * into permanent ones, staple and publish, as the SDK's send() does on
 * LEDGER_SUCCESSOR_VOTE_EXISTS. Returns 0 when it published something.
 */
static int
kc_recover(struct keeta_client *c, const struct keeta_pubkey *acct)
{
	char			 a[KEETA_ADDRESS_MAX], hex[2 * KEETA_HASH_LEN + 1];
	char			*path, *body = NULL, *sb64;
	cJSON			*j = NULL, *arr, *it, *o;
	struct keeta_block	*pend = NULL;
	struct keeta_vote	**votes = NULL, *pv = NULL;
	struct tx_build		 bd;
	struct keeta_staple	*st = NULL;
	size_t			 nv = 0, i, wlen;
	uint8_t			 h[KEETA_HASH_LEN], *der, *wire;
	int			 rc = -1, permanent = 1;
	int64_t			 now = kc_now();

	memset(&bd, 0, sizeof bd);
	addr_of(acct, a);
	path = kc_path("/node/ledger/account/%s/pending", a);
	if (kc_get(c, path, &j, NULL) != 0)
		goto out;
	pend = json_block(cJSON_GetObjectItemCaseSensitive(j, "block"));
	cJSON_Delete(j);
	j = NULL;
	if (pend == NULL || keeta_block_hash(pend, h, NULL) != 0)
		goto out;
	free(path);
	hex_upper(h, KEETA_HASH_LEN, hex);
	path = kc_path("/vote/%s?side=side", hex);
	if (kc_get(c, path, &j, NULL) != 0)
		goto out;
	arr = cJSON_GetObjectItemCaseSensitive(j, "votes");
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0)
		goto out;
	votes = xcalloc((size_t)cJSON_GetArraySize(arr), sizeof *votes);
	cJSON_ArrayForEach(it, arr) {
		const char	*vs = jstr(it, "$binary");
		size_t		 len;

		if (vs == NULL || (der = unb64(vs, &len)) == NULL)
			goto out;
		if (keeta_vote_decode(der, len, now, 0, &votes[nv],
		    NULL) != 0) {
			free(der);
			goto out;
		}
		free(der);
		if (!keeta_vote_is_permanent(votes[nv], now))
			permanent = 0;
		nv++;
	}
	cJSON_Delete(j);
	j = NULL;
	/* Every block the votes cover, in vote order. */
	bd.b = xcalloc(votes[0]->nblocks, sizeof *bd.b);
	bd.h = xcalloc(votes[0]->nblocks, sizeof *bd.h);
	for (i = 0; i < votes[0]->nblocks; i++) {
		free(path);
		hex_upper(votes[0]->blocks[i], KEETA_HASH_LEN, hex);
		path = kc_path("/node/ledger/block/%s?side=both", hex);
		if (kc_get(c, path, &j, NULL) != 0)
			goto out;
		bd.b[bd.n] = json_block(cJSON_GetObjectItemCaseSensitive(j,
		    "block"));
		cJSON_Delete(j);
		j = NULL;
		if (bd.b[bd.n] == NULL)
			goto out;
		memcpy(bd.h[bd.n], votes[0]->blocks[i], KEETA_HASH_LEN);
		bd.n++;
	}
	if (!permanent) {
		body = vote_body(&bd, votes, nv);
		if (kc_request(c, c->urls[c->publish_idx], "/vote", body, &j,
		    NULL, NULL) != 0 || parse_vote_answer(j, &bd, &pv,
		    NULL) != 0)
			goto out;
		cJSON_Delete(j);
		j = NULL;
		free(body);
		body = NULL;
	}
	if (keeta_staple_new(bd.b, bd.n, permanent ? votes : &pv,
	    permanent ? nv : 1, now, &st, NULL) != 0 ||
	    (wire = keeta_staple_compress(st, &wlen)) == NULL)
		goto out;
	sb64 = keeta_block_base64_encode(wire, wlen);
	free(wire);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "votesAndBlocks", sb64);
	free(sb64);
	body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (kc_request(c, c->urls[c->publish_idx], "/node/publish", body, &j,
	    NULL, NULL) == 0)
		rc = 0;
out:
	free(path);
	free(body);
	cJSON_Delete(j);
	keeta_block_free(pend);
	keeta_staple_free(st);
	keeta_vote_free(pv);
	if (votes != NULL)
		votes_free(votes, nv);
	tx_build_free(&bd);
	return (rc);
}

/*
 * One attempt: temporary votes, permanent votes, staple, publish.
 * Returns 0 published, 1 rebuild (not a successor), -1 error.
 */
static int
tx_attempt(struct keeta_tx *tx, struct tx_build *bd,
    struct keeta_client_error *err)
{
	struct keeta_client	 *c = tx->c;
	struct keeta_vote	**temp = NULL, **perm = NULL;
	struct keeta_staple	 *st = NULL;
	size_t			  ntemp = 0, nperm = 0, i;
	char			 *body, *sb64;
	uint8_t			 *wire;
	size_t			  wlen;
	cJSON			 *j, *ej;
	const char		 *cause = NULL;
	int			  rc = -1;

	body = vote_body(bd, NULL, 0);
	temp = xcalloc(c->nurls, sizeof *temp);
	for (i = 0; i < c->nurls; i++) {
		if (kc_request(c, c->urls[i], "/vote", body, &j, &ej,
		    err) != 0) {
			cJSON_Delete(ej);
			if (err != NULL && (strcmp(err->code,
			    "LEDGER_NOT_SUCCESSOR") == 0 || strcmp(err->code,
			    "LEDGER_NOT_OPENING") == 0)) {
				rc = tx_already_applied(tx, bd) ? 2 : 1;
				goto out;
			}
			if (err != NULL && strcmp(err->code,
			    "LEDGER_IDEMPOTENT_KEY_EXISTS") == 0) {
				size_t	k;

				if (tx_already_applied(tx, bd)) {
					rc = 2;
					goto out;
				}
				/* An attempt abandoned after its votes holds
				 * the key: finish it, then ask again. */
				for (k = 0; k < bd->n; k++) {
					if (kc_recover(c,
					    &bd->b[k]->account) == 0)
						break;
				}
				if (k < bd->n) {
					rc = tx_already_applied(tx, bd) ? 2 : 1;
					goto out;
				}
			}
			if (err != NULL && strcmp(err->code,
			    "LEDGER_SUCCESSOR_VOTE_EXISTS") == 0) {
				size_t	k;

				/* Finish the abandoned staple, then
				 * rebuild on the new head. */
				for (k = 0; k < bd->n; k++) {
					if (kc_recover(c,
					    &bd->b[k]->account) == 0)
						break;
				}
				/* Recovered or not (another client may be
				 * finishing it), rebuild after a backoff. */
				rc = 1;
				goto out;
			}
			if (c->nurls > 1 && err != NULL && strcmp(err->code,
			    "CLIENT_TRANSPORT") == 0)
				continue;	/* another rep may vote */
			goto out;
		}
		rc = parse_vote_answer(j, bd, &temp[ntemp], err);
		cJSON_Delete(j);
		if (rc != 0)
			goto out;
		ntemp++;
		rc = -1;
	}
	free(body);
	body = NULL;
	if (ntemp == 0)
		goto out;

	body = vote_body(bd, temp, ntemp);
	perm = xcalloc(c->nurls, sizeof *perm);
	for (i = 0; i < c->nurls; i++) {
		if (kc_request(c, c->urls[i], "/vote", body, &j, NULL,
		    err) != 0) {
			if (c->nurls > 1 && err != NULL && strcmp(err->code,
			    "CLIENT_TRANSPORT") == 0)
				continue;
			goto out;
		}
		rc = parse_vote_answer(j, bd, &perm[nperm], err);
		cJSON_Delete(j);
		if (rc != 0) {
			rc = -1;
			goto out;
		}
		nperm++;
		rc = -1;
	}
	free(body);
	body = NULL;
	if (nperm == 0)
		goto out;
	if (keeta_staple_new(bd->b, bd->n, perm, nperm, kc_now(), &st,
	    &cause) != 0) {
		kc_err(err, 0, "CLIENT_PROTOCOL", "cannot staple: %s",
		    cause != NULL ? cause : "?");
		goto out;
	}
	keeta_staple_blocks_hash(st, tx->staple_id);
	wire = keeta_staple_compress(st, &wlen);
	if (wire == NULL) {
		kc_err(err, 0, "CLIENT_PROTOCOL", "cannot compress staple");
		goto out;
	}
	sb64 = keeta_block_base64_encode(wire, wlen);
	free(wire);
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "votesAndBlocks", sb64);
	free(sb64);
	body = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	kc_pick_publisher(c);
	if (kc_request(c, c->urls[c->publish_idx], "/node/publish", body, &j,
	    NULL, err) != 0) {
		/*
		 * A lost answer or "already exists" may mean our own staple
		 * went through: ask the ledger before calling it a failure.
		 */
		if (err != NULL && (strcmp(err->code, "CLIENT_TRANSPORT") == 0 ||
		    strcmp(err->code, "LEDGER_BLOCK_ALREADY_EXISTS") == 0) &&
		    tx_already_applied(tx, bd))
			rc = 0;
		goto out;
	}
	cJSON_Delete(j);
	rc = 0;
out:
	/*
	 * Under contention another client may have finished our staple
	 * (its recovery path): whatever failed, ask the ledger first.
	 */
	if (rc == -1 && tx_already_applied(tx, bd))
		rc = 2;
	free(body);
	keeta_staple_free(st);
	if (temp != NULL)
		votes_free(temp, ntemp);
	if (perm != NULL)
		votes_free(perm, nperm);
	return (rc);
}

int
keeta_tx_publish(struct keeta_tx *tx, struct keeta_client_error *err)
{
	struct tx_build	bd;
	int		attempt, rc;
	long		backoff = tx->c->opt.backoff_ms;

	if (tx->published) {
		kc_err(err, 0, "CLIENT_INVALID", "transaction already published");
		return (-1);
	}
	for (attempt = 0;; attempt++) {
		if (tx_build(tx, &bd, err) != 0) {
			tx_build_free(&bd);
			return (-1);
		}
		rc = tx_attempt(tx, &bd, err);
		if (rc == 2) {
			/* Applied by an earlier attempt (idempotency). */
			keeta_sha3_256(bd.h, bd.n * KEETA_HASH_LEN,
			    tx->staple_id);
			rc = 0;
		}
		tx_build_free(&bd);
		if (rc == 0) {
			tx->published = 1;
			if (err != NULL)
				memset(err, 0, sizeof *err);
			return (0);
		}
		if (rc < 0)
			return (-1);
		/* Not a successor: re-read the heads and rebuild. */
		if (attempt >= tx->c->opt.max_rebuilds) {
			kc_err(err, 409, "CLIENT_CONFLICT", "still not a "
			    "successor after %d rebuilds", attempt);
			return (-1);
		}
		kc_sleep_ms(backoff);
		backoff *= 2;
	}
}
