/*
 * eim_device_live.c - the refreshing table of `eim-device run --live`
 * (see eim_device_live.h). ANSI cursor movement only (ECMA-48 CUU and EL),
 * which every terminal emulator understands; the caller uses it only when
 * stdout is a terminal.
 */
#include "examples/eim_device_live.h"

#include <inttypes.h>
#include <string.h>

static const char *eim__state(const struct eim_device_live_row *r,
			      uint64_t now_ms, char *buf, size_t size)
{
	switch (r->state) {
	case EIM_DEVICE_LIVE_WAITING:
		return "waiting";
	case EIM_DEVICE_LIVE_AWAKE:
		return "awake";
	case EIM_DEVICE_LIVE_ASLEEP: {
		uint64_t left =
			r->next_wake_ms > now_ms ? r->next_wake_ms - now_ms : 0;
		snprintf(buf, size, "asleep %" PRIu64 ".%" PRIu64 "s",
			 left / 1000, left % 1000 / 100);
		return buf;
	}
	case EIM_DEVICE_LIVE_DONE:
		return "done";
	case EIM_DEVICE_LIVE_FAILED:
		return "FAILED";
	}
	return "?";
}

void eim_device_live_draw(FILE *out, const struct eim_device_live_row *rows,
			  size_t n, size_t max_rows, uint64_t now_ms,
			  int *lines)
{
	uint64_t wakes = 0, total = 0, pk = 0, res = 0, hs = 0, resumed = 0;
	size_t failed = 0, shown = n < max_rows ? n : max_rows;
	int written = 0;
	char buf[32];

	if (*lines > 0)
		fprintf(out, "\033[%dA", *lines);
	/* 79 columns: a full EID, then short fields */
	fprintf(out, "\r\033[2K%-32s  %-11s %5s %5s  %-9s %4s %5s\n",
		"device (EID)", "state", "wake", "port", "DTLS", "pkgs",
		"acked");
	written++;
	for (size_t i = 0; i < n; i++) {
		const struct eim_device_live_row *r = &rows[i];
		wakes += r->wakes;
		total += r->wakes_total;
		pk += r->packages;
		res += r->results;
		hs += r->handshakes;
		resumed += r->resumed;
		failed += r->state == EIM_DEVICE_LIVE_FAILED;
		if (i >= shown)
			continue;
		char wk[16], port[8];
		snprintf(wk, sizeof(wk), "%u/%u", r->wakes, r->wakes_total);
		snprintf(port, sizeof(port), "%d", r->port);
		/* bold while awake, red when failed; escapes outside the
		 * padded field so that the columns stay aligned */
		const char *on = r->state == EIM_DEVICE_LIVE_AWAKE ? "\033[1m"
				 : r->state == EIM_DEVICE_LIVE_FAILED
					 ? "\033[31m"
					 : "";
		fprintf(out,
			"\033[2K%-32.32s  %s%-11s%s %5s %5s  %-9s %4" PRIu64
			" %5" PRIu64 "\n",
			r->eid, on, eim__state(r, now_ms, buf, sizeof(buf)),
			on[0] ? "\033[0m" : "", wk, r->port ? port : "-",
			r->wakes == 0	    ? "-"
			: r->last_handshake ? "handshake"
					    : "CID",
			r->packages, r->results);
		written++;
	}
	if (n > shown) {
		fprintf(out, "\033[2K... and %zu more device(s)\n", n - shown);
		written++;
	}
	fprintf(out,
		"\033[2Kwakes %" PRIu64 "/%" PRIu64 "  packages %" PRIu64
		"  results %" PRIu64 "  handshakes %" PRIu64
		"  resumed by CID %" PRIu64 "%s\n",
		wakes, total, pk, res, hs, resumed,
		failed ? "  SOME WAKES FAILED" : "");
	written++;
	fflush(out);
	*lines = written;
}
