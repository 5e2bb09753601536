/*
 * keeta_vectors: helpers shared by the block and vote unit tests to read
 * the SDK vectors in $KDEX_TEST_DATA/keeta/.
 */
#ifndef KDEX_TESTS_KEETA_VECTORS_H
#define KDEX_TESTS_KEETA_VECTORS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "keeta_account.h"

/* Parse $KDEX_TEST_DATA/keeta/<name>; the caller owns the result
 * (cJSON_Delete). Fails the test when missing. */
cJSON		*kv_load(const char *name);
/* String member of an object, failing the test when absent. */
const char	*kv_str(const cJSON *, const char *key);
/* Hex (either case) to a new buffer the caller frees. */
uint8_t		*kv_unhex(const char *, size_t *len);
/* Compare bytes to a hex string (either case). */
int		 kv_eq_hex(const uint8_t *, size_t, const char *hex);
/* "YYYY-MM-DDTHH:MM:SS.mmmZ" to ms since the epoch. */
int64_t		 kv_iso_ms(const char *);
/* Address to pubkey, failing the test on error. */
void		 kv_pubkey(const char *, struct keeta_pubkey *);
/* Account from an accountSeeds entry ({seed, index, algorithm}); the
 * caller frees it. */
struct keeta_account *kv_account(const cJSON *seedentry);
/* Deterministic pseudo-random bytes (xorshift) for fuzz-style tests. */
uint64_t	 kv_rand(uint64_t *state);

#endif
