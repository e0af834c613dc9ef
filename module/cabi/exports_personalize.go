package cabi

// #include "pcsc11_pkcs11.h"
import "C"

import (
	"bytes"
	"unsafe"

	"github.com/pcsc11/pcsc11/ck"
)

// Personalization: C_InitToken, C_InitPIN, C_SetPIN, C_GenerateKeyPair (spec 5.6, 5.18).

func cInitToken(slotID C.CK_SLOT_ID, pPin C.CK_UTF8CHAR_PTR, ulPinLen C.CK_ULONG, pLabel C.CK_UTF8CHAR_PTR) C.CK_RV {
	pin, ok := pinArg(pPin, ulPinLen)
	if !ok || pLabel == nil {
		return C.CKR_ARGUMENTS_BAD
	}
	defer wipe(pin)
	// Spec 5.6.3: pLabel is 32 bytes, blank padded; a NUL ends it early for callers
	// that pass a C string.
	label := C.GoBytes(unsafe.Pointer(pLabel), 32)
	if i := bytes.IndexByte(label, 0); i >= 0 {
		label = label[:i]
	}
	return C.CK_RV(lib.InitToken(ck.ULong(slotID), pin, string(bytes.TrimRight(label, " "))))
}

func cInitPIN(hSession C.CK_SESSION_HANDLE, pPin C.CK_UTF8CHAR_PTR, ulPinLen C.CK_ULONG) C.CK_RV {
	pin, ok := pinArg(pPin, ulPinLen)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	defer wipe(pin)
	return C.CK_RV(lib.InitPIN(ck.ULong(hSession), pin))
}

func cSetPIN(hSession C.CK_SESSION_HANDLE, pOldPin C.CK_UTF8CHAR_PTR, ulOldLen C.CK_ULONG, pNewPin C.CK_UTF8CHAR_PTR, ulNewLen C.CK_ULONG) C.CK_RV {
	oldPIN, ok1 := pinArg(pOldPin, ulOldLen)
	newPIN, ok2 := pinArg(pNewPin, ulNewLen)
	if !ok1 || !ok2 {
		return C.CKR_ARGUMENTS_BAD
	}
	defer wipe(oldPIN)
	defer wipe(newPIN)
	return C.CK_RV(lib.SetPIN(ck.ULong(hSession), oldPIN, newPIN))
}

func cGenerateKeyPair(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR, pPublicKeyTemplate C.CK_ATTRIBUTE_PTR, ulPublicKeyAttributeCount C.CK_ULONG, pPrivateKeyTemplate C.CK_ATTRIBUTE_PTR, ulPrivateKeyAttributeCount C.CK_ULONG, phPublicKey C.CK_OBJECT_HANDLE_PTR, phPrivateKey C.CK_OBJECT_HANDLE_PTR) C.CK_RV {
	m, ok := mechanism(pMechanism)
	pub, ok2 := template(pPublicKeyTemplate, ulPublicKeyAttributeCount)
	priv, ok3 := template(pPrivateKeyTemplate, ulPrivateKeyAttributeCount)
	if !ok || !ok2 || !ok3 || phPublicKey == nil || phPrivateKey == nil {
		return C.CKR_ARGUMENTS_BAD
	}
	hPub, hPriv, r := lib.GenerateKeyPair(ck.ULong(hSession), m, pub, priv)
	if r == ck.CKR_OK {
		*phPublicKey = C.CK_OBJECT_HANDLE(hPub)
		*phPrivateKey = C.CK_OBJECT_HANDLE(hPriv)
	}
	return C.CK_RV(r)
}
