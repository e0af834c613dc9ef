package cabi

// #include "pcsc11_pkcs11.h"
import "C"

import (
	"unsafe"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/module"
)

// Session, login and object functions (spec 5.6, 5.7).

//export goC_OpenSession
func goC_OpenSession(slotID C.CK_SLOT_ID, flags C.CK_FLAGS, pApplication C.CK_VOID_PTR, notify C.CK_NOTIFY, phSession C.CK_SESSION_HANDLE_PTR) (rv C.CK_RV) {
	defer guard("C_OpenSession", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	if phSession == nil {
		return C.CKR_ARGUMENTS_BAD
	}
	h, r := lib.OpenSession(ck.ULong(slotID), ck.ULong(flags))
	if r == ck.CKR_OK {
		*phSession = C.CK_SESSION_HANDLE(h)
	}
	return C.CK_RV(r)
}

//export goC_CloseSession
func goC_CloseSession(hSession C.CK_SESSION_HANDLE) (rv C.CK_RV) {
	defer guard("C_CloseSession", &rv)
	return C.CK_RV(lib.CloseSession(ck.ULong(hSession)))
}

//export goC_CloseAllSessions
func goC_CloseAllSessions(slotID C.CK_SLOT_ID) (rv C.CK_RV) {
	defer guard("C_CloseAllSessions", &rv)
	return C.CK_RV(lib.CloseAllSessions(ck.ULong(slotID)))
}

//export goC_GetSessionInfo
func goC_GetSessionInfo(hSession C.CK_SESSION_HANDLE, pInfo C.CK_SESSION_INFO_PTR) (rv C.CK_RV) {
	defer guard("C_GetSessionInfo", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	if pInfo == nil {
		return C.CKR_ARGUMENTS_BAD
	}
	si, r := lib.GetSessionInfo(ck.ULong(hSession))
	if r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	pInfo.slotID = C.CK_SLOT_ID(si.SlotID)
	pInfo.state = C.CK_STATE(si.State)
	pInfo.flags = C.CK_FLAGS(si.Flags)
	pInfo.ulDeviceError = C.CK_ULONG(si.DeviceError)
	return C.CKR_OK
}

// login copies the PIN (NULL with length 0 means "protected authentication path"),
// runs the login and wipes the copy.
func login(hSession C.CK_SESSION_HANDLE, userType C.CK_USER_TYPE, pPin C.CK_UTF8CHAR_PTR, ulPinLen C.CK_ULONG) C.CK_RV {
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	var pin []byte
	if pPin != nil {
		var ok bool
		if pin, ok = inBytes(unsafe.Pointer(pPin), ulPinLen, 1024); !ok {
			return C.CKR_ARGUMENTS_BAD
		}
		defer wipe(pin)
	} else if ulPinLen != 0 {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.Login(ck.ULong(hSession), ck.ULong(userType), pin))
}

//export goC_Login
func goC_Login(hSession C.CK_SESSION_HANDLE, userType C.CK_USER_TYPE, pPin C.CK_UTF8CHAR_PTR, ulPinLen C.CK_ULONG) (rv C.CK_RV) {
	defer guard("C_Login", &rv)
	return login(hSession, userType, pPin, ulPinLen)
}

// C_LoginUser (3.0): PIV has no user names; a name, if any, is ignored.
//
//export goC_LoginUser
func goC_LoginUser(hSession C.CK_SESSION_HANDLE, userType C.CK_USER_TYPE, pPin C.CK_UTF8CHAR_PTR, ulPinLen C.CK_ULONG, pUsername C.CK_UTF8CHAR_PTR, ulUsernameLen C.CK_ULONG) (rv C.CK_RV) {
	defer guard("C_LoginUser", &rv)
	if pUsername == nil && ulUsernameLen != 0 {
		return C.CKR_ARGUMENTS_BAD
	}
	return login(hSession, userType, pPin, ulPinLen)
}

//export goC_Logout
func goC_Logout(hSession C.CK_SESSION_HANDLE) (rv C.CK_RV) {
	defer guard("C_Logout", &rv)
	return C.CK_RV(lib.Logout(ck.ULong(hSession)))
}

//export goC_SessionCancel
func goC_SessionCancel(hSession C.CK_SESSION_HANDLE, flags C.CK_FLAGS) (rv C.CK_RV) {
	defer guard("C_SessionCancel", &rv)
	return C.CK_RV(lib.SessionCancel(ck.ULong(hSession), ck.ULong(flags)))
}

//export goC_CreateObject
func goC_CreateObject(hSession C.CK_SESSION_HANDLE, pTemplate C.CK_ATTRIBUTE_PTR, ulCount C.CK_ULONG, phObject C.CK_OBJECT_HANDLE_PTR) (rv C.CK_RV) {
	defer guard("C_CreateObject", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	tmpl, ok := template(pTemplate, ulCount)
	if !ok || phObject == nil {
		return C.CKR_ARGUMENTS_BAD
	}
	h, r := lib.CreateObject(ck.ULong(hSession), tmpl)
	if r == ck.CKR_OK {
		*phObject = C.CK_OBJECT_HANDLE(h)
	}
	return C.CK_RV(r)
}

//export goC_CopyObject
func goC_CopyObject(hSession C.CK_SESSION_HANDLE, hObject C.CK_OBJECT_HANDLE, pTemplate C.CK_ATTRIBUTE_PTR, ulCount C.CK_ULONG, phNewObject C.CK_OBJECT_HANDLE_PTR) (rv C.CK_RV) {
	defer guard("C_CopyObject", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	if (pTemplate == nil && ulCount != 0) || phNewObject == nil {
		return C.CKR_ARGUMENTS_BAD
	}
	obj := ck.ULong(hObject)
	return C.CK_RV(lib.ObjectWrite(ck.ULong(hSession), &obj))
}

//export goC_DestroyObject
func goC_DestroyObject(hSession C.CK_SESSION_HANDLE, hObject C.CK_OBJECT_HANDLE) (rv C.CK_RV) {
	defer guard("C_DestroyObject", &rv)
	return C.CK_RV(lib.DestroyObject(ck.ULong(hSession), ck.ULong(hObject)))
}

//export goC_SetAttributeValue
func goC_SetAttributeValue(hSession C.CK_SESSION_HANDLE, hObject C.CK_OBJECT_HANDLE, pTemplate C.CK_ATTRIBUTE_PTR, ulCount C.CK_ULONG) (rv C.CK_RV) {
	defer guard("C_SetAttributeValue", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	tmpl, ok := template(pTemplate, ulCount)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.SetAttributeValue(ck.ULong(hSession), ck.ULong(hObject), tmpl))
}

//export goC_GetObjectSize
func goC_GetObjectSize(hSession C.CK_SESSION_HANDLE, hObject C.CK_OBJECT_HANDLE, pulSize C.CK_ULONG_PTR) (rv C.CK_RV) {
	defer guard("C_GetObjectSize", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	if pulSize == nil {
		return C.CKR_ARGUMENTS_BAD
	}
	n, r := lib.GetObjectSize(ck.ULong(hSession), ck.ULong(hObject))
	if r == ck.CKR_OK {
		*pulSize = C.CK_ULONG(n)
	}
	return C.CK_RV(r)
}

//export goC_GetAttributeValue
func goC_GetAttributeValue(hSession C.CK_SESSION_HANDLE, hObject C.CK_OBJECT_HANDLE, pTemplate C.CK_ATTRIBUTE_PTR, ulCount C.CK_ULONG) (rv C.CK_RV) {
	defer guard("C_GetAttributeValue", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	if (pTemplate == nil && ulCount != 0) || uint64(ulCount) > maxCount {
		return C.CKR_ARGUMENTS_BAD
	}
	var tmpl []C.CK_ATTRIBUTE
	if ulCount != 0 {
		tmpl = unsafe.Slice(pTemplate, int(ulCount))
	}
	reqs := make([]module.AttrReq, len(tmpl))
	for i := range tmpl {
		reqs[i].Type = ck.ULong(tmpl[i]._type)
		if tmpl[i].pValue != nil {
			reqs[i].Buf = outView((*C.CK_BYTE)(tmpl[i].pValue), tmpl[i].ulValueLen).Buf
		}
	}
	r := lib.GetAttributeValue(ck.ULong(hSession), ck.ULong(hObject), reqs)
	switch r {
	case ck.CKR_OK, ck.CKR_ATTRIBUTE_SENSITIVE, ck.CKR_ATTRIBUTE_TYPE_INVALID, ck.CKR_BUFFER_TOO_SMALL:
		for i := range tmpl {
			tmpl[i].ulValueLen = C.CK_ULONG(reqs[i].Len)
		}
	}
	return C.CK_RV(r)
}

//export goC_FindObjectsInit
func goC_FindObjectsInit(hSession C.CK_SESSION_HANDLE, pTemplate C.CK_ATTRIBUTE_PTR, ulCount C.CK_ULONG) (rv C.CK_RV) {
	defer guard("C_FindObjectsInit", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	tmpl, ok := template(pTemplate, ulCount)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.FindObjectsInit(ck.ULong(hSession), tmpl))
}

//export goC_FindObjects
func goC_FindObjects(hSession C.CK_SESSION_HANDLE, phObject C.CK_OBJECT_HANDLE_PTR, ulMaxObjectCount C.CK_ULONG, pulObjectCount C.CK_ULONG_PTR) (rv C.CK_RV) {
	defer guard("C_FindObjects", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	if pulObjectCount == nil || (phObject == nil && ulMaxObjectCount != 0) {
		return C.CKR_ARGUMENTS_BAD
	}
	hs, r := lib.FindObjects(ck.ULong(hSession), ck.ULong(ulMaxObjectCount))
	if r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	if len(hs) > 0 {
		out := unsafe.Slice(phObject, len(hs))
		for i, h := range hs {
			out[i] = C.CK_OBJECT_HANDLE(h)
		}
	}
	*pulObjectCount = C.CK_ULONG(len(hs))
	return C.CKR_OK
}

//export goC_FindObjectsFinal
func goC_FindObjectsFinal(hSession C.CK_SESSION_HANDLE) (rv C.CK_RV) {
	defer guard("C_FindObjectsFinal", &rv)
	return C.CK_RV(lib.FindObjectsFinal(ck.ULong(hSession)))
}
