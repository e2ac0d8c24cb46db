"""migration/agent.py's probe role, on the loopback (no root): a stop ends the sending only, so the
probes in flight when it came are echoed, not counted as lost (and the stream's own end is not
measured as an outage that never recovered)."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from cloudnet_emu.migration.measure import outage

ECHO_DELAY_S = 0.1      # about 20 probes in flight at 200/s, all due back well within the agent's drain


def _slow_echo(sock: socket.socket, stop: threading.Event):
    sock.settimeout(0.05)
    while not stop.is_set():
        try:
            data, peer = sock.recvfrom(64)
        except socket.timeout:
            continue
        threading.Timer(ECHO_DELAY_S, sock.sendto, (data, peer)).start()


def test_a_stopped_probe_stream_waits_for_the_echoes_in_flight():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    stop = threading.Event()
    echo = threading.Thread(target=_slow_echo, args=(sock, stop), daemon=True)
    echo.start()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    agent = subprocess.Popen([sys.executable, "-m", "cloudnet_emu.migration.agent", "probe", "127.0.0.1",
                              str(sock.getsockname()[1]), "200", "60"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        time.sleep(1.5)
        agent.send_signal(signal.SIGTERM)
        out, _ = agent.communicate(timeout=10)
    finally:
        stop.set()
        echo.join()
        sock.close()
    probes = json.loads(out.strip().splitlines()[-1])
    assert len(probes["sent"]) > 50, probes
    assert set(probes["echoed"]) == set(probes["sent"])
    result = outage(probes, 0)
    assert result["probes_lost"] == 0 and result.get("recovered", True), result
