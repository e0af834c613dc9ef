package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/pcsc11/pcsc11/ck"
)

// writeJSON prints v as indented JSON. Field names are part of the CLI's contract
// (docs/cli.md): rename nothing, only add.
func (a *app) writeJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeList writes the listing of readers or slots: {"key": list} with --json, else
// as print does; an empty list is exit 3 (no reader).
func writeList[T any](a *app, asJSON bool, key string, list []T, print func([]T)) error {
	if asJSON {
		if err := a.writeJSON(map[string]any{key: list}); err != nil {
			return err
		}
	} else {
		print(list)
	}
	if len(list) == 0 {
		return errNoReaders()
	}
	return nil
}

func jsonFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("json", false, "JSON output")
}

// tokenFlagNames names CK_TOKEN_INFO flags (PKCS#11 3.0 §3.2 table 6).
var tokenFlagNames = []struct {
	bit  ck.ULong
	name string
}{
	{ck.CKF_RNG, "RNG"},
	{ck.CKF_WRITE_PROTECTED, "WRITE_PROTECTED"},
	{ck.CKF_LOGIN_REQUIRED, "LOGIN_REQUIRED"},
	{ck.CKF_USER_PIN_INITIALIZED, "USER_PIN_INITIALIZED"},
	{ck.CKF_RESTORE_KEY_NOT_NEEDED, "RESTORE_KEY_NOT_NEEDED"},
	{ck.CKF_CLOCK_ON_TOKEN, "CLOCK_ON_TOKEN"},
	{ck.CKF_PROTECTED_AUTHENTICATION_PATH, "PROTECTED_AUTHENTICATION_PATH"},
	{ck.CKF_DUAL_CRYPTO_OPERATIONS, "DUAL_CRYPTO_OPERATIONS"},
	{ck.CKF_TOKEN_INITIALIZED, "TOKEN_INITIALIZED"},
	{0x00000800, "SECONDARY_AUTHENTICATION"},
	{ck.CKF_USER_PIN_COUNT_LOW, "USER_PIN_COUNT_LOW"},
	{ck.CKF_USER_PIN_FINAL_TRY, "USER_PIN_FINAL_TRY"},
	{ck.CKF_USER_PIN_LOCKED, "USER_PIN_LOCKED"},
	{ck.CKF_USER_PIN_TO_BE_CHANGED, "USER_PIN_TO_BE_CHANGED"},
	{ck.CKF_SO_PIN_COUNT_LOW, "SO_PIN_COUNT_LOW"},
	{ck.CKF_SO_PIN_FINAL_TRY, "SO_PIN_FINAL_TRY"},
	{ck.CKF_SO_PIN_LOCKED, "SO_PIN_LOCKED"},
	{ck.CKF_SO_PIN_TO_BE_CHANGED, "SO_PIN_TO_BE_CHANGED"},
	{0x01000000, "ERROR_STATE"},
}

// flagNames lists the names of the set bits; unknown bits as one hex value.
func flagNames(f ck.ULong) []string {
	names := []string{}
	for _, n := range tokenFlagNames {
		if f&n.bit != 0 {
			names = append(names, n.name)
			f &^= n.bit
		}
	}
	if f != 0 {
		names = append(names, fmt.Sprintf("0x%x", uint64(f)))
	}
	return names
}

// className is the RFC 7512 "type" value of a CKO_ class ("" for classes it has none for).
func className(c ck.ULong) string {
	switch c {
	case ck.CKO_CERTIFICATE:
		return "cert"
	case ck.CKO_PUBLIC_KEY:
		return "public"
	case ck.CKO_PRIVATE_KEY:
		return "private"
	case ck.CKO_SECRET_KEY:
		return "secret-key"
	case ck.CKO_DATA:
		return "data"
	}
	return ""
}

// oneLine keeps card-supplied text on one terminal line.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// jsonLineEncoder writes compact JSON, one value per line.
func jsonLineEncoder(w io.Writer) *json.Encoder { return json.NewEncoder(w) }

func keyTypeName(k ck.ULong) string {
	switch k {
	case ck.CKK_RSA:
		return "rsa"
	case ck.CKK_EC:
		return "ec"
	case ck.CKK_EC_EDWARDS:
		return "ec-edwards"
	case ck.CKK_EC_MONTGOMERY:
		return "ec-montgomery"
	case ck.CKK_GENERIC_SECRET:
		return "generic-secret"
	}
	return fmt.Sprintf("0x%x", uint64(k))
}
