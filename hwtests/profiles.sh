# Sourced by scripts/test-profiles.sh and e2e/run-profiles.sh: the card profiles the
# matrix runs besides the default yubikey-5.7 (docs/virtual-card.md, Card profiles),
# each with the pcsc11-vpiv flags after a colon. The standard PIV card runs with the
# Global PIN primary and an AES-192 management key: the login goes to reference 00,
# and the 24-byte management key is found by the witness probe (3DES refused first).
# shellcheck shell=bash
matrix_profiles=(yubikey-5.4 yubikey-5.2 yubikey-4.3 yubikey-neo "piv:--pin-policy=global --mgmt-alg=aes192")

# profile_spec SPEC: sets profile_name and profile_flags from "name[:flags]".
profile_spec() {
	profile_name=${1%%:*}
	profile_flags=
	[[ $1 == *:* ]] && profile_flags=${1#*:}
	return 0
}
