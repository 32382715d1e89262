"""A TCP proxy between the CRM and a test server, to watch and to break.

It records what the client sends (to count IMAP commands) and can cut a
connection after a given number of bytes from the server, or stall it.
"""

import socket
import threading

from .dovecot import free_port


class Proxy:
    def __init__(self, target_host, target_port):
        self.target = (target_host, target_port)
        self.host = "127.0.0.1"
        self.port = free_port()
        self.client_bytes = bytearray()
        self.connections = 0
        # Cut the next connection once the server has sent this many bytes
        # (counted from that connection's start); None: never cut.
        self.cut_after_server_bytes = None
        # Stall instead of cutting: stop forwarding but keep the socket open.
        self.stall = False
        self._lock = threading.Lock()
        self._sockets = []
        self._listener = socket.create_server((self.host, self.port))
        self._listener.settimeout(0.2)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stopping.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def reset_log(self):
        with self._lock:
            self.client_bytes = bytearray()

    def cut_open_connections(self):
        """Close every connection open now, as a server ending its sessions would."""
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def client_commands(self):
        """Return the IMAP command names the client sent (tagged lines only)."""
        names = []
        for line in bytes(self.client_bytes).split(b"\r\n"):
            parts = line.split(b" ")
            if len(parts) >= 2 and parts[0] and parts[0][:1].isalnum() and parts[1].isalpha():
                name = parts[1].upper()
                if name == b"UID" and len(parts) > 2:
                    name = b"UID " + parts[2].upper()
                names.append(name.decode("ascii", "replace"))
        return names

    def _accept_loop(self):
        while not self._stopping.is_set():
            try:
                client, _address = self._listener.accept()
            except (socket.timeout, OSError):
                continue
            self.connections += 1
            limit, self.cut_after_server_bytes = self.cut_after_server_bytes, None
            server = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, server]
            threading.Thread(target=self._pipe, args=(client, server, True, None), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, False, limit), daemon=True).start()

    def _pipe(self, source, destination, from_client, limit):
        sent = 0
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if from_client:
                    with self._lock:
                        self.client_bytes.extend(data)
                if limit is not None and sent + len(data) >= limit:
                    destination.sendall(data[: max(limit - sent, 0)])
                    if self.stall:
                        self._stopping.wait(3600)
                    break
                destination.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            for sock in (source, destination):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
