/*
 * kdexd_demo: what --demo adds, so that a newcomer sees a live market.
 *
 * Unless the config says "demo-maker no", two built-in users trade: a
 * market maker re-quotes five levels a side around a drifting mid price
 * every two seconds, and a taker crosses the spread every three seconds,
 * so trades, candles and book updates flow. They are funded the way real
 * users are (kdexd_settle.c, settle_demo_user): each gets a storage
 * account it owns on the devnet, with the operator's SEND_ON_BEHALF per
 * market token, registered after the same on-chain check as POST
 * /account/storage; the devnet faucet sends it tokens and the deposit
 * watcher credits them. Their trades settle on chain like anyone's. They
 * start trading once the credits are in. Their keys come from fixed
 * seeds, so a restart finds the same users and storage accounts, and the
 * faucet's send is keyed, so nothing is funded twice.
 *
 * Every user who logs in still gets demo funds at login (route_login),
 * credited off chain; the demo reserve carries those on chain at
 * settlement (doc/settlement.md).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "exchange.h"
#include "keeta_account.h"
#include "kdexd.h"
#include "kdexd_settle.h"
#include "ledger.h"
#include "util.h"

#define DEMO_LEVELS	5
#define QUOTE_MS	2000
#define TAKE_MS		3000

static int64_t	mm_uid, taker_uid;
static uint64_t	mids[KDEXD_MARKETS_MAX];
static int64_t	last_quote_ms, last_take_ms;
static int	funded;

/* A demo user from a fixed seed phrase; registers it and has the chain
 * worker fund it. */
static int64_t
demo_user(const char *phrase, unsigned int mult, char **cause)
{
	struct keeta_account	*acct;
	uint8_t			 seed[KEETA_SEED_LEN];
	char			 addr[KEETA_ADDRESS_MAX];
	const char		*why;
	int64_t			 uid;

	keeta_sha3_256(phrase, strlen(phrase), seed);
	if ((acct = keeta_account_from_seed(seed, 0, KEETA_KEY_ED25519,
	    &why)) == NULL) {
		xasprintf(cause, "demo key: %s", why);
		return (0);
	}
	keeta_address_encode(keeta_account_pubkey(acct), addr);
	if ((uid = route_user_id(addr)) == 0) {
		keeta_account_free(acct);
		xasprintf(cause, "cannot register demo user %s", addr);
		return (0);
	}
	settle_demo_user(uid, acct, mult);
	log_info("demo user %s (%s)", addr, phrase);
	return (uid);
}

int
demo_init(struct kdexd *s, char **cause)
{
	const struct market	*m;
	const struct book	*b;
	uint64_t		 bid, ask, q;
	size_t			 i;

	if (!s->conf.demo_maker)
		return (0);
	if ((mm_uid = demo_user("kdexd demo market maker", 100, cause)) == 0 ||
	    (taker_uid = demo_user("kdexd demo taker", 10, cause)) == 0)
		return (-1);
	for (i = 0; i < route_market_count(); i++) {
		m = route_market(i);
		b = route_book(i);
		/* Start from the book if it has both sides, else from 1. */
		if (b != NULL && book_best(b, BOOK_BUY, &bid, &q) &&
		    book_best(b, BOOK_SELL, &ask, &q))
			mids[i] = (bid + ask) / 2;
		else if (market_parse_price(m, "1", &mids[i]) != MARKET_OK)
			mids[i] = 1000;
		if (mids[i] < 100)
			mids[i] = 100;
	}
	return (0);
}

static void
demo_place(size_t mi, int64_t uid, enum book_side side, enum book_tif tif,
    uint64_t price, uint64_t lots)
{
	struct exchange_cmd	cmd;

	memset(&cmd, 0, sizeof cmd);
	cmd.type = EXCHANGE_PLACE;
	cmd.user = uid;
	cmd.market = route_market_id(mi);
	cmd.side = side;
	cmd.order_type = BOOK_LIMIT;
	cmd.tif = tif;
	cmd.price = price;
	cmd.qty = lots;
	route_submit(&cmd);
}

static void
demo_quote(size_t mi)
{
	const struct market	*m = route_market(mi);
	struct exchange_cmd	 cmd;
	uint64_t		 step, lots, drift;
	int			 i;

	if (m->cfg.status != MARKET_OPEN)
		return;
	memset(&cmd, 0, sizeof cmd);
	cmd.type = EXCHANGE_CANCEL_ALL;
	cmd.user = mm_uid;
	cmd.market = route_market_id(mi);
	route_submit(&cmd);

	step = mids[mi] / 500 > 0 ? mids[mi] / 500 : 1;	/* 0.2 % */
	drift = randombytes_uniform(5);
	if (drift < 2 && mids[mi] > 200 + step)
		mids[mi] -= step;
	else if (drift > 2)
		mids[mi] += step;
	lots = m->cfg.min_lots > 0 ? m->cfg.min_lots : 1;
	for (i = 1; i <= DEMO_LEVELS; i++) {
		demo_place(mi, mm_uid, BOOK_BUY, BOOK_GTC,
		    mids[mi] - (uint64_t)i * step,
		    lots * (100 + randombytes_uniform(900)));
		demo_place(mi, mm_uid, BOOK_SELL, BOOK_GTC,
		    mids[mi] + (uint64_t)i * step,
		    lots * (100 + randombytes_uniform(900)));
	}
}

static void
demo_take(size_t mi)
{
	const struct market	*m = route_market(mi);
	uint64_t		 step, lots;
	int			 buy = randombytes_uniform(2);

	if (m->cfg.status != MARKET_OPEN)
		return;
	step = mids[mi] / 500 > 0 ? mids[mi] / 500 : 1;
	lots = (m->cfg.min_lots > 0 ? m->cfg.min_lots : 1) *
	    (50 + randombytes_uniform(400));
	demo_place(mi, taker_uid, buy ? BOOK_BUY : BOOK_SELL, BOOK_IOC,
	    buy ? mids[mi] + 2 * step : mids[mi] - 2 * step, lots);
}

/* Both demo users hold every market token in the ledger: credited. */
static int
demo_funded(struct kdexd *s)
{
	const struct market	*m;
	struct ledger_token	 t;
	struct ledger_balance	 b;
	size_t			 i;
	int			 k, u;

	for (i = 0; i < route_market_count(); i++) {
		m = route_market(i);
		for (k = 0; k < 4; k++) {
			u = k / 2;
			if (ledger_token_find(s->ledger, k % 2 ?
			    m->cfg.quote.address : m->cfg.base.address, &t) !=
			    LEDGER_OK || ledger_balance_get(s->ledger, u ?
			    taker_uid : mm_uid, t.id, &b) != LEDGER_OK ||
			    b.total == 0)
				return (0);
		}
	}
	log_info("demo users funded on chain; trading starts");
	return (1);
}

void
demo_cron(struct kdexd *s)
{
	int64_t	now = kdexd_now_ms();
	size_t	i;

	if (!s->conf.demo_maker || mm_uid == 0 || s->draining)
		return;
	if (!funded && !(funded = demo_funded(s)))
		return;
	if (now - last_quote_ms >= QUOTE_MS) {
		last_quote_ms = now;
		for (i = 0; i < route_market_count(); i++)
			demo_quote(i);
	}
	if (now - last_take_ms >= TAKE_MS) {
		last_take_ms = now;
		for (i = 0; i < route_market_count(); i++)
			demo_take(i);
	}
}
