/*
 * mdata: live market data for the screen (see mdata.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdata.h"

void
mdata_init(struct mdata *m, const char *pair, unsigned int price_dec,
    unsigned int qty_dec)
{
	char	copy[sizeof m->pair];

	/* pair may be m->pair itself (a reset keeps the market). */
	snprintf(copy, sizeof copy, "%s", pair);
	memset(m, 0, sizeof *m);
	memcpy(m->pair, copy, sizeof m->pair);
	m->price_dec = price_dec;
	m->qty_dec = qty_dec;
}

static void
mdata_clear_book(struct mdata *m)
{
	m->have_book = 0;
	m->nbids = m->nasks = 0;
	m->seq = 0;
}

/* Parse [price, qty] into l; -1 on anything malformed. */
static int
mdata_level_parse(const struct mdata *m, const cJSON *pq,
    struct mdata_level *l)
{
	const char	*p, *q;

	if (!cJSON_IsArray(pq) || cJSON_GetArraySize(pq) != 2)
		return -1;
	p = cJSON_GetStringValue(cJSON_GetArrayItem(pq, 0));
	q = cJSON_GetStringValue(cJSON_GetArrayItem(pq, 1));
	if (p == NULL || q == NULL || strlen(p) >= sizeof l->price ||
	    strlen(q) >= sizeof l->qty)
		return -1;
	if (money_parse(&l->p, p, m->price_dec) != MONEY_OK ||
	    money_parse(&l->q, q, m->qty_dec) != MONEY_OK)
		return -1;
	strcpy(l->price, p);
	strcpy(l->qty, q);
	return 0;
}

/* Set one level on a side kept best first (bids: high to low). */
static int
mdata_set(struct mdata_level *side, size_t *n, const struct mdata_level *l,
    int desc)
{
	size_t	i;

	for (i = 0; i < *n; i++) {
		if (side[i].p == l->p) {
			if (l->q == 0) {
				memmove(&side[i], &side[i + 1],
				    (*n - i - 1) * sizeof *side);
				(*n)--;
			} else
				side[i] = *l;
			return 0;
		}
		if (desc ? side[i].p < l->p : side[i].p > l->p)
			break;
	}
	if (l->q == 0)
		return 0;	/* removing a level we do not show */
	if (*n == MDATA_LEVELS_MAX) {
		/* Full: keep the best levels, drop the worst. */
		if (i == *n)
			return 0;
		(*n)--;
	}
	memmove(&side[i + 1], &side[i], (*n - i) * sizeof *side);
	side[i] = *l;
	(*n)++;
	return 0;
}

static int
mdata_apply_side(struct mdata *m, const cJSON *arr, int bids)
{
	const cJSON		*pq;
	struct mdata_level	 l;

	if (arr == NULL)
		return 0;
	if (!cJSON_IsArray(arr))
		return -1;
	cJSON_ArrayForEach(pq, arr) {
		if (mdata_level_parse(m, pq, &l) != 0)
			return -1;
		if (bids)
			mdata_set(m->bids, &m->nbids, &l, 1);
		else
			mdata_set(m->asks, &m->nasks, &l, 0);
	}
	return 0;
}

enum mdata_result
mdata_book(struct mdata *m, const cJSON *msg, int snapshot)
{
	const cJSON	*seqj;
	uint64_t	 seq;

	seqj = cJSON_GetObjectItemCaseSensitive(msg, "seq");
	if (!cJSON_IsNumber(seqj) || seqj->valuedouble < 0)
		goto gap;
	seq = (uint64_t)seqj->valuedouble;
	if (snapshot) {
		mdata_clear_book(m);
		m->have_book = 1;
	} else {
		if (!m->have_book)
			return MDATA_IGNORED;
		if (seq <= m->seq)
			return MDATA_IGNORED;	/* already in the snapshot */
		if (seq != m->seq + 1)
			goto gap;
	}
	m->seq = seq;
	if (mdata_apply_side(m, cJSON_GetObjectItemCaseSensitive(msg, "bids"),
	    1) != 0 ||
	    mdata_apply_side(m, cJSON_GetObjectItemCaseSensitive(msg, "asks"),
	    0) != 0)
		goto gap;
	/* A crossed book means we missed something. */
	if (m->nbids > 0 && m->nasks > 0 && m->bids[0].p >= m->asks[0].p)
		goto gap;
	return MDATA_CHANGED;
gap:
	mdata_clear_book(m);
	m->gaps++;
	return MDATA_GAP;
}

enum mdata_result
mdata_trade(struct mdata *m, const cJSON *t)
{
	struct mdata_trade	 tr;
	const char		*id, *p, *q, *side;
	const cJSON		*ts, *idj;
	char			 idbuf[32];
	size_t			 i;

	memset(&tr, 0, sizeof tr);
	idj = cJSON_GetObjectItemCaseSensitive(t, "id");
	if (cJSON_IsNumber(idj)) {
		snprintf(idbuf, sizeof idbuf, "%.0f", idj->valuedouble);
		id = idbuf;
	} else
		id = cJSON_GetStringValue(idj);
	p = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "price"));
	q = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "qty"));
	side = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t,
	    "taker_side"));
	ts = cJSON_GetObjectItemCaseSensitive(t, "ts");
	if (id == NULL || p == NULL || q == NULL || strlen(id) >= sizeof tr.id
	    || strlen(p) >= sizeof tr.price || strlen(q) >= sizeof tr.qty)
		return MDATA_IGNORED;
	for (i = 0; i < m->ntrades; i++)
		if (strcmp(m->trades[i].id, id) == 0)
			return MDATA_IGNORED;
	strcpy(tr.id, id);
	strcpy(tr.price, p);
	strcpy(tr.qty, q);
	tr.buy = side != NULL && strcmp(side, "buy") == 0;
	tr.ts = cJSON_IsNumber(ts) ? (int64_t)ts->valuedouble : 0;
	/* Newest first; REST lists come newest first, so callers feed
	 * them oldest first. */
	if (m->ntrades == MDATA_TRADES_MAX)
		m->ntrades--;
	memmove(&m->trades[1], &m->trades[0], m->ntrades * sizeof tr);
	m->trades[0] = tr;
	m->ntrades++;
	return MDATA_CHANGED;
}

int
mdata_deccmp(const char *a, const char *b)
{
	const char	*da, *db;
	size_t		 ia, ib;
	int		 c;

	while (*a == '0' && a[1] != '.' && a[1] != '\0')
		a++;
	while (*b == '0' && b[1] != '.' && b[1] != '\0')
		b++;
	da = strchr(a, '.');
	db = strchr(b, '.');
	ia = da != NULL ? (size_t)(da - a) : strlen(a);
	ib = db != NULL ? (size_t)(db - b) : strlen(b);
	if (ia != ib)
		return ia < ib ? -1 : 1;
	if ((c = strncmp(a, b, ia)) != 0)
		return c;
	a += ia + (da != NULL);
	b += ib + (db != NULL);
	while (*a != '\0' || *b != '\0') {
		char	ca = *a != '\0' ? *a++ : '0';
		char	cb = *b != '\0' ? *b++ : '0';

		if (ca != cb)
			return ca < cb ? -1 : 1;
	}
	return 0;
}
