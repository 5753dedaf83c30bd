/*
 * esipa_coap.c - lab helper for the interop tests against `eim serve`:
 * writes one CoAP request (RFC 7252 section 3) carrying an ESipa
 * GetEimPackageRequest (SGP.32 ESipa, tag BF4F with the eidValue 5A) and
 * finds and checks the CoAP answer in what a peer program printed.
 *
 * It exists because gnutls-cli, the Mbed TLS and node clients only speak
 * DTLS: the CoAP bytes are made and parsed here, independently of the
 * project's own CoAP code (which would otherwise check itself).
 *
 * usage: esipa_coap request EID             binary datagram on stdout
 *        esipa_coap request-hex EID         the same as hex text
 *        esipa_coap response [--hex] IN OUT
 *   response: finds in IN (raw bytes, or with --hex a line "reply HEX")
 *   the piggybacked answer to our request (ACK, our message ID and token),
 *   parses its options strictly, prints "code C.DD" and writes the payload
 *   to OUT. Exit 0 when an answer was found and parsed, 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fixed message ID and token: the answer must echo them (RFC 7252 5.3). */
static const unsigned char MID[2] = {0x4d, 0x49};
static const unsigned char TOKEN[4] = {0xe1, 0x4d, 0x00, 0x07};

static int make_request(const char *eid, unsigned char *out, size_t *n)
{
	static const char *const path[3] = {"gsma", "rsp2", "asn1"};
	size_t at = 0;

	if (strlen(eid) != 32)
		return -1;
	out[at++] = 0x40 | sizeof(TOKEN); /* version 1, CON, TKL */
	out[at++] = 0x02;		  /* POST */
	memcpy(out + at, MID, 2);
	at += 2;
	memcpy(out + at, TOKEN, sizeof(TOKEN));
	at += sizeof(TOKEN);
	for (int i = 0; i < 3; i++) {
		/* Uri-Path (11): delta 11 for the first, then 0; length 4 */
		out[at++] = (unsigned char)((i == 0 ? 11 << 4 : 0) | 4);
		memcpy(out + at, path[i], 4);
		at += 4;
	}
	out[at++] = 0xff;
	/* GetEimPackageRequest ::= [79] { eidValue [APPLICATION 26] } */
	out[at++] = 0xbf;
	out[at++] = 0x4f;
	out[at++] = 0x12;
	out[at++] = 0x5a;
	out[at++] = 0x10;
	for (int i = 0; i < 16; i++) {
		unsigned v;

		if (sscanf(eid + 2 * i, "%2x", &v) != 1)
			return -1;
		out[at++] = (unsigned char)v;
	}
	*n = at;
	return 0;
}

static unsigned char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	unsigned char *b = NULL;
	size_t cap = 0, len = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (len == cap) {
			unsigned char *nb;

			cap = cap ? 2 * cap : 4096;
			nb = realloc(b, cap + 1);
			if (!nb) {
				free(b);
				fclose(f);
				return NULL;
			}
			b = nb;
		}
		size_t r = fread(b + len, 1, cap - len, f);
		if (r == 0)
			break;
		len += r;
	}
	fclose(f);
	b[len] = 0;
	*n = len;
	return b;
}

/* "reply HEX" line -> bytes, in place. */
static int from_hex(unsigned char *b, size_t *n)
{
	char *p = strstr((char *)b, "reply ");
	size_t k = 0;

	if (!p)
		return -1;
	p += 6;
	while (p[0] && p[1] && p[0] != '\n') {
		unsigned v;

		if (sscanf(p, "%2x", &v) != 1)
			return -1;
		b[k++] = (unsigned char)v;
		p += 2;
	}
	*n = k;
	return 0;
}

/* Reads an option's extended delta/length nibble (RFC 7252 3.1). */
static int ext(unsigned nib, const unsigned char **p, const unsigned char *end,
	       unsigned *v)
{
	if (nib < 13) {
		*v = nib;
	} else if (nib == 13) {
		if (end - *p < 1)
			return -1;
		*v = 13u + (*p)[0];
		*p += 1;
	} else if (nib == 14) {
		if (end - *p < 2)
			return -1;
		*v = 269u + ((unsigned)(*p)[0] << 8 | (*p)[1]);
		*p += 2;
	} else {
		return -1;
	}
	return 0;
}

static int check_response(unsigned char *b, size_t n, const char *outpath)
{
	const unsigned char *m = NULL, *p, *end = b + n;

	/* the answer: version 1, ACK, TKL 4, any code, our MID and token */
	for (size_t i = 0; i + 8 <= n; i++) {
		if (b[i] == (0x60 | sizeof(TOKEN)) &&
		    memcmp(b + i + 2, MID, 2) == 0 &&
		    memcmp(b + i + 4, TOKEN, sizeof(TOKEN)) == 0) {
			m = b + i;
			break;
		}
	}
	if (!m) {
		printf("no CoAP answer to our request found\n");
		return 1;
	}
	printf("code %u.%02u\n", m[1] >> 5, m[1] & 31);
	p = m + 8;
	unsigned num = 0;
	while (p < end && *p != 0xff) {
		unsigned d, l;
		unsigned char h = *p++;

		if (ext(h >> 4, &p, end, &d) || ext(h & 15, &p, end, &l) ||
		    (size_t)(end - p) < l) {
			printf("malformed option\n");
			return 1;
		}
		num += d;
		printf("option %u length %u\n", num, l);
		p += l;
	}
	FILE *f = fopen(outpath, "wb");
	if (!f)
		return 1;
	if (p < end) {
		p++; /* payload marker */
		if (p == end) {
			printf("payload marker without payload\n");
			fclose(f);
			return 1;
		}
		fwrite(p, 1, (size_t)(end - p), f);
	}
	printf("payload %zu bytes\n", p < end ? (size_t)(end - p) : 0);
	return fclose(f) ? 1 : 0;
}

int main(int argc, char **argv)
{
	unsigned char req[128];
	size_t n;

	if (argc == 3 && (strcmp(argv[1], "request") == 0 ||
			  strcmp(argv[1], "request-hex") == 0)) {
		if (make_request(argv[2], req, &n)) {
			fprintf(stderr, "EID: 32 hex digits\n");
			return 2;
		}
		if (argv[1][7] == '-') {
			for (size_t i = 0; i < n; i++)
				printf("%02x", req[i]);
			printf("\n");
		} else {
			fwrite(req, 1, n, stdout);
		}
		return 0;
	}
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "response") == 0) {
		int hex = argc == 5 && strcmp(argv[2], "--hex") == 0;
		unsigned char *b = slurp(argv[argc - 2], &n);
		int rc;

		if (!b || (hex && from_hex(b, &n))) {
			printf("cannot read the peer's output\n");
			free(b);
			return 1;
		}
		rc = check_response(b, n, argv[argc - 1]);
		free(b);
		return rc;
	}
	fprintf(stderr, "usage: see the file's banner\n");
	return 2;
}
