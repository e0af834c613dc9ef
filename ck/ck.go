// Package ck holds the PKCS#11 v3.0 vocabulary shared by the module and the token
// drivers: numeric constants (CKR_, CKA_, CKO_, CKK_, CKM_, CKF_, CKU_, CKS_) and the
// plain Go types that carry attribute values between layers.
//
// Values are from pkcs11-base-v3.0 (../shared/spec), section 6 and the header listings.
// Names keep the spec's spelling minus the prefix underscore rules of Go (CKR_OK → RvOK
// would hide the spec; we keep the spec names verbatim so grep finds them).
package ck

// ULong is CK_ULONG as the Go side sees it; the C door converts to the platform width.
type ULong = uint64

// Return values (spec 5.1 and the v3.0 header).
const (
	CKR_OK                             ULong = 0x000
	CKR_CANCEL                         ULong = 0x001
	CKR_HOST_MEMORY                    ULong = 0x002
	CKR_SLOT_ID_INVALID                ULong = 0x003
	CKR_GENERAL_ERROR                  ULong = 0x005
	CKR_FUNCTION_FAILED                ULong = 0x006
	CKR_ARGUMENTS_BAD                  ULong = 0x007
	CKR_NO_EVENT                       ULong = 0x008
	CKR_NEED_TO_CREATE_THREADS         ULong = 0x009
	CKR_CANT_LOCK                      ULong = 0x00A
	CKR_ATTRIBUTE_READ_ONLY            ULong = 0x010
	CKR_ATTRIBUTE_SENSITIVE            ULong = 0x011
	CKR_ATTRIBUTE_TYPE_INVALID         ULong = 0x012
	CKR_ATTRIBUTE_VALUE_INVALID        ULong = 0x013
	CKR_ACTION_PROHIBITED              ULong = 0x01B
	CKR_DATA_INVALID                   ULong = 0x020
	CKR_DATA_LEN_RANGE                 ULong = 0x021
	CKR_DEVICE_ERROR                   ULong = 0x030
	CKR_DEVICE_MEMORY                  ULong = 0x031
	CKR_DEVICE_REMOVED                 ULong = 0x032
	CKR_ENCRYPTED_DATA_INVALID         ULong = 0x040
	CKR_ENCRYPTED_DATA_LEN_RANGE       ULong = 0x041
	CKR_FUNCTION_CANCELED              ULong = 0x050
	CKR_FUNCTION_NOT_PARALLEL          ULong = 0x051
	CKR_FUNCTION_NOT_SUPPORTED         ULong = 0x054
	CKR_KEY_HANDLE_INVALID             ULong = 0x060
	CKR_KEY_SIZE_RANGE                 ULong = 0x062
	CKR_KEY_TYPE_INCONSISTENT          ULong = 0x063
	CKR_KEY_FUNCTION_NOT_PERMITTED     ULong = 0x068
	CKR_KEY_NOT_WRAPPABLE              ULong = 0x069
	CKR_KEY_UNEXTRACTABLE              ULong = 0x06A
	CKR_MECHANISM_INVALID              ULong = 0x070
	CKR_MECHANISM_PARAM_INVALID        ULong = 0x071
	CKR_OBJECT_HANDLE_INVALID          ULong = 0x082
	CKR_OPERATION_ACTIVE               ULong = 0x090
	CKR_OPERATION_NOT_INITIALIZED      ULong = 0x091
	CKR_PIN_INCORRECT                  ULong = 0x0A0
	CKR_PIN_INVALID                    ULong = 0x0A1
	CKR_PIN_LEN_RANGE                  ULong = 0x0A2
	CKR_PIN_EXPIRED                    ULong = 0x0A3
	CKR_PIN_LOCKED                     ULong = 0x0A4
	CKR_SESSION_CLOSED                 ULong = 0x0B0
	CKR_SESSION_COUNT                  ULong = 0x0B1
	CKR_SESSION_HANDLE_INVALID         ULong = 0x0B3
	CKR_SESSION_PARALLEL_NOT_SUPPORTED ULong = 0x0B4
	CKR_SESSION_READ_ONLY              ULong = 0x0B5
	CKR_SESSION_EXISTS                 ULong = 0x0B6
	CKR_SESSION_READ_ONLY_EXISTS       ULong = 0x0B7
	CKR_SESSION_READ_WRITE_SO_EXISTS   ULong = 0x0B8
	CKR_SIGNATURE_INVALID              ULong = 0x0C0
	CKR_SIGNATURE_LEN_RANGE            ULong = 0x0C1
	CKR_TEMPLATE_INCOMPLETE            ULong = 0x0D0
	CKR_TEMPLATE_INCONSISTENT          ULong = 0x0D1
	CKR_TOKEN_NOT_PRESENT              ULong = 0x0E0
	CKR_TOKEN_NOT_RECOGNIZED           ULong = 0x0E1
	CKR_TOKEN_WRITE_PROTECTED          ULong = 0x0E2
	CKR_USER_ALREADY_LOGGED_IN         ULong = 0x100
	CKR_USER_NOT_LOGGED_IN             ULong = 0x101
	CKR_USER_PIN_NOT_INITIALIZED       ULong = 0x102
	CKR_USER_TYPE_INVALID              ULong = 0x103
	CKR_USER_ANOTHER_ALREADY_LOGGED_IN ULong = 0x104
	CKR_USER_TOO_MANY_TYPES            ULong = 0x105
	CKR_RANDOM_SEED_NOT_SUPPORTED      ULong = 0x120
	CKR_RANDOM_NO_RNG                  ULong = 0x121
	CKR_DOMAIN_PARAMS_INVALID          ULong = 0x130
	CKR_CURVE_NOT_SUPPORTED            ULong = 0x140
	CKR_BUFFER_TOO_SMALL               ULong = 0x150
	CKR_SAVED_STATE_INVALID            ULong = 0x160
	CKR_INFORMATION_SENSITIVE          ULong = 0x170
	CKR_STATE_UNSAVEABLE               ULong = 0x180
	CKR_CRYPTOKI_NOT_INITIALIZED       ULong = 0x190
	CKR_CRYPTOKI_ALREADY_INITIALIZED   ULong = 0x191
	CKR_MUTEX_BAD                      ULong = 0x1A0
	CKR_MUTEX_NOT_LOCKED               ULong = 0x1A1
	CKR_FUNCTION_REJECTED              ULong = 0x200
	CKR_OPERATION_CANCEL_FAILED        ULong = 0x202
)

// Object classes.
const (
	CKO_DATA        ULong = 0
	CKO_CERTIFICATE ULong = 1
	CKO_PUBLIC_KEY  ULong = 2
	CKO_PRIVATE_KEY ULong = 3
	CKO_SECRET_KEY  ULong = 4
)

// Key types.
const (
	CKK_RSA            ULong = 0x00
	CKK_EC             ULong = 0x03
	CKK_GENERIC_SECRET ULong = 0x10
	CKK_EC_EDWARDS     ULong = 0x40
	CKK_EC_MONTGOMERY  ULong = 0x41
)

// Certificate types and categories.
const (
	CKC_X_509 ULong = 0
)

// User types (spec 5.6 / 3.x).
const (
	CKU_SO               ULong = 0
	CKU_USER             ULong = 1
	CKU_CONTEXT_SPECIFIC ULong = 2
)

// Attributes (the ones our tokens produce or accept).
const (
	CKA_CLASS                ULong = 0x000
	CKA_TOKEN                ULong = 0x001
	CKA_PRIVATE              ULong = 0x002
	CKA_LABEL                ULong = 0x003
	CKA_APPLICATION          ULong = 0x010
	CKA_VALUE                ULong = 0x011
	CKA_OBJECT_ID            ULong = 0x012
	CKA_CERTIFICATE_TYPE     ULong = 0x080
	CKA_ISSUER               ULong = 0x081
	CKA_SERIAL_NUMBER        ULong = 0x082
	CKA_TRUSTED              ULong = 0x086
	CKA_CERTIFICATE_CATEGORY ULong = 0x087
	CKA_CHECK_VALUE          ULong = 0x090
	CKA_KEY_TYPE             ULong = 0x100
	CKA_SUBJECT              ULong = 0x101
	CKA_ID                   ULong = 0x102
	CKA_SENSITIVE            ULong = 0x103
	CKA_ENCRYPT              ULong = 0x104
	CKA_DECRYPT              ULong = 0x105
	CKA_WRAP                 ULong = 0x106
	CKA_UNWRAP               ULong = 0x107
	CKA_SIGN                 ULong = 0x108
	CKA_SIGN_RECOVER         ULong = 0x109
	CKA_VERIFY               ULong = 0x10A
	CKA_VERIFY_RECOVER       ULong = 0x10B
	CKA_DERIVE               ULong = 0x10C
	CKA_START_DATE           ULong = 0x110
	CKA_END_DATE             ULong = 0x111
	CKA_MODULUS              ULong = 0x120
	CKA_MODULUS_BITS         ULong = 0x121
	CKA_PUBLIC_EXPONENT      ULong = 0x122
	CKA_VALUE_LEN            ULong = 0x161
	CKA_EXTRACTABLE          ULong = 0x162
	CKA_LOCAL                ULong = 0x163
	CKA_NEVER_EXTRACTABLE    ULong = 0x164
	CKA_ALWAYS_SENSITIVE     ULong = 0x165
	CKA_KEY_GEN_MECHANISM    ULong = 0x166
	CKA_MODIFIABLE           ULong = 0x170
	CKA_COPYABLE             ULong = 0x171
	CKA_DESTROYABLE          ULong = 0x172
	CKA_EC_PARAMS            ULong = 0x180
	CKA_EC_POINT             ULong = 0x181
	CKA_ALWAYS_AUTHENTICATE  ULong = 0x202
	CKA_WRAP_WITH_TRUSTED    ULong = 0x210
	CKA_PUBLIC_KEY_INFO      ULong = 0x129
	CKA_ALLOWED_MECHANISMS   ULong = 0x40000600
)

// Mechanisms.
const (
	CKM_RSA_PKCS_KEY_PAIR_GEN      ULong = 0x0000
	CKM_RSA_PKCS                   ULong = 0x0001
	CKM_RSA_X_509                  ULong = 0x0003
	CKM_SHA1_RSA_PKCS              ULong = 0x0006
	CKM_RSA_PKCS_OAEP              ULong = 0x0009
	CKM_RSA_PKCS_PSS               ULong = 0x000D
	CKM_SHA1_RSA_PKCS_PSS          ULong = 0x000E
	CKM_SHA256_RSA_PKCS            ULong = 0x0040
	CKM_SHA384_RSA_PKCS            ULong = 0x0041
	CKM_SHA512_RSA_PKCS            ULong = 0x0042
	CKM_SHA256_RSA_PKCS_PSS        ULong = 0x0043
	CKM_SHA384_RSA_PKCS_PSS        ULong = 0x0044
	CKM_SHA512_RSA_PKCS_PSS        ULong = 0x0045
	CKM_SHA224_RSA_PKCS            ULong = 0x0046
	CKM_SHA224_RSA_PKCS_PSS        ULong = 0x0047
	CKM_SHA_1                      ULong = 0x0220
	CKM_SHA224                     ULong = 0x0255
	CKM_SHA256                     ULong = 0x0250
	CKM_SHA384                     ULong = 0x0260
	CKM_SHA512                     ULong = 0x0270
	CKM_GENERIC_SECRET_KEY_GEN     ULong = 0x0350
	CKM_EC_KEY_PAIR_GEN            ULong = 0x1040
	CKM_ECDSA                      ULong = 0x1041
	CKM_ECDSA_SHA1                 ULong = 0x1042
	CKM_ECDSA_SHA224               ULong = 0x1043
	CKM_ECDSA_SHA256               ULong = 0x1044
	CKM_ECDSA_SHA384               ULong = 0x1045
	CKM_ECDSA_SHA512               ULong = 0x1046
	CKM_ECDH1_DERIVE               ULong = 0x1050
	CKM_EC_EDWARDS_KEY_PAIR_GEN    ULong = 0x1055
	CKM_EC_MONTGOMERY_KEY_PAIR_GEN ULong = 0x1056
	CKM_EDDSA                      ULong = 0x1057
)

// Flags: token (CK_TOKEN_INFO.flags).
const (
	CKF_RNG                           ULong = 0x00000001
	CKF_WRITE_PROTECTED               ULong = 0x00000002
	CKF_LOGIN_REQUIRED                ULong = 0x00000004
	CKF_USER_PIN_INITIALIZED          ULong = 0x00000008
	CKF_RESTORE_KEY_NOT_NEEDED        ULong = 0x00000020
	CKF_CLOCK_ON_TOKEN                ULong = 0x00000040
	CKF_PROTECTED_AUTHENTICATION_PATH ULong = 0x00000100
	CKF_DUAL_CRYPTO_OPERATIONS        ULong = 0x00000200
	CKF_TOKEN_INITIALIZED             ULong = 0x00000400
	CKF_USER_PIN_COUNT_LOW            ULong = 0x00010000
	CKF_USER_PIN_FINAL_TRY            ULong = 0x00020000
	CKF_USER_PIN_LOCKED               ULong = 0x00040000
	CKF_USER_PIN_TO_BE_CHANGED        ULong = 0x00080000
	CKF_SO_PIN_COUNT_LOW              ULong = 0x00100000
	CKF_SO_PIN_FINAL_TRY              ULong = 0x00200000
	CKF_SO_PIN_LOCKED                 ULong = 0x00400000
	CKF_SO_PIN_TO_BE_CHANGED          ULong = 0x00800000
)

// Flags: slot (CK_SLOT_INFO.flags).
const (
	CKF_TOKEN_PRESENT    ULong = 0x1
	CKF_REMOVABLE_DEVICE ULong = 0x2
	CKF_HW_SLOT          ULong = 0x4
)

// Flags: mechanism (CK_MECHANISM_INFO.flags).
const (
	CKF_HW                ULong = 0x00000001
	CKF_ENCRYPT           ULong = 0x00000100
	CKF_DECRYPT           ULong = 0x00000200
	CKF_DIGEST            ULong = 0x00000400
	CKF_SIGN              ULong = 0x00000800
	CKF_SIGN_RECOVER      ULong = 0x00001000
	CKF_VERIFY            ULong = 0x00002000
	CKF_VERIFY_RECOVER    ULong = 0x00004000
	CKF_GENERATE          ULong = 0x00008000
	CKF_GENERATE_KEY_PAIR ULong = 0x00010000
	CKF_WRAP              ULong = 0x00020000
	CKF_UNWRAP            ULong = 0x00040000
	CKF_DERIVE            ULong = 0x00080000
	CKF_EC_F_P            ULong = 0x00100000
	CKF_EC_NAMEDCURVE     ULong = 0x00800000
	CKF_EC_UNCOMPRESS     ULong = 0x01000000
	CKF_EC_COMPRESS       ULong = 0x02000000
)

// Session flags and states.
const (
	CKF_RW_SESSION     ULong = 0x2
	CKF_SERIAL_SESSION ULong = 0x4

	CKS_RO_PUBLIC_SESSION ULong = 0
	CKS_RO_USER_FUNCTIONS ULong = 1
	CKS_RW_PUBLIC_SESSION ULong = 2
	CKS_RW_USER_FUNCTIONS ULong = 3
	CKS_RW_SO_FUNCTIONS   ULong = 4
)

// C_Initialize flags, C_WaitForSlotEvent flags.
const (
	CKF_LIBRARY_CANT_CREATE_OS_THREADS ULong = 0x1
	CKF_OS_LOCKING_OK                  ULong = 0x2
	CKF_DONT_BLOCK                     ULong = 0x1
)

// CK_UNAVAILABLE_INFORMATION as the Go side sees it.
const CK_UNAVAILABLE_INFORMATION ULong = ^ULong(0)

// Certificate categories (CKA_CERTIFICATE_CATEGORY, base spec 3.x CK_CERTIFICATE_CATEGORY).
const (
	CK_CERTIFICATE_CATEGORY_UNSPECIFIED  ULong = 0
	CK_CERTIFICATE_CATEGORY_TOKEN_USER   ULong = 1
	CK_CERTIFICATE_CATEGORY_AUTHORITY    ULong = 2
	CK_CERTIFICATE_CATEGORY_OTHER_ENTITY ULong = 3
)

// Appended by the module helper: RSA private-key attributes (never revealed by a
// sensitive key, spec 4.9), MGF and OAEP source identifiers (current mechanisms spec,
// RSA section), the EdDSA mechanism parameter flags.
const (
	CKA_PRIVATE_EXPONENT ULong = 0x123
	CKA_PRIME_1          ULong = 0x124
	CKA_PRIME_2          ULong = 0x125
	CKA_EXPONENT_1       ULong = 0x126
	CKA_EXPONENT_2       ULong = 0x127
	CKA_COEFFICIENT      ULong = 0x128

	CKG_MGF1_SHA1   ULong = 0x1
	CKG_MGF1_SHA256 ULong = 0x2
	CKG_MGF1_SHA384 ULong = 0x3
	CKG_MGF1_SHA512 ULong = 0x4
	CKG_MGF1_SHA224 ULong = 0x5

	CKZ_DATA_SPECIFIED ULong = 0x1
)

// Appended by the personalization helper: vendor attributes and the Yubico ykcs11
// policy attributes (pkcs11y.h: CKA_YUBICO = CKA_VENDOR_DEFINED + 0x59554200; same
// numeric values so that scripts written for ykcs11 keep working). Written as
// literals: gen.py copies only literal values, alone on their line, into the C header.
const (
	CKA_VENDOR_DEFINED ULong = 0x80000000
	// CKA_YUBICO + 1 and + 2.
	CKA_YUBICO_TOUCH_POLICY ULong = 0xD9554201
	CKA_YUBICO_PIN_POLICY   ULong = 0xD9554202

	// X.509 certificate attributes (base spec 4.6.3, values from pkcs11t.h).
	CKA_JAVA_MIDP_SECURITY_DOMAIN  ULong = 0x088
	CKA_URL                        ULong = 0x089
	CKA_HASH_OF_SUBJECT_PUBLIC_KEY ULong = 0x08A
	CKA_HASH_OF_ISSUER_PUBLIC_KEY  ULong = 0x08B
	CKA_NAME_HASH_ALGORITHM        ULong = 0x08C
)

// Appended by the module helper: the ECDH key derivation function "none" (PKCS#11
// current mechanisms, CK_EC_KDF_TYPE) for CKM_ECDH1_DERIVE.
const (
	CKD_NULL ULong = 0x1
)

// C_DigestKey's answer for a key whose value
// cannot be digested (pkcs11t.h, next to CKR_KEY_FUNCTION_NOT_PERMITTED 0x68).
const (
	CKR_KEY_INDIGESTIBLE ULong = 0x067
)
