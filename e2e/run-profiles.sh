#!/usr/bin/env bash
# The client end-to-end tests over the card profiles. e2e/run.sh runs every
# application against the default card (a YubiKey 5.7); this runs a representative,
# fast subset that still touches every client — OpenSSH (ssh-keygen -D, ssh -I,
# ssh-agent), NSS (certutil, pk12util, signing), OpenSSL (with pkcs11-tool exporting
# the certificates) and GnuTLS (p11tool) — against each other profile, each on a fresh
# card of its own in private namespaces; and Firefox's client-certificate login on the
# two cards furthest from the default, a YubiKey 4 and a standard PIV card (Global PIN
# primary).
#
#   e2e/run-profiles.sh [PROFILE…]      (default: all but yubikey-5.7)
#
# A profile may carry pcsc11-vpiv flags after a colon (see scripts/test-profiles.sh).
# Ends with "profiles: N passed, N failed, N skipped" and a non-zero status on failure.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../hwtests/profiles.sh
. "$here/../hwtests/profiles.sh"
profiles=("$@")
[[ ${#profiles[@]} == 0 ]] && profiles=("${matrix_profiles[@]}")
apps=(${E2E_PROFILE_APPS:-ssh nss openssl gnutls})
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for spec in "${profiles[@]}"; do
  profile_spec "$spec"
  name=$profile_name flags=$profile_flags
  echo "### profile $name ${flags:+($flags)}"
  start=$SECONDS
  extra=()
  case $name in yubikey-4.3 | piv) [[ -z ${E2E_PROFILE_APPS:-} ]] && extra=(firefox) ;; esac
  PCSC11_RIG_CARD=$name PCSC11_VPIV_ARGS="$flags" bash "$here/run.sh" "${apps[@]}" "${extra[@]}" 2>&1 |
    sed "s/^\(ok\|not ok\|skip\) - /\1 - [$name] /" | tee -a "$out"
  echo "### profile $name: $((SECONDS - start)) s"
done
pass=$(grep -c '^ok - ' "$out")
fail=$(grep -c '^not ok - ' "$out")
skipped=$(grep -c '^skip - ' "$out")
echo "profiles: $pass passed, $fail failed, $skipped skipped"
[[ $fail == 0 && $pass -gt 0 ]]
