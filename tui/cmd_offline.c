/*
 * The offline emergency exit: `kdex self-withdraw --offline` builds and
 * signs the withdrawal block on a machine with no network, from the state
 * `kdex wallet export-state` saved (head block and balances), and writes
 * it to a file; `kdex publish FILE` sends it on any online machine.
 *
 * The file is the signed block in base64 (one line), which `kdex keeta
 * decode` reads too. publish verifies the signature before anything goes
 * on the wire, so a tampered file is refused locally; then it asks the
 * representatives for votes (temporary, then permanent), staples them
 * and publishes the staple, as src/keeta_client does for its own blocks.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "api.h"
#include "kdex.h"
#include "keeta_block.h"
#include "keeta_staple.h"
#include "keeta_vote.h"
#include "keyfile.h"
#include "money.h"
#include "util.h"

#define OFF_FILE_MAX	(1024 * 1024)

static char *
off_read(const char *path, size_t *len)
{
	FILE	*f;
	char	*buf;
	size_t	 n;

	if ((f = fopen(path, "r")) == NULL) {
		kdex_err(0, "cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	buf = xmalloc(OFF_FILE_MAX + 1);
	n = fread(buf, 1, OFF_FILE_MAX, f);
	fclose(f);
	if (n == OFF_FILE_MAX) {
		free(buf);
		kdex_err(0, "'%s' is too large", path);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

static const char *
off_str(const cJSON *o, const char *n)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, n));
}

/* Symbol of a token from the state, or NULL. */
static const char *
off_symbol(const cJSON *state, const char *token)
{
	const cJSON	*t;

	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(state,
	    "tokens")) {
		const char *a = off_str(t, "token");

		if (a != NULL && strcmp(a, token) == 0)
			return off_str(t, "symbol");
	}
	return NULL;
}

int
offline_self_withdraw(const struct kdex_args *args, const char *to_s)
{
	struct keeta_pubkey	 s, to, tok, op;
	struct keeta_block	*b = NULL;
	struct keeta_account	*owner = NULL;
	struct keeta_amount	 amt;
	struct keyfile		 kf;
	const char		*state_path = kdex_args_get(args, "state");
	const char		*out = kdex_args_get(args, "out");
	const char		*why = NULL, *st, *head, *units, *sym;
	const cJSON		*bal;
	cJSON			*state = NULL;
	uint8_t			 prev[KEETA_HASH_LEN], idem[16], *der = NULL;
	char			*text, *path, *cause = NULL, *b64 = NULL;
	size_t			 len, n = 0, j;
	int			 rc = KDEX_EXIT_FAIL, want, revoke;
	FILE			*f;

	memset(&kf, 0, sizeof kf);
	revoke = kdex_args_has(args, "revoke");
	if (state_path == NULL || out == NULL) {
		kdex_err(0, "--offline needs --state FILE (from 'kdex wallet "
		    "export-state') and --out FILE");
		return kdex_usage();
	}
	if (keeta_address_decode(to_s, &to, &why) != 0)
		return kdex_err(KDEX_EXIT_USAGE, "invalid destination '%s': "
		    "%s", to_s, why);
	if ((text = off_read(state_path, &len)) == NULL)
		return KDEX_EXIT_FAIL;
	state = cJSON_Parse(text);
	free(text);
	if (state == NULL || (st = off_str(state, "storage")) == NULL ||
	    keeta_address_decode(st, &s, &why) != 0) {
		kdex_err(0, "'%s' is not a wallet state file", state_path);
		goto out;
	}
	head = off_str(state, "head");
	if (head == NULL)
		keeta_opening_hash(&s, prev);
	else if (strlen(head) != 2 * KEETA_HASH_LEN ||
	    keeta_hex_decode(head, strlen(head), prev, sizeof prev) !=
	    KEETA_HASH_LEN) {
		kdex_err(0, "bad head in '%s'", state_path);
		goto out;
	}

	b = keeta_block_new(1, strtoull(off_str(state, "network_id") != NULL ?
	    off_str(state, "network_id") : "0", NULL, 0), &s, prev,
	    api_now_ms());
	/* A fresh idempotency key: publishing the file twice applies once. */
	randombytes_buf(idem, sizeof idem);
	if (keeta_block_set_idempotent(b, idem, sizeof idem, &why) != 0)
		goto bad;
	fprintf(stderr, "Storage account %s\n", st);
	fprintf(stderr, "Previous block  %s\n", head != NULL ? head :
	    "(none: first block)");
	cJSON_ArrayForEach(bal, cJSON_GetObjectItemCaseSensitive(state,
	    "balances")) {
		const char	*ta = off_str(bal, "token");

		units = off_str(bal, "base_units");
		if (ta == NULL || units == NULL ||
		    keeta_address_decode(ta, &tok, &why) != 0 ||
		    keeta_amount_from_dec(&amt, units) != 0)
			continue;
		if (amt.len == 0)
			continue;
		sym = off_symbol(state, ta);
		want = 1;
		for (j = 0; j < args->nopt; j++) {
			if (strcmp(args->name[j], "token=") != 0)
				continue;
			want = 0;
			if (strcmp(args->val[j], ta) == 0 || (sym != NULL &&
			    strcasecmp(args->val[j], sym) == 0)) {
				want = 1;
				break;
			}
		}
		if (!want)
			continue;
		if (keeta_block_add_send(b, &to, &amt, &tok, NULL, &why) < 0)
			goto bad;
		fprintf(stderr, "Send            %s %s (%s base units of %s) "
		    "to %s\n", off_str(bal, "amount") != NULL ?
		    off_str(bal, "amount") : units, sym != NULL ? sym : "",
		    units, ta, to_s);
		n++;
	}
	if (revoke && off_str(state, "operator") != NULL &&
	    keeta_address_decode(off_str(state, "operator"), &op, &why) == 0) {
		const cJSON	*t;

		cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(state,
		    "tokens")) {
			if (off_str(t, "token") == NULL ||
			    keeta_address_decode(off_str(t, "token"), &tok,
			    &why) != 0)
				continue;
			if (keeta_block_add_modify_permissions(b, &op,
			    KEETA_ADJUST_SET, NULL, &tok, &why) < 0)
				goto bad;
			fprintf(stderr, "Revoke          operator %s on %s\n",
			    off_str(state, "operator"), off_str(t, "symbol"));
		}
	}
	if (n == 0 && !revoke) {
		kdex_err(0, "nothing to withdraw in '%s'", state_path);
		goto out;
	}

	if ((path = keyfile_profile_path(kdex_g.profile, &cause)) == NULL) {
		kdex_err(0, "%s", cause);
		free(cause);
		goto out;
	}
	rc = kdex_key_open(path, &kf);
	free(path);
	if (rc != KDEX_EXIT_OK)
		goto out;
	rc = KDEX_EXIT_FAIL;
	if ((owner = keyfile_account(&kf, &cause)) == NULL) {
		kdex_err(0, "%s", cause);
		free(cause);
		goto out;
	}
	if (keeta_block_sign(b, &owner, 1, &why) != 0 ||
	    (der = keeta_block_encode(b, 1, &len, &why)) == NULL)
		goto bad;
	b64 = keeta_block_base64_encode(der, len);
	if ((f = fopen(out, "w")) == NULL || fprintf(f, "%s\n", b64) < 0 ||
	    fclose(f) != 0) {
		kdex_err(0, "cannot write '%s': %s", out, strerror(errno));
		goto out;
	}
	if (kdex_g.json)
		printf("{\"signed\":%zu,\"revoke\":%s,\"file\":\"%s\"}\n", n,
		    revoke ? "true" : "false", out);
	else
		printf("signed %zu send%s%s into %s\n", n, n == 1 ? "" : "s",
		    revoke ? " and the revoke" : "", out);
	fprintf(stderr, "Check it with 'kdex keeta decode %s'; send it with "
	    "'kdex publish %s' on a machine that is online.\n", out, out);
	rc = KDEX_EXIT_OK;
	goto out;
bad:
	kdex_err(0, "cannot build the block: %s", why != NULL ? why : "?");
	rc = KDEX_EXIT_FAIL;
out:
	free(b64);
	free(der);
	keeta_account_free(owner);
	keyfile_clear(&kf);
	keeta_block_free(b);
	cJSON_Delete(state);
	return rc;
}

/* POST body to rep + path; the parsed answer or NULL after an error. */
static cJSON *
off_post(const char *rep, const char *path, const char *body)
{
	struct api	*a = api_new(rep, 15000);
	cJSON		*req, *ans = NULL;
	char		*cause = NULL;
	const char	*code, *msg;
	int		 st;

	req = cJSON_Parse(body);
	st = api_request(a, "POST", path, req, &ans, &cause);
	cJSON_Delete(req);
	api_free(a);
	if (st < 0) {
		kdex_err(0, "%s", cause);
		free(cause);
		return NULL;
	}
	if (st != 200 || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ans,
	    "error"))) {
		code = off_str(ans, "code");
		msg = off_str(ans, "message");
		kdex_err(0, "%s%s refused: %s%s%s", rep, path,
		    code != NULL ? code : "HTTP error", msg != NULL ? ": " :
		    "", msg != NULL ? msg : "");
		if (code != NULL && strcmp(code, "LEDGER_NOT_SUCCESSOR") == 0)
			kdex_err(0, "the storage account changed after "
			    "export-state: export again and sign again");
		cJSON_Delete(ans);
		return NULL;
	}
	return ans;
}

/* One round of votes from every rep; 0 or -1. */
static int
off_votes(char **reps, size_t nreps, const char *blk64,
    struct keeta_vote **prev, size_t nprev, struct keeta_vote **out,
    size_t *nout)
{
	cJSON		*body, *arr, *ans;
	const char	*v64, *why = NULL;
	uint8_t		*der;
	size_t		 i, len;
	char		*s, *vs;

	body = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(body, "blocks");
	cJSON_AddItemToArray(arr, cJSON_CreateString(blk64));
	if (prev != NULL) {
		arr = cJSON_AddArrayToObject(body, "votes");
		for (i = 0; i < nprev; i++) {
			vs = keeta_block_base64_encode(prev[i]->der,
			    prev[i]->derlen);
			cJSON_AddItemToArray(arr, cJSON_CreateString(vs));
			free(vs);
		}
	}
	s = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	*nout = 0;
	for (i = 0; i < nreps; i++) {
		if ((ans = off_post(reps[i], "/vote", s)) == NULL) {
			free(s);
			return -1;
		}
		v64 = off_str(cJSON_GetObjectItemCaseSensitive(ans, "vote"),
		    "$binary");
		der = xmalloc(v64 != NULL ? strlen(v64) + 1 : 1);
		if (v64 == NULL || sodium_base642bin(der, strlen(v64) + 1, v64,
		    strlen(v64), NULL, &len, NULL,
		    sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    keeta_vote_decode(der, len, api_now_ms(),
		    KEETA_VOTE_EXPIRED_OK, &out[*nout], &why) != 0) {
			kdex_err(0, "bad vote from %s: %s", reps[i],
			    why != NULL ? why : "no vote");
			free(der);
			cJSON_Delete(ans);
			free(s);
			return -1;
		}
		(*nout)++;
		free(der);
		cJSON_Delete(ans);
	}
	free(s);
	return 0;
}

int
cmd_publish(int argc, char **argv)
{
	static const char *const spec[] = { "rep=", NULL };
	struct kdex_args	 args;
	struct keeta_block	*b = NULL;
	struct keeta_vote	*temp[8], *perm[8];
	struct keeta_staple	*st = NULL;
	uint8_t			*der = NULL, *wire = NULL, h[KEETA_HASH_LEN];
	char			*text, *reps[8], *blk64 = NULL, *w64, *body;
	char			 hex[2 * KEETA_HASH_LEN + 1], *cause = NULL;
	const char		*why = NULL;
	size_t			 len, dlen, nreps = 0, nt = 0, np = 0, i;
	cJSON			*info = NULL, *o, *ans;
	const cJSON		*r;
	int			 rc = KDEX_EXIT_FAIL, r2;

	if ((r2 = kdex_args_parse(&args, argc, argv, spec)) != 0)
		return r2 > 0 ? KDEX_EXIT_OK : KDEX_EXIT_USAGE;
	if (args.npos != 1)
		return kdex_usage();
	if (sodium_init() < 0)
		fatalx("libsodium initialisation failed");
	if ((text = off_read(args.pos[0], &len)) == NULL)
		return KDEX_EXIT_FAIL;
	der = xmalloc(len + 1);
	if (sodium_base642bin(der, len + 1, text, len, " \t\r\n", &dlen, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0) {
		free(text);
		free(der);
		return kdex_err(KDEX_EXIT_FAIL, "'%s' is not a signed "
		    "transaction file (base64)", args.pos[0]);
	}
	free(text);
	/* Decoding verifies the signature: a changed byte stops here. */
	if (keeta_block_decode(der, dlen, 0, &b, &why) != 0) {
		free(der);
		return kdex_err(KDEX_EXIT_FAIL, "refusing '%s': %s",
		    args.pos[0], why != NULL ? why : "invalid block");
	}
	blk64 = keeta_block_base64_encode(der, dlen);
	free(der);
	der = NULL;

	/* Representatives: --rep, else the saved wallet, else kdexd. */
	if (kdex_args_get(&args, "rep") != NULL)
		reps[nreps++] = xstrdup(kdex_args_get(&args, "rep"));
	else {
		char	*home = api_home(), *p, *st_text;
		size_t	 l;

		xasprintf(&p, "%s/wallets/%s.json", home, kdex_g.profile);
		free(home);
		if (access(p, R_OK) == 0 && (st_text = off_read(p, &l)) !=
		    NULL) {
			info = cJSON_Parse(st_text);
			free(st_text);
		}
		free(p);
		if (info == NULL) {
			struct api *a = api_new(kdex_g.url, 5000);

			if (api_request(a, "GET", "/info", NULL, &info,
			    &cause) != 200) {
				free(cause);
				cJSON_Delete(info);
				info = NULL;
			}
			api_free(a);
		}
		cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(info,
		    "representatives"))
			if (cJSON_IsString(r) && nreps < 8)
				reps[nreps++] = xstrdup(r->valuestring);
	}
	if (nreps == 0) {
		kdex_err(0, "no representative to publish to (use --rep URL)");
		rc = KDEX_EXIT_USAGE;
		goto out;
	}
	if (off_votes(reps, nreps, blk64, NULL, 0, temp, &nt) != 0)
		goto out;
	if (off_votes(reps, nreps, blk64, temp, nt, perm, &np) != 0)
		goto out;
	if (keeta_staple_new(&b, 1, perm, np, api_now_ms(), &st, &why) != 0) {
		kdex_err(0, "cannot staple: %s", why != NULL ? why : "?");
		goto out;
	}
	if ((wire = keeta_staple_compress(st, &len)) == NULL) {
		kdex_err(0, "cannot compress the staple");
		goto out;
	}
	w64 = keeta_block_base64_encode(wire, len);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "votesAndBlocks", w64);
	free(w64);
	body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	ans = off_post(reps[0], "/node/publish", body);
	free(body);
	if (ans == NULL)
		goto out;
	cJSON_Delete(ans);
	if (keeta_block_hash(b, h, &why) == 0) {
		keeta_hex_encode(h, sizeof h, hex);
		printf(kdex_g.json ? "{\"published\":\"%s\"}\n" :
		    "published %s\n", hex);
	} else
		printf("published\n");
	rc = KDEX_EXIT_OK;
out:
	for (i = 0; i < nt; i++)
		keeta_vote_free(temp[i]);
	for (i = 0; i < np; i++)
		keeta_vote_free(perm[i]);
	for (i = 0; i < nreps; i++)
		free(reps[i]);
	free(wire);
	free(blk64);
	keeta_staple_free(st);
	keeta_block_free(b);
	cJSON_Delete(info);
	return rc;
}
