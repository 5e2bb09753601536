/*
 * keyfile: a Keeta private key at rest, encrypted with a passphrase.
 *
 * The client (kdex), kdexd's operator key and `kdex keeta sign-message
 * --key-file` all keep their key the same way: a small text file, mode
 * 0600, whose secret part is sealed with libsodium secretbox
 * (XSalsa20-Poly1305) under a key derived from the passphrase with Argon2id.
 * The public part (key type, address, seed index) is kept in clear so that
 * `kdex key show` and profile listings need no passphrase; it is repeated
 * inside the sealed part and checked on open, so editing it is detected.
 *
 * File format (one "name value" per line, version 1):
 *   kdex-keyfile 1
 *   type ed25519|secp256k1|p256
 *   kind seed|private
 *   index N
 *   address keeta_...
 *   kdf argon2id13 OPSLIMIT MEMLIMIT
 *   salt HEX(16)
 *   nonce HEX(24)
 *   box HEX(secretbox of the 48-byte plaintext)
 * The plaintext is "kdexkey1" || type || kind || 2 zero bytes ||
 * u32be(index) || the 32-byte secret. On open the clear type, kind and
 * index must equal the sealed ones and the address must equal the one
 * derived from the secret.
 *
 * Profiles: one file per profile, <dir>/<profile>.key, where <dir> is
 * $KDEX_HOME/keys, else $XDG_CONFIG_HOME/kdex/keys, else
 * $HOME/.config/kdex/keys. Profile names are 1-64 of [A-Za-z0-9._-] and do
 * not start with '.'.
 *
 * Errors: functions return 0 on success and -1 on failure with *cause set to
 * an allocated message the caller frees (tmux style), unless stated.
 * Secrets are wiped (sodium_memzero) from every buffer this module owns.
 */
#ifndef KDEX_KEYFILE_H
#define KDEX_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#include "keeta_account.h"

#define KEYFILE_PROFILE_MAX	64
#define KEYFILE_SECRET_LEN	32
#define KEYFILE_PASS_MAX	1024	/* longest passphrase accepted */

/* What the 32 secret bytes are. */
enum keyfile_kind {
	KEYFILE_SEED = 0,	/* a Keeta seed: key = fromSeed(seed, index) */
	KEYFILE_PRIVATE = 1	/* a raw private key of key_type */
};

/* keyfile_read() returns this (not -1) when the passphrase is wrong or
 * the sealed part was tampered with: callers may ask again. */
#define KEYFILE_BADPASS	-2

/*
 * A decrypted key. Public fields are filled by keyfile_peek() too (secret
 * then stays zero). Owned by the caller, usually on the stack; wipe with
 * keyfile_clear() when done.
 */
struct keyfile {
	int		kind;		/* enum keyfile_kind */
	int		key_type;	/* KEETA_KEY_ED25519/SECP256K1/SECP256R1 */
	uint32_t	index;		/* seed index; 0 for KEYFILE_PRIVATE */
	uint8_t		secret[KEYFILE_SECRET_LEN];
	char		address[KEETA_ADDRESS_MAX];
};

/* Cost of the passphrase hash. NULL to write_file means the default
 * (libsodium's "interactive": 2 passes, 64 MiB); tests use the minimum.
 * keyfile_read() accepts at most 4 GiB and 16 passes from a file. */
struct keyfile_kdf {
	unsigned long long	opslimit;
	size_t			memlimit;
};
extern const struct keyfile_kdf keyfile_kdf_min;

/*
 * Fill kf from a seed / raw private key: derives the account, sets
 * address. Returns 0, or -1 with *cause (allocated) when the type cannot
 * sign or the key is out of range.
 */
int	keyfile_from_seed(struct keyfile *kf, const uint8_t
	    seed[KEYFILE_SECRET_LEN], uint32_t index, int key_type,
	    char **cause);
int	keyfile_from_private(struct keyfile *kf, const uint8_t
	    priv[KEYFILE_SECRET_LEN], int key_type, char **cause);

/* Build the signing account of kf; the caller frees it with
 * keeta_account_free(). NULL with *cause on failure. */
struct keeta_account	*keyfile_account(const struct keyfile *kf,
			    char **cause);

/*
 * Seal kf under pass and write it to path with mode 0600 (through a
 * temporary file in the same directory, fsync and rename, so a crash
 * leaves the old file or the new one). Fails if path exists unless
 * overwrite is set. Creates missing parent directories with mode 0700.
 */
int	keyfile_write(const char *path, const struct keyfile *kf,
	    const char *pass, size_t passlen, const struct keyfile_kdf *kdf,
	    int overwrite, char **cause);

/*
 * Open path with pass into *kf. Refuses a file readable or writable by
 * group or others (as ssh does). Returns 0, -1 (unreadable, malformed;
 * *cause set) or KEYFILE_BADPASS (*cause set). kf is wiped on failure.
 */
int	keyfile_read(const char *path, const char *pass, size_t passlen,
	    struct keyfile *kf, char **cause);

/* The clear part of path only (no passphrase); kf->secret is zeroed. */
int	keyfile_peek(const char *path, struct keyfile *kf, char **cause);

/* Wipe kf. */
void	keyfile_clear(struct keyfile *kf);

/* 1 when name is a valid profile name, else 0. */
int	keyfile_profile_valid(const char *name);
/* The key directory (see above); caller frees. */
char	*keyfile_dir(void);
/* <dir>/<profile>.key, or NULL (with *cause) for an invalid name; caller
 * frees. */
char	*keyfile_profile_path(const char *profile, char **cause);
/* Sorted profile names found in the key directory; *names is an array of
 * *count allocated strings the caller frees (each, then the array).
 * A missing directory is an empty list. */
int	keyfile_profile_list(char ***names, size_t *count, char **cause);

/*
 * Passphrases. Each returns an allocated NUL-terminated string the caller
 * wipes and frees with keyfile_pass_free(), or NULL with *cause.
 * _fd: read one line from fd (the trailing newline is dropped); does not
 *   close fd. _file: the first line of a file.
 * _tty: prompt on /dev/tty and read without echo (the terminal mode is
 *   restored even on SIGINT/SIGTERM, which are then re-raised); with
 *   confirm set, asks twice and fails when the two differ. Empty
 *   passphrases are refused by all three.
 */
char	*keyfile_pass_fd(int fd, char **cause);
char	*keyfile_pass_file(const char *path, char **cause);
char	*keyfile_pass_tty(const char *prompt, int confirm, char **cause);
void	 keyfile_pass_free(char *);

#endif
