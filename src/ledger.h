/*
 * ledger: the SQLite ledger, kdex's source of truth for balances, orders,
 * fills, deposits, withdrawals, settlement batches and reconciliations.
 *
 * Amounts are token base units (u128 from money.h) stored as decimal TEXT
 * so that every value up to 2^128-1 round-trips exactly; sums are done in C
 * with checked arithmetic, never in SQL (SQLite would go through doubles).
 *
 * Transactions: every operation runs in one SQLite transaction.  Outside an
 * explicit ledger_begin() each operation opens and commits its own; between
 * ledger_begin() and ledger_commit() operations join the open transaction,
 * which is how the exchange commits a whole engine batch at once (group
 * commit).  An operation validates everything before it writes, so one that
 * returns a result other than LEDGER_OK or LEDGER_DUPLICATE changed nothing.
 * A database error poisons the open transaction: ledger_commit() then fails
 * and rolls everything back.
 *
 * Balances are cached in memory (written back once per transaction); the
 * cache is dropped when a transaction rolls back, so it never holds a value
 * that is not in the database or in the open transaction.
 *
 * Time: operations stamp rows with the ledger's clock (milliseconds since the
 * epoch), which tests and the exchange may replace for determinism.
 *
 * Strings returned through char **cause are allocated; the caller frees them.
 */
#ifndef KDEX_LEDGER_H
#define KDEX_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "market.h"
#include "money.h"

#define LEDGER_SCHEMA_VERSION	3

#define LEDGER_ADDR_MAX		(MARKET_ADDRESS_MAX + 1) /* address + NUL */
#define LEDGER_CLIENT_ID_MAX	64
#define LEDGER_REASON_MAX	128
#define LEDGER_HASH_MAX		80	/* hex block or staple hash + NUL */
#define LEDGER_SYMBOL_MAX	(MARKET_SYMBOL_MAX + 1)

/* The fee account is user 1, created with the schema. */
#define LEDGER_FEE_USER		1
#define LEDGER_FEE_ADDRESS	"fees"

struct ledger;

/* Results of operations (operating errors, never programmer errors). */
enum ledger_result {
	LEDGER_OK = 0,
	LEDGER_ERR = -1,	/* database error; transaction poisoned */
	LEDGER_INSUFFICIENT = 1,/* not enough available */
	LEDGER_NOTFOUND,
	LEDGER_DUPLICATE,	/* idempotent replay; nothing changed */
	LEDGER_BADSTATE,	/* row not in a state that allows this */
	LEDGER_OVERFLOW,	/* would exceed 2^128-1 or go below 0 */
	LEDGER_FORBIDDEN,	/* user frozen / withdraw-only */
	LEDGER_INVALID		/* bad argument (zero amount, empty key) */
};
const char	*ledger_result_string(int);

enum ledger_user_status {
	LEDGER_USER_ACTIVE = 0,
	LEDGER_USER_FROZEN,
	LEDGER_USER_WITHDRAW_ONLY
};
const char	*ledger_user_status_name(enum ledger_user_status);
int		 ledger_user_status_parse(const char *, enum ledger_user_status *);

/* Why a balance changed; every change goes to audit_log with one. */
enum ledger_cause {
	LEDGER_CAUSE_DEPOSIT = 0,
	LEDGER_CAUSE_FILL,
	LEDGER_CAUSE_FEE,
	LEDGER_CAUSE_SETTLEMENT,
	LEDGER_CAUSE_WITHDRAWAL,
	LEDGER_CAUSE_CORRECTION,
	LEDGER_CAUSE_RESERVATION
};
const char	*ledger_cause_name(enum ledger_cause);
int		 ledger_cause_parse(const char *, enum ledger_cause *);

/* A signed amount: sign and magnitude (a delta may exceed 2^127). */
struct ledger_delta {
	bool	neg;
	u128	abs;
};

struct ledger_options {
	int	  synchronous;	/* 0 OFF, 1 NORMAL, 2 FULL (default), 3 EXTRA */
	/*
	 * With synchronous FULL or EXTRA: pipelined durability (below).
	 * Ignored at OFF and NORMAL, where no commit waits for the disk.
	 */
	bool	  pipelined;
	int64_t	(*clock)(void *);	/* ms since epoch; NULL: real time */
	void	 *clock_arg;
};

/*
 * Open (creating if needed) the ledger at path, apply pending migrations and
 * set WAL mode.  opts may be NULL for the defaults.  Returns NULL and sets
 * *cause on failure.  The caller owns the result (ledger_close()).
 */
struct ledger	*ledger_open(const char *, const struct ledger_options *,
		    char **);
void		 ledger_close(struct ledger *);
int		 ledger_schema_version(struct ledger *);
int64_t		 ledger_now(struct ledger *);
void		 ledger_set_clock(struct ledger *, int64_t (*)(void *), void *);

/*
 * Explicit transactions.  ledger_commit() returns 0, or -1 (and *cause) when
 * the transaction was poisoned or COMMIT failed; the transaction is then
 * rolled back and the balance cache dropped.
 */
int		 ledger_begin(struct ledger *, char **);
int		 ledger_commit(struct ledger *, char **);
void		 ledger_rollback(struct ledger *);

/*
 * Pipelined durability.  Every commit gets a ticket (tickets grow by one
 * per commit that wrote something); a commit is durable once
 * ledger_durable() >= its ticket.  ledger_commit() returns only when its
 * commit is durable.  Without options.pipelined, ledger_commit_async() is
 * ledger_commit() and every ticket is durable at once.
 *
 * With options.pipelined two threads owned by the ledger do the disk work:
 * - the writer: a transaction that needed nothing from SQLite while it ran
 *   (an engine batch served from the caches) is "lazy": ledger_begin()
 *   opens no SQLite transaction, and ledger_commit_async() hands its
 *   buffered rows (audit lines, fills, changed balances, order rows,
 *   counters) to the writer, which writes and commits them while the
 *   caller goes on.  Anything that does need the connection (a read, a
 *   cache miss, a plain operation) first waits for the writer's job, so
 *   reads right after a batch wait for its SQLite work;
 * - the sync thread: the connection runs at synchronous=NORMAL (COMMIT
 *   writes the WAL; SQLite still syncs around each checkpoint), and this
 *   thread fdatasync()s the WAL file, one call covering every commit
 *   written before it, so tickets become durable in order; it also runs
 *   the WAL checkpoints, on a connection of its own.
 * The caller keeps a commit's results to itself until its ticket is
 * durable: that is the whole guarantee (an acknowledged commit was on disk
 * before the acknowledgement), the same as synchronous=FULL.  A failed
 * fdatasync, or a batch the writer cannot write, is fatal: the caller ran
 * on from it, the page cache can no longer be trusted, and a restart
 * recovers from the disk, where nothing unacknowledged is missed.
 */
int		 ledger_commit_async(struct ledger *, uint64_t *, char **);
uint64_t	 ledger_durable(struct ledger *);
void		 ledger_sync_wait(struct ledger *, uint64_t);
/*
 * Called from the sync thread (never with the ledger's state) each time
 * ledger_durable() advances: only to wake the owner's loop.
 */
void		 ledger_set_sync_notify(struct ledger *, void (*)(void *),
		    void *);
bool		 ledger_in_transaction(struct ledger *);
/* Test hook: make the next commit fail as if the disk had (-1 to COMMIT). */
void		 ledger_fail_next_commit(struct ledger *);

/* Persisted counters (order ids, sequence numbers, clocks): 0 if unset. */
int		 ledger_counter_get(struct ledger *, const char *, int64_t *);
int		 ledger_counter_set(struct ledger *, const char *, int64_t);

/* Tokens. */
struct ledger_token {
	int64_t	id;
	char	address[LEDGER_ADDR_MAX];
	char	symbol[LEDGER_SYMBOL_MAX];
	int	decimals;
};
/* Add a token (or find it by address: LEDGER_DUPLICATE with its id). */
int	ledger_token_add(struct ledger *, const char *, const char *, int,
	    int64_t *);
/* Look up by id, address or symbol (the key is tried in that order). */
int	ledger_token_get(struct ledger *, int64_t, struct ledger_token *);
int	ledger_token_find(struct ledger *, const char *, struct ledger_token *);
int	ledger_token_list(struct ledger *,
	    void (*)(const struct ledger_token *, void *), void *);

/* Users. */
struct ledger_user {
	int64_t			id;
	char			address[LEDGER_ADDR_MAX];
	char			pubkey_type[16];
	char			storage[LEDGER_ADDR_MAX];	/* "" if none */
	enum ledger_user_status	status;
	char			reason[LEDGER_REASON_MAX];
	int			fee_tier;
	int64_t			created_at;
};
/* Register a user (LEDGER_DUPLICATE and its id if the address exists). */
int	ledger_user_add(struct ledger *, const char *, const char *,
	    int64_t *);
int	ledger_user_get(struct ledger *, int64_t, struct ledger_user *);
int	ledger_user_find(struct ledger *, const char *, struct ledger_user *);
/* Just the status, cached (the exchange asks once per order). */
int	ledger_user_status(struct ledger *, int64_t, enum ledger_user_status *);
int	ledger_user_set_storage(struct ledger *, int64_t, const char *);
int	ledger_user_set_status(struct ledger *, int64_t,
	    enum ledger_user_status, const char *);
int	ledger_user_set_fee_tier(struct ledger *, int64_t, int);
int	ledger_user_list(struct ledger *,
	    void (*)(const struct ledger_user *, void *), void *);

/*
 * Markets: the ledger stores the checked definition (market.h owns its
 * meaning) with the tokens it names; callers rebuild a struct market with
 * market_init() from cfg.
 */
struct ledger_market {
	int64_t			id;
	char			pair[MARKET_PAIR_MAX + 1];
	int64_t			base_token;
	int64_t			quote_token;
	struct market_config	cfg;
	int64_t			created_at;
};
/* Insert, or update by pair; tokens are added as needed; *id: market id. */
int	ledger_market_put(struct ledger *, const struct market *, int64_t *);
int	ledger_market_get(struct ledger *, int64_t, struct ledger_market *);
int	ledger_market_find(struct ledger *, const char *,
	    struct ledger_market *);
int	ledger_market_list(struct ledger *,
	    void (*)(const struct ledger_market *, void *), void *);
/* Change status or fees of a stored market (the exchange tells the book). */
int	ledger_market_set_status(struct ledger *, int64_t, enum market_status);
int	ledger_market_set_fees(struct ledger *, int64_t, int32_t, int32_t);

/* Balances. */
struct ledger_balance {
	int64_t	user_id;
	int64_t	token_id;
	u128	available;
	u128	total;
};
/* Zero when the user never held the token. */
int	ledger_balance_get(struct ledger *, int64_t, int64_t,
	    struct ledger_balance *);
/* Every balance of a user (user 0: of all users), token order. */
int	ledger_balance_list(struct ledger *, int64_t,
	    void (*)(const struct ledger_balance *, void *), void *);

/*
 * Balance movements; each writes one audit_log row (cause, ref).  They fail
 * with LEDGER_INSUFFICIENT/LEDGER_OVERFLOW without changing anything.
 *   credit:        available += a, total += a
 *   debit:         available -= a, total -= a
 *   reserve:       available -= a
 *   release:       available += a   (not beyond total)
 *   spend_reserved: total -= a      (not below available)
 */
int	ledger_credit(struct ledger *, int64_t, int64_t, u128,
	    enum ledger_cause, const char *);
int	ledger_debit(struct ledger *, int64_t, int64_t, u128,
	    enum ledger_cause, const char *);
int	ledger_reserve(struct ledger *, int64_t, int64_t, u128,
	    enum ledger_cause, const char *);
int	ledger_release(struct ledger *, int64_t, int64_t, u128,
	    enum ledger_cause, const char *);
int	ledger_spend_reserved(struct ledger *, int64_t, int64_t, u128,
	    enum ledger_cause, const char *);
/*
 * The general form: signed deltas to available and total in one audit row
 * (a fill that pays notional and fee and gets a rebate is one line).
 */
int	ledger_move(struct ledger *, int64_t, int64_t,
	    const struct ledger_delta *, const struct ledger_delta *,
	    enum ledger_cause, const char *);
/*
 * Reserve (release false) or release an amount of available inside an
 * explicit transaction, like ledger_reserve()/ledger_release(), but with
 * one audit line (cause reservation, ref "orders") per user and token for
 * the transaction's net instead of one per call: the orders table keeps
 * what each order holds.  The exchange uses it for order reservations.
 */
int	ledger_hold(struct ledger *, int64_t, int64_t, bool, u128);
/* Operator correction of a total (and available) by a signed delta. */
int	ledger_correct(struct ledger *, int64_t, int64_t,
	    const struct ledger_delta *, const char *);

/* Orders, as the exchange writes them. */
enum ledger_order_status {
	LEDGER_ORDER_OPEN = 0,
	LEDGER_ORDER_PARTIAL,
	LEDGER_ORDER_FILLED,
	LEDGER_ORDER_CANCELLED,
	LEDGER_ORDER_REJECTED,
	LEDGER_ORDER_EXPIRED
};
const char	*ledger_order_status_name(enum ledger_order_status);
bool		 ledger_order_status_live(enum ledger_order_status);

struct ledger_order {
	int64_t			 id;
	int64_t			 user_id;
	int64_t			 market_id;
	char			 client_id[LEDGER_CLIENT_ID_MAX]; /* "" none */
	int			 side;		/* 0 buy, 1 sell */
	int			 type;		/* 0 limit, 1 market */
	int			 tif;		/* 0 GTC, 1 IOC, 2 FOK */
	int			 post_only;
	int			 stp;
	uint64_t		 price;		/* ticks (limit/protection) */
	uint64_t		 qty;		/* lots */
	uint64_t		 filled;	/* lots */
	u128			 reserved;	/* base units still reserved */
	int64_t			 reserve_token;
	enum ledger_order_status status;
	char			 reason[LEDGER_REASON_MAX];
	int64_t			 expire_at;	/* 0: none */
	int64_t			 created_at;
	int64_t			 updated_at;
};
/* Insert a new order row, or update it by id when it exists. */
int	ledger_order_put(struct ledger *, const struct ledger_order *);
/*
 * The cheaper halves of ledger_order_put for callers that know: insert
 * (LEDGER_ERR if the id exists) or update the fields that change (price,
 * qty, filled, reserved, status, reason, updated_at; LEDGER_NOTFOUND).
 */
int	ledger_order_insert(struct ledger *, const struct ledger_order *);
int	ledger_order_update(struct ledger *, const struct ledger_order *);
/*
 * Write n rows in the open transaction: the first nnew are new (inserted,
 * several per statement), the others exist (updated as ledger_order_update
 * does; LEDGER_NOTFOUND if one does not).  Any failure: roll back.
 */
int	ledger_order_write_many(struct ledger *, const struct ledger_order *,
	    size_t, size_t);
int	ledger_order_get(struct ledger *, int64_t, struct ledger_order *);
int	ledger_order_find_client(struct ledger *, int64_t, const char *,
	    struct ledger_order *);
/* Filter for lists: 0 or NULL fields match all; limit 0 means no limit. */
struct ledger_order_filter {
	int64_t	user_id;
	int64_t	market_id;
	int	which;		/* 0 all, 1 open (live), 2 closed */
	size_t	limit;
};
/* Orders newest first (open orders for rebuild: oldest first, see below). */
int	ledger_order_list(struct ledger *, const struct ledger_order_filter *,
	    void (*)(const struct ledger_order *, void *), void *);
/* Every live order in id order (time priority), for rebuilding books. */
int	ledger_order_list_open(struct ledger *,
	    void (*)(const struct ledger_order *, void *), void *);

/* Fills (one row per trade: both sides). */
struct ledger_fill {
	int64_t	id;
	int64_t	market_id;
	uint64_t seq;
	int64_t	ts;
	uint64_t price;		/* ticks */
	uint64_t qty;		/* lots */
	int	taker_side;	/* 0 buy, 1 sell */
	int64_t	taker_order;
	int64_t	maker_order;
	int64_t	taker_user;
	int64_t	maker_user;
	u128	base_amount;	/* base units exchanged */
	u128	quote_amount;	/* quote units exchanged */
	struct ledger_delta taker_fee;	/* in fee_token; negative: rebate */
	struct ledger_delta maker_fee;
	int64_t	fee_token;
	int32_t	taker_fee_ppm;
	int32_t	maker_fee_ppm;
	int	fee_tier;		/* the taker's fee tier */
	int64_t	settlement_batch;	/* 0 until netted */
	int	maker_tier;		/* the maker's fee tier */
};
/*
 * Inside ledger_begin() the row is buffered and written, several per
 * statement, at commit or before anything reads fills; a duplicate id then
 * makes the commit fail.  Outside, it is written at once.
 */
int	ledger_fill_insert(struct ledger *, const struct ledger_fill *);
int	ledger_fill_get(struct ledger *, int64_t, struct ledger_fill *);
/* Fills of a user (either side; 0: all) and market (0: all), newest first. */
int	ledger_fill_list(struct ledger *, int64_t, int64_t, size_t,
	    void (*)(const struct ledger_fill *, void *), void *);
/*
 * 30-day volume input: for every fill of market at or after since (ms),
 * cb(user, quote amount) for the taker and then for the maker.
 */
int	ledger_fill_volumes(struct ledger *, int64_t, int64_t,
	    void (*)(int64_t, u128, void *), void *);

/*
 * A market's fee tier table (market.h). Stored: tiers 1..n-1; get fills
 * those and n, leaving tier[0] zero for the caller to set to the market's
 * base rates. put replaces the table (n 1: no tiers). The exchange checks
 * the table (market_tiers_check) before storing it.
 */
int	ledger_fee_tiers_get(struct ledger *, int64_t, struct market_tiers *);
int	ledger_fee_tiers_put(struct ledger *, int64_t,
	    const struct market_tiers *);

/* Deposits: keyed by (block hash, operation index), credited once. */
enum ledger_deposit_status {
	LEDGER_DEPOSIT_PENDING = 0,
	LEDGER_DEPOSIT_CREDITED
};
struct ledger_deposit {
	int64_t	id;
	int64_t	user_id;
	int64_t	token_id;
	u128	amount;
	char	block[LEDGER_HASH_MAX];
	int	op_index;
	enum ledger_deposit_status status;
	int64_t	created_at;
	int64_t	credited_at;
};
/* Record a seen deposit as pending (LEDGER_DUPLICATE if already known). */
int	ledger_deposit_record(struct ledger *, int64_t, int64_t, u128,
	    const char *, int, int64_t *);
/*
 * Credit a deposit: records it if new, and moves it to credited, crediting
 * the balance in the same transaction.  A second call with the same (block,
 * op index) returns LEDGER_DUPLICATE and changes nothing; one whose user,
 * token or amount disagree with the recorded row returns LEDGER_INVALID.
 */
int	ledger_deposit_credit(struct ledger *, int64_t, int64_t, u128,
	    const char *, int, int64_t *);
int	ledger_deposit_get(struct ledger *, int64_t, struct ledger_deposit *);
/* By (block hash, operation index); LEDGER_NOTFOUND when never seen. */
int	ledger_deposit_find(struct ledger *, const char *, int,
	    struct ledger_deposit *);
/* Deposits of a user (0: all); pending_only restricts to pending. */
int	ledger_deposit_list(struct ledger *, int64_t, bool, size_t,
	    void (*)(const struct ledger_deposit *, void *), void *);

/* Withdrawals. */
enum ledger_wd_status {
	LEDGER_WD_QUEUED = 0,
	LEDGER_WD_PROCESSING,
	LEDGER_WD_COMPLETED,
	LEDGER_WD_FAILED,
	LEDGER_WD_CANCELED,
	LEDGER_WD_PENDING_APPROVAL
};
const char	*ledger_wd_status_name(enum ledger_wd_status);
struct ledger_withdrawal {
	int64_t			id;
	int64_t			user_id;
	int64_t			token_id;
	u128			amount;
	char			to[LEDGER_ADDR_MAX];
	char			idem_key[LEDGER_CLIENT_ID_MAX];
	enum ledger_wd_status	status;
	char			block[LEDGER_HASH_MAX];
	char			reason[LEDGER_REASON_MAX];
	int64_t			created_at;
	int64_t			updated_at;
};
/*
 * Request a withdrawal: reserve the amount and queue it (or hold it for
 * approval) in one transaction.  The idempotency key is unique: a replay
 * returns LEDGER_DUPLICATE with the existing id and changes nothing.  A
 * frozen user gets LEDGER_FORBIDDEN (withdraw-only users may withdraw).
 */
int	ledger_withdrawal_request(struct ledger *, int64_t, int64_t, u128,
	    const char *, const char *, bool, int64_t *);
int	ledger_withdrawal_approve(struct ledger *, int64_t);
int	ledger_withdrawal_processing(struct ledger *, int64_t);
/* Completed: total decreases by the amount (already not available). */
int	ledger_withdrawal_complete(struct ledger *, int64_t, const char *);
/* Failed or canceled: the reservation is released; reason recorded. */
int	ledger_withdrawal_fail(struct ledger *, int64_t, const char *);
int	ledger_withdrawal_cancel(struct ledger *, int64_t, const char *);
/* Failed → queued again, reserving anew (LEDGER_INSUFFICIENT if spent). */
int	ledger_withdrawal_retry(struct ledger *, int64_t);
int	ledger_withdrawal_get(struct ledger *, int64_t,
	    struct ledger_withdrawal *);
/* Withdrawals of a user (0: all) in a status (-1: any), newest first. */
int	ledger_withdrawal_list(struct ledger *, int64_t, int, size_t,
	    void (*)(const struct ledger_withdrawal *, void *), void *);
/*
 * The sum of withdrawals of a user (0: everyone) in one token requested at
 * or after since (ms), counting every status but failed and canceled (a
 * pending_approval one holds its funds): what rolling limits look at.
 */
int	ledger_withdrawal_sum(struct ledger *, int64_t, int64_t, int64_t,
	    u128 *);

/* Settlement batches (journal before publishing). */
enum ledger_batch_status {
	LEDGER_BATCH_PENDING = 0,
	LEDGER_BATCH_PUBLISHED,
	LEDGER_BATCH_CONFIRMED,
	LEDGER_BATCH_FAILED
};
const char	*ledger_batch_status_name(enum ledger_batch_status);
struct ledger_batch {
	int64_t			 id;
	enum ledger_batch_status status;
	char			 staple[LEDGER_HASH_MAX];
	char			 reason[LEDGER_REASON_MAX];
	int64_t			 first_fill;
	int64_t			 last_fill;
	int			 attempts;
	int64_t			 created_at;
	int64_t			 updated_at;
};
struct ledger_batch_delta {
	int64_t			user_id;
	int64_t			token_id;
	struct ledger_delta	delta;
};
/*
 * Net every fill not yet in a batch into a new pending batch: per user and
 * token, the signed change of total (fees included; the fee account is a
 * user).  Fills with a withdraw-only party wait outside every batch (the
 * operator can no longer move that user's funds).  A batch takes fills in
 * order until one more would bring it past LEDGER_BATCH_USERS_MAX users
 * (one staple holds at most 64 blocks: the users' and the clearing
 * account's); the rest wait for the next batch.  *id is 0 when there was
 * nothing to settle.
 */
#define LEDGER_BATCH_USERS_MAX	60
int	ledger_batch_create(struct ledger *, int64_t *);
int	ledger_batch_published(struct ledger *, int64_t, const char *);
int	ledger_batch_confirmed(struct ledger *, int64_t);
int	ledger_batch_failed(struct ledger *, int64_t, const char *);
/* Failed → pending again (attempts + 1). */
int	ledger_batch_retry(struct ledger *, int64_t);
int	ledger_batch_get(struct ledger *, int64_t, struct ledger_batch *);
int	ledger_batch_deltas(struct ledger *, int64_t,
	    void (*)(const struct ledger_batch_delta *, void *), void *);
/* Batches in a status (-1: any), newest first. */
int	ledger_batch_list(struct ledger *, int, size_t,
	    void (*)(const struct ledger_batch *, void *), void *);
/*
 * What the chain has not seen yet for (user, token): the signed sum of fill
 * movements not in a confirmed batch.
 */
int	ledger_unsettled(struct ledger *, int64_t, int64_t,
	    struct ledger_delta *);

/* Reconciliation runs and their per-(user, token) results. */
enum ledger_recon_status {
	LEDGER_RECON_OK = 0,
	LEDGER_RECON_DRIFT,
	LEDGER_RECON_CRITICAL
};
const char	*ledger_recon_status_name(enum ledger_recon_status);
struct ledger_recon {
	int64_t			 id;
	int64_t			 run_id;
	int64_t			 user_id;
	int64_t			 token_id;
	u128			 chain;		/* on-chain balance */
	u128			 expected;	/* ledger view of the chain */
	struct ledger_delta	 diff;		/* chain - expected */
	enum ledger_recon_status status;
	int64_t			 ts;
};
struct ledger_recon_run {
	int64_t	id;
	int64_t	started_at;
	int64_t	finished_at;	/* 0 while running */
	int	n_ok;
	int	n_drift;
	int	n_critical;
};
int	ledger_recon_begin(struct ledger *, int64_t *);
/* Record one comparison; the status is derived from |diff| and dust. */
int	ledger_recon_add(struct ledger *, int64_t, int64_t, int64_t, u128,
	    u128, u128, enum ledger_recon_status *);
int	ledger_recon_finish(struct ledger *, int64_t);
int	ledger_recon_run_get(struct ledger *, int64_t,
	    struct ledger_recon_run *);
int	ledger_recon_run_list(struct ledger *, size_t,
	    void (*)(const struct ledger_recon_run *, void *), void *);
int	ledger_recon_results(struct ledger *, int64_t,
	    void (*)(const struct ledger_recon *, void *), void *);

/* Audit log. */
struct ledger_audit {
	int64_t			id;
	int64_t			ts;
	int64_t			user_id;
	int64_t			token_id;
	enum ledger_cause	cause;
	char			ref[LEDGER_REASON_MAX];
	struct ledger_delta	d_available;
	struct ledger_delta	d_total;
};
/* Entries filtered by user (0: all), cause (-1: all), since (ms), newest first. */
int	ledger_audit_list(struct ledger *, int64_t, int, int64_t, size_t,
	    void (*)(const struct ledger_audit *, void *), void *);

/*
 * Conservation and consistency check.  For every token: the sum of totals
 * over all users (fee account included) equals credited deposits minus
 * completed withdrawals plus corrections; for every balance available <=
 * total; for every (user, token) total - available equals what the user's
 * live orders and in-flight withdrawals hold.  Returns the number of
 * failures (0 when consistent) and, when failures is not NULL, a list of
 * messages the caller frees with ledger_check_free(); -1 on database error.
 */
int	ledger_check(struct ledger *, char ***, size_t *);
void	ledger_check_free(char **, size_t);

/* Signed helpers for struct ledger_delta (checked; -1 on overflow). */
int	ledger_delta_add(struct ledger_delta *, const struct ledger_delta *);
int	ledger_delta_fmt(const struct ledger_delta *, char *, size_t);

/* For queries the ledger does not know: the raw handle (do not close). */
struct sqlite3	*ledger_db(struct ledger *);

#endif
