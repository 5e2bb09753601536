/*
 * keeta_hash: SHA3-256 and HMAC-SHA3-256, the hashes of the Keeta protocol.
 *
 * Every hash in the wire format is SHA3-256 (FIPS 202, not Keccak-256).
 * These wrap OpenSSL 3 EVP so that callers never see OpenSSL types. None
 * of them can fail on valid arguments: an OpenSSL failure here means a
 * broken installation, and the process dies with fatalx().
 */
#ifndef KDEX_KEETA_HASH_H
#define KDEX_KEETA_HASH_H

#include <stddef.h>
#include <stdint.h>

#define KEETA_HASH_LEN	32

/* out = SHA3-256(data[0..len)). out may alias nothing else. */
void	keeta_sha3_256(const void *data, size_t len,
	    uint8_t out[KEETA_HASH_LEN]);

/* out = SHA3-256(a || b): the common two-part case without a buffer. */
void	keeta_sha3_256_2(const void *a, size_t alen, const void *b, size_t blen,
	    uint8_t out[KEETA_HASH_LEN]);

/*
 * Incremental SHA3-256. keeta_sha3_new() returns a context the caller owns;
 * keeta_sha3_final() writes the digest and frees the context (do not use it
 * afterwards); keeta_sha3_free() frees an unfinished one (NULL is fine).
 */
struct keeta_sha3;
struct keeta_sha3	*keeta_sha3_new(void);
void			 keeta_sha3_update(struct keeta_sha3 *, const void *,
			    size_t);
void			 keeta_sha3_final(struct keeta_sha3 *,
			    uint8_t out[KEETA_HASH_LEN]);
void			 keeta_sha3_free(struct keeta_sha3 *);

/* out = HMAC-SHA3-256(key, msg). */
void	keeta_hmac_sha3_256(const void *key, size_t keylen, const void *msg,
	    size_t msglen, uint8_t out[KEETA_HASH_LEN]);

#endif
