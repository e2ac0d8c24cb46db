"""The control API under concurrency: 16 attaches at once, then 16 detaches."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from collections import Counter


from cloudnet_emu import naming, pipeline
from tests.integration.test_attach import _ns_state


def _client(sock_path: str, request: dict, out: list):
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(sock_path)
        s.sendall((json.dumps(request) + "\n").encode())
        s.shutdown(socket.SHUT_WR)
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    out.append(json.loads(data))


def _tags() -> dict:
    out = subprocess.run(["ovs-vsctl", "--format=json", "--columns=name,tag", "list", "Port"], capture_output=True,
                         text=True, check=True).stdout
    return {name: tag for name, tag in json.loads(out)["data"] if name.startswith("cnv-")}


def test_16_parallel_attaches_then_16_parallel_detaches(testbed, cli, tmp_path):
    tb = testbed["testbed"]
    before = _ns_state(tb)
    # 16 client processes at once, one attach each; 6 vCPUs per VM: dc1 (2 x 16) takes 4, dc2 (32) takes 5,
    # so 9 succeed and 7 must be refused cleanly (capacity)
    reqs = [{"id": i, "op": "attach", "vpc": "bravo-vpc" if i % 2 else "acme-vpc", "site": "dc1" if i < 8 else "dc2",
             "vcpus": 6, "mem_mb": 256, "name": f"api{i}"} for i in range(16)]
    procs = [subprocess.Popen([cli, "api", "--testbed", tb], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in reqs]
    replies, errors = [], []
    try:
        for p, r in zip(procs, reqs):             # every process is up before any request is sent
            p.stdin.write(json.dumps(r) + "\n")
        for p in procs:
            p.stdin.close()
        for p in procs:
            out, err = p.stdout.read(), p.stderr.read()
            p.wait(600)
            replies += [json.loads(l) for l in out.splitlines()]
            errors.append((p.returncode, err))
    finally:                                      # a failed test must not leave clients holding the testbed
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert all(rc == 0 and "Traceback" not in err for rc, err in errors), errors
    assert sorted(r["id"] for r in replies) == list(range(16))
    ok = [r["result"] for r in replies if r["ok"]]
    refused = [r["error"] for r in replies if not r["ok"]]
    assert len(ok) == 9, refused
    assert all(e["kind"] == "placement" and "biggest free slot" in e["message"] for e in refused), refused
    assert Counter(v["site"] for v in ok) == {"dc1": 4, "dc2": 5}
    # the ledger, OVS and the kernel agree, with no duplicate IP, MAC or VLAN
    cloud, _ = pipeline.managers(tb)
    vms = {v["name"]: v for v in cloud.vms()}
    assert set(vms) == {v["name"] for v in ok}
    assert len({(v["vpc"], v["ip"]) for v in vms.values()}) == 9 and len({v["mac"] for v in vms.values()}) == 9
    for site, vlans in cloud.data["vlans"].items():
        assert len(set(vlans.values())) == len(vlans), f"two VPCs share a VLAN in {site}: {vlans}"
    tags = _tags()
    assert tags == {v["port"]: v["vlan"] for v in vms.values()}
    for v in vms.values():
        assert cloud.data["vlans"][v["site"]][v["vpc"]] == v["vlan"]
        link = json.loads(subprocess.run(["ip", "-n", naming.netns(tb, v["name"]), "-j", "addr", "show", "eth0"],
                                         capture_output=True, text=True).stdout)[0]
        assert link["address"] == v["mac"] and link["addr_info"][0]["local"] == v["ip"]
        ping = subprocess.run(["ip", "netns", "exec", naming.netns(tb, v["name"]), "ping", "-c1", "-W3",
                               v["gateway"]], capture_output=True)
        assert ping.returncode == 0, f"{v['name']} does not reach its gateway {v['gateway']}"
    # 16 socket clients at once against one server: detach every name (7 never existed: refused cleanly)
    sock = str(tmp_path / "api.sock")
    server = subprocess.Popen([cli, "api", "--testbed", tb, "--socket", sock], stderr=subprocess.PIPE, text=True)
    try:
        assert "serving" in server.stderr.readline()
        assert oct(os.stat(sock).st_mode & 0o777) == "0o600"
        out: list = []
        threads = [threading.Thread(target=_client, args=(sock, {"id": i, "op": "detach", "vm": f"api{i}"}, out))
                   for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(600)
        assert sorted(r["id"] for r in out) == list(range(16))
        assert sorted(r["result"]["name"] for r in out if r["ok"]) == sorted(vms)
        assert all(r["error"]["kind"] == "state" and "no VM" in r["error"]["message"] for r in out if not r["ok"])
        listing: list = []
        _client(sock, {"op": "list"}, listing)
        assert listing[0] == {"id": None, "ok": True, "result": {"vms": []}}
    finally:
        server.terminate()
        server.wait(30)
    assert not os.path.exists(sock)
    time.sleep(0.2)
    assert _ns_state(tb) == before
