"""A stand-in OTLP/HTTP collector for Bedside's chaos run: it accepts POST /v1/traces
(protobuf or JSON), answers 200 with an empty ExportTraceServiceResponse, and appends one line
per export to the file given as its second argument. The driver stops it mid-run to take the
collector down."""

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port = int(sys.argv[1])
log = sys.argv[2]


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        with open(log, "a") as handle:
            handle.write(f"{self.path} {length}\n")
        content_type = "application/json" if "json" in (self.headers.get("Content-Type") or "") else "application/x-protobuf"
        body = b"{}" if content_type == "application/json" else b""
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
