/*
 * Stub for building wolfSSL's example DTLS client from the Debian package
 * (/usr/share/doc/libwolfssl-dev/examples/client.c) as an interop peer:
 * the package ships the source without the header it includes.
 */
THREAD_RETURN WOLFSSL_THREAD client_test(void *args);
