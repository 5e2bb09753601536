/*
 * kdex keeta: inspect Keeta keys, blocks, votes and staples.
 *
 * Offline tools over the src/keeta* library, so that users can see what
 * they sign and tests can drive the library from the shell:
 *   address         derive an address from a seed or a passphrase
 *   decode          print a block, vote or staple as JSON
 *   sign-message    Account.sign() a message (login challenges)
 *   verify-message  check such a signature against an address
 * Data goes to stdout, errors to stderr; exit 0 on success, 1 on failure
 * (verify-message: invalid signature), 2 on a usage error.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "kdex.h"
#include "keeta_account.h"
#include "keeta_block.h"
#include "keeta_der.h"
#include "keeta_staple.h"
#include "keyfile.h"
#include "util.h"

/* Largest input decode reads (a staple holds at most a few hundred KiB). */
#define DECODE_MAX	(16 * 1024 * 1024)

static const char *const keeta_usages[] = {
	"keeta address (--seed HEX | --passphrase TEXT) [--index N] "
	    "[--algo ed25519|secp256k1|p256]",
	"keeta decode [FILE|-]",
	"keeta sign-message (--seed HEX [--index N] [--algo A] | "
	    "--key-file FILE) MESSAGE",
	"keeta verify-message ADDRESS MESSAGE SIGHEX",
};

static int
keeta_usage(void)
{
	size_t	i;

	for (i = 0; i < sizeof keeta_usages / sizeof keeta_usages[0]; i++)
		fprintf(stderr, "%s kdex %s\n", i == 0 ? "usage:" : "      ",
		    keeta_usages[i]);
	return KDEX_EXIT_USAGE;
}

static int
keeta_help(const char *usage)
{
	printf("usage: kdex %s\n", usage);
	return KDEX_EXIT_OK;
}

/* --index N: 0 to 2^32-1, decimal. */
static int
parse_index(const char *s, uint32_t *out)
{
	unsigned long long	v;
	char			*end;

	if (s == NULL) {
		*out = 0;
		return 0;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 ||
	    v > UINT32_MAX)
		return kdex_err(-1, "invalid --index '%s'", s);
	*out = (uint32_t)v;
	return 0;
}

/* --algo A, default secp256k1 as in the SDK's Account.fromSeed(). */
static int
parse_algo(const char *s, int *out)
{
	if (s == NULL) {
		*out = KEETA_KEY_SECP256K1;
		return 0;
	}
	if ((*out = keeta_key_type_from_name(s)) < 0)
		return kdex_err(-1, "unknown --algo '%s' (ed25519, secp256k1 "
		    "or p256)", s);
	return 0;
}

/*
 * The signing account from --seed/--passphrase, --index and --algo.
 * NULL after printing an error; *code is the exit status then.
 */
static struct keeta_account *
account_from_args(const struct kdex_args *a, int allow_pass, int *code)
{
	const char		*seedhex, *pass, *cause = NULL;
	uint8_t			 seed[KEETA_SEED_LEN];
	uint32_t		 index;
	int			 algo;
	struct keeta_account	*acct;

	*code = KDEX_EXIT_USAGE;
	seedhex = kdex_args_get(a, "seed");
	pass = allow_pass ? kdex_args_get(a, "passphrase") : NULL;
	if ((seedhex == NULL) == (pass == NULL)) {
		kdex_err(0, allow_pass ? "give one of --seed and --passphrase" :
		    "give --seed or --key-file");
		return NULL;
	}
	if (parse_index(kdex_args_get(a, "index"), &index) != 0 ||
	    parse_algo(kdex_args_get(a, "algo"), &algo) != 0)
		return NULL;
	*code = KDEX_EXIT_FAIL;
	if (seedhex != NULL) {
		if (keeta_seed_from_hex(seedhex, seed, &cause) != 0) {
			kdex_err(0, "invalid --seed: %s", cause);
			return NULL;
		}
	} else if (keeta_seed_from_passphrase(pass, seed, &cause) != 0) {
		kdex_err(0, "invalid --passphrase: %s", cause);
		return NULL;
	}
	acct = keeta_account_from_seed(seed, index, algo, &cause);
	sodium_memzero(seed, sizeof seed);
	if (acct == NULL)
		kdex_err(0, "cannot derive the key: %s", cause);
	return acct;
}

static int
keeta_address(int argc, char **argv)
{
	static const char *const spec[] = { "seed=", "passphrase=", "index=",
	    "algo=", NULL };
	struct kdex_args	 a;
	struct keeta_account	*acct;
	const struct keeta_pubkey *pk;
	char			 addr[KEETA_ADDRESS_MAX];
	char			 hex[2 * KEETA_PUBKEY_MAX + 1];
	int			 rc, code;
	uint32_t		 index;

	if ((rc = kdex_args_parse(&a, argc, argv, spec)) != 0)
		return rc > 0 ? keeta_help(keeta_usages[0]) : KDEX_EXIT_USAGE;
	if (a.npos != 0)
		return keeta_usage();
	if ((acct = account_from_args(&a, 1, &code)) == NULL)
		return code;
	pk = keeta_account_pubkey(acct);
	keeta_address_encode(pk, addr);
	if (kdex_g.json) {
		cJSON	*o = cJSON_CreateObject();
		char	*s;

		(void)parse_index(kdex_args_get(&a, "index"), &index);
		keeta_hex_encode(pk->key, pk->len, hex);
		cJSON_AddStringToObject(o, "address", addr);
		cJSON_AddStringToObject(o, "algo",
		    keeta_key_type_name(pk->type));
		cJSON_AddNumberToObject(o, "index", index);
		cJSON_AddStringToObject(o, "publicKey", hex);
		if ((s = cJSON_Print(o)) == NULL)
			fatalx("cJSON_Print failed");
		printf("%s\n", s);
		free(s);
		cJSON_Delete(o);
	} else
		printf("%s\n", addr);
	keeta_account_free(acct);
	return KDEX_EXIT_OK;
}

static int
keeta_sign_message(int argc, char **argv)
{
	static const char *const spec[] = { "seed=", "index=", "algo=",
	    "key-file=", NULL };
	struct kdex_args	 a;
	struct keeta_account	*acct;
	struct keyfile		 kf;
	const char		*keypath, *msg;
	char			*cause = NULL, hex[2 * KEETA_SIG_LEN + 1];
	uint8_t			 sig[KEETA_SIG_LEN];
	int			 rc, code;

	if ((rc = kdex_args_parse(&a, argc, argv, spec)) != 0)
		return rc > 0 ? keeta_help(keeta_usages[2]) : KDEX_EXIT_USAGE;
	if (a.npos != 1)
		return keeta_usage();
	msg = a.pos[0];
	keypath = kdex_args_get(&a, "key-file");
	if (keypath != NULL) {
		if (kdex_args_has(&a, "seed") || kdex_args_has(&a, "index") ||
		    kdex_args_has(&a, "algo")) {
			kdex_err(0, "--key-file excludes --seed, --index and "
			    "--algo");
			return keeta_usage();
		}
		if ((code = kdex_key_open(keypath, &kf)) != KDEX_EXIT_OK)
			return code;
		acct = keyfile_account(&kf, &cause);
		keyfile_clear(&kf);
		if (acct == NULL) {
			kdex_err(0, "%s", cause);
			free(cause);
			return KDEX_EXIT_AUTH;
		}
	} else if ((acct = account_from_args(&a, 0, &code)) == NULL)
		return code == KDEX_EXIT_USAGE ? keeta_usage() : code;
	if (keeta_account_sign(acct, msg, strlen(msg), sig) != 0) {
		keeta_account_free(acct);
		return kdex_err(KDEX_EXIT_FAIL, "this key cannot sign");
	}
	keeta_account_free(acct);
	keeta_hex_encode(sig, sizeof sig, hex);
	printf("%s\n", hex);
	return KDEX_EXIT_OK;
}

static int
keeta_verify_message(int argc, char **argv)
{
	struct kdex_args	 a;
	struct keeta_pubkey	 pk;
	const char		*cause = NULL, *sighex;
	uint8_t			 sig[KEETA_SIG_LEN];
	int			 rc;

	if ((rc = kdex_args_parse(&a, argc, argv, NULL)) != 0)
		return rc > 0 ? keeta_help(keeta_usages[3]) : KDEX_EXIT_USAGE;
	if (a.npos != 3)
		return keeta_usage();
	if (keeta_pubkey_parse(a.pos[0], &pk, &cause) != 0)
		return kdex_err(KDEX_EXIT_USAGE, "invalid address '%s': %s",
		    a.pos[0], cause);
	if (!keeta_key_type_is_keyed(pk.type))
		return kdex_err(KDEX_EXIT_USAGE, "'%s' is a %s identifier, "
		    "which cannot sign", a.pos[0], keeta_key_type_name(pk.type));
	sighex = a.pos[2];
	if (strlen(sighex) != 2 * KEETA_SIG_LEN ||
	    keeta_hex_decode(sighex, strlen(sighex), sig, sizeof sig) !=
	    KEETA_SIG_LEN)
		return kdex_err(KDEX_EXIT_USAGE, "signature must be 128 hex "
		    "digits");
	if (keeta_verify(&pk, a.pos[1], strlen(a.pos[1]), sig) != 0) {
		printf("invalid\n");
		return KDEX_EXIT_FAIL;
	}
	printf("valid\n");
	return KDEX_EXIT_OK;
}

/* Read all of path ("-" or NULL: stdin) into a buffer the caller frees. */
static uint8_t *
read_input(const char *path, size_t *len)
{
	FILE	*f;
	uint8_t	*buf = NULL;
	size_t	 cap = 0, n = 0, got;

	if (path == NULL || strcmp(path, "-") == 0)
		f = stdin;
	else if ((f = fopen(path, "rb")) == NULL) {
		kdex_err(0, "cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (n == cap) {
			if (cap >= DECODE_MAX) {
				kdex_err(0, "input larger than %d bytes",
				    DECODE_MAX);
				goto fail;
			}
			cap = cap == 0 ? 65536 : cap * 2;
			buf = xreallocarray(buf, 1, cap);
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		kdex_err(0, "cannot read '%s'", path == NULL ? "-" : path);
		goto fail;
	}
	if (f != stdin)
		fclose(f);
	*len = n;
	return buf;
fail:
	if (f != stdin)
		fclose(f);
	free(buf);
	return NULL;
}

/*
 * Binary, hex or base64: text (printable ASCII and whitespace only) is
 * hex when it is all hex digits (an optional 0x prefix), else base64.
 * Returns the binary in a buffer the caller frees, or NULL.
 */
static uint8_t *
input_to_binary(uint8_t *in, size_t len, size_t *outlen)
{
	char	*text, *t;
	size_t	 i, n = 0;
	int	 printable = 1, hex = 1;
	uint8_t	*out;
	ssize_t	 got;

	for (i = 0; i < len && printable; i++)
		if ((in[i] < 0x20 || in[i] > 0x7e) && in[i] != '\n' &&
		    in[i] != '\r' && in[i] != '\t')
			printable = 0;
	if (!printable || len == 0) {
		out = xmalloc(len == 0 ? 1 : len);
		memcpy(out, in, len);
		*outlen = len;
		return out;
	}
	text = xmalloc(len + 1);
	for (i = 0; i < len; i++)
		if (in[i] != ' ' && in[i] != '\n' && in[i] != '\r' &&
		    in[i] != '\t')
			text[n++] = (char)in[i];
	text[n] = '\0';
	t = text;
	if (n >= 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
		t += 2;
		n -= 2;
	}
	for (i = 0; i < n && hex; i++)
		if (strchr("0123456789abcdefABCDEF", t[i]) == NULL)
			hex = 0;
	if (hex && n % 2 == 0 && n > 0) {
		out = xmalloc(n / 2);
		got = keeta_hex_decode(t, n, out, n / 2);
		if (got < 0)
			fatalx("hex decode of checked input failed");
		*outlen = (size_t)got;
	} else if ((out = keeta_block_base64_decode(text, strlen(text),
	    outlen)) == NULL)
		kdex_err(0, "input is neither DER, hex nor base64");
	free(text);
	return out;
}

/* Move every member of from to the end of to; frees from. */
static void
json_append(cJSON *to, cJSON *from)
{
	cJSON	*it;

	while ((it = from->child) != NULL) {
		cJSON_DetachItemViaPointer(from, it);
		cJSON_AddItemToObject(to, it->string, it);
	}
	cJSON_Delete(from);
}

static cJSON *
decode_block(const uint8_t *der, size_t len, const char **cause)
{
	struct keeta_block	*b;
	cJSON			*o, *bj;
	uint8_t			 hash[KEETA_HASH_LEN];
	char			 hex[2 * KEETA_HASH_LEN + 1];
	const char		*vcause = NULL;
	size_t			 i;
	int			 ok;

	if (keeta_block_decode(der, len, KEETA_BLOCK_NOVERIFY, &b,
	    cause) != 0)
		return NULL;
	if (keeta_block_hash(b, hash, cause) != 0 ||
	    (bj = keeta_block_to_json(b, 0, cause)) == NULL) {
		keeta_block_free(b);
		return NULL;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "kind", "block");
	keeta_hex_encode(hash, sizeof hash, hex);
	for (i = 0; hex[i] != '\0'; i++)
		hex[i] = (char)(hex[i] >= 'a' ? hex[i] - 'a' + 'A' : hex[i]);
	cJSON_AddStringToObject(o, "hash", hex);
	cJSON_AddNumberToObject(o, "version", b->version);
	ok = keeta_block_verify(b, &vcause) == 0;
	cJSON_AddBoolToObject(o, "signatureValid", ok);
	if (!ok && vcause != NULL)
		cJSON_AddStringToObject(o, "signatureError", vcause);
	/* The SDK's own field names follow ("version" is already here). */
	cJSON_DeleteItemFromObjectCaseSensitive(bj, "version");
	json_append(o, bj);
	keeta_block_free(b);
	return o;
}

/* A V2 block ([1] EXPLICIT) or a V1 block (SEQUENCE starting INTEGER 0). */
static int
looks_like_block(const uint8_t *p, size_t len)
{
	struct keeta_der_reader	r, c;
	uint64_t		v;

	if (len > 0 && p[0] == KEETA_DER_EXPLICIT(1))
		return 1;
	keeta_der_reader_init(&r, p, len);
	return keeta_der_enter(&r, KEETA_DER_SEQUENCE, &c) == 0 &&
	    keeta_der_read_u64(&c, &v) == 0 && v == 0;
}

static int
keeta_decode(int argc, char **argv)
{
	struct kdex_args	 a;
	uint8_t			*raw, *bin;
	size_t			 rawlen, len;
	const char		*cause = NULL;
	cJSON			*o;
	char			*s;
	int			 rc;

	if ((rc = kdex_args_parse(&a, argc, argv, NULL)) != 0)
		return rc > 0 ? keeta_help(keeta_usages[1]) : KDEX_EXIT_USAGE;
	if (a.npos > 1)
		return keeta_usage();
	if ((raw = read_input(a.npos == 1 ? a.pos[0] : NULL, &rawlen)) == NULL)
		return KDEX_EXIT_FAIL;
	bin = input_to_binary(raw, rawlen, &len);
	free(raw);
	if (bin == NULL)
		return KDEX_EXIT_FAIL;
	/*
	 * Blocks first, without failing on a bad signature (it is reported
	 * in the output); then votes and staples, which are verified.
	 */
	if ((o = decode_block(bin, len, &cause)) == NULL) {
		if (!looks_like_block(bin, len))
			cause = NULL;
		o = keeta_decode_any_json(bin, len, (int64_t)time(NULL) * 1000,
		    cause == NULL ? &cause : NULL);
	}
	free(bin);
	if (o == NULL)
		return kdex_err(KDEX_EXIT_FAIL, "cannot decode: %s",
		    cause != NULL ? cause : "unknown format");
	if ((s = cJSON_Print(o)) == NULL)
		fatalx("cJSON_Print failed");
	printf("%s\n", s);
	free(s);
	cJSON_Delete(o);
	return KDEX_EXIT_OK;
}

int
cmd_keeta(int argc, char **argv)
{
	static const struct {
		const char	*name;
		int		(*fn)(int, char **);
	} subs[] = {
		{ "address", keeta_address },
		{ "decode", keeta_decode },
		{ "sign-message", keeta_sign_message },
		{ "verify-message", keeta_verify_message },
	};
	size_t	i;

	if (argc < 2)
		return keeta_usage();
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		for (i = 0; i < sizeof keeta_usages / sizeof keeta_usages[0];
		    i++)
			printf("%s kdex %s\n", i == 0 ? "usage:" : "      ",
			    keeta_usages[i]);
		return KDEX_EXIT_OK;
	}
	for (i = 0; i < sizeof subs / sizeof subs[0]; i++)
		if (strcmp(argv[1], subs[i].name) == 0)
			return subs[i].fn(argc - 1, argv + 1);
	kdex_err(0, "unknown keeta command '%s'", argv[1]);
	return keeta_usage();
}
