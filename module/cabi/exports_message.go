package cabi

// #include "pcsc11_pkcs11.h"
import "C"

import (
	"unsafe"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/module"
)

// Message-based signing and verification (v3.0 spec 5.14, 5.16).

//export goC_MessageSignInit
func goC_MessageSignInit(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR, hKey C.CK_OBJECT_HANDLE) (rv C.CK_RV) {
	defer guard("C_MessageSignInit", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	m, ok := mechanism(pMechanism)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.MessageSignInit(ck.ULong(hSession), m, ck.ULong(hKey)))
}

//export goC_SignMessage
func goC_SignMessage(hSession C.CK_SESSION_HANDLE, pParameter C.CK_VOID_PTR, ulParameterLen C.CK_ULONG, pData C.CK_BYTE_PTR, ulDataLen C.CK_ULONG, pSignature C.CK_BYTE_PTR, pulSignatureLen C.CK_ULONG_PTR) (rv C.CK_RV) {
	defer guard("C_SignMessage", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	param, ok1 := inBytes(unsafe.Pointer(pParameter), ulParameterLen, maxParamLen)
	data, ok2 := inBytes(unsafe.Pointer(pData), ulDataLen, maxDataLen)
	if !ok1 || !ok2 {
		return C.CKR_ARGUMENTS_BAD
	}
	return output(pSignature, pulSignatureLen, func(o module.OutBuf) (ck.ULong, ck.ULong) {
		return lib.SignMessage(ck.ULong(hSession), param, data, o)
	})
}

//export goC_SignMessageBegin
func goC_SignMessageBegin(hSession C.CK_SESSION_HANDLE, pParameter C.CK_VOID_PTR, ulParameterLen C.CK_ULONG) (rv C.CK_RV) {
	defer guard("C_SignMessageBegin", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	param, ok := inBytes(unsafe.Pointer(pParameter), ulParameterLen, maxParamLen)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.SignMessageBegin(ck.ULong(hSession), param))
}

//export goC_SignMessageNext
func goC_SignMessageNext(hSession C.CK_SESSION_HANDLE, pParameter C.CK_VOID_PTR, ulParameterLen C.CK_ULONG, pDataPart C.CK_BYTE_PTR, ulDataPartLen C.CK_ULONG, pSignature C.CK_BYTE_PTR, pulSignatureLen C.CK_ULONG_PTR) (rv C.CK_RV) {
	defer guard("C_SignMessageNext", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	param, ok1 := inBytes(unsafe.Pointer(pParameter), ulParameterLen, maxParamLen)
	part, ok2 := inBytes(unsafe.Pointer(pDataPart), ulDataPartLen, maxDataLen)
	if !ok1 || !ok2 {
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

//export goC_MessageSignFinal
func goC_MessageSignFinal(hSession C.CK_SESSION_HANDLE) (rv C.CK_RV) {
	defer guard("C_MessageSignFinal", &rv)
	return C.CK_RV(lib.MessageSignFinal(ck.ULong(hSession)))
}

//export goC_MessageVerifyInit
func goC_MessageVerifyInit(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR, hKey C.CK_OBJECT_HANDLE) (rv C.CK_RV) {
	defer guard("C_MessageVerifyInit", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	m, ok := mechanism(pMechanism)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.MessageVerifyInit(ck.ULong(hSession), m, ck.ULong(hKey)))
}

//export goC_VerifyMessage
func goC_VerifyMessage(hSession C.CK_SESSION_HANDLE, pParameter C.CK_VOID_PTR, ulParameterLen C.CK_ULONG, pData C.CK_BYTE_PTR, ulDataLen C.CK_ULONG, pSignature C.CK_BYTE_PTR, ulSignatureLen C.CK_ULONG) (rv C.CK_RV) {
	defer guard("C_VerifyMessage", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	param, ok1 := inBytes(unsafe.Pointer(pParameter), ulParameterLen, maxParamLen)
	data, ok2 := inBytes(unsafe.Pointer(pData), ulDataLen, maxDataLen)
	sig, ok3 := inBytes(unsafe.Pointer(pSignature), ulSignatureLen, maxParamLen)
	if !ok1 || !ok2 || !ok3 {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.VerifyMessage(ck.ULong(hSession), param, data, sig))
}

//export goC_VerifyMessageBegin
func goC_VerifyMessageBegin(hSession C.CK_SESSION_HANDLE, pParameter C.CK_VOID_PTR, ulParameterLen C.CK_ULONG) (rv C.CK_RV) {
	defer guard("C_VerifyMessageBegin", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	param, ok := inBytes(unsafe.Pointer(pParameter), ulParameterLen, maxParamLen)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.VerifyMessageBegin(ck.ULong(hSession), param))
}

//export goC_VerifyMessageNext
func goC_VerifyMessageNext(hSession C.CK_SESSION_HANDLE, pParameter C.CK_VOID_PTR, ulParameterLen C.CK_ULONG, pDataPart C.CK_BYTE_PTR, ulDataPartLen C.CK_ULONG, pSignature C.CK_BYTE_PTR, ulSignatureLen C.CK_ULONG) (rv C.CK_RV) {
	defer guard("C_VerifyMessageNext", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	param, ok1 := inBytes(unsafe.Pointer(pParameter), ulParameterLen, maxParamLen)
	part, ok2 := inBytes(unsafe.Pointer(pDataPart), ulDataPartLen, maxDataLen)
	if !ok1 || !ok2 {
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

//export goC_MessageVerifyFinal
func goC_MessageVerifyFinal(hSession C.CK_SESSION_HANDLE) (rv C.CK_RV) {
	defer guard("C_MessageVerifyFinal", &rv)
	return C.CK_RV(lib.MessageVerifyFinal(ck.ULong(hSession)))
}
