"""A TLS server for e2e/test-chromium.sh: it requires a client certificate issued by
(here: equal to) the CA file, and logs the subject of the certificate each request
came with, so the test has the server's own proof of what the browser presented.

    python3 chromium-tls-server.py PORT CERT KEY CA LOG
"""
import http.server
import ssl
import sys

port, cert, key, ca, log = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        peer = self.connection.getpeercert() or {}
        subject = ",".join("=".join(kv) for rdn in peer.get("subject", ()) for kv in rdn)
        with open(log, "a") as f:
            f.write("GET %s client=%s\n" % (self.path, subject))
        body = ("<html><body><h1>pcsc11 e2e</h1><p>client certificate: %s</p></body></html>" % subject).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.verify_mode = ssl.CERT_REQUIRED
# The card's certificate is self-signed and not a CA: trust it as it is.
ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
ctx.load_verify_locations(ca)
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
server.serve_forever()
