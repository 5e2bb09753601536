/*
 * kdexd_settle: kdexd's chain worker (issue 5; engineer I).
 *
 * Everything that talks to the Keeta representatives on kdexd's behalf
 * runs in ONE worker thread with its own keeta_client, so the event loop
 * never waits on the network. The loop hands the worker jobs (verify a
 * storage account, re-check its ACLs, scan its history for deposits)
 * through a locked queue; the worker hands back results through another
 * and wakes the loop with lws_cancel_service(). The worker never touches
 * the ledger, the exchange or a connection: every balance change is made
 * by the loop thread as an exchange command (one batch, one transaction),
 * which is also what keeps the ledger's balance cache right.
 *
 * What it does today:
 *   - POST /account/storage: the storage account is recorded only after
 *     the chain shows (ACLs by entity) that the user is its one OWNER and
 *     the operator holds nothing but SEND_ON_BEHALF scoped to market
 *     tokens (at least one).
 *   - every KDEXD_ACL_CHECK_MS (default 30000) each active user's ACLs
 *     are read again; a user whose account no longer passes, or whose
 *     operator right is gone for a token they hold, becomes withdraw-only
 *     (orders cancelled first, reason recorded).
 *   - every KDEXD_DEPOSIT_POLL_MS (default 1000), or at once after POST
 *     /deposits/notify, the history of each registered storage account is
 *     read (pages of 50, newest first, exclusive start) down to the newest
 *     staple already seen; each SEND into the account is credited through
 *     EXCHANGE_DEPOSIT keyed by (block hash, operation index), so a replay
 *     (restart, kill -9, overlapping scans) credits nothing twice. Every
 *     60 s the cursors are forgotten and the whole history is read again,
 *     which repairs a credit lost to a failed batch commit.
 *   - every KDEXD_SETTLE_MS (default 1000) the loop resumes the oldest
 *     pending/published batch, else nets the unsettled fills into a new
 *     one (ledger_batch_create: journaled before anything is published).
 *     The worker publishes ONE staple of SENDs signed by the operator:
 *     each net payer's storage account (SEND_ON_BEHALF) sends to the
 *     clearing account, then the clearing account (operator = OWNER)
 *     sends to each net receiver's; fees stay in the clearing account.
 *     Idempotency key "kdex-settle-<batch id>"; a resumed batch first
 *     asks the chain (keeta_client_idempotent) whether it applied.
 *     Logged-in --demo users (credited off chain) are carried by the demo
 *     reserve, so their trades settle on chain too.
 *   - at start, the clearing account (and the demo reserve) is found or
 *     created on chain and recorded; --demo users are funded on chain.
 *   - in the same tick, after settlement: the oldest processing (resumed:
 *     the chain is asked first) or queued withdrawal is published as one
 *     operator-signed SEND from S_user, key "kdex-wd-<id>", then completed
 *     or failed (reservation released); unreachable chain: retried.
 *   - withdrawal requests are checked against the config's per-token
 *     limits first; above withdraw-approval they wait for an operator.
 *   - reconciliation (recon-interval-ms, POST /admin/recon/run) corrects
 *     drift at or below recon-dust in the ledger, and alerts on critical
 *     rows (log, settle_metrics(), settle_alerts_json()), freezing users
 *     whose chain balance is short.
 * The intervals are config-file keys (kdexd_conf.h); the KDEXD_*_MS
 * environment variables above override them.
 */
#ifndef KDEXD_SETTLE_H
#define KDEXD_SETTLE_H

#include <stdint.h>

#include "money.h"

struct kdexd;
struct kdexd_req;
struct kdexd_resp;

/* Start the worker (after http_start: it needs the lws context). */
int	settle_start(struct kdexd *, char **cause);
/* Stop and join it; owed HTTP answers get 503. Before the context goes. */
void	settle_stop(struct kdexd *);
/* From the 100 ms cron: schedule scans and ACL checks. */
void	settle_cron(struct kdexd *);
/* From the loop after each poll: apply what the worker handed back. */
void	settle_poll(struct kdexd *);

/* POST /account/storage for uid: defers the answer until the chain says. */
void	settle_register(struct kdexd_req *, struct kdexd_resp *, int64_t uid,
	    const char *storage);
/*
 * POST /admin/recon/run: run a reconciliation now (KDEXD_RECON_MS, default
 * 60000, runs it periodically); the answer waits for the run, then fn
 * fills it from the run id.
 */
typedef void	settle_recon_fn(int64_t run, struct kdexd_resp *);
void	settle_recon_run(struct kdexd_req *, struct kdexd_resp *,
	    settle_recon_fn *);
/* POST /deposits/notify: scan soon. */
void	settle_notify(int64_t uid);

/*
 * The clearing account every settlement staple passes through (a storage
 * account the operator owns; fees stay in it) and, with --demo on the
 * embedded devnet, the demo reserve that carries logged-in demo users'
 * off-chain credits on chain. "" until found or created on chain; the
 * address is recorded in <data>/clearing (<data>/reserve) and stays.
 * Borrowed, valid until settle_stop().
 */
const char	*settle_clearing_address(void);
const char	*settle_reserve_address(void);
/*
 * --demo: fund demo user uid (key acct; ownership passes) through the
 * chain: a storage account it owns with the operator's SEND_ON_BEHALF per
 * market token, registered after the same on-chain check as POST
 * /account/storage, then the faucet deposits 1,000 base and 100,000
 * quote tokens times mult, once (keyed on the faucet's chain), which the
 * deposit watcher credits. Without a faucet (external representatives)
 * nothing is funded.
 */
struct keeta_account;
void	settle_demo_user(int64_t uid, struct keeta_account *acct,
	    unsigned int mult);

/*
 * POST /withdrawals/request, before the command is queued: the token's
 * limits from the config (kdexd_conf.h: withdraw-max, the rolling 24 h
 * sums per user and of everyone). Returns 0 and *approval (1: above
 * withdraw-approval, the withdrawal waits for an operator) when the
 * request may go on, or -1 with resp filled (422 limit_exceeded, 500)
 * when it is refused. A request let through counts against the rolling
 * sums at once, before its batch commits, so two requests in one batch
 * cannot both take the last of a limit.
 */
int	settle_withdraw_check(struct kdexd_resp *, int64_t uid,
	    int64_t token, u128 amount, int *approval);

/* Prometheus text of the settlement counters and gauges; caller frees. */
char	*settle_metrics(void);
/*
 * Alerts as members of o (GET /admin/status, recon status): critical
 * rows and corrections since the start, users frozen by reconciliation,
 * withdrawals waiting for approval, per-token thresholds.
 */
struct cJSON;
void	settle_alerts_json(struct cJSON *o);

#endif
