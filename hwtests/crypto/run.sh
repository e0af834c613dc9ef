#!/usr/bin/env bash
# Every mechanism checked by independent verifiers, against the virtual card inside the
# rig (scripts/hw-suite.sh): every signature mechanism on every key type and size the
# card has (the demo keys plus RSA-1024/2048/3072/4096, P-256, P-384, Ed25519 and X25519
# generated once per run in retired slots, CKA_ID 05..0c) is made through libpcsc11.so
# by the C harness p11crypto.c and verified by OpenSSL (`openssl pkeyutl -verify`) and
# by Go's crypto (cryptocheck/); OpenSSL encrypts with PKCS#1 v1.5, OAEP (every hash,
# MGF1 variants, labels) and raw RSA, and the module must decrypt it; ECDH on the card
# must agree with an OpenSSL peer; then `pkcs11-tool --test`.
#
#   hwtests/rig.sh run bash hwtests/crypto/run.sh [MODULE]
#
# Replaces the keys in retired slots 05..0c of the card it runs against.
set -uo pipefail
cd "$(dirname "$0")/../.."
module=${1:-$PWD/build/libpcsc11.so}
go=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
# The virtual card's public test credentials (docs/virtual-card.md).
export PCSC11_TEST_PIN=${PCSC11_TEST_PIN:-123456}
export PCSC11_TEST_SO_PIN=${PCSC11_TEST_SO_PIN:-010203040506070801020304050607080102030405060708}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
d=$work/d
mkdir -p "$d"
status=0
step() { echo "# $*"; }
cc -std=c11 -Wall -Wextra -Werror -I module/include -o "$work/p11crypto" hwtests/crypto/p11crypto.c -ldl || exit 1
"$go" build -o "$work/cryptocheck" ./hwtests/crypto/cryptocheck || exit 1
# p11crypto MODE: runs the harness, shows its failures and its summary line.
p11crypto() {
  "$work/p11crypto" "$module" "$d" "$1" >"$d/log-$1" 2>&1 || status=1
  grep -v '^ok - ' "$d/log-$1"
}

step "key generation on the card (SO login)"
p11crypto gen
"$work/cryptocheck" pem "$d" || status=1
# A card without GET METADATA (YubiKey before 5.3, standard PIV cards: the rig's card
# profile, docs/virtual-card.md) finds a key by its certificate only: give each
# generated key one, so that the next processes see them.
case ${PCSC11_RIG_CARD:-yubikey-5.7} in
yubikey-5.2 | yubikey-4.3 | yubikey-neo | piv)
  step "certificates for the generated keys (the card has no GET METADATA)"
  "$work/cryptocheck" certs "$d" | grep -v '^ok - '; [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  p11crypto putcerts
  ;;
esac

step "signatures and digests through the module"
p11crypto sign
sed "s/^/# mechanism (type min max flags) /" "$d/mechs.txt"
step "digests agree with OpenSSL"
while read -r h hex; do
  want=$(openssl dgst "-$h" -binary "$d/msg" | od -An -v -tx1 | tr -d ' \n')
  if [ "$want" = "$hex" ]; then echo "ok - C_Digest $h = openssl dgst"; else echo "not ok - C_Digest $h = openssl dgst"; status=1; fi
done <"$d/digests.txt"

step "Go's crypto verifies every signature"
"$work/cryptocheck" verify "$d" | grep -v '^ok - ' ; [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
echo "# (Go: $(grep -c . "$d/sigs.txt") signatures checked)"

step "OpenSSL verifies every signature"
ossl_ok=0 ossl_bad=0
while read -r id scheme h mgf salt tbs sig; do
  in=$d/$tbs s=$d/$sig opts=()
  case $scheme in
    pkcs1) openssl dgst "-$h" -binary "$d/$tbs" >"$d/h"; in=$d/h; opts=(-pkeyopt "digest:$h") ;;
    pkcs1raw | x509)
      # Inputs that are not a hash (a DigestInfo, a whole block): pkeyutl -verify
      # refuses them as "too long to be a hash", so recover the signed data and compare.
      pad=pkcs1; [ "$scheme" = x509 ] && pad=none
      if openssl pkeyutl -verifyrecover -pubin -inkey "$d/$id.pem" -in "$s" -pkeyopt "rsa_padding_mode:$pad" \
        -out "$d/rec" >"$d/out" 2>&1 && cmp -s "$d/rec" "$in"; then
        ossl_ok=$((ossl_ok + 1))
      else
        echo "not ok - openssl pkeyutl -verifyrecover: $id $scheme"; sed 's/^/    /' "$d/out"
        ossl_bad=$((ossl_bad + 1)); status=1
      fi
      continue ;;
    pss | pssraw)
      if [ "$scheme" = pss ]; then openssl dgst "-$h" -binary "$d/$tbs" >"$d/h"; in=$d/h; fi
      opts=(-pkeyopt rsa_padding_mode:pss -pkeyopt "digest:$h" -pkeyopt "rsa_mgf1_md:$mgf" -pkeyopt "rsa_pss_saltlen:$salt") ;;
    ecdsa) openssl dgst "-$h" -binary "$d/$tbs" >"$d/h"; in=$d/h; s=$d/$sig.der; opts=(-pkeyopt "digest:$h") ;;
    ecdsaraw) s=$d/$sig.der ;;
    eddsa) opts=(-rawin) ;;
  esac
  if openssl pkeyutl -verify -pubin -inkey "$d/$id.pem" -in "$in" -sigfile "$s" "${opts[@]}" >"$d/out" 2>&1 &&
    grep -q "Signature Verified Successfully" "$d/out"; then
    ossl_ok=$((ossl_ok + 1))
  else
    echo "not ok - openssl pkeyutl -verify: $id $scheme $h mgf1 $mgf salt $salt"; sed 's/^/    /' "$d/out"
    ossl_bad=$((ossl_bad + 1)); status=1
  fi
done <"$d/sigs.txt"
echo "# OpenSSL: $ossl_ok signatures verified, $ossl_bad failed"
[ "$ossl_ok" -gt 0 ] || status=1

step "OpenSSL encrypts, the card decrypts"
: >"$d/enc.txt"
n=0
for pub in "$d"/*.pub; do
  id=$(basename "$pub" .pub)
  grep -q '^type rsa' "$pub" || continue
  [ "$id" = 01 ] || [ "$id" = 03 ] || [ "$id" \> 04 ] || continue
  k=$(( $(grep '^n ' "$pub" | cut -d' ' -f2 | tr -d '\n' | wc -c) / 2 ))
  enc() { # enc SCHEME HASH MGF LABELHEX OPENSSL-OPTS...
    n=$((n + 1))
    local sc=$1 h=$2 m=$3 l=$4; shift 4
    if openssl pkeyutl -encrypt -pubin -inkey "$d/$id.pem" -in "$d/pt-$n" -out "$d/ct-$n" "$@" 2>"$d/err"; then
      echo "$id $sc $h $m $l ct-$n pt-$n" >>"$d/enc.txt"
    else
      echo "not ok - openssl pkeyutl -encrypt $id $sc $h $m"; cat "$d/err"; status=1
    fi
  }
  printf 'PKCS#1 v1.5 secret for key %s' "$id" >"$d/pt-$((n + 1))"
  enc pkcs1 - - - -pkeyopt rsa_padding_mode:pkcs1
  { printf '\0'; head -c $((k - 1)) /dev/urandom; } >"$d/pt-$((n + 1))"
  enc x509 - - - -pkeyopt rsa_padding_mode:none
  for h in sha1 sha224 sha256 sha384 sha512; do
    hl=$(openssl dgst "-$h" -binary /dev/null | wc -c)
    for m in "$h" sha1 sha512; do
      for l in - 70637363313120697373756520350a; do
        [ "$m" = "$h" ] || [ "$l" = - ] || continue # other MGF1 hashes: once, without a label
        printf 'OAEP %s/%s secret' "$h" "$m" >"$d/pt-$((n + 1))"
        [ "$k" -ge $((2 * hl + 2 + $(wc -c <"$d/pt-$((n + 1))"))) ] || continue
        lo=(); [ "$l" = - ] || lo=(-pkeyopt "rsa_oaep_label:$l")
        enc oaep "$h" "$m" "$l" -pkeyopt rsa_padding_mode:oaep -pkeyopt "rsa_oaep_md:$h" -pkeyopt "rsa_mgf1_md:$m" "${lo[@]}"
      done
    done
  done
done
p11crypto decrypt; echo "# ($(grep -c . "$d/enc.txt") ciphertexts decrypted)"

step "ECDH on the card agrees with an OpenSSL peer"
: >"$d/peers.txt"
for pub in "$d"/*.pub; do
  id=$(basename "$pub" .pub)
  case $(sed -n 's/^type //p' "$pub") in
    ec)
      if grep -q '^params 06052b81040022' "$pub"; then alg=(-algorithm EC -pkeyopt ec_paramgen_curve:P-384); len=97
      else alg=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256); len=65; fi ;;
    x25519) alg=(-algorithm X25519); len=32 ;;
    *) continue ;;
  esac
  openssl genpkey "${alg[@]}" -out "$d/peer-$id.pem" 2>/dev/null &&
    openssl pkey -in "$d/peer-$id.pem" -pubout -outform DER | tail -c "$len" >"$d/peerpub-$id" &&
    openssl pkeyutl -derive -inkey "$d/peer-$id.pem" -peerkey "$d/$id.pem" -out "$d/want-$id" ||
    { echo "not ok - OpenSSL peer for key $id"; status=1; continue; }
  echo "$id peerpub-$id want-$id" >>"$d/peers.txt"
done
p11crypto derive

step "pkcs11-tool --test"
if pkcs11-tool --module "$module" --login --pin "$PCSC11_TEST_PIN" --test >"$d/t11" 2>&1; then
  echo "ok - pkcs11-tool --test"
else
  echo "not ok - pkcs11-tool --test"; sed 's/^/    /' "$d/t11"; status=1
fi
grep -E 'errors|Signatures|Decrypt|derive' "$d/t11" | sed 's/^/# /' | head -20

[ "$status" -eq 0 ] && echo "crypto: all checks passed" || echo "crypto: FAILED"
exit "$status"
