/*
 * devnet-bench: published transactions per second on kdex-devnet.
 *
 * Starts an embedded devnet (memory, or a data directory with
 * synchronous=FULL when -d DIR is given) and publishes N transfers from
 * the faucet with the C client, each the full client path: read the head,
 * build and sign, temporary vote, permanent vote, staple, publish. With
 * -c K it runs K client threads, each sending from its own funded
 * account, to show how far the single service thread goes. Prints one
 * summary line: "devnet-bench: N tx in S s = R tx/s (...)".
 *
 * usage: devnet-bench [-n COUNT] [-c CLIENTS] [-d DIR]
 */
#include "config.h"

#include <sys/types.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>
#include <sodium.h>

#include "devnet.h"
#include "keeta_account.h"
#include "keeta_block.h"
#include "keeta_client.h"
#include "util.h"

struct worker {
	struct devnet		*d;
	struct keeta_account	*from;
	struct keeta_pubkey	 to, token;
	int			 count;
	int			 failed;
};

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

static int
send_one(struct keeta_client *c, struct keeta_account *from,
    const struct keeta_pubkey *to, const struct keeta_pubkey *token,
    unsigned long long v, struct keeta_client_error *err)
{
	struct keeta_tx		*tx;
	struct keeta_amount	 a;
	int			 rc;

	keeta_amount_from_u128(&a, v);
	tx = keeta_tx_new(c, from, NULL, 0);
	keeta_tx_send(tx, NULL, to, token, &a, NULL);
	rc = keeta_tx_publish(tx, err);
	keeta_tx_free(tx);
	return (rc);
}

static void *
worker_main(void *arg)
{
	struct worker			*w = arg;
	const char			*url = devnet_api_url(w->d);
	struct keeta_client		*c;
	struct keeta_client_error	 err;
	int				 i;

	c = keeta_client_new(&url, 1, 0, NULL);
	for (i = 0; i < w->count; i++) {
		if (send_one(c, w->from, &w->to, &w->token, 1, &err) != 0) {
			fprintf(stderr, "devnet-bench: %s: %s\n", err.code,
			    err.message);
			w->failed++;
		}
	}
	keeta_client_free(c);
	return (NULL);
}

int
main(int argc, char **argv)
{
	struct devnet_config		 cfg;
	struct devnet			*d;
	struct keeta_client		*c;
	struct keeta_client_error	 err;
	struct keeta_account		*faucet;
	struct worker			*w;
	pthread_t			*th;
	uint8_t				 seed[KEETA_SEED_LEN];
	char				*cause = NULL;
	const char			*url;
	int				 ch, n = 500, k = 1, i, failed = 0;
	double				 t0, t1;

	devnet_config_init(&cfg);
	while ((ch = getopt(argc, argv, "n:c:d:")) != -1) {
		switch (ch) {
		case 'n':
			n = atoi(optarg);
			break;
		case 'c':
			k = atoi(optarg);
			break;
		case 'd':
			cfg.data_dir = optarg;
			break;
		default:
			fprintf(stderr, "usage: devnet-bench [-n COUNT] "
			    "[-c CLIENTS] [-d DIR]\n");
			return (2);
		}
	}
	if (n < 1 || k < 1 || k > 64)
		fatalx("bad -n or -c");
	if (sodium_init() < 0)
		fatalx("sodium_init");
	lws_set_log_level(LLL_ERR, NULL);
	d = devnet_start(&cfg, &cause);
	if (d == NULL)
		fatalx("devnet: %s", cause);
	if (keeta_seed_from_hex(devnet_faucet_seed(d), seed, NULL) != 0)
		fatalx("faucet seed");
	faucet = keeta_account_from_seed(seed, 0, KEETA_KEY_SECP256K1, NULL);
	url = devnet_api_url(d);
	c = keeta_client_new(&url, 1, 0, NULL);

	w = xcalloc((size_t)k, sizeof *w);
	th = xcalloc((size_t)k, sizeof *th);
	for (i = 0; i < k; i++) {
		randombytes_buf(seed, sizeof seed);
		w[i].d = d;
		w[i].count = n / k;
		w[i].from = keeta_account_from_seed(seed, 0, KEETA_KEY_ED25519,
		    NULL);
		keeta_address_decode(devnet_base_token(d), &w[i].token, NULL);
		w[i].to = *keeta_account_pubkey(faucet);
		if (send_one(c, faucet, keeta_account_pubkey(w[i].from),
		    &w[i].token, 1000000, &err) != 0)
			fatalx("funding: %s %s", err.code, err.message);
	}
	t0 = now_s();
	for (i = 0; i < k; i++)
		pthread_create(&th[i], NULL, worker_main, &w[i]);
	for (i = 0; i < k; i++) {
		pthread_join(th[i], NULL);
		failed += w[i].failed;
	}
	t1 = now_s();
	printf("devnet-bench: %d tx in %.2f s = %.1f tx/s (%d client%s, %s, "
	    "%d failed)\n", (n / k) * k, t1 - t0, (double)((n / k) * k) /
	    (t1 - t0), k, k == 1 ? "" : "s", cfg.data_dir != NULL ?
	    "SQLite file, synchronous=FULL" : "memory", failed);
	for (i = 0; i < k; i++)
		keeta_account_free(w[i].from);
	free(w);
	free(th);
	keeta_account_free(faucet);
	keeta_client_free(c);
	devnet_stop(d);
	return (failed == 0 ? 0 : 1);
}
