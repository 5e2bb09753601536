/*
 * keeta_block: Keeta blocks V1 and V2 with every operation type
 * (keeta-encoding.md sections 6 and 7), byte-exact with SDK 0.14.12.
 *
 * A block is built in memory (keeta_block_new() plus the setters and
 * keeta_block_add_*() operations), signed with keeta_block_sign(), and
 * written with keeta_block_encode(). keeta_block_decode() goes the other
 * way: it parses, re-encodes and compares byte for byte (nodes hash the
 * re-encoding, so anything non-canonical could never verify), applies the
 * static rules of sections 6 and 7 and verifies the signatures.
 *
 * struct keeta_block is public so that the devnet and the settlement code
 * can read operations directly; treat it as read-only and change it only
 * through the functions below, which keep the invariants (a block owns its
 * operations, their strings and byte buffers, its signer tree and its
 * signatures; keeta_block_free() releases everything). Any change to a
 * hashed field drops the signatures already made.
 *
 * Errors: functions that can fail return 0 on success and -1 on failure,
 * setting *cause (when not NULL) to a static string.
 */
#ifndef KDEX_KEETA_BLOCK_H
#define KDEX_KEETA_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "keeta_account.h"
#include "keeta_der.h"
#include "keeta_hash.h"
#include "keeta_perm.h"

/*
 * An exact non-negative amount: minimal big-endian magnitude (len 0 is
 * zero). 96 bytes hold the SDK's supply limit 10^200 - 1 with room to
 * spare; larger values are refused everywhere.
 */
#define KEETA_AMOUNT_MAX	96
struct keeta_amount {
	uint8_t	len;
	uint8_t	b[KEETA_AMOUNT_MAX];
};

void	keeta_amount_zero(struct keeta_amount *);
void	keeta_amount_from_u128(struct keeta_amount *, keeta_u128);
/* -1 when the value does not fit in 128 bits. */
int	keeta_amount_to_u128(const struct keeta_amount *, keeta_u128 *);
/* From a big-endian magnitude of any length (leading zeros skipped);
 * -1 when it exceeds KEETA_AMOUNT_MAX bytes. */
int	keeta_amount_set(struct keeta_amount *, const uint8_t *, size_t);
int	keeta_amount_cmp(const struct keeta_amount *,
	    const struct keeta_amount *);
/* Overflow-checked r = a + b and r = a - b (-1 on overflow/underflow;
 * r is written only on success and may alias a or b). */
int	keeta_amount_add(struct keeta_amount *r, const struct keeta_amount *a,
	    const struct keeta_amount *b);
int	keeta_amount_sub(struct keeta_amount *r, const struct keeta_amount *a,
	    const struct keeta_amount *b);
/* Decimal text: to_dec returns a string the caller frees; from_dec
 * accepts digits only. */
char	*keeta_amount_to_dec(const struct keeta_amount *);
int	 keeta_amount_from_dec(struct keeta_amount *, const char *);
/* The SDK's JSON form "0x1F4" (upper case, "0x0" for zero); out holds
 * 2 * KEETA_AMOUNT_MAX + 3 bytes. from_hex accepts either case. */
#define KEETA_AMOUNT_HEX_MAX	(2 * KEETA_AMOUNT_MAX + 3)
void	keeta_amount_to_hex(const struct keeta_amount *, char *out);
int	keeta_amount_from_hex(struct keeta_amount *, const char *);

enum keeta_op_type {
	KEETA_OP_SEND = 0,
	KEETA_OP_SET_REP = 1,
	KEETA_OP_SET_INFO = 2,
	KEETA_OP_MODIFY_PERMISSIONS = 3,
	KEETA_OP_CREATE_IDENTIFIER = 4,
	KEETA_OP_TOKEN_ADMIN_SUPPLY = 5,
	KEETA_OP_TOKEN_ADMIN_MODIFY_BALANCE = 6,
	KEETA_OP_RECEIVE = 7,
	KEETA_OP_MANAGE_CERTIFICATE = 8
};
#define KEETA_OP_NTYPES	9

/* AdjustMethod. */
enum keeta_adjust {
	KEETA_ADJUST_ADD = 0,
	KEETA_ADJUST_SUBTRACT = 1,
	KEETA_ADJUST_SET = 2
};

enum keeta_purpose {
	KEETA_PURPOSE_GENERIC = 0,
	KEETA_PURPOSE_FEE = 1
};

/* Protocol limits (SDK base validation). */
#define KEETA_IDEMPOTENT_MAX	32
#define KEETA_EXTERNAL_MAX	256	/* SEND external, characters */
#define KEETA_NAME_MAX		50
#define KEETA_DESCRIPTION_MAX	250
#define KEETA_METADATA_MAX	5464
#define KEETA_MULTISIG_MAX	16	/* signers per level */
#define KEETA_MULTISIG_DEPTH	3

struct keeta_op_send {
	struct keeta_pubkey	 to;
	struct keeta_amount	 amount;
	struct keeta_pubkey	 token;
	char			*external;	/* NULL when absent */
};

struct keeta_op_set_rep {
	struct keeta_pubkey	 to;
};

struct keeta_op_set_info {
	char			*name;		/* never NULL */
	char			*description;
	char			*metadata;
	int			 has_default;
	struct keeta_perm	 default_perm;
};

struct keeta_op_modify_perms {
	struct keeta_pubkey	 principal;
	enum keeta_adjust	 method;
	int			 has_perms;	/* 0: NULL ("clear all") */
	struct keeta_perm	 perms;
	int			 has_target;	/* 0: the block account */
	struct keeta_pubkey	 target;
};

struct keeta_op_create_id {
	struct keeta_pubkey	 identifier;
	/* MULTISIG only: the [7] create arguments. */
	size_t			 nsigners;
	struct keeta_pubkey	*signers;
	uint64_t		 quorum;
};

struct keeta_op_supply {
	struct keeta_amount	 amount;
	enum keeta_adjust	 method;	/* ADD or SUBTRACT */
};

struct keeta_op_modify_balance {
	struct keeta_pubkey	 token;
	struct keeta_amount	 amount;
	enum keeta_adjust	 method;
};

struct keeta_op_receive {
	struct keeta_amount	 amount;
	struct keeta_pubkey	 token;
	struct keeta_pubkey	 from;
	int			 exact;
	int			 has_forward;
	struct keeta_pubkey	 forward;
};

/* A DER byte string owned by its operation. */
struct keeta_bytes {
	uint8_t	*p;
	size_t	 len;
};

struct keeta_op_certificate {
	enum keeta_adjust	 method;	/* ADD or SUBTRACT */
	struct keeta_bytes	 cert;		/* certificate DER, or hash */
	/* -1 absent, 0 NULL, 1 SEQUENCE OF OCTET STRING (nintermediates). */
	int			 intermediates;
	size_t			 nintermediates;
	struct keeta_bytes	*intermediate;
};

struct keeta_op {
	enum keeta_op_type	type;
	union {
		struct keeta_op_send		send;
		struct keeta_op_set_rep		set_rep;
		struct keeta_op_set_info	set_info;
		struct keeta_op_modify_perms	modify_perms;
		struct keeta_op_create_id	create_id;
		struct keeta_op_supply		supply;
		struct keeta_op_modify_balance	modify_balance;
		struct keeta_op_receive		receive;
		struct keeta_op_certificate	certificate;
	} u;
};

/*
 * A V2 multisig signer: a MULTISIG address and its members, each a keyed
 * account (nchildren 0) or a nested multisig node.
 */
struct keeta_signer_node {
	struct keeta_pubkey		 key;
	size_t				 nchildren;
	struct keeta_signer_node	*children;
};

enum keeta_signer_kind {
	KEETA_SIGNER_SELF = 0,		/* the account signs for itself */
	KEETA_SIGNER_OTHER = 1,		/* another keyed account */
	KEETA_SIGNER_MULTISIG = 2	/* a multisig tree (V2 only) */
};

struct keeta_block {
	int			 version;	/* 1 or 2 */
	uint64_t		 network;
	int			 has_subnet;
	uint64_t		 subnet;
	int			 has_idempotent;
	size_t			 idempotent_len;
	uint8_t			 idempotent[KEETA_IDEMPOTENT_MAX];
	int64_t			 date;		/* ms since the epoch, UTC */
	enum keeta_purpose	 purpose;	/* V1: always GENERIC */
	struct keeta_pubkey	 account;
	enum keeta_signer_kind	 signer_kind;
	struct keeta_pubkey	 signer;	/* SIGNER_OTHER */
	struct keeta_signer_node *multisig;	/* SIGNER_MULTISIG */
	uint8_t			 previous[KEETA_HASH_LEN];
	size_t			 nops;
	struct keeta_op		*ops;
	size_t			 nsigs;		/* 0 until signed */
	uint8_t			(*sigs)[KEETA_SIG_LEN];
};

/*
 * A new unsigned block with no operations: version 1 or 2, the account
 * it belongs to, its previous hash (use keeta_opening_hash() for the
 * account's first block) and its date in ms. Signer defaults to the
 * account itself. The caller owns the result (keeta_block_free()).
 */
struct keeta_block *keeta_block_new(int version, uint64_t network,
	    const struct keeta_pubkey *account,
	    const uint8_t previous[KEETA_HASH_LEN], int64_t date_ms);
/* Free a block and everything it owns; NULL is fine. */
void	keeta_block_free(struct keeta_block *);
/* Deep copy; the caller owns the result. */
struct keeta_block *keeta_block_dup(const struct keeta_block *);

/* Optional header fields. Idempotent keys are at most 32 bytes; purpose
 * FEE needs V2. */
void	keeta_block_set_subnet(struct keeta_block *, uint64_t);
int	keeta_block_set_idempotent(struct keeta_block *, const void *,
	    size_t, const char **cause);
int	keeta_block_set_purpose(struct keeta_block *, enum keeta_purpose,
	    const char **cause);
/*
 * Signer: another keyed account (for identifier accounts, or an operator
 * with SEND_ON_BEHALF on a storage account), or a multisig tree (V2; the
 * tree is copied). keeta_block_sign() also sets a single signer itself.
 */
int	keeta_block_set_signer(struct keeta_block *,
	    const struct keeta_pubkey *, const char **cause);
int	keeta_block_set_multisig(struct keeta_block *,
	    const struct keeta_signer_node *, const char **cause);

/*
 * Operations, appended in order. Strings and buffers are copied. Each
 * returns the index of the new operation or -1 (bad argument: wrong key
 * type, string too long or not in the SDK's character set, ...).
 * add_create_identifier derives the identifier from the block's account,
 * previous and the operation index (section 2.4) and stores it in *id
 * when not NULL; add_create_multisig does the same with its signers
 * (copied) and quorum.
 */
int	keeta_block_add_send(struct keeta_block *, const struct keeta_pubkey *to,
	    const struct keeta_amount *, const struct keeta_pubkey *token,
	    const char *external, const char **cause);
int	keeta_block_add_set_rep(struct keeta_block *,
	    const struct keeta_pubkey *rep, const char **cause);
int	keeta_block_add_set_info(struct keeta_block *, const char *name,
	    const char *description, const char *metadata,
	    const struct keeta_perm *default_perm, const char **cause);
/* perms NULL = "clear all" (method must be SET); target NULL = none. */
int	keeta_block_add_modify_permissions(struct keeta_block *,
	    const struct keeta_pubkey *principal, enum keeta_adjust,
	    const struct keeta_perm *perms, const struct keeta_pubkey *target,
	    const char **cause);
int	keeta_block_add_create_identifier(struct keeta_block *, int type,
	    struct keeta_pubkey *id, const char **cause);
int	keeta_block_add_create_multisig(struct keeta_block *,
	    const struct keeta_pubkey *signers, size_t nsigners,
	    uint64_t quorum, struct keeta_pubkey *id, const char **cause);
int	keeta_block_add_token_supply(struct keeta_block *,
	    const struct keeta_amount *, enum keeta_adjust, const char **cause);
int	keeta_block_add_modify_balance(struct keeta_block *,
	    const struct keeta_pubkey *token, const struct keeta_amount *,
	    enum keeta_adjust, const char **cause);
/* forward NULL = none (forward requires exact). */
int	keeta_block_add_receive(struct keeta_block *,
	    const struct keeta_amount *, const struct keeta_pubkey *token,
	    const struct keeta_pubkey *from, int exact,
	    const struct keeta_pubkey *forward, const char **cause);
/*
 * ADD: cert is the certificate DER and intermediates the list (n may be
 * 0, encoded as NULL); validation wants an X.509 v3 certificate whose
 * subject key is the block account. SUBTRACT: cert is the 32-byte
 * certificate hash and intermediates must be NULL with n 0.
 */
int	keeta_block_add_manage_certificate(struct keeta_block *,
	    enum keeta_adjust, const uint8_t *cert, size_t certlen,
	    const struct keeta_bytes *intermediates, size_t n,
	    const char **cause);

/*
 * Static validity, as the SDK's Block constructor and operation
 * validate() (sections 6.3 and 7; the rules a node checks without its
 * ledger): header fields, signer forms and multisig trees, operation
 * fields and per-operation rules against the block account, identifier
 * derivation, permission groups (table 8.1), supply limit, duplicates.
 * Called by encode, sign and decode.
 */
int	keeta_block_validate(const struct keeta_block *, const char **cause);

/*
 * The keyed accounts that must sign, in signature order: the account
 * (SELF), the signer (OTHER), or the depth-first pre-order walk of the
 * multisig tree without duplicates. Returns a count and an array the
 * caller frees (free()), or 0 and NULL when the block has no valid signer.
 */
size_t	keeta_block_required_signers(const struct keeta_block *,
	    struct keeta_pubkey **out);

/* Block hash: SHA3-256 of the unsigned encoding. -1 when invalid. */
int	keeta_block_hash(const struct keeta_block *,
	    uint8_t out[KEETA_HASH_LEN], const char **cause);
/*
 * Sign with the given accounts. With one account and no multisig tree,
 * the signer field is set to SELF or OTHER from that key first. With a
 * multisig tree, every required signer must be among the accounts (any
 * order; extra accounts are an error). Replaces any earlier signatures.
 */
int	keeta_block_sign(struct keeta_block *,
	    struct keeta_account *const *accounts, size_t n,
	    const char **cause);
/*
 * Attach signatures made elsewhere (offline signing): sigs must hold one
 * signature per required signer, in keeta_block_required_signers() order.
 * They are not checked here; keeta_block_verify() does that.
 */
int	keeta_block_set_signatures(struct keeta_block *,
	    const uint8_t (*sigs)[KEETA_SIG_LEN], size_t n, const char **cause);
/* 0 when every required signer has a valid signature over
 * H(blockHash). */
int	keeta_block_verify(const struct keeta_block *, const char **cause);

/*
 * DER. keeta_block_encode writes the signed form (signed != 0; the block
 * must carry all its signatures) or the unsigned form that is hashed.
 * Returns a buffer the caller owns (free()) and its length in *len, or
 * NULL when the block is invalid.
 */
uint8_t	*keeta_block_encode(const struct keeta_block *, int signed_form,
	    size_t *len, const char **cause);

/* Decoder flags. */
#define KEETA_BLOCK_NOVERIFY	0x1	/* skip signature verification */
#define KEETA_BLOCK_UNSIGNED	0x2	/* input is the unsigned encoding */
/*
 * Parse one block of exactly len bytes. Rejects anything whose
 * re-encoding differs from the input, breaks a section 6/7 rule, or (unless
 * NOVERIFY) does not carry a valid signature of every required signer.
 * On success *out is a block the caller owns.
 */
int	keeta_block_decode(const uint8_t *der, size_t len, int flags,
	    struct keeta_block **out, const char **cause);

/* 1 when previous is the account's opening hash (its first block). */
int	keeta_block_is_opening(const struct keeta_block *);

/*
 * The SDK's JSON form of a block (see vectors/blocks.json "json"): version,
 * idempotent (base64), date (ISO 8601), previous, account, purpose, signer
 * (address, or nested arrays for a multisig tree), network, subnet,
 * operations, $hash, $opening, then $binary (base64 of the signed DER;
 * only when with_binary) and signature (V1) or signatures (V2) in upper
 * case hex when signed. Returns a new object the caller owns
 * (cJSON_Delete), or NULL when the block is invalid.
 */
cJSON	*keeta_block_to_json(const struct keeta_block *, int with_binary,
	    const char **cause);
/* One operation in the SDK's JSON form; the caller owns the result. */
cJSON	*keeta_op_to_json(const struct keeta_op *);
/* Name of an operation type ("SEND"), NULL if unknown. */
const char *keeta_op_type_name(int type);

/* Helpers shared with keeta_vote, keeta_staple and the devnet: a pubkey
 * as an address string item, upper-case hex and "0x" hex amount items. */
cJSON	*keeta_block_json_address(const struct keeta_pubkey *);
cJSON	*keeta_block_json_hex(const uint8_t *, size_t);
cJSON	*keeta_block_json_amount(const struct keeta_amount *);
/* Standard base64 with padding; returns a string the caller frees. */
char	*keeta_block_base64_encode(const uint8_t *, size_t);
/* Decode standard base64 (padding optional, no whitespace); returns a
 * buffer the caller frees, or NULL on bad input. */
uint8_t	*keeta_block_base64_decode(const char *, size_t slen, size_t *len);

#endif
