/*
 * money: checked 128-bit arithmetic and exact decimal strings (money.h).
 */
#include "config.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "money.h"

const char *
money_strerror(enum money_status st)
{
	switch (st) {
	case MONEY_OK:
		return "ok";
	case MONEY_EMPTY:
		return "empty amount";
	case MONEY_SIGN:
		return "amount has a sign";
	case MONEY_JUNK:
		return "amount is not a decimal number";
	case MONEY_DECIMALS:
		return "too many decimals";
	case MONEY_OVERFLOW:
		return "amount too large";
	}
	return "unknown error";
}

int
money_add(u128 *out, u128 a, u128 b)
{
	u128	r;

	if (__builtin_add_overflow(a, b, &r))
		return -1;
	*out = r;
	return 0;
}

int
money_sub(u128 *out, u128 a, u128 b)
{
	u128	r;

	if (__builtin_sub_overflow(a, b, &r))
		return -1;
	*out = r;
	return 0;
}

int
money_mul(u128 *out, u128 a, u128 b)
{
	u128	r;

	if (__builtin_mul_overflow(a, b, &r))
		return -1;
	*out = r;
	return 0;
}

/*
 * Write a = q*d + r, so a*b/d = q*b + r*b/d. r*b can still overflow when b
 * and d are both large; then fall back to long division on 256 bits.
 */
static int
muldiv_wide(u128 *out, u128 a, u128 b, u128 d, int round_up)
{
	uint64_t	w[4];	/* a*b as four 64-bit words, least first */
	u128		ll, lh, hl, hh, mid, carry, rem, q;
	uint64_t	a0, a1, b0, b1;
	int		i, bit;

	a0 = (uint64_t)a;
	a1 = (uint64_t)(a >> 64);
	b0 = (uint64_t)b;
	b1 = (uint64_t)(b >> 64);
	ll = (u128)a0 * b0;
	lh = (u128)a0 * b1;
	hl = (u128)a1 * b0;
	hh = (u128)a1 * b1;
	w[0] = (uint64_t)ll;
	mid = (ll >> 64) + (uint64_t)lh + (uint64_t)hl;
	w[1] = (uint64_t)mid;
	carry = (mid >> 64) + (lh >> 64) + (hl >> 64) + (uint64_t)hh;
	w[2] = (uint64_t)carry;
	w[3] = (uint64_t)((carry >> 64) + (hh >> 64));

	/* Bitwise long division: quotient must fit in 128 bits. */
	rem = 0;
	q = 0;
	for (i = 3; i >= 0; i--) {
		for (bit = 63; bit >= 0; bit--) {
			int	top = (rem >> 127) != 0;

			rem = (rem << 1) | ((w[i] >> bit) & 1);
			if (top || rem >= d) {
				rem -= d;
				if (i >= 2)
					return -1;	/* quotient >= 2^128 */
				q |= (u128)1 << (i * 64 + bit);
			}
		}
	}
	if (round_up && rem != 0) {
		if (q == U128_MAX)
			return -1;
		q++;
	}
	*out = q;
	return 0;
}

int
money_muldiv(u128 *out, u128 a, u128 b, u128 d, int round_up)
{
	u128	q, r, hi, lo, prod, res;

	if (d == 0)
		return -1;
	q = a / d;
	r = a % d;
	if (__builtin_mul_overflow(q, b, &hi))
		return -1;
	if (__builtin_mul_overflow(r, b, &prod))
		return muldiv_wide(out, a, b, d, round_up);
	lo = prod / d;
	if (round_up && prod % d != 0)
		lo++;	/* lo <= b, cannot wrap: prod/d < b */
	if (__builtin_add_overflow(hi, lo, &res))
		return -1;
	*out = res;
	return 0;
}

u128
money_pow10(unsigned int n)
{
	u128	v = 1;

	assert(n <= MONEY_MAX_DECIMALS);
	while (n-- > 0)
		v *= 10;
	return v;
}

void
money_fee(u128 *charge, u128 *rebate, u128 notional, int32_t ppm)
{
	u128	v;
	int	rc;

	assert(ppm >= -MONEY_PPM && ppm <= MONEY_PPM);
	*charge = 0;
	*rebate = 0;
	if (ppm == 0 || notional == 0)
		return;
	if (ppm > 0) {
		rc = money_muldiv(&v, notional, (u128)ppm, MONEY_PPM, 1);
		assert(rc == 0 && v <= notional);
		*charge = v;
	} else {
		rc = money_muldiv(&v, notional, (u128)(-(int64_t)ppm),
		    MONEY_PPM, 0);
		assert(rc == 0 && v <= notional);
		*rebate = v;
	}
	(void)rc;
}

enum money_status
money_parse(u128 *out, const char *s, unsigned int decimals)
{
	const char	*p;
	u128		 v = 0, t;
	unsigned int	 frac = 0;
	int		 seen_point = 0, int_digits = 0, d;

	assert(decimals <= MONEY_MAX_DECIMALS);
	if (s == NULL || *s == '\0')
		return MONEY_EMPTY;
	if (*s == '-' || *s == '+')
		return MONEY_SIGN;
	for (p = s; *p != '\0'; p++) {
		if (*p == '.') {
			/* One point, with digits on both sides. */
			if (seen_point || int_digits == 0 || p[1] == '\0')
				return MONEY_JUNK;
			seen_point = 1;
			continue;
		}
		if (*p < '0' || *p > '9')
			return MONEY_JUNK;
		if (seen_point) {
			if (++frac > decimals) {
				/* Tell junk from too many decimals. */
				for (p++; *p != '\0'; p++)
					if (*p < '0' || *p > '9')
						return MONEY_JUNK;
				return MONEY_DECIMALS;
			}
		} else
			int_digits++;
		d = *p - '0';
		if (money_mul(&t, v, 10) != 0 ||
		    money_add(&t, t, (u128)d) != 0) {
			for (p++; *p != '\0'; p++)
				if ((*p < '0' || *p > '9') && *p != '.')
					return MONEY_JUNK;
			return MONEY_OVERFLOW;
		}
		v = t;
	}
	/* Scale up for the fractional digits not written. */
	if (money_mul(&t, v, money_pow10(decimals - frac)) != 0)
		return MONEY_OVERFLOW;
	*out = t;
	return MONEY_OK;
}

size_t
money_format(char *buf, u128 v, unsigned int decimals)
{
	char		 digits[MONEY_BUFSZ];
	size_t		 n = 0, len = 0, i, intlen, fraclen;

	assert(decimals <= MONEY_MAX_DECIMALS);
	/* Digits least significant first, at least decimals + 1 of them. */
	do {
		digits[n++] = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v != 0 || n <= decimals);
	intlen = n - decimals;
	for (i = 0; i < intlen; i++)
		buf[len++] = digits[n - 1 - i];
	/* Drop trailing fractional zeros. */
	fraclen = decimals;
	while (fraclen > 0 && digits[decimals - fraclen] == '0')
		fraclen--;
	if (fraclen > 0) {
		buf[len++] = '.';
		for (i = 0; i < fraclen; i++)
			buf[len++] = digits[decimals - 1 - i];
	}
	buf[len] = '\0';
	assert(len < MONEY_BUFSZ);
	return len;
}

enum money_status
money_parse_u128(u128 *out, const char *s)
{
	return money_parse(out, s, 0);
}

size_t
money_format_u128(char *buf, u128 v)
{
	return money_format(buf, v, 0);
}
