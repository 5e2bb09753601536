/*
 * check_keeta_account: keys, addresses, derivations and signatures against
 * the SDK vectors in tests/data/keeta (c-check.txt for the flat checks,
 * message-signing.json for the high-S negative), plus base32, hex and
 * ECDSA DER edge cases.
 */
#include "config.h"

#include <check.h>
#include <ctype.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keeta_account.h"
#include "keeta_hash.h"
#include "util.h"

#define MAXF	16

/* Calls fn for every c-check.txt line starting with kind; returns count. */
static int
each_line(const char *kind, void (*fn)(char **, int))
{
	char	 path[4096], *line = NULL, *save, *f[MAXF];
	size_t	 cap = 0;
	FILE	*fp;
	int	 nf, count = 0;

	snprintf(path, sizeof path, "%s/keeta/c-check.txt",
	    getenv("KDEX_TEST_DATA") != NULL ? getenv("KDEX_TEST_DATA") :
	    "tests/data");
	fp = fopen(path, "r");
	ck_assert_msg(fp != NULL, "cannot open %s", path);
	while (getline(&line, &cap, fp) != -1) {
		line[strcspn(line, "\n")] = '\0';
		nf = 0;
		for (f[nf] = strtok_r(line, " ", &save); f[nf] != NULL &&
		    nf < MAXF - 1; f[nf] = strtok_r(NULL, " ", &save))
			nf++;
		if (nf == 0 || strcmp(f[0], kind) != 0)
			continue;
		fn(f, nf);
		count++;
	}
	free(line);
	fclose(fp);
	return count;
}

static char *
read_file(const char *name)
{
	char	 path[4096], *buf;
	FILE	*fp;
	long	 n;

	snprintf(path, sizeof path, "%s/keeta/%s",
	    getenv("KDEX_TEST_DATA") != NULL ? getenv("KDEX_TEST_DATA") :
	    "tests/data", name);
	fp = fopen(path, "rb");
	ck_assert_msg(fp != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	ck_assert_int_ge(n, 0);
	rewind(fp);
	buf = xmalloc((size_t)n + 1);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static void
unhex_fixed(const char *s, uint8_t *out, size_t n)
{
	ck_assert_uint_eq(strlen(s), 2 * n);
	ck_assert_int_eq(keeta_hex_decode(s, 2 * n, out, n), (ssize_t)n);
}

static uint8_t *
unhex(const char *s, size_t *n)
{
	size_t	 len = strlen(s);
	uint8_t	*p = xmalloc(len / 2 + 1);
	ssize_t	 got;

	got = keeta_hex_decode(s, len, p, len / 2 + 1);
	ck_assert_int_ge(got, 0);
	*n = (size_t)got;
	return p;
}

static void
ck_hex(const uint8_t *p, size_t n, const char *want)
{
	char	*hex = xmalloc(2 * n + 1);

	keeta_hex_encode(p, n, hex);
	ck_assert_str_eq(hex, want);
	free(hex);
}

/* ACCT seed index type privkey|- pubkey address */
static void
check_acct(char **f, int nf)
{
	struct keeta_account	*a;
	struct keeta_pubkey	 pk;
	const struct keeta_pubkey *apk;
	uint8_t			 seed[32], priv[32];
	char			 addr[KEETA_ADDRESS_MAX], *up;
	const char		*cause = NULL;
	size_t			 i;
	int			 type;

	ck_assert_int_eq(nf, 7);
	ck_assert_int_eq(keeta_seed_from_hex(f[1], seed, &cause), 0);
	type = atoi(f[3]);
	a = keeta_account_from_seed(seed, (uint32_t)atoi(f[2]), type, &cause);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(keeta_account_type(a), type);
	if (strcmp(f[4], "-") == 0)
		ck_assert_int_eq(keeta_account_private(a, priv), -1);
	else {
		ck_assert_int_eq(keeta_account_private(a, priv), 0);
		ck_hex(priv, 32, f[4]);
	}
	apk = keeta_account_pubkey(a);
	ck_hex(apk->key, apk->len, f[5]);
	keeta_address_encode(apk, addr);
	ck_assert_str_eq(addr, f[6]);

	/* And back: the address decodes to the same key. */
	ck_assert_int_eq(keeta_address_decode(f[6], &pk, &cause), 0);
	ck_assert(keeta_pubkey_equal(&pk, apk));

	/* Legacy prefix and upper case, as the SDK accepts. */
	xasprintf(&up, "tyblocks_%s", f[6] + 6);
	for (i = 9; up[i] != '\0'; i++)
		up[i] = (char)toupper((unsigned char)up[i]);
	ck_assert_int_eq(keeta_address_decode(up, &pk, &cause), 0);
	ck_assert(keeta_pubkey_equal(&pk, apk));
	/* 0 for O, 1 for L, 8 for B. */
	for (i = 9; up[i] != '\0'; i++) {
		if (up[i] == 'O')
			up[i] = '0';
		else if (up[i] == 'L')
			up[i] = '1';
		else if (up[i] == 'B')
			up[i] = '8';
	}
	ck_assert_int_eq(keeta_address_decode(up, &pk, &cause), 0);
	ck_assert(keeta_pubkey_equal(&pk, apk));
	free(up);

	/* A private key rebuilds the same account. */
	if (keeta_key_type_is_keyed(type)) {
		struct keeta_account	*b;

		b = keeta_account_from_private(type, priv, &cause);
		ck_assert_ptr_nonnull(b);
		ck_assert(keeta_pubkey_equal(keeta_account_pubkey(b), apk));
		keeta_account_free(b);
	}
	keeta_account_free(a);
}

START_TEST(test_accounts)
{
	ck_assert_int_eq(each_line("ACCT", check_acct), 40);
}
END_TEST

/* PASS hex(passphrase) seed */
static void
check_pass(char **f, int nf)
{
	uint8_t		*p, seed[32];
	size_t		 n;
	char		*s;
	const char	*cause = NULL;

	ck_assert_int_eq(nf, 3);
	p = unhex(f[1], &n);
	s = xstrndup((char *)p, n);
	ck_assert_int_eq(keeta_seed_from_passphrase(s, seed, &cause), 0);
	ck_hex(seed, 32, f[2]);
	free(s);
	free(p);
}

START_TEST(test_passphrase)
{
	cJSON		*j, *v, *e;
	char		*text;
	uint8_t		 seed[32];
	const char	*cause = NULL;
	char		 addr[KEETA_ADDRESS_MAX];

	ck_assert_int_eq(each_line("PASS", check_pass), 3);

	text = read_file("passphrase.json");
	j = cJSON_Parse(text);
	ck_assert_ptr_nonnull(j);
	cJSON_ArrayForEach(v, cJSON_GetObjectItem(j, "vectors")) {
		struct keeta_account	*a;

		ck_assert_int_eq(keeta_seed_from_passphrase(
		    cJSON_GetObjectItem(v, "passphrase")->valuestring, seed,
		    &cause), 0);
		a = keeta_account_from_seed(seed, 0, KEETA_KEY_ED25519, &cause);
		keeta_address_encode(keeta_account_pubkey(a), addr);
		ck_assert_str_eq(addr, cJSON_GetObjectItem(v,
		    "ed25519Index0Address")->valuestring);
		keeta_account_free(a);
	}
	e = cJSON_GetObjectItem(j, "tooShort");
	ck_assert_int_eq(keeta_seed_from_passphrase(
	    cJSON_GetObjectItem(e, "passphrase")->valuestring, seed, &cause),
	    -1);
	ck_assert_ptr_nonnull(strstr(cause, "at least 60 bytes"));
	/* 60 bytes once spaces are gone is enough; 59 is not. */
	ck_assert_int_eq(keeta_seed_from_passphrase("aaaaaaaaaa aaaaaaaaaa "
	    "aaaaaaaaaa aaaaaaaaaa aaaaaaaaaa aaaaaaaaa", seed, &cause), -1);
	ck_assert_int_eq(keeta_seed_from_passphrase("aaaaaaaaaa aaaaaaaaaa "
	    "aaaaaaaaaa aaaaaaaaaa aaaaaaaaaa aaaaaaaaaa", seed, &cause), 0);
	cJSON_Delete(j);
	free(text);
}
END_TEST

/* NET seed32(network id) network-address base-token */
static void
check_net(char **f, int nf)
{
	struct keeta_pubkey	pk;
	uint8_t			id[32];
	uint64_t		net = 0;
	char			addr[KEETA_ADDRESS_MAX];
	int			i;

	ck_assert_int_eq(nf, 4);
	unhex_fixed(f[1], id, 32);
	for (i = 24; i < 32; i++)
		net = net << 8 | id[i];
	keeta_network_account(net, &pk);
	keeta_address_encode(&pk, addr);
	ck_assert_str_eq(addr, f[2]);
	keeta_base_token(net, &pk);
	keeta_address_encode(&pk, addr);
	ck_assert_str_eq(addr, f[3]);
}

START_TEST(test_networks)
{
	ck_assert_int_eq(each_line("NET", check_net), 5);
}
END_TEST

/* IDENT creator-pkt previous op-index type address */
static void
check_ident(char **f, int nf)
{
	struct keeta_pubkey	creator, id;
	uint8_t			pkt[KEETA_PKT_MAX], prev[32];
	size_t			n;
	char			addr[KEETA_ADDRESS_MAX];
	const char		*cause = NULL;

	ck_assert_int_eq(nf, 6);
	n = strlen(f[1]) / 2;
	unhex_fixed(f[1], pkt, n);
	ck_assert_int_eq(keeta_pubkey_from_pkt(&creator, pkt, n, &cause), 0);
	unhex_fixed(f[2], prev, 32);
	keeta_identifier_derive(&creator, prev, (uint32_t)atoi(f[3]),
	    atoi(f[4]), &id);
	keeta_address_encode(&id, addr);
	ck_assert_str_eq(addr, f[5]);
}

START_TEST(test_identifiers)
{
	struct keeta_pubkey	pk;
	uint8_t			h[32];
	const char		*cause;

	ck_assert_int_eq(each_line("IDENT", check_ident), 5);
	/* Opening hash example from the encoding notes (Ed25519 alice). */
	ck_assert_int_eq(keeta_address_decode("keeta_aejmu5oo6fupj5apmewrmoa7"
	    "nq6awmalimjvrh2ymfm5cdi6rt3p3kwpbxz5w", &pk, &cause), 0);
	keeta_opening_hash(&pk, h);
	ck_hex(h, 32, "c1936b18f786831ba2a10398bfcdb8b2d5bb12b70181bcd33e18c6"
	    "0e666a0aac");
}
END_TEST

/* MSG seed index type hex(message) signature */
static void
check_msg(char **f, int nf)
{
	struct keeta_account	*a;
	const struct keeta_pubkey *pk;
	uint8_t			 seed[32], sig[64], mine[64], *msg;
	size_t			 n;
	int			 type;
	const char		*cause = NULL;

	ck_assert_int_eq(nf, 6);
	unhex_fixed(f[1], seed, 32);
	type = atoi(f[3]);
	a = keeta_account_from_seed(seed, (uint32_t)atoi(f[2]), type, &cause);
	ck_assert_ptr_nonnull(a);
	pk = keeta_account_pubkey(a);
	msg = unhex(f[4], &n);
	unhex_fixed(f[5], sig, 64);
	ck_assert_int_eq(keeta_verify(pk, msg, n, sig), 0);
	ck_assert_int_eq(keeta_account_sign(a, msg, n, mine), 0);
	ck_assert_int_eq(keeta_verify(pk, msg, n, mine), 0);
	/* Ed25519 and secp256k1 (RFC 6979) are deterministic: same bytes. */
	if (type != KEETA_KEY_SECP256R1)
		ck_assert_mem_eq(mine, sig, 64);
	/* Tampered signature or message. */
	sig[10] ^= 1;
	ck_assert_int_eq(keeta_verify(pk, msg, n, sig), -1);
	sig[10] ^= 1;
	msg[0] ^= 1;
	ck_assert_int_eq(keeta_verify(pk, msg, n, sig), -1);
	free(msg);
	keeta_account_free(a);
}

/* s' = n - s over 32-byte big-endian numbers. */
static void
negate_s(const uint8_t order[32], uint8_t s[32])
{
	int	i, borrow = 0, d;

	for (i = 31; i >= 0; i--) {
		d = order[i] - s[i] - borrow;
		borrow = d < 0;
		s[i] = (uint8_t)(d + (borrow ? 256 : 0));
	}
}

START_TEST(test_message_signing)
{
	static const char	 p256_order[] = "ffffffff00000000ffffffffffffff"
	    "ffbce6faada7179e84f3b9cac2fc632551";
	cJSON			*j, *v, *hs;
	char			*text;
	struct keeta_pubkey	 pk;
	uint8_t			 sig[64], order[32], digest[32];
	const char		*msg, *cause = NULL;
	int			 seen_high_s = 0, seen_p256 = 0;

	ck_assert_int_eq(each_line("MSG", check_msg), 3);

	text = read_file("message-signing.json");
	j = cJSON_Parse(text);
	ck_assert_ptr_nonnull(j);
	cJSON_ArrayForEach(v, cJSON_GetObjectItem(j, "vectors")) {
		const char	*algo;

		algo = cJSON_GetObjectItem(v, "algorithm")->valuestring;
		msg = cJSON_GetObjectItem(v, "message")->valuestring;
		ck_assert_int_eq(keeta_address_decode(cJSON_GetObjectItem(v,
		    "address")->valuestring, &pk, &cause), 0);
		keeta_sha3_256(msg, strlen(msg), digest);
		ck_hex(digest, 32, cJSON_GetObjectItem(v,
		    "signedBytes_sha3_256_of_message")->valuestring);
		unhex_fixed(cJSON_GetObjectItem(v, "signature")->valuestring,
		    sig, 64);
		ck_assert_int_eq(keeta_verify(&pk, msg, strlen(msg), sig), 0);
		ck_assert_int_eq(keeta_verify_raw(&pk, digest, 32, sig), 0);
		/* The bare message (no pre-hash) is not what was signed. */
		if (strcmp(algo, "ed25519") == 0)
			ck_assert_int_eq(keeta_verify_raw(&pk, msg,
			    strlen(msg), sig), -1);
		if ((hs = cJSON_GetObjectItem(v, "highSVariant")) != NULL) {
			unhex_fixed(cJSON_GetObjectItem(hs,
			    "signature")->valuestring, sig, 64);
			ck_assert(!cJSON_IsTrue(cJSON_GetObjectItem(hs,
			    "verify")));
			ck_assert_int_eq(keeta_verify(&pk, msg, strlen(msg),
			    sig), -1);
			seen_high_s++;
		}
		if (strcmp(algo, "secp256r1") == 0) {
			/* P-256 accepts the high-S twin (no normalisation). */
			unhex_fixed(p256_order, order, 32);
			negate_s(order, sig + 32);
			ck_assert_int_eq(keeta_verify(&pk, msg, strlen(msg),
			    sig), 0);
			seen_p256++;
		}
	}
	ck_assert_int_eq(seen_high_s, 1);
	ck_assert_int_eq(seen_p256, 1);
	cJSON_Delete(j);
	free(text);
}
END_TEST

/* BLOCK label unsigned hash signed nsig {seed index type sig}... */
static void
check_block(char **f, int nf)
{
	uint8_t		*unsig, hash[32], h2[32], sig[64], mine[64], seed[32];
	size_t		 n;
	int		 i, nsig;
	const char	*cause = NULL;

	ck_assert_int_ge(nf, 6);
	unsig = unhex(f[2], &n);
	keeta_sha3_256(unsig, n, hash);
	unhex_fixed(f[3], h2, 32);
	ck_assert_mem_eq(hash, h2, 32);
	nsig = atoi(f[5]);
	ck_assert_int_eq(nf, 6 + 4 * nsig);
	for (i = 0; i < nsig; i++) {
		struct keeta_account	*a;

		unhex_fixed(f[6 + 4 * i], seed, 32);
		a = keeta_account_from_seed(seed, (uint32_t)atoi(f[7 + 4 * i]),
		    atoi(f[8 + 4 * i]), &cause);
		ck_assert_ptr_nonnull(a);
		unhex_fixed(f[9 + 4 * i], sig, 64);
		/* Block signature = Account.sign(blockHash). */
		ck_assert_int_eq(keeta_verify(keeta_account_pubkey(a), hash,
		    32, sig), 0);
		ck_assert_int_eq(keeta_verify_raw(keeta_account_pubkey(a),
		    hash, 32, sig), -1);
		ck_assert_int_eq(keeta_account_sign(a, hash, 32, mine), 0);
		if (keeta_account_type(a) != KEETA_KEY_SECP256R1)
			ck_assert_mem_eq(mine, sig, 64);
		keeta_account_free(a);
	}
	free(unsig);
}

START_TEST(test_block_signatures)
{
	ck_assert_int_eq(each_line("BLOCK", check_block), 18);
}
END_TEST

START_TEST(test_address_reject)
{
	static const char	 good[] = "keeta_aejmu5oo6fupj5apmewrmoa7nq6awmal"
	    "imjvrh2ymfm5cdi6rt3p3kwpbxz5w";
	struct keeta_pubkey	 pk;
	uint8_t			 body[38], h[32];
	char			 buf[128], addr[KEETA_ADDRESS_MAX];
	const char		*cause;

	cause = NULL;
	ck_assert_int_eq(keeta_address_decode("keeta_", &pk, &cause), -1);
	ck_assert_str_eq(cause, "address has the wrong length");
	ck_assert_int_eq(keeta_address_decode(good + 1, &pk, &cause), -1);
	ck_assert_str_eq(cause, "address does not start with keeta_");
	ck_assert_int_eq(keeta_address_decode("KEETA_aejmu5oo6fupj5apmewrmoa7"
	    "nq6awmalimjvrh2ymfm5cdi6rt3p3kwpbxz5w", &pk, &cause), -1);
	/* One character changed: checksum. */
	snprintf(buf, sizeof buf, "%s", good);
	buf[20] = buf[20] == 'a' ? 'b' : 'a';
	ck_assert_int_eq(keeta_address_decode(buf, &pk, &cause), -1);
	ck_assert_str_eq(cause, "address checksum mismatch");
	/* '9' is not base32. */
	buf[20] = '9';
	ck_assert_int_eq(keeta_address_decode(buf, &pk, &cause), -1);
	ck_assert_str_eq(cause, "address is not valid base32");
	/* Non-zero padding bits in the last character (61 chars = 305 bits
	 * for 304: one pad bit). */
	snprintf(buf, sizeof buf, "%s", good);
	buf[strlen(buf) - 1] = 'x';	/* 'w' = 22, 'x' = 23: low bit set */
	ck_assert_int_eq(keeta_address_decode(buf, &pk, &cause), -1);
	ck_assert_str_eq(cause, "address is not valid base32");
	/* Too long / too short by one. */
	snprintf(buf, sizeof buf, "%sa", good);
	ck_assert_int_eq(keeta_address_decode(buf, &pk, &cause), -1);
	snprintf(buf, sizeof buf, "%.*s", (int)strlen(good) - 1, good);
	ck_assert_int_eq(keeta_address_decode(buf, &pk, &cause), -1);

	/* A valid checksum over key type 5 (which does not exist). */
	memset(body, 0x11, sizeof body);
	body[0] = 5;
	keeta_sha3_256(body, 33, h);
	memcpy(body + 33, h, 5);
	memcpy(buf, "keeta_", 6);
	keeta_base32_encode(body, 38, buf + 6);
	ck_assert_int_eq(keeta_address_decode(buf, &pk, &cause), -1);
	ck_assert_str_eq(cause, "unknown key type");
	/* Ed25519 type byte with a 33-byte key (63-char body). */
	memset(body, 0x02, sizeof body);
	body[0] = KEETA_KEY_ED25519;
	{
		uint8_t	b39[39];

		memset(b39, 0x02, sizeof b39);
		b39[0] = KEETA_KEY_ED25519;
		keeta_sha3_256(b39, 34, h);
		memcpy(b39 + 34, h, 5);
		keeta_base32_encode(b39, 39, buf + 6);
		ck_assert_int_eq(keeta_address_decode(buf, &pk, &cause), -1);
		ck_assert_str_eq(cause, "wrong public key length for its type");
		/* secp256k1 with a 04 prefix byte is not compressed. */
		b39[0] = KEETA_KEY_SECP256K1;
		b39[1] = 0x04;
		keeta_sha3_256(b39, 34, h);
		memcpy(b39 + 34, h, 5);
		keeta_base32_encode(b39, 39, buf + 6);
		ck_assert_int_eq(keeta_address_decode(buf, &pk, &cause), -1);
		ck_assert_str_eq(cause, "ECDSA public key is not compressed");
	}

	/* 0x + hex(pkt) form. */
	ck_assert_int_eq(keeta_pubkey_parse("0x0112CA75CEF168F4F40F612D16381F"
	    "6C3C0B300B4313589F586159D10D1E8CF6FD", &pk, &cause), 0);
	keeta_address_encode(&pk, addr);
	ck_assert_str_eq(addr, good);
	ck_assert_int_eq(keeta_pubkey_parse("0x01", &pk, &cause), -1);
	ck_assert_int_eq(keeta_pubkey_parse("0xzz", &pk, &cause), -1);
	ck_assert_int_eq(keeta_pubkey_parse(good, &pk, &cause), 0);
}
END_TEST

START_TEST(test_base32_hex)
{
	static const char	*rfc[][2] = {
		{ "", "" }, { "f", "my" }, { "fo", "mzxq" }, { "foo", "mzxw6" },
		{ "foob", "mzxw6yq" }, { "fooba", "mzxw6ytb" },
		{ "foobar", "mzxw6ytboi" },
	};
	char		 out[64];
	uint8_t		 bin[64];
	size_t		 i, n;

	for (i = 0; i < sizeof rfc / sizeof rfc[0]; i++) {
		n = keeta_base32_encode((const uint8_t *)rfc[i][0],
		    strlen(rfc[i][0]), out);
		ck_assert_str_eq(out, rfc[i][1]);
		ck_assert_uint_eq(n, strlen(rfc[i][1]));
		ck_assert_int_eq(keeta_base32_decode(out, n, bin, sizeof bin),
		    (ssize_t)strlen(rfc[i][0]));
		ck_assert(memcmp(bin, rfc[i][0], strlen(rfc[i][0])) == 0);
	}
	/* Leftover bits must be zero, and a whole leftover char is junk. */
	ck_assert_int_eq(keeta_base32_decode("mz", 2, bin, sizeof bin), -1);
	ck_assert_int_eq(keeta_base32_decode("m", 1, bin, sizeof bin), -1);
	ck_assert_int_eq(keeta_base32_decode("mya", 3, bin, sizeof bin), -1);
	ck_assert_int_eq(keeta_base32_decode("MY", 2, bin, sizeof bin), 1);
	ck_assert_int_eq(keeta_base32_decode("my=", 3, bin, sizeof bin), -1);
	ck_assert_int_eq(keeta_base32_decode("mzxq", 4, bin, 1), -1);

	keeta_hex_encode("\x00\xab\xff", 3, out);
	ck_assert_str_eq(out, "00abff");
	ck_assert_int_eq(keeta_hex_decode("00ABff", 6, bin, 3), 3);
	ck_assert_int_eq(keeta_hex_decode("00ABff", 6, bin, 2), -1);
	ck_assert_int_eq(keeta_hex_decode("0", 1, bin, 3), -1);
	ck_assert_int_eq(keeta_hex_decode("0g", 2, bin, 3), -1);
}
END_TEST

START_TEST(test_ecdsa_der)
{
	uint8_t		sig[64], back[64], der[KEETA_ECDSA_DER_MAX];
	size_t		n;

	/* High bit set in r: a 0x00 pad; small s: minimal. */
	memset(sig, 0, 64);
	memset(sig, 0xf0, 32);
	sig[63] = 0x05;
	n = keeta_ecdsa_sig_to_der(sig, der);
	ck_assert_uint_eq(n, 2 + 35 + 3);
	ck_assert_mem_eq(der, "\x30\x26\x02\x21\x00\xf0", 6);
	ck_assert_mem_eq(der + 37, "\x02\x01\x05", 3);
	ck_assert_int_eq(keeta_ecdsa_sig_from_der(der, n, back), 0);
	ck_assert_mem_eq(back, sig, 64);
	/* Maximum size. */
	memset(sig, 0xff, 64);
	ck_assert_uint_eq(keeta_ecdsa_sig_to_der(sig, der), 72);
	ck_assert_int_eq(keeta_ecdsa_sig_from_der(der, 72, back), 0);
	ck_assert_mem_eq(back, sig, 64);
	/* Rejections: trailing byte, bad outer length, padded INTEGER,
	 * negative INTEGER, 33-byte magnitude. */
	ck_assert_int_eq(keeta_ecdsa_sig_from_der(der, 71, back), -1);
	ck_assert_int_eq(keeta_ecdsa_sig_from_der((const uint8_t *)
	    "\x30\x06\x02\x01\x01\x02\x01\x01\x00", 9, back), -1);
	ck_assert_int_eq(keeta_ecdsa_sig_from_der((const uint8_t *)
	    "\x30\x07\x02\x02\x00\x01\x02\x01\x01", 9, back), -1);
	ck_assert_int_eq(keeta_ecdsa_sig_from_der((const uint8_t *)
	    "\x30\x06\x02\x01\x81\x02\x01\x01", 8, back), -1);
	ck_assert_int_eq(keeta_ecdsa_sig_from_der((const uint8_t *)
	    "\x30\x06\x02\x01\x01\x02\x01\x01", 8, back), 0);
	memset(der, 0, sizeof der);
	memcpy(der, "\x30\x26\x02\x21\x01", 5);
	der[37] = 0x02;
	der[38] = 0x01;
	der[39] = 0x01;
	ck_assert_int_eq(keeta_ecdsa_sig_from_der(der, 40, back), -1);
}
END_TEST

START_TEST(test_signing_misc)
{
	static const int	 types[] = { KEETA_KEY_ED25519,
				    KEETA_KEY_SECP256K1, KEETA_KEY_SECP256R1 };
	struct keeta_account	*a, *id;
	struct keeta_pubkey	 other;
	uint8_t			 seed[32], sig[64], digest[32], priv[32];
	const char		*cause = NULL;
	size_t			 i;

	memset(seed, 0x42, sizeof seed);
	keeta_sha3_256("x", 1, digest);
	for (i = 0; i < 3; i++) {
		a = keeta_account_from_seed(seed, 7, types[i], &cause);
		ck_assert_ptr_nonnull(a);
		ck_assert(keeta_key_type_is_keyed(types[i]));
		ck_assert(!keeta_key_type_is_identifier(types[i]));
		ck_assert_int_eq(keeta_key_type_from_name(
		    keeta_key_type_name(types[i])), types[i]);
		/* Raw ECDSA needs a 32-byte digest; Ed25519 signs anything. */
		ck_assert_int_eq(keeta_account_sign_raw(a, "abc", 3, sig),
		    types[i] == KEETA_KEY_ED25519 ? 0 : -1);
		ck_assert_int_eq(keeta_account_sign_raw(a, digest, 32, sig), 0);
		ck_assert_int_eq(keeta_verify_raw(keeta_account_pubkey(a),
		    digest, 32, sig), 0);
		ck_assert_int_eq(keeta_verify_raw(keeta_account_pubkey(a),
		    digest, 31, sig), -1);
		/* Empty message is fine with the pre-hash. */
		ck_assert_int_eq(keeta_account_sign(a, "", 0, sig), 0);
		ck_assert_int_eq(keeta_verify(keeta_account_pubkey(a), "", 0,
		    sig), 0);
		/* Another index's key does not verify it. */
		id = keeta_account_from_seed(seed, 8, types[i], &cause);
		ck_assert_int_eq(keeta_verify(keeta_account_pubkey(id), "", 0,
		    sig), -1);
		keeta_account_free(id);
		/* ECDSA verification with an off-curve key fails cleanly. */
		if (types[i] != KEETA_KEY_ED25519) {
			other = *keeta_account_pubkey(a);
			memset(other.key + 1, 0xff, 32);
			ck_assert_int_eq(keeta_verify(&other, "", 0, sig), -1);
		}
		keeta_account_free(a);
	}
	/* Identifiers cannot sign or verify. */
	id = keeta_account_from_seed(seed, 0, KEETA_KEY_TOKEN, &cause);
	ck_assert_ptr_nonnull(id);
	ck_assert_int_eq(keeta_account_sign(id, "x", 1, sig), -1);
	ck_assert_int_eq(keeta_verify(keeta_account_pubkey(id), "x", 1, sig),
	    -1);
	keeta_account_free(id);
	ck_assert_ptr_null(keeta_account_from_seed(seed, 0, 5, &cause));
	ck_assert_ptr_null(keeta_account_from_private(KEETA_KEY_TOKEN, seed,
	    &cause));
	/* Out-of-range ECDSA scalars: 0 and the group order. */
	memset(priv, 0, sizeof priv);
	ck_assert_ptr_null(keeta_account_from_private(KEETA_KEY_SECP256K1,
	    priv, &cause));
	ck_assert_str_eq(cause, "private key out of range");
	ck_assert_ptr_null(keeta_account_from_private(KEETA_KEY_SECP256R1,
	    priv, &cause));
	memset(priv, 0xff, sizeof priv);
	ck_assert_ptr_null(keeta_account_from_private(KEETA_KEY_SECP256K1,
	    priv, &cause));
	ck_assert_ptr_null(keeta_account_from_private(KEETA_KEY_SECP256R1,
	    priv, &cause));
	ck_assert_uint_eq(keeta_key_type_keylen(5), 0);
	ck_assert_ptr_null(keeta_key_type_name(5));
	ck_assert_int_eq(keeta_key_type_from_name("rsa"), -1);
	ck_assert_int_eq(keeta_seed_from_hex("00", seed, &cause), -1);
}
END_TEST

START_TEST(test_hash)
{
	struct keeta_sha3	*h;
	uint8_t			 a[32], b[32];

	/* FIPS 202 SHA3-256("") and ("abc"). */
	keeta_sha3_256("", 0, a);
	ck_hex(a, 32, "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a"
	    "4b80f8434a");
	keeta_sha3_256("abc", 3, a);
	ck_hex(a, 32, "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe2"
	    "4511431532");
	keeta_sha3_256_2("a", 1, "bc", 2, b);
	ck_assert_mem_eq(a, b, 32);
	h = keeta_sha3_new();
	keeta_sha3_update(h, "ab", 2);
	keeta_sha3_update(h, "", 0);
	keeta_sha3_update(h, "c", 1);
	keeta_sha3_final(h, b);
	ck_assert_mem_eq(a, b, 32);
	keeta_sha3_free(keeta_sha3_new());
	keeta_sha3_free(NULL);
}
END_TEST

static Suite *
account_suite(void)
{
	Suite	*s = suite_create("keeta_account");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_hash);
	tcase_add_test(tc, test_accounts);
	tcase_add_test(tc, test_passphrase);
	tcase_add_test(tc, test_networks);
	tcase_add_test(tc, test_identifiers);
	tcase_add_test(tc, test_message_signing);
	tcase_add_test(tc, test_block_signatures);
	tcase_add_test(tc, test_address_reject);
	tcase_add_test(tc, test_base32_hex);
	tcase_add_test(tc, test_ecdsa_der);
	tcase_add_test(tc, test_signing_misc);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(account_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
