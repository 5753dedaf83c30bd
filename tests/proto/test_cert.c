/*
 * Tests of proto/eim_cert: eUICC <- EUM <- CI chains generated at test time
 * with the openssl CLI (`openssl ca`, in a temporary directory): a valid
 * chain gives the eUICC key; an unknown CI, an expired or tampered
 * certificate, a revoked eUICC or EUM, and a non-CA "EUM" each fail with
 * their own error and say which certificate is at fault.
 */
#include "common/eim_alloc.h"
#include "common/eim_bytes.h"
#include "common/eim_err.h"
#include "eim_test.h"
#include "proto/eim_cert.h"
#include "proto/eim_sig.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[256];

/* Check's asserts only work inside a test; the PKI is built before. */
#define REQUIRE(c)                                                             \
	do {                                                                   \
		if (!(c)) {                                                    \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__,     \
				#c);                                           \
			abort();                                               \
		}                                                              \
	} while (0)

static const char *P(const char *name)
{
	static char buf[8][512];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static void openssl(const char *first, ...)
{
	const char *bin = getenv("OPENSSL");
	char *argv[40];
	struct eim_test_proc p;
	va_list ap;
	int n = 0;

	REQUIRE(bin != NULL);
	argv[n++] = (char *)bin;
	argv[n++] = (char *)first;
	va_start(ap, first);
	while (n < 39 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	REQUIRE(eim_test_run(argv, NULL, NULL, 0, &p) == 0);
	if (p.status != 0) {
		fprintf(stderr, "openssl %s failed: %s\n", first, p.err);
		abort();
	}
	eim_test_proc_done(&p);
}

static uint8_t *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b;
	long sz;

	REQUIRE(f != NULL);
	fseek(f, 0, SEEK_END);
	sz = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = eim_malloc((size_t)sz + 1);
	REQUIRE(fread(b, 1, (size_t)sz, f) == (size_t)sz);
	fclose(f);
	*n = (size_t)sz;
	return b;
}

/* An `openssl ca` configuration whose database lives in dir/NAME.db/. */
static void make_ca_config(const char *name)
{
	char path[2048], db[300];
	FILE *f;

	snprintf(db, sizeof(db), "%s/%s.db", dir, name);
	snprintf(path, sizeof(path),
		 "mkdir -p '%s' && touch '%s/index.txt' && "
		 "echo 01 > '%s/serial' && echo 01 > '%s/crlnumber'",
		 db, db, db, db);
	REQUIRE(system(path) == 0);
	snprintf(path, sizeof(path), "%s/%s.cnf", dir, name);
	f = fopen(path, "w");
	REQUIRE(f != NULL);
	fprintf(f,
		"[ca]\ndefault_ca = d\n"
		"[d]\ndir = %s\ndatabase = $dir/index.txt\n"
		"new_certs_dir = $dir\nserial = $dir/serial\n"
		"crlnumber = $dir/crlnumber\ndefault_md = sha256\n"
		"policy = any\nunique_subject = no\ndefault_crl_days = 30\n"
		"[any]\ncommonName = supplied\n"
		"[req]\ndistinguished_name = dn\n[dn]\n"
		"[v3_ci]\nbasicConstraints = critical,CA:TRUE\n"
		"keyUsage = critical,keyCertSign,cRLSign\n"
		"subjectKeyIdentifier = hash\n"
		"[v3_eum]\nbasicConstraints = critical,CA:TRUE,pathlen:0\n"
		"keyUsage = critical,keyCertSign,cRLSign\n"
		"subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n"
		"[v3_euicc]\nbasicConstraints = critical,CA:FALSE\n"
		"keyUsage = critical,digitalSignature\n"
		"subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n",
		db);
	fclose(f);
}

static void key(const char *name)
{
	openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out",
		P(name), (char *)NULL);
}

/* Issues NAME.pem for key NAME.key, signed by ISSUER with EXT. */
static void issue(const char *name, const char *cn, const char *issuer,
		  const char *ext, const char *start, const char *end)
{
	char keyf[64], csr[64], pem[64], ikey[64], ipem[64], cnf[64], subj[96];

	snprintf(keyf, sizeof(keyf), "%s.key", name);
	snprintf(csr, sizeof(csr), "%s.csr", name);
	snprintf(pem, sizeof(pem), "%s.pem", name);
	snprintf(ikey, sizeof(ikey), "%s.key", issuer);
	snprintf(ipem, sizeof(ipem), "%s.pem", issuer);
	snprintf(cnf, sizeof(cnf), "%s.cnf", issuer);
	snprintf(subj, sizeof(subj), "/CN=%s", cn);
	key(keyf);
	openssl("req", "-new", "-key", P(keyf), "-subj", subj, "-config",
		P(cnf), "-out", P(csr), (char *)NULL);
	openssl("ca", "-batch", "-notext", "-config", P(cnf), "-in", P(csr),
		"-out", P(pem), "-extensions", ext, "-keyfile", P(ikey),
		"-cert", P(ipem), "-startdate", start, "-enddate", end,
		(char *)NULL);
}

static void make_root(const char *name, const char *cn)
{
	char keyf[64], pem[64], cnf[64], subj[96];

	snprintf(keyf, sizeof(keyf), "%s.key", name);
	snprintf(pem, sizeof(pem), "%s.pem", name);
	snprintf(cnf, sizeof(cnf), "%s.cnf", name);
	snprintf(subj, sizeof(subj), "/CN=%s", cn);
	make_ca_config(name);
	key(keyf);
	openssl("req", "-new", "-x509", "-key", P(keyf), "-subj", subj, "-days",
		"3650", "-config", P(cnf), "-extensions", "v3_ci", "-out",
		P(pem), (char *)NULL);
}

static void revoke(const char *issuer, const char *victim, const char *crl)
{
	char ikey[64], ipem[64], cnf[64], vpem[64];

	snprintf(ikey, sizeof(ikey), "%s.key", issuer);
	snprintf(ipem, sizeof(ipem), "%s.pem", issuer);
	snprintf(cnf, sizeof(cnf), "%s.cnf", issuer);
	snprintf(vpem, sizeof(vpem), "%s.pem", victim);
	openssl("ca", "-config", P(cnf), "-revoke", P(vpem), "-keyfile",
		P(ikey), "-cert", P(ipem), (char *)NULL);
	openssl("ca", "-config", P(cnf), "-gencrl", "-keyfile", P(ikey),
		"-cert", P(ipem), "-out", P(crl), (char *)NULL);
}

#define NOW_START "20240101000000Z"
#define FAR_END "20991231000000Z"

/* Built once: generating keys with the CLI is the slow part. */
static void build_pki(void)
{
	const char *t = eim_test_tmpdir();

	REQUIRE(t != NULL);
	snprintf(dir, sizeof(dir), "%s", t);
	make_root("ci", "Test CI");
	make_root("ci2", "Unknown CI");
	make_ca_config("eum");
	make_ca_config("eum_r");
	issue("eum", "Test EUM", "ci", "v3_eum", NOW_START, FAR_END);
	issue("eum_r", "Revoked EUM", "ci", "v3_eum", NOW_START, FAR_END);
	issue("eum2", "EUM of unknown CI", "ci2", "v3_eum", NOW_START, FAR_END);
	issue("euicc", "89049032000000000000000000001234", "eum", "v3_euicc",
	      NOW_START, FAR_END);
	issue("euicc_old", "89049032000000000000000000005678", "eum",
	      "v3_euicc", "20200101000000Z", "20210101000000Z");
	issue("euicc_rev", "89049032000000000000000000009999", "eum",
	      "v3_euicc", NOW_START, FAR_END);
	issue("euicc_r", "89049032000000000000000000001111", "eum_r",
	      "v3_euicc", NOW_START, FAR_END);
	revoke("eum", "euicc_rev", "eum.crl");
	revoke("ci", "eum_r", "ci.crl");
}

struct chain {
	uint8_t *eum, *euicc;
	size_t eum_len, euicc_len;
};

static struct chain load_chain(const char *eum, const char *euicc)
{
	struct chain c;

	c.eum = slurp(P(eum), &c.eum_len);
	c.euicc = slurp(P(euicc), &c.euicc_len);
	return c;
}

static void chain_done(struct chain *c)
{
	eim_free(c->eum);
	eim_free(c->euicc);
}

static struct eim_cert_store *store(bool with_crls)
{
	struct eim_cert_store *s = NULL;
	uint8_t *b;
	size_t n;

	ck_assert_int_eq(eim_cert_store_new(&s), 0);
	b = slurp(P("ci.pem"), &n);
	ck_assert_int_eq(eim_cert_store_add_ci(s, b, n), 0);
	eim_free(b);
	if (with_crls) {
		const char *crls[] = {"ci.crl", "eum.crl"};
		for (int i = 0; i < 2; i++) {
			b = slurp(P(crls[i]), &n);
			ck_assert_int_eq(eim_cert_store_add_crl(s, b, n), 0);
			eim_free(b);
		}
	}
	return s;
}

static int check(struct eim_cert_store *s, const char *eum, const char *euicc,
		 struct eim_cert_diag *d)
{
	struct chain c = load_chain(eum, euicc);
	int rc = eim_cert_verify_euicc(s, c.eum, c.eum_len, c.euicc,
				       c.euicc_len, d, NULL);

	chain_done(&c);
	return rc;
}

START_TEST(valid_chain_gives_euicc_key)
{
	struct eim_cert_store *s = store(true);
	struct chain c = load_chain("eum.pem", "euicc.pem");
	struct eim_sig_key *pub = NULL, *priv;
	struct eim_cert_diag d;
	uint8_t *kb, rs[64];
	size_t kn;
	const uint8_t msg[] = "euiccPackageResultDataSigned";
	struct eim_slice part = {msg, sizeof(msg)};

	ck_assert_int_eq(eim_cert_verify_euicc(s, c.eum, c.eum_len, c.euicc,
					       c.euicc_len, &d, &pub),
			 0);
	ck_assert_ptr_nonnull(pub);
	kb = slurp(P("euicc.key"), &kn);
	ck_assert_int_eq(eim_sig_key_load(kb, kn, &priv), 0);
	ck_assert_int_eq(eim_sig_sign(priv, &part, 1, rs), 0);
	ck_assert_int_eq(eim_sig_verify(pub, &part, 1, rs, 64), 0);
	eim_sig_key_free(priv);
	eim_sig_key_free(pub);
	eim_free(kb);

	/* The eUICC certificate as IpaEuiccData carries it: A6, DER. */
	uint8_t *der = NULL;
	size_t dn = 0;
	ck_assert_int_eq(eim_sig_pem_decode((char *)c.euicc, c.euicc_len, NULL,
					    NULL, &der, &dn),
			 0);
	der[0] = 0xa6;
	ck_assert_int_eq(eim_cert_verify_euicc(s, c.eum, c.eum_len, der, dn, &d,
					       NULL),
			 0);
	/* Tampered signature (last byte of the certificate). */
	der[0] = 0x30;
	der[dn - 1] ^= 0x01;
	ck_assert_int_eq(eim_cert_verify_euicc(s, c.eum, c.eum_len, der, dn, &d,
					       NULL),
			 EIM_ECERT);
	ck_assert_int_eq(d.which, EIM_CERT_EUICC);
	ck_assert_ptr_nonnull(d.what);
	eim_free(der);
	chain_done(&c);
	eim_cert_store_free(s);
}
END_TEST

START_TEST(each_failure_named)
{
	struct eim_cert_store *s = store(true), *plain = store(false);
	struct eim_cert_diag d;

	/* EUM from a CI we do not trust. */
	ck_assert_int_eq(check(s, "eum2.pem", "euicc.pem", &d), EIM_ECERT);
	ck_assert_int_eq(d.which, EIM_CERT_EUM);
	ck_assert_str_eq(d.what,
			 "unknown issuer (no trusted CI or EUM signed it)");
	/* eUICC certificate expired in 2021. */
	ck_assert_int_eq(check(s, "eum.pem", "euicc_old.pem", &d),
			 EIM_EEXPIRED);
	ck_assert_int_eq(d.which, EIM_CERT_EUICC);
	/* Revoked eUICC (EUM's CRL) and revoked EUM (CI's CRL). */
	ck_assert_int_eq(check(s, "eum.pem", "euicc_rev.pem", &d),
			 EIM_EREVOKED);
	ck_assert_int_eq(d.which, EIM_CERT_EUICC);
	ck_assert_int_eq(check(s, "eum_r.pem", "euicc_r.pem", &d),
			 EIM_EREVOKED);
	ck_assert_int_eq(d.which, EIM_CERT_EUM);
	/* Without the CRLs the same certificates pass: revocation data is
	 * what makes the difference. */
	ck_assert_int_eq(check(plain, "eum.pem", "euicc_rev.pem", &d), 0);
	ck_assert_int_eq(check(plain, "eum_r.pem", "euicc_r.pem", &d), 0);
	/* eUICC under the wrong EUM. */
	ck_assert_int_eq(check(s, "eum_r.pem", "euicc.pem", &d), EIM_EREVOKED);
	ck_assert_int_eq(check(plain, "eum_r.pem", "euicc.pem", &d), EIM_ECERT);
	ck_assert_int_eq(d.which, EIM_CERT_EUICC);
	/* An end-entity certificate posing as the EUM. */
	ck_assert_int_lt(check(plain, "euicc.pem", "euicc_rev.pem", &d), 0);
	/* Garbage in place of a certificate. */
	const uint8_t junk[] = {0x04, 0x01, 0x00};
	ck_assert_int_eq(eim_cert_verify_euicc(s, junk, sizeof(junk), junk,
					       sizeof(junk), &d, NULL),
			 EIM_EMALFORMED);
	ck_assert_int_eq(d.which, EIM_CERT_EUM);
	/* Store refuses a non-CA root and a non-CRL. */
	size_t n;
	uint8_t *b = slurp(P("euicc.pem"), &n);
	ck_assert_int_eq(eim_cert_store_add_ci(plain, b, n), EIM_ECERT);
	ck_assert_int_eq(eim_cert_store_add_crl(plain, junk, sizeof(junk)),
			 EIM_EMALFORMED);
	eim_free(b);
	eim_cert_store_free(s);
	eim_cert_store_free(plain);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cert");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	build_pki();
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, valid_chain_gives_euicc_key);
	tcase_add_test(tc, each_failure_named);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	eim_test_rmdir(dir);
	return failed ? 1 : 0;
}
