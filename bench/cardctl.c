/*
 * cardctl.c — the virtual card's control socket (cmd/pcsc11-vpiv --control PATH).
 *
 * APDUs are counted by the card itself, so that no module can hide any: before and
 * after each measured interval the harness asks every card "status", which answers
 *   ok inserted=true connected=true commands=N bytes_in=N bytes_out=N
 * and "remove"/"insert" take the card out of vpcd's reader and put it back (S5).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "p11bench.h"

/* exchange sends one command line and reads the one-line answer into ans. */
static int exchange(const char *sock, const char *cmd, char *ans, size_t anslen)
{
	struct sockaddr_un sa;
	if (strlen(sock) >= sizeof sa.sun_path)
		return -1;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, sock);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = {5, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	char line[64];
	int n = snprintf(line, sizeof line, "%s\n", cmd);
	if (n <= 0 || (size_t)n >= sizeof line || write(fd, line, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	size_t got = 0;
	while (got + 1 < anslen) {
		ssize_t r = read(fd, ans + got, anslen - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
		if (memchr(ans, '\n', got))
			break;
	}
	close(fd);
	ans[got] = 0;
	char *nl = strchr(ans, '\n');
	if (nl)
		*nl = 0;
	return strncmp(ans, "ok", 2) == 0 ? 0 : -1;
}

int card_command(const char *sock, const char *cmd)
{
	char ans[256];
	return exchange(sock, cmd, ans, sizeof ans);
}

/* card_read sums the counters of every card given with --control; ok only if all answer. */
card_stats card_read(const options *o)
{
	card_stats st = {0, 0, 0, 0};
	int asked = 0;
	for (int i = 0; i < MAX_CARDS; i++) {
		if (!o->control[i])
			continue;
		asked++;
		char ans[256];
		unsigned long long c, in, out;
		const char *p;
		if (exchange(o->control[i], "status", ans, sizeof ans) != 0 ||
		    !(p = strstr(ans, "commands=")) ||
		    sscanf(p, "commands=%llu bytes_in=%llu bytes_out=%llu", &c, &in, &out) != 3)
			return (card_stats){0, 0, 0, 0};
		st.cmds += c;
		st.in += in;
		st.out += out;
	}
	st.ok = asked > 0;
	return st;
}
