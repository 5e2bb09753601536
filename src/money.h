/*
 * money: exact integer arithmetic for token amounts, and decimal strings.
 *
 * Keeta token amounts are unsigned integers of up to 128 bits in base units.
 * Every operation on money goes through here so that overflow is checked in
 * one place: each function computes into a temporary and stores the result
 * only on success (STYLE.md practice 6), so a caller's value is never left
 * wrapped. Nothing in kdex uses floating point for money.
 *
 * Decimal strings ("1.25") are the form at every edge (JSON, CLI, TUI). They
 * are parsed exactly: too many decimals, a sign, junk, an empty string or a
 * value above 2^128-1 is rejected with a reason, never rounded.
 */
#ifndef KDEX_MONEY_H
#define KDEX_MONEY_H

#include <stddef.h>
#include <stdint.h>

__extension__ typedef unsigned __int128 u128;

#define U128_MAX	(~(u128)0)

/* 10^38 < 2^128 < 10^39: a token may have at most 38 decimals. */
#define MONEY_MAX_DECIMALS	38

/* Enough for 39 digits, a point, a leading "0" and the NUL. */
#define MONEY_BUFSZ	48

/* Fee rates are parts per million; 1000000 is 100 %. */
#define MONEY_PPM	1000000

/* Why a decimal string was refused. */
enum money_status {
	MONEY_OK = 0,
	MONEY_EMPTY,		/* "" */
	MONEY_SIGN,		/* leading '-' or '+' */
	MONEY_JUNK,		/* anything but digits and one inner '.' */
	MONEY_DECIMALS,		/* more fractional digits than allowed */
	MONEY_OVERFLOW,		/* above 2^128-1 base units */
};

/* Static lower-case text for a status ("too many decimals"). */
const char	*money_strerror(enum money_status);

/*
 * Checked arithmetic. Each returns 0 and stores the result in *out, or
 * returns -1 on overflow (or underflow, or division by zero for
 * money_muldiv) and leaves *out untouched.
 */
int	 money_add(u128 *out, u128 a, u128 b);
int	 money_sub(u128 *out, u128 a, u128 b);
int	 money_mul(u128 *out, u128 a, u128 b);

/*
 * a * b / d exactly, rounded down (round_up == 0) or up (round_up != 0),
 * even when a * b itself does not fit in 128 bits. Returns -1 when the
 * quotient does not fit or d is 0.
 */
int	 money_muldiv(u128 *out, u128 a, u128 b, u128 d, int round_up);

/* 10^n for n <= MONEY_MAX_DECIMALS (asserted). */
u128	 money_pow10(unsigned int n);

/*
 * Fee on a notional at a signed rate in ppm (|ppm| <= MONEY_PPM, asserted).
 * A positive rate is a charge rounded UP; a negative rate is a rebate
 * rounded DOWN, so rounding always favours the exchange and the exchange
 * never pays out more than it takes (markets also require rebate rate <=
 * taker rate). Exactly one of *charge and *rebate is non-zero, or both are
 * zero. Never overflows: the result is at most the notional.
 */
void	 money_fee(u128 *charge, u128 *rebate, u128 notional, int32_t ppm);

/*
 * Parse a decimal string of whole tokens into base units of a token with
 * `decimals` decimals ("1.5" with 6 decimals is 1500000). Accepted: one or
 * more digits, optionally '.' and 1..decimals digits; leading zeros and
 * trailing fractional zeros are fine. Zero parses (callers that forbid zero
 * say so). On error *out is untouched.
 */
enum money_status money_parse(u128 *out, const char *s, unsigned int decimals);

/*
 * Format base units as a decimal string of whole tokens in the shortest
 * exact form: no trailing fractional zeros and no point for whole values
 * ("1.5", "2", "0.000001"). buf must hold MONEY_BUFSZ bytes. Returns the
 * length written (excluding the NUL). money_parse(money_format(v)) == v.
 */
size_t	 money_format(char *buf, u128 v, unsigned int decimals);

/* Plain integer helpers: decimals 0. Same contracts as above. */
enum money_status money_parse_u128(u128 *out, const char *s);
size_t	 money_format_u128(char *buf, u128 v);

#endif
