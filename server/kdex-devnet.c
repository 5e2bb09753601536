/*
 * kdex-devnet: a local single-representative Keeta network, anvil style.
 *
 * The daemon is a thin shell around src/devnet: it parses the command
 * line, starts the node, prints one JSON line describing it on stdout
 * (scripts and tests read the URL and keys from there), then waits for
 * SIGTERM or SIGINT and stops cleanly. Logs go to stderr.
 */
#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <libwebsockets.h>

#include "devnet.h"
#include "util.h"

#define MAX_TOKENS	32

static const char usage_text[] =
    "usage: kdex-devnet [--listen HOST:PORT] [--data DIR | --memory]\n"
    "                   [--rep-seed HEX] [--network ID]\n"
    "                   [--trusted ADDRESS | --genesis] [--faucet-seed HEX]\n"
    "                   [--token NAME:DECIMALS]... [--verbose]\n"
    "       kdex-devnet --help | --version\n";

static void
usage(FILE *f)
{
	fputs(usage_text, f);
}

static int
parse_listen(char *arg, char **host, int *port)
{
	char		*colon = strrchr(arg, ':'), *end;
	unsigned long	 p;

	if (colon == NULL)
		return (-1);
	*colon = '\0';
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || p > 65535)
		return (-1);
	*host = arg[0] != '\0' ? arg : NULL;
	*port = (int)p;
	return (0);
}

static int
parse_token(char *arg, struct devnet_token *t)
{
	char		*colon = strrchr(arg, ':'), *end;
	unsigned long	 dec;

	if (colon == NULL || colon == arg)
		return (-1);
	*colon = '\0';
	errno = 0;
	dec = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || dec > 30)
		return (-1);
	t->name = arg;
	t->decimals = (unsigned int)dec;
	return (0);
}

static void
print_banner(const struct devnet *d, const struct devnet_config *cfg)
{
	cJSON	*o, *arr, *t;
	char	*s, buf[32];
	size_t	 i;

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "api", devnet_api_url(d));
	cJSON_AddStringToObject(o, "representative", devnet_representative(d));
	snprintf(buf, sizeof buf, "%" PRIu64, devnet_network_id(d));
	cJSON_AddStringToObject(o, "network", buf);
	cJSON_AddStringToObject(o, "networkAddress",
	    devnet_network_address(d));
	cJSON_AddStringToObject(o, "baseToken", devnet_base_token(d));
	if (devnet_faucet_seed(d) != NULL) {
		cJSON_AddStringToObject(o, "faucet", devnet_faucet_address(d));
		cJSON_AddStringToObject(o, "faucetSeed", devnet_faucet_seed(d));
	}
	if (cfg->trusted != NULL)
		cJSON_AddStringToObject(o, "trusted", cfg->trusted);
	arr = cJSON_AddArrayToObject(o, "tokens");
	for (i = 0; i < devnet_token_count(d); i++) {
		t = cJSON_CreateObject();
		cJSON_AddStringToObject(t, "name", devnet_token_name(d, i));
		cJSON_AddStringToObject(t, "address",
		    devnet_token_address(d, i));
		cJSON_AddItemToArray(arr, t);
	}
	s = cJSON_PrintUnformatted(o);
	if (s == NULL)
		fatalx("cannot print the banner");
	printf("%s\n", s);
	fflush(stdout);
	free(s);
	cJSON_Delete(o);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "data", required_argument, NULL, 'd' },
		{ "memory", no_argument, NULL, 'm' },
		{ "rep-seed", required_argument, NULL, 'r' },
		{ "network", required_argument, NULL, 'n' },
		{ "trusted", required_argument, NULL, 't' },
		{ "genesis", no_argument, NULL, 'g' },
		{ "faucet-seed", required_argument, NULL, 'f' },
		{ "token", required_argument, NULL, 'k' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct devnet_config	 cfg;
	struct devnet_token	 tokens[MAX_TOKENS];
	struct devnet		*d;
	sigset_t		 set;
	char			*cause = NULL, *end, *host = NULL;
	int			 ch, sig, memory = 0, genesis = 0;
	unsigned long long	 net;

	devnet_config_init(&cfg);
	while ((ch = getopt_long(argc, argv, "hvV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			if (parse_listen(optarg, &host, &cfg.port) != 0) {
				fprintf(stderr, "kdex-devnet: invalid --listen "
				    "'%s' (want HOST:PORT)\n", optarg);
				return (2);
			}
			cfg.host = host;
			break;
		case 'd':
			cfg.data_dir = optarg;
			break;
		case 'm':
			memory = 1;
			break;
		case 'r':
			cfg.rep_seed_hex = optarg;
			break;
		case 'n':
			errno = 0;
			net = strtoull(optarg, &end, 0);
			if (*optarg == '\0' || *end != '\0' || errno != 0) {
				fprintf(stderr, "kdex-devnet: invalid network "
				    "id '%s'\n", optarg);
				return (2);
			}
			cfg.network_id = (uint64_t)net;
			break;
		case 't':
			cfg.trusted = optarg;
			cfg.genesis = DEVNET_GENESIS_TRUSTED;
			break;
		case 'g':
			genesis = 1;
			break;
		case 'f':
			cfg.faucet_seed_hex = optarg;
			break;
		case 'k':
			if (cfg.ntokens == MAX_TOKENS ||
			    parse_token(optarg, &tokens[cfg.ntokens]) != 0) {
				fprintf(stderr, "kdex-devnet: invalid --token "
				    "'%s' (want NAME:DECIMALS)\n", optarg);
				return (2);
			}
			cfg.ntokens++;
			break;
		case 'v':
			cfg.verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return (0);
		case 'V':
			printf("kdex-devnet %s\n", PACKAGE_VERSION);
			return (0);
		default:
			usage(stderr);
			return (2);
		}
	}
	if (optind != argc) {
		usage(stderr);
		return (2);
	}
	if (memory && cfg.data_dir != NULL) {
		fprintf(stderr, "kdex-devnet: --data and --memory exclude each "
		    "other\n");
		return (2);
	}
	if (genesis && cfg.trusted != NULL) {
		fprintf(stderr, "kdex-devnet: --genesis and --trusted exclude "
		    "each other\n");
		return (2);
	}
	if (cfg.trusted != NULL && cfg.ntokens != 0) {
		fprintf(stderr, "kdex-devnet: --token needs --genesis\n");
		return (2);
	}
	cfg.tokens = tokens;

	/* Block the signals before the server thread exists so that only
	 * sigwait() below ever sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		fatalx("cannot block signals");
	signal(SIGPIPE, SIG_IGN);
	lws_set_log_level(cfg.verbose ? LLL_ERR | LLL_WARN : LLL_ERR, NULL);

	d = devnet_start(&cfg, &cause);
	if (d == NULL) {
		fprintf(stderr, "kdex-devnet: %s\n", cause);
		free(cause);
		return (1);
	}
	print_banner(d, &cfg);
	fprintf(stderr, "kdex-devnet: serving %s (representative %s)\n",
	    devnet_api_url(d), devnet_representative(d));
	if (sigwait(&set, &sig) != 0)
		sig = SIGTERM;
	fprintf(stderr, "kdex-devnet: signal %d, stopping\n", sig);
	devnet_stop(d);
	return (0);
}
