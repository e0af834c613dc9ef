/*
 * selftest.c - checks the reader driver's entry points against a fake card side,
 * including hostile requests and a misbehaving card. Built with ASan/UBSan by
 * pinpad/install.sh --test; exits non-zero on the first failed check.
 */
#include <PCSC/ifdhandler.h>
#include <PCSC/reader.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "part10.h"

static int failures;
#define CHECK(cond)                                                                \
	do {                                                                       \
		if (!(cond)) {                                                     \
			fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			failures++;                                                \
		}                                                                  \
	} while (0)

static const unsigned char ATR[] = { 0x3B, 0xFD, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15 };

/* Fake card side behaviour for PIN and APDU messages. */
enum mode { M_NORMAL, M_ONE_BYTE, M_BIG, M_CLOSE };
static volatile int mode = M_NORMAL;
static unsigned char last_pin_msg[512];
static size_t last_pin_len;
static unsigned short port;

static int rd(int fd, unsigned char *p, size_t n)
{
	while (n) {
		ssize_t r = recv(fd, p, n, 0);
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int wr(int fd, const unsigned char *p, size_t n)
{
	unsigned char h[2] = { (unsigned char)(n >> 8), (unsigned char)n };
	if (send(fd, h, 2, MSG_NOSIGNAL) != 2)
		return -1;
	return n == 0 || send(fd, p, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

static void *card(void *arg)
{
	(void)arg;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 10, .tv_usec = 0 };
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		perror("connect");
		return NULL;
	}
	static unsigned char buf[70000];
	for (;;) {
		unsigned char h[2];
		if (rd(fd, h, 2) != 0)
			break;
		size_t n = (size_t)h[0] << 8 | h[1];
		if (rd(fd, buf, n) != 0)
			break;
		if (n == 1) {
			if (buf[0] == 0x04 && wr(fd, ATR, sizeof ATR) != 0)
				break;
			continue;
		}
		if (mode == M_CLOSE)
			break;
		if (mode == M_ONE_BYTE) {
			wr(fd, (const unsigned char *)"\x90", 1);
			continue;
		}
		if (mode == M_BIG) {
			static unsigned char big[300];
			memset(big, 0xAB, sizeof big);
			wr(fd, big, sizeof big);
			continue;
		}
		if (buf[0] == 0xF1 || buf[0] == 0xF2) {
			memcpy(last_pin_msg, buf, n < sizeof last_pin_msg ? n : sizeof last_pin_msg);
			last_pin_len = n;
			wr(fd, (const unsigned char *)"\x63\xC2", 2);
			continue;
		}
		/* An APDU: answer its INS as data, then 90 00. */
		unsigned char r[3] = { buf[1], 0x90, 0x00 };
		wr(fd, r, 3);
	}
	close(fd);
	return NULL;
}

static unsigned short free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t l = sizeof sa;
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	bind(fd, (struct sockaddr *)&sa, sizeof sa);
	getsockname(fd, (struct sockaddr *)&sa, &l);
	close(fd);
	return ntohs(sa.sin_port);
}

static size_t verify_struct(unsigned char *b, uint32_t dl)
{
	static const unsigned char apdu[] = { 0x00, 0x20, 0x00, 0x80, 0x08, 0xFF, 0xFF, 0xFF,
					      0xFF, 0xFF, 0xFF, 0xFF, 0xFF };
	memset(b, 0, 19);
	b[0] = 30;
	b[1] = 30;
	b[2] = 0x82;
	b[3] = 0x08;
	b[5] = 8;
	b[6] = 6;
	b[7] = 0x02;
	b[15] = (unsigned char)dl;
	b[16] = (unsigned char)(dl >> 8);
	b[17] = (unsigned char)(dl >> 16);
	b[18] = (unsigned char)(dl >> 24);
	memcpy(b + 19, apdu, sizeof apdu);
	return 19 + sizeof apdu;
}

static void wait_present(DWORD lun)
{
	for (int i = 0; i < 200; i++) {
		if (IFDHICCPresence(lun) == IFD_ICC_PRESENT)
			return;
		usleep(10000);
	}
}

int main(void)
{
	const DWORD lun = 0;
	unsigned char rx[512], tx[512];
	DWORD n, got;
	char name[64];

	/* A failed check must not leave the test waiting on the fake card forever. */
	alarm(60);

	/* Bad device names never open a reader. */
	CHECK(IFDHCreateChannelByName(1 << 16, "127.0.0.1:") != IFD_SUCCESS);
	CHECK(IFDHCreateChannelByName(1 << 16, "127.0.0.1:99999") != IFD_SUCCESS);
	CHECK(IFDHCreateChannelByName(1 << 16, "127.0.0.1:12a") != IFD_SUCCESS);
	CHECK(IFDHCreateChannelByName(1 << 16, "not-an-ip:4000") != IFD_SUCCESS);
	CHECK(IFDHCreateChannelByName(1 << 16, NULL) != IFD_SUCCESS);
	CHECK(IFDHCreateChannelByName(1, "127.0.0.1:4000") != IFD_SUCCESS); /* slot 1 */
	memset(name, 'a', sizeof name - 1);
	name[sizeof name - 1] = 0;
	CHECK(IFDHCreateChannelByName(1 << 16, name) != IFD_SUCCESS);

	port = free_port();
	snprintf(name, sizeof name, "127.0.0.1:%u", port);
	CHECK(IFDHCreateChannelByName(lun, name) == IFD_SUCCESS);
	CHECK(IFDHCreateChannelByName(lun, name) != IFD_SUCCESS); /* same lun twice */

	/* A second reader of the same driver (another reader.conf entry) is independent. */
	{
		char name2[64];
		snprintf(name2, sizeof name2, "127.0.0.1:%u", free_port());
		CHECK(IFDHCreateChannelByName(1 << 16, name2) == IFD_SUCCESS);
		CHECK(IFDHICCPresence(1 << 16) == IFD_ICC_NOT_PRESENT);
		CHECK(IFDHCreateChannelByName(2 << 16, name2) != IFD_SUCCESS); /* port taken */
		CHECK(IFDHCloseChannel(1 << 16) == IFD_SUCCESS);
	}

	/* Unknown reader and empty reader. */
	CHECK(IFDHICCPresence(7 << 16) == IFD_COMMUNICATION_ERROR);
	CHECK(IFDHICCPresence(lun) == IFD_ICC_NOT_PRESENT);
	n = sizeof rx;
	CHECK(IFDHPowerICC(lun, IFD_POWER_UP, rx, &n) != IFD_SUCCESS && n == 0);

	/* Capabilities. */
	n = 1;
	CHECK(IFDHGetCapabilities(lun, TAG_IFD_SLOTS_NUMBER, &n, rx) == IFD_SUCCESS && n == 1 && rx[0] == 1);
	n = 1;
	CHECK(IFDHGetCapabilities(lun, TAG_IFD_SIMULTANEOUS_ACCESS, &n, rx) == IFD_SUCCESS && rx[0] == 16);
	n = 0;
	CHECK(IFDHGetCapabilities(lun, TAG_IFD_SLOTS_NUMBER, &n, rx) != IFD_SUCCESS);
	n = sizeof rx;
	CHECK(IFDHGetCapabilities(lun, 0x12345, &n, rx) == IFD_ERROR_TAG && n == 0);
	CHECK(IFDHGetCapabilities(lun, TAG_IFD_SLOTS_NUMBER, NULL, rx) != IFD_SUCCESS);

	/* Feature discovery works without a card (SCARD_SHARE_DIRECT). */
	got = 99;
	CHECK(IFDHControl(lun, CM_IOCTL_GET_FEATURE_REQUEST, NULL, 0, rx, sizeof rx, &got) == IFD_SUCCESS);
	CHECK(got == 24);
	{
		const unsigned char want_tags[4] = { 0x06, 0x07, 0x0A, 0x12 };
		for (int i = 0; i < 4; i++) {
			unsigned long code = (unsigned long)rx[i * 6 + 2] << 24 | rx[i * 6 + 3] << 16 |
					     rx[i * 6 + 4] << 8 | rx[i * 6 + 5];
			CHECK(rx[i * 6] == want_tags[i] && rx[i * 6 + 1] == 4);
			CHECK(code == 0x42330000UL + want_tags[i]);
		}
	}
	got = 99;
	CHECK(IFDHControl(lun, CM_IOCTL_GET_FEATURE_REQUEST, NULL, 0, rx, 23, &got) ==
	      IFD_ERROR_INSUFFICIENT_BUFFER && got == 0);
	CHECK(IFDHControl(lun, CM_IOCTL_GET_FEATURE_REQUEST, NULL, 0, NULL, 100, &got) != IFD_SUCCESS);
	CHECK(IFDHControl(lun, CM_IOCTL_GET_FEATURE_REQUEST, NULL, 0, rx, sizeof rx, NULL) != IFD_SUCCESS);
	CHECK(IFDHControl(9 << 16, CM_IOCTL_GET_FEATURE_REQUEST, NULL, 0, rx, sizeof rx, &got) != IFD_SUCCESS);
	CHECK(IFDHControl(lun, 0x42000001, NULL, 0, rx, sizeof rx, &got) == IFD_ERROR_NOT_SUPPORTED);

	CHECK(IFDHControl(lun, 0x4233000A, NULL, 0, rx, sizeof rx, &got) == IFD_SUCCESS && got == 4);
	CHECK(rx[0] == 0 && rx[1] == 0 && rx[2] == 0x02 && rx[3] == 0);
	CHECK(IFDHControl(lun, 0x4233000A, NULL, 0, rx, 3, &got) == IFD_ERROR_INSUFFICIENT_BUFFER);
	CHECK(IFDHControl(lun, 0x42330012, NULL, 0, rx, sizeof rx, &got) == IFD_SUCCESS && got > 10);
	{
		/* Walk the TLV list: lengths must be consistent; find min/max PIN. */
		int minp = -1, maxp = -1;
		size_t i = 0;
		while (i + 2 <= got && i + 2 + rx[i + 1] <= got) {
			if (rx[i] == 6 && rx[i + 1] == 1)
				minp = rx[i + 2];
			if (rx[i] == 7 && rx[i + 1] == 1)
				maxp = rx[i + 2];
			i += 2 + rx[i + 1];
		}
		CHECK(i == got);
		CHECK(minp == P10_MIN_PIN && maxp == P10_MAX_PIN);
	}
	for (DWORD cap = 0; cap < got; cap++) {
		DWORD g = 99;
		CHECK(IFDHControl(lun, 0x42330012, NULL, 0, rx, cap, &g) == IFD_ERROR_INSUFFICIENT_BUFFER && g == 0);
	}

	/* PIN request without a card. */
	size_t vl = verify_struct(tx, 13);
	CHECK(IFDHControl(lun, 0x42330006, tx, vl, rx, sizeof rx, &got) == IFD_COMMUNICATION_ERROR);

	/* Insert the card. */
	pthread_t th;
	pthread_create(&th, NULL, card, NULL);
	wait_present(lun);
	CHECK(IFDHICCPresence(lun) == IFD_ICC_PRESENT);
	n = sizeof rx;
	CHECK(IFDHPowerICC(lun, IFD_POWER_UP, rx, &n) == IFD_SUCCESS && n == sizeof ATR &&
	      memcmp(rx, ATR, n) == 0);
	n = 4; /* ATR does not fit */
	CHECK(IFDHPowerICC(lun, IFD_RESET, rx, &n) != IFD_SUCCESS && n == 0);
	n = sizeof rx;
	CHECK(IFDHGetCapabilities(lun, TAG_IFD_ATR, &n, rx) == IFD_SUCCESS && n == sizeof ATR);
	CHECK(IFDHPowerICC(lun, 12345, rx, &n) == IFD_NOT_SUPPORTED);
	CHECK(IFDHSetProtocolParameters(lun, SCARD_PROTOCOL_T1, 0, 0, 0, 0) == IFD_SUCCESS);

	/* APDUs. */
	SCARD_IO_HEADER pci = { SCARD_PROTOCOL_T1, 0 }, rpci = { 0, 0 };
	const unsigned char sel[] = { 0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08 };
	n = sizeof rx;
	CHECK(IFDHTransmitToICC(lun, pci, (PUCHAR)sel, sizeof sel, rx, &n, &rpci) == IFD_SUCCESS);
	CHECK(n == 3 && rx[0] == 0xA4 && rx[1] == 0x90 && rpci.Protocol == SCARD_PROTOCOL_T1);
	n = 2; /* answer does not fit */
	CHECK(IFDHTransmitToICC(lun, pci, (PUCHAR)sel, sizeof sel, rx, &n, &rpci) == IFD_ERROR_INSUFFICIENT_BUFFER && n == 0);
	n = sizeof rx;
	CHECK(IFDHTransmitToICC(lun, pci, (PUCHAR)sel, 0, rx, &n, &rpci) != IFD_SUCCESS && n == 0);
	n = sizeof rx;
	CHECK(IFDHTransmitToICC(lun, pci, NULL, 4, rx, &n, &rpci) != IFD_SUCCESS);
	CHECK(IFDHTransmitToICC(lun, pci, (PUCHAR)sel, sizeof sel, rx, NULL, &rpci) != IFD_SUCCESS);
	n = sizeof rx;
	CHECK(IFDHTransmitToICC(lun, pci, (PUCHAR)"\x04", 1, rx, &n, &rpci) == IFD_SUCCESS && n == 2 &&
	      rx[0] == 0x67);
	n = sizeof rx;
	CHECK(IFDHTransmitToICC(lun, pci, (PUCHAR)"\xF1\x20\x00\x80", 4, rx, &n, &rpci) == IFD_SUCCESS &&
	      n == 2 && rx[0] == 0x6E);
	n = sizeof rx;
	CHECK(IFDHTransmitToICC(lun, pci, (PUCHAR)sel, 70000, rx, &n, &rpci) != IFD_SUCCESS);

	/* A well-formed verify reaches the card side byte for byte. */
	got = 0;
	CHECK(IFDHControl(lun, 0x42330006, tx, vl, rx, sizeof rx, &got) == IFD_SUCCESS && got == 2);
	CHECK(rx[0] == 0x63 && rx[1] == 0xC2);
	CHECK(last_pin_len == vl + 1 && last_pin_msg[0] == 0xF1 && memcmp(last_pin_msg + 1, tx, vl) == 0);
	got = 9;
	CHECK(IFDHControl(lun, 0x42330006, tx, vl, rx, 1, &got) == IFD_ERROR_INSUFFICIENT_BUFFER && got == 0);

	/* Hostile verify structures are refused before they reach the card side. */
	last_pin_len = 0;
	for (size_t l = 0; l < vl; l++) {
		got = 9;
		verify_struct(tx, 13);
		CHECK(IFDHControl(lun, 0x42330006, tx, l, rx, sizeof rx, &got) == IFD_NOT_SUPPORTED && got == 0);
	}
	const uint32_t bad_dl[] = { 0, 3, 12, 14, 0xFFFFFFFFu, 0x80000000u, 0x0100000Du };
	for (size_t i = 0; i < sizeof bad_dl / sizeof bad_dl[0]; i++) {
		verify_struct(tx, bad_dl[i]);
		CHECK(IFDHControl(lun, 0x42330006, tx, vl, rx, sizeof rx, &got) == IFD_NOT_SUPPORTED);
	}
	CHECK(IFDHControl(lun, 0x42330006, NULL, vl, rx, sizeof rx, &got) == IFD_NOT_SUPPORTED);
	/* A verify structure is too short for a modify request (24-byte header). */
	verify_struct(tx, 13);
	CHECK(IFDHControl(lun, 0x42330007, tx, 27, rx, sizeof rx, &got) == IFD_NOT_SUPPORTED);
	CHECK(last_pin_len == 0);
	{
		/* A modify request with a consistent length goes through as F2. */
		unsigned char m[24 + 21];
		memset(m, 0, sizeof m);
		m[20] = 21;
		m[24] = 0x00;
		m[25] = 0x24;
		CHECK(IFDHControl(lun, 0x42330007, m, sizeof m, rx, sizeof rx, &got) == IFD_SUCCESS && got == 2);
		CHECK(last_pin_len == sizeof m + 1 && last_pin_msg[0] == 0xF2);
	}
	{
		/* Too big for one frame. */
		static unsigned char huge[70000];
		uint32_t dl = sizeof huge - 19;
		memset(huge, 0, sizeof huge);
		huge[15] = (unsigned char)dl;
		huge[16] = (unsigned char)(dl >> 8);
		huge[17] = (unsigned char)(dl >> 16);
		CHECK(IFDHControl(lun, 0x42330006, huge, sizeof huge, rx, sizeof rx, &got) == IFD_NOT_SUPPORTED);
	}

	/* Misbehaving card side: a big answer to a small buffer, a 1-byte answer. */
	verify_struct(tx, 13);
	mode = M_BIG;
	n = sizeof rx < 100 ? sizeof rx : 100;
	CHECK(IFDHTransmitToICC(lun, pci, (PUCHAR)sel, sizeof sel, rx, &n, &rpci) == IFD_ERROR_INSUFFICIENT_BUFFER);
	CHECK(IFDHControl(lun, 0x42330006, tx, vl, rx, 100, &got) == IFD_ERROR_INSUFFICIENT_BUFFER && got == 0);
	mode = M_ONE_BYTE;
	n = sizeof rx;
	CHECK(IFDHTransmitToICC(lun, pci, (PUCHAR)sel, sizeof sel, rx, &n, &rpci) == IFD_COMMUNICATION_ERROR);
	/* The short answer dropped the card side: the reader is empty now. */
	CHECK(IFDHICCPresence(lun) == IFD_ICC_NOT_PRESENT);
	pthread_join(th, NULL);

	/* A card side that hangs up in the middle of a PIN request. */
	mode = M_CLOSE;
	pthread_create(&th, NULL, card, NULL);
	wait_present(lun);
	CHECK(IFDHControl(lun, 0x42330006, tx, vl, rx, sizeof rx, &got) == IFD_COMMUNICATION_ERROR && got == 0);
	CHECK(IFDHICCPresence(lun) == IFD_ICC_NOT_PRESENT);
	pthread_join(th, NULL);

	CHECK(IFDHCloseChannel(lun) == IFD_SUCCESS);
	CHECK(IFDHCloseChannel(lun) != IFD_SUCCESS);
	CHECK(IFDHICCPresence(lun) == IFD_COMMUNICATION_ERROR);
	/* The port is free again: the reader can be reopened (pcscd restart). */
	CHECK(IFDHCreateChannelByName(lun, name) == IFD_SUCCESS);
	CHECK(IFDHCloseChannel(lun) == IFD_SUCCESS);

	if (failures) {
		fprintf(stderr, "selftest: %d failure(s)\n", failures);
		return 1;
	}
	printf("selftest: ok\n");
	return 0;
}
