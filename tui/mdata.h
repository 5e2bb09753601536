/*
 * mdata: the full-screen client's copy of one market's live data (order
 * book ladder, trades tape) kept from kdexd's WebSocket messages, with
 * the sequence checks the contract asks for.
 *
 * Pure: no I/O, no curses, no clock, so tests/check_mdata.c can feed it
 * message sequences. Prices and quantities stay decimal strings for
 * display and are also parsed into integers (money.h) with the market's
 * decimals to sort levels and scale depth bars exactly.
 */
#ifndef KDEX_MDATA_H
#define KDEX_MDATA_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "money.h"

#define MDATA_LEVELS_MAX	256	/* levels kept per side */
#define MDATA_TRADES_MAX	128	/* trades kept in the tape */

struct mdata_level {
	char	price[MONEY_BUFSZ];
	char	qty[MONEY_BUFSZ];
	u128	p, q;
};

struct mdata_trade {
	char	id[32];
	char	price[MONEY_BUFSZ];
	char	qty[MONEY_BUFSZ];
	int	buy;		/* taker side */
	int64_t	ts;
};

struct mdata {
	char			pair[32];
	unsigned int		price_dec;	/* quote decimals */
	unsigned int		qty_dec;	/* base decimals */
	int			have_book;	/* a snapshot was applied */
	uint64_t		seq;
	unsigned int		gaps;		/* resyncs so far */
	struct mdata_level	bids[MDATA_LEVELS_MAX];	/* best first */
	size_t			nbids;
	struct mdata_level	asks[MDATA_LEVELS_MAX];
	size_t			nasks;
	struct mdata_trade	trades[MDATA_TRADES_MAX]; /* newest first */
	size_t			ntrades;
};

/* What applying a message did. */
enum mdata_result {
	MDATA_IGNORED = 0,	/* not for this market, or no snapshot yet */
	MDATA_CHANGED,		/* applied; redraw */
	MDATA_GAP,		/* sequence gap or bad data: book dropped,
				   the caller must resubscribe */
};

/* Reset for a market (clears everything). */
void	mdata_init(struct mdata *, const char *pair, unsigned int price_dec,
	    unsigned int qty_dec);

/*
 * A book message: {"type":"snapshot"|"update","seq":N,"bids":[[p,q]..],
 * "asks":[...]} (REST /book answers are snapshots too). A snapshot
 * replaces the book; an update must have seq == previous + 1 and sets
 * levels (qty "0" removes one). A gap, a level that does not parse, or a
 * crossed book after an update gives MDATA_GAP and clears the book.
 */
enum mdata_result mdata_book(struct mdata *, const cJSON *msg, int snapshot);

/* A trade message {"id","price","qty","taker_side","ts"}: pushed on the
 * tape (duplicates by id are ignored). */
enum mdata_result mdata_trade(struct mdata *, const cJSON *trade);

/* Compare two decimal strings as numbers: <0, 0, >0 (garbage sorts low). */
int	mdata_deccmp(const char *, const char *);

#endif
