/*
 * check_keeta_client: the C Keeta client against a real devnet node (the
 * library form, embedded as kdexd embeds it, on a loopback port): the
 * exchange flow, every refusal of the flow, queries and paging,
 * idempotent retries, stale heads, restart with a data directory, and
 * transport failures.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <libwebsockets.h>
#include <sodium.h>

#include "devnet.h"
#include "keeta_account.h"
#include "keeta_block.h"
#include "keeta_client.h"
#include "util.h"

static struct devnet *
start(const char *dir, const char *faucet_seed)
{
	struct devnet_config	cfg;
	struct devnet_token	tok = { "USDX", 6 };
	struct devnet		*d;
	char			*cause = NULL;

	devnet_config_init(&cfg);
	cfg.data_dir = dir;
	cfg.faucet_seed_hex = faucet_seed;
	cfg.tokens = &tok;
	cfg.ntokens = 1;
	d = devnet_start(&cfg, &cause);
	if (d == NULL)
		ck_abort_msg("devnet_start: %s", cause);
	return (d);
}

static struct keeta_client *
client_for(struct devnet *d)
{
	const char	*url = devnet_api_url(d);

	return (keeta_client_new(&url, 1, 0, NULL));
}

static struct keeta_account *
new_account(int type)
{
	uint8_t	seed[KEETA_SEED_LEN];

	randombytes_buf(seed, sizeof seed);
	return (keeta_account_from_seed(seed, 0, type, NULL));
}

static struct keeta_account *
faucet_of(struct devnet *d)
{
	uint8_t	seed[KEETA_SEED_LEN];

	ck_assert_int_eq(keeta_seed_from_hex(devnet_faucet_seed(d), seed,
	    NULL), 0);
	return (keeta_account_from_seed(seed, 0, KEETA_KEY_SECP256K1, NULL));
}

static struct keeta_pubkey
addr_pk(const char *a)
{
	struct keeta_pubkey	pk;

	ck_assert_int_eq(keeta_address_decode(a, &pk, NULL), 0);
	return (pk);
}

static struct keeta_amount
amt(unsigned long long v)
{
	struct keeta_amount	a;

	keeta_amount_from_u128(&a, v);
	return (a);
}

static unsigned long long
balance_of(struct keeta_client *c, const struct keeta_pubkey *a,
    const struct keeta_pubkey *t)
{
	struct keeta_amount		v;
	struct keeta_client_error	err;
	keeta_u128			u;

	ck_assert_msg(keeta_client_balance(c, a, t, &v, &err) == 0, "%s %s",
	    err.code, err.message);
	ck_assert_int_eq(keeta_amount_to_u128(&v, &u), 0);
	return ((unsigned long long)u);
}

/* Publish a single send; returns 0 or -1 with the error code in err. */
static int
send1(struct keeta_client *c, const struct keeta_account *signer,
    const struct keeta_pubkey *from, const struct keeta_pubkey *to,
    const struct keeta_pubkey *token, unsigned long long v,
    const char *ext, struct keeta_client_error *err)
{
	struct keeta_tx		*tx;
	struct keeta_amount	 a = amt(v);
	int			 rc;

	tx = keeta_tx_new(c, signer, NULL, 0);
	ck_assert_int_eq(keeta_tx_send(tx, from, to, token, &a, ext), 0);
	rc = keeta_tx_publish(tx, err);
	keeta_tx_free(tx);
	return (rc);
}

static void
expect_code(int rc, const struct keeta_client_error *err, const char *code)
{
	ck_assert_int_eq(rc, -1);
	ck_assert_str_eq(err->code, code);
}

static struct keeta_perm
perm2(int f1, int f2)
{
	struct keeta_perm	p;

	keeta_perm_init(&p);
	keeta_perm_add_flag(&p, f1, NULL);
	if (f2 >= 0)
		keeta_perm_add_flag(&p, f2, NULL);
	return (p);
}

START_TEST(test_flow)
{
	struct devnet			*d = start(NULL, NULL);
	struct keeta_client		*c = client_for(d);
	struct keeta_account		*faucet = faucet_of(d);
	struct keeta_account		*user = new_account(KEETA_KEY_ED25519);
	struct keeta_account		*op = new_account(KEETA_KEY_SECP256K1);
	struct keeta_account		*dest = new_account(KEETA_KEY_ED25519);
	const struct keeta_pubkey	*u = keeta_account_pubkey(user);
	const struct keeta_pubkey	*o = keeta_account_pubkey(op);
	const struct keeta_pubkey	*x = keeta_account_pubkey(dest);
	struct keeta_pubkey		 tok = addr_pk(devnet_token_address(d,
					    0));
	struct keeta_pubkey		 base = addr_pk(devnet_base_token(d));
	struct keeta_pubkey		 st, mytok;
	struct keeta_client_error	 err;
	struct keeta_tx			*tx;
	struct keeta_perm		 p;
	struct keeta_amount		 a;
	struct keeta_acl		*acl;
	struct keeta_balance		*bals;
	struct keeta_history_entry	*h;
	struct keeta_blob		*blobs;
	struct keeta_rep_info		*reps;
	struct keeta_account_info	*ai;
	size_t				 n, total;
	uint8_t				 last[KEETA_HASH_LEN], next[KEETA_HASH_LEN];
	int				 rc, has_next, idx;
	char				*ver;

	ck_assert_int_eq(send1(c, faucet, NULL, u, &tok, 1000000, "fund",
	    &err), 0);
	ck_assert_uint_eq(balance_of(c, u, &tok), 1000000);

	/* A storage account with default STORAGE_DEPOSIT + CAN_HOLD. */
	tx = keeta_tx_new(c, user, NULL, 0);
	idx = keeta_tx_create_identifier(tx, KEETA_KEY_STORAGE);
	ck_assert_int_eq(idx, 0);
	ck_assert_msg(keeta_tx_publish(tx, &err) == 0, "%s", err.message);
	ck_assert_int_eq(keeta_tx_identifier(tx, 0, &st), 0);
	keeta_tx_free(tx);
	ck_assert_int_eq(st.type, KEETA_KEY_STORAGE);
	tx = keeta_tx_new(c, user, NULL, 0);
	p = perm2(KEETA_PERM_STORAGE_DEPOSIT, KEETA_PERM_STORAGE_CAN_HOLD);
	keeta_tx_set_info(tx, &st, "VAULT", "", "", &p);
	ck_assert_msg(keeta_tx_publish(tx, &err) == 0, "%s", err.message);
	keeta_tx_free(tx);

	ck_assert_int_eq(send1(c, user, NULL, &st, &tok, 1000, "dep-1", &err),
	    0);
	rc = send1(c, user, NULL, &st, &tok, 5000000, "dep-2", &err);
	expect_code(rc, &err, "LEDGER_INVALID_BALANCE");
	rc = send1(c, op, &st, x, &tok, 10, "wd-0", &err);
	expect_code(rc, &err, "LEDGER_INVALID_PERMISSIONS");

	tx = keeta_tx_new(c, user, NULL, 0);
	p = perm2(KEETA_PERM_SEND_ON_BEHALF, -1);
	keeta_tx_modify_permissions(tx, &st, o, KEETA_ADJUST_SET, &p, &tok);
	ck_assert_msg(keeta_tx_publish(tx, &err) == 0, "%s", err.message);
	keeta_tx_free(tx);
	ck_assert_int_eq(send1(c, op, &st, x, &tok, 100, "wd-1", &err), 0);
	rc = send1(c, op, &st, x, &base, 1, "wd-base", &err);
	ck_assert_int_eq(rc, -1);

	/* A second OWNER is refused. */
	tx = keeta_tx_new(c, user, NULL, 0);
	p = perm2(KEETA_PERM_OWNER, -1);
	keeta_tx_modify_permissions(tx, &st, o, KEETA_ADJUST_SET, &p, NULL);
	expect_code(keeta_tx_publish(tx, &err), &err,
	    "LEDGER_INVALID_OWNER_COUNT");
	keeta_tx_free(tx);
	/* A token the sender does not hold. */
	rc = send1(c, user, NULL, x, &base, 1, NULL, &err);
	expect_code(rc, &err, "LEDGER_INVALID_BALANCE");

	/* Revoke: the next withdrawal is refused. */
	tx = keeta_tx_new(c, user, NULL, 0);
	p = perm2(KEETA_PERM_SEND_ON_BEHALF, -1);
	keeta_tx_modify_permissions(tx, &st, o, KEETA_ADJUST_SUBTRACT, &p,
	    &tok);
	ck_assert_msg(keeta_tx_publish(tx, &err) == 0, "%s", err.message);
	keeta_tx_free(tx);
	rc = send1(c, op, &st, x, &tok, 10, "wd-2", &err);
	expect_code(rc, &err, "LEDGER_INVALID_PERMISSIONS");

	ck_assert_uint_eq(balance_of(c, &st, &tok), 900);
	ck_assert_uint_eq(balance_of(c, x, &tok), 100);
	ck_assert_uint_eq(balance_of(c, u, &tok), 999000);
	ck_assert_int_eq(keeta_client_balances(c, &st, &bals, &n, &err), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert(keeta_pubkey_equal(&bals[0].token, &tok));
	free(bals);

	ck_assert_int_eq(keeta_client_acl_by_entity(c, &st, &acl, &n, &err),
	    0);
	ck_assert_uint_eq(n, 2);
	ck_assert(keeta_perm_has(&acl[0].perm, KEETA_PERM_OWNER));
	ck_assert(keeta_pubkey_equal(&acl[0].principal, u));
	ck_assert(!keeta_perm_has(&acl[1].perm, KEETA_PERM_SEND_ON_BEHALF));
	free(acl);
	ck_assert_int_eq(keeta_client_acl_by_principal(c, o, &st, 1, &acl, &n,
	    &err), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert(keeta_pubkey_equal(&acl[0].target, &tok));
	free(acl);
	ck_assert_int_eq(keeta_client_acl_by_principal(c, u, NULL, 0, &acl,
	    &n, &err), 0);
	ck_assert_uint_eq(n, 1);
	free(acl);

	/* History of S, two at a time with an exclusive start. */
	total = 0;
	rc = keeta_client_history(c, &st, NULL, 2, &h, &n, &err);
	while (rc == 0 && n > 0) {
		ck_assert_uint_le(n, 2);
		ck_assert_uint_gt(h[0].staple_len, 2);
		ck_assert_uint_gt(h[0].timestamp_ms, 0);
		memcpy(last, h[n - 1].id, KEETA_HASH_LEN);
		total += n;
		keeta_history_free(h, n);
		rc = keeta_client_history(c, &st, last, 2, &h, &n, &err);
	}
	ck_assert_int_eq(rc, 0);
	keeta_history_free(h, n);
	/* setInfo, deposit, grant, withdraw, revoke */
	ck_assert_uint_eq(total, 5);

	/* Chain of S, paged by nextKey. */
	total = 0;
	rc = keeta_client_chain(c, &st, NULL, 2, &blobs, &n, &has_next, next,
	    &err);
	ck_assert_int_eq(rc, 0);
	total += n;
	keeta_blobs_free(blobs, n);
	while (has_next) {
		rc = keeta_client_chain(c, &st, next, 2, &blobs, &n,
		    &has_next, next, &err);
		ck_assert_int_eq(rc, 0);
		total += n;
		keeta_blobs_free(blobs, n);
	}
	ck_assert_uint_eq(total, 4);

	ck_assert_int_eq(keeta_client_representatives(c, &reps, &n, &err), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(reps[0].api, devnet_api_url(d));
	ck_assert_uint_gt(reps[0].weight.len, 0);
	free(reps);
	ck_assert_int_eq(keeta_client_version(c, &ver, &err), 0);
	ck_assert_ptr_nonnull(strstr(ver, "kdex-devnet"));
	free(ver);

	/* Any account may create a token on a --genesis devnet. */
	tx = keeta_tx_new(c, user, NULL, 0);
	keeta_tx_create_identifier(tx, KEETA_KEY_TOKEN);
	ck_assert_msg(keeta_tx_publish(tx, &err) == 0, "%s", err.message);
	keeta_tx_identifier(tx, 0, &mytok);
	keeta_tx_free(tx);
	tx = keeta_tx_new(c, user, NULL, 0);
	p = perm2(KEETA_PERM_ACCESS, -1);
	keeta_tx_set_info(tx, &mytok, "MINE", "", "", &p);
	ck_assert_int_eq(keeta_amount_from_dec(&a,
	    "340282366920938463463374607431768211455"), 0);
	keeta_tx_token_supply(tx, &mytok, &a, KEETA_ADJUST_ADD);
	ck_assert_msg(keeta_tx_publish(tx, &err) == 0, "%s", err.message);
	keeta_tx_free(tx);
	/* 2^128 - 1 + 1: beyond 128 bits, still exact. */
	tx = keeta_tx_new(c, user, NULL, 0);
	a = amt(1);
	keeta_tx_token_supply(tx, &mytok, &a, KEETA_ADJUST_ADD);
	ck_assert_msg(keeta_tx_publish(tx, &err) == 0, "%s", err.message);
	keeta_tx_free(tx);
	ck_assert_int_eq(keeta_client_account_info(c, &mytok, &ai, &err), 0);
	ck_assert(ai->has_supply);
	ck_assert_uint_eq(ai->supply.len, 17);
	ck_assert_uint_eq(ai->supply.b[0], 1);
	ck_assert(ai->has_default);
	ck_assert_str_eq(ai->name, "MINE");
	keeta_account_info_free(ai);

	keeta_account_free(faucet);
	keeta_account_free(user);
	keeta_account_free(op);
	keeta_account_free(dest);
	keeta_client_free(c);
	devnet_stop(d);
}
END_TEST

/* Raw POST, for requests the client would never build. */
static long
raw_post(const char *url, const char *body, cJSON **out)
{
	CURL		*h = curl_easy_init();
	FILE		*f;
	char		*buf = NULL;
	size_t		 len = 0;
	long		 status = 0;
	struct curl_slist *hd = curl_slist_append(NULL,
			    "content-type: application/json");

	f = open_memstream(&buf, &len);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
	if (body != NULL)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	ck_assert_int_eq(curl_easy_perform(h), CURLE_OK);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	fclose(f);
	*out = cJSON_Parse(buf);
	free(buf);
	curl_slist_free_all(hd);
	curl_easy_cleanup(h);
	return (status);
}

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

START_TEST(test_conflicts)
{
	struct devnet			*d = start(NULL, NULL);
	struct keeta_client		*c = client_for(d);
	struct keeta_account		*faucet = faucet_of(d);
	struct keeta_account		*user = new_account(KEETA_KEY_ED25519);
	const struct keeta_pubkey	*u = keeta_account_pubkey(user);
	const struct keeta_pubkey	*f = keeta_account_pubkey(faucet);
	struct keeta_pubkey		 tok = addr_pk(devnet_token_address(d,
					    0));
	struct keeta_client_error	 err;
	struct keeta_tx			*tx;
	struct keeta_amount		 a = amt(7);
	struct keeta_block		*b;
	uint8_t				 h0[KEETA_HASH_LEN], *der, idem[8];
	size_t				 len;
	int				 has;
	char				*b64, *body, *url;
	cJSON				*j;
	struct keeta_account		*signers[1];

	ck_assert_int_eq(keeta_client_head(c, f, &has, h0, NULL, &err), 0);
	ck_assert(has);
	/* Idempotency: the same key twice applies once. */
	memcpy(idem, "order-42", 8);
	tx = keeta_tx_new(c, faucet, idem, sizeof idem);
	keeta_tx_send(tx, NULL, u, &tok, &a, "wd-42");
	ck_assert_msg(keeta_tx_publish(tx, &err) == 0, "%s", err.message);
	keeta_tx_free(tx);
	tx = keeta_tx_new(c, faucet, idem, sizeof idem);
	keeta_tx_send(tx, NULL, u, &tok, &a, "wd-42");
	ck_assert_msg(keeta_tx_publish(tx, &err) == 0, "%s", err.message);
	keeta_tx_free(tx);
	ck_assert_uint_eq(balance_of(c, u, &tok), 7);

	/* A block on a stale head: LEDGER_NOT_SUCCESSOR with accounts. */
	b = keeta_block_new(1, 0, f, h0, now_ms());
	keeta_block_add_send(b, u, &a, &tok, NULL, NULL);
	signers[0] = faucet;
	ck_assert_int_eq(keeta_block_sign(b, signers, 1, NULL), 0);
	der = keeta_block_encode(b, 1, &len, NULL);
	keeta_block_free(b);
	b64 = xmalloc(sodium_base64_encoded_len(len,
	    sodium_base64_VARIANT_ORIGINAL));
	sodium_bin2base64(b64, sodium_base64_encoded_len(len,
	    sodium_base64_VARIANT_ORIGINAL), der, len,
	    sodium_base64_VARIANT_ORIGINAL);
	free(der);
	xasprintf(&body, "{\"blocks\":[\"%s\"]}", b64);
	free(b64);
	xasprintf(&url, "%s/vote", devnet_api_url(d));
	ck_assert_int_eq(raw_post(url, body, &j), 400);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "error")));
	ck_assert_str_eq(cJSON_GetObjectItem(j, "code")->valuestring,
	    "LEDGER_NOT_SUCCESSOR");
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j,
	    "accounts")), 1);
	cJSON_Delete(j);
	free(body);
	free(url);

	/* Every failure is JSON error:true, unknown routes included. */
	xasprintf(&url, "%s/no/such/route", devnet_api_url(d));
	ck_assert_int_eq(raw_post(url, NULL, &j), 404);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "error")));
	cJSON_Delete(j);
	free(url);
	xasprintf(&url, "%s/node/publish", devnet_api_url(d));
	ck_assert_int_eq(raw_post(url, "{\"votesAndBlocks\":\"AAAA\"}", &j),
	    400);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "error")));
	cJSON_Delete(j);
	ck_assert_int_eq(raw_post(url, "not json", &j), 400);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "error")));
	cJSON_Delete(j);
	/* An empty POST body still gets an answer. */
	ck_assert_int_eq(raw_post(url, "", &j), 400);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "error")));
	cJSON_Delete(j);
	free(url);

	keeta_account_free(faucet);
	keeta_account_free(user);
	keeta_client_free(c);
	devnet_stop(d);
}
END_TEST

START_TEST(test_restart)
{
	char				 dir[] = "/tmp/kdex-devnet-XXXXXX", *cmd;
	char				 seed[65], tokaddr[KEETA_ADDRESS_MAX];
	struct devnet			*d;
	struct keeta_client		*c;
	struct keeta_account		*faucet, *user;
	struct keeta_pubkey		 tok;
	struct keeta_client_error	 err;
	const char			*url;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	d = start(dir, NULL);
	snprintf(seed, sizeof seed, "%s", devnet_faucet_seed(d));
	snprintf(tokaddr, sizeof tokaddr, "%s", devnet_token_address(d, 0));
	tok = addr_pk(tokaddr);
	c = client_for(d);
	faucet = faucet_of(d);
	user = new_account(KEETA_KEY_ED25519);
	ck_assert_int_eq(send1(c, faucet, NULL, keeta_account_pubkey(user),
	    &tok, 555, NULL, &err), 0);
	keeta_client_free(c);
	devnet_stop(d);

	/* Same directory: same faucet, same token, same balances. */
	d = start(dir, NULL);
	ck_assert_str_eq(devnet_faucet_seed(d), seed);
	ck_assert_str_eq(devnet_token_address(d, 0), tokaddr);
	c = client_for(d);
	ck_assert_uint_eq(balance_of(c, keeta_account_pubkey(user), &tok),
	    555);
	ck_assert_int_eq(send1(c, faucet, NULL, keeta_account_pubkey(user),
	    &tok, 5, NULL, &err), 0);
	ck_assert_uint_eq(balance_of(c, keeta_account_pubkey(user), &tok),
	    560);
	keeta_client_free(c);
	devnet_stop(d);

	/* Stopped: the client gives up after its bounded retries. */
	url = "http://127.0.0.1:1/api";
	{
		struct keeta_client_options	o = { 500, 2, 10, 1 };
		struct keeta_amount		v;

		c = keeta_client_new(&url, 1, 0, &o);
		ck_assert_int_eq(keeta_client_balance(c,
		    keeta_account_pubkey(user), &tok, &v, &err), -1);
		ck_assert_str_eq(err.code, "CLIENT_TRANSPORT");
		keeta_client_free(c);
	}
	keeta_account_free(faucet);
	keeta_account_free(user);
	xasprintf(&cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}
END_TEST

/* A listener that never answers: the client's timeout is the bound. */
START_TEST(test_timeouts)
{
	struct devnet			*d = start(NULL, NULL);
	struct keeta_client		*c;
	struct keeta_client_options	 o = { 300, 1, 10, 1 };
	struct keeta_client_error	 err;
	struct keeta_amount		 v;
	struct keeta_pubkey		 tok = addr_pk(devnet_token_address(d,
					    0));
	struct keeta_pubkey		 f = addr_pk(devnet_faucet_address(d));
	struct sockaddr_in		 sin;
	socklen_t			 sl = sizeof sin;
	int				 fd;
	char				*hung;
	const char			*urls[3];
	struct timespec			 t0, t1;
	double				 el;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	xasprintf(&hung, "http://127.0.0.1:%d/api", ntohs(sin.sin_port));

	urls[0] = hung;
	c = keeta_client_new(urls, 1, 0, &o);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(keeta_client_balance(c, &f, &tok, &v, &err), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_str_eq(err.code, "CLIENT_TRANSPORT");
	el = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	/* Two attempts of 300 ms and one backoff, not the default 10 s. */
	ck_assert(el >= 0.55 && el < 3.0);
	keeta_client_free(c);

	/* Reads go to any representative: a dead one and a hung one first. */
	urls[0] = "http://127.0.0.1:1/api";
	urls[1] = hung;
	urls[2] = devnet_api_url(d);
	c = keeta_client_new(urls, 3, 0, &o);
	ck_assert_msg(keeta_client_balance(c, &f, &tok, &v, &err) == 0, "%s",
	    err.code);
	ck_assert_uint_gt(v.len, 0);
	keeta_client_free(c);

	close(fd);
	free(hung);
	devnet_stop(d);
}
END_TEST

/* Base64 of a signed send block on the signer's head. */
static char *
abandoned_block(struct keeta_client *c, struct keeta_account *signer,
    const struct keeta_pubkey *to, const struct keeta_pubkey *tok,
    unsigned long long v)
{
	struct keeta_block		*b;
	struct keeta_client_error	 err;
	struct keeta_amount		 a = amt(v);
	uint8_t				 head[KEETA_HASH_LEN], *der;
	size_t				 len, n;
	int				 has;
	char				*b64;
	struct keeta_account		*signers[1] = { signer };
	const struct keeta_pubkey	*acct = keeta_account_pubkey(signer);

	ck_assert_int_eq(keeta_client_head(c, acct, &has, head, NULL, &err),
	    0);
	ck_assert(has);
	b = keeta_block_new(1, 0, acct, head, now_ms());
	keeta_block_add_send(b, to, &a, tok, NULL, NULL);
	ck_assert_int_eq(keeta_block_sign(b, signers, 1, NULL), 0);
	der = keeta_block_encode(b, 1, &len, NULL);
	keeta_block_free(b);
	n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	b64 = xmalloc(n);
	sodium_bin2base64(b64, n, der, len, sodium_base64_VARIANT_ORIGINAL);
	free(der);
	return (b64);
}

/*
 * A staple abandoned after its temporary or its permanent vote (a client
 * that crashed) blocks the account's next block; the client finishes it
 * first, as the SDK does, and nothing is lost or applied twice.
 */
START_TEST(test_recover)
{
	struct devnet			*d = start(NULL, NULL);
	struct keeta_client		*c = client_for(d);
	struct keeta_account		*faucet = faucet_of(d);
	struct keeta_account		*user = new_account(KEETA_KEY_ED25519);
	const struct keeta_pubkey	*u = keeta_account_pubkey(user);
	struct keeta_pubkey		 tok = addr_pk(devnet_token_address(d,
					    0));
	struct keeta_client_error	 err;
	char				*body, *url, *vote, *blk;
	cJSON				*j;
	int				 round;

	xasprintf(&url, "%s/vote", devnet_api_url(d));
	for (round = 0; round < 2; round++) {
		blk = abandoned_block(c, faucet, u, &tok, 1000);
		xasprintf(&body, "{\"blocks\":[\"%s\"]}", blk);
		ck_assert_int_eq(raw_post(url, body, &j), 200);
		vote = xstrdup(cJSON_GetObjectItem(cJSON_GetObjectItem(j,
		    "vote"), "$binary")->valuestring);
		cJSON_Delete(j);
		if (round == 1) {
			/* Abandoned after the permanent vote. */
			free(body);
			xasprintf(&body, "{\"blocks\":[\"%s\"],\"votes\":"
			    "[\"%s\"]}", blk, vote);
			ck_assert_int_eq(raw_post(url, body, &j), 200);
			cJSON_Delete(j);
		}
		free(vote);
		free(body);
		free(blk);
		ck_assert_msg(send1(c, faucet, NULL, u, &tok, 1, NULL,
		    &err) == 0, "%s %s", err.code, err.message);
	}
	/* Both abandoned transfers and both new ones, each once. */
	ck_assert_uint_eq(balance_of(c, u, &tok), 2002);
	free(url);
	keeta_account_free(faucet);
	keeta_account_free(user);
	keeta_client_free(c);
	devnet_stop(d);
}
END_TEST

struct racer {
	struct devnet		*d;
	struct keeta_account	*from;
	struct keeta_pubkey	 to, tok;
	int			 ok, failed;
	char			 last[64];
};

static void *
racer_main(void *arg)
{
	struct racer			*r = arg;
	const char			*url = devnet_api_url(r->d);
	struct keeta_client_options	 o = { 10000, 4, 5, 20 };
	struct keeta_client		*c = keeta_client_new(&url, 1, 0, &o);
	struct keeta_client_error	 err;
	int				 i;

	for (i = 0; i < 15; i++) {
		if (send1(c, r->from, NULL, &r->to, &r->tok, 1, NULL,
		    &err) == 0)
			r->ok++;
		else {
			r->failed++;
			snprintf(r->last, sizeof r->last, "%s", err.code);
		}
	}
	keeta_client_free(c);
	return (NULL);
}

/*
 * Three clients publish from the same account at once: heads go stale
 * (LEDGER_NOT_SUCCESSOR, rebuild), votes collide (SUCCESSOR_VOTE_EXISTS,
 * finish the other's staple), publishes race (BLOCK_ALREADY_EXISTS, check
 * the ledger). Every acknowledged transfer is applied exactly once.
 */
START_TEST(test_race)
{
	struct devnet		*d = start(NULL, NULL);
	struct keeta_client	*c = client_for(d);
	struct keeta_account	*faucet = faucet_of(d);
	struct keeta_account	*user = new_account(KEETA_KEY_ED25519);
	struct racer		 r[3];
	pthread_t		 th[3];
	int			 i, ok = 0;

	for (i = 0; i < 3; i++) {
		memset(&r[i], 0, sizeof r[i]);
		r[i].d = d;
		r[i].from = faucet;
		r[i].to = *keeta_account_pubkey(user);
		r[i].tok = addr_pk(devnet_token_address(d, 0));
		pthread_create(&th[i], NULL, racer_main, &r[i]);
	}
	for (i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		ok += r[i].ok;
		if (r[i].failed)
			fprintf(stderr, "racer %d: %d failed (%s)\n", i,
			    r[i].failed, r[i].last);
	}
	ck_assert_int_gt(ok, 0);
	ck_assert_uint_eq(balance_of(c, keeta_account_pubkey(user), &r[0].tok),
	    (unsigned long long)ok);
	keeta_account_free(faucet);
	keeta_account_free(user);
	keeta_client_free(c);
	devnet_stop(d);
}
END_TEST

static Suite *
suite(void)
{
	Suite	*s = suite_create("keeta_client");
	TCase	*tc = tcase_create("devnet");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_flow);
	tcase_add_test(tc, test_conflicts);
	tcase_add_test(tc, test_restart);
	tcase_add_test(tc, test_timeouts);
	tcase_add_test(tc, test_recover);
	tcase_add_test(tc, test_race);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	if (sodium_init() < 0)
		return (1);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	lws_set_log_level(LLL_ERR, NULL);
	sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return (failed == 0 ? 0 : 1);
}
