/*
 * keyfile: the encrypted key file (format and contract in keyfile.h).
 *
 * The file is text so an operator can see which key it holds without a
 * passphrase; only the 48-byte plaintext is secret. Everything that held
 * secret bytes is wiped before it is freed or goes out of scope.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "keyfile.h"
#include "util.h"

#define KEYFILE_MAGIC		"kdexkey1"
#define KEYFILE_PLAIN_LEN	48
#define KEYFILE_MAX_OPS		16ULL
#define KEYFILE_MAX_MEM		((size_t)4 << 30)
#define KEYFILE_FILE_MAX	4096	/* a key file is ~400 bytes */

const struct keyfile_kdf keyfile_kdf_min = {
	crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN
};

static int
keyfile_init(void)
{
	/* sodium_init is idempotent and thread-safe; 1 means already done. */
	return sodium_init() < 0 ? -1 : 0;
}

static int
keyfile_fail(char **cause, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
keyfile_fail(char **cause, const char *fmt, ...)
{
	va_list	ap;

	if (cause != NULL) {
		va_start(ap, fmt);
		xvasprintf(cause, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int
keyfile_type_ok(int type)
{
	return type == KEETA_KEY_ED25519 || type == KEETA_KEY_SECP256K1 ||
	    type == KEETA_KEY_SECP256R1;
}

/* "p256" rather than "secp256r1" in files: the name the CLI uses. */
static const char *
keyfile_type_name(int type)
{
	return keeta_key_type_name(type);
}

struct keeta_account *
keyfile_account(const struct keyfile *kf, char **cause)
{
	struct keeta_account	*a;
	const char		*why = NULL;

	if (!keyfile_type_ok(kf->key_type)) {
		keyfile_fail(cause, "key type %d cannot sign", kf->key_type);
		return NULL;
	}
	if (kf->kind == KEYFILE_SEED)
		a = keeta_account_from_seed(kf->secret, kf->index,
		    kf->key_type, &why);
	else if (kf->kind == KEYFILE_PRIVATE)
		a = keeta_account_from_private(kf->key_type, kf->secret, &why);
	else {
		keyfile_fail(cause, "unknown key kind %d", kf->kind);
		return NULL;
	}
	if (a == NULL)
		keyfile_fail(cause, "cannot derive key: %s",
		    why != NULL ? why : "unknown error");
	return a;
}

/* Set kf->address from the secret; 0 or -1. */
static int
keyfile_derive_address(struct keyfile *kf, char **cause)
{
	struct keeta_account	*a;

	if ((a = keyfile_account(kf, cause)) == NULL)
		return -1;
	keeta_address_encode(keeta_account_pubkey(a), kf->address);
	keeta_account_free(a);
	return 0;
}

int
keyfile_from_seed(struct keyfile *kf, const uint8_t seed[KEYFILE_SECRET_LEN],
    uint32_t index, int key_type, char **cause)
{
	memset(kf, 0, sizeof *kf);
	kf->kind = KEYFILE_SEED;
	kf->key_type = key_type;
	kf->index = index;
	memcpy(kf->secret, seed, KEYFILE_SECRET_LEN);
	if (keyfile_derive_address(kf, cause) != 0) {
		keyfile_clear(kf);
		return -1;
	}
	return 0;
}

int
keyfile_from_private(struct keyfile *kf,
    const uint8_t priv[KEYFILE_SECRET_LEN], int key_type, char **cause)
{
	memset(kf, 0, sizeof *kf);
	kf->kind = KEYFILE_PRIVATE;
	kf->key_type = key_type;
	memcpy(kf->secret, priv, KEYFILE_SECRET_LEN);
	if (keyfile_derive_address(kf, cause) != 0) {
		keyfile_clear(kf);
		return -1;
	}
	return 0;
}

void
keyfile_clear(struct keyfile *kf)
{
	sodium_memzero(kf, sizeof *kf);
}

static void
keyfile_plain(const struct keyfile *kf, uint8_t p[KEYFILE_PLAIN_LEN])
{
	memcpy(p, KEYFILE_MAGIC, 8);
	p[8] = (uint8_t)kf->key_type;
	p[9] = (uint8_t)kf->kind;
	p[10] = p[11] = 0;
	p[12] = (uint8_t)(kf->index >> 24);
	p[13] = (uint8_t)(kf->index >> 16);
	p[14] = (uint8_t)(kf->index >> 8);
	p[15] = (uint8_t)kf->index;
	memcpy(p + 16, kf->secret, KEYFILE_SECRET_LEN);
}

/* Argon2id(pass, salt) -> secretbox key. */
static int
keyfile_kdf_key(uint8_t key[crypto_secretbox_KEYBYTES], const char *pass,
    size_t passlen, const uint8_t salt[crypto_pwhash_SALTBYTES],
    unsigned long long ops, size_t mem, char **cause)
{
	if (crypto_pwhash(key, crypto_secretbox_KEYBYTES, pass, passlen, salt,
	    ops, mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return keyfile_fail(cause, "passphrase hashing failed "
		    "(out of memory?)");
	return 0;
}

static void
keyfile_hex(FILE *f, const char *name, const uint8_t *b, size_t len)
{
	size_t	i;

	fprintf(f, "%s ", name);
	for (i = 0; i < len; i++)
		fprintf(f, "%02x", b[i]);
	fputc('\n', f);
}

/* mkdir -p with mode 0700 for the parents of path. */
static int
keyfile_mkparents(const char *path, char **cause)
{
	char	*dir, *p;

	dir = xstrdup(path);
	if ((p = strrchr(dir, '/')) == NULL || p == dir) {
		free(dir);
		return 0;
	}
	*p = '\0';
	for (p = dir + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		{
			char	save = *p;

			*p = '\0';
			if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
				keyfile_fail(cause, "cannot create '%s': %s",
				    dir, strerror(errno));
				free(dir);
				return -1;
			}
			*p = save;
			if (save == '\0')
				break;
		}
	}
	free(dir);
	return 0;
}

int
keyfile_write(const char *path, const struct keyfile *kf, const char *pass,
    size_t passlen, const struct keyfile_kdf *kdf, int overwrite,
    char **cause)
{
	uint8_t		 plain[KEYFILE_PLAIN_LEN];
	uint8_t		 box[crypto_secretbox_MACBYTES + KEYFILE_PLAIN_LEN];
	uint8_t		 key[crypto_secretbox_KEYBYTES];
	uint8_t		 salt[crypto_pwhash_SALTBYTES];
	uint8_t		 nonce[crypto_secretbox_NONCEBYTES];
	unsigned long long ops;
	size_t		 mem;
	char		*tmp = NULL;
	FILE		*f = NULL;
	int		 fd = -1, rc = -1;

	if (keyfile_init() != 0)
		return keyfile_fail(cause, "libsodium initialisation failed");
	if (!keyfile_type_ok(kf->key_type) ||
	    (kf->kind != KEYFILE_SEED && kf->kind != KEYFILE_PRIVATE) ||
	    kf->address[0] == '\0')
		return keyfile_fail(cause, "incomplete key");
	if (passlen == 0)
		return keyfile_fail(cause, "empty passphrase");
	ops = kdf != NULL ? kdf->opslimit : crypto_pwhash_OPSLIMIT_INTERACTIVE;
	mem = kdf != NULL ? kdf->memlimit : crypto_pwhash_MEMLIMIT_INTERACTIVE;
	if (!overwrite && access(path, F_OK) == 0)
		return keyfile_fail(cause, "'%s' already exists", path);
	if (keyfile_mkparents(path, cause) != 0)
		return -1;

	randombytes_buf(salt, sizeof salt);
	randombytes_buf(nonce, sizeof nonce);
	if (keyfile_kdf_key(key, pass, passlen, salt, ops, mem, cause) != 0)
		goto out;
	keyfile_plain(kf, plain);
	if (crypto_secretbox_easy(box, plain, sizeof plain, nonce, key) != 0) {
		keyfile_fail(cause, "encryption failed");
		goto out;
	}

	xasprintf(&tmp, "%s.tmpXXXXXX", path);
	if ((fd = mkstemp(tmp)) == -1) {
		keyfile_fail(cause, "cannot create '%s': %s", tmp,
		    strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	if (fchmod(fd, 0600) != 0 || (f = fdopen(fd, "w")) == NULL) {
		keyfile_fail(cause, "cannot write '%s': %s", tmp,
		    strerror(errno));
		goto out;
	}
	fd = -1;
	fprintf(f, "kdex-keyfile 1\n");
	fprintf(f, "type %s\n", keyfile_type_name(kf->key_type));
	fprintf(f, "kind %s\n", kf->kind == KEYFILE_SEED ? "seed" : "private");
	fprintf(f, "index %u\n", (unsigned)kf->index);
	fprintf(f, "address %s\n", kf->address);
	fprintf(f, "kdf argon2id13 %llu %zu\n", ops, mem);
	keyfile_hex(f, "salt", salt, sizeof salt);
	keyfile_hex(f, "nonce", nonce, sizeof nonce);
	keyfile_hex(f, "box", box, sizeof box);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		keyfile_fail(cause, "cannot write '%s': %s", tmp,
		    strerror(errno));
		goto out;
	}
	if (fclose(f) != 0) {
		f = NULL;
		keyfile_fail(cause, "cannot write '%s': %s", tmp,
		    strerror(errno));
		goto out;
	}
	f = NULL;
	if (overwrite) {
		if (rename(tmp, path) != 0) {
			keyfile_fail(cause, "cannot rename to '%s': %s", path,
			    strerror(errno));
			goto out;
		}
	} else {
		/* link() fails if path appeared meanwhile: never clobber. */
		if (link(tmp, path) != 0) {
			keyfile_fail(cause, "cannot create '%s': %s", path,
			    strerror(errno));
			goto out;
		}
		unlink(tmp);
	}
	free(tmp);
	tmp = NULL;
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	if (fd != -1)
		close(fd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	sodium_memzero(plain, sizeof plain);
	sodium_memzero(key, sizeof key);
	return rc;
}

/* The parsed clear part of a key file. */
struct keyfile_text {
	struct keyfile		kf;
	unsigned long long	ops;
	size_t			mem;
	uint8_t			salt[crypto_pwhash_SALTBYTES];
	uint8_t			nonce[crypto_secretbox_NONCEBYTES];
	uint8_t			box[crypto_secretbox_MACBYTES +
				    KEYFILE_PLAIN_LEN];
};

static int
keyfile_unhex(const char *s, uint8_t *out, size_t len)
{
	size_t	slen = strlen(s);

	if (slen != 2 * len)
		return -1;
	return sodium_hex2bin(out, len, s, slen, NULL, NULL, NULL) == 0 ? 0 :
	    -1;
}

static int
keyfile_parse(const char *path, struct keyfile_text *t, char **cause)
{
	struct stat	 st;
	char		 buf[KEYFILE_FILE_MAX + 1], *line, *next, *val;
	ssize_t		 n;
	size_t		 got = 0;
	unsigned	 seen = 0;
	int		 fd, k;
	const char	*names[] = { "kdex-keyfile", "type", "kind", "index",
			    "address", "kdf", "salt", "nonce", "box" };

	memset(t, 0, sizeof *t);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return keyfile_fail(cause, "cannot open '%s': %s", path,
		    strerror(errno));
	if (fstat(fd, &st) != 0) {
		close(fd);
		return keyfile_fail(cause, "cannot stat '%s': %s", path,
		    strerror(errno));
	}
	if ((st.st_mode & 077) != 0) {
		close(fd);
		return keyfile_fail(cause, "'%s' is accessible by others "
		    "(mode %03o); chmod 600 it", path,
		    (unsigned)(st.st_mode & 0777));
	}
	while (got < sizeof buf - 1) {
		n = read(fd, buf + got, sizeof buf - 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			close(fd);
			return keyfile_fail(cause, "cannot read '%s': %s",
			    path, strerror(errno));
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got >= sizeof buf - 1)
		return keyfile_fail(cause, "'%s' is too large for a key file",
		    path);
	buf[got] = '\0';

	for (line = buf; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((val = strchr(line, ' ')) == NULL)
			goto bad;
		*val++ = '\0';
		for (k = 0; k < (int)(sizeof names / sizeof names[0]); k++)
			if (strcmp(line, names[k]) == 0)
				break;
		if (k == (int)(sizeof names / sizeof names[0]) ||
		    (seen & (1U << k)) != 0)
			goto bad;
		seen |= 1U << k;
		switch (k) {
		case 0:
			if (strcmp(val, "1") != 0)
				return keyfile_fail(cause, "'%s': unsupported "
				    "key file version '%s'", path, val);
			break;
		case 1:
			t->kf.key_type = keeta_key_type_from_name(val);
			if (!keyfile_type_ok(t->kf.key_type))
				goto bad;
			break;
		case 2:
			if (strcmp(val, "seed") == 0)
				t->kf.kind = KEYFILE_SEED;
			else if (strcmp(val, "private") == 0)
				t->kf.kind = KEYFILE_PRIVATE;
			else
				goto bad;
			break;
		case 3: {
			char		*end;
			unsigned long	 v;

			errno = 0;
			v = strtoul(val, &end, 10);
			if (errno != 0 || *end != '\0' || *val == '-' ||
			    v > UINT32_MAX)
				goto bad;
			t->kf.index = (uint32_t)v;
			break;
		}
		case 4:
			if (strlen(val) >= sizeof t->kf.address)
				goto bad;
			strcpy(t->kf.address, val);
			break;
		case 5: {
			unsigned long long	ops, mem;
			char			alg[16];

			if (sscanf(val, "%15s %llu %llu", alg, &ops, &mem) != 3
			    || strcmp(alg, "argon2id13") != 0)
				goto bad;
			if (ops < crypto_pwhash_OPSLIMIT_MIN ||
			    ops > KEYFILE_MAX_OPS ||
			    mem < crypto_pwhash_MEMLIMIT_MIN ||
			    mem > KEYFILE_MAX_MEM)
				return keyfile_fail(cause, "'%s': key "
				    "derivation cost out of range", path);
			t->ops = ops;
			t->mem = (size_t)mem;
			break;
		}
		case 6:
			if (keyfile_unhex(val, t->salt, sizeof t->salt) != 0)
				goto bad;
			break;
		case 7:
			if (keyfile_unhex(val, t->nonce, sizeof t->nonce) != 0)
				goto bad;
			break;
		case 8:
			if (keyfile_unhex(val, t->box, sizeof t->box) != 0)
				goto bad;
			break;
		}
	}
	if (seen != (1U << (sizeof names / sizeof names[0])) - 1)
		goto bad;
	return 0;
bad:
	memset(t, 0, sizeof *t);
	return keyfile_fail(cause, "'%s' is not a valid kdex key file", path);
}

int
keyfile_peek(const char *path, struct keyfile *kf, char **cause)
{
	struct keyfile_text	t;

	if (keyfile_parse(path, &t, cause) != 0)
		return -1;
	*kf = t.kf;
	return 0;
}

int
keyfile_read(const char *path, const char *pass, size_t passlen,
    struct keyfile *kf, char **cause)
{
	struct keyfile_text	t;
	uint8_t			plain[KEYFILE_PLAIN_LEN];
	uint8_t			key[crypto_secretbox_KEYBYTES];
	char			addr[KEETA_ADDRESS_MAX];
	uint32_t		index;
	int			rc = -1;

	memset(kf, 0, sizeof *kf);
	if (keyfile_init() != 0)
		return keyfile_fail(cause, "libsodium initialisation failed");
	if (keyfile_parse(path, &t, cause) != 0)
		return -1;
	if (keyfile_kdf_key(key, pass, passlen, t.salt, t.ops, t.mem,
	    cause) != 0)
		goto out;
	if (crypto_secretbox_open_easy(plain, t.box, sizeof t.box, t.nonce,
	    key) != 0) {
		keyfile_fail(cause, "wrong passphrase for '%s'", path);
		rc = KEYFILE_BADPASS;
		goto out;
	}
	index = (uint32_t)plain[12] << 24 | (uint32_t)plain[13] << 16 |
	    (uint32_t)plain[14] << 8 | (uint32_t)plain[15];
	if (memcmp(plain, KEYFILE_MAGIC, 8) != 0 ||
	    plain[8] != (uint8_t)t.kf.key_type ||
	    plain[9] != (uint8_t)t.kf.kind || index != t.kf.index) {
		keyfile_fail(cause, "'%s': clear header does not match the "
		    "sealed key (file edited?)", path);
		goto out;
	}
	memcpy(t.kf.secret, plain + 16, KEYFILE_SECRET_LEN);
	memcpy(addr, t.kf.address, sizeof addr);
	if (keyfile_derive_address(&t.kf, cause) != 0)
		goto out;
	if (strcmp(addr, t.kf.address) != 0) {
		keyfile_fail(cause, "'%s': address does not match the sealed "
		    "key (file edited?)", path);
		goto out;
	}
	*kf = t.kf;
	rc = 0;
out:
	sodium_memzero(&t, sizeof t);
	sodium_memzero(plain, sizeof plain);
	sodium_memzero(key, sizeof key);
	return rc;
}

int
keyfile_profile_valid(const char *name)
{
	size_t	i, len = strlen(name);

	if (len == 0 || len > KEYFILE_PROFILE_MAX || name[0] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		char	c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '-'))
			return 0;
	}
	return 1;
}

char *
keyfile_dir(void)
{
	const char	*e;
	char		*dir;

	if ((e = getenv("KDEX_HOME")) != NULL && *e != '\0')
		xasprintf(&dir, "%s/keys", e);
	else if ((e = getenv("XDG_CONFIG_HOME")) != NULL && *e != '\0')
		xasprintf(&dir, "%s/kdex/keys", e);
	else {
		if ((e = getenv("HOME")) == NULL || *e == '\0')
			e = ".";
		xasprintf(&dir, "%s/.config/kdex/keys", e);
	}
	return dir;
}

char *
keyfile_profile_path(const char *profile, char **cause)
{
	char	*dir, *path;

	if (!keyfile_profile_valid(profile)) {
		keyfile_fail(cause, "invalid profile name '%s'", profile);
		return NULL;
	}
	dir = keyfile_dir();
	xasprintf(&path, "%s/%s.key", dir, profile);
	free(dir);
	return path;
}

static int
keyfile_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
keyfile_profile_list(char ***names, size_t *count, char **cause)
{
	DIR		*d;
	struct dirent	*de;
	char		*dir, **v = NULL;
	size_t		 n = 0, len;

	*names = NULL;
	*count = 0;
	dir = keyfile_dir();
	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT) {
			free(dir);
			return 0;
		}
		keyfile_fail(cause, "cannot open '%s': %s", dir,
		    strerror(errno));
		free(dir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len <= 4 || strcmp(de->d_name + len - 4, ".key") != 0)
			continue;
		v = xreallocarray(v, n + 1, sizeof *v);
		v[n] = xstrndup(de->d_name, len - 4);
		if (!keyfile_profile_valid(v[n])) {
			free(v[n]);
			continue;
		}
		n++;
	}
	closedir(d);
	free(dir);
	if (n > 0)
		qsort(v, n, sizeof *v, keyfile_cmp);
	*names = v;
	*count = n;
	return 0;
}

/* Passphrases ------------------------------------------------------------ */

void
keyfile_pass_free(char *p)
{
	if (p == NULL)
		return;
	sodium_memzero(p, strlen(p));
	free(p);
}

/* Read one line (at most KEYFILE_PASS_MAX bytes) from fd, byte by byte so
 * nothing past the newline is consumed (the fd may carry more data). */
static char *
keyfile_read_line(int fd, int *toolong, char **cause)
{
	char	*buf;
	size_t	 len = 0;
	ssize_t	 n;
	char	 c;

	*toolong = 0;
	buf = xmalloc(KEYFILE_PASS_MAX + 1);
	for (;;) {
		n = read(fd, &c, 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			keyfile_fail(cause, "cannot read passphrase: %s",
			    strerror(errno));
			goto fail;
		}
		if (n == 0 || c == '\n')
			break;
		if (len == KEYFILE_PASS_MAX) {
			*toolong = 1;
			keyfile_fail(cause, "passphrase too long");
			goto fail;
		}
		buf[len++] = c;
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	return buf;
fail:
	sodium_memzero(buf, KEYFILE_PASS_MAX + 1);
	free(buf);
	return NULL;
}

char *
keyfile_pass_fd(int fd, char **cause)
{
	char	*p;
	int	 toolong;

	if ((p = keyfile_read_line(fd, &toolong, cause)) == NULL)
		return NULL;
	if (*p == '\0') {
		free(p);
		keyfile_fail(cause, "empty passphrase");
		return NULL;
	}
	return p;
}

char *
keyfile_pass_file(const char *path, char **cause)
{
	char	*p;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		keyfile_fail(cause, "cannot open '%s': %s", path,
		    strerror(errno));
		return NULL;
	}
	p = keyfile_pass_fd(fd, cause);
	close(fd);
	return p;
}

/* The terminal being read without echo, for the signal handler. */
static volatile sig_atomic_t	keyfile_tty_fd = -1;
static struct termios		keyfile_tty_saved;

static void
keyfile_tty_signal(int sig)
{
	if (keyfile_tty_fd != -1)
		tcsetattr(keyfile_tty_fd, TCSAFLUSH, &keyfile_tty_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

static char *
keyfile_tty_ask(int fd, const char *prompt, char **cause)
{
	struct termios		 t;
	struct sigaction	 sa, oint, oterm, ohup;
	char			*p;
	int			 toolong, saved;

	if (tcgetattr(fd, &keyfile_tty_saved) != 0) {
		keyfile_fail(cause, "cannot read terminal mode: %s",
		    strerror(errno));
		return NULL;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = keyfile_tty_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &oint);
	sigaction(SIGTERM, &sa, &oterm);
	sigaction(SIGHUP, &sa, &ohup);
	keyfile_tty_fd = fd;
	t = keyfile_tty_saved;
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	t.c_lflag |= ICANON;
	if (write(fd, prompt, strlen(prompt)) == -1 ||
	    tcsetattr(fd, TCSAFLUSH, &t) != 0) {
		keyfile_fail(cause, "cannot set terminal mode: %s",
		    strerror(errno));
		p = NULL;
	} else
		p = keyfile_read_line(fd, &toolong, cause);
	saved = errno;
	tcsetattr(fd, TCSAFLUSH, &keyfile_tty_saved);
	keyfile_tty_fd = -1;
	sigaction(SIGINT, &oint, NULL);
	sigaction(SIGTERM, &oterm, NULL);
	sigaction(SIGHUP, &ohup, NULL);
	if (write(fd, "\n", 1) == -1) {
		/* Only cosmetic: the prompt line stays unfinished. */
	}
	errno = saved;
	return p;
}

char *
keyfile_pass_tty(const char *prompt, int confirm, char **cause)
{
	char	*p, *q;
	int	 fd;

	if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC)) == -1) {
		keyfile_fail(cause, "no terminal to ask for a passphrase "
		    "(use --passphrase-file or --passphrase-fd)");
		return NULL;
	}
	if ((p = keyfile_tty_ask(fd, prompt, cause)) == NULL)
		goto out;
	if (*p == '\0') {
		free(p);
		p = NULL;
		keyfile_fail(cause, "empty passphrase");
		goto out;
	}
	if (confirm) {
		if ((q = keyfile_tty_ask(fd, "Repeat passphrase: ",
		    cause)) == NULL) {
			keyfile_pass_free(p);
			p = NULL;
			goto out;
		}
		if (strcmp(p, q) != 0) {
			keyfile_pass_free(p);
			p = NULL;
			keyfile_fail(cause, "passphrases do not match");
		}
		keyfile_pass_free(q);
	}
out:
	close(fd);
	return p;
}
