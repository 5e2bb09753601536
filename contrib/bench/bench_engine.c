/*
 * bench_engine: the standard matching workload (contrib/bench/README.md) on
 * one kdex book.
 *
 * The stream is decoded into arrays first; then one timed pass for
 * throughput (a clock read before and after), a second pass on a fresh book
 * with a clock read around every command for latency percentiles. Both
 * passes must reproduce the reference model's fill_hash. bench_loop is the
 * function callgrind counts (--toggle-collect=bench_loop).
 *
 * usage: bench_engine [-c] [-q] N
 *   -c  throughput pass only (for callgrind)
 *   -q  no latency pass
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "book.h"
#include "market.h"
#include "util.h"

#define SEED	42
#define MID	100000
#define BAND	50
#define MAXQ	100

enum cmd_kind { C_ADD, C_CANCEL, C_CROSS };

struct cmd {
	uint8_t		 kind;
	uint8_t		 buy;
	uint32_t	 price;
	uint32_t	 qty;
	uint64_t	 r1;
};

struct run {
	struct book	*book;
	struct book_place tmpl;
	uint32_t	*live;		/* live ids */
	uint32_t	*pos;		/* id -> index in live */
	uint32_t	 nlive;
	uint64_t	 hash;
	uint64_t	 fills;
	uint64_t	 fill_qty;
	uint64_t	 rested;
	uint64_t	 cancels_done;
	uint64_t	 cancel_noop;
};

static uint64_t
splitmix64(uint64_t *s)
{
	uint64_t	z;

	*s += 0x9e3779b97f4a7c15ULL;
	z = *s;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
live_remove(struct run *r, uint32_t id)
{
	uint32_t	p = r->pos[id], last = r->live[r->nlive - 1];

	r->live[p] = last;
	r->pos[last] = p;
	r->nlive--;
}

/* Order ids are command index + 1 (the book reserves 0). */
static void
sink(void *arg, const struct book_event *ev)
{
	struct run	*r = arg;
	uint64_t	 v[4];
	int		 i;

	/* Only two kinds matter here; test for them first. */
	if (ev->type == BOOK_EV_RESTED) {
		r->pos[ev->rested.id - 1] = r->nlive;
		r->live[r->nlive++] = (uint32_t)(ev->rested.id - 1);
		r->rested++;
	} else if (ev->type == BOOK_EV_TRADE) {
		v[0] = ev->trade.taker_id - 1;
		v[1] = ev->trade.maker_id - 1;
		v[2] = ev->trade.price;
		v[3] = ev->trade.qty;
		for (i = 0; i < 4; i++) {
			r->hash ^= v[i];
			r->hash *= 0x100000001b3ULL;
		}
		r->fills++;
		r->fill_qty += ev->trade.qty;
		if (ev->trade.maker_left == 0)
			live_remove(r, (uint32_t)(ev->trade.maker_id - 1));
	}
}

static void
run_init(struct run *r, const struct market *m, size_t n)
{
	memset(r, 0, sizeof *r);
	r->book = book_create(m, 1, sink, r);
	r->live = xcalloc(n, sizeof *r->live);
	r->pos = xcalloc(n, sizeof *r->pos);
	/* Fault the pages in before timing. */
	memset(r->live, 0, n * sizeof *r->live);
	memset(r->pos, 0, n * sizeof *r->pos);
	r->hash = 0xcbf29ce484222325ULL;
	r->tmpl.type = BOOK_LIMIT;
	r->tmpl.tif = BOOK_GTC;
	r->tmpl.stp = BOOK_STP_CANCEL_TAKER;
}

static void
run_free(struct run *r)
{
	book_free(r->book);
	free(r->live);
	free(r->pos);
}

static inline void
one(struct run *r, const struct cmd *c, uint32_t i)
{
	struct book_place	*p;
	uint32_t		 id;

	if (c->kind == C_CANCEL) {
		if (r->nlive == 0) {
			r->cancel_noop++;
			return;
		}
		id = r->live[c->r1 % r->nlive];
		if (book_cancel(r->book, i, BOOK_ANY_USER, (uint64_t)id + 1) !=
		    BOOK_OK)
			fatalx("cancel of %u refused", id);
		live_remove(r, id);
		r->cancels_done++;
		return;
	}
	/* A plain GTC limit order; only these fields change. */
	p = &r->tmpl;
	p->id = (uint64_t)i + 1;
	p->user = (uint64_t)i + 1;	/* no self-trades, like the model */
	p->side = c->buy ? BOOK_BUY : BOOK_SELL;
	p->price = c->price;
	p->qty = c->qty;
	if (book_place(r->book, i, p) != BOOK_OK)
		fatalx("place %u refused", i);
}

/* The timed loop; callgrind counts from here. */
__attribute__((noinline)) void bench_loop(struct run *, const struct cmd *,
    uint32_t);
__attribute__((noinline)) void
bench_loop(struct run *r, const struct cmd *cmds, uint32_t n)
{
	uint32_t	i;

	for (i = 0; i < n; i++)
		one(r, &cmds[i], i);
}

static uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t
cpu_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest value with at least q of all at or below. */
static uint64_t
rank(const uint64_t *v, size_t n, double q)
{
	size_t	k = (size_t)((double)n * q);

	if ((double)k < (double)n * q)
		k++;
	if (k == 0)
		k = 1;
	return v[k - 1];
}

/* Resting orders on one side, from the depth snapshot. */
static size_t
side_orders(const struct book *b, enum book_side side)
{
	struct book_level	lv[1024];
	size_t			i, n, sum = 0;

	n = book_depth(b, side, lv, 1024);
	for (i = 0; i < n; i++)
		sum += lv[i].orders;
	return sum;
}

static void
print_check(const char *what, const struct run *r, uint32_t n)
{
	printf("%s n=%u fills=%" PRIu64 " fill_qty=%" PRIu64 " rested=%"
	    PRIu64 " cancels_done=%" PRIu64 " cancel_noop=%" PRIu64
	    " live_end=%u bids_end=%zu asks_end=%zu fill_hash=%016" PRIx64 "\n",
	    what, n, r->fills, r->fill_qty, r->rested, r->cancels_done,
	    r->cancel_noop, r->nlive, side_orders(r->book, BOOK_BUY),
	    side_orders(r->book, BOOK_SELL), r->hash);
}

int
main(int argc, char **argv)
{
	struct market_config	 cfg;
	struct market		 m;
	struct cmd		*cmds;
	struct run		 r;
	uint64_t		 s = SEED, r0, r1, r2, t0, t1, c0, c1, *lat;
	uint32_t		 n, i, k, off;
	char			*cause;
	int			 ch, callgrind = 0, quiet = 0;
	double			 secs;

	while ((ch = getopt(argc, argv, "cq")) != -1) {
		switch (ch) {
		case 'c':
			callgrind = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		default:
			fprintf(stderr, "usage: bench_engine [-cq] N\n");
			return 1;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: bench_engine [-cq] N\n");
		return 1;
	}
	n = (uint32_t)strtoul(argv[optind], NULL, 10);
	if (n == 0 || n > 100000000)
		fatalx("bad N");

	/* Integer market: 1 tick = 1 quote unit, 1 lot = 1 base unit. */
	memset(&cfg, 0, sizeof cfg);
	strcpy(cfg.base.symbol, "BASE");
	strcpy(cfg.quote.symbol, "QUOTE");
	cfg.tick_size = 1;
	cfg.lot_size = 1;
	cfg.min_lots = 1;
	cfg.max_price_ticks = 1000000;
	cfg.max_qty_lots = 1000000;
	/* The live set peaks near 0.2 orders per command (README). */
	cfg.limits.max_orders = n < (1u << 18) ? n : (1u << 18);
	cfg.limits.max_levels = 1024;
	cfg.limits.max_orders_per_user = 1;
	if (market_init(&m, &cfg, &cause) != 0)
		fatalx("market: %s", cause);

	cmds = xcalloc(n, sizeof *cmds);
	for (i = 0; i < n; i++) {
		r0 = splitmix64(&s);
		r1 = splitmix64(&s);
		r2 = splitmix64(&s);
		k = (uint32_t)(r0 % 100);
		cmds[i].buy = (r1 & 1) == 1;
		cmds[i].qty = (uint32_t)(1 + r2 % MAXQ);
		cmds[i].r1 = r1;
		if (k < 60) {
			cmds[i].kind = C_ADD;
			off = (uint32_t)(1 + ((r1 >> 1) % BAND));
			cmds[i].price = cmds[i].buy ? MID - off : MID + off;
		} else if (k < 90)
			cmds[i].kind = C_CANCEL;
		else {
			cmds[i].kind = C_CROSS;
			cmds[i].price = cmds[i].buy ? MID + BAND : MID - BAND;
		}
	}

	/* Throughput. */
	run_init(&r, &m, n);
	c0 = cpu_ns();
	t0 = now_ns();
	bench_loop(&r, cmds, n);
	t1 = now_ns();
	c1 = cpu_ns();
	secs = (double)(t1 - t0) / 1e9;
	print_check("check", &r, n);
	if (book_order_count(r.book) != r.nlive)
		fatalx("book holds %zu orders, live set %u",
		    book_order_count(r.book), r.nlive);
	/* CPU time too: on a busy shared machine wall time includes waiting. */
	printf("throughput n=%u seconds=%.6f ops_per_s=%.0f cpu_seconds=%.6f "
	    "cpu_ops_per_s=%.0f\n", n, secs, (double)n / secs,
	    (double)(c1 - c0) / 1e9, (double)n / ((double)(c1 - c0) / 1e9));
	run_free(&r);
	if (callgrind || quiet) {
		free(cmds);
		return 0;
	}

	/* Latency: a clock read around every command. */
	lat = xcalloc(n, sizeof *lat);
	run_init(&r, &m, n);
	for (i = 0; i < n; i++) {
		t0 = now_ns();
		one(&r, &cmds[i], i);
		lat[i] = now_ns() - t0;
	}
	print_check("check-latency", &r, n);
	qsort(lat, n, sizeof *lat, cmp_u64);
	printf("latency n=%u p50_us=%.3f p99_us=%.3f p999_us=%.3f "
	    "max_us=%.3f\n", n, (double)rank(lat, n, 0.50) / 1e3,
	    (double)rank(lat, n, 0.99) / 1e3,
	    (double)rank(lat, n, 0.999) / 1e3, (double)lat[n - 1] / 1e3);
	run_free(&r);
	free(lat);
	free(cmds);
	return 0;
}
