/*
 * eim_crypto_ceiling.c - what wolfCrypt alone can do on one core of this
 * machine for the public-key work of an ECDHE-ECDSA handshake on P-256
 * (RFC 8422): the server makes an ephemeral key, signs the key exchange and
 * derives the shared secret; the client verifies the signature. Prints the
 * operations per second and the server-side ceiling
 * 1 / (keygen + sign + shared secret), the figure issue 9 compares
 * ECDHE-ECDSA handshakes against. The shared secret is computed with a new
 * peer point each time, as in a handshake: wolfCrypt caches tables for
 * points it has seen, which makes a repeated peer point several times
 * cheaper (printed too, as "repeated peer point", not used in the
 * ceiling). Also times the check that a received point lies on the curve,
 * which a DTLS engine runs before each ECDH, and x25519 (RFC 7748), which
 * eim serve uses for ECDHE_ECDSA with dtls.prefer_x25519.
 *
 *   eim_crypto_ceiling [SECONDS]   (default 1 per operation)
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/curve25519.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum op {
	KEYGEN,
	SIGN,
	VERIFY,
	SHARED,
	REPEATED,
	ONCURVE,
	X_KEYGEN,
	X_SHARED
};
#define N_OPS 8

/* Peer points used once each per round, more than wolfCrypt's point
 * cache holds, so that every shared secret meets a point it has not
 * cached. */
#define POOL 1024
static ecc_key pool[POOL];
static curve25519_key xa, xpool[64];

static double rate(enum op op, double secs, WC_RNG *rng, ecc_key *a, ecc_key *b)
{
	unsigned next = 0;
	unsigned char hash[32], sig[80], secret[32];
	word32 sig_len = sizeof(sig);
	double t0 = now_s(), t;
	long n = 0;
	int ok = 0;

	memset(hash, 0x5a, sizeof(hash));
	if (wc_ecc_sign_hash(hash, sizeof(hash), sig, &sig_len, rng, a))
		return 0;
	do {
		for (int i = 0; i < 16; i++) {
			int rc = 0;
			switch (op) {
			case KEYGEN: {
				ecc_key k;
				wc_ecc_init(&k);
				rc = wc_ecc_make_key_ex(rng, 32, &k,
							ECC_SECP256R1);
				wc_ecc_free(&k);
				break;
			}
			case SIGN: {
				word32 l = sizeof(sig);
				rc = wc_ecc_sign_hash(hash, sizeof(hash), sig,
						      &l, rng, a);
				break;
			}
			case VERIFY:
				rc = wc_ecc_verify_hash(sig, sig_len, hash,
							sizeof(hash), &ok, a);
				if (!ok)
					rc = -1;
				break;
			case SHARED: {
				word32 l = sizeof(secret);
				rc = wc_ecc_shared_secret(a,
							  &pool[next++ % POOL],
							  secret, &l);
				break;
			}
			case REPEATED: {
				word32 l = sizeof(secret);
				rc = wc_ecc_shared_secret(a, b, secret, &l);
				break;
			}
			case X_KEYGEN: {
				curve25519_key k;
				wc_curve25519_init(&k);
				rc = wc_curve25519_make_key(rng, 32, &k);
				wc_curve25519_free(&k);
				break;
			}
			case X_SHARED: {
				word32 l = sizeof(secret);
				rc = wc_curve25519_shared_secret(
					&xa, &xpool[next++ % 64], secret, &l);
				break;
			}
			case ONCURVE:
				/* what a DTLS peer does with each received
				 * public point before ECDH */
				rc = wc_ecc_point_is_on_curve(
					&b->pubkey,
					wc_ecc_get_curve_idx(ECC_SECP256R1));
				break;
			}
			if (rc)
				return 0;
			n++;
		}
		t = now_s();
	} while (t - t0 < secs);
	return (double)n / (t - t0);
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1.0;
	double r[N_OPS];
	WC_RNG rng;
	ecc_key a, b;
	/* bench.sh reads these names: keep "key generation", "P-256 sign",
	 * "P-256 verify" and "shared secret" unique */
	static const char *names[] = {"P-256 key generation",
				      "ECDSA P-256 sign",
				      "ECDSA P-256 verify",
				      "ECDH P-256 shared secret",
				      "ECDH P-256 repeated peer point",
				      "point on curve check",
				      "x25519 keygen",
				      "x25519 ECDH"};

	if (wc_InitRng(&rng) || wc_ecc_init(&a) || wc_ecc_init(&b) ||
	    wc_ecc_make_key_ex(&rng, 32, &a, ECC_SECP256R1) ||
	    wc_ecc_make_key_ex(&rng, 32, &b, ECC_SECP256R1)) {
		fprintf(stderr, "eim_crypto_ceiling: wolfCrypt setup failed\n");
		return 1;
	}
	wc_ecc_set_rng(&a, &rng);
	for (int i = 0; i < POOL; i++)
		if (wc_ecc_init(&pool[i]) ||
		    wc_ecc_make_key_ex(&rng, 32, &pool[i], ECC_SECP256R1)) {
			fprintf(stderr,
				"eim_crypto_ceiling: key pool failed\n");
			return 1;
		}
	if (wc_curve25519_init(&xa) || wc_curve25519_make_key(&rng, 32, &xa))
		return 1;
	for (int i = 0; i < 64; i++)
		if (wc_curve25519_init(&xpool[i]) ||
		    wc_curve25519_make_key(&rng, 32, &xpool[i]))
			return 1;
	for (int i = 0; i < N_OPS; i++) {
		r[i] = rate((enum op)i, secs, &rng, &a, &b);
		if (r[i] <= 0) {
			fprintf(stderr, "eim_crypto_ceiling: %s failed\n",
				names[i]);
			return 1;
		}
		printf("%-31s %10.0f /s\n", names[i], r[i]);
	}
	printf("server_handshake_ceiling_per_s %.0f\n",
	       1.0 / (1.0 / r[KEYGEN] + 1.0 / r[SIGN] + 1.0 / r[SHARED]));
	printf("server_handshake_ceiling_x25519_per_s %.0f\n",
	       1.0 / (1.0 / r[X_KEYGEN] + 1.0 / r[SIGN] + 1.0 / r[X_SHARED]));
	for (int i = 0; i < POOL; i++)
		wc_ecc_free(&pool[i]);
	for (int i = 0; i < 64; i++)
		wc_curve25519_free(&xpool[i]);
	wc_curve25519_free(&xa);
	wc_ecc_free(&a);
	wc_ecc_free(&b);
	wc_FreeRng(&rng);
	return 0;
}
