/*
 * market: one trading pair's rules, and exact conversion between the
 * decimal strings clients send and the integers the book matches on.
 *
 * Units (decided here, used everywhere):
 * - a quantity is an integer number of LOTS; one lot is lot_size base
 *   units of the base token;
 * - a price is an integer number of TICKS; one tick is tick_size base units
 *   of the quote token per ONE WHOLE base token (10^base.decimals base
 *   units), so "1.25" USDC per KTA is 1250000 quote base units per KTA with
 *   6-decimal USDC, which must be a multiple of tick_size;
 * - the notional of q lots at p ticks is q * p * unit quote base units, where
 *   unit = tick_size * lot_size / 10^base.decimals. A market whose tick and
 *   lot do not make unit an exact integer is rejected by market_init, so
 *   every notional in kdex is exact.
 *
 * Fees are charged in the quote token. A taker fee rounds up; a maker rebate
 * (negative maker rate) rounds down and its rate may not exceed the taker
 * rate, so the exchange never pays out more than it takes on any trade.
 *
 * A buy order reserves, per lot, price * unit plus the fee on that at the
 * larger of the two rates, rounded up PER LOT (market_reserve). Because
 * ceil(sum) <= sum(ceil), the fee of any fill is covered by the reservation
 * of the lots it fills, and a reservation is exactly linear in the lots
 * left. A sell order reserves lots * lot_size base units.
 */
#ifndef KDEX_MARKET_H
#define KDEX_MARKET_H

#include <stdbool.h>
#include <stdint.h>

#include "money.h"

#define MARKET_ADDRESS_MAX	128	/* keeta_... token address */
#define MARKET_SYMBOL_MAX	16
#define MARKET_PAIR_MAX		(2 * MARKET_SYMBOL_MAX + 2)

enum market_status {
	MARKET_OPEN = 0,
	MARKET_HALTED,		/* nothing but expiry: no place, amend, cancel */
	MARKET_CANCEL_ONLY,	/* cancels (and reducing amends) only */
};

struct market_token {
	char		 address[MARKET_ADDRESS_MAX + 1];
	char		 symbol[MARKET_SYMBOL_MAX + 1];
	unsigned int	 decimals;	/* <= MONEY_MAX_DECIMALS */
};

/*
 * Bounds on one book (STYLE.md practice 5); all must be non-zero. The book
 * allocates for them up front, so they are capped: max_orders below 2^30,
 * max_levels at 2^20.
 */
struct market_limits {
	uint32_t	 max_orders;		/* resting orders in the book */
	uint32_t	 max_levels;		/* price levels per side */
	uint32_t	 max_orders_per_user;	/* resting orders of one user */
};

/* What an operator configures; market_init checks it. */
struct market_config {
	struct market_token	 base;
	struct market_token	 quote;
	u128			 tick_size;	/* see above; > 0 */
	u128			 lot_size;	/* base units; > 0 */
	uint64_t		 min_lots;	/* smallest order; >= 1 */
	u128			 min_notional;	/* quote base units; 0: none */
	int32_t			 maker_fee_ppm;	/* -taker..1000000 */
	int32_t			 taker_fee_ppm;	/* 0..1000000 */
	enum market_status	 status;
	uint64_t		 max_price_ticks; /* largest price; >= 1 */
	uint64_t		 max_qty_lots;	/* largest order; >= min_lots */
	struct market_limits	 limits;
};

/*
 * A checked market. Read the fields freely; change them only through
 * market_init (the book keeps its own copy, see book_set_status).
 */
struct market {
	struct market_config	 cfg;
	char			 pair[MARKET_PAIR_MAX + 1];	/* "KTA-USDC" */
	u128			 unit;		/* quote units per lot per tick */
	u128			 base_scale;	/* 10^base.decimals */
};

/*
 * Check cfg and fill *m. Rejected (returns -1, *cause set to an allocated
 * message the caller frees): empty symbols, decimals above 38, zero tick or
 * lot, tick*lot not a multiple of 10^base.decimals, fee rates out of range,
 * zero limits, max_qty_lots < min_lots, or a largest order (max_qty_lots at
 * max_price_ticks, reservation included) that overflows 128 bits.
 * Returns 0 on success; *cause is then untouched.
 */
int	 market_init(struct market *m, const struct market_config *cfg,
	    char **cause);

/* Why a price or quantity string was refused. */
enum market_err {
	MARKET_OK = 0,
	MARKET_EMPTY,
	MARKET_SIGN,		/* negative or explicit '+' */
	MARKET_JUNK,
	MARKET_DECIMALS,	/* more decimals than the token has */
	MARKET_ZERO,
	MARKET_NOT_TICK,	/* not a multiple of the tick size */
	MARKET_NOT_LOT,		/* not a multiple of the lot size */
	MARKET_TOO_LARGE,	/* above max_price_ticks / max_qty_lots */
};

/* Static lower-case text for an error ("not a multiple of the tick size"). */
const char	*market_strerror(enum market_err);

/*
 * Parse a price (quote tokens per whole base token, "1.25") into ticks, or
 * a quantity (base tokens, "10.5") into lots. Zero, non-multiples and values
 * above the market's maximum are refused; *out is untouched on error.
 */
enum market_err	 market_parse_price(const struct market *, const char *,
		    uint64_t *ticks);
enum market_err	 market_parse_qty(const struct market *, const char *,
		    uint64_t *lots);

/*
 * Format ticks as a price or lots as a quantity in the shortest exact
 * decimal form into buf (MONEY_BUFSZ bytes). Returns the length.
 */
size_t	 market_format_price(const struct market *, uint64_t ticks, char *buf);
size_t	 market_format_qty(const struct market *, uint64_t lots, char *buf);

/*
 * Notional of lots at ticks in quote base units, into *out. Returns 0, or
 * -1 on overflow (impossible within max_qty_lots and max_price_ticks).
 */
int	 market_notional(const struct market *, uint64_t ticks, uint64_t lots,
	    u128 *out);

/* Base units in lots (lots * lot_size), 0 or -1 on overflow. */
int	 market_base_units(const struct market *, uint64_t lots, u128 *out);

/*
 * What a resting or incoming limit order reserves for lots at ticks:
 * buy: lots * (ticks*unit + fee at max(maker, taker, 0) on ticks*unit,
 * rounded up) in quote base units; sell: lots * lot_size base units.
 * Returns 0 or -1 on overflow.
 */
int	 market_reserve(const struct market *, bool buy, uint64_t ticks,
	    uint64_t lots, u128 *out);

/* Status names "open", "halted", "cancel_only"; parse returns -1 if unknown. */
const char	*market_status_name(enum market_status);
int		 market_status_parse(const char *, enum market_status *);

/*
 * Fee tiers by 30-day traded volume (issue 8). Tier 0 is the market's base
 * rates (cfg.maker_fee_ppm / taker_fee_ppm) from volume 0; tiers 1..n-1
 * start at strictly increasing volumes, in quote base units. A tier's rates
 * are capped by the base rates (maker <= base maker, taker <= base taker),
 * so the reservation of market_reserve, taken at the base rates, covers the
 * fee of every fill in every tier; and every maker rebate is at most the
 * lowest taker rate of the table, so no pairing of tiers pays out more than
 * it takes.
 */
#define MARKET_TIERS_MAX	8

struct market_tier {
	u128		 min_volume;	/* quote base units, 30 days */
	int32_t		 maker_fee_ppm;
	int32_t		 taker_fee_ppm;
};

struct market_tiers {
	unsigned int	 n;		/* 1..MARKET_TIERS_MAX */
	struct market_tier tier[MARKET_TIERS_MAX];
};

/* The table of a market without tiers: tier 0 at the base rates only. */
void	 market_tiers_base(const struct market *, struct market_tiers *);

/*
 * Check a tier table against m's base rates (the rules above). Returns 0,
 * or -1 with *cause set (caller frees).
 */
int	 market_tiers_check(const struct market *, const struct market_tiers *,
	    char **cause);

/* The highest tier whose min_volume is at most volume. */
unsigned int	 market_tier_for(const struct market_tiers *, u128 volume);

#endif
