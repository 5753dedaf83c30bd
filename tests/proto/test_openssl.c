/*
 * Interop tests of proto/ signatures against the openssl CLI, an
 * independent ECDSA implementation: keys openssl generates load here in
 * every format (SEC1, PKCS#8, SPKI, X.509, PEM and DER), a package signed
 * here verifies with `openssl dgst -sha256 -verify` after r||s -> DER, and
 * data signed by openssl verifies here after DER -> r||s. A flipped byte
 * fails both ways. Keys are generated at test time in a temporary directory.
 */
#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "eim_test.h"
#include "proto/eim_epr.h"
#include "proto/eim_pkg.h"
#include "proto/eim_sig.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *dir;
static char path_buf[8][512];

static const char *P(int slot, const char *name)
{
	snprintf(path_buf[slot], sizeof(path_buf[slot]), "%s/%s", dir, name);
	return path_buf[slot];
}

/* Runs openssl with a NULL-terminated argument list; returns its status. */
static int openssl(struct eim_test_proc *out, ...)
{
	const char *bin = getenv("OPENSSL");
	char *argv[16];
	struct eim_test_proc p;
	va_list ap;
	int st, n = 0;

	ck_assert_ptr_nonnull(bin);
	argv[n++] = (char *)bin;
	va_start(ap, out);
	while (n < 15 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	ck_assert_int_eq(eim_test_run(argv, NULL, NULL, 0, &p), 0);
	st = p.status;
	if (out)
		*out = p;
	else
		eim_test_proc_done(&p);
	return st;
}

static void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(p, 1, n, f), n);
	fclose(f);
}

static uint8_t *read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long sz;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	sz = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = eim_malloc((size_t)sz + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)sz, f), (size_t)sz);
	fclose(f);
	*n = (size_t)sz;
	return buf;
}

static struct eim_sig_key *load(const char *path)
{
	struct eim_sig_key *k = NULL;
	size_t n;
	uint8_t *b = read_file(path, &n);
	int rc = eim_sig_key_load(b, n, &k);

	ck_assert_msg(rc == 0, "loading %s: %s", path, eim_strerror(rc));
	eim_free(b);
	return k;
}

/* Generates SEC1/PKCS#8/SPKI/cert files for `curve` (openssl name). */
static void make_keys(const char *curve)
{
	ck_assert_int_eq(openssl(NULL, "ecparam", "-name", curve, "-genkey",
				 "-noout", "-out", P(0, "sec1.pem"),
				 (char *)NULL),
			 0);
	ck_assert_int_eq(openssl(NULL, "pkcs8", "-topk8", "-nocrypt", "-in",
				 P(0, "sec1.pem"), "-out", P(1, "pkcs8.pem"),
				 (char *)NULL),
			 0);
	ck_assert_int_eq(openssl(NULL, "pkcs8", "-topk8", "-nocrypt", "-in",
				 P(0, "sec1.pem"), "-outform", "DER", "-out",
				 P(1, "pkcs8.der"), (char *)NULL),
			 0);
	ck_assert_int_eq(openssl(NULL, "ec", "-in", P(0, "sec1.pem"),
				 "-outform", "DER", "-out", P(1, "sec1.der"),
				 (char *)NULL),
			 0);
	ck_assert_int_eq(openssl(NULL, "ec", "-in", P(0, "sec1.pem"), "-pubout",
				 "-out", P(1, "pub.pem"), (char *)NULL),
			 0);
	ck_assert_int_eq(openssl(NULL, "ec", "-in", P(0, "sec1.pem"), "-pubout",
				 "-outform", "DER", "-out", P(1, "pub.der"),
				 (char *)NULL),
			 0);
	ck_assert_int_eq(openssl(NULL, "req", "-new", "-x509", "-key",
				 P(0, "sec1.pem"), "-subj", "/CN=test eim",
				 "-days", "2", "-out", P(1, "cert.pem"),
				 (char *)NULL),
			 0);
}

static void every_format_loads(const char *curve, enum eim_sig_curve want)
{
	static const char *const priv[] = {"sec1.pem", "sec1.der", "pkcs8.pem",
					   "pkcs8.der"};
	static const char *const pub[] = {"pub.pem", "pub.der", "cert.pem"};

	make_keys(curve);
	for (size_t i = 0; i < 4; i++) {
		struct eim_sig_key *k = load(P(2, priv[i]));
		ck_assert(eim_sig_key_has_private(k));
		ck_assert_int_eq(eim_sig_key_curve(k), want);
		eim_sig_key_free(k);
	}
	for (size_t i = 0; i < 3; i++) {
		struct eim_sig_key *k = load(P(2, pub[i]));
		ck_assert(!eim_sig_key_has_private(k));
		ck_assert_int_eq(eim_sig_key_curve(k), want);
		eim_sig_key_free(k);
	}
}

START_TEST(openssl_keys_load_p256)
{
	every_format_loads("prime256v1", EIM_SIG_P256);
}
END_TEST

START_TEST(openssl_keys_load_brainpool)
{
	every_format_loads("brainpoolP256r1", EIM_SIG_BRAINPOOLP256R1);
}
END_TEST

/* Our package signature verified by openssl, with a flipped-byte twin. */
static void package_verified_by_openssl(const char *curve, const char *keyfile)
{
	static const uint8_t iccid[10] = {0x98, 0x10, 0x32, 0x54, 0x76,
					  0x98, 0x10, 0x32, 0x54, 0xf6};
	struct eim_psmo op = {.kind = EIM_PSMO_ENABLE};
	struct eim_pkg p = {0};
	struct eim_pkg_view v;
	struct eim_sig_key *k;
	struct eim_buf b, input;
	uint8_t der[EIM_SIG_DER_MAX];
	size_t der_len = 0;
	struct eim_test_proc pr;

	make_keys(curve);
	k = load(P(2, keyfile));
	memcpy(op.iccid, iccid, 10);
	op.rollback = true;
	p.eim_id.p = (const uint8_t *)"eim.example.org";
	p.eim_id.len = 15;
	memset(p.eid, 0x89, sizeof(p.eid));
	p.counter = 32768;
	p.psmo = &op;
	p.n_ops = 1;
	eim_buf_init(&b);
	ck_assert_int_eq(eim_pkg_build(&p, 7, k, &b), 0);
	ck_assert_int_eq(eim_pkg_decode(b.p, b.len, NULL, &v), 0);

	/* The signed input as the eUICC reconstructs it. */
	eim_buf_init(&input);
	eim_buf_append(&input, v.signed_raw.p, v.signed_raw.len);
	eim_pkg_token_do(7, &input);
	ck_assert_int_eq(input.err, 0);
	write_file(P(3, "msg.bin"), input.p, input.len);
	ck_assert_int_eq(eim_sig_raw_to_der(v.signature.p, der, sizeof(der),
					    &der_len),
			 0);
	write_file(P(4, "sig.der"), der, der_len);
	ck_assert_int_eq(openssl(&pr, "dgst", "-sha256", "-verify",
				 P(5, "pub.pem"), "-signature", P(4, "sig.der"),
				 P(3, "msg.bin"), (char *)NULL),
			 0);
	ck_assert(eim_test_contains(pr.out, "Verified OK"));
	eim_test_proc_done(&pr);

	input.p[input.len / 2] ^= 0x01;
	write_file(P(3, "msg.bin"), input.p, input.len);
	ck_assert_int_ne(openssl(NULL, "dgst", "-sha256", "-verify",
				 P(5, "pub.pem"), "-signature", P(4, "sig.der"),
				 P(3, "msg.bin"), (char *)NULL),
			 0);
	/* Without the token DO the input differs too. */
	write_file(P(3, "msg.bin"), v.signed_raw.p, v.signed_raw.len);
	ck_assert_int_ne(openssl(NULL, "dgst", "-sha256", "-verify",
				 P(5, "pub.pem"), "-signature", P(4, "sig.der"),
				 P(3, "msg.bin"), (char *)NULL),
			 0);
	eim_pkg_view_done(&v);
	eim_buf_done(&input);
	eim_buf_done(&b);
	eim_sig_key_free(k);
}

START_TEST(package_signed_here_verifies_in_openssl)
{
	package_verified_by_openssl("prime256v1", "sec1.pem");
	package_verified_by_openssl("prime256v1", "pkcs8.der");
	package_verified_by_openssl("brainpoolP256r1", "pkcs8.pem");
}
END_TEST

/* openssl signs an EuiccPackageResult as an eUICC would; we convert
 * DER -> r||s, decode and verify it, with a flipped-byte twin. */
START_TEST(openssl_signed_result_verifies_here)
{
	/* euiccPackageResultDataSigned: eimId "E", counter 7, seq 1,
	 * results { enableResult ok }, then the token DO 84 01 00. */
	const uint8_t data[] = {0x30, 0x0e, 0x80, 0x01, 0x45, 0x81, 0x01,
				0x07, 0x83, 0x01, 0x01, 0x30, 0x03, 0x83,
				0x01, 0x00, 0x84, 0x01, 0x00};
	const size_t signed_len = sizeof(data) - 3;
	struct eim_sig_key *pub;
	struct eim_buf msg;
	struct eim_epr e;
	uint8_t rs[64], *der;
	size_t n, top, form;

	make_keys("prime256v1");
	write_file(P(3, "data.bin"), data, sizeof(data));
	ck_assert_int_eq(openssl(NULL, "dgst", "-sha256", "-sign",
				 P(0, "sec1.pem"), "-out", P(4, "s.der"),
				 P(3, "data.bin"), (char *)NULL),
			 0);
	der = read_file(P(4, "s.der"), &n);
	ck_assert_int_eq(eim_sig_der_to_raw(der, n, rs), 0);
	pub = load(P(1, "cert.pem"));

	eim_buf_init(&msg);
	top = eim_der_open(&msg, 0xbf51);
	form = eim_der_open(&msg, 0xa0);
	eim_buf_append(&msg, data, signed_len);
	eim_der_put(&msg, 0x5f37, rs, sizeof(rs));
	eim_der_close(&msg, form);
	eim_der_close(&msg, top);
	ck_assert_int_eq(eim_epr_decode(msg.p, msg.len, NULL, &e), 0);
	ck_assert_uint_eq(e.n_results, 1);
	ck_assert_int_eq(eim_epr_verify(&e, 0, pub), 0);
	ck_assert_int_eq(eim_epr_verify(&e, 1, pub), EIM_EVERIFY);
	eim_epr_done(&e);
	/* Flip the counter byte: still decodes, no longer verifies. */
	msg.p[12] ^= 0x02;
	ck_assert_int_eq(eim_epr_decode(msg.p, msg.len, NULL, &e), 0);
	ck_assert(e.counter == 5);
	ck_assert_int_eq(eim_epr_verify(&e, 0, pub), EIM_EVERIFY);
	eim_epr_done(&e);
	eim_buf_done(&msg);
	eim_free(der);
	eim_sig_key_free(pub);
}
END_TEST

static void setup(void)
{
	dir = eim_test_tmpdir();
	ck_assert_ptr_nonnull(dir);
}

static void teardown(void)
{
	eim_test_rmdir(dir);
}

int main(void)
{
	Suite *s = suite_create("openssl");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, openssl_keys_load_p256);
	tcase_add_test(tc, openssl_keys_load_brainpool);
	tcase_add_test(tc, package_signed_here_verifies_in_openssl);
	tcase_add_test(tc, openssl_signed_result_verifies_here);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
