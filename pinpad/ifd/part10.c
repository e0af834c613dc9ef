/*
 * part10.c - feature list, PIN properties and PIN request framing checks
 * (PC/SC v2 part 10, as pcsc-lite's reader.h lays the structures out).
 */
#include "part10.h"

#include <string.h>

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

int p10_features(unsigned char *rx, size_t rxcap, size_t *written)
{
	static const unsigned char feats[] = {
		P10_FEATURE_VERIFY_PIN_DIRECT,
		P10_FEATURE_MODIFY_PIN_DIRECT,
		P10_FEATURE_IFD_PIN_PROPERTIES,
		P10_FEATURE_GET_TLV_PROPERTIES,
	};
	size_t need = sizeof feats * 6;
	*written = 0;
	if (rx == NULL || rxcap < need)
		return P10_SHORT_BUFFER;
	/* PCSC_TLV_STRUCTURE: tag, length 4, control code big-endian (part 10 §2.2). */
	for (size_t i = 0; i < sizeof feats; i++) {
		rx[i * 6] = feats[i];
		rx[i * 6 + 1] = 4;
		put_be32(rx + i * 6 + 2, (uint32_t)P10_IOCTL(feats[i]));
	}
	*written = need;
	return P10_OK;
}

int p10_pin_properties(unsigned char *rx, size_t rxcap, size_t *written)
{
	*written = 0;
	if (rx == NULL || rxcap < 4)
		return P10_SHORT_BUFFER;
	/* PIN_PROPERTIES_STRUCTURE: wLcdLayout (little-endian), bEntryValidationCondition, bTimeOut2. */
	rx[0] = P10_LCD_LAYOUT & 0xFF;
	rx[1] = (P10_LCD_LAYOUT >> 8) & 0xFF;
	rx[2] = P10_ENTRY_VALIDATION;
	rx[3] = P10_TIMEOUT2;
	*written = 4;
	return P10_OK;
}

/* Append one property: tag, length, value little-endian (numbers) or raw (strings). */
static int put_prop(unsigned char *rx, size_t rxcap, size_t *at, unsigned char tag,
		    const unsigned char *val, size_t n)
{
	if (n > 255 || *at + 2 + n > rxcap)
		return -1;
	rx[(*at)++] = tag;
	rx[(*at)++] = (unsigned char)n;
	memcpy(rx + *at, val, n);
	*at += n;
	return 0;
}

int p10_tlv_properties(unsigned char *rx, size_t rxcap, size_t *written)
{
	/* Property tags from pcsc-lite reader.h (PCSCv2_PART10_PROPERTY_*). */
	const unsigned char lcd[2] = { P10_LCD_LAYOUT & 0xFF, (P10_LCD_LAYOUT >> 8) & 0xFF };
	const unsigned char entry[1] = { P10_ENTRY_VALIDATION };
	const unsigned char t2[1] = { P10_TIMEOUT2 };
	const unsigned char minp[1] = { P10_MIN_PIN };
	const unsigned char maxp[1] = { P10_MAX_PIN };
	const unsigned char maxapdu[4] = { P10_MAX_APDU_DATA & 0xFF, (P10_MAX_APDU_DATA >> 8) & 0xFF,
					   (P10_MAX_APDU_DATA >> 16) & 0xFF, 0 };
	const unsigned char vid[2] = { P10_VENDOR_ID & 0xFF, P10_VENDOR_ID >> 8 };
	const unsigned char pid[2] = { P10_PRODUCT_ID & 0xFF, P10_PRODUCT_ID >> 8 };
	size_t at = 0;
	*written = 0;
	if (rx == NULL)
		return P10_SHORT_BUFFER;
	if (put_prop(rx, rxcap, &at, 1, lcd, 2) || put_prop(rx, rxcap, &at, 2, entry, 1) ||
	    put_prop(rx, rxcap, &at, 3, t2, 1) || put_prop(rx, rxcap, &at, 6, minp, 1) ||
	    put_prop(rx, rxcap, &at, 7, maxp, 1) ||
	    put_prop(rx, rxcap, &at, 8, (const unsigned char *)P10_FIRMWARE_ID,
		     sizeof P10_FIRMWARE_ID - 1) ||
	    put_prop(rx, rxcap, &at, 10, maxapdu, 4) || put_prop(rx, rxcap, &at, 11, vid, 2) ||
	    put_prop(rx, rxcap, &at, 12, pid, 2))
		return P10_SHORT_BUFFER;
	*written = at;
	return P10_OK;
}

int p10_check_pin_request(const unsigned char *tx, size_t txlen, int modify)
{
	size_t hdr = modify ? P10_MODIFY_HDR : P10_VERIFY_HDR;
	size_t lenat = modify ? P10_MODIFY_LEN_AT : P10_VERIFY_LEN_AT;
	if (tx == NULL || txlen < hdr + 4)
		return P10_BAD_REQUEST;
	/* One byte of message type precedes the structure in the frame to the card side. */
	if (txlen + 1 > 0xFFFF)
		return P10_BAD_REQUEST;
	uint32_t dl = (uint32_t)tx[lenat] | (uint32_t)tx[lenat + 1] << 8 |
		      (uint32_t)tx[lenat + 2] << 16 | (uint32_t)tx[lenat + 3] << 24;
	if ((size_t)dl != txlen - hdr)
		return P10_BAD_REQUEST;
	return P10_OK;
}
