/*
 * keeta_account: Keeta keys, addresses and signatures.
 *
 * Three libraries do the curve work: libsodium for Ed25519 (its seed
 * keypair gives the SDK's keys and byte-identical signatures),
 * libsecp256k1 for secp256k1 (RFC 6979 and low-S, exactly what the SDK
 * emits and demands) and OpenSSL 3 for P-256. Everything else (base32,
 * checksums, derivations) is plain code over SHA3-256 from keeta_hash.
 */
#include "config.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <secp256k1.h>
#include <sodium.h>

#include "keeta_account.h"
#include "keeta_hash.h"
#include "util.h"

struct keeta_account {
	struct keeta_pubkey	pub;
	int			has_priv;
	uint8_t			priv[KEETA_PRIVKEY_LEN];
	uint8_t			edsk[crypto_sign_SECRETKEYBYTES];
};

/* Shared library state, created once: contexts are read-only after. */
static pthread_once_t		 lib_once = PTHREAD_ONCE_INIT;
static secp256k1_context	*k1_ctx;
static EC_GROUP			*p256_group;

static void
lib_init(void)
{
	if (sodium_init() < 0)
		fatalx("keeta_account: sodium_init failed");
	k1_ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	if (k1_ctx == NULL)
		fatalx("keeta_account: secp256k1_context_create failed");
	p256_group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	if (p256_group == NULL)
		fatalx("keeta_account: OpenSSL has no P-256");
}

static void
lib(void)
{
	if (pthread_once(&lib_once, lib_init) != 0)
		fatalx("keeta_account: pthread_once failed");
}

static void
set_cause(const char **cause, const char *msg)
{
	if (cause != NULL)
		*cause = msg;
}

static void
put_u32be(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

size_t
keeta_key_type_keylen(int type)
{
	switch (type) {
	case KEETA_KEY_SECP256K1:
	case KEETA_KEY_SECP256R1:
		return 33;
	case KEETA_KEY_ED25519:
	case KEETA_KEY_NETWORK:
	case KEETA_KEY_TOKEN:
	case KEETA_KEY_STORAGE:
	case KEETA_KEY_MULTISIG:
		return 32;
	default:
		return 0;
	}
}

int
keeta_key_type_is_keyed(int type)
{
	return type == KEETA_KEY_SECP256K1 || type == KEETA_KEY_ED25519 ||
	    type == KEETA_KEY_SECP256R1;
}

int
keeta_key_type_is_identifier(int type)
{
	return type == KEETA_KEY_NETWORK || type == KEETA_KEY_TOKEN ||
	    type == KEETA_KEY_STORAGE || type == KEETA_KEY_MULTISIG;
}

const char *
keeta_key_type_name(int type)
{
	switch (type) {
	case KEETA_KEY_SECP256K1:
		return "secp256k1";
	case KEETA_KEY_ED25519:
		return "ed25519";
	case KEETA_KEY_NETWORK:
		return "network";
	case KEETA_KEY_TOKEN:
		return "token";
	case KEETA_KEY_STORAGE:
		return "storage";
	case KEETA_KEY_SECP256R1:
		return "p256";
	case KEETA_KEY_MULTISIG:
		return "multisig";
	default:
		return NULL;
	}
}

int
keeta_key_type_from_name(const char *name)
{
	if (strcmp(name, "secp256k1") == 0)
		return KEETA_KEY_SECP256K1;
	if (strcmp(name, "ed25519") == 0)
		return KEETA_KEY_ED25519;
	if (strcmp(name, "p256") == 0 || strcmp(name, "secp256r1") == 0)
		return KEETA_KEY_SECP256R1;
	return -1;
}

int
keeta_pubkey_set(struct keeta_pubkey *pk, int type, const uint8_t *key,
    size_t len, const char **cause)
{
	size_t	want;

	if ((want = keeta_key_type_keylen(type)) == 0) {
		set_cause(cause, "unknown key type");
		return -1;
	}
	if (len != want) {
		set_cause(cause, "wrong public key length for its type");
		return -1;
	}
	if (want == 33 && key[0] != 0x02 && key[0] != 0x03) {
		set_cause(cause, "ECDSA public key is not compressed");
		return -1;
	}
	memset(pk, 0, sizeof *pk);
	pk->type = (uint8_t)type;
	pk->len = (uint8_t)len;
	memcpy(pk->key, key, len);
	return 0;
}

int
keeta_pubkey_from_pkt(struct keeta_pubkey *pk, const uint8_t *pkt,
    size_t len, const char **cause)
{
	if (len < 1) {
		set_cause(cause, "empty public key");
		return -1;
	}
	return keeta_pubkey_set(pk, pkt[0], pkt + 1, len - 1, cause);
}

size_t
keeta_pubkey_to_pkt(const struct keeta_pubkey *pk, uint8_t out[KEETA_PKT_MAX])
{
	out[0] = pk->type;
	memcpy(out + 1, pk->key, pk->len);
	return (size_t)pk->len + 1;
}

int
keeta_pubkey_equal(const struct keeta_pubkey *a, const struct keeta_pubkey *b)
{
	return a->type == b->type && a->len == b->len &&
	    memcmp(a->key, b->key, a->len) == 0;
}

/* Text encodings. */

static const char b32_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

size_t
keeta_base32_encode(const uint8_t *in, size_t len, char *out)
{
	size_t		i, n = 0;
	unsigned int	acc = 0, bits = 0;

	for (i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[n++] = b32_alphabet[(acc >> bits) & 31];
		}
		acc &= (1U << bits) - 1;
	}
	if (bits > 0)
		out[n++] = b32_alphabet[(acc << (5 - bits)) & 31];
	out[n] = '\0';
	return n;
}

/* Value of one base32 character after the SDK's normalisation, or -1. */
static int
b32_value(char c)
{
	c = (char)toupper((unsigned char)c);
	if (c == '0')
		c = 'O';
	else if (c == '1')
		c = 'L';
	else if (c == '8')
		c = 'B';
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

ssize_t
keeta_base32_decode(const char *s, size_t slen, uint8_t *out, size_t outmax)
{
	size_t		i, n = 0;
	unsigned int	acc = 0, bits = 0;
	int		v;

	for (i = 0; i < slen; i++) {
		if ((v = b32_value(s[i])) < 0)
			return -1;
		acc = (acc << 5) | (unsigned int)v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (n == outmax)
				return -1;
			out[n++] = (uint8_t)(acc >> bits);
			acc &= (1U << bits) - 1;
		}
	}
	/* Leftover bits are padding: they must be zero (and fewer than 5). */
	if (bits >= 5 || acc != 0)
		return -1;
	return (ssize_t)n;
}

void
keeta_hex_encode(const void *in, size_t len, char *out)
{
	static const char	 digits[] = "0123456789abcdef";
	const uint8_t		*p = in;
	size_t			 i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * len] = '\0';
}

int
keeta_hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

ssize_t
keeta_hex_decode(const char *s, size_t slen, uint8_t *out, size_t outmax)
{
	size_t	i;
	int	hi, lo;

	if (slen % 2 != 0 || slen / 2 > outmax)
		return -1;
	for (i = 0; i < slen / 2; i++) {
		if ((hi = keeta_hex_value(s[2 * i])) < 0 ||
		    (lo = keeta_hex_value(s[2 * i + 1])) < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (ssize_t)(slen / 2);
}

/* Addresses. */

#define ADDR_CHECKSUM_LEN	5

void
keeta_address_encode(const struct keeta_pubkey *pk, char out[KEETA_ADDRESS_MAX])
{
	uint8_t	body[KEETA_PKT_MAX + ADDR_CHECKSUM_LEN];
	uint8_t	h[KEETA_HASH_LEN];
	size_t	n;

	n = keeta_pubkey_to_pkt(pk, body);
	keeta_sha3_256(body, n, h);
	memcpy(body + n, h, ADDR_CHECKSUM_LEN);
	memcpy(out, "keeta_", 6);
	keeta_base32_encode(body, n + ADDR_CHECKSUM_LEN, out + 6);
}

int
keeta_address_decode(const char *s, struct keeta_pubkey *pk,
    const char **cause)
{
	uint8_t		body[KEETA_PKT_MAX + ADDR_CHECKSUM_LEN];
	uint8_t		h[KEETA_HASH_LEN];
	size_t		slen, n;
	ssize_t		got;

	if (strncmp(s, "keeta_", 6) == 0)
		s += 6;
	else if (strncmp(s, "tyblocks_", 9) == 0)
		s += 9;
	else {
		set_cause(cause, "address does not start with keeta_");
		return -1;
	}
	slen = strlen(s);
	if (slen != 61 && slen != 63) {
		set_cause(cause, "address has the wrong length");
		return -1;
	}
	got = keeta_base32_decode(s, slen, body, sizeof body);
	if (got < 0) {
		set_cause(cause, "address is not valid base32");
		return -1;
	}
	n = (size_t)got - ADDR_CHECKSUM_LEN;
	keeta_sha3_256(body, n, h);
	if (memcmp(h, body + n, ADDR_CHECKSUM_LEN) != 0) {
		set_cause(cause, "address checksum mismatch");
		return -1;
	}
	return keeta_pubkey_from_pkt(pk, body, n, cause);
}

int
keeta_pubkey_parse(const char *s, struct keeta_pubkey *pk, const char **cause)
{
	uint8_t	pkt[KEETA_PKT_MAX];
	ssize_t	n;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		n = keeta_hex_decode(s + 2, strlen(s + 2), pkt, sizeof pkt);
		if (n < 0) {
			set_cause(cause, "public key is not valid hex");
			return -1;
		}
		return keeta_pubkey_from_pkt(pk, pkt, (size_t)n, cause);
	}
	return keeta_address_decode(s, pk, cause);
}

/* Derivations. */

void
keeta_opening_hash(const struct keeta_pubkey *pk, uint8_t out[KEETA_HASH_LEN])
{
	keeta_sha3_256(pk->key, pk->len, out);
}

/* H(seed32 || u32be(index)): the identifier key and the Ed25519 seed. */
static void
seed_index_hash(const uint8_t seed[KEETA_HASH_LEN], uint32_t index,
    uint8_t out[KEETA_HASH_LEN])
{
	uint8_t	idx[4];

	put_u32be(idx, index);
	keeta_sha3_256_2(seed, KEETA_HASH_LEN, idx, sizeof idx, out);
}

void
keeta_identifier_derive(const struct keeta_pubkey *creator,
    const uint8_t prev[KEETA_HASH_LEN], uint32_t op_index, int type,
    struct keeta_pubkey *out)
{
	uint8_t	pkt[KEETA_PKT_MAX], seed[KEETA_HASH_LEN];
	size_t	n;

	n = keeta_pubkey_to_pkt(creator, pkt);
	keeta_sha3_256_2(pkt, n, prev, KEETA_HASH_LEN, seed);
	memset(out, 0, sizeof *out);
	out->type = (uint8_t)type;
	out->len = 32;
	seed_index_hash(seed, op_index, out->key);
}

void
keeta_network_account(uint64_t network_id, struct keeta_pubkey *out)
{
	uint8_t	seed[KEETA_HASH_LEN];
	int	i;

	memset(seed, 0, sizeof seed);
	for (i = 0; i < 8; i++)
		seed[31 - i] = (uint8_t)(network_id >> (8 * i));
	memset(out, 0, sizeof *out);
	out->type = KEETA_KEY_NETWORK;
	out->len = 32;
	seed_index_hash(seed, 0, out->key);
}

void
keeta_base_token(uint64_t network_id, struct keeta_pubkey *out)
{
	struct keeta_pubkey	net;
	uint8_t			opening[KEETA_HASH_LEN];

	keeta_network_account(network_id, &net);
	keeta_opening_hash(&net, opening);
	keeta_identifier_derive(&net, opening, 0, KEETA_KEY_TOKEN, out);
}

/* Seeds. */

#define PASSPHRASE_MIN		60
#define PASSPHRASE_ROUNDS	64000

int
keeta_seed_from_passphrase(const char *pass, uint8_t seed[KEETA_SEED_LEN],
    const char **cause)
{
	char	*clean;
	size_t	 i, n = 0, len = strlen(pass);
	int	 rc = -1;

	if (len > INT32_MAX) {
		set_cause(cause, "passphrase too long");
		return -1;
	}
	/*
	 * The SDK lower-cases with JavaScript toLowerCase() (full Unicode);
	 * only ASCII is lower-cased here, so non-ASCII letters must already be
	 * lower case to give the SDK's seed (see doc/keeta.md).
	 */
	clean = xmalloc(len + 1);
	for (i = 0; i < len; i++) {
		if (pass[i] == ' ')
			continue;
		if (pass[i] >= 'A' && pass[i] <= 'Z')
			clean[n++] = (char)(pass[i] - 'A' + 'a');
		else
			clean[n++] = pass[i];
	}
	if (n < PASSPHRASE_MIN) {
		set_cause(cause, "passphrase must be at least 60 bytes after "
		    "removing spaces");
		goto out;
	}
	if (PKCS5_PBKDF2_HMAC(clean, (int)n, (const unsigned char *)clean,
	    (int)n, PASSPHRASE_ROUNDS, EVP_sha256(), KEETA_SEED_LEN,
	    seed) != 1)
		fatalx("keeta_account: PBKDF2 failed");
	rc = 0;
out:
	sodium_memzero(clean, len + 1);
	free(clean);
	return rc;
}

int
keeta_seed_from_hex(const char *s, uint8_t seed[KEETA_SEED_LEN],
    const char **cause)
{
	size_t	len = strlen(s);

	if (len != 2 * KEETA_SEED_LEN ||
	    keeta_hex_decode(s, len, seed, KEETA_SEED_LEN) !=
	    KEETA_SEED_LEN) {
		set_cause(cause, "seed must be 64 hex digits");
		return -1;
	}
	return 0;
}

/* P-256 over OpenSSL. */

/* Compressed public key of scalar d; -1 if d is not in [1, n-1]. */
static int
p256_public(const uint8_t d[KEETA_PRIVKEY_LEN], uint8_t out[33])
{
	BIGNUM		*bn;
	EC_POINT	*pt = NULL;
	int		 rc = -1;

	if ((bn = BN_bin2bn(d, KEETA_PRIVKEY_LEN, NULL)) == NULL)
		fatalx("keeta_account: BN_bin2bn failed");
	if (BN_is_zero(bn) ||
	    BN_cmp(bn, EC_GROUP_get0_order(p256_group)) >= 0)
		goto out;
	if ((pt = EC_POINT_new(p256_group)) == NULL)
		fatalx("keeta_account: EC_POINT_new failed");
	if (EC_POINT_mul(p256_group, pt, bn, NULL, NULL, NULL) != 1 ||
	    EC_POINT_point2oct(p256_group, pt, POINT_CONVERSION_COMPRESSED,
	    out, 33, NULL) != 33)
		fatalx("keeta_account: P-256 point multiplication failed");
	rc = 0;
out:
	EC_POINT_free(pt);
	BN_clear_free(bn);
	return rc;
}

/* An EVP_PKEY for P-256 from a public key and optionally a scalar. */
static EVP_PKEY *
p256_pkey(const uint8_t pub[33], const uint8_t *d)
{
	OSSL_PARAM_BLD	*bld;
	OSSL_PARAM	*params = NULL;
	EVP_PKEY_CTX	*ctx = NULL;
	EVP_PKEY	*pkey = NULL;
	BIGNUM		*bn = NULL;

	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		fatalx("keeta_account: OSSL_PARAM_BLD_new failed");
	if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    "prime256v1", 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    pub, 33) != 1)
		fatalx("keeta_account: OSSL_PARAM_BLD_push failed");
	if (d != NULL) {
		if ((bn = BN_secure_new()) == NULL ||
		    BN_bin2bn(d, KEETA_PRIVKEY_LEN, bn) == NULL ||
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY,
		    bn) != 1)
			fatalx("keeta_account: P-256 private key failed");
	}
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		fatalx("keeta_account: OSSL_PARAM_BLD_to_param failed");
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL)
		fatalx("keeta_account: EVP_PKEY_CTX_new_from_name failed");
	/* Fails for a point off the curve: the caller treats it as invalid. */
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, d != NULL ? EVP_PKEY_KEYPAIR :
	    EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(bn);
	return pkey;
}

static int
p256_sign(const struct keeta_account *a, const uint8_t digest[32],
    uint8_t sig[KEETA_SIG_LEN])
{
	EVP_PKEY	*pkey;
	EVP_PKEY_CTX	*ctx;
	uint8_t		 der[KEETA_ECDSA_DER_MAX + 8];
	size_t		 derlen = sizeof der;

	if ((pkey = p256_pkey(a->pub.key, a->priv)) == NULL)
		fatalx("keeta_account: P-256 key rejected");
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL)
		fatalx("keeta_account: EVP_PKEY_CTX_new failed");
	if (EVP_PKEY_sign_init(ctx) != 1 ||
	    EVP_PKEY_sign(ctx, der, &derlen, digest, 32) != 1)
		fatalx("keeta_account: P-256 signing failed");
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	if (keeta_ecdsa_sig_from_der(der, derlen, sig) != 0)
		fatalx("keeta_account: OpenSSL returned a bad signature");
	return 0;
}

static int
p256_verify(const struct keeta_pubkey *pk, const uint8_t digest[32],
    const uint8_t sig[KEETA_SIG_LEN])
{
	EVP_PKEY	*pkey;
	EVP_PKEY_CTX	*ctx;
	uint8_t		 der[KEETA_ECDSA_DER_MAX];
	size_t		 derlen;
	int		 rc;

	lib();
	if ((pkey = p256_pkey(pk->key, NULL)) == NULL)
		return -1;
	derlen = keeta_ecdsa_sig_to_der(sig, der);
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL)
		fatalx("keeta_account: EVP_PKEY_CTX_new failed");
	if (EVP_PKEY_verify_init(ctx) != 1)
		fatalx("keeta_account: EVP_PKEY_verify_init failed");
	rc = EVP_PKEY_verify(ctx, der, derlen, digest, 32) == 1 ? 0 : -1;
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return rc;
}

/* Accounts. */

static struct keeta_account *
account_new(void)
{
	lib();
	return xcalloc(1, sizeof(struct keeta_account));
}

void
keeta_account_free(struct keeta_account *a)
{
	if (a == NULL)
		return;
	sodium_memzero(a, sizeof *a);
	free(a);
}

struct keeta_account *
keeta_account_from_private(int type, const uint8_t priv[KEETA_PRIVKEY_LEN],
    const char **cause)
{
	struct keeta_account	*a;
	secp256k1_pubkey	 p;
	uint8_t			 pub[33], edpk[crypto_sign_PUBLICKEYBYTES];
	size_t			 n = sizeof pub;

	a = account_new();
	a->pub.type = (uint8_t)type;
	memcpy(a->priv, priv, KEETA_PRIVKEY_LEN);
	a->has_priv = 1;
	switch (type) {
	case KEETA_KEY_ED25519:
		if (crypto_sign_seed_keypair(edpk, a->edsk, priv) != 0)
			fatalx("keeta_account: crypto_sign_seed_keypair");
		a->pub.len = 32;
		memcpy(a->pub.key, edpk, 32);
		return a;
	case KEETA_KEY_SECP256K1:
		if (!secp256k1_ec_pubkey_create(k1_ctx, &p, priv))
			break;
		if (!secp256k1_ec_pubkey_serialize(k1_ctx, pub, &n, &p,
		    SECP256K1_EC_COMPRESSED) || n != 33)
			fatalx("keeta_account: secp256k1 serialize failed");
		a->pub.len = 33;
		memcpy(a->pub.key, pub, 33);
		return a;
	case KEETA_KEY_SECP256R1:
		if (p256_public(priv, pub) != 0)
			break;
		a->pub.len = 33;
		memcpy(a->pub.key, pub, 33);
		return a;
	default:
		set_cause(cause, "key type cannot sign");
		keeta_account_free(a);
		return NULL;
	}
	set_cause(cause, "private key out of range");
	keeta_account_free(a);
	return NULL;
}

struct keeta_account *
keeta_account_from_seed(const uint8_t seed[KEETA_SEED_LEN], uint32_t index,
    int type, const char **cause)
{
	struct keeta_account	*a;
	uint8_t			 si[KEETA_SEED_LEN + 4], k[KEETA_HASH_LEN];
	uint8_t			 one = 0x01;

	memcpy(si, seed, KEETA_SEED_LEN);
	put_u32be(si + KEETA_SEED_LEN, index);
	switch (type) {
	case KEETA_KEY_ED25519:
		keeta_sha3_256(si, sizeof si, k);
		k[0] &= 0xf8;
		k[31] &= 0x7f;
		k[31] |= 0x40;
		break;
	case KEETA_KEY_SECP256K1:
	case KEETA_KEY_SECP256R1:
		/* HKDF-Expand(SHA3-256, PRK = seed||index, "", 32). */
		keeta_hmac_sha3_256(si, sizeof si, &one, 1, k);
		break;
	case KEETA_KEY_NETWORK:
	case KEETA_KEY_TOKEN:
	case KEETA_KEY_STORAGE:
	case KEETA_KEY_MULTISIG:
		a = account_new();
		a->pub.type = (uint8_t)type;
		a->pub.len = 32;
		keeta_sha3_256(si, sizeof si, a->pub.key);
		sodium_memzero(si, sizeof si);
		return a;
	default:
		set_cause(cause, "unknown key type");
		return NULL;
	}
	a = keeta_account_from_private(type, k, cause);
	sodium_memzero(si, sizeof si);
	sodium_memzero(k, sizeof k);
	return a;
}

const struct keeta_pubkey *
keeta_account_pubkey(const struct keeta_account *a)
{
	return &a->pub;
}

int
keeta_account_type(const struct keeta_account *a)
{
	return a->pub.type;
}

int
keeta_account_private(const struct keeta_account *a,
    uint8_t out[KEETA_PRIVKEY_LEN])
{
	if (!a->has_priv)
		return -1;
	memcpy(out, a->priv, KEETA_PRIVKEY_LEN);
	return 0;
}

int
keeta_account_sign_raw(const struct keeta_account *a, const void *msg,
    size_t len, uint8_t sig[KEETA_SIG_LEN])
{
	secp256k1_ecdsa_signature	s;

	if (!a->has_priv)
		return -1;
	switch (a->pub.type) {
	case KEETA_KEY_ED25519:
		if (crypto_sign_detached(sig, NULL, len == 0 ? (const void *)""
		    : msg, len, a->edsk) != 0)
			fatalx("keeta_account: crypto_sign_detached failed");
		return 0;
	case KEETA_KEY_SECP256K1:
		if (len != 32)
			return -1;
		/* RFC 6979 nonce; libsecp256k1 always produces low-S. */
		if (!secp256k1_ecdsa_sign(k1_ctx, &s, msg, a->priv, NULL,
		    NULL) ||
		    !secp256k1_ecdsa_signature_serialize_compact(k1_ctx, sig,
		    &s))
			fatalx("keeta_account: secp256k1 signing failed");
		return 0;
	case KEETA_KEY_SECP256R1:
		if (len != 32)
			return -1;
		return p256_sign(a, msg, sig);
	default:
		return -1;
	}
}

int
keeta_account_sign(const struct keeta_account *a, const void *msg,
    size_t len, uint8_t sig[KEETA_SIG_LEN])
{
	uint8_t	digest[KEETA_HASH_LEN];

	keeta_sha3_256(msg, len, digest);
	return keeta_account_sign_raw(a, digest, sizeof digest, sig);
}

int
keeta_verify_raw(const struct keeta_pubkey *pk, const void *msg, size_t len,
    const uint8_t sig[KEETA_SIG_LEN])
{
	secp256k1_pubkey		p;
	secp256k1_ecdsa_signature	s;

	lib();
	switch (pk->type) {
	case KEETA_KEY_ED25519:
		if (pk->len != 32)
			return -1;
		return crypto_sign_verify_detached(sig, len == 0 ?
		    (const void *)"" : msg, len, pk->key) == 0 ? 0 : -1;
	case KEETA_KEY_SECP256K1:
		if (len != 32 || pk->len != 33)
			return -1;
		if (!secp256k1_ec_pubkey_parse(k1_ctx, &p, pk->key, 33) ||
		    !secp256k1_ecdsa_signature_parse_compact(k1_ctx, &s, sig))
			return -1;
		/* secp256k1_ecdsa_verify rejects high-S, as the SDK does. */
		return secp256k1_ecdsa_verify(k1_ctx, &s, msg, &p) ? 0 : -1;
	case KEETA_KEY_SECP256R1:
		if (len != 32 || pk->len != 33)
			return -1;
		return p256_verify(pk, msg, sig);
	default:
		return -1;
	}
}

int
keeta_verify(const struct keeta_pubkey *pk, const void *msg, size_t len,
    const uint8_t sig[KEETA_SIG_LEN])
{
	uint8_t	digest[KEETA_HASH_LEN];

	keeta_sha3_256(msg, len, digest);
	return keeta_verify_raw(pk, digest, sizeof digest, sig);
}

/* ECDSA-Sig-Value. */

/* Append INTEGER of a 32-byte magnitude; returns bytes written. */
static size_t
der_uint32(const uint8_t *v, uint8_t *out)
{
	size_t	i = 0, n;

	while (i < 31 && v[i] == 0)
		i++;
	n = 32 - i;
	out[0] = 0x02;
	if (v[i] & 0x80) {
		out[1] = (uint8_t)(n + 1);
		out[2] = 0;
		memcpy(out + 3, v + i, n);
		return n + 3;
	}
	out[1] = (uint8_t)n;
	memcpy(out + 2, v + i, n);
	return n + 2;
}

size_t
keeta_ecdsa_sig_to_der(const uint8_t sig[KEETA_SIG_LEN],
    uint8_t out[KEETA_ECDSA_DER_MAX])
{
	size_t	n;

	n = der_uint32(sig, out + 2);
	n += der_uint32(sig + 32, out + 2 + n);
	out[0] = 0x30;
	out[1] = (uint8_t)n;
	return n + 2;
}

/* Read one canonical positive INTEGER of at most 32 bytes into v[32]. */
static int
der_read_uint32(const uint8_t **pp, const uint8_t *end, uint8_t v[32])
{
	const uint8_t	*p = *pp;
	size_t		 n;

	if (end - p < 2 || p[0] != 0x02 || p[1] >= 0x80)
		return -1;
	n = p[1];
	p += 2;
	if (n == 0 || (size_t)(end - p) < n)
		return -1;
	if (p[0] & 0x80)
		return -1;			/* negative */
	if (n > 1 && p[0] == 0 && !(p[1] & 0x80))
		return -1;			/* not minimal */
	if (p[0] == 0 && n > 1) {
		p++;
		n--;
	}
	if (n > 32)
		return -1;
	memset(v, 0, 32);
	memcpy(v + 32 - n, p, n);
	*pp = p + n;
	return 0;
}

int
keeta_ecdsa_sig_from_der(const uint8_t *der, size_t len,
    uint8_t sig[KEETA_SIG_LEN])
{
	const uint8_t	*p = der, *end;

	if (len < 2 || der[0] != 0x30 || der[1] >= 0x80 ||
	    (size_t)der[1] != len - 2)
		return -1;
	p = der + 2;
	end = der + len;
	if (der_read_uint32(&p, end, sig) != 0 ||
	    der_read_uint32(&p, end, sig + 32) != 0 || p != end)
		return -1;
	return 0;
}
