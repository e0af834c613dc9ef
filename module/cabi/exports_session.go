package cabi

// #include "pcsc11_pkcs11.h"
import "C"

import (
	"unsafe"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/module"
)

// Session, login and object functions (spec 5.6, 5.7).

func cOpenSession(slotID C.CK_SLOT_ID, flags C.CK_FLAGS, pApplication C.CK_VOID_PTR, notify C.CK_NOTIFY, phSession C.CK_SESSION_HANDLE_PTR) C.CK_RV {
	if phSession == nil {
		return C.CKR_ARGUMENTS_BAD
	}
	h, r := lib.OpenSession(ck.ULong(slotID), ck.ULong(flags))
	if r == ck.CKR_OK {
		*phSession = C.CK_SESSION_HANDLE(h)
	}
	return C.CK_RV(r)
}

func cCloseSession(hSession C.CK_SESSION_HANDLE) C.CK_RV {
	return C.CK_RV(lib.CloseSession(ck.ULong(hSession)))
}

func cCloseAllSessions(slotID C.CK_SLOT_ID) C.CK_RV {
	return C.CK_RV(lib.CloseAllSessions(ck.ULong(slotID)))
}

func cGetSessionInfo(hSession C.CK_SESSION_HANDLE, pInfo C.CK_SESSION_INFO_PTR) C.CK_RV {
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

// cLogin copies the PIN (NULL with length 0 means "protected authentication path"),
// runs the login and wipes the copy.
func cLogin(hSession C.CK_SESSION_HANDLE, userType C.CK_USER_TYPE, pPin C.CK_UTF8CHAR_PTR, ulPinLen C.CK_ULONG) C.CK_RV {
	pin, ok := pinArg(pPin, ulPinLen)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	defer wipe(pin)
	return C.CK_RV(lib.Login(ck.ULong(hSession), ck.ULong(userType), pin))
}

// C_LoginUser (3.0): PIV has no user names; a name, if any, is ignored.
func cLoginUser(hSession C.CK_SESSION_HANDLE, userType C.CK_USER_TYPE, pPin C.CK_UTF8CHAR_PTR, ulPinLen C.CK_ULONG, pUsername C.CK_UTF8CHAR_PTR, ulUsernameLen C.CK_ULONG) C.CK_RV {
	if pUsername == nil && ulUsernameLen != 0 {
		return C.CKR_ARGUMENTS_BAD
	}
	return cLogin(hSession, userType, pPin, ulPinLen)
}

func cLogout(hSession C.CK_SESSION_HANDLE) C.CK_RV {
	return C.CK_RV(lib.Logout(ck.ULong(hSession)))
}

func cSessionCancel(hSession C.CK_SESSION_HANDLE, flags C.CK_FLAGS) C.CK_RV {
	return C.CK_RV(lib.SessionCancel(ck.ULong(hSession), ck.ULong(flags)))
}

func cCreateObject(hSession C.CK_SESSION_HANDLE, pTemplate C.CK_ATTRIBUTE_PTR, ulCount C.CK_ULONG, phObject C.CK_OBJECT_HANDLE_PTR) C.CK_RV {
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

func cCopyObject(hSession C.CK_SESSION_HANDLE, hObject C.CK_OBJECT_HANDLE, pTemplate C.CK_ATTRIBUTE_PTR, ulCount C.CK_ULONG, phNewObject C.CK_OBJECT_HANDLE_PTR) C.CK_RV {
	tmpl, ok := template(pTemplate, ulCount)
	if !ok || phNewObject == nil {
		return C.CKR_ARGUMENTS_BAD
	}
	h, r := lib.CopyObject(ck.ULong(hSession), ck.ULong(hObject), tmpl)
	if r == ck.CKR_OK {
		*phNewObject = C.CK_OBJECT_HANDLE(h)
	}
	return C.CK_RV(r)
}

func cDestroyObject(hSession C.CK_SESSION_HANDLE, hObject C.CK_OBJECT_HANDLE) C.CK_RV {
	return C.CK_RV(lib.DestroyObject(ck.ULong(hSession), ck.ULong(hObject)))
}

func cSetAttributeValue(hSession C.CK_SESSION_HANDLE, hObject C.CK_OBJECT_HANDLE, pTemplate C.CK_ATTRIBUTE_PTR, ulCount C.CK_ULONG) C.CK_RV {
	tmpl, ok := template(pTemplate, ulCount)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.SetAttributeValue(ck.ULong(hSession), ck.ULong(hObject), tmpl))
}

func cGetObjectSize(hSession C.CK_SESSION_HANDLE, hObject C.CK_OBJECT_HANDLE, pulSize C.CK_ULONG_PTR) C.CK_RV {
	if pulSize == nil {
		return C.CKR_ARGUMENTS_BAD
	}
	n, r := lib.GetObjectSize(ck.ULong(hSession), ck.ULong(hObject))
	if r == ck.CKR_OK {
		*pulSize = C.CK_ULONG(n)
	}
	return C.CK_RV(r)
}

func cGetAttributeValue(hSession C.CK_SESSION_HANDLE, hObject C.CK_OBJECT_HANDLE, pTemplate C.CK_ATTRIBUTE_PTR, ulCount C.CK_ULONG) C.CK_RV {
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

func cFindObjectsInit(hSession C.CK_SESSION_HANDLE, pTemplate C.CK_ATTRIBUTE_PTR, ulCount C.CK_ULONG) C.CK_RV {
	tmpl, ok := template(pTemplate, ulCount)
	if !ok {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.FindObjectsInit(ck.ULong(hSession), tmpl))
}

func cFindObjects(hSession C.CK_SESSION_HANDLE, phObject C.CK_OBJECT_HANDLE_PTR, ulMaxObjectCount C.CK_ULONG, pulObjectCount C.CK_ULONG_PTR) C.CK_RV {
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

func cFindObjectsFinal(hSession C.CK_SESSION_HANDLE) C.CK_RV {
	return C.CK_RV(lib.FindObjectsFinal(ck.ULong(hSession)))
}
