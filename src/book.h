/*
 * book: the price-time-priority limit order book of one market.
 *
 * Deterministic and pure: time, order ids and the first sequence number are
 * inputs; no clock, no I/O, no randomness, no SQLite. All memory (order
 * pool, id and client-id indexes, price levels, expiry heap) is allocated
 * by book_create, sized from the market's limits, so the matching path never
 * allocates and a fill cannot fail for lack of memory.
 *
 * Commands go in (book_place, book_cancel, ...); what happened comes out as
 * a stream of events handed, in order, to the sink given at creation. Every
 * event carries the market's sequence number (+1 per event); level events
 * also carry a depth sequence (+1 per level change) that matches
 * book_depth_seq, so a replica kept from a depth snapshot plus level events
 * can spot gaps.
 *
 * FUNDS: the book does not know balances. The caller (exchange_, see
 * ledger) checks and reserves funds BEFORE handing a place or an increasing
 * amend to the book, using market_reserve (or max_quote for a market buy),
 * and applies the events afterwards: a trade gives price, lots, notional
 * and both fees in quote base units, with maker/taker users and order ids
 * and what each order has left; a cancel or done releases what the order
 * still reserved. A fill's reservation use is market_reserve of the filled
 * lots at the order's own limit price; what the buyer pays is notional +
 * taker/maker fee (minus rebate); the difference goes back to available.
 *
 * Order of events for a place: ACCEPTED (or REJECTED and nothing else), then
 * per fill: TRADE, DONE for a maker that filled completely, LEVEL for the
 * maker level; then for the taker one of DONE (filled), RESTED (+ LEVEL), or
 * CANCELLED (IOC/FOK/market remainder, STP, max_quote exhausted). Makers
 * removed by STP get CANCELLED (+ LEVEL). Before any command, GTD orders
 * whose expiry is <= the command's time are cancelled (reason EXPIRED).
 *
 * Invariants asserted after every command (kept on in release builds): best
 * bid < best ask, each fill conserves quantity, counts within limits; with
 * KDEX_DEBUG also a whole-book walk (book_check).
 */
#ifndef KDEX_BOOK_H
#define KDEX_BOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "market.h"
#include "money.h"

/* Client order ids: printable ASCII, 1..BOOK_CLIENT_ID_MAX bytes. */
#define BOOK_CLIENT_ID_MAX	36

/* User ids are non-zero; 0 in a cancel means "any user" (operator). */
#define BOOK_ANY_USER		0

enum book_side {
	BOOK_BUY = 0,
	BOOK_SELL = 1,
};

enum book_type {
	BOOK_LIMIT = 0,
	BOOK_MARKET,	/* IOC with a protection price and/or max slippage */
};

enum book_tif {
	BOOK_GTC = 0,
	BOOK_IOC,
	BOOK_FOK,	/* all or nothing, at once; rejected if it cannot */
};

/* Self-trade prevention: what happens when a taker meets its own user. */
enum book_stp {
	BOOK_STP_CANCEL_TAKER = 0,	/* default: taker remainder cancelled */
	BOOK_STP_CANCEL_MAKER,		/* resting order cancelled, go on */
	BOOK_STP_CANCEL_BOTH,
};

/* Why a command was refused (nothing changed). Stable: logged and sent. */
enum book_reject {
	BOOK_OK = 0,
	BOOK_REJ_HALTED,		/* market halted */
	BOOK_REJ_CANCEL_ONLY,		/* market cancel-only */
	BOOK_REJ_BAD_PRICE,		/* 0 or above max_price_ticks */
	BOOK_REJ_BAD_QTY,		/* 0 or above max_qty_lots */
	BOOK_REJ_MIN_SIZE,		/* below min_lots */
	BOOK_REJ_MIN_NOTIONAL,		/* limit order below min_notional */
	BOOK_REJ_BAD_ORDER,		/* bad combination of fields */
	BOOK_REJ_BAD_CLIENT_ID,		/* too long or not printable */
	BOOK_REJ_DUPLICATE_ID,		/* order id already live */
	BOOK_REJ_DUPLICATE_CLIENT_ID,	/* client id live for this user */
	BOOK_REJ_WOULD_TAKE,		/* post-only that would cross */
	BOOK_REJ_NO_LIQUIDITY,		/* market with empty other side; FOK */
	BOOK_REJ_NO_PROTECTION,		/* market without price or slippage */
	BOOK_REJ_EXPIRED,		/* expire_at <= now */
	BOOK_REJ_BOOK_FULL,		/* max_orders resting */
	BOOK_REJ_LEVELS_FULL,		/* max_levels on that side */
	BOOK_REJ_USER_LIMIT,		/* max_orders_per_user */
	BOOK_REJ_NOT_FOUND,		/* no such live order of this user */
};
#define BOOK_REJ_COUNT	(BOOK_REJ_NOT_FOUND + 1)

/* Why a live order left the book with quantity left. */
enum book_cancel_reason {
	BOOK_CXL_USER = 0,	/* cancel, cancel by client id, cancel-all */
	BOOK_CXL_IOC,		/* unfilled rest of an IOC or market order */
	BOOK_CXL_STP,		/* self-trade prevention */
	BOOK_CXL_EXPIRED,	/* GTD expiry reached */
	BOOK_CXL_MAX_QUOTE,	/* market buy spent its quote budget */
};

/* Which command a REJECTED event answers. */
enum book_cmd {
	BOOK_CMD_PLACE = 0,
	BOOK_CMD_CANCEL,
	BOOK_CMD_CANCEL_CLIENT,
	BOOK_CMD_CANCEL_ALL,
	BOOK_CMD_AMEND,
	BOOK_CMD_EXPIRE,
};

/* A new order. Zero-initialise, then set what you need. */
struct book_place {
	uint64_t	 id;		/* unique among live orders; > 0 */
	uint64_t	 user;		/* > 0 */
	const char	*client_id;	/* NULL or "": none; copied */
	enum book_side	 side;
	enum book_type	 type;
	enum book_tif	 tif;		/* market orders: IOC or FOK */
	bool		 post_only;	/* limit GTC only */
	enum book_stp	 stp;
	/*
	 * Limit: the limit price in ticks. Market: the protection price (worst
	 * price to trade at), 0 for none; then slippage_bps must be set.
	 */
	uint64_t	 price;
	/*
	 * Lots. A market buy with max_quote may give 0: as much as the budget
	 * buys.
	 */
	uint64_t	 qty;
	/*
	 * Market buy only: cap on notional + taker fee in quote base units,
	 * 0 for none. Fills stop before the cap would be passed.
	 */
	u128		 max_quote;
	/*
	 * Market only: protection at best opposite price * (1 +/- bps/10000),
	 * rounded to the tick towards the best price; 0 for none. With price
	 * also set, the tighter bound wins.
	 */
	uint32_t	 slippage_bps;
	uint64_t	 expire_at;	/* GTD (limit GTC); 0: none; > now */
	/*
	 * The user's fee tier (book_set_tiers), < MARKET_TIERS_MAX; 0: the
	 * base rates. The caller keeps it current: see book_set_user_tier.
	 */
	unsigned int	 tier;
};

enum book_event_type {
	BOOK_EV_ACCEPTED = 0,
	BOOK_EV_REJECTED,
	BOOK_EV_TRADE,
	BOOK_EV_RESTED,		/* the taker's remainder now rests */
	BOOK_EV_CANCELLED,
	BOOK_EV_DONE,		/* filled completely; no longer live */
	BOOK_EV_AMENDED,
	BOOK_EV_LEVEL,		/* a level's total changed (qty 0: gone) */
};

struct book_event {
	enum book_event_type	 type;
	uint64_t		 seq;	/* per market, +1 per event */
	uint64_t		 time;	/* the command's time */
	union {
		struct {	/* ACCEPTED */
			uint64_t	 id;
			uint64_t	 user;
			enum book_side	 side;
			enum book_type	 type;
			enum book_tif	 tif;
			bool		 post_only;
			uint64_t	 price;	/* limit or effective protection */
			uint64_t	 qty;	/* 0: market buy by max_quote */
			u128		 max_quote;
			uint64_t	 expire_at;
			const char	*client_id; /* "" if none; valid in sink */
		} accepted;
		struct {	/* REJECTED */
			enum book_cmd	 cmd;
			enum book_reject reason;
			uint64_t	 id;	/* 0 when by client id / all */
			uint64_t	 user;
		} rejected;
		struct {	/* TRADE: price is the maker's */
			uint64_t	 taker_id;
			uint64_t	 maker_id;
			uint64_t	 taker_user;
			uint64_t	 maker_user;
			enum book_side	 taker_side;
			uint64_t	 price;		/* ticks */
			uint64_t	 qty;		/* lots */
			u128		 notional;	/* quote base units */
			u128		 taker_fee;	/* quote, charged */
			u128		 maker_fee;	/* quote, charged */
			u128		 maker_rebate;	/* quote, paid */
			/* The tiers and rates this fill was charged at. */
			unsigned int	 taker_tier;
			unsigned int	 maker_tier;
			int32_t		 taker_fee_ppm;
			int32_t		 maker_fee_ppm;
			/*
			 * Lots left after the fill; a market buy by budget
			 * alone (qty 0) counts down from max_qty_lots.
			 */
			uint64_t	 taker_left;
			uint64_t	 maker_left;
		} trade;
		struct {	/* RESTED */
			uint64_t	 id;
			uint64_t	 user;
			enum book_side	 side;
			uint64_t	 price;
			uint64_t	 qty;	/* lots now resting */
		} rested;
		struct {	/* CANCELLED */
			uint64_t	 id;
			uint64_t	 user;
			enum book_side	 side;
			uint64_t	 price;
			uint64_t	 left;	/* lots unfilled, released */
			enum book_cancel_reason reason;
		} cancelled;
		struct {	/* DONE */
			uint64_t	 id;
			uint64_t	 user;
			enum book_side	 side;
			uint64_t	 price;
		} done;
		/*
		 * AMENDED: the new values. Kept priority: then LEVEL if the
		 * quantity went down. Otherwise: LEVEL for the old level, then
		 * the events of placing it again (TRADE..., then DONE, RESTED
		 * or CANCELLED).
		 */
		struct {
			uint64_t	 id;
			uint64_t	 user;
			enum book_side	 side;
			uint64_t	 old_price;
			uint64_t	 old_qty;	/* lots left before */
			uint64_t	 price;
			uint64_t	 qty;
			bool		 kept_priority;
		} amended;
		struct {	/* LEVEL */
			enum book_side	 side;
			uint64_t	 price;
			uint64_t	 qty;		/* total lots; 0: removed */
			uint32_t	 orders;
			uint64_t	 depth_seq;
		} level;
	};
};

/*
 * Receives every event in order. ev (and its client_id string) is only
 * valid during the call: copy what you keep. Must not call back into the
 * book.
 */
typedef void	 book_sink_fn(void *arg, const struct book_event *ev);

struct book;

/*
 * Create an empty book for market m (copied; limits from m->cfg.limits).
 * Events get sequence numbers first_seq, first_seq + 1, ... Returns a book
 * the caller owns and frees with book_free. Allocates everything it will
 * ever need; never returns NULL (dies on out-of-memory).
 */
struct book	*book_create(const struct market *m, uint64_t first_seq,
		    book_sink_fn *sink, void *arg);
void		 book_free(struct book *);

/*
 * Commands. now is the caller's clock (ms, non-decreasing is not required
 * but expiry uses it). Each returns BOOK_OK if accepted, else the reason,
 * after emitting a REJECTED event.
 */
enum book_reject book_place(struct book *, uint64_t now,
		    const struct book_place *);

/* Cancel one live order of user (BOOK_ANY_USER: any user's). */
enum book_reject book_cancel(struct book *, uint64_t now, uint64_t user,
		    uint64_t id);
enum book_reject book_cancel_client(struct book *, uint64_t now,
		    uint64_t user, const char *client_id);

/*
 * Cancel every live order of user, oldest first; BOOK_ANY_USER empties the
 * whole book: bids then asks, best level first, FIFO within a level. Each
 * order gets CANCELLED then LEVEL. Returns how many were cancelled (0 if
 * none: no event). Refused (returns 0 after a REJECTED event) only when
 * halted. Per market: the exchange calls it on each book for "all markets".
 */
size_t		 book_cancel_all(struct book *, uint64_t now, uint64_t user);

/*
 * Amend a live order to price (0: keep) and qty lots LEFT (0: keep). A
 * lower qty at the same price keeps time priority; anything else is cancel
 * and new with the same id and client id: it goes to the back of its new
 * level and may trade like a GTC limit order (post-only orders stay
 * post-only and are rejected, unchanged, if they would take).
 */
enum book_reject book_amend(struct book *, uint64_t now, uint64_t user,
		    uint64_t id, uint64_t price, uint64_t qty);

/* Cancel GTD orders with expire_at <= now. Returns how many. */
size_t		 book_expire(struct book *, uint64_t now);

/*
 * Put back a resting order at startup (from the ledger's open orders, in
 * original time order) with lots_left remaining; emits no events. Returns
 * BOOK_OK, or the reason the order cannot rest (it would cross, a
 * duplicate, a limit) which means the stored state is corrupt.
 */
enum book_reject book_restore(struct book *, const struct book_place *,
		    uint64_t lots_left);

/* Change status (halt, cancel-only, reopen). No event. */
void		 book_set_status(struct book *, enum market_status);

/*
 * Change the fee rates for fills from now on (same bounds as market_init);
 * returns 0, or -1 and changes nothing. Resting buys reserved with the old
 * rates: the caller must top up or release reservations (market_reserve
 * with the new rates) when max(maker, taker) changes. No event.
 */
int		 book_set_fees(struct book *, int32_t maker_ppm,
		    int32_t taker_ppm);

/*
 * Fee tiers (market.h). book_set_fees changes tier 0 and is refused while a
 * tier would then be above the new base rates. book_set_tiers replaces the
 * table (checked with market_tiers_check; tier 0 must be the current base
 * rates); returns 0, or -1 and changes nothing. A tier number at or above
 * the table's size is charged the base rates. Tier rates never exceed the
 * base rates, so reservations never change with tiers. No event.
 */
int		 book_set_tiers(struct book *, const struct market_tiers *);
const struct market_tiers *book_tiers(const struct book *);

/*
 * Charge user's resting orders at tier from their next fill on (new orders
 * carry the tier in book_place). O(the user's resting orders); returns how
 * many orders changed, or -1 (tier >= MARKET_TIERS_MAX). No event.
 */
int		 book_set_user_tier(struct book *, uint64_t user,
		    unsigned int tier);

/*
 * Change the limits. Memory was sized at book_create, so max_orders and
 * max_levels may not exceed the creation values; all must be non-zero.
 * Lowering a limit below what the book holds refuses new orders until
 * enough leave; nothing is cancelled. Returns 0, or -1 and changes nothing.
 */
int		 book_set_limits(struct book *, const struct market_limits *);

/* The market as copied at creation (status as last set). */
const struct market *book_market(const struct book *);

/* Best price and its total lots; false if that side is empty. O(1). */
bool		 book_best(const struct book *, enum book_side,
		    uint64_t *price, uint64_t *qty);

struct book_level {
	uint64_t	 price;
	uint64_t	 qty;		/* total lots */
	uint32_t	 orders;
};

/*
 * Copy up to max levels of one side, best first, into out (caller's
 * array). Returns how many were written.
 */
size_t		 book_depth(const struct book *, enum book_side,
		    struct book_level *out, size_t max);

/* Last sequence number used (first_seq - 1 before any event). */
uint64_t	 book_seq(const struct book *);
/* Number of level changes so far: the depth snapshot's sequence. */
uint64_t	 book_depth_seq(const struct book *);

/* What the book knows of one live order. */
struct book_order_info {
	uint64_t	 id;
	uint64_t	 user;
	enum book_side	 side;
	uint64_t	 price;
	uint64_t	 qty;		/* original lots */
	uint64_t	 left;		/* lots resting */
	uint64_t	 expire_at;
	char		 client_id[BOOK_CLIENT_ID_MAX + 1];
};

/* Fill *out for live order id; false if there is none. O(1). */
bool		 book_order(const struct book *, uint64_t id,
		    struct book_order_info *out);
/* Live order with this user's client id; false if none. */
bool		 book_order_by_client(const struct book *, uint64_t user,
		    const char *client_id, struct book_order_info *out);

size_t		 book_order_count(const struct book *);
size_t		 book_user_order_count(const struct book *, uint64_t user);
size_t		 book_level_count(const struct book *, enum book_side);

/*
 * Walk the whole book and assert every invariant: levels sorted and
 * within limits, level totals and counts equal their orders, index and
 * user lists consistent, best bid < best ask. O(orders). Called after
 * every command when built with KDEX_DEBUG; tests call it directly.
 */
void		 book_check(const struct book *);

/* Static names for logs, tests and the API ("duplicate_client_id"). */
const char	*book_reject_name(enum book_reject);
const char	*book_cancel_reason_name(enum book_cancel_reason);
const char	*book_side_name(enum book_side);

#endif
