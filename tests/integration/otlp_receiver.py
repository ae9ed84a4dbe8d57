#!/usr/bin/env python3
"""A stand-in OTLP/HTTP metrics receiver for the tests: POST /v1/metrics bodies are saved as
DIR/NNNNN.bin (or .json by Content-Type), with their headers in DIR/NNNNN.headers; the answer is
200 with an empty ExportMetricsServiceResponse (protobuf: no bytes; JSON: {}). --fail N answers
the first N requests 503. Prints "ready PORT" once listening.

Usage: otlp_receiver.py DIR [--fail N]"""
import http.server
import os
import sys

out = sys.argv[1]
fail = int(sys.argv[sys.argv.index("--fail") + 1]) if "--fail" in sys.argv else 0
os.makedirs(out, exist_ok=True)
count = [0]


class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        count[0] += 1
        if count[0] <= fail:
            self.send_response(503)
            self.end_headers()
            return
        if self.path != "/v1/metrics":
            self.send_response(404)
            self.end_headers()
            return
        ctype = self.headers.get("Content-Type", "")
        ext = "json" if ctype.startswith("application/json") else "bin"
        base = os.path.join(out, "%05d" % count[0])
        with open(base + ".headers", "w") as f:
            for k, v in self.headers.items():
                f.write("%s: %s\n" % (k, v))
        with open(base + "." + ext, "wb") as f:
            f.write(body)
        reply = b"{}" if ext == "json" else b""
        self.send_response(200)
        self.send_header("Content-Type", ctype or "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


srv = http.server.HTTPServer(("127.0.0.1", 0), H)
print("ready %d" % srv.server_address[1], flush=True)
srv.serve_forever()
