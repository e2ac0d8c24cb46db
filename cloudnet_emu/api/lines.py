"""Bounded request lines for the control API: no line, however long or slow, is held whole or forever.

`bounded_lines(read, idle_s, line_s)` turns a byte source into request lines:

    str      one line (decoded as UTF-8, bad bytes replaced; the newline kept)
    None     a line longer than MAX_LINE bytes: yielded as soon as it is too long, and
             the rest of it, up to its newline, is read and dropped, never stored
    raises   ClientTimeout if a client is silent for `idle_s` between lines, or takes more
             than `line_s` from a line's first byte to its newline (a half line that never ends)

`read(timeout)` returns the next bytes (b"" at end of input) or raises TimeoutError after
`timeout` seconds (None: wait for ever, which is what stdin gets: it is the user's own pipe).
"""
from __future__ import annotations

import time
from typing import Callable, Iterator, Optional

from ..errors import CloudnetError
from ..spec.bounds import MAX_LINE

CHUNK = 65536          # bytes read from a client at a time (a line may span several reads)


class ClientTimeout(CloudnetError):
    """The client sent nothing, or no whole line, in time (a socket client: the server hangs up)."""

    def __init__(self, what: str):
        self.what = what
        super().__init__(what)


def bounded_lines(read: Callable[[Optional[float]], bytes], idle_s: Optional[float] = None,
                  line_s: Optional[float] = None) -> Iterator[Optional[str]]:
    buf = bytearray()
    skipping = False            # inside a line already answered as too long
    started = None              # monotonic time of the first byte of the line in progress
    while True:
        nl = buf.find(b"\n")
        if nl >= 0:
            line = bytes(buf[:nl + 1])
            del buf[:nl + 1]
            yield line.decode("utf-8", "replace")
            # Timed from now, not from when it came: the request just answered may have run for minutes.
            started = time.monotonic() if buf else None
            continue
        if len(buf) > MAX_LINE:
            buf.clear()
            skipping = True
            yield None
        timeout = idle_s if started is None else line_s
        if timeout is not None and started is not None:
            timeout -= time.monotonic() - started
            if timeout <= 0:
                raise ClientTimeout(f"no newline {line_s:g} s after the line began")
        try:
            chunk = read(timeout)
        except TimeoutError:
            raise ClientTimeout(f"nothing sent for {idle_s:g} s" if started is None
                                else f"no newline {line_s:g} s after the line began") from None
        if not chunk:
            if buf and not skipping:
                yield bytes(buf).decode("utf-8", "replace")
            return
        if started is None:
            started = time.monotonic()
        if skipping:
            nl = chunk.find(b"\n")
            if nl < 0:
                continue
            chunk, skipping = chunk[nl + 1:], False
            started = time.monotonic() if chunk else None
        buf += chunk
