/*
 * exchange: the glue kdexd drives.  It owns one book per market and the
 * ledger, and turns queued commands into durable results.
 *
 * Commands (place, cancel, cancel by client id, cancel-all, amend, expire,
 * deposit credit, withdrawal request) are queued with exchange_submit() and
 * run together by exchange_run(), which for each command checks the market,
 * the user and the funds, reserves, runs the book, and turns the book's
 * events into balance movements: the taker and maker swap base and quote,
 * fees go to the fee account (ledger user 1), unused reservations and the
 * price improvement of buys go back to available.  The whole batch is then
 * committed in ONE SQLite transaction (group commit) and only after the
 * commit are the results and events handed back, with the ticket that
 * says when they are durable (the caller acknowledges nothing before).
 * When the commit fails the books and the exchange's order table are
 * rebuilt from the database, so nothing that was not committed is ever
 * visible.
 *
 * Order ids, fill ids, event sequence numbers and times come from counters
 * persisted in the same transaction: they are never reused after a crash,
 * and times never go backwards.
 *
 * Not thread-safe: one event loop owns the exchange.
 */
#ifndef KDEX_EXCHANGE_H
#define KDEX_EXCHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "book.h"
#include "ledger.h"
#include "market.h"
#include "money.h"

/* Most commands queued for one batch. */
#define EXCHANGE_QUEUE_MAX	65536

struct exchange;

enum exchange_cmd_type {
	EXCHANGE_PLACE = 0,
	EXCHANGE_CANCEL,	/* by order id */
	EXCHANGE_CANCEL_CLIENT,	/* by client id */
	EXCHANGE_CANCEL_ALL,	/* market 0: every market; user 0: everyone */
	EXCHANGE_AMEND,
	EXCHANGE_EXPIRE,	/* GTD sweep of every market */
	EXCHANGE_DEPOSIT,	/* credit an on-chain deposit (idempotent) */
	EXCHANGE_WITHDRAW,	/* reserve and queue a withdrawal */
	EXCHANGE_SET_FEES,	/* new maker/taker rates for a market */
	EXCHANGE_SET_TIERS,	/* new fee tier table for a market */
	EXCHANGE_SET_LIMITS,	/* new size and count limits for a market */
};

/* Why a command was refused; EXCHANGE_OK when it was carried out. */
enum exchange_reject {
	EXCHANGE_OK = 0,
	EXCHANGE_REJ_BOOK,		/* the book refused: see book_reason */
	EXCHANGE_REJ_INSUFFICIENT,	/* not enough available */
	EXCHANGE_REJ_UNKNOWN_MARKET,
	EXCHANGE_REJ_UNKNOWN_USER,
	EXCHANGE_REJ_FORBIDDEN,		/* user frozen or withdraw-only */
	EXCHANGE_REJ_NOT_FOUND,
	EXCHANGE_REJ_BAD_REQUEST,
	EXCHANGE_REJ_DUPLICATE,		/* idempotent replay: id is the old one */
	EXCHANGE_REJ_INTERNAL,		/* the batch could not be committed */
};

/* A command.  Zero-initialise, then set what the type needs. */
struct exchange_cmd {
	enum exchange_cmd_type	 type;
	uint64_t		 tag;		/* the caller's, echoed back */
	int64_t			 user;		/* ledger user id */
	int64_t			 market;	/* ledger market id */
	/* PLACE */
	char			 client_id[BOOK_CLIENT_ID_MAX + 1];
	enum book_side		 side;
	enum book_type		 order_type;
	enum book_tif		 tif;
	bool			 post_only;
	enum book_stp		 stp;
	uint64_t		 price;		/* ticks (limit/protection) */
	uint64_t		 qty;		/* lots; AMEND: lots left, 0 keep */
	u128			 max_quote;
	uint32_t		 slippage_bps;
	uint64_t		 expire_at;
	/* CANCEL, AMEND (order_id); CANCEL_CLIENT uses client_id */
	int64_t			 order_id;
	/* DEPOSIT, WITHDRAW */
	int64_t			 token;
	u128			 amount;
	char			 ref[LEDGER_HASH_MAX];	/* block / idem key */
	int			 op_index;		/* DEPOSIT */
	char			 to[LEDGER_ADDR_MAX];	/* WITHDRAW */
	bool			 needs_approval;	/* WITHDRAW */
	/*
	 * SET_FEES: from the next fill on.  Resting buys are re-reserved at
	 * the new rates; one whose owner cannot cover a higher fee is
	 * cancelled (its events are in the result).
	 */
	int32_t			 maker_fee_ppm;
	int32_t			 taker_fee_ppm;
	/*
	 * SET_TIERS: the whole table (market.h); tier[0] is ignored and taken
	 * from the market's base rates. Checked with market_tiers_check
	 * (REJ_BAD_REQUEST), stored with an audit line, every user's tier
	 * recounted: in effect from the next fill. SET_FEES is refused
	 * (REJ_BAD_REQUEST) when a tier would be above the new base rates.
	 */
	struct market_tiers	 tiers;
	/*
	 * SET_LIMITS: these replace the market's (market_init's bounds), from
	 * the next command on; stored with an audit line (cause correction,
	 * zero deltas, on the fee account). Limits never cancel an order: a
	 * resting order the new limits would refuse fails the command with
	 * REJ_BOOK, that order's book_reason and its id in the result, and
	 * nothing changes. A market_init refusal is REJ_BAD_REQUEST.
	 */
	uint64_t		 min_lots;
	u128			 min_notional;
	uint64_t		 max_qty_lots;
	struct market_limits	 limits;
};

/* One book event of the batch, with what the caller needs to publish it. */
struct exchange_event {
	int64_t			 market;
	struct book_event	 ev;		/* ev.accepted.client_id: NULL */
	char			 client_id[BOOK_CLIENT_ID_MAX + 1];
	int64_t			 fill_id;	/* TRADE: the ledger fill */
};

struct exchange_result {
	uint64_t		 tag;
	enum exchange_cmd_type	 type;
	enum exchange_reject	 reject;
	enum book_reject	 book_reason;	/* when reject == REJ_BOOK */
	int64_t			 id;	/* order, deposit or withdrawal id */
	size_t			 ncancelled;	/* CANCEL_ALL, EXPIRE */
	size_t			 ev_first;	/* this command's events */
	size_t			 ev_count;
};

/*
 * What exchange_run() hands back; valid until the next run or close.  The
 * batch is durable once ledger_durable(exchange_ledger()) >= ticket: at
 * once unless the ledger was opened pipelined (ledger.h), when the caller
 * holds the results and events back until then (the next batch may run
 * meanwhile: it builds on this one, and a sync failure stops the process).
 */
struct exchange_out {
	const struct exchange_result	*results;
	size_t				 nresults;
	const struct exchange_event	*events;
	size_t				 nevents;
	uint64_t			 ts;	/* the batch's time */
	uint64_t			 ticket;
};

/*
 * Open the ledger at path (created if needed), load every market and
 * rebuild its book from the open orders, then check the books against the
 * ledger (reservations, conservation).  Returns NULL with *cause (caller
 * frees) on any failure.  The caller owns the result (exchange_close()).
 */
struct exchange	*exchange_open(const char *, const struct ledger_options *,
		    char **);
void		 exchange_close(struct exchange *);
struct ledger	*exchange_ledger(struct exchange *);

/* Add a market (status as in cfg) or find it by pair; *id its ledger id. */
int		 exchange_market_add(struct exchange *,
		    const struct market_config *, int64_t *, char **);
int		 exchange_market_set_status(struct exchange *, int64_t,
		    enum market_status);
/* The book of a market (for depth and best prices); NULL if unknown. */
const struct book *exchange_book(struct exchange *, int64_t);
const struct market *exchange_market(struct exchange *, int64_t);

/*
 * Fee tiers (issue 8). Each user's tier in a market comes from their
 * volume there (quote base units, as maker and taker) over the last
 * EXCHANGE_TIER_WINDOW_MS: recounted from the ledger's fills at open, when
 * the table changes and every EXCHANGE_TIER_RECOUNT_MS of batch time, and
 * raised as fills add volume, from the user's next command on.
 */
#define EXCHANGE_TIER_WINDOW_MS		(30ULL * 86400 * 1000)
#define EXCHANGE_TIER_RECOUNT_MS	(3600ULL * 1000)
/* The market's table (n 1: base rates only); NULL if unknown. */
const struct market_tiers *exchange_market_tiers(struct exchange *, int64_t);
/* A user's tier and counted volume in a market; -1 if unknown market. */
int		 exchange_user_tier(struct exchange *, int64_t market,
		    int64_t user, unsigned int *tier, u128 *volume);

/* Queue a command (copied).  -1 when the queue is full. */
int		 exchange_submit(struct exchange *, const struct exchange_cmd *);
size_t		 exchange_pending(struct exchange *);

/*
 * Run every queued command at time now (ms; the batch time is the larger
 * of now and the last batch's), commit, and fill *out.  Returns 0 when the
 * batch is committed (durable at out->ticket); -1 when it could not be
 * committed: then *cause is set,
 * every result is EXCHANGE_REJ_INTERNAL, there are no events, and the
 * books are as they were before the batch.
 */
int		 exchange_run(struct exchange *, uint64_t,
		    struct exchange_out *, char **);

/*
 * Check books against the ledger: every live order in a book has its row,
 * and its reservation equals what its remaining lots need; then
 * ledger_check().  Returns the number of failures (messages as in
 * ledger_check(), freed with ledger_check_free()); -1 on database error.
 */
int		 exchange_check(struct exchange *, char ***, size_t *);

/* Stable lower_snake_case code of doc/api.md for a result. */
const char	*exchange_reject_code(const struct exchange_result *);

#endif
