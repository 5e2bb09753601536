/*
 * ws: a minimal WebSocket client (RFC 6455) over a plain TCP socket, for
 * the full-screen client's live data from kdexd's /ws.
 *
 * Why not libwebsockets' client: the screen already runs its own poll()
 * loop over the terminal, and a socket it can poll next to stdin keeps one
 * loop and one thread, with no callbacks re-entering the UI. The subset is
 * small: text frames, fragmentation, ping/pong, close; no extensions, no
 * TLS (kdexd listens on loopback or behind a TLS proxy; a wss:// URL is
 * refused with a clear message).
 *
 * Connection set-up (DNS, connect, handshake) blocks for at most the given
 * timeout; afterwards the socket is non-blocking and ws_read() returns what
 * has arrived. Errors are -1 with *cause (allocated, caller frees).
 */
#ifndef KDEX_WS_H
#define KDEX_WS_H

#include <stddef.h>

#define WS_MSG_MAX	(4 * 1024 * 1024)	/* largest message accepted */

struct ws;

/* Connect to base ("http://host:port", path appended) and upgrade. The
 * caller owns the result; ws_free() closes it. NULL with *cause. */
struct ws	*ws_connect(const char *base, const char *path, int timeout_ms,
		    char **cause);
void		 ws_free(struct ws *);
/* The socket, to poll for POLLIN. */
int		 ws_fd(const struct ws *);

/* Send one text message (masked, as clients must); 0 or -1. Blocks
 * briefly if the socket buffer is full. */
int	ws_send(struct ws *, const char *text, size_t len, char **cause);

/*
 * Read what the socket has. Returns 1 with *msg and *len set to the next
 * complete text message (owned by ws, valid until the next call), 0 when
 * no complete message is buffered, -1 when the connection is closed or
 * broken (*cause says why). Call until it returns 0 after each POLLIN.
 * Pings are answered here.
 */
int	ws_read(struct ws *, const char **msg, size_t *len, char **cause);

#endif
