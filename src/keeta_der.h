/*
 * keeta_der: the DER subset the Keeta wire format uses, canonical only.
 *
 * Nodes hash a block by re-encoding its parsed fields, so the writer emits
 * exactly the SDK's encoding and the reader rejects every other encoding of
 * the same value (long lengths, padded INTEGERs, BOOLEAN 0x01, ".5Z" times
 * ...). The reader never reads outside the buffer it was given, whatever
 * the input.
 *
 * Writer: struct keeta_der_writer is declared here so that it can live on
 * the stack; its fields are private. Constructed elements are opened with
 * keeta_der_begin() and closed with keeta_der_end(), which back-patches the
 * length. Misuse (end without begin, detach while open, nesting deeper than
 * KEETA_DER_MAXDEPTH) is a programming error and calls fatalx().
 *
 * Reader: struct keeta_der_reader is a cursor over a constant buffer (the
 * caller keeps the buffer alive). Every read consumes one TLV and returns
 * 0, or -1 with the position unchanged and a static cause string available
 * from keeta_der_cause(). keeta_der_enter() makes a child reader over the
 * contents of a constructed element; the child reports its errors into
 * the same cause slot as the root reader.
 *
 * Times are int64_t milliseconds since the Unix epoch (UTC), years 0000 to
 * 9999. Big integers are unsigned big-endian byte strings.
 */
#ifndef KDEX_KEETA_DER_H
#define KDEX_KEETA_DER_H

#include <stddef.h>
#include <stdint.h>

/* Universal tags (single byte; high-tag-number form is rejected). */
#define KEETA_DER_BOOLEAN	0x01
#define KEETA_DER_INTEGER	0x02
#define KEETA_DER_BITSTRING	0x03
#define KEETA_DER_OCTETSTRING	0x04
#define KEETA_DER_NULL		0x05
#define KEETA_DER_OID		0x06
#define KEETA_DER_UTF8STRING	0x0c
#define KEETA_DER_GENTIME	0x18
#define KEETA_DER_SEQUENCE	0x30
#define KEETA_DER_SET		0x31
/* Context-specific: EXPLICIT [n] (constructed) and IMPLICIT [n] primitive. */
#define KEETA_DER_EXPLICIT(n)	((uint8_t)(0xa0 | (n)))
#define KEETA_DER_IMPLICIT(n)	((uint8_t)(0x80 | (n)))

#define KEETA_DER_MAXDEPTH	32
/* Largest element the reader accepts (length fields of at most 4 bytes). */
#define KEETA_DER_MAXLEN	((size_t)0x7fffffff)

typedef unsigned __int128 keeta_u128;

struct keeta_der_writer {
	uint8_t	*buf;
	size_t	 len;
	size_t	 cap;
	size_t	 open[KEETA_DER_MAXDEPTH];	/* offsets of open headers */
	int	 depth;
};

/* Initialise an empty writer (no allocation yet). */
void	 keeta_der_writer_init(struct keeta_der_writer *);
/* Free the buffer; the writer may be initialised again. */
void	 keeta_der_writer_release(struct keeta_der_writer *);
/* Reset to empty, keeping the allocation. */
void	 keeta_der_writer_clear(struct keeta_der_writer *);
/* Encoded bytes so far (valid until the next write). All elements must be
 * closed. */
const uint8_t *keeta_der_writer_data(const struct keeta_der_writer *,
	    size_t *len);
/* Hand the buffer to the caller, who owns it (free()); the writer is left
 * empty. Returns a non-NULL pointer even for zero bytes. */
uint8_t	*keeta_der_writer_detach(struct keeta_der_writer *, size_t *len);

/* Open a constructed element (SEQUENCE, SET, EXPLICIT [n], ...). */
void	 keeta_der_begin(struct keeta_der_writer *, uint8_t tag);
/* Close the innermost open element and write its length. */
void	 keeta_der_end(struct keeta_der_writer *);

/* Any tag with the given contents. */
void	 keeta_der_put_tlv(struct keeta_der_writer *, uint8_t tag,
	    const void *, size_t);
/* Bytes that are already a complete encoding (e.g. an embedded block). */
void	 keeta_der_put_raw(struct keeta_der_writer *, const void *, size_t);
/* INTEGER, minimal two's complement. */
void	 keeta_der_put_int64(struct keeta_der_writer *, int64_t);
void	 keeta_der_put_u64(struct keeta_der_writer *, uint64_t);
void	 keeta_der_put_u128(struct keeta_der_writer *, keeta_u128);
/* INTEGER from an unsigned big-endian magnitude of any size (leading zero
 * bytes are skipped; len 0 encodes 0). */
void	 keeta_der_put_uint_bytes(struct keeta_der_writer *, const uint8_t *,
	    size_t);
void	 keeta_der_put_bool(struct keeta_der_writer *, int);
void	 keeta_der_put_null(struct keeta_der_writer *);
void	 keeta_der_put_octets(struct keeta_der_writer *, const void *, size_t);
void	 keeta_der_put_utf8(struct keeta_der_writer *, const char *, size_t);
/* BIT STRING with 0 unused bits. */
void	 keeta_der_put_bits(struct keeta_der_writer *, const void *, size_t);
/* OBJECT IDENTIFIER from dotted text ("2.5.4.3"); -1 if malformed. */
int	 keeta_der_put_oid(struct keeta_der_writer *, const char *);
/* GeneralizedTime "YYYYMMDDHHMMSSZ", or "YYYYMMDDHHMMSS.mmmZ" when the
 * millisecond part is non-zero (the SDK rule). -1 outside years 0-9999. */
int	 keeta_der_put_time(struct keeta_der_writer *, int64_t ms);

struct keeta_der_reader {
	const uint8_t	 *p;
	size_t		  len;
	size_t		  off;
	const char	 *cause_slot;
	const char	**cause;	/* where errors go (the root's slot) */
};

/* One decoded element; pointers point into the reader's buffer. */
struct keeta_der_tlv {
	uint8_t		 tag;
	const uint8_t	*val;		/* contents */
	size_t		 len;
	const uint8_t	*raw;		/* whole TLV, header included */
	size_t		 rawlen;
};

/* Start reading buf[0..len). The buffer must outlive the reader. */
void	 keeta_der_reader_init(struct keeta_der_reader *, const void *buf,
	    size_t len);
/* Reason for the last failure, or NULL. */
const char *keeta_der_cause(const struct keeta_der_reader *);
/* Record a failure found by the caller (schema errors); returns -1. */
int	 keeta_der_fail(struct keeta_der_reader *, const char *cause);

/* 1 when every byte has been consumed. */
int	 keeta_der_at_end(const struct keeta_der_reader *);
/* 0 when at end, else -1 ("trailing data"). */
int	 keeta_der_expect_end(struct keeta_der_reader *);
/* Tag of the next element, or -1 at the end. Does not validate it. */
int	 keeta_der_peek_tag(const struct keeta_der_reader *);
/* Bytes left. */
size_t	 keeta_der_remaining(const struct keeta_der_reader *);

/* Next element of any tag / of the given tag. Checks the length encoding
 * (definite, minimal) and bounds, not the contents. */
int	 keeta_der_read_tlv(struct keeta_der_reader *, struct keeta_der_tlv *);
int	 keeta_der_read(struct keeta_der_reader *, uint8_t tag,
	    struct keeta_der_tlv *);
/* Enter the constructed element with this tag: child reads its contents. */
int	 keeta_der_enter(struct keeta_der_reader *, uint8_t tag,
	    struct keeta_der_reader *child);

/*
 * INTEGERs. All reject non-minimal encodings and negative values.
 * read_uint_bytes returns the magnitude without the sign byte (at least
 * one byte; zero is a single 0x00). read_u64/u128 also fail when the value
 * does not fit. read_int64 accepts negative values.
 */
int	 keeta_der_read_uint_bytes(struct keeta_der_reader *,
	    const uint8_t **, size_t *);
int	 keeta_der_read_u64(struct keeta_der_reader *, uint64_t *);
int	 keeta_der_read_u128(struct keeta_der_reader *, keeta_u128 *);
int	 keeta_der_read_int64(struct keeta_der_reader *, int64_t *);
/* BOOLEAN: only 00 and ff. */
int	 keeta_der_read_bool(struct keeta_der_reader *, int *);
int	 keeta_der_read_null(struct keeta_der_reader *);
int	 keeta_der_read_octets(struct keeta_der_reader *, const uint8_t **,
	    size_t *);
/* UTF8String: contents must be valid UTF-8 (no overlongs, surrogates). */
int	 keeta_der_read_utf8(struct keeta_der_reader *, const char **,
	    size_t *);
/* BIT STRING with 0 unused bits; returns the bits without that byte. */
int	 keeta_der_read_bits(struct keeta_der_reader *, const uint8_t **,
	    size_t *);
/* OBJECT IDENTIFIER: returns the content bytes (validated). */
int	 keeta_der_read_oid(struct keeta_der_reader *, const uint8_t **,
	    size_t *);
/* 1 when the OID contents equal dotted text, else 0. */
int	 keeta_der_oid_equal(const uint8_t *, size_t, const char *);
/* GeneralizedTime in exactly the writer's forms (valid calendar date). */
int	 keeta_der_read_time(struct keeta_der_reader *, int64_t *ms);

/*
 * Re-encode everything left in r through the typed writer: each element is
 * decoded by its tag (INTEGER, BOOLEAN, NULL, UTF8String, GeneralizedTime,
 * BIT STRING, OCTET STRING, OID; constructed ones recursively; others as
 * raw TLVs) and written back. Canonical input comes out byte-identical, so
 * tests and fuzzers use it to prove the reader and writer agree. Returns 0,
 * or -1 when the reader refuses something or nesting passes
 * KEETA_DER_MAXDEPTH; the writer is then cleared (nothing left open).
 */
int	 keeta_der_reencode(struct keeta_der_reader *, struct keeta_der_writer *);

/*
 * Calendar helpers shared with JSON output: format ms as
 * "YYYY-MM-DDTHH:MM:SS.mmmZ" (ISO 8601, 25 bytes with NUL) and the
 * GeneralizedTime text; -1 outside years 0-9999.
 */
int	 keeta_time_iso8601(int64_t ms, char out[25]);
/*
 * Days since 1970-01-01 of a proleptic Gregorian date (month 1-12), and
 * back again; exact for any date whose day count fits.
 */
int64_t	 keeta_days_from_civil(int64_t y, int m, int d);
void	 keeta_civil_from_days(int64_t days, int *y, int *m, int *d);

/*
 * Unsigned big integers as decimal text.
 * keeta_uint_to_dec: magnitude (big-endian, any length) to a decimal
 *   string the caller owns (free()).
 * keeta_uint_from_dec: decimal digits (no sign, no leading zeros except
 *   "0") to a minimal big-endian magnitude the caller owns (free());
 *   "0" gives length 0. -1 on bad input or more than maxbytes bytes.
 * keeta_u128_to_dec / keeta_u128_from_dec: the same for 128-bit values;
 *   out holds 40 bytes.
 */
char	*keeta_uint_to_dec(const uint8_t *, size_t);
int	 keeta_uint_from_dec(const char *, size_t maxbytes, uint8_t **out,
	    size_t *len);
void	 keeta_u128_to_dec(keeta_u128, char out[40]);
int	 keeta_u128_from_dec(const char *, keeta_u128 *);

#endif
