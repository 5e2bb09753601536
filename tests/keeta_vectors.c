/*
 * keeta_vectors: vector-file helpers for the Keeta block and vote tests.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keeta_vectors.h"
#include "util.h"

cJSON *
kv_load(const char *name)
{
	const char	*dir;
	char		*path, *buf;
	FILE		*f;
	long		 n;
	cJSON		*j;

	dir = getenv("KDEX_TEST_DATA");
	if (dir == NULL)
		dir = "tests/data";
	xasprintf(&path, "%s/keeta/%s", dir, name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	buf = xmalloc((size_t)n + 1);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	j = cJSON_Parse(buf);
	ck_assert_msg(j != NULL, "cannot parse %s", path);
	free(buf);
	free(path);
	return j;
}

const char *
kv_str(const cJSON *o, const char *key)
{
	const cJSON	*v;

	v = cJSON_GetObjectItemCaseSensitive(o, key);
	ck_assert_msg(cJSON_IsString(v), "missing string %s", key);
	return v->valuestring;
}

uint8_t *
kv_unhex(const char *s, size_t *len)
{
	size_t	 n = strlen(s);
	uint8_t	*p = xmalloc(n / 2 + 1);
	ssize_t	 got;

	got = keeta_hex_decode(s, n, p, n / 2 + 1);
	ck_assert_msg(got >= 0, "bad hex %s", s);
	*len = (size_t)got;
	return p;
}

int
kv_eq_hex(const uint8_t *p, size_t len, const char *hex)
{
	uint8_t	*q;
	size_t	 n;
	int	 eq;

	q = kv_unhex(hex, &n);
	eq = n == len && memcmp(p, q, n) == 0;
	free(q);
	return eq;
}

int64_t
kv_iso_ms(const char *s)
{
	struct tm	tm;
	int		ms = 0, got;

	memset(&tm, 0, sizeof tm);
	got = sscanf(s, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms);
	ck_assert_int_ge(got, 6);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm) * 1000 + ms;
}

void
kv_pubkey(const char *addr, struct keeta_pubkey *pk)
{
	const char	*cause = NULL;

	ck_assert_msg(keeta_address_decode(addr, pk, &cause) == 0,
	    "bad address %s: %s", addr, cause);
}

struct keeta_account *
kv_account(const cJSON *e)
{
	uint8_t			 seed[KEETA_SEED_LEN];
	const char		*algo, *cause = NULL;
	const cJSON		*idx;
	struct keeta_account	*a;
	int			 type;

	ck_assert_int_eq(keeta_seed_from_hex(kv_str(e, "seed"), seed, &cause),
	    0);
	algo = kv_str(e, "algorithm");
	if (strcmp(algo, "ED25519") == 0)
		type = KEETA_KEY_ED25519;
	else if (strcmp(algo, "ECDSA_SECP256K1") == 0)
		type = KEETA_KEY_SECP256K1;
	else
		type = KEETA_KEY_SECP256R1;
	idx = cJSON_GetObjectItemCaseSensitive(e, "index");
	ck_assert(cJSON_IsNumber(idx));
	a = keeta_account_from_seed(seed, (uint32_t)idx->valueint, type,
	    &cause);
	ck_assert_msg(a != NULL, "from_seed: %s", cause);
	return a;
}

uint64_t
kv_rand(uint64_t *s)
{
	uint64_t	x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}
