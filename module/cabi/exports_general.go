package cabi

// #include "pcsc11_pkcs11.h"
import "C"

import (
	"unsafe"

	"github.com/pcsc11/pcsc11/ck"
	"github.com/pcsc11/pcsc11/module"
)

// General-purpose, slot and token functions (spec 5.4, 5.5).

func cInitialize(pInitArgs C.CK_VOID_PTR) C.CK_RV {
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

func cFinalize(pReserved C.CK_VOID_PTR) C.CK_RV {
	return C.CK_RV(lib.Finalize(pReserved != nil))
}

func cGetInfo(pInfo C.CK_INFO_PTR) C.CK_RV {
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

func cGetSlotList(tokenPresent C.CK_BBOOL, pSlotList C.CK_SLOT_ID_PTR, pulCount C.CK_ULONG_PTR) C.CK_RV {
	if pulCount == nil {
		return C.CKR_ARGUMENTS_BAD
	}
	ids, r := lib.SlotList(tokenPresent != 0)
	if r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	return ulongList(ids, (*C.CK_ULONG)(pSlotList), pulCount)
}

func cGetSlotInfo(slotID C.CK_SLOT_ID, pInfo C.CK_SLOT_INFO_PTR) C.CK_RV {
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

func cGetTokenInfo(slotID C.CK_SLOT_ID, pInfo C.CK_TOKEN_INFO_PTR) C.CK_RV {
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

func cGetMechanismList(slotID C.CK_SLOT_ID, pMechanismList C.CK_MECHANISM_TYPE_PTR, pulCount C.CK_ULONG_PTR) C.CK_RV {
	if pulCount == nil {
		return C.CKR_ARGUMENTS_BAD
	}
	list, r := lib.MechanismList(ck.ULong(slotID))
	if r != ck.CKR_OK {
		return C.CK_RV(r)
	}
	return ulongList(list, (*C.CK_ULONG)(pMechanismList), pulCount)
}

func cGetMechanismInfo(slotID C.CK_SLOT_ID, typ C.CK_MECHANISM_TYPE, pInfo C.CK_MECHANISM_INFO_PTR) C.CK_RV {
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

func cWaitForSlotEvent(flags C.CK_FLAGS, pSlot C.CK_SLOT_ID_PTR, pReserved C.CK_VOID_PTR) C.CK_RV {
	if pSlot == nil || pReserved != nil {
		return C.CKR_ARGUMENTS_BAD
	}
	id, r := lib.WaitForSlotEvent(ck.ULong(flags))
	if r == ck.CKR_OK {
		*pSlot = C.CK_SLOT_ID(id)
	}
	return C.CK_RV(r)
}

func cGenerateRandom(hSession C.CK_SESSION_HANDLE, pRandomData C.CK_BYTE_PTR, ulRandomLen C.CK_ULONG) C.CK_RV {
	if (pRandomData == nil && ulRandomLen != 0) || uint64(ulRandomLen) > maxDataLen {
		return C.CKR_ARGUMENTS_BAD
	}
	var buf []byte
	if ulRandomLen != 0 {
		buf = unsafe.Slice((*byte)(unsafe.Pointer(pRandomData)), int(ulRandomLen))
	}
	return C.CK_RV(lib.GenerateRandom(ck.ULong(hSession), buf))
}

func cSeedRandom(hSession C.CK_SESSION_HANDLE, pSeed C.CK_BYTE_PTR, ulSeedLen C.CK_ULONG) C.CK_RV {
	if pSeed == nil && ulSeedLen != 0 {
		return C.CKR_ARGUMENTS_BAD
	}
	return C.CK_RV(lib.SeedRandom(ck.ULong(hSession)))
}

func cGetFunctionStatus(hSession C.CK_SESSION_HANDLE) C.CK_RV {
	return C.CK_RV(lib.FunctionNotParallel(ck.ULong(hSession)))
}

func cCancelFunction(hSession C.CK_SESSION_HANDLE) C.CK_RV {
	return C.CK_RV(lib.FunctionNotParallel(ck.ULong(hSession)))
}
