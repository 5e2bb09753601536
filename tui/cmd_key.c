/*
 * kdex key new|import|export|show|list: the profile's key file.
 *
 * The key never leaves this machine: it is created or imported here,
 * sealed with the passphrase (src/keyfile.c) and only ever used to sign
 * locally. `export` is the one way to see the secret again, for a backup.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "kdex.h"
#include "keyfile.h"
#include "util.h"

/* The profile's key file path, or NULL after an error. */
static char *
key_path(void)
{
	char	*path, *cause = NULL;

	if ((path = keyfile_profile_path(kdex_g.profile, &cause)) == NULL) {
		kdex_err(KDEX_EXIT_USAGE, "%s", cause);
		free(cause);
	}
	return path;
}

static int
key_parse_type(const char *s, int *type)
{
	if (s == NULL) {
		*type = KEETA_KEY_ED25519;
		return 0;
	}
	*type = keeta_key_type_from_name(s);
	if (*type != KEETA_KEY_ED25519 && *type != KEETA_KEY_SECP256K1 &&
	    *type != KEETA_KEY_SECP256R1)
		return kdex_err(-1, "unknown key type '%s' (ed25519, "
		    "secp256k1 or p256)", s);
	return 0;
}

static int
key_parse_index(const char *s, uint32_t *index)
{
	char			*end;
	unsigned long long	 v;

	*index = 0;
	if (s == NULL)
		return 0;
	v = strtoull(s, &end, 10);
	if (*s == '\0' || *s == '-' || *end != '\0' || v > UINT32_MAX)
		return kdex_err(-1, "invalid index '%s'", s);
	*index = (uint32_t)v;
	return 0;
}

static const char *
key_kind_name(int kind)
{
	return kind == KEYFILE_SEED ? "seed" : "private";
}

/* Print the public part of kf (key show / new / import). */
static void
key_print(const struct keyfile *kf, const char *path)
{
	cJSON	*o;
	char	*s;

	if (!kdex_g.json) {
		printf("profile %s\naddress %s\ntype %s\nkind %s\nindex %u\n"
		    "file %s\n", kdex_g.profile, kf->address,
		    keeta_key_type_name(kf->key_type), key_kind_name(kf->kind),
		    (unsigned)kf->index, path);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "profile", kdex_g.profile);
	cJSON_AddStringToObject(o, "address", kf->address);
	cJSON_AddStringToObject(o, "type", keeta_key_type_name(kf->key_type));
	cJSON_AddStringToObject(o, "kind", key_kind_name(kf->kind));
	cJSON_AddNumberToObject(o, "index", kf->index);
	cJSON_AddStringToObject(o, "file", path);
	if ((s = cJSON_PrintUnformatted(o)) == NULL)
		fatalx("out of memory");
	printf("%s\n", s);
	free(s);
	cJSON_Delete(o);
}

/* The passphrase hashing cost (--kdf); NULL on an unknown name. */
static const struct keyfile_kdf *
key_kdf(const char *name, struct keyfile_kdf *buf)
{
	if (name == NULL || strcmp(name, "interactive") == 0)
		return NULL;	/* keyfile's default */
	if (strcmp(name, "min") == 0)
		return &keyfile_kdf_min;
	if (strcmp(name, "moderate") == 0) {
		buf->opslimit = crypto_pwhash_OPSLIMIT_MODERATE;
		buf->memlimit = crypto_pwhash_MEMLIMIT_MODERATE;
		return buf;
	}
	if (strcmp(name, "sensitive") == 0) {
		buf->opslimit = crypto_pwhash_OPSLIMIT_SENSITIVE;
		buf->memlimit = crypto_pwhash_MEMLIMIT_SENSITIVE;
		return buf;
	}
	return NULL;
}

static const char	*key_kdf_name;

/* Seal kf into path under a new passphrase. */
static int
key_save(const struct keyfile *kf, const char *path, int force)
{
	struct keyfile_kdf	 kbuf;
	char			*pass, *cause = NULL;
	int			 rc;

	if ((pass = kdex_passphrase("New passphrase for the key file: ",
	    1)) == NULL)
		return KDEX_EXIT_AUTH;
	rc = keyfile_write(path, kf, pass, strlen(pass),
	    key_kdf(key_kdf_name, &kbuf), force, &cause);
	keyfile_pass_free(pass);
	if (rc != 0) {
		kdex_err(KDEX_EXIT_FAIL, "cannot save key: %s", cause);
		free(cause);
		return KDEX_EXIT_FAIL;
	}
	key_print(kf, path);
	return KDEX_EXIT_OK;
}

/* Refuse to replace a key unless --force: a lost key is lost funds. */
static int
key_check_free(const char *path, int force)
{
	if (!force && access(path, F_OK) == 0) {
		kdex_err(KDEX_EXIT_FAIL, "profile '%s' already has a key "
		    "('%s'); use --force to replace it", kdex_g.profile, path);
		return -1;
	}
	return 0;
}

static int
key_new(const struct kdex_args *a, const char *path)
{
	struct keyfile	 kf;
	uint8_t		 seed[KEYFILE_SECRET_LEN];
	uint32_t	 index;
	char		*cause = NULL;
	int		 type, rc, force = kdex_args_has(a, "force");

	if (a->npos != 0)
		return kdex_usage();
	if (key_parse_type(kdex_args_get(a, "type"), &type) != 0 ||
	    key_parse_index(kdex_args_get(a, "index"), &index) != 0)
		return kdex_usage();
	if (key_check_free(path, force) != 0)
		return KDEX_EXIT_FAIL;
	if (sodium_init() < 0)
		fatalx("libsodium initialisation failed");
	randombytes_buf(seed, sizeof seed);
	rc = keyfile_from_seed(&kf, seed, index, type, &cause);
	sodium_memzero(seed, sizeof seed);
	if (rc != 0) {
		kdex_err(KDEX_EXIT_FAIL, "%s", cause);
		free(cause);
		return KDEX_EXIT_FAIL;
	}
	rc = key_save(&kf, path, force);
	keyfile_clear(&kf);
	return rc;
}

/* A secret argument: "-" reads one line from stdin so it stays out of
 * ps(1) and shell history. Caller frees with keyfile_pass_free. */
static char *
key_secret_arg(const char *v, const char *what)
{
	char	*s, *cause = NULL;

	if (strcmp(v, "-") != 0)
		return xstrdup(v);
	if (isatty(STDIN_FILENO)) {
		char	*prompt;

		xasprintf(&prompt, "%s: ", what);
		s = keyfile_pass_tty(prompt, 0, &cause);
		free(prompt);
	} else
		s = keyfile_pass_fd(STDIN_FILENO, &cause);
	if (s == NULL) {
		kdex_err(KDEX_EXIT_USAGE, "cannot read %s: %s", what, cause);
		free(cause);
	}
	return s;
}

static int
key_import(const struct kdex_args *a, const char *path)
{
	struct keyfile	 kf;
	uint8_t		 secret[KEYFILE_SECRET_LEN];
	uint32_t	 index;
	const char	*seed = kdex_args_get(a, "seed");
	const char	*priv = kdex_args_get(a, "private");
	int		 words = kdex_args_has(a, "passphrase-words");
	const char	*why = NULL;
	char		*s, *cause = NULL;
	int		 type, rc;
	int		 force = kdex_args_has(a, "force");

	if (a->npos != 0 || (seed != NULL) + (priv != NULL) + words != 1) {
		kdex_err(KDEX_EXIT_USAGE, "give exactly one of --seed, "
		    "--passphrase-words and --private");
		return kdex_usage();
	}
	if (key_parse_type(kdex_args_get(a, "type"), &type) != 0 ||
	    key_parse_index(kdex_args_get(a, "index"), &index) != 0)
		return kdex_usage();
	if (priv != NULL && kdex_args_has(a, "index"))
		return kdex_err(KDEX_EXIT_USAGE, "--index applies to seeds "
		    "only");
	if (key_check_free(path, force) != 0)
		return KDEX_EXIT_FAIL;

	if (words)
		s = key_secret_arg("-", "seed passphrase");
	else
		s = key_secret_arg(seed != NULL ? seed : priv,
		    seed != NULL ? "seed (64 hex digits)" :
		    "private key (64 hex digits)");
	if (s == NULL)
		return KDEX_EXIT_USAGE;
	if (words)
		rc = keeta_seed_from_passphrase(s, secret, &why);
	else
		rc = keeta_seed_from_hex(s, secret, &why);
	keyfile_pass_free(s);
	if (rc != 0) {
		sodium_memzero(secret, sizeof secret);
		return kdex_err(KDEX_EXIT_USAGE, "invalid %s: %s",
		    words ? "seed passphrase" : "key", why != NULL ? why :
		    "bad format");
	}
	if (priv != NULL)
		rc = keyfile_from_private(&kf, secret, type, &cause);
	else
		rc = keyfile_from_seed(&kf, secret, index, type, &cause);
	sodium_memzero(secret, sizeof secret);
	if (rc != 0) {
		kdex_err(KDEX_EXIT_FAIL, "%s", cause);
		free(cause);
		return KDEX_EXIT_FAIL;
	}
	rc = key_save(&kf, path, force);
	keyfile_clear(&kf);
	return rc;
}

static int
key_export(const struct kdex_args *a, const char *path)
{
	struct keyfile		 kf;
	struct keeta_account	*acct;
	uint8_t			 priv[KEYFILE_SECRET_LEN];
	char			 hex[2 * KEYFILE_SECRET_LEN + 1];
	char			*cause = NULL;
	int			 rc, want_priv = kdex_args_has(a, "private");

	if (a->npos != 0)
		return kdex_usage();
	if ((rc = kdex_key_open(path, &kf)) != KDEX_EXIT_OK)
		return rc;
	if (want_priv || kf.kind == KEYFILE_PRIVATE) {
		if ((acct = keyfile_account(&kf, &cause)) == NULL ||
		    keeta_account_private(acct, priv) != 0) {
			keeta_account_free(acct);
			keyfile_clear(&kf);
			kdex_err(KDEX_EXIT_FAIL, "cannot export: %s",
			    cause != NULL ? cause : "no private key");
			free(cause);
			return KDEX_EXIT_FAIL;
		}
		keeta_account_free(acct);
		keeta_hex_encode(priv, sizeof priv, hex);
		sodium_memzero(priv, sizeof priv);
	} else
		keeta_hex_encode(kf.secret, sizeof kf.secret, hex);
	if (kdex_g.json) {
		printf("{\"address\":\"%s\",\"type\":\"%s\",\"%s\":\"%s\"",
		    kf.address, keeta_key_type_name(kf.key_type),
		    want_priv || kf.kind == KEYFILE_PRIVATE ? "private" :
		    "seed", hex);
		if (!want_priv && kf.kind == KEYFILE_SEED)
			printf(",\"index\":%u", (unsigned)kf.index);
		printf("}\n");
	} else if (want_priv || kf.kind == KEYFILE_PRIVATE)
		printf("address %s\ntype %s\nprivate %s\n", kf.address,
		    keeta_key_type_name(kf.key_type), hex);
	else
		printf("address %s\ntype %s\nseed %s\nindex %u\n", kf.address,
		    keeta_key_type_name(kf.key_type), hex,
		    (unsigned)kf.index);
	sodium_memzero(hex, sizeof hex);
	keyfile_clear(&kf);
	return KDEX_EXIT_OK;
}

static int
key_show(const struct kdex_args *a, const char *path)
{
	struct keyfile	 kf;
	char		*cause = NULL;

	if (a->npos != 0)
		return kdex_usage();
	if (keyfile_peek(path, &kf, &cause) != 0) {
		kdex_err(KDEX_EXIT_FAIL, "%s", cause);
		free(cause);
		return KDEX_EXIT_FAIL;
	}
	key_print(&kf, path);
	return KDEX_EXIT_OK;
}

static int
key_list(const struct kdex_args *a)
{
	struct keyfile	 kf;
	char		**names, *cause = NULL, *path;
	size_t		 n, i;

	if (a->npos != 0)
		return kdex_usage();
	if (keyfile_profile_list(&names, &n, &cause) != 0) {
		kdex_err(KDEX_EXIT_FAIL, "%s", cause);
		free(cause);
		return KDEX_EXIT_FAIL;
	}
	if (kdex_g.json)
		printf("{\"profiles\":[");
	for (i = 0; i < n; i++) {
		path = keyfile_profile_path(names[i], NULL);
		if (path == NULL || keyfile_peek(path, &kf, NULL) != 0)
			memset(&kf, 0, sizeof kf);
		free(path);
		if (kdex_g.json)
			printf("%s{\"profile\":\"%s\",\"address\":\"%s\"}",
			    i > 0 ? "," : "", names[i], kf.address);
		else
			printf("%s %s\n", names[i], kf.address[0] != '\0' ?
			    kf.address : "(unreadable)");
		free(names[i]);
	}
	if (kdex_g.json)
		printf("]}\n");
	free(names);
	return KDEX_EXIT_OK;
}

int
cmd_key(int argc, char **argv)
{
	static const char *const spec[] = { "type=", "index=", "force",
	    "seed=", "private=", "passphrase-words", "kdf=", NULL };
	static const char *const spec_export[] = { "private", NULL };
	static const char *const spec_none[] = { NULL };
	struct kdex_args	 a;
	const char		*sub = argv[0];
	const char *const	*sp;
	char			*path;
	int			 rc;

	if (strcmp(sub, "new") == 0 || strcmp(sub, "import") == 0)
		sp = spec;
	else if (strcmp(sub, "export") == 0)
		sp = spec_export;
	else
		sp = spec_none;
	if ((rc = kdex_args_parse(&a, argc, argv, sp)) != 0)
		return rc > 0 ? KDEX_EXIT_OK : KDEX_EXIT_USAGE;
	if (strcmp(sub, "new") == 0 && (kdex_args_has(&a, "seed") ||
	    kdex_args_has(&a, "private") ||
	    kdex_args_has(&a, "passphrase-words"))) {
		kdex_err(KDEX_EXIT_USAGE, "use 'kdex key import' to import");
		return kdex_usage();
	}
	if (strcmp(sub, "list") == 0)
		return key_list(&a);
	key_kdf_name = kdex_args_get(&a, "kdf");
	if (key_kdf_name != NULL && strcmp(key_kdf_name, "min") != 0 &&
	    strcmp(key_kdf_name, "interactive") != 0 &&
	    strcmp(key_kdf_name, "moderate") != 0 &&
	    strcmp(key_kdf_name, "sensitive") != 0) {
		kdex_err(0, "unknown --kdf '%s' (min, interactive, moderate, "
		    "sensitive)", key_kdf_name);
		return kdex_usage();
	}
	if ((path = key_path()) == NULL)
		return KDEX_EXIT_USAGE;
	if (strcmp(sub, "new") == 0)
		rc = key_new(&a, path);
	else if (strcmp(sub, "import") == 0)
		rc = key_import(&a, path);
	else if (strcmp(sub, "export") == 0)
		rc = key_export(&a, path);
	else
		rc = key_show(&a, path);
	free(path);
	return rc;
}
