/*
 * eim_loop.c - epoll event loop, timer heap, batched UDP, signalfd.
 *
 * Watches are small heap objects pointed to by epoll_event.data.ptr. A watch
 * removed from inside a callback may still be referenced by a later event of
 * the same epoll_wait() batch, so removal only marks it dead; dead watches
 * are freed after the batch.
 *
 * UDP receive uses recvmmsg(2) with EIM_LOOP_UDP_BATCH preallocated buffers
 * and addresses, so one system call drains many datagrams under load, and
 * the receive buffers are never reallocated. Outgoing datagrams queue into a
 * parallel set of buffers and leave with one sendmmsg(2): the server answers
 * a whole received batch with one call.
 */
#include "transport/eim_loop.h"

#include "common/eim_alloc.h"
#include "common/eim_err.h"
#include "common/eim_log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

struct watch {
	int fd;
	bool dead;
	eim_loop_fd_fn fn;
	void *ctx;
	struct watch *next; /* all watches, or the dead list */
};

struct eim_loop {
	int ep;
	int sfd;
	bool stop;
	int stop_sig;
	uint64_t now;
	struct watch *watches;
	struct watch *dead;
	struct eim_loop_timer **heap;
	size_t heap_len;
	size_t heap_cap;
	struct eim_loop_udp *udps;
};

struct eim_loop_udp {
	struct eim_loop *loop;
	struct eim_loop_udp *next;
	int fd;
	bool connected;
	eim_loop_udp_fn fn;
	void *ctx;
	struct eim_loop_udp_stats st;
	/* receive batch */
	struct mmsghdr rx_msg[EIM_LOOP_UDP_BATCH];
	struct iovec rx_iov[EIM_LOOP_UDP_BATCH];
	struct sockaddr_storage rx_addr[EIM_LOOP_UDP_BATCH];
	struct eim_loop_dgram rx_d[EIM_LOOP_UDP_BATCH];
	uint8_t rx_buf[EIM_LOOP_UDP_BATCH][EIM_LOOP_UDP_MAX_DGRAM];
	/* send queue */
	size_t tx_n;
	struct mmsghdr tx_msg[EIM_LOOP_UDP_BATCH];
	struct iovec tx_iov[EIM_LOOP_UDP_BATCH];
	struct sockaddr_storage tx_addr[EIM_LOOP_UDP_BATCH];
	uint8_t tx_buf[EIM_LOOP_UDP_BATCH][EIM_LOOP_UDP_MAX_DGRAM];
};

uint64_t eim_loop_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int eim_loop_new(struct eim_loop **ret)
{
	struct eim_loop *l;

	if (!ret)
		return EIM_EINVAL;
	l = eim_calloc(1, sizeof(*l));
	if (!l)
		return EIM_ENOMEM;
	l->sfd = -1;
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	if (l->ep < 0) {
		eim_free(l);
		return EIM_EIO;
	}
	l->now = eim_loop_clock_ms();
	*ret = l;
	return 0;
}

static void free_dead(struct eim_loop *l)
{
	while (l->dead) {
		struct watch *w = l->dead;
		l->dead = w->next;
		eim_free(w);
	}
}

void eim_loop_free(struct eim_loop *l)
{
	if (!l)
		return;
	while (l->udps)
		eim_loop_udp_close(l->udps);
	while (l->watches) {
		struct watch *w = l->watches;
		l->watches = w->next;
		eim_free(w);
	}
	free_dead(l);
	if (l->sfd >= 0)
		close(l->sfd);
	close(l->ep);
	eim_free(l->heap);
	eim_free(l);
}

uint64_t eim_loop_now(const struct eim_loop *l)
{
	return l->now;
}

int eim_loop_fd_add(struct eim_loop *l, int fd, uint32_t events,
		    eim_loop_fd_fn fn, void *ctx)
{
	struct epoll_event ev = {.events = events};
	struct watch *w;

	if (!l || fd < 0 || !fn)
		return EIM_EINVAL;
	w = eim_calloc(1, sizeof(*w));
	if (!w)
		return EIM_ENOMEM;
	w->fd = fd;
	w->fn = fn;
	w->ctx = ctx;
	ev.data.ptr = w;
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
		int e = errno;
		eim_free(w);
		return e == EEXIST ? EIM_EEXIST : EIM_EIO;
	}
	w->next = l->watches;
	l->watches = w;
	return 0;
}

int eim_loop_fd_del(struct eim_loop *l, int fd)
{
	struct watch **pp;

	if (!l)
		return EIM_EINVAL;
	for (pp = &l->watches; *pp; pp = &(*pp)->next) {
		struct watch *w = *pp;
		if (w->fd != fd)
			continue;
		*pp = w->next;
		epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL);
		w->dead = true;
		w->next = l->dead;
		l->dead = w;
		return 0;
	}
	return EIM_ENOTFOUND;
}

/* ---- timers: a binary min-heap of handles ordered by when_ms ---- */

static void heap_swap(struct eim_loop *l, size_t a, size_t b)
{
	struct eim_loop_timer *t = l->heap[a];
	l->heap[a] = l->heap[b];
	l->heap[b] = t;
	l->heap[a]->heap_idx = a;
	l->heap[b]->heap_idx = b;
}

static void heap_up(struct eim_loop *l, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (l->heap[p]->when_ms <= l->heap[i]->when_ms)
			break;
		heap_swap(l, i, p);
		i = p;
	}
}

static void heap_down(struct eim_loop *l, size_t i)
{
	for (;;) {
		size_t a = 2 * i + 1, b = a + 1, m = i;
		if (a < l->heap_len &&
		    l->heap[a]->when_ms < l->heap[m]->when_ms)
			m = a;
		if (b < l->heap_len &&
		    l->heap[b]->when_ms < l->heap[m]->when_ms)
			m = b;
		if (m == i)
			return;
		heap_swap(l, i, m);
		i = m;
	}
}

void eim_loop_timer_init(struct eim_loop_timer *t, eim_loop_timer_fn fn,
			 void *ctx)
{
	t->when_ms = 0;
	t->heap_idx = (size_t)-1;
	t->fn = fn;
	t->ctx = ctx;
}

void eim_loop_timer_stop(struct eim_loop *l, struct eim_loop_timer *t)
{
	size_t i = t->heap_idx;

	if (!l || i == (size_t)-1)
		return;
	t->heap_idx = (size_t)-1;
	l->heap_len--;
	if (i == l->heap_len)
		return;
	l->heap[i] = l->heap[l->heap_len];
	l->heap[i]->heap_idx = i;
	heap_down(l, i);
	heap_up(l, i);
}

int eim_loop_timer_start(struct eim_loop *l, struct eim_loop_timer *t,
			 uint64_t when_ms)
{
	if (!l || !t || !t->fn)
		return EIM_EINVAL;
	if (t->heap_idx != (size_t)-1) {
		uint64_t old = t->when_ms;
		t->when_ms = when_ms;
		if (when_ms < old)
			heap_up(l, t->heap_idx);
		else
			heap_down(l, t->heap_idx);
		return 0;
	}
	if (l->heap_len == l->heap_cap) {
		size_t cap = l->heap_cap ? l->heap_cap * 2 : 16;
		struct eim_loop_timer **h =
			eim_realloc(l->heap, cap * sizeof(*h));
		if (!h)
			return EIM_ENOMEM;
		l->heap = h;
		l->heap_cap = cap;
	}
	t->when_ms = when_ms;
	t->heap_idx = l->heap_len;
	l->heap[l->heap_len++] = t;
	heap_up(l, t->heap_idx);
	return 0;
}

static void run_timers(struct eim_loop *l)
{
	/* A callback may re-arm its own timer for "now": bound the work so
	 * that a zero-delay timer cannot starve the descriptors. */
	size_t budget = l->heap_len + 16;

	while (l->heap_len && l->heap[0]->when_ms <= l->now && budget--) {
		struct eim_loop_timer *t = l->heap[0];
		eim_loop_timer_stop(l, t);
		t->fn(l, t->ctx);
		if (l->stop)
			return;
	}
}

/* ---- signals ---- */

static void on_signal(struct eim_loop *l, int fd, uint32_t events, void *ctx)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		l->stop_sig = (int)si.ssi_signo;
		l->stop = true;
	}
}

int eim_loop_catch_signals(struct eim_loop *l)
{
	sigset_t set;
	int rc;

	if (!l)
		return EIM_EINVAL;
	if (l->sfd >= 0)
		return 0;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return EIM_EIO;
	l->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (l->sfd < 0)
		return EIM_EIO;
	rc = eim_loop_fd_add(l, l->sfd, EPOLLIN, on_signal, NULL);
	if (rc) {
		close(l->sfd);
		l->sfd = -1;
	}
	return rc;
}

int eim_loop_stop_signal(const struct eim_loop *l)
{
	return l ? l->stop_sig : 0;
}

void eim_loop_stop(struct eim_loop *l)
{
	if (l)
		l->stop = true;
}

static void flush_all(struct eim_loop *l)
{
	for (struct eim_loop_udp *u = l->udps; u; u = u->next)
		if (u->tx_n)
			eim_loop_udp_flush(u);
}

int eim_loop_run(struct eim_loop *l)
{
	struct epoll_event ev[64];

	if (!l)
		return EIM_EINVAL;
	l->stop = false;
	while (!l->stop) {
		int timeout = -1, n;

		l->now = eim_loop_clock_ms();
		run_timers(l);
		flush_all(l);
		if (l->stop)
			break;
		if (l->heap_len) {
			uint64_t w = l->heap[0]->when_ms;
			timeout = w <= l->now ? 0
					      : (w - l->now > 60000
							 ? 60000
							 : (int)(w - l->now));
		}
		n = epoll_wait(l->ep, ev, 64, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return EIM_EIO;
		}
		l->now = eim_loop_clock_ms();
		for (int i = 0; i < n && !l->stop; i++) {
			struct watch *w = ev[i].data.ptr;
			if (!w->dead)
				w->fn(l, w->fd, ev[i].events, w->ctx);
		}
		free_dead(l);
	}
	flush_all(l);
	return 0;
}

/* ---- UDP ---- */

int eim_loop_parse_addr(const char *s, struct sockaddr_storage *ret_ss,
			socklen_t *ret_len)
{
	char host[64];
	const char *port_s;
	char *end;
	unsigned long port;
	struct sockaddr_storage ss;

	if (!s || !ret_ss || !ret_len)
		return EIM_EINVAL;
	memset(&ss, 0, sizeof(ss));
	if (s[0] == '[') {
		const char *e = strchr(s, ']');
		if (!e || e[1] != ':' || (size_t)(e - s - 1) >= sizeof(host))
			return EIM_EINVAL;
		memcpy(host, s + 1, (size_t)(e - s - 1));
		host[e - s - 1] = 0;
		port_s = e + 2;
	} else {
		const char *c = strrchr(s, ':');
		if (!c || (size_t)(c - s) >= sizeof(host))
			return EIM_EINVAL;
		memcpy(host, s, (size_t)(c - s));
		host[c - s] = 0;
		port_s = c + 1;
	}
	errno = 0;
	port = strtoul(port_s, &end, 10);
	if (!*port_s || *end || errno || port > 65535)
		return EIM_EINVAL;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	if (host[0] == 0 || strcmp(host, "*") == 0) {
		a6->sin6_family = AF_INET6;
		a6->sin6_addr = in6addr_any;
		a6->sin6_port = htons((uint16_t)port);
		*ret_len = sizeof(*a6);
	} else if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*ret_len = sizeof(*a4);
	} else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*ret_len = sizeof(*a6);
	} else {
		return EIM_EINVAL;
	}
	*ret_ss = ss;
	return 0;
}

static void udp_readable(struct eim_loop *l, int fd, uint32_t events, void *ctx)
{
	struct eim_loop_udp *u = ctx;

	/* A few batches per wakeup, then let other descriptors and timers
	 * run: level-triggered epoll brings us back if more is waiting. */
	for (int round = 0; round < 4; round++) {
		int n;
		size_t k = 0;

		for (size_t i = 0; i < EIM_LOOP_UDP_BATCH; i++) {
			u->rx_msg[i].msg_hdr.msg_namelen =
				sizeof(u->rx_addr[i]);
			u->rx_msg[i].msg_hdr.msg_flags = 0;
		}
		n = recvmmsg(fd, u->rx_msg, EIM_LOOP_UDP_BATCH, MSG_DONTWAIT,
			     NULL);
		if (n <= 0)
			break;
		u->st.rx_calls++;
		for (int i = 0; i < n; i++) {
			struct msghdr *h = &u->rx_msg[i].msg_hdr;
			if (h->msg_flags & MSG_TRUNC) {
				u->st.dropped++;
				continue;
			}
			u->rx_d[k].data = u->rx_buf[i];
			u->rx_d[k].len = u->rx_msg[i].msg_len;
			u->rx_d[k].addr = (struct sockaddr *)&u->rx_addr[i];
			u->rx_d[k].addrlen = h->msg_namelen;
			k++;
		}
		u->st.rx += (uint64_t)n;
		if (k)
			u->fn(u, u->rx_d, k, u->ctx);
		if (u->tx_n)
			eim_loop_udp_flush(u);
		if (l->stop || n < EIM_LOOP_UDP_BATCH)
			break;
	}
}

static int udp_open(struct eim_loop *l, const struct sockaddr *local,
		    socklen_t local_len, const struct sockaddr *addr,
		    socklen_t addrlen, bool connect_to, eim_loop_udp_fn fn,
		    void *ctx, struct eim_loop_udp **ret)
{
	struct eim_loop_udp *u = NULL;
	int fd = -1, rc = EIM_EIO, one = 1, zero = 0;

	if (!l || !addr || !fn || !ret ||
	    (addr->sa_family != AF_INET && addr->sa_family != AF_INET6) ||
	    (local && local->sa_family != addr->sa_family))
		return EIM_EINVAL;
	u = eim_calloc(1, sizeof(*u));
	if (!u)
		return EIM_ENOMEM;
	fd = socket(addr->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		goto fail;
	if (addr->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (connect_to) {
		if (local && bind(fd, local, local_len) != 0)
			goto fail;
		if (connect(fd, addr, addrlen) != 0)
			goto fail;
	} else {
		int want = EIM_LOOP_UDP_RCVBUF;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		/* best effort: a smaller buffer only means earlier drops */
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want));
		if (bind(fd, addr, addrlen) != 0)
			goto fail;
	}
	{
		int got = 0;
		socklen_t gl = sizeof(got);
		if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &gl) == 0 &&
		    got > 0)
			u->st.rcvbuf = (uint64_t)got;
	}
	u->loop = l;
	u->fd = fd;
	u->connected = connect_to;
	u->fn = fn;
	u->ctx = ctx;
	for (size_t i = 0; i < EIM_LOOP_UDP_BATCH; i++) {
		u->rx_iov[i].iov_base = u->rx_buf[i];
		u->rx_iov[i].iov_len = EIM_LOOP_UDP_MAX_DGRAM;
		u->rx_msg[i].msg_hdr.msg_iov = &u->rx_iov[i];
		u->rx_msg[i].msg_hdr.msg_iovlen = 1;
		u->rx_msg[i].msg_hdr.msg_name = &u->rx_addr[i];
		u->tx_iov[i].iov_base = u->tx_buf[i];
		u->tx_msg[i].msg_hdr.msg_iov = &u->tx_iov[i];
		u->tx_msg[i].msg_hdr.msg_iovlen = 1;
	}
	rc = eim_loop_fd_add(l, fd, EPOLLIN, udp_readable, u);
	if (rc)
		goto fail;
	u->next = l->udps;
	l->udps = u;
	*ret = u;
	return 0;
fail:
	if (fd >= 0) {
		int e = errno;
		close(fd);
		errno = e;
	}
	eim_free(u);
	return rc;
}

int eim_loop_udp_open(struct eim_loop *l, const struct sockaddr *addr,
		      socklen_t addrlen, eim_loop_udp_fn fn, void *ctx,
		      struct eim_loop_udp **ret)
{
	return udp_open(l, NULL, 0, addr, addrlen, false, fn, ctx, ret);
}

int eim_loop_udp_connect(struct eim_loop *l, const struct sockaddr *peer,
			 socklen_t peerlen, eim_loop_udp_fn fn, void *ctx,
			 struct eim_loop_udp **ret)
{
	return udp_open(l, NULL, 0, peer, peerlen, true, fn, ctx, ret);
}

int eim_loop_udp_connect_from(struct eim_loop *l, const struct sockaddr *local,
			      socklen_t local_len, const struct sockaddr *peer,
			      socklen_t peerlen, eim_loop_udp_fn fn, void *ctx,
			      struct eim_loop_udp **ret)
{
	if (!local)
		return EIM_EINVAL;
	return udp_open(l, local, local_len, peer, peerlen, true, fn, ctx, ret);
}

void eim_loop_udp_close(struct eim_loop_udp *u)
{
	struct eim_loop_udp **pp;

	if (!u)
		return;
	eim_loop_udp_flush(u);
	for (pp = &u->loop->udps; *pp; pp = &(*pp)->next) {
		if (*pp == u) {
			*pp = u->next;
			break;
		}
	}
	eim_loop_fd_del(u->loop, u->fd);
	close(u->fd);
	eim_free(u);
}

int eim_loop_udp_local(const struct eim_loop_udp *u,
		       struct sockaddr_storage *ret_ss, socklen_t *ret_len)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (!u || !ret_ss || !ret_len)
		return EIM_EINVAL;
	if (getsockname(u->fd, (struct sockaddr *)&ss, &len) != 0)
		return EIM_EIO;
	*ret_ss = ss;
	*ret_len = len;
	return 0;
}

int eim_loop_udp_flush(struct eim_loop_udp *u)
{
	size_t done = 0;
	int rc = 0;

	if (!u)
		return EIM_EINVAL;
	while (done < u->tx_n) {
		int n = sendmmsg(u->fd, u->tx_msg + done,
				 (unsigned)(u->tx_n - done), MSG_DONTWAIT);
		u->st.tx_calls++;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* EAGAIN or a per-datagram error (e.g. ICMP port
			 * unreachable reported on a connected socket): drop
			 * this datagram and go on with the rest. */
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != ECONNREFUSED)
				rc = EIM_EIO;
			u->st.dropped++;
			done++;
			continue;
		}
		u->st.tx += (uint64_t)n;
		done += (size_t)n;
	}
	u->tx_n = 0;
	return rc;
}

int eim_loop_udp_send(struct eim_loop_udp *u, const struct sockaddr *addr,
		      socklen_t addrlen, const uint8_t *data, size_t len)
{
	size_t i;

	if (!u || (len && !data) || (!addr && !u->connected) ||
	    (addr && addrlen > sizeof(struct sockaddr_storage)))
		return EIM_EINVAL;
	if (u->connected)
		addr = NULL;
	if (len > EIM_LOOP_UDP_MAX_DGRAM) {
		u->st.tx_calls++;
		if (sendto(u->fd, data, len, MSG_DONTWAIT, addr,
			   addr ? addrlen : 0) < 0) {
			u->st.dropped++;
			return (errno == EAGAIN || errno == EWOULDBLOCK)
				       ? 0
				       : EIM_EIO;
		}
		u->st.tx++;
		return 0;
	}
	if (u->tx_n == EIM_LOOP_UDP_BATCH)
		eim_loop_udp_flush(u);
	i = u->tx_n++;
	memcpy(u->tx_buf[i], data, len);
	u->tx_iov[i].iov_len = len;
	if (addr) {
		memcpy(&u->tx_addr[i], addr, addrlen);
		u->tx_msg[i].msg_hdr.msg_name = &u->tx_addr[i];
		u->tx_msg[i].msg_hdr.msg_namelen = addrlen;
	} else {
		u->tx_msg[i].msg_hdr.msg_name = NULL;
		u->tx_msg[i].msg_hdr.msg_namelen = 0;
	}
	return 0;
}

void eim_loop_udp_stats(const struct eim_loop_udp *u,
			struct eim_loop_udp_stats *ret)
{
	if (u && ret)
		*ret = u->st;
}
