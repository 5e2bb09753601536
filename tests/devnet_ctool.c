/*
 * devnet_ctool: the C client as a small command-line tool, so that the
 * mixed conformance test (tests/conformance/devnet-mixed.js) can let the
 * official SDK and the C client write and read the same ledger. Keys are
 * seeds in hex, used as the SDK's Account.fromSeed(seed, 0) does
 * (secp256k1, index 0). Prints a result line on stdout; on a refusal
 * prints the node's error code and exits 3.
 *
 *   devnet_ctool URL balance ACCOUNT TOKEN
 *   devnet_ctool URL send SEED FROM|- TO TOKEN AMOUNT [EXTERNAL]
 *   devnet_ctool URL storage SEED            (defaults DEPOSIT+CAN_HOLD)
 *   devnet_ctool URL permission SEED ENTITY PRINCIPAL TARGET|- FLAG set|add|subtract
 *   devnet_ctool URL acl-entity ACCOUNT
 *   devnet_ctool URL acl-principal ACCOUNT ENTITY
 *   devnet_ctool URL history ACCOUNT
 *   devnet_ctool URL chain ACCOUNT
 */
#include "config.h"

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keeta_account.h"
#include "keeta_block.h"
#include "keeta_client.h"
#include "util.h"

static struct keeta_client	*c;

static struct keeta_pubkey
pk(const char *s)
{
	struct keeta_pubkey	p;
	const char		*cause = NULL;

	if (keeta_pubkey_parse(s, &p, &cause) != 0)
		fatalx("bad account '%s': %s", s, cause);
	return (p);
}

static struct keeta_account *
key(const char *hex)
{
	uint8_t			 seed[KEETA_SEED_LEN];
	struct keeta_account	*a;

	if (keeta_seed_from_hex(hex, seed, NULL) != 0)
		fatalx("bad seed");
	a = keeta_account_from_seed(seed, 0, KEETA_KEY_SECP256K1, NULL);
	if (a == NULL)
		fatalx("cannot derive key");
	return (a);
}

static int
refused(const struct keeta_client_error *err)
{
	printf("%s\n", err->code);
	fprintf(stderr, "devnet_ctool: %s\n", err->message);
	return (3);
}

static int
publish(struct keeta_tx *tx)
{
	struct keeta_client_error	err;
	int				rc;

	rc = keeta_tx_publish(tx, &err);
	if (rc != 0) {
		keeta_tx_free(tx);
		return (refused(&err));
	}
	return (0);
}

int
main(int argc, char **argv)
{
	struct keeta_client_error	 err;
	struct keeta_account		*a = NULL;
	struct keeta_tx			*tx;
	struct keeta_amount		 v;
	struct keeta_pubkey		 p1, p2, p3, st;
	struct keeta_perm		 perm;
	struct keeta_acl		*acl;
	struct keeta_history_entry	*h;
	struct keeta_blob		*bl;
	uint8_t				 last[KEETA_HASH_LEN], next[KEETA_HASH_LEN];
	size_t				 n, i, total;
	const char			*url, *cmd;
	char				*s;
	int				 rc = 0, has_next, flag, method;

	if (argc < 3)
		fatalx("usage: devnet_ctool URL COMMAND ARGS...");
	url = argv[1];
	cmd = argv[2];
	c = keeta_client_new(&url, 1, 0, NULL);
	if (strcmp(cmd, "balance") == 0 && argc == 5) {
		p1 = pk(argv[3]);
		p2 = pk(argv[4]);
		if (keeta_client_balance(c, &p1, &p2, &v, &err) != 0)
			rc = refused(&err);
		else {
			s = keeta_amount_to_dec(&v);
			printf("%s\n", s);
			free(s);
		}
	} else if (strcmp(cmd, "send") == 0 && (argc == 8 || argc == 9)) {
		a = key(argv[3]);
		if (strcmp(argv[4], "-") != 0)
			p1 = pk(argv[4]);
		p2 = pk(argv[5]);
		p3 = pk(argv[6]);
		if (keeta_amount_from_dec(&v, argv[7]) != 0)
			fatalx("bad amount");
		tx = keeta_tx_new(c, a, NULL, 0);
		if (keeta_tx_send(tx, strcmp(argv[4], "-") != 0 ? &p1 : NULL,
		    &p2, &p3, &v, argc == 9 ? argv[8] : NULL) != 0)
			fatalx("bad send");
		if ((rc = publish(tx)) == 0) {
			printf("ok\n");
			keeta_tx_free(tx);
		}
	} else if (strcmp(cmd, "storage") == 0 && argc == 4) {
		a = key(argv[3]);
		tx = keeta_tx_new(c, a, NULL, 0);
		keeta_tx_create_identifier(tx, KEETA_KEY_STORAGE);
		if ((rc = publish(tx)) != 0)
			goto out;
		keeta_tx_identifier(tx, 0, &st);
		keeta_tx_free(tx);
		tx = keeta_tx_new(c, a, NULL, 0);
		keeta_perm_init(&perm);
		keeta_perm_add_flag(&perm, KEETA_PERM_STORAGE_DEPOSIT, NULL);
		keeta_perm_add_flag(&perm, KEETA_PERM_STORAGE_CAN_HOLD, NULL);
		keeta_tx_set_info(tx, &st, "VAULT", "", "", &perm);
		if ((rc = publish(tx)) != 0)
			goto out;
		keeta_tx_free(tx);
		{
			char	addr[KEETA_ADDRESS_MAX];

			keeta_address_encode(&st, addr);
			printf("%s\n", addr);
		}
	} else if (strcmp(cmd, "permission") == 0 && argc == 9) {
		a = key(argv[3]);
		p1 = pk(argv[4]);
		p2 = pk(argv[5]);
		if (strcmp(argv[6], "-") != 0)
			p3 = pk(argv[6]);
		if ((flag = keeta_perm_flag_from_name(argv[7])) < 0)
			fatalx("bad flag");
		if (strcmp(argv[8], "set") == 0)
			method = KEETA_ADJUST_SET;
		else if (strcmp(argv[8], "add") == 0)
			method = KEETA_ADJUST_ADD;
		else
			method = KEETA_ADJUST_SUBTRACT;
		keeta_perm_init(&perm);
		keeta_perm_add_flag(&perm, flag, NULL);
		tx = keeta_tx_new(c, a, NULL, 0);
		keeta_tx_modify_permissions(tx, &p1, &p2, method, &perm,
		    strcmp(argv[6], "-") != 0 ? &p3 : NULL);
		if ((rc = publish(tx)) == 0) {
			printf("ok\n");
			keeta_tx_free(tx);
		}
	} else if ((strcmp(cmd, "acl-entity") == 0 && argc == 4) ||
	    (strcmp(cmd, "acl-principal") == 0 && argc == 5)) {
		p1 = pk(argv[3]);
		if (argc == 5)
			p2 = pk(argv[4]);
		if ((argc == 4 ? keeta_client_acl_by_entity(c, &p1, &acl, &n,
		    &err) : keeta_client_acl_by_principal(c, &p1, &p2, 1, &acl,
		    &n, &err)) != 0) {
			rc = refused(&err);
			goto out;
		}
		for (i = 0; i < n; i++) {
			char	pa[KEETA_ADDRESS_MAX], ta[KEETA_ADDRESS_MAX];

			keeta_address_encode(&acl[i].principal, pa);
			keeta_address_encode(&acl[i].target, ta);
			printf("%s %s 0x%X\n", pa, ta, acl[i].perm.base);
		}
		free(acl);
	} else if (strcmp(cmd, "history") == 0 && argc == 4) {
		p1 = pk(argv[3]);
		total = 0;
		rc = keeta_client_history(c, &p1, NULL, 3, &h, &n, &err);
		while (rc == 0 && n > 0) {
			total += n;
			memcpy(last, h[n - 1].id, KEETA_HASH_LEN);
			keeta_history_free(h, n);
			rc = keeta_client_history(c, &p1, last, 3, &h, &n, &err);
		}
		if (rc != 0) {
			rc = refused(&err);
			goto out;
		}
		keeta_history_free(h, n);
		printf("%zu\n", total);
	} else if (strcmp(cmd, "chain") == 0 && argc == 4) {
		p1 = pk(argv[3]);
		total = 0;
		rc = keeta_client_chain(c, &p1, NULL, 2, &bl, &n, &has_next,
		    next, &err);
		while (rc == 0) {
			total += n;
			keeta_blobs_free(bl, n);
			if (!has_next)
				break;
			rc = keeta_client_chain(c, &p1, next, 2, &bl, &n,
			    &has_next, next, &err);
		}
		if (rc != 0) {
			rc = refused(&err);
			goto out;
		}
		printf("%zu\n", total);
	} else
		fatalx("bad command or arguments");
out:
	keeta_account_free(a);
	keeta_client_free(c);
	return (rc);
}
