/*
 * kdexd: the kdex exchange server.
 *
 * main() reads the options and the config file, prepares the data
 * directory (secrets, operator key), starts the embedded kdex-devnet unless
 * --keeta-api names real representatives, opens the exchange and runs the
 * event loop: one lws_service() poll, then one engine batch for whatever
 * the callbacks queued, forever. Periodic work (pings, nonce expiry, the
 * demo market maker) runs from a 100 ms timer, like Redis's serverCron.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <netinet/in.h>

#include <dirent.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>
#include <sodium.h>

#include "devnet.h"
#include "keeta_account.h"
#include "keyfile.h"
#include "ledger.h"
#include "kdexd.h"
#include "kdexd_lp.h"
#include "kdexd_settle.h"
#include "util.h"

struct kdexd		*kdexd_server;
static struct kdexd	 server;
static lws_sorted_usec_list_t cron_sul;

/*
 * The ledger's sync thread wakes the loop when a batch becomes durable
 * (its answers wait for that). lws_cancel_service() is the one lws call
 * meant for another thread; the lock keeps it off a context being
 * destroyed.
 */
static pthread_mutex_t	 wake_mu = PTHREAD_MUTEX_INITIALIZER;
static struct lws_context *wake_ctx;

static void
wake_loop(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&wake_mu);
	if (wake_ctx != NULL)
		lws_cancel_service(wake_ctx);
	pthread_mutex_unlock(&wake_mu);
}

static const char usage_text[] =
    "usage: kdexd [-dhV] [--config file] [--data dir] [--listen host:port]\n"
    "             [--admin-listen host:port] [--keeta-api url ...]\n"
    "             [--network name] [--demo]\n";

static void
usage(FILE *f, int status)
{
	fputs(usage_text, f);
	if (f == stdout)
		fputs("\n"
		    "  -c, --config file         read this config file\n"
		    "      --data dir            data directory (./kdex-data)\n"
		    "  -l, --listen host:port    HTTP and WebSocket (127.0.0.1:8080)\n"
		    "      --admin-listen h:p    admin API (127.0.0.1:8081)\n"
		    "      --keeta-api url       a Keeta representative (repeatable);\n"
		    "                            none: run an embedded kdex-devnet\n"
		    "      --network name        network alias (devnet)\n"
		    "      --demo                demo users and a market maker\n"
		    "  -d, --debug               log every request to stderr\n"
		    "  -h, --help                this help\n"
		    "  -V, --version             print the version\n", f);
	exit(status);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	fputs("kdexd: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (kdexd_server == NULL || !kdexd_server->conf.verbose)
		return;
	va_start(ap, fmt);
	fputs("kdexd: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

int64_t
kdexd_now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

int64_t
kdexd_now_ms(void)
{
	return (kdexd_now_us() / 1000);
}

char *
kdexd_read_file(const char *path, size_t max, size_t *lenp)
{
	FILE	*f;
	char	*buf;
	size_t	 len;

	if ((f = fopen(path, "r")) == NULL)
		return (NULL);
	buf = xmalloc(max + 1);
	len = fread(buf, 1, max, f);
	fclose(f);
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return (buf);
}

int
kdexd_write_file(const char *path, const void *data, size_t len)
{
	char	*tmp;
	int	 fd, ret = -1;

	xasprintf(&tmp, "%s.tmp", path);
	fd = open(tmp, O_WRONLY|O_CREAT|O_TRUNC, 0600);
	if (fd == -1)
		goto out;
	if (write(fd, data, len) != (ssize_t)len || fsync(fd) != 0) {
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, path) == 0)
		ret = 0;
out:
	free(tmp);
	return (ret);
}

/* A hex secret stored in <data>/name, made on first start. */
static void
load_secret(const char *dir, const char *name, uint8_t *out, size_t len)
{
	char	*path, *text, hex[129];
	size_t	 n;

	if (len * 2 + 1 > sizeof hex)
		fatalx("secret too long");
	xasprintf(&path, "%s/%s", dir, name);
	text = kdexd_read_file(path, 256, &n);
	if (text != NULL) {
		while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
			text[--n] = '\0';
		if (keeta_hex_decode(text, n, out, len) != (ssize_t)len)
			fatalx("%s: not %zu hex bytes", path, len);
		free(text);
	} else {
		randombytes_buf(out, len);
		keeta_hex_encode(out, len, hex);
		hex[len * 2] = '\n';
		if (kdexd_write_file(path, hex, len * 2 + 1) != 0)
			fatal("cannot write %s", path);
	}
	free(path);
}

/*
 * The operator key: an Ed25519 Keeta key sealed with keyfile.h (secretbox
 * under Argon2id of a passphrase). The passphrase is KDEXD_OPERATOR_PASSPHRASE
 * when set, else a random one kept in <data>/operator.pass (0600): that only
 * protects a copied operator.key, so production sets the variable.
 */
static void
load_operator(struct kdexd *s)
{
	struct keyfile	 kf;
	char		*path, *passpath, *pass, *cause;
	uint8_t		 seed[32], rnd[32];
	char		 hex[65];
	int		 r;

	xasprintf(&path, "%s/operator.key", s->conf.data_dir);
	xasprintf(&passpath, "%s/operator.pass", s->conf.data_dir);
	if ((pass = getenv("KDEXD_OPERATOR_PASSPHRASE")) != NULL && *pass != '\0')
		pass = xstrdup(pass);
	else if ((pass = kdexd_read_file(passpath, 256, NULL)) != NULL)
		pass[strcspn(pass, "\r\n")] = '\0';
	else {
		randombytes_buf(rnd, sizeof rnd);
		keeta_hex_encode(rnd, sizeof rnd, hex);
		if (kdexd_write_file(passpath, hex, 64) != 0)
			fatal("cannot write %s", passpath);
		pass = xstrdup(hex);
	}

	if (access(path, F_OK) != 0) {
		randombytes_buf(seed, sizeof seed);
		if (keyfile_from_seed(&kf, seed, 0, KEETA_KEY_ED25519,
		    &cause) != 0)
			fatalx("operator key: %s", cause);
		sodium_memzero(seed, sizeof seed);
		if (keyfile_write(path, &kf, pass, strlen(pass), NULL, 0,
		    &cause) != 0)
			fatalx("operator key: %s", cause);
		log_info("new operator key %s in %s", kf.address, path);
	} else {
		r = keyfile_read(path, pass, strlen(pass), &kf, &cause);
		if (r != 0)
			fatalx("operator key %s: %s", path, cause);
	}
	snprintf(s->operator_addr, sizeof s->operator_addr, "%s", kf.address);
	keyfile_clear(&kf);
	sodium_memzero(pass, strlen(pass));
	free(pass);
	free(passpath);
	free(path);
}

static void
prepare_data(struct kdexd *s)
{
	uint8_t	 admin[32];

	if (mkdir(s->conf.data_dir, 0700) != 0 && errno != EEXIST)
		fatal("cannot create %s", s->conf.data_dir);
	load_secret(s->conf.data_dir, "jwt.key", s->jwt_secret,
	    sizeof s->jwt_secret);
	load_secret(s->conf.data_dir, "admin.key", admin, sizeof admin);
	keeta_hex_encode(admin, sizeof admin, s->admin_key);
	sodium_memzero(admin, sizeof admin);
	load_operator(s);
}

/* Start the embedded kdex-devnet with every market token at genesis. */
static void
start_devnet(struct kdexd *s)
{
	struct devnet_config	 dc;
	struct devnet_token	 tokens[KDEXD_MARKETS_MAX * 2];
	size_t			 ntok = 0, i, j;
	char			*dir, *cause;
	const char		*sym[2];
	unsigned int		 dec[2];
	int			 k;

	for (i = 0; i < s->conf.nmarkets; i++) {
		sym[0] = s->conf.markets[i].base;
		sym[1] = s->conf.markets[i].quote;
		dec[0] = s->conf.markets[i].base_decimals;
		dec[1] = s->conf.markets[i].quote_decimals;
		for (k = 0; k < 2; k++) {
			for (j = 0; j < ntok; j++)
				if (strcmp(tokens[j].name, sym[k]) == 0)
					break;
			if (j == ntok) {
				tokens[ntok].name = sym[k];
				tokens[ntok].decimals = dec[k];
				ntok++;
			}
		}
	}
	xasprintf(&dir, "%s/devnet", s->conf.data_dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		fatal("cannot create %s", dir);
	devnet_config_init(&dc);
	dc.data_dir = dir;
	dc.tokens = tokens;
	dc.ntokens = ntok;
	dc.genesis = DEVNET_GENESIS_FAUCET;
	if ((s->devnet = devnet_start(&dc, &cause)) == NULL)
		fatalx("embedded devnet: %s", cause);
	free(dir);
	s->apis[0] = xstrdup(devnet_api_url(s->devnet));
	s->napis = 1;
	s->network_id = devnet_network_id(s->devnet);
	for (i = 0; i < s->conf.nmarkets; i++) {
		struct kdexd_market_conf *m = &s->conf.markets[i];

		for (j = 0; j < devnet_token_count(s->devnet); j++) {
			const char *n = devnet_token_name(s->devnet, j);
			const char *a = devnet_token_address(s->devnet, j);

			if (m->base_token == NULL && strcmp(n, m->base) == 0)
				m->base_token = xstrdup(a);
			if (m->quote_token == NULL && strcmp(n, m->quote) == 0)
				m->quote_token = xstrdup(a);
		}
	}
	log_info("embedded devnet at %s", s->apis[0]);
}

static void
on_signal(int sig)
{
	(void)sig;
	server.stopping = 1;
	if (server.ctx != NULL)
		lws_cancel_service(server.ctx);
}

/*
 * Stop accepting: close the listening sockets of both listeners while the
 * open connections carry on. libwebsockets 4.1 has no call for it (its
 * lws_context_deprecate() uses the listener after freeing it), so find the
 * listening descriptors by port and dup2() a fresh unconnected socket over
 * each: the port is closed at once, so connecting is refused, and the
 * descriptor lws polls stays valid; the new socket reports POLLHUP, on
 * which lws closes and frees its listener the ordinary way.
 */
static void
stop_listening(struct kdexd *s)
{
	struct sockaddr_in	 sin;
	socklen_t		 len;
	DIR			*d;
	struct dirent		*de;
	char			*end;
	long			 l;
	int			 ports[2], fd, on, dummy, n = 0;

	ports[0] = lws_get_vhost_listen_port(s->vh_public);
	ports[1] = lws_get_vhost_listen_port(s->vh_admin);
	if ((d = opendir("/proc/self/fd")) == NULL) {
		log_info("cannot close the listeners: /proc/self/fd: %s",
		    strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL) {
		l = strtol(de->d_name, &end, 10);
		if (*de->d_name == '\0' || *end != '\0' || l < 0 ||
		    l > INT_MAX || (fd = (int)l) == dirfd(d))
			continue;
		len = sizeof on;
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) != 0 ||
		    !on)
			continue;
		len = sizeof sin;
		if (getsockname(fd, (struct sockaddr *)&sin, &len) != 0 ||
		    sin.sin_family != AF_INET ||
		    (ntohs(sin.sin_port) != ports[0] &&
		    ntohs(sin.sin_port) != ports[1]))
			continue;
		if ((dummy = socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, 0)) ==
		    -1 || dup2(dummy, fd) == -1)
			fatal("cannot close listener %d", fd);
		close(dummy);
		n++;
	}
	closedir(d);
	log_info("stopped listening (%d sockets)", n);
}

static void
cron(lws_sorted_usec_list_t *sul)
{
	struct kdexd	*s = kdexd_server;

	auth_cron(s);
	ws_cron(s);
	route_cron(s);
	lp_cron(s);
	settle_cron(s);
	if (s->conf.demo)
		demo_cron(s);
	lws_sul_schedule(s->ctx, 0, sul, cron, 100 * LWS_US_PER_MS);
}

/* kdexd_http.h accessors. */
struct exchange *
kdexd_exchange(struct kdexd *s)
{
	return (s->exchange);
}

struct ledger *
kdexd_ledger(struct kdexd *s)
{
	return (s->ledger);
}

const char *
kdexd_operator_address(struct kdexd *s)
{
	return (s->operator_addr);
}

const char *
kdexd_data_dir(struct kdexd *s)
{
	return (s->conf.data_dir);
}

void
kdexd_status_json(struct kdexd *s, cJSON *o)
{
	double	rate;

	cJSON_AddStringToObject(o, "version", KDEXD_VERSION);
	cJSON_AddNumberToObject(o, "uptime_s",
	    (double)((kdexd_now_ms() - s->started_ms) / 1000));
	cJSON_AddNumberToObject(o, "connections", (double)s->stats.http_conns);
	cJSON_AddNumberToObject(o, "ws_clients", (double)ws_client_count());
	rate = 0;
	if (kdexd_now_ms() > s->started_ms)
		rate = (double)s->stats.orders_placed * 1000 /
		    (double)(kdexd_now_ms() - s->started_ms);
	cJSON_AddNumberToObject(o, "orders_per_s", (double)(int64_t)rate);
	cJSON_AddBoolToObject(o, "draining", s->draining);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config",	  required_argument, NULL, 'c' },
		{ "data",	  required_argument, NULL, 'D' },
		{ "listen",	  required_argument, NULL, 'l' },
		{ "admin-listen", required_argument, NULL, 'A' },
		{ "keeta-api",	  required_argument, NULL, 'k' },
		{ "network",	  required_argument, NULL, 'n' },
		{ "demo",	  no_argument,	     NULL, 'M' },
		{ "debug",	  no_argument,	     NULL, 'd' },
		{ "help",	  no_argument,	     NULL, 'h' },
		{ "version",	  no_argument,	     NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct kdexd		*s = &server;
	struct kdexd_conf	 opt;
	const char		*config = NULL;
	char			*cause;
	size_t			 i;
	int			 ch;
	int64_t			 until;
	struct rlimit		 rl;

	kdexd_server = s;
	memset(&opt, 0, sizeof opt);
	while ((ch = getopt_long(argc, argv, "c:dhl:V", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'D':
			free(opt.data_dir);
			opt.data_dir = xstrdup(optarg);
			break;
		case 'l':
			free(opt.listen);
			opt.listen = xstrdup(optarg);
			break;
		case 'A':
			free(opt.admin_listen);
			opt.admin_listen = xstrdup(optarg);
			break;
		case 'k':
			if (opt.napis == KDEXD_APIS_MAX)
				fatalx("too many --keeta-api (at most %d)",
				    KDEXD_APIS_MAX);
			opt.apis[opt.napis++] = xstrdup(optarg);
			break;
		case 'n':
			free(opt.network);
			opt.network = xstrdup(optarg);
			break;
		case 'M':
			opt.demo = 1;
			break;
		case 'd':
			opt.verbose = 1;
			break;
		case 'h':
			usage(stdout, 0);
			break;
		case 'V':
			printf("kdexd %s\n", KDEXD_VERSION);
			exit(0);
		default:
			usage(stderr, 1);
		}
	}
	if (optind != argc)
		usage(stderr, 1);

	conf_defaults(&s->conf);
	if (config != NULL && conf_load(&s->conf, config, &cause) != 0)
		fatalx("%s", cause);
	/* Options override the file. */
	if (opt.data_dir != NULL) {
		free(s->conf.data_dir);
		s->conf.data_dir = opt.data_dir;
	}
	if (opt.listen != NULL) {
		free(s->conf.listen);
		s->conf.listen = opt.listen;
	}
	if (opt.admin_listen != NULL) {
		free(s->conf.admin_listen);
		s->conf.admin_listen = opt.admin_listen;
	}
	if (opt.network != NULL) {
		free(s->conf.network);
		s->conf.network = opt.network;
	}
	if (opt.napis > 0) {
		for (i = 0; i < s->conf.napis; i++)
			free(s->conf.apis[i]);
		for (i = 0; i < opt.napis; i++)
			s->conf.apis[i] = opt.apis[i];
		s->conf.napis = opt.napis;
	}
	s->conf.demo |= opt.demo;
	s->conf.verbose |= opt.verbose;
	conf_finish(&s->conf);

	/* Thousands of WebSocket clients need thousands of descriptors. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (sodium_init() < 0)
		fatalx("libsodium failed to start");
	signal(SIGPIPE, SIG_IGN);
	lws_set_log_level(s->conf.verbose ? LLL_ERR|LLL_WARN|LLL_NOTICE :
	    LLL_ERR, NULL);
	s->started_ms = kdexd_now_ms();

	prepare_data(s);
	if (s->conf.napis == 0) {
		start_devnet(s);
		s->network_alias = xstrdup(s->conf.network != NULL ?
		    s->conf.network : "devnet");
	} else {
		for (i = 0; i < s->conf.napis; i++)
			s->apis[i] = xstrdup(s->conf.apis[i]);
		s->napis = s->conf.napis;
		s->network_alias = xstrdup(s->conf.network != NULL ?
		    s->conf.network : "test");
	}
	if (auth_init(s, &cause) != 0)
		fatalx("%s", cause);
	if (lp_init(s, &cause) != 0)
		fatalx("%s", cause);
	if (route_init(s, &cause) != 0)
		fatalx("%s", cause);
	ws_init(s);
	lp_start(s);	/* switches that lapsed while down fire before we listen */
	if (http_start(s, &cause) != 0)
		fatalx("%s", cause);
	if (settle_start(s, &cause) != 0)
		fatalx("chain worker: %s", cause);
	if (s->conf.demo && demo_init(s, &cause) != 0)
		fatalx("demo: %s", cause);

	pthread_mutex_lock(&wake_mu);
	wake_ctx = s->ctx;
	pthread_mutex_unlock(&wake_mu);
	ledger_set_sync_notify(s->ledger, wake_loop, NULL);

	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	lws_sul_schedule(s->ctx, 0, &cron_sul, cron, 100 * LWS_US_PER_MS);
	log_info("listening on %s (admin %s), data in %s", s->conf.listen,
	    s->conf.admin_listen, s->conf.data_dir);
	/* Tests wait for this line on stdout. */
	printf("kdexd ready listen=%s admin=%s\n", s->conf.listen,
	    s->conf.admin_listen);
	fflush(stdout);

	while (!s->stopping) {
		if (lws_service(s->ctx, 0) < 0)
			break;
		settle_poll(s);
		/*
		 * Group commit with no timer: what one poll brought in is one
		 * batch. While its fsync runs (on the ledger's sync thread
		 * with ledger-pipeline, else here), the next requests queue
		 * in the sockets, so the batch grows with the load by itself.
		 * The answers of the batches whose fsync has completed go
		 * out here, in order. (Holding a batch back until the last
		 * sync ends, for fewer and larger batches, measured no
		 * better once the ledger writes on its own thread.)
		 */
		route_release(s);
		if (route_batch_pending())
			route_run_batch(s);
	}

	/*
	 * Drain: close the listening sockets first so that new connections
	 * are refused rather than accepted and cut; requests on open
	 * connections get 503 while the queued batch commits and the answers
	 * already owed go out (at most two seconds).
	 */
	log_info("stopping: draining");
	s->draining = 1;
	stop_listening(s);
	until = kdexd_now_ms() + 2000;
	do {
		/* Draining, a batch waits for its sync (route_run_batch). */
		if (route_batch_pending())
			route_run_batch(s);
		if (route_outbox_pending() > 0) {
			ledger_sync_wait(s->ledger, route_last_ticket());
			route_release(s);
		}
		lws_service(s->ctx, 0);
	} while (kdexd_now_ms() < until && (route_batch_pending() ||
	    route_outbox_pending() > 0 || s->stats.http_conns > 0));

	ledger_set_sync_notify(s->ledger, NULL, NULL);
	pthread_mutex_lock(&wake_mu);
	wake_ctx = NULL;
	pthread_mutex_unlock(&wake_mu);
	lws_sul_cancel(&cron_sul);
	settle_stop(s);
	lws_context_destroy(s->ctx);
	s->ctx = NULL;
	ws_free();
	route_free();
	lp_free();
	auth_free(s);
	if (s->devnet != NULL)
		devnet_stop(s->devnet);
	for (i = 0; i < s->napis; i++)
		free(s->apis[i]);
	free(s->network_alias);
	conf_free(&s->conf);
	sodium_memzero(s->jwt_secret, sizeof s->jwt_secret);
	log_info("stopped");
	return (0);
}
