/*
 * keeta_account: Keeta accounts (public keys, addresses, key derivation,
 * identifiers) and message signatures, byte-exact with the official SDK
 * (@keetanetwork/keetanet-client 0.14.12; see doc/keeta.md).
 *
 * Public keys are a small value type (struct keeta_pubkey) that callers copy
 * freely. Private keys live in the opaque struct keeta_account, whose secret
 * is wiped when it is freed. Functions that can fail on input return 0 on
 * success and -1 on failure, and then set *cause (when cause is not NULL) to
 * a static string that must not be freed.
 *
 * Thread safety: every function may be called from any thread.
 */
#ifndef KDEX_KEETA_ACCOUNT_H
#define KDEX_KEETA_ACCOUNT_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "keeta_hash.h"

/* Key types: the first byte of a pkt and of the address body. */
enum keeta_key_type {
	KEETA_KEY_SECP256K1 = 0,
	KEETA_KEY_ED25519 = 1,
	KEETA_KEY_NETWORK = 2,
	KEETA_KEY_TOKEN = 3,
	KEETA_KEY_STORAGE = 4,
	KEETA_KEY_SECP256R1 = 6,
	KEETA_KEY_MULTISIG = 7
};

#define KEETA_PUBKEY_MAX	33	/* raw key: 32, or 33 for ECDSA */
#define KEETA_PKT_MAX		34	/* type byte + raw key */
#define KEETA_ADDRESS_MAX	70	/* "keeta_" + 63 base32 + NUL */
#define KEETA_SIG_LEN		64	/* Ed25519 sig, or ECDSA r||s */
#define KEETA_ECDSA_DER_MAX	72	/* SEQUENCE { INTEGER r, INTEGER s } */
#define KEETA_SEED_LEN		32
#define KEETA_PRIVKEY_LEN	32

/*
 * A public key with its type ("publicKeyAndType" without the encoding).
 * len is 32 for Ed25519 and identifiers, 33 for secp256k1/P-256 (SEC1
 * compressed). Bytes past len are zero, so memcmp of two structs built by
 * this module compares keys; prefer keeta_pubkey_equal().
 */
struct keeta_pubkey {
	uint8_t	type;			/* enum keeta_key_type */
	uint8_t	len;
	uint8_t	key[KEETA_PUBKEY_MAX];
};

/* Raw key length for a key type, or 0 if the type is unknown. */
size_t		 keeta_key_type_keylen(int type);
/* 1 for types that hold a private key and sign (0, 1, 6), else 0. */
int		 keeta_key_type_is_keyed(int type);
/* 1 for identifier types (NETWORK, TOKEN, STORAGE, MULTISIG), else 0. */
int		 keeta_key_type_is_identifier(int type);
/* "secp256k1", "ed25519", "network", "token", "storage", "p256",
 * "multisig", or NULL for an unknown type. */
const char	*keeta_key_type_name(int type);
/* Inverse of keeta_key_type_name() for the signing types; also accepts
 * "secp256r1". Returns the type or -1. */
int		 keeta_key_type_from_name(const char *);

/*
 * pkt (type byte || raw key) <-> struct keeta_pubkey. from_pkt checks the
 * type and the length (and, for ECDSA types, that the first byte is 02/03;
 * it does not check that the point is on the curve: keeta_verify does).
 * to_pkt writes 33 or 34 bytes and returns the count.
 */
int	keeta_pubkey_from_pkt(struct keeta_pubkey *, const uint8_t *pkt,
	    size_t len, const char **cause);
size_t	keeta_pubkey_to_pkt(const struct keeta_pubkey *,
	    uint8_t out[KEETA_PKT_MAX]);
/* Build a pubkey from a type and a raw key; fails as from_pkt does. */
int	keeta_pubkey_set(struct keeta_pubkey *, int type, const uint8_t *key,
	    size_t len, const char **cause);
/* 1 when type and key are equal, else 0. */
int	keeta_pubkey_equal(const struct keeta_pubkey *,
	    const struct keeta_pubkey *);

/*
 * Addresses: "keeta_" + base32(pkt || SHA3-256(pkt)[0..5]), lower case.
 * encode writes a NUL-terminated string of 67 or 69 characters.
 * decode accepts the "keeta_" and legacy "tyblocks_" prefixes, upper or
 * lower case base32 with the SDK's 0->O, 1->L, 8->B substitutions, checks
 * the length, the padding bits and the checksum.
 * keeta_pubkey_parse() accepts an address or "0x" + hex(pkt) (as the SDK's
 * Account.toAccount does).
 */
void	keeta_address_encode(const struct keeta_pubkey *,
	    char out[KEETA_ADDRESS_MAX]);
int	keeta_address_decode(const char *, struct keeta_pubkey *,
	    const char **cause);
int	keeta_pubkey_parse(const char *, struct keeta_pubkey *,
	    const char **cause);

/* Opening "previous" of an account's first block: SHA3-256(raw key). */
void	keeta_opening_hash(const struct keeta_pubkey *,
	    uint8_t out[KEETA_HASH_LEN]);

/*
 * New identifier (TOKEN, STORAGE, MULTISIG, or NETWORK) created by creator
 * in a block whose previous field is prev, at operation op_index:
 * key = H(H(pkt(creator) || prev) || u32be(op_index)).
 */
void	keeta_identifier_derive(const struct keeta_pubkey *creator,
	    const uint8_t prev[KEETA_HASH_LEN], uint32_t op_index, int type,
	    struct keeta_pubkey *out);

/* Network account and base token of a network id (test = 0x54455354). */
void	keeta_network_account(uint64_t network_id, struct keeta_pubkey *out);
void	keeta_base_token(uint64_t network_id, struct keeta_pubkey *out);

/*
 * Seeds. keeta_seed_from_passphrase: lower-case (ASCII only), drop every
 * U+0020, require >= 60 bytes, PBKDF2-HMAC-SHA256(clean, clean, 64000).
 * keeta_seed_from_hex: exactly 64 hex digits.
 */
int	keeta_seed_from_passphrase(const char *, uint8_t seed[KEETA_SEED_LEN],
	    const char **cause);
int	keeta_seed_from_hex(const char *, uint8_t seed[KEETA_SEED_LEN],
	    const char **cause);

/*
 * A private key (or, for identifier types, just the derived identifier).
 *
 * keeta_account_from_seed: Account.fromSeed(seed, index, type). Ed25519:
 * clamp(H(seed||u32be(index))); ECDSA: HMAC-SHA3-256(seed||u32be(index),
 * 0x01); identifiers: H(seed||u32be(index)). Fails only when the ECDSA
 * scalar is out of range (probability ~2^-128) or the type is unknown.
 * keeta_account_from_private: a raw 32-byte private key (Ed25519 seed
 * form or ECDSA scalar) of a signing type.
 * Both return an account the caller owns; free with keeta_account_free()
 * (which wipes the secret; NULL is fine).
 */
struct keeta_account;
struct keeta_account	*keeta_account_from_seed(const uint8_t
			    seed[KEETA_SEED_LEN], uint32_t index, int type,
			    const char **cause);
struct keeta_account	*keeta_account_from_private(int type,
			    const uint8_t priv[KEETA_PRIVKEY_LEN],
			    const char **cause);
void			 keeta_account_free(struct keeta_account *);

const struct keeta_pubkey *keeta_account_pubkey(const struct keeta_account *);
int	keeta_account_type(const struct keeta_account *);
/* Copy the 32-byte private key (Ed25519: the clamped seed); -1 when the
 * account has none (identifier types). */
int	keeta_account_private(const struct keeta_account *,
	    uint8_t out[KEETA_PRIVKEY_LEN]);

/*
 * Signing; all return 0, or -1 when the account cannot sign.
 * keeta_account_sign: Account.sign(msg): sign H(msg) (Ed25519 signs the
 *   32-byte digest as its message; ECDSA uses it as e). Block signatures
 *   are keeta_account_sign(acct, blockhash, 32, sig).
 * keeta_account_sign_raw: no pre-hash. Ed25519 signs msg as is (votes
 *   sign the tbsCertificate this way); ECDSA requires len == 32 (a digest).
 * secp256k1 signatures are RFC 6979 and low-S; P-256 uses a random or
 * deterministic nonce from OpenSSL (verifiers accept either). Output is
 * r||s (32+32 big-endian) for ECDSA.
 */
int	keeta_account_sign(const struct keeta_account *, const void *msg,
	    size_t len, uint8_t sig[KEETA_SIG_LEN]);
int	keeta_account_sign_raw(const struct keeta_account *, const void *msg,
	    size_t len, uint8_t sig[KEETA_SIG_LEN]);

/*
 * Verification; 0 when valid, -1 when not (or the key cannot sign).
 * keeta_verify: Account.verify(msg, sig): checks sig over H(msg).
 * keeta_verify_raw: no pre-hash (ECDSA requires len == 32).
 * secp256k1 rejects high-S signatures (as the SDK does); P-256 accepts them.
 */
int	keeta_verify(const struct keeta_pubkey *, const void *msg, size_t len,
	    const uint8_t sig[KEETA_SIG_LEN]);
int	keeta_verify_raw(const struct keeta_pubkey *, const void *msg,
	    size_t len, const uint8_t sig[KEETA_SIG_LEN]);

/*
 * ECDSA r||s <-> DER ECDSA-Sig-Value (votes store ECDSA signatures in DER).
 * to_der writes at most KEETA_ECDSA_DER_MAX bytes and returns the count.
 * from_der accepts only the canonical encoding (minimal positive INTEGERs,
 * each <= 32 bytes of magnitude, no trailing data).
 */
size_t	keeta_ecdsa_sig_to_der(const uint8_t sig[KEETA_SIG_LEN],
	    uint8_t out[KEETA_ECDSA_DER_MAX]);
int	keeta_ecdsa_sig_from_der(const uint8_t *der, size_t len,
	    uint8_t sig[KEETA_SIG_LEN]);

/*
 * Text encodings used by addresses, the CLI and JSON output.
 * keeta_base32_encode: RFC 4648 lower case, no padding; out must hold
 *   (len * 8 + 4) / 5 + 1 bytes; returns the string length.
 * keeta_base32_decode: the SDK's decoder (case-insensitive, 0/1/8
 *   substitutions, no padding, leftover bits must be zero); writes at most
 *   outmax bytes; returns the byte count or -1.
 * keeta_hex_encode: lower case; out holds 2 * len + 1 bytes.
 * keeta_hex_decode: exactly slen hex digits (even, either case) into at
 *   most outmax bytes; returns the byte count or -1.
 * keeta_hex_value: the value 0-15 of one hex digit (either case), or -1.
 */
size_t	 keeta_base32_encode(const uint8_t *, size_t, char *out);
ssize_t	 keeta_base32_decode(const char *, size_t slen, uint8_t *out,
	    size_t outmax);
void	 keeta_hex_encode(const void *, size_t, char *out);
int	 keeta_hex_value(int);
ssize_t	 keeta_hex_decode(const char *, size_t slen, uint8_t *out,
	    size_t outmax);

#endif
