/*
 * screen: the full-screen trading client (see screen.h).
 *
 * Layout (80x24 and up; more rows give more book depth and a longer
 * panel, more columns give a wider chart):
 *   header: market, last price, 24h change/high/low/volume, link, user
 *   market tabs
 *   book ladder | candle chart | trades tape
 *   panel tabs: open orders, history, fills, balances, wallet, LP stats
 *   status line, footer with the main keys
 * Overlays: help (?), order entry (b/s), confirmation, passphrase (L).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curses.h>
#include <cjson/cJSON.h>
#include <sodium.h>

#include "api.h"
#include "kdex.h"
#include "keyfile.h"
#include "mdata.h"
#include "money.h"
#include "screen.h"
#include "util.h"
#include "ws.h"

#define UI_MIN_W	80
#define UI_MIN_H	24
#define UI_MARKETS_MAX	32
#define UI_CANDLES_MAX	512
#define UI_BAL_MAX	64
#define UI_FIELD_MAX	40
#define UI_BACKOFF_MAX	30000	/* ms between reconnects, at most */
#define UI_POLL_MS	5000	/* ticker/candles refresh */
#define UI_PING_MS	20000

const struct ui_key ui_keys[] = {
	{ "?", "Help", "show or hide this help (also F1, h)", 1 },
	{ "b", "Buy", "open the order form to buy", 1 },
	{ "s", "Sell", "open the order form to sell", 1 },
	{ "c", "Cancel", "cancel the selected open order", 1 },
	{ "C", "CancelAll", "cancel all open orders in this market", 1 },
	{ "Tab", "Panel", "next panel (1-6 choose one)", 1 },
	{ "[ ]", "Market", "previous / next market", 1 },
	{ "i", "Interval", "next candle interval (1m 5m 15m 1h 4h 1d)", 1 },
	{ "L", "Login", "log in with the profile's key", 1 },
	{ "q", "Quit", "quit (also F10)", 1 },
	{ "1-6", "", "orders, history, fills, balances, wallet, LP stats", 0 },
	{ "Up/Down", "", "select a row in the panel (also k/j)", 0 },
	{ "r", "", "refetch everything now", 0 },
	{ "W", "", "wallet tab: storage account setup wizard", 0 },
	{ "G, R", "", "wallet tab: grant / revoke the operator (all tokens)",
	    0 },
	{ "X", "", "wallet tab: emergency self-withdraw (no kdexd needed)", 0 },
	{ "w", "", "wallet tab: request a withdrawal from kdexd", 0 },
	{ "Ctrl-L", "", "redraw the screen", 0 },
	{ NULL, NULL, NULL, 0 }
};

/* Order form keys, shown inside the form and in the help. */
static const char *const ui_form_help[] = {
	"Order form: b/s side, t type, f time in force, p post-only,",
	"digits and . edit, % after a quantity = share of balance,",
	"Tab/Up/Down field, Backspace erase, Enter review, Esc close.",
	NULL
};

static const char *const ui_intervals[] = { "1m", "5m", "15m", "1h", "4h",
	"1d" };
#define UI_NINTERVALS	(sizeof ui_intervals / sizeof ui_intervals[0])

static const char *const ui_tabs[] = { "Open orders", "History", "Fills",
	"Balances", "Wallet", "LP stats" };
#define UI_NTABS	6
#define UI_TAB_WALLET	4
#define UI_TAB_LP	5

enum ui_mode {
	MODE_MAIN,
	MODE_HELP,
	MODE_FORM,
	MODE_CONFIRM,
	MODE_PASS,
	MODE_DEST,	/* destination of a self-withdraw */
	MODE_WDRAW,	/* withdrawal request through kdexd */
};

/* What the passphrase prompt is for. */
enum ui_act {
	ACT_LOGIN,
	ACT_SETUP,
	ACT_GRANT,
	ACT_REVOKE,
	ACT_WITHDRAW,
	ACT_WITHDRAW_REVOKE,
};

enum ui_conn {
	CONN_DOWN,	/* waiting to retry */
	CONN_LIVE,
};

enum ui_confirm {
	CONFIRM_ORDER,
	CONFIRM_CANCEL,
	CONFIRM_CANCEL_ALL,
	CONFIRM_SETUP,
	CONFIRM_GRANT,
	CONFIRM_REVOKE,
	CONFIRM_WITHDRAW,
	CONFIRM_WDRAW,
};

struct ui_market {
	char		pair[32];
	char		base[16], quote[16];
	unsigned int	bdec, qdec;
	char		tick[MONEY_BUFSZ], lot[MONEY_BUFSZ];
	char		min_size[MONEY_BUFSZ], min_notional[MONEY_BUFSZ];
	int		maker_ppm, taker_ppm;
	char		status[16];
};

struct ui_candle {
	int64_t	t;
	u128	o, h, l, c;
	int	ok;
};

struct ui_bal {
	char	symbol[16];
	char	avail[MONEY_BUFSZ];
	char	total[MONEY_BUFSZ];
};

struct ui_form {
	int	buy;
	int	market;		/* market order */
	int	tif;		/* 0 GTC, 1 IOC, 2 FOK */
	int	post_only;
	int	field;		/* 0 price, 1 qty */
	char	price[UI_FIELD_MAX];
	char	qty[UI_FIELD_MAX];
};

/* What the form's numbers come to (ui_preview). */
struct ui_preview {
	int	ok;
	char	why[96];	/* when !ok */
	char	qty[MONEY_BUFSZ];	/* resolved (after %) */
	char	cost[MONEY_BUFSZ];	/* quote spent (buy) or got (sell) */
	char	fee[MONEY_BUFSZ + 1];	/* "-" for a rebate */
	char	after[MONEY_BUFSZ];	/* balance of what is spent */
	char	receive[MONEY_BUFSZ];
	int	estimate;	/* market order: from the visible book */
	int	large;		/* asks for an explicit y */
	int	pct;		/* share of the available balance spent */
};

struct ui {
	struct api		*api;
	struct ws		*ws;
	enum ui_conn		 conn;
	int			 attempt;
	int64_t			 next_try;
	char			 connwhy[160];
	int			 ws_authed;

	int			 logged_in;
	char			 user[KEETA_ADDRESS_MAX];

	struct ui_market	 markets[UI_MARKETS_MAX];
	size_t			 nmarkets, cur;
	int			 have_markets;
	struct mdata		 md;
	char			 last[MONEY_BUFSZ], change[24];
	char			 high[MONEY_BUFSZ], low[MONEY_BUFSZ];
	char			 volume[MONEY_BUFSZ];
	struct ui_candle	 candles[UI_CANDLES_MAX];
	size_t			 ncandles;
	size_t			 ival;

	cJSON			*orders;	/* open */
	cJSON			*history;
	cJSON			*fills;
	cJSON			*deposits, *withdrawals;
	char			 deposit_addr[KEETA_ADDRESS_MAX];
	struct ui_bal		 bals[UI_BAL_MAX];
	size_t			 nbals;

	int			 tab;
	int			 sel;
	enum ui_mode		 mode;
	enum ui_mode		 back;	/* mode under the confirmation */
	enum ui_confirm		 confirm;
	char			 confirm_id[64];
	struct ui_form		 form;
	char			 pass[KEYFILE_PASS_MAX + 1];
	size_t			 passlen;
	enum ui_act		 act;
	char			 dest[KEETA_ADDRESS_MAX];
	size_t			 destlen;

	/* Withdrawal request form: token, amount, destination. */
	char			 wd[3][KEETA_ADDRESS_MAX];
	int			 wdfield;

	/* The wallet tab, from `kdex wallet ...` run as a child. */
	cJSON			*wperm;		/* wallet permissions --json */
	cJSON			*wbal;		/* wallet balances --json */

	/* The LP tab: GET /lp/stats (all markets), as kdexd answered. */
	cJSON			*lpstats;

	char			 status[256];
	int			 status_err;

	int64_t			 last_poll, last_ping;
	int			 fetch, fetch_priv;
	int			 color;
};

/* ------------------------------------------------------------------ */
/* Terminal state and every way out                                   */

static void	ui_draw(struct ui *);

static volatile sig_atomic_t	ui_active;
static volatile sig_atomic_t	ui_signal;

static void
ui_restore(void)
{
	if (ui_active) {
		ui_active = 0;
		endwin();
	}
}

static void
ui_on_signal(int sig)
{
	ui_signal = sig;
}

/* A crash: give the terminal back, then die the way the signal says. */
static void
ui_on_crash(int sig)
{
	ui_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
ui_signals(void)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = ui_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	sa.sa_handler = ui_on_crash;
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGABRT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void
ui_msg(struct ui *u, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
ui_msg(struct ui *u, int err, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(u->status, sizeof u->status, fmt, ap);
	va_end(ap);
	u->status_err = err;
}

/* ------------------------------------------------------------------ */
/* Helpers                                                            */

static const char *
jstr(const cJSON *o, const char *name)
{
	const char	*s;

	s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name));
	return s != NULL ? s : "";
}

static int64_t
jint(const cJSON *o, const char *name)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (cJSON_IsNumber(v))
		return (int64_t)v->valuedouble;
	if (cJSON_IsString(v))
		return strtoll(v->valuestring, NULL, 10);
	return 0;
}

/* Copy with truncation (display strings only). */
static void
copystr(char *dst, size_t len, const char *src)
{
	size_t	n = src != NULL ? strlen(src) : 0;

	if (n >= len)
		n = len - 1;
	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

static struct ui_market *
ui_cur(struct ui *u)
{
	return u->nmarkets > 0 ? &u->markets[u->cur] : NULL;
}

static const struct ui_bal *
ui_bal(const struct ui *u, const char *symbol)
{
	size_t	i;

	for (i = 0; i < u->nbals; i++)
		if (strcmp(u->bals[i].symbol, symbol) == 0)
			return &u->bals[i];
	return NULL;
}

/* "HH:MM:SS" local time of a ms timestamp. */
static void
ui_hms(int64_t ms, char *buf, size_t len)
{
	time_t		t = (time_t)(ms / 1000);
	struct tm	tm;

	if (ms <= 0 || localtime_r(&t, &tm) == NULL)
		copystr(buf, len, "--:--:--");
	else
		strftime(buf, len, "%H:%M:%S", &tm);
}

/* ------------------------------------------------------------------ */
/* REST                                                               */

/* GET path; the answer or NULL (status line says why). */
static cJSON *
ui_get(struct ui *u, const char *path, int quiet)
{
	cJSON	*ans = NULL;
	char	*cause = NULL;
	int	 st;

	st = api_request(u->api, "GET", path, NULL, &ans, &cause);
	if (st < 0) {
		if (!quiet)
			ui_msg(u, 1, "%s", cause);
		free(cause);
		return NULL;
	}
	if (st != 200) {
		if (st == 401 && u->logged_in) {
			u->logged_in = 0;
			api_set_token(u->api, NULL);
			api_session_forget(kdex_g.profile);
			ui_msg(u, 1, "session expired: press L to log in");
		} else if (!quiet)
			ui_msg(u, 1, "GET %s: %s %s", path,
			    *api_error_code(ans) != '\0' ?
			    api_error_code(ans) : "HTTP error",
			    api_error_message(ans));
		cJSON_Delete(ans);
		return NULL;
	}
	return ans;
}

static void
ui_fetch_markets(struct ui *u, const char *want)
{
	cJSON		*ans;
	const cJSON	*m;
	size_t		 n = 0;

	if ((ans = ui_get(u, "/markets", 1)) == NULL)
		return;
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(ans,
	    "markets")) {
		struct ui_market	*k;
		const cJSON		*b, *q;

		if (n == UI_MARKETS_MAX)
			break;
		k = &u->markets[n];
		memset(k, 0, sizeof *k);
		b = cJSON_GetObjectItemCaseSensitive(m, "base");
		q = cJSON_GetObjectItemCaseSensitive(m, "quote");
		copystr(k->pair, sizeof k->pair, jstr(m, "pair"));
		copystr(k->base, sizeof k->base, jstr(b, "symbol"));
		copystr(k->quote, sizeof k->quote, jstr(q, "symbol"));
		k->bdec = (unsigned int)jint(b, "decimals");
		k->qdec = (unsigned int)jint(q, "decimals");
		if (k->bdec > MONEY_MAX_DECIMALS || k->qdec >
		    MONEY_MAX_DECIMALS)
			continue;
		copystr(k->tick, sizeof k->tick, jstr(m, "tick_size"));
		copystr(k->lot, sizeof k->lot, jstr(m, "lot_size"));
		copystr(k->min_size, sizeof k->min_size, jstr(m, "min_size"));
		copystr(k->min_notional, sizeof k->min_notional,
		    jstr(m, "min_notional"));
		k->maker_ppm = (int)jint(m, "maker_fee_ppm");
		k->taker_ppm = (int)jint(m, "taker_fee_ppm");
		copystr(k->status, sizeof k->status, jstr(m, "status"));
		if (want != NULL && strcmp(k->pair, want) == 0)
			u->cur = n;
		n++;
	}
	cJSON_Delete(ans);
	u->nmarkets = n;
	if (u->cur >= n)
		u->cur = 0;
	if (n > 0) {
		u->have_markets = 1;
		if (want != NULL && strcmp(u->markets[u->cur].pair, want) != 0)
			ui_msg(u, 1, "unknown market '%s'", want);
	}
}

/* Start over on the current market (also after switching). */
static void
ui_reset_market(struct ui *u)
{
	struct ui_market	*m = ui_cur(u);

	if (m == NULL)
		return;
	mdata_init(&u->md, m->pair, m->qdec, m->bdec);
	u->last[0] = u->change[0] = u->high[0] = u->low[0] = '\0';
	u->volume[0] = '\0';
	u->ncandles = 0;
	u->sel = 0;
}

static void
ui_fetch_ticker(struct ui *u, const cJSON *t)
{
	copystr(u->last, sizeof u->last, jstr(t, "last"));
	copystr(u->change, sizeof u->change, jstr(t, "change_24h"));
	copystr(u->high, sizeof u->high, jstr(t, "high_24h"));
	copystr(u->low, sizeof u->low, jstr(t, "low_24h"));
	copystr(u->volume, sizeof u->volume, jstr(t, "volume_24h"));
}

static char *
ui_mpath(struct ui *u, const char *what, const char *query)
{
	char	*p, *e = api_escape(ui_cur(u)->pair);

	xasprintf(&p, "/markets/%s/%s%s%s", e, what, *query != '\0' ? "?" : "",
	    query);
	free(e);
	return p;
}

static void
ui_fetch_public(struct ui *u, int book)
{
	struct ui_market	*m = ui_cur(u);
	cJSON			*ans;
	const cJSON		*c, *arr;
	char			*path, q[64];
	int			 i;

	if (m == NULL)
		return;
	path = ui_mpath(u, "ticker", "");
	if ((ans = ui_get(u, path, 1)) != NULL)
		ui_fetch_ticker(u, ans);
	free(path);
	cJSON_Delete(ans);

	snprintf(q, sizeof q, "interval=%s&limit=%d", ui_intervals[u->ival],
	    UI_CANDLES_MAX);
	path = ui_mpath(u, "candles", q);
	if ((ans = ui_get(u, path, 1)) != NULL) {
		u->ncandles = 0;
		cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(ans,
		    "candles")) {
			struct ui_candle	*k;

			if (u->ncandles == UI_CANDLES_MAX)
				break;
			k = &u->candles[u->ncandles++];
			k->t = jint(c, "t");
			k->ok = money_parse(&k->o, jstr(c, "o"), m->qdec) ==
			    MONEY_OK && money_parse(&k->h, jstr(c, "h"),
			    m->qdec) == MONEY_OK && money_parse(&k->l,
			    jstr(c, "l"), m->qdec) == MONEY_OK &&
			    money_parse(&k->c, jstr(c, "c"), m->qdec) ==
			    MONEY_OK;
		}
	}
	free(path);
	cJSON_Delete(ans);

	/* The book and the tape come from the WebSocket when it is up;
	 * REST keeps them moving while it is not. */
	if (!book)
		return;
	path = ui_mpath(u, "book", "depth=100");
	if ((ans = ui_get(u, path, 1)) != NULL)
		mdata_book(&u->md, ans, 1);
	free(path);
	cJSON_Delete(ans);
	path = ui_mpath(u, "trades", "limit=50");
	if ((ans = ui_get(u, path, 1)) != NULL) {
		arr = cJSON_GetObjectItemCaseSensitive(ans, "trades");
		for (i = cJSON_GetArraySize(arr) - 1; i >= 0; i--)
			mdata_trade(&u->md, cJSON_GetArrayItem(arr, i));
	}
	free(path);
	cJSON_Delete(ans);
}

/* Replace *slot with the array name of the answer to path. */
static void
ui_fetch_list(struct ui *u, const char *path, const char *name, cJSON **slot)
{
	cJSON	*ans, *arr;

	if ((ans = ui_get(u, path, 1)) == NULL)
		return;
	arr = cJSON_DetachItemFromObjectCaseSensitive(ans, name);
	cJSON_Delete(ans);
	if (arr == NULL)
		return;
	cJSON_Delete(*slot);
	*slot = arr;
}

static void
ui_fetch_private(struct ui *u)
{
	struct ui_market	*m = ui_cur(u);
	cJSON			*ans;
	const cJSON		*b;
	char			*path, *e;

	if (!u->logged_in || m == NULL)
		return;
	e = api_escape(m->pair);
	xasprintf(&path, "/orders?status=open&market=%s&limit=200", e);
	ui_fetch_list(u, path, "orders", &u->orders);
	free(path);
	xasprintf(&path, "/orders?status=closed&market=%s&limit=100", e);
	ui_fetch_list(u, path, "orders", &u->history);
	free(path);
	xasprintf(&path, "/fills?market=%s&limit=100", e);
	ui_fetch_list(u, path, "fills", &u->fills);
	free(path);
	free(e);
	if (!u->logged_in)
		return;
	if ((ans = ui_get(u, "/balances", 1)) != NULL) {
		u->nbals = 0;
		cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(ans,
		    "balances")) {
			struct ui_bal	*k;

			if (u->nbals == UI_BAL_MAX)
				break;
			k = &u->bals[u->nbals++];
			copystr(k->symbol, sizeof k->symbol, jstr(b, "symbol"));
			copystr(k->avail, sizeof k->avail,
			    jstr(b, "available"));
			copystr(k->total, sizeof k->total, jstr(b, "total"));
		}
		cJSON_Delete(ans);
	}
	if (u->tab == UI_TAB_LP) {
		cJSON_Delete(u->lpstats);
		u->lpstats = ui_get(u, "/lp/stats", 1);
	}
	if (u->tab == UI_TAB_WALLET) {
		ui_fetch_list(u, "/deposits", "deposits", &u->deposits);
		ui_fetch_list(u, "/withdrawals", "withdrawals",
		    &u->withdrawals);
		if ((ans = ui_get(u, "/deposits/address", 1)) != NULL)
			copystr(u->deposit_addr, sizeof u->deposit_addr,
			    jstr(ans, "address"));
		else
			u->deposit_addr[0] = '\0';
		cJSON_Delete(ans);
	}
}

/*
 * Run this kdex as a child with the same profile and URL (git's porcelain
 * calling plumbing): the wallet commands are tested on their own, and
 * their output never reaches the curses screen. pass (may be NULL) goes
 * to the child on fd 3. Returns the exit status; out gets stdout (and
 * stderr when errors is set), NUL-terminated.
 */
static int
ui_run(const char *pass, int errors, char *out, size_t outlen, ...)
{
	const char	*argv[24];
	va_list		 ap;
	int		 po[2], pp[2], status, n = 0, devnull;
	size_t		 got = 0;
	ssize_t		 r;
	pid_t		 pid;

	argv[n++] = "kdex";
	argv[n++] = "--profile";
	argv[n++] = kdex_g.profile;
	argv[n++] = "--url";
	argv[n++] = kdex_g.url;
	va_start(ap, outlen);
	while (n < 20 && (argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	if (pass != NULL) {
		argv[n++] = "--passphrase-fd";
		argv[n++] = "3";
	}
	argv[n] = NULL;
	out[0] = '\0';
	if (pipe(po) != 0)
		return -1;
	if (pipe(pp) != 0) {
		close(po[0]);
		close(po[1]);
		return -1;
	}
	switch (pid = fork()) {
	case -1:
		close(po[0]);
		close(po[1]);
		close(pp[0]);
		close(pp[1]);
		return -1;
	case 0:
		devnull = open("/dev/null", O_RDWR);
		dup2(devnull, STDIN_FILENO);
		dup2(po[1], STDOUT_FILENO);
		dup2(errors ? po[1] : devnull, STDERR_FILENO);
		dup2(pp[0], 3);
		/* Only 0-3 stay open in the child. */
		if (po[0] > 3)
			close(po[0]);
		if (po[1] > 3)
			close(po[1]);
		if (pp[0] > 3)
			close(pp[0]);
		if (pp[1] > 3)
			close(pp[1]);
		if (devnull > 3)
			close(devnull);
		execv("/proc/self/exe", (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	close(po[1]);
	close(pp[0]);
	if (pass != NULL && (write(pp[1], pass, strlen(pass)) == -1 ||
	    write(pp[1], "\n", 1) == -1)) {
		/* The child reports the missing passphrase itself. */
	}
	close(pp[1]);
	while ((r = read(po[0], out + got, outlen - 1 - got)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
		if (got == outlen - 1)
			break;
	}
	out[got] = '\0';
	close(po[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		continue;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* The wallet tab's chain view (no passphrase needed). */
static void
ui_fetch_wallet(struct ui *u)
{
	static char	buf[65536];

	cJSON_Delete(u->wperm);
	cJSON_Delete(u->wbal);
	u->wperm = u->wbal = NULL;
	if (ui_run(NULL, 0, buf, sizeof buf, "--json", "wallet",
	    "permissions", (char *)NULL) == 0)
		u->wperm = cJSON_Parse(buf);
	if (u->wperm != NULL && ui_run(NULL, 0, buf, sizeof buf, "--json",
	    "wallet", "balances", (char *)NULL) == 0)
		u->wbal = cJSON_Parse(buf);
}

/* Run a wallet action after its passphrase; the last output line goes
 * to the status line. */
static void
ui_wallet_act(struct ui *u, const char *pass)
{
	static char	 buf[16384];
	char		*line, *last = NULL;
	int		 rc = -1;

	ui_msg(u, 0, "working on the chain...");
	ui_draw(u);
	switch (u->act) {
	case ACT_SETUP:
		rc = ui_run(pass, 1, buf, sizeof buf, "wallet", "setup",
		    (char *)NULL);
		break;
	case ACT_GRANT:
		rc = ui_run(pass, 1, buf, sizeof buf, "wallet", "grant",
		    "--all", (char *)NULL);
		break;
	case ACT_REVOKE:
		rc = ui_run(pass, 1, buf, sizeof buf, "wallet", "revoke",
		    "--all", (char *)NULL);
		break;
	case ACT_WITHDRAW:
		rc = ui_run(pass, 1, buf, sizeof buf, "self-withdraw", u->dest,
		    (char *)NULL);
		break;
	case ACT_WITHDRAW_REVOKE:
		rc = ui_run(pass, 1, buf, sizeof buf, "self-withdraw", u->dest,
		    "--revoke", (char *)NULL);
		break;
	case ACT_LOGIN:
		return;
	}
	/* The most telling line: the last one printed. */
	for (line = strtok(buf, "\n"); line != NULL; line = strtok(NULL,
	    "\n"))
		last = line;
	ui_msg(u, rc != 0, "%s%s", rc == 0 ? "done: " : "",
	    last != NULL ? last : rc == 0 ? "ok" : "failed");
	ui_fetch_wallet(u);
	u->fetch_priv = 1;
}

/* ------------------------------------------------------------------ */
/* WebSocket                                                          */

static void
ui_ws_send(struct ui *u, const char *op, const char *channel)
{
	char	*msg, *cause = NULL;

	if (u->ws == NULL)
		return;
	if (*channel == '\0')
		xasprintf(&msg, "{\"op\":\"%s\"}", op);
	else
		xasprintf(&msg, "{\"op\":\"%s\",\"channel\":\"%s\"}", op,
		    channel);
	if (ws_send(u->ws, msg, strlen(msg), &cause) != 0) {
		copystr(u->connwhy, sizeof u->connwhy, cause);
		free(cause);
		ws_free(u->ws);
		u->ws = NULL;
		u->conn = CONN_DOWN;
	}
	free(msg);
}

static void
ui_subscribe(struct ui *u, const char *op, const struct ui_market *m)
{
	char	ch[64];

	snprintf(ch, sizeof ch, "orderbook:%s", m->pair);
	ui_ws_send(u, op, ch);
	snprintf(ch, sizeof ch, "trades:%s", m->pair);
	ui_ws_send(u, op, ch);
	snprintf(ch, sizeof ch, "ticker:%s", m->pair);
	ui_ws_send(u, op, ch);
}

static void
ui_ws_auth(struct ui *u)
{
	char	*msg, *cause = NULL;

	if (u->ws == NULL || api_token(u->api) == NULL || u->ws_authed)
		return;
	xasprintf(&msg, "{\"op\":\"auth\",\"token\":\"%s\"}",
	    api_token(u->api));
	if (ws_send(u->ws, msg, strlen(msg), &cause) == 0) {
		u->ws_authed = 1;
		ui_ws_send(u, "subscribe", "orders");
		ui_ws_send(u, "subscribe", "balances");
		ui_ws_send(u, "subscribe", "fills");
	} else
		free(cause);
	sodium_memzero(msg, strlen(msg));
	free(msg);
}

static void
ui_connect(struct ui *u, int64_t now)
{
	char	*cause = NULL;
	int64_t	 backoff;

	if (!u->have_markets)
		ui_fetch_markets(u, NULL);
	if (u->have_markets && u->md.pair[0] == '\0')
		ui_reset_market(u);
	u->ws = ws_connect(api_base(u->api), "/ws", 3000, &cause);
	if (u->ws == NULL || !u->have_markets) {
		if (u->ws == NULL) {
			copystr(u->connwhy, sizeof u->connwhy, cause);
			free(cause);
		} else {
			copystr(u->connwhy, sizeof u->connwhy,
			    "no markets from kdexd");
			ws_free(u->ws);
			u->ws = NULL;
		}
		/* 1 s, 2 s, 4 s ... capped, so a restarted kdexd is found
		 * quickly and a dead one is not hammered. */
		backoff = 1000LL << (u->attempt < 5 ? u->attempt : 5);
		if (backoff > UI_BACKOFF_MAX)
			backoff = UI_BACKOFF_MAX;
		u->attempt++;
		u->next_try = now + backoff;
		u->conn = CONN_DOWN;
		return;
	}
	u->conn = CONN_LIVE;
	u->attempt = 0;
	u->ws_authed = 0;
	u->connwhy[0] = '\0';
	u->last_ping = now;
	mdata_init(&u->md, u->md.pair, u->md.price_dec, u->md.qty_dec);
	ui_subscribe(u, "subscribe", ui_cur(u));
	ui_ws_auth(u);
	u->fetch = u->fetch_priv = 1;
}

static void
ui_ws_lost(struct ui *u, const char *why, int64_t now)
{
	copystr(u->connwhy, sizeof u->connwhy, why);
	ws_free(u->ws);
	u->ws = NULL;
	u->conn = CONN_DOWN;
	u->attempt = 1;
	u->next_try = now + 1000;
}

static int
ui_ws_message(struct ui *u, const char *text)
{
	cJSON		*j;
	const char	*type, *channel;
	char		 want[64];
	int		 r = UI_NONE;

	if ((j = cJSON_Parse(text)) == NULL)
		return UI_NONE;
	type = jstr(j, "type");
	channel = jstr(j, "channel");
	if (strcmp(type, "snapshot") == 0 || strcmp(type, "update") == 0) {
		snprintf(want, sizeof want, "orderbook:%s", u->md.pair);
		if (strcmp(channel, want) == 0) {
			switch (mdata_book(&u->md, j,
			    strcmp(type, "snapshot") == 0)) {
			case MDATA_CHANGED:
				r |= UI_REDRAW;
				break;
			case MDATA_GAP:
				ui_msg(u, 1, "book sequence gap: "
				    "resubscribed (%u so far)", u->md.gaps);
				r |= UI_RESUB | UI_REDRAW;
				break;
			case MDATA_IGNORED:
				break;
			}
		}
	} else if (strcmp(type, "trade") == 0) {
		snprintf(want, sizeof want, "trades:%s", u->md.pair);
		if (strcmp(channel, want) == 0 &&
		    mdata_trade(&u->md, j) == MDATA_CHANGED)
			r |= UI_REDRAW;
	} else if (strcmp(type, "ticker") == 0) {
		snprintf(want, sizeof want, "ticker:%s", u->md.pair);
		if (strcmp(channel, want) == 0) {
			ui_fetch_ticker(u, j);
			r |= UI_REDRAW;
		}
	} else if (strcmp(type, "order") == 0 || strcmp(type, "balance") == 0 ||
	    strcmp(type, "fill") == 0)
		r |= UI_FETCH_PRIV;
	else if (strcmp(type, "error") == 0) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");

		ui_msg(u, 1, "kdexd: %s %s", jstr(e, "code"),
		    jstr(e, "message"));
		r |= UI_REDRAW;
	}
	cJSON_Delete(j);
	return r;
}

/* ------------------------------------------------------------------ */
/* Login                                                              */

static void
ui_after_login(struct ui *u)
{
	struct keyfile	 kf;
	char		*path;

	u->logged_in = 1;
	path = keyfile_profile_path(kdex_g.profile, NULL);
	if (path != NULL && keyfile_peek(path, &kf, NULL) == 0)
		copystr(u->user, sizeof u->user, kf.address);
	free(path);
	u->ws_authed = 0;
	ui_ws_auth(u);
	u->fetch_priv = 1;
}

/* Log in with pass; the status line says how it went. */
static void
ui_login(struct ui *u, const char *pass)
{
	struct keyfile	 kf;
	char		*path, *cause = NULL;
	int64_t		 exp = 0;
	int		 st, rc;

	if ((path = keyfile_profile_path(kdex_g.profile, &cause)) == NULL) {
		ui_msg(u, 1, "%s", cause);
		free(cause);
		return;
	}
	rc = keyfile_read(path, pass, strlen(pass), &kf, &cause);
	free(path);
	if (rc != 0) {
		ui_msg(u, 1, "%s", cause);
		free(cause);
		return;
	}
	rc = api_login(u->api, &kf, &exp, &st, &cause);
	if (rc != 0) {
		keyfile_clear(&kf);
		ui_msg(u, 1, "%s", cause);
		free(cause);
		return;
	}
	if (api_session_save(u->api, kdex_g.profile, kf.address, exp,
	    &cause) != 0)
		free(cause);
	keyfile_clear(&kf);
	ui_after_login(u);
	ui_msg(u, 0, "logged in as %s", u->user);
}

/* ------------------------------------------------------------------ */
/* Order form arithmetic (exact, money.h)                              */

/* Round q down to a multiple of lot. */
static u128
ui_lot_down(u128 q, u128 lot)
{
	return lot > 0 ? q - q % lot : q;
}

/*
 * Add to *notional the value of taking q from the n visible levels (price
 * per one base unit, rounded up when up); -1 when they hold less than q or
 * the sum overflows.
 */
static int
ui_walk_levels(const struct mdata_level *lv, size_t n, u128 q, u128 one,
    int up, u128 *notional)
{
	u128	take, c;
	size_t	i;

	for (i = 0; i < n && q > 0; i++) {
		take = q < lv[i].q ? q : lv[i].q;
		if (money_muldiv(&c, take, lv[i].p, one, up) != 0 ||
		    money_add(notional, *notional, c) != 0)
			return -1;
		q -= take;
	}
	return q > 0 ? -1 : 0;
}

static void
ui_preview(struct ui *u, struct ui_preview *pv)
{
	struct ui_market	*m = ui_cur(u);
	struct ui_form		*f = &u->form;
	const struct ui_bal	*bq, *bb;
	u128			 p = 0, q = 0, lot = 0, one, notional = 0;
	u128			 charge, rebate, availq = 0, availb = 0, t, pct;
	size_t			 len;
	int			 ppm;

	memset(pv, 0, sizeof *pv);
	if (m == NULL) {
		copystr(pv->why, sizeof pv->why, "no market");
		return;
	}
	one = money_pow10(m->bdec);
	money_parse(&lot, m->lot, m->bdec);
	bq = ui_bal(u, m->quote);
	bb = ui_bal(u, m->base);
	if (bq != NULL)
		money_parse(&availq, bq->avail, m->qdec);
	if (bb != NULL)
		money_parse(&availb, bb->avail, m->bdec);

	if (!f->market) {
		if (f->price[0] == '\0') {
			copystr(pv->why, sizeof pv->why, "enter a price");
			return;
		}
		if (money_parse(&p, f->price, m->qdec) != MONEY_OK || p == 0) {
			snprintf(pv->why, sizeof pv->why, "bad price (%u "
			    "decimals at most)", m->qdec);
			return;
		}
	} else if (f->buy ? u->md.nasks == 0 : u->md.nbids == 0) {
		copystr(pv->why, sizeof pv->why, "no liquidity to estimate");
		return;
	} else {
		p = f->buy ? u->md.asks[0].p : u->md.bids[0].p;
		pv->estimate = 1;
	}

	len = strlen(f->qty);
	if (len == 0) {
		copystr(pv->why, sizeof pv->why, "enter a quantity");
		return;
	}
	if (f->qty[len - 1] == '%') {
		char	num[UI_FIELD_MAX];

		snprintf(num, sizeof num, "%.*s", (int)(len - 1), f->qty);
		if (money_parse(&pct, num, 0) != MONEY_OK || pct == 0 ||
		    pct > 100) {
			copystr(pv->why, sizeof pv->why, "percent: 1 to 100");
			return;
		}
		if (f->buy) {
			/* Spend pct of the quote balance, fee included. */
			if (money_muldiv(&t, availq, pct, 100, 0) != 0 ||
			    money_muldiv(&t, t, MONEY_PPM, MONEY_PPM +
			    (u128)(m->taker_ppm > 0 ? m->taker_ppm : 0),
			    0) != 0 || money_muldiv(&q, t, one, p, 0) != 0)
				q = 0;
		} else if (money_muldiv(&q, availb, pct, 100, 0) != 0)
			q = 0;
		q = ui_lot_down(q, lot);
		if (q == 0) {
			copystr(pv->why, sizeof pv->why, "balance too small "
			    "for that share");
			return;
		}
	} else if (money_parse(&q, f->qty, m->bdec) != MONEY_OK || q == 0) {
		snprintf(pv->why, sizeof pv->why, "bad quantity (%u decimals "
		    "at most)", m->bdec);
		return;
	}
	money_format(pv->qty, q, m->bdec);

	if (f->market) {
		/* Buys walk the asks (rounding up), sells the bids. */
		if (ui_walk_levels(f->buy ? u->md.asks : u->md.bids,
		    f->buy ? u->md.nasks : u->md.nbids, q, one, f->buy,
		    &notional) != 0) {
			copystr(pv->why, sizeof pv->why, "not enough "
			    "liquidity in the visible book");
			return;
		}
	} else if (money_muldiv(&notional, p, q, one, f->buy) != 0) {
		copystr(pv->why, sizeof pv->why, "order too large");
		return;
	}
	/* Worst case: taker, unless post-only guarantees maker. */
	ppm = f->post_only && !f->market ? m->maker_ppm : m->taker_ppm;
	if (ppm > MONEY_PPM || ppm < -MONEY_PPM)
		ppm = 0;
	money_fee(&charge, &rebate, notional, (int32_t)ppm);
	money_format(pv->fee, charge, m->qdec);
	if (rebate > 0) {
		char	r[MONEY_BUFSZ];

		money_format(r, rebate, m->qdec);
		snprintf(pv->fee, sizeof pv->fee, "-%s", r);
	}
	money_format(pv->cost, notional, m->qdec);
	if (f->buy) {
		money_format(pv->receive, q, m->bdec);
		if (money_add(&t, notional, charge) != 0 || t < rebate)
			t = notional;
		else
			t -= rebate;
		if (availq < t) {
			snprintf(pv->why, sizeof pv->why, "insufficient %s: "
			    "%s available", m->quote, bq != NULL ? bq->avail :
			    "0");
			copystr(pv->after, sizeof pv->after, "-");
			return;
		}
		money_format(pv->after, availq - t, m->qdec);
		pv->pct = availq > 0 ? (int)(t * 100 / availq) : 100;
	} else {
		if (notional >= charge)
			t = notional - charge + rebate;
		else
			t = 0;
		money_format(pv->receive, t, m->qdec);
		if (availb < q) {
			snprintf(pv->why, sizeof pv->why, "insufficient %s: "
			    "%s available", m->base, bb != NULL ? bb->avail :
			    "0");
			copystr(pv->after, sizeof pv->after, "-");
			return;
		}
		money_format(pv->after, availb - q, m->bdec);
		pv->pct = availb > 0 ? (int)(q * 100 / availb) : 100;
	}
	/* Large: half the balance or more, or a limit 10 % through the
	 * last price (a typo in the price costs the most). */
	pv->large = pv->pct >= 50;
	if (!f->market && u->last[0] != '\0') {
		u128	last;

		if (money_parse(&last, u->last, m->qdec) == MONEY_OK &&
		    last > 0 && (f->buy ? p > last + last / 10 :
		    p + last / 10 < last))
			pv->large = 1;
	}
	pv->ok = 1;
}

/* ------------------------------------------------------------------ */
/* Drawing                                                            */

enum {
	C_BID = 1, C_ASK, C_HEAD, C_WARN, C_BIDBAR, C_ASKBAR, C_OK
};

static attr_t
ui_attr(const struct ui *u, int what)
{
	if (u->color)
		return COLOR_PAIR(what) | (what == C_HEAD ? A_BOLD : 0);
	/* Monochrome: still tell bids from asks and warnings apart. */
	switch (what) {
	case C_BID:
	case C_OK:
		return A_BOLD;
	case C_ASK:
		return A_UNDERLINE;
	case C_HEAD:
		return A_REVERSE;
	case C_WARN:
		return A_BOLD | A_REVERSE;
	case C_BIDBAR:
	case C_ASKBAR:
		return A_REVERSE;
	}
	return A_NORMAL;
}

/* Print at (y, x) at most w columns. */
static void
ui_put(int y, int x, int w, attr_t a, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
ui_put(int y, int x, int w, attr_t a, const char *fmt, ...)
{
	char	buf[512];
	va_list	ap;

	if (w <= 0 || y < 0 || y >= LINES || x >= COLS)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (x + w > COLS)
		w = COLS - x;
	attrset(a);
	mvaddnstr(y, x, buf, w);
	attrset(A_NORMAL);
}

static void
ui_hline(int y, int x, int w)
{
	mvhline(y, x, ACS_HLINE, w);
}

static void
ui_draw_header(struct ui *u)
{
	struct ui_market	*m = ui_cur(u);
	char			 right[160], addr[24];
	int			 x, w;
	size_t			 i;

	attrset(ui_attr(u, C_HEAD));
	mvhline(0, 0, ' ', COLS);
	attrset(A_NORMAL);
	if (m != NULL)
		ui_put(0, 0, COLS, ui_attr(u, C_HEAD), " kdex  %s  last %s  "
		    "24h %s  H %s  L %s  vol %s", m->pair,
		    u->last[0] != '\0' ? u->last : "-",
		    u->change[0] != '\0' ? u->change : "-",
		    u->high[0] != '\0' ? u->high : "-",
		    u->low[0] != '\0' ? u->low : "-",
		    u->volume[0] != '\0' ? u->volume : "-");
	else
		ui_put(0, 0, COLS, ui_attr(u, C_HEAD), " kdex  (no market)");

	/* Line 1: link and login state on the right, markets on the left. */
	if (u->conn == CONN_LIVE)
		snprintf(right, sizeof right, "LIVE");
	else {
		int64_t	left = (u->next_try - api_now_ms() + 999) / 1000;

		snprintf(right, sizeof right, "OFFLINE reconnecting in %llds "
		    "(attempt %d)", (long long)(left > 0 ? left : 0),
		    u->attempt);
	}
	if (u->logged_in) {
		snprintf(addr, sizeof addr, "%.12s..%s", u->user,
		    u->user[0] != '\0' ? u->user + strlen(u->user) - 6 : "");
		snprintf(right + strlen(right), sizeof right - strlen(right),
		    " | %s", addr);
	} else
		snprintf(right + strlen(right), sizeof right - strlen(right),
		    " | not logged in (L)");
	w = (int)strlen(right);
	ui_put(1, COLS - w, w, ui_attr(u, u->conn == CONN_LIVE ? C_OK :
	    C_WARN), "%s", right);
	x = 1;
	for (i = 0; i < u->nmarkets && x < COLS - w - 12; i++) {
		int	len = (int)strlen(u->markets[i].pair) + 2;

		ui_put(1, x, len, i == u->cur ? A_REVERSE : A_NORMAL, " %s ",
		    u->markets[i].pair);
		x += len + 1;
	}
}

static void
ui_draw_book(struct ui *u, int y0, int x0, int w, int h)
{
	struct ui_market	*m = ui_cur(u);
	struct mdata		*md = &u->md;
	int			 rows, na, nb, i, y, bar, pw = (w - 1) / 2;
	u128			 maxq = 1, sp, len;
	char			 spread[MONEY_BUFSZ];

	ui_put(y0, x0, w, A_BOLD, "Order book%s", md->have_book ? "" :
	    "  (waiting)");
	ui_put(y0 + 1, x0, w, A_DIM, "%-*s %*s", pw, "Price", w - pw - 1,
	    "Qty");
	rows = h - 3;
	if (rows < 3 || m == NULL)
		return;
	na = rows / 2;
	nb = rows - na;
	for (i = 0; i < na && (size_t)i < md->nasks; i++)
		if (md->asks[i].q > maxq)
			maxq = md->asks[i].q;
	for (i = 0; i < nb && (size_t)i < md->nbids; i++)
		if (md->bids[i].q > maxq)
			maxq = md->bids[i].q;
	/* Asks: best at the bottom, next to the spread. */
	for (i = 0; i < na && (size_t)i < md->nasks; i++) {
		y = y0 + 2 + na - 1 - i;
		ui_put(y, x0, w, ui_attr(u, C_ASK), "%-*s %*s", pw,
		    md->asks[i].price, w - pw - 1, md->asks[i].qty);
		if (money_muldiv(&len, md->asks[i].q, (u128)w, maxq, 1) == 0) {
			bar = (int)len;
			mvchgat(y, x0 + w - bar, bar, ui_attr(u, C_ASKBAR),
			    u->color ? C_ASKBAR : 0, NULL);
		}
	}
	y = y0 + 2 + na;
	if (md->nasks > 0 && md->nbids > 0 && md->asks[0].p > md->bids[0].p) {
		sp = md->asks[0].p - md->bids[0].p;
		money_format(spread, sp, m->qdec);
		ui_put(y, x0, w, A_BOLD, "spread %s", spread);
	} else
		ui_put(y, x0, w, A_DIM, "spread -");
	for (i = 0; i < nb && (size_t)i < md->nbids; i++) {
		y = y0 + 3 + na + i;
		ui_put(y, x0, w, ui_attr(u, C_BID), "%-*s %*s", pw,
		    md->bids[i].price, w - pw - 1, md->bids[i].qty);
		if (money_muldiv(&len, md->bids[i].q, (u128)w, maxq, 1) == 0) {
			bar = (int)len;
			mvchgat(y, x0 + w - bar, bar, ui_attr(u, C_BIDBAR),
			    u->color ? C_BIDBAR : 0, NULL);
		}
	}
}

static int
ui_row(u128 v, u128 mn, u128 mx, int rows)
{
	u128	r;

	if (mx <= mn || v >= mx)
		return mx <= mn ? rows / 2 : 0;
	if (v <= mn)
		return rows - 1;
	if (money_muldiv(&r, mx - v, (u128)(rows - 1), mx - mn, 0) != 0)
		return 0;
	return (int)r;
}

static void
ui_draw_chart(struct ui *u, int y0, int x0, int w, int h)
{
	struct ui_market	*m = ui_cur(u);
	char			 hi[MONEY_BUFSZ], lo[MONEY_BUFSZ];
	u128			 mn = 0, mx = 0;
	size_t			 first, i;
	int			 rows = h - 1, x, r, a, b, rh, rl;
	attr_t			 at;

	if (m == NULL || rows < 2)
		return;
	first = u->ncandles > (size_t)w ? u->ncandles - (size_t)w : 0;
	for (i = first; i < u->ncandles; i++) {
		if (!u->candles[i].ok)
			continue;
		if (mx == 0 || u->candles[i].h > mx)
			mx = u->candles[i].h;
		if (mn == 0 || u->candles[i].l < mn)
			mn = u->candles[i].l;
	}
	if (mx == 0) {
		ui_put(y0, x0, w, A_BOLD, "Chart %s  (no candles)",
		    ui_intervals[u->ival]);
		return;
	}
	money_format(hi, mx, m->qdec);
	money_format(lo, mn, m->qdec);
	ui_put(y0, x0, w, A_BOLD, "Chart %s  H %s  L %s",
	    ui_intervals[u->ival], hi, lo);
	for (i = first, x = x0; i < u->ncandles; i++, x++) {
		struct ui_candle	*c = &u->candles[i];
		int			 up = c->c >= c->o;

		if (!c->ok)
			continue;
		rh = ui_row(c->h, mn, mx, rows);
		rl = ui_row(c->l, mn, mx, rows);
		a = ui_row(up ? c->c : c->o, mn, mx, rows);
		b = ui_row(up ? c->o : c->c, mn, mx, rows);
		at = ui_attr(u, up ? C_BID : C_ASK);
		attrset(at);
		for (r = rh; r <= rl; r++)
			mvaddch(y0 + 1 + r, x, ACS_VLINE);
		/* Solid body up, checkered body down: readable in mono. */
		for (r = a; r <= b; r++) {
			if (up) {
				attrset(at | A_REVERSE);
				mvaddch(y0 + 1 + r, x, ' ');
			} else
				mvaddch(y0 + 1 + r, x, ACS_CKBOARD);
		}
		attrset(A_NORMAL);
	}
}

static void
ui_draw_trades(struct ui *u, int y0, int x0, int w, int h)
{
	struct mdata	*md = &u->md;
	char		 t[16];
	int		 i;

	ui_put(y0, x0, w, A_BOLD, "Trades");
	for (i = 0; i < h - 1 && (size_t)i < md->ntrades; i++) {
		struct mdata_trade	*tr = &md->trades[i];

		ui_hms(tr->ts, t, sizeof t);
		ui_put(y0 + 1 + i, x0, w, ui_attr(u, tr->buy ? C_BID : C_ASK),
		    "%s %c %-*s %s", t, tr->buy ? 'B' : 'S', (w - 12) / 2,
		    tr->price, tr->qty);
	}
}

static int
ui_list_len(const cJSON *a)
{
	return a != NULL ? cJSON_GetArraySize(a) : 0;
}

/* Parts per million as an exact percentage: 375000 -> "37.5%". */
static void
ui_ppm_pct(int64_t ppm, char *buf, size_t len)
{
	int64_t	 w, f;
	int	 d = 4;

	if (ppm < 0)
		ppm = 0;
	w = ppm / 10000;
	f = ppm % 10000;
	while (d > 0 && f % 10 == 0) {
		f /= 10;
		d--;
	}
	if (d == 0)
		snprintf(buf, len, "%lld%%", (long long)w);
	else
		snprintf(buf, len, "%lld.%0*lld%%", (long long)w, d,
		    (long long)f);
}

/* part/whole as a percentage, rounded down to 0.1 (a display ratio). */
static void
ui_ratio_pct(int64_t part, int64_t whole, char *buf, size_t len)
{
	int64_t	 t;

	if (whole <= 0 || part < 0) {
		copystr(buf, len, "-");
		return;
	}
	t = part * 1000 / whole;
	snprintf(buf, len, "%lld.%lld%%", (long long)(t / 10),
	    (long long)(t % 10));
}

/*
 * The LP tab: the user's GET /lp/stats, a row per market (the current
 * market marked), then the current market's quotes and top-of-book time.
 */
static void
ui_draw_lp(struct ui *u, int y, int h)
{
	const struct ui_market	*m = ui_cur(u);
	const cJSON		*x, *cur = NULL, *tb, *q;
	char			 share[32], tbid[32], task[32], since[16];
	char			 sp[32];
	int			 n = 1;

	ui_put(y, 0, COLS, A_DIM, " %-10s %5s %-13s %-13s %-7s %-7s %-7s %s",
	    "MARKET", "FILLS", "VOLUME", "VOL QUOTE", "MAKER", "TOP BID",
	    "TOP ASK", "SPREAD");
	if (u->lpstats == NULL) {
		ui_put(y + 1, 1, COLS - 2, A_DIM, "no statistics yet (r "
		    "refetches)");
		return;
	}
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(u->lpstats,
	    "markets")) {
		int	 this = m != NULL && strcmp(jstr(x, "market"),
		    m->pair) == 0;

		if (this)
			cur = x;
		if (n >= h - 2 && !this)
			continue;
		tb = cJSON_GetObjectItemCaseSensitive(x, "top_of_book");
		q = cJSON_GetObjectItemCaseSensitive(x, "quote");
		ui_ppm_pct(jint(x, "maker_share_ppm"), share, sizeof share);
		ui_ratio_pct(jint(tb, "bid_ms"), jint(tb, "sampled_ms"), tbid,
		    sizeof tbid);
		ui_ratio_pct(jint(tb, "ask_ms"), jint(tb, "sampled_ms"), task,
		    sizeof task);
		ui_put(y + n++, 0, COLS, this ? A_BOLD : A_NORMAL,
		    " %-10s %5lld %-13s %-13s %-7s %-7s %-7s %s",
		    jstr(x, "market"), (long long)jint(x, "fills"),
		    jstr(x, "volume"), jstr(x, "volume_quote"), share, tbid,
		    task, *jstr(q, "spread") != '\0' ? jstr(q, "spread") :
		    "-");
	}
	if (cur == NULL || n >= h)
		return;
	q = cJSON_GetObjectItemCaseSensitive(cur, "quote");
	tb = cJSON_GetObjectItemCaseSensitive(cur, "top_of_book");
	ui_ppm_pct(jint(q, "spread_ppm"), sp, sizeof sp);
	ui_put(y + n++, 1, COLS - 2, A_NORMAL, "%s quotes: %lld orders, bid "
	    "%s%s x %s, ask %s%s x %s, spread %s", jstr(cur, "market"),
	    (long long)jint(q, "orders"),
	    *jstr(q, "bid") != '\0' ? jstr(q, "bid") : "-",
	    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(q, "at_best_bid")) ?
	    " (best)" : "", jstr(q, "bid_depth"),
	    *jstr(q, "ask") != '\0' ? jstr(q, "ask") : "-",
	    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(q, "at_best_ask")) ?
	    " (best)" : "", jstr(q, "ask_depth"),
	    *jstr(q, "spread") != '\0' ? sp : "-");
	if (n >= h)
		return;
	ui_hms(jint(u->lpstats, "tracked_since"), since, sizeof since);
	ui_put(y + n, 1, COLS - 2, A_DIM, "%d days: %lld fills, %lld as "
	    "maker; at the top %llds bid, %llds ask of %llds since %s",
	    (int)jint(u->lpstats, "window_days"), (long long)jint(cur, "fills"),
	    (long long)jint(cur, "maker_fills"),
	    (long long)(jint(tb, "bid_ms") / 1000),
	    (long long)(jint(tb, "ask_ms") / 1000),
	    (long long)(jint(tb, "sampled_ms") / 1000), since);
}

static void
ui_draw_panel(struct ui *u, int y0, int h)
{
	const cJSON	*arr = NULL, *o;
	char		 t[16];
	int		 i, x = 0, n, off, y;

	for (i = 0; i < UI_NTABS; i++) {
		int	len = (int)strlen(ui_tabs[i]) + 4;

		ui_put(y0, x, len, i == u->tab ? A_REVERSE | A_BOLD :
		    A_NORMAL, " %d %s ", i + 1, ui_tabs[i]);
		x += len + 1;
	}
	y = y0 + 1;
	h--;
	if (!u->logged_in && u->tab != UI_TAB_WALLET) {
		ui_put(y + 1, 2, COLS - 4, A_DIM, "Not logged in: press L "
		    "and enter the passphrase of profile '%s'.",
		    kdex_g.profile);
		return;
	}
	switch (u->tab) {
	case 0:
	case 1:
		arr = u->tab == 0 ? u->orders : u->history;
		ui_put(y, 0, COLS, A_DIM, " %-10s %-4s %-6s %-16s %-16s %-14s "
		    "%s", "ID", "SIDE", "TYPE", "PRICE", "QTY", "FILLED",
		    "STATUS");
		break;
	case 2:
		arr = u->fills;
		ui_put(y, 0, COLS, A_DIM, " %-8s %-10s %-4s %-16s %-16s %-14s "
		    "%s", "TIME", "ORDER", "SIDE", "PRICE", "QTY", "FEE",
		    "LIQ");
		break;
	case 3:
		ui_put(y, 0, COLS, A_DIM, " %-10s %-24s %s", "TOKEN",
		    "AVAILABLE", "TOTAL");
		for (i = 0; i < h - 1 && (size_t)i < u->nbals; i++)
			ui_put(y + 1 + i, 0, COLS, A_NORMAL, " %-10s %-24s %s",
			    u->bals[i].symbol, u->bals[i].avail,
			    u->bals[i].total);
		if (u->nbals == 0)
			ui_put(y + 1, 1, COLS - 2, A_DIM, "no balances");
		return;
	case UI_TAB_LP:
		ui_draw_lp(u, y, h);
		return;
	case UI_TAB_WALLET:
		ui_put(y, 1, COLS - 2, A_DIM, "W setup wizard  G grant  R "
		    "revoke  X self-withdraw  w request withdrawal  r reload");
		n = 1;
		if (u->wperm != NULL) {
			const cJSON	*a;
			char		 bals[160] = "";

			cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(
			    u->wbal, "balances"))
				snprintf(bals + strlen(bals), sizeof bals -
				    strlen(bals), "%s %s  ", jstr(a, "amount"),
				    jstr(a, "symbol"));
			ui_put(y + n++, 1, COLS - 2, A_BOLD, "Storage %s  %s",
			    jstr(u->wperm, "storage"), bals[0] != '\0' ? bals :
			    "(empty)");
			cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(
			    u->wperm, "acl")) {
				if (n >= h)
					break;
				ui_put(y + n++, 3, COLS - 4, A_NORMAL, "%.14s..  "
				    "%-22s %s", jstr(a, "principal"),
				    jstr(a, "flags"), jstr(a, "meaning"));
			}
			if (n < h)
				ui_put(y + n++, 3, COLS - 4, A_NORMAL,
				    "anyone            %-22s may deposit",
				    jstr(u->wperm, "default"));
		} else
			ui_put(y + n++, 1, COLS - 2, A_NORMAL, "No storage "
			    "account for profile '%s' yet: press W.",
			    kdex_g.profile);
		if (n < h && u->deposit_addr[0] != '\0')
			ui_put(y + n++, 1, COLS - 2, A_NORMAL, "Deposit "
			    "address (kdexd): %s", u->deposit_addr);
		cJSON_ArrayForEach(o, u->deposits) {
			if (n >= h)
				break;
			ui_put(y + n++, 1, COLS - 2, A_NORMAL, "deposit    "
			    "%-8s %-18s %-10s %s", jstr(o, "symbol"),
			    jstr(o, "amount"), jstr(o, "status"),
			    jstr(o, "block"));
		}
		cJSON_ArrayForEach(o, u->withdrawals) {
			if (n >= h)
				break;
			ui_put(y + n++, 1, COLS - 2, A_NORMAL, "withdrawal "
			    "%-8s %-18s %-10s %s", jstr(o, "symbol"),
			    jstr(o, "amount"), jstr(o, "status"),
			    jstr(o, "to"));
		}
		return;
	}
	n = ui_list_len(arr);
	if (n == 0) {
		ui_put(y + 1, 1, COLS - 2, A_DIM, "none");
		return;
	}
	if (u->sel >= n)
		u->sel = n - 1;
	off = u->sel >= h - 1 ? u->sel - (h - 2) : 0;
	for (i = off; i < n && i - off < h - 1; i++) {
		attr_t	a;

		o = cJSON_GetArrayItem(arr, i);
		a = strcmp(jstr(o, "side"), "buy") == 0 ? ui_attr(u, C_BID) :
		    ui_attr(u, C_ASK);
		if (u->tab == 0 && i == u->sel)
			a = A_REVERSE;
		if (u->tab == 2) {
			ui_hms(jint(o, "ts"), t, sizeof t);
			ui_put(y + 1 + i - off, 0, COLS, a, " %-8s %-10s %-4s "
			    "%-16s %-16s %-14s %s", t, jstr(o, "order_id"),
			    jstr(o, "side"), jstr(o, "price"), jstr(o, "qty"),
			    jstr(o, "fee"), jstr(o, "liquidity"));
		} else
			ui_put(y + 1 + i - off, 0, COLS, a, " %-10s %-4s %-6s "
			    "%-16s %-16s %-14s %s", jstr(o, "id"),
			    jstr(o, "side"), jstr(o, "type"),
			    *jstr(o, "price") != '\0' ? jstr(o, "price") : "-",
			    jstr(o, "qty"), jstr(o, "filled"),
			    jstr(o, "status"));
	}
}

static void
ui_draw_footer(struct ui *u)
{
	int	x = 0, i, kl, ll;

	attrset(A_NORMAL);
	mvhline(LINES - 1, 0, ' ', COLS);
	for (i = 0; ui_keys[i].key != NULL; i++) {
		if (!ui_keys[i].footer)
			continue;
		kl = (int)strlen(ui_keys[i].key);
		ll = (int)strlen(ui_keys[i].label);
		if (x + kl + ll + 1 > COLS)
			break;
		ui_put(LINES - 1, x, kl, A_BOLD, "%s", ui_keys[i].key);
		ui_put(LINES - 1, x + kl, ll, ui_attr(u, C_HEAD), "%s",
		    ui_keys[i].label);
		x += kl + ll + 1;
	}
	if (u->status[0] != '\0')
		ui_put(LINES - 2, 0, COLS, u->status_err ?
		    ui_attr(u, C_WARN) : A_BOLD, "%s", u->status);
	else if (u->conn != CONN_LIVE && u->connwhy[0] != '\0')
		ui_put(LINES - 2, 0, COLS, ui_attr(u, C_WARN), "%s",
		    u->connwhy);
}

/* A framed box for overlays; returns its inner origin. */
static void
ui_box(int y, int x, int h, int w, const char *title)
{
	int	i;

	attrset(A_NORMAL);
	for (i = 0; i < h; i++)
		mvhline(y + i, x, ' ', w);
	mvaddch(y, x, ACS_ULCORNER);
	mvaddch(y, x + w - 1, ACS_URCORNER);
	mvaddch(y + h - 1, x, ACS_LLCORNER);
	mvaddch(y + h - 1, x + w - 1, ACS_LRCORNER);
	mvhline(y, x + 1, ACS_HLINE, w - 2);
	mvhline(y + h - 1, x + 1, ACS_HLINE, w - 2);
	mvvline(y + 1, x, ACS_VLINE, h - 2);
	mvvline(y + 1, x + w - 1, ACS_VLINE, h - 2);
	ui_put(y, x + 2, w - 4, A_BOLD, " %s ", title);
}

static void
ui_draw_help(struct ui *u)
{
	int	n = 0, i, h, w = 64, y, x;

	(void)u;
	for (i = 0; ui_keys[i].key != NULL; i++)
		n++;
	h = n + 7;
	if (h > LINES)
		h = LINES;
	y = (LINES - h) / 2;
	x = (COLS - w) / 2;
	ui_box(y, x, h, w, "Help: kdex keys (any key closes)");
	for (i = 0; ui_keys[i].key != NULL && i < h - 6; i++)
		ui_put(y + 1 + i, x + 2, w - 4, A_NORMAL, "%-9s %s",
		    ui_keys[i].key, ui_keys[i].help);
	for (i = 0; ui_form_help[i] != NULL; i++)
		ui_put(y + h - 5 + i, x + 2, w - 4, A_DIM, "%s",
		    ui_form_help[i]);
	ui_put(y + h - 2, x + 2, w - 4, A_DIM, "Profile %s, kdexd %s",
	    kdex_g.profile, api_base(u->api));
}

static void
ui_draw_form(struct ui *u)
{
	struct ui_market	*m = ui_cur(u);
	struct ui_form		*f = &u->form;
	struct ui_preview	 pv;
	static const char *const tifs[] = { "GTC", "IOC", "FOK" };
	int			 h = 16, w = 60, y, x, r;

	if (m == NULL)
		return;
	ui_preview(u, &pv);
	y = (LINES - h) / 2;
	x = (COLS - w) / 2;
	ui_box(y, x, h, w, f->buy ? "Buy order" : "Sell order");
	r = y + 1;
	ui_put(r++, x + 2, w - 4, ui_attr(u, f->buy ? C_BID : C_ASK),
	    "Side      %s   (b/s)", f->buy ? "BUY" : "SELL");
	ui_put(r++, x + 2, w - 4, A_NORMAL, "Type      %s   (t)",
	    f->market ? "MARKET" : "LIMIT");
	ui_put(r++, x + 2, w - 4, f->field == 0 && !f->market ? A_REVERSE :
	    A_NORMAL, "Price     %-20s %s", f->market ? "(best available)" :
	    f->price, m->quote);
	ui_put(r++, x + 2, w - 4, f->field == 1 || f->market ? A_REVERSE :
	    A_NORMAL, "Quantity  %-20s %s  (%% = share of balance)", f->qty,
	    m->base);
	ui_put(r++, x + 2, w - 4, A_NORMAL, "TIF       %s (f)    Post-only "
	    "%s (p)", tifs[f->tif], f->post_only ? "yes" : "no");
	r++;
	if (pv.ok || pv.qty[0] != '\0') {
		ui_put(r++, x + 2, w - 4, A_NORMAL, "%s %-16s %s %s",
		    f->buy ? "Cost     " : "Proceeds ", pv.cost, m->quote,
		    pv.estimate ? "(estimate from the book)" : "");
		ui_put(r++, x + 2, w - 4, A_NORMAL, "Fee max   %-16s %s "
		    "(%d ppm)", pv.fee, m->quote, f->post_only && !f->market ?
		    m->maker_ppm : m->taker_ppm);
		ui_put(r++, x + 2, w - 4, A_NORMAL, "Receive   %-16s %s",
		    pv.receive, f->buy ? m->base : m->quote);
		ui_put(r++, x + 2, w - 4, A_NORMAL, "After     %-16s %s "
		    "available", pv.after, f->buy ? m->quote : m->base);
	} else
		r += 4;
	if (!pv.ok)
		ui_put(r, x + 2, w - 4, ui_attr(u, C_WARN), "%s", pv.why);
	else if (pv.large)
		ui_put(r, x + 2, w - 4, ui_attr(u, C_WARN), "Large order "
		    "(%d%% of balance or far from last): confirm with y",
		    pv.pct);
	ui_put(y + h - 2, x + 2, w - 4, A_DIM, "Enter review  Tab field  "
	    "Esc close");
}

static void
ui_draw_confirm(struct ui *u)
{
	struct ui_market	*m = ui_cur(u);
	struct ui_preview	 pv;
	int			 h = 7, w = 64, y = (LINES - 7) / 2;
	int			 x = (COLS - 64) / 2;

	ui_box(y, x, h, w, "Confirm");
	switch (u->confirm) {
	case CONFIRM_ORDER:
		ui_preview(u, &pv);
		if (u->form.market)
			ui_put(y + 2, x + 2, w - 4, A_BOLD, "%s MARKET %s %s?",
			    u->form.buy ? "BUY" : "SELL", pv.qty, m->base);
		else
			ui_put(y + 2, x + 2, w - 4, A_BOLD, "%s LIMIT %s %s @ "
			    "%s %s?", u->form.buy ? "BUY" : "SELL", pv.qty,
			    m->base, u->form.price, m->quote);
		ui_put(y + 3, x + 2, w - 4, pv.large ? ui_attr(u, C_WARN) :
		    A_NORMAL, "%s %s %s, fee up to %s", u->form.buy ?
		    "cost" : "proceeds", pv.cost, m->quote, pv.fee);
		break;
	case CONFIRM_CANCEL:
		ui_put(y + 2, x + 2, w - 4, A_BOLD, "Cancel order %s?",
		    u->confirm_id);
		break;
	case CONFIRM_CANCEL_ALL:
		ui_put(y + 2, x + 2, w - 4, A_BOLD, "Cancel ALL your open "
		    "orders in %s?", m != NULL ? m->pair : "-");
		break;
	case CONFIRM_SETUP:
		ui_box(y - 3, x, h + 5, w, "Storage account setup");
		ui_put(y - 2, x + 2, w - 4, A_NORMAL, "1. create a storage "
		    "account owned by your key (you: OWNER)");
		ui_put(y - 1, x + 2, w - 4, A_NORMAL, "2. default: anyone may "
		    "deposit, any token may be held");
		ui_put(y, x + 2, w - 4, A_NORMAL, "3. the operator "
		    "may SEND_ON_BEHALF each market token");
		ui_put(y + 1, x + 2, w - 4, A_NORMAL, "4. register it with "
		    "kdexd as your deposit address");
		ui_put(y + 3, x + 2, w - 4, A_BOLD, "Build, sign and publish "
		    "these blocks?");
		break;
	case CONFIRM_GRANT:
		ui_put(y + 2, x + 2, w - 4, A_BOLD, "Let the operator send "
		    "every market token from your storage account?");
		break;
	case CONFIRM_REVOKE:
		ui_put(y + 2, x + 2, w - 4, A_BOLD, "Revoke the operator on "
		    "every token? (trading stops settling)");
		break;
	case CONFIRM_WDRAW:
		ui_put(y + 2, x + 2, w - 4, A_BOLD, "Ask kdexd to withdraw %s "
		    "%s to", u->wd[1], u->wd[0]);
		ui_put(y + 3, x + 2, w - 4, A_NORMAL, "%s?", u->wd[2]);
		break;
	case CONFIRM_WITHDRAW:
		ui_put(y + 1, x + 2, w - 4, A_BOLD, "Send EVERYTHING in the "
		    "storage account to");
		ui_put(y + 2, x + 2, w - 4, A_BOLD, "%s", u->dest);
		ui_put(y + 3, x + 2, w - 4, A_NORMAL, "directly on chain, "
		    "without kdexd?");
		ui_put(y + 5, x + 2, w - 4, A_DIM, "y withdraw   r withdraw "
		    "and revoke the operator   n/Esc no");
		return;
	}
	ui_put(y + 5, x + 2, w - 4, A_DIM, "y yes   n/Esc no");
}

static void
ui_draw_pass(struct ui *u)
{
	int	h = 5, w = 60, y = (LINES - 5) / 2, x = (COLS - 60) / 2;
	char	stars[41];
	size_t	n = u->passlen < 40 ? u->passlen : 40;

	memset(stars, '*', n);
	stars[n] = '\0';
	ui_box(y, x, h, w, u->act == ACT_LOGIN ? "Log in" :
	    "Sign with your key");
	ui_put(y + 1, x + 2, w - 4, A_NORMAL, "Passphrase for profile '%s':",
	    kdex_g.profile);
	ui_put(y + 2, x + 2, w - 4, A_BOLD, "%s_", stars);
	ui_put(y + 3, x + 2, w - 4, A_DIM, "Enter %s   Esc cancel",
	    u->act == ACT_LOGIN ? "log in" : "sign and publish");
}

static void
ui_draw_dest(struct ui *u)
{
	int	h = 5, w = 76, y = (LINES - 5) / 2, x = (COLS - 76) / 2;

	ui_box(y, x, h, w, "Self-withdraw: destination");
	ui_put(y + 1, x + 2, w - 4, A_NORMAL, "Keeta address to receive "
	    "everything in the storage account:");
	ui_put(y + 2, x + 2, w - 4, A_BOLD, "%s_", u->dest);
	ui_put(y + 3, x + 2, w - 4, A_DIM, "Enter continue   Esc cancel");
}

static void
ui_draw_wdraw(struct ui *u)
{
	static const char *const names[] = { "Token", "Amount", "To" };
	int	h = 7, w = 80, y = (LINES - 7) / 2, x = (COLS - 80) / 2, i;

	ui_box(y, x, h, w, "Request a withdrawal (kdexd)");
	for (i = 0; i < 3; i++)
		ui_put(y + 1 + i, x + 2, w - 4, i == u->wdfield ? A_REVERSE :
		    A_NORMAL, "%-7s %s%s", names[i], u->wd[i],
		    i == u->wdfield ? "_" : "");
	ui_put(y + 5, x + 2, w - 4, A_DIM, "Tab field   Enter review   Esc "
	    "close");
}

static void
ui_draw(struct ui *u)
{
	int	bw, tw, cw, top, ph, bh;

	erase();
	if (COLS < UI_MIN_W || LINES < UI_MIN_H) {
		ui_put(0, 0, COLS, A_BOLD, "kdex: the terminal is %dx%d; "
		    "need at least %dx%d", COLS, LINES, UI_MIN_W, UI_MIN_H);
		ui_put(1, 0, COLS, A_NORMAL, "q quits");
		refresh();
		return;
	}
	ui_draw_header(u);
	/* Panel: a third of the height beyond the minimum goes to it. */
	ph = 7 + (LINES - UI_MIN_H) / 3;
	top = 2;
	bh = LINES - top - ph - 2;
	bw = COLS >= 120 ? 40 : 30;
	tw = COLS >= 120 ? 30 : 22;
	cw = COLS - bw - tw - 2;
	ui_draw_book(u, top, 0, bw, bh);
	mvvline(top, bw, ACS_VLINE, bh);
	ui_draw_chart(u, top, bw + 1, cw, bh);
	mvvline(top, bw + 1 + cw, ACS_VLINE, bh);
	ui_draw_trades(u, top, bw + 2 + cw, tw, bh);
	ui_hline(top + bh, 0, COLS);
	ui_draw_panel(u, top + bh + 1, ph - 1);
	ui_draw_footer(u);
	switch (u->mode) {
	case MODE_HELP:
		ui_draw_help(u);
		break;
	case MODE_FORM:
		ui_draw_form(u);
		break;
	case MODE_CONFIRM:
		ui_draw_confirm(u);
		break;
	case MODE_PASS:
		ui_draw_pass(u);
		break;
	case MODE_DEST:
		ui_draw_dest(u);
		break;
	case MODE_WDRAW:
		ui_draw_wdraw(u);
		break;
	case MODE_MAIN:
		break;
	}
	refresh();
}

/* ------------------------------------------------------------------ */
/* Actions                                                            */

static int
ui_post(struct ui *u, const char *path, cJSON *body, cJSON **ans)
{
	char	*cause = NULL;
	int	 st;

	st = api_request(u->api, "POST", path, body, ans, &cause);
	if (st < 0) {
		ui_msg(u, 1, "%s", cause);
		free(cause);
		return -1;
	}
	if (st != 200) {
		ui_msg(u, 1, "%s: %s %s", path, *api_error_code(*ans) != '\0' ?
		    api_error_code(*ans) : "HTTP error",
		    api_error_message(*ans));
		cJSON_Delete(*ans);
		*ans = NULL;
		return -1;
	}
	return 0;
}

static void
ui_place(struct ui *u)
{
	struct ui_market	*m = ui_cur(u);
	struct ui_preview	 pv;
	static const char *const tifs[] = { "GTC", "IOC", "FOK" };
	cJSON			*body, *ans = NULL;
	const cJSON		*o;

	ui_preview(u, &pv);
	if (!pv.ok || m == NULL)
		return;
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "market", m->pair);
	cJSON_AddStringToObject(body, "side", u->form.buy ? "buy" : "sell");
	cJSON_AddStringToObject(body, "type", u->form.market ? "market" :
	    "limit");
	if (!u->form.market)
		cJSON_AddStringToObject(body, "price", u->form.price);
	cJSON_AddStringToObject(body, "qty", pv.qty);
	cJSON_AddStringToObject(body, "tif", u->form.market &&
	    u->form.tif == 0 ? "IOC" : tifs[u->form.tif]);
	cJSON_AddBoolToObject(body, "post_only", u->form.post_only &&
	    !u->form.market);
	if (ui_post(u, "/orders/place", body, &ans) == 0) {
		o = cJSON_GetObjectItemCaseSensitive(ans, "order");
		ui_msg(u, strcmp(jstr(o, "status"), "rejected") == 0,
		    "order %s %s %s %s %s", jstr(o, "id"), jstr(o, "status"),
		    jstr(o, "side"), jstr(o, "qty"), jstr(o, "reason"));
	}
	cJSON_Delete(body);
	cJSON_Delete(ans);
	u->fetch_priv = 1;
}

static void
ui_cancel(struct ui *u, int all)
{
	cJSON		*body, *ans = NULL;
	const cJSON	*ids;

	body = cJSON_CreateObject();
	if (all)
		cJSON_AddStringToObject(body, "market", ui_cur(u)->pair);
	else
		cJSON_AddStringToObject(body, "id", u->confirm_id);
	if (ui_post(u, all ? "/orders/cancel-all" : "/orders/cancel", body,
	    &ans) == 0) {
		ids = cJSON_GetObjectItemCaseSensitive(ans, "cancelled");
		ui_msg(u, 0, "cancelled %d order%s", cJSON_GetArraySize(ids),
		    cJSON_GetArraySize(ids) == 1 ? "" : "s");
	}
	cJSON_Delete(body);
	cJSON_Delete(ans);
	u->fetch_priv = 1;
}

static void
ui_withdraw_request(struct ui *u)
{
	cJSON		*body, *ans = NULL;
	const cJSON	*wd;

	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "token", u->wd[0]);
	cJSON_AddStringToObject(body, "amount", u->wd[1]);
	cJSON_AddStringToObject(body, "to", u->wd[2]);
	if (ui_post(u, "/withdrawals/request", body, &ans) == 0) {
		wd = cJSON_GetObjectItemCaseSensitive(ans, "withdrawal");
		ui_msg(u, 0, "withdrawal %s %s", jstr(wd, "id"),
		    jstr(wd, "status"));
	}
	cJSON_Delete(body);
	cJSON_Delete(ans);
	u->fetch_priv = 1;
}

static void
ui_switch_market(struct ui *u, int delta)
{
	if (u->nmarkets < 2)
		return;
	if (u->ws != NULL)
		ui_subscribe(u, "unsubscribe", ui_cur(u));
	u->cur = (u->cur + u->nmarkets + (size_t)(delta + (int)u->nmarkets)) %
	    u->nmarkets;
	ui_reset_market(u);
	if (u->ws != NULL)
		ui_subscribe(u, "subscribe", ui_cur(u));
	u->fetch = u->fetch_priv = 1;
}

/* ------------------------------------------------------------------ */
/* Keys                                                               */

static int
ui_key_form(struct ui *u, int ch)
{
	struct ui_form		*f = &u->form;
	struct ui_preview	 pv;
	char			*fld = f->field == 0 && !f->market ? f->price :
				    f->qty;
	size_t			 len = strlen(fld);

	switch (ch) {
	case 27:
		u->mode = MODE_MAIN;
		break;
	case 'b':
		f->buy = 1;
		break;
	case 's':
		f->buy = 0;
		break;
	case 't':
		f->market = !f->market;
		f->field = 1;
		break;
	case 'f':
		f->tif = (f->tif + 1) % 3;
		break;
	case 'p':
		f->post_only = !f->post_only;
		break;
	case '\t':
	case KEY_UP:
	case KEY_DOWN:
		if (!f->market)
			f->field = !f->field;
		break;
	case KEY_BACKSPACE:
	case 127:
	case 8:
		if (len > 0)
			fld[len - 1] = '\0';
		break;
	case '\n':
	case '\r':
	case KEY_ENTER:
		ui_preview(u, &pv);
		if (!pv.ok) {
			ui_msg(u, 1, "%s", pv.why);
			break;
		}
		u->confirm = CONFIRM_ORDER;
		u->back = MODE_FORM;
		u->mode = MODE_CONFIRM;
		break;
	default:
		if (((ch >= '0' && ch <= '9') || ch == '.' ||
		    (ch == '%' && fld == f->qty)) && len + 1 < UI_FIELD_MAX) {
			fld[len] = (char)ch;
			fld[len + 1] = '\0';
		}
		break;
	}
	return UI_REDRAW;
}

static int
ui_key_confirm(struct ui *u, int ch)
{
	struct ui_preview	pv;

	if (u->confirm == CONFIRM_WDRAW) {
		if (ch == 'y' || ch == 'Y') {
			u->mode = MODE_MAIN;
			ui_withdraw_request(u);
			return UI_REDRAW | UI_FETCH_PRIV;
		}
		if (ch == 'n' || ch == 'N' || ch == 27 || ch == 'q')
			u->mode = MODE_WDRAW;
		return UI_REDRAW;
	}
	if (u->confirm >= CONFIRM_SETUP) {
		if (ch == 'y' || ch == 'Y' || (ch == 'r' &&
		    u->confirm == CONFIRM_WITHDRAW)) {
			switch (u->confirm) {
			case CONFIRM_SETUP:
				u->act = ACT_SETUP;
				break;
			case CONFIRM_GRANT:
				u->act = ACT_GRANT;
				break;
			case CONFIRM_REVOKE:
				u->act = ACT_REVOKE;
				break;
			default:
				u->act = ch == 'r' ? ACT_WITHDRAW_REVOKE :
				    ACT_WITHDRAW;
				break;
			}
			u->passlen = 0;
			u->pass[0] = '\0';
			u->mode = MODE_PASS;
		} else if (ch == 'n' || ch == 'N' || ch == 27 || ch == 'q')
			u->mode = MODE_MAIN;
		return UI_REDRAW;
	}
	if (ch == 'y' || ch == 'Y' || ((ch == '\n' || ch == '\r') &&
	    u->confirm == CONFIRM_ORDER)) {
		if (u->confirm == CONFIRM_ORDER) {
			ui_preview(u, &pv);
			/* Enter is enough for a normal order; a large one
			 * needs the explicit y. */
			if (pv.large && ch != 'y' && ch != 'Y') {
				ui_msg(u, 1, "large order: press y to place "
				    "it, n to go back");
				return UI_REDRAW;
			}
			u->mode = MODE_MAIN;
			ui_place(u);
			return UI_REDRAW | UI_FETCH_PRIV;
		}
		u->mode = MODE_MAIN;
		ui_cancel(u, u->confirm == CONFIRM_CANCEL_ALL);
		return UI_REDRAW | UI_FETCH_PRIV;
	}
	if (ch == 'n' || ch == 'N' || ch == 27 || ch == 'q')
		u->mode = u->back;
	return UI_REDRAW;
}

static int
ui_key_pass(struct ui *u, int ch)
{
	switch (ch) {
	case 27:
		sodium_memzero(u->pass, sizeof u->pass);
		u->passlen = 0;
		u->mode = MODE_MAIN;
		break;
	case KEY_BACKSPACE:
	case 127:
	case 8:
		if (u->passlen > 0)
			u->pass[--u->passlen] = '\0';
		break;
	case '\n':
	case '\r':
	case KEY_ENTER:
		u->mode = MODE_MAIN;
		if (u->act != ACT_LOGIN) {
			ui_wallet_act(u, u->pass);
			sodium_memzero(u->pass, sizeof u->pass);
			u->passlen = 0;
			return UI_REDRAW;
		}
		ui_msg(u, 0, "logging in...");
		ui_draw(u);
		ui_login(u, u->pass);
		sodium_memzero(u->pass, sizeof u->pass);
		u->passlen = 0;
		return UI_REDRAW | UI_FETCH_PRIV;
	default:
		if (ch >= 32 && ch < 256 && u->passlen < KEYFILE_PASS_MAX) {
			u->pass[u->passlen++] = (char)ch;
			u->pass[u->passlen] = '\0';
		}
		break;
	}
	return UI_REDRAW;
}

static int
ui_key_wdraw(struct ui *u, int ch)
{
	char	*f = u->wd[u->wdfield];
	size_t	 len = strlen(f);

	switch (ch) {
	case 27:
		u->mode = MODE_MAIN;
		break;
	case '\t':
	case KEY_DOWN:
		u->wdfield = (u->wdfield + 1) % 3;
		break;
	case KEY_UP:
		u->wdfield = (u->wdfield + 2) % 3;
		break;
	case KEY_BACKSPACE:
	case 127:
	case 8:
		if (len > 0)
			f[len - 1] = '\0';
		break;
	case '\n':
	case '\r':
	case KEY_ENTER:
		if (u->wd[0][0] == '\0' || u->wd[1][0] == '\0' ||
		    u->wd[2][0] == '\0') {
			ui_msg(u, 1, "token, amount and destination, please");
			break;
		}
		u->confirm = CONFIRM_WDRAW;
		u->back = MODE_WDRAW;
		u->mode = MODE_CONFIRM;
		break;
	default:
		if (ch > 32 && ch < 127 && len + 1 < sizeof u->wd[0]) {
			f[len] = (char)ch;
			f[len + 1] = '\0';
		}
		break;
	}
	return UI_REDRAW;
}

static int
ui_key_dest(struct ui *u, int ch)
{
	struct keeta_pubkey	 pk;
	const char		*why;

	switch (ch) {
	case 27:
		u->mode = MODE_MAIN;
		break;
	case KEY_BACKSPACE:
	case 127:
	case 8:
		if (u->destlen > 0)
			u->dest[--u->destlen] = '\0';
		break;
	case '\n':
	case '\r':
	case KEY_ENTER:
		if (keeta_address_decode(u->dest, &pk, &why) != 0) {
			ui_msg(u, 1, "not a Keeta address: %s", why);
			break;
		}
		u->confirm = CONFIRM_WITHDRAW;
		u->back = MODE_MAIN;
		u->mode = MODE_CONFIRM;
		break;
	default:
		if (((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '_') && u->destlen + 1 < sizeof u->dest) {
			u->dest[u->destlen++] = (char)ch;
			u->dest[u->destlen] = '\0';
		}
		break;
	}
	return UI_REDRAW;
}

static int
ui_key(struct ui *u, int ch)
{
	const cJSON	*o;
	int		 n;

	if (ch == KEY_RESIZE)
		return UI_REDRAW;
	if (ch == 12) {		/* Ctrl-L */
		clearok(curscr, TRUE);
		return UI_REDRAW;
	}
	switch (u->mode) {
	case MODE_HELP:
		u->mode = MODE_MAIN;
		return UI_REDRAW;
	case MODE_FORM:
		return ui_key_form(u, ch);
	case MODE_CONFIRM:
		return ui_key_confirm(u, ch);
	case MODE_PASS:
		return ui_key_pass(u, ch);
	case MODE_DEST:
		return ui_key_dest(u, ch);
	case MODE_WDRAW:
		return ui_key_wdraw(u, ch);
	case MODE_MAIN:
		break;
	}
	u->status[0] = '\0';
	switch (ch) {
	case 'q':
	case KEY_F(10):
		return UI_QUIT;
	case '?':
	case KEY_F(1):
	case 'h':
		u->mode = MODE_HELP;
		break;
	case 'b':
	case 's':
		if (ui_cur(u) == NULL) {
			ui_msg(u, 1, "no market yet");
			break;
		}
		if (!u->logged_in) {
			ui_msg(u, 1, "log in first: press L");
			break;
		}
		memset(&u->form, 0, sizeof u->form);
		u->form.buy = ch == 'b';
		/* Start from the best price on the other side. */
		if (u->form.buy && u->md.nasks > 0)
			copystr(u->form.price, sizeof u->form.price,
			    u->md.asks[0].price);
		else if (!u->form.buy && u->md.nbids > 0)
			copystr(u->form.price, sizeof u->form.price,
			    u->md.bids[0].price);
		u->form.field = 1;
		u->mode = MODE_FORM;
		break;
	case 'c':
		if (u->tab != 0 || (o = cJSON_GetArrayItem(u->orders,
		    u->sel)) == NULL) {
			ui_msg(u, 1, "select an open order first (panel 1)");
			break;
		}
		copystr(u->confirm_id, sizeof u->confirm_id, jstr(o, "id"));
		u->confirm = CONFIRM_CANCEL;
		u->back = MODE_MAIN;
		u->mode = MODE_CONFIRM;
		break;
	case 'C':
		if (!u->logged_in || ui_cur(u) == NULL) {
			ui_msg(u, 1, "log in first: press L");
			break;
		}
		u->confirm = CONFIRM_CANCEL_ALL;
		u->back = MODE_MAIN;
		u->mode = MODE_CONFIRM;
		break;
	case '\t':
		u->tab = (u->tab + 1) % UI_NTABS;
		u->sel = 0;
		if (u->tab == UI_TAB_WALLET)
			ui_fetch_wallet(u);
		return UI_REDRAW | UI_FETCH_PRIV;
	case KEY_BTAB:
		u->tab = (u->tab + UI_NTABS - 1) % UI_NTABS;
		u->sel = 0;
		return UI_REDRAW | UI_FETCH_PRIV;
	case '1': case '2': case '3': case '4': case '5': case '6':
		u->tab = ch - '1';
		u->sel = 0;
		if (u->tab == UI_TAB_WALLET)
			ui_fetch_wallet(u);
		return UI_REDRAW | UI_FETCH_PRIV;
	case KEY_UP:
	case 'k':
		if (u->sel > 0)
			u->sel--;
		break;
	case KEY_DOWN:
	case 'j':
		n = ui_list_len(u->tab == 0 ? u->orders : u->tab == 1 ?
		    u->history : u->fills);
		if (u->sel + 1 < n)
			u->sel++;
		break;
	case '[':
		ui_switch_market(u, -1);
		break;
	case ']':
		ui_switch_market(u, 1);
		break;
	case 'i':
		u->ival = (u->ival + 1) % UI_NINTERVALS;
		return UI_REDRAW | UI_FETCH;
	case 'L':
		if (u->logged_in) {
			ui_msg(u, 0, "already logged in as %s", u->user);
			break;
		}
		u->passlen = 0;
		u->act = ACT_LOGIN;
		u->mode = MODE_PASS;
		break;
	case 'r':
		if (u->tab == UI_TAB_WALLET)
			ui_fetch_wallet(u);
		return UI_REDRAW | UI_FETCH | UI_FETCH_PRIV;
	case 'W':
		u->tab = 4;
		u->confirm = CONFIRM_SETUP;
		u->back = MODE_MAIN;
		u->mode = MODE_CONFIRM;
		break;
	case 'G':
	case 'R':
		u->tab = 4;
		u->confirm = ch == 'G' ? CONFIRM_GRANT : CONFIRM_REVOKE;
		u->back = MODE_MAIN;
		u->mode = MODE_CONFIRM;
		break;
	case 'w':
		if (!u->logged_in) {
			ui_msg(u, 1, "log in first: press L");
			break;
		}
		u->tab = 4;
		memset(u->wd, 0, sizeof u->wd);
		u->wdfield = 0;
		u->mode = MODE_WDRAW;
		break;
	case 'X':
		u->tab = 4;
		/* Default destination: our own account. */
		{
			struct keyfile	 kf;
			char		*path = keyfile_profile_path(
					    kdex_g.profile, NULL);

			u->dest[0] = '\0';
			if (path != NULL && keyfile_peek(path, &kf, NULL) == 0)
				copystr(u->dest, sizeof u->dest, kf.address);
			free(path);
			u->destlen = strlen(u->dest);
		}
		u->mode = MODE_DEST;
		break;
	default:
		return UI_NONE;
	}
	return UI_REDRAW;
}

/* ------------------------------------------------------------------ */
/* Main loop                                                          */

static void
ui_colors(struct ui *u)
{
	const char	*nc = getenv("NO_COLOR");

	u->color = has_colors() && (nc == NULL || *nc == '\0');
	if (!u->color)
		return;
	start_color();
	use_default_colors();
	init_pair(C_BID, COLOR_GREEN, -1);
	init_pair(C_ASK, COLOR_RED, -1);
	init_pair(C_HEAD, COLOR_BLACK, COLOR_CYAN);
	init_pair(C_WARN, COLOR_BLACK, COLOR_YELLOW);
	init_pair(C_BIDBAR, COLOR_BLACK, COLOR_GREEN);
	init_pair(C_ASKBAR, COLOR_BLACK, COLOR_RED);
	init_pair(C_OK, COLOR_BLACK, COLOR_GREEN);
}

static void
ui_free(struct ui *u)
{
	ws_free(u->ws);
	api_free(u->api);
	cJSON_Delete(u->orders);
	cJSON_Delete(u->history);
	cJSON_Delete(u->fills);
	cJSON_Delete(u->deposits);
	cJSON_Delete(u->withdrawals);
	cJSON_Delete(u->wperm);
	cJSON_Delete(u->wbal);
	cJSON_Delete(u->lpstats);
	sodium_memzero(u->pass, sizeof u->pass);
	free(u);
}

static int
ui_loop(struct ui *u, const char *want)
{
	struct pollfd	 pfd[2];
	const char	*msg;
	char		*cause = NULL;
	size_t		 len;
	int64_t		 now;
	int		 r = UI_REDRAW, ch, n, rc;

	ui_fetch_markets(u, want);
	ui_reset_market(u);
	u->fetch = u->fetch_priv = 1;
	for (;;) {
		now = api_now_ms();
		if (u->conn == CONN_DOWN && now >= u->next_try) {
			ui_connect(u, now);
			r |= UI_REDRAW;
			if (u->conn == CONN_LIVE && want != NULL &&
			    strcmp(ui_cur(u)->pair, want) != 0)
				want = NULL;
		}
		if (r & UI_RESUB && u->ws != NULL) {
			ui_subscribe(u, "unsubscribe", ui_cur(u));
			ui_subscribe(u, "subscribe", ui_cur(u));
		}
		if ((r & UI_FETCH) || u->fetch ||
		    now - u->last_poll >= UI_POLL_MS) {
			/* Without the live feed, poll the book too. */
			ui_fetch_public(u, u->conn != CONN_LIVE ||
			    !u->md.have_book);
			u->last_poll = now;
			u->fetch = 0;
			r |= UI_REDRAW;
			/* Time at the top of the book moves on its own. */
			if (u->tab == UI_TAB_LP)
				u->fetch_priv = 1;
		}
		if ((r & UI_FETCH_PRIV) || u->fetch_priv) {
			ui_fetch_private(u);
			u->fetch_priv = 0;
			r |= UI_REDRAW;
		}
		if (u->ws != NULL && now - u->last_ping >= UI_PING_MS) {
			ui_ws_send(u, "ping", "");
			u->last_ping = now;
		}
		/* The reconnect countdown ticks once a second. */
		if (u->conn != CONN_LIVE)
			r |= UI_REDRAW;
		if (r & UI_REDRAW)
			ui_draw(u);
		r = UI_NONE;

		pfd[0].fd = STDIN_FILENO;
		pfd[0].events = POLLIN;
		pfd[1].fd = u->ws != NULL ? ws_fd(u->ws) : -1;
		pfd[1].events = POLLIN;
		n = poll(pfd, 2, u->conn == CONN_LIVE ? 500 : 250);
		if (ui_signal != 0)
			return 128 + ui_signal;
		if (n == -1 && errno != EINTR)
			fatal("poll");
		while ((ch = getch()) != ERR) {
			r |= ui_key(u, ch);
			if (r & UI_QUIT)
				return 0;
		}
		if (u->ws != NULL && n > 0 && (pfd[1].revents != 0)) {
			while ((rc = ws_read(u->ws, &msg, &len, &cause)) == 1)
				r |= ui_ws_message(u, msg);
			if (rc < 0) {
				ui_ws_lost(u, cause, api_now_ms());
				free(cause);
				cause = NULL;
				r |= UI_REDRAW;
			}
		}
		if (r & UI_FETCH_PRIV)
			u->fetch_priv = 1;
	}
}

int
cmd_ui(int argc, char **argv)
{
	static const char *const spec[] = { "keys", NULL };
	struct kdex_args	 args;
	struct ui		*u;
	size_t			 i;
	char			*pass;
	int			 rc;

	if ((rc = kdex_args_parse(&args, argc, argv, spec)) != 0)
		return rc > 0 ? KDEX_EXIT_OK : KDEX_EXIT_USAGE;
	if (args.npos > 1)
		return kdex_usage();
	/* The key table, for kdex(1) and tests/kdex_help.test. */
	if (kdex_args_has(&args, "keys")) {
		for (i = 0; ui_keys[i].key != NULL; i++)
			printf("%s\t%s\n", ui_keys[i].key, ui_keys[i].help);
		return KDEX_EXIT_OK;
	}
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return kdex_err(KDEX_EXIT_USAGE, "the full-screen client "
		    "needs a terminal");
	if (sodium_init() < 0)
		fatalx("libsodium initialisation failed");

	u = xcalloc(1, sizeof *u);
	u->api = api_new(kdex_g.url, 3000);
	u->conn = CONN_DOWN;
	/* A cached session, or a passphrase given for scripts/tests, logs
	 * in before the screen opens; otherwise L does it later. */
	if (api_session_load(u->api, kdex_g.profile) == 0)
		ui_after_login(u);
	else if (kdex_g.pass_file != NULL || kdex_g.pass_fd != -1) {
		if ((pass = kdex_passphrase("", 0)) != NULL) {
			ui_login(u, pass);
			keyfile_pass_free(pass);
			if (!u->logged_in)
				fprintf(stderr, "kdex: %s\n", u->status);
		}
	}

	setlocale(LC_ALL, "");
	atexit(ui_restore);
	ui_signals();
	if (initscr() == NULL)
		fatalx("cannot initialise the terminal");
	ui_active = 1;
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	ui_colors(u);

	rc = ui_loop(u, args.npos == 1 ? args.pos[0] : NULL);
	ui_restore();
	ui_free(u);
	return rc;
}
