/*
 * check_keeta_der: the canonical DER writer and the strict reader.
 *
 * Besides hand-made cases, every block, vote and staple in the SDK vectors
 * (tests/data/keeta/c-check.txt) is walked by a generic decoder that
 * re-encodes each element through the typed writer functions: the output
 * must be byte-identical, which shows the writer produces the SDK's
 * encodings and the reader accepts them.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keeta_account.h"
#include "keeta_der.h"
#include "util.h"

/* Hex string to a new buffer. */
static uint8_t *
unhex(const char *s, size_t *n)
{
	size_t	 len = strlen(s);
	uint8_t	*p = xmalloc(len / 2 + 1);
	ssize_t	 got;

	got = keeta_hex_decode(s, len, p, len / 2 + 1);
	ck_assert_int_ge(got, 0);
	*n = (size_t)got;
	return p;
}

static void
ck_writer_hex(struct keeta_der_writer *w, const char *want)
{
	const uint8_t	*p;
	size_t		 n;
	char		*hex;

	p = keeta_der_writer_data(w, &n);
	hex = xmalloc(2 * n + 1);
	keeta_hex_encode(p, n, hex);
	ck_assert_str_eq(hex, want);
	free(hex);
}

START_TEST(test_integers)
{
	struct keeta_der_writer	w;
	static const struct {
		int64_t		 v;
		const char	*hex;
	} ints[] = {
		{ 0, "020100" }, { 1, "020101" }, { 127, "02017f" },
		{ 128, "02020080" }, { 250, "020200fa" }, { 256, "02020100" },
		{ 0x54455354, "020454455354" }, { -1, "0201ff" },
		{ -128, "020180" }, { -129, "0202ff7f" },
		{ INT64_MIN, "02088000000000000000" },
		{ INT64_MAX, "02087fffffffffffffff" },
	};
	size_t			i;

	for (i = 0; i < sizeof ints / sizeof ints[0]; i++) {
		struct keeta_der_reader	r;
		const uint8_t		*p;
		size_t			 n;
		int64_t			 back;

		keeta_der_writer_init(&w);
		keeta_der_put_int64(&w, ints[i].v);
		ck_writer_hex(&w, ints[i].hex);
		p = keeta_der_writer_data(&w, &n);
		keeta_der_reader_init(&r, p, n);
		ck_assert_int_eq(keeta_der_read_int64(&r, &back), 0);
		ck_assert(back == ints[i].v);
		ck_assert_int_eq(keeta_der_expect_end(&r), 0);
		keeta_der_writer_release(&w);
	}

	keeta_der_writer_init(&w);
	keeta_der_put_u64(&w, UINT64_MAX);
	ck_writer_hex(&w, "020900ffffffffffffffff");
	keeta_der_writer_clear(&w);
	keeta_der_put_u128(&w, ~(keeta_u128)0);
	ck_writer_hex(&w, "021100ffffffffffffffffffffffffffffffff");
	keeta_der_writer_clear(&w);
	keeta_der_put_uint_bytes(&w, (const uint8_t *)"\0\0\x01", 3);
	keeta_der_put_uint_bytes(&w, NULL, 0);
	ck_writer_hex(&w, "020101020100");
	keeta_der_writer_release(&w);
}
END_TEST

START_TEST(test_bigint_decimal)
{
	struct keeta_der_writer	 w;
	struct keeta_der_reader	 r;
	char			 dec[202], *back, u[40];
	uint8_t			*b;
	const uint8_t		*p, *m;
	size_t			 n, blen, mlen;
	keeta_u128		 v, v2;

	/* The token supply limit 10^200 - 1 (200 nines, 84 bytes). */
	memset(dec, '9', 200);
	dec[200] = '\0';
	ck_assert_int_eq(keeta_uint_from_dec(dec, 128, &b, &blen), 0);
	ck_assert_uint_eq(blen, 84);
	keeta_der_writer_init(&w);
	keeta_der_put_uint_bytes(&w, b, blen);
	p = keeta_der_writer_data(&w, &n);
	keeta_der_reader_init(&r, p, n);
	ck_assert_int_eq(keeta_der_read_uint_bytes(&r, &m, &mlen), 0);
	ck_assert_uint_eq(mlen, blen);
	ck_assert_mem_eq(m, b, blen);
	back = keeta_uint_to_dec(m, mlen);
	ck_assert_str_eq(back, dec);
	free(back);
	/* Too large for u64 / u128: an error, position unchanged. */
	keeta_der_reader_init(&r, p, n);
	ck_assert_int_eq(keeta_der_read_u128(&r, &v), -1);
	ck_assert_str_eq(keeta_der_cause(&r), "INTEGER too large");
	ck_assert_uint_eq(keeta_der_remaining(&r), n);
	free(b);
	keeta_der_writer_release(&w);

	ck_assert_int_eq(keeta_uint_from_dec(dec, 83, &b, &blen), -1);
	ck_assert_int_eq(keeta_uint_from_dec("0", 1, &b, &blen), 0);
	ck_assert_uint_eq(blen, 0);
	free(b);
	ck_assert_int_eq(keeta_uint_from_dec("007", 8, &b, &blen), -1);
	ck_assert_int_eq(keeta_uint_from_dec("", 8, &b, &blen), -1);
	ck_assert_int_eq(keeta_uint_from_dec("12a", 8, &b, &blen), -1);
	back = keeta_uint_to_dec((const uint8_t *)"\0\0", 2);
	ck_assert_str_eq(back, "0");
	free(back);

	ck_assert_int_eq(keeta_u128_from_dec(
	    "340282366920938463463374607431768211455", &v), 0);
	ck_assert(v == ~(keeta_u128)0);
	keeta_u128_to_dec(v, u);
	ck_assert_str_eq(u, "340282366920938463463374607431768211455");
	ck_assert_int_eq(keeta_u128_from_dec(
	    "340282366920938463463374607431768211456", &v2), -1);
	keeta_u128_to_dec(0, u);
	ck_assert_str_eq(u, "0");
}
END_TEST

START_TEST(test_u128_random_roundtrip)
{
	struct keeta_der_writer	w;
	struct keeta_der_reader	r;
	uint64_t		s = 0x9e3779b97f4a7c15ULL;
	int			i;

	keeta_der_writer_init(&w);
	for (i = 0; i < 2000; i++) {
		keeta_u128	v, back;
		const uint8_t	*p;
		size_t		n;
		char		dec[40];

		/* xorshift64: deterministic, with widths from 0 to 128 bits. */
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		v = ((keeta_u128)s << 64) | (s * 0x2545f4914f6cdd1dULL);
		v >>= i % 129 == 128 ? 127 : i % 128;
		keeta_der_writer_clear(&w);
		keeta_der_put_u128(&w, v);
		p = keeta_der_writer_data(&w, &n);
		keeta_der_reader_init(&r, p, n);
		ck_assert_int_eq(keeta_der_read_u128(&r, &back), 0);
		ck_assert(back == v);
		keeta_u128_to_dec(v, dec);
		ck_assert_int_eq(keeta_u128_from_dec(dec, &back), 0);
		ck_assert(back == v);
	}
	keeta_der_writer_release(&w);
}
END_TEST

START_TEST(test_lengths_and_nesting)
{
	struct keeta_der_writer	 w;
	struct keeta_der_reader	 r, c1, c2;
	static const size_t	 sizes[] = { 0, 1, 127, 128, 255, 256, 65535,
				    65536, 70000 };
	uint8_t			*big, *det;
	const uint8_t		*p;
	size_t			 i, n;

	big = xcalloc(70000, 1);
	for (i = 0; i < 70000; i++)
		big[i] = (uint8_t)i;
	for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		keeta_der_writer_init(&w);
		keeta_der_begin(&w, KEETA_DER_SEQUENCE);
		keeta_der_begin(&w, KEETA_DER_EXPLICIT(3));
		keeta_der_put_octets(&w, big, sizes[i]);
		keeta_der_end(&w);
		keeta_der_put_null(&w);
		keeta_der_end(&w);
		det = keeta_der_writer_detach(&w, &n);
		keeta_der_reader_init(&r, det, n);
		ck_assert_int_eq(keeta_der_enter(&r, KEETA_DER_SEQUENCE, &c1),
		    0);
		ck_assert_int_eq(keeta_der_expect_end(&r), 0);
		ck_assert_int_eq(keeta_der_enter(&c1, KEETA_DER_EXPLICIT(3),
		    &c2), 0);
		ck_assert_int_eq(keeta_der_read_octets(&c2, &p, &n), 0);
		ck_assert_uint_eq(n, sizes[i]);
		ck_assert(n == 0 || memcmp(p, big, n) == 0);
		ck_assert_int_eq(keeta_der_expect_end(&c2), 0);
		ck_assert_int_eq(keeta_der_read_null(&c1), 0);
		ck_assert(keeta_der_at_end(&c1));
		free(det);
	}
	/* Header forms: 0x81 from 128, 0x82 from 256, 0x83 from 65536. */
	keeta_der_writer_init(&w);
	keeta_der_put_octets(&w, big, 128);
	p = keeta_der_writer_data(&w, &n);
	ck_assert_mem_eq(p, "\x04\x81\x80", 3);
	keeta_der_writer_clear(&w);
	keeta_der_put_octets(&w, big, 256);
	p = keeta_der_writer_data(&w, &n);
	ck_assert_mem_eq(p, "\x04\x82\x01\x00", 4);
	keeta_der_writer_clear(&w);
	keeta_der_put_octets(&w, big, 65536);
	p = keeta_der_writer_data(&w, &n);
	ck_assert_mem_eq(p, "\x04\x83\x01\x00\x00", 5);
	keeta_der_writer_release(&w);
	free(big);

	/* An empty writer detaches to a valid zero-length buffer. */
	keeta_der_writer_init(&w);
	det = keeta_der_writer_detach(&w, &n);
	ck_assert_ptr_nonnull(det);
	ck_assert_uint_eq(n, 0);
	free(det);
}
END_TEST

START_TEST(test_simple_types)
{
	struct keeta_der_writer	 w;
	struct keeta_der_reader	 r;
	const uint8_t		*p;
	const char		*s;
	size_t			 n;
	int			 b;

	keeta_der_writer_init(&w);
	keeta_der_put_bool(&w, 1);
	keeta_der_put_bool(&w, 0);
	keeta_der_put_null(&w);
	keeta_der_put_utf8(&w, "", 0);
	keeta_der_put_utf8(&w, "\xe2\x80\x98x", 4);
	keeta_der_put_bits(&w, "\x4b", 1);
	ck_assert_int_eq(keeta_der_put_oid(&w, "2.16.840.1.101.3.4.2.8"), 0);
	ck_assert_int_eq(keeta_der_put_oid(&w, "1.3.101.112"), 0);
	ck_assert_int_eq(keeta_der_put_oid(&w, "1.3.6.1.4.1.62675.0.1.0"), 0);
	ck_writer_hex(&w, "0101ff" "010100" "0500" "0c00" "0c04e2809878"
	    "0302004b" "0609608648016503040208" "06032b6570"
	    "060b2b0601040183e953000100");
	ck_assert_int_eq(keeta_der_put_oid(&w, "3.1"), -1);
	ck_assert_int_eq(keeta_der_put_oid(&w, "1.40"), -1);
	ck_assert_int_eq(keeta_der_put_oid(&w, "1"), -1);
	ck_assert_int_eq(keeta_der_put_oid(&w, "1..2"), -1);
	ck_assert_int_eq(keeta_der_put_oid(&w, "1.02"), -1);
	ck_assert_int_eq(keeta_der_put_oid(&w, "1.2."), -1);

	p = keeta_der_writer_data(&w, &n);
	keeta_der_reader_init(&r, p, n);
	ck_assert_int_eq(keeta_der_read_bool(&r, &b), 0);
	ck_assert_int_eq(b, 1);
	ck_assert_int_eq(keeta_der_read_bool(&r, &b), 0);
	ck_assert_int_eq(b, 0);
	ck_assert_int_eq(keeta_der_read_null(&r), 0);
	ck_assert_int_eq(keeta_der_read_utf8(&r, &s, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(keeta_der_read_utf8(&r, &s, &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_int_eq(keeta_der_read_bits(&r, &p, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(p[0], 0x4b);
	ck_assert_int_eq(keeta_der_read_oid(&r, &p, &n), 0);
	ck_assert(keeta_der_oid_equal(p, n, "2.16.840.1.101.3.4.2.8"));
	ck_assert(!keeta_der_oid_equal(p, n, "2.16.840.1.101.3.4.2.9"));
	ck_assert_int_eq(keeta_der_read_oid(&r, &p, &n), 0);
	ck_assert(keeta_der_oid_equal(p, n, "1.3.101.112"));
	ck_assert_int_eq(keeta_der_peek_tag(&r), KEETA_DER_OID);
	ck_assert_int_eq(keeta_der_read_oid(&r, &p, &n), 0);
	ck_assert(keeta_der_oid_equal(p, n, "1.3.6.1.4.1.62675.0.1.0"));
	ck_assert(keeta_der_at_end(&r));
	ck_assert_int_eq(keeta_der_peek_tag(&r), -1);
	ck_assert_int_eq(keeta_der_read_null(&r), -1);
	ck_assert_str_eq(keeta_der_cause(&r), "missing element");
	keeta_der_writer_release(&w);
}
END_TEST

/* Milliseconds of a UTC date, computed independently with timegm(3). */
static int64_t
utc_ms(int y, int mo, int d, int h, int mi, int s, int ms)
{
	struct tm	tm;

	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return (int64_t)timegm(&tm) * 1000 + ms;
}

START_TEST(test_time)
{
	static const struct {
		int		 y, mo, d, h, mi, s, ms;
		const char	*text;
	} t[] = {
		{ 2025, 1, 2, 3, 4, 5, 0, "20250102030405Z" },
		{ 2025, 1, 2, 3, 4, 9, 120, "20250102030409.120Z" },
		{ 2025, 1, 2, 3, 4, 9, 500, "20250102030409.500Z" },
		{ 2025, 1, 2, 3, 4, 9, 1, "20250102030409.001Z" },
		{ 1970, 1, 1, 0, 0, 0, 0, "19700101000000Z" },
		{ 1969, 12, 31, 23, 59, 59, 999, "19691231235959.999Z" },
		{ 2024, 2, 29, 12, 0, 0, 0, "20240229120000Z" },
		{ 3026, 1, 31, 0, 0, 0, 0, "30260131000000Z" },
		{ 9999, 12, 31, 23, 59, 59, 999, "99991231235959.999Z" },
		{ 1, 1, 1, 0, 0, 0, 0, "00010101000000Z" },
	};
	struct keeta_der_writer	w;
	struct keeta_der_reader	r;
	size_t			i, n;
	char			iso[25];

	keeta_der_writer_init(&w);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		int64_t		 ms, back;
		const uint8_t	*p;

		ms = utc_ms(t[i].y, t[i].mo, t[i].d, t[i].h, t[i].mi, t[i].s,
		    t[i].ms);
		keeta_der_writer_clear(&w);
		ck_assert_int_eq(keeta_der_put_time(&w, ms), 0);
		p = keeta_der_writer_data(&w, &n);
		ck_assert_uint_eq(p[0], 0x18);
		ck_assert_uint_eq(p[1], strlen(t[i].text));
		ck_assert_mem_eq(p + 2, t[i].text, strlen(t[i].text));
		keeta_der_reader_init(&r, p, n);
		ck_assert_int_eq(keeta_der_read_time(&r, &back), 0);
		ck_assert(back == ms);
	}
	ck_assert_int_eq(keeta_time_iso8601(utc_ms(2025, 1, 2, 3, 4, 5, 678),
	    iso), 0);
	ck_assert_str_eq(iso, "2025-01-02T03:04:05.678Z");
	ck_assert_int_eq(keeta_der_put_time(&w, utc_ms(9999, 12, 31, 23, 59,
	    59, 999) + 1), -1);
	ck_assert_int_eq(keeta_der_put_time(&w, INT64_MIN), -1);
	ck_assert_int_eq(keeta_time_iso8601(INT64_MAX, iso), -1);
	keeta_der_writer_release(&w);
}
END_TEST

/* The exported calendar helpers against timegm(3), both ways. */
START_TEST(test_civil_days)
{
	int64_t	days;
	int	y, m, d, yy, mm, dd;

	for (y = -400; y <= 10400; y += 7) {
		for (m = 1; m <= 12; m++) {
			d = m == 2 ? 28 : 30;
			days = keeta_days_from_civil(y, m, d);
			if (y >= 0 && y <= 9999)
				ck_assert(days * 86400000 ==
				    utc_ms(y, m, d, 0, 0, 0, 0));
			keeta_civil_from_days(days, &yy, &mm, &dd);
			ck_assert_int_eq(yy, y);
			ck_assert_int_eq(mm, m);
			ck_assert_int_eq(dd, d);
		}
	}
	ck_assert(keeta_days_from_civil(1970, 1, 1) == 0);
	ck_assert(keeta_days_from_civil(2000, 3, 1) -
	    keeta_days_from_civil(2000, 2, 28) == 2);
	keeta_civil_from_days(-1, &yy, &mm, &dd);
	ck_assert(yy == 1969 && mm == 12 && dd == 31);
}
END_TEST

START_TEST(test_time_random_roundtrip)
{
	struct keeta_der_writer	w;
	struct keeta_der_reader	r;
	uint64_t		s = 12345;
	int64_t			lo, span;
	int			i;

	lo = utc_ms(0, 1, 1, 0, 0, 0, 0);
	span = utc_ms(9999, 12, 31, 23, 59, 59, 999) - lo + 1;
	keeta_der_writer_init(&w);
	for (i = 0; i < 5000; i++) {
		int64_t		 ms, back;
		const uint8_t	*p;
		size_t		 n;

		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		ms = lo + (int64_t)((s >> 1) % (uint64_t)span);
		if (i % 3 == 0)
			ms -= ms % 1000;	/* whole seconds too */
		keeta_der_writer_clear(&w);
		ck_assert_int_eq(keeta_der_put_time(&w, ms), 0);
		p = keeta_der_writer_data(&w, &n);
		ck_assert_uint_eq(n, ms % 1000 == 0 ? 17 : 21);
		keeta_der_reader_init(&r, p, n);
		ck_assert_int_eq(keeta_der_read_time(&r, &back), 0);
		ck_assert(back == ms);
	}
	keeta_der_writer_release(&w);
}
END_TEST

/* Each of these must fail to read as the given type, position unchanged. */
enum kind { K_TLV, K_UINT, K_U64, K_INT64, K_BOOL, K_NULL, K_UTF8, K_TIME,
	K_BITS, K_OID, K_SEQ_END };

static const struct bad {
	enum kind	 kind;
	const char	*hex;
	const char	*cause;
} bads[] = {
	{ K_TLV, "", "truncated element" },
	{ K_TLV, "04", "truncated element" },
	{ K_TLV, "0480", "indefinite length" },
	{ K_TLV, "048105" "0000000000", "non-minimal length" },
	{ K_TLV, "04820080", "non-minimal length" },
	{ K_TLV, "0485" "0000000001", "length too large" },
	{ K_TLV, "0482", "truncated length" },
	{ K_TLV, "040301", "element longer than its container" },
	{ K_TLV, "04847fffffff00", "element longer than its container" },
	{ K_TLV, "1f0100", "multi-byte tag" },
	{ K_UINT, "0200", "empty INTEGER" },
	{ K_UINT, "02020005", "non-minimal INTEGER" },
	{ K_UINT, "0202ff80", "non-minimal INTEGER" },
	{ K_UINT, "020180", "negative INTEGER" },
	{ K_UINT, "0401ff", "unexpected tag" },
	{ K_U64, "02090100000000000000ff", "INTEGER too large" },
	{ K_INT64, "0209000000000000000001", "non-minimal INTEGER" },
	{ K_INT64, "0209010000000000000000", "INTEGER too large" },
	{ K_BOOL, "010101", "non-canonical BOOLEAN" },
	{ K_BOOL, "0102ffff", "non-canonical BOOLEAN" },
	{ K_BOOL, "0100", "non-canonical BOOLEAN" },
	{ K_NULL, "050100", "NULL with contents" },
	{ K_UTF8, "0c02c080", "invalid UTF-8" },
	{ K_UTF8, "0c03eda080", "invalid UTF-8" },
	{ K_UTF8, "0c02e282", "invalid UTF-8" },
	{ K_UTF8, "0c01ff", "invalid UTF-8" },
	{ K_UTF8, "0c04f4908080", "invalid UTF-8" },
	/* ".12Z": the negative SDK vector's two fraction digits. */
	{ K_TIME, "181232303235303130323033303430392e31325a",
	    "non-canonical GeneralizedTime" },
	{ K_TIME, "181332303235303130323033303430392e3030305a",
	    "non-canonical GeneralizedTime" },	/* .000Z */
	{ K_TIME, "180f32303235303233303033303430395a",
	    "non-canonical GeneralizedTime" },	/* Feb 30 */
	{ K_TIME, "180f32303235303130323234303430395a",
	    "non-canonical GeneralizedTime" },	/* hour 24 */
	{ K_TIME, "180f32303235303130323033303436305a",
	    "non-canonical GeneralizedTime" },	/* second 60 */
	{ K_TIME, "180f32303235303130323033303430397a",
	    "non-canonical GeneralizedTime" },	/* lower-case z */
	{ K_TIME, "180e323032353031303230333034305a",
	    "non-canonical GeneralizedTime" },	/* 14 chars */
	{ K_TIME, "180f2b303235303130323033303430395a",
	    "non-canonical GeneralizedTime" },	/* sign */
	{ K_TIME, "181332303235303130323033303430392c3132305a",
	    "non-canonical GeneralizedTime" },	/* comma */
	{ K_BITS, "030101", "BIT STRING with unused bits" },
	{ K_BITS, "0300", "BIT STRING with unused bits" },
	{ K_OID, "0600", "malformed OBJECT IDENTIFIER" },
	{ K_OID, "06028001", "malformed OBJECT IDENTIFIER" },
	{ K_OID, "06022b86", "malformed OBJECT IDENTIFIER" },
	{ K_SEQ_END, "3004020100ff", "trailing data" },
	{ K_SEQ_END, "3004020100", "element longer than its container" },
};

START_TEST(test_reject)
{
	const struct bad	*b = &bads[_i];
	struct keeta_der_reader	 r, c;
	struct keeta_der_tlv	 t;
	uint8_t			*buf;
	const uint8_t		*p;
	const char		*s;
	size_t			 n, len;
	uint64_t		 u;
	int64_t			 i64;
	int			 v, rc = 0;

	buf = unhex(b->hex, &len);
	keeta_der_reader_init(&r, buf, len);
	switch (b->kind) {
	case K_TLV:
		rc = keeta_der_read_tlv(&r, &t);
		break;
	case K_UINT:
		rc = keeta_der_read_uint_bytes(&r, &p, &n);
		break;
	case K_U64:
		rc = keeta_der_read_u64(&r, &u);
		break;
	case K_INT64:
		rc = keeta_der_read_int64(&r, &i64);
		break;
	case K_BOOL:
		rc = keeta_der_read_bool(&r, &v);
		break;
	case K_NULL:
		rc = keeta_der_read_null(&r);
		break;
	case K_UTF8:
		rc = keeta_der_read_utf8(&r, &s, &n);
		break;
	case K_TIME:
		rc = keeta_der_read_time(&r, &i64);
		break;
	case K_BITS:
		rc = keeta_der_read_bits(&r, &p, &n);
		break;
	case K_OID:
		rc = keeta_der_read_oid(&r, &p, &n);
		break;
	case K_SEQ_END:
		/* The child's error lands in the root's cause slot. */
		rc = keeta_der_enter(&r, KEETA_DER_SEQUENCE, &c);
		if (rc == 0) {
			ck_assert_int_eq(keeta_der_read_uint_bytes(&c, &p, &n),
			    0);
			rc = keeta_der_expect_end(&c);
		}
		break;
	}
	ck_assert_msg(rc == -1, "%s accepted", b->hex);
	ck_assert_ptr_nonnull(keeta_der_cause(&r));
	ck_assert_str_eq(keeta_der_cause(&r), b->cause);
	if (b->kind != K_SEQ_END)
		ck_assert_uint_eq(keeta_der_remaining(&r), len);
	free(buf);
}
END_TEST

static int
rewrite_hex(const char *hex, const char *label)
{
	struct keeta_der_reader	 r;
	struct keeta_der_writer	 w;
	uint8_t			*buf;
	const uint8_t		*out;
	size_t			 len, n;
	int			 rc;

	buf = unhex(hex, &len);
	keeta_der_reader_init(&r, buf, len);
	keeta_der_writer_init(&w);
	rc = keeta_der_reencode(&r, &w);
	if (rc == 0) {
		out = keeta_der_writer_data(&w, &n);
		ck_assert_msg(n == len && memcmp(out, buf, n) == 0,
		    "%s: re-encoding differs", label);
	}
	keeta_der_writer_release(&w);
	free(buf);
	return rc;
}

START_TEST(test_vectors_reencode)
{
	char	 path[4096], *line = NULL, *save, *f[12];
	size_t	 cap = 0;
	FILE	*fp;
	int	 nf, count = 0;

	snprintf(path, sizeof path, "%s/keeta/c-check.txt",
	    getenv("KDEX_TEST_DATA") != NULL ? getenv("KDEX_TEST_DATA") :
	    "tests/data");
	fp = fopen(path, "r");
	ck_assert_msg(fp != NULL, "cannot open %s", path);
	while (getline(&line, &cap, fp) != -1) {
		line[strcspn(line, "\n")] = '\0';
		nf = 0;
		for (f[nf] = strtok_r(line, " ", &save); f[nf] != NULL &&
		    nf < 11; f[nf] = strtok_r(NULL, " ", &save))
			nf++;
		if (nf == 0)
			continue;
		if (strcmp(f[0], "BLOCK") == 0 && nf >= 5) {
			ck_assert_int_eq(rewrite_hex(f[2], f[1]), 0);
			ck_assert_int_eq(rewrite_hex(f[4], f[1]), 0);
			count += 2;
		} else if (strcmp(f[0], "VOTE") == 0 && nf >= 6) {
			ck_assert_int_eq(rewrite_hex(f[5], f[1]), 0);
			count++;
		} else if (strcmp(f[0], "STAPLE") == 0 && nf >= 3) {
			ck_assert_int_eq(rewrite_hex(f[2], f[1]), 0);
			count++;
		}
	}
	free(line);
	fclose(fp);
	/* 18 blocks (unsigned + signed), 5 votes, 2 staples. */
	ck_assert_int_eq(count, 18 * 2 + 5 + 2);

	/* The SDK's negative vector: the ".12Z" date is refused. */
	ck_assert_int_eq(rewrite_hex("308201300201000204544553540500181232"
	    "303235303130323033303430392e31325a", "negative"), -1);
}
END_TEST

/* Reading truncated prefixes of a valid encoding never succeeds wrongly
 * nor reads out of bounds (ASan/valgrind watch the heap copy). */
START_TEST(test_truncations)
{
	struct keeta_der_writer	 w;
	const uint8_t		*p;
	size_t			 n, cut;

	keeta_der_writer_init(&w);
	keeta_der_begin(&w, KEETA_DER_SEQUENCE);
	keeta_der_put_u64(&w, 0x54455354);
	keeta_der_put_time(&w, 1735787045120LL);
	keeta_der_put_utf8(&w, "abc", 3);
	keeta_der_put_bits(&w, "xyz", 3);
	keeta_der_end(&w);
	p = keeta_der_writer_data(&w, &n);
	for (cut = 0; cut < n; cut++) {
		struct keeta_der_reader	 r;
		struct keeta_der_writer	 w2;
		uint8_t			*copy = xmalloc(cut == 0 ? 1 : cut);

		memcpy(copy, p, cut);
		keeta_der_reader_init(&r, copy, cut);
		keeta_der_writer_init(&w2);
		ck_assert_int_eq(cut == 0 ? 0 :
		    keeta_der_reencode(&r, &w2) == 0 ? 1 : 0, 0);
		keeta_der_writer_release(&w2);
		free(copy);
	}
	keeta_der_writer_release(&w);
}
END_TEST

static Suite *
der_suite(void)
{
	Suite	*s = suite_create("keeta_der");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_integers);
	tcase_add_test(tc, test_bigint_decimal);
	tcase_add_test(tc, test_u128_random_roundtrip);
	tcase_add_test(tc, test_lengths_and_nesting);
	tcase_add_test(tc, test_simple_types);
	tcase_add_test(tc, test_time);
	tcase_add_test(tc, test_time_random_roundtrip);
	tcase_add_test(tc, test_civil_days);
	tcase_add_loop_test(tc, test_reject, 0,
	    (int)(sizeof bads / sizeof bads[0]));
	tcase_add_test(tc, test_vectors_reencode);
	tcase_add_test(tc, test_truncations);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(der_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
