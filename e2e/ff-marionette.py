#!/usr/bin/env python3
"""Drive a running Firefox through Marionette (its built-in remote protocol).

    ff-marionette.py PORT URL SCREENSHOT [--login MODULE]   (PIN from $PCSC11_PIN)

Waits for Firefox's Marionette port, optionally logs in to every token of the
security device MODULE (nsIPK11Token.checkPassword, in the chrome context: what
"Log In" under Settings > Security Devices does), loads URL, saves a screenshot
to SCREENSHOT, prints the page's text, and quits Firefox. Exit status 0 only if
the page loaded. The PIN never appears in output.
"""
import base64
import json
import os
import socket
import sys
import struct
import time
import zlib


def png_variety(png):
    """How many distinct byte values the PNG's pixel data holds: a blank (single-colour)
    image gives a handful, a page with text many. Rough, but needs no image library."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat = 8, b""
    while pos + 8 <= len(png):
        n, kind = struct.unpack(">I4s", png[pos:pos + 8])
        if kind == b"IDAT":
            idat += png[pos + 8:pos + 8 + n]
        pos += 12 + n
    return len(set(zlib.decompress(idat)))


class Marionette:
    def __init__(self, port, timeout):
        deadline = time.time() + timeout
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        self.sock.settimeout(timeout)
        self.next_id = 0
        self._read()  # the greeting: {"applicationType": "gecko", ...}

    def _read(self):
        head = b""
        while not head.endswith(b":"):
            c = self.sock.recv(1)
            if not c:
                raise ConnectionError("Marionette closed the connection")
            head += c
        n = int(head[:-1])
        body = b""
        while len(body) < n:
            chunk = self.sock.recv(n - len(body))
            if not chunk:
                raise ConnectionError("Marionette closed the connection")
            body += chunk
        return json.loads(body)

    def call(self, name, params=None):
        self.next_id += 1
        msg = json.dumps([0, self.next_id, name, params or {}]).encode()
        self.sock.sendall(str(len(msg)).encode() + b":" + msg)
        while True:
            kind, msg_id, err, result = self._read()
            if kind == 1 and msg_id == self.next_id:
                if err:
                    raise RuntimeError(f"{name}: {err.get('error')}: {err.get('message')}")
                return result


# Starts nsIPK11Token.login on every token of the module (without waiting: the PIN
# prompt it opens is answered through Marionette's dialog commands) and returns the
# token names.
LOGIN_SCRIPT = """
const [moduleName, pin] = arguments;
return (async () => {
// The PIN prompt is a common dialog: fill it in when it has loaded, as a user would.
const answer = {
  observe(win) {
    win = win.document ? win : win.ownerGlobal;
    const box = win.document.getElementById("password1Textbox");
    if (!box) return;
    box.value = pin;
    (win.document.getElementById("commonDialog") || win.document.querySelector("dialog")).acceptDialog();
  },
};
Services.obs.addObserver(answer, "common-dialog-loaded");
if (!moduleName) return [];
const db = Cc["@mozilla.org/security/pkcs11moduledb;1"].getService(Ci.nsIPKCS11ModuleDB);
const list = async r => {
  r = await r;
  const a = [];
  if (r && typeof r.hasMoreElements === "function") {
    while (r.hasMoreElements()) a.push(r.getNext());
  } else if (r) {
    for (const x of r) a.push(x);
  }
  return a;
};
const out = [];
for (const mod of await list(db.listModules())) {
  if (mod.name !== moduleName) continue;
  for (const slot of await list(mod.slots || mod.listSlots())) {
    let token = null;
    try { token = slot.getToken(); } catch (e) {}
    if (!token || !token.tokenName) continue;
    out.push(token.tokenName);
    const li = typeof token.isLoggedIn === "function" ? token.isLoggedIn() : token.isLoggedIn;
    if (!li) Services.tm.dispatchToMainThread(() => { try { token.login(false); } catch (e) {} });
  }
}
return out;
})();
"""


LOGIN_STATE = """
const [moduleName] = arguments;
return (async () => {
const db = Cc["@mozilla.org/security/pkcs11moduledb;1"].getService(Ci.nsIPKCS11ModuleDB);
const list = async r => { r = await r; const a = []; if (r && typeof r.hasMoreElements === "function") { while (r.hasMoreElements()) a.push(r.getNext()); } else if (r) { for (const x of r) a.push(x); } return a; };
const out = [];
for (const mod of await list(db.listModules())) {
  if (mod.name !== moduleName) continue;
  for (const slot of await list(mod.slots || mod.listSlots())) {
    try { const t = slot.getToken(); if (t) out.push(t.tokenName + "=" + (typeof t.isLoggedIn === "function" ? t.isLoggedIn() : t.isLoggedIn)); } catch (e) {}
  }
}
return out;
})();
"""


def main():
    args = sys.argv[1:]
    module = None
    answer_only = "--answer-pin" in args
    if answer_only:
        args.remove("--answer-pin")
    if "--login" in args:
        i = args.index("--login")
        module = args[i + 1]
        del args[i:i + 2]
    port, url, shot = int(args[0]), args[1], args[2]
    timeout = float(os.environ.get("FF_TIMEOUT", "60"))
    m = Marionette(port, timeout)
    m.call("WebDriver:NewSession", {"capabilities": {"alwaysMatch": {"pageLoadStrategy": "normal"}}})
    try:
        return drive(m, module, url, shot, timeout, answer_only)
    finally:
        try:
            m.call("Marionette:Quit", {"flags": ["eAttemptQuit"]})
        except (ConnectionError, RuntimeError, OSError):
            pass


def drive(m, module, url, shot, timeout, answer_only):
    if answer_only:
        # Answer the PIN prompt Firefox itself opens, when it needs the login.
        m.call("Marionette:SetContext", {"value": "chrome"})
        m.call("WebDriver:ExecuteScript", {"script": LOGIN_SCRIPT, "args": ["", os.environ["PCSC11_PIN"]]})
        m.call("Marionette:SetContext", {"value": "content"})
    if module:
        m.call("Marionette:SetContext", {"value": "chrome"})
        res = m.call("WebDriver:ExecuteScript", {"script": LOGIN_SCRIPT, "args": [module, os.environ["PCSC11_PIN"]]})
        names = res.get("value") or []
        print(f"tokens of {module}: {names}")
        time.sleep(3)  # the logins run on Firefox's main thread, after this script
        state = m.call("WebDriver:ExecuteScript", {"script": LOGIN_STATE, "args": [module]})
        print(f"logged in: {state.get('value')}")
        m.call("Marionette:SetContext", {"value": "content"})
    m.call("WebDriver:SetTimeouts", {"pageLoad": int(timeout * 1000 * 0.8)})
    loaded = True
    try:
        m.call("WebDriver:Navigate", {"url": url})
    except RuntimeError as e:
        print(f"page load: {e}")
        loaded = False
    try:
        time.sleep(1)  # let the page paint
        png = base64.b64decode(m.call("WebDriver:TakeScreenshot", {"full": False, "hash": False, "scroll": False})["value"])
        with open(shot, "wb") as f:
            f.write(png)
        print(f"screenshot: {shot}, {png_variety(png)} distinct pixel-data bytes")
    except (RuntimeError, ValueError, zlib.error) as e:
        print(f"screenshot: {e}")
    if loaded:
        text = m.call("WebDriver:ExecuteScript", {"script": "return document.body ? document.body.innerText : ''"})
        print("page text: " + " ".join((text.get("value") or "").split())[:2000])
    return 0 if loaded else 1


if __name__ == "__main__":
    sys.exit(main())
