/*
 * bench_durable: engine + ledger, durable.  How many orders per second are
 * acknowledged when every acknowledgement waits for its batch to be on
 * disk (synchronous=FULL semantics, group commit), and how long a command
 * waits from submission to its durable acknowledgement.
 *
 * Workload: the kdex-std generator (contrib/bench/README.md: splitmix64,
 * seed 42, 60 % passive adds, 30 % cancels, 10 % crossing orders around
 * mid 100000 ticks) on one market, spread over 1000 funded users.  Each
 * ADD or CROSS is a place, each CANCEL cancels a random live order among
 * those already committed.  Every command counts as an order.
 *
 * Loop (closed, one thread, as kdexd's event loop runs it): queue a batch
 * of up to B commands, exchange_run() (match + one transaction), and, with
 * the ledger pipelined (the default, as in kdexd), go on with the next
 * batch while the ledger's sync thread fdatasync()s the WAL; a batch is
 * acknowledged when its ticket is durable, at the time the sync thread
 * reports it.  With -P 0 each exchange_run() waits for its own fsync
 * (synchronous=FULL inside COMMIT).  Commands of batch k are taken to have
 * arrived evenly spread over the run of batch k-1 (they queue meanwhile),
 * so a command's latency is its batch's durable time minus its arrival;
 * p99 is over all commands, and the run ends when the last batch is
 * durable.
 *
 * Usage: bench_durable [-n commands] [-b batch] [-s synchronous]
 *        [-P 0|1] [-d dir]
 * Last line: durable orders_per_s=N p99_ack_ms=X
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/utsname.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "exchange.h"
#include "ledger.h"
#include "market.h"
#include "money.h"
#include "util.h"

#define MID	100000
#define USERS	1000

static uint64_t	rng = 42;

static uint64_t
next(void)
{
	uint64_t	z;

	rng += 0x9e3779b97f4a7c15ULL;
	z = rng;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* CPU time of this process so far (user + system), ms. */
static double
cpu_ms(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

/* The 1-minute load average: the machine is shared, figures need it. */
static double
loadavg(void)
{
	FILE	*fp;
	double	 v = -1;

	if ((fp = fopen("/proc/loadavg", "r")) != NULL) {
		if (fscanf(fp, "%lf", &v) != 1)
			v = -1;
		fclose(fp);
	}
	return v;
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
machine(void)
{
	struct utsname	 u;
	FILE		*fp;
	char		 line[256], *p;

	if (uname(&u) == 0)
		printf("machine: %s %s %s, %ld cpus\n", u.sysname, u.release,
		    u.machine, sysconf(_SC_NPROCESSORS_ONLN));
	if ((fp = fopen("/proc/cpuinfo", "r")) != NULL) {
		while (fgets(line, sizeof line, fp) != NULL) {
			if (strncmp(line, "model name", 10) == 0 &&
			    (p = strchr(line, ':')) != NULL) {
				printf("cpu:%s", p + 1);
				break;
			}
		}
		fclose(fp);
	}
	printf("sqlite: %s\n", sqlite3_libversion());
}

/*
 * When each ticket became durable, written by the ledger's sync thread
 * (pipelined) or by the loop (not); read after the thread is joined.
 */
struct acks {
	struct ledger	*l;
	double		*at;
	size_t		 cap;
	uint64_t	 seen;
};

static void
acks_mark(struct acks *a, uint64_t upto)
{
	double	t = now_ms();

	while (a->seen < upto) {
		a->seen++;
		if (a->seen < a->cap)
			a->at[a->seen] = t;
	}
}

static void
on_durable(void *arg)
{
	struct acks	*a = arg;

	acks_mark(a, ledger_durable(a->l));
}

/* A batch: its commands, its ticket, its arrivals' window. */
struct batch {
	size_t		 first, k;
	uint64_t	 ticket;
	double		 arr0, arr1;
};

/* Live committed orders: array with swap-remove, index by id. */
struct live {
	int64_t		*ids;
	size_t		 n, cap;
	uint32_t	*pos;	/* id -> index + 1; 0 if not live */
	size_t		 maxid;
};

static void
live_add(struct live *lv, int64_t id)
{
	if ((size_t)id >= lv->maxid) {
		size_t	n = (size_t)id * 2 + 1024;

		lv->pos = xreallocarray(lv->pos, n, sizeof *lv->pos);
		memset(lv->pos + lv->maxid, 0, (n - lv->maxid) *
		    sizeof *lv->pos);
		lv->maxid = n;
	}
	if (lv->pos[id] != 0)
		return;
	if (lv->n == lv->cap) {
		lv->cap = lv->cap ? lv->cap * 2 : 4096;
		lv->ids = xreallocarray(lv->ids, lv->cap, sizeof *lv->ids);
	}
	lv->ids[lv->n++] = id;
	lv->pos[id] = (uint32_t)lv->n;
}

static void
live_del(struct live *lv, int64_t id)
{
	uint32_t	p;
	int64_t		last;

	if ((size_t)id >= lv->maxid || (p = lv->pos[id]) == 0)
		return;
	last = lv->ids[--lv->n];
	lv->ids[p - 1] = last;
	lv->pos[last] = p;
	lv->pos[id] = 0;
}

int
main(int argc, char **argv)
{
	struct ledger_options	 opts;
	struct market_config	 cfg;
	struct exchange		*ex;
	struct exchange_cmd	 c;
	struct exchange_out	 out;
	struct live		 lv;
	const char		*dir = ".";
	char			 tmpl[512], path[600], *cause = NULL;
	double			*lat, t0, t_prev_start, t_prev_end, t_start,
				 t_end, elapsed, p50, p99, cpu0, load0;
	int64_t			 mkt, users[USERS], base, quote;
	size_t			 n = 200000, bmax = 4096, done = 0, i, j, k,
				 fills = 0, nb = 0;
	uint64_t		 clock_ms = 1700000000000ULL;
	int			 ch, sync = 2, pipelined = 1;
	struct ledger_market	 lm;
	struct acks		 acks;
	struct batch		*bs;

	while ((ch = getopt(argc, argv, "n:b:s:P:d:")) != -1) {
		switch (ch) {
		case 'n':
			n = (size_t)strtoull(optarg, NULL, 10);
			break;
		case 'b':
			bmax = (size_t)strtoull(optarg, NULL, 10);
			break;
		case 's':
			sync = atoi(optarg);
			break;
		case 'P':
			pipelined = atoi(optarg) != 0;
			break;
		case 'd':
			dir = optarg;
			break;
		default:
			fprintf(stderr, "usage: bench_durable [-n commands] "
			    "[-b batch] [-s synchronous] [-P 0|1] [-d dir]\n");
			return 1;
		}
	}
	if (n == 0 || bmax == 0 || bmax > EXCHANGE_QUEUE_MAX)
		fatalx("bad -n or -b");
	snprintf(tmpl, sizeof tmpl, "%s/bench_durable.XXXXXX", dir);
	if (mkdtemp(tmpl) == NULL)
		fatal("mkdtemp %s", tmpl);
	snprintf(path, sizeof path, "%s/ledger.db", tmpl);
	memset(&opts, 0, sizeof opts);
	opts.synchronous = sync;
	opts.pipelined = pipelined;
	if ((ex = exchange_open(path, &opts, &cause)) == NULL)
		fatalx("open: %s", cause);
	pipelined = pipelined && sync >= 2;

	memset(&cfg, 0, sizeof cfg);
	snprintf(cfg.base.address, sizeof cfg.base.address, "keeta_base");
	snprintf(cfg.base.symbol, sizeof cfg.base.symbol, "KTA");
	cfg.base.decimals = 9;
	snprintf(cfg.quote.address, sizeof cfg.quote.address, "keeta_quote");
	snprintf(cfg.quote.symbol, sizeof cfg.quote.symbol, "USDC");
	cfg.quote.decimals = 6;
	/* 0.001 USDC ticks, 0.001 KTA lots: unit = 1000 * 10^6 / 10^9 = 1 */
	cfg.tick_size = 1000;
	cfg.lot_size = 1000000;
	cfg.min_lots = 1;
	cfg.maker_fee_ppm = -100;
	cfg.taker_fee_ppm = 500;
	cfg.status = MARKET_OPEN;
	cfg.max_price_ticks = 10000000;
	cfg.max_qty_lots = 1000000;
	cfg.limits.max_orders = 1u << 18;
	cfg.limits.max_levels = 4096;
	cfg.limits.max_orders_per_user = 1u << 16;
	if (exchange_market_add(ex, &cfg, &mkt, &cause) != 0)
		fatalx("market: %s", cause);
	if (ledger_market_get(exchange_ledger(ex), mkt, &lm) != LEDGER_OK)
		fatalx("market read back");
	base = lm.base_token;
	quote = lm.quote_token;

	/* Register and fund the users (not timed): one transaction. */
	if (ledger_begin(exchange_ledger(ex), &cause) == -1)
		fatalx("begin: %s", cause);
	for (i = 0; i < USERS; i++) {
		char	addr[32];

		snprintf(addr, sizeof addr, "keeta_bench%zu", i);
		if (ledger_user_add(exchange_ledger(ex), addr, "ed25519",
		    &users[i]) == LEDGER_ERR)
			fatalx("user");
	}
	if (ledger_commit(exchange_ledger(ex), &cause) == -1)
		fatalx("commit: %s", cause);
	for (i = 0; i < USERS; i++) {
		memset(&c, 0, sizeof c);
		c.type = EXCHANGE_DEPOSIT;
		c.user = users[i];
		c.token = base;
		c.amount = (u128)1 << 100;
		snprintf(c.ref, sizeof c.ref, "fund%zu", i);
		exchange_submit(ex, &c);
		c.token = quote;
		c.op_index = 1;
		exchange_submit(ex, &c);
	}
	if (exchange_run(ex, clock_ms, &out, &cause) != 0)
		fatalx("fund: %s", cause);

	machine();
	printf("workload: kdex-std generator, %zu commands, %d users, batch "
	    "<= %zu, synchronous=%d, WAL, %s\n", n, USERS, bmax, sync,
	    pipelined ? "pipelined (fsync on the ledger's sync thread)" :
	    "not pipelined (fsync inside COMMIT)");
	fflush(stdout);

	lat = xreallocarray(NULL, n, sizeof *lat);
	bs = xreallocarray(NULL, n + 1, sizeof *bs);
	memset(&acks, 0, sizeof acks);
	acks.l = exchange_ledger(ex);
	acks.cap = out.ticket + n + 2;
	acks.at = xcalloc(acks.cap, sizeof *acks.at);
	acks.seen = out.ticket;
	ledger_sync_wait(acks.l, out.ticket);
	ledger_set_sync_notify(acks.l, on_durable, &acks);
	memset(&lv, 0, sizeof lv);
	load0 = loadavg();
	cpu0 = cpu_ms();
	t0 = now_ms();
	t_prev_start = t_prev_end = t0;
	while (done < n) {
		k = n - done < bmax ? n - done : bmax;
		for (i = 0; i < k; i++) {
			uint64_t r0 = next(), r1 = next(), r2 = next();
			uint64_t kind = r0 % 100;
			int	 buy = (r1 & 1) == 1;

			memset(&c, 0, sizeof c);
			c.user = users[(done + i) % USERS];
			c.market = mkt;
			if (kind >= 60 && kind < 90) {
				c.type = EXCHANGE_CANCEL;
				if (lv.n == 0) {
					/* Nothing live yet: a harmless miss. */
					c.order_id = 1;
				} else
					c.order_id = lv.ids[r1 % lv.n];
				c.user = 0;
			} else {
				c.type = EXCHANGE_PLACE;
				c.side = buy ? BOOK_BUY : BOOK_SELL;
				c.order_type = BOOK_LIMIT;
				c.tif = BOOK_GTC;
				c.qty = 1 + r2 % 100;
				if (kind < 60) {
					uint64_t off = 1 + ((r1 >> 1) % 50);

					c.price = buy ? MID - off : MID + off;
				} else
					c.price = buy ? MID + 50 : MID - 50;
			}
			if (exchange_submit(ex, &c) != 0)
				fatalx("queue full");
		}
		t_start = now_ms();
		clock_ms++;
		if (exchange_run(ex, clock_ms, &out, &cause) != 0)
			fatalx("batch: %s", cause);
		t_end = now_ms();
		if (!pipelined)
			acks_mark(&acks, out.ticket);
		/* Arrivals spread over the previous batch's run. */
		bs[nb].first = done;
		bs[nb].k = k;
		bs[nb].ticket = out.ticket;
		bs[nb].arr0 = done == 0 ? t_start : t_prev_start;
		bs[nb].arr1 = done == 0 ? t_start : t_prev_end;
		nb++;
		for (i = 0; i < out.nevents; i++) {
			const struct book_event *e = &out.events[i].ev;

			switch (e->type) {
			case BOOK_EV_RESTED:
				live_add(&lv, (int64_t)e->rested.id);
				break;
			case BOOK_EV_DONE:
				live_del(&lv, (int64_t)e->done.id);
				break;
			case BOOK_EV_CANCELLED:
				live_del(&lv, (int64_t)e->cancelled.id);
				break;
			case BOOK_EV_TRADE:
				fills++;
				break;
			default:
				break;
			}
		}
		done += k;
		t_prev_start = t_start;
		t_prev_end = t_end;
	}
	ledger_sync_wait(acks.l, bs[nb - 1].ticket);
	cpu0 = cpu_ms() - cpu0;
	if (exchange_check(ex, NULL, NULL) != 0)
		fatalx("ledger check failed after the run");
	/* Joins the sync thread: every acks.at[] is written. */
	exchange_close(ex);
	elapsed = acks.at[bs[nb - 1].ticket] - t0;
	for (j = 0; j < nb; j++) {
		if (acks.at[bs[j].ticket] == 0)
			fatalx("batch %zu: no durable time", j);
		for (i = 0; i < bs[j].k; i++)
			lat[bs[j].first + i] = acks.at[bs[j].ticket] -
			    (bs[j].arr0 + (bs[j].arr1 - bs[j].arr0) *
			    ((double)i + 0.5) / (double)bs[j].k);
	}
	qsort(lat, n, sizeof *lat, cmp_double);
	p50 = lat[n / 2];
	p99 = lat[(size_t)((double)n * 0.99)];
	printf("load average %.2f at start, %.2f at end\n", load0, loadavg());
	printf("commands %zu, fills %zu, live at end %zu, %.0f ms wall, "
	    "%.0f ms cpu (%.1f us/command), p50_ack_ms=%.2f, ledger check "
	    "ok\n", n, fills, lv.n, elapsed, cpu0, cpu0 * 1e3 / (double)n,
	    p50);
	printf("durable orders_per_s=%.0f p99_ack_ms=%.2f\n",
	    (double)n / (elapsed / 1e3), p99);
	free(lat);
	free(bs);
	free(acks.at);
	free(lv.ids);
	free(lv.pos);
	snprintf(path, sizeof path, "rm -rf '%s'", tmpl);
	if (system(path) != 0)
		fprintf(stderr, "bench_durable: cannot remove %s\n", tmpl);
	return 0;
}
