"""Small programs run inside a node's namespace: `python -m cloudnet_emu.migration.agent ROLE ...`.

    sink PORT                       receive one TCP stream, print {"bytes", "seconds"}
    source HOST PORT BYTES          send BYTES over TCP (the pre-copy), print {"bytes", "seconds"}
    workload PORT                   the VM's processes: UDP echo + TCP echo on PORT, until killed
    probe HOST PORT RATE SECONDS    sequence-numbered UDP probes at RATE/s; print sends and echoes
    tcp HOST PORT SECONDS           one TCP connection, a message every 20 ms; print the echoes

The two roles that speak ARP through scapy, garp and sniff, are agent_arp.py's (a program of
its own, so that scapy loads only where it is used).

Times are wall-clock (time.time()), the same clock in every namespace of the machine.
Every role prints one JSON object on stdout when it ends (SIGTERM ends the long-running ones; probe
then still waits half a second for the echoes of the probes in flight).
"""
from __future__ import annotations

import json
import signal
import socket
import struct
import sys
import threading
import time


def _stop_on_term():
    signal.signal(signal.SIGTERM, lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))


def sink(port: str):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", int(port)))
    srv.listen(1)
    print("ready", flush=True)
    conn, _ = srv.accept()
    total, start = 0, time.time()
    while True:
        chunk = conn.recv(1 << 20)
        if not chunk:
            break
        total += len(chunk)
    print(json.dumps({"bytes": total, "seconds": time.time() - start, "end": time.time()}), flush=True)


def source(host: str, port: str, nbytes: str):
    n = int(nbytes)
    block = b"\0" * (1 << 20)
    start = time.time()
    s = socket.create_connection((host, int(port)), timeout=30)
    sent = 0
    while sent < n:
        sent += s.send(block[: min(len(block), n - sent)])
    s.shutdown(socket.SHUT_WR)
    s.recv(1)
    print(json.dumps({"bytes": sent, "seconds": time.time() - start, "start": start, "end": time.time()}),
          flush=True)


def workload(port: str):
    _stop_on_term()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("0.0.0.0", int(port)))
    tcp = socket.socket()
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind(("0.0.0.0", int(port)))
    tcp.listen(4)

    def serve_tcp():
        while True:
            conn, _ = tcp.accept()
            threading.Thread(target=lambda c=conn: [c.sendall(d) for d in iter(lambda: c.recv(4096), b"")],
                             daemon=True).start()
    threading.Thread(target=serve_tcp, daemon=True).start()
    print("ready", flush=True)
    try:
        while True:
            data, addr = udp.recvfrom(2048)
            udp.sendto(data, addr)
    except KeyboardInterrupt:
        pass


def probe(host: str, port: str, rate: str, seconds: str):
    # SIGTERM ends the sending only: the probes still in flight then are not lost, and a stop that
    # dropped them would report the stream's own end as an outage that never recovered
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stopped.set())
    rate, seconds = float(rate), float(seconds)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((host, int(port)))
    s.setblocking(False)
    sent, got = {}, {}
    start = time.time()
    interval = 1.0 / rate
    seq = 0
    try:
        while time.time() - start < seconds and not stopped.is_set():
            now = time.time()
            target = start + seq * interval
            if now >= target:
                s.send(struct.pack("!Id", seq, now))
                sent[seq] = now
                seq += 1
            try:
                while True:
                    data = s.recv(64)
                    n, _ = struct.unpack("!Id", data[:12])
                    got.setdefault(n, time.time())
            except BlockingIOError:
                pass
            time.sleep(max(0.0, min(interval / 4, target + interval - time.time())))
        end = time.time() + 0.5
        while time.time() < end:
            try:
                data = s.recv(64)
                n, _ = struct.unpack("!Id", data[:12])
                got.setdefault(n, time.time())
            except BlockingIOError:
                time.sleep(0.005)
    except KeyboardInterrupt:
        pass
    print(json.dumps({"sent": sent, "echoed": got}), flush=True)


def tcp(host: str, port: str, seconds: str):
    s = socket.create_connection((host, int(port)), timeout=10)
    s.settimeout(10)
    start, n, echoes = time.time(), 0, []
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    print("connected", flush=True)
    try:
        while time.time() - start < float(seconds) and not stop.is_set():
            msg = f"{n:08d}".encode()
            s.sendall(msg)
            data = b""
            while len(data) < len(msg):
                data += s.recv(len(msg) - len(data))
            echoes.append([n, time.time(), data == msg])
            n += 1
            time.sleep(0.02)
    except (OSError, socket.timeout) as exc:
        print(json.dumps({"echoes": echoes, "error": str(exc)}), flush=True)
        return
    print(json.dumps({"echoes": echoes, "error": None}), flush=True)


ROLES = {f.__name__: f for f in (sink, source, workload, probe, tcp)}

if __name__ == "__main__":
    ROLES[sys.argv[1]](*sys.argv[2:])
