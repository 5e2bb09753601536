/*
 * keeta_perm: Keeta permission sets (keeta-encoding.md section 8).
 *
 * A permission set is a pair of bitmaps: "base" holds the protocol flags
 * (bit position = flag value), "external" holds application-defined
 * offsets 0..30. On the wire it is SEQUENCE { INTEGER base, INTEGER
 * external }. The SDK normalises the base set before encoding and after
 * decoding (OWNER or ADMIN alone absorb every other flag, and any flag
 * implies ACCESS), so every encoder here writes the normalised form and
 * the block decoder rejects anything else (its re-encoding would differ).
 *
 * struct keeta_perm is a plain value; copy it freely. Functions that can
 * fail return 0 on success and -1 on failure, setting *cause (when not
 * NULL) to a static string.
 */
#ifndef KDEX_KEETA_PERM_H
#define KDEX_KEETA_PERM_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* Base flags: the bit position of each flag in the base bitmap. */
enum keeta_perm_flag {
	KEETA_PERM_ACCESS = 0,
	KEETA_PERM_OWNER = 1,
	KEETA_PERM_ADMIN = 2,
	KEETA_PERM_UPDATE_INFO = 3,
	KEETA_PERM_SEND_ON_BEHALF = 4,
	KEETA_PERM_TOKEN_ADMIN_CREATE = 5,
	KEETA_PERM_TOKEN_ADMIN_SUPPLY = 6,
	KEETA_PERM_TOKEN_ADMIN_MODIFY_BALANCE = 7,
	KEETA_PERM_STORAGE_CREATE = 8,
	KEETA_PERM_STORAGE_CAN_HOLD = 9,
	KEETA_PERM_STORAGE_DEPOSIT = 10,
	KEETA_PERM_PERMISSION_DELEGATE_ADD = 11,
	KEETA_PERM_PERMISSION_DELEGATE_REMOVE = 12,
	KEETA_PERM_MANAGE_CERTIFICATE = 13,
	KEETA_PERM_MULTISIG_SIGNER = 14
};
#define KEETA_PERM_NFLAGS	15
#define KEETA_PERM_BIT(f)	((uint32_t)1 << (f))
#define KEETA_PERM_BASE_MASK	((uint32_t)0x7fff)
/* External offsets 0..30: the SDK's bit length must stay below 32. */
#define KEETA_PERM_EXTERNAL_MAX	31
#define KEETA_PERM_EXTERNAL_MASK ((uint32_t)0x7fffffff)

/* Where a target (the optional "target" of MODIFY_PERMISSIONS) stands. */
#define KEETA_PERM_NO_TARGET	(-1)

struct keeta_perm {
	uint32_t	base;		/* KEETA_PERM_BIT(flag) | ... */
	uint32_t	external;	/* bit n = external offset n */
};

/* Flag name as the SDK spells it ("SEND_ON_BEHALF"), NULL if unknown. */
const char	*keeta_perm_flag_name(int flag);
/* Inverse of keeta_perm_flag_name(); -1 when unknown. */
int		 keeta_perm_flag_from_name(const char *);
/* 1 when the flag may appear in a defaultPermission (table 8.1). */
int		 keeta_perm_flag_defaultable(int flag);

/* Empty set. */
void	keeta_perm_init(struct keeta_perm *);
/*
 * Set from raw bitmaps (as decoded). Fails on unknown base bits, an
 * external offset >= 31 or flags that cannot be mixed. Does not
 * normalise: see keeta_perm_is_normal().
 */
int	keeta_perm_set(struct keeta_perm *, uint32_t base, uint32_t external,
	    const char **cause);
/* Add a base flag or an external offset (0..30); then normalise. */
int	keeta_perm_add_flag(struct keeta_perm *, int flag, const char **cause);
int	keeta_perm_add_external(struct keeta_perm *, unsigned int offset,
	    const char **cause);
/* 1 when the flag (or external offset) is present. */
int	keeta_perm_has(const struct keeta_perm *, int flag);
int	keeta_perm_has_external(const struct keeta_perm *,
	    unsigned int offset);
/* 1 when both the base and the external bitmaps are empty. */
int	keeta_perm_is_empty(const struct keeta_perm *);
int	keeta_perm_equal(const struct keeta_perm *, const struct keeta_perm *);

/*
 * The SDK's normalisation: OWNER present -> {OWNER}, else ADMIN present
 * -> {ADMIN}; then ACCESS is added when any base flag is set. The
 * external bitmap is untouched.
 */
void	keeta_perm_normalise(struct keeta_perm *);
/* 1 when keeta_perm_normalise() would change nothing. */
int	keeta_perm_is_normal(const struct keeta_perm *);

/*
 * Ledger arithmetic used by MODIFY_PERMISSIONS ADD and SUBTRACT: union
 * and difference of both bitmaps, normalised afterwards.
 */
void	keeta_perm_combine(struct keeta_perm *dst,
	    const struct keeta_perm *add);
void	keeta_perm_remove(struct keeta_perm *dst,
	    const struct keeta_perm *sub);
/* 1 when every base flag and external offset of need is in have. */
int	keeta_perm_contains(const struct keeta_perm *have,
	    const struct keeta_perm *need);

/*
 * The SDK refuses sets whose flags demand different account groups in one
 * column (entity, principal or target) of table 8.1, e.g. SEND_ON_BEHALF
 * (keyed principal) with STORAGE_CAN_HOLD (TOKEN principal). 0 when base
 * can be combined; keeta_perm_set(), keeta_perm_add_flag() and
 * keeta_perm_decode() apply it.
 */
int	keeta_perm_check_mix(uint32_t base, const char **cause);
/*
 * Validity per table 8.1 for a grant (MODIFY_PERMISSIONS) on an entity
 * (the block account) to a principal, with an optional target
 * (KEETA_PERM_NO_TARGET when absent). Types are enum keeta_key_type
 * values. As the SDK's block validation: the mix rule, OWNER only on
 * identifiers, then the principal, target and entity groups the flags
 * demand (a target is refused when any flag forbids one).
 */
int	keeta_perm_check_grant(const struct keeta_perm *, int entity_type,
	    int principal_type, int target_type, const char **cause);
/*
 * Validity of a defaultPermission (SET_INFO) for an account type: the
 * account must be an identifier, external must be 0, and every flag must
 * be defaultable and apply to that entity type.
 */
int	keeta_perm_check_default(const struct keeta_perm *, int entity_type,
	    const char **cause);
/*
 * 1 when a method other than SET is refused for this set (ADD/SUBTRACT
 * may not carry OWNER, ADMIN or the PERMISSION_DELEGATE flags).
 */
int	keeta_perm_requires_set(const struct keeta_perm *);

/*
 * DER. keeta_perm_encode writes SEQUENCE { INTEGER base, INTEGER external }
 * of the normalised set into out (at most KEETA_PERM_DER_MAX bytes) and
 * returns the length. keeta_perm_decode reads exactly one such SEQUENCE
 * of len bytes, rejecting non-minimal INTEGERs, negative or too large
 * values, unknown flags and trailing data; the result is normalised as
 * the SDK does, and *canonical (when not NULL) says whether the input was
 * already normal (so its re-encoding equals the input).
 */
#define KEETA_PERM_DER_MAX	16
size_t	keeta_perm_encode(const struct keeta_perm *,
	    uint8_t out[KEETA_PERM_DER_MAX]);
int	keeta_perm_decode(struct keeta_perm *, const uint8_t *der, size_t len,
	    int *canonical, const char **cause);

/*
 * JSON in the SDK form ["0x<base>", "0x<external>"] (upper-case hex, no
 * leading zeros, "0x0" for zero). to_json returns a new array the caller
 * owns (cJSON_Delete). from_json accepts that form (either hex case) and
 * normalises.
 */
cJSON	*keeta_perm_to_json(const struct keeta_perm *);
int	 keeta_perm_from_json(struct keeta_perm *, const cJSON *,
	    const char **cause);

#endif
