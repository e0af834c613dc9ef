/*
 * wire.c - TCP transport and vpcd framing for the pcsc11 PIN-pad reader driver.
 * Every read and write is bounded by a poll() timeout, so a stuck or hostile card
 * side can delay pcscd but never hang it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4 */
#endif
#include "wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd is ready for events or the deadline passes. 0 ready, -1 otherwise. */
static int wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0)
			return -1;
		struct pollfd p = { .fd = fd, .events = events, .revents = 0 };
		int r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			continue;
		if (p.revents & (events | POLLHUP | POLLERR))
			return 0;
	}
}

int wire_listen(const char *addr, unsigned short port)
{
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		errno = EINVAL; /* only IPv4 literals: no name lookups inside pcscd */
		return -1;
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	int yes = 1;
	/* pcscd restarts quickly; do not wait for TIME_WAIT of the old listener. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes) != 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 1) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int wire_accept(int server)
{
	if (server < 0)
		return -1;
	int fd = accept4(server, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return -1;
	int yes = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
	/* Non-blocking: every transfer below is driven by poll() with a deadline. */
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const unsigned char *p, size_t n, long long deadline)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(fd, POLLOUT, deadline) != 0)
				return -1;
			continue;
		}
		return -1;
	}
	return 0;
}

static int recv_all(int fd, unsigned char *p, size_t n, long long deadline)
{
	while (n > 0) {
		ssize_t r = recv(fd, p, n, 0);
		if (r > 0) {
			p += r;
			n -= (size_t)r;
			continue;
		}
		if (r == 0)
			return -1; /* the card side went away */
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (wait_fd(fd, POLLIN, deadline) != 0)
				return -1;
			continue;
		}
		return -1;
	}
	return 0;
}

int wire_send(int fd, const unsigned char *buf, size_t len, int timeout_ms)
{
	if (fd < 0 || len > WIRE_MAX_PAYLOAD || (len > 0 && buf == NULL))
		return -1;
	unsigned char *msg = malloc(len + 2);
	if (msg == NULL)
		return -1;
	msg[0] = (unsigned char)(len >> 8);
	msg[1] = (unsigned char)len;
	if (len > 0)
		memcpy(msg + 2, buf, len);
	int r = send_all(fd, msg, len + 2, now_ms() + timeout_ms);
	free(msg);
	return r;
}

int wire_recv(int fd, unsigned char **out, size_t *outlen, int timeout_ms)
{
	unsigned char hdr[2];
	long long deadline = now_ms() + timeout_ms;
	*out = NULL;
	*outlen = 0;
	if (fd < 0 || recv_all(fd, hdr, 2, deadline) != 0)
		return -1;
	size_t n = ((size_t)hdr[0] << 8) | hdr[1];
	unsigned char *buf = malloc(n > 0 ? n : 1);
	if (buf == NULL)
		return -1;
	if (n > 0 && recv_all(fd, buf, n, deadline) != 0) {
		free(buf);
		return -1;
	}
	*out = buf;
	*outlen = n;
	return 0;
}
