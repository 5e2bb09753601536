/*
 * ws: minimal RFC 6455 client (see ws.h for why it is not libwebsockets).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>
#include <sodium.h>

#include "util.h"
#include "ws.h"

#define WS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_HDR_MAX	8192

struct ws {
	int	 fd;
	char	*in;		/* raw bytes not yet parsed */
	size_t	 inlen, insize;
	char	*msg;		/* message being assembled / returned */
	size_t	 msglen;
	int	 in_msg;	/* a fragmented message is open */
	int	 deliver_pending;	/* msg was returned: drop it next */
};

static int
ws_fail(char **cause, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
ws_fail(char **cause, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	xvasprintf(cause, fmt, ap);
	va_end(ap);
	return -1;
}

static long
ws_ms_left(const struct timespec *deadline)
{
	struct timespec	now;
	long		ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? ms : 0;
}

/* Wait for events on fd until the deadline; 0 when ready, -1 timeout. */
static int
ws_wait(int fd, short events, const struct timespec *deadline)
{
	struct pollfd	pfd = { fd, events, 0 };
	int		n;

	for (;;) {
		n = poll(&pfd, 1, (int)ws_ms_left(deadline));
		if (n == -1 && errno == EINTR)
			continue;
		return n > 0 ? 0 : -1;
	}
}

/* Split "http://host:port/prefix" into parts. */
static int
ws_parse_url(const char *base, char **host, char **port, char **prefix,
    char **cause)
{
	const char	*p, *slash, *colon;

	if (strncmp(base, "https://", 8) == 0 || strncmp(base, "wss://", 6) == 0)
		return ws_fail(cause, "TLS URLs are not supported by the "
		    "live feed (use a local http:// URL)");
	if (strncmp(base, "http://", 7) == 0)
		p = base + 7;
	else if (strncmp(base, "ws://", 5) == 0)
		p = base + 5;
	else
		return ws_fail(cause, "bad URL '%s'", base);
	slash = strchr(p, '/');
	if (slash == NULL)
		slash = p + strlen(p);
	colon = memchr(p, ':', (size_t)(slash - p));
	if (colon != NULL) {
		*host = xstrndup(p, (size_t)(colon - p));
		*port = xstrndup(colon + 1, (size_t)(slash - colon - 1));
	} else {
		*host = xstrndup(p, (size_t)(slash - p));
		*port = xstrdup("80");
	}
	*prefix = xstrdup(slash);
	/* Drop a trailing '/' so prefix + path has one slash. */
	if (**prefix != '\0' && (*prefix)[strlen(*prefix) - 1] == '/')
		(*prefix)[strlen(*prefix) - 1] = '\0';
	return 0;
}

static int
ws_tcp(const char *host, const char *port, const struct timespec *deadline,
    char **cause)
{
	struct addrinfo	 hints, *res, *ai;
	int		 fd = -1, err, e;
	socklen_t	 elen;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((err = getaddrinfo(host, port, &hints, &res)) != 0)
		return ws_fail(cause, "cannot resolve '%s': %s", host,
		    gai_strerror(err));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS &&
		    ws_wait(fd, POLLOUT, deadline) == 0) {
			elen = sizeof e;
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e,
			    &elen) == 0 && e == 0)
				break;
			errno = e;
		}
		err = errno;
		close(fd);
		fd = -1;
		errno = err;
	}
	freeaddrinfo(res);
	if (fd == -1)
		return ws_fail(cause, "cannot connect to %s:%s: %s", host,
		    port, strerror(errno));
	return fd;
}

/* Write all of buf, waiting (up to 2 s) when the socket is full. */
static int
ws_write_all(int fd, const void *buf, size_t len, char **cause)
{
	const char	*p = buf;
	struct timespec	 deadline;
	ssize_t		 n;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += 2;
	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (ws_wait(fd, POLLOUT, &deadline) != 0)
				return ws_fail(cause, "send timed out");
			continue;
		}
		if (n == -1)
			return ws_fail(cause, "send: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Case-insensitive search for a header line "name: value"; copies value. */
static int
ws_header(const char *hdrs, const char *name, char *out, size_t outlen)
{
	const char	*line = hdrs, *end, *v;
	size_t		 nlen = strlen(name), vlen;

	while ((end = strstr(line, "\r\n")) != NULL && end != line) {
		if ((size_t)(end - line) > nlen && line[nlen] == ':' &&
		    strncasecmp(line, name, nlen) == 0) {
			v = line + nlen + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			vlen = (size_t)(end - v);
			if (vlen >= outlen)
				return -1;
			memcpy(out, v, vlen);
			out[vlen] = '\0';
			return 0;
		}
		line = end + 2;
	}
	return -1;
}

struct ws *
ws_connect(const char *base, const char *path, int timeout_ms, char **cause)
{
	struct timespec	 deadline;
	struct ws	*w;
	char		*host = NULL, *port = NULL, *prefix = NULL, *req;
	char		 hdr[WS_HDR_MAX + 1], accept[64], want[64];
	uint8_t		 nonce[16], digest[SHA_DIGEST_LENGTH];
	char		 key[32], *cat, *end;
	size_t		 got = 0;
	ssize_t		 n;
	int		 fd;

	if (ws_parse_url(base, &host, &port, &prefix, cause) != 0)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	fd = ws_tcp(host, port, &deadline, cause);
	if (fd == -1)
		goto fail;

	randombytes_buf(nonce, sizeof nonce);
	sodium_bin2base64(key, sizeof key, nonce, sizeof nonce,
	    sodium_base64_VARIANT_ORIGINAL);
	xasprintf(&req, "GET %s%s HTTP/1.1\r\nHost: %s:%s\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
	    "User-Agent: kdex/" PACKAGE_VERSION "\r\n\r\n", prefix, path, host,
	    port, key);
	if (ws_write_all(fd, req, strlen(req), cause) != 0) {
		free(req);
		close(fd);
		goto fail;
	}
	free(req);

	/* Read the answer headers (the server sends nothing more until we
	 * subscribe, but keep any extra bytes anyway). */
	end = NULL;
	while (end == NULL) {
		if (got == WS_HDR_MAX) {
			ws_fail(cause, "handshake answer too large");
			close(fd);
			goto fail;
		}
		if (ws_wait(fd, POLLIN, &deadline) != 0) {
			ws_fail(cause, "handshake timed out");
			close(fd);
			goto fail;
		}
		n = recv(fd, hdr + got, WS_HDR_MAX - got, 0);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			ws_fail(cause, "connection closed during handshake");
			close(fd);
			goto fail;
		}
		got += (size_t)n;
		hdr[got] = '\0';
		end = strstr(hdr, "\r\n\r\n");
	}
	if (strncmp(hdr, "HTTP/1.1 101", 12) != 0) {
		char	*eol = strstr(hdr, "\r\n");

		ws_fail(cause, "no WebSocket at %s%s: %.*s", base, path,
		    (int)(eol - hdr), hdr);
		close(fd);
		goto fail;
	}
	xasprintf(&cat, "%s%s", key, WS_GUID);
	SHA1((const unsigned char *)cat, strlen(cat), digest);
	free(cat);
	sodium_bin2base64(want, sizeof want, digest, sizeof digest,
	    sodium_base64_VARIANT_ORIGINAL);
	if (ws_header(hdr, "Sec-WebSocket-Accept", accept, sizeof accept) != 0
	    || strcmp(accept, want) != 0) {
		ws_fail(cause, "bad WebSocket handshake from %s", base);
		close(fd);
		goto fail;
	}

	w = xcalloc(1, sizeof *w);
	w->fd = fd;
	end += 4;
	w->inlen = got - (size_t)(end - hdr);
	w->insize = w->inlen + 4096;
	w->in = xmalloc(w->insize);
	memcpy(w->in, end, w->inlen);
	free(host);
	free(port);
	free(prefix);
	return w;
fail:
	free(host);
	free(port);
	free(prefix);
	return NULL;
}

void
ws_free(struct ws *w)
{
	if (w == NULL)
		return;
	close(w->fd);
	free(w->in);
	free(w->msg);
	free(w);
}

int
ws_fd(const struct ws *w)
{
	return w->fd;
}

/* Send one frame with the client mask. */
static int
ws_frame(struct ws *w, int opcode, const void *data, size_t len,
    char **cause)
{
	uint8_t		 h[14], mask[4], *buf;
	const uint8_t	*d = data;
	size_t		 hl = 2, i;
	int		 rc;

	h[0] = (uint8_t)(0x80 | opcode);
	if (len < 126)
		h[1] = (uint8_t)(0x80 | len);
	else if (len <= 0xffff) {
		h[1] = 0x80 | 126;
		h[2] = (uint8_t)(len >> 8);
		h[3] = (uint8_t)len;
		hl = 4;
	} else {
		h[1] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
		hl = 10;
	}
	randombytes_buf(mask, sizeof mask);
	memcpy(h + hl, mask, 4);
	hl += 4;
	buf = xmalloc(hl + len);
	memcpy(buf, h, hl);
	for (i = 0; i < len; i++)
		buf[hl + i] = d[i] ^ mask[i & 3];
	rc = ws_write_all(w->fd, buf, hl + len, cause);
	free(buf);
	return rc;
}

int
ws_send(struct ws *w, const char *text, size_t len, char **cause)
{
	return ws_frame(w, 0x1, text, len, cause);
}

/* Parse one frame out of w->in: 1 done (message complete), 0 need more
 * bytes or consumed a control/partial frame (*again set), -1 error. */
static int
ws_parse(struct ws *w, int *again, char **cause)
{
	const uint8_t	*p = (const uint8_t *)w->in;
	uint64_t	 plen;
	size_t		 hl = 2, i;
	int		 fin, op;

	*again = 0;
	if (w->inlen < 2)
		return 0;
	fin = (p[0] & 0x80) != 0;
	op = p[0] & 0x0f;
	if ((p[0] & 0x70) != 0)
		return ws_fail(cause, "WebSocket frame with reserved bits");
	if ((p[1] & 0x80) != 0)
		return ws_fail(cause, "masked frame from the server");
	plen = p[1] & 0x7f;
	if (plen == 126) {
		if (w->inlen < 4)
			return 0;
		plen = (uint64_t)p[2] << 8 | p[3];
		hl = 4;
	} else if (plen == 127) {
		if (w->inlen < 10)
			return 0;
		plen = 0;
		for (i = 0; i < 8; i++)
			plen = plen << 8 | p[2 + i];
		hl = 10;
	}
	if (plen > WS_MSG_MAX || w->msglen + plen > WS_MSG_MAX)
		return ws_fail(cause, "WebSocket message too large");
	if (w->inlen < hl + plen)
		return 0;

	*again = 1;
	switch (op) {
	case 0x0:	/* continuation */
	case 0x1:	/* text */
	case 0x2:	/* binary: kdexd sends none; treat as text */
		if ((op == 0x0) != (w->in_msg != 0))
			return ws_fail(cause, "bad WebSocket fragmentation");
		w->msg = xreallocarray(w->msg, 1, w->msglen + plen + 1);
		memcpy(w->msg + w->msglen, p + hl, plen);
		w->msglen += plen;
		w->msg[w->msglen] = '\0';
		w->in_msg = !fin;
		break;
	case 0x8:	/* close */
		return ws_fail(cause, "kdexd closed the connection");
	case 0x9:	/* ping */
		if (ws_frame(w, 0xa, p + hl, plen, cause) != 0)
			return -1;
		break;
	case 0xa:	/* pong */
		break;
	default:
		return ws_fail(cause, "unknown WebSocket opcode %d", op);
	}
	memmove(w->in, w->in + hl + plen, w->inlen - hl - plen);
	w->inlen -= hl + plen;
	return (op <= 0x2 && fin) ? 1 : 0;
}

int
ws_read(struct ws *w, const char **msg, size_t *len, char **cause)
{
	ssize_t	n;
	int	again, r;

	if (w->deliver_pending) {
		w->msglen = 0;
		w->deliver_pending = 0;
	}
	for (;;) {
		/* Frames already buffered first. */
		do {
			if ((r = ws_parse(w, &again, cause)) < 0)
				return -1;
			if (r == 1) {
				*msg = w->msg;
				*len = w->msglen;
				w->deliver_pending = 1;
				return 1;
			}
		} while (again);
		if (w->insize - w->inlen < 4096) {
			w->insize = w->insize * 2 + 4096;
			if (w->insize > 2 * (size_t)WS_MSG_MAX + 65536)
				return ws_fail(cause, "WebSocket buffer "
				    "overflow");
			w->in = xreallocarray(w->in, 1, w->insize);
		}
		n = recv(w->fd, w->in + w->inlen, w->insize - w->inlen, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n == -1)
			return ws_fail(cause, "connection lost: %s",
			    strerror(errno));
		if (n == 0)
			return ws_fail(cause, "connection closed by kdexd");
		w->inlen += (size_t)n;
	}
}
