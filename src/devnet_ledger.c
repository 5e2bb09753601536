/*
 * devnet_ledger: SQLite state and the section 4 ledger rules. See
 * devnet_ledger.h for the model.
 *
 * Accounts are stored as their pkt bytes (type || key), hashes as 32-byte
 * blobs and amounts as minimal big-endian magnitudes, so no value ever
 * goes through a C integer that could overflow. An SQLite failure other
 * than a constraint is fatal: a node that cannot read or write its own
 * state must not keep answering from a half-written one.
 */
#include "config.h"

#include <sys/types.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "devnet_ledger.h"
#include "keeta_hash.h"
#include "keeta_perm.h"
#include "util.h"

#define STMT_CACHE	64

struct stmt_slot {
	const char	*sql;
	sqlite3_stmt	*stmt;
};

struct devnet_ledger {
	sqlite3			*db;
	struct stmt_slot	 cache[STMT_CACHE];
	size_t			 ncache;
	int			 depth;
	int			 file;
	uint64_t		 serial_next;	/* last serial issued */
	uint64_t		 serial_limit;	/* reserved on disk */
	uint64_t		 network;
	struct keeta_pubkey	 netaddr;
	struct keeta_pubkey	 basetoken;
	struct keeta_pubkey	 rep;
	int			 has_trusted;
	struct keeta_pubkey	 trusted;
};

static const char *schema =
    "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS blocks(hash BLOB PRIMARY KEY,"
    " account BLOB NOT NULL, previous BLOB NOT NULL, height INTEGER NOT NULL,"
    " der BLOB NOT NULL, staple INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS blocks_prev ON blocks(previous);"
    "CREATE TABLE IF NOT EXISTS heads(account BLOB PRIMARY KEY,"
    " hash BLOB NOT NULL, height INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS balances(account BLOB, token BLOB,"
    " amount BLOB NOT NULL, PRIMARY KEY(account, token));"
    "CREATE TABLE IF NOT EXISTS info(account BLOB PRIMARY KEY,"
    " name TEXT NOT NULL DEFAULT '', description TEXT NOT NULL DEFAULT '',"
    " metadata TEXT NOT NULL DEFAULT '', has_default INTEGER NOT NULL"
    " DEFAULT 0, dbase INTEGER NOT NULL DEFAULT 0, dext INTEGER NOT NULL"
    " DEFAULT 0, supply BLOB, rep BLOB);"
    "CREATE TABLE IF NOT EXISTS acl(principal BLOB, entity BLOB,"
    " target BLOB, base INTEGER NOT NULL, ext INTEGER NOT NULL,"
    " PRIMARY KEY(principal, entity, target));"
    "CREATE INDEX IF NOT EXISTS acl_entity ON acl(entity);"
    "CREATE TABLE IF NOT EXISTS staples(seq INTEGER PRIMARY KEY,"
    " id BLOB UNIQUE NOT NULL, ts INTEGER NOT NULL, bin BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS history(account BLOB, seq INTEGER,"
    " PRIMARY KEY(account, seq)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS idem(key BLOB PRIMARY KEY,"
    " hash BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS side(hash BLOB PRIMARY KEY,"
    " account BLOB NOT NULL, previous BLOB NOT NULL, der BLOB NOT NULL,"
    " idem BLOB, vote BLOB NOT NULL, expires INTEGER NOT NULL,"
    " permanent INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS side_prev ON side(previous);"
    "CREATE INDEX IF NOT EXISTS side_idem ON side(idem);";

void
devnet_err_set(struct devnet_err *err, int status, const char *type,
    const char *code, const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL)
		return;
	err->status = status;
	snprintf(err->type, sizeof err->type, "%s", type);
	snprintf(err->code, sizeof err->code, "%s", code);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
}

void
devnet_err_clear(struct devnet_err *err)
{
	if (err == NULL)
		return;
	cJSON_Delete(err->extra);
	memset(err, 0, sizeof *err);
}

/* ------------------------------ SQL ------------------------------ */

static sqlite3_stmt *
prep(struct devnet_ledger *l, const char *sql)
{
	sqlite3_stmt	*st;
	size_t		 i;

	/* Statements are string literals: cache them by address. */
	for (i = 0; i < l->ncache; i++) {
		if (l->cache[i].sql == sql)
			return (l->cache[i].stmt);
	}
	if (sqlite3_prepare_v3(l->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
	    NULL) != SQLITE_OK)
		fatalx("devnet: prepare %s: %s", sql, sqlite3_errmsg(l->db));
	if (l->ncache < STMT_CACHE) {
		l->cache[l->ncache].sql = sql;
		l->cache[l->ncache].stmt = st;
		l->ncache++;
	} else
		fatalx("devnet: statement cache full");
	return (st);
}

static void
done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Step: 1 for a row, 0 when done; dies on any other result. */
static int
step(struct devnet_ledger *l, sqlite3_stmt *st)
{
	int	rc;

	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return (1);
	if (rc == SQLITE_DONE)
		return (0);
	fatalx("devnet: sqlite: %s", sqlite3_errmsg(l->db));
}

static void
exec(struct devnet_ledger *l, const char *sql)
{
	char	*msg = NULL;

	if (sqlite3_exec(l->db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fatalx("devnet: %s: %s", sql, msg != NULL ? msg : "?");
}

static void
bind_pk(sqlite3_stmt *st, int i, const struct keeta_pubkey *pk)
{
	uint8_t	pkt[KEETA_PKT_MAX];
	size_t	n;

	n = keeta_pubkey_to_pkt(pk, pkt);
	sqlite3_bind_blob(st, i, pkt, (int)n, SQLITE_TRANSIENT);
}

static void
bind_hash(sqlite3_stmt *st, int i, const uint8_t h[KEETA_HASH_LEN])
{
	sqlite3_bind_blob(st, i, h, KEETA_HASH_LEN, SQLITE_TRANSIENT);
}

static void
bind_amount(sqlite3_stmt *st, int i, const struct keeta_amount *a)
{
	/* A zero-length blob reads back as NULL; store zero as one 0x00. */
	static const uint8_t	zero = 0;

	if (a->len == 0)
		sqlite3_bind_blob(st, i, &zero, 1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_blob(st, i, a->b, a->len, SQLITE_TRANSIENT);
}

static int
col_pk(sqlite3_stmt *st, int i, struct keeta_pubkey *pk)
{
	const uint8_t	*p = sqlite3_column_blob(st, i);
	int		 n = sqlite3_column_bytes(st, i);

	if (p == NULL || n <= 0)
		return (-1);
	return (keeta_pubkey_from_pkt(pk, p, (size_t)n, NULL));
}

static void
col_amount(sqlite3_stmt *st, int i, struct keeta_amount *a)
{
	const uint8_t	*p = sqlite3_column_blob(st, i);
	int		 n = sqlite3_column_bytes(st, i);

	keeta_amount_zero(a);
	if (p != NULL && n > 0 && keeta_amount_set(a, p, (size_t)n) != 0)
		fatalx("devnet: stored amount too large");
}

static void
col_hash(sqlite3_stmt *st, int i, uint8_t h[KEETA_HASH_LEN])
{
	const uint8_t	*p = sqlite3_column_blob(st, i);

	if (p == NULL || sqlite3_column_bytes(st, i) != KEETA_HASH_LEN)
		fatalx("devnet: stored hash has a bad length");
	memcpy(h, p, KEETA_HASH_LEN);
}

static uint8_t *
col_dup(sqlite3_stmt *st, int i, size_t *len)
{
	const uint8_t	*p = sqlite3_column_blob(st, i);
	int		 n = sqlite3_column_bytes(st, i);
	uint8_t		*out;

	out = xmalloc(n > 0 ? (size_t)n : 1);
	if (n > 0)
		memcpy(out, p, (size_t)n);
	*len = n > 0 ? (size_t)n : 0;
	return (out);
}

/* --------------------------- open/close --------------------------- */

struct devnet_ledger *
devnet_ledger_open(const char *path, char **cause)
{
	struct devnet_ledger	*l;
	int			 rc;

	l = xcalloc(1, sizeof *l);
	rc = sqlite3_open_v2(path != NULL ? path : ":memory:", &l->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	    NULL);
	if (rc != SQLITE_OK) {
		xasprintf(cause, "cannot open %s: %s", path != NULL ? path :
		    "memory database", l->db != NULL ? sqlite3_errmsg(l->db) :
		    "out of memory");
		sqlite3_close(l->db);
		free(l);
		return (NULL);
	}
	sqlite3_busy_timeout(l->db, 5000);
	if (path != NULL) {
		l->file = 1;
		/* Durable before the publish answer goes out (kill -9). */
		if (sqlite3_exec(l->db, "PRAGMA journal_mode=WAL;"
		    "PRAGMA synchronous=FULL;", NULL, NULL, NULL) != SQLITE_OK) {
			xasprintf(cause, "cannot set up %s: %s", path,
			    sqlite3_errmsg(l->db));
			sqlite3_close(l->db);
			free(l);
			return (NULL);
		}
	}
	if (sqlite3_exec(l->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
		xasprintf(cause, "cannot create the schema in %s: %s",
		    path != NULL ? path : "memory", sqlite3_errmsg(l->db));
		sqlite3_close(l->db);
		free(l);
		return (NULL);
	}
	return (l);
}

void
devnet_ledger_close(struct devnet_ledger *l)
{
	size_t	i;

	if (l == NULL)
		return;
	for (i = 0; i < l->ncache; i++)
		sqlite3_finalize(l->cache[i].stmt);
	sqlite3_close(l->db);
	free(l);
}

void
devnet_ledger_setup(struct devnet_ledger *l, uint64_t network,
    const struct keeta_pubkey *rep, const struct keeta_pubkey *trusted)
{
	l->network = network;
	keeta_network_account(network, &l->netaddr);
	keeta_base_token(network, &l->basetoken);
	l->rep = *rep;
	l->has_trusted = trusted != NULL;
	if (trusted != NULL)
		l->trusted = *trusted;
}

const struct keeta_pubkey *
devnet_ledger_network_address(const struct devnet_ledger *l)
{
	return (&l->netaddr);
}

const struct keeta_pubkey *
devnet_ledger_base_token(const struct devnet_ledger *l)
{
	return (&l->basetoken);
}

int
devnet_ledger_begin(struct devnet_ledger *l)
{
	exec(l, "SAVEPOINT sp");
	l->depth++;
	return (0);
}

int
devnet_ledger_commit(struct devnet_ledger *l)
{
	exec(l, "RELEASE sp");
	l->depth--;
	return (0);
}

void
devnet_ledger_rollback(struct devnet_ledger *l)
{
	exec(l, "ROLLBACK TO sp; RELEASE sp");
	l->depth--;
}

char *
devnet_ledger_meta_get(struct devnet_ledger *l, const char *key)
{
	sqlite3_stmt	*st = prep(l, "SELECT v FROM meta WHERE k = ?1");
	char		*v = NULL;

	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	if (step(l, st))
		v = xstrdup((const char *)sqlite3_column_text(st, 0));
	done(st);
	return (v);
}

int
devnet_ledger_meta_set(struct devnet_ledger *l, const char *key,
    const char *value)
{
	sqlite3_stmt	*st = prep(l,
	    "INSERT OR REPLACE INTO meta(k, v) VALUES (?1, ?2)");

	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_TRANSIENT);
	step(l, st);
	done(st);
	return (0);
}

/*
 * Vote serials are handed out from a block reserved on disk with a full
 * sync first (meta "serial" is the reserved upper bound), so a serial is
 * never issued twice even if later vote commits are lost to a power cut.
 */
#define SERIAL_BLOCK	1024

int
devnet_ledger_serial_prepare(struct devnet_ledger *l)
{
	char		*v, buf[32];
	uint64_t	 limit = 0;

	if (l->serial_next < l->serial_limit)
		return (0);
	v = devnet_ledger_meta_get(l, "serial");
	if (v != NULL)
		limit = strtoull(v, NULL, 10);
	free(v);
	if (l->serial_next < limit)
		l->serial_next = limit;
	limit = l->serial_next + SERIAL_BLOCK;
	snprintf(buf, sizeof buf, "%llu", (unsigned long long)limit);
	devnet_ledger_meta_set(l, "serial", buf);
	l->serial_limit = limit;
	return (0);
}

uint64_t
devnet_ledger_next_serial(struct devnet_ledger *l)
{
	if (l->serial_next >= l->serial_limit)
		fatalx("devnet: vote serial used without a reservation");
	return (++l->serial_next);
}

void
devnet_ledger_relaxed(struct devnet_ledger *l, int relaxed)
{
	if (l->file)
		exec(l, relaxed ? "PRAGMA synchronous=NORMAL" :
		    "PRAGMA synchronous=FULL");
}

int
devnet_ledger_empty(struct devnet_ledger *l)
{
	sqlite3_stmt	*st = prep(l, "SELECT 1 FROM heads LIMIT 1");
	int		 empty;

	empty = !step(l, st);
	done(st);
	return (empty);
}

/* ----------------------------- queries ----------------------------- */

int
devnet_ledger_head(struct devnet_ledger *l, const struct keeta_pubkey *a,
    uint8_t hash[KEETA_HASH_LEN], uint64_t *height)
{
	sqlite3_stmt	*st = prep(l,
	    "SELECT hash, height FROM heads WHERE account = ?1");
	int		 found;

	bind_pk(st, 1, a);
	found = step(l, st);
	if (found) {
		if (hash != NULL)
			col_hash(st, 0, hash);
		if (height != NULL)
			*height = (uint64_t)sqlite3_column_int64(st, 1);
	}
	done(st);
	return (found);
}

void
devnet_ledger_balance(struct devnet_ledger *l, const struct keeta_pubkey *a,
    const struct keeta_pubkey *token, struct keeta_amount *out)
{
	sqlite3_stmt	*st = prep(l, "SELECT amount FROM balances"
	    " WHERE account = ?1 AND token = ?2");

	bind_pk(st, 1, a);
	bind_pk(st, 2, token);
	keeta_amount_zero(out);
	if (step(l, st))
		col_amount(st, 0, out);
	done(st);
}

static void
balance_put(struct devnet_ledger *l, const struct keeta_pubkey *a,
    const struct keeta_pubkey *token, const struct keeta_amount *v)
{
	sqlite3_stmt	*st;

	if (v->len == 0) {
		st = prep(l, "DELETE FROM balances WHERE account = ?1"
		    " AND token = ?2");
		bind_pk(st, 1, a);
		bind_pk(st, 2, token);
	} else {
		st = prep(l, "INSERT OR REPLACE INTO balances(account, token,"
		    " amount) VALUES (?1, ?2, ?3)");
		bind_pk(st, 1, a);
		bind_pk(st, 2, token);
		bind_amount(st, 3, v);
	}
	step(l, st);
	done(st);
}

cJSON *
devnet_ledger_balances_json(struct devnet_ledger *l,
    const struct keeta_pubkey *a)
{
	sqlite3_stmt		*st = prep(l, "SELECT token, amount FROM balances"
	    " WHERE account = ?1 ORDER BY rowid");
	cJSON			*arr, *o;
	struct keeta_pubkey	 tok;
	struct keeta_amount	 v;

	arr = cJSON_CreateArray();
	bind_pk(st, 1, a);
	while (step(l, st)) {
		if (col_pk(st, 0, &tok) != 0)
			continue;
		col_amount(st, 1, &v);
		if (v.len == 0)
			continue;
		o = cJSON_CreateObject();
		cJSON_AddItemToObject(o, "token",
		    keeta_block_json_address(&tok));
		cJSON_AddItemToObject(o, "balance",
		    keeta_block_json_amount(&v));
		cJSON_AddItemToArray(arr, o);
	}
	done(st);
	return (arr);
}

/* Row of the info table; 1 when present. */
struct info_row {
	char			*name, *description, *metadata;
	int			 has_default;
	struct keeta_perm	 dperm;
	struct keeta_amount	 supply;
	int			 has_rep;
	struct keeta_pubkey	 rep;
};

static int
info_get(struct devnet_ledger *l, const struct keeta_pubkey *a,
    struct info_row *r)
{
	sqlite3_stmt	*st = prep(l, "SELECT name, description, metadata,"
	    " has_default, dbase, dext, supply, rep FROM info WHERE account = ?1");
	int		 found;

	memset(r, 0, sizeof *r);
	bind_pk(st, 1, a);
	found = step(l, st);
	if (found) {
		r->name = xstrdup((const char *)sqlite3_column_text(st, 0));
		r->description = xstrdup((const char *)sqlite3_column_text(st,
		    1));
		r->metadata = xstrdup((const char *)sqlite3_column_text(st, 2));
		r->has_default = sqlite3_column_int(st, 3);
		r->dperm.base = (uint32_t)sqlite3_column_int64(st, 4);
		r->dperm.external = (uint32_t)sqlite3_column_int64(st, 5);
		col_amount(st, 6, &r->supply);
		r->has_rep = col_pk(st, 7, &r->rep) == 0;
	} else {
		r->name = xstrdup("");
		r->description = xstrdup("");
		r->metadata = xstrdup("");
	}
	done(st);
	return (found);
}

static void
info_put(struct devnet_ledger *l, const struct keeta_pubkey *a,
    const struct info_row *r)
{
	sqlite3_stmt	*st = prep(l, "INSERT OR REPLACE INTO info(account,"
	    " name, description, metadata, has_default, dbase, dext, supply, rep)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");

	bind_pk(st, 1, a);
	sqlite3_bind_text(st, 2, r->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, r->description, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, r->metadata, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 5, r->has_default);
	sqlite3_bind_int64(st, 6, r->dperm.base);
	sqlite3_bind_int64(st, 7, r->dperm.external);
	bind_amount(st, 8, &r->supply);
	if (r->has_rep)
		bind_pk(st, 9, &r->rep);
	else
		sqlite3_bind_null(st, 9);
	step(l, st);
	done(st);
}

static void
info_release(struct info_row *r)
{
	free(r->name);
	free(r->description);
	free(r->metadata);
}

cJSON *
devnet_ledger_info_json(struct devnet_ledger *l, const struct keeta_pubkey *a)
{
	struct info_row	 r;
	cJSON		*o;

	info_get(l, a, &r);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", r.name);
	cJSON_AddStringToObject(o, "description", r.description);
	cJSON_AddStringToObject(o, "metadata", r.metadata);
	if (a->type == KEETA_KEY_TOKEN)
		cJSON_AddItemToObject(o, "supply",
		    keeta_block_json_amount(&r.supply));
	if (keeta_key_type_is_identifier(a->type))
		cJSON_AddItemToObject(o, "defaultPermission",
		    keeta_perm_to_json(&r.dperm));
	info_release(&r);
	return (o);
}

int
devnet_ledger_rep(struct devnet_ledger *l, const struct keeta_pubkey *a,
    struct keeta_pubkey *rep)
{
	struct info_row	r;
	int		found;

	info_get(l, a, &r);
	found = r.has_rep;
	if (found)
		*rep = r.rep;
	info_release(&r);
	return (found);
}

void
devnet_ledger_weight(struct devnet_ledger *l, const struct keeta_pubkey *rep,
    struct keeta_amount *out)
{
	sqlite3_stmt		*st = prep(l, "SELECT b.amount FROM info i"
	    " JOIN balances b ON b.account = i.account AND b.token = ?2"
	    " WHERE i.rep = ?1");
	struct keeta_amount	 v;

	keeta_amount_zero(out);
	bind_pk(st, 1, rep);
	bind_pk(st, 2, &l->basetoken);
	while (step(l, st)) {
		col_amount(st, 0, &v);
		if (keeta_amount_add(out, out, &v) != 0)
			fatalx("devnet: weight overflow");
	}
	done(st);
}

static int
acl_get(struct devnet_ledger *l, const struct keeta_pubkey *p,
    const struct keeta_pubkey *e, const struct keeta_pubkey *t,
    struct keeta_perm *out)
{
	sqlite3_stmt	*st = prep(l, "SELECT base, ext FROM acl WHERE"
	    " principal = ?1 AND entity = ?2 AND target = ?3");
	int		 found;

	bind_pk(st, 1, p);
	bind_pk(st, 2, e);
	bind_pk(st, 3, t);
	found = step(l, st);
	if (found) {
		out->base = (uint32_t)sqlite3_column_int64(st, 0);
		out->external = (uint32_t)sqlite3_column_int64(st, 1);
	}
	done(st);
	return (found);
}

static void
acl_put(struct devnet_ledger *l, const struct keeta_pubkey *p,
    const struct keeta_pubkey *e, const struct keeta_pubkey *t,
    const struct keeta_perm *perm)
{
	sqlite3_stmt	*st;

	if (perm == NULL) {
		st = prep(l, "DELETE FROM acl WHERE principal = ?1 AND"
		    " entity = ?2 AND target = ?3");
	} else {
		st = prep(l, "INSERT OR REPLACE INTO acl(principal, entity,"
		    " target, base, ext) VALUES (?1, ?2, ?3, ?4, ?5)");
		sqlite3_bind_int64(st, 4, perm->base);
		sqlite3_bind_int64(st, 5, perm->external);
	}
	bind_pk(st, 1, p);
	bind_pk(st, 2, e);
	bind_pk(st, 3, t);
	step(l, st);
	done(st);
}

static cJSON *
acl_rows_json(struct devnet_ledger *l, sqlite3_stmt *st, cJSON *arr)
{
	struct keeta_pubkey	p, e, t;
	struct keeta_perm	perm;
	cJSON			*o;

	while (step(l, st)) {
		if (col_pk(st, 0, &p) != 0 || col_pk(st, 1, &e) != 0 ||
		    col_pk(st, 2, &t) != 0)
			continue;
		perm.base = (uint32_t)sqlite3_column_int64(st, 3);
		perm.external = (uint32_t)sqlite3_column_int64(st, 4);
		o = cJSON_CreateObject();
		cJSON_AddItemToObject(o, "principal",
		    keeta_block_json_address(&p));
		cJSON_AddItemToObject(o, "entity",
		    keeta_block_json_address(&e));
		cJSON_AddItemToObject(o, "target",
		    keeta_block_json_address(&t));
		cJSON_AddItemToObject(o, "permissions",
		    keeta_perm_to_json(&perm));
		cJSON_AddItemToArray(arr, o);
	}
	done(st);
	return (arr);
}

cJSON *
devnet_ledger_acl_by_entity(struct devnet_ledger *l,
    const struct keeta_pubkey *e)
{
	sqlite3_stmt	*st = prep(l, "SELECT principal, entity, target, base,"
	    " ext FROM acl WHERE entity = ?1 ORDER BY rowid");

	bind_pk(st, 1, e);
	return (acl_rows_json(l, st, cJSON_CreateArray()));
}

cJSON *
devnet_ledger_acl_by_principal(struct devnet_ledger *l,
    const struct keeta_pubkey *p, const struct keeta_pubkey *ents, size_t n)
{
	sqlite3_stmt	*st;
	cJSON		*arr = cJSON_CreateArray();
	size_t		 i;

	if (n == 0) {
		st = prep(l, "SELECT principal, entity, target, base, ext"
		    " FROM acl WHERE principal = ?1 ORDER BY rowid");
		bind_pk(st, 1, p);
		return (acl_rows_json(l, st, arr));
	}
	for (i = 0; i < n; i++) {
		st = prep(l, "SELECT principal, entity, target, base, ext"
		    " FROM acl WHERE principal = ?1 AND entity = ?2"
		    " ORDER BY rowid");
		bind_pk(st, 1, p);
		bind_pk(st, 2, &ents[i]);
		acl_rows_json(l, st, arr);
	}
	return (arr);
}

uint8_t *
devnet_ledger_block(struct devnet_ledger *l, const uint8_t h[KEETA_HASH_LEN],
    int side, size_t *len)
{
	sqlite3_stmt	*st;
	uint8_t		*out = NULL;

	if (side != 1) {
		st = prep(l, "SELECT der FROM blocks WHERE hash = ?1");
		bind_hash(st, 1, h);
		if (step(l, st))
			out = col_dup(st, 0, len);
		done(st);
		if (out != NULL || side == 0)
			return (out);
	}
	st = prep(l, "SELECT der FROM side WHERE hash = ?1");
	bind_hash(st, 1, h);
	if (step(l, st))
		out = col_dup(st, 0, len);
	done(st);
	return (out);
}

uint8_t *
devnet_ledger_successor(struct devnet_ledger *l,
    const uint8_t prev[KEETA_HASH_LEN], int side, size_t *len,
    uint8_t hash[KEETA_HASH_LEN])
{
	sqlite3_stmt	*st;
	uint8_t		*out = NULL;

	if (side == 1)
		st = prep(l, "SELECT der, hash FROM side WHERE previous = ?1"
		    " ORDER BY permanent DESC LIMIT 1");
	else
		st = prep(l, "SELECT der, hash FROM blocks WHERE previous = ?1");
	bind_hash(st, 1, prev);
	if (step(l, st)) {
		out = col_dup(st, 0, len);
		if (hash != NULL)
			col_hash(st, 1, hash);
	}
	done(st);
	return (out);
}

int
devnet_ledger_height(struct devnet_ledger *l, const uint8_t h[KEETA_HASH_LEN],
    uint64_t *height)
{
	sqlite3_stmt	*st = prep(l, "SELECT height FROM blocks WHERE hash = ?1");
	int		 found;

	bind_hash(st, 1, h);
	found = step(l, st);
	if (found)
		*height = (uint64_t)sqlite3_column_int64(st, 0);
	done(st);
	return (found);
}

uint8_t *
devnet_ledger_block_staple(struct devnet_ledger *l,
    const uint8_t h[KEETA_HASH_LEN], size_t *len)
{
	sqlite3_stmt	*st = prep(l, "SELECT s.bin FROM blocks b JOIN staples s"
	    " ON s.seq = b.staple WHERE b.hash = ?1");
	uint8_t		*out = NULL;

	bind_hash(st, 1, h);
	if (step(l, st))
		out = col_dup(st, 0, len);
	done(st);
	return (out);
}

void
devnet_idem_key(const struct keeta_block *b, uint8_t out[KEETA_HASH_LEN])
{
	uint8_t	pkt[KEETA_PKT_MAX];
	size_t	n;

	n = keeta_pubkey_to_pkt(&b->account, pkt);
	keeta_sha3_256_2(pkt, n, b->idempotent, b->idempotent_len, out);
}

int
devnet_ledger_idempotent(struct devnet_ledger *l,
    const struct keeta_pubkey *a, const uint8_t *key, size_t keylen,
    uint8_t hash[KEETA_HASH_LEN])
{
	uint8_t		 pkt[KEETA_PKT_MAX], k[KEETA_HASH_LEN];
	size_t		 n;
	sqlite3_stmt	*st = prep(l, "SELECT hash FROM idem WHERE key = ?1");
	int		 found;

	n = keeta_pubkey_to_pkt(a, pkt);
	keeta_sha3_256_2(pkt, n, key, keylen, k);
	bind_hash(st, 1, k);
	found = step(l, st);
	if (found)
		col_hash(st, 0, hash);
	done(st);
	return (found);
}

int
devnet_ledger_history(struct devnet_ledger *l, const struct keeta_pubkey *a,
    const uint8_t *start, unsigned int limit, devnet_history_fn fn, void *arg)
{
	sqlite3_stmt	*st;
	int64_t		 from = INT64_MAX;
	int		 count = 0;
	uint8_t		 id[KEETA_HASH_LEN];

	if (start != NULL) {
		st = prep(l, "SELECT seq FROM staples WHERE id = ?1");
		bind_hash(st, 1, start);
		if (step(l, st))
			from = sqlite3_column_int64(st, 0);
		done(st);
		/* An unknown start restarts from the top, as the SDK's
		 * storage does. */
	}
	if (a == NULL) {
		st = prep(l, "SELECT id, ts, bin FROM staples WHERE seq < ?1"
		    " ORDER BY seq DESC LIMIT ?2");
		sqlite3_bind_int64(st, 1, from);
		sqlite3_bind_int64(st, 2, limit);
	} else {
		st = prep(l, "SELECT s.id, s.ts, s.bin FROM history h JOIN"
		    " staples s ON s.seq = h.seq WHERE h.account = ?1 AND"
		    " h.seq < ?2 ORDER BY h.seq DESC LIMIT ?3");
		bind_pk(st, 1, a);
		sqlite3_bind_int64(st, 2, from);
		sqlite3_bind_int64(st, 3, limit);
	}
	while (step(l, st)) {
		col_hash(st, 0, id);
		if (fn(arg, id, sqlite3_column_int64(st, 1),
		    sqlite3_column_blob(st, 2),
		    (size_t)sqlite3_column_bytes(st, 2)) != 0) {
			done(st);
			return (-1);
		}
		count++;
	}
	done(st);
	return (count);
}

/* ----------------------------- side ledger ----------------------------- */

int
devnet_ledger_side_put(struct devnet_ledger *l, struct keeta_block *const *b,
    const uint8_t (*hashes)[KEETA_HASH_LEN], size_t n, const uint8_t *vote,
    size_t votelen, int64_t expires, int permanent)
{
	sqlite3_stmt	*st;
	uint8_t		*der, k[KEETA_HASH_LEN];
	size_t		 i, derlen;

	for (i = 0; i < n; i++) {
		der = keeta_block_encode(b[i], 1, &derlen, NULL);
		if (der == NULL)
			return (-1);
		st = prep(l, "INSERT OR REPLACE INTO side(hash, account,"
		    " previous, der, idem, vote, expires, permanent) VALUES"
		    " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
		bind_hash(st, 1, hashes[i]);
		bind_pk(st, 2, &b[i]->account);
		bind_hash(st, 3, b[i]->previous);
		sqlite3_bind_blob(st, 4, der, (int)derlen, SQLITE_TRANSIENT);
		if (b[i]->has_idempotent) {
			devnet_idem_key(b[i], k);
			bind_hash(st, 5, k);
		} else
			sqlite3_bind_null(st, 5);
		sqlite3_bind_blob(st, 6, vote, (int)votelen, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 7, expires);
		sqlite3_bind_int(st, 8, permanent);
		step(l, st);
		done(st);
		free(der);
	}
	return (0);
}

int
devnet_ledger_side_live(struct devnet_ledger *l,
    const uint8_t prev[KEETA_HASH_LEN], int64_t now,
    uint8_t hash[KEETA_HASH_LEN], uint8_t **vote, size_t *votelen)
{
	sqlite3_stmt	*st = prep(l, "SELECT hash, vote FROM side WHERE"
	    " previous = ?1 AND expires >= ?2 ORDER BY permanent DESC LIMIT 1");
	int		 found;

	bind_hash(st, 1, prev);
	sqlite3_bind_int64(st, 2, now);
	found = step(l, st);
	if (found) {
		col_hash(st, 0, hash);
		if (vote != NULL)
			*vote = col_dup(st, 1, votelen);
	}
	done(st);
	return (found);
}

uint8_t *
devnet_ledger_pending(struct devnet_ledger *l, const struct keeta_pubkey *a,
    int64_t now, size_t *len)
{
	uint8_t		 head[KEETA_HASH_LEN];
	sqlite3_stmt	*st;
	uint8_t		*out = NULL;

	if (!devnet_ledger_head(l, a, head, NULL))
		keeta_opening_hash(a, head);
	st = prep(l, "SELECT der FROM side WHERE previous = ?1 AND"
	    " expires >= ?2 ORDER BY permanent DESC LIMIT 1");
	bind_hash(st, 1, head);
	sqlite3_bind_int64(st, 2, now);
	if (step(l, st))
		out = col_dup(st, 0, len);
	done(st);
	return (out);
}

int
devnet_ledger_side_votes(struct devnet_ledger *l,
    const uint8_t h[KEETA_HASH_LEN], int64_t now,
    int (*fn)(void *, const uint8_t *, size_t), void *arg)
{
	sqlite3_stmt	*st = prep(l, "SELECT vote FROM side WHERE hash = ?1"
	    " AND expires >= ?2");
	int		 count = 0;

	bind_hash(st, 1, h);
	sqlite3_bind_int64(st, 2, now);
	while (step(l, st)) {
		fn(arg, sqlite3_column_blob(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0));
		count++;
	}
	done(st);
	return (count);
}

int
devnet_ledger_idem_used(struct devnet_ledger *l,
    const uint8_t key[KEETA_HASH_LEN], int64_t now,
    uint8_t hash[KEETA_HASH_LEN])
{
	sqlite3_stmt	*st;
	int		 found;

	st = prep(l, "SELECT hash FROM idem WHERE key = ?1");
	bind_hash(st, 1, key);
	found = step(l, st);
	if (found)
		col_hash(st, 0, hash);
	done(st);
	if (found)
		return (1);
	st = prep(l, "SELECT hash FROM side WHERE idem = ?1 AND expires >= ?2");
	bind_hash(st, 1, key);
	sqlite3_bind_int64(st, 2, now);
	found = step(l, st);
	if (found)
		col_hash(st, 0, hash);
	done(st);
	return (found);
}

/* ------------------------------ rules ------------------------------ */

/* State of one apply() call. */
struct apply_ctx {
	struct devnet_ledger	*l;
	int			 enforce;
	struct devnet_err	*err;
	/* SEND credits so far: RECEIVE checks against them. */
	struct credit {
		struct keeta_pubkey	to, token, from;
		struct keeta_amount	amount;
	}			*credits;
	size_t			 ncredits;
	/* Identifiers whose ACL changed: exactly one OWNER at the end. */
	struct keeta_pubkey	*owners;
	size_t			 nowners;
};

static void
addr(const struct keeta_pubkey *pk, char out[KEETA_ADDRESS_MAX])
{
	keeta_address_encode(pk, out);
}

static int
perm_satisfies(const struct keeta_perm *have, const struct keeta_perm *need)
{
	if (!(have->base & KEETA_PERM_BIT(KEETA_PERM_ACCESS)))
		return (0);
	if (have->base & KEETA_PERM_BIT(KEETA_PERM_OWNER))
		return (1);
	if (have->base & KEETA_PERM_BIT(KEETA_PERM_ADMIN))
		return (!(need->base & KEETA_PERM_BIT(KEETA_PERM_OWNER)));
	return (keeta_perm_contains(have, need));
}

/*
 * The permission that applies to principal p on entity e for target t
 * (NULL = none): the (p,e,t) row, else the entity-wide (p,e,e) row, else
 * e's default when e is an identifier and every needed flag may be a
 * default, else nothing. Rows never merge (section 4.1).
 */
static void
perm_lookup(struct devnet_ledger *l, const struct keeta_pubkey *p,
    const struct keeta_pubkey *e, const struct keeta_pubkey *t,
    const struct keeta_perm *need, struct keeta_perm *out)
{
	struct info_row	r;
	int		f, defaultable = 1;

	keeta_perm_init(out);
	if (t != NULL && !keeta_pubkey_equal(t, e) && acl_get(l, p, e, t, out))
		return;
	if (acl_get(l, p, e, e, out))
		return;
	if (!keeta_key_type_is_identifier(e->type) || need->external != 0)
		return;
	for (f = 0; f < KEETA_PERM_NFLAGS; f++) {
		if ((need->base & KEETA_PERM_BIT(f)) &&
		    f != KEETA_PERM_ACCESS && !keeta_perm_flag_defaultable(f))
			defaultable = 0;
	}
	if (!defaultable)
		return;
	if (info_get(l, e, &r) && r.has_default)
		*out = r.dperm;
	info_release(&r);
}

/* Require flag of principal p on entity e (target t); an account acting
 * on itself needs nothing. */
static int
require(struct apply_ctx *c, const struct keeta_pubkey *p,
    const struct keeta_pubkey *e, const struct keeta_pubkey *t, int flag)
{
	struct keeta_perm	need, have;
	char			pa[KEETA_ADDRESS_MAX], ea[KEETA_ADDRESS_MAX];

	if (!c->enforce || keeta_pubkey_equal(p, e))
		return (0);
	keeta_perm_init(&need);
	if (keeta_perm_add_flag(&need, flag, NULL) != 0)
		fatalx("devnet: bad permission flag %d", flag);
	perm_lookup(c->l, p, e, t, &need, &have);
	if (perm_satisfies(&have, &need))
		return (0);
	addr(p, pa);
	addr(e, ea);
	devnet_err_set(c->err, 400, "LEDGER", "LEDGER_INVALID_PERMISSIONS",
	    "%s does not have required permissions %s on %s", pa,
	    keeta_perm_flag_name(flag), ea);
	return (-1);
}

static int
debit(struct apply_ctx *c, const struct keeta_pubkey *a,
    const struct keeta_pubkey *token, const struct keeta_amount *v)
{
	struct keeta_amount	bal;
	char			aa[KEETA_ADDRESS_MAX];

	devnet_ledger_balance(c->l, a, token, &bal);
	if (keeta_amount_sub(&bal, &bal, v) != 0) {
		addr(a, aa);
		devnet_err_set(c->err, 400, "LEDGER", "LEDGER_INVALID_BALANCE",
		    "balance of %s would become negative", aa);
		return (-1);
	}
	balance_put(c->l, a, token, &bal);
	return (0);
}

static int
credit(struct apply_ctx *c, const struct keeta_pubkey *a,
    const struct keeta_pubkey *token, const struct keeta_amount *v)
{
	struct keeta_amount	bal;

	devnet_ledger_balance(c->l, a, token, &bal);
	if (keeta_amount_add(&bal, &bal, v) != 0) {
		devnet_err_set(c->err, 400, "LEDGER", "LEDGER_INVALID_BALANCE",
		    "balance overflow");
		return (-1);
	}
	balance_put(c->l, a, token, &bal);
	return (0);
}

static void
note_credit(struct apply_ctx *c, const struct keeta_pubkey *to,
    const struct keeta_pubkey *token, const struct keeta_pubkey *from,
    const struct keeta_amount *v)
{
	struct credit	*cr;

	c->credits = xreallocarray(c->credits, c->ncredits + 1,
	    sizeof *c->credits);
	cr = &c->credits[c->ncredits++];
	cr->to = *to;
	cr->token = *token;
	cr->from = *from;
	cr->amount = *v;
}

static void
note_owner(struct apply_ctx *c, const struct keeta_pubkey *id)
{
	size_t	i;

	if (!keeta_key_type_is_identifier(id->type))
		return;
	for (i = 0; i < c->nowners; i++) {
		if (keeta_pubkey_equal(&c->owners[i], id))
			return;
	}
	c->owners = xreallocarray(c->owners, c->nowners + 1,
	    sizeof *c->owners);
	c->owners[c->nowners++] = *id;
}

static int
check_owners(struct apply_ctx *c)
{
	sqlite3_stmt	*st;
	size_t		 i;
	int		 n;
	char		 a[KEETA_ADDRESS_MAX];

	for (i = 0; i < c->nowners; i++) {
		st = prep(c->l, "SELECT count(*) FROM acl WHERE entity = ?1"
		    " AND (base & 2) != 0");
		bind_pk(st, 1, &c->owners[i]);
		step(c->l, st);
		n = sqlite3_column_int(st, 0);
		done(st);
		if (n != 1) {
			addr(&c->owners[i], a);
			devnet_err_set(c->err, 400, "LEDGER",
			    "LEDGER_INVALID_OWNER_COUNT",
			    "%s would have %d owners, exactly one is required",
			    a, n);
			return (-1);
		}
	}
	return (0);
}

static int
op_send(struct apply_ctx *c, const struct keeta_block *b,
    const struct keeta_pubkey *signer, const struct keeta_op_send *s)
{
	const struct keeta_pubkey	*a = &b->account;

	if (signer != NULL && require(c, signer, a, &s->token,
	    KEETA_PERM_SEND_ON_BEHALF) != 0)
		return (-1);
	if (!keeta_pubkey_equal(a, &s->token) &&
	    require(c, a, &s->token, NULL, KEETA_PERM_ACCESS) != 0)
		return (-1);
	if (s->to.type == KEETA_KEY_STORAGE) {
		if (require(c, &s->token, &s->to, NULL,
		    KEETA_PERM_STORAGE_CAN_HOLD) != 0 ||
		    require(c, a, &s->to, &s->token,
		    KEETA_PERM_STORAGE_DEPOSIT) != 0)
			return (-1);
	}
	if (debit(c, a, &s->token, &s->amount) != 0 ||
	    credit(c, &s->to, &s->token, &s->amount) != 0)
		return (-1);
	note_credit(c, &s->to, &s->token, a, &s->amount);
	return (0);
}

static int
op_set_info(struct apply_ctx *c, const struct keeta_block *b,
    const struct keeta_pubkey *signer, const struct keeta_op_set_info *s)
{
	struct info_row	r;

	if (signer != NULL && require(c, signer, &b->account, NULL,
	    KEETA_PERM_UPDATE_INFO) != 0)
		return (-1);
	info_get(c->l, &b->account, &r);
	free(r.name);
	free(r.description);
	free(r.metadata);
	r.name = xstrdup(s->name);
	r.description = xstrdup(s->description);
	r.metadata = xstrdup(s->metadata);
	if (s->has_default) {
		r.has_default = 1;
		r.dperm = s->default_perm;
	}
	info_put(c->l, &b->account, &r);
	info_release(&r);
	return (0);
}

static int
op_modify_perms(struct apply_ctx *c, const struct keeta_block *b,
    const struct keeta_pubkey *signer, const struct keeta_op_modify_perms *m)
{
	const struct keeta_pubkey	*a = &b->account, *t;
	struct keeta_perm		 cur, next, need, have;
	char				 sa[KEETA_ADDRESS_MAX];
	int				 f;

	t = m->has_target ? &m->target : a;
	if (signer != NULL && c->enforce) {
		keeta_perm_init(&need);
		if (!m->has_perms || keeta_perm_has(&m->perms,
		    KEETA_PERM_OWNER))
			keeta_perm_add_flag(&need, KEETA_PERM_OWNER, NULL);
		else
			keeta_perm_add_flag(&need, KEETA_PERM_ADMIN, NULL);
		perm_lookup(c->l, signer, a, NULL, &need, &have);
		if (!perm_satisfies(&have, &need)) {
			/*
			 * Without ADMIN, ADD/SUBTRACT is allowed to a signer
			 * that holds the flags itself and may delegate them.
			 */
			f = m->method == KEETA_ADJUST_ADD ?
			    KEETA_PERM_PERMISSION_DELEGATE_ADD :
			    KEETA_PERM_PERMISSION_DELEGATE_REMOVE;
			if (m->method == KEETA_ADJUST_SET || !m->has_perms ||
			    keeta_perm_has(&m->perms, KEETA_PERM_OWNER)) {
				addr(signer, sa);
				devnet_err_set(c->err, 400, "LEDGER",
				    "LEDGER_INVALID_PERMISSIONS",
				    "%s does not have required permissions %s",
				    sa, keeta_perm_has(&need, KEETA_PERM_OWNER) ?
				    "OWNER" : "ADMIN");
				return (-1);
			}
			if (require(c, signer, a, NULL, f) != 0)
				return (-1);
			perm_lookup(c->l, signer, a, t, &m->perms, &have);
			if (!perm_satisfies(&have, &m->perms)) {
				addr(signer, sa);
				devnet_err_set(c->err, 400, "LEDGER",
				    "LEDGER_INVALID_PERMISSIONS",
				    "%s cannot delegate permissions it lacks",
				    sa);
				return (-1);
			}
		}
	}
	if (!m->has_perms) {
		acl_put(c->l, &m->principal, a, t, NULL);
	} else if (m->method == KEETA_ADJUST_SET) {
		acl_put(c->l, &m->principal, a, t, &m->perms);
	} else {
		/* Merge from the exact row, else the entity-wide row. */
		keeta_perm_init(&cur);
		if (!acl_get(c->l, &m->principal, a, t, &cur))
			(void)acl_get(c->l, &m->principal, a, a, &cur);
		next = cur;
		if (m->method == KEETA_ADJUST_ADD)
			keeta_perm_combine(&next, &m->perms);
		else
			keeta_perm_remove(&next, &m->perms);
		acl_put(c->l, &m->principal, a, t, &next);
	}
	note_owner(c, a);
	return (0);
}

static int
op_create_id(struct apply_ctx *c, const struct keeta_block *b,
    const struct keeta_pubkey *signer, const struct keeta_op_create_id *o)
{
	const struct keeta_pubkey	*a = &b->account;
	struct keeta_perm		 owner;
	struct info_row			 r;
	char				 ia[KEETA_ADDRESS_MAX];
	int				 exists;

	if (signer != NULL && require(c, signer, a, NULL,
	    KEETA_PERM_ADMIN) != 0)
		return (-1);
	if (o->identifier.type == KEETA_KEY_TOKEN && require(c, a,
	    &c->l->netaddr, NULL, KEETA_PERM_TOKEN_ADMIN_CREATE) != 0)
		return (-1);
	if (o->identifier.type == KEETA_KEY_STORAGE && require(c, a,
	    &c->l->netaddr, NULL, KEETA_PERM_STORAGE_CREATE) != 0)
		return (-1);
	exists = devnet_ledger_head(c->l, &o->identifier, NULL, NULL);
	if (!exists) {
		exists = info_get(c->l, &o->identifier, &r);
		info_release(&r);
	}
	if (c->enforce && exists) {
		addr(&o->identifier, ia);
		devnet_err_set(c->err, 400, "LEDGER", "LEDGER_NOT_EMPTY",
		    "identifier %s already exists", ia);
		return (-1);
	}
	keeta_perm_init(&owner);
	keeta_perm_add_flag(&owner, KEETA_PERM_OWNER, NULL);
	acl_put(c->l, a, &o->identifier, &o->identifier, &owner);
	if (!info_get(c->l, &o->identifier, &r))
		info_put(c->l, &o->identifier, &r);
	info_release(&r);
	note_owner(c, &o->identifier);
	return (0);
}

static int
op_supply(struct apply_ctx *c, const struct keeta_block *b,
    const struct keeta_pubkey *signer, const struct keeta_op_supply *s)
{
	const struct keeta_pubkey	*t = &b->account;
	struct info_row			 r;
	int				 rc;

	if (signer != NULL && require(c, signer, t, NULL,
	    KEETA_PERM_TOKEN_ADMIN_SUPPLY) != 0)
		return (-1);
	if (s->method == KEETA_ADJUST_ADD) {
		if (credit(c, t, t, &s->amount) != 0)
			return (-1);
	} else if (debit(c, t, t, &s->amount) != 0)
		return (-1);
	info_get(c->l, t, &r);
	if (s->method == KEETA_ADJUST_ADD)
		rc = keeta_amount_add(&r.supply, &r.supply, &s->amount);
	else
		rc = keeta_amount_sub(&r.supply, &r.supply, &s->amount);
	if (rc == 0)
		info_put(c->l, t, &r);
	info_release(&r);
	if (rc != 0) {
		devnet_err_set(c->err, 400, "LEDGER", "LEDGER_INVALID_SUPPLY",
		    "token supply out of range");
		return (-1);
	}
	return (0);
}

static int
op_modify_balance(struct apply_ctx *c, const struct keeta_block *b,
    const struct keeta_op_modify_balance *m)
{
	struct keeta_amount	cur, diff;

	if (c->enforce) {
		devnet_err_set(c->err, 400, "LEDGER",
		    "LEDGER_OPERATION_NOT_SUPPORTED",
		    "TOKEN_ADMIN_MODIFY_BALANCE is not enabled on this node");
		return (-1);
	}
	/* Publish path (genesis): move between the token and the account. */
	if (m->method == KEETA_ADJUST_ADD) {
		if (debit(c, &m->token, &m->token, &m->amount) != 0)
			return (-1);
		return (credit(c, &b->account, &m->token, &m->amount));
	}
	if (m->method == KEETA_ADJUST_SUBTRACT) {
		if (debit(c, &b->account, &m->token, &m->amount) != 0)
			return (-1);
		return (credit(c, &m->token, &m->token, &m->amount));
	}
	devnet_ledger_balance(c->l, &b->account, &m->token, &cur);
	if (keeta_amount_cmp(&m->amount, &cur) >= 0) {
		if (keeta_amount_sub(&diff, &m->amount, &cur) != 0 ||
		    debit(c, &m->token, &m->token, &diff) != 0)
			return (-1);
		return (credit(c, &b->account, &m->token, &diff));
	}
	if (keeta_amount_sub(&diff, &cur, &m->amount) != 0 ||
	    debit(c, &b->account, &m->token, &diff) != 0)
		return (-1);
	return (credit(c, &m->token, &m->token, &diff));
}

static int
op_receive(struct apply_ctx *c, const struct keeta_block *b,
    const struct keeta_op_receive *r)
{
	struct keeta_amount	sum;
	size_t			i;
	int			cmp;

	keeta_amount_zero(&sum);
	for (i = 0; i < c->ncredits; i++) {
		if (keeta_pubkey_equal(&c->credits[i].to, &b->account) &&
		    keeta_pubkey_equal(&c->credits[i].token, &r->token) &&
		    keeta_pubkey_equal(&c->credits[i].from, &r->from) &&
		    keeta_amount_add(&sum, &sum, &c->credits[i].amount) != 0)
			break;
	}
	cmp = keeta_amount_cmp(&sum, &r->amount);
	if (c->enforce && (cmp < 0 || (r->exact && cmp != 0))) {
		devnet_err_set(c->err, 400, "LEDGER", "LEDGER_RECEIVE_NOT_MET",
		    "receive requirement not met");
		return (-1);
	}
	if (r->has_forward) {
		if (debit(c, &b->account, &r->token, &r->amount) != 0 ||
		    credit(c, &r->forward, &r->token, &r->amount) != 0)
			return (-1);
		note_credit(c, &r->forward, &r->token, &b->account, &r->amount);
	}
	return (0);
}

static int
apply_block(struct apply_ctx *c, const struct keeta_block *b)
{
	const struct keeta_pubkey	*signer = NULL;
	const struct keeta_op		*op;
	struct info_row			 r;
	size_t				 i;
	int				 rc = 0;

	if (b->signer_kind == KEETA_SIGNER_OTHER)
		signer = &b->signer;
	else if (b->signer_kind == KEETA_SIGNER_MULTISIG)
		signer = &b->multisig->key;
	for (i = 0; i < b->nops && rc == 0; i++) {
		op = &b->ops[i];
		switch (op->type) {
		case KEETA_OP_SEND:
			rc = op_send(c, b, signer, &op->u.send);
			break;
		case KEETA_OP_SET_REP:
			if (signer != NULL && require(c, signer, &b->account,
			    NULL, KEETA_PERM_ADMIN) != 0) {
				rc = -1;
				break;
			}
			info_get(c->l, &b->account, &r);
			r.has_rep = 1;
			r.rep = op->u.set_rep.to;
			info_put(c->l, &b->account, &r);
			info_release(&r);
			break;
		case KEETA_OP_SET_INFO:
			rc = op_set_info(c, b, signer, &op->u.set_info);
			break;
		case KEETA_OP_MODIFY_PERMISSIONS:
			rc = op_modify_perms(c, b, signer,
			    &op->u.modify_perms);
			break;
		case KEETA_OP_CREATE_IDENTIFIER:
			rc = op_create_id(c, b, signer, &op->u.create_id);
			break;
		case KEETA_OP_TOKEN_ADMIN_SUPPLY:
			rc = op_supply(c, b, signer, &op->u.supply);
			break;
		case KEETA_OP_TOKEN_ADMIN_MODIFY_BALANCE:
			rc = op_modify_balance(c, b, &op->u.modify_balance);
			break;
		case KEETA_OP_RECEIVE:
			rc = op_receive(c, b, &op->u.receive);
			break;
		case KEETA_OP_MANAGE_CERTIFICATE:
			if (c->enforce) {
				devnet_err_set(c->err, 400, "LEDGER",
				    "LEDGER_OPERATION_NOT_SUPPORTED",
				    "certificates are not supported by "
				    "kdex-devnet");
				rc = -1;
			}
			break;
		}
	}
	return (rc);
}

int
devnet_ledger_apply(struct devnet_ledger *l, struct keeta_block *const *b,
    const uint8_t (*hashes)[KEETA_HASH_LEN], size_t n, int enforce,
    struct devnet_err *err)
{
	struct apply_ctx	c;
	size_t			i;
	int			rc = 0;

	(void)hashes;
	memset(&c, 0, sizeof c);
	c.l = l;
	c.enforce = enforce;
	c.err = err;
	for (i = 0; i < n && rc == 0; i++)
		rc = apply_block(&c, b[i]);
	if (rc == 0 && enforce)
		rc = check_owners(&c);
	free(c.credits);
	free(c.owners);
	return (rc);
}

/* Accounts a staple touches: its history index. */
struct touched {
	struct keeta_pubkey	*v;
	size_t			 n;
};

static void
touch(struct touched *t, const struct keeta_pubkey *pk)
{
	size_t	i;

	for (i = 0; i < t->n; i++) {
		if (keeta_pubkey_equal(&t->v[i], pk))
			return;
	}
	t->v = xreallocarray(t->v, t->n + 1, sizeof *t->v);
	t->v[t->n++] = *pk;
}

static void
touch_block(struct devnet_ledger *l, struct touched *t,
    const struct keeta_block *b)
{
	const struct keeta_op	*op;
	size_t			 i;

	touch(t, &b->account);
	if (b->signer_kind == KEETA_SIGNER_OTHER)
		touch(t, &b->signer);
	else if (b->signer_kind == KEETA_SIGNER_MULTISIG)
		touch(t, &b->multisig->key);
	for (i = 0; i < b->nops; i++) {
		op = &b->ops[i];
		switch (op->type) {
		case KEETA_OP_SEND:
			touch(t, &op->u.send.to);
			touch(t, &op->u.send.token);
			break;
		case KEETA_OP_SET_REP:
			touch(t, &op->u.set_rep.to);
			break;
		case KEETA_OP_MODIFY_PERMISSIONS:
			touch(t, &op->u.modify_perms.principal);
			if (op->u.modify_perms.has_target)
				touch(t, &op->u.modify_perms.target);
			break;
		case KEETA_OP_CREATE_IDENTIFIER:
			/*
			 * The SDK's touched set leaves the new identifier
			 * out (the reference node's history of a storage
			 * account starts at its own first block).
			 */
			touch(t, &l->netaddr);
			break;
		case KEETA_OP_TOKEN_ADMIN_MODIFY_BALANCE:
			touch(t, &op->u.modify_balance.token);
			break;
		case KEETA_OP_RECEIVE:
			touch(t, &op->u.receive.from);
			touch(t, &op->u.receive.token);
			if (op->u.receive.has_forward)
				touch(t, &op->u.receive.forward);
			break;
		case KEETA_OP_SET_INFO:
		case KEETA_OP_TOKEN_ADMIN_SUPPLY:
		case KEETA_OP_MANAGE_CERTIFICATE:
			break;
		}
	}
}

int
devnet_ledger_record(struct devnet_ledger *l, struct keeta_block *const *b,
    const uint8_t (*hashes)[KEETA_HASH_LEN], const uint8_t *const *ders,
    const size_t *derlens, size_t n, const uint8_t id[KEETA_HASH_LEN],
    int64_t ts, const uint8_t *staple, size_t staplelen)
{
	sqlite3_stmt	*st;
	struct touched	 t = { NULL, 0 };
	int64_t		 seq;
	uint64_t	 height, ph;
	uint8_t		 k[KEETA_HASH_LEN];
	size_t		 i;

	st = prep(l, "INSERT INTO staples(id, ts, bin) VALUES (?1, ?2, ?3)");
	bind_hash(st, 1, id);
	sqlite3_bind_int64(st, 2, ts);
	sqlite3_bind_blob(st, 3, staple, (int)staplelen, SQLITE_TRANSIENT);
	step(l, st);
	done(st);
	seq = sqlite3_last_insert_rowid(l->db);

	for (i = 0; i < n; i++) {
		height = 0;
		if (!keeta_block_is_opening(b[i]) &&
		    devnet_ledger_height(l, b[i]->previous, &ph))
			height = ph + 1;
		st = prep(l, "INSERT INTO blocks(hash, account, previous,"
		    " height, der, staple) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
		bind_hash(st, 1, hashes[i]);
		bind_pk(st, 2, &b[i]->account);
		bind_hash(st, 3, b[i]->previous);
		sqlite3_bind_int64(st, 4, (int64_t)height);
		sqlite3_bind_blob(st, 5, ders[i], (int)derlens[i],
		    SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 6, seq);
		step(l, st);
		done(st);

		st = prep(l, "INSERT OR REPLACE INTO heads(account, hash,"
		    " height) VALUES (?1, ?2, ?3)");
		bind_pk(st, 1, &b[i]->account);
		bind_hash(st, 2, hashes[i]);
		sqlite3_bind_int64(st, 3, (int64_t)height);
		step(l, st);
		done(st);

		if (b[i]->has_idempotent) {
			devnet_idem_key(b[i], k);
			st = prep(l, "INSERT OR REPLACE INTO idem(key, hash)"
			    " VALUES (?1, ?2)");
			bind_hash(st, 1, k);
			bind_hash(st, 2, hashes[i]);
			step(l, st);
			done(st);
		}
		/* The side ledger's votes for this slot are settled. */
		st = prep(l, "DELETE FROM side WHERE previous = ?1");
		bind_hash(st, 1, b[i]->previous);
		step(l, st);
		done(st);
		touch_block(l, &t, b[i]);
	}
	for (i = 0; i < t.n; i++) {
		st = prep(l, "INSERT OR IGNORE INTO history(account, seq)"
		    " VALUES (?1, ?2)");
		bind_pk(st, 1, &t.v[i]);
		sqlite3_bind_int64(st, 2, seq);
		step(l, st);
		done(st);
	}
	free(t.v);
	return (0);
}
