/*
 * eim_sim_ipa.h - the simulated device's IPA: what wakes up, talks ESipa to
 * the eIM over CoAP on DTLS 1.2 (with a Connection ID), runs each package
 * on the eUICC model and reports the results (SGP.32 section 3.1.1.1,
 * "eIM Package Retrieval"; PROTOCOL.md section 2.3).
 *
 * One wake:
 *   1. (optional) move to a new UDP source port, as after a NAT rebinding
 *      while the device slept: with a CID the session continues without a
 *      handshake, without one a new handshake is made;
 *   2. send again every result the eUICC still holds unacknowledged (a
 *      result whose acknowledgement was lost must reach the eIM);
 *   3. GetEimPackage (with notifyStateChange and its cause when the eUICC
 *      changed state locally) until noEimPackageAvailable; each package is
 *      run on the eUICC and its result sent with ProvideEimPackageResult;
 *      the acknowledged seqNumbers are dropped from the eUICC.
 * Download triggers are answered with a ProfileDownloadTriggerResult error
 * (the simulator has no SM-DP+ to download from).
 *
 * Asynchronous on the event loop: eim_sim_ipa_wake() returns at once and
 * `done` runs when the wake is over. One wake at a time.
 */
#ifndef EIM_SIM_IPA_H
#define EIM_SIM_IPA_H

#include "examples/eim_sim_euicc.h"
#include "transport/eim_coap_dtls.h"
#include "transport/eim_loop.h"

#include <stdbool.h>
#include <stdint.h>

struct eim_sim_ipa;

struct eim_sim_ipa_stats {
	uint64_t wakes;
	uint64_t polls;	   /* GetEimPackage requests */
	uint64_t packages; /* eUICC packages run */
	uint64_t data_requests;
	uint64_t results_sent;	   /* ProvideEimPackageResult requests */
	uint64_t acked;		   /* seqNumbers acknowledged by the eIM */
	uint64_t refused;	   /* 4.xx answers from the eIM */
	uint64_t errors;	   /* failed wakes */
	uint64_t fresh_handshakes; /* sessions restarted after no answer */
};

/* Called when a wake ends: status 0, or a negative EIM_E* code. */
typedef void (*eim_sim_ipa_done_fn)(void *ctx, struct eim_sim_ipa *ipa,
				    int status);

/*
 * Creates the IPA of `euicc` (which must outlive it), talking to the eIM at
 * `server` ("127.0.0.1:5684") with the DTLS settings in `dtls` (PSK
 * identity and key, use_cid, ...; see eim_coap_dtls_client_new). The
 * session is opened by the first wake. Returns 0, EIM_EINVAL, EIM_ENOMEM.
 */
int eim_sim_ipa_new(struct eim_loop *l, const char *server,
		    const struct eim_dtls_client_config *dtls,
		    struct eim_sim_euicc *euicc, struct eim_sim_ipa **ret);
void eim_sim_ipa_free(struct eim_sim_ipa *ipa);

/*
 * CoAP retransmission parameters for the IPA's requests (RFC 7252 4.8;
 * default: its values, a request given up after about 93 s). Takes effect
 * when the session is opened, i.e. call it before the first wake.
 */
void eim_sim_ipa_set_coap_params(struct eim_sim_ipa *ipa,
				 const struct eim_coap_params *p);

/*
 * Starts a wake (see above). `rebind` moves to a new source port first
 * (ignored on the first wake). After a wake that got no answer, the next
 * one starts a new DTLS handshake instead of resuming the session: the
 * server may have lost it (restart, eviction), and RFC 9146 gives it no
 * way to say that it does not know a CID. Returns 0, EIM_EBUSY (a wake is
 * running), or the errors of opening the session.
 */
int eim_sim_ipa_wake(struct eim_sim_ipa *ipa, bool rebind,
		     eim_sim_ipa_done_fn done, void *ctx);

/*
 * Called after every change of the eUICC's state (a package run, results
 * acknowledged), BEFORE the result leaves the device: a real eUICC commits
 * its counter before it answers, so the simulator must save its state file
 * there too, or a device killed mid-wake would forget a counter it used.
 * A nonzero return fails the wake.
 */
typedef int (*eim_sim_ipa_persist_fn)(void *ctx, struct eim_sim_euicc *e);
void eim_sim_ipa_on_persist(struct eim_sim_ipa *ipa, eim_sim_ipa_persist_fn fn,
			    void *ctx);

void eim_sim_ipa_stats(const struct eim_sim_ipa *ipa,
		       struct eim_sim_ipa_stats *ret);
/* The transport under the IPA (handshake and rebind counters). */
struct eim_coap_dtls_client *eim_sim_ipa_transport(struct eim_sim_ipa *ipa);
/* A one-line reason for the last failed wake ("" if none). */
const char *eim_sim_ipa_errmsg(const struct eim_sim_ipa *ipa);

#endif
