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

//export goC_SignInit
func goC_SignInit(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR, hKey C.CK_OBJECT_HANDLE) (rv C.CK_RV) {
	defer guard("C_SignInit", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	m, ok := mechanism(pMechanism)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.SignInit(ck.ULong(hSession), m, ck.ULong(hKey)))
}

//export goC_Sign
func goC_Sign(hSession C.CK_SESSION_HANDLE, pData C.CK_BYTE_PTR, ulDataLen C.CK_ULONG, pSignature C.CK_BYTE_PTR, pulSignatureLen C.CK_ULONG_PTR) (rv C.CK_RV) {
	defer guard("C_Sign", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	data, ok := inBytes(unsafe.Pointer(pData), ulDataLen, maxDataLen)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return output(pSignature, pulSignatureLen, func(o module.OutBuf) (ck.ULong, ck.ULong) {
		return lib.Sign(ck.ULong(hSession), data, o)
	})
}

//export goC_SignUpdate
func goC_SignUpdate(hSession C.CK_SESSION_HANDLE, pPart C.CK_BYTE_PTR, ulPartLen C.CK_ULONG) (rv C.CK_RV) {
	defer guard("C_SignUpdate", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	part, ok := inBytes(unsafe.Pointer(pPart), ulPartLen, maxDataLen)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.SignUpdate(ck.ULong(hSession), part))
}

//export goC_SignFinal
func goC_SignFinal(hSession C.CK_SESSION_HANDLE, pSignature C.CK_BYTE_PTR, pulSignatureLen C.CK_ULONG_PTR) (rv C.CK_RV) {
	defer guard("C_SignFinal", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	return output(pSignature, pulSignatureLen, func(o module.OutBuf) (ck.ULong, ck.ULong) {
		return lib.SignFinal(ck.ULong(hSession), o)
	})
}

//export goC_DigestInit
func goC_DigestInit(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR) (rv C.CK_RV) {
	defer guard("C_DigestInit", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	m, ok := mechanism(pMechanism)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.DigestInit(ck.ULong(hSession), m))
}

//export goC_Digest
func goC_Digest(hSession C.CK_SESSION_HANDLE, pData C.CK_BYTE_PTR, ulDataLen C.CK_ULONG, pDigest C.CK_BYTE_PTR, pulDigestLen C.CK_ULONG_PTR) (rv C.CK_RV) {
	defer guard("C_Digest", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	data, ok := inBytes(unsafe.Pointer(pData), ulDataLen, maxDataLen)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return output(pDigest, pulDigestLen, func(o module.OutBuf) (ck.ULong, ck.ULong) {
		return lib.Digest(ck.ULong(hSession), data, o)
	})
}

//export goC_DigestUpdate
func goC_DigestUpdate(hSession C.CK_SESSION_HANDLE, pPart C.CK_BYTE_PTR, ulPartLen C.CK_ULONG) (rv C.CK_RV) {
	defer guard("C_DigestUpdate", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	part, ok := inBytes(unsafe.Pointer(pPart), ulPartLen, maxDataLen)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.DigestUpdate(ck.ULong(hSession), part))
}

//export goC_DigestKey
func goC_DigestKey(hSession C.CK_SESSION_HANDLE, hKey C.CK_OBJECT_HANDLE) (rv C.CK_RV) {
	defer guard("C_DigestKey", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	return C.CK_RV(lib.DigestKey(ck.ULong(hSession), ck.ULong(hKey)))
}

//export goC_DigestFinal
func goC_DigestFinal(hSession C.CK_SESSION_HANDLE, pDigest C.CK_BYTE_PTR, pulDigestLen C.CK_ULONG_PTR) (rv C.CK_RV) {
	defer guard("C_DigestFinal", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	return output(pDigest, pulDigestLen, func(o module.OutBuf) (ck.ULong, ck.ULong) {
		return lib.DigestFinal(ck.ULong(hSession), o)
	})
}

// Verification and RSA encryption in software, RSA decryption on the card (spec 5.9,
// 5.13).

//export goC_VerifyInit
func goC_VerifyInit(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR, hKey C.CK_OBJECT_HANDLE) (rv C.CK_RV) {
	defer guard("C_VerifyInit", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	m, ok := mechanism(pMechanism)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.VerifyInit(ck.ULong(hSession), m, ck.ULong(hKey)))
}

//export goC_Verify
func goC_Verify(hSession C.CK_SESSION_HANDLE, pData C.CK_BYTE_PTR, ulDataLen C.CK_ULONG, pSignature C.CK_BYTE_PTR, ulSignatureLen C.CK_ULONG) (rv C.CK_RV) {
	defer guard("C_Verify", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	data, ok1 := inBytes(unsafe.Pointer(pData), ulDataLen, maxDataLen)
	sig, ok2 := inBytes(unsafe.Pointer(pSignature), ulSignatureLen, maxParamLen)
	if !ok1 || !ok2 {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.Verify(ck.ULong(hSession), data, sig))
}

//export goC_VerifyUpdate
func goC_VerifyUpdate(hSession C.CK_SESSION_HANDLE, pPart C.CK_BYTE_PTR, ulPartLen C.CK_ULONG) (rv C.CK_RV) {
	defer guard("C_VerifyUpdate", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	part, ok := inBytes(unsafe.Pointer(pPart), ulPartLen, maxDataLen)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.VerifyUpdate(ck.ULong(hSession), part))
}

//export goC_VerifyFinal
func goC_VerifyFinal(hSession C.CK_SESSION_HANDLE, pSignature C.CK_BYTE_PTR, ulSignatureLen C.CK_ULONG) (rv C.CK_RV) {
	defer guard("C_VerifyFinal", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	sig, ok := inBytes(unsafe.Pointer(pSignature), ulSignatureLen, maxParamLen)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.VerifyFinal(ck.ULong(hSession), sig))
}

//export goC_DecryptInit
func goC_DecryptInit(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR, hKey C.CK_OBJECT_HANDLE) (rv C.CK_RV) {
	defer guard("C_DecryptInit", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	m, ok := mechanism(pMechanism)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.DecryptInit(ck.ULong(hSession), m, ck.ULong(hKey)))
}

//export goC_Decrypt
func goC_Decrypt(hSession C.CK_SESSION_HANDLE, pEncryptedData C.CK_BYTE_PTR, ulEncryptedDataLen C.CK_ULONG, pData C.CK_BYTE_PTR, pulDataLen C.CK_ULONG_PTR) (rv C.CK_RV) {
	defer guard("C_Decrypt", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	ct, ok := inBytes(unsafe.Pointer(pEncryptedData), ulEncryptedDataLen, maxDataLen)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return output(pData, pulDataLen, func(o module.OutBuf) (ck.ULong, ck.ULong) {
		return lib.Decrypt(ck.ULong(hSession), ct, o)
	})
}

//export goC_DecryptUpdate
func goC_DecryptUpdate(hSession C.CK_SESSION_HANDLE, pEncryptedPart C.CK_BYTE_PTR, ulEncryptedPartLen C.CK_ULONG, pPart C.CK_BYTE_PTR, pulPartLen C.CK_ULONG_PTR) (rv C.CK_RV) {
	defer guard("C_DecryptUpdate", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
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

//export goC_DecryptFinal
func goC_DecryptFinal(hSession C.CK_SESSION_HANDLE, pLastPart C.CK_BYTE_PTR, pulLastPartLen C.CK_ULONG_PTR) (rv C.CK_RV) {
	defer guard("C_DecryptFinal", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	return output(pLastPart, pulLastPartLen, func(o module.OutBuf) (ck.ULong, ck.ULong) {
		return lib.DecryptFinal(ck.ULong(hSession), o)
	})
}

//export goC_EncryptInit
func goC_EncryptInit(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR, hKey C.CK_OBJECT_HANDLE) (rv C.CK_RV) {
	defer guard("C_EncryptInit", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	m, ok := mechanism(pMechanism)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.EncryptInit(ck.ULong(hSession), m, ck.ULong(hKey)))
}

//export goC_Encrypt
func goC_Encrypt(hSession C.CK_SESSION_HANDLE, pData C.CK_BYTE_PTR, ulDataLen C.CK_ULONG, pEncryptedData C.CK_BYTE_PTR, pulEncryptedDataLen C.CK_ULONG_PTR) (rv C.CK_RV) {
	defer guard("C_Encrypt", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	data, ok := inBytes(unsafe.Pointer(pData), ulDataLen, maxDataLen)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return output(pEncryptedData, pulEncryptedDataLen, func(o module.OutBuf) (ck.ULong, ck.ULong) {
		return lib.Encrypt(ck.ULong(hSession), data, o)
	})
}

//export goC_EncryptUpdate
func goC_EncryptUpdate(hSession C.CK_SESSION_HANDLE, pPart C.CK_BYTE_PTR, ulPartLen C.CK_ULONG, pEncryptedPart C.CK_BYTE_PTR, pulEncryptedPartLen C.CK_ULONG_PTR) (rv C.CK_RV) {
	defer guard("C_EncryptUpdate", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
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

//export goC_EncryptFinal
func goC_EncryptFinal(hSession C.CK_SESSION_HANDLE, pLastEncryptedPart C.CK_BYTE_PTR, pulLastEncryptedPartLen C.CK_ULONG_PTR) (rv C.CK_RV) {
	defer guard("C_EncryptFinal", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	return output(pLastEncryptedPart, pulLastEncryptedPartLen, func(o module.OutBuf) (ck.ULong, ck.ULong) {
		return lib.EncryptFinal(ck.ULong(hSession), o)
	})
}

// C_DeriveKey: ECDH on the card (spec 5.18.5).
//
//export goC_DeriveKey
func goC_DeriveKey(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR, hBaseKey C.CK_OBJECT_HANDLE, pTemplate C.CK_ATTRIBUTE_PTR, ulAttributeCount C.CK_ULONG, phKey C.CK_OBJECT_HANDLE_PTR) (rv C.CK_RV) {
	defer guard("C_DeriveKey", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
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
