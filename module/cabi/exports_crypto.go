package cabi

// #include "pcsc11_pkcs11.h"
import "C"

import (
	"unsafe"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/module"
)

// Signing and digesting (spec 5.10, 5.11).

// output runs a function that produces a result under the size-query convention.
func output(pOut C.CK_BYTE_PTR, pulOutLen C.CK_ULONG_PTR, run func(module.OutBuf) (ck.ULong, ck.ULong)) C.CK_RV {
	if pulOutLen == nil {
		return C.CKR_ARGUMENTS_BAD
	}
	n, r := run(outView(pOut, *pulOutLen))
	return sizeResult(pulOutLen, n, r)
}

func cSignInit(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR, hKey C.CK_OBJECT_HANDLE) C.CK_RV {
	m, ok := mechanism(pMechanism)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.SignInit(ck.ULong(hSession), m, ck.ULong(hKey)))
}

func cSign(hSession C.CK_SESSION_HANDLE, pData C.CK_BYTE_PTR, ulDataLen C.CK_ULONG, pSignature C.CK_BYTE_PTR, pulSignatureLen C.CK_ULONG_PTR) C.CK_RV {
	data, ok := inBytes(unsafe.Pointer(pData), ulDataLen, maxDataLen)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return output(pSignature, pulSignatureLen, func(o module.OutBuf) (ck.ULong, ck.ULong) {
		return lib.Sign(ck.ULong(hSession), data, o)
	})
}

func cSignUpdate(hSession C.CK_SESSION_HANDLE, pPart C.CK_BYTE_PTR, ulPartLen C.CK_ULONG) C.CK_RV {
	part, ok := inBytes(unsafe.Pointer(pPart), ulPartLen, maxDataLen)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.SignUpdate(ck.ULong(hSession), part))
}

func cSignFinal(hSession C.CK_SESSION_HANDLE, pSignature C.CK_BYTE_PTR, pulSignatureLen C.CK_ULONG_PTR) C.CK_RV {
	return output(pSignature, pulSignatureLen, func(o module.OutBuf) (ck.ULong, ck.ULong) {
		return lib.SignFinal(ck.ULong(hSession), o)
	})
}

func cDigestInit(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR) C.CK_RV {
	m, ok := mechanism(pMechanism)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.DigestInit(ck.ULong(hSession), m))
}

func cDigest(hSession C.CK_SESSION_HANDLE, pData C.CK_BYTE_PTR, ulDataLen C.CK_ULONG, pDigest C.CK_BYTE_PTR, pulDigestLen C.CK_ULONG_PTR) C.CK_RV {
	data, ok := inBytes(unsafe.Pointer(pData), ulDataLen, maxDataLen)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return output(pDigest, pulDigestLen, func(o module.OutBuf) (ck.ULong, ck.ULong) {
		return lib.Digest(ck.ULong(hSession), data, o)
	})
}

func cDigestUpdate(hSession C.CK_SESSION_HANDLE, pPart C.CK_BYTE_PTR, ulPartLen C.CK_ULONG) C.CK_RV {
	part, ok := inBytes(unsafe.Pointer(pPart), ulPartLen, maxDataLen)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.DigestUpdate(ck.ULong(hSession), part))
}

func cDigestKey(hSession C.CK_SESSION_HANDLE, hKey C.CK_OBJECT_HANDLE) C.CK_RV {
	return C.CK_RV(lib.DigestKey(ck.ULong(hSession), ck.ULong(hKey)))
}

func cDigestFinal(hSession C.CK_SESSION_HANDLE, pDigest C.CK_BYTE_PTR, pulDigestLen C.CK_ULONG_PTR) C.CK_RV {
	return output(pDigest, pulDigestLen, func(o module.OutBuf) (ck.ULong, ck.ULong) {
		return lib.DigestFinal(ck.ULong(hSession), o)
	})
}

// Verification and RSA encryption in software, RSA decryption on the card (spec 5.9,
// 5.13).

func cVerifyInit(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR, hKey C.CK_OBJECT_HANDLE) C.CK_RV {
	m, ok := mechanism(pMechanism)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.VerifyInit(ck.ULong(hSession), m, ck.ULong(hKey)))
}

func cVerify(hSession C.CK_SESSION_HANDLE, pData C.CK_BYTE_PTR, ulDataLen C.CK_ULONG, pSignature C.CK_BYTE_PTR, ulSignatureLen C.CK_ULONG) C.CK_RV {
	data, ok1 := inBytes(unsafe.Pointer(pData), ulDataLen, maxDataLen)
	sig, ok2 := inBytes(unsafe.Pointer(pSignature), ulSignatureLen, maxParamLen)
	if !ok1 || !ok2 {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.Verify(ck.ULong(hSession), data, sig))
}

func cVerifyUpdate(hSession C.CK_SESSION_HANDLE, pPart C.CK_BYTE_PTR, ulPartLen C.CK_ULONG) C.CK_RV {
	part, ok := inBytes(unsafe.Pointer(pPart), ulPartLen, maxDataLen)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.VerifyUpdate(ck.ULong(hSession), part))
}

func cVerifyFinal(hSession C.CK_SESSION_HANDLE, pSignature C.CK_BYTE_PTR, ulSignatureLen C.CK_ULONG) C.CK_RV {
	sig, ok := inBytes(unsafe.Pointer(pSignature), ulSignatureLen, maxParamLen)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.VerifyFinal(ck.ULong(hSession), sig))
}

func cDecryptInit(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR, hKey C.CK_OBJECT_HANDLE) C.CK_RV {
	m, ok := mechanism(pMechanism)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.DecryptInit(ck.ULong(hSession), m, ck.ULong(hKey)))
}

func cDecrypt(hSession C.CK_SESSION_HANDLE, pEncryptedData C.CK_BYTE_PTR, ulEncryptedDataLen C.CK_ULONG, pData C.CK_BYTE_PTR, pulDataLen C.CK_ULONG_PTR) C.CK_RV {
	ct, ok := inBytes(unsafe.Pointer(pEncryptedData), ulEncryptedDataLen, maxDataLen)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return output(pData, pulDataLen, func(o module.OutBuf) (ck.ULong, ck.ULong) {
		return lib.Decrypt(ck.ULong(hSession), ct, o)
	})
}

func cDecryptUpdate(hSession C.CK_SESSION_HANDLE, pEncryptedPart C.CK_BYTE_PTR, ulEncryptedPartLen C.CK_ULONG, pPart C.CK_BYTE_PTR, pulPartLen C.CK_ULONG_PTR) C.CK_RV {
	part, ok := inBytes(unsafe.Pointer(pEncryptedPart), ulEncryptedPartLen, maxDataLen)
	if !ok || pulPartLen == nil {
		return C.CKR_ARGUMENTS_BAD
	}
	r := lib.DecryptUpdate(ck.ULong(hSession), part)
	if r == ck.CKR_OK {
		*pulPartLen = 0 // RSA is single-part: the plaintext comes with C_DecryptFinal
	}
	return C.CK_RV(r)
}

func cDecryptFinal(hSession C.CK_SESSION_HANDLE, pLastPart C.CK_BYTE_PTR, pulLastPartLen C.CK_ULONG_PTR) C.CK_RV {
	return output(pLastPart, pulLastPartLen, func(o module.OutBuf) (ck.ULong, ck.ULong) {
		return lib.DecryptFinal(ck.ULong(hSession), o)
	})
}

func cEncryptInit(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR, hKey C.CK_OBJECT_HANDLE) C.CK_RV {
	m, ok := mechanism(pMechanism)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.EncryptInit(ck.ULong(hSession), m, ck.ULong(hKey)))
}

func cEncrypt(hSession C.CK_SESSION_HANDLE, pData C.CK_BYTE_PTR, ulDataLen C.CK_ULONG, pEncryptedData C.CK_BYTE_PTR, pulEncryptedDataLen C.CK_ULONG_PTR) C.CK_RV {
	data, ok := inBytes(unsafe.Pointer(pData), ulDataLen, maxDataLen)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return output(pEncryptedData, pulEncryptedDataLen, func(o module.OutBuf) (ck.ULong, ck.ULong) {
		return lib.Encrypt(ck.ULong(hSession), data, o)
	})
}

func cEncryptUpdate(hSession C.CK_SESSION_HANDLE, pPart C.CK_BYTE_PTR, ulPartLen C.CK_ULONG, pEncryptedPart C.CK_BYTE_PTR, pulEncryptedPartLen C.CK_ULONG_PTR) C.CK_RV {
	part, ok := inBytes(unsafe.Pointer(pPart), ulPartLen, maxDataLen)
	if !ok || pulEncryptedPartLen == nil {
		return C.CKR_ARGUMENTS_BAD
	}
	r := lib.EncryptUpdate(ck.ULong(hSession), part)
	if r == ck.CKR_OK {
		*pulEncryptedPartLen = 0
	}
	return C.CK_RV(r)
}

func cEncryptFinal(hSession C.CK_SESSION_HANDLE, pLastEncryptedPart C.CK_BYTE_PTR, pulLastEncryptedPartLen C.CK_ULONG_PTR) C.CK_RV {
	return output(pLastEncryptedPart, pulLastEncryptedPartLen, func(o module.OutBuf) (ck.ULong, ck.ULong) {
		return lib.EncryptFinal(ck.ULong(hSession), o)
	})
}

// C_DeriveKey: ECDH on the card (spec 5.18.5).
func cDeriveKey(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR, hBaseKey C.CK_OBJECT_HANDLE, pTemplate C.CK_ATTRIBUTE_PTR, ulAttributeCount C.CK_ULONG, phKey C.CK_OBJECT_HANDLE_PTR) C.CK_RV {
	m, ok := mechanism(pMechanism)
	tmpl, ok2 := template(pTemplate, ulAttributeCount)
	if !ok || !ok2 || phKey == nil {
		return C.CKR_ARGUMENTS_BAD
	}
	h, r := lib.DeriveKey(ck.ULong(hSession), m, ck.ULong(hBaseKey), tmpl)
	if r == ck.CKR_OK {
		*phKey = C.CK_OBJECT_HANDLE(h)
	}
	return C.CK_RV(r)
}
