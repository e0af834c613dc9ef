/*
 * part10.h - PC/SC v2 part 10 answers of the pcsc11 PIN-pad reader (no I/O here, so
 * that every length check can be tested on its own).
 */
#ifndef PCSC11_PINPAD_PART10_H
#define PCSC11_PINPAD_PART10_H

#include <stddef.h>
#include <stdint.h>

/*
 * Control codes. CM_IOCTL_GET_FEATURE_REQUEST is SCARD_CTL_CODE(3400) (pcsc-lite
 * reader.h). The feature codes follow the CCID driver's convention,
 * SCARD_CTL_CODE(0x330000 + feature) (ccid_ifdhandler.h, CLASS2_IOCTL_MAGIC); clients
 * must take them from the GET_FEATURE_REQUEST answer anyway.
 */
#define P10_CTL_CODE(c) (0x42000000UL + (c))
#define P10_GET_FEATURE_REQUEST P10_CTL_CODE(3400)
#define P10_FEATURE_VERIFY_PIN_DIRECT 0x06
#define P10_FEATURE_MODIFY_PIN_DIRECT 0x07
#define P10_FEATURE_IFD_PIN_PROPERTIES 0x0A
#define P10_FEATURE_GET_TLV_PROPERTIES 0x12
#define P10_IOCTL(feature) P10_CTL_CODE(0x330000UL + (feature))

/* Fixed sizes of the packed structures before abData (pcsc-lite reader.h). */
#define P10_VERIFY_HDR 19
#define P10_MODIFY_HDR 24
/* ulDataLength sits at the end of each header, little-endian. */
#define P10_VERIFY_LEN_AT 15
#define P10_MODIFY_LEN_AT 20

/* The reader's advertised PIN properties. */
#define P10_MIN_PIN 4
#define P10_MAX_PIN 12
#define P10_ENTRY_VALIDATION 0x02 /* validation key pressed */
#define P10_TIMEOUT2 0x00
#define P10_LCD_LAYOUT 0x0000 /* no display */
#define P10_VENDOR_ID 0x1D50  /* arbitrary test identifiers, reported as wIdVendor/wIdProduct */
#define P10_PRODUCT_ID 0x5C11
#define P10_MAX_APDU_DATA 0xFF00 /* what fits one vpcd frame with header, Lc, Le and SW */
#define P10_FIRMWARE_ID "pcsc11-pinpad-1"

/* Return codes of the functions below (mapped to IFD_ codes by the caller). */
#define P10_OK 0
#define P10_SHORT_BUFFER 1
#define P10_BAD_REQUEST 2

/*
 * Each writer fills rx (capacity rxcap) and sets *written; nothing is written beyond
 * rxcap and *written is 0 on failure.
 */
int p10_features(unsigned char *rx, size_t rxcap, size_t *written);
int p10_pin_properties(unsigned char *rx, size_t rxcap, size_t *written);
int p10_tlv_properties(unsigned char *rx, size_t rxcap, size_t *written);

/*
 * Check the framing of a PIN_VERIFY_STRUCTURE (modify = 0) or PIN_MODIFY_STRUCTURE
 * (modify = 1): the fixed header is present, ulDataLength matches the bytes that
 * follow, the APDU has at least a 4-byte header and the message fits one frame.
 * The semantic checks (formats, positions, PIN sizes) are the card side's job: it
 * answers 6B80 like a CCID reader's firmware.
 */
int p10_check_pin_request(const unsigned char *tx, size_t txlen, int modify);

#endif
