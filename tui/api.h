/*
 * api: kdex's HTTP client for kdexd (doc/api.md), on libcurl + cJSON.
 *
 * One struct api per base URL. Requests are synchronous with a short
 * timeout: the scripted commands make one or two, and the full-screen
 * client makes them between redraws (its live data comes from the
 * WebSocket, ws.h). The login flow signs kdexd's challenge locally with
 * the profile's key; the JWT is cached per profile in
 * <home>/sessions/<profile>.json (mode 0600) together with the URL it is
 * valid for, so the passphrase is asked once per session, not per command.
 *
 * Errors: -1 with *cause (allocated, caller frees) for transport failures;
 * an HTTP error is a normal answer (status >= 400) whose body carries
 * {"error":{"code","message"}}.
 */
#ifndef KDEX_API_H
#define KDEX_API_H

#include <stdint.h>

#include <cjson/cJSON.h>

struct keyfile;
struct api;

/* New client for base (e.g. "http://127.0.0.1:8080"); never NULL. The
 * caller frees with api_free(). timeout_ms 0 means 10 s. */
struct api	*api_new(const char *base, long timeout_ms);
void		 api_free(struct api *);
const char	*api_base(const struct api *);
/* Bearer token for private routes (copied); NULL clears it. */
void		 api_set_token(struct api *, const char *token);
const char	*api_token(const struct api *);

/*
 * method "GET" or "POST"; path starts with '/'; body may be NULL (POST
 * then sends "{}"). Returns the HTTP status and sets *out to the parsed
 * answer (NULL when the body is not JSON; caller frees with cJSON_Delete),
 * or -1 with *cause when kdexd could not be reached.
 */
int	api_request(struct api *, const char *method, const char *path,
	    const cJSON *body, cJSON **out, char **cause);

/* The error code / message of an error answer, or "" / "". */
const char	*api_error_code(const cJSON *);
const char	*api_error_message(const cJSON *);

/*
 * Log in with kf: challenge, sign "keeta-login:" + nonce, verify. On
 * success sets the token on a and returns 0 (with *expires_at in ms when
 * not NULL); -1 with *cause otherwise (*status gets the HTTP status or 0).
 */
int	api_login(struct api *, const struct keyfile *kf, int64_t *expires_at,
	    int *status, char **cause);

/* The session cache. load: 0 and the token set on a when a cached token
 * for this profile and URL is valid for at least another minute, else
 * -1. save: 0 or -1 with *cause. forget: removes the cache file. */
int	api_session_load(struct api *, const char *profile);
int	api_session_save(const struct api *, const char *profile,
	    const char *user, int64_t expires_at, char **cause);
void	api_session_forget(const char *profile);

/* <home>: $KDEX_HOME, else $XDG_CONFIG_HOME/kdex, else ~/.config/kdex.
 * Caller frees. */
char	*api_home(void);

/* Milliseconds since the epoch. */
int64_t	api_now_ms(void);

/* URL-encode s for a path segment or query value; caller frees. */
char	*api_escape(const char *s);

#endif
