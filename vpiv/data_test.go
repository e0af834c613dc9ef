package vpiv

import (
	"bytes"
	"testing"
)

func TestGetPutData(t *testing.T) {
	c := selected(t)
	_, sw := send(t, c, 0xCB, 0x3F, 0xFF, hx("5C035FC102"))
	mustSW(t, sw, 0x6A82, "absent CHUID")
	put := hx("5C035FC102 5305 3003112233")
	_, sw = send(t, c, 0xDB, 0x3F, 0xFF, put)
	mustSW(t, sw, 0x6982, "PUT DATA without management key")

	mustSW(t, mgmtAuth(t, c, 0x0A, factoryMgmt), 0x9000, "auth")
	_, sw = send(t, c, 0xDB, 0x3F, 0xFF, put)
	mustSW(t, sw, 0x9000, "PUT DATA")
	got, sw := send(t, c, 0xCB, 0x3F, 0xFF, hx("5C035FC102"))
	mustSW(t, sw, 0x9000, "GET DATA")
	if !bytes.Equal(got, hx("53053003112233")) {
		t.Fatalf("GET DATA %x", got)
	}
	// Stored bytes are whatever was PUT, e.g. a gzip-compressed certificate container.
	comp := hx("7003 1F8B08 7101 01 FE00")
	_, sw = send(t, c, 0xDB, 0x3F, 0xFF, append(hx("5C035FC10D"), tlv([]byte{0x53}, comp)...))
	mustSW(t, sw, 0x9000, "PUT retired cert")
	got, _ = send(t, c, 0xCB, 0x3F, 0xFF, hx("5C035FC10D"))
	if !bytes.Equal(got, tlv([]byte{0x53}, comp)) {
		t.Fatalf("retired cert %x", got)
	}
	// 53 00 deletes; deleting an absent object is fine.
	_, sw = send(t, c, 0xDB, 0x3F, 0xFF, hx("5C035FC1025300"))
	mustSW(t, sw, 0x9000, "delete")
	_, sw = send(t, c, 0xCB, 0x3F, 0xFF, hx("5C035FC102"))
	mustSW(t, sw, 0x6A82, "deleted")
	_, sw = send(t, c, 0xDB, 0x3F, 0xFF, hx("5C035FC1025300"))
	mustSW(t, sw, 0x9000, "delete again")

	// Yubico objects.
	_, sw = send(t, c, 0xDB, 0x3F, 0xFF, hx("5C035FFF00 5307 8005 810100 8200"))
	mustSW(t, sw, 0x9000, "PUT admin data")
	_, sw = send(t, c, 0xCB, 0x3F, 0xFF, hx("5C035FFF00"))
	mustSW(t, sw, 0x9000, "GET admin data")
	att, sw := send(t, c, 0xCB, 0x3F, 0xFF, hx("5C035FFF01"))
	mustSW(t, sw, 0x9000, "attestation certificate present at factory")
	if att[0] != 0x53 || !bytes.Contains(att, []byte{0x71, 0x01, 0x00, 0xFE, 0x00}) {
		t.Fatalf("attestation object %x", att)
	}

	for _, tc := range []struct {
		name   string
		ins    byte
		p1, p2 byte
		data   string
		sw     uint16
	}{
		{"GET bad P1P2", 0xCB, 0x3F, 0xFE, "5C035FC102", 0x6A86},
		{"PUT bad P1P2", 0xDB, 0x00, 0xFF, "5C035FC1025300", 0x6A86},
		{"GET no tag list", 0xCB, 0x3F, 0xFF, "", 0x6A80},
		{"GET wrong tag", 0xCB, 0x3F, 0xFF, "5D035FC102", 0x6A80},
		{"GET trailing bytes", 0xCB, 0x3F, 0xFF, "5C035FC10200", 0x6A80},
		{"GET 4-byte tag", 0xCB, 0x3F, 0xFF, "5C045FC10200", 0x6A80},
		{"GET truncated TLV", 0xCB, 0x3F, 0xFF, "5C055FC102", 0x6A80},
		{"GET unknown object", 0xCB, 0x3F, 0xFF, "5C035FC200", 0x6A82},
		{"PUT unknown object", 0xDB, 0x3F, 0xFF, "5C035FC2005300", 0x6A80},
		{"PUT discovery", 0xDB, 0x3F, 0xFF, "5C017E5300", 0x6A80},
		{"PUT without 53", 0xDB, 0x3F, 0xFF, "5C035FC102", 0x6A80},
		{"PUT 54 instead of 53", 0xDB, 0x3F, 0xFF, "5C035FC1025400", 0x6A80},
		{"PUT trailing", 0xDB, 0x3F, 0xFF, "5C035FC102530000", 0x6A80},
	} {
		_, sw := send(t, c, tc.ins, tc.p1, tc.p2, hx(tc.data))
		if sw != tc.sw {
			t.Errorf("%s: SW %04X want %04X", tc.name, sw, tc.sw)
		}
	}
	big := append(hx("5C035FC105"), tlv([]byte{0x53}, make([]byte, maxObjectSize+1))...)
	_, sw = send(t, c, 0xDB, 0x3F, 0xFF, big)
	mustSW(t, sw, 0x6A84, "object too large")
}

func TestDiscoveryObject(t *testing.T) {
	c := selected(t)
	got, sw := send(t, c, 0xCB, 0x3F, 0xFF, hx("5C017E"))
	mustSW(t, sw, 0x9000, "GET discovery")
	if !bytes.Equal(got, hx("7E12 4F0BA0000003080000100001005F2F024000")) {
		t.Fatalf("discovery %x", got)
	}
}

func TestPINProtectedObjects(t *testing.T) {
	c := admin(t)
	for _, tag := range []string{"5FC109", "5FC103", "5FC108", "5FC121"} {
		_, sw := send(t, c, 0xDB, 0x3F, 0xFF, append(hx("5C03"+tag), hx("53028800")...))
		mustSW(t, sw, 0x9000, "PUT "+tag)
		_, sw = send(t, c, 0xCB, 0x3F, 0xFF, hx("5C03"+tag))
		mustSW(t, sw, 0x6982, "GET "+tag+" without PIN")
	}
	mustSW(t, verifyPIN(t, c, "123456"), 0x9000, "VERIFY")
	got, sw := send(t, c, 0xCB, 0x3F, 0xFF, hx("5C035FC109"))
	mustSW(t, sw, 0x9000, "GET printed with PIN")
	if !bytes.Equal(got, hx("53028800")) {
		t.Fatalf("printed %x", got)
	}
	// Other objects need nothing.
	c2 := selected(t)
	_, sw = send(t, c2, 0xCB, 0x3F, 0xFF, hx("5C035FFF01"))
	mustSW(t, sw, 0x9000, "attestation cert readable without PIN")
}
