"""A tiny HTTP server on loopback that records every request it receives.

Browser tests point "remote" host names at it (Chromium's
--host-resolver-rules), so a request that would have left the machine
shows up here instead, with the host it was meant for.
"""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# A 1x1 transparent GIF.
PIXEL = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"


class RecordingServer:
    def __init__(self):
        self.requests = []
        self._lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                recorder.record(self.command, self.headers.get("Host", ""), self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/gif")
                self.send_header("Content-Length", str(len(PIXEL)))
                self.end_headers()
                self.wfile.write(PIXEL)

            do_POST = do_GET

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def record(self, method, host, path):
        with self._lock:
            self.requests.append((method, host, path))

    def snapshot(self):
        with self._lock:
            return list(self.requests)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
