-- A ledger written by schema version 1 (before the fee tier and API key
-- tables of version 2), with a user, a token and a balance whose total is
-- 2^128-1, the largest amount a Keeta token can have.  check_ledger opens
-- it and expects the migration to version 2 to keep every row.
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE tokens (id INTEGER PRIMARY KEY, address TEXT NOT NULL UNIQUE, symbol TEXT NOT NULL, decimals INTEGER NOT NULL CHECK (decimals BETWEEN 0 AND 38));
CREATE TABLE users (id INTEGER PRIMARY KEY, address TEXT NOT NULL UNIQUE, pubkey_type TEXT NOT NULL DEFAULT '', storage TEXT NOT NULL DEFAULT '', status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'frozen', 'withdraw_only')), reason TEXT NOT NULL DEFAULT '', kind TEXT NOT NULL DEFAULT 'user' CHECK (kind IN ('user', 'fee')), created_at INTEGER NOT NULL);
INSERT INTO users(id, address, kind, created_at) VALUES (1, 'fees', 'fee', 0);
CREATE TABLE markets (id INTEGER PRIMARY KEY, pair TEXT NOT NULL UNIQUE, base_token INTEGER NOT NULL REFERENCES tokens(id), quote_token INTEGER NOT NULL REFERENCES tokens(id), tick_size TEXT NOT NULL, lot_size TEXT NOT NULL, min_lots INTEGER NOT NULL, min_notional TEXT NOT NULL, maker_fee_ppm INTEGER NOT NULL, taker_fee_ppm INTEGER NOT NULL, status TEXT NOT NULL CHECK (status IN ('open', 'halted', 'cancel_only')), max_price_ticks INTEGER NOT NULL, max_qty_lots INTEGER NOT NULL, max_orders INTEGER NOT NULL, max_levels INTEGER NOT NULL, max_orders_per_user INTEGER NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE balances (user_id INTEGER NOT NULL REFERENCES users(id), token_id INTEGER NOT NULL REFERENCES tokens(id), available TEXT NOT NULL, total TEXT NOT NULL, PRIMARY KEY (user_id, token_id)) WITHOUT ROWID;
CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, market_id INTEGER NOT NULL, client_id TEXT NOT NULL DEFAULT '', side INTEGER NOT NULL, type INTEGER NOT NULL, tif INTEGER NOT NULL, post_only INTEGER NOT NULL, stp INTEGER NOT NULL, price INTEGER NOT NULL, qty INTEGER NOT NULL, filled INTEGER NOT NULL, reserved TEXT NOT NULL, reserve_token INTEGER NOT NULL, status INTEGER NOT NULL, reason TEXT NOT NULL DEFAULT '', expire_at INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, CHECK (filled <= qty));
CREATE INDEX orders_user ON orders(user_id, id);
CREATE INDEX orders_live ON orders(id) WHERE status < 2;
CREATE UNIQUE INDEX orders_client ON orders(user_id, client_id) WHERE status < 2 AND client_id <> '';
CREATE TABLE fills (id INTEGER PRIMARY KEY, market_id INTEGER NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL, price INTEGER NOT NULL, qty INTEGER NOT NULL, taker_side INTEGER NOT NULL, taker_order INTEGER NOT NULL, maker_order INTEGER NOT NULL, taker_user INTEGER NOT NULL, maker_user INTEGER NOT NULL, base_amount TEXT NOT NULL, quote_amount TEXT NOT NULL, taker_fee TEXT NOT NULL, maker_fee TEXT NOT NULL, fee_token INTEGER NOT NULL, taker_fee_ppm INTEGER NOT NULL, maker_fee_ppm INTEGER NOT NULL, fee_tier INTEGER NOT NULL DEFAULT 0, settlement_batch INTEGER NOT NULL DEFAULT 0);
CREATE INDEX fills_taker ON fills(taker_user, id);
CREATE INDEX fills_maker ON fills(maker_user, id);
CREATE INDEX fills_unsettled ON fills(id) WHERE settlement_batch = 0;
CREATE TABLE deposits (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, token_id INTEGER NOT NULL, amount TEXT NOT NULL, block TEXT NOT NULL, op_index INTEGER NOT NULL, status TEXT NOT NULL CHECK (status IN ('pending', 'credited')), created_at INTEGER NOT NULL, credited_at INTEGER NOT NULL DEFAULT 0, UNIQUE (block, op_index));
CREATE INDEX deposits_user ON deposits(user_id, id);
CREATE TABLE withdrawals (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, token_id INTEGER NOT NULL, amount TEXT NOT NULL, to_address TEXT NOT NULL, idem_key TEXT NOT NULL UNIQUE, status TEXT NOT NULL CHECK (status IN ('queued', 'processing', 'completed', 'failed', 'canceled', 'pending_approval')), block TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE INDEX withdrawals_user ON withdrawals(user_id, id);
CREATE TABLE settlement_batches (id INTEGER PRIMARY KEY, status TEXT NOT NULL CHECK (status IN ('pending', 'published', 'confirmed', 'failed')), staple TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '', first_fill INTEGER NOT NULL, last_fill INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE settlement_deltas (batch_id INTEGER NOT NULL REFERENCES settlement_batches(id), user_id INTEGER NOT NULL, token_id INTEGER NOT NULL, delta TEXT NOT NULL, PRIMARY KEY (batch_id, user_id, token_id)) WITHOUT ROWID;
CREATE TABLE recon_runs (id INTEGER PRIMARY KEY, started_at INTEGER NOT NULL, finished_at INTEGER NOT NULL DEFAULT 0, n_ok INTEGER NOT NULL DEFAULT 0, n_drift INTEGER NOT NULL DEFAULT 0, n_critical INTEGER NOT NULL DEFAULT 0);
CREATE TABLE reconciliations (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES recon_runs(id), user_id INTEGER NOT NULL, token_id INTEGER NOT NULL, chain TEXT NOT NULL, expected TEXT NOT NULL, diff TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('ok', 'drift', 'critical')), ts INTEGER NOT NULL);
CREATE INDEX reconciliations_run ON reconciliations(run_id, id);
CREATE TABLE audit_log (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, user_id INTEGER NOT NULL, token_id INTEGER NOT NULL, cause TEXT NOT NULL, ref TEXT NOT NULL, d_available TEXT NOT NULL, d_total TEXT NOT NULL);
INSERT INTO tokens VALUES (1, 'keeta_big', 'BIG', 18);
INSERT INTO users(id, address, pubkey_type, created_at) VALUES (2, 'keeta_old', 'ed25519', 1000);
INSERT INTO deposits VALUES (1, 2, 1, '340282366920938463463374607431768211455', 'b1', 0, 'credited', 1000, 1000);
INSERT INTO balances VALUES (2, 1, '340282366920938463463374607431768211455', '340282366920938463463374607431768211455');
INSERT INTO audit_log VALUES (1, 1000, 2, 1, 'deposit', 'deposit:1', '340282366920938463463374607431768211455', '340282366920938463463374607431768211455');
PRAGMA user_version = 1;
