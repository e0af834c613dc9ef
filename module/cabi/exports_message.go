package cabi

// #include "pcsc11_pkcs11.h"
import "C"

import (
	"unsafe"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/module"
)

// Message-based signing and verification (v3.0 spec 5.14, 5.16).

// messageArgs copies the parameter and the data (or part) every message call takes.
func messageArgs(pParameter C.CK_VOID_PTR, ulParameterLen C.CK_ULONG, pData C.CK_BYTE_PTR, ulDataLen C.CK_ULONG) (param, data []byte, ok bool) {
	param, ok1 := inBytes(unsafe.Pointer(pParameter), ulParameterLen, maxParamLen)
	data, ok2 := inBytes(unsafe.Pointer(pData), ulDataLen, maxDataLen)
	return param, data, ok1 && ok2
}

func cMessageSignInit(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR, hKey C.CK_OBJECT_HANDLE) C.CK_RV {
	return initOp(hSession, pMechanism, hKey, lib.MessageSignInit)
}

func cSignMessage(hSession C.CK_SESSION_HANDLE, pParameter C.CK_VOID_PTR, ulParameterLen C.CK_ULONG, pData C.CK_BYTE_PTR, ulDataLen C.CK_ULONG, pSignature C.CK_BYTE_PTR, pulSignatureLen C.CK_ULONG_PTR) C.CK_RV {
	param, data, ok := messageArgs(pParameter, ulParameterLen, pData, ulDataLen)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return output(pSignature, pulSignatureLen, func(o module.OutBuf) (ck.ULong, ck.ULong) {
		return lib.SignMessage(ck.ULong(hSession), param, data, o)
	})
}

func cSignMessageBegin(hSession C.CK_SESSION_HANDLE, pParameter C.CK_VOID_PTR, ulParameterLen C.CK_ULONG) C.CK_RV {
	param, ok := inBytes(unsafe.Pointer(pParameter), ulParameterLen, maxParamLen)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.SignMessageBegin(ck.ULong(hSession), param))
}

func cSignMessageNext(hSession C.CK_SESSION_HANDLE, pParameter C.CK_VOID_PTR, ulParameterLen C.CK_ULONG, pDataPart C.CK_BYTE_PTR, ulDataPartLen C.CK_ULONG, pSignature C.CK_BYTE_PTR, pulSignatureLen C.CK_ULONG_PTR) C.CK_RV {
	param, part, ok := messageArgs(pParameter, ulParameterLen, pDataPart, ulDataPartLen)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	if pulSignatureLen == nil { // more parts follow
		_, r := lib.SignMessageNext(ck.ULong(hSession), param, part, nil)
		return C.CK_RV(r)
	}
	return output(pSignature, pulSignatureLen, func(o module.OutBuf) (ck.ULong, ck.ULong) {
		return lib.SignMessageNext(ck.ULong(hSession), param, part, &o)
	})
}

func cMessageSignFinal(hSession C.CK_SESSION_HANDLE) C.CK_RV {
	return C.CK_RV(lib.MessageSignFinal(ck.ULong(hSession)))
}

func cMessageVerifyInit(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR, hKey C.CK_OBJECT_HANDLE) C.CK_RV {
	return initOp(hSession, pMechanism, hKey, lib.MessageVerifyInit)
}

func cVerifyMessage(hSession C.CK_SESSION_HANDLE, pParameter C.CK_VOID_PTR, ulParameterLen C.CK_ULONG, pData C.CK_BYTE_PTR, ulDataLen C.CK_ULONG, pSignature C.CK_BYTE_PTR, ulSignatureLen C.CK_ULONG) C.CK_RV {
	param, data, ok1 := messageArgs(pParameter, ulParameterLen, pData, ulDataLen)
	sig, ok2 := inBytes(unsafe.Pointer(pSignature), ulSignatureLen, maxParamLen)
	if !ok1 || !ok2 {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.VerifyMessage(ck.ULong(hSession), param, data, sig))
}

func cVerifyMessageBegin(hSession C.CK_SESSION_HANDLE, pParameter C.CK_VOID_PTR, ulParameterLen C.CK_ULONG) C.CK_RV {
	param, ok := inBytes(unsafe.Pointer(pParameter), ulParameterLen, maxParamLen)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.VerifyMessageBegin(ck.ULong(hSession), param))
}

func cVerifyMessageNext(hSession C.CK_SESSION_HANDLE, pParameter C.CK_VOID_PTR, ulParameterLen C.CK_ULONG, pDataPart C.CK_BYTE_PTR, ulDataPartLen C.CK_ULONG, pSignature C.CK_BYTE_PTR, ulSignatureLen C.CK_ULONG) C.CK_RV {
	param, part, ok := messageArgs(pParameter, ulParameterLen, pDataPart, ulDataPartLen)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	var sig []byte // nil: more parts follow
	if pSignature != nil {
		var ok bool
		if sig, ok = inBytes(unsafe.Pointer(pSignature), ulSignatureLen, maxParamLen); !ok {
			return C.CKR_ARGUMENTS_BAD
		}
	}
	return C.CK_RV(lib.VerifyMessageNext(ck.ULong(hSession), param, part, sig))
}

func cMessageVerifyFinal(hSession C.CK_SESSION_HANDLE) C.CK_RV {
	return C.CK_RV(lib.MessageVerifyFinal(ck.ULong(hSession)))
}
