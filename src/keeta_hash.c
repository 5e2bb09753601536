/*
 * keeta_hash: SHA3-256 and HMAC-SHA3-256 over OpenSSL 3 EVP.
 *
 * The digest is fetched once (EVP_MD_fetch) because the implicit fetch
 * behind EVP_sha3_256() costs a provider lookup per call, and block
 * hashing, address checksums and key derivation all come through here.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "keeta_hash.h"
#include "util.h"

struct keeta_sha3 {
	EVP_MD_CTX	*ctx;
};

static pthread_once_t	 sha3_once = PTHREAD_ONCE_INIT;
static EVP_MD		*sha3_md;

static void
sha3_init(void)
{
	if ((sha3_md = EVP_MD_fetch(NULL, "SHA3-256", NULL)) == NULL)
		fatalx("keeta_hash: OpenSSL has no SHA3-256");
}

static const EVP_MD *
sha3(void)
{
	if (pthread_once(&sha3_once, sha3_init) != 0)
		fatalx("keeta_hash: pthread_once failed");
	return sha3_md;
}

struct keeta_sha3 *
keeta_sha3_new(void)
{
	struct keeta_sha3	*h;

	h = xmalloc(sizeof *h);
	if ((h->ctx = EVP_MD_CTX_new()) == NULL)
		fatalx("keeta_hash: EVP_MD_CTX_new failed");
	if (EVP_DigestInit_ex(h->ctx, sha3(), NULL) != 1)
		fatalx("keeta_hash: EVP_DigestInit_ex failed");
	return h;
}

void
keeta_sha3_update(struct keeta_sha3 *h, const void *data, size_t len)
{
	if (len == 0)
		return;
	if (EVP_DigestUpdate(h->ctx, data, len) != 1)
		fatalx("keeta_hash: EVP_DigestUpdate failed");
}

void
keeta_sha3_final(struct keeta_sha3 *h, uint8_t out[KEETA_HASH_LEN])
{
	unsigned int	n = 0;

	if (EVP_DigestFinal_ex(h->ctx, out, &n) != 1 || n != KEETA_HASH_LEN)
		fatalx("keeta_hash: EVP_DigestFinal_ex failed");
	keeta_sha3_free(h);
}

void
keeta_sha3_free(struct keeta_sha3 *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

void
keeta_sha3_256(const void *data, size_t len, uint8_t out[KEETA_HASH_LEN])
{
	unsigned int	n = 0;

	if (EVP_Digest(len == 0 ? "" : data, len, out, &n, sha3(),
	    NULL) != 1 || n != KEETA_HASH_LEN)
		fatalx("keeta_hash: EVP_Digest failed");
}

void
keeta_sha3_256_2(const void *a, size_t alen, const void *b, size_t blen,
    uint8_t out[KEETA_HASH_LEN])
{
	struct keeta_sha3	*h;

	h = keeta_sha3_new();
	keeta_sha3_update(h, a, alen);
	keeta_sha3_update(h, b, blen);
	keeta_sha3_final(h, out);
}

void
keeta_hmac_sha3_256(const void *key, size_t keylen, const void *msg,
    size_t msglen, uint8_t out[KEETA_HASH_LEN])
{
	unsigned int	n = 0;

	if (keylen > INT32_MAX)
		fatalx("keeta_hash: HMAC key too long");
	if (HMAC(sha3(), keylen == 0 ? "" : key, (int)keylen,
	    msglen == 0 ? (const void *)"" : msg, msglen, out, &n) == NULL ||
	    n != KEETA_HASH_LEN)
		fatalx("keeta_hash: HMAC failed");
}
