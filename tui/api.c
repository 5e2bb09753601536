/*
 * api: HTTP client for kdexd and the login/session cache (see api.h).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "api.h"
#include "keeta_account.h"
#include "keyfile.h"
#include "util.h"

/* Largest answer kept; kdexd's lists are bounded far below this. */
#define API_BODY_MAX	(8 * 1024 * 1024)

struct api {
	char	*base;
	char	*token;
	long	 timeout_ms;
	CURL	*curl;
};

struct api_buf {
	char	*data;
	size_t	 len;
	int	 toobig;
};

static int	api_curl_ready;

struct api *
api_new(const char *base, long timeout_ms)
{
	struct api	*a;
	size_t		 len;

	if (!api_curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
			fatalx("cannot initialise libcurl");
		api_curl_ready = 1;
	}
	a = xcalloc(1, sizeof *a);
	a->base = xstrdup(base);
	len = strlen(a->base);
	while (len > 0 && a->base[len - 1] == '/')
		a->base[--len] = '\0';
	a->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
	if ((a->curl = curl_easy_init()) == NULL)
		fatalx("cannot create a libcurl handle");
	return a;
}

void
api_free(struct api *a)
{
	if (a == NULL)
		return;
	curl_easy_cleanup(a->curl);
	free(a->base);
	if (a->token != NULL) {
		sodium_memzero(a->token, strlen(a->token));
		free(a->token);
	}
	free(a);
}

const char *
api_base(const struct api *a)
{
	return a->base;
}

void
api_set_token(struct api *a, const char *token)
{
	if (a->token != NULL) {
		sodium_memzero(a->token, strlen(a->token));
		free(a->token);
	}
	a->token = token != NULL ? xstrdup(token) : NULL;
}

const char *
api_token(const struct api *a)
{
	return a->token;
}

static size_t
api_write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct api_buf	*b = arg;
	size_t		 n = size * nmemb;

	if (b->len + n > API_BODY_MAX) {
		b->toobig = 1;
		return 0;
	}
	b->data = xreallocarray(b->data, 1, b->len + n + 1);
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

int
api_request(struct api *a, const char *method, const char *path,
    const cJSON *body, cJSON **out, char **cause)
{
	struct api_buf		 b = { NULL, 0, 0 };
	struct curl_slist	*h = NULL;
	char			*url, *auth = NULL, *json = NULL;
	CURLcode		 cc;
	long			 status = 0;

	*out = NULL;
	xasprintf(&url, "%s%s", a->base, path);
	curl_easy_reset(a->curl);
	curl_easy_setopt(a->curl, CURLOPT_URL, url);
	curl_easy_setopt(a->curl, CURLOPT_TIMEOUT_MS, a->timeout_ms);
	curl_easy_setopt(a->curl, CURLOPT_CONNECTTIMEOUT_MS, a->timeout_ms);
	curl_easy_setopt(a->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(a->curl, CURLOPT_WRITEFUNCTION, api_write_cb);
	curl_easy_setopt(a->curl, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(a->curl, CURLOPT_USERAGENT, "kdex/" PACKAGE_VERSION);
	h = curl_slist_append(h, "Accept: application/json");
	if (a->token != NULL) {
		xasprintf(&auth, "Authorization: Bearer %s", a->token);
		h = curl_slist_append(h, auth);
	}
	if (strcmp(method, "POST") == 0) {
		if (body != NULL) {
			if ((json = cJSON_PrintUnformatted(body)) == NULL)
				fatalx("out of memory");
		} else
			json = xstrdup("{}");
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(a->curl, CURLOPT_POST, 1L);
		curl_easy_setopt(a->curl, CURLOPT_POSTFIELDS, json);
	} else if (strcmp(method, "GET") != 0)
		curl_easy_setopt(a->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(a->curl, CURLOPT_HTTPHEADER, h);

	cc = curl_easy_perform(a->curl);
	curl_slist_free_all(h);
	if (auth != NULL) {
		sodium_memzero(auth, strlen(auth));
		free(auth);
	}
	free(json);
	if (cc != CURLE_OK) {
		if (b.toobig)
			xasprintf(cause, "answer from %s too large", url);
		else
			xasprintf(cause, "cannot reach kdexd at %s: %s",
			    a->base, curl_easy_strerror(cc));
		free(url);
		free(b.data);
		return -1;
	}
	free(url);
	curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &status);
	if (b.data != NULL) {
		*out = cJSON_Parse(b.data);
		free(b.data);
	}
	return (int)status;
}

static const cJSON *
api_error_obj(const cJSON *j)
{
	const cJSON	*e;

	if (j == NULL)
		return NULL;
	e = cJSON_GetObjectItemCaseSensitive(j, "error");
	return cJSON_IsObject(e) ? e : NULL;
}

const char *
api_error_code(const cJSON *j)
{
	const cJSON	*c;

	c = cJSON_GetObjectItemCaseSensitive(api_error_obj(j), "code");
	return cJSON_IsString(c) ? c->valuestring : "";
}

const char *
api_error_message(const cJSON *j)
{
	const cJSON	*c;

	c = cJSON_GetObjectItemCaseSensitive(api_error_obj(j), "message");
	return cJSON_IsString(c) ? c->valuestring : "";
}

int64_t
api_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *
api_escape(const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	char			*out, *p;

	out = p = xmalloc(3 * strlen(s) + 1);
	for (; *s != '\0'; s++) {
		unsigned char	c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '~')
			*p++ = (char)c;
		else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	*p = '\0';
	return out;
}

/* A number field as int64 (kdexd sends ms as JSON numbers). */
static int64_t
api_get_ms(const cJSON *j, const char *name)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(j, name);

	if (cJSON_IsNumber(v))
		return (int64_t)v->valuedouble;
	if (cJSON_IsString(v))
		return strtoll(v->valuestring, NULL, 10);
	return 0;
}

static const char *
api_get_str(const cJSON *j, const char *name)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(j, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Describe a failed answer into *cause. */
static void
api_fail_answer(char **cause, const char *what, int status, const cJSON *j)
{
	const char	*code = api_error_code(j), *msg = api_error_message(j);

	if (*code != '\0')
		xasprintf(cause, "%s failed: %s%s%s", what, code,
		    *msg != '\0' ? ": " : "", msg);
	else
		xasprintf(cause, "%s failed: HTTP %d", what, status);
}

int
api_login(struct api *a, const struct keyfile *kf, int64_t *expires_at,
    int *status, char **cause)
{
	struct keeta_account	*acct;
	cJSON			*req, *ans = NULL;
	const char		*nonce, *token;
	char			*msg, sighex[2 * KEETA_SIG_LEN + 1];
	uint8_t			 sig[KEETA_SIG_LEN];
	int			 st, rc = -1;

	*status = 0;
	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "pubkey", kf->address);
	st = api_request(a, "POST", "/auth/challenge", req, &ans, cause);
	cJSON_Delete(req);
	if (st < 0)
		return -1;
	*status = st;
	if (st != 200 || (nonce = api_get_str(ans, "nonce")) == NULL) {
		api_fail_answer(cause, "login challenge", st, ans);
		cJSON_Delete(ans);
		return -1;
	}

	/* doc/api.md: sign the UTF-8 bytes of "keeta-login:" + nonce. */
	if ((acct = keyfile_account(kf, cause)) == NULL) {
		cJSON_Delete(ans);
		return -1;
	}
	xasprintf(&msg, "keeta-login:%s", nonce);
	if (keeta_account_sign(acct, msg, strlen(msg), sig) != 0) {
		xasprintf(cause, "cannot sign the login challenge");
		keeta_account_free(acct);
		free(msg);
		cJSON_Delete(ans);
		return -1;
	}
	keeta_account_free(acct);
	keeta_hex_encode(sig, sizeof sig, sighex);

	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "pubkey", kf->address);
	cJSON_AddStringToObject(req, "nonce", nonce);
	cJSON_AddStringToObject(req, "signature", sighex);
	free(msg);
	cJSON_Delete(ans);
	ans = NULL;
	st = api_request(a, "POST", "/auth/verify", req, &ans, cause);
	cJSON_Delete(req);
	if (st < 0)
		return -1;
	*status = st;
	if (st != 200 || (token = api_get_str(ans, "token")) == NULL) {
		api_fail_answer(cause, "login", st, ans);
		goto out;
	}
	api_set_token(a, token);
	if (expires_at != NULL)
		*expires_at = api_get_ms(ans, "expires_at");
	rc = 0;
out:
	cJSON_Delete(ans);
	return rc;
}

char *
api_home(void)
{
	const char	*e;
	char		*dir;

	if ((e = getenv("KDEX_HOME")) != NULL && *e != '\0')
		return xstrdup(e);
	if ((e = getenv("XDG_CONFIG_HOME")) != NULL && *e != '\0')
		xasprintf(&dir, "%s/kdex", e);
	else {
		if ((e = getenv("HOME")) == NULL || *e == '\0')
			e = ".";
		xasprintf(&dir, "%s/.config/kdex", e);
	}
	return dir;
}

static char *
api_session_path(const char *profile)
{
	char	*home, *path;

	home = api_home();
	xasprintf(&path, "%s/sessions/%s.json", home, profile);
	free(home);
	return path;
}

int
api_session_load(struct api *a, const char *profile)
{
	char		*path, buf[16384];
	cJSON		*j;
	const char	*url, *token;
	ssize_t		 n;
	int		 fd, rc = -1;

	path = api_session_path(profile);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd == -1)
		return -1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if ((j = cJSON_Parse(buf)) == NULL)
		return -1;
	url = api_get_str(j, "url");
	token = api_get_str(j, "token");
	if (url != NULL && token != NULL && strcmp(url, a->base) == 0 &&
	    api_get_ms(j, "expires_at") > api_now_ms() + 60000) {
		api_set_token(a, token);
		rc = 0;
	}
	cJSON_Delete(j);
	sodium_memzero(buf, sizeof buf);
	return rc;
}

int
api_session_save(const struct api *a, const char *profile, const char *user,
    int64_t expires_at, char **cause)
{
	char	*home, *dir, *path, *tmp, *s;
	cJSON	*j;
	FILE	*f;
	int	 fd;

	home = api_home();
	xasprintf(&dir, "%s/sessions", home);
	if ((mkdir(home, 0700) != 0 && errno != EEXIST) ||
	    (mkdir(dir, 0700) != 0 && errno != EEXIST)) {
		xasprintf(cause, "cannot create '%s': %s", dir,
		    strerror(errno));
		free(home);
		free(dir);
		return -1;
	}
	free(home);
	free(dir);
	path = api_session_path(profile);
	xasprintf(&tmp, "%s.tmpXXXXXX", path);
	if ((fd = mkstemp(tmp)) == -1 || (f = fdopen(fd, "w")) == NULL) {
		xasprintf(cause, "cannot write '%s': %s", tmp,
		    strerror(errno));
		if (fd != -1) {
			close(fd);
			unlink(tmp);
		}
		free(tmp);
		free(path);
		return -1;
	}
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "url", a->base);
	cJSON_AddStringToObject(j, "token", a->token != NULL ? a->token : "");
	cJSON_AddStringToObject(j, "user", user != NULL ? user : "");
	cJSON_AddNumberToObject(j, "expires_at", (double)expires_at);
	if ((s = cJSON_PrintUnformatted(j)) == NULL)
		fatalx("out of memory");
	cJSON_Delete(j);
	fprintf(f, "%s\n", s);
	sodium_memzero(s, strlen(s));
	free(s);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		xasprintf(cause, "cannot write '%s': %s", path,
		    strerror(errno));
		unlink(tmp);
		free(tmp);
		free(path);
		return -1;
	}
	free(tmp);
	free(path);
	return 0;
}

void
api_session_forget(const char *profile)
{
	char	*path;

	path = api_session_path(profile);
	unlink(path);
	free(path);
}
