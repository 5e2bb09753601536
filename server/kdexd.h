/*
 * kdexd: the exchange server's shared state and the interfaces between its
 * modules (tmux.h style: one header for the daemon's internals).
 *
 * One event loop thread owns everything here (Redis-style). libwebsockets
 * callbacks parse and validate requests and queue engine commands; after
 * each poll the loop runs the queued commands as one exchange batch (one
 * SQLite transaction), then sends the HTTP answers and WebSocket events.
 *
 * Modules:
 *   kdexd.c        main, options, data dir and secrets, event loop, cron
 *   kdexd_conf.c   config file and defaults
 *   kdexd_http.c   HTTP listeners, request bodies, router, responses
 *   kdexd_auth.c   login challenges, JWT, rate limits
 *   kdexd_ws.c     WebSocket clients, channels, bounded outbound queues
 *   kdexd_route.c  public and private REST routes
 *   kdexd_demo.c   --demo users and market maker
 *   kdexd_admin.c  admin routes (kdexd_http.h; owned by the console part)
 */
#ifndef KDEXD_H
#define KDEXD_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "kdexd_http.h"

#define KDEXD_VERSION		"0.1.0"

#define KDEXD_BODY_MAX		(64 * 1024)	/* request body bound */
#define KDEXD_WS_MSG_MAX	(16 * 1024)	/* inbound WS message bound */
#define KDEXD_MARKETS_MAX	64
#define KDEXD_APIS_MAX		8
#define KDEXD_NONCE_TTL_MS	(5 * 60 * 1000)

/* A market from the config file (strings as written; checked at start). */
struct kdexd_market_conf {
	char	*pair;			/* BASE-QUOTE */
	char	*base;			/* symbol */
	char	*quote;
	unsigned int base_decimals;
	unsigned int quote_decimals;
	char	*tick_size;		/* quote tokens per base token */
	char	*lot_size;		/* base tokens */
	char	*min_size;		/* base tokens */
	char	*min_notional;		/* quote tokens */
	int	 maker_fee_ppm;
	int	 taker_fee_ppm;
	int	 status;		/* enum market_status at creation */
	char	*base_token;		/* keeta_ address; NULL = genesis */
	char	*quote_token;
};

/* Configuration: defaults, then the config file, then the options. */
struct kdexd_conf {
	char	*listen;		/* host:port */
	char	*admin_listen;
	char	*data_dir;
	char	*network;		/* alias: devnet, test, main */
	char	*apis[KDEXD_APIS_MAX];	/* --keeta-api; none = embedded */
	size_t	 napis;
	int	 demo;
	int	 demo_maker;		/* run the demo market maker */
	int	 verbose;

	/* limits */
	unsigned int rate_ip;		/* requests/s per IP (bucket rate) */
	unsigned int burst_ip;
	unsigned int rate_user;		/* requests/s per user */
	unsigned int burst_user;
	unsigned int jwt_ttl;		/* seconds */
	unsigned int ws_ping;		/* seconds between server pings */
	size_t	 ws_queue_max;		/* bytes queued per WS client */
	unsigned int max_clients;
	int	 ledger_sync;		/* SQLite synchronous: 2 FULL, 1 NORMAL */
	int	 ledger_pipeline;	/* sync in the ledger's thread */

	struct kdexd_market_conf markets[KDEXD_MARKETS_MAX];
	size_t	 nmarkets;
};

/* kdexd_conf.c */
void	 conf_defaults(struct kdexd_conf *);
/* Read a config file into conf; -1 with *cause (allocated) on error. */
int	 conf_load(struct kdexd_conf *, const char *path, char **cause);
/* Apply the default market when the config named none. */
void	 conf_finish(struct kdexd_conf *);
void	 conf_free(struct kdexd_conf *);

/* Counters for /metrics (monotonic unless noted). */
struct kdexd_stats {
	uint64_t	http_requests;
	uint64_t	http_2xx;
	uint64_t	http_4xx;
	uint64_t	http_5xx;
	uint64_t	http_429;
	uint64_t	auth_ok;
	uint64_t	auth_fail;
	uint64_t	orders_placed;
	uint64_t	orders_cancelled;
	uint64_t	orders_rejected;
	uint64_t	trades;
	uint64_t	batches;
	uint64_t	batch_commands;
	uint64_t	batch_us_total;
	uint64_t	batches_released;	/* answered once durable */
	uint64_t	last_ticket;	/* gauge: the last batch's ledger ticket */
	uint64_t	released_ticket; /* gauge: the last released batch's */
#define KDEXD_HOLD_BUCKETS	7	/* 1, 2, 5, 10, 20, 50, 100 ms */
	uint64_t	hold_le[KDEXD_HOLD_BUCKETS];	/* batches held <= */
	uint64_t	hold_count;
	uint64_t	hold_us_total;
	uint64_t	commit_us_total;	/* inside exchange_run */
	uint64_t	ws_messages_out;
	uint64_t	ws_slow_disconnects;
	uint64_t	ws_clients;	/* gauge */
	uint64_t	http_conns;	/* gauge */
};

struct lws_context;
struct lws_vhost;
struct devnet;
struct keeta_account;

struct kdexd {
	struct kdexd_conf	 conf;
	struct lws_context	*ctx;
	struct lws_vhost	*vh_public;
	struct lws_vhost	*vh_admin;
	struct devnet		*devnet;
	struct exchange		*exchange;
	struct ledger		*ledger;

	char			 operator_addr[80];
	char			 admin_key[65];
	uint8_t			 jwt_secret[32];
	char			*apis[KDEXD_APIS_MAX];	/* in use */
	size_t			 napis;
	char			*network_alias;
	uint64_t		 network_id;

	int64_t			 started_ms;
	volatile int		 stopping;	/* SIGTERM/SIGINT seen */
	int			 draining;
	int64_t			 last_engine_us; /* last exchange_run */
	struct kdexd_stats	 stats;
	struct sqlite3		*authdb;	/* nonces */
};

extern struct kdexd	*kdexd_server;

/* kdexd.c */
void	 log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
int64_t	 kdexd_now_us(void);
/* Read a whole small file; NULL when missing. The caller frees. */
char	*kdexd_read_file(const char *path, size_t max, size_t *len);
/* Write data to path (mode 0600) through a temporary file and rename. */
int	 kdexd_write_file(const char *path, const void *, size_t);

/* kdexd_http.c */
int	 http_start(struct kdexd *, char **cause);
/*
 * A request whose answer comes after the next batch. http_defer() detaches
 * the answer from the handler; http_finish() sends resp (taking its
 * contents) and frees the token. If the client went away meanwhile the
 * answer is dropped.
 */
struct http_pending;
struct http_pending	*http_defer(struct kdexd_req *);
void			 http_finish(struct http_pending *, struct kdexd_resp *);
/*
 * Sub-requests (kdexd_lp.c's batches): the next http_defer() answers to fn
 * instead of the connection; fn takes resp's contents. A handler that
 * answers at once does not defer, so the caller clears the sink after it.
 */
typedef void	 http_sink_fn(void *arg, struct kdexd_resp *resp);
void			 http_defer_sink(http_sink_fn *fn, void *arg);
/* JSON text of a cJSON; the caller frees. */
char	*json_print(const cJSON *);
/*
 * A direct JSON writer for the hot answers and events: the bytes of
 * cJSON_PrintUnformatted() for the same members added in the same order,
 * without building a tree (each tree costs a malloc per member and a
 * printf per number). Keys are static ASCII names, written as they are.
 * Nesting is bounded by JW_DEPTH (a programmer error past it).
 */
#define JW_DEPTH	8
struct jw {
	char		*buf;
	size_t		 len;
	size_t		 cap;
	int		 depth;
	char		 close[JW_DEPTH];	/* '}' or ']' */
	unsigned char	 first[JW_DEPTH];	/* no member yet */
};
void	 jw_init(struct jw *);
/* Open an object or array: key NULL at the top or inside an array. */
void	 jw_obj(struct jw *, const char *key);
void	 jw_arr(struct jw *, const char *key);
void	 jw_end(struct jw *);
void	 jw_str(struct jw *, const char *key, const char *);
void	 jw_int(struct jw *, const char *key, int64_t);
void	 jw_bool(struct jw *, const char *key, int);
void	 jw_null(struct jw *, const char *key);
/* The text (NUL-terminated, caller frees); the writer is empty again. */
char	*jw_take(struct jw *);
void	 jw_free(struct jw *);

/* kdexd_auth.c */
int	 auth_init(struct kdexd *, char **cause);
void	 auth_free(struct kdexd *);
void	 auth_cron(struct kdexd *);
/* Routes: POST /auth/challenge and /auth/verify. */
void	 auth_challenge(struct kdexd_req *, struct kdexd_resp *);
void	 auth_verify(struct kdexd_req *, struct kdexd_resp *);
/*
 * Check "Bearer <jwt>" (or a bare token): 0 and the address in
 * user[KDEXD_USER_MAX], or -1 and a static reason.
 */
#define KDEXD_USER_MAX	80
int	 auth_check_token(struct kdexd *, const char *token,
	    char user[KDEXD_USER_MAX], int64_t *exp_ms, const char **why);
/* Make a signed token for user (tests and the demo); caller frees. */
char	*auth_make_token(struct kdexd *, const char *user, int64_t exp_s);
/*
 * Token buckets. rate_take() returns 0 when the key (an IP or a user) had
 * a token, else the seconds until one is due (for Retry-After).
 */
unsigned int rate_take(int user, const char *key);
void	 rate_sweep(void);
void	 rate_free(void);

/* kdexd_ws.c */
void	 ws_init(struct kdexd *);
void	 ws_free(void);
void	 ws_cron(struct kdexd *);
struct lws;
struct ws_client;
struct ws_client *ws_open(struct lws *, const char *peer);
void	 ws_close(struct ws_client *);
int	 ws_receive(struct ws_client *, const void *, size_t, int final);
int	 ws_writable(struct ws_client *);
void	 ws_pong(struct ws_client *);
/* Publish a message (takes text, allocated) to a channel's subscribers. */
void	 ws_publish(const char *channel, char *text);
/*
 * The same for a book update with depth sequence seq: a subscriber whose
 * snapshot already had seq (it subscribed while the batch waited for its
 * sync) does not get it.
 */
void	 ws_publish_seq(const char *channel, uint64_t seq, char *text);
/* Publish to the private channel of one user ("orders", "balances"...). */
void	 ws_publish_user(const char *user, const char *channel, char *text);
/* 1 when a channel has any subscriber (skip building unused events). */
int	 ws_has_subscribers(const char *channel);
size_t	 ws_client_count(void);

/* kdexd_route.c */
/* Public and private routes; -1 when no route matched. */
int	 route_public(struct kdexd_req *, struct kdexd_resp *,
	    const char *authorization);
/* Snapshot for a WS subscription to "orderbook:P"; NULL if unknown. */
cJSON	*route_book_snapshot(const char *pair, size_t depth);
int	 route_market_known(const char *pair);
cJSON	*route_ticker_json(const char *pair);
/*
 * Run the queued engine commands as one batch and build its answers and
 * events; they go out (route_release) once the batch is durable: at once,
 * or with ledger-pipeline when the ledger's sync thread has passed its
 * ticket, in batch order.
 */
void	 route_run_batch(struct kdexd *);
int	 route_batch_pending(void);
void	 route_release(struct kdexd *);
size_t	 route_outbox_pending(void);	/* batches held */
uint64_t route_last_ticket(void);
int	 route_init(struct kdexd *, char **cause);
void	 route_free(void);
void	 route_cron(struct kdexd *);
void	 route_info_json(struct kdexd *, cJSON *);

/* kdexd_trade.c: routes over the exchange (same signature as a route). */
typedef void route_fn(struct kdexd_req *, struct kdexd_resp *,
    struct kdexd_args *);
route_fn	trade_info;
route_fn	trade_markets;
route_fn	trade_book;
route_fn	trade_trades;
route_fn	trade_ticker;
route_fn	trade_candles;
route_fn	trade_balances;
route_fn	trade_storage;
route_fn	trade_deposit_address;
route_fn	trade_deposit_notify;
route_fn	trade_deposits;
route_fn	trade_place;
route_fn	trade_cancel;
route_fn	trade_cancel_all;
route_fn	trade_amend;
route_fn	trade_orders;
route_fn	trade_order_by_cid;
route_fn	trade_order;
route_fn	trade_fills;
route_fn	trade_withdraw;
route_fn	trade_withdrawals;
route_fn	trade_withdrawal;

/* Internal commands (demo, cron): queued without an HTTP answer. */
struct exchange_cmd;
struct market;
struct book;
int	 route_submit(struct exchange_cmd *);
/* A login: the user's ledger id (registered when new); demo funds. */
int64_t	 route_login(const char *addr);
int64_t	 route_user_id(const char *addr);
void	 route_demo_fund(int64_t uid, const char *addr, unsigned int mult);
size_t	 route_market_count(void);
int64_t	 route_market_id(size_t);
const struct market *route_market(size_t);
const struct book *route_book(size_t);

/* kdexd_demo.c */
int	 demo_init(struct kdexd *, char **cause);
void	 demo_cron(struct kdexd *);

#endif
