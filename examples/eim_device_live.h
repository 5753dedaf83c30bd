/*
 * eim_device_live.h - the refreshing terminal table of `eim-device run
 * --live`: one row per simulated device (sleeping, awake, done), what its
 * last wake did and how its DTLS session survived the NAT rebinding, and
 * a totals line. Pure formatting: the caller owns the rows and decides
 * when to redraw.
 */
#ifndef EIM_DEVICE_LIVE_H
#define EIM_DEVICE_LIVE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum eim_device_live_state {
	EIM_DEVICE_LIVE_WAITING, /* not woken yet */
	EIM_DEVICE_LIVE_AWAKE,
	EIM_DEVICE_LIVE_ASLEEP, /* between wakes, next_wake_ms set */
	EIM_DEVICE_LIVE_DONE,
	EIM_DEVICE_LIVE_FAILED, /* the last wake failed */
};

struct eim_device_live_row {
	const char *eid; /* borrowed */
	enum eim_device_live_state state;
	uint64_t next_wake_ms; /* loop clock, when ASLEEP */
	unsigned wakes, wakes_total;
	int port;	     /* UDP source port of the last wake, 0 before */
	bool last_handshake; /* the last wake needed a DTLS handshake */
	uint64_t packages;   /* packages and data requests run */
	uint64_t results;    /* results acknowledged by the eIM */
	uint64_t handshakes; /* wakes that needed a handshake */
	uint64_t resumed;    /* wakes resumed by Connection ID */
};

/*
 * Writes the table of rows [0, n) to out (at most max_rows device rows;
 * the rest are summarised in one line), then a totals line. When *lines
 * is > 0 the cursor first moves up over the previous drawing of that many
 * lines, which is overwritten; *lines is set to the number of lines
 * written. now_ms is the loop clock, for the "sleeping Ns" countdown.
 */
void eim_device_live_draw(FILE *out, const struct eim_device_live_row *rows,
			  size_t n, size_t max_rows, uint64_t now_ms,
			  int *lines);

#endif
