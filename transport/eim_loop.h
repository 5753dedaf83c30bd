/*
 * eim_loop.h - the event loop: the one module of eim that owns file
 * descriptors and timers (epoll(7), Linux).
 *
 * Protocol engines (CoAP, DTLS) take bytes and a time and give bytes back;
 * this module feeds them. It offers:
 *   - file descriptor watches (level-triggered epoll),
 *   - one-shot timers with caller-owned handles, kept in a binary heap
 *     (start/stop are O(log n) and do not allocate once the heap has grown),
 *   - non-blocking UDP sockets on IPv4 or IPv6 that receive in batches with
 *     recvmmsg(2) and queue outgoing datagrams for sendmmsg(2), flushed when
 *     a batch is full, after each receive batch and before the loop sleeps,
 *   - SIGINT/SIGTERM through signalfd(2): the loop returns cleanly.
 *
 * Times are milliseconds of CLOCK_MONOTONIC. The loop is single-threaded:
 * every callback runs on the thread that called eim_loop_run().
 */
#ifndef EIM_LOOP_H
#define EIM_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct eim_loop;
struct eim_loop_udp;

/* Datagrams per recvmmsg/sendmmsg call, and the largest one handled. */
#define EIM_LOOP_UDP_BATCH 32
#define EIM_LOOP_UDP_MAX_DGRAM 2048
/*
 * Receive buffer asked for on a listening socket: the default (~208 KiB)
 * holds fewer than 200 small datagrams (each costs ~1.2 KiB of buffer),
 * fewer than a fleet waking at once or a load generator with 256 requests
 * in flight sends in a burst. The kernel caps it at net.core.rmem_max.
 */
#define EIM_LOOP_UDP_RCVBUF (4 * 1024 * 1024)

typedef void (*eim_loop_fd_fn)(struct eim_loop *l, int fd, uint32_t events,
			       void *ctx);
typedef void (*eim_loop_timer_fn)(struct eim_loop *l, void *ctx);

/*
 * A timer handle, owned by the caller (embed it in your own struct). Set it
 * up once with eim_loop_timer_init(); it must stay at the same address and
 * be stopped before it is freed.
 */
struct eim_loop_timer {
	uint64_t when_ms;
	size_t heap_idx; /* SIZE_MAX when not armed */
	eim_loop_timer_fn fn;
	void *ctx;
};

/* Returns 0 and a new loop, or EIM_EIO / EIM_ENOMEM. */
int eim_loop_new(struct eim_loop **ret);
/* Frees the loop; UDP sockets still open are closed (NULL is fine). */
void eim_loop_free(struct eim_loop *l);

/* Current CLOCK_MONOTONIC time in ms (reads the clock). */
uint64_t eim_loop_clock_ms(void);
/* The time the loop last read (cheap; updated on every wakeup). */
uint64_t eim_loop_now(const struct eim_loop *l);

/* Watches fd for events (EPOLLIN, EPOLLOUT...). Returns 0, EIM_EEXIST,
 * EIM_EIO or EIM_ENOMEM. The fd stays the caller's. */
int eim_loop_fd_add(struct eim_loop *l, int fd, uint32_t events,
		    eim_loop_fd_fn fn, void *ctx);
/* Stops watching fd (safe from inside its own callback). */
int eim_loop_fd_del(struct eim_loop *l, int fd);

void eim_loop_timer_init(struct eim_loop_timer *t, eim_loop_timer_fn fn,
			 void *ctx);
/* Arms (or re-arms) t to fire once at when_ms (absolute). 0 or EIM_ENOMEM. */
int eim_loop_timer_start(struct eim_loop *l, struct eim_loop_timer *t,
			 uint64_t when_ms);
/* Disarms t; a no-op if it is not armed. */
void eim_loop_timer_stop(struct eim_loop *l, struct eim_loop_timer *t);
static inline bool eim_loop_timer_armed(const struct eim_loop_timer *t)
{
	return t->heap_idx != (size_t)-1;
}

/*
 * Blocks SIGINT and SIGTERM for the calling thread and delivers them through
 * a signalfd: when one arrives, eim_loop_run() returns. Returns 0 or EIM_EIO.
 */
int eim_loop_catch_signals(struct eim_loop *l);
/* The signal that stopped the loop, 0 if none did. */
int eim_loop_stop_signal(const struct eim_loop *l);

/*
 * Runs until eim_loop_stop() or a caught signal. Returns 0, or EIM_EIO if
 * epoll_wait failed for a reason other than EINTR.
 */
int eim_loop_run(struct eim_loop *l);
/* Makes eim_loop_run() return after the current callback. */
void eim_loop_stop(struct eim_loop *l);

/* One received datagram: views valid only during the callback. */
struct eim_loop_dgram {
	const uint8_t *data;
	size_t len;
	const struct sockaddr *addr;
	socklen_t addrlen;
};

/* Called with up to EIM_LOOP_UDP_BATCH datagrams received in one call. */
typedef void (*eim_loop_udp_fn)(struct eim_loop_udp *u,
				const struct eim_loop_dgram *d, size_t n,
				void *ctx);

/*
 * Parses "127.0.0.1:5683", "[::1]:5683" or "*:5683"/":5683" (IPv6 any
 * address, dual-stack) into *ret_ss. Returns 0 or EIM_EINVAL.
 */
int eim_loop_parse_addr(const char *s, struct sockaddr_storage *ret_ss,
			socklen_t *ret_len);

/*
 * Opens a non-blocking UDP socket bound to addr (port 0 picks one) and
 * watches it; fn gets each received batch. Returns 0, EIM_EINVAL, EIM_EIO
 * (socket/bind failed; errno tells why) or EIM_ENOMEM. Close with
 * eim_loop_udp_close(), which flushes queued datagrams first.
 */
int eim_loop_udp_open(struct eim_loop *l, const struct sockaddr *addr,
		      socklen_t addrlen, eim_loop_udp_fn fn, void *ctx,
		      struct eim_loop_udp **ret);
/* Like eim_loop_udp_open() with a connect(2)ed peer: a client socket. */
int eim_loop_udp_connect(struct eim_loop *l, const struct sockaddr *peer,
			 socklen_t peerlen, eim_loop_udp_fn fn, void *ctx,
			 struct eim_loop_udp **ret);
/* Like eim_loop_udp_connect() from the local address `local` (same
 * family as peer; port 0 lets the kernel choose): a load generator
 * spreads its simulated devices over many source addresses this way.
 * EIM_EINVAL for a family mismatch, EIM_EIO when bind(2) fails. */
int eim_loop_udp_connect_from(struct eim_loop *l, const struct sockaddr *local,
			      socklen_t local_len, const struct sockaddr *peer,
			      socklen_t peerlen, eim_loop_udp_fn fn, void *ctx,
			      struct eim_loop_udp **ret);
void eim_loop_udp_close(struct eim_loop_udp *u);

/* The bound local address (to learn the port chosen for port 0). */
int eim_loop_udp_local(const struct eim_loop_udp *u,
		       struct sockaddr_storage *ret_ss, socklen_t *ret_len);

/*
 * Queues one datagram to addr (NULL on a connected socket); the bytes are
 * copied. The queue is flushed with sendmmsg when full, after the current
 * receive batch, or before the loop sleeps. A datagram larger than
 * EIM_LOOP_UDP_MAX_DGRAM is sent at once with sendto. Returns 0,
 * EIM_EINVAL or EIM_EIO (a send error other than EAGAIN; with EAGAIN the
 * datagram is dropped, as UDP would).
 */
int eim_loop_udp_send(struct eim_loop_udp *u, const struct sockaddr *addr,
		      socklen_t addrlen, const uint8_t *data, size_t len);
/* Sends the queued datagrams now. */
int eim_loop_udp_flush(struct eim_loop_udp *u);

struct eim_loop_udp_stats {
	uint64_t rx;	   /* datagrams received */
	uint64_t tx;	   /* datagrams sent */
	uint64_t rx_calls; /* recvmmsg calls that returned data */
	uint64_t tx_calls; /* sendmmsg/sendto calls */
	uint64_t dropped;  /* truncated on receive or EAGAIN on send */
	uint64_t rcvbuf;   /* receive buffer the kernel granted (SO_RCVBUF) */
};
void eim_loop_udp_stats(const struct eim_loop_udp *u,
			struct eim_loop_udp_stats *ret);

#endif
