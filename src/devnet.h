/*
 * devnet: a single-representative Keeta node (kdex-devnet) as a library.
 *
 * The node speaks the representative REST API of keeta-node-api.md (the
 * routes of section 6 plus the recovery routes) on its own loopback HTTP
 * server, so callers talk to it exactly as they would to a real
 * representative: kdexd embeds one in-process by default and reaches it
 * only through its base URL.
 *
 * devnet_start() opens the state (SQLite in a directory, or in memory),
 * writes genesis when the ledger is empty, binds the listener and runs
 * the node on its own thread with its own libwebsockets context. Every
 * accessor below may be called from any thread while the node runs; the
 * strings they return belong to the devnet and stay valid until
 * devnet_stop().
 */
#ifndef KDEX_DEVNET_H
#define KDEX_DEVNET_H

#include <stddef.h>
#include <stdint.h>

enum devnet_genesis {
	/*
	 * anvil style: the node makes a faucet account (seed from
	 * faucet_seed_hex or random), mints the base token supply to it,
	 * makes TOKEN_ADMIN_CREATE a default of the network address so any
	 * account can create tokens, and pre-creates the configured tokens
	 * (owned by the faucet, supply minted to the faucet).
	 */
	DEVNET_GENESIS_FAUCET = 0,
	/*
	 * Empty ledger that accepts the genesis staple published by the
	 * configured trusted account (the SDK's initializeNetwork()).
	 */
	DEVNET_GENESIS_TRUSTED = 1
};

/* A token created at genesis (faucet mode only). */
struct devnet_token {
	const char	*name;		/* SET_INFO name, e.g. "USDC" */
	unsigned int	 decimals;	/* recorded in the token's metadata */
};

struct devnet_config {
	const char		*host;		/* listen address; NULL = 127.0.0.1 */
	int			 port;		/* 0 = a free port */
	const char		*data_dir;	/* NULL = state in memory */
	const char		*rep_seed_hex;	/* 64 hex digits; NULL = random
						   (persisted in data_dir) */
	uint64_t		 network_id;	/* 0 for the SDK (see §4.5) */
	enum devnet_genesis	 genesis;
	const char		*trusted;	/* keeta_ address (TRUSTED mode) */
	const char		*faucet_seed_hex; /* FAUCET mode; NULL = random */
	const struct devnet_token *tokens;	/* FAUCET mode */
	size_t			 ntokens;
	int			 verbose;	/* log each request to stderr */
};

struct devnet;

/* Fill a config with the defaults (memory, 127.0.0.1:0, network 0,
 * faucet genesis, no tokens). */
void		 devnet_config_init(struct devnet_config *);

/*
 * Start a node. Returns a devnet the caller owns (stop and free it with
 * devnet_stop()), or NULL with *cause set to a string the caller frees.
 * On return the listener is bound and the genesis is on the ledger, so
 * the API URL can be used at once.
 */
struct devnet	*devnet_start(const struct devnet_config *, char **cause);

/* Stop the server thread, close the state and free everything. */
void		 devnet_stop(struct devnet *);

/* "http://127.0.0.1:PORT/api" and the bound port. */
const char	*devnet_api_url(const struct devnet *);
int		 devnet_port(const struct devnet *);
/* keeta_ addresses of the representative, network account, base token. */
const char	*devnet_representative(const struct devnet *);
const char	*devnet_network_address(const struct devnet *);
const char	*devnet_base_token(const struct devnet *);
uint64_t	 devnet_network_id(const struct devnet *);
/* Faucet seed (64 hex digits) and address; NULL in TRUSTED mode. */
const char	*devnet_faucet_seed(const struct devnet *);
const char	*devnet_faucet_address(const struct devnet *);
/* Genesis tokens in config order: count, name and keeta_ address. */
size_t		 devnet_token_count(const struct devnet *);
const char	*devnet_token_name(const struct devnet *, size_t);
const char	*devnet_token_address(const struct devnet *, size_t);

#endif
