/*
 * ledger: the SQLite ledger.  See ledger.h for the contract and
 * doc/ledger.md for the schema, durability and conservation rules.
 *
 * Every amount is decimal TEXT of base units and is converted through
 * money.h; the balance cache keeps u128 values so the hot path (the
 * exchange's batch) never parses a balance twice in a transaction.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ledger.h"
#include "money.h"
#include "util.h"

/* The fills columns in the order bind_fill() binds them. */
#define FILL_COLUMNS	"id, market_id, seq, ts, price, qty, taker_side, " \
	"taker_order, maker_order, taker_user, maker_user, base_amount, " \
	"quote_amount, taker_fee, maker_fee, fee_token, taker_fee_ppm, " \
	"maker_fee_ppm, fee_tier, settlement_batch, maker_tier"
#define FILL_NCOLUMNS	21

/* Prepared statements, prepared once on first use. */
enum {
	S_COUNTER_GET,
	S_COUNTER_SET,
	S_BAL_GET,
	S_BAL_PUT,
	S_AUDIT_INS,
	S_ORDER_PUT,
	S_ORDER_INS,
	S_ORDER_UPD,
	S_ORDER_GET,
	S_ORDER_CLIENT,
	S_FILL_INS,
	S_FILL_GET,
	S_USER_GET,
	S_USER_FIND,
	S_TOKEN_GET,
	S_TOKEN_FIND,
	S_MARKET_GET,
	S_MARKET_FIND,
	S_WD_GET,
	S_DEP_GET,
	S_DEP_KEY,
	S_BATCH_GET,
	S_BAL_UPD,
	S_BAL_INS,
	S_ORDER_UPD_RB,
	S_COUNT
};

static const char *stmt_sql[S_COUNT] = {
	[S_COUNTER_GET] = "SELECT value FROM counters WHERE name = ?1",
	[S_COUNTER_SET] = "INSERT INTO counters(name, value) VALUES (?1, ?2) "
	    "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
	[S_BAL_GET] = "SELECT available, total FROM balances "
	    "WHERE user_id = ?1 AND token_id = ?2",
	[S_BAL_PUT] = "INSERT INTO balances(user_id, token_id, available, "
	    "total) VALUES (?1, ?2, ?3, ?4) ON CONFLICT(user_id, token_id) "
	    "DO UPDATE SET available = excluded.available, "
	    "total = excluded.total",
	[S_AUDIT_INS] = "INSERT OR ROLLBACK INTO audit_log(ts, user_id, "
	    "token_id, cause, ref, d_available, d_total) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[S_ORDER_PUT] = "INSERT INTO orders(id, user_id, market_id, "
	    "client_id, side, type, tif, post_only, stp, price, qty, filled, "
	    "reserved, reserve_token, status, reason, expire_at, created_at, "
	    "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
	    "?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19) "
	    "ON CONFLICT(id) DO UPDATE SET price = excluded.price, "
	    "qty = excluded.qty, filled = excluded.filled, "
	    "reserved = excluded.reserved, status = excluded.status, "
	    "reason = excluded.reason, updated_at = excluded.updated_at",
	[S_ORDER_INS] = "INSERT INTO orders(id, user_id, market_id, "
	    "client_id, side, type, tif, post_only, stp, price, qty, filled, "
	    "reserved, reserve_token, status, reason, expire_at, created_at, "
	    "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
	    "?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
	[S_ORDER_UPD] = "UPDATE orders SET price = ?10, qty = ?11, filled = "
	    "?12, reserved = ?13, status = ?15, reason = ?16, updated_at = ?19 "
	    "WHERE id = ?1",
	[S_ORDER_GET] = "SELECT * FROM orders WHERE id = ?1",
	[S_ORDER_CLIENT] = "SELECT * FROM orders WHERE user_id = ?1 AND "
	    "client_id = ?2 ORDER BY status < 2 DESC, id DESC LIMIT 1",
	[S_FILL_INS] = "INSERT INTO fills(" FILL_COLUMNS ") VALUES (?1, ?2, "
	    "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
	    "?17, ?18, ?19, ?20, ?21)",
	[S_FILL_GET] = "SELECT * FROM fills WHERE id = ?1",
	[S_USER_GET] = "SELECT * FROM users WHERE id = ?1",
	[S_USER_FIND] = "SELECT * FROM users WHERE address = ?1",
	[S_TOKEN_GET] = "SELECT * FROM tokens WHERE id = ?1",
	[S_TOKEN_FIND] = "SELECT * FROM tokens WHERE address = ?1 OR "
	    "symbol = ?1 ORDER BY address = ?1 DESC LIMIT 1",
	[S_MARKET_GET] = "SELECT * FROM markets WHERE id = ?1",
	[S_MARKET_FIND] = "SELECT * FROM markets WHERE pair = ?1",
	[S_WD_GET] = "SELECT * FROM withdrawals WHERE id = ?1",
	[S_DEP_GET] = "SELECT * FROM deposits WHERE id = ?1",
	[S_DEP_KEY] = "SELECT * FROM deposits WHERE block = ?1 AND "
	    "op_index = ?2",
	[S_BATCH_GET] = "SELECT * FROM settlement_batches WHERE id = ?1",
	/*
	 * The batch's write path.  Plain INSERT and UPDATE, never an upsert,
	 * and OR ROLLBACK: a statement that cannot abort half-way needs no
	 * statement journal (a copy of every page it touches), and an error
	 * poisons the whole transaction anyway.
	 */
	[S_BAL_UPD] = "UPDATE OR ROLLBACK balances SET available = ?3, "
	    "total = ?4 WHERE user_id = ?1 AND token_id = ?2",
	[S_BAL_INS] = "INSERT OR ROLLBACK INTO balances(user_id, token_id, "
	    "available, total) VALUES (?1, ?2, ?3, ?4)",
	[S_ORDER_UPD_RB] = "UPDATE OR ROLLBACK orders SET price = ?10, qty = "
	    "?11, filled = ?12, reserved = ?13, status = ?15, reason = ?16, "
	    "updated_at = ?19 WHERE id = ?1",
};

/* One buffered fill, its amounts already text (bound SQLITE_STATIC). */
#define FILL_GROUP	16
struct fillrow {
	struct ledger_fill	 f;
	char			 base[MONEY_BUFSZ];
	char			 quote[MONEY_BUFSZ];
	char			 tfee[MONEY_BUFSZ + 1];
	char			 mfee[MONEY_BUFSZ + 1];
};

/* One cached balance. */
struct bal {
	int64_t	user;
	int64_t	token;
	u128	avail;
	u128	total;
	int	used;
	int	dirty;
	int	stored;		/* the row exists in the database */
	struct ledger_delta hold;	/* net ledger_hold() of the txn */
};

/*
 * One buffered audit line.  Lines are kept until the transaction commits
 * (or something reads audit_log) and then inserted AUDIT_GROUP at a time:
 * one statement per group costs far less than one per line.
 */
#define AUDIT_GROUP	32
struct auditrow {
	int64_t		 ts;
	int64_t		 user;
	int64_t		 token;
	const char	*cause;		/* static */
	char		 ref[LEDGER_REASON_MAX];
	char		 da[MONEY_BUFSZ + 1];
	char		 dt[MONEY_BUFSZ + 1];
};

/* A counter set in a lazy transaction. */
struct pcounter {
	char		 name[48];
	int64_t		 v;
};

/* Order rows of one batch in a job: the first nnew are new. */
struct oseg {
	size_t		 off, n, nnew;
};

/* What the writer thread writes and commits: one batch or several. */
struct wjob {
	uint64_t	 ticket;
	struct auditrow	*arow;
	size_t		 narow, caparow;
	struct fillrow	*frow;
	size_t		 nfrow, capfrow;
	struct bal	*bal;		/* copies of the dirty entries */
	size_t		 nbal, capbal;
	struct ledger_order *orow;	/* one segment per batch */
	size_t		 norow, caporow;
	struct oseg	*seg;
	size_t		 nseg, capseg;
	struct pcounter	*ctr;
	size_t		 nctr, capctr;
};

struct ledger {
	sqlite3		*db;
	sqlite3_stmt	*stmt[S_COUNT];
	int		 in_txn;	/* a transaction is open */
	int		 explicit_txn;	/* opened by ledger_begin() */
	int		 poisoned;
	int		 fail_next_commit;
	int64_t		(*clock)(void *);
	void		*clock_arg;

	struct bal	*bal;		/* open addressing, power of two */
	size_t		 nbal;
	size_t		 bal_used;
	size_t		*dirty;		/* indexes of dirty entries */
	size_t		 ndirty;
	size_t		 dirty_cap;

	/* Audit lines of the open transaction, written in groups. */
	struct auditrow	*arow;
	size_t		 narow, caparow;
	sqlite3_stmt	*amulti;	/* AUDIT_GROUP rows at once */
	sqlite3_stmt	*omulti;	/* ORDER_GROUP orders at once */
	sqlite3_stmt	*bmulti;	/* BAL_GROUP balances at once */

	/* Fills of the open explicit transaction, written in groups. */
	struct fillrow	*frow;
	size_t		 nfrow, capfrow;
	sqlite3_stmt	*fmulti;	/* FILL_GROUP fills at once */

	/* User id -> status + 1 (0: empty), for the exchange's checks. */
	int64_t		*ukey;
	uint8_t		*uval;
	size_t		 ucap;
	size_t		 uused;

	/* Durability tickets; the sync thread runs when pipelined. */
	sqlite3_int64	 changes_at_begin;
	int		 pipelined;
	int		 wal_fd;
	pthread_t	 sync_thread;
	pthread_mutex_t	 sync_mu;
	pthread_cond_t	 sync_work;	/* issued moved or stopping */
	pthread_cond_t	 sync_done;	/* durable moved */
	uint64_t	 issued;	/* under sync_mu */
	uint64_t	 durable;	/* under sync_mu */
	int		 sync_stop;	/* under sync_mu */
	sqlite3		*ckdb;		/* the sync thread's, checkpoints */
	int		 wal_pages;	/* under sync_mu: frames in the WAL */
	int		 ckpt_pages;	/* under sync_mu: frames checkpointed */
	uint64_t	 committed;	/* under sync_mu: in the WAL */

	/*
	 * The writer thread (pipelined): it writes and commits batch k while
	 * the owner runs batch k+1 from the caches.  The owner uses the
	 * connection only when it has claimed it (the writer idle).
	 */
	pthread_t	 wthread;
	pthread_cond_t	 w_work;	/* a job was handed over, or stop */
	pthread_cond_t	 w_idle;	/* a job is committed */
	struct wjob	*job;		/* under sync_mu: in flight or NULL */
	struct wjob	*spare;		/* the owner's, buffers to swap */
	int		 claimed;	/* the owner may use the connection */
	int		 db_txn;	/* SQLite's transaction is open */
	/* A lazy transaction's order rows and counters, not yet written. */
	struct ledger_order *porow;
	size_t		 nporow, capporow, nponew;
	struct pcounter	*pctr;
	size_t		 npctr, cappctr;
	int		 w_stop;	/* under sync_mu */
	struct wjob	 jobs[2];
	void		(*notify)(void *);
	void		*notify_arg;
};

/* Migrations: index i takes the schema from version i to i + 1. */
static const char *migrations[] = {
	/* 0 -> 1: the core ledger. */
	"CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)"
	"  WITHOUT ROWID;"
	"CREATE TABLE tokens (id INTEGER PRIMARY KEY, address TEXT NOT NULL"
	"  UNIQUE, symbol TEXT NOT NULL, decimals INTEGER NOT NULL"
	"  CHECK (decimals BETWEEN 0 AND 38));"
	"CREATE TABLE users (id INTEGER PRIMARY KEY, address TEXT NOT NULL"
	"  UNIQUE, pubkey_type TEXT NOT NULL DEFAULT '', storage TEXT NOT NULL"
	"  DEFAULT '', status TEXT NOT NULL DEFAULT 'active' CHECK (status IN"
	"  ('active', 'frozen', 'withdraw_only')), reason TEXT NOT NULL"
	"  DEFAULT '', kind TEXT NOT NULL DEFAULT 'user' CHECK (kind IN"
	"  ('user', 'fee')), created_at INTEGER NOT NULL);"
	"INSERT INTO users(id, address, kind, created_at) VALUES"
	"  (1, 'fees', 'fee', 0);"
	"CREATE TABLE markets (id INTEGER PRIMARY KEY, pair TEXT NOT NULL"
	"  UNIQUE, base_token INTEGER NOT NULL REFERENCES tokens(id),"
	"  quote_token INTEGER NOT NULL REFERENCES tokens(id), tick_size TEXT"
	"  NOT NULL, lot_size TEXT NOT NULL, min_lots INTEGER NOT NULL,"
	"  min_notional TEXT NOT NULL, maker_fee_ppm INTEGER NOT NULL,"
	"  taker_fee_ppm INTEGER NOT NULL, status TEXT NOT NULL CHECK (status"
	"  IN ('open', 'halted', 'cancel_only')), max_price_ticks INTEGER NOT"
	"  NULL, max_qty_lots INTEGER NOT NULL, max_orders INTEGER NOT NULL,"
	"  max_levels INTEGER NOT NULL, max_orders_per_user INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL);"
	"CREATE TABLE balances (user_id INTEGER NOT NULL REFERENCES users(id),"
	"  token_id INTEGER NOT NULL REFERENCES tokens(id), available TEXT"
	"  NOT NULL, total TEXT NOT NULL, PRIMARY KEY (user_id, token_id))"
	"  WITHOUT ROWID;"
	"CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL,"
	"  market_id INTEGER NOT NULL, client_id TEXT NOT NULL DEFAULT '',"
	"  side INTEGER NOT NULL, type INTEGER NOT NULL, tif INTEGER NOT NULL,"
	"  post_only INTEGER NOT NULL, stp INTEGER NOT NULL, price INTEGER"
	"  NOT NULL, qty INTEGER NOT NULL, filled INTEGER NOT NULL, reserved"
	"  TEXT NOT NULL, reserve_token INTEGER NOT NULL, status INTEGER"
	"  NOT NULL, reason TEXT NOT NULL DEFAULT '', expire_at INTEGER NOT"
	"  NULL DEFAULT 0, created_at INTEGER NOT NULL, updated_at INTEGER"
	"  NOT NULL, CHECK (filled <= qty));"
	"CREATE INDEX orders_user ON orders(user_id, id);"
	"CREATE INDEX orders_live ON orders(id) WHERE status < 2;"
	"CREATE UNIQUE INDEX orders_client ON orders(user_id, client_id)"
	"  WHERE status < 2 AND client_id <> '';"
	"CREATE TABLE fills (id INTEGER PRIMARY KEY, market_id INTEGER NOT"
	"  NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL, price INTEGER NOT"
	"  NULL, qty INTEGER NOT NULL, taker_side INTEGER NOT NULL,"
	"  taker_order INTEGER NOT NULL, maker_order INTEGER NOT NULL,"
	"  taker_user INTEGER NOT NULL, maker_user INTEGER NOT NULL,"
	"  base_amount TEXT NOT NULL, quote_amount TEXT NOT NULL, taker_fee"
	"  TEXT NOT NULL, maker_fee TEXT NOT NULL, fee_token INTEGER NOT NULL,"
	"  taker_fee_ppm INTEGER NOT NULL, maker_fee_ppm INTEGER NOT NULL,"
	"  fee_tier INTEGER NOT NULL DEFAULT 0, settlement_batch INTEGER NOT"
	"  NULL DEFAULT 0);"
	"CREATE INDEX fills_taker ON fills(taker_user, id);"
	"CREATE INDEX fills_maker ON fills(maker_user, id);"
	"CREATE INDEX fills_unsettled ON fills(id) WHERE settlement_batch = 0;"
	"CREATE TABLE deposits (id INTEGER PRIMARY KEY, user_id INTEGER NOT"
	"  NULL, token_id INTEGER NOT NULL, amount TEXT NOT NULL, block TEXT"
	"  NOT NULL, op_index INTEGER NOT NULL, status TEXT NOT NULL CHECK"
	"  (status IN ('pending', 'credited')), created_at INTEGER NOT NULL,"
	"  credited_at INTEGER NOT NULL DEFAULT 0, UNIQUE (block, op_index));"
	"CREATE INDEX deposits_user ON deposits(user_id, id);"
	"CREATE TABLE withdrawals (id INTEGER PRIMARY KEY, user_id INTEGER NOT"
	"  NULL, token_id INTEGER NOT NULL, amount TEXT NOT NULL, to_address"
	"  TEXT NOT NULL, idem_key TEXT NOT NULL UNIQUE, status TEXT NOT NULL"
	"  CHECK (status IN ('queued', 'processing', 'completed', 'failed',"
	"  'canceled', 'pending_approval')), block TEXT NOT NULL DEFAULT '',"
	"  reason TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL);"
	"CREATE INDEX withdrawals_user ON withdrawals(user_id, id);"
	"CREATE TABLE settlement_batches (id INTEGER PRIMARY KEY, status TEXT"
	"  NOT NULL CHECK (status IN ('pending', 'published', 'confirmed',"
	"  'failed')), staple TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL"
	"  DEFAULT '', first_fill INTEGER NOT NULL, last_fill INTEGER NOT"
	"  NULL, attempts INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT"
	"  NULL, updated_at INTEGER NOT NULL);"
	"CREATE TABLE settlement_deltas (batch_id INTEGER NOT NULL REFERENCES"
	"  settlement_batches(id), user_id INTEGER NOT NULL, token_id INTEGER"
	"  NOT NULL, delta TEXT NOT NULL, PRIMARY KEY (batch_id, user_id,"
	"  token_id)) WITHOUT ROWID;"
	"CREATE TABLE recon_runs (id INTEGER PRIMARY KEY, started_at INTEGER"
	"  NOT NULL, finished_at INTEGER NOT NULL DEFAULT 0, n_ok INTEGER NOT"
	"  NULL DEFAULT 0, n_drift INTEGER NOT NULL DEFAULT 0, n_critical"
	"  INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE reconciliations (id INTEGER PRIMARY KEY, run_id INTEGER"
	"  NOT NULL REFERENCES recon_runs(id), user_id INTEGER NOT NULL,"
	"  token_id INTEGER NOT NULL, chain TEXT NOT NULL, expected TEXT NOT"
	"  NULL, diff TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN"
	"  ('ok', 'drift', 'critical')), ts INTEGER NOT NULL);"
	"CREATE INDEX reconciliations_run ON reconciliations(run_id, id);"
	"CREATE TABLE audit_log (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL,"
	"  user_id INTEGER NOT NULL, token_id INTEGER NOT NULL, cause TEXT NOT"
	"  NULL, ref TEXT NOT NULL, d_available TEXT NOT NULL, d_total TEXT"
	"  NOT NULL);",

	/* 1 -> 2: room for issue 8 (fee tiers, API keys). */
	"ALTER TABLE users ADD COLUMN fee_tier INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE fee_tiers (market_id INTEGER NOT NULL, tier INTEGER NOT"
	"  NULL, min_volume TEXT NOT NULL, maker_fee_ppm INTEGER NOT NULL,"
	"  taker_fee_ppm INTEGER NOT NULL, PRIMARY KEY (market_id, tier))"
	"  WITHOUT ROWID;"
	"CREATE TABLE api_keys (id INTEGER PRIMARY KEY, user_id INTEGER NOT"
	"  NULL REFERENCES users(id), key_hash TEXT NOT NULL UNIQUE, scope"
	"  TEXT NOT NULL CHECK (scope IN ('trade', 'read')), label TEXT NOT"
	"  NULL DEFAULT '', created_at INTEGER NOT NULL, revoked_at INTEGER"
	"  NOT NULL DEFAULT 0);",

	/*
	 * 2 -> 3: issue 8 fee tiers: fills keep the maker's tier next to
	 * fee_tier (the taker's); 30-day volumes scan fills by market and time.
	 */
	"ALTER TABLE fills ADD COLUMN maker_tier INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX fills_market_ts ON fills(market_id, ts);",
};
_Static_assert(sizeof migrations / sizeof migrations[0] ==
    LEDGER_SCHEMA_VERSION, "one migration per schema version");

static const char *cause_names[] = {
	"deposit", "fill", "fee", "settlement", "withdrawal", "correction",
	"reservation"
};
static const char *user_status_names[] = {
	"active", "frozen", "withdraw_only"
};
static const char *order_status_names[] = {
	"open", "partially_filled", "filled", "cancelled", "rejected", "expired"
};
static const char *wd_status_names[] = {
	"queued", "processing", "completed", "failed", "canceled",
	"pending_approval"
};
static const char *batch_status_names[] = {
	"pending", "published", "confirmed", "failed"
};
static const char *recon_status_names[] = { "ok", "drift", "critical" };

static int	 name_index(const char **, size_t, const char *);
static int	 db_exec(struct ledger *, const char *);
static sqlite3_stmt *stmt(struct ledger *, int);
static int	 op_begin(struct ledger *);
static int	 op_end(struct ledger *, int);
static int	 bal_flush(struct ledger *);
static int	 audit_flush(struct ledger *);
static int	 fill_flush(struct ledger *);
static int	 db_claim(struct ledger *);
static int	 audit_write(struct ledger *, const struct auditrow *, size_t);
static int	 fill_write(struct ledger *, const struct fillrow *, size_t);
static int	 bal_write(struct ledger *, const struct bal *, size_t);
static size_t	 bal_take(struct ledger *, struct bal *);
static void	*grow(void *, size_t *, size_t, size_t);
static int	 orders_write(struct ledger *, const struct ledger_order *,
		    size_t, size_t);
static int	 counter_write(struct ledger *, const char *, int64_t);

/* Set on the writer thread, which always has the connection. */
static _Thread_local int on_writer;

/* The owner must claim the connection before using it (see db_claim). */
#define CLAIM(l) do {							\
	if (!on_writer && (!(l)->claimed || ((l)->in_txn && !(l)->db_txn))) \
		(void)db_claim(l);					\
} while (0)
static void	 hold_emit(struct ledger *);
static void	 bal_drop(struct ledger *);

const char *
ledger_result_string(int r)
{
	switch (r) {
	case LEDGER_OK:
		return "ok";
	case LEDGER_ERR:
		return "database error";
	case LEDGER_INSUFFICIENT:
		return "insufficient funds";
	case LEDGER_NOTFOUND:
		return "not found";
	case LEDGER_DUPLICATE:
		return "duplicate";
	case LEDGER_BADSTATE:
		return "bad state";
	case LEDGER_OVERFLOW:
		return "amount overflow";
	case LEDGER_FORBIDDEN:
		return "forbidden";
	case LEDGER_INVALID:
		return "invalid argument";
	}
	return "unknown";
}

static int
name_index(const char **names, size_t n, const char *s)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (strcmp(names[i], s) == 0)
			return (int)i;
	}
	return -1;
}

#define NAMES(a) (sizeof a / sizeof a[0])

const char *
ledger_cause_name(enum ledger_cause c)
{
	assert((size_t)c < NAMES(cause_names));
	return cause_names[c];
}

int
ledger_cause_parse(const char *s, enum ledger_cause *c)
{
	int	i;

	if ((i = name_index(cause_names, NAMES(cause_names), s)) == -1)
		return -1;
	*c = (enum ledger_cause)i;
	return 0;
}

const char *
ledger_user_status_name(enum ledger_user_status s)
{
	assert((size_t)s < NAMES(user_status_names));
	return user_status_names[s];
}

int
ledger_user_status_parse(const char *s, enum ledger_user_status *st)
{
	int	i;

	if ((i = name_index(user_status_names, NAMES(user_status_names),
	    s)) == -1)
		return -1;
	*st = (enum ledger_user_status)i;
	return 0;
}

const char *
ledger_order_status_name(enum ledger_order_status s)
{
	assert((size_t)s < NAMES(order_status_names));
	return order_status_names[s];
}

bool
ledger_order_status_live(enum ledger_order_status s)
{
	return s == LEDGER_ORDER_OPEN || s == LEDGER_ORDER_PARTIAL;
}

const char *
ledger_wd_status_name(enum ledger_wd_status s)
{
	assert((size_t)s < NAMES(wd_status_names));
	return wd_status_names[s];
}

const char *
ledger_batch_status_name(enum ledger_batch_status s)
{
	assert((size_t)s < NAMES(batch_status_names));
	return batch_status_names[s];
}

const char *
ledger_recon_status_name(enum ledger_recon_status s)
{
	assert((size_t)s < NAMES(recon_status_names));
	return recon_status_names[s];
}

/* Amount <-> TEXT. */

/*
 * Decimal text of an amount.  Most amounts fit 64 bits, where plain
 * division is far cheaper than 128-bit division: the hot path formats
 * several per order.
 */
/* "00" to "99", low digit first, as fmt_amount writes backwards. */
static const char digits2[] =
    "00102030405060708090" "01112131415161718191"
    "02122232425262728292" "03132333435363738393"
    "04142434445464748494" "05152535455565758595"
    "06162636465666768696" "07172737475767778797"
    "08182838485868788898" "09192939495969798999";

static size_t
fmt_amount(char *buf, u128 v)
{
	const uint64_t	 e19 = 10000000000000000000ULL;
	char		 tmp[48];
	uint64_t	 x, part[2];
	size_t		 n = 0, i, np = 0, d;

	/*
	 * Above 2^64 (funded test accounts are), peel 19-digit parts off
	 * with at most two 128-bit divisions and print each in 64 bits.
	 */
	while (v > UINT64_MAX) {
		part[np++] = (uint64_t)(v % e19);
		v /= e19;
	}
	x = (uint64_t)v;
	for (i = 0; i < np; i++) {
		/* Two digits per division, 19 = 9 pairs and one. */
		for (d = 0; d < 9; d++) {
			memcpy(tmp + n, digits2 + 2 * (part[i] % 100), 2);
			n += 2;
			part[i] /= 100;
		}
		tmp[n++] = (char)('0' + part[i]);
	}
	while (x >= 100) {
		memcpy(tmp + n, digits2 + 2 * (x % 100), 2);
		n += 2;
		x /= 100;
	}
	if (x >= 10) {
		memcpy(tmp + n, digits2 + 2 * x, 2);
		n += 2;
	} else
		tmp[n++] = (char)('0' + x);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
	return n;
}

static void
bind_amount(sqlite3_stmt *st, int i, u128 v)
{
	char	buf[MONEY_BUFSZ];
	size_t	n;

	n = fmt_amount(buf, v);
	if (sqlite3_bind_text(st, i, buf, (int)n, SQLITE_TRANSIENT) !=
	    SQLITE_OK)
		fatalx("ledger: bind amount");
}

/* A stored amount that does not parse means the file was damaged. */
static u128
column_amount(sqlite3_stmt *st, int i)
{
	const char	*s;
	u128		 v;

	s = (const char *)sqlite3_column_text(st, i);
	if (s == NULL || money_parse_u128(&v, s) != MONEY_OK)
		fatalx("ledger: bad stored amount '%s'", s == NULL ? "" : s);
	return v;
}

int
ledger_delta_fmt(const struct ledger_delta *d, char *buf, size_t len)
{
	char	tmp[MONEY_BUFSZ + 1];
	size_t	n = 0;

	/* No printf: the hot path formats two of these per audit line. */
	if (d->neg && d->abs != 0)
		tmp[n++] = '-';
	n += fmt_amount(tmp + n, d->abs);
	if (n >= len)
		return -1;
	memcpy(buf, tmp, n + 1);
	return (int)n;
}

static void
bind_delta(sqlite3_stmt *st, int i, const struct ledger_delta *d)
{
	char	buf[MONEY_BUFSZ + 1];

	if (ledger_delta_fmt(d, buf, sizeof buf) == -1)
		fatalx("ledger: format delta");
	if (sqlite3_bind_text(st, i, buf, -1, SQLITE_TRANSIENT) != SQLITE_OK)
		fatalx("ledger: bind delta");
}

static struct ledger_delta
column_delta(sqlite3_stmt *st, int i)
{
	struct ledger_delta	 d;
	const char		*s;

	s = (const char *)sqlite3_column_text(st, i);
	if (s == NULL)
		fatalx("ledger: null delta");
	d.neg = (*s == '-');
	if (d.neg)
		s++;
	if (money_parse_u128(&d.abs, s) != MONEY_OK)
		fatalx("ledger: bad stored delta '%s'", s);
	if (d.abs == 0)
		d.neg = false;
	return d;
}

int
ledger_delta_add(struct ledger_delta *acc, const struct ledger_delta *d)
{
	struct ledger_delta	r;

	if (acc->neg == d->neg) {
		if (money_add(&r.abs, acc->abs, d->abs) == -1)
			return -1;
		r.neg = acc->neg;
	} else if (acc->abs >= d->abs) {
		r.abs = acc->abs - d->abs;
		r.neg = acc->neg;
	} else {
		r.abs = d->abs - acc->abs;
		r.neg = d->neg;
	}
	if (r.abs == 0)
		r.neg = false;
	*acc = r;
	return 0;
}

static void
copy_text(char *dst, size_t len, sqlite3_stmt *st, int i)
{
	const char	*s;

	s = (const char *)sqlite3_column_text(st, i);
	snprintf(dst, len, "%s", s == NULL ? "" : s);
}

/* SQLite plumbing. */

static int
db_exec(struct ledger *l, const char *sql)
{
	char	*err = NULL;

	CLAIM(l);
	if (sqlite3_exec(l->db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "ledger: %s: %s\n", sql, err ? err : "?");
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

static sqlite3_stmt *
stmt(struct ledger *l, int which)
{
	sqlite3_stmt	*st;

	CLAIM(l);
	if ((st = l->stmt[which]) == NULL) {
		if (sqlite3_prepare_v3(l->db, stmt_sql[which], -1,
		    SQLITE_PREPARE_PERSISTENT, &l->stmt[which], NULL) !=
		    SQLITE_OK)
			fatalx("ledger: prepare: %s", sqlite3_errmsg(l->db));
		st = l->stmt[which];
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

/* Prepare an ad-hoc statement; the caller finalizes it. */
static sqlite3_stmt *
prepare(struct ledger *l, const char *sql)
{
	sqlite3_stmt	*st;

	CLAIM(l);
	/* Whatever it reads may be a fill still in the buffer. */
	if (l->nfrow != 0 && fill_flush(l) == -1)
		l->poisoned = 1;
	if (sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) != SQLITE_OK)
		fatalx("ledger: prepare '%s': %s", sql, sqlite3_errmsg(l->db));
	return st;
}

/* Step a write statement; a failure poisons the transaction. */
static int
step_done(struct ledger *l, sqlite3_stmt *st)
{
	int	rc;

	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		fprintf(stderr, "ledger: step: %s\n", sqlite3_errmsg(l->db));
		l->poisoned = 1;
		return -1;
	}
	return 0;
}

static int64_t
real_clock(void *arg)
{
	struct timespec	ts;

	(void)arg;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
ledger_now(struct ledger *l)
{
	return l->clock(l->clock_arg);
}

void
ledger_set_clock(struct ledger *l, int64_t (*fn)(void *), void *arg)
{
	l->clock = fn != NULL ? fn : real_clock;
	l->clock_arg = arg;
}

static int
migrate(struct ledger *l, char **cause)
{
	sqlite3_stmt	*st;
	int		 v;
	char		*sql;

	st = prepare(l, "PRAGMA user_version");
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		xasprintf(cause, "read user_version: %s",
		    sqlite3_errmsg(l->db));
		return -1;
	}
	v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (v > LEDGER_SCHEMA_VERSION) {
		xasprintf(cause, "schema version %d is newer than %d", v,
		    LEDGER_SCHEMA_VERSION);
		return -1;
	}
	/* Each step and its version bump commit together. */
	for (; v < LEDGER_SCHEMA_VERSION; v++) {
		xasprintf(&sql, "BEGIN IMMEDIATE; %s PRAGMA user_version = %d;"
		    " COMMIT;", migrations[v], v + 1);
		if (db_exec(l, sql) == -1) {
			free(sql);
			db_exec(l, "ROLLBACK");
			xasprintf(cause, "migration to version %d failed", v + 1);
			return -1;
		}
		free(sql);
	}
	return 0;
}

/*
 * Checkpoints, when pipelined: the sync thread copies the WAL into the
 * database (PASSIVE, on its own connection, so never in a commit's path)
 * once LEDGER_WAL_SOFT frames are waiting; the writer checkpoints itself
 * only past LEDGER_WAL_HARD, which bounds the WAL when the thread cannot
 * finish one (SQLite rewinds the WAL only when a writer starts with every
 * frame copied).  Bigger gaps mean fewer copies of the hot pages.
 */
#define LEDGER_WAL_SOFT		8192
#define LEDGER_WAL_HARD		32768

static int
wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct ledger	*l = arg;

	if (pages >= LEDGER_WAL_HARD) {
		(void)sqlite3_wal_checkpoint_v2(db, name,
		    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		return SQLITE_OK;
	}
	pthread_mutex_lock(&l->sync_mu);
	if (pages < l->ckpt_pages)
		l->ckpt_pages = 0;	/* rewound */
	l->wal_pages = pages;
	if (pages - l->ckpt_pages >= LEDGER_WAL_SOFT)
		pthread_cond_signal(&l->sync_work);
	pthread_mutex_unlock(&l->sync_mu);
	return SQLITE_OK;
}

/*
 * The sync thread: one fdatasync() of the WAL covers every commit written
 * before it began, so it takes all the tickets issued so far at once; then
 * a checkpoint if one is due.  The WAL is opened separately: Linux syncs a
 * file's pages whichever descriptor wrote them, and SQLite keeps the same
 * WAL file (rewinding it after a checkpoint, never replacing it) while the
 * connection is open.
 */
static void *
sync_main(void *arg)
{
	struct ledger	*l = arg;
	uint64_t	 target;
	void		(*fn)(void *);
	void		*fn_arg;
	int		 nlog, nckpt;

	pthread_mutex_lock(&l->sync_mu);
	for (;;) {
		while (!l->sync_stop && l->durable == l->committed &&
		    l->wal_pages - l->ckpt_pages < LEDGER_WAL_SOFT)
			pthread_cond_wait(&l->sync_work, &l->sync_mu);
		if (l->durable != l->committed) {
			target = l->committed;
			pthread_mutex_unlock(&l->sync_mu);
			if (fdatasync(l->wal_fd) == -1)
				fatal("ledger: fdatasync of the WAL");
			pthread_mutex_lock(&l->sync_mu);
			l->durable = target;
			pthread_cond_broadcast(&l->sync_done);
			fn = l->notify;
			fn_arg = l->notify_arg;
			if (fn != NULL) {
				/* Unlocked: fn may well ask ledger_durable(). */
				pthread_mutex_unlock(&l->sync_mu);
				fn(fn_arg);
				pthread_mutex_lock(&l->sync_mu);
			}
			continue;
		}
		if (l->sync_stop)
			break;
		/* Busy (the writer checkpointing) is fine: later. */
		pthread_mutex_unlock(&l->sync_mu);
		nlog = nckpt = -1;
		(void)sqlite3_wal_checkpoint_v2(l->ckdb, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, &nlog, &nckpt);
		pthread_mutex_lock(&l->sync_mu);
		if (nckpt >= 0 && nckpt >= l->ckpt_pages)
			l->ckpt_pages = nckpt;
		else
			l->ckpt_pages = l->wal_pages;	/* no retry loop */
	}
	pthread_mutex_unlock(&l->sync_mu);
	return NULL;
}

/* Write and commit one batch; any failure stops the process. */
static void
wjob_run(struct ledger *l, struct wjob *j)
{
	size_t	i;

	if (sqlite3_exec(l->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		fatalx("ledger: writer: begin: %s", sqlite3_errmsg(l->db));
	if (fill_write(l, j->frow, j->nfrow) == -1 ||
	    audit_write(l, j->arow, j->narow) == -1 ||
	    bal_write(l, j->bal, j->nbal) == -1)
		fatalx("ledger: writer: a batch could not be written");
	for (i = 0; i < j->nseg; i++) {
		if (orders_write(l, j->orow + j->seg[i].off, j->seg[i].n,
		    j->seg[i].nnew) != LEDGER_OK)
			fatalx("ledger: writer: order rows not written");
	}
	for (i = 0; i < j->nctr; i++) {
		if (counter_write(l, j->ctr[i].name, j->ctr[i].v) != LEDGER_OK)
			fatalx("ledger: writer: counter %s", j->ctr[i].name);
	}
	if (sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		fatalx("ledger: writer: commit: %s", sqlite3_errmsg(l->db));
	j->narow = j->nfrow = j->nbal = j->norow = j->nseg = j->nctr = 0;
}

/*
 * The writer thread: it owns the connection while a job is in flight
 * (the owner claims it back with db_claim).  A batch it cannot write is
 * fatal, as a failed fsync is: the owner has run on from it, and a restart
 * recovers from the disk, where nothing unacknowledged is missed.
 */
static void *
writer_main(void *arg)
{
	struct ledger	*l = arg;
	struct wjob	*j;

	on_writer = 1;
	pthread_mutex_lock(&l->sync_mu);
	for (;;) {
		while (l->job == NULL && !l->w_stop)
			pthread_cond_wait(&l->w_work, &l->sync_mu);
		if ((j = l->job) == NULL)
			break;
		pthread_mutex_unlock(&l->sync_mu);
		wjob_run(l, j);
		pthread_mutex_lock(&l->sync_mu);
		l->committed = j->ticket;
		pthread_cond_signal(&l->sync_work);
		/* What ended meanwhile went to the spare: take it now. */
		if (l->spare->ticket > j->ticket) {
			l->job = l->spare;
			l->spare = j;
		} else
			l->job = NULL;
		pthread_cond_broadcast(&l->w_idle);
	}
	pthread_mutex_unlock(&l->sync_mu);
	return NULL;
}

static int
sync_start(struct ledger *l, const char *path, char **cause)
{
	char	*wal;
	int	 error;

	/* NORMAL: SQLite writes the WAL at commit; the thread syncs it. */
	if (db_exec(l, "PRAGMA synchronous = NORMAL") == -1) {
		xasprintf(cause, "configure %s: %s", path,
		    sqlite3_errmsg(l->db));
		return -1;
	}
	if (sqlite3_open_v2(path, &l->ckdb, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_exec(l->ckdb, "PRAGMA synchronous = NORMAL;"
	    " PRAGMA wal_autocheckpoint = 0;", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		xasprintf(cause, "open %s for checkpoints: %s", path,
		    l->ckdb != NULL ? sqlite3_errmsg(l->ckdb) :
		    "out of memory");
		sqlite3_close(l->ckdb);
		l->ckdb = NULL;
		return -1;
	}
	xasprintf(&wal, "%s-wal", path);
	l->wal_fd = open(wal, O_RDONLY | O_CLOEXEC);
	if (l->wal_fd == -1) {
		xasprintf(cause, "open %s: %s", wal, strerror(errno));
		free(wal);
		sqlite3_close(l->ckdb);
		l->ckdb = NULL;
		return -1;
	}
	free(wal);
	pthread_mutex_init(&l->sync_mu, NULL);
	pthread_cond_init(&l->sync_work, NULL);
	pthread_cond_init(&l->sync_done, NULL);
	pthread_cond_init(&l->w_work, NULL);
	pthread_cond_init(&l->w_idle, NULL);
	if ((error = pthread_create(&l->sync_thread, NULL, sync_main,
	    l)) != 0) {
		xasprintf(cause, "sync thread: %s", strerror(error));
		close(l->wal_fd);
		l->wal_fd = -1;
		sqlite3_close(l->ckdb);
		l->ckdb = NULL;
		return -1;
	}
	if ((error = pthread_create(&l->wthread, NULL, writer_main, l)) !=
	    0)
		fatalx("ledger: writer thread: %s", strerror(error));
	/* Replaces wal_autocheckpoint (the same hook) on this connection. */
	sqlite3_wal_hook(l->db, wal_hook, l);
	l->pipelined = 1;
	return 0;
}

/* Sync what is left, then stop the thread. */
static void
sync_finish(struct ledger *l)
{
	if (!l->pipelined)
		return;
	/* The writer first: its last job must reach the sync thread. */
	pthread_mutex_lock(&l->sync_mu);
	l->w_stop = 1;
	pthread_cond_signal(&l->w_work);
	pthread_mutex_unlock(&l->sync_mu);
	pthread_join(l->wthread, NULL);
	pthread_mutex_lock(&l->sync_mu);
	l->sync_stop = 1;
	pthread_cond_signal(&l->sync_work);
	pthread_mutex_unlock(&l->sync_mu);
	pthread_join(l->sync_thread, NULL);
	l->claimed = 1;
	sqlite3_wal_hook(l->db, NULL, NULL);
	if (sqlite3_close(l->ckdb) != SQLITE_OK)
		fatalx("ledger: close: %s", sqlite3_errmsg(l->ckdb));
	l->ckdb = NULL;
	close(l->wal_fd);
	pthread_cond_destroy(&l->w_idle);
	pthread_cond_destroy(&l->w_work);
	pthread_cond_destroy(&l->sync_done);
	pthread_cond_destroy(&l->sync_work);
	pthread_mutex_destroy(&l->sync_mu);
	l->pipelined = 0;
}

uint64_t
ledger_durable(struct ledger *l)
{
	uint64_t	d;

	if (!l->pipelined)
		return l->durable;
	pthread_mutex_lock(&l->sync_mu);
	d = l->durable;
	pthread_mutex_unlock(&l->sync_mu);
	return d;
}

void
ledger_sync_wait(struct ledger *l, uint64_t ticket)
{
	if (!l->pipelined)
		return;
	pthread_mutex_lock(&l->sync_mu);
	assert(ticket <= l->issued);
	while (l->durable < ticket)
		pthread_cond_wait(&l->sync_done, &l->sync_mu);
	pthread_mutex_unlock(&l->sync_mu);
}

void
ledger_set_sync_notify(struct ledger *l, void (*fn)(void *), void *arg)
{
	if (l->pipelined)
		pthread_mutex_lock(&l->sync_mu);
	l->notify = fn;
	l->notify_arg = arg;
	if (l->pipelined)
		pthread_mutex_unlock(&l->sync_mu);
}

static int	memstatus_off;

struct ledger *
ledger_open(const char *path, const struct ledger_options *opts,
    char **cause)
{
	struct ledger	*l;
	char		*sql;
	int		 sync = 2;

	if (opts != NULL)
		sync = opts->synchronous;
	if (sync < 0 || sync > 3) {
		xasprintf(cause, "bad synchronous level %d", sync);
		return NULL;
	}
	/*
	 * No allocation statistics: they take a global mutex around every
	 * SQLite malloc, some 2,000 instructions per order.  Only possible
	 * before SQLite is first used; later calls fail harmlessly.
	 */
	if (!memstatus_off) {
		memstatus_off = 1;
		(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	}
	l = xcalloc(1, sizeof *l);
	l->clock = real_clock;
	if (opts != NULL && opts->clock != NULL) {
		l->clock = opts->clock;
		l->clock_arg = opts->clock_arg;
	}
	if (sqlite3_open_v2(path, &l->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		xasprintf(cause, "open %s: %s", path, l->db != NULL ?
		    sqlite3_errmsg(l->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(l->db, 5000);
	/*
	 * temp_store in memory: a multi-row statement keeps a statement
	 * journal of every page it touches, which otherwise goes to a temp
	 * file (two write(2)s per page, ten times the WAL's own writes).
	 */
	xasprintf(&sql, "PRAGMA journal_mode = WAL; PRAGMA synchronous = %d;"
	    " PRAGMA foreign_keys = OFF; PRAGMA cache_size = -65536;"
	    " PRAGMA wal_autocheckpoint = 4096; PRAGMA temp_store = MEMORY;",
	    sync);
	if (db_exec(l, sql) == -1) {
		free(sql);
		xasprintf(cause, "configure %s: %s", path,
		    sqlite3_errmsg(l->db));
		goto fail;
	}
	free(sql);
	l->claimed = 1;
	l->spare = &l->jobs[0];
	if (migrate(l, cause) == -1)
		goto fail;
	l->wal_fd = -1;
	if (opts != NULL && opts->pipelined && sync >= 2 &&
	    sync_start(l, path, cause) == -1)
		goto fail;
	l->nbal = 1024;
	l->bal = xcalloc(l->nbal, sizeof *l->bal);
	l->ucap = 4096;
	l->ukey = xcalloc(l->ucap, sizeof *l->ukey);
	l->uval = xcalloc(l->ucap, sizeof *l->uval);
	return l;

fail:
	sqlite3_close(l->db);
	free(l);
	return NULL;
}

void
ledger_close(struct ledger *l)
{
	size_t	i;

	if (l == NULL)
		return;
	if (l->in_txn)
		ledger_rollback(l);
	sync_finish(l);
	for (i = 0; i < S_COUNT; i++)
		sqlite3_finalize(l->stmt[i]);
	sqlite3_finalize(l->amulti);
	sqlite3_finalize(l->omulti);
	sqlite3_finalize(l->bmulti);
	sqlite3_finalize(l->fmulti);
	if (sqlite3_close(l->db) != SQLITE_OK)
		fatalx("ledger: close: %s", sqlite3_errmsg(l->db));
	free(l->bal);
	free(l->dirty);
	free(l->ukey);
	free(l->uval);
	free(l->arow);
	free(l->frow);
	free(l->porow);
	free(l->pctr);
	for (i = 0; i < 2; i++) {
		free(l->jobs[i].arow);
		free(l->jobs[i].frow);
		free(l->jobs[i].bal);
		free(l->jobs[i].orow);
		free(l->jobs[i].ctr);
		free(l->jobs[i].seg);
	}
	free(l);
}

int
ledger_schema_version(struct ledger *l)
{
	sqlite3_stmt	*st;
	int		 v = -1;

	st = prepare(l, "PRAGMA user_version");
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

sqlite3 *
ledger_db(struct ledger *l)
{
	CLAIM(l);
	if (l->nfrow != 0 && fill_flush(l) == -1)
		l->poisoned = 1;
	return l->db;
}

/* Transactions. */

/*
 * Pipelined, the transaction is lazy: SQLite's side opens only when
 * something needs the connection (db_claim), so a batch that runs from
 * the caches never waits for the writer thread.
 */
int
ledger_begin(struct ledger *l, char **cause)
{
	assert(!l->in_txn);
	if (!l->pipelined && db_exec(l, "BEGIN IMMEDIATE") == -1) {
		if (cause != NULL)
			xasprintf(cause, "begin: %s", sqlite3_errmsg(l->db));
		return -1;
	}
	l->in_txn = 1;
	l->explicit_txn = 1;
	l->poisoned = 0;
	l->db_txn = !l->pipelined;
	/* Lazy: the writer may be using the connection; db_claim sets it. */
	if (l->db_txn)
		l->changes_at_begin = sqlite3_total_changes64(l->db);
	return 0;
}

/*
 * Take the connection for the owner: wait until the writer has committed
 * its job; then, in a lazy transaction, open SQLite's side and write what
 * the transaction kept so far, so that reads see it.  A BEGIN that fails
 * here is fatal: the operation that needs it cannot fail any more, and a
 * pipelined ledger's connection is this process's alone.
 */
static int
db_claim(struct ledger *l)
{
	size_t	i, n;

	if (on_writer)
		return 0;
	if (!l->claimed) {
		pthread_mutex_lock(&l->sync_mu);
		while (l->job != NULL)
			pthread_cond_wait(&l->w_idle, &l->sync_mu);
		pthread_mutex_unlock(&l->sync_mu);
		l->claimed = 1;
	}
	if (!l->in_txn || l->db_txn)
		return 0;
	if (sqlite3_exec(l->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		fatalx("ledger: begin: %s", sqlite3_errmsg(l->db));
	l->db_txn = 1;
	l->changes_at_begin = sqlite3_total_changes64(l->db);
	if ((n = l->nporow) != 0) {
		l->nporow = 0;
		if (orders_write(l, l->porow, n, l->nponew) != LEDGER_OK)
			l->poisoned = 1;
		l->nponew = 0;
	}
	n = l->npctr;
	l->npctr = 0;
	for (i = 0; i < n; i++) {
		if (counter_write(l, l->pctr[i].name, l->pctr[i].v) !=
		    LEDGER_OK)
			l->poisoned = 1;
	}
	return 0;
}

void
ledger_rollback(struct ledger *l)
{
	size_t	i;

	assert(l->in_txn);
	l->narow = 0;
	l->nfrow = 0;
	l->nporow = l->nponew = l->npctr = 0;
	if (!l->db_txn) {
		/* Lazy: nothing reached SQLite. */
		l->in_txn = l->explicit_txn = l->poisoned = 0;
		bal_drop(l);
		return;
	}
	/* Reset first: a statement mid-step would keep the read open. */
	for (i = 0; i < S_COUNT; i++) {
		if (l->stmt[i] != NULL)
			sqlite3_reset(l->stmt[i]);
	}
	if (l->amulti != NULL)
		sqlite3_reset(l->amulti);
	if (l->omulti != NULL)
		sqlite3_reset(l->omulti);
	if (l->fmulti != NULL)
		sqlite3_reset(l->fmulti);
	if (l->bmulti != NULL)
		sqlite3_reset(l->bmulti);
	if (sqlite3_get_autocommit(l->db) == 0)
		db_exec(l, "ROLLBACK");
	l->in_txn = l->explicit_txn = l->poisoned = l->db_txn = 0;
	bal_drop(l);
}

int
ledger_commit(struct ledger *l, char **cause)
{
	uint64_t	ticket;

	if (ledger_commit_async(l, &ticket, cause) == -1)
		return -1;
	ledger_sync_wait(l, ticket);
	return 0;
}

static void *
grow(void *p, size_t *cap, size_t need, size_t size)
{
	if (need > *cap) {
		*cap = need > *cap * 2 ? need : *cap * 2;
		p = xreallocarray(p, *cap, size);
	}
	return p;
}

/* Add k elements of src to the array p of *n (grown as needed). */
static void *
append(void *p, size_t *n, size_t *cap, const void *src, size_t k,
    size_t size)
{
	if (k == 0)
		return p;
	p = grow(p, cap, *n + k, size);
	memcpy((char *)p + *n * size, src, k * size);
	*n += k;
	return p;
}

/*
 * Hand an ended lazy transaction to the writer thread.  Its rows are added
 * to the spare job under the lock; when the writer is idle the spare goes
 * to it at once, else the writer takes it (with whatever else ended
 * meanwhile, in one transaction) when it finishes its job.  So at most one
 * job is in flight and one waiting (job == NULL means the spare is empty),
 * and the owner waits only when the waiting one already holds
 * LEDGER_JOB_ROWS rows: back-pressure, which bounds both memory and how
 * long an acknowledgement can wait.
 */
#define LEDGER_JOB_ROWS		16384

static size_t
job_rows(const struct wjob *j)
{
	return j->narow + j->nfrow + j->nbal + j->norow + j->nctr;
}

static void
handoff(struct ledger *l, uint64_t *ticket)
{
	struct wjob	*j;

	hold_emit(l);
	l->in_txn = l->explicit_txn = 0;
	if (l->narow == 0 && l->nfrow == 0 && l->ndirty == 0 &&
	    l->nporow == 0 && l->npctr == 0) {
		*ticket = l->issued;
		return;
	}
	pthread_mutex_lock(&l->sync_mu);
	while (l->job != NULL && job_rows(l->spare) >= LEDGER_JOB_ROWS)
		pthread_cond_wait(&l->w_idle, &l->sync_mu);
	j = l->spare;
	j->arow = append(j->arow, &j->narow, &j->caparow, l->arow, l->narow,
	    sizeof *j->arow);
	j->frow = append(j->frow, &j->nfrow, &j->capfrow, l->frow, l->nfrow,
	    sizeof *j->frow);
	if (l->ndirty != 0) {
		j->bal = grow(j->bal, &j->capbal, j->nbal + l->ndirty,
		    sizeof *j->bal);
		j->nbal += bal_take(l, j->bal + j->nbal);
	}
	if (l->nporow != 0) {
		j->seg = grow(j->seg, &j->capseg, j->nseg + 1, sizeof *j->seg);
		j->seg[j->nseg].off = j->norow;
		j->seg[j->nseg].n = l->nporow;
		j->seg[j->nseg].nnew = l->nponew;
		j->nseg++;
		j->orow = append(j->orow, &j->norow, &j->caporow, l->porow,
		    l->nporow, sizeof *j->orow);
	}
	j->ctr = append(j->ctr, &j->nctr, &j->capctr, l->pctr, l->npctr,
	    sizeof *j->ctr);
	l->narow = l->nfrow = l->nporow = l->nponew = l->npctr = 0;
	j->ticket = ++l->issued;
	*ticket = j->ticket;
	if (l->job == NULL) {
		l->job = j;
		l->spare = j == &l->jobs[0] ? &l->jobs[1] : &l->jobs[0];
		pthread_cond_signal(&l->w_work);
	}
	pthread_mutex_unlock(&l->sync_mu);
	l->claimed = 0;
}

int
ledger_commit_async(struct ledger *l, uint64_t *ticket, char **cause)
{
	int	wrote;

	assert(l->in_txn);
	if (l->fail_next_commit) {
		l->fail_next_commit = 0;
		if (cause != NULL)
			xasprintf(cause, "commit failed (injected)");
		ledger_rollback(l);
		return -1;
	}
	if (!l->poisoned && !l->db_txn) {
		handoff(l, ticket);
		return 0;
	}
	if (!l->poisoned && (fill_flush(l) == -1 || audit_flush(l) == -1 ||
	    bal_flush(l) == -1))
		l->poisoned = 1;
	if (l->poisoned) {
		if (cause != NULL)
			xasprintf(cause, "transaction failed");
		ledger_rollback(l);
		return -1;
	}
	/* Before COMMIT: a checkpoint inside it counts no changes. */
	wrote = sqlite3_total_changes64(l->db) != l->changes_at_begin;
	if (db_exec(l, "COMMIT") == -1) {
		if (cause != NULL)
			xasprintf(cause, "commit: %s", sqlite3_errmsg(l->db));
		ledger_rollback(l);
		return -1;
	}
	l->in_txn = l->explicit_txn = l->db_txn = 0;
	if (!l->pipelined) {
		/* synchronous as configured: durable when COMMIT returns. */
		if (wrote)
			l->issued++;
		l->committed = l->durable = l->issued;
		*ticket = l->issued;
		return 0;
	}
	/* Claimed: no job in flight, so this commit follows every ticket. */
	pthread_mutex_lock(&l->sync_mu);
	if (wrote) {
		l->committed = ++l->issued;
		pthread_cond_signal(&l->sync_work);
	}
	*ticket = l->issued;
	pthread_mutex_unlock(&l->sync_mu);
	return 0;
}

bool
ledger_in_transaction(struct ledger *l)
{
	return l->in_txn != 0;
}

void
ledger_fail_next_commit(struct ledger *l)
{
	l->fail_next_commit = 1;
}

/* Operations join the open transaction or run in their own. */
static int
op_begin(struct ledger *l)
{
	if (l->in_txn)
		return l->poisoned ? -1 : 0;
	if (db_exec(l, "BEGIN IMMEDIATE") == -1)
		return -1;
	l->in_txn = 1;
	l->explicit_txn = 0;
	l->poisoned = 0;
	l->db_txn = 1;
	l->changes_at_begin = sqlite3_total_changes64(l->db);
	return 0;
}

static int
op_end(struct ledger *l, int rc)
{
	if (rc == LEDGER_ERR)
		l->poisoned = 1;
	if (l->explicit_txn)
		return rc;
	if (rc == LEDGER_OK || rc == LEDGER_DUPLICATE) {
		if (ledger_commit(l, NULL) == -1)
			return LEDGER_ERR;
		return rc;
	}
	ledger_rollback(l);
	return rc;
}

/* Counters. */

int
ledger_counter_get(struct ledger *l, const char *name, int64_t *v)
{
	sqlite3_stmt	*st;
	int		 rc;

	st = stmt(l, S_COUNTER_GET);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		*v = 0;
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static int
counter_write(struct ledger *l, const char *name, int64_t v)
{
	sqlite3_stmt	*st;

	st = stmt(l, S_COUNTER_SET);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, v);
	return step_done(l, st) == 0 ? LEDGER_OK : LEDGER_ERR;
}

/* Kept and written with the batch in a lazy transaction, as order rows. */
int
ledger_counter_set(struct ledger *l, const char *name, int64_t v)
{
	struct pcounter	*c;

	if (op_begin(l) == -1)
		return LEDGER_ERR;
	if (l->explicit_txn && !l->db_txn &&
	    strlen(name) < sizeof c->name) {
		if (l->npctr == l->cappctr) {
			l->cappctr = l->cappctr ? l->cappctr * 2 : 16;
			l->pctr = xreallocarray(l->pctr, l->cappctr,
			    sizeof *l->pctr);
		}
		c = &l->pctr[l->npctr++];
		memcpy(c->name, name, strlen(name) + 1);
		c->v = v;
		return LEDGER_OK;
	}
	return op_end(l, counter_write(l, name, v));
}

/* The balance cache: (user, token) -> amounts, written back at commit. */

static size_t
bal_hash(int64_t user, int64_t token)
{
	uint64_t	h;

	h = (uint64_t)user * 0x9e3779b97f4a7c15ULL ^
	    (uint64_t)token * 0xc2b2ae3d27d4eb4fULL;
	h ^= h >> 29;
	return (size_t)h;
}

static void
ucache_drop(struct ledger *l)
{
	memset(l->uval, 0, l->ucap * sizeof *l->uval);
	l->uused = 0;
}

static void
bal_drop(struct ledger *l)
{
	ucache_drop(l);
	memset(l->bal, 0, l->nbal * sizeof *l->bal);
	l->bal_used = 0;
	l->ndirty = 0;
}

static struct bal *
bal_slot(struct ledger *l, int64_t user, int64_t token)
{
	size_t	i, mask = l->nbal - 1;

	for (i = bal_hash(user, token) & mask;; i = (i + 1) & mask) {
		if (!l->bal[i].used ||
		    (l->bal[i].user == user && l->bal[i].token == token))
			return &l->bal[i];
	}
}

static void
bal_grow(struct ledger *l)
{
	struct bal	*old = l->bal, *b;
	size_t		 i, n = l->nbal;

	/* Dirty indexes move with the entries, so flush them first. */
	assert(l->ndirty == 0);
	l->nbal = n * 2;
	l->bal = xcalloc(l->nbal, sizeof *l->bal);
	for (i = 0; i < n; i++) {
		if (!old[i].used)
			continue;
		b = bal_slot(l, old[i].user, old[i].token);
		*b = old[i];
	}
	free(old);
}

/* Look up (loading from the database) a balance; NULL on error. */
static struct bal *
bal_load(struct ledger *l, int64_t user, int64_t token)
{
	struct bal	*b;
	sqlite3_stmt	*st;
	int		 rc;

	b = bal_slot(l, user, token);
	if (b->used)
		return b;
	if ((l->bal_used + 1) * 4 > l->nbal * 3) {
		if (l->ndirty != 0 && bal_flush(l) == -1)
			return NULL;
		if (l->nbal >= (1u << 22)) {
			/* Bound memory: clean entries can always be reread. */
			bal_drop(l);
		} else
			bal_grow(l);
		b = bal_slot(l, user, token);
	}
	st = stmt(l, S_BAL_GET);
	sqlite3_bind_int64(st, 1, user);
	sqlite3_bind_int64(st, 2, token);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		b->avail = column_amount(st, 0);
		b->total = column_amount(st, 1);
		b->stored = 1;
	} else if (rc == SQLITE_DONE) {
		b->avail = b->total = 0;
		b->stored = 0;
	} else {
		sqlite3_reset(st);
		return NULL;
	}
	sqlite3_reset(st);
	b->user = user;
	b->token = token;
	b->used = 1;
	b->dirty = 0;
	l->bal_used++;
	return b;
}

static void
bal_mark(struct ledger *l, struct bal *b)
{
	if (b->dirty)
		return;
	b->dirty = 1;
	if (l->ndirty == l->dirty_cap) {
		l->dirty_cap = l->dirty_cap == 0 ? 256 : l->dirty_cap * 2;
		l->dirty = xreallocarray(l->dirty, l->dirty_cap,
		    sizeof *l->dirty);
	}
	l->dirty[l->ndirty++] = (size_t)(b - l->bal);
}

static void
bind_bal(sqlite3_stmt *st, int b, const struct bal *e, char *avail,
    char *total)
{
	sqlite3_bind_int64(st, b + 1, e->user);
	sqlite3_bind_int64(st, b + 2, e->token);
	sqlite3_bind_text(st, b + 3, avail, (int)fmt_amount(avail, e->avail),
	    SQLITE_STATIC);
	sqlite3_bind_text(st, b + 4, total, (int)fmt_amount(total, e->total),
	    SQLITE_STATIC);
}

/*
 * Write balance rows, BAL_GROUP per statement.  INSERT OR REPLACE: the
 * table has no other index or constraint for a replace to miss, and one
 * statement per group costs less than an UPDATE per row.
 */
#define BAL_GROUP	32
static int
bal_write(struct ledger *l, const struct bal *e, size_t n)
{
	sqlite3_stmt	*st;
	char		 av[BAL_GROUP][MONEY_BUFSZ], tt[BAL_GROUP][MONEY_BUFSZ];
	char		*sql, *p;
	size_t		 i = 0, j;

	if (l->bmulti == NULL && n >= BAL_GROUP) {
		sql = xstrdup("INSERT OR REPLACE INTO balances(user_id, "
		    "token_id, available, total) VALUES ");
		for (j = 0; j < BAL_GROUP; j++) {
			xasprintf(&p, "%s%s(?, ?, ?, ?)", sql, j == 0 ? "" :
			    ", ");
			free(sql);
			sql = p;
		}
		if (sqlite3_prepare_v3(l->db, sql, -1,
		    SQLITE_PREPARE_PERSISTENT, &l->bmulti, NULL) != SQLITE_OK)
			fatalx("ledger: prepare: %s", sqlite3_errmsg(l->db));
		free(sql);
	}
	for (; i + BAL_GROUP <= n; i += BAL_GROUP) {
		st = l->bmulti;
		sqlite3_reset(st);
		for (j = 0; j < BAL_GROUP; j++)
			bind_bal(st, (int)(4 * j), &e[i + j], av[j], tt[j]);
		if (step_done(l, st) == -1)
			return -1;
	}
	for (; i < n; i++) {
		st = stmt(l, e[i].stored ? S_BAL_UPD : S_BAL_INS);
		bind_bal(st, 0, &e[i], av[0], tt[0]);
		if (step_done(l, st) == -1)
			return -1;
	}
	return 0;
}

/*
 * Copy the changed entries to out (room for all of them) and mark them
 * clean: the copies are what gets written.  Returns how many.
 */
static size_t
bal_take(struct ledger *l, struct bal *out)
{
	struct bal	*b;
	size_t		 j, n = l->ndirty;

	for (j = 0; j < n; j++) {
		b = &l->bal[l->dirty[j]];
		assert(b->used && b->dirty);
		assert(b->avail <= b->total);
		out[j] = *b;
		b->dirty = 0;
		b->stored = 1;
	}
	l->ndirty = 0;
	return n;
}

/*
 * Write back the changed balances.  On failure the transaction is
 * poisoned, and the cache is dropped with it.
 */
static int
bal_flush(struct ledger *l)
{
	size_t	n;

	CLAIM(l);
	/* The hot statements ROLLBACK on error: never write after one. */
	if (l->poisoned)
		return -1;
	if (l->ndirty == 0)
		return 0;
	/* Lines first: they must go out before the entries stop being dirty. */
	hold_emit(l);
	if (audit_flush(l) == -1)
		return -1;
	/* Claimed: the spare job is empty, its buffer free to use. */
	l->spare->bal = grow(l->spare->bal, &l->spare->capbal, l->ndirty,
	    sizeof *l->spare->bal);
	n = bal_take(l, l->spare->bal);
	return bal_write(l, l->spare->bal, n);
}

int
ledger_balance_get(struct ledger *l, int64_t user, int64_t token,
    struct ledger_balance *out)
{
	struct bal	*b;

	if ((b = bal_load(l, user, token)) == NULL)
		return LEDGER_ERR;
	out->user_id = user;
	out->token_id = token;
	out->available = b->avail;
	out->total = b->total;
	return LEDGER_OK;
}

int
ledger_balance_list(struct ledger *l, int64_t user,
    void (*cb)(const struct ledger_balance *, void *), void *arg)
{
	struct ledger_balance	 b;
	sqlite3_stmt		*st;
	int			 rc;

	if (l->in_txn && bal_flush(l) == -1)
		return LEDGER_ERR;
	if (user == 0)
		st = prepare(l, "SELECT user_id, token_id, available, total "
		    "FROM balances ORDER BY user_id, token_id");
	else {
		st = prepare(l, "SELECT user_id, token_id, available, total "
		    "FROM balances WHERE user_id = ?1 ORDER BY token_id");
		sqlite3_bind_int64(st, 1, user);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		b.user_id = sqlite3_column_int64(st, 0);
		b.token_id = sqlite3_column_int64(st, 1);
		b.available = column_amount(st, 2);
		b.total = column_amount(st, 3);
		cb(&b, arg);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? LEDGER_OK : LEDGER_ERR;
}

static int
audit(struct ledger *l, int64_t user, int64_t token, enum ledger_cause c,
    const char *ref, bool avail_neg, u128 d_avail, bool total_neg,
    u128 d_total)
{
	struct ledger_delta	 da, dt;
	struct auditrow		*a;
	size_t			 n;

	assert(l->in_txn);
	if (l->narow == l->caparow) {
		l->caparow = l->caparow == 0 ? 1024 : l->caparow * 2;
		l->arow = xreallocarray(l->arow, l->caparow, sizeof *l->arow);
	}
	a = &l->arow[l->narow];
	da.neg = avail_neg && d_avail != 0;
	da.abs = d_avail;
	dt.neg = total_neg && d_total != 0;
	dt.abs = d_total;
	if (ledger_delta_fmt(&da, a->da, sizeof a->da) == -1 ||
	    ledger_delta_fmt(&dt, a->dt, sizeof a->dt) == -1)
		fatalx("ledger: format audit delta");
	a->ts = ledger_now(l);
	a->user = user;
	a->token = token;
	a->cause = ledger_cause_name(c);
	/* No printf: several lines per order on the hot path. */
	n = ref != NULL ? strnlen(ref, sizeof a->ref - 1) : 0;
	memcpy(a->ref, ref != NULL ? ref : "", n);
	a->ref[n] = '\0';
	l->narow++;
	return 0;
}

static void
bind_audit(sqlite3_stmt *st, int base, const struct auditrow *a)
{
	sqlite3_bind_int64(st, base + 1, a->ts);
	sqlite3_bind_int64(st, base + 2, a->user);
	sqlite3_bind_int64(st, base + 3, a->token);
	sqlite3_bind_text(st, base + 4, a->cause, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, base + 5, a->ref, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, base + 6, a->da, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, base + 7, a->dt, -1, SQLITE_STATIC);
}

/* Write audit lines (in order, so ids follow time). */
static int
audit_write(struct ledger *l, const struct auditrow *rows, size_t n)
{
	sqlite3_stmt	*st;
	size_t		 i = 0, j;
	char		*sql, *p;

	if (l->amulti == NULL) {
		sql = xstrdup("INSERT OR ROLLBACK INTO audit_log(ts, user_id, "
		    "token_id, cause, ref, d_available, d_total) VALUES ");
		for (j = 0; j < AUDIT_GROUP; j++) {
			xasprintf(&p, "%s%s(?, ?, ?, ?, ?, ?, ?)", sql,
			    j == 0 ? "" : ", ");
			free(sql);
			sql = p;
		}
		if (sqlite3_prepare_v3(l->db, sql, -1,
		    SQLITE_PREPARE_PERSISTENT, &l->amulti, NULL) != SQLITE_OK)
			fatalx("ledger: prepare: %s", sqlite3_errmsg(l->db));
		free(sql);
	}
	for (; i + AUDIT_GROUP <= n; i += AUDIT_GROUP) {
		st = l->amulti;
		sqlite3_reset(st);
		for (j = 0; j < AUDIT_GROUP; j++)
			bind_audit(st, (int)(7 * j), &rows[i + j]);
		if (step_done(l, st) == -1)
			return -1;
	}
	for (; i < n; i++) {
		st = stmt(l, S_AUDIT_INS);
		bind_audit(st, 0, &rows[i]);
		if (step_done(l, st) == -1)
			return -1;
	}
	return 0;
}

/* Write the buffered audit lines. */
static int
audit_flush(struct ledger *l)
{
	CLAIM(l);
	if (l->poisoned)
		return -1;
	hold_emit(l);
	if (audit_write(l, l->arow, l->narow) == -1)
		return -1;
	l->narow = 0;
	return 0;
}

/*
 * The one place balances change: apply signed deltas to available and
 * total.  Checks first, then writes the cache and one audit row.
 */
static int
bal_apply(struct ledger *l, int64_t user, int64_t token,
    const struct ledger_delta *da, const struct ledger_delta *dt,
    enum ledger_cause c, const char *ref)
{
	struct bal	*b;
	u128		 na, nt;

	if (user <= 0 || token <= 0)
		return LEDGER_INVALID;
	if (da->abs == 0 && dt->abs == 0)
		return LEDGER_OK;
	if ((b = bal_load(l, user, token)) == NULL)
		return LEDGER_ERR;
	na = b->avail;
	nt = b->total;
	if (!da->neg && money_add(&na, na, da->abs) == -1)
		return LEDGER_OVERFLOW;
	if (da->neg && money_sub(&na, na, da->abs) == -1)
		return LEDGER_INSUFFICIENT;
	if (!dt->neg && money_add(&nt, nt, dt->abs) == -1)
		return LEDGER_OVERFLOW;
	if (dt->neg && money_sub(&nt, nt, dt->abs) == -1)
		return LEDGER_INSUFFICIENT;
	if (na > nt)
		return !da->neg && da->abs != 0 ? LEDGER_OVERFLOW :
		    LEDGER_INSUFFICIENT;
	if (audit(l, user, token, c, ref, da->neg, da->abs, dt->neg,
	    dt->abs) == -1)
		return LEDGER_ERR;
	b->avail = na;
	b->total = nt;
	bal_mark(l, b);
	return LEDGER_OK;
}

/*
 * The net of the transaction's ledger_hold() calls: one reservation line
 * per (user, token) instead of one per order event.  Only buffers audit
 * lines, so it may run before any flush.
 */
static void
hold_emit(struct ledger *l)
{
	struct bal	*b;
	size_t		 i;

	for (i = 0; i < l->ndirty; i++) {
		b = &l->bal[l->dirty[i]];
		if (b->hold.abs == 0)
			continue;
		audit(l, b->user, b->token, LEDGER_CAUSE_RESERVATION, "orders",
		    b->hold.neg, b->hold.abs, false, 0);
		b->hold.neg = false;
		b->hold.abs = 0;
	}
}

int
ledger_hold(struct ledger *l, int64_t user, int64_t token, bool release,
    u128 amount)
{
	struct ledger_delta	 d;
	struct bal		*b;
	u128			 na;

	assert(l->explicit_txn);
	if (user <= 0 || token <= 0)
		return LEDGER_INVALID;
	if (l->poisoned)
		return LEDGER_ERR;
	if (amount == 0)
		return LEDGER_OK;
	if ((b = bal_load(l, user, token)) == NULL)
		return LEDGER_ERR;
	if (release) {
		if (money_add(&na, b->avail, amount) == -1 || na > b->total)
			return LEDGER_OVERFLOW;
	} else if (money_sub(&na, b->avail, amount) == -1)
		return LEDGER_INSUFFICIENT;
	d.neg = !release;
	d.abs = amount;
	/* |net| <= total, which fits. */
	if (ledger_delta_add(&b->hold, &d) == -1)
		return LEDGER_OVERFLOW;
	b->avail = na;
	bal_mark(l, b);
	return LEDGER_OK;
}

/* Signs: +1 adds amount, -1 subtracts it, 0 leaves that side alone. */
static int
bal_move(struct ledger *l, int64_t user, int64_t token, u128 amount,
    int s_avail, int s_total, enum ledger_cause c, const char *ref)
{
	struct ledger_delta	da, dt;

	da.neg = s_avail < 0;
	da.abs = s_avail != 0 ? amount : 0;
	dt.neg = s_total < 0;
	dt.abs = s_total != 0 ? amount : 0;
	return bal_apply(l, user, token, &da, &dt, c, ref);
}

int
ledger_move(struct ledger *l, int64_t user, int64_t token,
    const struct ledger_delta *da, const struct ledger_delta *dt,
    enum ledger_cause c, const char *ref)
{
	if (op_begin(l) == -1)
		return LEDGER_ERR;
	return op_end(l, bal_apply(l, user, token, da, dt, c, ref));
}

static int
move_op(struct ledger *l, int64_t user, int64_t token, u128 amount,
    int sa, int st, enum ledger_cause c, const char *ref)
{
	if (op_begin(l) == -1)
		return LEDGER_ERR;
	return op_end(l, bal_move(l, user, token, amount, sa, st, c, ref));
}

int
ledger_credit(struct ledger *l, int64_t u, int64_t t, u128 a,
    enum ledger_cause c, const char *ref)
{
	return move_op(l, u, t, a, 1, 1, c, ref);
}

int
ledger_debit(struct ledger *l, int64_t u, int64_t t, u128 a,
    enum ledger_cause c, const char *ref)
{
	return move_op(l, u, t, a, -1, -1, c, ref);
}

int
ledger_reserve(struct ledger *l, int64_t u, int64_t t, u128 a,
    enum ledger_cause c, const char *ref)
{
	return move_op(l, u, t, a, -1, 0, c, ref);
}

int
ledger_release(struct ledger *l, int64_t u, int64_t t, u128 a,
    enum ledger_cause c, const char *ref)
{
	return move_op(l, u, t, a, 1, 0, c, ref);
}

int
ledger_spend_reserved(struct ledger *l, int64_t u, int64_t t, u128 a,
    enum ledger_cause c, const char *ref)
{
	return move_op(l, u, t, a, 0, -1, c, ref);
}

int
ledger_correct(struct ledger *l, int64_t u, int64_t t,
    const struct ledger_delta *d, const char *ref)
{
	int	s = d->neg ? -1 : 1;

	return move_op(l, u, t, d->abs, s, s, LEDGER_CAUSE_CORRECTION, ref);
}

/* Tokens. */

static void
row_token(sqlite3_stmt *st, struct ledger_token *t)
{
	t->id = sqlite3_column_int64(st, 0);
	copy_text(t->address, sizeof t->address, st, 1);
	copy_text(t->symbol, sizeof t->symbol, st, 2);
	t->decimals = sqlite3_column_int(st, 3);
}

/* Run a one-row query; LEDGER_OK with the row read, or NOTFOUND/ERR. */
static int
get_one(sqlite3_stmt *st, void (*rd)(sqlite3_stmt *, void *), void *out)
{
	int	rc;

	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rd(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return LEDGER_OK;
	return rc == SQLITE_DONE ? LEDGER_NOTFOUND : LEDGER_ERR;
}

static void
rd_token(sqlite3_stmt *st, void *out)
{
	row_token(st, out);
}

int
ledger_token_get(struct ledger *l, int64_t id, struct ledger_token *t)
{
	sqlite3_stmt	*st;

	st = stmt(l, S_TOKEN_GET);
	sqlite3_bind_int64(st, 1, id);
	return get_one(st, rd_token, t);
}

int
ledger_token_find(struct ledger *l, const char *key, struct ledger_token *t)
{
	sqlite3_stmt	*st;

	st = stmt(l, S_TOKEN_FIND);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	return get_one(st, rd_token, t);
}

static int
token_add(struct ledger *l, const char *address, const char *symbol,
    int decimals, int64_t *id)
{
	struct ledger_token	 t;
	sqlite3_stmt		*st;
	int			 rc;

	if (address == NULL || *address == '\0' || strlen(address) >=
	    LEDGER_ADDR_MAX || symbol == NULL || *symbol == '\0' ||
	    strlen(symbol) >= LEDGER_SYMBOL_MAX || decimals < 0 ||
	    decimals > MONEY_MAX_DECIMALS)
		return LEDGER_INVALID;
	st = prepare(l, "SELECT * FROM tokens WHERE address = ?1");
	sqlite3_bind_text(st, 1, address, -1, SQLITE_STATIC);
	rc = get_one(st, rd_token, &t);
	sqlite3_finalize(st);
	if (rc == LEDGER_OK) {
		if (id != NULL)
			*id = t.id;
		if (t.decimals != decimals || strcmp(t.symbol, symbol) != 0)
			return LEDGER_INVALID;
		return LEDGER_DUPLICATE;
	}
	if (rc != LEDGER_NOTFOUND)
		return LEDGER_ERR;
	st = prepare(l, "INSERT INTO tokens(address, symbol, decimals) "
	    "VALUES (?1, ?2, ?3)");
	sqlite3_bind_text(st, 1, address, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, symbol, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, decimals);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return LEDGER_ERR;
	if (id != NULL)
		*id = sqlite3_last_insert_rowid(l->db);
	return LEDGER_OK;
}

int
ledger_token_add(struct ledger *l, const char *address, const char *symbol,
    int decimals, int64_t *id)
{
	if (op_begin(l) == -1)
		return LEDGER_ERR;
	return op_end(l, token_add(l, address, symbol, decimals, id));
}

int
ledger_token_list(struct ledger *l,
    void (*cb)(const struct ledger_token *, void *), void *arg)
{
	struct ledger_token	 t;
	sqlite3_stmt		*st;
	int			 rc;

	st = prepare(l, "SELECT * FROM tokens ORDER BY id");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_token(st, &t);
		cb(&t, arg);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? LEDGER_OK : LEDGER_ERR;
}

/* Users. */

static void
rd_user(sqlite3_stmt *st, void *out)
{
	struct ledger_user	*u = out;
	char			 status[32];

	u->id = sqlite3_column_int64(st, 0);
	copy_text(u->address, sizeof u->address, st, 1);
	copy_text(u->pubkey_type, sizeof u->pubkey_type, st, 2);
	copy_text(u->storage, sizeof u->storage, st, 3);
	copy_text(status, sizeof status, st, 4);
	if (ledger_user_status_parse(status, &u->status) == -1)
		fatalx("ledger: bad user status '%s'", status);
	copy_text(u->reason, sizeof u->reason, st, 5);
	u->created_at = sqlite3_column_int64(st, 7);
	u->fee_tier = sqlite3_column_int(st, 8);
}

int
ledger_user_get(struct ledger *l, int64_t id, struct ledger_user *u)
{
	sqlite3_stmt	*st;

	st = stmt(l, S_USER_GET);
	sqlite3_bind_int64(st, 1, id);
	return get_one(st, rd_user, u);
}

static size_t
ucache_slot(struct ledger *l, int64_t id)
{
	size_t	i, mask = l->ucap - 1;

	i = (size_t)(((uint64_t)id * 0x9e3779b97f4a7c15ULL) >> 40) & mask;
	while (l->uval[i] != 0 && l->ukey[i] != id)
		i = (i + 1) & mask;
	return i;
}

static void
ucache_put(struct ledger *l, int64_t id, enum ledger_user_status st)
{
	size_t	i;

	/* Bounded: when half full, start again (entries are rereadable). */
	if ((l->uused + 1) * 2 > l->ucap)
		ucache_drop(l);
	i = ucache_slot(l, id);
	if (l->uval[i] == 0)
		l->uused++;
	l->ukey[i] = id;
	l->uval[i] = (uint8_t)(st + 1);
}

int
ledger_user_status(struct ledger *l, int64_t id, enum ledger_user_status *st)
{
	struct ledger_user	u;
	size_t			i;
	int			rc;

	i = ucache_slot(l, id);
	if (l->uval[i] != 0) {
		*st = (enum ledger_user_status)(l->uval[i] - 1);
		return LEDGER_OK;
	}
	if ((rc = ledger_user_get(l, id, &u)) != LEDGER_OK)
		return rc;
	ucache_put(l, id, u.status);
	*st = u.status;
	return LEDGER_OK;
}

int
ledger_user_find(struct ledger *l, const char *address, struct ledger_user *u)
{
	sqlite3_stmt	*st;

	st = stmt(l, S_USER_FIND);
	sqlite3_bind_text(st, 1, address, -1, SQLITE_STATIC);
	return get_one(st, rd_user, u);
}

int
ledger_user_add(struct ledger *l, const char *address,
    const char *pubkey_type, int64_t *id)
{
	struct ledger_user	 u;
	sqlite3_stmt		*st;
	int			 rc;

	if (address == NULL || *address == '\0' ||
	    strlen(address) >= LEDGER_ADDR_MAX ||
	    strcmp(address, LEDGER_FEE_ADDRESS) == 0)
		return LEDGER_INVALID;
	if (pubkey_type == NULL)
		pubkey_type = "";
	if (strlen(pubkey_type) >= sizeof u.pubkey_type)
		return LEDGER_INVALID;
	if (op_begin(l) == -1)
		return LEDGER_ERR;
	rc = ledger_user_find(l, address, &u);
	if (rc == LEDGER_OK) {
		if (id != NULL)
			*id = u.id;
		return op_end(l, LEDGER_DUPLICATE);
	}
	if (rc != LEDGER_NOTFOUND)
		return op_end(l, LEDGER_ERR);
	st = prepare(l, "INSERT INTO users(address, pubkey_type, created_at) "
	    "VALUES (?1, ?2, ?3)");
	sqlite3_bind_text(st, 1, address, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, pubkey_type, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, ledger_now(l));
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return op_end(l, LEDGER_ERR);
	if (id != NULL)
		*id = sqlite3_last_insert_rowid(l->db);
	return op_end(l, LEDGER_OK);
}

/* UPDATE one row by id with text/int arguments; NOTFOUND if none. */
static int
update_row(struct ledger *l, const char *sql, int64_t id, const char *t1,
    const char *t2, int64_t i1, int64_t i2)
{
	sqlite3_stmt	*st;
	int		 rc;

	st = prepare(l, sql);
	sqlite3_bind_int64(st, 1, id);
	if (t1 != NULL)
		sqlite3_bind_text(st, 2, t1, -1, SQLITE_STATIC);
	if (t2 != NULL)
		sqlite3_bind_text(st, 3, t2, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, i1);
	sqlite3_bind_int64(st, 5, i2);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return LEDGER_ERR;
	return sqlite3_changes(l->db) == 1 ? LEDGER_OK : LEDGER_NOTFOUND;
}

int
ledger_user_set_storage(struct ledger *l, int64_t id, const char *storage)
{
	if (storage == NULL || strlen(storage) >= LEDGER_ADDR_MAX ||
	    id == LEDGER_FEE_USER)
		return LEDGER_INVALID;
	if (op_begin(l) == -1)
		return LEDGER_ERR;
	return op_end(l, update_row(l, "UPDATE users SET storage = ?2 "
	    "WHERE id = ?1 AND kind = 'user'", id, storage, NULL, 0, 0));
}

int
ledger_user_set_status(struct ledger *l, int64_t id,
    enum ledger_user_status s, const char *reason)
{
	if ((size_t)s >= NAMES(user_status_names) || id == LEDGER_FEE_USER)
		return LEDGER_INVALID;
	if (reason == NULL)
		reason = "";
	if (op_begin(l) == -1)
		return LEDGER_ERR;
	/* Forget the cached status; a rollback drops the whole cache. */
	ucache_drop(l);
	return op_end(l, update_row(l, "UPDATE users SET status = ?2, "
	    "reason = ?3 WHERE id = ?1 AND kind = 'user'", id,
	    ledger_user_status_name(s), reason, 0, 0));
}

int
ledger_user_set_fee_tier(struct ledger *l, int64_t id, int tier)
{
	if (tier < 0)
		return LEDGER_INVALID;
	if (op_begin(l) == -1)
		return LEDGER_ERR;
	return op_end(l, update_row(l, "UPDATE users SET fee_tier = ?4 "
	    "WHERE id = ?1", id, NULL, NULL, tier, 0));
}

int
ledger_user_list(struct ledger *l,
    void (*cb)(const struct ledger_user *, void *), void *arg)
{
	struct ledger_user	 u;
	sqlite3_stmt		*st;
	int			 rc;

	st = prepare(l, "SELECT * FROM users WHERE kind = 'user' ORDER BY id");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rd_user(st, &u);
		cb(&u, arg);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? LEDGER_OK : LEDGER_ERR;
}

/* Markets. */

static void
rd_market(sqlite3_stmt *st, void *out)
{
	struct ledger_market	*m = out;
	struct market_config	*c = &m->cfg;
	char			 status[32];

	memset(m, 0, sizeof *m);
	m->id = sqlite3_column_int64(st, 0);
	copy_text(m->pair, sizeof m->pair, st, 1);
	m->base_token = sqlite3_column_int64(st, 2);
	m->quote_token = sqlite3_column_int64(st, 3);
	c->tick_size = column_amount(st, 4);
	c->lot_size = column_amount(st, 5);
	c->min_lots = (uint64_t)sqlite3_column_int64(st, 6);
	c->min_notional = column_amount(st, 7);
	c->maker_fee_ppm = sqlite3_column_int(st, 8);
	c->taker_fee_ppm = sqlite3_column_int(st, 9);
	copy_text(status, sizeof status, st, 10);
	if (market_status_parse(status, &c->status) == -1)
		fatalx("ledger: bad market status '%s'", status);
	c->max_price_ticks = (uint64_t)sqlite3_column_int64(st, 11);
	c->max_qty_lots = (uint64_t)sqlite3_column_int64(st, 12);
	c->limits.max_orders = (uint32_t)sqlite3_column_int64(st, 13);
	c->limits.max_levels = (uint32_t)sqlite3_column_int64(st, 14);
	c->limits.max_orders_per_user = (uint32_t)sqlite3_column_int64(st, 15);
	m->created_at = sqlite3_column_int64(st, 16);
}

/* Fill in the tokens of a market row read by rd_market. */
static int
market_tokens(struct ledger *l, struct ledger_market *m)
{
	struct ledger_token	t;
	int			rc;

	if ((rc = ledger_token_get(l, m->base_token, &t)) != LEDGER_OK)
		return rc;
	snprintf(m->cfg.base.address, sizeof m->cfg.base.address, "%s",
	    t.address);
	snprintf(m->cfg.base.symbol, sizeof m->cfg.base.symbol, "%s",
	    t.symbol);
	m->cfg.base.decimals = (unsigned int)t.decimals;
	if ((rc = ledger_token_get(l, m->quote_token, &t)) != LEDGER_OK)
		return rc;
	snprintf(m->cfg.quote.address, sizeof m->cfg.quote.address, "%s",
	    t.address);
	snprintf(m->cfg.quote.symbol, sizeof m->cfg.quote.symbol, "%s",
	    t.symbol);
	m->cfg.quote.decimals = (unsigned int)t.decimals;
	return LEDGER_OK;
}

int
ledger_market_get(struct ledger *l, int64_t id, struct ledger_market *m)
{
	sqlite3_stmt	*st;
	int		 rc;

	st = stmt(l, S_MARKET_GET);
	sqlite3_bind_int64(st, 1, id);
	if ((rc = get_one(st, rd_market, m)) != LEDGER_OK)
		return rc;
	return market_tokens(l, m);
}

int
ledger_market_find(struct ledger *l, const char *pair,
    struct ledger_market *m)
{
	sqlite3_stmt	*st;
	int		 rc;

	st = stmt(l, S_MARKET_FIND);
	sqlite3_bind_text(st, 1, pair, -1, SQLITE_STATIC);
	if ((rc = get_one(st, rd_market, m)) != LEDGER_OK)
		return rc;
	return market_tokens(l, m);
}

static int
market_put(struct ledger *l, const struct market *m, int64_t *id)
{
	const struct market_config	*c = &m->cfg;
	sqlite3_stmt			*st;
	int64_t				 base, quote;
	int				 rc;

	if (c->max_price_ticks > INT64_MAX || c->max_qty_lots > INT64_MAX ||
	    c->min_lots > INT64_MAX)
		return LEDGER_INVALID;
	rc = token_add(l, c->base.address, c->base.symbol,
	    (int)c->base.decimals, &base);
	if (rc != LEDGER_OK && rc != LEDGER_DUPLICATE)
		return rc;
	rc = token_add(l, c->quote.address, c->quote.symbol,
	    (int)c->quote.decimals, &quote);
	if (rc != LEDGER_OK && rc != LEDGER_DUPLICATE)
		return rc;
	st = prepare(l, "INSERT INTO markets(pair, base_token, quote_token, "
	    "tick_size, lot_size, min_lots, min_notional, maker_fee_ppm, "
	    "taker_fee_ppm, status, max_price_ticks, max_qty_lots, max_orders,"
	    " max_levels, max_orders_per_user, created_at) VALUES (?1, ?2, ?3,"
	    " ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16) "
	    "ON CONFLICT(pair) DO UPDATE SET tick_size = excluded.tick_size, "
	    "lot_size = excluded.lot_size, min_lots = excluded.min_lots, "
	    "min_notional = excluded.min_notional, maker_fee_ppm = "
	    "excluded.maker_fee_ppm, taker_fee_ppm = excluded.taker_fee_ppm, "
	    "status = excluded.status, max_price_ticks = "
	    "excluded.max_price_ticks, max_qty_lots = excluded.max_qty_lots, "
	    "max_orders = excluded.max_orders, max_levels = "
	    "excluded.max_levels, max_orders_per_user = "
	    "excluded.max_orders_per_user WHERE base_token = "
	    "excluded.base_token AND quote_token = excluded.quote_token "
	    "RETURNING id");
	sqlite3_bind_text(st, 1, m->pair, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, base);
	sqlite3_bind_int64(st, 3, quote);
	bind_amount(st, 4, c->tick_size);
	bind_amount(st, 5, c->lot_size);
	sqlite3_bind_int64(st, 6, (int64_t)c->min_lots);
	bind_amount(st, 7, c->min_notional);
	sqlite3_bind_int(st, 8, c->maker_fee_ppm);
	sqlite3_bind_int(st, 9, c->taker_fee_ppm);
	sqlite3_bind_text(st, 10, market_status_name(c->status), -1,
	    SQLITE_STATIC);
	sqlite3_bind_int64(st, 11, (int64_t)c->max_price_ticks);
	sqlite3_bind_int64(st, 12, (int64_t)c->max_qty_lots);
	sqlite3_bind_int64(st, 13, c->limits.max_orders);
	sqlite3_bind_int64(st, 14, c->limits.max_levels);
	sqlite3_bind_int64(st, 15, c->limits.max_orders_per_user);
	sqlite3_bind_int64(st, 16, ledger_now(l));
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (id != NULL)
			*id = sqlite3_column_int64(st, 0);
		rc = sqlite3_step(st);
	} else if (rc == SQLITE_DONE) {
		/* The pair exists with other tokens. */
		sqlite3_finalize(st);
		return LEDGER_INVALID;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? LEDGER_OK : LEDGER_ERR;
}

int
ledger_market_put(struct ledger *l, const struct market *m, int64_t *id)
{
	if (op_begin(l) == -1)
		return LEDGER_ERR;
	return op_end(l, market_put(l, m, id));
}

int
ledger_market_set_status(struct ledger *l, int64_t id, enum market_status s)
{
	if (op_begin(l) == -1)
		return LEDGER_ERR;
	return op_end(l, update_row(l, "UPDATE markets SET status = ?2 "
	    "WHERE id = ?1", id, market_status_name(s), NULL, 0, 0));
}

int
ledger_market_set_fees(struct ledger *l, int64_t id, int32_t maker,
    int32_t taker)
{
	if (taker < 0 || taker > MONEY_PPM || maker < -taker ||
	    maker > MONEY_PPM)
		return LEDGER_INVALID;
	if (op_begin(l) == -1)
		return LEDGER_ERR;
	return op_end(l, update_row(l, "UPDATE markets SET maker_fee_ppm = "
	    "?4, taker_fee_ppm = ?5 WHERE id = ?1", id, NULL, NULL, maker,
	    taker));
}

int
ledger_market_list(struct ledger *l,
    void (*cb)(const struct ledger_market *, void *), void *arg)
{
	struct ledger_market	 m;
	sqlite3_stmt		*st;
	int			 rc;

	st = prepare(l, "SELECT * FROM markets ORDER BY id");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rd_market(st, &m);
		if (market_tokens(l, &m) != LEDGER_OK) {
			rc = SQLITE_ERROR;
			break;
		}
		cb(&m, arg);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? LEDGER_OK : LEDGER_ERR;
}

/* Orders. */

static void
rd_order(sqlite3_stmt *st, void *out)
{
	struct ledger_order	*o = out;

	o->id = sqlite3_column_int64(st, 0);
	o->user_id = sqlite3_column_int64(st, 1);
	o->market_id = sqlite3_column_int64(st, 2);
	copy_text(o->client_id, sizeof o->client_id, st, 3);
	o->side = sqlite3_column_int(st, 4);
	o->type = sqlite3_column_int(st, 5);
	o->tif = sqlite3_column_int(st, 6);
	o->post_only = sqlite3_column_int(st, 7);
	o->stp = sqlite3_column_int(st, 8);
	o->price = (uint64_t)sqlite3_column_int64(st, 9);
	o->qty = (uint64_t)sqlite3_column_int64(st, 10);
	o->filled = (uint64_t)sqlite3_column_int64(st, 11);
	o->reserved = column_amount(st, 12);
	o->reserve_token = sqlite3_column_int64(st, 13);
	o->status = (enum ledger_order_status)sqlite3_column_int(st, 14);
	if ((size_t)o->status >= NAMES(order_status_names))
		fatalx("ledger: bad order status");
	copy_text(o->reason, sizeof o->reason, st, 15);
	o->expire_at = sqlite3_column_int64(st, 16);
	o->created_at = sqlite3_column_int64(st, 17);
	o->updated_at = sqlite3_column_int64(st, 18);
}

/* Bind an order row; which statement decides what is used. */
static void
bind_order_at(sqlite3_stmt *st, int b, const struct ledger_order *o,
    bool all, char *amount)
{
	sqlite3_bind_int64(st, b + 1, o->id);
	if (all) {
		sqlite3_bind_int64(st, b + 2, o->user_id);
		sqlite3_bind_int64(st, b + 3, o->market_id);
		sqlite3_bind_text(st, b + 4, o->client_id, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, b + 5, o->side);
		sqlite3_bind_int(st, b + 6, o->type);
		sqlite3_bind_int(st, b + 7, o->tif);
		sqlite3_bind_int(st, b + 8, o->post_only);
		sqlite3_bind_int(st, b + 9, o->stp);
		sqlite3_bind_int64(st, b + 14, o->reserve_token);
		sqlite3_bind_int64(st, b + 17, o->expire_at);
		sqlite3_bind_int64(st, b + 18, o->created_at);
	}
	sqlite3_bind_int64(st, b + 10, (int64_t)o->price);
	sqlite3_bind_int64(st, b + 11, (int64_t)o->qty);
	sqlite3_bind_int64(st, b + 12, (int64_t)o->filled);
	/* amount: the caller's buffer, alive until the step. */
	sqlite3_bind_text(st, b + 13, amount, (int)fmt_amount(amount,
	    o->reserved), SQLITE_STATIC);
	sqlite3_bind_int(st, b + 15, (int)o->status);
	sqlite3_bind_text(st, b + 16, o->reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, b + 19, o->updated_at);
}

static void
bind_order(sqlite3_stmt *st, const struct ledger_order *o, bool all,
    char *amount)
{
	bind_order_at(st, 0, o, all, amount);
}

static int
order_valid(const struct ledger_order *o)
{
	return o->id > 0 && o->user_id > 0 && o->market_id > 0 &&
	    o->price <= INT64_MAX && o->qty <= INT64_MAX &&
	    o->filled <= o->qty &&
	    (size_t)o->status < NAMES(order_status_names);
}

/* which: S_ORDER_PUT (upsert), S_ORDER_INS or S_ORDER_UPD. */
static int
order_write(struct ledger *l, const struct ledger_order *o, int which)
{
	sqlite3_stmt	*st;
	char		 amount[MONEY_BUFSZ];
	int		 rc;

	if (!order_valid(o))
		return LEDGER_INVALID;
	if (op_begin(l) == -1)
		return LEDGER_ERR;
	st = stmt(l, which);
	bind_order(st, o, which != S_ORDER_UPD, amount);
	rc = step_done(l, st) == 0 ? LEDGER_OK : LEDGER_ERR;
	if (rc == LEDGER_OK && which == S_ORDER_UPD &&
	    sqlite3_changes(l->db) != 1)
		rc = LEDGER_NOTFOUND;
	return op_end(l, rc);
}

int
ledger_order_put(struct ledger *l, const struct ledger_order *o)
{
	return order_write(l, o, S_ORDER_PUT);
}

int
ledger_order_insert(struct ledger *l, const struct ledger_order *o)
{
	return order_write(l, o, S_ORDER_INS);
}

int
ledger_order_update(struct ledger *l, const struct ledger_order *o)
{
	return order_write(l, o, S_ORDER_UPD);
}

#define ORDER_GROUP	16

/*
 * The batch's order rows: the first nnew are inserted ORDER_GROUP per
 * statement, the others updated one by one (no upsert: see S_BAL_UPD).
 */
static int
orders_write(struct ledger *l, const struct ledger_order *o, size_t n,
    size_t nnew)
{
	sqlite3_stmt	*st;
	char		 amounts[ORDER_GROUP][MONEY_BUFSZ], *sql, *p;
	size_t		 i, j;
	int		 rc = LEDGER_OK;

	assert(nnew <= n);
	if (l->omulti == NULL) {
		sql = xstrdup("INSERT OR ROLLBACK INTO orders(id, user_id, "
		    "market_id, client_id, side, type, tif, post_only, stp, "
		    "price, qty, filled, reserved, reserve_token, status, "
		    "reason, expire_at, created_at, updated_at) VALUES ");
		for (j = 0; j < ORDER_GROUP; j++) {
			xasprintf(&p, "%s%s(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
			    "?, ?, ?, ?, ?, ?, ?, ?)", sql, j == 0 ? "" : ", ");
			free(sql);
			sql = p;
		}
		if (sqlite3_prepare_v3(l->db, sql, -1,
		    SQLITE_PREPARE_PERSISTENT, &l->omulti, NULL) != SQLITE_OK)
			fatalx("ledger: prepare: %s", sqlite3_errmsg(l->db));
		free(sql);
	}
	for (i = 0; rc == LEDGER_OK && i + ORDER_GROUP <= nnew;
	    i += ORDER_GROUP) {
		st = l->omulti;
		sqlite3_reset(st);
		for (j = 0; j < ORDER_GROUP; j++)
			bind_order_at(st, (int)(19 * j), &o[i + j], true,
			    amounts[j]);
		if (step_done(l, st) == -1)
			rc = LEDGER_ERR;
	}
	for (; rc == LEDGER_OK && i < nnew; i++) {
		st = stmt(l, S_ORDER_INS);
		bind_order(st, &o[i], true, amounts[0]);
		if (step_done(l, st) == -1)
			rc = LEDGER_ERR;
	}
	for (; rc == LEDGER_OK && i < n; i++) {
		st = stmt(l, S_ORDER_UPD_RB);
		bind_order(st, &o[i], false, amounts[0]);
		if (step_done(l, st) == -1)
			rc = LEDGER_ERR;
		else if (sqlite3_changes(l->db) != 1)
			rc = LEDGER_NOTFOUND;
	}
	return rc;
}

/*
 * In a lazy transaction (pipelined, nothing read or written through
 * SQLite yet) the rows are kept and written with the batch; one call per
 * transaction then, as the exchange makes.
 */
int
ledger_order_write_many(struct ledger *l, const struct ledger_order *o,
    size_t n, size_t nnew)
{
	size_t	i;

	if (nnew > n)
		return LEDGER_INVALID;
	for (i = 0; i < n; i++) {
		if (!order_valid(&o[i]))
			return LEDGER_INVALID;
	}
	if (op_begin(l) == -1)
		return LEDGER_ERR;
	if (l->explicit_txn && !l->db_txn && l->nporow == 0) {
		if (n > l->capporow) {
			l->capporow = n;
			l->porow = xreallocarray(l->porow, n,
			    sizeof *l->porow);
		}
		memcpy(l->porow, o, n * sizeof *o);
		l->nporow = n;
		l->nponew = nnew;
		return LEDGER_OK;
	}
	return op_end(l, orders_write(l, o, n, nnew));
}

int
ledger_order_get(struct ledger *l, int64_t id, struct ledger_order *o)
{
	sqlite3_stmt	*st;

	st = stmt(l, S_ORDER_GET);
	sqlite3_bind_int64(st, 1, id);
	return get_one(st, rd_order, o);
}

int
ledger_order_find_client(struct ledger *l, int64_t user, const char *cid,
    struct ledger_order *o)
{
	sqlite3_stmt	*st;

	if (cid == NULL || *cid == '\0')
		return LEDGER_INVALID;
	st = stmt(l, S_ORDER_CLIENT);
	sqlite3_bind_int64(st, 1, user);
	sqlite3_bind_text(st, 2, cid, -1, SQLITE_STATIC);
	return get_one(st, rd_order, o);
}

static int
each_row(sqlite3_stmt *st, void (*rd)(sqlite3_stmt *, void *), void *row,
    void (*cb)(const void *, void *), void *arg)
{
	int	rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rd(st, row);
		cb(row, arg);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? LEDGER_OK : LEDGER_ERR;
}

typedef void each_fn(const void *, void *);

int
ledger_order_list(struct ledger *l, const struct ledger_order_filter *f,
    void (*cb)(const struct ledger_order *, void *), void *arg)
{
	struct ledger_order	 o;
	sqlite3_stmt		*st;
	const char		*which;

	which = f->which == 1 ? "status < 2" : f->which == 2 ? "status >= 2" :
	    "1";
	{
		char	*sql;

		xasprintf(&sql, "SELECT * FROM orders WHERE (?1 = 0 OR "
		    "user_id = ?1) AND (?2 = 0 OR market_id = ?2) AND %s "
		    "ORDER BY id DESC LIMIT ?3", which);
		st = prepare(l, sql);
		free(sql);
	}
	sqlite3_bind_int64(st, 1, f->user_id);
	sqlite3_bind_int64(st, 2, f->market_id);
	sqlite3_bind_int64(st, 3, f->limit == 0 ? -1 : (int64_t)f->limit);
	return each_row(st, rd_order, &o, (each_fn *)(void *)cb, arg);
}

int
ledger_order_list_open(struct ledger *l,
    void (*cb)(const struct ledger_order *, void *), void *arg)
{
	struct ledger_order	 o;
	sqlite3_stmt		*st;

	st = prepare(l, "SELECT * FROM orders WHERE status < 2 ORDER BY id");
	return each_row(st, rd_order, &o, (each_fn *)(void *)cb, arg);
}

/* Fills. */

static void
rd_fill(sqlite3_stmt *st, void *out)
{
	struct ledger_fill	*f = out;

	f->id = sqlite3_column_int64(st, 0);
	f->market_id = sqlite3_column_int64(st, 1);
	f->seq = (uint64_t)sqlite3_column_int64(st, 2);
	f->ts = sqlite3_column_int64(st, 3);
	f->price = (uint64_t)sqlite3_column_int64(st, 4);
	f->qty = (uint64_t)sqlite3_column_int64(st, 5);
	f->taker_side = sqlite3_column_int(st, 6);
	f->taker_order = sqlite3_column_int64(st, 7);
	f->maker_order = sqlite3_column_int64(st, 8);
	f->taker_user = sqlite3_column_int64(st, 9);
	f->maker_user = sqlite3_column_int64(st, 10);
	f->base_amount = column_amount(st, 11);
	f->quote_amount = column_amount(st, 12);
	f->taker_fee = column_delta(st, 13);
	f->maker_fee = column_delta(st, 14);
	f->fee_token = sqlite3_column_int64(st, 15);
	f->taker_fee_ppm = sqlite3_column_int(st, 16);
	f->maker_fee_ppm = sqlite3_column_int(st, 17);
	f->fee_tier = sqlite3_column_int(st, 18);
	f->settlement_batch = sqlite3_column_int64(st, 19);
	f->maker_tier = sqlite3_column_int(st, 20);
}

/* Format a fill's amounts into its row (no printf: one per trade). */
static void
fill_format(struct fillrow *r, const struct ledger_fill *f)
{
	r->f = *f;
	fmt_amount(r->base, f->base_amount);
	fmt_amount(r->quote, f->quote_amount);
	if (ledger_delta_fmt(&f->taker_fee, r->tfee, sizeof r->tfee) == -1 ||
	    ledger_delta_fmt(&f->maker_fee, r->mfee, sizeof r->mfee) == -1)
		fatalx("ledger: format fee");
}

/* Bind a row at parameter b + 1 in FILL_COLUMNS order. */
static void
bind_fill(sqlite3_stmt *st, int b, const struct fillrow *r)
{
	const struct ledger_fill	*f = &r->f;

	sqlite3_bind_int64(st, b + 1, f->id);
	sqlite3_bind_int64(st, b + 2, f->market_id);
	sqlite3_bind_int64(st, b + 3, (int64_t)f->seq);
	sqlite3_bind_int64(st, b + 4, f->ts);
	sqlite3_bind_int64(st, b + 5, (int64_t)f->price);
	sqlite3_bind_int64(st, b + 6, (int64_t)f->qty);
	sqlite3_bind_int(st, b + 7, f->taker_side);
	sqlite3_bind_int64(st, b + 8, f->taker_order);
	sqlite3_bind_int64(st, b + 9, f->maker_order);
	sqlite3_bind_int64(st, b + 10, f->taker_user);
	sqlite3_bind_int64(st, b + 11, f->maker_user);
	sqlite3_bind_text(st, b + 12, r->base, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, b + 13, r->quote, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, b + 14, r->tfee, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, b + 15, r->mfee, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, b + 16, f->fee_token);
	sqlite3_bind_int(st, b + 17, f->taker_fee_ppm);
	sqlite3_bind_int(st, b + 18, f->maker_fee_ppm);
	sqlite3_bind_int(st, b + 19, f->fee_tier);
	sqlite3_bind_int64(st, b + 20, f->settlement_batch);
	sqlite3_bind_int(st, b + 21, f->maker_tier);
}

/*
 * Write the buffered fills, FILL_GROUP per statement.  INSERT OR ROLLBACK:
 * no statement journal (see S_BAL_UPD); a duplicate id poisons the
 * transaction as it would have when inserted one by one.
 */
static int
fill_write(struct ledger *l, const struct fillrow *rows, size_t n)
{
	sqlite3_stmt	*st;
	size_t		 i = 0, j;
	char		*sql, *p;

	if (l->fmulti == NULL) {
		sql = xstrdup("INSERT OR ROLLBACK INTO fills(" FILL_COLUMNS
		    ") VALUES ");
		for (j = 0; j < FILL_GROUP; j++) {
			xasprintf(&p, "%s%s(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
			    "?, ?, ?, ?, ?, ?, ?, ?, ?)", sql, j == 0 ? "" : ", ");
			free(sql);
			sql = p;
		}
		if (sqlite3_prepare_v3(l->db, sql, -1,
		    SQLITE_PREPARE_PERSISTENT, &l->fmulti, NULL) != SQLITE_OK)
			fatalx("ledger: prepare: %s", sqlite3_errmsg(l->db));
		free(sql);
	}
	for (; i + FILL_GROUP <= n; i += FILL_GROUP) {
		st = l->fmulti;
		sqlite3_reset(st);
		for (j = 0; j < FILL_GROUP; j++)
			bind_fill(st, (int)(FILL_NCOLUMNS * j), &rows[i + j]);
		if (step_done(l, st) == -1)
			return -1;
	}
	for (; i < n; i++) {
		st = stmt(l, S_FILL_INS);
		bind_fill(st, 0, &rows[i]);
		if (step_done(l, st) == -1)
			return -1;
	}
	return 0;
}

static int
fill_flush(struct ledger *l)
{
	int	rc;

	if (l->nfrow == 0)
		return 0;
	CLAIM(l);
	rc = l->poisoned ? -1 : fill_write(l, l->frow, l->nfrow);
	l->nfrow = 0;
	return rc;
}

/*
 * Inside ledger_begin() the row is buffered and written with the others at
 * commit (or before anything reads the table); otherwise at once.
 */
int
ledger_fill_insert(struct ledger *l, const struct ledger_fill *f)
{
	struct fillrow	 r;
	sqlite3_stmt	*st;
	int		 rc;

	if (f->id <= 0 || f->market_id <= 0 || f->price > INT64_MAX ||
	    f->qty > INT64_MAX || f->seq > INT64_MAX)
		return LEDGER_INVALID;
	if (op_begin(l) == -1)
		return LEDGER_ERR;
	if (l->explicit_txn) {
		if (l->nfrow == l->capfrow) {
			l->capfrow = l->capfrow == 0 ? 256 : l->capfrow * 2;
			l->frow = xreallocarray(l->frow, l->capfrow,
			    sizeof *l->frow);
		}
		fill_format(&l->frow[l->nfrow++], f);
		return op_end(l, LEDGER_OK);
	}
	fill_format(&r, f);
	st = stmt(l, S_FILL_INS);
	bind_fill(st, 0, &r);
	rc = step_done(l, st) == 0 ? LEDGER_OK : LEDGER_ERR;
	return op_end(l, rc);
}

int
ledger_fill_get(struct ledger *l, int64_t id, struct ledger_fill *f)
{
	sqlite3_stmt	*st;

	if (l->nfrow != 0 && fill_flush(l) == -1)
		return LEDGER_ERR;
	st = stmt(l, S_FILL_GET);
	sqlite3_bind_int64(st, 1, id);
	return get_one(st, rd_fill, f);
}

int
ledger_fill_list(struct ledger *l, int64_t user, int64_t market, size_t limit,
    void (*cb)(const struct ledger_fill *, void *), void *arg)
{
	struct ledger_fill	 f;
	sqlite3_stmt		*st;

	if (user == 0)
		st = prepare(l, "SELECT * FROM fills WHERE (?2 = 0 OR "
		    "market_id = ?2) ORDER BY id DESC LIMIT ?3");
	else
		st = prepare(l, "SELECT * FROM fills WHERE id IN (SELECT id "
		    "FROM fills WHERE taker_user = ?1 UNION SELECT id FROM "
		    "fills WHERE maker_user = ?1) AND (?2 = 0 OR market_id = ?2)"
		    " ORDER BY id DESC LIMIT ?3");
	sqlite3_bind_int64(st, 1, user);
	sqlite3_bind_int64(st, 2, market);
	sqlite3_bind_int64(st, 3, limit == 0 ? -1 : (int64_t)limit);
	return each_row(st, rd_fill, &f, (each_fn *)(void *)cb, arg);
}

int
ledger_fill_volumes(struct ledger *l, int64_t market, int64_t since,
    void (*cb)(int64_t, u128, void *), void *arg)
{
	sqlite3_stmt	*st;
	u128		 q;
	int		 rc;

	st = prepare(l, "SELECT taker_user, maker_user, quote_amount FROM "
	    "fills WHERE market_id = ?1 AND ts >= ?2");
	sqlite3_bind_int64(st, 1, market);
	sqlite3_bind_int64(st, 2, since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		q = column_amount(st, 2);
		cb(sqlite3_column_int64(st, 0), q, arg);
		cb(sqlite3_column_int64(st, 1), q, arg);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? LEDGER_OK : LEDGER_ERR;
}

/* Fee tiers: rows 1..n-1 of a market's table (tier 0 is the market's). */

int
ledger_fee_tiers_get(struct ledger *l, int64_t market,
    struct market_tiers *t)
{
	sqlite3_stmt	*st;
	int		 rc;

	memset(t, 0, sizeof *t);
	t->n = 1;
	st = prepare(l, "SELECT min_volume, maker_fee_ppm, taker_fee_ppm FROM "
	    "fee_tiers WHERE market_id = ?1 AND tier > 0 ORDER BY tier");
	sqlite3_bind_int64(st, 1, market);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW &&
	    t->n < MARKET_TIERS_MAX) {
		t->tier[t->n].min_volume = column_amount(st, 0);
		t->tier[t->n].maker_fee_ppm = sqlite3_column_int(st, 1);
		t->tier[t->n].taker_fee_ppm = sqlite3_column_int(st, 2);
		t->n++;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? LEDGER_OK : LEDGER_ERR;
}

int
ledger_fee_tiers_put(struct ledger *l, int64_t market,
    const struct market_tiers *t)
{
	sqlite3_stmt	*st;
	unsigned int	 i;
	int		 rc = LEDGER_OK;

	if (t->n < 1 || t->n > MARKET_TIERS_MAX)
		return LEDGER_INVALID;
	if (op_begin(l) == -1)
		return LEDGER_ERR;
	st = prepare(l, "DELETE FROM fee_tiers WHERE market_id = ?1");
	sqlite3_bind_int64(st, 1, market);
	if (step_done(l, st) == -1)
		rc = LEDGER_ERR;
	sqlite3_finalize(st);
	st = prepare(l, "INSERT INTO fee_tiers(market_id, tier, min_volume, "
	    "maker_fee_ppm, taker_fee_ppm) VALUES (?1, ?2, ?3, ?4, ?5)");
	for (i = 1; i < t->n && rc == LEDGER_OK; i++) {
		sqlite3_bind_int64(st, 1, market);
		sqlite3_bind_int(st, 2, (int)i);
		bind_amount(st, 3, t->tier[i].min_volume);
		sqlite3_bind_int(st, 4, t->tier[i].maker_fee_ppm);
		sqlite3_bind_int(st, 5, t->tier[i].taker_fee_ppm);
		if (step_done(l, st) == -1)
			rc = LEDGER_ERR;
	}
	sqlite3_finalize(st);
	return op_end(l, rc);
}

/* Deposits. */

static void
rd_deposit(sqlite3_stmt *st, void *out)
{
	struct ledger_deposit	*d = out;
	char			 status[16];

	d->id = sqlite3_column_int64(st, 0);
	d->user_id = sqlite3_column_int64(st, 1);
	d->token_id = sqlite3_column_int64(st, 2);
	d->amount = column_amount(st, 3);
	copy_text(d->block, sizeof d->block, st, 4);
	d->op_index = sqlite3_column_int(st, 5);
	copy_text(status, sizeof status, st, 6);
	d->status = strcmp(status, "credited") == 0 ?
	    LEDGER_DEPOSIT_CREDITED : LEDGER_DEPOSIT_PENDING;
	d->created_at = sqlite3_column_int64(st, 7);
	d->credited_at = sqlite3_column_int64(st, 8);
}

int
ledger_deposit_get(struct ledger *l, int64_t id, struct ledger_deposit *d)
{
	sqlite3_stmt	*st;

	st = stmt(l, S_DEP_GET);
	sqlite3_bind_int64(st, 1, id);
	return get_one(st, rd_deposit, d);
}

int
ledger_deposit_find(struct ledger *l, const char *block, int op,
    struct ledger_deposit *d)
{
	sqlite3_stmt	*st;
	int		 rc;

	st = prepare(l, "SELECT * FROM deposits WHERE block = ?1 AND "
	    "op_index = ?2");
	sqlite3_bind_text(st, 1, block, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, op);
	rc = get_one(st, rd_deposit, d);
	sqlite3_finalize(st);
	return rc;
}

static int
deposit_check_args(struct ledger *l, int64_t user, int64_t token,
    u128 amount, const char *block, int op)
{
	struct ledger_user	u;
	struct ledger_token	t;
	int			rc;

	if (amount == 0 || block == NULL || *block == '\0' ||
	    strlen(block) >= LEDGER_HASH_MAX || op < 0 ||
	    user == LEDGER_FEE_USER)
		return LEDGER_INVALID;
	if ((rc = ledger_user_get(l, user, &u)) != LEDGER_OK)
		return rc == LEDGER_NOTFOUND ? LEDGER_INVALID : rc;
	if ((rc = ledger_token_get(l, token, &t)) != LEDGER_OK)
		return rc == LEDGER_NOTFOUND ? LEDGER_INVALID : rc;
	return LEDGER_OK;
}

/* Find a deposit by key; a row that disagrees is LEDGER_INVALID. */
static int
deposit_lookup(struct ledger *l, int64_t user, int64_t token, u128 amount,
    const char *block, int op, struct ledger_deposit *d)
{
	sqlite3_stmt	*st;
	int		 rc;

	st = stmt(l, S_DEP_KEY);
	sqlite3_bind_text(st, 1, block, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, op);
	rc = get_one(st, rd_deposit, d);
	if (rc == LEDGER_OK && (d->user_id != user || d->token_id != token ||
	    d->amount != amount))
		return LEDGER_INVALID;
	return rc;
}

static int
deposit_insert(struct ledger *l, int64_t user, int64_t token, u128 amount,
    const char *block, int op, const char *status, int64_t *id)
{
	sqlite3_stmt	*st;
	int64_t		 now = ledger_now(l);
	int		 rc;

	st = prepare(l, "INSERT INTO deposits(user_id, token_id, amount, "
	    "block, op_index, status, created_at, credited_at) VALUES (?1, ?2,"
	    " ?3, ?4, ?5, ?6, ?7, ?8)");
	sqlite3_bind_int64(st, 1, user);
	sqlite3_bind_int64(st, 2, token);
	bind_amount(st, 3, amount);
	sqlite3_bind_text(st, 4, block, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, op);
	sqlite3_bind_text(st, 6, status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, now);
	sqlite3_bind_int64(st, 8, strcmp(status, "credited") == 0 ? now : 0);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return LEDGER_ERR;
	*id = sqlite3_last_insert_rowid(l->db);
	return LEDGER_OK;
}

int
ledger_deposit_record(struct ledger *l, int64_t user, int64_t token,
    u128 amount, const char *block, int op, int64_t *id)
{
	struct ledger_deposit	d;
	int64_t			did;
	int			rc;

	if (op_begin(l) == -1)
		return LEDGER_ERR;
	if ((rc = deposit_check_args(l, user, token, amount, block, op)) !=
	    LEDGER_OK)
		return op_end(l, rc);
	rc = deposit_lookup(l, user, token, amount, block, op, &d);
	if (rc == LEDGER_OK) {
		if (id != NULL)
			*id = d.id;
		return op_end(l, LEDGER_DUPLICATE);
	}
	if (rc != LEDGER_NOTFOUND)
		return op_end(l, rc);
	rc = deposit_insert(l, user, token, amount, block, op, "pending", &did);
	if (rc == LEDGER_OK && id != NULL)
		*id = did;
	return op_end(l, rc);
}

int
ledger_deposit_credit(struct ledger *l, int64_t user, int64_t token,
    u128 amount, const char *block, int op, int64_t *id)
{
	struct ledger_deposit	 d;
	struct bal		*b;
	sqlite3_stmt		*st;
	char			 ref[LEDGER_REASON_MAX];
	int64_t			 did;
	int			 rc;

	if (op_begin(l) == -1)
		return LEDGER_ERR;
	if ((rc = deposit_check_args(l, user, token, amount, block, op)) !=
	    LEDGER_OK)
		return op_end(l, rc);
	rc = deposit_lookup(l, user, token, amount, block, op, &d);
	if (rc == LEDGER_OK && d.status == LEDGER_DEPOSIT_CREDITED) {
		if (id != NULL)
			*id = d.id;
		return op_end(l, LEDGER_DUPLICATE);
	}
	if (rc != LEDGER_OK && rc != LEDGER_NOTFOUND)
		return op_end(l, rc);
	/* Check the credit fits before writing anything. */
	if ((b = bal_load(l, user, token)) == NULL)
		return op_end(l, LEDGER_ERR);
	if (b->total > U128_MAX - amount)
		return op_end(l, LEDGER_OVERFLOW);
	if (rc == LEDGER_NOTFOUND) {
		rc = deposit_insert(l, user, token, amount, block, op,
		    "credited", &did);
	} else {
		did = d.id;
		st = prepare(l, "UPDATE deposits SET status = 'credited', "
		    "credited_at = ?2 WHERE id = ?1 AND status = 'pending'");
		sqlite3_bind_int64(st, 1, did);
		sqlite3_bind_int64(st, 2, ledger_now(l));
		rc = sqlite3_step(st) == SQLITE_DONE &&
		    sqlite3_changes(l->db) == 1 ? LEDGER_OK : LEDGER_ERR;
		sqlite3_finalize(st);
	}
	if (rc != LEDGER_OK)
		return op_end(l, rc);
	snprintf(ref, sizeof ref, "deposit:%" PRId64, did);
	rc = bal_move(l, user, token, amount, 1, 1, LEDGER_CAUSE_DEPOSIT, ref);
	assert(rc == LEDGER_OK || rc == LEDGER_ERR);
	if (rc == LEDGER_OK && id != NULL)
		*id = did;
	return op_end(l, rc);
}

int
ledger_deposit_list(struct ledger *l, int64_t user, bool pending_only,
    size_t limit, void (*cb)(const struct ledger_deposit *, void *),
    void *arg)
{
	struct ledger_deposit	 d;
	sqlite3_stmt		*st;

	st = prepare(l, "SELECT * FROM deposits WHERE (?1 = 0 OR user_id = ?1)"
	    " AND (?2 = 0 OR status = 'pending') ORDER BY id DESC LIMIT ?3");
	sqlite3_bind_int64(st, 1, user);
	sqlite3_bind_int(st, 2, pending_only ? 1 : 0);
	sqlite3_bind_int64(st, 3, limit == 0 ? -1 : (int64_t)limit);
	return each_row(st, rd_deposit, &d, (each_fn *)(void *)cb, arg);
}

/* Withdrawals. */

static void
rd_withdrawal(sqlite3_stmt *st, void *out)
{
	struct ledger_withdrawal	*w = out;
	char				 status[32];
	int				 i;

	w->id = sqlite3_column_int64(st, 0);
	w->user_id = sqlite3_column_int64(st, 1);
	w->token_id = sqlite3_column_int64(st, 2);
	w->amount = column_amount(st, 3);
	copy_text(w->to, sizeof w->to, st, 4);
	copy_text(w->idem_key, sizeof w->idem_key, st, 5);
	copy_text(status, sizeof status, st, 6);
	if ((i = name_index(wd_status_names, NAMES(wd_status_names),
	    status)) == -1)
		fatalx("ledger: bad withdrawal status '%s'", status);
	w->status = (enum ledger_wd_status)i;
	copy_text(w->block, sizeof w->block, st, 7);
	copy_text(w->reason, sizeof w->reason, st, 8);
	w->created_at = sqlite3_column_int64(st, 9);
	w->updated_at = sqlite3_column_int64(st, 10);
}

int
ledger_withdrawal_get(struct ledger *l, int64_t id,
    struct ledger_withdrawal *w)
{
	sqlite3_stmt	*st;

	st = stmt(l, S_WD_GET);
	sqlite3_bind_int64(st, 1, id);
	return get_one(st, rd_withdrawal, w);
}

int
ledger_withdrawal_request(struct ledger *l, int64_t user, int64_t token,
    u128 amount, const char *to, const char *key, bool approval,
    int64_t *id)
{
	struct ledger_user	 u;
	struct ledger_token	 t;
	struct bal		*b;
	sqlite3_stmt		*st;
	char			 ref[LEDGER_REASON_MAX];
	int64_t			 now, wid;
	int			 rc;

	if (amount == 0 || to == NULL || *to == '\0' ||
	    strlen(to) >= LEDGER_ADDR_MAX || key == NULL || *key == '\0' ||
	    strlen(key) >= LEDGER_CLIENT_ID_MAX || user == LEDGER_FEE_USER)
		return LEDGER_INVALID;
	if (op_begin(l) == -1)
		return LEDGER_ERR;
	st = prepare(l, "SELECT id FROM withdrawals WHERE idem_key = ?1");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (id != NULL)
			*id = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		return op_end(l, LEDGER_DUPLICATE);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return op_end(l, LEDGER_ERR);
	if ((rc = ledger_user_get(l, user, &u)) != LEDGER_OK)
		return op_end(l, rc == LEDGER_NOTFOUND ? LEDGER_INVALID : rc);
	if (u.status == LEDGER_USER_FROZEN)
		return op_end(l, LEDGER_FORBIDDEN);
	if ((rc = ledger_token_get(l, token, &t)) != LEDGER_OK)
		return op_end(l, rc == LEDGER_NOTFOUND ? LEDGER_INVALID : rc);
	if ((b = bal_load(l, user, token)) == NULL)
		return op_end(l, LEDGER_ERR);
	if (b->avail < amount)
		return op_end(l, LEDGER_INSUFFICIENT);
	now = ledger_now(l);
	st = prepare(l, "INSERT INTO withdrawals(user_id, token_id, amount, "
	    "to_address, idem_key, status, created_at, updated_at) VALUES "
	    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)");
	sqlite3_bind_int64(st, 1, user);
	sqlite3_bind_int64(st, 2, token);
	bind_amount(st, 3, amount);
	sqlite3_bind_text(st, 4, to, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, approval ? "pending_approval" : "queued", -1,
	    SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return op_end(l, LEDGER_ERR);
	wid = sqlite3_last_insert_rowid(l->db);
	snprintf(ref, sizeof ref, "withdrawal:%" PRId64, wid);
	rc = bal_move(l, user, token, amount, -1, 0, LEDGER_CAUSE_WITHDRAWAL,
	    ref);
	if (rc == LEDGER_OK && id != NULL)
		*id = wid;
	return op_end(l, rc);
}

/*
 * Move a withdrawal from one of the states in the mask to `to`, with a
 * balance effect: 0 none, 1 release, 2 spend the reservation, 3 reserve.
 */
static int
wd_transition(struct ledger *l, int64_t id, unsigned int from_mask,
    enum ledger_wd_status to, int effect, const char *block,
    const char *reason)
{
	struct ledger_withdrawal	 w;
	sqlite3_stmt			*st;
	char				 ref[LEDGER_REASON_MAX];
	int				 rc;

	if ((block != NULL && strlen(block) >= LEDGER_HASH_MAX) ||
	    (reason != NULL && strlen(reason) >= LEDGER_REASON_MAX))
		return LEDGER_INVALID;
	if (op_begin(l) == -1)
		return LEDGER_ERR;
	if ((rc = ledger_withdrawal_get(l, id, &w)) != LEDGER_OK)
		return op_end(l, rc);
	if (w.status == to && to != LEDGER_WD_QUEUED)
		return op_end(l, LEDGER_DUPLICATE);
	if ((from_mask & (1u << w.status)) == 0)
		return op_end(l, LEDGER_BADSTATE);
	snprintf(ref, sizeof ref, "withdrawal:%" PRId64, id);
	switch (effect) {
	case 1:
		rc = bal_move(l, w.user_id, w.token_id, w.amount, 1, 0,
		    LEDGER_CAUSE_WITHDRAWAL, ref);
		break;
	case 2:
		rc = bal_move(l, w.user_id, w.token_id, w.amount, 0, -1,
		    LEDGER_CAUSE_WITHDRAWAL, ref);
		break;
	case 3:
		rc = bal_move(l, w.user_id, w.token_id, w.amount, -1, 0,
		    LEDGER_CAUSE_WITHDRAWAL, ref);
		break;
	default:
		rc = LEDGER_OK;
		break;
	}
	if (rc != LEDGER_OK)
		return op_end(l, rc);
	st = prepare(l, "UPDATE withdrawals SET status = ?2, block = "
	    "coalesce(?3, block), reason = coalesce(?4, reason), updated_at = "
	    "?5 WHERE id = ?1");
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, ledger_wd_status_name(to), -1,
	    SQLITE_STATIC);
	if (block != NULL)
		sqlite3_bind_text(st, 3, block, -1, SQLITE_STATIC);
	if (reason != NULL)
		sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, ledger_now(l));
	rc = sqlite3_step(st) == SQLITE_DONE ? LEDGER_OK : LEDGER_ERR;
	sqlite3_finalize(st);
	return op_end(l, rc);
}

#define WD(s)	(1u << (s))

int
ledger_withdrawal_approve(struct ledger *l, int64_t id)
{
	return wd_transition(l, id, WD(LEDGER_WD_PENDING_APPROVAL),
	    LEDGER_WD_QUEUED, 0, NULL, NULL);
}

int
ledger_withdrawal_processing(struct ledger *l, int64_t id)
{
	return wd_transition(l, id, WD(LEDGER_WD_QUEUED),
	    LEDGER_WD_PROCESSING, 0, NULL, NULL);
}

int
ledger_withdrawal_complete(struct ledger *l, int64_t id, const char *block)
{
	if (block == NULL || *block == '\0')
		return LEDGER_INVALID;
	return wd_transition(l, id, WD(LEDGER_WD_QUEUED) |
	    WD(LEDGER_WD_PROCESSING), LEDGER_WD_COMPLETED, 2, block, NULL);
}

int
ledger_withdrawal_fail(struct ledger *l, int64_t id, const char *reason)
{
	return wd_transition(l, id, WD(LEDGER_WD_QUEUED) |
	    WD(LEDGER_WD_PROCESSING), LEDGER_WD_FAILED, 1, NULL,
	    reason != NULL ? reason : "");
}

int
ledger_withdrawal_cancel(struct ledger *l, int64_t id, const char *reason)
{
	return wd_transition(l, id, WD(LEDGER_WD_QUEUED) |
	    WD(LEDGER_WD_PENDING_APPROVAL), LEDGER_WD_CANCELED, 1, NULL,
	    reason != NULL ? reason : "");
}

int
ledger_withdrawal_retry(struct ledger *l, int64_t id)
{
	return wd_transition(l, id, WD(LEDGER_WD_FAILED), LEDGER_WD_QUEUED,
	    3, NULL, "");
}

int
ledger_withdrawal_list(struct ledger *l, int64_t user, int status,
    size_t limit, void (*cb)(const struct ledger_withdrawal *, void *),
    void *arg)
{
	struct ledger_withdrawal	 w;
	sqlite3_stmt			*st;

	st = prepare(l, "SELECT * FROM withdrawals WHERE (?1 = 0 OR "
	    "user_id = ?1) AND (?2 IS NULL OR status = ?2) ORDER BY id DESC "
	    "LIMIT ?3");
	sqlite3_bind_int64(st, 1, user);
	if (status >= 0 && (size_t)status < NAMES(wd_status_names))
		sqlite3_bind_text(st, 2, wd_status_names[status], -1,
		    SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, limit == 0 ? -1 : (int64_t)limit);
	return each_row(st, rd_withdrawal, &w, (each_fn *)(void *)cb, arg);
}

int
ledger_withdrawal_sum(struct ledger *l, int64_t user, int64_t token,
    int64_t since, u128 *sum)
{
	sqlite3_stmt	*st;
	u128		 a, t = 0;
	int		 rc;

	st = prepare(l, "SELECT amount FROM withdrawals WHERE (?1 = 0 OR "
	    "user_id = ?1) AND token_id = ?2 AND created_at >= ?3 AND "
	    "status NOT IN ('failed', 'canceled')");
	sqlite3_bind_int64(st, 1, user);
	sqlite3_bind_int64(st, 2, token);
	sqlite3_bind_int64(st, 3, since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		a = column_amount(st, 0);
		if (t > U128_MAX - a) {
			sqlite3_finalize(st);
			return LEDGER_OVERFLOW;
		}
		t += a;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return LEDGER_ERR;
	*sum = t;
	return LEDGER_OK;
}

/* Settlement batches. */

static void
rd_batch(sqlite3_stmt *st, void *out)
{
	struct ledger_batch	*b = out;
	char			 status[16];
	int			 i;

	b->id = sqlite3_column_int64(st, 0);
	copy_text(status, sizeof status, st, 1);
	if ((i = name_index(batch_status_names, NAMES(batch_status_names),
	    status)) == -1)
		fatalx("ledger: bad batch status '%s'", status);
	b->status = (enum ledger_batch_status)i;
	copy_text(b->staple, sizeof b->staple, st, 2);
	copy_text(b->reason, sizeof b->reason, st, 3);
	b->first_fill = sqlite3_column_int64(st, 4);
	b->last_fill = sqlite3_column_int64(st, 5);
	b->attempts = sqlite3_column_int(st, 6);
	b->created_at = sqlite3_column_int64(st, 7);
	b->updated_at = sqlite3_column_int64(st, 8);
}

int
ledger_batch_get(struct ledger *l, int64_t id, struct ledger_batch *b)
{
	sqlite3_stmt	*st;

	st = stmt(l, S_BATCH_GET);
	sqlite3_bind_int64(st, 1, id);
	return get_one(st, rd_batch, b);
}

/* Net per (user, token) deltas, a small growable array. */
struct netting {
	struct ledger_batch_delta	*d;
	size_t				 n, cap;
	int64_t				 mkt_id[8];
	int64_t				 mkt_base[8], mkt_quote[8];
	int				 overflow;
};

static void
net_add(struct netting *nt, int64_t user, int64_t token, bool neg, u128 a)
{
	struct ledger_delta	d = { neg, a };
	size_t			i;

	if (a == 0)
		return;
	for (i = 0; i < nt->n; i++) {
		if (nt->d[i].user_id == user && nt->d[i].token_id == token)
			break;
	}
	if (i == nt->n) {
		if (nt->n == nt->cap) {
			nt->cap = nt->cap == 0 ? 16 : nt->cap * 2;
			nt->d = xreallocarray(nt->d, nt->cap, sizeof *nt->d);
		}
		nt->d[i].user_id = user;
		nt->d[i].token_id = token;
		nt->d[i].delta.neg = false;
		nt->d[i].delta.abs = 0;
		nt->n++;
	}
	if (ledger_delta_add(&nt->d[i].delta, &d) == -1)
		nt->overflow = 1;
}

static int
net_market(struct ledger *l, struct netting *nt, int64_t market,
    int64_t *base, int64_t *quote)
{
	struct ledger_market	m;
	size_t			i, slot;
	int			rc;

	slot = (size_t)market % 8;
	if (nt->mkt_id[slot] == market) {
		*base = nt->mkt_base[slot];
		*quote = nt->mkt_quote[slot];
		return LEDGER_OK;
	}
	(void)i;
	if ((rc = ledger_market_get(l, market, &m)) != LEDGER_OK)
		return rc;
	nt->mkt_id[slot] = market;
	*base = nt->mkt_base[slot] = m.base_token;
	*quote = nt->mkt_quote[slot] = m.quote_token;
	return LEDGER_OK;
}

static int
net_has_user(const struct netting *nt, int64_t user)
{
	size_t	i;

	for (i = 0; i < nt->n; i++)
		if (nt->d[i].user_id == user)
			return (1);
	return (0);
}

/* Users a fill would add to the batch (the fee account not counted). */
static size_t
net_new_users(const struct netting *nt, const struct ledger_fill *f)
{
	size_t	n = 0;

	if (f->taker_user != LEDGER_FEE_USER && !net_has_user(nt, f->taker_user))
		n++;
	if (f->maker_user != f->taker_user && f->maker_user != LEDGER_FEE_USER &&
	    !net_has_user(nt, f->maker_user))
		n++;
	return (n);
}

/* What one fill did to totals; the fee account is a user like others. */
static int
net_fill(struct ledger *l, struct netting *nt, const struct ledger_fill *f)
{
	struct ledger_delta	fee;
	int64_t			base, quote, buyer, seller;
	int			rc;

	if ((rc = net_market(l, nt, f->market_id, &base, &quote)) !=
	    LEDGER_OK)
		return rc;
	buyer = f->taker_side == 0 ? f->taker_user : f->maker_user;
	seller = f->taker_side == 0 ? f->maker_user : f->taker_user;
	net_add(nt, buyer, base, false, f->base_amount);
	net_add(nt, buyer, quote, true, f->quote_amount);
	net_add(nt, seller, base, true, f->base_amount);
	net_add(nt, seller, quote, false, f->quote_amount);
	net_add(nt, f->taker_user, f->fee_token, !f->taker_fee.neg,
	    f->taker_fee.abs);
	net_add(nt, f->maker_user, f->fee_token, !f->maker_fee.neg,
	    f->maker_fee.abs);
	fee = f->taker_fee;
	if (ledger_delta_add(&fee, &f->maker_fee) == -1)
		nt->overflow = 1;
	net_add(nt, LEDGER_FEE_USER, f->fee_token, fee.neg, fee.abs);
	return LEDGER_OK;
}

int
ledger_batch_create(struct ledger *l, int64_t *id)
{
/*
 * The operator can no longer move a withdraw-only user's funds on chain.
 * Two lookups per fill: only asked when there is such a user at all.
 */
#define LEDGER_SETTLEABLE "AND NOT EXISTS (SELECT 1 FROM users u WHERE " \
	"u.id IN (fills.taker_user, fills.maker_user) AND " \
	"u.status = 'withdraw_only')"
	struct netting		 nt;
	struct ledger_fill	 f;
	sqlite3_stmt		*st;
	int64_t			 first = 0, last = 0, bid, now;
	size_t			 i, nusers = 0;
	int			 rc, wo;

	*id = 0;
	memset(&nt, 0, sizeof nt);
	if (op_begin(l) == -1)
		return LEDGER_ERR;
	st = prepare(l, "SELECT EXISTS (SELECT 1 FROM users WHERE status = "
	    "'withdraw_only')");
	rc = sqlite3_step(st);
	wo = rc == SQLITE_ROW && sqlite3_column_int(st, 0) != 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return op_end(l, LEDGER_ERR);
	st = prepare(l, wo ? "SELECT * FROM fills WHERE settlement_batch = 0 "
	    LEDGER_SETTLEABLE " ORDER BY id" : "SELECT * FROM fills WHERE "
	    "settlement_batch = 0 ORDER BY id");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rd_fill(st, &f);
		/* One batch is one staple: its blocks are bounded. */
		nusers += net_new_users(&nt, &f);
		if (first != 0 && nusers > LEDGER_BATCH_USERS_MAX) {
			rc = SQLITE_DONE;
			break;
		}
		if (first == 0)
			first = f.id;
		last = f.id;
		if (net_fill(l, &nt, &f) != LEDGER_OK) {
			rc = SQLITE_ERROR;
			break;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE || nt.overflow) {
		free(nt.d);
		return op_end(l, nt.overflow ? LEDGER_OVERFLOW : LEDGER_ERR);
	}
	if (first == 0) {
		free(nt.d);
		return op_end(l, LEDGER_OK);
	}
	now = ledger_now(l);
	st = prepare(l, "INSERT INTO settlement_batches(status, first_fill, "
	    "last_fill, created_at, updated_at) VALUES ('pending', ?1, ?2, ?3,"
	    " ?3)");
	sqlite3_bind_int64(st, 1, first);
	sqlite3_bind_int64(st, 2, last);
	sqlite3_bind_int64(st, 3, now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		goto fail;
	bid = sqlite3_last_insert_rowid(l->db);
	st = prepare(l, "INSERT INTO settlement_deltas(batch_id, user_id, "
	    "token_id, delta) VALUES (?1, ?2, ?3, ?4)");
	for (i = 0; i < nt.n; i++) {
		if (nt.d[i].delta.abs == 0)
			continue;	/* netted out: nothing to send */
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, bid);
		sqlite3_bind_int64(st, 2, nt.d[i].user_id);
		sqlite3_bind_int64(st, 3, nt.d[i].token_id);
		bind_delta(st, 4, &nt.d[i].delta);
		if (sqlite3_step(st) != SQLITE_DONE) {
			sqlite3_finalize(st);
			goto fail;
		}
	}
	sqlite3_finalize(st);
	st = prepare(l, wo ? "UPDATE fills SET settlement_batch = ?1 WHERE "
	    "settlement_batch = 0 AND id <= ?2 " LEDGER_SETTLEABLE : "UPDATE "
	    "fills SET settlement_batch = ?1 WHERE settlement_batch = 0 AND "
	    "id <= ?2");
	sqlite3_bind_int64(st, 1, bid);
	sqlite3_bind_int64(st, 2, last);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		goto fail;
	free(nt.d);
	*id = bid;
	return op_end(l, LEDGER_OK);

fail:
	free(nt.d);
	return op_end(l, LEDGER_ERR);
}

static int
batch_transition(struct ledger *l, int64_t id, unsigned int from_mask,
    enum ledger_batch_status to, const char *staple, const char *reason,
    int bump)
{
	struct ledger_batch	 b;
	sqlite3_stmt		*st;
	int			 rc;

	if ((staple != NULL && strlen(staple) >= LEDGER_HASH_MAX) ||
	    (reason != NULL && strlen(reason) >= LEDGER_REASON_MAX))
		return LEDGER_INVALID;
	if (op_begin(l) == -1)
		return LEDGER_ERR;
	if ((rc = ledger_batch_get(l, id, &b)) != LEDGER_OK)
		return op_end(l, rc);
	if (b.status == to && to != LEDGER_BATCH_PENDING)
		return op_end(l, LEDGER_DUPLICATE);
	if ((from_mask & (1u << b.status)) == 0)
		return op_end(l, LEDGER_BADSTATE);
	st = prepare(l, "UPDATE settlement_batches SET status = ?2, staple = "
	    "coalesce(?3, staple), reason = coalesce(?4, reason), attempts = "
	    "attempts + ?5, updated_at = ?6 WHERE id = ?1");
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, ledger_batch_status_name(to), -1,
	    SQLITE_STATIC);
	if (staple != NULL)
		sqlite3_bind_text(st, 3, staple, -1, SQLITE_STATIC);
	if (reason != NULL)
		sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, bump);
	sqlite3_bind_int64(st, 6, ledger_now(l));
	rc = sqlite3_step(st) == SQLITE_DONE ? LEDGER_OK : LEDGER_ERR;
	sqlite3_finalize(st);
	return op_end(l, rc);
}

#define BS(s)	(1u << (s))

int
ledger_batch_published(struct ledger *l, int64_t id, const char *staple)
{
	if (staple == NULL || *staple == '\0')
		return LEDGER_INVALID;
	return batch_transition(l, id, BS(LEDGER_BATCH_PENDING),
	    LEDGER_BATCH_PUBLISHED, staple, NULL, 1);
}

int
ledger_batch_confirmed(struct ledger *l, int64_t id)
{
	return batch_transition(l, id, BS(LEDGER_BATCH_PENDING) |
	    BS(LEDGER_BATCH_PUBLISHED), LEDGER_BATCH_CONFIRMED, NULL, NULL, 0);
}

int
ledger_batch_failed(struct ledger *l, int64_t id, const char *reason)
{
	return batch_transition(l, id, BS(LEDGER_BATCH_PENDING) |
	    BS(LEDGER_BATCH_PUBLISHED), LEDGER_BATCH_FAILED, NULL,
	    reason != NULL ? reason : "", 0);
}

int
ledger_batch_retry(struct ledger *l, int64_t id)
{
	return batch_transition(l, id, BS(LEDGER_BATCH_FAILED),
	    LEDGER_BATCH_PENDING, NULL, "", 0);
}

int
ledger_batch_deltas(struct ledger *l, int64_t id,
    void (*cb)(const struct ledger_batch_delta *, void *), void *arg)
{
	struct ledger_batch_delta	 d;
	sqlite3_stmt			*st;
	int				 rc;

	st = prepare(l, "SELECT user_id, token_id, delta FROM "
	    "settlement_deltas WHERE batch_id = ?1 ORDER BY user_id, "
	    "token_id");
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		d.user_id = sqlite3_column_int64(st, 0);
		d.token_id = sqlite3_column_int64(st, 1);
		d.delta = column_delta(st, 2);
		cb(&d, arg);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? LEDGER_OK : LEDGER_ERR;
}

int
ledger_batch_list(struct ledger *l, int status, size_t limit,
    void (*cb)(const struct ledger_batch *, void *), void *arg)
{
	struct ledger_batch	 b;
	sqlite3_stmt		*st;

	st = prepare(l, "SELECT * FROM settlement_batches WHERE (?1 IS NULL "
	    "OR status = ?1) ORDER BY id DESC LIMIT ?2");
	if (status >= 0 && (size_t)status < NAMES(batch_status_names))
		sqlite3_bind_text(st, 1, batch_status_names[status], -1,
		    SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, limit == 0 ? -1 : (int64_t)limit);
	return each_row(st, rd_batch, &b, (each_fn *)(void *)cb, arg);
}

int
ledger_unsettled(struct ledger *l, int64_t user, int64_t token,
    struct ledger_delta *out)
{
	struct netting		 nt;
	struct ledger_fill	 f;
	sqlite3_stmt		*st;
	size_t			 i;
	int			 rc;

	memset(&nt, 0, sizeof nt);
	out->neg = false;
	out->abs = 0;
	if (user == LEDGER_FEE_USER)
		st = prepare(l, "SELECT * FROM fills WHERE settlement_batch = 0"
		    " OR settlement_batch IN (SELECT id FROM settlement_batches"
		    " WHERE status <> 'confirmed')");
	else
		st = prepare(l, "SELECT * FROM fills WHERE (taker_user = ?1 OR "
		    "maker_user = ?1) AND (settlement_batch = 0 OR "
		    "settlement_batch IN (SELECT id FROM settlement_batches "
		    "WHERE status <> 'confirmed'))");
	sqlite3_bind_int64(st, 1, user);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rd_fill(st, &f);
		if (net_fill(l, &nt, &f) != LEDGER_OK) {
			rc = SQLITE_ERROR;
			break;
		}
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE && !nt.overflow) {
		for (i = 0; i < nt.n; i++) {
			if (nt.d[i].user_id == user &&
			    nt.d[i].token_id == token)
				*out = nt.d[i].delta;
		}
	}
	free(nt.d);
	if (nt.overflow)
		return LEDGER_OVERFLOW;
	return rc == SQLITE_DONE ? LEDGER_OK : LEDGER_ERR;
}

/* Reconciliation. */

int
ledger_recon_begin(struct ledger *l, int64_t *id)
{
	sqlite3_stmt	*st;
	int		 rc;

	if (op_begin(l) == -1)
		return LEDGER_ERR;
	st = prepare(l, "INSERT INTO recon_runs(started_at) VALUES (?1)");
	sqlite3_bind_int64(st, 1, ledger_now(l));
	rc = sqlite3_step(st) == SQLITE_DONE ? LEDGER_OK : LEDGER_ERR;
	sqlite3_finalize(st);
	if (rc == LEDGER_OK)
		*id = sqlite3_last_insert_rowid(l->db);
	return op_end(l, rc);
}

int
ledger_recon_add(struct ledger *l, int64_t run, int64_t user, int64_t token,
    u128 chain, u128 expected, u128 dust, enum ledger_recon_status *out)
{
	struct ledger_delta		 diff;
	enum ledger_recon_status	 s;
	sqlite3_stmt			*st;
	int				 rc;
	const char			*col;

	diff.neg = chain < expected;
	diff.abs = diff.neg ? expected - chain : chain - expected;
	if (diff.abs == 0)
		s = LEDGER_RECON_OK;
	else if (diff.abs <= dust)
		s = LEDGER_RECON_DRIFT;
	else
		s = LEDGER_RECON_CRITICAL;
	if (op_begin(l) == -1)
		return LEDGER_ERR;
	st = prepare(l, "INSERT INTO reconciliations(run_id, user_id, "
	    "token_id, chain, expected, diff, status, ts) SELECT ?1, ?2, ?3, "
	    "?4, ?5, ?6, ?7, ?8 WHERE EXISTS (SELECT 1 FROM recon_runs WHERE "
	    "id = ?1 AND finished_at = 0)");
	sqlite3_bind_int64(st, 1, run);
	sqlite3_bind_int64(st, 2, user);
	sqlite3_bind_int64(st, 3, token);
	bind_amount(st, 4, chain);
	bind_amount(st, 5, expected);
	bind_delta(st, 6, &diff);
	sqlite3_bind_text(st, 7, ledger_recon_status_name(s), -1,
	    SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, ledger_now(l));
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return op_end(l, LEDGER_ERR);
	if (sqlite3_changes(l->db) != 1)
		return op_end(l, LEDGER_BADSTATE);
	col = s == LEDGER_RECON_OK ? "n_ok" : s == LEDGER_RECON_DRIFT ?
	    "n_drift" : "n_critical";
	{
		char	*sql;

		xasprintf(&sql, "UPDATE recon_runs SET %s = %s + 1 WHERE "
		    "id = ?1", col, col);
		st = prepare(l, sql);
		free(sql);
	}
	sqlite3_bind_int64(st, 1, run);
	rc = sqlite3_step(st) == SQLITE_DONE ? LEDGER_OK : LEDGER_ERR;
	sqlite3_finalize(st);
	if (rc == LEDGER_OK && out != NULL)
		*out = s;
	return op_end(l, rc);
}

int
ledger_recon_finish(struct ledger *l, int64_t run)
{
	if (op_begin(l) == -1)
		return LEDGER_ERR;
	return op_end(l, update_row(l, "UPDATE recon_runs SET finished_at = "
	    "?4 WHERE id = ?1 AND finished_at = 0", run, NULL, NULL,
	    ledger_now(l), 0));
}

static void
rd_recon_run(sqlite3_stmt *st, void *out)
{
	struct ledger_recon_run	*r = out;

	r->id = sqlite3_column_int64(st, 0);
	r->started_at = sqlite3_column_int64(st, 1);
	r->finished_at = sqlite3_column_int64(st, 2);
	r->n_ok = sqlite3_column_int(st, 3);
	r->n_drift = sqlite3_column_int(st, 4);
	r->n_critical = sqlite3_column_int(st, 5);
}

int
ledger_recon_run_get(struct ledger *l, int64_t id,
    struct ledger_recon_run *r)
{
	sqlite3_stmt	*st;
	int		 rc;

	st = prepare(l, "SELECT * FROM recon_runs WHERE id = ?1");
	sqlite3_bind_int64(st, 1, id);
	rc = get_one(st, rd_recon_run, r);
	sqlite3_finalize(st);
	return rc;
}

int
ledger_recon_run_list(struct ledger *l, size_t limit,
    void (*cb)(const struct ledger_recon_run *, void *), void *arg)
{
	struct ledger_recon_run	 r;
	sqlite3_stmt		*st;

	st = prepare(l, "SELECT * FROM recon_runs ORDER BY id DESC LIMIT ?1");
	sqlite3_bind_int64(st, 1, limit == 0 ? -1 : (int64_t)limit);
	return each_row(st, rd_recon_run, &r, (each_fn *)(void *)cb, arg);
}

static void
rd_recon(sqlite3_stmt *st, void *out)
{
	struct ledger_recon	*r = out;
	char			 status[16];
	int			 i;

	r->id = sqlite3_column_int64(st, 0);
	r->run_id = sqlite3_column_int64(st, 1);
	r->user_id = sqlite3_column_int64(st, 2);
	r->token_id = sqlite3_column_int64(st, 3);
	r->chain = column_amount(st, 4);
	r->expected = column_amount(st, 5);
	r->diff = column_delta(st, 6);
	copy_text(status, sizeof status, st, 7);
	if ((i = name_index(recon_status_names, NAMES(recon_status_names),
	    status)) == -1)
		fatalx("ledger: bad recon status '%s'", status);
	r->status = (enum ledger_recon_status)i;
	r->ts = sqlite3_column_int64(st, 8);
}

int
ledger_recon_results(struct ledger *l, int64_t run,
    void (*cb)(const struct ledger_recon *, void *), void *arg)
{
	struct ledger_recon	 r;
	sqlite3_stmt		*st;

	st = prepare(l, "SELECT * FROM reconciliations WHERE run_id = ?1 "
	    "ORDER BY id");
	sqlite3_bind_int64(st, 1, run);
	return each_row(st, rd_recon, &r, (each_fn *)(void *)cb, arg);
}

/* Audit log. */

static void
rd_audit(sqlite3_stmt *st, void *out)
{
	struct ledger_audit	*a = out;
	char			 cause[32];

	a->id = sqlite3_column_int64(st, 0);
	a->ts = sqlite3_column_int64(st, 1);
	a->user_id = sqlite3_column_int64(st, 2);
	a->token_id = sqlite3_column_int64(st, 3);
	copy_text(cause, sizeof cause, st, 4);
	if (ledger_cause_parse(cause, &a->cause) == -1)
		fatalx("ledger: bad audit cause '%s'", cause);
	copy_text(a->ref, sizeof a->ref, st, 5);
	a->d_available = column_delta(st, 6);
	a->d_total = column_delta(st, 7);
}

int
ledger_audit_list(struct ledger *l, int64_t user, int cause, int64_t since,
    size_t limit, void (*cb)(const struct ledger_audit *, void *), void *arg)
{
	struct ledger_audit	 a;
	sqlite3_stmt		*st;

	if (l->in_txn && audit_flush(l) == -1)
		return LEDGER_ERR;
	st = prepare(l, "SELECT * FROM audit_log WHERE (?1 = 0 OR user_id = ?1)"
	    " AND (?2 IS NULL OR cause = ?2) AND ts >= ?3 ORDER BY id DESC "
	    "LIMIT ?4");
	sqlite3_bind_int64(st, 1, user);
	if (cause >= 0 && (size_t)cause < NAMES(cause_names))
		sqlite3_bind_text(st, 2, cause_names[cause], -1,
		    SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, since);
	sqlite3_bind_int64(st, 4, limit == 0 ? -1 : (int64_t)limit);
	return each_row(st, rd_audit, &a, (each_fn *)(void *)cb, arg);
}

/* Conservation check. */

struct tok_sum {
	int64_t			token;
	struct ledger_delta	totals;		/* sum of balances' totals */
	struct ledger_delta	expected;	/* deposits - withdrawals ... */
};

struct held {
	int64_t			user, token;
	u128			total, avail;
	struct ledger_delta	held;		/* orders + withdrawals */
	int			seen_balance;
};

struct check {
	struct tok_sum	*t;
	size_t		 nt, capt;
	struct held	*h;
	size_t		 nh, caph;
	char		**msg;
	size_t		 nmsg, capm;
	int		 overflow;
};

static void
check_fail(struct check *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
check_fail(struct check *c, const char *fmt, ...)
{
	va_list	ap;

	if (c->nmsg == c->capm) {
		c->capm = c->capm == 0 ? 8 : c->capm * 2;
		c->msg = xreallocarray(c->msg, c->capm, sizeof *c->msg);
	}
	va_start(ap, fmt);
	xvasprintf(&c->msg[c->nmsg++], fmt, ap);
	va_end(ap);
}

static struct tok_sum *
check_tok(struct check *c, int64_t token)
{
	size_t	i;

	for (i = 0; i < c->nt; i++) {
		if (c->t[i].token == token)
			return &c->t[i];
	}
	if (c->nt == c->capt) {
		c->capt = c->capt == 0 ? 8 : c->capt * 2;
		c->t = xreallocarray(c->t, c->capt, sizeof *c->t);
	}
	memset(&c->t[c->nt], 0, sizeof c->t[c->nt]);
	c->t[c->nt].token = token;
	return &c->t[c->nt++];
}

static int
held_cmp(const void *a, const void *b)
{
	const struct held	*x = a, *y = b;

	if (x->user != y->user)
		return x->user < y->user ? -1 : 1;
	if (x->token != y->token)
		return x->token < y->token ? -1 : 1;
	return 0;
}

static struct held *
check_held(struct check *c, int64_t user, int64_t token)
{
	if (c->nh == c->caph) {
		c->caph = c->caph == 0 ? 64 : c->caph * 2;
		c->h = xreallocarray(c->h, c->caph, sizeof *c->h);
	}
	memset(&c->h[c->nh], 0, sizeof c->h[c->nh]);
	c->h[c->nh].user = user;
	c->h[c->nh].token = token;
	return &c->h[c->nh++];
}

static void
check_add(struct check *c, struct ledger_delta *acc, bool neg, u128 a)
{
	struct ledger_delta	d = { neg, a };

	if (ledger_delta_add(acc, &d) == -1)
		c->overflow = 1;
}

int
ledger_check(struct ledger *l, char ***failures, size_t *nfailures)
{
	struct check		 c;
	struct held		*h, *e;
	sqlite3_stmt		*st;
	struct ledger_delta	 d;
	struct tok_sum		*t;
	char			 a1[MONEY_BUFSZ + 1], a2[MONEY_BUFSZ + 1];
	size_t			 i, j;
	int			 rc, n;

	memset(&c, 0, sizeof c);
	if (l->in_txn && (audit_flush(l) == -1 || bal_flush(l) == -1))
		return -1;

	/* Totals and per-balance rules. */
	st = prepare(l, "SELECT user_id, token_id, available, total FROM "
	    "balances");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		h = check_held(&c, sqlite3_column_int64(st, 0),
		    sqlite3_column_int64(st, 1));
		h->avail = column_amount(st, 2);
		h->total = column_amount(st, 3);
		h->seen_balance = 1;
		h->held.neg = true;	/* held = -(total - avail) + ... */
		h->held.abs = h->total >= h->avail ? h->total - h->avail : 0;
		if (h->avail > h->total)
			check_fail(&c, "user %" PRId64 " token %" PRId64
			    ": available exceeds total", h->user, h->token);
		t = check_tok(&c, h->token);
		check_add(&c, &t->totals, false, h->total);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		goto dberr;

	/* Credited deposits, completed withdrawals, corrections. */
	st = prepare(l, "SELECT token_id, amount FROM deposits WHERE "
	    "status = 'credited'");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		t = check_tok(&c, sqlite3_column_int64(st, 0));
		check_add(&c, &t->expected, false, column_amount(st, 1));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		goto dberr;
	st = prepare(l, "SELECT token_id, amount FROM withdrawals WHERE "
	    "status = 'completed'");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		t = check_tok(&c, sqlite3_column_int64(st, 0));
		check_add(&c, &t->expected, true, column_amount(st, 1));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		goto dberr;
	st = prepare(l, "SELECT token_id, d_total FROM audit_log WHERE "
	    "cause = 'correction'");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		t = check_tok(&c, sqlite3_column_int64(st, 0));
		d = column_delta(st, 1);
		check_add(&c, &t->expected, d.neg, d.abs);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		goto dberr;

	/* What live orders and in-flight withdrawals hold. */
	st = prepare(l, "SELECT user_id, reserve_token, reserved FROM orders "
	    "WHERE status < 2 UNION ALL SELECT user_id, token_id, amount FROM "
	    "withdrawals WHERE status IN ('queued', 'processing', "
	    "'pending_approval')");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		h = check_held(&c, sqlite3_column_int64(st, 0),
		    sqlite3_column_int64(st, 1));
		h->held.abs = column_amount(st, 2);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		goto dberr;

	for (i = 0; i < c.nt; i++) {
		t = &c.t[i];
		d = t->expected;
		d.neg = !d.neg;
		if (ledger_delta_add(&d, &t->totals) == -1)
			c.overflow = 1;
		if (d.abs != 0) {
			ledger_delta_fmt(&t->totals, a1, sizeof a1);
			ledger_delta_fmt(&t->expected, a2, sizeof a2);
			check_fail(&c, "token %" PRId64 ": sum of totals %s "
			    "!= deposits - withdrawals + corrections %s",
			    t->token, a1, a2);
		}
	}

	/* Group by (user, token): balance rows count -held, holds +held. */
	if (c.nh > 1)
		qsort(c.h, c.nh, sizeof *c.h, held_cmp);
	for (i = 0; i < c.nh; i = j) {
		d.neg = false;
		d.abs = 0;
		for (j = i; j < c.nh && held_cmp(&c.h[i], &c.h[j]) == 0; j++) {
			e = &c.h[j];
			if (ledger_delta_add(&d, &e->held) == -1)
				c.overflow = 1;
		}
		if (d.abs != 0) {
			ledger_delta_fmt(&d, a1, sizeof a1);
			check_fail(&c, "user %" PRId64 " token %" PRId64
			    ": reservations differ from total - available by "
			    "%s", c.h[i].user, c.h[i].token, a1);
		}
	}
	if (c.overflow)
		check_fail(&c, "overflow while summing");

	free(c.t);
	free(c.h);
	n = (int)c.nmsg;
	if (failures != NULL) {
		*failures = c.msg;
		*nfailures = c.nmsg;
	} else
		ledger_check_free(c.msg, c.nmsg);
	return n;

dberr:
	free(c.t);
	free(c.h);
	ledger_check_free(c.msg, c.nmsg);
	return -1;
}

void
ledger_check_free(char **msg, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(msg[i]);
	free(msg);
}
