/*
 * kdexd_chainview: what the Keeta representatives say, for the admin API
 * (kdex-console's `status` and `operator show|permissions`, issue 7).
 *
 * Asking a representative blocks, and kdexd's event loop must not block,
 * so the asking is done by a probe thread of its own (started by the first
 * admin request that needs it, joined at exit). The thread has one
 * keeta_client per representative (short timeout, no retries) to measure
 * each one, and one over all of them for the operator's state. It only
 * talks to the chain: it never touches the ledger, the exchange or a
 * connection. The loop hands it a request (the storage accounts to look
 * at) and polls, from an lws timer, for the snapshot it leaves behind; the
 * admin answer is deferred (http_defer) until the snapshot is there, at
 * most CHAINVIEW_WAIT_MS, and a snapshot younger than CHAINVIEW_FRESH_MS
 * answers at once. The comparison with the ledger is made on the loop.
 *
 * Per representative: reachable (GET /node/version answered), the round
 * trip of that request, the version, the operator account's head height
 * and the head heights of up to CHAINVIEW_STORAGE_MAX registered storage
 * accounts (their sum, "storage_blocks", is comparable between reps).
 * For the operator (first representative that answers): head height,
 * on-chain balances, and the ACL rows where the operator is the principal
 * (GET .../acl/: which storage accounts grant it what).
 */
#ifndef KDEXD_CHAINVIEW_H
#define KDEXD_CHAINVIEW_H

#include <cjson/cJSON.h>

struct kdexd_req;
struct kdexd_resp;

#define CHAINVIEW_TIMEOUT_MS	1500	/* per request to a representative */
#define CHAINVIEW_FRESH_MS	1000	/* a snapshot this young is reused */
#define CHAINVIEW_WAIT_MS	8000	/* longest an answer waits */
#define CHAINVIEW_STORAGE_MAX	16	/* storage heights asked per rep */

/*
 * GET /admin/status: body is the answer so far (taken); "representatives"
 * [{url, reachable, latency_ms, version, operator_height, storage_blocks,
 * storage_accounts, error, checked_at}] is added, and the answer sent now
 * or once the probe is back.
 */
void	chainview_status(struct kdexd_req *, struct kdexd_resp *,
	    cJSON *body);

/*
 * GET /admin/operator: body (taken) holds "operator" {address, network,
 * representatives}; the chain's view next to the ledger's is added to it:
 * "chain" {ok, error, height, checked_at}, "balances" [{token, symbol,
 * onchain (the operator's account), clearing (the clearing account's;
 * null without one), ledger (the fee account's total), unsettled (of it,
 * in no confirmed batch yet), status: ok when clearing (else onchain)
 * equals ledger - unsettled, else mismatch}], "permissions" [{storage,
 * user, target, symbol, permissions, ledger: registered|clearing|reserve|
 * unknown, status: ok|missing_on_chain|not_in_ledger|excess_rights}] and
 * "mismatches" (count of rows not ok).
 */
void	chainview_operator(struct kdexd_req *, struct kdexd_resp *,
	    cJSON *body);

#endif
