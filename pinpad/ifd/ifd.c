/*
 * ifd.c - pcsc11 PIN-pad reader: a pcscd IFD handler (API v3) for tests.
 *
 * Like vsmartcard's vpcd it listens on a TCP port and the virtual card connects to it
 * as the card side; a connected card side is a card in the reader. Unlike vpcd it
 * offers the PC/SC v2 part 10 PIN-pad features (VERIFY/MODIFY PIN DIRECT, PIN
 * properties), which it forwards to the card side, where a scripted keypad "types"
 * the PIN. See docs/pinpad.md.
 *
 * reader.conf: DEVICENAME is "ADDR:PORT" (IPv4 literal to bind, default 127.0.0.1;
 * port, default 35965). Without DEVICENAME pcscd calls IFDHCreateChannel with
 * CHANNELID, used as the port.
 *
 * pcscd polls IFDHICCPresence (every 400 ms for drivers without their own polling
 * thread, pcsc-lite eventhandler.c). Every entry point checks its lengths: a bad
 * request is an error code, never a crash of pcscd.
 */
/* Only the IFDH entry points are exported (built with -fvisibility=hidden). */
#pragma GCC visibility push(default)
#include <PCSC/ifdhandler.h>
#include <PCSC/reader.h>
#pragma GCC visibility pop

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "part10.h"
#include "wire.h"

#define DEFAULT_ADDR "127.0.0.1"
#define DEFAULT_PORT 35965
#define MAX_READERS 16 /* pcsc-lite's PCSCLITE_MAX_READERS_CONTEXTS */
/* A presence poll must be quick; an APDU may be an RSA-4096 key generation. */
#define POLL_TIMEOUT_MS 3000
#define APDU_TIMEOUT_MS 120000

struct reader {
	int used;
	DWORD lun;
	int server; /* listening socket */
	int card;   /* connected card side, -1 when the reader is empty */
	char addr[64];
	unsigned short port;
};

static struct reader readers[MAX_READERS];
/* One lock for the table and all I/O: pcscd serialises calls per reader already, and
 * this driver reports itself not thread safe, so contention is not a concern. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void logf_(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("pcsc11-pinpad: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* Caller holds mu. */
static struct reader *find(DWORD lun)
{
	for (int i = 0; i < MAX_READERS; i++)
		if (readers[i].used && readers[i].lun == lun)
			return &readers[i];
	return NULL;
}

static void drop_card(struct reader *r, const char *why)
{
	if (r->card >= 0) {
		close(r->card);
		r->card = -1;
		logf_("card side on %s:%u disconnected (%s)", r->addr, r->port, why);
	}
}

/* Caller holds mu. Accept a waiting card side when the reader is empty. */
static void try_accept(struct reader *r)
{
	if (r->card >= 0)
		return;
	r->card = wire_accept(r->server);
	if (r->card >= 0)
		logf_("card side connected on %s:%u", r->addr, r->port);
}

/* Caller holds mu. One request/answer exchange; the card is dropped on any failure. */
static int exchange(struct reader *r, const unsigned char *req, size_t reqlen,
		    unsigned char **resp, size_t *resplen, int timeout_ms)
{
	*resp = NULL;
	*resplen = 0;
	if (r->card < 0)
		return -1;
	if (wire_send(r->card, req, reqlen, timeout_ms) != 0 ||
	    wire_recv(r->card, resp, resplen, timeout_ms) != 0) {
		free(*resp);
		*resp = NULL;
		drop_card(r, "transfer failed");
		return -1;
	}
	return 0;
}

static int send_ctrl(struct reader *r, unsigned char code)
{
	if (r->card < 0)
		return -1;
	if (wire_send(r->card, &code, 1, POLL_TIMEOUT_MS) != 0) {
		drop_card(r, "send failed");
		return -1;
	}
	return 0;
}

/* Caller holds mu. Fetch the ATR into atr (capacity cap). A zero-length ATR means
 * the card side has no card (vpcd's convention): the reader is empty. */
static int get_atr(struct reader *r, unsigned char *atr, size_t cap, size_t *len)
{
	unsigned char code = WIRE_CTRL_ATR, *resp = NULL;
	size_t n = 0;
	*len = 0;
	if (exchange(r, &code, 1, &resp, &n, POLL_TIMEOUT_MS) != 0)
		return -1;
	if (n == 0 || n > MAX_ATR_SIZE) {
		free(resp);
		drop_card(r, n == 0 ? "no ATR" : "ATR too long");
		return -1;
	}
	if (n > cap) {
		free(resp);
		return -1;
	}
	memcpy(atr, resp, n);
	*len = n;
	free(resp);
	return 0;
}

static int parse_port(const char *s, unsigned short *port)
{
	if (*s == '\0' || strlen(s) > 5)
		return -1;
	unsigned long v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*port = (unsigned short)v;
	return 0;
}

static RESPONSECODE open_reader(DWORD lun, const char *addr, unsigned short port)
{
	if ((lun & 0xFFFF) != 0) /* one slot per reader */
		return IFD_COMMUNICATION_ERROR;
	pthread_mutex_lock(&mu);
	struct reader *r = find(lun);
	if (r == NULL)
		for (int i = 0; i < MAX_READERS && r == NULL; i++)
			if (!readers[i].used)
				r = &readers[i];
	if (r == NULL || r->used) {
		pthread_mutex_unlock(&mu);
		logf_("no free reader context (or lun reused)");
		return IFD_COMMUNICATION_ERROR;
	}
	int fd = wire_listen(addr, port);
	if (fd < 0) {
		int e = errno;
		pthread_mutex_unlock(&mu);
		logf_("cannot listen on %s:%u: %s", addr, port, strerror(e));
		return IFD_COMMUNICATION_ERROR;
	}
	memset(r, 0, sizeof *r);
	r->used = 1;
	r->lun = lun;
	r->server = fd;
	r->card = -1;
	snprintf(r->addr, sizeof r->addr, "%s", addr);
	r->port = port;
	pthread_mutex_unlock(&mu);
	logf_("waiting for the card side on %s:%u", addr, port);
	return IFD_SUCCESS;
}

RESPONSECODE IFDHCreateChannelByName(DWORD Lun, LPSTR DeviceName)
{
	char addr[64];
	unsigned short port = DEFAULT_PORT;
	if (DeviceName == NULL || strlen(DeviceName) >= sizeof addr)
		return IFD_COMMUNICATION_ERROR;
	const char *colon = strrchr(DeviceName, ':');
	if (colon == NULL) {
		snprintf(addr, sizeof addr, "%s", DeviceName[0] ? DeviceName : DEFAULT_ADDR);
	} else {
		size_t hl = (size_t)(colon - DeviceName);
		if (hl == 0) {
			snprintf(addr, sizeof addr, "%s", DEFAULT_ADDR);
		} else {
			memcpy(addr, DeviceName, hl);
			addr[hl] = '\0';
		}
		if (parse_port(colon + 1, &port) != 0) {
			logf_("bad DEVICENAME port (want ADDR:PORT)");
			return IFD_COMMUNICATION_ERROR;
		}
	}
	return open_reader(Lun, addr, port);
}

RESPONSECODE IFDHCreateChannel(DWORD Lun, DWORD Channel)
{
	unsigned short port = DEFAULT_PORT;
	if (Channel != 0) {
		if (Channel > 65535)
			return IFD_COMMUNICATION_ERROR;
		port = (unsigned short)Channel;
	}
	return open_reader(Lun, DEFAULT_ADDR, port);
}

RESPONSECODE IFDHCloseChannel(DWORD Lun)
{
	pthread_mutex_lock(&mu);
	struct reader *r = find(Lun);
	if (r == NULL) {
		pthread_mutex_unlock(&mu);
		return IFD_COMMUNICATION_ERROR;
	}
	drop_card(r, "reader closed");
	close(r->server);
	memset(r, 0, sizeof *r);
	r->server = r->card = -1;
	pthread_mutex_unlock(&mu);
	return IFD_SUCCESS;
}

static RESPONSECODE put_byte(PDWORD Length, PUCHAR Value, unsigned char v)
{
	if (*Length < 1)
		return IFD_ERROR_INSUFFICIENT_BUFFER;
	Value[0] = v;
	*Length = 1;
	return IFD_SUCCESS;
}

static RESPONSECODE put_str(PDWORD Length, PUCHAR Value, const char *s)
{
	size_t n = strlen(s) + 1;
	if (*Length < n)
		return IFD_ERROR_INSUFFICIENT_BUFFER;
	memcpy(Value, s, n);
	*Length = (DWORD)n;
	return IFD_SUCCESS;
}

RESPONSECODE IFDHGetCapabilities(DWORD Lun, DWORD Tag, PDWORD Length, PUCHAR Value)
{
	RESPONSECODE rc;
	if (Length == NULL || Value == NULL)
		return IFD_COMMUNICATION_ERROR;
	pthread_mutex_lock(&mu);
	struct reader *r = find(Lun);
	if (r == NULL) {
		rc = IFD_COMMUNICATION_ERROR;
		goto out;
	}
	switch (Tag) {
	case TAG_IFD_ATR:
	case SCARD_ATTR_ATR_STRING: {
		size_t n = 0;
		try_accept(r);
		if (get_atr(r, Value, *Length, &n) != 0) {
			rc = IFD_COMMUNICATION_ERROR;
			break;
		}
		*Length = (DWORD)n;
		rc = IFD_SUCCESS;
		break;
	}
	case TAG_IFD_SLOTS_NUMBER:
		rc = put_byte(Length, Value, 1);
		break;
	case TAG_IFD_SIMULTANEOUS_ACCESS:
		rc = put_byte(Length, Value, MAX_READERS);
		break;
	case TAG_IFD_THREAD_SAFE:
		/* Keep pcscd from calling into two readers of this driver at once. */
		rc = put_byte(Length, Value, 0);
		break;
	case TAG_IFD_SLOT_THREAD_SAFE:
		rc = put_byte(Length, Value, 0);
		break;
	case SCARD_ATTR_VENDOR_NAME:
		rc = put_str(Length, Value, "pcsc11");
		break;
	case SCARD_ATTR_VENDOR_IFD_TYPE:
		rc = put_str(Length, Value, "pcsc11 test PIN pad");
		break;
	default:
		rc = IFD_ERROR_TAG;
	}
out:
	pthread_mutex_unlock(&mu);
	if (rc != IFD_SUCCESS)
		*Length = 0;
	return rc;
}

RESPONSECODE IFDHSetCapabilities(DWORD Lun, DWORD Tag, DWORD Length, PUCHAR Value)
{
	(void)Lun;
	(void)Tag;
	(void)Length;
	(void)Value;
	return IFD_NOT_SUPPORTED;
}

RESPONSECODE IFDHSetProtocolParameters(DWORD Lun, DWORD Protocol, UCHAR Flags, UCHAR PTS1,
				       UCHAR PTS2, UCHAR PTS3)
{
	(void)Lun;
	(void)Flags;
	(void)PTS1;
	(void)PTS2;
	(void)PTS3;
	/* The virtual card speaks APDUs; T=0 and T=1 are both fine. */
	if (Protocol != SCARD_PROTOCOL_T0 && Protocol != SCARD_PROTOCOL_T1)
		return IFD_PROTOCOL_NOT_SUPPORTED;
	return IFD_SUCCESS;
}

RESPONSECODE IFDHPowerICC(DWORD Lun, DWORD Action, PUCHAR Atr, PDWORD AtrLength)
{
	RESPONSECODE rc = IFD_COMMUNICATION_ERROR;
	pthread_mutex_lock(&mu);
	struct reader *r = find(Lun);
	if (r == NULL)
		goto out;
	try_accept(r);
	switch (Action) {
	case IFD_POWER_DOWN:
		/* No answer expected; AtrLength is left alone (vpcd does the same). */
		rc = send_ctrl(r, WIRE_CTRL_OFF) == 0 ? IFD_SUCCESS : IFD_COMMUNICATION_ERROR;
		goto out;
	case IFD_POWER_UP:
	case IFD_RESET:
		if (Atr == NULL || AtrLength == NULL)
			goto out;
		if (send_ctrl(r, Action == IFD_POWER_UP ? WIRE_CTRL_ON : WIRE_CTRL_RESET) != 0) {
			rc = IFD_ERROR_POWER_ACTION;
			break;
		}
		size_t n = 0;
		if (get_atr(r, Atr, *AtrLength, &n) != 0) {
			rc = IFD_ERROR_POWER_ACTION;
			break;
		}
		*AtrLength = (DWORD)n;
		rc = IFD_SUCCESS;
		break;
	default:
		rc = IFD_NOT_SUPPORTED;
	}
	if (rc != IFD_SUCCESS && AtrLength != NULL)
		*AtrLength = 0;
out:
	pthread_mutex_unlock(&mu);
	return rc;
}

/* Answer an APDU in the driver itself (status word only). */
static RESPONSECODE local_sw(PUCHAR RxBuffer, PDWORD RxLength, unsigned char sw1, unsigned char sw2)
{
	if (*RxLength < 2) {
		*RxLength = 0;
		return IFD_ERROR_INSUFFICIENT_BUFFER;
	}
	RxBuffer[0] = sw1;
	RxBuffer[1] = sw2;
	*RxLength = 2;
	return IFD_SUCCESS;
}

/* Send msg to the card side of reader Lun and copy its answer (at least a status word)
 * to rx: the one exchange of both APDUs and PIN requests. A short answer drops the
 * card (what says why). */
static RESPONSECODE forward(DWORD Lun, const unsigned char *msg, size_t len, unsigned char *rx, size_t rxcap,
			    LPDWORD written, const char *what)
{
	RESPONSECODE rc = IFD_COMMUNICATION_ERROR;
	unsigned char *resp = NULL;
	size_t n = 0;
	pthread_mutex_lock(&mu);
	struct reader *r = find(Lun);
	if (r == NULL || exchange(r, msg, len, &resp, &n, APDU_TIMEOUT_MS) != 0)
		goto out;
	if (n < 2) {
		drop_card(r, what);
		goto out;
	}
	if (n > rxcap) {
		rc = IFD_ERROR_INSUFFICIENT_BUFFER;
		goto out;
	}
	memcpy(rx, resp, n);
	*written = (DWORD)n;
	rc = IFD_SUCCESS;
out:
	pthread_mutex_unlock(&mu);
	free(resp);
	return rc;
}

RESPONSECODE IFDHTransmitToICC(DWORD Lun, SCARD_IO_HEADER SendPci, PUCHAR TxBuffer, DWORD TxLength,
			       PUCHAR RxBuffer, PDWORD RxLength, PSCARD_IO_HEADER RecvPci)
{
	(void)SendPci;
	if (RxLength == NULL)
		return IFD_COMMUNICATION_ERROR;
	if (RxBuffer == NULL || TxBuffer == NULL || TxLength == 0 || TxLength > WIRE_MAX_PAYLOAD) {
		*RxLength = 0;
		return IFD_COMMUNICATION_ERROR;
	}
	if (RecvPci != NULL)
		RecvPci->Protocol = SCARD_PROTOCOL_T1;
	/* A payload shorter than 4 bytes would reach the card side as a control code, and
	 * CLA F1/F2 as a keypad request: the reader answers those itself. */
	if (TxLength < 4)
		return local_sw(RxBuffer, RxLength, 0x67, 0x00);
	if (TxBuffer[0] == WIRE_MSG_VERIFY || TxBuffer[0] == WIRE_MSG_MODIFY)
		return local_sw(RxBuffer, RxLength, 0x6E, 0x00);

	DWORD got = 0;
	RESPONSECODE rc = forward(Lun, TxBuffer, TxLength, RxBuffer, *RxLength, &got, "short response");
	*RxLength = rc == IFD_SUCCESS ? got : 0;
	return rc;
}

/* Forward a PIN request (after its framing checks) to the card side's keypad. */
static RESPONSECODE pin_request(DWORD Lun, unsigned char kind, const unsigned char *tx, size_t txlen,
				unsigned char *rx, size_t rxcap, LPDWORD written)
{
	if (p10_check_pin_request(tx, txlen, kind == WIRE_MSG_MODIFY) != P10_OK)
		return IFD_NOT_SUPPORTED; /* what the CCID driver answers to a malformed structure */
	if (rx == NULL)
		return IFD_ERROR_INSUFFICIENT_BUFFER;
	unsigned char *msg = malloc(txlen + 1);
	if (msg == NULL)
		return IFD_COMMUNICATION_ERROR;
	msg[0] = kind;
	memcpy(msg + 1, tx, txlen);
	RESPONSECODE rc = forward(Lun, msg, txlen + 1, rx, rxcap, written, "short PIN answer");
	free(msg);
	return rc;
}

static RESPONSECODE p10_rc(int r)
{
	return r == P10_OK ? IFD_SUCCESS : r == P10_SHORT_BUFFER ? IFD_ERROR_INSUFFICIENT_BUFFER
							      : IFD_COMMUNICATION_ERROR;
}

RESPONSECODE IFDHControl(DWORD Lun, DWORD dwControlCode, PUCHAR TxBuffer, DWORD TxLength,
			 PUCHAR RxBuffer, DWORD RxLength, LPDWORD pdwBytesReturned)
{
	size_t w = 0;
	RESPONSECODE rc;
	if (pdwBytesReturned == NULL)
		return IFD_COMMUNICATION_ERROR;
	*pdwBytesReturned = 0;
	pthread_mutex_lock(&mu);
	int known = find(Lun) != NULL;
	pthread_mutex_unlock(&mu);
	if (!known)
		return IFD_COMMUNICATION_ERROR;

	switch ((unsigned long)dwControlCode) {
	case P10_GET_FEATURE_REQUEST:
		rc = p10_rc(p10_features(RxBuffer, RxLength, &w));
		break;
	case P10_IOCTL(P10_FEATURE_IFD_PIN_PROPERTIES):
		rc = p10_rc(p10_pin_properties(RxBuffer, RxLength, &w));
		break;
	case P10_IOCTL(P10_FEATURE_GET_TLV_PROPERTIES):
		rc = p10_rc(p10_tlv_properties(RxBuffer, RxLength, &w));
		break;
	case P10_IOCTL(P10_FEATURE_VERIFY_PIN_DIRECT):
	case P10_IOCTL(P10_FEATURE_MODIFY_PIN_DIRECT): {
		unsigned char kind = dwControlCode == P10_IOCTL(P10_FEATURE_VERIFY_PIN_DIRECT)
					     ? WIRE_MSG_VERIFY
					     : WIRE_MSG_MODIFY;
		DWORD got = 0;
		rc = pin_request(Lun, kind, TxBuffer, TxLength, RxBuffer, RxLength, &got);
		w = rc == IFD_SUCCESS ? got : 0;
		break;
	}
	default:
		rc = IFD_ERROR_NOT_SUPPORTED;
	}
	*pdwBytesReturned = rc == IFD_SUCCESS ? (DWORD)w : 0;
	return rc;
}

RESPONSECODE IFDHICCPresence(DWORD Lun)
{
	RESPONSECODE rc;
	unsigned char atr[MAX_ATR_SIZE];
	size_t n = 0;
	pthread_mutex_lock(&mu);
	struct reader *r = find(Lun);
	if (r == NULL) {
		rc = IFD_COMMUNICATION_ERROR;
	} else {
		try_accept(r);
		/* Asking for the ATR tells a live card side from a dead connection. */
		rc = (r->card >= 0 && get_atr(r, atr, sizeof atr, &n) == 0) ? IFD_ICC_PRESENT
									     : IFD_ICC_NOT_PRESENT;
	}
	pthread_mutex_unlock(&mu);
	return rc;
}
