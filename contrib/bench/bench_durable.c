/*
 * bench_durable: engine + ledger, durable.  How many orders per second are
 * acknowledged when every acknowledgement waits for its batch's SQLite
 * commit with synchronous=FULL (group commit), and how long a command
 * waits from submission to its durable acknowledgement.
 *
 * Workload: the kdex-std generator (contrib/bench/README.md: splitmix64,
 * seed 42, 60 % passive adds, 30 % cancels, 10 % crossing orders around
 * mid 100000 ticks) on one market, spread over 1000 funded users.  Each
 * ADD or CROSS is a place, each CANCEL cancels a random live order among
 * those already acknowledged.  Every command counts as an order.
 *
 * Loop (closed, one thread, as kdexd's event loop would run it): queue a
 * batch of up to B commands, exchange_run() (match + one transaction +
 * fsync), acknowledge.  Commands of batch k are taken to have arrived
 * evenly spread over the run of batch k-1 (they queue while it commits),
 * so a command's latency is the end of its batch's commit minus its
 * arrival; p99 is over all commands.
 *
 * Usage: bench_durable [-n commands] [-b batch] [-s synchronous] [-d dir]
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

/* Live acknowledged orders: array with swap-remove, index by id. */
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
	size_t			 n = 200000, bmax = 4096, done = 0, i, k,
				 fills = 0;
	uint64_t		 clock_ms = 1700000000000ULL;
	int			 ch, sync = 2;
	struct ledger_market	 lm;

	while ((ch = getopt(argc, argv, "n:b:s:d:")) != -1) {
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
		case 'd':
			dir = optarg;
			break;
		default:
			fprintf(stderr, "usage: bench_durable [-n commands] "
			    "[-b batch] [-s synchronous] [-d dir]\n");
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
	if ((ex = exchange_open(path, &opts, &cause)) == NULL)
		fatalx("open: %s", cause);

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
	    "<= %zu, synchronous=%d, WAL\n", n, USERS, bmax, sync);
	fflush(stdout);

	lat = xreallocarray(NULL, n, sizeof *lat);
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
		/* Arrivals spread over the previous batch's run. */
		for (i = 0; i < k; i++) {
			double	arr = t_prev_start + (t_prev_end -
			    t_prev_start) * ((double)i + 0.5) / (double)k;

			if (done == 0)
				arr = t_start;
			lat[done + i] = t_end - arr;
		}
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
	elapsed = now_ms() - t0;
	cpu0 = cpu_ms() - cpu0;
	qsort(lat, n, sizeof *lat, cmp_double);
	p50 = lat[n / 2];
	p99 = lat[(size_t)((double)n * 0.99)];
	if (exchange_check(ex, NULL, NULL) != 0)
		fatalx("ledger check failed after the run");
	printf("load average %.2f at start, %.2f at end\n", load0, loadavg());
	printf("commands %zu, fills %zu, live at end %zu, %.0f ms wall, "
	    "%.0f ms cpu (%.1f us/command), p50_ack_ms=%.2f, ledger check "
	    "ok\n", n, fills, lv.n, elapsed, cpu0, cpu0 * 1e3 / (double)n,
	    p50);
	printf("durable orders_per_s=%.0f p99_ack_ms=%.2f\n",
	    (double)n / (elapsed / 1e3), p99);
	exchange_close(ex);
	free(lat);
	free(lv.ids);
	free(lv.pos);
	snprintf(path, sizeof path, "rm -rf '%s'", tmpl);
	if (system(path) != 0)
		fprintf(stderr, "bench_durable: cannot remove %s\n", tmpl);
	return 0;
}
