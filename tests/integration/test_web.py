"""`cloudnet-emu web` in a real browser: headless Chromium on a running Figure 1 sees a VM appear,
move through its migration phases and land on its new server, pushed without a reload; the
scenario report page opens the same way.  Also the server's bad input and its clean exit."""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

import yaml

from cloudnet_emu import lifecycle, pipeline, state
from cloudnet_emu.kernel import frr as kfrr
from cloudnet_emu.plan.frr import DAEMONS
from tests.conftest import FULL_KERNEL
from tests.integration.browser import Browser, chromium

pytestmark = pytest.mark.skipif(chromium() is None, reason="needs Debian's chromium package (./setup.sh test-native)")

PUSH_S = 2.0     # the bound: a change is in the page's DOM within 2 s
ON_SERVER = "cy.getElementById('vm:web').connectedEdges('.port').targets().map(n => n.id()).join(',')"


@contextlib.contextmanager
def _serving(cli: str, testbed: str):
    """`cloudnet-emu web` on a free port for TESTBED: (base URL, process)."""
    proc = subprocess.Popen([cli, "web", testbed, "--port", "0"], stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()
    m = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
    assert m, f"no address in {line!r}"
    try:
        yield m.group(1), proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture
def web(testbed, cli):
    with _serving(cli, testbed["testbed"]) as served:
        yield served


@pytest.fixture
def browser(web):
    b = Browser()
    try:
        yield b
    finally:
        b.close()


def _get(url: str):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)


def _vm_row(vm: str) -> str:
    return f"(r => r && {{server: r.dataset.server, phase: r.dataset.phase}})(document.querySelector('tr[data-vm=\"{vm}\"]'))"


def _distinct_colours(png: bytes) -> int:
    from PIL import Image
    img = Image.open(io.BytesIO(png)).convert("RGB")
    return len(img.getcolors(maxcolors=1 << 20) or [])


def test_page_follows_attach_and_migration_live(testbed, web, browser, tmp_path):
    url, proc = web
    name = testbed["testbed"]
    page = browser.page(url)
    ready, _ = page.wait("document.getElementById('status').textContent.startsWith('live') && cy.nodes().length > 20", 10)
    assert ready, page.evaluate("document.body.innerText")
    assert page.evaluate("cy.getElementById('server:dc1-s1').parent().id()") == "cloud:dc1"

    with state.locked(name):
        cloud, _ = pipeline.managers(name)
        cloud.attach("bravo-vpc", site="dc1", name="web", mem_mb=32)
    seen, waited = page.wait(_vm_row("web"), PUSH_S)
    print(f"attach reached the page's DOM in {waited * 1000:.0f} ms")
    assert seen == {"server": "dc1-s1", "phase": ""}, f"VM not in the page within {PUSH_S} s"
    assert page.evaluate(ON_SERVER) == "server:dc1-s1"

    # the facts a click shows: the VM's namespace, its address; a PE's interfaces named after neighbours
    facts = _get(url + "api/node/vm:web")
    assert any("10.1.100." in a for i in facts["kernel"]["interfaces"] for a in i["addresses"] if i["ifname"] == "eth0")
    assert {"p1", "inet"} <= {i["ifname"] for i in _get(url + "api/node/pe1")["kernel"]["interfaces"]}
    assert any(p["port"] == "cnv-web" for p in _get(url + "api/node/server:dc1-s1")["ovs"]["ports"])
    counters = page.wait("(e => e.nonempty() && e.data('counters'))(cy.getElementById('link:pe1--p1'))", 5)[0]
    assert counters and counters["up"] and counters["state"] in ("UP", "UNKNOWN")

    phases = set()
    done = {}

    def move():
        with state.locked(name, wait=10):
            cloud, _ = pipeline.managers(name)
            done["result"] = cloud.migrate("web", "dc2", pause_ms=50)
    mover = threading.Thread(target=move)
    mover.start()
    while mover.is_alive():
        row = page.evaluate(_vm_row("web"))
        if row and row["phase"]:
            phases.add(row["phase"])
        time.sleep(0.02)
    mover.join()
    assert done["result"]["to"] == "dc2/dc2-s1"
    landed, waited = page.wait(f"(r => r && r.server === 'dc2-s1' && !r.phase)({_vm_row('web')})", PUSH_S)
    print(f"migration seen in the page: phases {sorted(phases)}; landing in {waited * 1000:.0f} ms")
    assert landed, f"the page still shows {page.evaluate(_vm_row('web'))} {PUSH_S} s after the migration"
    assert page.evaluate(ON_SERVER) == "server:dc2-s1" and page.evaluate("cy.getElementById('vm:web').parent().id()") == "cloud:dc2"
    assert phases & {"prepare", "precopy", "pause", "announce"}, "no migration phase reached the page"

    png = page.screenshot()
    (tmp_path / "web.png").write_bytes(png)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and _distinct_colours(png) > 50

    with state.locked(name):
        pipeline.managers(name)[0].detach("web")
    gone, _ = page.wait("!document.querySelector('tr[data-vm=\"web\"]') && cy.getElementById('vm:web').empty()", PUSH_S)
    assert gone


def test_read_only_bad_input_and_a_clean_stop(testbed, web, cli):
    url, proc = web
    req = urllib.request.Request(url + "api/graph", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(req, timeout=5)
    assert refused.value.code == 405
    port = url.rsplit(":", 1)[1].strip("/")
    taken = subprocess.run([cli, "web", testbed["testbed"], "--port", port], capture_output=True, text=True, timeout=30)
    assert taken.returncode == 2 and taken.stderr.count("\n") == 1 and f"port {port}" in taken.stderr, taken.stderr
    unknown = subprocess.run([cli, "web", "nosuch"], capture_output=True, text=True, timeout=30)
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1 and "nosuch" in unknown.stderr, unknown.stderr
    for where in ("192.0.2.1", "no-such-host.invalid"):     # TEST-NET-1: not an address of this machine
        elsewhere = subprocess.run([cli, "web", testbed["testbed"], "--bind", where, "--port", "0"],
                                   capture_output=True, text=True, timeout=30)
        assert elsewhere.returncode == 2 and elsewhere.stderr.count("\n") == 1, elsewhere.stderr
        assert elsewhere.stderr.startswith(f"error: cannot listen on {where}"), elsewhere.stderr
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 0
    # the port is free again (nothing listens), and the clean-machine guard checks the rest
    again = subprocess.Popen([cli, "web", testbed["testbed"], "--port", port], stderr=subprocess.PIPE, text=True)
    try:
        assert f":{port}/" in again.stderr.readline()
    finally:
        again.send_signal(signal.SIGINT)
        assert again.wait(timeout=10) == 0


@pytest.mark.skipif(bool(kfrr.missing(DAEMONS)), reason="FRR is not installed (./setup.sh installs it)")
def test_bgp_sessions_are_on_the_page_and_a_killed_bgpd_turns_red(tmp_path, clean_machine, cli):
    """Under control=bgp each router's daemons and sessions reach the page; killing pe2's bgpd turns
    pe2 (not running: bgpd) and then p1's session to pe2 red, within the hold time plus a poll."""
    with open("topologies/cloudnet.yaml") as f:
        data = yaml.safe_load(f)
    data["name"], data["provider"]["control"] = "webbgp", "bgp"
    path = tmp_path / "webbgp.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    record = pipeline.up(str(path), degrade=not FULL_KERNEL)
    try:
        with _serving(cli, record["testbed"]) as (url, _), contextlib.closing(Browser()) as b:
            page = b.page(url)
            routers = "Object.fromEntries([...document.querySelectorAll('li[data-router]')].map(" \
                      "li => [li.dataset.router, [li.dataset.ok, li.textContent]]))"
            # the five provider routers and the tenant VRFs' own instances (`pe1.acme` ...), every one up
            every_ok, waited = page.wait(f"(r => Object.keys(r).filter(k => !k.includes('.')).length === 5 && "
                                         f"Object.keys(r).some(k => k.includes('.')) && "
                                         f"Object.values(r).every(v => v[0] === 'true') && r)({routers})", 10)
            assert every_ok, page.evaluate(routers)
            print(f"\nBGP sessions on the page {waited * 1000:.0f} ms after load: {every_ok}")
            assert every_ok["p1"][1] == "p1: 4/4 Established" and every_ok["pe1"][1] == "pe1: 1/1 Established"
            assert page.evaluate("cy.getElementById('pe2').hasClass('bgp-up')") is True
            pe2 = f"cn-{record['testbed']}-pe2"
            os.kill(kfrr.pids(state.daemon_dir(record["testbed"], "pe2"), pe2)["bgpd"], signal.SIGKILL)
            red, waited = page.wait(f"(r => r.pe2 && r.pe2[0] === 'false' && r.p1[0] === 'false' && r)({routers})", 10)
            assert red, page.evaluate(routers)
            print(f"bgpd on pe2 killed: red on the page after {waited * 1000:.0f} ms: {red['pe2'][1]} | {red['p1'][1]}")
            assert "not running: bgpd" in red["pe2"][1] and "pe2" in red["p1"][1]
            assert page.evaluate("cy.getElementById('pe2').hasClass('bgp-down')") is True
            assert red["pe1"][0] == "true"
    finally:
        lifecycle.down(record["testbed"])


def test_report_page_opens_in_the_browser(tmp_path, clean_machine):
    from tests.unit.scenario.test_report_html import REPORT, _png
    from cloudnet_emu.scenario.report import write
    _png(tmp_path / "migration-1-web.png")
    write(REPORT, str(tmp_path))
    b = Browser()
    try:
        page = b.page(f"file://{tmp_path}/report.html")
        assert page.evaluate("document.querySelectorAll('#verdicts tr').length") == 3
        assert page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)") is True
        assert page.evaluate("document.getElementById('summary').textContent").startswith("NOT as expected")
        assert _distinct_colours(page.screenshot()) > 20
    finally:
        b.close()
