/*
 * fuzz_keeta_decode: libFuzzer target for every Keeta decoder that reads
 * bytes from the network: the DER reader, blocks, votes, staples (zlib or
 * not), addresses, ECDSA signature DER, base32 and hex.
 *
 * Besides "no crash, no out-of-bounds read" (ASan/UBSan), two properties
 * are checked and abort() when broken:
 *   - whatever the generic canonical DER walk accepts, the writer
 *     re-encodes to exactly the same bytes;
 *   - a block the decoder accepts re-encodes to exactly the input.
 * Built with clang -fsanitize=fuzzer when available (tests/fuzz_keeta.test
 * runs it for a bounded time), and always with tests/fuzz_driver.c, a
 * small replay-and-mutate driver for compilers without libFuzzer.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keeta_account.h"
#include "keeta_block.h"
#include "keeta_der.h"
#include "keeta_staple.h"
#include "keeta_vote.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Fixed "now" so that runs are reproducible: 2025-01-02T03:05:01Z. */
#define FUZZ_NOW	((int64_t)1735787101000LL)

static void
fuzz_der(const uint8_t *data, size_t size)
{
	struct keeta_der_reader	 r;
	struct keeta_der_writer	 w;
	const uint8_t		*out;
	size_t			 n;
	uint64_t		 u;
	int64_t			 i64;
	keeta_u128		 u128;

	keeta_der_reader_init(&r, data, size);
	keeta_der_writer_init(&w);
	if (keeta_der_reencode(&r, &w) == 0) {
		out = keeta_der_writer_data(&w, &n);
		if (n != size || (n > 0 && memcmp(out, data, n) != 0)) {
			fprintf(stderr, "fuzz: canonical walk re-encodes "
			    "differently\n");
			abort();
		}
	}
	keeta_der_writer_release(&w);

	/* Typed reads straight off the input. */
	keeta_der_reader_init(&r, data, size);
	(void)keeta_der_read_u64(&r, &u);
	keeta_der_reader_init(&r, data, size);
	(void)keeta_der_read_u128(&r, &u128);
	keeta_der_reader_init(&r, data, size);
	(void)keeta_der_read_int64(&r, &i64);
	keeta_der_reader_init(&r, data, size);
	(void)keeta_der_read_time(&r, &i64);
}

static void
fuzz_block(const uint8_t *data, size_t size)
{
	struct keeta_block	*b;
	uint8_t			*der, h[KEETA_HASH_LEN];
	size_t			 n;
	const char		*cause;
	int			 flags[] = { KEETA_BLOCK_NOVERIFY,
				    KEETA_BLOCK_NOVERIFY | KEETA_BLOCK_UNSIGNED,
				    0 };
	size_t			 i;

	for (i = 0; i < sizeof flags / sizeof flags[0]; i++) {
		if (keeta_block_decode(data, size, flags[i], &b, &cause) != 0)
			continue;
		der = keeta_block_encode(b, (flags[i] &
		    KEETA_BLOCK_UNSIGNED) == 0, &n, &cause);
		if (der == NULL || n != size || memcmp(der, data, n) != 0) {
			fprintf(stderr, "fuzz: accepted block re-encodes "
			    "differently\n");
			abort();
		}
		free(der);
		(void)keeta_block_hash(b, h, &cause);
		(void)keeta_block_verify(b, &cause);
		keeta_block_free(b);
	}
}

static void
fuzz_vote_staple(const uint8_t *data, size_t size)
{
	struct keeta_vote	*v;
	struct keeta_staple	*st;
	cJSON			*j;
	const char		*cause;

	if (keeta_vote_decode(data, size, FUZZ_NOW, KEETA_VOTE_ANYTIME |
	    KEETA_VOTE_ANYKIND | KEETA_VOTE_NOVERIFY, &v, &cause) == 0) {
		(void)keeta_vote_verify(v, &cause);
		keeta_vote_free(v);
	}
	if (keeta_staple_decode(data, size, FUZZ_NOW, KEETA_VOTE_ANYTIME |
	    KEETA_VOTE_EXPIRED_OK | KEETA_VOTE_NOVERIFY, &st, &cause) == 0)
		keeta_staple_free(st);
	if ((j = keeta_decode_any_json(data, size, FUZZ_NOW, &cause)) != NULL)
		cJSON_Delete(j);
}

static void
fuzz_text(const uint8_t *data, size_t size)
{
	struct keeta_pubkey	 pk;
	uint8_t			 sig[KEETA_SIG_LEN], buf[128];
	char			 text[256];
	const char		*cause;

	(void)keeta_ecdsa_sig_from_der(data, size, sig);
	if (size >= sizeof text)
		return;
	memcpy(text, data, size);
	text[size] = '\0';
	(void)keeta_address_decode(text, &pk, &cause);
	(void)keeta_pubkey_parse(text, &pk, &cause);
	(void)keeta_base32_decode(text, strlen(text), buf, sizeof buf);
	(void)keeta_hex_decode(text, strlen(text), buf, sizeof buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_der(data, size);
	fuzz_block(data, size);
	fuzz_vote_staple(data, size);
	fuzz_text(data, size);
	return 0;
}
