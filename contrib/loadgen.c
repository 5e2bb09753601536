/*
 * loadgen: a bounded loopback load generator for kdexd.
 *
 * It logs in a few users with fresh Ed25519 keys (kdexd must run with
 * --demo so that they get funds), then measures, over plain keep-alive
 * HTTP/1.1 connections driven by one epoll loop:
 *   1. the maximum sustained rate of POST /orders/place (closed loop: every
 *      connection sends its next order as soon as the previous is acked);
 *   2. place->ack latency at a fixed offered rate (open loop: latency counts
 *      from the scheduled send time, so a stalled server is not hidden by
 *      the generator waiting for it);
 *   3. WebSocket fan-out: N subscribers to orderbook:<market>, orders at
 *      fresh price levels, latency from each place to each subscriber's
 *      update.
 * Buyers and sellers use different users and cross at one price, so most
 * orders trade and the book stays small. Everything is bounded: the run
 * length, the connections and the latency samples kept.
 *
 * With -D file it is the drain test's client instead: it places orders at
 * the offered rate until kdexd goes away (SIGTERM), tolerating 503s and
 * closed connections, and writes the id of every acknowledged order to
 * file, so that the test can look each one up in the ledger afterwards.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "keeta_account.h"
#include "util.h"

#define RBUF		(256 * 1024)
#define SAMPLES_MAX	(4 * 1024 * 1024)
#define PRICE_SLOTS	100000

struct conn {
	int	 fd;
	int	 user;
	int	 busy;
	int	 ws;		/* a WebSocket subscriber */
	int	 dead;		/* -D: closed by the server */
	int	 upgraded;
	int	 snap;		/* got its snapshot */
	int64_t	 t0;		/* send or scheduled time, us */
	size_t	 rlen;
	char	*rbuf;
};

static struct sockaddr_in	 addr;
static char			 host[64];
static const char		*market = "KTA-USDC";
static char			**tokens;
static int			 nusers = 8;
static double			*samples;
static size_t			 nsamples;
static uint64_t			 okcount, errcount, seqno;
static int64_t			 price_sent[PRICE_SLOTS];
static FILE			*ackfile;	/* -D: acknowledged ids */
static uint64_t			 unavailable;	/* -D: 503 answers */

static int64_t
now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

/*
 * Wait for events at most us microseconds. epoll_wait() counts in
 * milliseconds: waiting 0 for a send due in 200 us spins (a whole CPU taken
 * from kdexd on a small machine), waiting 1 ms sends late. epoll_pwait2()
 * waits to the microsecond; without it (before Linux 5.11) fall back to
 * whole milliseconds, rounded up (the lateness counts in the latency,
 * which is measured from the scheduled time).
 */
static int
wait_us(int ep, struct epoll_event *evs, int max, int64_t us)
{
	static int	no_pwait2;
	struct timespec	ts;
	int		n;

	if (us <= 0)
		return (epoll_wait(ep, evs, max, 0));
	if (!no_pwait2) {
		ts.tv_sec = (time_t)(us / 1000000);
		ts.tv_nsec = (long)(us % 1000000) * 1000;
		n = epoll_pwait2(ep, evs, max, &ts, NULL);
		if (n != -1 || errno != ENOSYS)
			return (n);
		no_pwait2 = 1;
	}
	return (epoll_wait(ep, evs, max, (int)((us + 999) / 1000)));
}

static int
dial(int nonblock)
{
	int	fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		fatal("socket");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == -1)
		fatal("connect %s", host);
	if (nonblock)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return (fd);
}

/* Write all of buf to a server that may go away: -1 on error. */
static int
write_some(int fd, const char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			return (-1);
		buf += n;
		len -= (size_t)n;
	}
	return (0);
}

static void
write_all(int fd, const char *buf, size_t len)
{
	if (write_some(fd, buf, len) != 0)
		fatal("write");
}

/*
 * Parse one complete HTTP response at the front of buf. Returns its total
 * length (and status), 0 when incomplete.
 */
static size_t
http_parse(const char *buf, size_t len, int *status, const char **body,
    size_t *bodylen)
{
	const char	*end, *cl;
	size_t		 hl, n;

	if (len < 12 || (end = memmem(buf, len, "\r\n\r\n", 4)) == NULL)
		return (0);
	hl = (size_t)(end - buf) + 4;
	*status = atoi(buf + 9);
	cl = memmem(buf, hl, "content-length:", 15);
	if (cl == NULL)
		cl = memmem(buf, hl, "Content-Length:", 15);
	n = cl != NULL ? strtoul(cl + 15, NULL, 10) : 0;
	if (len < hl + n)
		return (0);
	*body = buf + hl;
	*bodylen = n;
	return (hl + n);
}

/* One blocking request on a fresh connection; returns the parsed body. */
static cJSON *
http_once(const char *method, const char *path, const char *body,
    const char *token, int *status)
{
	char		*req, *buf, auth[1200] = "";
	const char	*b;
	size_t		 len = 0, blen, n;
	ssize_t		 r;
	int		 fd;
	cJSON		*j;

	if (token != NULL)
		snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n",
		    token);
	xasprintf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\n%s"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n%s", method, path, host, auth,
	    body != NULL ? strlen(body) : 0, body != NULL ? body : "");
	fd = dial(0);
	write_all(fd, req, strlen(req));
	free(req);
	buf = xmalloc(RBUF);
	for (;;) {
		if (len == RBUF)
			fatalx("response too large");
		r = read(fd, buf + len, RBUF - len);
		if (r <= 0)
			fatalx("%s %s: connection closed", method, path);
		len += (size_t)r;
		if ((n = http_parse(buf, len, status, &b, &blen)) > 0)
			break;
	}
	close(fd);
	j = cJSON_ParseWithLength(b, blen);
	free(buf);
	return (j);
}

static char *
login(void)
{
	struct keeta_account	*a;
	uint8_t			 seed[KEETA_SEED_LEN], sig[KEETA_SIG_LEN];
	char			 address[KEETA_ADDRESS_MAX], sighex[129];
	char			*body, *msg, *tok;
	const char		*why;
	cJSON			*j, *n;
	int			 st;
	size_t			 i;

	for (i = 0; i < sizeof seed; i++)
		seed[i] = (uint8_t)(random() & 0xff);
	if ((a = keeta_account_from_seed(seed, 0, KEETA_KEY_ED25519, &why)) ==
	    NULL)
		fatalx("key: %s", why);
	keeta_address_encode(keeta_account_pubkey(a), address);
	xasprintf(&body, "{\"pubkey\":\"%s\"}", address);
	j = http_once("POST", "/auth/challenge", body, NULL, &st);
	free(body);
	n = cJSON_GetObjectItem(j, "nonce");
	if (st != 200 || !cJSON_IsString(n))
		fatalx("challenge failed (%d)", st);
	xasprintf(&msg, "keeta-login:%s", n->valuestring);
	if (keeta_account_sign(a, msg, strlen(msg), sig) != 0)
		fatalx("sign");
	keeta_hex_encode(sig, sizeof sig, sighex);
	xasprintf(&body, "{\"pubkey\":\"%s\",\"nonce\":\"%s\",\"signature\":"
	    "\"%s\"}", address, n->valuestring, sighex);
	cJSON_Delete(j);
	free(msg);
	j = http_once("POST", "/auth/verify", body, NULL, &st);
	free(body);
	n = cJSON_GetObjectItem(j, "token");
	if (st != 200 || !cJSON_IsString(n))
		fatalx("verify failed (%d)", st);
	tok = xstrdup(n->valuestring);
	cJSON_Delete(j);
	keeta_account_free(a);
	return (tok);
}

/* Wait until every user sees its demo funds. */
static void
wait_funded(void)
{
	cJSON	*j, *b;
	int	 i, st, tries;

	for (i = 0; i < nusers; i++)
		for (tries = 0;; tries++) {
			j = http_once("GET", "/balances", NULL, tokens[i], &st);
			b = cJSON_GetObjectItem(j, "balances");
			if (st == 200 && cJSON_GetArraySize(b) >= 2) {
				cJSON_Delete(j);
				break;
			}
			cJSON_Delete(j);
			if (tries > 200)
				fatalx("user %d got no demo funds (is kdexd "
				    "running with --demo?)", i);
			usleep(50000);
		}
}


static void
send_order(struct conn *c, int64_t t0, const char *price, const char *side)
{
	char	body[256], req[2048];
	int	n, m;

	m = snprintf(body, sizeof body, "{\"market\":\"%s\",\"side\":\"%s\","
	    "\"price\":\"%s\",\"qty\":\"0.01\"}", market, side, price);
	n = snprintf(req, sizeof req, "POST /orders/place HTTP/1.1\r\n"
	    "Host: %s\r\nAuthorization: Bearer %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
	    host, tokens[c->user], m, body);
	if (ackfile != NULL) {
		if (write_some(c->fd, req, (size_t)n) != 0) {
			c->dead = 1;	/* gone: not used again */
			return;
		}
	} else
		write_all(c->fd, req, (size_t)n);
	c->busy = 1;
	c->t0 = t0;
	seqno++;
}

/* Crossing flow: even connections sell at 1, odd ones buy at 1.001. */
static void
send_flow(struct conn *c, int64_t t0)
{
	if (c->user % 2 == 0)
		send_order(c, t0, "1", "sell");
	else
		send_order(c, t0, "1.001", "buy");
}

static void
sample(double ms)
{
	if (nsamples < SAMPLES_MAX)
		samples[nsamples++] = ms;
}

static int
cmpd(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x < y ? -1 : x > y);
}

static double
pct(double p)
{
	size_t	i;

	if (nsamples == 0)
		return (0);
	i = (size_t)(p * (double)(nsamples - 1) + 0.5);
	return (samples[i]);
}

/* Read what arrived on an HTTP connection; 1 per completed response. */
static int
http_read(struct conn *c, int64_t now)
{
	const char	*b;
	size_t		 n, blen;
	ssize_t		 r;
	int		 st, done = 0;

	r = read(c->fd, c->rbuf + c->rlen, RBUF - c->rlen);
	if (r == 0)
		fatalx("kdexd closed a connection");
	if (r < 0)
		return (0);
	c->rlen += (size_t)r;
	while ((n = http_parse(c->rbuf, c->rlen, &st, &b, &blen)) > 0) {
		if (st == 200)
			okcount++;
		else
			errcount++;
		sample((double)(now - c->t0) / 1000.0);
		memmove(c->rbuf, c->rbuf + n, c->rlen - n);
		c->rlen -= n;
		c->busy = 0;
		done++;
	}
	return (done);
}

/*
 * Open n keep-alive connections and wait until kdexd has served one
 * request on each (GET /health): a phase's clock starts on connections
 * kdexd has accepted, not during its burst of accepts (and of the closes
 * of the previous phase's connections).
 */
static struct conn *
open_conns(int n, int ep)
{
	struct conn		*cs;
	struct epoll_event	 ev, evs[256];
	char			 req[256];
	const char		*b;
	size_t			 blen, m;
	ssize_t			 r;
	int64_t			 until;
	int			 i, k, st, left = n, len;

	cs = xcalloc((size_t)n, sizeof *cs);
	len = snprintf(req, sizeof req, "GET /health HTTP/1.1\r\nHost: %s"
	    "\r\n\r\n", host);
	for (i = 0; i < n; i++) {
		cs[i].fd = dial(1);
		cs[i].user = i % nusers;
		cs[i].rbuf = xmalloc(RBUF);
		memset(&ev, 0, sizeof ev);
		ev.events = EPOLLIN;
		ev.data.ptr = &cs[i];
		if (epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev) == -1)
			fatal("epoll_ctl");
		write_all(cs[i].fd, req, (size_t)len);
		cs[i].busy = 1;
	}
	until = now_us() + 10000000;
	while (left > 0 && now_us() < until) {
		k = epoll_wait(ep, evs, 256, 100);
		for (i = 0; i < k; i++) {
			struct conn *c = evs[i].data.ptr;

			r = read(c->fd, c->rbuf + c->rlen, RBUF - c->rlen);
			if (r == 0)
				fatalx("kdexd closed a connection");
			if (r < 0)
				continue;
			c->rlen += (size_t)r;
			if ((m = http_parse(c->rbuf, c->rlen, &st, &b,
			    &blen)) > 0) {
				memmove(c->rbuf, c->rbuf + m, c->rlen - m);
				c->rlen -= m;
				if (c->busy) {
					c->busy = 0;
					left--;
				}
			}
		}
	}
	if (left > 0)
		fatalx("%d connections not served within 10 s", left);
	return (cs);
}

static void
close_conns(struct conn *cs, int n)
{
	int	i;

	for (i = 0; i < n; i++) {
		close(cs[i].fd);
		free(cs[i].rbuf);
	}
	free(cs);
}

/* Phase 1: closed loop; returns orders/s. */
static double
run_max(int nconn, double secs)
{
	struct epoll_event	 evs[256];
	struct conn		*cs;
	int64_t			 start, end, now;
	uint64_t		 ok0 = okcount;
	int			 ep, i, n;

	ep = epoll_create1(0);
	cs = open_conns(nconn, ep);
	start = now_us();
	end = start + (int64_t)(secs * 1e6);
	for (i = 0; i < nconn; i++)
		send_flow(&cs[i], start);
	while ((now = now_us()) < end) {
		n = epoll_wait(ep, evs, 256, 100);
		now = now_us();
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (http_read(c, now) > 0 && now < end)
				send_flow(c, now);
		}
	}
	/* Drain what is in flight. */
	for (;;) {
		for (i = 0, n = 0; i < nconn; i++)
			n += cs[i].busy;
		if (n == 0 || now_us() > end + 5000000)
			break;
		n = epoll_wait(ep, evs, 256, 100);
		for (i = 0; i < n; i++)
			http_read(evs[i].data.ptr, now_us());
	}
	close_conns(cs, nconn);
	close(ep);
	return ((double)(okcount - ok0) / secs);
}

/* Phase 2: open loop at rate; latency from the scheduled time. */
static double
run_rate(int nconn, double rate, double secs)
{
	struct epoll_event	 evs[256];
	struct conn		*cs;
	int64_t			 start, end, now, due;
	uint64_t		 k = 0, ok0 = okcount, late = 0;
	int			 ep, i, n, next = 0;

	ep = epoll_create1(0);
	cs = open_conns(nconn, ep);
	nsamples = 0;
	start = now_us();
	end = start + (int64_t)(secs * 1e6);
	while ((now = now_us()) < end) {
		/* Send everything that is due on idle connections. */
		for (;;) {
			due = start + (int64_t)((double)k * 1e6 / rate);
			if (due > now)
				break;
			for (i = 0; i < nconn; i++) {
				struct conn *c = &cs[(next + i) % nconn];

				if (!c->busy) {
					send_flow(c, due);
					next = (next + i + 1) % nconn;
					break;
				}
			}
			if (i == nconn) {
				late++;
				break;	/* all busy: stays due */
			}
			k++;
		}
		due = start + (int64_t)((double)k * 1e6 / rate);
		/* All busy with one due: only an answer frees a connection. */
		n = wait_us(ep, evs, 256, due <= now ? end - now : due - now);
		now = now_us();
		for (i = 0; i < n; i++)
			http_read(evs[i].data.ptr, now);
	}
	for (;;) {
		for (i = 0, n = 0; i < nconn; i++)
			n += cs[i].busy;
		if (n == 0 || now_us() > end + 5000000)
			break;
		n = epoll_wait(ep, evs, 256, 100);
		for (i = 0; i < n; i++)
			http_read(evs[i].data.ptr, now_us());
	}
	close_conns(cs, nconn);
	close(ep);
	(void)late;
	return ((double)(okcount - ok0) / secs);
}

/* WebSocket: handshake and a masked text frame. */
static void
ws_send_text(int fd, const char *text)
{
	uint8_t	frame[512];
	size_t	len = strlen(text), i;

	if (len > 125)
		fatalx("ws message too long");
	frame[0] = 0x81;
	frame[1] = (uint8_t)(0x80 | len);
	memset(frame + 2, 0, 4);	/* mask 0: payload as is */
	for (i = 0; i < len; i++)
		frame[6 + i] = (uint8_t)text[i];
	write_all(fd, (const char *)frame, 6 + len);
}

/* Handle every complete frame in c->rbuf. */
static void
ws_frames(struct conn *c, int64_t now, int64_t base_ticks)
{
	uint8_t		*p = (uint8_t *)c->rbuf;
	size_t		 hl, len;
	const char	*s, *q;
	long		 k;

	for (;;) {
		if (c->rlen < 2)
			return;
		len = p[1] & 0x7f;
		hl = 2;
		if (len == 126) {
			if (c->rlen < 4)
				return;
			len = ((size_t)p[2] << 8) | p[3];
			hl = 4;
		} else if (len == 127) {
			if (c->rlen < 10)
				return;
			len = ((size_t)p[6] << 24) | ((size_t)p[7] << 16) |
			    ((size_t)p[8] << 8) | p[9];
			hl = 10;
		}
		if (c->rlen < hl + len)
			return;
		if ((p[0] & 0x0f) == 1) {
			s = c->rbuf + hl;
			if (memmem(s, len, "\"snapshot\"", 10) != NULL)
				c->snap = 1;
			else if (memmem(s, len, "\"update\"", 8) != NULL &&
			    (q = memmem(s, len, "\"bids\":[[\"0.", 12)) != NULL) {
				/* price 0.NNNN in its shortest form: ticks */
				int d;

				k = 0;
				for (d = 0, q += 12; d < 4; d++) {
					k *= 10;
					if (*q >= '0' && *q <= '9')
						k += *q++ - '0';
				}
				k -= base_ticks;
				if (k >= 0 && k < PRICE_SLOTS &&
				    price_sent[k] != 0)
					sample((double)(now - price_sent[k]) /
					    1000.0);
			}
		}
		memmove(c->rbuf, c->rbuf + hl + len, c->rlen - hl - len);
		c->rlen -= hl + len;
	}
}

/* Phase 3: fan-out to nsub subscribers; returns the p99 in ms. */
static double
run_fanout(int nsub, int norders, double rate)
{
	struct epoll_event	 evs[512];
	struct conn		*cs, drv;
	char			 req[1024], sub[128], price[32];
	int64_t			 start, next, now, quiet;
	int			 ep, i, n, k = 0, ready, st;
	const char		*b;
	size_t			 m, blen;
	ssize_t			 r;

	ep = epoll_create1(0);
	cs = xcalloc((size_t)nsub, sizeof *cs);
	snprintf(sub, sizeof sub, "{\"op\":\"subscribe\",\"channel\":"
	    "\"orderbook:%s\",\"depth\":1}", market);
	for (i = 0; i < nsub; i++) {
		struct epoll_event ev;

		cs[i].fd = dial(0);
		cs[i].ws = 1;
		cs[i].rbuf = xmalloc(RBUF);
		n = snprintf(req, sizeof req, "GET /ws HTTP/1.1\r\nHost: %s\r\n"
		    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		    "Sec-WebSocket-Version: 13\r\n\r\n", host);
		write_all(cs[i].fd, req, (size_t)n);
		/* Read the 101 (blocking; small). */
		for (;;) {
			r = read(cs[i].fd, cs[i].rbuf + cs[i].rlen,
			    RBUF - cs[i].rlen);
			if (r <= 0)
				fatalx("websocket handshake %d failed", i);
			cs[i].rlen += (size_t)r;
			b = memmem(cs[i].rbuf, cs[i].rlen, "\r\n\r\n", 4);
			if (b != NULL)
				break;
		}
		if (strncmp(cs[i].rbuf, "HTTP/1.1 101", 12) != 0)
			fatalx("websocket %d: not upgraded", i);
		m = (size_t)(b + 4 - cs[i].rbuf);
		memmove(cs[i].rbuf, cs[i].rbuf + m, cs[i].rlen - m);
		cs[i].rlen -= m;
		fcntl(cs[i].fd, F_SETFL, fcntl(cs[i].fd, F_GETFL) | O_NONBLOCK);
		ws_send_text(cs[i].fd, sub);
		memset(&ev, 0, sizeof ev);
		ev.events = EPOLLIN;
		ev.data.ptr = &cs[i];
		if (epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev) == -1)
			fatal("epoll_ctl");
	}
	/* Wait for every snapshot. */
	start = now_us();
	for (;;) {
		for (i = 0, ready = 0; i < nsub; i++)
			ready += cs[i].snap;
		if (ready == nsub)
			break;
		if (now_us() - start > 60000000)
			fatalx("only %d of %d subscribers got a snapshot",
			    ready, nsub);
		n = epoll_wait(ep, evs, 512, 100);
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			r = read(c->fd, c->rbuf + c->rlen, RBUF - c->rlen);
			if (r > 0) {
				c->rlen += (size_t)r;
				ws_frames(c, now_us(), 0);
			}
		}
	}

	/* The driver: bids at 0.1000 + k ticks, far below the flow. */
	memset(&drv, 0, sizeof drv);
	drv.fd = dial(1);
	drv.user = 1;
	drv.rbuf = xmalloc(RBUF);
	{
		struct epoll_event ev;

		memset(&ev, 0, sizeof ev);
		ev.events = EPOLLIN;
		ev.data.ptr = &drv;
		epoll_ctl(ep, EPOLL_CTL_ADD, drv.fd, &ev);
	}
	nsamples = 0;
	memset(price_sent, 0, sizeof price_sent);
	next = now_us();
	quiet = 0;
	for (;;) {
		now = now_us();
		if (k < norders && !drv.busy && now >= next) {
			snprintf(price, sizeof price, "0.%04d", 1000 + k);
			price_sent[k] = now;
			send_order(&drv, now, price, "buy");
			k++;
			next += (int64_t)(1e6 / rate);
		}
		if (k == norders && !drv.busy) {
			if (quiet == 0)
				quiet = now + 2000000;
			else if (now > quiet)
				break;
		}
		n = epoll_wait(ep, evs, 512, 1);
		now = now_us();
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (c == &drv) {
				r = read(c->fd, c->rbuf + c->rlen,
				    RBUF - c->rlen);
				if (r > 0)
					c->rlen += (size_t)r;
				while ((m = http_parse(c->rbuf, c->rlen, &st,
				    &b, &blen)) > 0) {
					if (st != 200)
						errcount++;
					memmove(c->rbuf, c->rbuf + m,
					    c->rlen - m);
					c->rlen -= m;
					c->busy = 0;
				}
				continue;
			}
			r = read(c->fd, c->rbuf + c->rlen, RBUF - c->rlen);
			if (r > 0) {
				c->rlen += (size_t)r;
				ws_frames(c, now, 1000);
			}
		}
	}
	for (i = 0; i < nsub; i++) {
		close(cs[i].fd);
		free(cs[i].rbuf);
	}
	free(cs);
	close(drv.fd);
	free(drv.rbuf);
	close(ep);
	if (nsamples < (size_t)nsub * (size_t)norders * 9 / 10)
		fprintf(stderr, "loadgen: only %zu of %d fan-out deliveries "
		    "seen\n", nsamples, nsub * norders);
	qsort(samples, nsamples, sizeof *samples, cmpd);
	return (pct(0.99));
}

/* -D: the order id of an acknowledgement, written to ackfile. */
static void
drain_ack(const char *b, size_t blen)
{
	static const char	 key[] = "\"order\":{\"id\":\"";
	const char		*q;
	char			*end;
	long long		 id;

	q = memmem(b, blen, key, sizeof key - 1);
	if (q == NULL) {
		errcount++;
		return;
	}
	id = strtoll(q + sizeof key - 1, &end, 10);
	if (id <= 0 || *end != '"') {
		errcount++;
		return;
	}
	fprintf(ackfile, "%lld\n", id);
	okcount++;
}

/*
 * -D: open loop at rate until every connection is closed by the server or
 * secs pass. Connections the server closes are not reopened. Returns the
 * number of acknowledged orders.
 */
static uint64_t
run_drain(int nconn, double rate, double secs)
{
	struct epoll_event	 evs[256];
	struct conn		*cs, *c;
	const char		*b;
	int64_t			 start, end, now, due;
	uint64_t		 k = 0;
	size_t			 m, blen;
	ssize_t			 r;
	int			 ep, i, n, st, live;

	ep = epoll_create1(0);
	cs = open_conns(nconn, ep);
	start = now_us();
	end = start + (int64_t)(secs * 1e6);
	while ((now = now_us()) < end) {
		for (i = 0, live = 0; i < nconn; i++)
			live += !cs[i].dead;
		if (live == 0)
			break;
		for (;;) {
			due = start + (int64_t)((double)k * 1e6 / rate);
			if (due > now)
				break;
			for (i = 0; i < nconn; i++) {
				c = &cs[(k + (uint64_t)i) % (uint64_t)nconn];
				if (!c->dead && !c->busy)
					break;
			}
			if (i == nconn)
				break;
			send_flow(c, due);
			k++;
		}
		n = epoll_wait(ep, evs, 256, 1);
		for (i = 0; i < n; i++) {
			c = evs[i].data.ptr;
			r = read(c->fd, c->rbuf + c->rlen, RBUF - c->rlen);
			if (r == -1 && errno == EAGAIN)
				continue;
			if (r <= 0) {
				/* Closed by the server: an order in flight
				 * on it was not acknowledged. */
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				c->dead = 1;
				c->busy = 0;
				continue;
			}
			c->rlen += (size_t)r;
			while ((m = http_parse(c->rbuf, c->rlen, &st, &b,
			    &blen)) > 0) {
				if (st == 200)
					drain_ack(b, blen);
				else if (st == 503)
					unavailable++;
				else
					errcount++;
				memmove(c->rbuf, c->rbuf + m, c->rlen - m);
				c->rlen -= m;
				c->busy = 0;
			}
		}
	}
	close_conns(cs, nconn);
	close(ep);
	return (okcount);
}

static void
usage(void)
{
	fprintf(stderr, "usage: loadgen [-c conns] [-D ackfile] [-d secs] "
	    "[-m market] [-r rate] [-s subscribers] [-u users] host:port\n");
	exit(1);
}

int
main(int argc, char **argv)
{
	struct rlimit	 rl;
	struct rusage	 ru;
	const char	*colon, *drainpath = NULL;
	double		 secs = 5, rate = 20000, maxrate, got;
	int		 ch, conns = 32, subs = 2000, i;

	while ((ch = getopt(argc, argv, "c:D:d:m:r:s:u:")) != -1) {
		switch (ch) {
		case 'c':
			conns = atoi(optarg);
			break;
		case 'D':
			drainpath = optarg;
			break;
		case 'd':
			secs = atof(optarg);
			break;
		case 'm':
			market = optarg;
			break;
		case 'r':
			rate = atof(optarg);
			break;
		case 's':
			subs = atoi(optarg);
			break;
		case 'u':
			nusers = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind + 1 != argc || conns < 2 || conns > 1024 || secs <= 0 ||
	    secs > 600 || rate <= 0 || subs < 0 || subs > 15000 ||
	    nusers < 2 || nusers > 256)
		usage();
	if ((colon = strrchr(argv[optind], ':')) == NULL)
		usage();
	snprintf(host, sizeof host, "%s", argv[optind]);
	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)atoi(colon + 1));
	host[colon - argv[optind]] = '\0';
	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
		fatalx("want an IPv4 host:port");
	snprintf(host, sizeof host, "%s", argv[optind]);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	srandom((unsigned int)now_us());
	samples = xreallocarray(NULL, SAMPLES_MAX, sizeof *samples);

	tokens = xcalloc((size_t)nusers, sizeof *tokens);
	for (i = 0; i < nusers; i++)
		tokens[i] = login();
	wait_funded();

	if (drainpath != NULL) {
		signal(SIGPIPE, SIG_IGN);
		if ((ackfile = fopen(drainpath, "w")) == NULL)
			fatal("%s", drainpath);
		run_drain(conns, rate, secs);
		if (fclose(ackfile) != 0)
			fatal("%s", drainpath);
		printf("drain acked=%llu unavailable=%llu errors=%llu\n",
		    (unsigned long long)okcount,
		    (unsigned long long)unavailable,
		    (unsigned long long)errcount);
		for (i = 0; i < nusers; i++)
			free(tokens[i]);
		free(tokens);
		free(samples);
		return (errcount > 0);
	}

	maxrate = run_max(conns, secs);
	printf("max orders_per_s=%.0f conns=%d errors=%llu\n", maxrate, conns,
	    (unsigned long long)errcount);
	fflush(stdout);
	errcount = 0;
	got = run_rate(conns, rate, secs);
	qsort(samples, nsamples, sizeof *samples, cmpd);
	printf("load orders_per_s=%.0f p50_ack_ms=%.3f p99_ack_ms=%.3f "
	    "p999_ack_ms=%.3f\n", got, pct(0.5), pct(0.99), pct(0.999));
	if (errcount > 0)
		printf("load errors=%llu offered_rate=%.0f\n",
		    (unsigned long long)errcount, rate);
	if (got < rate * 0.95)
		fprintf(stderr, "loadgen: offered %.0f orders/s, %.0f acked: "
		    "overloaded, the latencies above are mostly queueing\n",
		    rate, got);
	fflush(stdout);
	if (subs > 0)
		printf("fanout subscribers=%d p99_delivery_ms=%.3f\n", subs,
		    run_fanout(subs, 100, 20));
	/* Its own share of the CPUs it shares with kdexd. */
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		printf("loadgen cpu_user_s=%.2f cpu_sys_s=%.2f\n",
		    (double)ru.ru_utime.tv_sec +
		    (double)ru.ru_utime.tv_usec / 1e6,
		    (double)ru.ru_stime.tv_sec +
		    (double)ru.ru_stime.tv_usec / 1e6);
	for (i = 0; i < nusers; i++)
		free(tokens[i]);
	free(tokens);
	free(samples);
	return (0);
}
