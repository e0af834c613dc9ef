#!/usr/bin/env bash
# End-to-end test of `pcsc11 readers` with pcsc11's test PIN-pad reader (docs/pinpad.md):
# builds and registers the reader driver in a private reader.conf.d, then runs a rig
# in private namespaces (its own pcscd, whatever runs on the host) with the virtual
# card in the PIN-pad reader, and checks that the CLI reports the PIN-pad capabilities,
# with the card in (shared connection) and without (direct connection), and that the
# token gets CKF_PROTECTED_AUTHENTICATION_PATH. Needs root (namespaces).
#
#   bash cmd/pcsc11/e2e_pinpad.sh
set -uo pipefail
cd "$(dirname "$0")/../.."

if [[ ${PCSC11_CLI_PINPAD_INNER:-} != 1 ]]; then
	[[ $(id -u) == 0 ]] || { echo "cli-pinpad-e2e: SKIP: needs root (private namespaces for pcscd)"; exit 0; }
	[[ -x build/pcsc11 && -x build/pcsc11-vpiv ]] || { echo "cli-pinpad-e2e: build/pcsc11 or build/pcsc11-vpiv missing (make build)"; exit 1; }
	conf=$(mktemp -d)
	trap 'rm -rf "$conf"' EXIT
	pinpad/install.sh --conf-dir "$conf" >/dev/null || { echo "cli-pinpad-e2e: cannot build the PIN-pad driver"; exit 1; }
	# A rig of its own even when started inside another rig (hw-suite): forget that one.
	env -u PCSC11_RIG_IN_NS -u PCSC11_RIG_DIR -u PCSC11_VPIV_CONTROL -u PCSC11_RIG_KEEP_STATE \
		PCSC11_CLI_PINPAD_INNER=1 PCSC11_RIG_NAMESPACE=1 PCSC11_RIG_READERCONF=$conf \
		PCSC11_HWTEST_READER="pcsc11 PIN pad 00 00" PCSC11_VPIV_ARGS="--pinpad-port 35965" \
		hwtests/rig.sh run bash "$0"
	exit
fi

cli=build/pcsc11
rdr=$PCSC11_HWTEST_READER
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
e2e_name=cli-pinpad-e2e
# shellcheck source=cmd/pcsc11/e2e_lib.sh
. cmd/pcsc11/e2e_lib.sh

"$cli" readers >"$tmp/r" 2>&1 || fail "readers exited $?"
check "readers: PIN pad with the card in" "$tmp/r" "$rdr" "card:       present" \
	"PIN pad:    yes (verify, modify PIN on the reader)" "PIN size:   4 to 12 digits" "display:    none" \
	"PIN entry:  ends on OK key" "pcsc11-pinpad-1, USB 1d50:5c11"
"$cli" --json readers >"$tmp/rj" 2>&1
jq -e --arg r "$rdr" '.readers[] | select(.name == $r) | .pin_pad and .features.verify_pin_direct and
	.features.modify_pin_direct and .properties.min_pin_size == 4 and .properties.max_pin_size == 12 and
	.properties.lcd_layout == 0' "$tmp/rj" >/dev/null && ok "readers --json" || fail "readers --json: $(cat "$tmp/rj")"

"$cli" slots >"$tmp/s" 2>&1 || fail "slots exited $?"
check "slots: protected authentication path" "$tmp/s" "serial:       12345678" "PROTECTED_AUTHENTICATION_PATH"

# Without the card: the features come through a direct connection.
build/pcsc11-vpiv --control "$PCSC11_VPIV_CONTROL" --send remove >/dev/null
"$cli" watch --count 1 --timeout 10s >/dev/null 2>&1
"$cli" readers >"$tmp/r2" 2>&1
check "readers: PIN pad with no card" "$tmp/r2" "card:       none" "PIN pad:    yes" "PIN size:   4 to 12 digits"
build/pcsc11-vpiv --control "$PCSC11_VPIV_CONTROL" --send insert >/dev/null

finish
