/*
 * fuzz_dtls_record.c - libFuzzer target for the DTLS parsers: record
 * framing (with and without CID), handshake fragment headers, ClientHello,
 * ServerHello and HelloVerifyRequest bodies, and record decryption with a
 * fixed key (tag checks and CID inner-plaintext parsing).
 */
#include "common/eim_err.h"
#include "transport/eim_dtls_hs.h"
#include "transport/eim_dtls_record.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[EIM_DTLS_MAX_CIPHERTEXT];
	struct eim_dtls_aead_key k;
	size_t cid_len, off = 0;

	if (size < 1)
		return 0;
	cid_len = data[0] % 17; /* 0..16 */
	data++;
	size--;
	memset(&k, 0x42, sizeof(k));
	k.info = eim_dtls_aead_info((enum eim_dtls_aead_alg)(1 + cid_len % 3));
	/* no expanded-key cache: a key's cache fields are the attach's */
	eim_dtls_aead_cache_attach(NULL, &k);
	while (off < size) {
		struct eim_dtls_record r;
		size_t used;
		uint8_t type;
		size_t len;

		if (eim_dtls_record_parse(data + off, size - off, cid_len, &r,
					  &used))
			break;
		if (used == 0 || used > size - off)
			__builtin_trap();
		off += used;
		(void)eim_dtls_record_open(&k, &r, out, sizeof(out), &type,
					   &len);
		/* handshake content as if it were plaintext */
		const uint8_t *p = r.fragment.p;
		size_t n = r.fragment.len;
		while (n > 0) {
			struct eim_dtls_hs_frag f;
			struct eim_dtls_client_hello ch;
			struct eim_dtls_server_hello sh;
			struct eim_slice cookie;
			size_t u;

			if (eim_dtls_hs_parse_frag(p, n, &f, &u))
				break;
			if (u > n)
				__builtin_trap();
			(void)eim_dtls_hs_parse_client_hello(f.frag.p,
							     f.frag.len, &ch);
			(void)eim_dtls_hs_parse_server_hello(f.frag.p,
							     f.frag.len, &sh);
			(void)eim_dtls_hs_parse_hvr(f.frag.p, f.frag.len,
						    &cookie);
			p += u;
			n -= u;
		}
	}
	return 0;
}
