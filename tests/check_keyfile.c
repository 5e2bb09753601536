/*
 * check_keyfile: the encrypted key file (src/keyfile.c).
 *
 * Addresses come from the SDK vectors (tests/data/keeta/accounts.json), so
 * a key that survives the round trip is also the right key. The KDF cost
 * is libsodium's minimum here to keep valgrind runs short; the format
 * records the cost, so this is the same code path as the default.
 */
#include "config.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "keyfile.h"

/* Seed 00..00, index 0 (accounts.json). */
#define ED_ADDR	"keeta_ahphx5sceig6bleyvoi7eswg7b43ywd4cg7q6s5upoog2yx2i3w3evinqmr7e"
#define K1_ADDR	"keeta_aabmufyh5lif54xfgzm4ogu47f347xikdh6oaxvfu7a54lam5hhxzvmgrz2yzpy"
#define R1_ADDR	"keeta_aybrwgd3pqjwzaqpjegazcku7a3npv5lxhd3n4i56tewjqkjsrsorqbvaoaj4uq"
/* Seed 00..00, index 1, Ed25519. */
#define ED1_ADDR "keeta_ah2i7ci47hxegrcd3ea22xe4qib6w2qnhgmrzjhcbqcclh2xhnb5laibesvcw"
/* secp256k1 private key of seed 00..00 index 0. */
#define K1_PRIV	"1774fe0e03d587c27841f0c640ed9861bc7d888c709a4dcf9c8e3ef19b195149"

static char	dir[64];
static char	path[128];

static void
setup(void)
{
	strcpy(dir, "/tmp/check_keyfile.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/sub/k.key", dir);
	setenv("KDEX_HOME", dir, 1);
}

static void
teardown(void)
{
	char	cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void
make_seed_key(struct keyfile *kf, int type, uint32_t index)
{
	uint8_t	seed[KEYFILE_SECRET_LEN] = { 0 };
	char	*cause = NULL;

	ck_assert_int_eq(keyfile_from_seed(kf, seed, index, type, &cause), 0);
	ck_assert_ptr_null(cause);
}

static void
write_key(const struct keyfile *kf, const char *pass, int overwrite)
{
	char	*cause = NULL;
	int	 rc;

	rc = keyfile_write(path, kf, pass, strlen(pass), &keyfile_kdf_min,
	    overwrite, &cause);
	if (rc != 0)
		ck_abort_msg("write: %s", cause);
}

/* Replace the line starting with name in the file at path. */
static void
edit_line(const char *name, const char *newline)
{
	char	 buf[2048], out[2048], *line, *next;
	FILE	*f;
	size_t	 n, len = strlen(name);

	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	out[0] = '\0';
	for (line = buf; *line != '\0'; line = next) {
		next = strchr(line, '\n');
		*next++ = '\0';
		if (strncmp(line, name, len) == 0 && line[len] == ' ')
			strcat(out, newline);
		else
			strcat(out, line);
		strcat(out, "\n");
	}
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(out, f);
	fclose(f);
	ck_assert_int_eq(chmod(path, 0600), 0);
}

START_TEST(test_roundtrip_types)
{
	static const struct {
		int		 type;
		uint32_t	 index;
		const char	*addr;
	} v[] = {
		{ KEETA_KEY_ED25519, 0, ED_ADDR },
		{ KEETA_KEY_SECP256K1, 0, K1_ADDR },
		{ KEETA_KEY_SECP256R1, 0, R1_ADDR },
		{ KEETA_KEY_ED25519, 1, ED1_ADDR },
	};
	struct keyfile	 kf, back, peek;
	struct stat	 st;
	char		*cause = NULL;
	size_t		 i;

	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		make_seed_key(&kf, v[i].type, v[i].index);
		ck_assert_str_eq(kf.address, v[i].addr);
		write_key(&kf, "pass word", 1);
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_uint_eq(st.st_mode & 0777, 0600);

		ck_assert_int_eq(keyfile_peek(path, &peek, &cause), 0);
		ck_assert_str_eq(peek.address, v[i].addr);
		ck_assert_int_eq(peek.key_type, v[i].type);
		ck_assert_uint_eq(peek.index, v[i].index);

		ck_assert_int_eq(keyfile_read(path, "pass word", 9, &back,
		    &cause), 0);
		ck_assert_mem_eq(back.secret, kf.secret, KEYFILE_SECRET_LEN);
		ck_assert_str_eq(back.address, v[i].addr);
		ck_assert_int_eq(back.kind, KEYFILE_SEED);
		keyfile_clear(&back);
		keyfile_clear(&kf);
	}
}
END_TEST

START_TEST(test_private_key)
{
	struct keyfile		 kf, back;
	struct keeta_account	*a;
	uint8_t			 priv[32], out[32];
	char			*cause = NULL;
	const char		*why;

	ck_assert_int_eq(keeta_seed_from_hex(K1_PRIV, priv, &why), 0);
	ck_assert_int_eq(keyfile_from_private(&kf, priv, KEETA_KEY_SECP256K1,
	    &cause), 0);
	ck_assert_str_eq(kf.address, K1_ADDR);
	write_key(&kf, "x", 1);
	ck_assert_int_eq(keyfile_read(path, "x", 1, &back, &cause), 0);
	ck_assert_int_eq(back.kind, KEYFILE_PRIVATE);
	a = keyfile_account(&back, &cause);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(keeta_account_private(a, out), 0);
	ck_assert_mem_eq(out, priv, 32);
	keeta_account_free(a);
	keyfile_clear(&back);
	keyfile_clear(&kf);
}
END_TEST

START_TEST(test_wrong_pass_and_tamper)
{
	struct keyfile	 kf, back;
	char		*cause = NULL;
	char		 line[256];

	make_seed_key(&kf, KEETA_KEY_ED25519, 0);
	write_key(&kf, "right", 1);

	ck_assert_int_eq(keyfile_read(path, "wrong", 5, &back, &cause),
	    KEYFILE_BADPASS);
	ck_assert_ptr_nonnull(strstr(cause, "wrong passphrase"));
	free(cause);
	cause = NULL;
	ck_assert_int_eq(back.secret[0] | back.secret[31], 0);

	/* The clear index no longer matches the sealed one. */
	edit_line("index", "index 1");
	ck_assert_int_eq(keyfile_read(path, "right", 5, &back, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "does not match"));
	free(cause);
	cause = NULL;

	/* A different (valid) address in clear. */
	edit_line("index", "index 0");
	snprintf(line, sizeof line, "address %s", ED1_ADDR);
	edit_line("address", line);
	ck_assert_int_eq(keyfile_read(path, "right", 5, &back, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "address does not match"));
	free(cause);
	cause = NULL;

	/* One flipped bit of the box fails authentication. */
	write_key(&kf, "right", 1);
	{
		FILE	*f = fopen(path, "r");
		char	 buf[2048], *p;
		size_t	 n;

		ck_assert_ptr_nonnull(f);
		n = fread(buf, 1, sizeof buf - 1, f);
		buf[n] = '\0';
		fclose(f);
		p = strstr(buf, "box ") + 4;
		*p = *p == '0' ? '1' : '0';
		f = fopen(path, "w");
		fputs(buf, f);
		fclose(f);
	}
	ck_assert_int_eq(keyfile_read(path, "right", 5, &back, &cause),
	    KEYFILE_BADPASS);
	free(cause);
	cause = NULL;

	/* Readable by others: refused before any decryption. */
	write_key(&kf, "right", 1);
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(keyfile_read(path, "right", 5, &back, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "chmod 600"));
	free(cause);
	keyfile_clear(&kf);
}
END_TEST

START_TEST(test_no_overwrite_and_malformed)
{
	struct keyfile	 kf, back;
	char		*cause = NULL;
	FILE		*f;

	make_seed_key(&kf, KEETA_KEY_ED25519, 0);
	write_key(&kf, "p", 0);
	ck_assert_int_eq(keyfile_write(path, &kf, "p", 1, &keyfile_kdf_min, 0,
	    &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "already exists"));
	free(cause);
	cause = NULL;

	/* An absurd KDF cost is refused, not attempted. */
	edit_line("kdf", "kdf argon2id13 2 99999999999999");
	ck_assert_int_eq(keyfile_read(path, "p", 1, &back, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "out of range"));
	free(cause);
	cause = NULL;

	/* Missing field, duplicate field, junk. */
	f = fopen(path, "w");
	fputs("kdex-keyfile 1\ntype ed25519\n", f);
	fclose(f);
	ck_assert_int_eq(keyfile_peek(path, &back, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "not a valid"));
	free(cause);
	cause = NULL;
	f = fopen(path, "w");
	fputs("kdex-keyfile 2\n", f);
	fclose(f);
	ck_assert_int_eq(keyfile_peek(path, &back, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "version"));
	free(cause);
	keyfile_clear(&kf);
}
END_TEST

START_TEST(test_profiles)
{
	struct keyfile	  kf;
	char		 *p, *cause = NULL, **names;
	size_t		  n, i;

	ck_assert_int_eq(keyfile_profile_valid("default"), 1);
	ck_assert_int_eq(keyfile_profile_valid("a.b_c-9"), 1);
	ck_assert_int_eq(keyfile_profile_valid(""), 0);
	ck_assert_int_eq(keyfile_profile_valid(".hidden"), 0);
	ck_assert_int_eq(keyfile_profile_valid("../x"), 0);
	ck_assert_int_eq(keyfile_profile_valid("a/b"), 0);
	ck_assert_ptr_null(keyfile_profile_path("../etc", &cause));
	free(cause);

	ck_assert_int_eq(keyfile_profile_list(&names, &n, NULL), 0);
	ck_assert_uint_eq(n, 0);
	free(names);

	make_seed_key(&kf, KEETA_KEY_ED25519, 0);
	p = keyfile_profile_path("zeta", NULL);
	ck_assert_ptr_nonnull(strstr(p, "/keys/zeta.key"));
	ck_assert_int_eq(strncmp(p, dir, strlen(dir)), 0);
	ck_assert_int_eq(keyfile_write(p, &kf, "p", 1, &keyfile_kdf_min, 0,
	    NULL), 0);
	free(p);
	p = keyfile_profile_path("alpha", NULL);
	ck_assert_int_eq(keyfile_write(p, &kf, "p", 1, &keyfile_kdf_min, 0,
	    NULL), 0);
	free(p);
	keyfile_clear(&kf);

	ck_assert_int_eq(keyfile_profile_list(&names, &n, NULL), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(names[0], "alpha");
	ck_assert_str_eq(names[1], "zeta");
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
END_TEST

START_TEST(test_pass_fd)
{
	int	 fds[2];
	char	*p, *cause = NULL, big[KEYFILE_PASS_MAX + 2];

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(write(fds[1], "s3cret\r\nrest\n\n", 14), 14);
	p = keyfile_pass_fd(fds[0], &cause);
	ck_assert_str_eq(p, "s3cret");
	keyfile_pass_free(p);
	/* Only one line was consumed. */
	p = keyfile_pass_fd(fds[0], &cause);
	ck_assert_str_eq(p, "rest");
	keyfile_pass_free(p);
	ck_assert_ptr_null(keyfile_pass_fd(fds[0], &cause));
	ck_assert_ptr_nonnull(strstr(cause, "empty"));
	free(cause);
	cause = NULL;
	close(fds[1]);
	close(fds[0]);

	ck_assert_int_eq(pipe(fds), 0);
	memset(big, 'a', sizeof big);
	ck_assert_int_eq(write(fds[1], big, sizeof big), (ssize_t)sizeof big);
	close(fds[1]);
	ck_assert_ptr_null(keyfile_pass_fd(fds[0], &cause));
	ck_assert_ptr_nonnull(strstr(cause, "too long"));
	free(cause);
	close(fds[0]);

	ck_assert_ptr_null(keyfile_pass_file("/nonexistent/x", &cause));
	free(cause);
}
END_TEST

static Suite *
keyfile_suite(void)
{
	Suite	*s = suite_create("keyfile");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_roundtrip_types);
	tcase_add_test(tc, test_private_key);
	tcase_add_test(tc, test_wrong_pass_and_tamper);
	tcase_add_test(tc, test_no_overwrite_and_malformed);
	tcase_add_test(tc, test_profiles);
	tcase_add_test(tc, test_pass_fd);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(keyfile_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
