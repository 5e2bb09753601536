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
 *     The worker publishes ONE staple of SENDs signed by the operator
 *     (SEND_ON_BEHALF): each net payer's storage account pays net
 *     receivers' storage accounts directly, fees go to the operator's
 *     account. Idempotency key "kdex-settle-<batch id>"; a resumed batch
 *     first asks the chain (keeta_client_idempotent) whether it applied.
 *     Batches with only off-chain (demo) users are confirmed without a
 *     staple.
 *   - in the same tick, after settlement: the oldest processing (resumed:
 *     the chain is asked first) or queued withdrawal is published as one
 *     operator-signed SEND from S_user, key "kdex-wd-<id>", then completed
 *     or failed (reservation released); unreachable chain: retried.
 */
#ifndef KDEXD_SETTLE_H
#define KDEXD_SETTLE_H

#include <stdint.h>

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

#endif
