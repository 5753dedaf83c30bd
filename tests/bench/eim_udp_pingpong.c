/*
 * eim_udp_pingpong.c - the physical ceiling for scripts/bench.sh: how many
 * UDP round trips per second loopback carries on this machine when the
 * server does nothing but echo (one recvfrom + one sendto per datagram, as
 * the reference measurement in issue 9 did). Nothing of eim is involved.
 *
 *   eim_udp_pingpong server PORT           echo until killed
 *   eim_udp_pingpong client PORT SECONDS [INFLIGHT] [SIZE]
 *       prints "round_trips_per_s N"; INFLIGHT datagrams (default 32) of
 *       SIZE bytes (default 60, about an encrypted GetEimPackage) are kept
 *       in flight from one socket.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int serve(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	unsigned char buf[2048];

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("eim_udp_pingpong: bind");
		return 1;
	}
	for (;;) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0,
				     (struct sockaddr *)&from, &fl);
		if (n >= 0)
			sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from,
			       fl);
	}
}

static int client(int port, double seconds, int inflight, size_t size)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	unsigned char buf[2048] = {0};
	unsigned long long done = 0;
	double t0, end;

	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("eim_udp_pingpong: connect");
		return 1;
	}
	for (int i = 0; i < inflight; i++)
		send(fd, buf, size, 0);
	t0 = now_s();
	end = t0 + seconds;
	while (now_s() < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		/* a lost datagram would shrink the window: top it up */
		if (poll(&p, 1, 100) == 0) {
			send(fd, buf, size, 0);
			continue;
		}
		if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0) {
			done++;
			send(fd, buf, size, 0);
		}
	}
	printf("round_trips_per_s %.0f\n", (double)done / (now_s() - t0));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "server"))
		return serve(atoi(argv[2]));
	if (argc >= 4 && !strcmp(argv[1], "client"))
		return client(atoi(argv[2]), atof(argv[3]),
			      argc > 4 ? atoi(argv[4]) : 32,
			      argc > 5 ? (size_t)atoi(argv[5]) : 60);
	fprintf(stderr, "usage: eim_udp_pingpong server PORT\n"
			"       eim_udp_pingpong client PORT SECONDS "
			"[INFLIGHT] [SIZE]\n");
	return 2;
}
