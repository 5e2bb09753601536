/*
 * check_ledger: the SQLite ledger on real files: schema and migrations,
 * every operation, exact amounts up to 2^128-1, idempotent deposits,
 * withdrawal and settlement state machines, reconciliation, the audit log,
 * and ledger_check() both passing after random operations and catching a
 * tampered file.  Refused operations must leave the file unchanged, which
 * is asserted by comparing a dump of every table before and after.
 */
#include "config.h"

#include <sys/stat.h>

#include <check.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ledger.h"
#include "market.h"
#include "money.h"
#include "util.h"

struct fx {
	char		 dir[64];
	char		 path[96];
	struct ledger	*l;
	int64_t		 u1, u2, tok;
	int		 sync;		/* synchronous level */
	bool		 pipelined;
};

static int64_t	fake_now = 1700000000000LL;

static int64_t
test_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

static void
fx_reopen(struct fx *f)
{
	struct ledger_options	 o = { .synchronous = f->sync,
				    .pipelined = f->pipelined,
				    .clock = test_clock };
	char			*cause = NULL;

	if (f->l != NULL)
		ledger_close(f->l);
	f->l = ledger_open(f->path, &o, &cause);
	if (f->l == NULL)
		ck_abort_msg("ledger_open: %s", cause);
}

static void
fx_setup_opts(struct fx *f, int sync, bool pipelined)
{
	memset(f, 0, sizeof *f);
	f->sync = sync;
	f->pipelined = pipelined;
	snprintf(f->dir, sizeof f->dir, "/tmp/check_ledger.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/ledger.db", f->dir);
	fx_reopen(f);
	ck_assert_int_eq(ledger_user_add(f->l, "keeta_u1", "ed25519", &f->u1),
	    LEDGER_OK);
	ck_assert_int_eq(ledger_user_add(f->l, "keeta_u2", "secp256k1",
	    &f->u2), LEDGER_OK);
	ck_assert_int_eq(ledger_token_add(f->l, "keeta_tok", "TOK", 6,
	    &f->tok), LEDGER_OK);
}

static void
fx_setup_sync(struct fx *f, int sync)
{
	fx_setup_opts(f, sync, false);
}

static void
fx_setup(struct fx *f)
{
	fx_setup_sync(f, 2);
}

static void
fx_teardown(struct fx *f)
{
	char	cmd[128];

	ledger_close(f->l);
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Every row of every table, as text: equal dumps mean nothing changed. */
static char *
dump(struct ledger *l)
{
	static const char *tables[] = { "users", "tokens", "markets",
	    "balances", "orders", "fills", "deposits", "withdrawals",
	    "settlement_batches", "settlement_deltas", "recon_runs",
	    "reconciliations", "audit_log", "counters" };
	sqlite3_stmt	*st;
	char		*out, *sql;
	size_t		 i, len = 0, cap = 4096, n;
	int		 c;

	out = xmalloc(cap);
	out[0] = '\0';
	for (i = 0; i < sizeof tables / sizeof tables[0]; i++) {
		xasprintf(&sql, "SELECT * FROM %s", tables[i]);
		ck_assert_int_eq(sqlite3_prepare_v2(ledger_db(l), sql, -1, &st,
		    NULL), SQLITE_OK);
		free(sql);
		while (sqlite3_step(st) == SQLITE_ROW) {
			for (c = 0; c < sqlite3_column_count(st); c++) {
				const unsigned char *t;

				t = sqlite3_column_text(st, c);
				n = t != NULL ? strlen((const char *)t) : 4;
				while (len + n + 3 > cap) {
					cap *= 2;
					out = xreallocarray(out, cap, 1);
				}
				memcpy(out + len, t != NULL ?
				    (const char *)t : "NULL", n);
				len += n;
				out[len++] = c + 1 == sqlite3_column_count(st) ?
				    '\n' : '|';
				out[len] = '\0';
			}
		}
		sqlite3_finalize(st);
	}
	return out;
}

static void
assert_same(struct ledger *l, const char *before)
{
	char	*after = dump(l);

	ck_assert_str_eq(before, after);
	free(after);
}

static void
assert_check(struct ledger *l, int want)
{
	char	**fail;
	size_t	  n, i;
	int	  got;

	got = ledger_check(l, &fail, &n);
	if (got != want) {
		for (i = 0; i < n; i++)
			fprintf(stderr, "check: %s\n", fail[i]);
	}
	ledger_check_free(fail, n);
	ck_assert_int_eq(got, want);
}

static void
bal(struct ledger *l, int64_t u, int64_t t, u128 avail, u128 total)
{
	struct ledger_balance	b;

	ck_assert_int_eq(ledger_balance_get(l, u, t, &b), LEDGER_OK);
	ck_assert(b.available == avail);
	ck_assert(b.total == total);
}

static int
table_exists(struct ledger *l, const char *name)
{
	sqlite3_stmt	*st;
	int		 found;

	sqlite3_prepare_v2(ledger_db(l), "SELECT 1 FROM sqlite_master WHERE "
	    "type = 'table' AND name = ?1", -1, &st, NULL);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

START_TEST(test_schema_fresh)
{
	struct fx		 f;
	struct ledger_user	 u;
	sqlite3_stmt		*st;
	const char		*mode;

	fx_setup(&f);
	ck_assert_int_eq(ledger_schema_version(f.l), LEDGER_SCHEMA_VERSION);
	ck_assert(table_exists(f.l, "audit_log"));
	ck_assert(table_exists(f.l, "settlement_deltas"));
	ck_assert(table_exists(f.l, "api_keys"));
	ck_assert(table_exists(f.l, "fee_tiers"));
	ck_assert_int_eq(ledger_user_get(f.l, LEDGER_FEE_USER, &u), LEDGER_OK);
	ck_assert_str_eq(u.address, LEDGER_FEE_ADDRESS);
	/* WAL and synchronous=FULL by default. */
	sqlite3_prepare_v2(ledger_db(f.l), "PRAGMA journal_mode", -1, &st,
	    NULL);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	mode = (const char *)sqlite3_column_text(st, 0);
	ck_assert_str_eq(mode, "wal");
	sqlite3_finalize(st);
	sqlite3_prepare_v2(ledger_db(f.l), "PRAGMA synchronous", -1, &st,
	    NULL);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(st, 0), 2);
	sqlite3_finalize(st);
	/* Reopening applies nothing and keeps the users. */
	fx_reopen(&f);
	ck_assert_int_eq(ledger_schema_version(f.l), LEDGER_SCHEMA_VERSION);
	ck_assert_int_eq(ledger_user_find(f.l, "keeta_u2", &u), LEDGER_OK);
	ck_assert_int_eq(u.id, f.u2);
	ck_assert_str_eq(u.pubkey_type, "secp256k1");
	fx_teardown(&f);
}
END_TEST

static char *
slurp(const char *path)
{
	FILE	*fp;
	char	*buf;
	long	 n;

	fp = fopen(path, "r");
	ck_assert_msg(fp != NULL, "cannot open %s", path);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = xmalloc((size_t)n + 1);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

START_TEST(test_migration_from_v1)
{
	char			 dir[64], path[96], file[512], *sql, *cause = NULL;
	const char		*data;
	sqlite3			*db;
	struct ledger		*l;
	struct ledger_user	 u;
	struct ledger_token	 t;

	data = getenv("KDEX_TEST_DATA");
	snprintf(file, sizeof file, "%s/ledger/schema_v1.sql",
	    data != NULL ? data : "tests/data");
	snprintf(dir, sizeof dir, "/tmp/check_ledger.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/v1.db", dir);
	sql = slurp(file);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	free(sql);

	l = ledger_open(path, NULL, &cause);
	ck_assert_msg(l != NULL, "open v1: %s", cause);
	ck_assert_int_eq(ledger_schema_version(l), LEDGER_SCHEMA_VERSION);
	ck_assert(table_exists(l, "api_keys"));
	ck_assert_int_eq(ledger_user_find(l, "keeta_old", &u), LEDGER_OK);
	ck_assert_int_eq(u.fee_tier, 0);
	ck_assert_int_eq(u.created_at, 1000);
	ck_assert_int_eq(ledger_token_find(l, "BIG", &t), LEDGER_OK);
	ck_assert_int_eq(t.decimals, 18);
	bal(l, u.id, t.id, U128_MAX, U128_MAX);
	assert_check(l, 0);
	ck_assert_int_eq(ledger_user_set_fee_tier(l, u.id, 3), LEDGER_OK);
	ledger_close(l);

	/* A file from the future is refused, not downgraded. */
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "PRAGMA user_version = 99", NULL,
	    NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	l = ledger_open(path, NULL, &cause);
	ck_assert_ptr_null(l);
	ck_assert_ptr_nonnull(strstr(cause, "newer"));
	free(cause);
	snprintf(file, sizeof file, "rm -rf %s", dir);
	ck_assert_int_eq(system(file), 0);
}
END_TEST

START_TEST(test_amounts_exact)
{
	struct fx	 f;
	char		*before;
	u128		 vals[5];
	int64_t		 id, toks[5];
	size_t		 i;
	char		 blk[16], sym[8], addr[32];

	fx_setup(&f);
	vals[0] = 1;
	vals[1] = money_pow10(18);
	vals[2] = (u128)UINT64_MAX + 1;
	vals[3] = (u128)1 << 127;
	vals[4] = U128_MAX;
	for (i = 0; i < 5; i++) {
		snprintf(addr, sizeof addr, "keeta_t%zu", i);
		snprintf(sym, sizeof sym, "T%zu", i);
		ck_assert_int_eq(ledger_token_add(f.l, addr, sym, 18, &toks[i]),
		    LEDGER_OK);
		snprintf(blk, sizeof blk, "blk%zu", i);
		ck_assert_int_eq(ledger_deposit_credit(f.l, f.u1, toks[i],
		    vals[i], blk, 0, &id), LEDGER_OK);
	}
	fx_reopen(&f);
	for (i = 0; i < 5; i++)
		bal(f.l, f.u1, toks[i], vals[i], vals[i]);
	/* One more unit on 2^128-1 overflows and changes nothing. */
	before = dump(f.l);
	ck_assert_int_eq(ledger_deposit_credit(f.l, f.u1, toks[4], 1, "blkx",
	    0, &id), LEDGER_OVERFLOW);
	ck_assert_int_eq(ledger_credit(f.l, f.u1, toks[4], 1,
	    LEDGER_CAUSE_CORRECTION, "x"), LEDGER_OVERFLOW);
	assert_same(f.l, before);
	free(before);
	bal(f.l, f.u1, toks[4], U128_MAX, U128_MAX);
	assert_check(f.l, 0);
	fx_teardown(&f);
}
END_TEST

START_TEST(test_deposit_idempotent)
{
	struct fx		 f;
	struct ledger_deposit	 d;
	int64_t			 id, id2;
	char			*before;

	fx_setup(&f);
	ck_assert_int_eq(ledger_deposit_credit(f.l, f.u1, f.tok, 500, "blockA",
	    1, &id), LEDGER_OK);
	before = dump(f.l);
	ck_assert_int_eq(ledger_deposit_credit(f.l, f.u1, f.tok, 500, "blockA",
	    1, &id2), LEDGER_DUPLICATE);
	ck_assert_int_eq(id, id2);
	assert_same(f.l, before);
	/* After a restart too. */
	fx_reopen(&f);
	ck_assert_int_eq(ledger_deposit_credit(f.l, f.u1, f.tok, 500, "blockA",
	    1, &id2), LEDGER_DUPLICATE);
	/* The same key with other contents is refused. */
	ck_assert_int_eq(ledger_deposit_credit(f.l, f.u1, f.tok, 501, "blockA",
	    1, &id2), LEDGER_INVALID);
	ck_assert_int_eq(ledger_deposit_credit(f.l, f.u2, f.tok, 500, "blockA",
	    1, &id2), LEDGER_INVALID);
	/* Bad input. */
	ck_assert_int_eq(ledger_deposit_credit(f.l, f.u1, f.tok, 0, "blockB",
	    0, &id2), LEDGER_INVALID);
	ck_assert_int_eq(ledger_deposit_credit(f.l, f.u1, f.tok, 1, "", 0,
	    &id2), LEDGER_INVALID);
	ck_assert_int_eq(ledger_deposit_credit(f.l, 999, f.tok, 1, "blockB",
	    0, &id2), LEDGER_INVALID);
	ck_assert_int_eq(ledger_deposit_credit(f.l, f.u1, 999, 1, "blockB",
	    0, &id2), LEDGER_INVALID);
	ck_assert_int_eq(ledger_deposit_credit(f.l, LEDGER_FEE_USER, f.tok, 1,
	    "blockB", 0, &id2), LEDGER_INVALID);
	assert_same(f.l, before);
	free(before);
	bal(f.l, f.u1, f.tok, 500, 500);

	/* Seen first, credited later: still once. */
	ck_assert_int_eq(ledger_deposit_record(f.l, f.u2, f.tok, 70, "blockC",
	    0, &id), LEDGER_OK);
	ck_assert_int_eq(ledger_deposit_record(f.l, f.u2, f.tok, 70, "blockC",
	    0, &id2), LEDGER_DUPLICATE);
	ck_assert_int_eq(ledger_deposit_get(f.l, id, &d), LEDGER_OK);
	ck_assert_int_eq(d.status, LEDGER_DEPOSIT_PENDING);
	bal(f.l, f.u2, f.tok, 0, 0);
	ck_assert_int_eq(ledger_deposit_credit(f.l, f.u2, f.tok, 70, "blockC",
	    0, &id2), LEDGER_OK);
	ck_assert_int_eq(id, id2);
	ck_assert_int_eq(ledger_deposit_credit(f.l, f.u2, f.tok, 70, "blockC",
	    0, &id2), LEDGER_DUPLICATE);
	ck_assert_int_eq(ledger_deposit_get(f.l, id, &d), LEDGER_OK);
	ck_assert_int_eq(d.status, LEDGER_DEPOSIT_CREDITED);
	ck_assert_int_eq(d.credited_at, fake_now);
	bal(f.l, f.u2, f.tok, 70, 70);
	assert_check(f.l, 0);
	fx_teardown(&f);
}
END_TEST

START_TEST(test_moves)
{
	struct fx	 f;
	char		*before;
	int64_t		 id;

	fx_setup(&f);
	ck_assert_int_eq(ledger_deposit_credit(f.l, f.u1, f.tok, 1000, "b", 0,
	    &id), LEDGER_OK);
	before = dump(f.l);
	ck_assert_int_eq(ledger_reserve(f.l, f.u1, f.tok, 1001,
	    LEDGER_CAUSE_RESERVATION, "o"), LEDGER_INSUFFICIENT);
	ck_assert_int_eq(ledger_release(f.l, f.u1, f.tok, 1,
	    LEDGER_CAUSE_RESERVATION, "o"), LEDGER_OVERFLOW);
	ck_assert_int_eq(ledger_spend_reserved(f.l, f.u1, f.tok, 1,
	    LEDGER_CAUSE_FILL, "o"), LEDGER_INSUFFICIENT);
	ck_assert_int_eq(ledger_debit(f.l, f.u2, f.tok, 1, LEDGER_CAUSE_FILL,
	    "o"), LEDGER_INSUFFICIENT);
	ck_assert_int_eq(ledger_credit(f.l, 0, f.tok, 1, LEDGER_CAUSE_FILL,
	    "o"), LEDGER_INVALID);
	assert_same(f.l, before);
	free(before);
	ck_assert_int_eq(ledger_reserve(f.l, f.u1, f.tok, 400,
	    LEDGER_CAUSE_RESERVATION, "o"), LEDGER_OK);
	bal(f.l, f.u1, f.tok, 600, 1000);
	ck_assert_int_eq(ledger_spend_reserved(f.l, f.u1, f.tok, 300,
	    LEDGER_CAUSE_FILL, "o"), LEDGER_OK);
	bal(f.l, f.u1, f.tok, 600, 700);
	/* What u1 spent went to u2, as a fill would move it. */
	ck_assert_int_eq(ledger_credit(f.l, f.u2, f.tok, 300,
	    LEDGER_CAUSE_FILL, "o"), LEDGER_OK);
	ck_assert_int_eq(ledger_spend_reserved(f.l, f.u1, f.tok, 101,
	    LEDGER_CAUSE_FILL, "o"), LEDGER_INSUFFICIENT);
	ck_assert_int_eq(ledger_release(f.l, f.u1, f.tok, 100,
	    LEDGER_CAUSE_RESERVATION, "o"), LEDGER_OK);
	bal(f.l, f.u1, f.tok, 700, 700);
	ck_assert_int_eq(ledger_debit(f.l, f.u1, f.tok, 200, LEDGER_CAUSE_FEE,
	    "o"), LEDGER_OK);
	ck_assert_int_eq(ledger_credit(f.l, LEDGER_FEE_USER, f.tok, 200,
	    LEDGER_CAUSE_FEE, "o"), LEDGER_OK);
	bal(f.l, f.u1, f.tok, 500, 500);
	/* Survives a reopen (the cache was written back). */
	fx_reopen(&f);
	bal(f.l, f.u1, f.tok, 500, 500);
	bal(f.l, LEDGER_FEE_USER, f.tok, 200, 200);
	bal(f.l, f.u2, f.tok, 300, 300);
	assert_check(f.l, 0);
	fx_teardown(&f);
}
END_TEST

START_TEST(test_transactions)
{
	struct fx	 f;
	char		*cause = NULL;

	fx_setup(&f);
	ck_assert_int_eq(ledger_begin(f.l, NULL), 0);
	ck_assert(ledger_in_transaction(f.l));
	ck_assert_int_eq(ledger_deposit_credit(f.l, f.u1, f.tok, 10, "b1", 0,
	    NULL), LEDGER_OK);
	bal(f.l, f.u1, f.tok, 10, 10);
	ledger_rollback(f.l);
	bal(f.l, f.u1, f.tok, 0, 0);
	ck_assert_int_eq(ledger_begin(f.l, NULL), 0);
	ck_assert_int_eq(ledger_deposit_credit(f.l, f.u1, f.tok, 10, "b1", 0,
	    NULL), LEDGER_OK);
	ck_assert_int_eq(ledger_counter_set(f.l, "x", 5), LEDGER_OK);
	ledger_fail_next_commit(f.l);
	ck_assert_int_eq(ledger_commit(f.l, &cause), -1);
	free(cause);
	ck_assert(!ledger_in_transaction(f.l));
	bal(f.l, f.u1, f.tok, 0, 0);
	/* Nothing of it reached the file either. */
	fx_reopen(&f);
	bal(f.l, f.u1, f.tok, 0, 0);
	ck_assert_int_eq(ledger_deposit_credit(f.l, f.u1, f.tok, 10, "b1", 0,
	    NULL), LEDGER_OK);
	ck_assert_int_eq(ledger_begin(f.l, NULL), 0);
	ck_assert_int_eq(ledger_counter_set(f.l, "x", 7), LEDGER_OK);
	ck_assert_int_eq(ledger_commit(f.l, NULL), 0);
	fx_reopen(&f);
	{
		int64_t	v;

		ck_assert_int_eq(ledger_counter_get(f.l, "x", &v), 0);
		ck_assert_int_eq(v, 7);
	}
	bal(f.l, f.u1, f.tok, 10, 10);
	fx_teardown(&f);
}
END_TEST

START_TEST(test_withdrawals)
{
	struct fx			 f;
	struct ledger_withdrawal	 w;
	int64_t				 w1, w2, w3, id;
	char				*before;

	fx_setup(&f);
	ck_assert_int_eq(ledger_deposit_credit(f.l, f.u1, f.tok, 1000, "b", 0,
	    NULL), LEDGER_OK);
	ck_assert_int_eq(ledger_withdrawal_request(f.l, f.u1, f.tok, 300,
	    "keeta_to", "k1", false, &w1), LEDGER_OK);
	bal(f.l, f.u1, f.tok, 700, 1000);
	assert_check(f.l, 0);
	before = dump(f.l);
	ck_assert_int_eq(ledger_withdrawal_request(f.l, f.u1, f.tok, 300,
	    "keeta_to", "k1", false, &id), LEDGER_DUPLICATE);
	ck_assert_int_eq(id, w1);
	ck_assert_int_eq(ledger_withdrawal_request(f.l, f.u1, f.tok, 701,
	    "keeta_to", "k2", false, &id), LEDGER_INSUFFICIENT);
	ck_assert_int_eq(ledger_withdrawal_request(f.l, f.u1, f.tok, 0,
	    "keeta_to", "k2", false, &id), LEDGER_INVALID);
	ck_assert_int_eq(ledger_withdrawal_request(f.l, f.u1, f.tok, 1,
	    "", "k2", false, &id), LEDGER_INVALID);
	ck_assert_int_eq(ledger_withdrawal_complete(f.l, 999, "h"),
	    LEDGER_NOTFOUND);
	ck_assert_int_eq(ledger_withdrawal_approve(f.l, w1), LEDGER_BADSTATE);
	assert_same(f.l, before);
	free(before);

	ck_assert_int_eq(ledger_withdrawal_processing(f.l, w1), LEDGER_OK);
	ck_assert_int_eq(ledger_withdrawal_complete(f.l, w1, "hash1"),
	    LEDGER_OK);
	bal(f.l, f.u1, f.tok, 700, 700);
	ck_assert_int_eq(ledger_withdrawal_complete(f.l, w1, "hash1"),
	    LEDGER_DUPLICATE);
	ck_assert_int_eq(ledger_withdrawal_fail(f.l, w1, "late"),
	    LEDGER_BADSTATE);
	ck_assert_int_eq(ledger_withdrawal_get(f.l, w1, &w), LEDGER_OK);
	ck_assert_int_eq(w.status, LEDGER_WD_COMPLETED);
	ck_assert_str_eq(w.block, "hash1");
	bal(f.l, f.u1, f.tok, 700, 700);
	assert_check(f.l, 0);

	/* Failed: released; retried: reserved again; then canceled. */
	ck_assert_int_eq(ledger_withdrawal_request(f.l, f.u1, f.tok, 200,
	    "keeta_to", "k2", false, &w2), LEDGER_OK);
	ck_assert_int_eq(ledger_withdrawal_fail(f.l, w2, "rejected by rep"),
	    LEDGER_OK);
	bal(f.l, f.u1, f.tok, 700, 700);
	ck_assert_int_eq(ledger_withdrawal_retry(f.l, w2), LEDGER_OK);
	bal(f.l, f.u1, f.tok, 500, 700);
	ck_assert_int_eq(ledger_withdrawal_cancel(f.l, w2, "user"), LEDGER_OK);
	bal(f.l, f.u1, f.tok, 700, 700);
	ck_assert_int_eq(ledger_withdrawal_get(f.l, w2, &w), LEDGER_OK);
	ck_assert_int_eq(w.status, LEDGER_WD_CANCELED);
	ck_assert_str_eq(w.reason, "user");

	/* Large ones wait for approval, holding the funds. */
	ck_assert_int_eq(ledger_withdrawal_request(f.l, f.u1, f.tok, 600,
	    "keeta_to", "k3", true, &w3), LEDGER_OK);
	ck_assert_int_eq(ledger_withdrawal_processing(f.l, w3),
	    LEDGER_BADSTATE);
	bal(f.l, f.u1, f.tok, 100, 700);
	assert_check(f.l, 0);
	ck_assert_int_eq(ledger_withdrawal_approve(f.l, w3), LEDGER_OK);
	ck_assert_int_eq(ledger_withdrawal_get(f.l, w3, &w), LEDGER_OK);
	ck_assert_int_eq(w.status, LEDGER_WD_QUEUED);

	/* Frozen users cannot withdraw; withdraw-only users can. */
	ck_assert_int_eq(ledger_user_set_status(f.l, f.u1, LEDGER_USER_FROZEN,
	    "recon"), LEDGER_OK);
	ck_assert_int_eq(ledger_withdrawal_request(f.l, f.u1, f.tok, 1,
	    "keeta_to", "k4", false, &id), LEDGER_FORBIDDEN);
	ck_assert_int_eq(ledger_user_set_status(f.l, f.u1,
	    LEDGER_USER_WITHDRAW_ONLY, "acl"), LEDGER_OK);
	ck_assert_int_eq(ledger_withdrawal_request(f.l, f.u1, f.tok, 1,
	    "keeta_to", "k4", false, &id), LEDGER_OK);
	assert_check(f.l, 0);
	fx_teardown(&f);
}
END_TEST

static void
count_cb(const void *row, void *arg)
{
	(void)row;
	(*(int *)arg)++;
}

struct delta_sum {
	struct ledger_delta	sum[8];
	int64_t			tok[8];
	int			n;
};

static void
delta_cb(const struct ledger_batch_delta *d, void *arg)
{
	struct delta_sum	*s = arg;
	int			 i;

	for (i = 0; i < s->n; i++) {
		if (s->tok[i] == d->token_id)
			break;
	}
	if (i == s->n) {
		s->tok[s->n] = d->token_id;
		s->sum[s->n].neg = false;
		s->sum[s->n].abs = 0;
		s->n++;
	}
	ck_assert_int_eq(ledger_delta_add(&s->sum[i], &d->delta), 0);
}

static void
market_cfg(struct market *m)
{
	struct market_config	 cfg;
	char			*cause = NULL;

	memset(&cfg, 0, sizeof cfg);
	snprintf(cfg.base.address, sizeof cfg.base.address, "keeta_kta");
	snprintf(cfg.base.symbol, sizeof cfg.base.symbol, "KTA");
	cfg.base.decimals = 6;
	snprintf(cfg.quote.address, sizeof cfg.quote.address, "keeta_usdc");
	snprintf(cfg.quote.symbol, sizeof cfg.quote.symbol, "USDC");
	cfg.quote.decimals = 6;
	cfg.tick_size = 1000;
	cfg.lot_size = 1000;
	cfg.min_lots = 1;
	cfg.maker_fee_ppm = -100;
	cfg.taker_fee_ppm = 1000;
	cfg.max_price_ticks = 1000000;
	cfg.max_qty_lots = 1000000;
	cfg.limits.max_orders = 100;
	cfg.limits.max_levels = 100;
	cfg.limits.max_orders_per_user = 100;
	if (market_init(m, &cfg, &cause) != 0)
		ck_abort_msg("market_init: %s", cause);
}

START_TEST(test_markets_users)
{
	struct fx		f;
	struct market		m;
	struct ledger_market	lm;
	struct ledger_user	u;
	int64_t			id, id2;
	int			n = 0;

	fx_setup(&f);
	market_cfg(&m);
	ck_assert_int_eq(ledger_market_put(f.l, &m, &id), LEDGER_OK);
	ck_assert_int_eq(ledger_market_put(f.l, &m, &id2), LEDGER_OK);
	ck_assert_int_eq(id, id2);
	ck_assert_int_eq(ledger_market_find(f.l, "KTA-USDC", &lm), LEDGER_OK);
	ck_assert_int_eq(lm.id, id);
	ck_assert(lm.cfg.tick_size == 1000 && lm.cfg.lot_size == 1000);
	ck_assert_int_eq(lm.cfg.maker_fee_ppm, -100);
	ck_assert_str_eq(lm.cfg.base.symbol, "KTA");
	ck_assert_uint_eq(lm.cfg.quote.decimals, 6);
	ck_assert_uint_eq(lm.cfg.limits.max_orders_per_user, 100);
	ck_assert_int_eq(ledger_market_set_status(f.l, id, MARKET_HALTED),
	    LEDGER_OK);
	ck_assert_int_eq(ledger_market_set_fees(f.l, id, -2000, 1000),
	    LEDGER_INVALID);
	ck_assert_int_eq(ledger_market_set_fees(f.l, id, 200, 2000),
	    LEDGER_OK);
	ck_assert_int_eq(ledger_market_get(f.l, id, &lm), LEDGER_OK);
	ck_assert_int_eq(lm.cfg.status, MARKET_HALTED);
	ck_assert_int_eq(lm.cfg.taker_fee_ppm, 2000);
	ck_assert_int_eq(ledger_market_list(f.l,
	    (void (*)(const struct ledger_market *, void *))(void *)count_cb,
	    &n), LEDGER_OK);
	ck_assert_int_eq(n, 1);

	ck_assert_int_eq(ledger_user_add(f.l, "keeta_u1", "", &id),
	    LEDGER_DUPLICATE);
	ck_assert_int_eq(id, f.u1);
	ck_assert_int_eq(ledger_user_add(f.l, "", "", &id), LEDGER_INVALID);
	ck_assert_int_eq(ledger_user_add(f.l, LEDGER_FEE_ADDRESS, "", &id),
	    LEDGER_INVALID);
	ck_assert_int_eq(ledger_user_set_storage(f.l, f.u1, "keeta_store"),
	    LEDGER_OK);
	ck_assert_int_eq(ledger_user_set_status(f.l, f.u1,
	    LEDGER_USER_WITHDRAW_ONLY, "operator revoked"), LEDGER_OK);
	ck_assert_int_eq(ledger_user_set_status(f.l, 999, LEDGER_USER_FROZEN,
	    ""), LEDGER_NOTFOUND);
	ck_assert_int_eq(ledger_user_get(f.l, f.u1, &u), LEDGER_OK);
	ck_assert_str_eq(u.storage, "keeta_store");
	ck_assert_int_eq(u.status, LEDGER_USER_WITHDRAW_ONLY);
	ck_assert_str_eq(u.reason, "operator revoked");
	n = 0;
	ck_assert_int_eq(ledger_user_list(f.l,
	    (void (*)(const struct ledger_user *, void *))(void *)count_cb,
	    &n), LEDGER_OK);
	ck_assert_int_eq(n, 2);	/* the fee account is not a user */
	fx_teardown(&f);
}
END_TEST

START_TEST(test_orders_fills_settlement)
{
	struct fx		 f;
	struct market		 m;
	struct ledger_market	 lm;
	struct ledger_order	 o, g;
	struct ledger_fill	 fl;
	struct ledger_batch	 b;
	struct ledger_delta	 un;
	struct ledger_order_filter flt;
	struct delta_sum	 s;
	int64_t			 mid, bid, bid2;
	int			 n, i;

	fx_setup(&f);
	market_cfg(&m);
	ck_assert_int_eq(ledger_market_put(f.l, &m, &mid), LEDGER_OK);
	ck_assert_int_eq(ledger_market_get(f.l, mid, &lm), LEDGER_OK);
	memset(&o, 0, sizeof o);
	o.id = 7;
	o.user_id = f.u1;
	o.market_id = mid;
	snprintf(o.client_id, sizeof o.client_id, "c-7");
	o.price = 1000;
	o.qty = 10;
	o.reserved = 10000;
	o.reserve_token = lm.base_token;
	o.side = 1;
	o.created_at = o.updated_at = 5;
	ck_assert_int_eq(ledger_order_put(f.l, &o), LEDGER_OK);
	ck_assert_int_eq(ledger_order_find_client(f.l, f.u1, "c-7", &g),
	    LEDGER_OK);
	ck_assert_int_eq(g.id, 7);
	ck_assert(g.reserved == 10000);
	o.filled = 11;
	ck_assert_int_eq(ledger_order_put(f.l, &o), LEDGER_INVALID);
	o.filled = 10;
	o.reserved = 0;
	o.status = LEDGER_ORDER_FILLED;
	ck_assert_int_eq(ledger_order_put(f.l, &o), LEDGER_OK);
	ck_assert_int_eq(ledger_order_get(f.l, 7, &g), LEDGER_OK);
	ck_assert_int_eq(g.status, LEDGER_ORDER_FILLED);
	memset(&flt, 0, sizeof flt);
	flt.user_id = f.u1;
	flt.which = 1;
	n = 0;
	ck_assert_int_eq(ledger_order_list(f.l, &flt,
	    (void (*)(const struct ledger_order *, void *))(void *)count_cb,
	    &n), LEDGER_OK);
	ck_assert_int_eq(n, 0);
	flt.which = 2;
	ck_assert_int_eq(ledger_order_list(f.l, &flt,
	    (void (*)(const struct ledger_order *, void *))(void *)count_cb,
	    &n), LEDGER_OK);
	ck_assert_int_eq(n, 1);

	/* Two fills: u2 buys from u1, then u1 buys from u2. */
	for (i = 1; i <= 2; i++) {
		memset(&fl, 0, sizeof fl);
		fl.id = i;
		fl.market_id = mid;
		fl.seq = (uint64_t)i;
		fl.price = 1000;
		fl.qty = 10;
		fl.taker_side = 0;
		fl.taker_user = i == 1 ? f.u2 : f.u1;
		fl.maker_user = i == 1 ? f.u1 : f.u2;
		fl.taker_order = 100 + i;
		fl.maker_order = 200 + i;
		fl.base_amount = 10000;
		fl.quote_amount = i == 1 ? 10000 : 12000;
		fl.taker_fee.abs = 10;
		fl.maker_fee.neg = true;
		fl.maker_fee.abs = 1;
		fl.fee_token = lm.quote_token;
		ck_assert_int_eq(ledger_fill_insert(f.l, &fl), LEDGER_OK);
	}
	ck_assert_int_eq(ledger_fill_insert(f.l, &fl), LEDGER_ERR);
	n = 0;
	ck_assert_int_eq(ledger_fill_list(f.l, f.u1, 0, 0,
	    (void (*)(const struct ledger_fill *, void *))(void *)count_cb,
	    &n), LEDGER_OK);
	ck_assert_int_eq(n, 2);
	/*
	 * u1 quote: +10000 - 12000 + rebate 1 - fee 10 = -2009;
	 * u2 quote: -10000 - 10 + 12000 + 1 = +1991; fees: +18.
	 */
	ck_assert_int_eq(ledger_unsettled(f.l, f.u1, lm.quote_token, &un),
	    LEDGER_OK);
	ck_assert(un.neg && un.abs == 2009);
	ck_assert_int_eq(ledger_unsettled(f.l, LEDGER_FEE_USER,
	    lm.quote_token, &un), LEDGER_OK);
	ck_assert(!un.neg && un.abs == 18);
	ck_assert_int_eq(ledger_batch_create(f.l, &bid), LEDGER_OK);
	ck_assert_int_gt(bid, 0);
	ck_assert_int_eq(ledger_batch_create(f.l, &bid2), LEDGER_OK);
	ck_assert_int_eq(bid2, 0);	/* nothing left to net */
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(ledger_batch_deltas(f.l, bid, delta_cb, &s),
	    LEDGER_OK);
	/* Base netted out completely; quote sums to zero. */
	ck_assert_int_eq(s.n, 1);
	ck_assert(s.sum[0].abs == 0);
	ck_assert_int_eq(ledger_batch_get(f.l, bid, &b), LEDGER_OK);
	ck_assert_int_eq(b.status, LEDGER_BATCH_PENDING);
	ck_assert_int_eq(b.first_fill, 1);
	ck_assert_int_eq(b.last_fill, 2);
	ck_assert_int_eq(ledger_batch_confirmed(f.l, 999), LEDGER_NOTFOUND);
	ck_assert_int_eq(ledger_batch_published(f.l, bid, ""), LEDGER_INVALID);
	ck_assert_int_eq(ledger_batch_published(f.l, bid, "staple1"),
	    LEDGER_OK);
	ck_assert_int_eq(ledger_batch_retry(f.l, bid), LEDGER_BADSTATE);
	ck_assert_int_eq(ledger_batch_failed(f.l, bid, "timeout"), LEDGER_OK);
	ck_assert_int_eq(ledger_batch_retry(f.l, bid), LEDGER_OK);
	ck_assert_int_eq(ledger_batch_published(f.l, bid, "staple2"),
	    LEDGER_OK);
	ck_assert_int_eq(ledger_unsettled(f.l, f.u1, lm.quote_token, &un),
	    LEDGER_OK);
	ck_assert(un.abs == 2009);
	ck_assert_int_eq(ledger_batch_confirmed(f.l, bid), LEDGER_OK);
	ck_assert_int_eq(ledger_batch_confirmed(f.l, bid), LEDGER_DUPLICATE);
	ck_assert_int_eq(ledger_batch_get(f.l, bid, &b), LEDGER_OK);
	ck_assert_str_eq(b.staple, "staple2");
	ck_assert_int_eq(b.attempts, 2);
	ck_assert_int_eq(ledger_unsettled(f.l, f.u1, lm.quote_token, &un),
	    LEDGER_OK);
	ck_assert(un.abs == 0);
	n = 0;
	ck_assert_int_eq(ledger_batch_list(f.l, LEDGER_BATCH_CONFIRMED, 0,
	    (void (*)(const struct ledger_batch *, void *))(void *)count_cb,
	    &n), LEDGER_OK);
	ck_assert_int_eq(n, 1);

	/*
	 * A fill with a withdraw-only party stays out of every batch (the
	 * operator cannot move that user's funds) and stays unsettled; it
	 * is netted once the user is active again.
	 */
	fl.id = 3;
	fl.seq = 3;
	ck_assert_int_eq(ledger_fill_insert(f.l, &fl), LEDGER_OK);
	ck_assert_int_eq(ledger_user_set_status(f.l, f.u2,
	    LEDGER_USER_WITHDRAW_ONLY, "revoked"), LEDGER_OK);
	ck_assert_int_eq(ledger_batch_create(f.l, &bid2), LEDGER_OK);
	ck_assert_int_eq(bid2, 0);
	ck_assert_int_eq(ledger_unsettled(f.l, f.u1, lm.quote_token, &un),
	    LEDGER_OK);
	ck_assert(un.abs != 0);
	ck_assert_int_eq(ledger_user_set_status(f.l, f.u2, LEDGER_USER_ACTIVE,
	    ""), LEDGER_OK);
	ck_assert_int_eq(ledger_batch_create(f.l, &bid2), LEDGER_OK);
	ck_assert_int_gt(bid2, bid);
	ck_assert_int_eq(ledger_batch_get(f.l, bid2, &b), LEDGER_OK);
	ck_assert_int_eq(b.first_fill, 3);

	/*
	 * One batch is one staple: 65 fills of u1 with 65 other users make
	 * a batch of u1 and 59 others, then one of the remaining six.
	 */
	for (i = 0; i < 65; i++) {
		char	addr[32];
		int64_t	uk;

		snprintf(addr, sizeof addr, "keeta_x%d", i);
		ck_assert_int_eq(ledger_user_add(f.l, addr, "ed25519", &uk),
		    LEDGER_OK);
		fl.id = 10 + i;
		fl.seq = (uint64_t)(10 + i);
		fl.taker_user = f.u1;
		fl.maker_user = uk;
		ck_assert_int_eq(ledger_fill_insert(f.l, &fl), LEDGER_OK);
	}
	ck_assert_int_eq(ledger_batch_create(f.l, &bid), LEDGER_OK);
	ck_assert_int_eq(ledger_batch_get(f.l, bid, &b), LEDGER_OK);
	ck_assert_int_eq(b.first_fill, 10);
	ck_assert_int_eq(b.last_fill, 10 + LEDGER_BATCH_USERS_MAX - 2);
	ck_assert_int_eq(ledger_batch_create(f.l, &bid2), LEDGER_OK);
	ck_assert_int_eq(ledger_batch_get(f.l, bid2, &b), LEDGER_OK);
	ck_assert_int_eq(b.first_fill, 10 + LEDGER_BATCH_USERS_MAX - 1);
	ck_assert_int_eq(b.last_fill, 74);
	ck_assert_int_eq(ledger_batch_create(f.l, &bid2), LEDGER_OK);
	ck_assert_int_eq(bid2, 0);
	fx_teardown(&f);
}
END_TEST

START_TEST(test_recon_audit)
{
	struct fx			f;
	struct ledger_recon_run		r;
	enum ledger_recon_status	st;
	int64_t				run;
	int				n;

	fx_setup(&f);
	ck_assert_int_eq(ledger_recon_begin(f.l, &run), LEDGER_OK);
	ck_assert_int_eq(ledger_recon_add(f.l, run, f.u1, f.tok, 100, 100, 5,
	    &st), LEDGER_OK);
	ck_assert_int_eq(st, LEDGER_RECON_OK);
	ck_assert_int_eq(ledger_recon_add(f.l, run, f.u2, f.tok, 97, 100, 5,
	    &st), LEDGER_OK);
	ck_assert_int_eq(st, LEDGER_RECON_DRIFT);
	ck_assert_int_eq(ledger_recon_add(f.l, run, f.u2, f.tok, 200, 100, 5,
	    &st), LEDGER_OK);
	ck_assert_int_eq(st, LEDGER_RECON_CRITICAL);
	ck_assert_int_eq(ledger_recon_finish(f.l, run), LEDGER_OK);
	ck_assert_int_eq(ledger_recon_add(f.l, run, f.u2, f.tok, 1, 1, 5,
	    &st), LEDGER_BADSTATE);
	ck_assert_int_eq(ledger_recon_run_get(f.l, run, &r), LEDGER_OK);
	ck_assert_int_eq(r.n_ok, 1);
	ck_assert_int_eq(r.n_drift, 1);
	ck_assert_int_eq(r.n_critical, 1);
	ck_assert_int_eq(r.finished_at, fake_now);
	n = 0;
	ck_assert_int_eq(ledger_recon_results(f.l, run,
	    (void (*)(const struct ledger_recon *, void *))(void *)count_cb,
	    &n), LEDGER_OK);
	ck_assert_int_eq(n, 3);

	/* The audit log explains the balance line by line. */
	ck_assert_int_eq(ledger_deposit_credit(f.l, f.u1, f.tok, 50, "b", 0,
	    NULL), LEDGER_OK);
	{
		struct ledger_delta	d = { true, 5 };

		ck_assert_int_eq(ledger_correct(f.l, f.u1, f.tok, &d,
		    "recon drift"), LEDGER_OK);
	}
	bal(f.l, f.u1, f.tok, 45, 45);
	n = 0;
	ck_assert_int_eq(ledger_audit_list(f.l, f.u1, -1, 0, 0,
	    (void (*)(const struct ledger_audit *, void *))(void *)count_cb,
	    &n), LEDGER_OK);
	ck_assert_int_eq(n, 2);
	n = 0;
	ck_assert_int_eq(ledger_audit_list(f.l, 0, LEDGER_CAUSE_CORRECTION, 0,
	    0, (void (*)(const struct ledger_audit *, void *))(void *)count_cb,
	    &n), LEDGER_OK);
	ck_assert_int_eq(n, 1);
	n = 0;
	ck_assert_int_eq(ledger_audit_list(f.l, 0, -1, fake_now + 1, 0,
	    (void (*)(const struct ledger_audit *, void *))(void *)count_cb,
	    &n), LEDGER_OK);
	ck_assert_int_eq(n, 0);
	/* Corrections are part of the conservation sum. */
	assert_check(f.l, 0);
	fx_teardown(&f);
}
END_TEST

START_TEST(test_check_catches_tampering)
{
	struct fx	f;

	fx_setup(&f);
	ck_assert_int_eq(ledger_deposit_credit(f.l, f.u1, f.tok, 1000, "b", 0,
	    NULL), LEDGER_OK);
	ck_assert_int_eq(ledger_withdrawal_request(f.l, f.u1, f.tok, 100,
	    "keeta_x", "k", false, NULL), LEDGER_OK);
	assert_check(f.l, 0);
	/* Money from nowhere: totals exceed deposits. */
	ck_assert_int_eq(sqlite3_exec(ledger_db(f.l), "UPDATE balances SET "
	    "total = '1001', available = '901'", NULL, NULL, NULL), SQLITE_OK);
	fx_reopen(&f);
	assert_check(f.l, 1);
	/* A reservation nobody holds: available too low. */
	ck_assert_int_eq(sqlite3_exec(ledger_db(f.l), "UPDATE balances SET "
	    "total = '1000', available = '800'", NULL, NULL, NULL), SQLITE_OK);
	fx_reopen(&f);
	assert_check(f.l, 1);
	/* available > total. */
	ck_assert_int_eq(sqlite3_exec(ledger_db(f.l), "UPDATE balances SET "
	    "total = '1000', available = '1001'", NULL, NULL, NULL), SQLITE_OK);
	fx_reopen(&f);
	ck_assert_int_ge(ledger_check(f.l, NULL, NULL), 1);
	fx_teardown(&f);
}
END_TEST

/*
 * Smaller runs under valgrind (which preloads its vgpreload library) or
 * when KDEX_TEST_SMALL is set: same code paths, fewer iterations.
 */
static int
small_run(void)
{
	const char	*pre = getenv("LD_PRELOAD");

	return getenv("KDEX_TEST_SMALL") != NULL ||
	    (pre != NULL && strstr(pre, "vgpreload") != NULL);
}

static uint64_t
rnd(uint64_t *s)
{
	uint64_t	z;

	*s += 0x9e3779b97f4a7c15ULL;
	z = *s;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

START_TEST(test_random_conservation)
{
	struct fx	 f;
	int64_t		 users[3], toks[2], wds[64], id;
	size_t		 nwd = 0;
	uint64_t	 s = 99;
	char		 key[32], *before;
	int		 i, n, rc;

	n = small_run() ? 60 : 300;
	/* Durability is not under test here: spare the disk the syncs. */
	fx_setup_sync(&f, 0);
	users[0] = f.u1;
	users[1] = f.u2;
	ck_assert_int_eq(ledger_user_add(f.l, "keeta_u3", "", &users[2]),
	    LEDGER_OK);
	toks[0] = f.tok;
	ck_assert_int_eq(ledger_token_add(f.l, "keeta_t2", "T2", 0, &toks[1]),
	    LEDGER_OK);
	for (i = 0; i < n; i++) {
		int64_t	u = users[rnd(&s) % 3], t = toks[rnd(&s) % 2];
		u128	a = (u128)(rnd(&s) % 5000);
		int	op = (int)(rnd(&s) % 7);

		snprintf(key, sizeof key, "k%d", i);
		before = dump(f.l);
		switch (op) {
		case 0:
		case 1:
			rc = ledger_deposit_credit(f.l, u, t, a, key,
			    (int)(rnd(&s) % 3), &id);
			break;
		case 2:
			rc = ledger_withdrawal_request(f.l, u, t, a, "keeta_d",
			    key, rnd(&s) % 4 == 0, &id);
			if (rc == LEDGER_OK && nwd < 64)
				wds[nwd++] = id;
			break;
		case 3:
			rc = nwd == 0 ? LEDGER_NOTFOUND :
			    ledger_withdrawal_complete(f.l,
			    wds[rnd(&s) % nwd], "blk");
			break;
		case 4:
			rc = nwd == 0 ? LEDGER_NOTFOUND :
			    ledger_withdrawal_fail(f.l, wds[rnd(&s) % nwd],
			    "no");
			break;
		case 5:
			rc = nwd == 0 ? LEDGER_NOTFOUND :
			    ledger_withdrawal_retry(f.l, wds[rnd(&s) % nwd]);
			break;
		default: {
			struct ledger_delta d = { rnd(&s) & 1, a };

			rc = ledger_correct(f.l, u, t, &d, "c");
			break;
		}
		}
		/* Refused means untouched. */
		if (rc != LEDGER_OK)
			assert_same(f.l, before);
		free(before);
		assert_check(f.l, 0);
	}
	fx_reopen(&f);
	assert_check(f.l, 0);
	fx_teardown(&f);
}
END_TEST

/* The sync thread's wake-ups, counted where the test can read them. */
static pthread_mutex_t	notify_mu = PTHREAD_MUTEX_INITIALIZER;
static int		notified;

static void
on_durable(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&notify_mu);
	notified++;
	pthread_mutex_unlock(&notify_mu);
}

static off_t
file_size(const char *path)
{
	struct stat	sb;

	return stat(path, &sb) == 0 ? sb.st_size : -1;
}

/*
 * Pipelined durability: tickets, the sync thread, its checkpoints, and
 * what a reopen finds.
 */
START_TEST(test_pipelined)
{
	struct fx	 f;
	uint64_t	 t1, t2, t, last = 0;
	int		 i, n;
	off_t		 before;

	fx_setup_opts(&f, 2, true);
	ledger_set_sync_notify(f.l, on_durable, NULL);

	/* A write gets a new ticket, durable once waited for. */
	ck_assert_int_eq(ledger_begin(f.l, NULL), 0);
	ck_assert_int_eq(ledger_deposit_credit(f.l, f.u1, f.tok, 10, "p1", 0,
	    NULL), LEDGER_OK);
	ck_assert_int_eq(ledger_commit_async(f.l, &t1, NULL), 0);
	ck_assert_uint_gt(t1, 0);
	ledger_sync_wait(f.l, t1);
	ck_assert_uint_ge(ledger_durable(f.l), t1);
	/* The notification follows the durable mark, not before it. */
	for (i = 0, n = 0; i < 500 && n == 0; i++) {
		pthread_mutex_lock(&notify_mu);
		n = notified;
		pthread_mutex_unlock(&notify_mu);
		if (n == 0)
			usleep(10000);
	}
	ck_assert_int_ge(n, 1);

	/* A transaction that wrote nothing waits for nothing new. */
	ck_assert_int_eq(ledger_begin(f.l, NULL), 0);
	bal(f.l, f.u1, f.tok, 10, 10);
	ck_assert_int_eq(ledger_commit_async(f.l, &t2, NULL), 0);
	ck_assert_uint_eq(t2, t1);

	/* Tickets grow by one per writing commit, in order. */
	for (i = 0; i < 200; i++) {
		ck_assert_int_eq(ledger_begin(f.l, NULL), 0);
		ck_assert_int_eq(ledger_counter_set(f.l, "n", i), LEDGER_OK);
		ck_assert_int_eq(ledger_commit_async(f.l, &t, NULL), 0);
		ck_assert_uint_eq(t, t1 + 1 + (uint64_t)i);
		ck_assert_uint_le(ledger_durable(f.l), t);
		last = t;
	}
	/* A plain commit (and an operation on its own) returns durable. */
	ck_assert_int_eq(ledger_counter_set(f.l, "m", 1), LEDGER_OK);
	ck_assert_uint_eq(ledger_durable(f.l), last + 1);

	/*
	 * The sync thread checkpoints once enough of the WAL waits: some
	 * 9,000 pages in one commit, then the database file grows by them
	 * without the writer checkpointing (it does only past 32,768).
	 */
	before = file_size(f.path);
	ck_assert_int_eq(ledger_begin(f.l, NULL), 0);
	ck_assert_int_eq(sqlite3_exec(ledger_db(f.l), "CREATE TABLE pad(x);"
	    "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c"
	    " WHERE i < 9000) INSERT INTO pad SELECT randomblob(3500) FROM c;",
	    NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(ledger_commit(f.l, NULL), 0);
	for (i = 0; i < 600 && file_size(f.path) < before + 30000000; i++)
		usleep(50000);
	ck_assert_msg(file_size(f.path) >= before + 30000000, "no checkpoint:"
	    " %lld bytes", (long long)file_size(f.path));

	/* Everything is there after a reopen, pipelined or not. */
	fx_reopen(&f);
	bal(f.l, f.u1, f.tok, 10, 10);
	{
		int64_t	v;

		ck_assert_int_eq(ledger_counter_get(f.l, "n", &v), 0);
		ck_assert_int_eq(v, 199);
	}
	f.pipelined = false;
	fx_reopen(&f);
	bal(f.l, f.u1, f.tok, 10, 10);
	fx_teardown(&f);
}
END_TEST

static Suite *
ledger_suite(void)
{
	Suite	*s = suite_create("ledger");
	TCase	*tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_schema_fresh);
	tcase_add_test(tc, test_migration_from_v1);
	tcase_add_test(tc, test_amounts_exact);
	tcase_add_test(tc, test_deposit_idempotent);
	tcase_add_test(tc, test_moves);
	tcase_add_test(tc, test_transactions);
	tcase_add_test(tc, test_pipelined);
	tcase_add_test(tc, test_withdrawals);
	tcase_add_test(tc, test_markets_users);
	tcase_add_test(tc, test_orders_fills_settlement);
	tcase_add_test(tc, test_recon_audit);
	tcase_add_test(tc, test_check_catches_tampering);
	tcase_add_test(tc, test_random_conservation);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(ledger_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
