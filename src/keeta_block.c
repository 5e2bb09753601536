/*
 * keeta_block: blocks V1/V2, their operations, hashing, signing, the
 * canonical decoder and the SDK JSON form.
 *
 * The decoder never trusts its own parse: after reading every field it
 * encodes the block again and compares the bytes, because nodes hash the
 * re-encoding; any difference means the block could not verify on a node.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "keeta_block.h"
#include "util.h"

#define FAIL(why) do {					\
	if (cause != NULL)				\
		*cause = (why);				\
	return -1;					\
} while (0)

/* Amounts. */

void
keeta_amount_zero(struct keeta_amount *a)
{
	memset(a, 0, sizeof *a);
}

void
keeta_amount_from_u128(struct keeta_amount *a, keeta_u128 v)
{
	uint8_t	tmp[16];
	size_t	i, n = 0;

	keeta_amount_zero(a);
	for (i = 0; i < 16; i++)
		tmp[15 - i] = (uint8_t)(v >> (8 * i));
	while (n < 16 && tmp[n] == 0)
		n++;
	a->len = (uint8_t)(16 - n);
	memcpy(a->b, tmp + n, 16 - n);
}

int
keeta_amount_to_u128(const struct keeta_amount *a, keeta_u128 *out)
{
	keeta_u128	v = 0;
	size_t		i;

	if (a->len > 16)
		return -1;
	for (i = 0; i < a->len; i++)
		v = (v << 8) | a->b[i];
	*out = v;
	return 0;
}

int
keeta_amount_set(struct keeta_amount *a, const uint8_t *p, size_t len)
{
	while (len > 0 && p[0] == 0) {
		p++;
		len--;
	}
	if (len > KEETA_AMOUNT_MAX)
		return -1;
	keeta_amount_zero(a);
	a->len = (uint8_t)len;
	if (len > 0)
		memcpy(a->b, p, len);
	return 0;
}

int
keeta_amount_cmp(const struct keeta_amount *a, const struct keeta_amount *b)
{
	int	c;

	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	c = memcmp(a->b, b->b, a->len);
	return c < 0 ? -1 : c > 0;
}

/* Right-aligned copy into a KEETA_AMOUNT_MAX-byte buffer. */
static void
amount_widen(const struct keeta_amount *a, uint8_t w[KEETA_AMOUNT_MAX])
{
	memset(w, 0, KEETA_AMOUNT_MAX);
	memcpy(w + KEETA_AMOUNT_MAX - a->len, a->b, a->len);
}

int
keeta_amount_add(struct keeta_amount *r, const struct keeta_amount *a,
    const struct keeta_amount *b)
{
	uint8_t		wa[KEETA_AMOUNT_MAX], wb[KEETA_AMOUNT_MAX];
	unsigned int	carry = 0, s;
	size_t		i;

	amount_widen(a, wa);
	amount_widen(b, wb);
	for (i = KEETA_AMOUNT_MAX; i-- > 0;) {
		s = (unsigned int)wa[i] + wb[i] + carry;
		wa[i] = (uint8_t)s;
		carry = s >> 8;
	}
	if (carry)
		return -1;
	return keeta_amount_set(r, wa, sizeof wa);
}

int
keeta_amount_sub(struct keeta_amount *r, const struct keeta_amount *a,
    const struct keeta_amount *b)
{
	uint8_t	wa[KEETA_AMOUNT_MAX], wb[KEETA_AMOUNT_MAX];
	int	borrow = 0, d;
	size_t	i;

	if (keeta_amount_cmp(a, b) < 0)
		return -1;
	amount_widen(a, wa);
	amount_widen(b, wb);
	for (i = KEETA_AMOUNT_MAX; i-- > 0;) {
		d = (int)wa[i] - (int)wb[i] - borrow;
		borrow = d < 0;
		wa[i] = (uint8_t)(d + (borrow ? 256 : 0));
	}
	return keeta_amount_set(r, wa, sizeof wa);
}

char *
keeta_amount_to_dec(const struct keeta_amount *a)
{
	return keeta_uint_to_dec(a->b, a->len);
}

int
keeta_amount_from_dec(struct keeta_amount *a, const char *s)
{
	uint8_t	*p;
	size_t	 len;
	int	 rc;

	if (keeta_uint_from_dec(s, KEETA_AMOUNT_MAX, &p, &len) != 0)
		return -1;
	rc = keeta_amount_set(a, p, len);
	free(p);
	return rc;
}

void
keeta_amount_to_hex(const struct keeta_amount *a, char *out)
{
	static const char	 digits[] = "0123456789ABCDEF";
	char			*o = out;
	size_t			 i;

	*o++ = '0';
	*o++ = 'x';
	if (a->len == 0) {
		*o++ = '0';
		*o = '\0';
		return;
	}
	/* The first byte gives one digit when below 0x10. */
	if (a->b[0] >= 0x10)
		*o++ = digits[a->b[0] >> 4];
	*o++ = digits[a->b[0] & 0xf];
	for (i = 1; i < a->len; i++) {
		*o++ = digits[a->b[i] >> 4];
		*o++ = digits[a->b[i] & 0xf];
	}
	*o = '\0';
}

int
keeta_amount_from_hex(struct keeta_amount *a, const char *s)
{
	uint8_t	buf[KEETA_AMOUNT_MAX + 1];
	size_t	n, i, nb;
	int	hi, lo;

	if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return -1;
	s += 2;
	while (s[0] == '0' && s[1] != '\0')
		s++;
	n = strlen(s);
	if (n == 0 || n > 2 * KEETA_AMOUNT_MAX)
		return -1;
	nb = (n + 1) / 2;
	for (i = 0; i < nb; i++) {
		if (i == 0 && (n & 1)) {
			hi = 0;
			lo = keeta_hex_value(*s++);
		} else {
			hi = keeta_hex_value(*s++);
			lo = keeta_hex_value(*s++);
		}
		if (hi < 0 || lo < 0)
			return -1;
		buf[i] = (uint8_t)(hi << 4 | lo);
	}
	return keeta_amount_set(a, buf, nb);
}

/* base64 (RFC 4648, standard alphabet, padded). */

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *
keeta_block_base64_encode(const uint8_t *p, size_t len)
{
	char		*out, *o;
	size_t		 i;
	uint32_t	 v;

	out = o = xmalloc((len + 2) / 3 * 4 + 1);
	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = b64chars[v >> 18];
		*o++ = b64chars[(v >> 12) & 63];
		*o++ = b64chars[(v >> 6) & 63];
		*o++ = b64chars[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)p[i] << 16;
		*o++ = b64chars[v >> 18];
		*o++ = b64chars[(v >> 12) & 63];
		*o++ = '=';
		*o++ = '=';
	} else if (len - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		*o++ = b64chars[v >> 18];
		*o++ = b64chars[(v >> 12) & 63];
		*o++ = b64chars[(v >> 6) & 63];
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

static int
b64val(int c)
{
	const char	*p;

	if (c == '\0' || (p = strchr(b64chars, c)) == NULL)
		return -1;
	return (int)(p - b64chars);
}

uint8_t *
keeta_block_base64_decode(const char *s, size_t slen, size_t *len)
{
	uint8_t		*out;
	size_t		 i, n = 0, pad = 0;
	uint32_t	 acc = 0;
	int		 v, bits = 0;

	while (slen > 0 && s[slen - 1] == '=' && pad < 2) {
		slen--;
		pad++;
	}
	if (slen % 4 == 1 || (pad > 0 && (slen + pad) % 4 != 0))
		return NULL;
	out = xmalloc(slen * 3 / 4 + 1);
	for (i = 0; i < slen; i++) {
		if ((v = b64val((unsigned char)s[i])) < 0) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	/* Leftover bits must be zero, as strict decoders require. */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
		free(out);
		return NULL;
	}
	*len = n;
	return out;
}

/* JSON helpers: allocation failures are fatal, like xmalloc. */

static cJSON *
jchk(cJSON *j)
{
	if (j == NULL)
		fatalx("cJSON: out of memory");
	return j;
}

static void
jadd(cJSON *obj, const char *key, cJSON *item)
{
	if (!cJSON_AddItemToObject(obj, key, jchk(item)))
		fatalx("cJSON: out of memory");
}

static void
jpush(cJSON *arr, cJSON *item)
{
	if (!cJSON_AddItemToArray(arr, jchk(item)))
		fatalx("cJSON: out of memory");
}

cJSON *
keeta_block_json_address(const struct keeta_pubkey *pk)
{
	char	addr[KEETA_ADDRESS_MAX];

	keeta_address_encode(pk, addr);
	return jchk(cJSON_CreateString(addr));
}

cJSON *
keeta_block_json_hex(const uint8_t *p, size_t len)
{
	static const char	 digits[] = "0123456789ABCDEF";
	cJSON			*j;
	char			*s;
	size_t			 i;

	s = xmalloc(2 * len + 1);
	for (i = 0; i < len; i++) {
		s[2 * i] = digits[p[i] >> 4];
		s[2 * i + 1] = digits[p[i] & 0xf];
	}
	s[2 * len] = '\0';
	j = jchk(cJSON_CreateString(s));
	free(s);
	return j;
}

cJSON *
keeta_block_json_amount(const struct keeta_amount *a)
{
	char	buf[KEETA_AMOUNT_HEX_MAX];

	keeta_amount_to_hex(a, buf);
	return jchk(cJSON_CreateString(buf));
}

static cJSON *
json_u64(uint64_t v)
{
	char	buf[32];

	snprintf(buf, sizeof buf, "0x%llX", (unsigned long long)v);
	return jchk(cJSON_CreateString(buf));
}

/* Operations: ownership and copies. */

static void
bytes_copy(struct keeta_bytes *dst, const uint8_t *p, size_t len)
{
	dst->p = xmalloc(len == 0 ? 1 : len);
	if (len > 0)
		memcpy(dst->p, p, len);
	dst->len = len;
}

static void
op_release(struct keeta_op *op)
{
	size_t	i;

	switch (op->type) {
	case KEETA_OP_SEND:
		free(op->u.send.external);
		break;
	case KEETA_OP_SET_INFO:
		free(op->u.set_info.name);
		free(op->u.set_info.description);
		free(op->u.set_info.metadata);
		break;
	case KEETA_OP_CREATE_IDENTIFIER:
		free(op->u.create_id.signers);
		break;
	case KEETA_OP_MANAGE_CERTIFICATE:
		free(op->u.certificate.cert.p);
		for (i = 0; i < op->u.certificate.nintermediates; i++)
			free(op->u.certificate.intermediate[i].p);
		free(op->u.certificate.intermediate);
		break;
	case KEETA_OP_SET_REP:
	case KEETA_OP_MODIFY_PERMISSIONS:
	case KEETA_OP_TOKEN_ADMIN_SUPPLY:
	case KEETA_OP_TOKEN_ADMIN_MODIFY_BALANCE:
	case KEETA_OP_RECEIVE:
		break;
	}
	memset(op, 0, sizeof *op);
}

static void
op_copy(struct keeta_op *dst, const struct keeta_op *src)
{
	const struct keeta_op_certificate	*sc;
	struct keeta_op_certificate		*dc;
	size_t					 i;

	*dst = *src;
	switch (src->type) {
	case KEETA_OP_SEND:
		if (src->u.send.external != NULL)
			dst->u.send.external = xstrdup(src->u.send.external);
		break;
	case KEETA_OP_SET_INFO:
		dst->u.set_info.name = xstrdup(src->u.set_info.name);
		dst->u.set_info.description =
		    xstrdup(src->u.set_info.description);
		dst->u.set_info.metadata = xstrdup(src->u.set_info.metadata);
		break;
	case KEETA_OP_CREATE_IDENTIFIER:
		if (src->u.create_id.nsigners > 0) {
			dst->u.create_id.signers = xreallocarray(NULL,
			    src->u.create_id.nsigners,
			    sizeof *dst->u.create_id.signers);
			memcpy(dst->u.create_id.signers,
			    src->u.create_id.signers,
			    src->u.create_id.nsigners *
			    sizeof *dst->u.create_id.signers);
		} else
			dst->u.create_id.signers = NULL;
		break;
	case KEETA_OP_MANAGE_CERTIFICATE:
		sc = &src->u.certificate;
		dc = &dst->u.certificate;
		bytes_copy(&dc->cert, sc->cert.p, sc->cert.len);
		dc->intermediate = NULL;
		if (sc->nintermediates > 0) {
			dc->intermediate = xreallocarray(NULL,
			    sc->nintermediates, sizeof *dc->intermediate);
			for (i = 0; i < sc->nintermediates; i++)
				bytes_copy(&dc->intermediate[i],
				    sc->intermediate[i].p,
				    sc->intermediate[i].len);
		}
		break;
	case KEETA_OP_SET_REP:
	case KEETA_OP_MODIFY_PERMISSIONS:
	case KEETA_OP_TOKEN_ADMIN_SUPPLY:
	case KEETA_OP_TOKEN_ADMIN_MODIFY_BALANCE:
	case KEETA_OP_RECEIVE:
		break;
	}
}

static void
signer_node_release(struct keeta_signer_node *n)
{
	size_t	i;

	for (i = 0; i < n->nchildren; i++)
		signer_node_release(&n->children[i]);
	free(n->children);
	n->children = NULL;
	n->nchildren = 0;
}

static void
signer_node_copy(struct keeta_signer_node *dst,
    const struct keeta_signer_node *src)
{
	size_t	i;

	dst->key = src->key;
	dst->nchildren = src->nchildren;
	dst->children = NULL;
	if (src->nchildren == 0)
		return;
	dst->children = xcalloc(src->nchildren, sizeof *dst->children);
	for (i = 0; i < src->nchildren; i++)
		signer_node_copy(&dst->children[i], &src->children[i]);
}

/* Blocks: life cycle and setters. */

struct keeta_block *
keeta_block_new(int version, uint64_t network,
    const struct keeta_pubkey *account, const uint8_t previous[KEETA_HASH_LEN],
    int64_t date_ms)
{
	struct keeta_block	*b;

	b = xcalloc(1, sizeof *b);
	b->version = version;
	b->network = network;
	b->date = date_ms;
	b->purpose = KEETA_PURPOSE_GENERIC;
	b->account = *account;
	b->signer_kind = KEETA_SIGNER_SELF;
	memcpy(b->previous, previous, KEETA_HASH_LEN);
	return b;
}

/* A hashed field changed: earlier signatures no longer apply. */
static void
block_unsign(struct keeta_block *b)
{
	free(b->sigs);
	b->sigs = NULL;
	b->nsigs = 0;
}

static void
block_clear_multisig(struct keeta_block *b)
{
	if (b->multisig != NULL) {
		signer_node_release(b->multisig);
		free(b->multisig);
		b->multisig = NULL;
	}
}

void
keeta_block_free(struct keeta_block *b)
{
	size_t	i;

	if (b == NULL)
		return;
	for (i = 0; i < b->nops; i++)
		op_release(&b->ops[i]);
	free(b->ops);
	block_clear_multisig(b);
	free(b->sigs);
	free(b);
}

struct keeta_block *
keeta_block_dup(const struct keeta_block *src)
{
	struct keeta_block	*b;
	size_t			 i;

	b = xmalloc(sizeof *b);
	*b = *src;
	b->ops = NULL;
	b->multisig = NULL;
	b->sigs = NULL;
	if (src->nops > 0) {
		b->ops = xcalloc(src->nops, sizeof *b->ops);
		for (i = 0; i < src->nops; i++)
			op_copy(&b->ops[i], &src->ops[i]);
	}
	if (src->multisig != NULL) {
		b->multisig = xcalloc(1, sizeof *b->multisig);
		signer_node_copy(b->multisig, src->multisig);
	}
	if (src->nsigs > 0) {
		b->sigs = xreallocarray(NULL, src->nsigs, sizeof *b->sigs);
		memcpy(b->sigs, src->sigs, src->nsigs * sizeof *b->sigs);
	}
	return b;
}

void
keeta_block_set_subnet(struct keeta_block *b, uint64_t subnet)
{
	b->has_subnet = 1;
	b->subnet = subnet;
	block_unsign(b);
}

int
keeta_block_set_idempotent(struct keeta_block *b, const void *p, size_t len,
    const char **cause)
{
	if (len > KEETA_IDEMPOTENT_MAX)
		FAIL("idempotent key longer than 32 bytes");
	b->has_idempotent = 1;
	b->idempotent_len = len;
	if (len > 0)
		memcpy(b->idempotent, p, len);
	block_unsign(b);
	return 0;
}

int
keeta_block_set_purpose(struct keeta_block *b, enum keeta_purpose purpose,
    const char **cause)
{
	if (purpose != KEETA_PURPOSE_GENERIC && purpose != KEETA_PURPOSE_FEE)
		FAIL("unknown block purpose");
	if (purpose != KEETA_PURPOSE_GENERIC && b->version != 2)
		FAIL("block purpose needs a V2 block");
	b->purpose = purpose;
	block_unsign(b);
	return 0;
}

int
keeta_block_set_signer(struct keeta_block *b, const struct keeta_pubkey *pk,
    const char **cause)
{
	if (!keeta_key_type_is_keyed(pk->type))
		FAIL("signer must be a keyed account");
	block_clear_multisig(b);
	if (keeta_pubkey_equal(pk, &b->account))
		b->signer_kind = KEETA_SIGNER_SELF;
	else {
		b->signer_kind = KEETA_SIGNER_OTHER;
		b->signer = *pk;
	}
	block_unsign(b);
	return 0;
}

static int
signer_tree_check(const struct keeta_signer_node *n, int depth,
    const char **cause)
{
	size_t	i, j;

	if (n->key.type != KEETA_KEY_MULTISIG)
		FAIL("multisig signer address is not a MULTISIG account");
	if (depth > KEETA_MULTISIG_DEPTH)
		FAIL("multisig signer nested too deeply");
	if (n->nchildren == 0)
		FAIL("multisig signer without members");
	if (n->nchildren > KEETA_MULTISIG_MAX)
		FAIL("multisig signer with too many members");
	for (i = 0; i < n->nchildren; i++) {
		for (j = 0; j < i; j++) {
			if (keeta_pubkey_equal(&n->children[i].key,
			    &n->children[j].key))
				FAIL("multisig signer lists a member twice");
		}
		if (n->children[i].nchildren > 0) {
			if (signer_tree_check(&n->children[i], depth + 1,
			    cause) != 0)
				return -1;
		} else if (!keeta_key_type_is_keyed(n->children[i].key.type))
			FAIL("multisig member must be keyed or a multisig "
			    "tree");
	}
	return 0;
}

int
keeta_block_set_multisig(struct keeta_block *b,
    const struct keeta_signer_node *tree, const char **cause)
{
	if (b->version != 2)
		FAIL("multisig signers need a V2 block");
	if (signer_tree_check(tree, 1, cause) != 0)
		return -1;
	block_clear_multisig(b);
	b->multisig = xcalloc(1, sizeof *b->multisig);
	signer_node_copy(b->multisig, tree);
	b->signer_kind = KEETA_SIGNER_MULTISIG;
	block_unsign(b);
	return 0;
}

/* Character-set checks of section 7 (JavaScript regular expressions). */

static int
text_external_ok(const char *s)
{
	size_t	n = 0;

	for (; *s != '\0'; s++, n++) {
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || strchr("-_+/= ", *s) != NULL))
			return 0;
	}
	return n <= KEETA_EXTERNAL_MAX;
}

static int
text_name_ok(const char *s)
{
	size_t	n = 0;

	for (; *s != '\0'; s++, n++) {
		if (!((*s >= 'A' && *s <= 'Z') || *s == '_'))
			return 0;
	}
	return n <= KEETA_NAME_MAX;
}

static int
text_description_ok(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n = 0;

	while (*p != '\0') {
		/* U+2018 LEFT SINGLE QUOTATION MARK is in the SDK's set. */
		if (p[0] == 0xe2 && p[1] == 0x80 && p[2] == 0x98) {
			p += 3;
			n++;
			continue;
		}
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') ||
		    strchr("_!\"#$%&'()*+,-./:;?@\\^~ ", *p) != NULL))
			return 0;
		p++;
		n++;
	}
	return n <= KEETA_DESCRIPTION_MAX;
}

static int
text_metadata_ok(const char *s)
{
	size_t	n = 0;

	for (; *s != '\0'; s++, n++) {
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || strchr("-+/=", *s) != NULL))
			return 0;
	}
	return n <= KEETA_METADATA_MAX;
}

/* Operations: builders. */

static struct keeta_op *
block_push_op(struct keeta_block *b, enum keeta_op_type type)
{
	struct keeta_op	*op;

	b->ops = xreallocarray(b->ops, b->nops + 1, sizeof *b->ops);
	op = &b->ops[b->nops++];
	memset(op, 0, sizeof *op);
	op->type = type;
	block_unsign(b);
	return op;
}

static int
last_index(const struct keeta_block *b)
{
	return (int)(b->nops - 1);
}

int
keeta_block_add_send(struct keeta_block *b, const struct keeta_pubkey *to,
    const struct keeta_amount *amount, const struct keeta_pubkey *token,
    const char *external, const char **cause)
{
	struct keeta_op	*op;

	if (token->type != KEETA_KEY_TOKEN)
		FAIL("send: token is not a TOKEN account");
	if (external != NULL && !text_external_ok(external))
		FAIL("send: invalid external reference");
	op = block_push_op(b, KEETA_OP_SEND);
	op->u.send.to = *to;
	op->u.send.amount = *amount;
	op->u.send.token = *token;
	if (external != NULL)
		op->u.send.external = xstrdup(external);
	return last_index(b);
}

int
keeta_block_add_set_rep(struct keeta_block *b, const struct keeta_pubkey *rep,
    const char **cause)
{
	struct keeta_op	*op;

	if (!keeta_key_type_is_keyed(rep->type))
		FAIL("set rep: representative must be a keyed account");
	op = block_push_op(b, KEETA_OP_SET_REP);
	op->u.set_rep.to = *rep;
	return last_index(b);
}

int
keeta_block_add_set_info(struct keeta_block *b, const char *name,
    const char *description, const char *metadata,
    const struct keeta_perm *default_perm, const char **cause)
{
	struct keeta_op	*op;

	if (name == NULL)
		name = "";
	if (description == NULL)
		description = "";
	if (metadata == NULL)
		metadata = "";
	if (!text_name_ok(name))
		FAIL("set info: invalid name");
	if (!text_description_ok(description))
		FAIL("set info: invalid description");
	if (!text_metadata_ok(metadata))
		FAIL("set info: invalid metadata");
	op = block_push_op(b, KEETA_OP_SET_INFO);
	op->u.set_info.name = xstrdup(name);
	op->u.set_info.description = xstrdup(description);
	op->u.set_info.metadata = xstrdup(metadata);
	if (default_perm != NULL) {
		op->u.set_info.has_default = 1;
		op->u.set_info.default_perm = *default_perm;
		keeta_perm_normalise(&op->u.set_info.default_perm);
	}
	return last_index(b);
}

int
keeta_block_add_modify_permissions(struct keeta_block *b,
    const struct keeta_pubkey *principal, enum keeta_adjust method,
    const struct keeta_perm *perms, const struct keeta_pubkey *target,
    const char **cause)
{
	struct keeta_op	*op;

	if (method != KEETA_ADJUST_ADD && method != KEETA_ADJUST_SUBTRACT &&
	    method != KEETA_ADJUST_SET)
		FAIL("modify permissions: unknown method");
	if (perms == NULL && method != KEETA_ADJUST_SET)
		FAIL("modify permissions: clearing needs method SET");
	op = block_push_op(b, KEETA_OP_MODIFY_PERMISSIONS);
	op->u.modify_perms.principal = *principal;
	op->u.modify_perms.method = method;
	if (perms != NULL) {
		op->u.modify_perms.has_perms = 1;
		op->u.modify_perms.perms = *perms;
		keeta_perm_normalise(&op->u.modify_perms.perms);
	}
	if (target != NULL) {
		op->u.modify_perms.has_target = 1;
		op->u.modify_perms.target = *target;
	}
	return last_index(b);
}

int
keeta_block_add_create_identifier(struct keeta_block *b, int type,
    struct keeta_pubkey *id, const char **cause)
{
	struct keeta_op	*op;

	if (type != KEETA_KEY_TOKEN && type != KEETA_KEY_STORAGE)
		FAIL("create identifier: type must be TOKEN or STORAGE "
		    "(use add_create_multisig for MULTISIG)");
	op = block_push_op(b, KEETA_OP_CREATE_IDENTIFIER);
	keeta_identifier_derive(&b->account, b->previous,
	    (uint32_t)(b->nops - 1), type, &op->u.create_id.identifier);
	if (id != NULL)
		*id = op->u.create_id.identifier;
	return last_index(b);
}

int
keeta_block_add_create_multisig(struct keeta_block *b,
    const struct keeta_pubkey *signers, size_t nsigners, uint64_t quorum,
    struct keeta_pubkey *id, const char **cause)
{
	struct keeta_op	*op;

	if (nsigners == 0 || nsigners > KEETA_MULTISIG_MAX)
		FAIL("create multisig: between 1 and 16 signers");
	if (quorum < 1 || quorum > nsigners)
		FAIL("create multisig: quorum out of range");
	op = block_push_op(b, KEETA_OP_CREATE_IDENTIFIER);
	keeta_identifier_derive(&b->account, b->previous,
	    (uint32_t)(b->nops - 1), KEETA_KEY_MULTISIG,
	    &op->u.create_id.identifier);
	op->u.create_id.signers = xreallocarray(NULL, nsigners,
	    sizeof *signers);
	memcpy(op->u.create_id.signers, signers, nsigners * sizeof *signers);
	op->u.create_id.nsigners = nsigners;
	op->u.create_id.quorum = quorum;
	if (id != NULL)
		*id = op->u.create_id.identifier;
	return last_index(b);
}

int
keeta_block_add_token_supply(struct keeta_block *b,
    const struct keeta_amount *amount, enum keeta_adjust method,
    const char **cause)
{
	struct keeta_op	*op;

	if (method != KEETA_ADJUST_ADD && method != KEETA_ADJUST_SUBTRACT)
		FAIL("token supply: method must be ADD or SUBTRACT");
	op = block_push_op(b, KEETA_OP_TOKEN_ADMIN_SUPPLY);
	op->u.supply.amount = *amount;
	op->u.supply.method = method;
	return last_index(b);
}

int
keeta_block_add_modify_balance(struct keeta_block *b,
    const struct keeta_pubkey *token, const struct keeta_amount *amount,
    enum keeta_adjust method, const char **cause)
{
	struct keeta_op	*op;

	if (method != KEETA_ADJUST_ADD && method != KEETA_ADJUST_SUBTRACT &&
	    method != KEETA_ADJUST_SET)
		FAIL("modify balance: unknown method");
	if (token->type != KEETA_KEY_TOKEN)
		FAIL("modify balance: token is not a TOKEN account");
	op = block_push_op(b, KEETA_OP_TOKEN_ADMIN_MODIFY_BALANCE);
	op->u.modify_balance.token = *token;
	op->u.modify_balance.amount = *amount;
	op->u.modify_balance.method = method;
	return last_index(b);
}

int
keeta_block_add_receive(struct keeta_block *b,
    const struct keeta_amount *amount, const struct keeta_pubkey *token,
    const struct keeta_pubkey *from, int exact,
    const struct keeta_pubkey *forward, const char **cause)
{
	struct keeta_op	*op;

	if (token->type != KEETA_KEY_TOKEN)
		FAIL("receive: token is not a TOKEN account");
	if (forward != NULL && !exact)
		FAIL("receive: forward requires exact");
	op = block_push_op(b, KEETA_OP_RECEIVE);
	op->u.receive.amount = *amount;
	op->u.receive.token = *token;
	op->u.receive.from = *from;
	op->u.receive.exact = exact != 0;
	if (forward != NULL) {
		op->u.receive.has_forward = 1;
		op->u.receive.forward = *forward;
	}
	return last_index(b);
}

int
keeta_block_add_manage_certificate(struct keeta_block *b,
    enum keeta_adjust method, const uint8_t *cert, size_t certlen,
    const struct keeta_bytes *intermediates, size_t n, const char **cause)
{
	struct keeta_op			*op;
	struct keeta_op_certificate	*c;
	size_t				 i;

	if (method == KEETA_ADJUST_SUBTRACT) {
		if (certlen != KEETA_HASH_LEN || n != 0)
			FAIL("manage certificate: SUBTRACT takes a 32-byte "
			    "hash and no intermediates");
	} else if (method != KEETA_ADJUST_ADD)
		FAIL("manage certificate: method must be ADD or SUBTRACT");
	if (certlen == 0)
		FAIL("manage certificate: empty certificate");
	op = block_push_op(b, KEETA_OP_MANAGE_CERTIFICATE);
	c = &op->u.certificate;
	c->method = method;
	bytes_copy(&c->cert, cert, certlen);
	if (method == KEETA_ADJUST_SUBTRACT) {
		c->intermediates = -1;
		return last_index(b);
	}
	c->intermediates = n > 0 ? 1 : 0;
	if (n > 0) {
		c->intermediate = xcalloc(n, sizeof *c->intermediate);
		for (i = 0; i < n; i++)
			bytes_copy(&c->intermediate[i], intermediates[i].p,
			    intermediates[i].len);
		c->nintermediates = n;
	}
	return last_index(b);
}

/* Validation (sections 6.3 and 7). */

static int
pubkey_valid(const struct keeta_pubkey *pk)
{
	size_t	n = keeta_key_type_keylen(pk->type);

	return n != 0 && pk->len == n;
}

static int
method_valid(enum keeta_adjust m)
{
	return m == KEETA_ADJUST_ADD || m == KEETA_ADJUST_SUBTRACT ||
	    m == KEETA_ADJUST_SET;
}

/*
 * MANAGE_CERTIFICATE ADD: the SDK parses the certificate (X.509 v3, the
 * same signature algorithm inside and outside the signed part) and wants
 * its subject key to be the block account. The key is an Ed25519,
 * secp256k1 or P-256 key; EC points may be compressed or not.
 */
static int
cert_subject_check(const struct keeta_bytes *cert,
    const struct keeta_pubkey *acct, const char **cause)
{
	X509			*x;
	X509_PUBKEY		*xpk;
	X509_ALGOR		*pa;
	const X509_ALGOR	*outer, *inner;
	ASN1_OBJECT		*alg;
	const void		*pval;
	const unsigned char	*p = cert->p, *pk;
	struct keeta_pubkey	 subj;
	uint8_t			 key[33];
	int			 pklen, ptype, type = -1, rc = -1;
	const char		*why = "manage certificate: not an X.509 "
				    "certificate";

	if (cert->len > (size_t)INT32_MAX ||
	    (x = d2i_X509(NULL, &p, (long)cert->len)) == NULL)
		FAIL(why);
	if (p != cert->p + cert->len || X509_get_version(x) != 2)
		goto out;
	X509_get0_signature(NULL, &outer, x);
	inner = X509_get0_tbs_sigalg(x);
	if (outer == NULL || inner == NULL || X509_ALGOR_cmp(outer, inner) != 0)
		goto out;
	why = "manage certificate: unsupported subject key";
	if ((xpk = X509_get_X509_PUBKEY(x)) == NULL ||
	    X509_PUBKEY_get0_param(&alg, &pk, &pklen, &pa, xpk) != 1)
		goto out;
	if (OBJ_obj2nid(alg) == NID_ED25519 && pklen == 32) {
		type = KEETA_KEY_ED25519;
		memcpy(key, pk, 32);
	} else if (OBJ_obj2nid(alg) == NID_X9_62_id_ecPublicKey) {
		X509_ALGOR_get0(NULL, &ptype, &pval, pa);
		if (ptype != V_ASN1_OBJECT)
			goto out;
		if (OBJ_obj2nid(pval) == NID_secp256k1)
			type = KEETA_KEY_SECP256K1;
		else if (OBJ_obj2nid(pval) == NID_X9_62_prime256v1)
			type = KEETA_KEY_SECP256R1;
		else
			goto out;
		if (pklen == 33 && (pk[0] == 2 || pk[0] == 3))
			memcpy(key, pk, 33);
		else if (pklen == 65 && pk[0] == 4) {
			key[0] = (uint8_t)(2 | (pk[64] & 1));
			memcpy(key + 1, pk + 1, 32);
		} else
			goto out;
	} else
		goto out;
	if (keeta_pubkey_set(&subj, type, key, type == KEETA_KEY_ED25519 ?
	    32 : 33, NULL) != 0)
		goto out;
	why = "manage certificate: subject does not match the block account";
	if (!keeta_pubkey_equal(&subj, acct))
		goto out;
	rc = 0;
out:
	X509_free(x);
	if (rc != 0 && cause != NULL)
		*cause = why;
	return rc;
}

/*
 * 1 when a <= 10^200 - 1, the SDK's supply limit. The limit is computed
 * on the stack each time (TOKEN_ADMIN_SUPPLY is rare) so that no shared
 * state needs locking.
 */
static int
amount_within_supply(const struct keeta_amount *a)
{
	struct keeta_amount	limit;	/* 10^200 */
	uint8_t			w[KEETA_AMOUNT_MAX];
	unsigned int		carry, v;
	size_t			i;
	int			k;

	memset(w, 0, sizeof w);
	w[KEETA_AMOUNT_MAX - 1] = 1;
	for (k = 0; k < 200; k++) {
		carry = 0;
		for (i = KEETA_AMOUNT_MAX; i-- > 0;) {
			v = (unsigned int)w[i] * 10 + carry;
			w[i] = (uint8_t)v;
			carry = v >> 8;
		}
	}
	if (keeta_amount_set(&limit, w, sizeof w) != 0)
		fatalx("keeta_block: supply limit does not fit");
	return keeta_amount_cmp(a, &limit) < 0;
}

static void
cert_key(const struct keeta_op_certificate *c, uint8_t out[KEETA_HASH_LEN])
{
	if (c->method == KEETA_ADJUST_SUBTRACT)
		memcpy(out, c->cert.p, KEETA_HASH_LEN);
	else
		keeta_sha3_256(c->cert.p, c->cert.len, out);
}

static int
op_validate(const struct keeta_block *b, size_t idx, const char **cause)
{
	const struct keeta_op		*op = &b->ops[idx];
	const struct keeta_pubkey	*acct = &b->account;
	const struct keeta_op_certificate *c;
	struct keeta_pubkey		 derived;
	size_t				 i, j;

	if (b->purpose == KEETA_PURPOSE_FEE && op->type != KEETA_OP_SEND)
		FAIL("fee blocks may only contain SEND operations");
	switch (op->type) {
	case KEETA_OP_SEND:
		if (!pubkey_valid(&op->u.send.to) ||
		    !pubkey_valid(&op->u.send.token))
			FAIL("send: invalid account");
		if (op->u.send.token.type != KEETA_KEY_TOKEN)
			FAIL("send: token is not a TOKEN account");
		if (acct->type == KEETA_KEY_TOKEN &&
		    !keeta_pubkey_equal(acct, &op->u.send.token))
			FAIL("send: a token may only send itself");
		if (op->u.send.to.type == KEETA_KEY_TOKEN &&
		    !keeta_pubkey_equal(&op->u.send.to, &op->u.send.token))
			FAIL("send: to a token other than the one sent");
		if (op->u.send.external != NULL &&
		    !text_external_ok(op->u.send.external))
			FAIL("send: invalid external reference");
		break;
	case KEETA_OP_SET_REP:
		if (!keeta_key_type_is_keyed(acct->type))
			FAIL("set rep: account must be keyed");
		if (!pubkey_valid(&op->u.set_rep.to) ||
		    !keeta_key_type_is_keyed(op->u.set_rep.to.type))
			FAIL("set rep: representative must be keyed");
		break;
	case KEETA_OP_SET_INFO:
		if (!text_name_ok(op->u.set_info.name))
			FAIL("set info: invalid name");
		if (!text_description_ok(op->u.set_info.description))
			FAIL("set info: invalid description");
		if (!text_metadata_ok(op->u.set_info.metadata))
			FAIL("set info: invalid metadata");
		if (keeta_key_type_is_identifier(acct->type)) {
			if (!op->u.set_info.has_default)
				FAIL("set info: identifiers need a default "
				    "permission");
			if (keeta_perm_check_default(
			    &op->u.set_info.default_perm, acct->type,
			    cause) != 0)
				return -1;
		} else if (op->u.set_info.has_default)
			FAIL("set info: keyed accounts cannot have a default "
			    "permission");
		break;
	case KEETA_OP_MODIFY_PERMISSIONS:
		if (!pubkey_valid(&op->u.modify_perms.principal) ||
		    (op->u.modify_perms.has_target &&
		    !pubkey_valid(&op->u.modify_perms.target)))
			FAIL("modify permissions: invalid account");
		if (!method_valid(op->u.modify_perms.method))
			FAIL("modify permissions: unknown method");
		if (!op->u.modify_perms.has_perms) {
			if (op->u.modify_perms.method != KEETA_ADJUST_SET)
				FAIL("modify permissions: clearing needs SET");
			break;
		}
		if (keeta_perm_check_grant(&op->u.modify_perms.perms,
		    acct->type, op->u.modify_perms.principal.type,
		    op->u.modify_perms.has_target ?
		    op->u.modify_perms.target.type : KEETA_PERM_NO_TARGET,
		    cause) != 0)
			return -1;
		if ((keeta_perm_has(&op->u.modify_perms.perms,
		    KEETA_PERM_OWNER) || keeta_perm_has(
		    &op->u.modify_perms.perms, KEETA_PERM_ADMIN)) &&
		    op->u.modify_perms.has_target)
			FAIL("modify permissions: OWNER/ADMIN cannot have a "
			    "target");
		if (op->u.modify_perms.method != KEETA_ADJUST_SET &&
		    keeta_perm_requires_set(&op->u.modify_perms.perms))
			FAIL("modify permissions: these flags need method SET");
		/* SET after another change of the pair: block_unique(). */
		break;
	case KEETA_OP_CREATE_IDENTIFIER:
		if (!pubkey_valid(&op->u.create_id.identifier))
			FAIL("create identifier: invalid identifier");
		switch (op->u.create_id.identifier.type) {
		case KEETA_KEY_TOKEN:
		case KEETA_KEY_STORAGE:
		case KEETA_KEY_MULTISIG:
			break;
		default:
			FAIL("create identifier: type cannot be created");
		}
		/* Genesis opens the base token without this operation, so
		 * no identifier (not even NETWORK) creates identifiers. */
		if (keeta_key_type_is_identifier(acct->type))
			FAIL("create identifier: identifiers cannot create "
			    "identifiers");
		keeta_identifier_derive(acct, b->previous, (uint32_t)idx,
		    op->u.create_id.identifier.type, &derived);
		if (!keeta_pubkey_equal(&derived, &op->u.create_id.identifier))
			FAIL("create identifier: identifier does not match "
			    "its derivation");
		if (op->u.create_id.identifier.type != KEETA_KEY_MULTISIG) {
			if (op->u.create_id.nsigners != 0)
				FAIL("create identifier: arguments only for "
				    "MULTISIG");
			break;
		}
		if (op->u.create_id.nsigners == 0 ||
		    op->u.create_id.nsigners > KEETA_MULTISIG_MAX)
			FAIL("create multisig: between 1 and 16 signers");
		if (op->u.create_id.quorum < 1 ||
		    op->u.create_id.quorum > op->u.create_id.nsigners)
			FAIL("create multisig: quorum out of range");
		for (i = 0; i < op->u.create_id.nsigners; i++) {
			if (!pubkey_valid(&op->u.create_id.signers[i]) ||
			    !(keeta_key_type_is_keyed(
			    op->u.create_id.signers[i].type) ||
			    op->u.create_id.signers[i].type ==
			    KEETA_KEY_MULTISIG))
				FAIL("create multisig: signers must be keyed "
				    "or multisig");
			for (j = 0; j < i; j++) {
				if (keeta_pubkey_equal(
				    &op->u.create_id.signers[i],
				    &op->u.create_id.signers[j]))
					FAIL("create multisig: duplicate "
					    "signer");
			}
		}
		break;
	case KEETA_OP_TOKEN_ADMIN_SUPPLY:
		if (acct->type != KEETA_KEY_TOKEN)
			FAIL("token supply: account must be a TOKEN");
		if (op->u.supply.method != KEETA_ADJUST_ADD &&
		    op->u.supply.method != KEETA_ADJUST_SUBTRACT)
			FAIL("token supply: method must be ADD or SUBTRACT");
		if (!amount_within_supply(&op->u.supply.amount))
			FAIL("token supply: amount above 10^200 - 1");
		break;
	case KEETA_OP_TOKEN_ADMIN_MODIFY_BALANCE:
		if (acct->type == KEETA_KEY_TOKEN)
			FAIL("modify balance: account cannot be a TOKEN");
		if (!pubkey_valid(&op->u.modify_balance.token) ||
		    op->u.modify_balance.token.type != KEETA_KEY_TOKEN)
			FAIL("modify balance: token is not a TOKEN account");
		if (!method_valid(op->u.modify_balance.method))
			FAIL("modify balance: unknown method");
		break;
	case KEETA_OP_RECEIVE:
		if (acct->type == KEETA_KEY_TOKEN)
			FAIL("receive: a TOKEN cannot receive");
		if (!pubkey_valid(&op->u.receive.token) ||
		    !pubkey_valid(&op->u.receive.from) ||
		    (op->u.receive.has_forward &&
		    !pubkey_valid(&op->u.receive.forward)))
			FAIL("receive: invalid account");
		if (op->u.receive.token.type != KEETA_KEY_TOKEN)
			FAIL("receive: token is not a TOKEN account");
		if (op->u.receive.has_forward) {
			if (!op->u.receive.exact)
				FAIL("receive: forward requires exact");
			if (keeta_pubkey_equal(&op->u.receive.forward, acct))
				FAIL("receive: forward to the account itself");
			if (op->u.receive.forward.type == KEETA_KEY_TOKEN &&
			    !keeta_pubkey_equal(&op->u.receive.forward,
			    &op->u.receive.token))
				FAIL("receive: forward to another token");
		}
		break;
	case KEETA_OP_MANAGE_CERTIFICATE:
		c = &op->u.certificate;
		if (c->method == KEETA_ADJUST_ADD) {
			if (c->intermediates < 0)
				FAIL("manage certificate: ADD needs the "
				    "intermediates field");
			if (cert_subject_check(&c->cert, acct, cause) != 0)
				return -1;
		} else if (c->method == KEETA_ADJUST_SUBTRACT) {
			if (c->cert.len != KEETA_HASH_LEN)
				FAIL("manage certificate: SUBTRACT takes a "
				    "32-byte hash");
			if (c->intermediates >= 0)
				FAIL("manage certificate: SUBTRACT takes no "
				    "intermediates");
		} else
			FAIL("manage certificate: method must be ADD or "
			    "SUBTRACT");
		/* Duplicates are checked once per block (block_unique). */
		break;
	default:
		FAIL("unknown operation type");
	}
	return 0;
}

static int
hash_cmp(const void *a, const void *b)
{
	return memcmp(a, b, KEETA_HASH_LEN);
}

static int
pubkey_cmp(const struct keeta_pubkey *a, const struct keeta_pubkey *b)
{
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return memcmp(a->key, b->key, a->len);
}

/* A MODIFY_PERMISSIONS change: its (principal, target) pair and place. */
struct perm_change {
	const struct keeta_pubkey	*principal;
	const struct keeta_pubkey	*target;
	size_t				 index;
	int				 set;
};

static int
perm_change_cmp(const void *a, const void *b)
{
	const struct perm_change	*x = a, *y = b;
	int				 c;

	if ((c = pubkey_cmp(x->principal, y->principal)) != 0 ||
	    (c = pubkey_cmp(x->target, y->target)) != 0)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * A SET may not follow any other change of the same (principal, target)
 * pair, an absent target meaning the block account. Sorting the changes
 * by pair and position keeps this O(n log n) for large blocks.
 */
static int
perm_set_order(const struct keeta_block *b, const char **cause)
{
	const struct keeta_op_modify_perms	*m;
	struct perm_change			*pc;
	size_t					 i, n = 0;
	int					 bad = 0;

	for (i = 0; i < b->nops; i++) {
		if (b->ops[i].type == KEETA_OP_MODIFY_PERMISSIONS)
			n++;
	}
	if (n < 2)
		return 0;
	pc = xcalloc(n, sizeof *pc);
	for (i = 0, n = 0; i < b->nops; i++) {
		if (b->ops[i].type != KEETA_OP_MODIFY_PERMISSIONS)
			continue;
		m = &b->ops[i].u.modify_perms;
		pc[n].principal = &m->principal;
		pc[n].target = m->has_target ? &m->target : &b->account;
		pc[n].index = i;
		pc[n++].set = m->method == KEETA_ADJUST_SET;
	}
	qsort(pc, n, sizeof *pc, perm_change_cmp);
	for (i = 1; i < n; i++) {
		if (pc[i].set && pubkey_cmp(pc[i - 1].principal,
		    pc[i].principal) == 0 && pubkey_cmp(pc[i - 1].target,
		    pc[i].target) == 0)
			bad = 1;
	}
	free(pc);
	if (bad)
		FAIL("modify permissions: SET after another change of the "
		    "same permission");
	return 0;
}

/*
 * Block-wide rules, in one pass so that large blocks stay cheap: at most
 * one SET_REP, no certificate managed twice, SET ordering of permission
 * changes.
 */
static int
block_unique(const struct keeta_block *b, const char **cause)
{
	uint8_t	(*h)[KEETA_HASH_LEN] = NULL;
	size_t	 i, n = 0, reps = 0;
	int	 dup = 0;

	for (i = 0; i < b->nops; i++) {
		if (b->ops[i].type == KEETA_OP_SET_REP)
			reps++;
		else if (b->ops[i].type == KEETA_OP_MANAGE_CERTIFICATE)
			n++;
	}
	if (reps > 1)
		FAIL("set rep: more than one in a block");
	if (perm_set_order(b, cause) != 0)
		return -1;
	if (n < 2)
		return 0;
	h = xcalloc(n, sizeof *h);
	for (i = 0, n = 0; i < b->nops; i++) {
		if (b->ops[i].type == KEETA_OP_MANAGE_CERTIFICATE)
			cert_key(&b->ops[i].u.certificate, h[n++]);
	}
	qsort(h, n, sizeof *h, hash_cmp);
	for (i = 1; i < n; i++) {
		if (memcmp(h[i - 1], h[i], KEETA_HASH_LEN) == 0)
			dup = 1;
	}
	free(h);
	if (dup)
		FAIL("manage certificate: duplicate certificate");
	return 0;
}

int
keeta_block_validate(const struct keeta_block *b, const char **cause)
{
	size_t	i;

	if (b->version != 1 && b->version != 2)
		FAIL("unsupported block version");
	if (!pubkey_valid(&b->account))
		FAIL("invalid block account");
	if (b->account.type == KEETA_KEY_MULTISIG)
		FAIL("a MULTISIG account cannot own blocks");
	if (b->purpose != KEETA_PURPOSE_GENERIC &&
	    (b->purpose != KEETA_PURPOSE_FEE || b->version != 2))
		FAIL("invalid block purpose");
	if (b->has_idempotent && b->idempotent_len > KEETA_IDEMPOTENT_MAX)
		FAIL("idempotent key longer than 32 bytes");
	switch (b->signer_kind) {
	case KEETA_SIGNER_SELF:
		if (!keeta_key_type_is_keyed(b->account.type))
			FAIL("identifier accounts need a different signer");
		break;
	case KEETA_SIGNER_OTHER:
		if (!pubkey_valid(&b->signer) ||
		    !keeta_key_type_is_keyed(b->signer.type))
			FAIL("signer must be a keyed account");
		if (keeta_pubkey_equal(&b->signer, &b->account))
			FAIL("signer equals account");
		break;
	case KEETA_SIGNER_MULTISIG:
		if (b->version != 2)
			FAIL("multisig signers need a V2 block");
		if (b->multisig == NULL)
			FAIL("multisig signer missing");
		if (signer_tree_check(b->multisig, 1, cause) != 0)
			return -1;
		break;
	default:
		FAIL("unknown signer kind");
	}
	for (i = 0; i < b->nops; i++) {
		if (op_validate(b, i, cause) != 0)
			return -1;
	}
	return block_unique(b, cause);
}

/* Signers. */

static void
signers_walk(const struct keeta_signer_node *n, struct keeta_pubkey **list,
    size_t *count)
{
	size_t	i, j;

	for (i = 0; i < n->nchildren; i++) {
		if (n->children[i].nchildren > 0) {
			signers_walk(&n->children[i], list, count);
			continue;
		}
		for (j = 0; j < *count; j++) {
			if (keeta_pubkey_equal(&(*list)[j],
			    &n->children[i].key))
				break;
		}
		if (j < *count)
			continue;
		*list = xreallocarray(*list, *count + 1, sizeof **list);
		(*list)[(*count)++] = n->children[i].key;
	}
}

size_t
keeta_block_required_signers(const struct keeta_block *b,
    struct keeta_pubkey **out)
{
	struct keeta_pubkey	*list = NULL;
	size_t			 n = 0;

	*out = NULL;
	switch (b->signer_kind) {
	case KEETA_SIGNER_SELF:
		if (!keeta_key_type_is_keyed(b->account.type))
			return 0;
		list = xmalloc(sizeof *list);
		list[n++] = b->account;
		break;
	case KEETA_SIGNER_OTHER:
		list = xmalloc(sizeof *list);
		list[n++] = b->signer;
		break;
	case KEETA_SIGNER_MULTISIG:
		if (b->multisig == NULL)
			return 0;
		signers_walk(b->multisig, &list, &n);
		break;
	}
	*out = list;
	return n;
}

/* Encoding. */

static void
put_pubkey(struct keeta_der_writer *w, const struct keeta_pubkey *pk)
{
	uint8_t	pkt[KEETA_PKT_MAX];
	size_t	n;

	n = keeta_pubkey_to_pkt(pk, pkt);
	keeta_der_put_octets(w, pkt, n);
}

static void
put_amount(struct keeta_der_writer *w, const struct keeta_amount *a)
{
	keeta_der_put_uint_bytes(w, a->b, a->len);
}

static void
put_perm(struct keeta_der_writer *w, const struct keeta_perm *p)
{
	uint8_t	buf[KEETA_PERM_DER_MAX];
	size_t	n;

	n = keeta_perm_encode(p, buf);
	keeta_der_put_raw(w, buf, n);
}

static void
put_signer_node(struct keeta_der_writer *w, const struct keeta_signer_node *n)
{
	size_t	i;

	keeta_der_begin(w, KEETA_DER_SEQUENCE);
	put_pubkey(w, &n->key);
	keeta_der_begin(w, KEETA_DER_SEQUENCE);
	for (i = 0; i < n->nchildren; i++) {
		if (n->children[i].nchildren > 0)
			put_signer_node(w, &n->children[i]);
		else
			put_pubkey(w, &n->children[i].key);
	}
	keeta_der_end(w);
	keeta_der_end(w);
}

static void
put_op(struct keeta_der_writer *w, const struct keeta_op *op)
{
	const struct keeta_op_certificate	*c;
	size_t					 i;

	keeta_der_begin(w, KEETA_DER_EXPLICIT(op->type));
	keeta_der_begin(w, KEETA_DER_SEQUENCE);
	switch (op->type) {
	case KEETA_OP_SEND:
		put_pubkey(w, &op->u.send.to);
		put_amount(w, &op->u.send.amount);
		put_pubkey(w, &op->u.send.token);
		if (op->u.send.external != NULL)
			keeta_der_put_utf8(w, op->u.send.external,
			    strlen(op->u.send.external));
		break;
	case KEETA_OP_SET_REP:
		put_pubkey(w, &op->u.set_rep.to);
		break;
	case KEETA_OP_SET_INFO:
		keeta_der_put_utf8(w, op->u.set_info.name,
		    strlen(op->u.set_info.name));
		keeta_der_put_utf8(w, op->u.set_info.description,
		    strlen(op->u.set_info.description));
		keeta_der_put_utf8(w, op->u.set_info.metadata,
		    strlen(op->u.set_info.metadata));
		if (op->u.set_info.has_default)
			put_perm(w, &op->u.set_info.default_perm);
		break;
	case KEETA_OP_MODIFY_PERMISSIONS:
		put_pubkey(w, &op->u.modify_perms.principal);
		keeta_der_put_u64(w, (uint64_t)op->u.modify_perms.method);
		if (op->u.modify_perms.has_perms)
			put_perm(w, &op->u.modify_perms.perms);
		else
			keeta_der_put_null(w);
		if (op->u.modify_perms.has_target)
			put_pubkey(w, &op->u.modify_perms.target);
		break;
	case KEETA_OP_CREATE_IDENTIFIER:
		put_pubkey(w, &op->u.create_id.identifier);
		if (op->u.create_id.identifier.type != KEETA_KEY_MULTISIG)
			break;
		keeta_der_begin(w, KEETA_DER_EXPLICIT(KEETA_KEY_MULTISIG));
		keeta_der_begin(w, KEETA_DER_SEQUENCE);
		keeta_der_begin(w, KEETA_DER_SEQUENCE);
		for (i = 0; i < op->u.create_id.nsigners; i++)
			put_pubkey(w, &op->u.create_id.signers[i]);
		keeta_der_end(w);
		keeta_der_put_u64(w, op->u.create_id.quorum);
		keeta_der_end(w);
		keeta_der_end(w);
		break;
	case KEETA_OP_TOKEN_ADMIN_SUPPLY:
		put_amount(w, &op->u.supply.amount);
		keeta_der_put_u64(w, (uint64_t)op->u.supply.method);
		break;
	case KEETA_OP_TOKEN_ADMIN_MODIFY_BALANCE:
		put_pubkey(w, &op->u.modify_balance.token);
		put_amount(w, &op->u.modify_balance.amount);
		keeta_der_put_u64(w, (uint64_t)op->u.modify_balance.method);
		break;
	case KEETA_OP_RECEIVE:
		put_amount(w, &op->u.receive.amount);
		put_pubkey(w, &op->u.receive.token);
		put_pubkey(w, &op->u.receive.from);
		keeta_der_put_bool(w, op->u.receive.exact);
		if (op->u.receive.has_forward)
			put_pubkey(w, &op->u.receive.forward);
		break;
	case KEETA_OP_MANAGE_CERTIFICATE:
		c = &op->u.certificate;
		keeta_der_put_u64(w, (uint64_t)c->method);
		keeta_der_put_octets(w, c->cert.p, c->cert.len);
		if (c->intermediates == 0)
			keeta_der_put_null(w);
		else if (c->intermediates > 0) {
			keeta_der_begin(w, KEETA_DER_SEQUENCE);
			for (i = 0; i < c->nintermediates; i++)
				keeta_der_put_octets(w, c->intermediate[i].p,
				    c->intermediate[i].len);
			keeta_der_end(w);
		}
		break;
	}
	keeta_der_end(w);
	keeta_der_end(w);
}

/* Write the block; the caller has validated it. */
static int
block_write(const struct keeta_block *b, int signed_form,
    struct keeta_der_writer *w, const char **cause)
{
	size_t	i;

	if (b->version == 1) {
		keeta_der_begin(w, KEETA_DER_SEQUENCE);
		keeta_der_put_u64(w, 0);
		keeta_der_put_u64(w, b->network);
		if (b->has_subnet)
			keeta_der_put_u64(w, b->subnet);
		else
			keeta_der_put_null(w);
	} else {
		keeta_der_begin(w, KEETA_DER_EXPLICIT(1));
		keeta_der_begin(w, KEETA_DER_SEQUENCE);
		keeta_der_put_u64(w, b->network);
		if (b->has_subnet)
			keeta_der_put_u64(w, b->subnet);
	}
	if (b->has_idempotent)
		keeta_der_put_octets(w, b->idempotent, b->idempotent_len);
	if (keeta_der_put_time(w, b->date) != 0)
		FAIL("block date out of range");
	if (b->version == 1) {
		if (b->signer_kind == KEETA_SIGNER_OTHER) {
			put_pubkey(w, &b->signer);
			put_pubkey(w, &b->account);
		} else {
			put_pubkey(w, &b->account);
			keeta_der_put_null(w);
		}
	} else {
		keeta_der_put_u64(w, (uint64_t)b->purpose);
		put_pubkey(w, &b->account);
		if (b->signer_kind == KEETA_SIGNER_SELF)
			keeta_der_put_null(w);
		else if (b->signer_kind == KEETA_SIGNER_OTHER)
			put_pubkey(w, &b->signer);
		else
			put_signer_node(w, b->multisig);
	}
	keeta_der_put_octets(w, b->previous, KEETA_HASH_LEN);
	keeta_der_begin(w, KEETA_DER_SEQUENCE);
	for (i = 0; i < b->nops; i++)
		put_op(w, &b->ops[i]);
	keeta_der_end(w);
	if (signed_form) {
		if (b->nsigs == 1)
			keeta_der_put_octets(w, b->sigs[0], KEETA_SIG_LEN);
		else {
			keeta_der_begin(w, KEETA_DER_SEQUENCE);
			for (i = 0; i < b->nsigs; i++)
				keeta_der_put_octets(w, b->sigs[i],
				    KEETA_SIG_LEN);
			keeta_der_end(w);
		}
	}
	keeta_der_end(w);
	if (b->version == 2)
		keeta_der_end(w);
	return 0;
}

static int
block_check_sigcount(const struct keeta_block *b, const char **cause)
{
	struct keeta_pubkey	*req;
	size_t			 n;

	n = keeta_block_required_signers(b, &req);
	free(req);
	if (b->nsigs == 0)
		FAIL("block is not signed");
	if (b->nsigs != n)
		FAIL("signature count differs from the required signers");
	if (b->version == 1 && b->nsigs != 1)
		FAIL("V1 blocks carry exactly one signature");
	return 0;
}

uint8_t *
keeta_block_encode(const struct keeta_block *b, int signed_form, size_t *len,
    const char **cause)
{
	struct keeta_der_writer	w;

	if (keeta_block_validate(b, cause) != 0)
		return NULL;
	if (signed_form && block_check_sigcount(b, cause) != 0)
		return NULL;
	keeta_der_writer_init(&w);
	if (block_write(b, signed_form, &w, cause) != 0) {
		keeta_der_writer_release(&w);
		return NULL;
	}
	return keeta_der_writer_detach(&w, len);
}

int
keeta_block_hash(const struct keeta_block *b, uint8_t out[KEETA_HASH_LEN],
    const char **cause)
{
	uint8_t	*der;
	size_t	 len;

	if ((der = keeta_block_encode(b, 0, &len, cause)) == NULL)
		return -1;
	keeta_sha3_256(der, len, out);
	free(der);
	return 0;
}

int
keeta_block_is_opening(const struct keeta_block *b)
{
	uint8_t	h[KEETA_HASH_LEN];

	keeta_opening_hash(&b->account, h);
	return memcmp(h, b->previous, KEETA_HASH_LEN) == 0;
}

int
keeta_block_sign(struct keeta_block *b, struct keeta_account *const *accts,
    size_t n, const char **cause)
{
	struct keeta_pubkey	*req = NULL;
	uint8_t			 hash[KEETA_HASH_LEN];
	uint8_t			(*sigs)[KEETA_SIG_LEN] = NULL;
	size_t			 nreq, i, j;
	int			*used = NULL;
	const char		*why = NULL;

	if (n == 0)
		FAIL("no signing account");
	if (b->signer_kind != KEETA_SIGNER_MULTISIG) {
		if (n != 1)
			FAIL("a single-signer block takes one account");
		if (keeta_block_set_signer(b, keeta_account_pubkey(accts[0]),
		    cause) != 0)
			return -1;
	}
	block_unsign(b);
	if (keeta_block_hash(b, hash, cause) != 0)
		return -1;
	if (memcmp(hash, b->previous, KEETA_HASH_LEN) == 0)
		FAIL("block previous equals its own hash");
	nreq = keeta_block_required_signers(b, &req);
	if (nreq == 0) {
		why = "block has no signer";
		goto fail;
	}
	sigs = xcalloc(nreq, sizeof *sigs);
	used = xcalloc(n, sizeof *used);
	for (i = 0; i < nreq; i++) {
		for (j = 0; j < n; j++) {
			if (keeta_pubkey_equal(&req[i],
			    keeta_account_pubkey(accts[j])))
				break;
		}
		if (j == n) {
			why = "a required signer is missing";
			goto fail;
		}
		used[j] = 1;
		if (keeta_account_sign(accts[j], hash, sizeof hash,
		    sigs[i]) != 0) {
			why = "signing failed";
			goto fail;
		}
	}
	for (j = 0; j < n; j++) {
		if (!used[j]) {
			why = "an account is not a required signer";
			goto fail;
		}
	}
	free(req);
	free(used);
	b->sigs = sigs;
	b->nsigs = nreq;
	return 0;
fail:
	free(req);
	free(used);
	free(sigs);
	FAIL(why);
}

int
keeta_block_set_signatures(struct keeta_block *b,
    const uint8_t (*sigs)[KEETA_SIG_LEN], size_t n, const char **cause)
{
	struct keeta_pubkey	*req;
	size_t			 nreq;

	nreq = keeta_block_required_signers(b, &req);
	free(req);
	if (nreq == 0 || n != nreq)
		FAIL("signature count differs from the required signers");
	block_unsign(b);
	b->sigs = xreallocarray(NULL, n, sizeof *b->sigs);
	memcpy(b->sigs, sigs, n * sizeof *b->sigs);
	b->nsigs = n;
	return 0;
}

int
keeta_block_verify(const struct keeta_block *b, const char **cause)
{
	struct keeta_pubkey	*req;
	uint8_t			 hash[KEETA_HASH_LEN];
	size_t			 nreq, i;

	if (block_check_sigcount(b, cause) != 0)
		return -1;
	if (keeta_block_hash(b, hash, cause) != 0)
		return -1;
	nreq = keeta_block_required_signers(b, &req);
	for (i = 0; i < nreq; i++) {
		if (keeta_verify(&req[i], hash, sizeof hash, b->sigs[i]) != 0) {
			free(req);
			FAIL("block signature does not verify");
		}
	}
	free(req);
	return 0;
}

/* Decoding. Errors land in the reader's cause slot. */

static int
get_pubkey(struct keeta_der_reader *r, struct keeta_pubkey *pk)
{
	const uint8_t	*p;
	size_t		 len;
	const char	*why = NULL;

	if (keeta_der_read_octets(r, &p, &len) != 0)
		return -1;
	if (keeta_pubkey_from_pkt(pk, p, len, &why) != 0)
		return keeta_der_fail(r, why != NULL ? why :
		    "invalid account key");
	return 0;
}

static int
get_amount(struct keeta_der_reader *r, struct keeta_amount *a)
{
	const uint8_t	*p;
	size_t		 len;

	if (keeta_der_read_uint_bytes(r, &p, &len) != 0)
		return -1;
	if (keeta_amount_set(a, p, len) != 0)
		return keeta_der_fail(r, "amount too large");
	return 0;
}

static int
get_method(struct keeta_der_reader *r, enum keeta_adjust *m)
{
	uint64_t	v;

	if (keeta_der_read_u64(r, &v) != 0)
		return -1;
	if (v > KEETA_ADJUST_SET)
		return keeta_der_fail(r, "unknown adjust method");
	*m = (enum keeta_adjust)v;
	return 0;
}

static int
get_text(struct keeta_der_reader *r, char **out)
{
	const char	*s;
	size_t		 len;

	if (keeta_der_read_utf8(r, &s, &len) != 0)
		return -1;
	if (memchr(s, '\0', len) != NULL)
		return keeta_der_fail(r, "NUL in text field");
	*out = xstrndup(s, len);
	return 0;
}

static int
get_perm(struct keeta_der_reader *r, struct keeta_perm *p)
{
	struct keeta_der_tlv	 t;
	const char		*why = NULL;

	if (keeta_der_read(r, KEETA_DER_SEQUENCE, &t) != 0)
		return -1;
	/* Non-normal sets are accepted here; the re-encoding check of the
	 * whole block rejects them, as the SDK's hash check would. */
	if (keeta_perm_decode(p, t.raw, t.rawlen, NULL, &why) != 0)
		return keeta_der_fail(r, why);
	return 0;
}

static int
get_signer_node(struct keeta_der_reader *r, struct keeta_signer_node *n,
    int depth)
{
	struct keeta_der_reader	 s, m;
	struct keeta_signer_node *c;

	if (depth > KEETA_MULTISIG_DEPTH)
		return keeta_der_fail(r, "multisig signer nested too deeply");
	if (keeta_der_enter(r, KEETA_DER_SEQUENCE, &s) != 0 ||
	    get_pubkey(&s, &n->key) != 0 ||
	    keeta_der_enter(&s, KEETA_DER_SEQUENCE, &m) != 0 ||
	    keeta_der_expect_end(&s) != 0)
		return -1;
	if (n->key.type != KEETA_KEY_MULTISIG)
		return keeta_der_fail(r, "multisig signer address is not a "
		    "MULTISIG account");
	while (!keeta_der_at_end(&m)) {
		if (n->nchildren == KEETA_MULTISIG_MAX)
			return keeta_der_fail(r, "multisig signer with too "
			    "many members");
		n->children = xreallocarray(n->children, n->nchildren + 1,
		    sizeof *n->children);
		c = &n->children[n->nchildren++];
		memset(c, 0, sizeof *c);
		if (keeta_der_peek_tag(&m) == KEETA_DER_SEQUENCE) {
			if (get_signer_node(&m, c, depth + 1) != 0)
				return -1;
		} else {
			if (get_pubkey(&m, &c->key) != 0)
				return -1;
			if (!keeta_key_type_is_keyed(c->key.type))
				return keeta_der_fail(r, "multisig member "
				    "must be keyed or a multisig tree");
		}
	}
	if (n->nchildren == 0)
		return keeta_der_fail(r, "multisig signer without members");
	return 0;
}

static int
get_op(struct keeta_der_reader *r, struct keeta_op *op)
{
	struct keeta_der_reader		 e, s, a, l;
	struct keeta_op_certificate	*c;
	const uint8_t			*p;
	size_t				 len;
	int				 tag;
	uint64_t			 q;

	tag = keeta_der_peek_tag(r);
	if (tag < 0xa0 || tag > 0xa0 + KEETA_OP_MANAGE_CERTIFICATE)
		return keeta_der_fail(r, "unknown operation type");
	op->type = (enum keeta_op_type)(tag - 0xa0);
	if (op->type == KEETA_OP_MANAGE_CERTIFICATE)
		op->u.certificate.intermediates = -1;
	if (keeta_der_enter(r, (uint8_t)tag, &e) != 0 ||
	    keeta_der_enter(&e, KEETA_DER_SEQUENCE, &s) != 0 ||
	    keeta_der_expect_end(&e) != 0)
		return -1;
	switch (op->type) {
	case KEETA_OP_SEND:
		if (get_pubkey(&s, &op->u.send.to) != 0 ||
		    get_amount(&s, &op->u.send.amount) != 0 ||
		    get_pubkey(&s, &op->u.send.token) != 0)
			return -1;
		if (!keeta_der_at_end(&s) &&
		    get_text(&s, &op->u.send.external) != 0)
			return -1;
		break;
	case KEETA_OP_SET_REP:
		if (get_pubkey(&s, &op->u.set_rep.to) != 0)
			return -1;
		break;
	case KEETA_OP_SET_INFO:
		if (get_text(&s, &op->u.set_info.name) != 0 ||
		    get_text(&s, &op->u.set_info.description) != 0 ||
		    get_text(&s, &op->u.set_info.metadata) != 0)
			return -1;
		if (!keeta_der_at_end(&s)) {
			if (get_perm(&s, &op->u.set_info.default_perm) != 0)
				return -1;
			op->u.set_info.has_default = 1;
		}
		break;
	case KEETA_OP_MODIFY_PERMISSIONS:
		if (get_pubkey(&s, &op->u.modify_perms.principal) != 0 ||
		    get_method(&s, &op->u.modify_perms.method) != 0)
			return -1;
		if (keeta_der_peek_tag(&s) == KEETA_DER_NULL) {
			if (keeta_der_read_null(&s) != 0)
				return -1;
		} else {
			if (get_perm(&s, &op->u.modify_perms.perms) != 0)
				return -1;
			op->u.modify_perms.has_perms = 1;
		}
		if (!keeta_der_at_end(&s)) {
			if (get_pubkey(&s, &op->u.modify_perms.target) != 0)
				return -1;
			op->u.modify_perms.has_target = 1;
		}
		break;
	case KEETA_OP_CREATE_IDENTIFIER:
		if (get_pubkey(&s, &op->u.create_id.identifier) != 0)
			return -1;
		if (keeta_der_at_end(&s))
			break;
		if (keeta_der_enter(&s, KEETA_DER_EXPLICIT(KEETA_KEY_MULTISIG),
		    &e) != 0 ||
		    keeta_der_enter(&e, KEETA_DER_SEQUENCE, &a) != 0 ||
		    keeta_der_expect_end(&e) != 0 ||
		    keeta_der_enter(&a, KEETA_DER_SEQUENCE, &l) != 0)
			return -1;
		while (!keeta_der_at_end(&l)) {
			if (op->u.create_id.nsigners == KEETA_MULTISIG_MAX)
				return keeta_der_fail(r, "create multisig: "
				    "too many signers");
			op->u.create_id.signers = xreallocarray(
			    op->u.create_id.signers,
			    op->u.create_id.nsigners + 1,
			    sizeof *op->u.create_id.signers);
			if (get_pubkey(&l, &op->u.create_id.signers[
			    op->u.create_id.nsigners]) != 0)
				return -1;
			op->u.create_id.nsigners++;
		}
		if (keeta_der_read_u64(&a, &q) != 0 ||
		    keeta_der_expect_end(&a) != 0)
			return -1;
		op->u.create_id.quorum = q;
		if (op->u.create_id.nsigners == 0)
			return keeta_der_fail(r, "create multisig: no signers");
		break;
	case KEETA_OP_TOKEN_ADMIN_SUPPLY:
		if (get_amount(&s, &op->u.supply.amount) != 0 ||
		    get_method(&s, &op->u.supply.method) != 0)
			return -1;
		break;
	case KEETA_OP_TOKEN_ADMIN_MODIFY_BALANCE:
		if (get_pubkey(&s, &op->u.modify_balance.token) != 0 ||
		    get_amount(&s, &op->u.modify_balance.amount) != 0 ||
		    get_method(&s, &op->u.modify_balance.method) != 0)
			return -1;
		break;
	case KEETA_OP_RECEIVE:
		if (get_amount(&s, &op->u.receive.amount) != 0 ||
		    get_pubkey(&s, &op->u.receive.token) != 0 ||
		    get_pubkey(&s, &op->u.receive.from) != 0 ||
		    keeta_der_read_bool(&s, &op->u.receive.exact) != 0)
			return -1;
		if (!keeta_der_at_end(&s)) {
			if (get_pubkey(&s, &op->u.receive.forward) != 0)
				return -1;
			op->u.receive.has_forward = 1;
		}
		break;
	case KEETA_OP_MANAGE_CERTIFICATE:
		c = &op->u.certificate;
		if (get_method(&s, &c->method) != 0 ||
		    keeta_der_read_octets(&s, &p, &len) != 0)
			return -1;
		bytes_copy(&c->cert, p, len);
		if (keeta_der_at_end(&s))
			break;
		if (keeta_der_peek_tag(&s) == KEETA_DER_NULL) {
			if (keeta_der_read_null(&s) != 0)
				return -1;
			c->intermediates = 0;
			break;
		}
		if (keeta_der_enter(&s, KEETA_DER_SEQUENCE, &l) != 0)
			return -1;
		c->intermediates = 1;
		while (!keeta_der_at_end(&l)) {
			if (keeta_der_read_octets(&l, &p, &len) != 0)
				return -1;
			c->intermediate = xreallocarray(c->intermediate,
			    c->nintermediates + 1, sizeof *c->intermediate);
			bytes_copy(&c->intermediate[c->nintermediates++], p,
			    len);
		}
		break;
	}
	return keeta_der_expect_end(&s);
}

static int
get_sigs(struct keeta_der_reader *r, struct keeta_block *b)
{
	struct keeta_der_reader	 l;
	const uint8_t		*p;
	size_t			 len;

	if (keeta_der_peek_tag(r) == KEETA_DER_OCTETSTRING) {
		if (keeta_der_read_octets(r, &p, &len) != 0)
			return -1;
		if (len != KEETA_SIG_LEN)
			return keeta_der_fail(r, "signature is not 64 bytes");
		b->sigs = xmalloc(sizeof *b->sigs);
		memcpy(b->sigs[0], p, KEETA_SIG_LEN);
		b->nsigs = 1;
		return 0;
	}
	if (b->version == 1)
		return keeta_der_fail(r, "V1 blocks carry one signature");
	if (keeta_der_enter(r, KEETA_DER_SEQUENCE, &l) != 0)
		return -1;
	while (!keeta_der_at_end(&l)) {
		if (keeta_der_read_octets(&l, &p, &len) != 0)
			return -1;
		if (len != KEETA_SIG_LEN)
			return keeta_der_fail(r, "signature is not 64 bytes");
		b->sigs = xreallocarray(b->sigs, b->nsigs + 1,
		    sizeof *b->sigs);
		memcpy(b->sigs[b->nsigs++], p, KEETA_SIG_LEN);
	}
	if (b->nsigs < 2)
		return keeta_der_fail(r, "a signature list needs two or more "
		    "signatures");
	return 0;
}

static int
get_ops(struct keeta_der_reader *r, struct keeta_block *b)
{
	struct keeta_der_reader	l;

	if (keeta_der_enter(r, KEETA_DER_SEQUENCE, &l) != 0)
		return -1;
	while (!keeta_der_at_end(&l)) {
		b->ops = xreallocarray(b->ops, b->nops + 1, sizeof *b->ops);
		memset(&b->ops[b->nops], 0, sizeof *b->ops);
		/* Count the op first so that a failure still frees it. */
		b->nops++;
		if (get_op(&l, &b->ops[b->nops - 1]) != 0)
			return -1;
	}
	return 0;
}

static int
get_previous(struct keeta_der_reader *r, struct keeta_block *b)
{
	const uint8_t	*p;
	size_t		 len;

	if (keeta_der_read_octets(r, &p, &len) != 0)
		return -1;
	if (len != KEETA_HASH_LEN)
		return keeta_der_fail(r, "previous is not 32 bytes");
	memcpy(b->previous, p, KEETA_HASH_LEN);
	return 0;
}

static int
get_idempotent(struct keeta_der_reader *r, struct keeta_block *b)
{
	const uint8_t	*p;
	size_t		 len;

	if (keeta_der_peek_tag(r) != KEETA_DER_OCTETSTRING)
		return 0;
	if (keeta_der_read_octets(r, &p, &len) != 0)
		return -1;
	if (len > KEETA_IDEMPOTENT_MAX)
		return keeta_der_fail(r, "idempotent key longer than 32 bytes");
	b->has_idempotent = 1;
	b->idempotent_len = len;
	if (len > 0)
		memcpy(b->idempotent, p, len);
	return 0;
}

static int
block_parse_v1(struct keeta_der_reader *r, struct keeta_block *b, int flags)
{
	struct keeta_der_reader	s;
	struct keeta_pubkey	signer, acct;
	uint64_t		v;

	b->version = 1;
	if (keeta_der_enter(r, KEETA_DER_SEQUENCE, &s) != 0 ||
	    keeta_der_read_u64(&s, &v) != 0)
		return -1;
	if (v != 0)
		return keeta_der_fail(r, "unsupported block version");
	if (keeta_der_read_u64(&s, &b->network) != 0)
		return -1;
	if (keeta_der_peek_tag(&s) == KEETA_DER_NULL) {
		if (keeta_der_read_null(&s) != 0)
			return -1;
	} else {
		if (keeta_der_read_u64(&s, &b->subnet) != 0)
			return -1;
		b->has_subnet = 1;
	}
	if (get_idempotent(&s, b) != 0 ||
	    keeta_der_read_time(&s, &b->date) != 0 ||
	    get_pubkey(&s, &signer) != 0)
		return -1;
	if (keeta_der_peek_tag(&s) == KEETA_DER_NULL) {
		if (keeta_der_read_null(&s) != 0)
			return -1;
		b->account = signer;
		b->signer_kind = KEETA_SIGNER_SELF;
	} else {
		if (get_pubkey(&s, &acct) != 0)
			return -1;
		if (keeta_pubkey_equal(&acct, &signer))
			return keeta_der_fail(r, "account field equals signer");
		b->account = acct;
		b->signer = signer;
		b->signer_kind = KEETA_SIGNER_OTHER;
	}
	if (get_previous(&s, b) != 0 || get_ops(&s, b) != 0)
		return -1;
	if (!(flags & KEETA_BLOCK_UNSIGNED) && get_sigs(&s, b) != 0)
		return -1;
	return keeta_der_expect_end(&s);
}

static int
block_parse_v2(struct keeta_der_reader *r, struct keeta_block *b, int flags)
{
	struct keeta_der_reader	e, s;
	uint64_t		v;
	int			tag;

	b->version = 2;
	if (keeta_der_enter(r, KEETA_DER_EXPLICIT(1), &e) != 0 ||
	    keeta_der_enter(&e, KEETA_DER_SEQUENCE, &s) != 0 ||
	    keeta_der_expect_end(&e) != 0 ||
	    keeta_der_read_u64(&s, &b->network) != 0)
		return -1;
	if (keeta_der_peek_tag(&s) == KEETA_DER_INTEGER) {
		if (keeta_der_read_u64(&s, &b->subnet) != 0)
			return -1;
		b->has_subnet = 1;
	}
	if (get_idempotent(&s, b) != 0 ||
	    keeta_der_read_time(&s, &b->date) != 0 ||
	    keeta_der_read_u64(&s, &v) != 0)
		return -1;
	if (v > KEETA_PURPOSE_FEE)
		return keeta_der_fail(r, "unknown block purpose");
	b->purpose = (enum keeta_purpose)v;
	if (get_pubkey(&s, &b->account) != 0)
		return -1;
	tag = keeta_der_peek_tag(&s);
	if (tag == KEETA_DER_NULL) {
		if (keeta_der_read_null(&s) != 0)
			return -1;
		b->signer_kind = KEETA_SIGNER_SELF;
	} else if (tag == KEETA_DER_SEQUENCE) {
		b->multisig = xcalloc(1, sizeof *b->multisig);
		b->signer_kind = KEETA_SIGNER_MULTISIG;
		if (get_signer_node(&s, b->multisig, 1) != 0)
			return -1;
	} else {
		if (get_pubkey(&s, &b->signer) != 0)
			return -1;
		if (keeta_pubkey_equal(&b->signer, &b->account))
			return keeta_der_fail(r, "signer field equals account");
		b->signer_kind = KEETA_SIGNER_OTHER;
	}
	if (get_previous(&s, b) != 0 || get_ops(&s, b) != 0)
		return -1;
	if (!(flags & KEETA_BLOCK_UNSIGNED) && get_sigs(&s, b) != 0)
		return -1;
	return keeta_der_expect_end(&s);
}

int
keeta_block_decode(const uint8_t *der, size_t len, int flags,
    struct keeta_block **out, const char **cause)
{
	struct keeta_der_reader	 r;
	struct keeta_block	*b;
	uint8_t			*re = NULL, hash[KEETA_HASH_LEN];
	size_t			 relen;
	const char		*why = NULL;
	int			 tag;

	*out = NULL;
	b = xcalloc(1, sizeof *b);
	keeta_der_reader_init(&r, der, len);
	tag = keeta_der_peek_tag(&r);
	if (tag == KEETA_DER_SEQUENCE) {
		if (block_parse_v1(&r, b, flags) != 0)
			goto derfail;
	} else if (tag == KEETA_DER_EXPLICIT(1)) {
		if (block_parse_v2(&r, b, flags) != 0)
			goto derfail;
	} else {
		why = "not a block";
		goto fail;
	}
	if (keeta_der_expect_end(&r) != 0)
		goto derfail;
	if (keeta_block_validate(b, &why) != 0)
		goto fail;
	if (!(flags & KEETA_BLOCK_UNSIGNED) &&
	    block_check_sigcount(b, &why) != 0)
		goto fail;
	re = keeta_block_encode(b, !(flags & KEETA_BLOCK_UNSIGNED), &relen,
	    &why);
	if (re == NULL)
		goto fail;
	if (relen != len || memcmp(re, der, len) != 0) {
		why = "block is not canonically encoded";
		goto fail;
	}
	free(re);
	re = NULL;
	if (keeta_block_hash(b, hash, &why) != 0)
		goto fail;
	if (memcmp(hash, b->previous, KEETA_HASH_LEN) == 0) {
		why = "block previous equals its own hash";
		goto fail;
	}
	if (!(flags & (KEETA_BLOCK_NOVERIFY | KEETA_BLOCK_UNSIGNED)) &&
	    keeta_block_verify(b, &why) != 0)
		goto fail;
	*out = b;
	return 0;
derfail:
	why = keeta_der_cause(&r);
	if (why == NULL)
		why = "malformed block";
fail:
	free(re);
	keeta_block_free(b);
	FAIL(why);
}

/* JSON. */

const char *
keeta_op_type_name(int type)
{
	static const char *const names[KEETA_OP_NTYPES] = {
		"SEND", "SET_REP", "SET_INFO", "MODIFY_PERMISSIONS",
		"CREATE_IDENTIFIER", "TOKEN_ADMIN_SUPPLY",
		"TOKEN_ADMIN_MODIFY_BALANCE", "RECEIVE", "MANAGE_CERTIFICATE"
	};

	if (type < 0 || type >= KEETA_OP_NTYPES)
		return NULL;
	return names[type];
}

/* A certificate as PEM, the form the SDK prints for MANAGE_CERTIFICATE
 * ADD. */
static cJSON *
json_pem(const struct keeta_bytes *cert)
{
	cJSON	*j;
	char	*b64, *pem, *o;
	size_t	 n, i;

	b64 = keeta_block_base64_encode(cert->p, cert->len);
	n = strlen(b64);
	pem = o = xmalloc(n + n / 64 + 64);
	o += sprintf(o, "-----BEGIN CERTIFICATE-----\n");
	for (i = 0; i < n; i += 64) {
		memcpy(o, b64 + i, n - i < 64 ? n - i : 64);
		o += n - i < 64 ? n - i : 64;
		*o++ = '\n';
	}
	sprintf(o, "-----END CERTIFICATE-----\n");
	j = jchk(cJSON_CreateString(pem));
	free(pem);
	free(b64);
	return j;
}

/* Intermediate certificates: base64 of their DER, one after another. */
static cJSON *
json_bundle(const struct keeta_bytes *list, size_t n)
{
	cJSON	*j;
	uint8_t	*buf;
	char	*b64;
	size_t	 i, len = 0;

	for (i = 0; i < n; i++)
		len += list[i].len;
	buf = xmalloc(len + 1);
	for (len = 0, i = 0; i < n; i++) {
		memcpy(buf + len, list[i].p, list[i].len);
		len += list[i].len;
	}
	b64 = keeta_block_base64_encode(buf, len);
	j = jchk(cJSON_CreateString(b64));
	free(b64);
	free(buf);
	return j;
}

cJSON *
keeta_op_to_json(const struct keeta_op *op)
{
	const struct keeta_op_certificate	*c;
	cJSON					*j, *a, *l;
	size_t					 i;

	j = jchk(cJSON_CreateObject());
	jadd(j, "type", cJSON_CreateNumber(op->type));
	switch (op->type) {
	case KEETA_OP_SEND:
		jadd(j, "to", keeta_block_json_address(&op->u.send.to));
		jadd(j, "amount", keeta_block_json_amount(&op->u.send.amount));
		if (op->u.send.external != NULL)
			jadd(j, "external",
			    cJSON_CreateString(op->u.send.external));
		jadd(j, "token", keeta_block_json_address(&op->u.send.token));
		break;
	case KEETA_OP_SET_REP:
		jadd(j, "to", keeta_block_json_address(&op->u.set_rep.to));
		break;
	case KEETA_OP_SET_INFO:
		jadd(j, "name", cJSON_CreateString(op->u.set_info.name));
		jadd(j, "description",
		    cJSON_CreateString(op->u.set_info.description));
		jadd(j, "metadata", cJSON_CreateString(op->u.set_info.metadata));
		if (op->u.set_info.has_default)
			jadd(j, "defaultPermission",
			    keeta_perm_to_json(&op->u.set_info.default_perm));
		break;
	case KEETA_OP_MODIFY_PERMISSIONS:
		jadd(j, "principal",
		    keeta_block_json_address(&op->u.modify_perms.principal));
		jadd(j, "method", cJSON_CreateNumber(op->u.modify_perms.method));
		jadd(j, "permissions", op->u.modify_perms.has_perms ?
		    keeta_perm_to_json(&op->u.modify_perms.perms) :
		    cJSON_CreateNull());
		if (op->u.modify_perms.has_target)
			jadd(j, "target", keeta_block_json_address(
			    &op->u.modify_perms.target));
		break;
	case KEETA_OP_CREATE_IDENTIFIER:
		jadd(j, "identifier",
		    keeta_block_json_address(&op->u.create_id.identifier));
		if (op->u.create_id.identifier.type != KEETA_KEY_MULTISIG)
			break;
		a = jchk(cJSON_CreateObject());
		jadd(a, "type", cJSON_CreateNumber(KEETA_KEY_MULTISIG));
		jadd(a, "quorum", json_u64(op->u.create_id.quorum));
		l = jchk(cJSON_CreateArray());
		for (i = 0; i < op->u.create_id.nsigners; i++)
			jpush(l, keeta_block_json_address(
			    &op->u.create_id.signers[i]));
		jadd(a, "signers", l);
		jadd(j, "createArguments", a);
		break;
	case KEETA_OP_TOKEN_ADMIN_SUPPLY:
		jadd(j, "amount", keeta_block_json_amount(&op->u.supply.amount));
		jadd(j, "method", cJSON_CreateNumber(op->u.supply.method));
		break;
	case KEETA_OP_TOKEN_ADMIN_MODIFY_BALANCE:
		jadd(j, "token",
		    keeta_block_json_address(&op->u.modify_balance.token));
		jadd(j, "amount", keeta_block_json_amount(&op->u.modify_balance.amount));
		jadd(j, "method",
		    cJSON_CreateNumber(op->u.modify_balance.method));
		break;
	case KEETA_OP_RECEIVE:
		jadd(j, "amount", keeta_block_json_amount(&op->u.receive.amount));
		jadd(j, "token", keeta_block_json_address(&op->u.receive.token));
		jadd(j, "from", keeta_block_json_address(&op->u.receive.from));
		jadd(j, "exact", cJSON_CreateBool(op->u.receive.exact));
		if (op->u.receive.has_forward)
			jadd(j, "forward",
			    keeta_block_json_address(&op->u.receive.forward));
		break;
	case KEETA_OP_MANAGE_CERTIFICATE:
		c = &op->u.certificate;
		if (c->method == KEETA_ADJUST_ADD)
			jadd(j, "certificateOrHash", json_pem(&c->cert));
		else
			jadd(j, "certificateOrHash",
			    keeta_block_json_hex(c->cert.p, c->cert.len));
		jadd(j, "method", cJSON_CreateNumber(c->method));
		if (c->intermediates == 0)
			jadd(j, "intermediateCertificates", cJSON_CreateNull());
		else if (c->intermediates > 0)
			jadd(j, "intermediateCertificates",
			    json_bundle(c->intermediate, c->nintermediates));
		break;
	}
	return j;
}

static cJSON *
json_signer_node(const struct keeta_signer_node *n)
{
	cJSON	*j, *m;
	size_t	 i;

	j = jchk(cJSON_CreateArray());
	jpush(j, keeta_block_json_address(&n->key));
	m = jchk(cJSON_CreateArray());
	for (i = 0; i < n->nchildren; i++) {
		if (n->children[i].nchildren > 0)
			jpush(m, json_signer_node(&n->children[i]));
		else
			jpush(m, keeta_block_json_address(&n->children[i].key));
	}
	jpush(j, m);
	return j;
}

cJSON *
keeta_block_to_json(const struct keeta_block *b, int with_binary,
    const char **cause)
{
	cJSON	*j, *ops, *sigs;
	uint8_t	 hash[KEETA_HASH_LEN], *der;
	char	 iso[25], *s;
	size_t	 i, len;

	if (keeta_block_hash(b, hash, cause) != 0)
		return NULL;
	if (keeta_time_iso8601(b->date, iso) != 0) {
		if (cause != NULL)
			*cause = "block date out of range";
		return NULL;
	}
	j = jchk(cJSON_CreateObject());
	jadd(j, "version", cJSON_CreateNumber(b->version));
	if (b->has_idempotent) {
		s = keeta_block_base64_encode(b->idempotent, b->idempotent_len);
		jadd(j, "idempotent", cJSON_CreateString(s));
		free(s);
	}
	jadd(j, "date", cJSON_CreateString(iso));
	jadd(j, "previous", keeta_block_json_hex(b->previous, KEETA_HASH_LEN));
	jadd(j, "account", keeta_block_json_address(&b->account));
	jadd(j, "purpose", cJSON_CreateNumber(b->purpose));
	switch (b->signer_kind) {
	case KEETA_SIGNER_SELF:
		jadd(j, "signer", keeta_block_json_address(&b->account));
		break;
	case KEETA_SIGNER_OTHER:
		jadd(j, "signer", keeta_block_json_address(&b->signer));
		break;
	case KEETA_SIGNER_MULTISIG:
		jadd(j, "signer", json_signer_node(b->multisig));
		break;
	}
	jadd(j, "network", json_u64(b->network));
	if (b->has_subnet)
		jadd(j, "subnet", json_u64(b->subnet));
	ops = jchk(cJSON_CreateArray());
	for (i = 0; i < b->nops; i++)
		jpush(ops, keeta_op_to_json(&b->ops[i]));
	jadd(j, "operations", ops);
	jadd(j, "$hash", keeta_block_json_hex(hash, sizeof hash));
	jadd(j, "$opening", cJSON_CreateBool(keeta_block_is_opening(b)));
	if (b->nsigs == 0)
		return j;
	if (with_binary) {
		if ((der = keeta_block_encode(b, 1, &len, cause)) == NULL) {
			cJSON_Delete(j);
			return NULL;
		}
		s = keeta_block_base64_encode(der, len);
		free(der);
		jadd(j, "$binary", cJSON_CreateString(s));
		free(s);
	}
	if (b->version == 1)
		jadd(j, "signature", keeta_block_json_hex(b->sigs[0],
		    KEETA_SIG_LEN));
	else {
		sigs = jchk(cJSON_CreateArray());
		for (i = 0; i < b->nsigs; i++)
			jpush(sigs, keeta_block_json_hex(b->sigs[i],
			    KEETA_SIG_LEN));
		jadd(j, "signatures", sigs);
	}
	return j;
}
