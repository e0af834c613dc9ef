#!/usr/bin/env bash
# OpenSSH with the module: ssh-keygen -D, ssh -I against a throw-away local sshd with
# the RSA (9A) and ECDSA (9E) keys, and ssh-agent + ssh-add -s,
# including ssh-add -e/-s after the card is removed and re-inserted.
# shellcheck source=e2e/lib.sh
. "$(dirname "$0")/lib.sh"
need_module ssh
if ! have ssh ssh-keygen ssh-agent ssh-add /usr/sbin/sshd; then
	skip "ssh (openssh-client/openssh-server not installed)"
	exit 0
fi

# 1. ssh-keygen -D lists the token's public keys.
if ssh-keygen -D "$P11_MODULE" >"$WORK/keys.pub" 2>"$WORK/keygen.err" &&
	grep -q '^ssh-rsa ' "$WORK/keys.pub" && grep -q '^ecdsa-sha2-nistp256 ' "$WORK/keys.pub"; then
	ok "ssh-keygen -D lists RSA and ECDSA keys ($(wc -l <"$WORK/keys.pub") keys)"
else
	notok "ssh-keygen -D lists RSA and ECDSA keys" "$WORK/keygen.err"
fi

# Exactly the keys a user can authenticate with: the demo card's four (9A, 9C, 9D,
# 9E), not the YubiKey attestation key F9, which signs only attestations.
nkeys=$(grep -c '^ssh-\|^ecdsa-' "$WORK/keys.pub")
if [[ $nkeys == 4 ]]; then
	ok "ssh-keygen -D offers exactly the 4 keys a user can sign with (no attestation key)"
else
	notok "ssh-keygen -D offers exactly the 4 keys a user can sign with ($nkeys offered)" "$WORK/keys.pub"
fi

# The OpenSSH form of the 9A and 9E keys, from their certificates: the key that
# authorized_keys names is the one the login must have used.
if ! export_certs; then
	notok "export the card's certificates with pkcs11-tool"
	exit 0
fi
for id in 01 04; do
	openssl x509 -in "$WORK/cert-$id.pem" -noout -pubkey >"$WORK/pub-$id.pem"
	ssh-keygen -i -m PKCS8 -f "$WORK/pub-$id.pem" >"$WORK/ssh-$id.pub"
done
if grep -qF "$(cut -d' ' -f2 "$WORK/ssh-01.pub")" "$WORK/keys.pub" &&
	grep -qF "$(cut -d' ' -f2 "$WORK/ssh-04.pub")" "$WORK/keys.pub"; then
	ok "ssh-keygen -D output holds the 9A and 9E certificates' keys"
else
	notok "ssh-keygen -D output holds the 9A and 9E certificates' keys" "$WORK/keys.pub"
fi

# 2. A throw-away sshd on the loopback interface (runs as root here: StrictModes no).
port=$(free_port)
ssh-keygen -q -t ed25519 -N '' -f "$WORK/hostkey"
cat >"$WORK/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $WORK/hostkey
PidFile $WORK/sshd.pid
AuthorizedKeysFile $WORK/authorized_keys
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
LogLevel VERBOSE
CONF
mkdir -p /run/sshd
bg /usr/sbin/sshd -D -e -f "$WORK/sshd_config" 2>"$WORK/sshd.log" >/dev/null
if ! wait_port "$port" 10; then
	notok "local sshd starts" "$WORK/sshd.log"
	exit 0
fi
me=$(id -un)
sshopts=(-F /dev/null -p "$port" -o BatchMode=no -o StrictHostKeyChecking=no
	-o UserKnownHostsFile=/dev/null -o PasswordAuthentication=no
	-o KbdInteractiveAuthentication=no -o ConnectTimeout=10 -o LogLevel=ERROR)
export SSH_ASKPASS=$WORK/askpass SSH_ASKPASS_REQUIRE=force DISPLAY=${DISPLAY:-:0}

# login NAME KEYFILE SSH-ARGS…: authorize only KEYFILE, log in, run a command, and check
# that sshd accepted exactly that key.
login() {
	local name=$1 key=$2 fp out
	shift 2
	cp "$key" "$WORK/authorized_keys"
	# Offer only that key: sshd gives up after MaxAuthTries keys.
	fp=$(ssh-keygen -l -f "$key" | awk '{print $2}')
	local before
	before=$(wc -l <"$WORK/sshd.log")
	out=$(timeout 60 setsid ssh "${sshopts[@]}" -i "$key" -o IdentitiesOnly=yes "$@" "$me@127.0.0.1" echo pcsc11-e2e-login 2>"$WORK/ssh.err" </dev/null)
	if [[ $out == pcsc11-e2e-login ]] && tail -n +"$((before + 1))" "$WORK/sshd.log" | grep -q "Accepted publickey.*$fp"; then
		ok "$name"
	else
		{ cat "$WORK/ssh.err"; tail -n 5 "$WORK/sshd.log"; } >"$WORK/login.log"
		notok "$name" "$WORK/login.log"
	fi
}

login "ssh -I logs in with the RSA key (9A), PIN via SSH_ASKPASS" "$WORK/ssh-01.pub" -I "$P11_MODULE"
# (OpenSSH 9.2 does not log in again for a CKA_ALWAYS_AUTHENTICATE key such as 9C:
# its C_Sign fails with CKR_USER_NOT_LOGGED_IN with any module, so 9E is used here.)
login "ssh -I logs in with the ECDSA key (9E)" "$WORK/ssh-04.pub" -I "$P11_MODULE"

# 3. ssh-agent: its default allow-list only takes modules under system library paths;
# -P allows the build path.
agent_sock=$WORK/agent.sock
bg ssh-agent -D -a "$agent_sock" -P "$P11_MODULE" >/dev/null 2>"$WORK/agent.log"
if ! wait_file "$agent_sock" 10; then
	notok "ssh-agent starts" "$WORK/agent.log"
	exit 0
fi
export SSH_AUTH_SOCK=$agent_sock
if timeout 60 setsid ssh-add -s "$P11_MODULE" </dev/null >"$WORK/add.log" 2>&1 &&
	ssh-add -L >"$WORK/agent-keys.pub" 2>>"$WORK/add.log" &&
	grep -qF "$(cut -d' ' -f2 "$WORK/ssh-01.pub")" "$WORK/agent-keys.pub"; then
	ok "ssh-add -s loads the token's keys into ssh-agent -P"
	n=$(grep -c . "$WORK/agent-keys.pub")
	if [[ $n == 4 ]]; then
		ok "ssh-add -s loaded exactly the card's 4 user keys"
	else
		notok "ssh-add -s loaded exactly the card's 4 user keys ($n loaded)" "$WORK/agent-keys.pub"
	fi
else
	notok "ssh-add -s loads the token's keys into ssh-agent -P" "$WORK/add.log"
fi
login "ssh through the agent with the RSA key" "$WORK/ssh-01.pub" -o IdentityAgent="$agent_sock"

# 4. Remove and re-insert the card, then ssh-add -e / -s again.
if card_cycle; then
	if ssh-add -e "$P11_MODULE" >"$WORK/readd.log" 2>&1 &&
		timeout 60 setsid ssh-add -s "$P11_MODULE" </dev/null >>"$WORK/readd.log" 2>&1; then
		ok "ssh-add -e and -s again after the card was removed and re-inserted"
	else
		notok "ssh-add -e and -s again after the card was removed and re-inserted" "$WORK/readd.log"
	fi
	login "ssh through the agent after re-insertion" "$WORK/ssh-01.pub" -o IdentityAgent="$agent_sock"
else
	skip "card removal with ssh-agent (needs a virtual card of our own: e2e/run.sh as root, E2E_RIG=namespace)"
fi
