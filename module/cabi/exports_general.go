package cabi

// #include "pcsc11_pkcs11.h"
import "C"

import (
	"unsafe"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/module"
)

// General-purpose, slot and token functions (spec 5.4, 5.5).

//export goC_Initialize
func goC_Initialize(pInitArgs C.CK_VOID_PTR) (rv C.CK_RV) {
	defer guard("C_Initialize", &rv)
	if pInitArgs == nil {
		return C.CK_RV(lib.Initialize(nil))
	}
	a := (*C.CK_C_INITIALIZE_ARGS)(pInitArgs)
	return C.CK_RV(lib.Initialize(&module.InitArgs{
		CreateMutex:  a.CreateMutex != nil,
		DestroyMutex: a.DestroyMutex != nil,
		LockMutex:    a.LockMutex != nil,
		UnlockMutex:  a.UnlockMutex != nil,
		Flags:        ck.ULong(a.flags),
		Reserved:     a.pReserved != nil,
	}))
}

//export goC_Finalize
func goC_Finalize(pReserved C.CK_VOID_PTR) (rv C.CK_RV) {
	defer guard("C_Finalize", &rv)
	return C.CK_RV(lib.Finalize(pReserved != nil))
}

//export goC_GetInfo
func goC_GetInfo(pInfo C.CK_INFO_PTR) (rv C.CK_RV) {
	defer guard("C_GetInfo", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	if pInfo == nil {
		return C.CKR_ARGUMENTS_BAD
	}
	info, r := lib.GetInfo()
	if r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	version(&pInfo.cryptokiVersion, info.CryptokiMajor, info.CryptokiMinor)
	pad(pInfo.manufacturerID[:], info.Manufacturer)
	pInfo.flags = C.CK_FLAGS(info.Flags)
	pad(pInfo.libraryDescription[:], info.Description)
	version(&pInfo.libraryVersion, info.LibraryMajor, info.LibraryMinor)
	return C.CKR_OK
}

// ulongList applies the two-call convention of spec 5.2 to a list of CK_ULONGs
// (slot IDs, mechanism types).
func ulongList(list []ck.ULong, p *C.CK_ULONG, pulCount C.CK_ULONG_PTR) C.CK_RV {
	n := len(list)
	if p == nil {
		*pulCount = C.CK_ULONG(n)
		return C.CKR_OK
	}
	if uint64(*pulCount) < uint64(n) {
		*pulCount = C.CK_ULONG(n)
		return C.CKR_BUFFER_TOO_SMALL
	}
	out := unsafe.Slice(p, n)
	for i, v := range list {
		out[i] = C.CK_ULONG(v)
	}
	*pulCount = C.CK_ULONG(n)
	return C.CKR_OK
}

//export goC_GetSlotList
func goC_GetSlotList(tokenPresent C.CK_BBOOL, pSlotList C.CK_SLOT_ID_PTR, pulCount C.CK_ULONG_PTR) (rv C.CK_RV) {
	defer guard("C_GetSlotList", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	if pulCount == nil {
		return C.CKR_ARGUMENTS_BAD
	}
	ids, r := lib.SlotList(tokenPresent != 0)
	if r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	return ulongList(ids, (*C.CK_ULONG)(pSlotList), pulCount)
}

//export goC_GetSlotInfo
func goC_GetSlotInfo(slotID C.CK_SLOT_ID, pInfo C.CK_SLOT_INFO_PTR) (rv C.CK_RV) {
	defer guard("C_GetSlotInfo", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	if pInfo == nil {
		return C.CKR_ARGUMENTS_BAD
	}
	si, r := lib.GetSlotInfo(ck.ULong(slotID))
	if r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	pad(pInfo.slotDescription[:], si.Description)
	pad(pInfo.manufacturerID[:], si.Manufacturer)
	pInfo.flags = C.CK_FLAGS(si.Flags)
	version(&pInfo.hardwareVersion, si.HardwareMajor, si.HardwareMinor)
	version(&pInfo.firmwareVersion, si.FirmwareMajor, si.FirmwareMinor)
	return C.CKR_OK
}

//export goC_GetTokenInfo
func goC_GetTokenInfo(slotID C.CK_SLOT_ID, pInfo C.CK_TOKEN_INFO_PTR) (rv C.CK_RV) {
	defer guard("C_GetTokenInfo", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	if pInfo == nil {
		return C.CKR_ARGUMENTS_BAD
	}
	ti, r := lib.GetTokenInfo(ck.ULong(slotID))
	if r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	pad(pInfo.label[:], ti.Label)
	pad(pInfo.manufacturerID[:], ti.Manufacturer)
	pad(pInfo.model[:], ti.Model)
	padChar(pInfo.serialNumber[:], ti.Serial)
	pInfo.flags = C.CK_FLAGS(ti.Flags)
	pInfo.ulMaxSessionCount = C.CK_EFFECTIVELY_INFINITE
	pInfo.ulSessionCount = C.CK_ULONG(ti.SessionCount)
	pInfo.ulMaxRwSessionCount = C.CK_EFFECTIVELY_INFINITE
	pInfo.ulRwSessionCount = C.CK_ULONG(ti.RWSessionCount)
	pInfo.ulMaxPinLen = C.CK_ULONG(ti.MaxPINLen)
	pInfo.ulMinPinLen = C.CK_ULONG(ti.MinPINLen)
	mem := C.CK_ULONG(ti.TotalPublicMem)
	if ti.TotalPublicMem == 0 {
		mem = C.CK_UNAVAILABLE_INFORMATION
	}
	pInfo.ulTotalPublicMemory = mem
	pInfo.ulFreePublicMemory = C.CK_UNAVAILABLE_INFORMATION
	pInfo.ulTotalPrivateMemory = C.CK_UNAVAILABLE_INFORMATION
	pInfo.ulFreePrivateMemory = C.CK_UNAVAILABLE_INFORMATION
	version(&pInfo.hardwareVersion, ti.HardwareMajor, ti.HardwareMinor)
	version(&pInfo.firmwareVersion, ti.FirmwareMajor, ti.FirmwareMinor)
	padChar(pInfo.utcTime[:], "")
	return C.CKR_OK
}

//export goC_GetMechanismList
func goC_GetMechanismList(slotID C.CK_SLOT_ID, pMechanismList C.CK_MECHANISM_TYPE_PTR, pulCount C.CK_ULONG_PTR) (rv C.CK_RV) {
	defer guard("C_GetMechanismList", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	if pulCount == nil {
		return C.CKR_ARGUMENTS_BAD
	}
	list, r := lib.MechanismList(ck.ULong(slotID))
	if r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	return ulongList(list, (*C.CK_ULONG)(pMechanismList), pulCount)
}

//export goC_GetMechanismInfo
func goC_GetMechanismInfo(slotID C.CK_SLOT_ID, typ C.CK_MECHANISM_TYPE, pInfo C.CK_MECHANISM_INFO_PTR) (rv C.CK_RV) {
	defer guard("C_GetMechanismInfo", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	if pInfo == nil {
		return C.CKR_ARGUMENTS_BAD
	}
	m, r := lib.MechanismInfo(ck.ULong(slotID), ck.ULong(typ))
	if r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	pInfo.ulMinKeySize = C.CK_ULONG(m.MinKeySize)
	pInfo.ulMaxKeySize = C.CK_ULONG(m.MaxKeySize)
	pInfo.flags = C.CK_FLAGS(m.Flags)
	return C.CKR_OK
}

//export goC_WaitForSlotEvent
func goC_WaitForSlotEvent(flags C.CK_FLAGS, pSlot C.CK_SLOT_ID_PTR, pReserved C.CK_VOID_PTR) (rv C.CK_RV) {
	defer guard("C_WaitForSlotEvent", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	if pSlot == nil || pReserved != nil {
		return C.CKR_ARGUMENTS_BAD
	}
	id, r := lib.WaitForSlotEvent(ck.ULong(flags))
	if r == ck.CKR_OK {
		*pSlot = C.CK_SLOT_ID(id)
	}
	return C.CK_RV(r)
}

//export goC_GenerateRandom
func goC_GenerateRandom(hSession C.CK_SESSION_HANDLE, pRandomData C.CK_BYTE_PTR, ulRandomLen C.CK_ULONG) (rv C.CK_RV) {
	defer guard("C_GenerateRandom", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	if (pRandomData == nil && ulRandomLen != 0) || uint64(ulRandomLen) > maxDataLen {
		return C.CKR_ARGUMENTS_BAD
	}
	var buf []byte
	if ulRandomLen != 0 {
		buf = unsafe.Slice((*byte)(unsafe.Pointer(pRandomData)), int(ulRandomLen))
	}
	return C.CK_RV(lib.GenerateRandom(ck.ULong(hSession), buf))
}

//export goC_SeedRandom
func goC_SeedRandom(hSession C.CK_SESSION_HANDLE, pSeed C.CK_BYTE_PTR, ulSeedLen C.CK_ULONG) (rv C.CK_RV) {
	defer guard("C_SeedRandom", &rv)
	if r := lib.Ready(); r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	if pSeed == nil && ulSeedLen != 0 {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.SeedRandom(ck.ULong(hSession)))
}

//export goC_GetFunctionStatus
func goC_GetFunctionStatus(hSession C.CK_SESSION_HANDLE) (rv C.CK_RV) {
	defer guard("C_GetFunctionStatus", &rv)
	return C.CK_RV(lib.FunctionNotParallel(ck.ULong(hSession)))
}

//export goC_CancelFunction
func goC_CancelFunction(hSession C.CK_SESSION_HANDLE) (rv C.CK_RV) {
	defer guard("C_CancelFunction", &rv)
	return C.CK_RV(lib.FunctionNotParallel(ck.ULong(hSession)))
}
