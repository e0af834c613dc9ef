// Package hwtests holds the tests that need a real PC/SC reader: the virtual PIV card
// (cmd/pcsc11-vpiv) through real pcscd in CI, or a physical YubiKey/PIV card when a
// person opts in.
//
// They prove that the virtual card is faithful by driving it with independent clients
// only: yubico-piv-tool, OpenSC's and Yubico's PKCS#11 modules through pkcs11-tool,
// OpenSSL and piv-go. No pcsc11 code sits on the client side.
//
// Environment:
//
//	PCSC11_HWTEST_READER       exact reader name; without it (and without a running
//	                           hwtests/rig.sh) every test skips
//	PCSC11_HWTEST_DESTRUCTIVE  1 = steps that write keys and certificates (retired
//	                           slots 82-86) and switch the management key temporarily
//	PCSC11_HWTEST_DEMO         1 = the card is pcsc11-vpiv with --provision demo: assert
//	                           its exact contents (serial 12345678, demo certificates)
//	PCSC11_HWTEST_REQUIRE      1 = a missing reader or card fails instead of skipping
//	PCSC11_VPIV_CONTROL        the virtual card's control socket (removal tests)
//	PCSC11_RIG_DIR             where hwtests/rig.sh keeps its state (/tmp/pcsc11-rig)
//
// Run them with `hwtests/rig.sh run go test -count=1 -v ./hwtests/...`.
package hwtests
