"""PyKCS11 against the module: list slots and tokens, log in, sign with 9A and 9E.

Usage: pykcs11_e2e.py MODULE PINFILE OUTDIR
Writes OUTDIR/py-rsa.sig and OUTDIR/py-ec.sig over OUTDIR/msg (the shell verifies them
with the certificates' public keys) and prints one "ok - " or "not ok - " line per step.
"""
import sys

import PyKCS11
from PyKCS11.LowLevel import CKA_ID, CKA_CLASS, CKO_PRIVATE_KEY, CKO_CERTIFICATE

module, pinfile, out = sys.argv[1:4]
pin = open(pinfile).read().strip()
msg = open(out + "/msg", "rb").read()
failed = False


def result(good, name, detail=""):
    global failed
    print(("ok - " if good else "not ok - ") + name)
    if not good:
        failed = True
        if detail:
            print("    # " + detail)


lib = PyKCS11.PyKCS11Lib()
lib.load(module)
slots = lib.getSlotList(tokenPresent=True)
result(len(slots) >= 1, "PyKCS11 lists a slot with a token (%d)" % len(slots))
if not slots:
    sys.exit(1)
slot = slots[0]
info = lib.getTokenInfo(slot)
result(info.flags & PyKCS11.CKF_LOGIN_REQUIRED != 0,
       "PyKCS11 token info: %s, login required" % info.label.strip())

session = lib.openSession(slot, PyKCS11.CKF_SERIAL_SESSION)
certs = session.findObjects([(CKA_CLASS, CKO_CERTIFICATE)])
result(len(certs) >= 4, "PyKCS11 finds the token's certificates (%d)" % len(certs))

try:
    session.login(pin)
    result(True, "PyKCS11 C_Login with the user PIN")
except PyKCS11.PyKCS11Error as e:
    result(False, "PyKCS11 C_Login with the user PIN", str(e))


def sign(key_id, mech, path, name):
    try:
        keys = session.findObjects([(CKA_CLASS, CKO_PRIVATE_KEY), (CKA_ID, (key_id,))])
        if not keys:
            result(False, name, "no private key with CKA_ID %02x" % key_id)
            return
        sig = bytes(session.sign(keys[0], msg, PyKCS11.Mechanism(mech, None)))
        open(path, "wb").write(sig)
        result(len(sig) > 0, name)
    except PyKCS11.PyKCS11Error as e:
        result(False, name, str(e))


sign(1, PyKCS11.CKM_SHA256_RSA_PKCS, out + "/py-rsa.sig", "PyKCS11 signs with the RSA key (9A, SHA256-RSA-PKCS)")
sign(4, PyKCS11.CKM_ECDSA_SHA256, out + "/py-ec.sig", "PyKCS11 signs with the P-256 key (9E, ECDSA-SHA256)")
session.logout()
session.closeSession()
sys.exit(1 if failed else 0)
