/*
 * kdex wallet ... and kdex self-withdraw: the user's storage account on
 * the Keeta chain, handled with the user's own key through a Keeta
 * representative (src/keeta_client), never through kdexd's custody.
 *
 * kdexd is only asked for what it publishes anyway (GET /info: network,
 * representatives, operator, market tokens) and told the storage account
 * once it exists (POST /account/storage). All of that is saved in
 * <home>/wallets/<profile>.json, so permissions and self-withdraw work
 * with kdexd stopped or gone: the chain is the authority.
 *
 * The storage account S: created by the user's account (which becomes its
 * OWNER), default permission STORAGE_DEPOSIT + STORAGE_CAN_HOLD (anyone
 * may deposit, any token may be held), and the exchange operator gets
 * SEND_ON_BEHALF with each traded token as target, so it can settle trades
 * and withdrawals and nothing else.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "api.h"
#include "kdex.h"
#include "keeta_block.h"
#include "keeta_client.h"
#include "keyfile.h"
#include "money.h"
#include "util.h"

#define W_TOKENS_MAX	32

struct w_token {
	char			symbol[16];
	unsigned int		decimals;
	struct keeta_pubkey	pk;
};

/* Everything a wallet command needs. */
struct w_ctx {
	cJSON			*state;		/* the saved wallet state */
	uint64_t		 network;
	char			*reps[8];
	size_t			 nreps;
	int			 has_operator;
	struct keeta_pubkey	 operator_pk;
	int			 has_storage;
	struct keeta_pubkey	 storage;
	struct w_token		 tokens[W_TOKENS_MAX];
	size_t			 ntokens;
	struct keeta_client	*kc;
	struct keyfile		 kf;
	struct keeta_account	*owner;
};

static char *
w_state_path(void)
{
	char	*home, *p;

	home = api_home();
	xasprintf(&p, "%s/wallets/%s.json", home, kdex_g.profile);
	free(home);
	return p;
}

static int
w_state_save(const struct w_ctx *w)
{
	char	*home, *dir, *path, *s;
	FILE	*f;

	home = api_home();
	xasprintf(&dir, "%s/wallets", home);
	if ((mkdir(home, 0700) != 0 && errno != EEXIST) ||
	    (mkdir(dir, 0700) != 0 && errno != EEXIST)) {
		kdex_err(0, "cannot create '%s': %s", dir, strerror(errno));
		free(home);
		free(dir);
		return -1;
	}
	free(home);
	free(dir);
	path = w_state_path();
	if ((s = cJSON_Print(w->state)) == NULL)
		fatalx("out of memory");
	if ((f = fopen(path, "w")) == NULL || fprintf(f, "%s\n", s) < 0 ||
	    fclose(f) != 0) {
		kdex_err(0, "cannot write '%s': %s", path, strerror(errno));
		free(s);
		free(path);
		return -1;
	}
	free(s);
	free(path);
	return 0;
}

static const char *
w_str(const cJSON *o, const char *name)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name));
}

/* Parse the state (saved or just fetched) into w. */
static int
w_load_fields(struct w_ctx *w)
{
	const cJSON	*r, *t;
	const char	*s, *why;

	s = w_str(w->state, "network_id");
	w->network = s != NULL ? strtoull(s, NULL, 0) : 0;
	w->nreps = 0;
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(w->state,
	    "representatives"))
		if (cJSON_IsString(r) && w->nreps < 8)
			w->reps[w->nreps++] = r->valuestring;
	if ((s = w_str(w->state, "operator")) != NULL &&
	    keeta_address_decode(s, &w->operator_pk, &why) == 0)
		w->has_operator = 1;
	if ((s = w_str(w->state, "storage")) != NULL &&
	    keeta_address_decode(s, &w->storage, &why) == 0)
		w->has_storage = 1;
	w->ntokens = 0;
	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(w->state,
	    "tokens")) {
		struct w_token	*k;

		if (w->ntokens == W_TOKENS_MAX)
			break;
		k = &w->tokens[w->ntokens];
		s = w_str(t, "token");
		if (s == NULL || keeta_address_decode(s, &k->pk, &why) != 0)
			continue;
		snprintf(k->symbol, sizeof k->symbol, "%s",
		    w_str(t, "symbol") != NULL ? w_str(t, "symbol") : "?");
		k->decimals = (unsigned int)cJSON_GetNumberValue(
		    cJSON_GetObjectItemCaseSensitive(t, "decimals"));
		if (k->decimals > MONEY_MAX_DECIMALS)
			k->decimals = 0;
		w->ntokens++;
	}
	return w->nreps > 0 ? 0 : -1;
}

/*
 * Refresh the state from kdexd's /info when it answers (keeping the
 * storage account we know), else use the saved state. need_kdexd: fail
 * when kdexd does not answer.
 */
static int
w_open(struct w_ctx *w, int need_kdexd, const char *rep)
{
	struct api	*a;
	cJSON		*info = NULL, *saved = NULL, *toks, *m, *side, *st;
	char		*path, *cause = NULL, buf[65536];
	const char	*s;
	FILE		*f;
	size_t		 n;
	int		 status, k;

	memset(w, 0, sizeof *w);
	path = w_state_path();
	if ((f = fopen(path, "r")) != NULL) {
		n = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[n] = '\0';
		saved = cJSON_Parse(buf);
	}
	free(path);

	a = api_new(kdex_g.url, 5000);
	status = api_request(a, "GET", "/info", NULL, &info, &cause);
	api_free(a);
	if (status != 200) {
		cJSON_Delete(info);
		info = NULL;
		if (need_kdexd) {
			kdex_err(0, "%s", cause != NULL ? cause :
			    "kdexd has no /info");
			free(cause);
			cJSON_Delete(saved);
			return KDEX_EXIT_NET;
		}
		free(cause);
	}
	if (info != NULL) {
		st = cJSON_CreateObject();
		cJSON_AddStringToObject(st, "kdex_url", kdex_g.url);
		cJSON_AddStringToObject(st, "network_id",
		    (s = w_str(info, "network_id")) != NULL ? s : "0");
		cJSON_AddItemToObject(st, "representatives", cJSON_Duplicate(
		    cJSON_GetObjectItemCaseSensitive(info, "representatives"),
		    1));
		if ((s = w_str(info, "operator")) != NULL)
			cJSON_AddStringToObject(st, "operator", s);
		if (saved != NULL && (s = w_str(saved, "storage")) != NULL)
			cJSON_AddStringToObject(st, "storage", s);
		toks = cJSON_AddArrayToObject(st, "tokens");
		cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(info,
		    "markets")) {
			for (k = 0; k < 2; k++) {
				const cJSON	*t;
				cJSON		*o;
				int		 dup = 0;

				side = cJSON_GetObjectItemCaseSensitive(m,
				    k == 0 ? "base" : "quote");
				if ((s = w_str(side, "token")) == NULL)
					continue;
				cJSON_ArrayForEach(t, toks)
					if (strcmp(w_str(t, "token"), s) == 0)
						dup = 1;
				if (dup)
					continue;
				o = cJSON_CreateObject();
				cJSON_AddStringToObject(o, "symbol",
				    w_str(side, "symbol") != NULL ?
				    w_str(side, "symbol") : "?");
				cJSON_AddStringToObject(o, "token", s);
				cJSON_AddNumberToObject(o, "decimals",
				    cJSON_GetNumberValue(
				    cJSON_GetObjectItemCaseSensitive(side,
				    "decimals")));
				cJSON_AddItemToArray(toks, o);
			}
		}
		cJSON_Delete(info);
		cJSON_Delete(saved);
		w->state = st;
	} else if (saved != NULL)
		w->state = saved;
	else {
		kdex_err(0, "kdexd at %s does not answer and profile '%s' "
		    "has no saved wallet state", kdex_g.url, kdex_g.profile);
		return KDEX_EXIT_NET;
	}
	if (rep != NULL) {
		cJSON *arr = cJSON_CreateArray();

		cJSON_AddItemToArray(arr, cJSON_CreateString(rep));
		cJSON_ReplaceItemInObjectCaseSensitive(w->state,
		    "representatives", arr);
	}
	if (w_load_fields(w) != 0) {
		kdex_err(0, "no Keeta representative known (use --rep URL)");
		return KDEX_EXIT_USAGE;
	}
	w->kc = keeta_client_new((const char *const *)w->reps, w->nreps,
	    w->network, NULL);
	if (w->kc == NULL)
		return kdex_err(KDEX_EXIT_FAIL, "cannot create the Keeta "
		    "client");
	return KDEX_EXIT_OK;
}

/* Open the profile's key (passphrase) for signing. */
static int
w_key(struct w_ctx *w)
{
	char	*path, *cause = NULL;
	int	 rc;

	if ((path = keyfile_profile_path(kdex_g.profile, &cause)) == NULL) {
		kdex_err(0, "%s", cause);
		free(cause);
		return KDEX_EXIT_USAGE;
	}
	rc = kdex_key_open(path, &w->kf);
	free(path);
	if (rc != KDEX_EXIT_OK)
		return rc;
	if ((w->owner = keyfile_account(&w->kf, &cause)) == NULL) {
		kdex_err(0, "%s", cause);
		free(cause);
		return KDEX_EXIT_AUTH;
	}
	return KDEX_EXIT_OK;
}

static void
w_close(struct w_ctx *w)
{
	keeta_client_free(w->kc);
	keeta_account_free(w->owner);
	keyfile_clear(&w->kf);
	cJSON_Delete(w->state);
}

static int
w_chain_err(const char *what, const struct keeta_client_error *e)
{
	kdex_err(0, "%s: %s%s%s", what, e->code, e->message[0] != '\0' ?
	    ": " : "", e->message);
	return e->http_status == 0 && strcmp(e->code, "CLIENT_TRANSPORT") == 0 ?
	    KDEX_EXIT_NET : KDEX_EXIT_FAIL;
}

static const struct w_token *
w_token(const struct w_ctx *w, const char *name)
{
	struct keeta_pubkey	pk;
	const char		*why;
	size_t			i;

	for (i = 0; i < w->ntokens; i++)
		if (strcasecmp(w->tokens[i].symbol, name) == 0)
			return &w->tokens[i];
	if (keeta_address_decode(name, &pk, &why) == 0)
		for (i = 0; i < w->ntokens; i++)
			if (keeta_pubkey_equal(&pk, &w->tokens[i].pk))
				return &w->tokens[i];
	return NULL;
}

static const struct w_token *
w_token_pk(const struct w_ctx *w, const struct keeta_pubkey *pk)
{
	size_t	i;

	for (i = 0; i < w->ntokens; i++)
		if (keeta_pubkey_equal(pk, &w->tokens[i].pk))
			return &w->tokens[i];
	return NULL;
}

/* Amount in token units for display; caller frees. */
static char *
w_amount_text(const struct w_ctx *w, const struct keeta_pubkey *token,
    const struct keeta_amount *a)
{
	const struct w_token	*t = w_token_pk(w, token);
	keeta_u128		 v;
	char			 buf[MONEY_BUFSZ];

	if (t != NULL && keeta_amount_to_u128(a, &v) == 0) {
		money_format(buf, v, t->decimals);
		return xstrdup(buf);
	}
	return keeta_amount_to_dec(a);
}

static int
w_need_storage(const struct w_ctx *w, const char *storage_opt,
    struct keeta_pubkey *s)
{
	const char	*why;

	if (storage_opt != NULL) {
		if (keeta_address_decode(storage_opt, s, &why) != 0 ||
		    s->type != KEETA_KEY_STORAGE)
			return kdex_err(-1, "'%s' is not a storage account "
			    "address", storage_opt);
		return 0;
	}
	if (!w->has_storage)
		return kdex_err(-1, "profile '%s' has no storage account yet "
		    "(kdex wallet setup)", kdex_g.profile);
	*s = w->storage;
	return 0;
}

/* Add SEND_ON_BEHALF for the operator on token t (grant) or remove the
 * row (revoke), on S's chain. */
static int
w_operator_op(struct w_ctx *w, struct keeta_tx *tx,
    const struct keeta_pubkey *s, const struct w_token *t, int grant)
{
	struct keeta_perm	 p;
	const char		*why;

	keeta_perm_init(&p);
	if (keeta_perm_add_flag(&p, KEETA_PERM_SEND_ON_BEHALF, &why) != 0)
		return kdex_err(-1, "%s", why);
	if (grant)
		return keeta_tx_modify_permissions(tx, s, &w->operator_pk,
		    0, &p, &t->pk);
	return keeta_tx_modify_permissions(tx, s, &w->operator_pk, 2, NULL,
	    &t->pk);
}

static int
w_setup(struct kdex_args *args)
{
	struct w_ctx		 w;
	struct keeta_client_error e;
	struct keeta_tx		*tx;
	struct keeta_perm	 def;
	struct keeta_pubkey	 s;
	const struct w_token	*sel[W_TOKENS_MAX];
	struct api		*a;
	cJSON			*body, *ans = NULL;
	char			 addr[KEETA_ADDRESS_MAX], *cause = NULL;
	const char		*why;
	size_t			 nsel = 0, i;
	int			 rc, st;

	if ((rc = w_open(&w, 1, kdex_args_get(args, "rep"))) != 0)
		return rc;
	if (!w.has_operator) {
		w_close(&w);
		return kdex_err(KDEX_EXIT_FAIL, "kdexd did not say who its "
		    "operator is");
	}
	/* Tokens: every market token, or the --token ones. */
	for (i = 0; i < args->nopt; i++) {
		const struct w_token *t;

		if (strcmp(args->name[i], "token=") != 0)
			continue;
		if ((t = w_token(&w, args->val[i])) == NULL) {
			w_close(&w);
			return kdex_err(KDEX_EXIT_USAGE, "unknown token '%s'",
			    args->val[i]);
		}
		sel[nsel++] = t;
	}
	if (nsel == 0)
		for (i = 0; i < w.ntokens; i++)
			sel[nsel++] = &w.tokens[i];
	if (w.has_storage && !kdex_args_has(args, "new")) {
		keeta_address_encode(&w.storage, addr);
		fprintf(stderr, "kdex: profile '%s' already has storage "
		    "account %s; registering it again (--new for another)\n",
		    kdex_g.profile, addr);
		s = w.storage;
		goto reg;
	}
	if ((rc = w_key(&w)) != 0) {
		w_close(&w);
		return rc;
	}

	/* 1. Create S on our chain (its address depends on our head). */
	fprintf(stderr, "kdex: creating the storage account...\n");
	tx = keeta_tx_new(w.kc, w.owner, NULL, 0);
	if (keeta_tx_create_identifier(tx, KEETA_KEY_STORAGE) < 0 ||
	    keeta_tx_publish(tx, &e) != 0 ||
	    keeta_tx_identifier(tx, 0, &s) != 0) {
		keeta_tx_free(tx);
		rc = w_chain_err("cannot create the storage account", &e);
		w_close(&w);
		return rc;
	}
	keeta_tx_free(tx);
	keeta_address_encode(&s, addr);
	cJSON_DeleteItemFromObjectCaseSensitive(w.state, "storage");
	cJSON_AddStringToObject(w.state, "storage", addr);
	w_state_save(&w);

	/* 2. Its permissions, in one block on S's chain. */
	fprintf(stderr, "kdex: setting permissions on %s...\n", addr);
	keeta_perm_init(&def);
	if (keeta_perm_add_flag(&def, KEETA_PERM_STORAGE_DEPOSIT, &why) != 0 ||
	    keeta_perm_add_flag(&def, KEETA_PERM_STORAGE_CAN_HOLD, &why) != 0)
		fatalx("permission set: %s", why);
	tx = keeta_tx_new(w.kc, w.owner, NULL, 0);
	rc = keeta_tx_set_info(tx, &s, "KDEX", "kdex exchange deposits", "",
	    &def);
	for (i = 0; rc >= 0 && i < nsel; i++)
		rc = w_operator_op(&w, tx, &s, sel[i], 1);
	if (rc < 0 || keeta_tx_publish(tx, &e) != 0) {
		keeta_tx_free(tx);
		rc = rc < 0 ? kdex_err(KDEX_EXIT_FAIL, "cannot build the "
		    "permission block") : w_chain_err("cannot set the storage "
		    "account's permissions", &e);
		w_close(&w);
		return rc;
	}
	keeta_tx_free(tx);

reg:
	/* 3. Tell kdexd (it checks the permissions on chain itself). */
	keeta_address_encode(&s, addr);
	a = api_new(kdex_g.url, 0);
	if (api_session_load(a, kdex_g.profile) != 0) {
		struct keyfile	 kf;
		char		*path = keyfile_profile_path(kdex_g.profile,
				    NULL);
		int64_t		 exp = 0;

		if (w.owner != NULL)
			kf = w.kf;
		else if ((rc = kdex_key_open(path, &kf)) != 0) {
			free(path);
			api_free(a);
			w_close(&w);
			return rc;
		}
		free(path);
		if (api_login(a, &kf, &exp, &st, &cause) != 0) {
			kdex_err(0, "%s", cause);
			free(cause);
			keyfile_clear(&kf);
			api_free(a);
			w_close(&w);
			return KDEX_EXIT_AUTH;
		}
		if (api_session_save(a, kdex_g.profile, kf.address, exp,
		    &cause) != 0)
			free(cause);
		keyfile_clear(&kf);
	}
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "storage", addr);
	st = api_request(a, "POST", "/account/storage", body, &ans, &cause);
	cJSON_Delete(body);
	api_free(a);
	if (st != 200) {
		if (st < 0) {
			kdex_err(0, "%s", cause);
			free(cause);
		} else
			kdex_err(0, "cannot register %s: %s %s", addr,
			    api_error_code(ans), api_error_message(ans));
		cJSON_Delete(ans);
		w_close(&w);
		return st < 0 ? KDEX_EXIT_NET : KDEX_EXIT_FAIL;
	}
	cJSON_Delete(ans);
	if (kdex_g.json)
		printf("{\"storage\":\"%s\",\"status\":\"active\"}\n", addr);
	else
		printf("storage %s\nstatus active\n", addr);
	w_close(&w);
	return KDEX_EXIT_OK;
}

/* Explain one ACL row in words. */
static void
w_explain(const struct w_ctx *w, const struct keeta_acl *r,
    const struct keeta_pubkey *owner, int has_owner)
{
	char			 p[KEETA_ADDRESS_MAX], who[KEETA_ADDRESS_MAX + 32];
	char			 flags[256] = "", words[512] = "";
	const struct w_token	*tt = NULL, *pt;
	int			 f, notarget;

	keeta_address_encode(&r->principal, p);
	pt = w_token_pk(w, &r->principal);
	if (has_owner && keeta_pubkey_equal(&r->principal, owner))
		snprintf(who, sizeof who, "you (%s)", p);
	else if (w->has_operator && keeta_pubkey_equal(&r->principal,
	    &w->operator_pk))
		snprintf(who, sizeof who, "kdex operator (%s)", p);
	else if (pt != NULL)
		snprintf(who, sizeof who, "token %s (%s)", pt->symbol, p);
	else
		snprintf(who, sizeof who, "%s", p);
	/* The chain writes the entity itself as target of whole-account
	 * rows; only a token target restricts the right. */
	notarget = r->target.len == 0 || keeta_pubkey_equal(&r->target,
	    &r->entity);
	if (!notarget)
		tt = w_token_pk(w, &r->target);
	for (f = 0; f < KEETA_PERM_NFLAGS; f++) {
		if (!keeta_perm_has(&r->perm, f))
			continue;
		snprintf(flags + strlen(flags), sizeof flags - strlen(flags),
		    "%s%s", flags[0] != '\0' ? "," : "",
		    keeta_perm_flag_name(f));
	}
	if (keeta_perm_has(&r->perm, KEETA_PERM_OWNER))
		snprintf(words, sizeof words, "owns the account: may send "
		    "everything in it and change every permission");
	else if (keeta_perm_has(&r->perm, KEETA_PERM_SEND_ON_BEHALF))
		snprintf(words, sizeof words, "may send %s out of the account "
		    "(trade settlement and withdrawals)", tt != NULL ?
		    tt->symbol : !notarget ? "one token" : "ANY token");
	else if (keeta_perm_has(&r->perm, KEETA_PERM_STORAGE_CAN_HOLD))
		snprintf(words, sizeof words, "the account may hold this "
		    "token");
	else if (keeta_perm_has(&r->perm, KEETA_PERM_STORAGE_DEPOSIT))
		snprintf(words, sizeof words, "may deposit into the account");
	else
		snprintf(words, sizeof words, "other rights");
	if (kdex_g.json) {
		char	t[KEETA_ADDRESS_MAX] = "";

		if (!notarget)
			keeta_address_encode(&r->target, t);
		printf("{\"principal\":\"%s\",\"flags\":\"%s\",\"target\":"
		    "\"%s\",\"meaning\":\"%s\"}", p, flags, t, words);
		return;
	}
	printf("%s\t%s\t%s\t%s: %s\n", p, flags, tt != NULL ? tt->symbol :
	    !notarget ? "(token)" : "-", who, words);
}

static int
w_permissions(struct kdex_args *args)
{
	struct w_ctx			 w;
	struct keeta_client_error	 e;
	struct keeta_acl		*rows = NULL;
	struct keeta_account_info	*ai = NULL;
	struct keeta_pubkey		 s, owner;
	struct keyfile			 kf;
	char				*path, addr[KEETA_ADDRESS_MAX];
	const char			*why;
	size_t				 n = 0, i;
	int				 rc, has_owner = 0;

	if ((rc = w_open(&w, 0, kdex_args_get(args, "rep"))) != 0)
		return rc;
	if (w_need_storage(&w, kdex_args_get(args, "storage"), &s) != 0) {
		w_close(&w);
		return KDEX_EXIT_USAGE;
	}
	path = keyfile_profile_path(kdex_g.profile, NULL);
	if (path != NULL && keyfile_peek(path, &kf, NULL) == 0 &&
	    keeta_address_decode(kf.address, &owner, &why) == 0)
		has_owner = 1;
	free(path);
	if (keeta_client_acl_by_entity(w.kc, &s, &rows, &n, &e) != 0) {
		rc = w_chain_err("cannot read the permissions", &e);
		w_close(&w);
		return rc;
	}
	keeta_address_encode(&s, addr);
	if (kdex_g.json)
		printf("{\"storage\":\"%s\",\"acl\":[", addr);
	else
		printf("# storage account %s (read from the chain)\n", addr);
	for (i = 0; i < n; i++) {
		if (kdex_g.json && i > 0)
			printf(",");
		w_explain(&w, &rows[i], &owner, has_owner);
	}
	free(rows);
	if (keeta_client_account_info(w.kc, &s, &ai, &e) == 0 &&
	    ai->has_default) {
		char	flags[256] = "";
		int	f;

		for (f = 0; f < KEETA_PERM_NFLAGS; f++)
			if (keeta_perm_has(&ai->default_perm, f))
				snprintf(flags + strlen(flags), sizeof flags -
				    strlen(flags), "%s%s", flags[0] != '\0' ?
				    "," : "", keeta_perm_flag_name(f));
		if (kdex_g.json)
			printf("],\"default\":\"%s\"}\n", flags);
		else
			printf("*\t%s\t-\tanyone: may deposit; any token may "
			    "be held\n", flags);
	} else if (kdex_g.json)
		printf("]}\n");
	keeta_account_info_free(ai);
	w_close(&w);
	return KDEX_EXIT_OK;
}

static int
w_grant(struct kdex_args *args, int grant)
{
	struct w_ctx			 w;
	struct keeta_client_error	 e;
	struct keeta_tx			*tx;
	struct keeta_pubkey		 s;
	const struct w_token		*t = NULL;
	size_t				 i;
	int				 rc = 0, all = kdex_args_has(args, "all");

	if ((args->npos != 1) == !all || args->npos > 1)
		return kdex_usage();
	if ((rc = w_open(&w, 0, kdex_args_get(args, "rep"))) != 0)
		return rc;
	if (w_need_storage(&w, kdex_args_get(args, "storage"), &s) != 0 ||
	    !w.has_operator) {
		if (!w.has_operator)
			kdex_err(0, "the operator is not known (kdexd /info)");
		w_close(&w);
		return KDEX_EXIT_USAGE;
	}
	if (!all && (t = w_token(&w, args->pos[0])) == NULL) {
		w_close(&w);
		return kdex_err(KDEX_EXIT_USAGE, "unknown token '%s'",
		    args->pos[0]);
	}
	if ((rc = w_key(&w)) != 0) {
		w_close(&w);
		return rc;
	}
	tx = keeta_tx_new(w.kc, w.owner, NULL, 0);
	if (all)
		for (i = 0; rc >= 0 && i < w.ntokens; i++)
			rc = w_operator_op(&w, tx, &s, &w.tokens[i], grant);
	else
		rc = w_operator_op(&w, tx, &s, t, grant);
	if (rc < 0 || keeta_tx_publish(tx, &e) != 0) {
		rc = rc < 0 ? kdex_err(KDEX_EXIT_FAIL, "cannot build the "
		    "block") : w_chain_err(grant ? "cannot grant" :
		    "cannot revoke", &e);
		keeta_tx_free(tx);
		w_close(&w);
		return rc;
	}
	keeta_tx_free(tx);
	if (kdex_g.json)
		printf("{\"%s\":\"%s\"}\n", grant ? "granted" : "revoked",
		    all ? "all" : t->symbol);
	else
		printf("%s %s\n", grant ? "granted" : "revoked", all ? "all" :
		    t->symbol);
	w_close(&w);
	return KDEX_EXIT_OK;
}

static int
w_export_state(struct kdex_args *args)
{
	struct w_ctx			 w;
	struct keeta_client_error	 e;
	struct keeta_account_info	*ai = NULL;
	struct keeta_pubkey		 s;
	cJSON				*o, *bals, *b;
	char				 addr[KEETA_ADDRESS_MAX], hex[65];
	char				*txt, *amt;
	const char			*out = kdex_args_get(args, "out");
	FILE				*f = stdout;
	size_t				 i;
	int				 rc;

	if ((rc = w_open(&w, 0, kdex_args_get(args, "rep"))) != 0)
		return rc;
	if (w_need_storage(&w, kdex_args_get(args, "storage"), &s) != 0) {
		w_close(&w);
		return KDEX_EXIT_USAGE;
	}
	if (keeta_client_account_info(w.kc, &s, &ai, &e) != 0) {
		rc = w_chain_err("cannot read the storage account", &e);
		w_close(&w);
		return rc;
	}
	o = cJSON_Duplicate(w.state, 1);
	keeta_address_encode(&s, addr);
	cJSON_ReplaceItemInObjectCaseSensitive(o, "storage",
	    cJSON_CreateString(addr));
	if (ai->has_head) {
		keeta_hex_encode(ai->head, KEETA_HASH_LEN, hex);
		cJSON_AddStringToObject(o, "head", hex);
	} else
		cJSON_AddNullToObject(o, "head");
	cJSON_AddNumberToObject(o, "height", (double)ai->height);
	cJSON_AddNumberToObject(o, "exported_at", (double)api_now_ms());
	bals = cJSON_AddArrayToObject(o, "balances");
	for (i = 0; i < ai->nbalances; i++) {
		b = cJSON_CreateObject();
		keeta_address_encode(&ai->balances[i].token, addr);
		cJSON_AddStringToObject(b, "token", addr);
		amt = keeta_amount_to_dec(&ai->balances[i].balance);
		cJSON_AddStringToObject(b, "base_units", amt);
		free(amt);
		amt = w_amount_text(&w, &ai->balances[i].token,
		    &ai->balances[i].balance);
		cJSON_AddStringToObject(b, "amount", amt);
		free(amt);
		cJSON_AddItemToArray(bals, b);
	}
	keeta_account_info_free(ai);
	if ((txt = cJSON_Print(o)) == NULL)
		fatalx("out of memory");
	cJSON_Delete(o);
	if (out != NULL && (f = fopen(out, "w")) == NULL) {
		free(txt);
		w_close(&w);
		return kdex_err(KDEX_EXIT_FAIL, "cannot write '%s': %s", out,
		    strerror(errno));
	}
	fprintf(f, "%s\n", txt);
	free(txt);
	if (f != stdout && fclose(f) != 0)
		rc = kdex_err(KDEX_EXIT_FAIL, "cannot write '%s'", out);
	w_close(&w);
	return rc;
}

/* Balances on chain of S (default) or ADDRESS. */
static int
w_balances(struct kdex_args *args)
{
	struct w_ctx			 w;
	struct keeta_client_error	 e;
	struct keeta_balance		*b = NULL;
	struct keeta_pubkey		 acct;
	const struct w_token		*t;
	char				 addr[KEETA_ADDRESS_MAX], *amt;
	const char			*why;
	size_t				 n = 0, i;
	int				 rc;

	if (args->npos > 1)
		return kdex_usage();
	if ((rc = w_open(&w, 0, kdex_args_get(args, "rep"))) != 0)
		return rc;
	if (args->npos == 1) {
		if (keeta_address_decode(args->pos[0], &acct, &why) != 0) {
			w_close(&w);
			return kdex_err(KDEX_EXIT_USAGE, "invalid address "
			    "'%s': %s", args->pos[0], why);
		}
	} else if (w_need_storage(&w, kdex_args_get(args, "storage"),
	    &acct) != 0) {
		w_close(&w);
		return KDEX_EXIT_USAGE;
	}
	if (keeta_client_balances(w.kc, &acct, &b, &n, &e) != 0) {
		rc = w_chain_err("cannot read the balances", &e);
		w_close(&w);
		return rc;
	}
	if (kdex_g.json)
		printf("{\"balances\":[");
	for (i = 0; i < n; i++) {
		keeta_address_encode(&b[i].token, addr);
		t = w_token_pk(&w, &b[i].token);
		amt = w_amount_text(&w, &b[i].token, &b[i].balance);
		if (kdex_g.json)
			printf("%s{\"token\":\"%s\",\"symbol\":\"%s\","
			    "\"amount\":\"%s\"}", i > 0 ? "," : "", addr,
			    t != NULL ? t->symbol : "", amt);
		else
			printf("%s\t%s\t%s\n", t != NULL ? t->symbol : "-",
			    amt, addr);
		free(amt);
	}
	if (kdex_g.json)
		printf("]}\n");
	free(b);
	w_close(&w);
	return KDEX_EXIT_OK;
}

/* A plain send from the profile's own account (funding the storage
 * account is a deposit: send to the address of kdex deposit address). */
static int
w_send(struct kdex_args *args)
{
	struct w_ctx			 w;
	struct keeta_client_error	 e;
	struct keeta_amount		 amt;
	struct keeta_pubkey		 to;
	struct keeta_tx			*tx;
	const struct w_token		*t;
	const char			*why;
	enum money_status		 ms;
	u128				 v;
	int				 rc;

	if (args->npos != 3)
		return kdex_usage();
	if (keeta_address_decode(args->pos[0], &to, &why) != 0)
		return kdex_err(KDEX_EXIT_USAGE, "invalid destination '%s': "
		    "%s", args->pos[0], why);
	if ((rc = w_open(&w, 0, kdex_args_get(args, "rep"))) != 0)
		return rc;
	if ((t = w_token(&w, args->pos[1])) == NULL) {
		w_close(&w);
		return kdex_err(KDEX_EXIT_USAGE, "unknown token '%s'",
		    args->pos[1]);
	}
	if ((ms = money_parse(&v, args->pos[2], t->decimals)) != MONEY_OK ||
	    v == 0) {
		w_close(&w);
		return kdex_err(KDEX_EXIT_USAGE, "invalid amount '%s': %s",
		    args->pos[2], ms != MONEY_OK ? money_strerror(ms) :
		    "zero");
	}
	keeta_amount_from_u128(&amt, v);
	if ((rc = w_key(&w)) != 0) {
		w_close(&w);
		return rc;
	}
	tx = keeta_tx_new(w.kc, w.owner, NULL, 0);
	if (keeta_tx_send(tx, NULL, &to, &t->pk, &amt, NULL) != 0 ||
	    keeta_tx_publish(tx, &e) != 0)
		rc = w_chain_err("send failed", &e);
	else if (kdex_g.json)
		printf("{\"sent\":\"%s\",\"token\":\"%s\",\"to\":\"%s\"}\n",
		    args->pos[2], t->symbol, args->pos[0]);
	else
		printf("sent %s %s to %s\n", args->pos[2], t->symbol,
		    args->pos[0]);
	keeta_tx_free(tx);
	w_close(&w);
	return rc;
}

int
cmd_wallet(int argc, char **argv)
{
	static const char *const spec[] = { "token=", "rep=", "storage=",
	    "new", "all", "out=", NULL };
	struct kdex_args	 args;
	const char		*sub = argv[0];
	int			 r;

	if ((r = kdex_args_parse(&args, argc, argv, spec)) != 0)
		return r > 0 ? KDEX_EXIT_OK : KDEX_EXIT_USAGE;
	if (sodium_init() < 0)
		fatalx("libsodium initialisation failed");
	if (strcmp(sub, "setup") == 0)
		return args.npos != 0 ? kdex_usage() : w_setup(&args);
	if (strcmp(sub, "permissions") == 0)
		return args.npos != 0 ? kdex_usage() : w_permissions(&args);
	if (strcmp(sub, "grant") == 0)
		return w_grant(&args, 1);
	if (strcmp(sub, "revoke") == 0)
		return w_grant(&args, 0);
	if (strcmp(sub, "balances") == 0)
		return w_balances(&args);
	if (strcmp(sub, "send") == 0)
		return w_send(&args);
	return args.npos != 0 ? kdex_usage() : w_export_state(&args);
}

/*
 * Emergency exit: with the OWNER key, send every balance (or the --token
 * ones) of the storage account to TO through a representative; kdexd is
 * not involved. --revoke removes the operator's rights in the same block.
 */
int
cmd_self_withdraw(int argc, char **argv)
{
	static const char *const spec[] = { "token=", "rep=", "storage=",
	    "revoke", "offline", "state=", "out=", NULL };
	struct kdex_args		 args;
	struct w_ctx			 w;
	struct keeta_client_error	 e;
	struct keeta_account_info	*ai = NULL;
	struct keeta_pubkey		 s, to;
	struct keeta_tx			*tx;
	const char			*why;
	char				*amt, addr[KEETA_ADDRESS_MAX];
	size_t				 i, j, nsend = 0;
	int				 r, rc = 0, want;

	if ((r = kdex_args_parse(&args, argc, argv, spec)) != 0)
		return r > 0 ? KDEX_EXIT_OK : KDEX_EXIT_USAGE;
	if (args.npos != 1)
		return kdex_usage();
	if (sodium_init() < 0)
		fatalx("libsodium initialisation failed");
	/* Offline: no kdexd, no representative, only the exported state. */
	if (kdex_args_has(&args, "offline"))
		return offline_self_withdraw(&args, args.pos[0]);
	if (keeta_address_decode(args.pos[0], &to, &why) != 0)
		return kdex_err(KDEX_EXIT_USAGE, "invalid destination '%s': "
		    "%s", args.pos[0], why);
	if ((rc = w_open(&w, 0, kdex_args_get(&args, "rep"))) != 0)
		return rc;
	if (w_need_storage(&w, kdex_args_get(&args, "storage"), &s) != 0) {
		w_close(&w);
		return KDEX_EXIT_USAGE;
	}
	if (keeta_client_account_info(w.kc, &s, &ai, &e) != 0) {
		rc = w_chain_err("cannot read the storage account", &e);
		w_close(&w);
		return rc;
	}
	if ((rc = w_key(&w)) != 0) {
		keeta_account_info_free(ai);
		w_close(&w);
		return rc;
	}
	tx = keeta_tx_new(w.kc, w.owner, NULL, 0);
	for (i = 0; i < ai->nbalances; i++) {
		if (ai->balances[i].balance.len == 0)
			continue;
		want = 1;
		for (j = 0; j < args.nopt; j++) {
			const struct w_token *t;

			if (strcmp(args.name[j], "token=") != 0)
				continue;
			want = 0;
			t = w_token(&w, args.val[j]);
			if (t != NULL && keeta_pubkey_equal(&t->pk,
			    &ai->balances[i].token)) {
				want = 1;
				break;
			}
		}
		if (!want)
			continue;
		if (keeta_tx_send(tx, &s, &to, &ai->balances[i].token,
		    &ai->balances[i].balance, NULL) != 0) {
			rc = kdex_err(KDEX_EXIT_FAIL, "cannot build the send");
			goto out;
		}
		amt = w_amount_text(&w, &ai->balances[i].token,
		    &ai->balances[i].balance);
		keeta_address_encode(&ai->balances[i].token, addr);
		fprintf(stderr, "kdex: sending %s of %s\n", amt, addr);
		free(amt);
		nsend++;
	}
	if (kdex_args_has(&args, "revoke") && w.has_operator)
		for (i = 0; i < w.ntokens; i++)
			if (w_operator_op(&w, tx, &s, &w.tokens[i], 0) < 0) {
				rc = kdex_err(KDEX_EXIT_FAIL, "cannot build "
				    "the revoke");
				goto out;
			}
	if (nsend == 0 && !kdex_args_has(&args, "revoke")) {
		rc = kdex_err(KDEX_EXIT_FAIL, "nothing to withdraw: the "
		    "storage account holds no balance");
		goto out;
	}
	if (keeta_tx_publish(tx, &e) != 0) {
		rc = w_chain_err("self-withdraw failed", &e);
		goto out;
	}
	keeta_address_encode(&to, addr);
	if (kdex_g.json)
		printf("{\"withdrawn\":%zu,\"to\":\"%s\",\"revoked\":%s}\n",
		    nsend, addr, kdex_args_has(&args, "revoke") ? "true" :
		    "false");
	else
		printf("withdrawn %zu balance%s to %s\n", nsend, nsend == 1 ?
		    "" : "s", addr);
out:
	keeta_tx_free(tx);
	keeta_account_info_free(ai);
	w_close(&w);
	return rc;
}
