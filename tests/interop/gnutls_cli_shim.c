/*
 * gnutls_cli_shim.c - LD_PRELOAD shim for the ECDHE-PSK interop case only.
 *
 * gnutls-cli 3.7.9 (Debian 12) completes an ECDHE_PSK handshake and then
 * crashes in gnutls_psk_server_get_username(), which its session printout
 * calls on the client side (against gnutls-serv as well: a gnutls-cli bug,
 * not a protocol one). That function is documented to return NULL on a
 * client session, which is what this shim returns, so the printout goes on
 * and the CoAP exchange can run. Nothing in the handshake calls it.
 */
#include <stddef.h>

struct gnutls_session_int;

const char *gnutls_psk_server_get_username(struct gnutls_session_int *s);

const char *gnutls_psk_server_get_username(struct gnutls_session_int *s)
{
	(void)s;
	return NULL;
}
