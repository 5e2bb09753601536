/*
 * check_crash: kill -9 at random points, and nothing acknowledged is lost.
 *
 * A child process opens the exchange on a real SQLite file
 * (synchronous=FULL; every other run pipelined, as kdexd runs it) and
 * applies a seeded random stream of commands in batches; once a batch is
 * durable (when exchange_run() returns, or when the ledger's sync thread
 * has passed its ticket: meanwhile the next batches run) it writes one
 * record per command to a pipe: that is the acknowledgement.
 * The parent SIGKILLs the child after a random delay, reopens the
 * exchange (which rebuilds the books and runs exchange_check(): books
 * against ledger, reservations, conservation) and verifies that every
 * acknowledged command is in the ledger: placed orders exist, cancelled
 * ones are no longer live, credited deposits and queued withdrawals
 * exist, and no order id was ever handed out twice.  55 kills.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exchange.h"
#include "ledger.h"
#include "market.h"
#include "money.h"
#include "util.h"

/* One acknowledged command, as the child reports it. */
struct ack {
	int32_t		type;	/* enum exchange_cmd_type */
	int32_t		reject;	/* enum exchange_reject */
	int64_t		id;
	int64_t		user;
	int64_t		order;	/* CANCEL: the order cancelled */
};

static uint64_t
rnd(uint64_t *s)
{
	uint64_t	z;

	*s += 0x9e3779b97f4a7c15ULL;
	z = *s;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
market_config(struct market_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	snprintf(cfg->base.address, sizeof cfg->base.address, "keeta_kta");
	snprintf(cfg->base.symbol, sizeof cfg->base.symbol, "KTA");
	cfg->base.decimals = 6;
	snprintf(cfg->quote.address, sizeof cfg->quote.address, "keeta_usdc");
	snprintf(cfg->quote.symbol, sizeof cfg->quote.symbol, "USDC");
	cfg->quote.decimals = 6;
	cfg->tick_size = 1000;
	cfg->lot_size = 1000;
	cfg->min_lots = 1;
	cfg->maker_fee_ppm = -100;
	cfg->taker_fee_ppm = 800;
	cfg->status = MARKET_OPEN;
	cfg->max_price_ticks = 1000000;
	cfg->max_qty_lots = 1000000;
	cfg->limits.max_orders = 4000;
	cfg->limits.max_levels = 400;
	cfg->limits.max_orders_per_user = 2000;
}

static void
write_all(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			_exit(3);
		}
		p += n;
		len -= (size_t)n;
	}
}

/* Acknowledgements held until their batch is durable. */
struct held {
	struct ack	*a;
	uint64_t	*ticket;
	size_t		 n, cap;
};

static void
held_flush(struct held *h, uint64_t durable, int fd)
{
	size_t	i = 0;

	while (i < h->n && h->ticket[i] <= durable)
		i++;
	write_all(fd, h->a, i * sizeof *h->a);
	memmove(h->a, h->a + i, (h->n - i) * sizeof *h->a);
	memmove(h->ticket, h->ticket + i, (h->n - i) * sizeof *h->ticket);
	h->n -= i;
}

static void
held_add(struct held *h, const struct ack *a, uint64_t ticket)
{
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 256;
		h->a = xreallocarray(h->a, h->cap, sizeof *h->a);
		h->ticket = xreallocarray(h->ticket, h->cap,
		    sizeof *h->ticket);
	}
	h->a[h->n] = *a;
	h->ticket[h->n++] = ticket;
}

static struct ledger_options *
options(int pipelined)
{
	static struct ledger_options	o;

	memset(&o, 0, sizeof o);
	o.synchronous = 2;
	o.pipelined = pipelined != 0;
	return &o;
}

/* The child: never returns. */
static void __attribute__((noreturn))
child(const char *path, uint64_t seed, int fd, int pipelined)
{
	struct held		 h;
	struct exchange		*ex;
	struct exchange_cmd	 c;
	struct exchange_out	 out;
	struct market_config	 cfg;
	struct ack		 a;
	struct ledger		*l;
	int64_t			 mkt, users[4], base, quote, live[512];
	size_t			 nlive = 0, i, k;
	uint64_t		 s = seed, now;
	char			*cause = NULL, addr[32];
	struct ledger_market	 lm;
	int			 b;

	memset(&h, 0, sizeof h);
	if ((ex = exchange_open(path, options(pipelined), &cause)) == NULL) {
		fprintf(stderr, "child: open: %s\n", cause);
		_exit(2);
	}
	l = exchange_ledger(ex);
	market_config(&cfg);
	if (exchange_market_add(ex, &cfg, &mkt, &cause) != 0)
		_exit(2);
	ledger_market_get(l, mkt, &lm);
	base = lm.base_token;
	quote = lm.quote_token;
	for (i = 0; i < 4; i++) {
		snprintf(addr, sizeof addr, "keeta_user%zu", i);
		if (ledger_user_add(l, addr, "ed25519", &users[i]) ==
		    LEDGER_ERR)
			_exit(2);
		/* Funding is idempotent: the same block every run. */
		memset(&c, 0, sizeof c);
		c.type = EXCHANGE_DEPOSIT;
		c.user = users[i];
		c.amount = (u128)1000000000000ULL;
		c.token = base;
		snprintf(c.ref, sizeof c.ref, "fund-%zu", i);
		exchange_submit(ex, &c);
		c.token = quote;
		c.op_index = 1;
		exchange_submit(ex, &c);
	}
	now = (uint64_t)time(NULL) * 1000;
	if (exchange_run(ex, now, &out, &cause) != 0)
		_exit(2);
	ledger_sync_wait(l, out.ticket);
	/* Ready: open and funded; the parent may start its clock. */
	memset(&a, 0, sizeof a);
	a.type = -1;
	write_all(fd, &a, sizeof a);

	for (b = 0;; b++) {
		k = 1 + rnd(&s) % 40;
		for (i = 0; i < k; i++) {
			uint64_t r = rnd(&s) % 100;

			memset(&c, 0, sizeof c);
			c.user = users[rnd(&s) % 4];
			c.market = mkt;
			c.tag = r;
			if (r < 60) {
				c.type = EXCHANGE_PLACE;
				c.side = rnd(&s) & 1 ? BOOK_BUY : BOOK_SELL;
				c.order_type = BOOK_LIMIT;
				c.tif = r < 8 ? BOOK_IOC : BOOK_GTC;
				c.price = 900 + rnd(&s) % 200;
				c.qty = 1 + rnd(&s) % 50;
			} else if (r < 85 && nlive > 0) {
				c.type = EXCHANGE_CANCEL;
				c.user = 0;	/* operator: any user's */
				c.order_id = live[rnd(&s) % nlive];
			} else if (r < 92 && nlive > 0) {
				c.type = EXCHANGE_AMEND;
				c.order_id = live[rnd(&s) % nlive];
				c.qty = 1 + rnd(&s) % 20;
				/* Only the owner may amend: usually refused. */
			} else if (r < 97) {
				c.type = EXCHANGE_DEPOSIT;
				c.token = rnd(&s) & 1 ? base : quote;
				c.amount = 1 + rnd(&s) % 1000000;
				snprintf(c.ref, sizeof c.ref, "d-%" PRIx64 "-%d-"
				    "%zu", seed, b, i);
			} else {
				c.type = EXCHANGE_WITHDRAW;
				c.token = rnd(&s) & 1 ? base : quote;
				c.amount = 1 + rnd(&s) % 1000;
				snprintf(c.ref, sizeof c.ref, "w-%" PRIx64 "-%d-"
				    "%zu", seed, b, i);
				snprintf(c.to, sizeof c.to, "keeta_out");
			}
			exchange_submit(ex, &c);
		}
		now += 1 + rnd(&s) % 5;
		if (exchange_run(ex, now, &out, &cause) != 0)
			_exit(4);
		/* Acknowledged once durable; every 8th batch waits for it. */
		for (i = 0; i < out.nresults; i++) {
			const struct exchange_result *r = &out.results[i];

			memset(&a, 0, sizeof a);
			a.type = (int32_t)r->type;
			a.reject = (int32_t)r->reject;
			a.id = r->id;
			held_add(&h, &a, out.ticket);
			if (r->type == EXCHANGE_PLACE &&
			    r->reject == EXCHANGE_OK) {
				if (nlive < 512)
					live[nlive++] = r->id;
				else
					live[rnd(&s) % 512] = r->id;
			}
		}
		if (b % 8 == 7)
			ledger_sync_wait(l, out.ticket);
		held_flush(&h, ledger_durable(l), fd);
	}
}

static int
cmp64(const void *a, const void *b)
{
	int64_t	x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

START_TEST(test_kill9)
{
	char			 dir[64], path[96], cmd[128], *cause = NULL;
	struct exchange		*ex;
	struct ack		 a;
	struct ledger		*l;
	struct ledger_order	 o;
	struct ledger_deposit	 d;
	struct ledger_withdrawal w;
	int64_t			*ids = NULL;
	size_t			 nids = 0, capids = 0, acked = 0, i;
	uint64_t		 s = 2024;
	int			 kills, k, fds[2], status;
	pid_t			 pid;
	ssize_t			 n;
	const char		*env;
	time_t			 start = time(NULL);

	kills = 55;
	if ((env = getenv("KDEX_CRASH_KILLS")) != NULL)
		kills = atoi(env);
	snprintf(dir, sizeof dir, "/tmp/check_crash.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/ledger.db", dir);

	for (k = 0; k < kills; k++) {
		ck_assert_int_eq(pipe(fds), 0);
		if ((pid = fork()) == -1)
			ck_abort_msg("fork");
		if (pid == 0) {
			close(fds[0]);
			child(path, rnd(&s), fds[1], k & 1);
		}
		close(fds[1]);
		/*
		 * One kill in five lands anywhere from the fork on (opening,
		 * recovering the WAL, rebuilding the books); the others let
		 * the child get ready first and then land within 0..200 ms of
		 * batches (matching, committing, acknowledging).  Waiting for
		 * the ready record keeps this meaningful on a loaded machine.
		 */
		if (k % 5 == 0)
			usleep((useconds_t)(rnd(&s) % 100000));
		else {
			struct pollfd	pfd = { fds[0], POLLIN, 0 };

			ck_assert_int_eq(poll(&pfd, 1, 30000), 1);
			usleep((useconds_t)(rnd(&s) % 200000));
		}
		kill(pid, SIGKILL);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFSIGNALED(status) &&
		    WTERMSIG(status) == SIGKILL, "child exited by itself "
		    "(status %d)", status);

		/* What it acknowledged before it died; then check it all. */
		ex = exchange_open(path, options(k & 2), &cause);
		ck_assert_msg(ex != NULL, "reopen after kill %d: %s", k, cause);
		l = exchange_ledger(ex);
		while ((n = read(fds[0], &a, sizeof a)) == (ssize_t)sizeof a) {
			if (a.type == -1)
				continue;	/* the ready record */
			acked++;
			if (a.reject != EXCHANGE_OK)
				continue;
			switch (a.type) {
			case EXCHANGE_PLACE:
				ck_assert_int_eq(ledger_order_get(l, a.id, &o),
				    LEDGER_OK);
				if (nids == capids) {
					capids = capids ? capids * 2 : 1024;
					ids = xreallocarray(ids, capids,
					    sizeof *ids);
				}
				ids[nids++] = a.id;
				break;
			case EXCHANGE_CANCEL:
				ck_assert_int_eq(ledger_order_get(l, a.id, &o),
				    LEDGER_OK);
				ck_assert(!ledger_order_status_live(o.status));
				break;
			case EXCHANGE_DEPOSIT:
				ck_assert_int_eq(ledger_deposit_get(l, a.id,
				    &d), LEDGER_OK);
				ck_assert_int_eq(d.status,
				    LEDGER_DEPOSIT_CREDITED);
				break;
			case EXCHANGE_WITHDRAW:
				ck_assert_int_eq(ledger_withdrawal_get(l, a.id,
				    &w), LEDGER_OK);
				break;
			default:
				break;
			}
		}
		ck_assert_msg(n == 0, "torn acknowledgement record");
		close(fds[0]);
		ck_assert_int_eq(exchange_check(ex, NULL, NULL), 0);
		exchange_close(ex);
	}
	/* Ids are never handed out twice, across all the crashes. */
	if (nids > 1)
		qsort(ids, nids, sizeof *ids, cmp64);
	for (i = 1; i < nids; i++)
		ck_assert_int_ne(ids[i - 1], ids[i]);
	ck_assert_msg(nids > 20, "too little progress: %zu orders", nids);
	fprintf(stderr, "check_crash: %d kills, %zu acknowledged commands, "
	    "%zu orders, %ld s\n", kills, acked, nids,
	    (long)(time(NULL) - start));
	free(ids);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static Suite *
crash_suite(void)
{
	Suite	*s = suite_create("crash");
	TCase	*tc = tcase_create("kill9");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_kill9);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(crash_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
