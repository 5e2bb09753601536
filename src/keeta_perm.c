/*
 * keeta_perm: permission sets, their normalisation, DER and JSON forms,
 * and the per-flag validity table of keeta-encoding.md section 8.1.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "keeta_account.h"
#include "keeta_perm.h"
#include "util.h"

/*
 * Account groups of table 8.1, as the SDK names them. NONIDENTIFIER and
 * NONIDENTIFIER_OR_MULTISIG accept the same accounts but are different
 * groups: the SDK refuses to mix flags whose groups differ.
 */
enum perm_group {
	G_NEVER,		/* targets only: must be absent */
	G_ANY,
	G_NONID,		/* a keyed account or a MULTISIG address */
	G_NETWORK,
	G_TOKEN,
	G_STORAGE,
	G_NONID_OR_MS,
	G_MULTISIG
};

enum perm_col {
	COL_ENTITY,
	COL_PRINCIPAL,
	COL_TARGET
};

static const struct perm_row {
	const char	*name;
	int		 defaultable;
	enum perm_group	 col[3];	/* entity, principal, target */
} perm_table[KEETA_PERM_NFLAGS] = {
	{ "ACCESS", 1, { G_ANY, G_ANY, G_ANY } },
	{ "OWNER", 0, { G_ANY, G_NONID, G_NEVER } },
	{ "ADMIN", 0, { G_ANY, G_NONID, G_NEVER } },
	{ "UPDATE_INFO", 0, { G_ANY, G_NONID, G_NEVER } },
	{ "SEND_ON_BEHALF", 0, { G_ANY, G_NONID, G_TOKEN } },
	{ "TOKEN_ADMIN_CREATE", 1, { G_NETWORK, G_NONID, G_NEVER } },
	{ "TOKEN_ADMIN_SUPPLY", 0, { G_TOKEN, G_NONID, G_NEVER } },
	{ "TOKEN_ADMIN_MODIFY_BALANCE", 0, { G_TOKEN, G_NONID, G_ANY } },
	{ "STORAGE_CREATE", 1, { G_NETWORK, G_NONID, G_NEVER } },
	{ "STORAGE_CAN_HOLD", 1, { G_STORAGE, G_TOKEN, G_NEVER } },
	{ "STORAGE_DEPOSIT", 1, { G_STORAGE, G_ANY, G_TOKEN } },
	{ "PERMISSION_DELEGATE_ADD", 0, { G_ANY, G_NONID, G_ANY } },
	{ "PERMISSION_DELEGATE_REMOVE", 0, { G_ANY, G_NONID, G_ANY } },
	{ "MANAGE_CERTIFICATE", 1, { G_ANY, G_ANY, G_NEVER } },
	{ "MULTISIG_SIGNER", 0, { G_MULTISIG, G_NONID_OR_MS, G_NEVER } },
};

/*
 * The order in which the SDK walks the flags (its enum's declaration
 * order); it decides whether a NEVER or a conflict is met first.
 */
static const int perm_walk[KEETA_PERM_NFLAGS] = {
	0, 1, 2, 3, 4, 9, 10, 8, 5, 6, 7, 11, 12, 13, 14
};

/*
 * The group a set of flags demands in one column: ANY when no flag cares,
 * NEVER as soon as one flag forbids the column, else the single group all
 * flags agree on. -1 when two flags demand different groups.
 */
static int
perm_group_of(uint32_t base, enum perm_col col, enum perm_group *out)
{
	enum perm_group	g = G_ANY, f;
	int		i, flag;

	for (i = 0; i < KEETA_PERM_NFLAGS; i++) {
		flag = perm_walk[i];
		if (!(base & KEETA_PERM_BIT(flag)))
			continue;
		f = perm_table[flag].col[col];
		if (f == G_ANY || f == g)
			continue;
		if (f == G_NEVER) {
			*out = G_NEVER;
			return 0;
		}
		if (g == G_ANY)
			g = f;
		else
			return -1;
	}
	*out = g;
	return 0;
}

static int
group_matches(enum perm_group g, int type)
{
	switch (g) {
	case G_ANY:
		return 1;
	case G_NONID:
	case G_NONID_OR_MS:
		return keeta_key_type_is_keyed(type) ||
		    type == KEETA_KEY_MULTISIG;
	case G_NETWORK:
		return type == KEETA_KEY_NETWORK;
	case G_TOKEN:
		return type == KEETA_KEY_TOKEN;
	case G_STORAGE:
		return type == KEETA_KEY_STORAGE;
	case G_MULTISIG:
		return type == KEETA_KEY_MULTISIG;
	case G_NEVER:
		return 0;
	}
	return 0;
}

int
keeta_perm_check_mix(uint32_t base, const char **cause)
{
	enum perm_group	g;
	int		c;

	for (c = COL_ENTITY; c <= COL_TARGET; c++) {
		if (perm_group_of(base, (enum perm_col)c, &g) != 0) {
			if (cause != NULL)
				*cause = "permission flags of different "
				    "account groups cannot be mixed";
			return -1;
		}
	}
	return 0;
}

const char *
keeta_perm_flag_name(int flag)
{
	if (flag < 0 || flag >= KEETA_PERM_NFLAGS)
		return NULL;
	return perm_table[flag].name;
}

int
keeta_perm_flag_from_name(const char *name)
{
	int	i;

	for (i = 0; i < KEETA_PERM_NFLAGS; i++) {
		if (strcmp(perm_table[i].name, name) == 0)
			return i;
	}
	return -1;
}

int
keeta_perm_flag_defaultable(int flag)
{
	if (flag < 0 || flag >= KEETA_PERM_NFLAGS)
		return 0;
	return perm_table[flag].defaultable;
}

void
keeta_perm_init(struct keeta_perm *p)
{
	p->base = 0;
	p->external = 0;
}

int
keeta_perm_set(struct keeta_perm *p, uint32_t base, uint32_t external,
    const char **cause)
{
	if (base & ~KEETA_PERM_BASE_MASK) {
		if (cause != NULL)
			*cause = "unknown permission flag";
		return -1;
	}
	if (external & ~KEETA_PERM_EXTERNAL_MASK) {
		if (cause != NULL)
			*cause = "external permission offset out of range";
		return -1;
	}
	if (keeta_perm_check_mix(base, cause) != 0)
		return -1;
	p->base = base;
	p->external = external;
	return 0;
}

int
keeta_perm_add_flag(struct keeta_perm *p, int flag, const char **cause)
{
	if (flag < 0 || flag >= KEETA_PERM_NFLAGS) {
		if (cause != NULL)
			*cause = "unknown permission flag";
		return -1;
	}
	if (keeta_perm_check_mix(p->base | KEETA_PERM_BIT(flag), cause) != 0)
		return -1;
	p->base |= KEETA_PERM_BIT(flag);
	keeta_perm_normalise(p);
	return 0;
}

int
keeta_perm_add_external(struct keeta_perm *p, unsigned int offset,
    const char **cause)
{
	if (offset >= KEETA_PERM_EXTERNAL_MAX) {
		if (cause != NULL)
			*cause = "external permission offset out of range";
		return -1;
	}
	p->external |= (uint32_t)1 << offset;
	return 0;
}

int
keeta_perm_has(const struct keeta_perm *p, int flag)
{
	if (flag < 0 || flag >= KEETA_PERM_NFLAGS)
		return 0;
	return (p->base & KEETA_PERM_BIT(flag)) != 0;
}

int
keeta_perm_has_external(const struct keeta_perm *p, unsigned int offset)
{
	if (offset >= KEETA_PERM_EXTERNAL_MAX)
		return 0;
	return (p->external & ((uint32_t)1 << offset)) != 0;
}

int
keeta_perm_is_empty(const struct keeta_perm *p)
{
	return p->base == 0 && p->external == 0;
}

int
keeta_perm_equal(const struct keeta_perm *a, const struct keeta_perm *b)
{
	return a->base == b->base && a->external == b->external;
}

void
keeta_perm_normalise(struct keeta_perm *p)
{
	if (p->base & KEETA_PERM_BIT(KEETA_PERM_OWNER))
		p->base = KEETA_PERM_BIT(KEETA_PERM_OWNER);
	else if (p->base & KEETA_PERM_BIT(KEETA_PERM_ADMIN))
		p->base = KEETA_PERM_BIT(KEETA_PERM_ADMIN);
	if (p->base != 0)
		p->base |= KEETA_PERM_BIT(KEETA_PERM_ACCESS);
}

int
keeta_perm_is_normal(const struct keeta_perm *p)
{
	struct keeta_perm	n = *p;

	keeta_perm_normalise(&n);
	return keeta_perm_equal(&n, p);
}

void
keeta_perm_combine(struct keeta_perm *dst, const struct keeta_perm *add)
{
	dst->base |= add->base;
	dst->external |= add->external;
	keeta_perm_normalise(dst);
}

void
keeta_perm_remove(struct keeta_perm *dst, const struct keeta_perm *sub)
{
	dst->base &= ~sub->base;
	dst->external &= ~sub->external;
	keeta_perm_normalise(dst);
}

int
keeta_perm_contains(const struct keeta_perm *have,
    const struct keeta_perm *need)
{
	return (have->base & need->base) == need->base &&
	    (have->external & need->external) == need->external;
}

int
keeta_perm_check_grant(const struct keeta_perm *p, int entity_type,
    int principal_type, int target_type, const char **cause)
{
	enum perm_group	g;

	if ((p->base & ~KEETA_PERM_BASE_MASK) ||
	    (p->external & ~KEETA_PERM_EXTERNAL_MASK)) {
		if (cause != NULL)
			*cause = "permission bits out of range";
		return -1;
	}
	if (keeta_perm_check_mix(p->base, cause) != 0)
		return -1;
	if ((p->base & KEETA_PERM_BIT(KEETA_PERM_OWNER)) &&
	    !keeta_key_type_is_identifier(entity_type)) {
		if (cause != NULL)
			*cause = "OWNER may only be granted on an identifier";
		return -1;
	}
	perm_group_of(p->base, COL_PRINCIPAL, &g);
	if (!group_matches(g, principal_type)) {
		if (cause != NULL)
			*cause = "permission not allowed for this principal type";
		return -1;
	}
	if (target_type != KEETA_PERM_NO_TARGET) {
		perm_group_of(p->base, COL_TARGET, &g);
		if (!group_matches(g, target_type)) {
			if (cause != NULL)
				*cause = g == G_NEVER ?
				    "permission cannot have a target" :
				    "permission not allowed for this target type";
			return -1;
		}
	}
	perm_group_of(p->base, COL_ENTITY, &g);
	if (!group_matches(g, entity_type)) {
		if (cause != NULL)
			*cause = "permission does not apply to this account type";
		return -1;
	}
	return 0;
}

int
keeta_perm_check_default(const struct keeta_perm *p, int entity_type,
    const char **cause)
{
	enum perm_group	g;
	int		flag;

	if (!keeta_key_type_is_identifier(entity_type)) {
		if (cause != NULL)
			*cause = "default permissions only apply to identifiers";
		return -1;
	}
	if (p->external != 0) {
		if (cause != NULL)
			*cause = "default permissions cannot be external";
		return -1;
	}
	if ((p->base & ~KEETA_PERM_BASE_MASK) ||
	    keeta_perm_check_mix(p->base, cause) != 0) {
		if (cause != NULL && (p->base & ~KEETA_PERM_BASE_MASK))
			*cause = "unknown permission flag";
		return -1;
	}
	for (flag = 0; flag < KEETA_PERM_NFLAGS; flag++) {
		if ((p->base & KEETA_PERM_BIT(flag)) &&
		    !perm_table[flag].defaultable) {
			if (cause != NULL)
				*cause = "permission cannot be a default";
			return -1;
		}
	}
	perm_group_of(p->base, COL_ENTITY, &g);
	if (!group_matches(g, entity_type)) {
		if (cause != NULL)
			*cause = "default permission does not apply to this "
			    "account type";
		return -1;
	}
	return 0;
}

int
keeta_perm_requires_set(const struct keeta_perm *p)
{
	const uint32_t	set_only = KEETA_PERM_BIT(KEETA_PERM_OWNER) |
	    KEETA_PERM_BIT(KEETA_PERM_ADMIN) |
	    KEETA_PERM_BIT(KEETA_PERM_PERMISSION_DELEGATE_ADD) |
	    KEETA_PERM_BIT(KEETA_PERM_PERMISSION_DELEGATE_REMOVE);

	return (p->base & set_only) != 0;
}

/* Minimal DER INTEGER of a non-negative 32-bit value; returns its length. */
static size_t
perm_put_int(uint8_t *out, uint32_t v)
{
	uint8_t	tmp[5];
	size_t	n = 0, i;

	do {
		tmp[n++] = (uint8_t)(v & 0xff);
		v >>= 8;
	} while (v != 0);
	if (tmp[n - 1] & 0x80)
		tmp[n++] = 0;
	out[0] = 0x02;
	out[1] = (uint8_t)n;
	for (i = 0; i < n; i++)
		out[2 + i] = tmp[n - 1 - i];
	return 2 + n;
}

size_t
keeta_perm_encode(const struct keeta_perm *p, uint8_t out[KEETA_PERM_DER_MAX])
{
	struct keeta_perm	n = *p;
	size_t			len;

	keeta_perm_normalise(&n);
	len = perm_put_int(out + 2, n.base);
	len += perm_put_int(out + 2 + len, n.external);
	out[0] = 0x30;
	out[1] = (uint8_t)len;
	return len + 2;
}

/* Read one minimal non-negative INTEGER that fits in 32 bits. */
static int
perm_get_int(const uint8_t **pp, const uint8_t *end, uint32_t *v,
    const char **cause)
{
	const uint8_t	*p = *pp;
	size_t		 len, i;
	uint64_t	 acc = 0;

	if (end - p < 2 || p[0] != 0x02) {
		*cause = "permissions: expected INTEGER";
		return -1;
	}
	len = p[1];
	if (len == 0 || len > 0x7f || (size_t)(end - p - 2) < len) {
		*cause = "permissions: bad INTEGER length";
		return -1;
	}
	p += 2;
	if (p[0] & 0x80) {
		*cause = "permissions: negative INTEGER";
		return -1;
	}
	if (len > 1 && p[0] == 0 && !(p[1] & 0x80)) {
		*cause = "permissions: non-minimal INTEGER";
		return -1;
	}
	if (len > 5 || (len == 5 && p[0] != 0)) {
		*cause = "permissions: INTEGER too large";
		return -1;
	}
	for (i = 0; i < len; i++)
		acc = (acc << 8) | p[i];
	*v = (uint32_t)acc;
	*pp = p + len;
	return 0;
}

int
keeta_perm_decode(struct keeta_perm *p, const uint8_t *der, size_t len,
    int *canonical, const char **cause)
{
	const uint8_t	*q, *end;
	const char	*why = NULL;
	uint32_t	 base, ext;

	if (len < 2 || der[0] != 0x30 || der[1] >= 0x80 ||
	    (size_t)der[1] != len - 2) {
		why = "permissions: expected SEQUENCE";
		goto fail;
	}
	q = der + 2;
	end = der + len;
	if (perm_get_int(&q, end, &base, &why) != 0 ||
	    perm_get_int(&q, end, &ext, &why) != 0)
		goto fail;
	if (q != end) {
		why = "permissions: trailing data";
		goto fail;
	}
	if (keeta_perm_set(p, base, ext, &why) != 0)
		goto fail;
	if (canonical != NULL)
		*canonical = keeta_perm_is_normal(p);
	keeta_perm_normalise(p);
	return 0;
fail:
	if (cause != NULL)
		*cause = why;
	return -1;
}

cJSON *
keeta_perm_to_json(const struct keeta_perm *p)
{
	cJSON	*a;
	char	 buf[16];

	a = cJSON_CreateArray();
	if (a == NULL)
		fatalx("cJSON_CreateArray failed");
	snprintf(buf, sizeof buf, "0x%X", p->base);
	cJSON_AddItemToArray(a, cJSON_CreateString(buf));
	snprintf(buf, sizeof buf, "0x%X", p->external);
	cJSON_AddItemToArray(a, cJSON_CreateString(buf));
	return a;
}

/* Parse "0x..." hex (either case) into 32 bits. */
static int
perm_parse_hex(const char *s, uint32_t *v)
{
	uint64_t	acc = 0;
	int		digits = 0;
	int		d;

	if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return -1;
	for (s += 2; *s != '\0'; s++) {
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return -1;
		acc = (acc << 4) | (uint64_t)d;
		if (acc > UINT32_MAX)
			return -1;
		digits++;
	}
	if (digits == 0)
		return -1;
	*v = (uint32_t)acc;
	return 0;
}

int
keeta_perm_from_json(struct keeta_perm *p, const cJSON *j, const char **cause)
{
	const cJSON	*b, *e;
	uint32_t	 base, ext;

	if (!cJSON_IsArray(j) || cJSON_GetArraySize(j) != 2 ||
	    (b = cJSON_GetArrayItem(j, 0)) == NULL ||
	    (e = cJSON_GetArrayItem(j, 1)) == NULL ||
	    !cJSON_IsString(b) || !cJSON_IsString(e) ||
	    perm_parse_hex(b->valuestring, &base) != 0 ||
	    perm_parse_hex(e->valuestring, &ext) != 0) {
		if (cause != NULL)
			*cause = "permissions: expected [\"0x..\", \"0x..\"]";
		return -1;
	}
	if (keeta_perm_set(p, base, ext, cause) != 0)
		return -1;
	keeta_perm_normalise(p);
	return 0;
}
