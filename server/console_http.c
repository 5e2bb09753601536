/*
 * console_http: libcurl + cJSON client for kdexd's admin API (see
 * console_http.h for the contract).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "console_http.h"
#include "util.h"

struct console_http {
	CURL			*curl;
	char			*base;
	char			*key;		/* NULL when no key was found */
	char			*keycause;
	volatile sig_atomic_t	*abort_flag;
};

/* Body being read: bounded so a runaway answer cannot eat the memory. */
struct console_buf {
	char	*data;
	size_t	 len;
	size_t	 size;
	int	 toobig;
};

static int	console_http_inited;

struct console_http *
console_http_create(const char *base, const char *key, const char *keycause,
    volatile sig_atomic_t *abort_flag)
{
	struct console_http	*h;
	size_t			 n;

	if (!console_http_inited) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			fatalx("cannot initialise libcurl");
		console_http_inited = 1;
	}
	h = xcalloc(1, sizeof *h);
	if ((h->curl = curl_easy_init()) == NULL)
		fatalx("cannot create a libcurl handle");
	h->base = xstrdup(base);
	n = strlen(h->base);
	while (n > 0 && h->base[n - 1] == '/')
		h->base[--n] = '\0';
	if (key != NULL)
		h->key = xstrdup(key);
	h->keycause = xstrdup(keycause != NULL ? keycause : "no admin key");
	h->abort_flag = abort_flag;
	return h;
}

void
console_http_free(struct console_http *h)
{
	if (h == NULL)
		return;
	curl_easy_cleanup(h->curl);
	free(h->base);
	if (h->key != NULL) {
		/* The key is a secret: do not leave it in freed memory. */
		memset(h->key, 0, strlen(h->key));
		free(h->key);
	}
	free(h->keycause);
	free(h);
	if (console_http_inited) {
		curl_global_cleanup();
		console_http_inited = 0;
	}
}

static size_t
console_http_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct console_buf	*b = arg;
	size_t			 n = size * nmemb;

	if (b->len + n + 1 > CONSOLE_HTTP_MAX) {
		b->toobig = 1;
		return 0;
	}
	if (b->len + n + 1 > b->size) {
		while (b->len + n + 1 > b->size)
			b->size = b->size == 0 ? 4096 : b->size * 2;
		b->data = xreallocarray(b->data, 1, b->size);
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* Polled by libcurl: a Ctrl-C abandons the request, not the console. */
static int
console_http_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct console_http	*h = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return h->abort_flag != NULL && *h->abort_flag;
}

int
console_http_request(struct console_http *h, const char *method,
    const char *path, const char *body, struct console_resp *resp,
    char **cause)
{
	struct console_buf	 b;
	struct curl_slist	*hdrs = NULL, *l;
	char			*url, *hdr;
	CURLcode		 rc;

	memset(resp, 0, sizeof *resp);
	if (h->key == NULL) {
		*cause = xstrdup(h->keycause);
		return -1;
	}
	memset(&b, 0, sizeof b);
	xasprintf(&url, "%s%s", h->base, path);
	xasprintf(&hdr, "X-Admin-Key: %s", h->key);
	if ((l = curl_slist_append(hdrs, hdr)) == NULL)
		fatalx("curl_slist_append");
	hdrs = l;
	if ((l = curl_slist_append(hdrs, "Accept: application/json")) == NULL)
		fatalx("curl_slist_append");
	hdrs = l;
	if (body != NULL || strcmp(method, "POST") == 0) {
		l = curl_slist_append(hdrs, "Content-Type: application/json");
		if (l == NULL)
			fatalx("curl_slist_append");
		hdrs = l;
	}

	curl_easy_reset(h->curl);
	curl_easy_setopt(h->curl, CURLOPT_URL, url);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, console_http_write);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h->curl, CURLOPT_XFERINFOFUNCTION,
	    console_http_progress);
	curl_easy_setopt(h->curl, CURLOPT_XFERINFODATA, h);
	curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, CONSOLE_HTTP_TIMEOUT);
	/* The admin key must never follow a redirect to another host. */
	curl_easy_setopt(h->curl, CURLOPT_FOLLOWLOCATION, 0L);
	if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(h->curl, CURLOPT_POST, 1L);
		curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS,
		    body != NULL ? body : "{}");
	} else if (strcmp(method, "GET") != 0)
		curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, method);

	rc = curl_easy_perform(h->curl);
	memset(hdr, 0, strlen(hdr));
	free(hdr);
	curl_slist_free_all(hdrs);
	if (rc != CURLE_OK) {
		if (b.toobig)
			xasprintf(cause, "answer from %s is larger than %d bytes",
			    url, CONSOLE_HTTP_MAX);
		else if (rc == CURLE_ABORTED_BY_CALLBACK)
			*cause = xstrdup("interrupted");
		else
			xasprintf(cause, "cannot reach %s: %s", h->base,
			    curl_easy_strerror(rc));
		free(b.data);
		free(url);
		return -1;
	}
	free(url);
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &resp->status);
	if (b.data == NULL)
		b.data = xstrdup("");
	resp->body = b.data;
	resp->len = b.len;
	resp->json = cJSON_ParseWithLength(b.data, b.len);
	return 0;
}

void
console_resp_clear(struct console_resp *resp)
{
	free(resp->body);
	cJSON_Delete(resp->json);
	memset(resp, 0, sizeof *resp);
}

char *
console_http_escape(const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	char			*out, *p;
	unsigned char		 c;

	out = p = xmalloc(strlen(s) * 3 + 1);
	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '~')
			*p++ = (char)c;
		else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 0xf];
		}
	}
	*p = '\0';
	return out;
}

char *
console_resp_error(const struct console_resp *resp)
{
	const cJSON	*err, *code, *msg;
	char		*s;

	err = cJSON_GetObjectItemCaseSensitive(resp->json, "error");
	code = cJSON_GetObjectItemCaseSensitive(err, "code");
	msg = cJSON_GetObjectItemCaseSensitive(err, "message");
	if (cJSON_IsString(msg) && cJSON_IsString(code))
		xasprintf(&s, "%s (%s)", msg->valuestring, code->valuestring);
	else if (cJSON_IsString(code))
		xasprintf(&s, "%s", code->valuestring);
	else
		xasprintf(&s, "HTTP status %ld", resp->status);
	return s;
}
