/*
 * wire.h - the vpcd framing between this reader driver and the card side.
 *
 * Facts from vsmartcard's vpcd (virtualsmartcard/src/vpcd/vpcd.c): every message is
 * a 2-byte big-endian length followed by that many bytes. A 1-byte payload from the
 * reader is a control code (00 power off, 01 power on, 02 reset, 04 get ATR); the card
 * answers "get ATR" and every longer payload with one message, and nothing else.
 * This driver adds two payload kinds (see docs/pinpad.md): F1 || PIN_VERIFY_STRUCTURE
 * and F2 || PIN_MODIFY_STRUCTURE, answered by the card side with the R-APDU.
 */
#ifndef PCSC11_PINPAD_WIRE_H
#define PCSC11_PINPAD_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define WIRE_CTRL_OFF 0x00
#define WIRE_CTRL_ON 0x01
#define WIRE_CTRL_RESET 0x02
#define WIRE_CTRL_ATR 0x04
#define WIRE_MSG_VERIFY 0xF1
#define WIRE_MSG_MODIFY 0xF2

#define WIRE_MAX_PAYLOAD 0xFFFF

/* Open a listening, non-blocking TCP socket on addr:port (IPv4 literal). -1 on error. */
int wire_listen(const char *addr, unsigned short port);

/* Accept a pending card side without blocking; -1 when none is waiting. */
int wire_accept(int server);

/* Send one message; 0 on success, -1 on any failure (including len > WIRE_MAX_PAYLOAD). */
int wire_send(int fd, const unsigned char *buf, size_t len, int timeout_ms);

/*
 * Receive one message into a fresh malloc'd buffer (*out, freed by the caller even
 * when *outlen is 0). 0 on success, -1 on failure or when timeout_ms passes.
 */
int wire_recv(int fd, unsigned char **out, size_t *outlen, int timeout_ms);

#endif
