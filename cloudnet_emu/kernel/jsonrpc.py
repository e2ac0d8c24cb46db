"""JSON-RPC 1.0 over a unix stream socket, as Open vSwitch's daemons speak it: messages are JSON
objects back to back (no framing, no newline needed), so replies are cut by decoding, not by lines."""
from __future__ import annotations

import errno
import json
import socket

from ..errors import RealizeError


class Stream:
    def __init__(self, path: str, timeout: float):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except OSError as exc:
            self.sock.close()
            raise RealizeError(f"connect {path}", exc.errno, exc.strerror) from None
        self.buf = ""
        self.next_id = 0
        self._decoder = json.JSONDecoder()

    def send(self, msg: dict) -> None:
        self.sock.sendall(json.dumps(msg).encode())

    def read(self) -> dict:
        """The next message (OSError when the peer closes or the timeout passes)."""
        while True:
            buf = self.buf.lstrip()
            if buf:
                try:
                    msg, end = self._decoder.raw_decode(buf)
                except ValueError:       # not complete yet
                    msg = None
                if msg is not None:
                    self.buf = buf[end:]
                    return msg
            chunk = self.sock.recv(65536)
            if not chunk:
                raise OSError(errno.ECONNRESET, "the daemon closed the connection")
            self.buf = buf + chunk.decode()

    def close(self) -> None:
        self.sock.close()
