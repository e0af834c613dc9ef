package cabi

// #include "pcsc11_pkcs11.h"
import "C"

import (
	"unsafe"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/module"
)

// The five operation families (spec 5.8 encryption, 5.9 decryption, 5.12 digest, 5.13
// sign, 5.15 verify) convert their arguments the same way, so each export is one of
// the helpers below applied to the library's method; the rules of the operations are
// the module's engine (module/operation.go).

// initOp is a C_xInit with a key.
func initOp(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR, hKey C.CK_OBJECT_HANDLE, run func(ck.ULong, module.Mechanism, ck.ULong) ck.ULong) C.CK_RV {
	m, ok := mechanism(pMechanism)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(run(ck.ULong(hSession), m, ck.ULong(hKey)))
}

// single is a single-part call that produces its result under the size-query
// convention (C_Sign, C_Digest, C_Encrypt, C_Decrypt).
func single(hSession C.CK_SESSION_HANDLE, pIn C.CK_BYTE_PTR, inLen C.CK_ULONG, pOut C.CK_BYTE_PTR, pulOutLen C.CK_ULONG_PTR, run func(ck.ULong, []byte, module.OutBuf) (ck.ULong, ck.ULong)) C.CK_RV {
	in, ok := inBytes(unsafe.Pointer(pIn), inLen, maxDataLen)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return output(pOut, pulOutLen, func(o module.OutBuf) (ck.ULong, ck.ULong) { return run(ck.ULong(hSession), in, o) })
}

// update is a C_xUpdate without output (sign, verify, digest).
func update(hSession C.CK_SESSION_HANDLE, pPart C.CK_BYTE_PTR, ulPartLen C.CK_ULONG, run func(ck.ULong, []byte) ck.ULong) C.CK_RV {
	part, ok := inBytes(unsafe.Pointer(pPart), ulPartLen, maxDataLen)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(run(ck.ULong(hSession), part))
}

// updateOut is a C_xUpdate with an output (encryption, decryption); *pulOutLen
// receives 0: RSA is single-part underneath, and the result comes with C_xFinal.
func updateOut(hSession C.CK_SESSION_HANDLE, pPart C.CK_BYTE_PTR, ulPartLen C.CK_ULONG, pulOutLen C.CK_ULONG_PTR, run func(ck.ULong, []byte) ck.ULong) C.CK_RV {
	if pulOutLen == nil {
		return C.CKR_ARGUMENTS_BAD
	}
	r := update(hSession, pPart, ulPartLen, run)
	if r == C.CKR_OK {
		*pulOutLen = 0
	}
	return r
}

// final is a C_xFinal that produces a result.
func final(hSession C.CK_SESSION_HANDLE, pOut C.CK_BYTE_PTR, pulOutLen C.CK_ULONG_PTR, run func(ck.ULong, module.OutBuf) (ck.ULong, ck.ULong)) C.CK_RV {
	return output(pOut, pulOutLen, func(o module.OutBuf) (ck.ULong, ck.ULong) { return run(ck.ULong(hSession), o) })
}

// output runs a function that produces a result under the size-query convention.
func output(pOut C.CK_BYTE_PTR, pulOutLen C.CK_ULONG_PTR, run func(module.OutBuf) (ck.ULong, ck.ULong)) C.CK_RV {
	if pulOutLen == nil {
		return C.CKR_ARGUMENTS_BAD
	}
	n, r := run(outView(pOut, *pulOutLen))
	return sizeResult(pulOutLen, n, r)
}

func cSignInit(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR, hKey C.CK_OBJECT_HANDLE) C.CK_RV {
	return initOp(hSession, pMechanism, hKey, lib.SignInit)
}

func cSign(hSession C.CK_SESSION_HANDLE, pData C.CK_BYTE_PTR, ulDataLen C.CK_ULONG, pSignature C.CK_BYTE_PTR, pulSignatureLen C.CK_ULONG_PTR) C.CK_RV {
	return single(hSession, pData, ulDataLen, pSignature, pulSignatureLen, lib.Sign)
}

func cSignUpdate(hSession C.CK_SESSION_HANDLE, pPart C.CK_BYTE_PTR, ulPartLen C.CK_ULONG) C.CK_RV {
	return update(hSession, pPart, ulPartLen, lib.SignUpdate)
}

func cSignFinal(hSession C.CK_SESSION_HANDLE, pSignature C.CK_BYTE_PTR, pulSignatureLen C.CK_ULONG_PTR) C.CK_RV {
	return final(hSession, pSignature, pulSignatureLen, lib.SignFinal)
}

func cDigestInit(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR) C.CK_RV {
	m, ok := mechanism(pMechanism)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.DigestInit(ck.ULong(hSession), m))
}

func cDigest(hSession C.CK_SESSION_HANDLE, pData C.CK_BYTE_PTR, ulDataLen C.CK_ULONG, pDigest C.CK_BYTE_PTR, pulDigestLen C.CK_ULONG_PTR) C.CK_RV {
	return single(hSession, pData, ulDataLen, pDigest, pulDigestLen, lib.Digest)
}

func cDigestUpdate(hSession C.CK_SESSION_HANDLE, pPart C.CK_BYTE_PTR, ulPartLen C.CK_ULONG) C.CK_RV {
	return update(hSession, pPart, ulPartLen, lib.DigestUpdate)
}

func cDigestKey(hSession C.CK_SESSION_HANDLE, hKey C.CK_OBJECT_HANDLE) C.CK_RV {
	return C.CK_RV(lib.DigestKey(ck.ULong(hSession), ck.ULong(hKey)))
}

func cDigestFinal(hSession C.CK_SESSION_HANDLE, pDigest C.CK_BYTE_PTR, pulDigestLen C.CK_ULONG_PTR) C.CK_RV {
	return final(hSession, pDigest, pulDigestLen, lib.DigestFinal)
}

func cVerifyInit(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR, hKey C.CK_OBJECT_HANDLE) C.CK_RV {
	return initOp(hSession, pMechanism, hKey, lib.VerifyInit)
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
	return update(hSession, pPart, ulPartLen, lib.VerifyUpdate)
}

func cVerifyFinal(hSession C.CK_SESSION_HANDLE, pSignature C.CK_BYTE_PTR, ulSignatureLen C.CK_ULONG) C.CK_RV {
	sig, ok := inBytes(unsafe.Pointer(pSignature), ulSignatureLen, maxParamLen)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.VerifyFinal(ck.ULong(hSession), sig))
}

func cDecryptInit(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR, hKey C.CK_OBJECT_HANDLE) C.CK_RV {
	return initOp(hSession, pMechanism, hKey, lib.DecryptInit)
}

func cDecrypt(hSession C.CK_SESSION_HANDLE, pEncryptedData C.CK_BYTE_PTR, ulEncryptedDataLen C.CK_ULONG, pData C.CK_BYTE_PTR, pulDataLen C.CK_ULONG_PTR) C.CK_RV {
	return single(hSession, pEncryptedData, ulEncryptedDataLen, pData, pulDataLen, lib.Decrypt)
}

func cDecryptUpdate(hSession C.CK_SESSION_HANDLE, pEncryptedPart C.CK_BYTE_PTR, ulEncryptedPartLen C.CK_ULONG, pPart C.CK_BYTE_PTR, pulPartLen C.CK_ULONG_PTR) C.CK_RV {
	return updateOut(hSession, pEncryptedPart, ulEncryptedPartLen, pulPartLen, lib.DecryptUpdate)
}

func cDecryptFinal(hSession C.CK_SESSION_HANDLE, pLastPart C.CK_BYTE_PTR, pulLastPartLen C.CK_ULONG_PTR) C.CK_RV {
	return final(hSession, pLastPart, pulLastPartLen, lib.DecryptFinal)
}

func cEncryptInit(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR, hKey C.CK_OBJECT_HANDLE) C.CK_RV {
	return initOp(hSession, pMechanism, hKey, lib.EncryptInit)
}

func cEncrypt(hSession C.CK_SESSION_HANDLE, pData C.CK_BYTE_PTR, ulDataLen C.CK_ULONG, pEncryptedData C.CK_BYTE_PTR, pulEncryptedDataLen C.CK_ULONG_PTR) C.CK_RV {
	return single(hSession, pData, ulDataLen, pEncryptedData, pulEncryptedDataLen, lib.Encrypt)
}

func cEncryptUpdate(hSession C.CK_SESSION_HANDLE, pPart C.CK_BYTE_PTR, ulPartLen C.CK_ULONG, pEncryptedPart C.CK_BYTE_PTR, pulEncryptedPartLen C.CK_ULONG_PTR) C.CK_RV {
	return updateOut(hSession, pPart, ulPartLen, pulEncryptedPartLen, lib.EncryptUpdate)
}

func cEncryptFinal(hSession C.CK_SESSION_HANDLE, pLastEncryptedPart C.CK_BYTE_PTR, pulLastEncryptedPartLen C.CK_ULONG_PTR) C.CK_RV {
	return final(hSession, pLastEncryptedPart, pulLastEncryptedPartLen, lib.EncryptFinal)
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
