"""`cloudnet-emu web [TESTBED] [--port P] [--bind ADDR]`: the running testbed live in a browser.

Localhost by default; another --bind is the user's explicit choice (the page is read-only,
but it shows the whole testbed).  An unknown testbed, a port in use or an address that is not
this machine's: one line and exit 2.  Ctrl-C stops the server and leaves nothing behind.
"""
from __future__ import annotations

import errno
import signal
import socket

import click

from . import args
from ..lifecycle import sigterm_as_interrupt
from ..web.server import serve


@click.command("web")
@click.argument("testbed", required=False)
@click.option("--port", type=args.Int(0, 65535, what="a TCP port"), default=8737, show_default=True,
              help="TCP port (0: any free one)")
@click.option("--bind", default="127.0.0.1", show_default=True,
              help="address to listen on; anything but localhost exposes the page to the network")
def web(testbed, port, bind):
    """Serve a live, read-only page of TESTBED: topology, VMs moving as they migrate, link counters."""
    args.need_root()
    name = args.testbed(testbed)
    # Ctrl-C and SIGTERM stop it the same way, also when started in the background by a shell
    # (which leaves SIGINT ignored for background jobs)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with sigterm_as_interrupt():
            serve(name, bind, port, ready=lambda url: click.echo(f"serving testbed {name!r} on {url} (read-only); "
                                                                  "Ctrl-C stops", err=True))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise args.BadArgument(f"port {port} on {bind} is in use: pick another with --port (or --port 0)") from None
        if isinstance(exc, socket.gaierror) or exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
            raise args.BadArgument(f"cannot listen on {bind}: not an address of this machine ({exc.strerror or exc})") \
                from None
        raise
    except KeyboardInterrupt:
        click.echo("stopped; nothing was changed in the testbed.", err=True)
