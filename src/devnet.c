/*
 * devnet: the node itself: configuration, genesis, and the REST routes of
 * keeta-node-api.md sections 2 and 6 on top of devnet_ledger (state and
 * rules) and devnet_http (transport). Votes and staples come from the
 * keeta library (keeta_vote, keeta_staple); this file decides *whether* to
 * vote and *what* to apply.
 *
 * Every handler runs on the HTTP service thread, which is the only thread
 * touching the ledger, so there are no locks.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "devnet.h"
#include "devnet_http.h"
#include "devnet_ledger.h"
#include "devnet_vote.h"
#include "keeta_account.h"
#include "keeta_block.h"
#include "util.h"

#define DEVNET_VERSION		"kdex-devnet-" PACKAGE_VERSION
#define DEVNET_DATE_SKEW_MS	(5 * 60 * 1000)
#define DEVNET_MAX_BLOCKS	64	/* blocks per vote request */
#define DEVNET_PAGE_MAX		1000
#define DEVNET_PAGE_DEFAULT	200
/* Base token supply minted to the faucet: 10^27 base units. */
#define DEVNET_BASE_SUPPLY	"1000000000000000000000000000"

struct devnet_tok {
	char			*name;
	unsigned int		 decimals;
	struct keeta_pubkey	 pk;
	char			 addr[KEETA_ADDRESS_MAX];
};

struct devnet {
	struct devnet_ledger	*ledger;
	struct devnet_http	*http;
	uint64_t		 network;
	int			 verbose;
	enum devnet_genesis	 genesis;

	struct keeta_account	*rep;
	struct keeta_pubkey	 rep_pk;
	char			 rep_addr[KEETA_ADDRESS_MAX];
	int			 has_trusted;
	struct keeta_pubkey	 trusted;

	struct keeta_account	*faucet;
	char			 faucet_seed[2 * KEETA_SEED_LEN + 1];
	char			 faucet_addr[KEETA_ADDRESS_MAX];

	char			 netaddr[KEETA_ADDRESS_MAX];
	char			 basetoken[KEETA_ADDRESS_MAX];
	char			*api;
	char			*p2p;
	int			 port;

	struct devnet_tok	*tokens;
	size_t			 ntokens;
};

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* ------------------------------ JSON ------------------------------ */

static cJSON *
json_u64hex(uint64_t v)
{
	char	buf[32];

	snprintf(buf, sizeof buf, "0x%" PRIX64, v);
	return (cJSON_CreateString(buf));
}

/* Full SDK block JSON (plus $binary) from stored DER; NULL if broken. */
static cJSON *
block_json_der(const uint8_t *der, size_t len)
{
	struct keeta_block	*b;
	cJSON			*o;

	if (keeta_block_decode(der, len, KEETA_BLOCK_NOVERIFY, &b, NULL) != 0)
		return (NULL);
	o = keeta_block_to_json(b, 1, NULL);
	keeta_block_free(b);
	return (o);
}

static void
respond(struct devnet_resp *resp, int status, cJSON *o)
{
	resp->status = status;
	resp->body = cJSON_PrintUnformatted(o);
	if (resp->body == NULL)
		fatalx("devnet: cannot print JSON");
	cJSON_Delete(o);
}

static void
respond_err(struct devnet_resp *resp, struct devnet_err *err)
{
	cJSON	*o, *it;

	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "error", 1);
	cJSON_AddStringToObject(o, "message", err->message);
	cJSON_AddStringToObject(o, "type", err->type);
	cJSON_AddStringToObject(o, "code", err->code);
	if (err->extra != NULL) {
		while ((it = err->extra->child) != NULL) {
			cJSON_DetachItemViaPointer(err->extra, it);
			cJSON_AddItemToObject(o, it->string, it);
		}
	}
	respond(resp, err->status != 0 ? err->status : 400, o);
	devnet_err_clear(err);
}

static void
respond_simple_err(struct devnet_resp *resp, int status, const char *type,
    const char *code, const char *msg)
{
	struct devnet_err	err;

	memset(&err, 0, sizeof err);
	devnet_err_set(&err, status, type, code, "%s", msg);
	respond_err(resp, &err);
}

/* Extra "accounts":[addr] for vote errors the SDK syncs on. */
static void
err_accounts(struct devnet_err *err, const struct keeta_pubkey *pk)
{
	cJSON	*arr;

	if (err->extra == NULL)
		err->extra = cJSON_CreateObject();
	arr = cJSON_CreateArray();
	cJSON_AddItemToArray(arr, keeta_block_json_address(pk));
	cJSON_AddItemToObject(err->extra, "accounts", arr);
}

/* ---------------------------- arguments ---------------------------- */

static int
parse_account(const char *s, struct keeta_pubkey *pk, struct devnet_resp *resp)
{
	const char	*cause = NULL;

	if (keeta_pubkey_parse(s, pk, &cause) == 0)
		return (0);
	respond_simple_err(resp, 400, "ACCOUNT", "ACCOUNT_INVALID",
	    cause != NULL ? cause : "invalid account");
	return (-1);
}

static int
parse_hash(const char *s, uint8_t h[KEETA_HASH_LEN])
{
	if (strlen(s) != 2 * KEETA_HASH_LEN ||
	    keeta_hex_decode(s, strlen(s), h, KEETA_HASH_LEN) !=
	    KEETA_HASH_LEN)
		return (-1);
	return (0);
}

static int
parse_limit(const struct devnet_req *req, unsigned int *limit,
    struct devnet_resp *resp)
{
	const char	*s = devnet_req_arg(req, "limit");
	char		*end;
	unsigned long	 v;

	*limit = DEVNET_PAGE_DEFAULT;
	if (s == NULL)
		return (0);
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v == 0) {
		respond_simple_err(resp, 400, "API", "API_INVALID_LIMIT",
		    "invalid limit");
		return (-1);
	}
	*limit = v > DEVNET_PAGE_MAX ? DEVNET_PAGE_MAX : (unsigned int)v;
	return (0);
}

/* 0 main, 1 side, 2 both; -1 invalid. */
static int
parse_side(const struct devnet_req *req, int allow_both)
{
	const char	*s = devnet_req_arg(req, "side");

	if (s == NULL || strcmp(s, "main") == 0)
		return (0);
	if (strcmp(s, "side") == 0)
		return (1);
	if (allow_both && strcmp(s, "both") == 0)
		return (2);
	return (-1);
}

/* ----------------------------- queries ----------------------------- */

static cJSON *
account_state(struct devnet *d, const struct keeta_pubkey *pk)
{
	cJSON		*o;
	uint8_t		 head[KEETA_HASH_LEN];
	uint64_t	 height;
	struct keeta_pubkey rep;

	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "account", keeta_block_json_address(pk));
	if (devnet_ledger_head(d->ledger, pk, head, &height)) {
		cJSON_AddItemToObject(o, "currentHeadBlock",
		    keeta_block_json_hex(head, KEETA_HASH_LEN));
		cJSON_AddItemToObject(o, "currentHeadBlockHeight",
		    json_u64hex(height));
	} else {
		cJSON_AddNullToObject(o, "currentHeadBlock");
		cJSON_AddNullToObject(o, "currentHeadBlockHeight");
	}
	if (devnet_ledger_rep(d->ledger, pk, &rep))
		cJSON_AddItemToObject(o, "representative",
		    keeta_block_json_address(&rep));
	else
		cJSON_AddNullToObject(o, "representative");
	cJSON_AddItemToObject(o, "balances",
	    devnet_ledger_balances_json(d->ledger, pk));
	cJSON_AddItemToObject(o, "info", devnet_ledger_info_json(d->ledger,
	    pk));
	return (o);
}

static void
route_representatives(struct devnet *d, struct devnet_resp *resp)
{
	cJSON			*o, *arr, *r, *ep;
	struct keeta_amount	 w;

	devnet_ledger_weight(d->ledger, &d->rep_pk, &w);
	o = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(o, "representatives");
	r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "representative", d->rep_addr);
	cJSON_AddItemToObject(r, "weight", keeta_block_json_amount(&w));
	ep = cJSON_AddObjectToObject(r, "endpoints");
	cJSON_AddStringToObject(ep, "api", d->api);
	cJSON_AddStringToObject(ep, "p2p", d->p2p);
	cJSON_AddItemToArray(arr, r);
	respond(resp, 200, o);
}

static void
route_representative(struct devnet *d, const char *who,
    struct devnet_resp *resp)
{
	struct keeta_pubkey	pk;
	struct keeta_amount	w;
	cJSON			*o;

	if (who == NULL)
		pk = d->rep_pk;
	else if (parse_account(who, &pk, resp) != 0)
		return;
	devnet_ledger_weight(d->ledger, &pk, &w);
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "representative",
	    keeta_block_json_address(&pk));
	cJSON_AddItemToObject(o, "weight", keeta_block_json_amount(&w));
	respond(resp, 200, o);
}

static void
route_head(struct devnet *d, const struct keeta_pubkey *pk,
    struct devnet_resp *resp)
{
	uint8_t		 head[KEETA_HASH_LEN], *der;
	uint64_t	 height;
	size_t		 len;
	cJSON		*o, *b = NULL;

	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "account", keeta_block_json_address(pk));
	if (devnet_ledger_head(d->ledger, pk, head, &height) &&
	    (der = devnet_ledger_block(d->ledger, head, 0, &len)) != NULL) {
		b = block_json_der(der, len);
		free(der);
	}
	if (b != NULL) {
		cJSON_AddItemToObject(o, "block", b);
		cJSON_AddItemToObject(o, "height", json_u64hex(height));
	} else {
		cJSON_AddNullToObject(o, "block");
		cJSON_AddNullToObject(o, "height");
	}
	respond(resp, 200, o);
}

static void
route_balance(struct devnet *d, const struct keeta_pubkey *pk,
    const char *token, struct devnet_resp *resp)
{
	struct keeta_pubkey	t;
	struct keeta_amount	v;
	cJSON			*o;

	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "account", keeta_block_json_address(pk));
	if (token == NULL) {
		cJSON_AddItemToObject(o, "balances",
		    devnet_ledger_balances_json(d->ledger, pk));
		respond(resp, 200, o);
		return;
	}
	if (parse_account(token, &t, resp) != 0) {
		cJSON_Delete(o);
		return;
	}
	devnet_ledger_balance(d->ledger, pk, &t, &v);
	cJSON_AddItemToObject(o, "token", keeta_block_json_address(&t));
	cJSON_AddItemToObject(o, "balance", keeta_block_json_amount(&v));
	respond(resp, 200, o);
}

static void
route_acl(struct devnet *d, const struct keeta_pubkey *pk, const char *list,
    struct devnet_resp *resp)
{
	struct keeta_pubkey	*ents = NULL;
	size_t			 n = 0;
	char			*copy, *s, *tok, *save = NULL;
	cJSON			*o;

	if (list != NULL && strcmp(list, "granted") == 0) {
		o = cJSON_CreateObject();
		cJSON_AddItemToObject(o, "permissions",
		    devnet_ledger_acl_by_entity(d->ledger, pk));
		respond(resp, 200, o);
		return;
	}
	if (list != NULL && *list != '\0') {
		copy = xstrdup(list);
		for (s = copy; (tok = strtok_r(s, ",", &save)) != NULL;
		    s = NULL) {
			ents = xreallocarray(ents, n + 1, sizeof *ents);
			if (parse_account(tok, &ents[n], resp) != 0) {
				free(copy);
				free(ents);
				return;
			}
			n++;
		}
		free(copy);
	}
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "permissions",
	    devnet_ledger_acl_by_principal(d->ledger, pk, ents, n));
	free(ents);
	respond(resp, 200, o);
}

static void
route_chain(struct devnet *d, const struct keeta_pubkey *pk,
    const struct devnet_req *req, struct devnet_resp *resp)
{
	const char		*start = devnet_req_arg(req, "start");
	const char		*endarg = devnet_req_arg(req, "end");
	uint8_t			 cur[KEETA_HASH_LEN], endh[KEETA_HASH_LEN];
	unsigned int		 limit, count = 0;
	int			 have, has_end = 0;
	uint8_t			*der;
	size_t			 len;
	struct keeta_block	*b;
	cJSON			*o, *arr, *e, *bj;

	if (parse_limit(req, &limit, resp) != 0)
		return;
	if (endarg != NULL) {
		if (parse_hash(endarg, endh) != 0) {
			respond_simple_err(resp, 400, "API", "API_INVALID_HASH",
			    "invalid end hash");
			return;
		}
		has_end = 1;
	}
	if (start == NULL || strcmp(start, "HEAD") == 0)
		have = devnet_ledger_head(d->ledger, pk, cur, NULL);
	else if (parse_hash(start, cur) != 0) {
		respond_simple_err(resp, 400, "API", "API_INVALID_HASH",
		    "invalid start hash");
		return;
	} else
		have = 1;
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "account", keeta_block_json_address(pk));
	arr = cJSON_AddArrayToObject(o, "blocks");
	while (have && count < limit) {
		der = devnet_ledger_block(d->ledger, cur, 0, &len);
		if (der == NULL) {
			have = 0;
			break;
		}
		if (keeta_block_decode(der, len, KEETA_BLOCK_NOVERIFY, &b,
		    NULL) != 0)
			fatalx("devnet: stored block does not decode");
		free(der);
		if (!keeta_pubkey_equal(&b->account, pk)) {
			keeta_block_free(b);
			have = 0;
			break;
		}
		bj = keeta_block_to_json(b, 1, NULL);
		e = cJSON_CreateObject();
		cJSON_AddItemToObject(e, "block", bj);
		cJSON_AddItemToArray(arr, e);
		count++;
		if ((has_end && memcmp(cur, endh, KEETA_HASH_LEN) == 0) ||
		    keeta_block_is_opening(b))
			have = 0;
		else
			memcpy(cur, b->previous, KEETA_HASH_LEN);
		keeta_block_free(b);
	}
	if (have)
		cJSON_AddItemToObject(o, "nextKey",
		    keeta_block_json_hex(cur, KEETA_HASH_LEN));
	else
		cJSON_AddNullToObject(o, "nextKey");
	respond(resp, 200, o);
}

struct history_page {
	cJSON		*arr;
	uint8_t		 last[KEETA_HASH_LEN];
	int		 any;
};

static int
history_entry(void *arg, const uint8_t id[KEETA_HASH_LEN], int64_t ts,
    const uint8_t *staple, size_t len)
{
	struct history_page	*pg = arg;
	cJSON			*e, *vs;
	char			*b64, iso[25];

	e = cJSON_CreateObject();
	vs = devnet_staple_json(staple, len);
	if (vs == NULL)
		vs = cJSON_CreateObject();
	b64 = keeta_block_base64_encode(staple, len);
	cJSON_AddStringToObject(vs, "$binary", b64);
	free(b64);
	cJSON_AddItemToObject(e, "voteStaple", vs);
	cJSON_AddItemToObject(e, "$id",
	    keeta_block_json_hex(id, KEETA_HASH_LEN));
	if (keeta_time_iso8601(ts, iso) != 0)
		snprintf(iso, sizeof iso, "1970-01-01T00:00:00.000Z");
	cJSON_AddStringToObject(e, "$timestamp", iso);
	cJSON_AddItemToArray(pg->arr, e);
	memcpy(pg->last, id, KEETA_HASH_LEN);
	pg->any = 1;
	return (0);
}

static void
route_history(struct devnet *d, const struct keeta_pubkey *pk,
    const struct devnet_req *req, struct devnet_resp *resp)
{
	const char		*start = devnet_req_arg(req, "start");
	uint8_t			 sh[KEETA_HASH_LEN];
	unsigned int		 limit;
	int			 n;
	struct history_page	 pg;
	cJSON			*o;

	if (parse_limit(req, &limit, resp) != 0)
		return;
	if (start != NULL && parse_hash(start, sh) != 0) {
		respond_simple_err(resp, 400, "API", "API_INVALID_HASH",
		    "invalid start");
		return;
	}
	memset(&pg, 0, sizeof pg);
	o = cJSON_CreateObject();
	pg.arr = cJSON_AddArrayToObject(o, "history");
	n = devnet_ledger_history(d->ledger, pk, start != NULL ? sh : NULL,
	    limit, history_entry, &pg);
	if (n >= 0 && (unsigned int)n == limit && pg.any)
		cJSON_AddItemToObject(o, "nextKey",
		    keeta_block_json_hex(pg.last, KEETA_HASH_LEN));
	else
		cJSON_AddNullToObject(o, "nextKey");
	respond(resp, 200, o);
}

static void
route_block(struct devnet *d, const char *hs, const char *what,
    const struct devnet_req *req, struct devnet_resp *resp)
{
	uint8_t		 h[KEETA_HASH_LEN], *der;
	size_t		 len;
	int		 side;
	cJSON		*o, *b = NULL;

	if (parse_hash(hs, h) != 0) {
		respond_simple_err(resp, 400, "API", "API_INVALID_HASH",
		    "invalid block hash");
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "blockhash",
	    keeta_block_json_hex(h, KEETA_HASH_LEN));
	if (what != NULL) {
		der = devnet_ledger_successor(d->ledger, h, 0, &len, NULL);
		if (der != NULL) {
			b = block_json_der(der, len);
			free(der);
		}
		if (b != NULL)
			cJSON_AddItemToObject(o, "successorBlock", b);
		else
			cJSON_AddNullToObject(o, "successorBlock");
		respond(resp, 200, o);
		return;
	}
	if ((side = parse_side(req, 1)) < 0) {
		cJSON_Delete(o);
		respond_simple_err(resp, 400, "API", "API_INVALID_SIDE",
		    "invalid side");
		return;
	}
	der = devnet_ledger_block(d->ledger, h, side, &len);
	if (der != NULL) {
		b = block_json_der(der, len);
		free(der);
	}
	if (b != NULL)
		cJSON_AddItemToObject(o, "block", b);
	else
		cJSON_AddNullToObject(o, "block");
	respond(resp, 200, o);
}

static void
route_pending(struct devnet *d, const struct keeta_pubkey *pk,
    struct devnet_resp *resp)
{
	uint8_t	*der;
	size_t	 len;
	cJSON	*o, *b = NULL;

	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "account", keeta_block_json_address(pk));
	der = devnet_ledger_pending(d->ledger, pk, now_ms(), &len);
	if (der != NULL) {
		b = block_json_der(der, len);
		free(der);
	}
	if (b != NULL)
		cJSON_AddItemToObject(o, "block", b);
	else
		cJSON_AddNullToObject(o, "block");
	respond(resp, 200, o);
}

static void
route_idempotent(struct devnet *d, const struct keeta_pubkey *pk,
    const char *key, struct devnet_resp *resp)
{
	uint8_t	*k, h[KEETA_HASH_LEN], *der;
	size_t	 klen, len;
	cJSON	*o, *b = NULL;

	k = keeta_block_base64_decode(key, strlen(key), &klen);
	if (k == NULL || klen == 0 || klen > KEETA_IDEMPOTENT_MAX) {
		free(k);
		respond_simple_err(resp, 400, "API", "API_INVALID_IDEMPOTENT",
		    "invalid idempotent key");
		return;
	}
	o = cJSON_CreateObject();
	if (devnet_ledger_idempotent(d->ledger, pk, k, klen, h) &&
	    (der = devnet_ledger_block(d->ledger, h, 0, &len)) != NULL) {
		b = block_json_der(der, len);
		free(der);
	}
	free(k);
	if (b != NULL)
		cJSON_AddItemToObject(o, "block", b);
	else
		cJSON_AddNullToObject(o, "block");
	respond(resp, 200, o);
}

struct votes_out {
	cJSON	*arr;
};

static int
side_vote_cb(void *arg, const uint8_t *der, size_t len)
{
	struct votes_out	*vo = arg;
	cJSON			*v;

	v = devnet_vote_json(der, len);
	if (v != NULL)
		cJSON_AddItemToArray(vo->arr, v);
	return (0);
}

static void
route_votes(struct devnet *d, const char *hs, const struct devnet_req *req,
    struct devnet_resp *resp)
{
	uint8_t			 h[KEETA_HASH_LEN], *staple;
	size_t			 len;
	int			 side;
	struct votes_out	 vo;
	cJSON			*o;

	if (parse_hash(hs, h) != 0 || (side = parse_side(req, 1)) < 0) {
		respond_simple_err(resp, 400, "API", "API_INVALID_ARGUMENT",
		    "invalid block hash or side");
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "blockhash",
	    keeta_block_json_hex(h, KEETA_HASH_LEN));
	vo.arr = cJSON_CreateArray();
	if (side != 1 && (staple = devnet_ledger_block_staple(d->ledger, h,
	    &len)) != NULL) {
		devnet_staple_votes(staple, len, side_vote_cb, &vo);
		free(staple);
	}
	if (side != 0 && cJSON_GetArraySize(vo.arr) == 0)
		devnet_ledger_side_votes(d->ledger, h, now_ms(), side_vote_cb,
		    &vo);
	if (cJSON_GetArraySize(vo.arr) == 0) {
		cJSON_Delete(vo.arr);
		cJSON_AddNullToObject(o, "votes");
	} else
		cJSON_AddItemToObject(o, "votes", vo.arr);
	respond(resp, 200, o);
}

/* ----------------------------- voting ----------------------------- */

struct blockset {
	struct keeta_block	**b;
	uint8_t			(*h)[KEETA_HASH_LEN];
	uint8_t			**der;
	size_t			 *derlen;
	size_t			  n;
};

static void
blockset_free(struct blockset *bs)
{
	size_t	i;

	for (i = 0; i < bs->n; i++) {
		keeta_block_free(bs->b[i]);
		free(bs->der[i]);
	}
	free(bs->b);
	free(bs->h);
	free(bs->der);
	free(bs->derlen);
	memset(bs, 0, sizeof *bs);
}

/* Decode and verify DER blocks into bs (appending). */
static int
blockset_add(struct blockset *bs, const uint8_t *der, size_t len,
    struct devnet_err *err)
{
	struct keeta_block	*b;
	const char		*cause = NULL;

	if (keeta_block_decode(der, len, 0, &b, &cause) != 0) {
		devnet_err_set(err, 400, "BLOCK", "BLOCK_INVALID",
		    "invalid block: %s", cause != NULL ? cause : "?");
		return (-1);
	}
	bs->b = xreallocarray(bs->b, bs->n + 1, sizeof *bs->b);
	bs->h = xreallocarray(bs->h, bs->n + 1, sizeof *bs->h);
	bs->der = xreallocarray(bs->der, bs->n + 1, sizeof *bs->der);
	bs->derlen = xreallocarray(bs->derlen, bs->n + 1,
	    sizeof *bs->derlen);
	if (keeta_block_hash(b, bs->h[bs->n], &cause) != 0) {
		keeta_block_free(b);
		devnet_err_set(err, 400, "BLOCK", "BLOCK_INVALID",
		    "invalid block: %s", cause != NULL ? cause : "?");
		return (-1);
	}
	bs->b[bs->n] = b;
	bs->der[bs->n] = xmalloc(len);
	memcpy(bs->der[bs->n], der, len);
	bs->derlen[bs->n] = len;
	bs->n++;
	return (0);
}

/*
 * The head/successor checks of section 3 against the main ledger, plus
 * network, date, in-request ordering and idempotency. permanent: this is
 * the permanent round (our own temporary vote on these blocks is fine).
 */
static int
check_blocks(struct devnet *d, struct blockset *bs, int permanent,
    int64_t now, struct devnet_err *err)
{
	struct keeta_block	*b;
	uint8_t			 head[KEETA_HASH_LEN], h[KEETA_HASH_LEN];
	uint8_t			 k[KEETA_HASH_LEN], k2[KEETA_HASH_LEN];
	char			 a[KEETA_ADDRESS_MAX];
	size_t			 i, j;
	int			 inreq, opening;
	int64_t			 skew;
	cJSON			*x;

	for (i = 0; i < bs->n; i++) {
		b = bs->b[i];
		keeta_address_encode(&b->account, a);
		if (b->network != d->network) {
			devnet_err_set(err, 400, "LEDGER",
			    "LEDGER_INVALID_NETWORK", "block network %" PRIu64
			    " is not this node's network %" PRIu64,
			    b->network, d->network);
			return (-1);
		}
		if (b->has_subnet) {
			devnet_err_set(err, 400, "LEDGER",
			    "LEDGER_INVALID_SUBNET", "this node has no subnet");
			return (-1);
		}
		if (b->purpose != KEETA_PURPOSE_GENERIC) {
			devnet_err_set(err, 400, "LEDGER",
			    "LEDGER_INVALID_FEE_BLOCK",
			    "this node charges no fees");
			return (-1);
		}
		skew = b->date - now;
		if (skew > DEVNET_DATE_SKEW_MS || skew < -DEVNET_DATE_SKEW_MS) {
			devnet_err_set(err, 400, "LEDGER",
			    "LEDGER_BLOCK_EXPIRED", "block date is more than "
			    "5 minutes away from the node's clock");
			return (-1);
		}
		inreq = 0;
		for (j = 0; j < bs->n; j++) {
			if (j != i && memcmp(bs->b[j]->previous, b->previous,
			    KEETA_HASH_LEN) == 0) {
				devnet_err_set(err, 400, "LEDGER",
				    "LEDGER_PREVIOUS_ALREADY_USED",
				    "two blocks share a previous");
				return (-1);
			}
			if (memcmp(bs->h[j], b->previous, KEETA_HASH_LEN) == 0) {
				if (j >= i || !keeta_pubkey_equal(
				    &bs->b[j]->account, &b->account)) {
					devnet_err_set(err, 400, "LEDGER",
					    "LEDGER_INVALID_CHAIN", "block "
					    "order within the request is "
					    "invalid");
					return (-1);
				}
				inreq = 1;
			}
		}
		if (b->has_idempotent) {
			devnet_idem_key(b, k);
			for (j = 0; j < i; j++) {
				if (!bs->b[j]->has_idempotent)
					continue;
				devnet_idem_key(bs->b[j], k2);
				if (memcmp(k, k2, KEETA_HASH_LEN) == 0)
					break;
			}
			if (j < i || (devnet_ledger_idem_used(d->ledger, k, now,
			    h) && memcmp(h, bs->h[i], KEETA_HASH_LEN) != 0)) {
				if (j < i)
					memcpy(h, bs->h[j], KEETA_HASH_LEN);
				devnet_err_set(err, 400, "LEDGER",
				    "LEDGER_IDEMPOTENT_KEY_EXISTS",
				    "idempotent key already used on %s", a);
				err->extra = x = cJSON_CreateObject();
				cJSON_AddItemToObject(x, "blockhash",
				    keeta_block_json_hex(bs->h[i],
				    KEETA_HASH_LEN));
				cJSON_AddItemToObject(x, "existingBlockhash",
				    keeta_block_json_hex(h, KEETA_HASH_LEN));
				cJSON_AddStringToObject(x, "account", a);
				{
					char *ik = keeta_block_base64_encode(
					    b->idempotent, b->idempotent_len);
					cJSON_AddStringToObject(x,
					    "idempotentKey", ik);
					free(ik);
				}
				return (-1);
			}
		}
		if (inreq)
			continue;
		opening = keeta_block_is_opening(b);
		if (devnet_ledger_head(d->ledger, &b->account, head, NULL)) {
			if (memcmp(head, bs->h[i], KEETA_HASH_LEN) == 0) {
				devnet_err_set(err, 400, "LEDGER",
				    "LEDGER_BLOCK_ALREADY_EXISTS",
				    "Block Already Exists");
				return (-1);
			}
			if (opening) {
				devnet_err_set(err, 400, "LEDGER",
				    "LEDGER_NOT_EMPTY", "opening block for "
				    "non-empty account %s", a);
				return (-1);
			}
			if (memcmp(head, b->previous, KEETA_HASH_LEN) != 0) {
				devnet_err_set(err, 400, "VOTE",
				    "LEDGER_NOT_SUCCESSOR", "block is not a "
				    "successor of the head of %s", a);
				err_accounts(err, &b->account);
				return (-1);
			}
		} else if (!opening) {
			devnet_err_set(err, 400, "VOTE", "LEDGER_NOT_OPENING",
			    "first block of %s must be an opening block", a);
			err_accounts(err, &b->account);
			return (-1);
		}
		/* One live vote per previous (ours). */
		if (devnet_ledger_side_live(d->ledger, b->previous, now, h,
		    NULL, NULL) && (!permanent ||
		    memcmp(h, bs->h[i], KEETA_HASH_LEN) != 0)) {
			devnet_err_set(err, 400, "LEDGER",
			    "LEDGER_SUCCESSOR_VOTE_EXISTS", "a vote for a "
			    "successor of this previous already exists");
			return (-1);
		}
	}
	return (0);
}

static int
json_blocks(const cJSON *arr, struct blockset *bs, struct devnet_err *err)
{
	const cJSON	*it;
	uint8_t		*der;
	size_t		 len;
	int		 rc;

	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) < 1 ||
	    cJSON_GetArraySize(arr) > DEVNET_MAX_BLOCKS) {
		devnet_err_set(err, 400, "API", "API_INVALID_BLOCKS",
		    "blocks must be an array of 1 to %d base64 blocks",
		    DEVNET_MAX_BLOCKS);
		return (-1);
	}
	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsString(it) ||
		    (der = keeta_block_base64_decode(it->valuestring,
		    strlen(it->valuestring), &len)) == NULL) {
			devnet_err_set(err, 400, "API", "API_INVALID_BLOCKS",
			    "blocks must be base64 strings");
			return (-1);
		}
		rc = blockset_add(bs, der, len, err);
		free(der);
		if (rc != 0)
			return (-1);
	}
	return (0);
}

static void
route_vote(struct devnet *d, const struct devnet_req *req,
    struct devnet_resp *resp)
{
	struct devnet_err	 err;
	struct blockset		 bs;
	cJSON			*body = NULL, *votes, *it, *o, *vj;
	uint8_t			*vder = NULL, *raw;
	size_t			 vlen, rawlen;
	int64_t			 now = now_ms(), expires;
	int			 permanent, have_self = 0;
	struct devnet_vote_info	 vi;
	uint64_t		 serial;

	memset(&err, 0, sizeof err);
	memset(&bs, 0, sizeof bs);
	if (req->body == NULL || (body = cJSON_Parse(req->body)) == NULL) {
		respond_simple_err(resp, 400, "API", "API_INVALID_JSON",
		    "request body is not JSON");
		return;
	}
	if (json_blocks(cJSON_GetObjectItemCaseSensitive(body, "blocks"), &bs,
	    &err) != 0)
		goto fail;
	if (cJSON_GetObjectItemCaseSensitive(body, "quote") != NULL &&
	    !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(body, "quote"))) {
		devnet_err_set(&err, 400, "LEDGER", "LEDGER_QUOTE_MISMATCH",
		    "this node issues no quotes");
		goto fail;
	}
	votes = cJSON_GetObjectItemCaseSensitive(body, "votes");
	permanent = votes != NULL && !cJSON_IsNull(votes);
	if (permanent) {
		if (!cJSON_IsArray(votes) || cJSON_GetArraySize(votes) < 1) {
			devnet_err_set(&err, 400, "API", "API_INVALID_VOTES",
			    "votes must be a non-empty array");
			goto fail;
		}
		cJSON_ArrayForEach(it, votes) {
			if (!cJSON_IsString(it) || (raw =
			    keeta_block_base64_decode(it->valuestring,
			    strlen(it->valuestring), &rawlen)) == NULL) {
				devnet_err_set(&err, 400, "API",
				    "API_INVALID_VOTES",
				    "votes must be base64 strings");
				goto fail;
			}
			if (devnet_vote_check(raw, rawlen, bs.h, bs.n, now,
			    &vi, &err) != 0) {
				free(raw);
				goto fail;
			}
			free(raw);
			if (keeta_pubkey_equal(&vi.issuer, &d->rep_pk) &&
			    !vi.permanent)
				have_self = 1;
		}
		if (!have_self) {
			devnet_err_set(&err, 400, "LEDGER",
			    "LEDGER_NO_PERM_WITHOUT_SELF_TEMP", "a permanent "
			    "vote needs this representative's temporary vote");
			goto fail;
		}
	}
	if (check_blocks(d, &bs, permanent, now, &err) != 0)
		goto fail;

	devnet_ledger_serial_prepare(d->ledger);
	devnet_ledger_relaxed(d->ledger, 1);
	devnet_ledger_begin(d->ledger);
	if (!permanent) {
		/* The outcome is checked on a throw-away application. */
		devnet_ledger_begin(d->ledger);
		if (devnet_ledger_apply(d->ledger, bs.b,
		    (const uint8_t (*)[KEETA_HASH_LEN])bs.h, bs.n, 1,
		    &err) != 0) {
			devnet_ledger_rollback(d->ledger);
			devnet_ledger_rollback(d->ledger);
			devnet_ledger_relaxed(d->ledger, 0);
			goto fail;
		}
		devnet_ledger_rollback(d->ledger);
	}
	serial = devnet_ledger_next_serial(d->ledger);
	vder = devnet_vote_issue(d->rep, serial,
	    (const uint8_t (*)[KEETA_HASH_LEN])bs.h, bs.n, now, permanent,
	    &vlen, &expires);
	if (vder == NULL)
		fatalx("devnet: cannot build a vote");
	devnet_ledger_side_put(d->ledger, bs.b,
	    (const uint8_t (*)[KEETA_HASH_LEN])bs.h, bs.n, vder, vlen,
	    expires, permanent);
	devnet_ledger_commit(d->ledger);
	devnet_ledger_relaxed(d->ledger, 0);

	vj = devnet_vote_json(vder, vlen);
	free(vder);
	if (vj == NULL)
		fatalx("devnet: cannot describe our own vote");
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "vote", vj);
	respond(resp, 200, o);
	cJSON_Delete(body);
	blockset_free(&bs);
	return;
fail:
	cJSON_Delete(body);
	blockset_free(&bs);
	respond_err(resp, &err);
}

/*
 * Apply a verified staple to the main ledger. Checks what Ledger.add
 * checks (votes, existing blocks, previous) but not the outcome rules.
 */
static int
publish_staple(struct devnet *d, const uint8_t *wire, size_t wirelen,
    struct devnet_err *err)
{
	struct devnet_staple	 st;
	struct blockset		 bs;
	uint8_t			 head[KEETA_HASH_LEN];
	uint64_t		 height;
	size_t			 i, j;
	int			 inreq, trusted_ok;

	memset(&bs, 0, sizeof bs);
	if (devnet_staple_open(wire, wirelen, now_ms(), &st, err) != 0)
		return (-1);
	/* Before genesis only the trusted account's vote counts. */
	trusted_ok = d->has_trusted && devnet_ledger_empty(d->ledger);
	for (i = 0; i < st.nvotes; i++) {
		if (!st.vinfo[i].permanent) {
			devnet_err_set(err, 400, "LEDGER",
			    "LEDGER_VOTE_NOT_PERMANENT",
			    "a published staple needs permanent votes");
			goto fail;
		}
		if (keeta_pubkey_equal(&st.vinfo[i].issuer, &d->rep_pk) ||
		    (trusted_ok && keeta_pubkey_equal(&st.vinfo[i].issuer,
		    &d->trusted)))
			break;
	}
	if (i == st.nvotes) {
		devnet_err_set(err, 400, "LEDGER",
		    "LEDGER_INSUFFICIENT_VOTING_WEIGHT",
		    "the staple's votes do not carry enough weight");
		goto fail;
	}
	for (i = 0; i < st.nblocks; i++) {
		if (blockset_add(&bs, st.blocks[i], st.blocklens[i], err) != 0)
			goto fail;
	}
	for (i = 0; i < bs.n; i++) {
		if (bs.b[i]->network != d->network) {
			devnet_err_set(err, 400, "LEDGER",
			    "LEDGER_INVALID_NETWORK", "wrong network");
			goto fail;
		}
		if (devnet_ledger_height(d->ledger, bs.h[i], &height)) {
			devnet_err_set(err, 400, "LEDGER",
			    "LEDGER_BLOCK_ALREADY_EXISTS",
			    "Block Already Exists");
			goto fail;
		}
		inreq = 0;
		for (j = 0; j < i; j++) {
			if (memcmp(bs.h[j], bs.b[i]->previous,
			    KEETA_HASH_LEN) == 0)
				inreq = 1;
		}
		if (inreq)
			continue;
		if (devnet_ledger_head(d->ledger, &bs.b[i]->account, head,
		    NULL)) {
			if (memcmp(head, bs.b[i]->previous, KEETA_HASH_LEN) !=
			    0 || keeta_block_is_opening(bs.b[i])) {
				devnet_err_set(err, 400, "LEDGER",
				    "LEDGER_PREVIOUS_ALREADY_USED",
				    "previous is not the head of the account");
				goto fail;
			}
		} else if (!keeta_block_is_opening(bs.b[i])) {
			devnet_err_set(err, 400, "LEDGER",
			    "LEDGER_PREVIOUS_ALREADY_USED",
			    "previous block is unknown");
			goto fail;
		}
	}
	devnet_ledger_begin(d->ledger);
	if (devnet_ledger_apply(d->ledger, bs.b,
	    (const uint8_t (*)[KEETA_HASH_LEN])bs.h, bs.n, 0, err) != 0) {
		devnet_ledger_rollback(d->ledger);
		goto fail;
	}
	devnet_ledger_record(d->ledger, bs.b,
	    (const uint8_t (*)[KEETA_HASH_LEN])bs.h,
	    (const uint8_t *const *)bs.der, bs.derlen, bs.n, st.id,
	    st.timestamp, wire, wirelen);
	devnet_ledger_commit(d->ledger);
	blockset_free(&bs);
	devnet_staple_close(&st);
	return (0);
fail:
	blockset_free(&bs);
	devnet_staple_close(&st);
	return (-1);
}

static void
route_publish(struct devnet *d, const struct devnet_req *req,
    struct devnet_resp *resp)
{
	struct devnet_err	 err;
	cJSON			*body, *vb, *o;
	uint8_t			*wire;
	size_t			 len;

	memset(&err, 0, sizeof err);
	if (req->body == NULL || (body = cJSON_Parse(req->body)) == NULL) {
		respond_simple_err(resp, 400, "API", "API_INVALID_JSON",
		    "request body is not JSON");
		return;
	}
	vb = cJSON_GetObjectItemCaseSensitive(body, "votesAndBlocks");
	if (!cJSON_IsString(vb) || (wire = keeta_block_base64_decode(
	    vb->valuestring, strlen(vb->valuestring), &len)) == NULL) {
		cJSON_Delete(body);
		respond_simple_err(resp, 400, "API", "API_INVALID_STAPLE",
		    "votesAndBlocks must be a base64 staple");
		return;
	}
	cJSON_Delete(body);
	if (publish_staple(d, wire, len, &err) != 0) {
		free(wire);
		respond_err(resp, &err);
		return;
	}
	free(wire);
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "publish", 1);
	respond(resp, 200, o);
}

/* ------------------------------ routing ------------------------------ */

/* Split "/a/b/c" into at most max segments (in place); trailing "/"
 * gives an empty last segment. */
static size_t
split_path(char *path, char **seg, size_t max)
{
	size_t	n = 0;
	char	*p = path;

	if (*p == '/')
		p++;
	while (n < max) {
		seg[n++] = p;
		p = strchr(p, '/');
		if (p == NULL)
			break;
		*p++ = '\0';
	}
	return (n);
}

static void
route_account(struct devnet *d, char **seg, size_t n,
    const struct devnet_req *req, const char *rest, struct devnet_resp *resp)
{
	struct keeta_pubkey	pk;
	const char		*what;

	if (parse_account(seg[0], &pk, resp) != 0)
		return;
	if (n == 1) {
		respond(resp, 200, account_state(d, &pk));
		return;
	}
	what = seg[1];
	if (strcmp(what, "head") == 0 && n == 2)
		route_head(d, &pk, resp);
	else if (strcmp(what, "balance") == 0 && n <= 3)
		route_balance(d, &pk, n == 3 ? seg[2] : NULL, resp);
	else if (strcmp(what, "acl") == 0 && n <= 4) {
		if (n == 4 && strcmp(seg[2], "additional") != 0)
			goto unknown;
		route_acl(d, &pk, n >= 3 ? seg[2] : NULL, resp);
	} else if (strcmp(what, "chain") == 0 && n == 2)
		route_chain(d, &pk, req, resp);
	else if (strcmp(what, "history") == 0 && n == 2)
		route_history(d, &pk, req, resp);
	else if (strcmp(what, "pending") == 0 && n == 2)
		route_pending(d, &pk, resp);
	else if (strcmp(what, "idempotent") == 0 && n >= 3)
		route_idempotent(d, &pk, rest, resp);
	else if (strcmp(what, "certificates") == 0 && n == 2) {
		cJSON	*o = cJSON_CreateObject();

		cJSON_AddItemToObject(o, "account",
		    keeta_block_json_address(&pk));
		cJSON_AddArrayToObject(o, "certificates");
		respond(resp, 200, o);
	} else
		goto unknown;
	return;
unknown:
	respond_simple_err(resp, 404, "API", "API_NOT_FOUND", "no such route");
}

static void
route_accounts(struct devnet *d, const char *list, struct devnet_resp *resp)
{
	char			*copy, *s, *tok, *save = NULL;
	struct keeta_pubkey	 pk;
	cJSON			*arr, *o;
	const char		*cause;

	arr = cJSON_CreateArray();
	copy = xstrdup(list);
	for (s = copy; (tok = strtok_r(s, ",", &save)) != NULL; s = NULL) {
		cause = NULL;
		if (keeta_pubkey_parse(tok, &pk, &cause) != 0) {
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "account", tok);
			cJSON_AddStringToObject(o, "error", cause != NULL ?
			    cause : "invalid account");
			cJSON_AddItemToArray(arr, o);
		} else
			cJSON_AddItemToArray(arr, account_state(d, &pk));
	}
	free(copy);
	respond(resp, 200, arr);
}

static void
devnet_handle(void *arg, const struct devnet_req *req,
    struct devnet_resp *resp)
{
	struct devnet	*d = arg;
	char		*path, *seg[12], *rest = NULL;
	size_t		 n;
	const char	*idem;
	cJSON		*o;

	if (d->verbose)
		fprintf(stderr, "kdex-devnet: %s %s\n",
		    req->method == DEVNET_POST ? "POST" : "GET", req->path);
	path = xstrdup(req->path);
	idem = strstr(req->path, "/idempotent/");
	if (idem != NULL)
		rest = xstrdup(idem + strlen("/idempotent/"));
	n = split_path(path, seg, 12);
	if (n < 2 || strcmp(seg[0], "api") != 0)
		goto unknown;
	if (req->method == DEVNET_POST) {
		if (n == 2 && strcmp(seg[1], "vote") == 0)
			route_vote(d, req, resp);
		else if (n == 3 && strcmp(seg[1], "vote") == 0 &&
		    strcmp(seg[2], "quote") == 0)
			respond_simple_err(resp, 400, "VOTE",
			    "VOTE_FEE_QUOTE_MISSING_FEES",
			    "this node charges no fees and issues no quotes");
		else if (n == 3 && strcmp(seg[1], "node") == 0 &&
		    strcmp(seg[2], "publish") == 0)
			route_publish(d, req, resp);
		else
			goto unknown;
		goto out;
	}
	if (req->method != DEVNET_GET)
		goto unknown;
	if (n == 3 && strcmp(seg[1], "vote") == 0) {
		route_votes(d, seg[2], req, resp);
		goto out;
	}
	if (strcmp(seg[1], "node") != 0 || n < 3)
		goto unknown;
	if (n == 3 && strcmp(seg[2], "version") == 0) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "node", DEVNET_VERSION);
		respond(resp, 200, o);
		goto out;
	}
	if (n == 3 && strcmp(seg[2], "peers") == 0) {
		o = cJSON_CreateObject();
		cJSON_AddArrayToObject(o, "peers");
		respond(resp, 200, o);
		goto out;
	}
	if (strcmp(seg[2], "ledger") != 0 || n < 4)
		goto unknown;
	if (n == 4 && strcmp(seg[3], "representatives") == 0)
		route_representatives(d, resp);
	else if (n <= 5 && strcmp(seg[3], "representative") == 0)
		route_representative(d, n == 5 ? seg[4] : NULL, resp);
	else if (n == 4 && strcmp(seg[3], "history") == 0)
		route_history(d, NULL, req, resp);
	else if (n == 5 && strcmp(seg[3], "accounts") == 0)
		route_accounts(d, seg[4], resp);
	else if (n >= 5 && strcmp(seg[3], "account") == 0)
		route_account(d, seg + 4, n - 4, req, rest, resp);
	else if (n == 5 && strcmp(seg[3], "block") == 0)
		route_block(d, seg[4], NULL, req, resp);
	else if (n == 6 && strcmp(seg[3], "block") == 0 &&
	    strcmp(seg[5], "successor") == 0)
		route_block(d, seg[4], seg[5], req, resp);
	else
		goto unknown;
	goto out;
unknown:
	respond_simple_err(resp, 404, "API", "API_NOT_FOUND", "no such route");
out:
	free(path);
	free(rest);
}

/* ------------------------------ genesis ------------------------------ */

static struct keeta_block *
gblock(struct devnet *d, const struct keeta_pubkey *acct,
    const uint8_t prev[KEETA_HASH_LEN], int64_t now)
{
	return (keeta_block_new(1, d->network, acct, prev, now));
}

static void
gsign(struct keeta_block *b, struct keeta_account *signer, struct blockset *bs)
{
	uint8_t		*der;
	size_t		 len;
	const char	*cause = NULL;
	struct devnet_err err;

	memset(&err, 0, sizeof err);
	if (keeta_block_sign(b, &signer, 1, &cause) != 0 ||
	    (der = keeta_block_encode(b, 1, &len, &cause)) == NULL)
		fatalx("devnet: genesis block: %s", cause != NULL ? cause :
		    "?");
	keeta_block_free(b);
	if (blockset_add(bs, der, len, &err) != 0)
		fatalx("devnet: genesis block: %s", err.message);
	free(der);
}

/* Vote on, staple and apply a node-built staple (genesis, tokens). */
static void
genesis_publish(struct devnet *d, struct blockset *bs, int64_t now)
{
	uint8_t			*vote, *wire;
	size_t			 vlen, wlen;
	int64_t			 expires;
	struct devnet_err	 err;
	uint64_t		 serial;

	memset(&err, 0, sizeof err);
	devnet_ledger_serial_prepare(d->ledger);
	devnet_ledger_begin(d->ledger);
	serial = devnet_ledger_next_serial(d->ledger);
	vote = devnet_vote_issue(d->rep, serial,
	    (const uint8_t (*)[KEETA_HASH_LEN])bs->h, bs->n, now, 1, &vlen,
	    &expires);
	devnet_ledger_commit(d->ledger);
	if (vote == NULL)
		fatalx("devnet: cannot vote on genesis");
	wire = devnet_staple_build((const uint8_t *const *)bs->der,
	    bs->derlen, bs->n, (const uint8_t *const *)&vote, &vlen, 1, &wlen);
	free(vote);
	if (wire == NULL)
		fatalx("devnet: cannot staple genesis");
	if (publish_staple(d, wire, wlen, &err) != 0)
		fatalx("devnet: genesis rejected: %s", err.message);
	free(wire);
}

static void
amount_dec(struct keeta_amount *a, const char *dec)
{
	if (keeta_amount_from_dec(a, dec) != 0)
		fatalx("devnet: bad amount %s", dec);
}

static void
genesis_faucet(struct devnet *d, int64_t now)
{
	struct blockset		 bs;
	struct keeta_block	*b;
	const struct keeta_pubkey *net, *base, *fk;
	struct keeta_perm	 p;
	struct keeta_amount	 supply;
	uint8_t			 prev[KEETA_HASH_LEN];

	memset(&bs, 0, sizeof bs);
	net = devnet_ledger_network_address(d->ledger);
	base = devnet_ledger_base_token(d->ledger);
	fk = keeta_account_pubkey(d->faucet);
	amount_dec(&supply, DEVNET_BASE_SUPPLY);

	keeta_opening_hash(net, prev);
	b = gblock(d, net, prev, now);
	keeta_perm_init(&p);
	keeta_perm_add_flag(&p, KEETA_PERM_OWNER, NULL);
	keeta_block_add_modify_permissions(b, fk, KEETA_ADJUST_SET, &p, NULL,
	    NULL);
	keeta_perm_init(&p);
	keeta_perm_add_flag(&p, KEETA_PERM_STORAGE_CREATE, NULL);
	keeta_perm_add_flag(&p, KEETA_PERM_TOKEN_ADMIN_CREATE, NULL);
	keeta_block_add_set_info(b, "", "", "", &p, NULL);
	gsign(b, d->faucet, &bs);

	keeta_opening_hash(base, prev);
	b = gblock(d, base, prev, now);
	keeta_perm_init(&p);
	keeta_perm_add_flag(&p, KEETA_PERM_OWNER, NULL);
	keeta_block_add_modify_permissions(b, fk, KEETA_ADJUST_SET, &p, NULL,
	    NULL);
	keeta_perm_init(&p);
	keeta_perm_add_flag(&p, KEETA_PERM_ACCESS, NULL);
	keeta_block_add_set_info(b, "KTA", "", "", &p, NULL);
	keeta_block_add_token_supply(b, &supply, KEETA_ADJUST_ADD, NULL);
	gsign(b, d->faucet, &bs);

	keeta_opening_hash(fk, prev);
	b = gblock(d, fk, prev, now);
	keeta_block_add_modify_balance(b, base, &supply, KEETA_ADJUST_ADD,
	    NULL);
	keeta_block_add_set_rep(b, &d->rep_pk, NULL);
	gsign(b, d->faucet, &bs);
	genesis_publish(d, &bs, now);
	blockset_free(&bs);
}

/* Pre-create one token owned by the faucet, supply minted to it. */
static void
genesis_token(struct devnet *d, struct devnet_tok *t, int64_t now)
{
	struct blockset		 bs;
	struct keeta_block	*b;
	const struct keeta_pubkey *fk;
	struct keeta_perm	 p;
	struct keeta_amount	 supply;
	uint8_t			 prev[KEETA_HASH_LEN], th[KEETA_HASH_LEN];
	char			*dec, *meta, meta_json[64];
	unsigned int		 i;

	memset(&bs, 0, sizeof bs);
	fk = keeta_account_pubkey(d->faucet);
	if (!devnet_ledger_head(d->ledger, fk, prev, NULL))
		fatalx("devnet: faucet has no chain");
	b = gblock(d, fk, prev, now);
	if (keeta_block_add_create_identifier(b, KEETA_KEY_TOKEN, &t->pk,
	    NULL) < 0)
		fatalx("devnet: cannot create token %s", t->name);
	gsign(b, d->faucet, &bs);

	/* 10^12 whole units. */
	dec = xmalloc(13 + t->decimals + 1);
	dec[0] = '1';
	for (i = 1; i < 13 + t->decimals; i++)
		dec[i] = '0';
	dec[i] = '\0';
	amount_dec(&supply, dec);
	free(dec);
	snprintf(meta_json, sizeof meta_json, "{\"decimalPlaces\":%u}",
	    t->decimals);
	meta = keeta_block_base64_encode((const uint8_t *)meta_json,
	    strlen(meta_json));

	keeta_opening_hash(&t->pk, prev);
	b = gblock(d, &t->pk, prev, now);
	keeta_perm_init(&p);
	keeta_perm_add_flag(&p, KEETA_PERM_ACCESS, NULL);
	if (keeta_block_add_set_info(b, t->name, "", meta, &p, NULL) < 0)
		fatalx("devnet: bad token name %s (use A-Z and _)", t->name);
	free(meta);
	keeta_block_add_token_supply(b, &supply, KEETA_ADJUST_ADD, NULL);
	keeta_block_set_signer(b, fk, NULL);
	gsign(b, d->faucet, &bs);
	memcpy(th, bs.h[bs.n - 1], KEETA_HASH_LEN);

	b = gblock(d, &t->pk, th, now);
	keeta_block_add_send(b, fk, &supply, &t->pk, NULL, NULL);
	keeta_block_set_signer(b, fk, NULL);
	gsign(b, d->faucet, &bs);
	genesis_publish(d, &bs, now);
	blockset_free(&bs);
}

/* ------------------------------ lifecycle ------------------------------ */

void
devnet_config_init(struct devnet_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->genesis = DEVNET_GENESIS_FAUCET;
}

static void
random_seed_hex(char out[2 * KEETA_SEED_LEN + 1])
{
	uint8_t	seed[KEETA_SEED_LEN];

	randombytes_buf(seed, sizeof seed);
	keeta_hex_encode(seed, sizeof seed, out);
	sodium_memzero(seed, sizeof seed);
}

/* A seed from meta, else from the config, else random; kept in meta. */
static int
seed_setting(struct devnet *d, const char *key, const char *given,
    char out[2 * KEETA_SEED_LEN + 1], char **cause)
{
	char	*stored;
	uint8_t	 seed[KEETA_SEED_LEN];

	stored = devnet_ledger_meta_get(d->ledger, key);
	if (stored != NULL && given != NULL && strcasecmp(stored, given) != 0) {
		free(stored);
		xasprintf(cause, "the data directory was made with another %s",
		    key);
		return (-1);
	}
	if (stored != NULL) {
		snprintf(out, 2 * KEETA_SEED_LEN + 1, "%s", stored);
		free(stored);
	} else if (given != NULL) {
		if (keeta_seed_from_hex(given, seed, NULL) != 0) {
			xasprintf(cause, "%s must be 64 hex digits", key);
			return (-1);
		}
		keeta_hex_encode(seed, sizeof seed, out);
		sodium_memzero(seed, sizeof seed);
	} else
		random_seed_hex(out);
	devnet_ledger_meta_set(d->ledger, key, out);
	return (0);
}

static struct keeta_account *
account_from_hex(const char *hex)
{
	uint8_t			 seed[KEETA_SEED_LEN];
	struct keeta_account	*a;

	if (keeta_seed_from_hex(hex, seed, NULL) != 0)
		return (NULL);
	/* secp256k1 index 0: what the SDK's Account.fromSeed(seed, 0)
	 * gives, so a printed seed is usable as is. */
	a = keeta_account_from_seed(seed, 0, KEETA_KEY_SECP256K1, NULL);
	sodium_memzero(seed, sizeof seed);
	return (a);
}

static int
check_meta(struct devnet *d, const char *key, const char *want, char **cause)
{
	char	*v = devnet_ledger_meta_get(d->ledger, key);

	if (v == NULL) {
		devnet_ledger_meta_set(d->ledger, key, want);
		return (0);
	}
	if (strcmp(v, want) != 0) {
		xasprintf(cause, "the data directory was made with %s %s, "
		    "not %s", key, v, want);
		free(v);
		return (-1);
	}
	free(v);
	return (0);
}

static void
devnet_free(struct devnet *d)
{
	size_t	i;

	devnet_ledger_close(d->ledger);
	keeta_account_free(d->rep);
	keeta_account_free(d->faucet);
	for (i = 0; i < d->ntokens; i++)
		free(d->tokens[i].name);
	free(d->tokens);
	free(d->api);
	free(d->p2p);
	sodium_memzero(d->faucet_seed, sizeof d->faucet_seed);
	free(d);
}

/* A token name as SET_INFO accepts it: 1 to 50 of A-Z and _. */
static int
token_name_ok(const char *name)
{
	size_t	n = strlen(name);

	return (n > 0 && n <= KEETA_NAME_MAX &&
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") == n);
}

/*
 * Tokens: those stored by earlier runs (meta token.N = NAME:DEC:ADDRESS),
 * then every configured token not among them, created now, so a restart
 * with one more token adds it.
 */
static int
setup_tokens(struct devnet *d, const struct devnet_config *cfg, int64_t now,
    char **cause)
{
	char			 key[32], *v, *c1, *c2;
	size_t			 i, j;
	struct devnet_tok	*t;

	for (i = 0;; i++) {
		snprintf(key, sizeof key, "token.%zu", i);
		if ((v = devnet_ledger_meta_get(d->ledger, key)) == NULL)
			break;
		c1 = strchr(v, ':');
		c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
		if (c2 == NULL) {
			free(v);
			xasprintf(cause, "bad stored token %s", key);
			return (-1);
		}
		*c1 = *c2 = '\0';
		d->tokens = xreallocarray(d->tokens, d->ntokens + 1,
		    sizeof *d->tokens);
		t = &d->tokens[d->ntokens];
		if (keeta_address_decode(c2 + 1, &t->pk, NULL) != 0) {
			free(v);
			xasprintf(cause, "bad stored token %s", key);
			return (-1);
		}
		t->name = xstrdup(v);
		t->decimals = (unsigned int)strtoul(c1 + 1, NULL, 10);
		snprintf(t->addr, KEETA_ADDRESS_MAX, "%s", c2 + 1);
		d->ntokens++;
		free(v);
	}
	for (i = 0; i < cfg->ntokens; i++) {
		if (!token_name_ok(cfg->tokens[i].name) ||
		    cfg->tokens[i].decimals > 40) {
			xasprintf(cause, "invalid token '%s:%u' (name: A-Z and _, "
			    "decimals: 0 to 40)", cfg->tokens[i].name,
			    cfg->tokens[i].decimals);
			return (-1);
		}
		for (j = 0; j < d->ntokens; j++) {
			if (strcmp(d->tokens[j].name, cfg->tokens[i].name) == 0)
				break;
		}
		if (j < d->ntokens)
			continue;
		d->tokens = xreallocarray(d->tokens, d->ntokens + 1,
		    sizeof *d->tokens);
		t = &d->tokens[d->ntokens];
		t->name = xstrdup(cfg->tokens[i].name);
		t->decimals = cfg->tokens[i].decimals;
		genesis_token(d, t, now);
		keeta_address_encode(&t->pk, t->addr);
		snprintf(key, sizeof key, "token.%zu", d->ntokens);
		xasprintf(&v, "%s:%u:%s", t->name, t->decimals, t->addr);
		devnet_ledger_meta_set(d->ledger, key, v);
		free(v);
		d->ntokens++;
	}
	return (0);
}

struct devnet *
devnet_start(const struct devnet_config *cfg, char **cause)
{
	struct devnet	*d;
	char		*path = NULL, rep_seed[2 * KEETA_SEED_LEN + 1], buf[32];
	const char	*host, *c = NULL;
	int		 fresh;
	int64_t		 now = now_ms();

	if (sodium_init() < 0) {
		*cause = xstrdup("cannot initialise libsodium");
		return (NULL);
	}
	d = xcalloc(1, sizeof *d);
	d->network = cfg->network_id;
	d->verbose = cfg->verbose;
	d->genesis = cfg->genesis;
	if (cfg->data_dir != NULL) {
		if (mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) {
			xasprintf(cause, "cannot create %s: %s", cfg->data_dir,
			    strerror(errno));
			free(d);
			return (NULL);
		}
		xasprintf(&path, "%s/devnet.sqlite", cfg->data_dir);
	}
	d->ledger = devnet_ledger_open(path, cause);
	free(path);
	if (d->ledger == NULL) {
		free(d);
		return (NULL);
	}
	fresh = devnet_ledger_empty(d->ledger);
	snprintf(buf, sizeof buf, "%" PRIu64, cfg->network_id);
	if (check_meta(d, "network", buf, cause) != 0 ||
	    check_meta(d, "genesis", cfg->genesis == DEVNET_GENESIS_FAUCET ?
	    "faucet" : "trusted", cause) != 0)
		goto fail;
	if (seed_setting(d, "rep-seed", cfg->rep_seed_hex, rep_seed,
	    cause) != 0)
		goto fail;
	d->rep = account_from_hex(rep_seed);
	sodium_memzero(rep_seed, sizeof rep_seed);
	if (d->rep == NULL) {
		*cause = xstrdup("cannot derive the representative key");
		goto fail;
	}
	d->rep_pk = *keeta_account_pubkey(d->rep);
	keeta_address_encode(&d->rep_pk, d->rep_addr);

	if (cfg->genesis == DEVNET_GENESIS_FAUCET) {
		if (seed_setting(d, "faucet-seed", cfg->faucet_seed_hex,
		    d->faucet_seed, cause) != 0)
			goto fail;
		d->faucet = account_from_hex(d->faucet_seed);
		if (d->faucet == NULL) {
			*cause = xstrdup("cannot derive the faucet key");
			goto fail;
		}
		d->trusted = *keeta_account_pubkey(d->faucet);
		keeta_address_encode(&d->trusted, d->faucet_addr);
	} else {
		if (cfg->trusted == NULL || keeta_pubkey_parse(cfg->trusted,
		    &d->trusted, &c) != 0) {
			xasprintf(cause, "invalid trusted account: %s",
			    c != NULL ? c : "missing");
			goto fail;
		}
		if (check_meta(d, "trusted", cfg->trusted, cause) != 0)
			goto fail;
	}
	d->has_trusted = 1;
	devnet_ledger_setup(d->ledger, d->network, &d->rep_pk, &d->trusted);
	keeta_address_encode(devnet_ledger_network_address(d->ledger),
	    d->netaddr);
	keeta_address_encode(devnet_ledger_base_token(d->ledger),
	    d->basetoken);
	if (cfg->genesis == DEVNET_GENESIS_FAUCET && fresh)
		genesis_faucet(d, now);
	if (cfg->genesis == DEVNET_GENESIS_FAUCET &&
	    setup_tokens(d, cfg, now, cause) != 0)
		goto fail;

	host = cfg->host != NULL ? cfg->host : "127.0.0.1";
	d->http = devnet_http_start(host, cfg->port, devnet_handle, d, cause);
	if (d->http == NULL)
		goto fail;
	d->port = devnet_http_port(d->http);
	xasprintf(&d->api, "http://%s:%d/api", host, d->port);
	xasprintf(&d->p2p, "ws://%s:%d/p2p", host, d->port);
	return (d);
fail:
	devnet_free(d);
	return (NULL);
}

void
devnet_stop(struct devnet *d)
{
	if (d == NULL)
		return;
	devnet_http_stop(d->http);
	devnet_free(d);
}

const char *
devnet_api_url(const struct devnet *d)
{
	return (d->api);
}

int
devnet_port(const struct devnet *d)
{
	return (d->port);
}

const char *
devnet_representative(const struct devnet *d)
{
	return (d->rep_addr);
}

const char *
devnet_network_address(const struct devnet *d)
{
	return (d->netaddr);
}

const char *
devnet_base_token(const struct devnet *d)
{
	return (d->basetoken);
}

uint64_t
devnet_network_id(const struct devnet *d)
{
	return (d->network);
}

const char *
devnet_faucet_seed(const struct devnet *d)
{
	return (d->faucet != NULL ? d->faucet_seed : NULL);
}

const char *
devnet_faucet_address(const struct devnet *d)
{
	return (d->faucet != NULL ? d->faucet_addr : NULL);
}

size_t
devnet_token_count(const struct devnet *d)
{
	return (d->ntokens);
}

const char *
devnet_token_name(const struct devnet *d, size_t i)
{
	return (i < d->ntokens ? d->tokens[i].name : NULL);
}

const char *
devnet_token_address(const struct devnet *d, size_t i)
{
	return (i < d->ntokens ? d->tokens[i].addr : NULL);
}
