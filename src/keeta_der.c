/*
 * keeta_der: canonical DER writer and strict, bounds-checked reader.
 *
 * The reader checks every length against what is left before touching a
 * byte, so it is safe on hostile input; anything that is not the single
 * canonical encoding the SDK would produce is an error, because a node
 * would re-encode it differently and reject the signature anyway.
 */
#include "config.h"

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keeta_der.h"
#include "util.h"

/* Calendar: days since 1970-01-01 of a proleptic Gregorian date. */
int64_t
keeta_days_from_civil(int64_t y, int m, int d)
{
	int64_t	era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void
keeta_civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t	era, doe, yoe, doy, mp, yy;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yy + (*m <= 2));
}

static int
days_in_month(int y, int m)
{
	static const int	dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
				    31, 30, 31 };
	int			leap;

	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : dim[m - 1];
}

#define MS_PER_DAY	86400000LL

struct tm_parts {
	int	y, mo, d, h, mi, s, ms;
};

/* Split ms into calendar parts; -1 outside years 0-9999. */
static int
time_split(int64_t ms, struct tm_parts *t)
{
	int64_t	days, rem;

	if (ms < keeta_days_from_civil(0, 1, 1) * MS_PER_DAY ||
	    ms >= keeta_days_from_civil(10000, 1, 1) * MS_PER_DAY)
		return -1;
	days = ms / MS_PER_DAY;
	rem = ms % MS_PER_DAY;
	if (rem < 0) {
		rem += MS_PER_DAY;
		days--;
	}
	keeta_civil_from_days(days, &t->y, &t->mo, &t->d);
	t->h = (int)(rem / 3600000);
	t->mi = (int)(rem / 60000 % 60);
	t->s = (int)(rem / 1000 % 60);
	t->ms = (int)(rem % 1000);
	return 0;
}

int
keeta_time_iso8601(int64_t ms, char out[25])
{
	struct tm_parts	t;

	if (time_split(ms, &t) != 0)
		return -1;
	snprintf(out, 25, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.y, t.mo,
	    t.d, t.h, t.mi, t.s, t.ms);
	return 0;
}

/* Writer. */

void
keeta_der_writer_init(struct keeta_der_writer *w)
{
	memset(w, 0, sizeof *w);
}

void
keeta_der_writer_release(struct keeta_der_writer *w)
{
	free(w->buf);
	memset(w, 0, sizeof *w);
}

void
keeta_der_writer_clear(struct keeta_der_writer *w)
{
	w->len = 0;
	w->depth = 0;
}

const uint8_t *
keeta_der_writer_data(const struct keeta_der_writer *w, size_t *len)
{
	if (w->depth != 0)
		fatalx("keeta_der: data with %d open elements", w->depth);
	*len = w->len;
	return w->buf != NULL ? w->buf : (const uint8_t *)"";
}

uint8_t *
keeta_der_writer_detach(struct keeta_der_writer *w, size_t *len)
{
	uint8_t	*p;

	if (w->depth != 0)
		fatalx("keeta_der: detach with %d open elements", w->depth);
	p = w->buf != NULL ? w->buf : xmalloc(1);
	*len = w->len;
	memset(w, 0, sizeof *w);
	return p;
}

static void
reserve(struct keeta_der_writer *w, size_t more)
{
	size_t	need;

	if (more > SIZE_MAX - w->len)
		fatalx("keeta_der: writer overflow");
	need = w->len + more;
	if (need <= w->cap)
		return;
	if (w->cap == 0)
		w->cap = 64;
	while (w->cap < need) {
		if (w->cap > SIZE_MAX / 2)
			fatalx("keeta_der: writer overflow");
		w->cap *= 2;
	}
	w->buf = xreallocarray(w->buf, 1, w->cap);
}

static void
put_bytes(struct keeta_der_writer *w, const void *p, size_t n)
{
	if (n == 0)
		return;
	reserve(w, n);
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

/* Length octets of n into out (at most 9); returns the count. */
static size_t
len_octets(size_t n, uint8_t *out)
{
	size_t	k = 0, i;
	size_t	v;

	if (n < 0x80) {
		out[0] = (uint8_t)n;
		return 1;
	}
	for (v = n; v != 0; v >>= 8)
		k++;
	out[0] = (uint8_t)(0x80 | k);
	for (i = 0; i < k; i++)
		out[1 + i] = (uint8_t)(n >> (8 * (k - 1 - i)));
	return k + 1;
}

void
keeta_der_put_tlv(struct keeta_der_writer *w, uint8_t tag, const void *p,
    size_t n)
{
	uint8_t	hdr[10];
	size_t	k;

	hdr[0] = tag;
	k = len_octets(n, hdr + 1);
	put_bytes(w, hdr, k + 1);
	put_bytes(w, p, n);
}

void
keeta_der_put_raw(struct keeta_der_writer *w, const void *p, size_t n)
{
	put_bytes(w, p, n);
}

void
keeta_der_begin(struct keeta_der_writer *w, uint8_t tag)
{
	if (w->depth >= KEETA_DER_MAXDEPTH)
		fatalx("keeta_der: nesting too deep");
	put_bytes(w, &tag, 1);
	w->open[w->depth++] = w->len;
}

void
keeta_der_end(struct keeta_der_writer *w)
{
	uint8_t	hdr[10];
	size_t	start, n, k;

	if (w->depth == 0)
		fatalx("keeta_der: end without begin");
	start = w->open[--w->depth];
	n = w->len - start;
	k = len_octets(n, hdr);
	reserve(w, k);
	memmove(w->buf + start + k, w->buf + start, n);
	memcpy(w->buf + start, hdr, k);
	w->len += k;
}

void
keeta_der_put_uint_bytes(struct keeta_der_writer *w, const uint8_t *p,
    size_t n)
{
	uint8_t	zero = 0;

	while (n > 0 && p[0] == 0) {
		p++;
		n--;
	}
	if (n == 0) {
		keeta_der_put_tlv(w, KEETA_DER_INTEGER, &zero, 1);
		return;
	}
	if (p[0] & 0x80) {
		/* A leading 0x00 keeps the value positive. */
		uint8_t	hdr[11];
		size_t	k;

		hdr[0] = KEETA_DER_INTEGER;
		k = len_octets(n + 1, hdr + 1);
		hdr[1 + k] = 0;
		put_bytes(w, hdr, k + 2);
		put_bytes(w, p, n);
		return;
	}
	keeta_der_put_tlv(w, KEETA_DER_INTEGER, p, n);
}

void
keeta_der_put_u64(struct keeta_der_writer *w, uint64_t v)
{
	uint8_t	b[8];
	int	i;

	for (i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * (7 - i)));
	keeta_der_put_uint_bytes(w, b, sizeof b);
}

void
keeta_der_put_u128(struct keeta_der_writer *w, keeta_u128 v)
{
	uint8_t	b[16];
	int	i;

	for (i = 0; i < 16; i++)
		b[i] = (uint8_t)(v >> (8 * (15 - i)));
	keeta_der_put_uint_bytes(w, b, sizeof b);
}

void
keeta_der_put_int64(struct keeta_der_writer *w, int64_t v)
{
	uint8_t		b[8];
	uint64_t	u = (uint64_t)v;
	size_t		i = 0;
	int		j;

	if (v >= 0) {
		keeta_der_put_u64(w, u);
		return;
	}
	for (j = 0; j < 8; j++)
		b[j] = (uint8_t)(u >> (8 * (7 - j)));
	/* Drop 0xff bytes while the next one still carries the sign. */
	while (i < 7 && b[i] == 0xff && (b[i + 1] & 0x80))
		i++;
	keeta_der_put_tlv(w, KEETA_DER_INTEGER, b + i, 8 - i);
}

void
keeta_der_put_bool(struct keeta_der_writer *w, int v)
{
	uint8_t	b = v ? 0xff : 0x00;

	keeta_der_put_tlv(w, KEETA_DER_BOOLEAN, &b, 1);
}

void
keeta_der_put_null(struct keeta_der_writer *w)
{
	keeta_der_put_tlv(w, KEETA_DER_NULL, NULL, 0);
}

void
keeta_der_put_octets(struct keeta_der_writer *w, const void *p, size_t n)
{
	keeta_der_put_tlv(w, KEETA_DER_OCTETSTRING, p, n);
}

void
keeta_der_put_utf8(struct keeta_der_writer *w, const char *s, size_t n)
{
	keeta_der_put_tlv(w, KEETA_DER_UTF8STRING, s, n);
}

void
keeta_der_put_bits(struct keeta_der_writer *w, const void *p, size_t n)
{
	uint8_t	hdr[11], zero = 0;
	size_t	k;

	if (n == SIZE_MAX)
		fatalx("keeta_der: bit string too long");
	hdr[0] = KEETA_DER_BITSTRING;
	k = len_octets(n + 1, hdr + 1);
	put_bytes(w, hdr, k + 1);
	put_bytes(w, &zero, 1);
	put_bytes(w, p, n);
}

/* Encode dotted OID text into out (max outmax); returns length or -1. */
static ssize_t
oid_encode(const char *s, uint8_t *out, size_t outmax)
{
	uint64_t	arcs[2] = { 0, 0 }, v;
	size_t		n = 0, i, k;
	int		idx = 0, digits;
	uint8_t		tmp[10];

	for (;;) {
		v = 0;
		digits = 0;
		while (*s >= '0' && *s <= '9') {
			if (digits > 0 && v == 0)
				return -1;	/* leading zero */
			if (v > (UINT64_MAX - 9) / 10)
				return -1;
			v = v * 10 + (uint64_t)(*s - '0');
			s++;
			digits++;
		}
		if (digits == 0)
			return -1;
		if (idx < 2) {
			arcs[idx] = v;
			if (idx == 1) {
				if (arcs[0] > 2 || (arcs[0] < 2 &&
				    arcs[1] >= 40) || arcs[1] > UINT64_MAX - 80)
					return -1;
				v = arcs[0] * 40 + arcs[1];
			}
		}
		if (idx >= 1) {
			k = 0;
			do {
				tmp[k++] = (uint8_t)(v & 0x7f);
				v >>= 7;
			} while (v != 0);
			if (n + k > outmax)
				return -1;
			for (i = 0; i < k; i++)
				out[n++] = (uint8_t)(tmp[k - 1 - i] |
				    (i + 1 < k ? 0x80 : 0));
		}
		idx++;
		if (*s == '\0')
			break;
		if (*s++ != '.')
			return -1;
	}
	if (idx < 2)
		return -1;
	return (ssize_t)n;
}

int
keeta_der_put_oid(struct keeta_der_writer *w, const char *s)
{
	uint8_t	buf[128];
	ssize_t	n;

	if ((n = oid_encode(s, buf, sizeof buf)) < 0)
		return -1;
	keeta_der_put_tlv(w, KEETA_DER_OID, buf, (size_t)n);
	return 0;
}

int
keeta_der_put_time(struct keeta_der_writer *w, int64_t ms)
{
	struct tm_parts	t;
	char		buf[32];
	int		n;

	if (time_split(ms, &t) != 0)
		return -1;
	if (t.ms != 0)
		n = snprintf(buf, sizeof buf, "%04d%02d%02d%02d%02d%02d.%03dZ",
		    t.y, t.mo, t.d, t.h, t.mi, t.s, t.ms);
	else
		n = snprintf(buf, sizeof buf, "%04d%02d%02d%02d%02d%02dZ",
		    t.y, t.mo, t.d, t.h, t.mi, t.s);
	if (n < 0 || (size_t)n >= sizeof buf)
		return -1;
	keeta_der_put_tlv(w, KEETA_DER_GENTIME, buf, (size_t)n);
	return 0;
}

/* Reader. */

void
keeta_der_reader_init(struct keeta_der_reader *r, const void *buf, size_t len)
{
	r->p = buf;
	r->len = len;
	r->off = 0;
	r->cause_slot = NULL;
	r->cause = &r->cause_slot;
}

const char *
keeta_der_cause(const struct keeta_der_reader *r)
{
	return *r->cause;
}

int
keeta_der_fail(struct keeta_der_reader *r, const char *cause)
{
	*r->cause = cause;
	return -1;
}

int
keeta_der_at_end(const struct keeta_der_reader *r)
{
	return r->off == r->len;
}

int
keeta_der_expect_end(struct keeta_der_reader *r)
{
	if (r->off != r->len)
		return keeta_der_fail(r, "trailing data");
	return 0;
}

int
keeta_der_peek_tag(const struct keeta_der_reader *r)
{
	if (r->off >= r->len)
		return -1;
	return r->p[r->off];
}

size_t
keeta_der_remaining(const struct keeta_der_reader *r)
{
	return r->len - r->off;
}

int
keeta_der_read_tlv(struct keeta_der_reader *r, struct keeta_der_tlv *t)
{
	size_t		left = r->len - r->off, hl, n, k, i;
	const uint8_t	*p = r->p + r->off;

	if (left < 2)
		return keeta_der_fail(r, "truncated element");
	if ((p[0] & 0x1f) == 0x1f)
		return keeta_der_fail(r, "multi-byte tag");
	if (p[1] < 0x80) {
		n = p[1];
		hl = 2;
	} else {
		k = p[1] & 0x7f;
		if (k == 0)
			return keeta_der_fail(r, "indefinite length");
		if (k > 4)
			return keeta_der_fail(r, "length too large");
		if (left < 2 + k)
			return keeta_der_fail(r, "truncated length");
		if (p[2] == 0)
			return keeta_der_fail(r, "non-minimal length");
		n = 0;
		for (i = 0; i < k; i++)
			n = n << 8 | p[2 + i];
		if (n < 0x80)
			return keeta_der_fail(r, "non-minimal length");
		hl = 2 + k;
	}
	if (n > left - hl)
		return keeta_der_fail(r, "element longer than its container");
	t->tag = p[0];
	t->val = p + hl;
	t->len = n;
	t->raw = p;
	t->rawlen = hl + n;
	r->off += hl + n;
	return 0;
}

int
keeta_der_read(struct keeta_der_reader *r, uint8_t tag,
    struct keeta_der_tlv *t)
{
	int	got;

	if ((got = keeta_der_peek_tag(r)) < 0)
		return keeta_der_fail(r, "missing element");
	if (got != tag)
		return keeta_der_fail(r, "unexpected tag");
	return keeta_der_read_tlv(r, t);
}

int
keeta_der_enter(struct keeta_der_reader *r, uint8_t tag,
    struct keeta_der_reader *child)
{
	struct keeta_der_tlv	t;

	if ((tag & 0x20) == 0)
		fatalx("keeta_der: enter on primitive tag 0x%02x", tag);
	if (keeta_der_read(r, tag, &t) != 0)
		return -1;
	child->p = t.val;
	child->len = t.len;
	child->off = 0;
	child->cause_slot = NULL;
	child->cause = r->cause;
	return 0;
}

/* Contents of a canonical INTEGER (any sign) without consuming it. */
static int
read_integer(struct keeta_der_reader *r, struct keeta_der_tlv *t)
{
	size_t	save = r->off;

	if (keeta_der_read(r, KEETA_DER_INTEGER, t) != 0)
		return -1;
	if (t->len == 0) {
		r->off = save;
		return keeta_der_fail(r, "empty INTEGER");
	}
	if (t->len > 1 && ((t->val[0] == 0x00 && !(t->val[1] & 0x80)) ||
	    (t->val[0] == 0xff && (t->val[1] & 0x80)))) {
		r->off = save;
		return keeta_der_fail(r, "non-minimal INTEGER");
	}
	return 0;
}

int
keeta_der_read_uint_bytes(struct keeta_der_reader *r, const uint8_t **p,
    size_t *n)
{
	struct keeta_der_tlv	t;
	size_t			save = r->off;

	if (read_integer(r, &t) != 0)
		return -1;
	if (t.val[0] & 0x80) {
		r->off = save;
		return keeta_der_fail(r, "negative INTEGER");
	}
	*p = t.val;
	*n = t.len;
	if (t.len > 1 && t.val[0] == 0) {
		(*p)++;
		(*n)--;
	}
	return 0;
}

int
keeta_der_read_u64(struct keeta_der_reader *r, uint64_t *out)
{
	const uint8_t	*p;
	size_t		 n, i, save = r->off;
	uint64_t	 v = 0;

	if (keeta_der_read_uint_bytes(r, &p, &n) != 0)
		return -1;
	if (n > 8) {
		r->off = save;
		return keeta_der_fail(r, "INTEGER too large");
	}
	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	*out = v;
	return 0;
}

int
keeta_der_read_u128(struct keeta_der_reader *r, keeta_u128 *out)
{
	const uint8_t	*p;
	size_t		 n, i, save = r->off;
	keeta_u128	 v = 0;

	if (keeta_der_read_uint_bytes(r, &p, &n) != 0)
		return -1;
	if (n > 16) {
		r->off = save;
		return keeta_der_fail(r, "INTEGER too large");
	}
	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	*out = v;
	return 0;
}

int
keeta_der_read_int64(struct keeta_der_reader *r, int64_t *out)
{
	struct keeta_der_tlv	t;
	size_t			i, save = r->off;
	uint64_t		v;

	if (read_integer(r, &t) != 0)
		return -1;
	if (t.len > 8) {
		r->off = save;
		return keeta_der_fail(r, "INTEGER too large");
	}
	v = (t.val[0] & 0x80) ? UINT64_MAX : 0;
	for (i = 0; i < t.len; i++)
		v = v << 8 | t.val[i];
	memcpy(out, &v, sizeof *out);
	return 0;
}

int
keeta_der_read_bool(struct keeta_der_reader *r, int *out)
{
	struct keeta_der_tlv	t;
	size_t			save = r->off;

	if (keeta_der_read(r, KEETA_DER_BOOLEAN, &t) != 0)
		return -1;
	if (t.len != 1 || (t.val[0] != 0x00 && t.val[0] != 0xff)) {
		r->off = save;
		return keeta_der_fail(r, "non-canonical BOOLEAN");
	}
	*out = t.val[0] == 0xff;
	return 0;
}

int
keeta_der_read_null(struct keeta_der_reader *r)
{
	struct keeta_der_tlv	t;
	size_t			save = r->off;

	if (keeta_der_read(r, KEETA_DER_NULL, &t) != 0)
		return -1;
	if (t.len != 0) {
		r->off = save;
		return keeta_der_fail(r, "NULL with contents");
	}
	return 0;
}

int
keeta_der_read_octets(struct keeta_der_reader *r, const uint8_t **p,
    size_t *n)
{
	struct keeta_der_tlv	t;

	if (keeta_der_read(r, KEETA_DER_OCTETSTRING, &t) != 0)
		return -1;
	*p = t.val;
	*n = t.len;
	return 0;
}

/* 1 when p[0..n) is well-formed UTF-8 (RFC 3629). */
static int
utf8_valid(const uint8_t *p, size_t n)
{
	size_t		i = 0, k, j;
	uint32_t	c, min;

	while (i < n) {
		c = p[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			k = 1;
			c &= 0x1f;
			min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			k = 2;
			c &= 0x0f;
			min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			k = 3;
			c &= 0x07;
			min = 0x10000;
		} else
			return 0;
		if (n - i - 1 < k)
			return 0;
		for (j = 1; j <= k; j++) {
			if ((p[i + j] & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (p[i + j] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
		i += k + 1;
	}
	return 1;
}

int
keeta_der_read_utf8(struct keeta_der_reader *r, const char **p, size_t *n)
{
	struct keeta_der_tlv	t;
	size_t			save = r->off;

	if (keeta_der_read(r, KEETA_DER_UTF8STRING, &t) != 0)
		return -1;
	if (!utf8_valid(t.val, t.len)) {
		r->off = save;
		return keeta_der_fail(r, "invalid UTF-8");
	}
	*p = (const char *)t.val;
	*n = t.len;
	return 0;
}

int
keeta_der_read_bits(struct keeta_der_reader *r, const uint8_t **p,
    size_t *n)
{
	struct keeta_der_tlv	t;
	size_t			save = r->off;

	if (keeta_der_read(r, KEETA_DER_BITSTRING, &t) != 0)
		return -1;
	if (t.len < 1 || t.val[0] != 0) {
		r->off = save;
		return keeta_der_fail(r, "BIT STRING with unused bits");
	}
	*p = t.val + 1;
	*n = t.len - 1;
	return 0;
}

int
keeta_der_read_oid(struct keeta_der_reader *r, const uint8_t **p, size_t *n)
{
	struct keeta_der_tlv	t;
	size_t			save = r->off, i;
	int			start = 1;

	if (keeta_der_read(r, KEETA_DER_OID, &t) != 0)
		return -1;
	for (i = 0; i < t.len; i++) {
		/* Each arc is minimal base 128: no leading 0x80 byte. */
		if (start && t.val[i] == 0x80)
			break;
		start = !(t.val[i] & 0x80);
	}
	if (t.len == 0 || i != t.len || !start) {
		r->off = save;
		return keeta_der_fail(r, "malformed OBJECT IDENTIFIER");
	}
	*p = t.val;
	*n = t.len;
	return 0;
}

int
keeta_der_oid_equal(const uint8_t *p, size_t n, const char *dotted)
{
	uint8_t	buf[128];
	ssize_t	k;

	if ((k = oid_encode(dotted, buf, sizeof buf)) < 0)
		return 0;
	return (size_t)k == n && memcmp(buf, p, n) == 0;
}

/* Parse exactly n decimal digits; -1 if any is not a digit. */
static int
digits(const uint8_t *p, size_t n)
{
	size_t	i;
	int	v = 0;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

int
keeta_der_read_time(struct keeta_der_reader *r, int64_t *ms)
{
	struct keeta_der_tlv	t;
	struct tm_parts		tp;
	size_t			save = r->off;
	const uint8_t		*v;

	if (keeta_der_read(r, KEETA_DER_GENTIME, &t) != 0)
		return -1;
	v = t.val;
	if (t.len != 15 && t.len != 19)
		goto bad;
	if (v[t.len - 1] != 'Z')
		goto bad;
	tp.y = digits(v, 4);
	tp.mo = digits(v + 4, 2);
	tp.d = digits(v + 6, 2);
	tp.h = digits(v + 8, 2);
	tp.mi = digits(v + 10, 2);
	tp.s = digits(v + 12, 2);
	tp.ms = 0;
	if (t.len == 19) {
		if (v[14] != '.')
			goto bad;
		tp.ms = digits(v + 15, 3);
		/* The SDK writes no fraction for whole seconds. */
		if (tp.ms <= 0)
			goto bad;
	}
	if (tp.y < 0 || tp.mo < 1 || tp.mo > 12 || tp.d < 1 ||
	    tp.d > days_in_month(tp.y, tp.mo) || tp.h < 0 || tp.h > 23 ||
	    tp.mi < 0 || tp.mi > 59 || tp.s < 0 || tp.s > 59)
		goto bad;
	*ms = keeta_days_from_civil(tp.y, tp.mo, tp.d) * MS_PER_DAY +
	    (int64_t)tp.h * 3600000 + (int64_t)tp.mi * 60000 +
	    (int64_t)tp.s * 1000 + tp.ms;
	return 0;
bad:
	r->off = save;
	return keeta_der_fail(r, "non-canonical GeneralizedTime");
}

/* Decimal text. */

char *
keeta_uint_to_dec(const uint8_t *p, size_t n)
{
	uint8_t		*num;
	char		*out, c;
	size_t		 cap, len = 0, i, start = 0;
	unsigned int	 rem;

	while (n > 0 && p[0] == 0) {
		p++;
		n--;
	}
	if (n == 0)
		return xstrdup("0");
	/* 8 bits are at most 2.41 decimal digits. */
	cap = n * 3 + 1;
	out = xmalloc(cap);
	num = xmalloc(n);
	memcpy(num, p, n);
	while (start < n) {
		rem = 0;
		for (i = start; i < n; i++) {
			rem = rem << 8 | num[i];
			num[i] = (uint8_t)(rem / 10);
			rem %= 10;
		}
		out[len++] = (char)('0' + rem);
		while (start < n && num[start] == 0)
			start++;
	}
	free(num);
	for (i = 0; i < len / 2; i++) {
		c = out[i];
		out[i] = out[len - 1 - i];
		out[len - 1 - i] = c;
	}
	out[len] = '\0';
	return out;
}

int
keeta_uint_from_dec(const char *s, size_t maxbytes, uint8_t **out,
    size_t *outlen)
{
	uint8_t		*num;
	size_t		 n = 0, i, slen = strlen(s), cap;
	unsigned int	 carry;

	if (slen == 0 || (slen > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < slen; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	/* Little-endian accumulator; one decimal digit adds < 4 bits. */
	cap = slen / 2 + 2;
	num = xcalloc(cap, 1);
	for (i = 0; i < slen; i++) {
		size_t	j;

		carry = (unsigned int)(s[i] - '0');
		for (j = 0; j < n; j++) {
			carry += (unsigned int)num[j] * 10;
			num[j] = (uint8_t)carry;
			carry >>= 8;
		}
		if (carry != 0)
			num[n++] = (uint8_t)carry;
	}
	if (n > maxbytes) {
		free(num);
		return -1;
	}
	*out = xmalloc(n == 0 ? 1 : n);
	for (i = 0; i < n; i++)
		(*out)[i] = num[n - 1 - i];
	*outlen = n;
	free(num);
	return 0;
}

void
keeta_u128_to_dec(keeta_u128 v, char out[40])
{
	char	tmp[40];
	size_t	n = 0, i;

	do {
		tmp[n++] = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
}

int
keeta_u128_from_dec(const char *s, keeta_u128 *out)
{
	uint8_t		*b;
	size_t		 n, i;
	keeta_u128	 v = 0;

	if (keeta_uint_from_dec(s, 16, &b, &n) != 0)
		return -1;
	for (i = 0; i < n; i++)
		v = v << 8 | b[i];
	free(b);
	*out = v;
	return 0;
}

static int
der_reencode(struct keeta_der_reader *r, struct keeta_der_writer *w, int depth)
{
	struct keeta_der_reader	 c;
	struct keeta_der_tlv	 t;
	const uint8_t		*p;
	const char		*s;
	size_t			 n;
	int64_t			 ms;
	int			 tag, b;

	if (depth >= KEETA_DER_MAXDEPTH - 1)
		return -1;
	while (!keeta_der_at_end(r)) {
		tag = keeta_der_peek_tag(r);
		if (tag & 0x20) {
			if (keeta_der_enter(r, (uint8_t)tag, &c) != 0)
				return -1;
			keeta_der_begin(w, (uint8_t)tag);
			if (der_reencode(&c, w, depth + 1) != 0)
				return -1;
			keeta_der_end(w);
			continue;
		}
		switch (tag) {
		case KEETA_DER_INTEGER:
			if (keeta_der_read_uint_bytes(r, &p, &n) != 0)
				return -1;
			keeta_der_put_uint_bytes(w, p, n);
			break;
		case KEETA_DER_BOOLEAN:
			if (keeta_der_read_bool(r, &b) != 0)
				return -1;
			keeta_der_put_bool(w, b);
			break;
		case KEETA_DER_NULL:
			if (keeta_der_read_null(r) != 0)
				return -1;
			keeta_der_put_null(w);
			break;
		case KEETA_DER_UTF8STRING:
			if (keeta_der_read_utf8(r, &s, &n) != 0)
				return -1;
			keeta_der_put_utf8(w, s, n);
			break;
		case KEETA_DER_GENTIME:
			if (keeta_der_read_time(r, &ms) != 0 ||
			    keeta_der_put_time(w, ms) != 0)
				return -1;
			break;
		case KEETA_DER_BITSTRING:
			if (keeta_der_read_bits(r, &p, &n) != 0)
				return -1;
			keeta_der_put_bits(w, p, n);
			break;
		case KEETA_DER_OCTETSTRING:
			if (keeta_der_read_octets(r, &p, &n) != 0)
				return -1;
			keeta_der_put_octets(w, p, n);
			break;
		case KEETA_DER_OID:
			if (keeta_der_read_oid(r, &p, &n) != 0)
				return -1;
			keeta_der_put_tlv(w, KEETA_DER_OID, p, n);
			break;
		default:
			if (keeta_der_read_tlv(r, &t) != 0)
				return -1;
			keeta_der_put_tlv(w, t.tag, t.val, t.len);
			break;
		}
	}
	return 0;
}

int
keeta_der_reencode(struct keeta_der_reader *r, struct keeta_der_writer *w)
{
	if (der_reencode(r, w, 0) != 0) {
		keeta_der_writer_clear(w);
		return -1;
	}
	return 0;
}
