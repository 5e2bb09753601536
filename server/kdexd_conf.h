/*
 * kdexd_conf: the settlement part of kdexd's configuration (issue 5):
 * the chain worker's intervals and, per token, the withdrawal limits and
 * the reconciliation thresholds. kdexd.h holds the rest of the
 * configuration; these settings live beside it in kdexd_conf.c because
 * they are read by the chain worker and the withdrawal route only.
 *
 * Config file lines (kdexd(8)):
 *   deposit-poll-ms MS      settle-interval-ms MS
 *   acl-check-ms MS         recon-interval-ms MS
 *   token SYMBOL name=AMOUNT ...
 * where name is withdraw-max, withdraw-user-24h, withdraw-global-24h,
 * withdraw-approval, recon-dust or recon-critical and AMOUNT an exact
 * decimal string in token units. SYMBOL may also be the token's keeta_
 * address. Amounts are kept as written: the token's decimals are known
 * only once the markets are, so kdexd_settle.c converts them at start and
 * refuses to start on a value the token cannot represent.
 */
#ifndef KDEXD_CONF_H
#define KDEXD_CONF_H

#include <stddef.h>
#include <stdint.h>

#define KDEXD_TOKENS_MAX	128

/* Per-token settings; NULL = not set (no limit, threshold 0). */
enum conf_tok {
	CONF_WD_MAX = 0,	/* one withdrawal at most */
	CONF_WD_USER_24H,	/* rolling 24 h sum per user */
	CONF_WD_GLOBAL_24H,	/* rolling 24 h sum of everyone */
	CONF_WD_APPROVAL,	/* above it: pending_approval */
	CONF_RECON_DUST,	/* |drift| at or below: corrected */
	CONF_RECON_CRITICAL,	/* |drift| above: critical */
	CONF_TOK_N
};

struct kdexd_token_conf {
	char	*token;			/* symbol or keeta_ address */
	char	*amount[CONF_TOK_N];	/* decimal strings or NULL */
};

struct kdexd_settle_conf {
	int64_t	 deposit_poll_ms;	/* 0: the default */
	int64_t	 acl_check_ms;
	int64_t	 settle_ms;
	int64_t	 recon_ms;
	struct kdexd_token_conf tokens[KDEXD_TOKENS_MAX];
	size_t	 ntokens;
};

/*
 * The settlement settings read so far (reset by conf_defaults(), freed by
 * conf_free()). The result is owned by kdexd_conf.c.
 */
const struct kdexd_settle_conf *conf_settle(void);
/* The config name of a per-token setting ("withdraw-max"...). */
const char	*conf_tok_name(enum conf_tok);

#endif
