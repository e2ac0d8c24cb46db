// The live page of a running testbed: cytoscape.js draws it, Server-Sent Events (/events) keep
// it current.  Read-only: the page only GETs.  Every VM is also a row of the VM table
// (tr[data-vm][data-server][data-phase]) so that what the picture shows is in the DOM too.
"use strict";

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"];
const ORDER = {site: 0, cloud: 0};   // compound parents before their children
let tenants = [];
const tenantColour = t => PALETTE[Math.max(tenants.indexOf(t), 0) % PALETTE.length];

const cy = cytoscape({
  container: document.getElementById("graph"),
  wheelSensitivity: 0.3,
  style: [
    {selector: "node", style: {"label": "data(label)", "font-size": 12, "text-valign": "bottom",
      "text-margin-y": 2, "width": 22, "height": 22, "background-color": "#7a8499"}},
    {selector: "node[tenant]", style: {"background-color": ele => tenantColour(ele.data("tenant"))}},
    {selector: ".pe, .p", style: {"shape": "round-rectangle", "background-color": "#394260", "width": 34, "height": 24,
      "text-valign": "center", "color": "#fff", "font-weight": "bold"}},
    {selector: "node.internet", style: {"shape": "ellipse", "background-color": "#9aa3b5", "width": 40, "height": 28,
      "label": "Internet"}},
    {selector: "node.vrf", style: {"shape": "hexagon", "width": 18, "height": 16, "font-size": 8}},
    {selector: ".ce, .cloud-ce", style: {"shape": "diamond"}},
    {selector: ".host", style: {"shape": "ellipse", "width": 14, "height": 14}},
    {selector: ".switch", style: {"shape": "rectangle", "background-color": "#5b6b3a", "width": 30, "height": 14}},
    {selector: ":parent", style: {"text-valign": "top", "background-opacity": 0.07, "border-width": 1,
      "border-color": "#9aa3b5", "padding": 8, "font-weight": "bold", "font-size": 13}},
    {selector: ".site", style: {"border-color": ele => tenantColour(ele.data("tenant")), "border-width": 2}},
    {selector: ".cloud", style: {"border-style": "dashed", "border-width": 2}},
    {selector: ".server", style: {"shape": "round-rectangle", "background-color": "#c9ced8", "width": 34, "height": 20,
      "text-valign": "center", "font-size": 9}},
    {selector: ".vm", style: {"shape": "round-rectangle", "width": 16, "height": 12, "font-size": 9}},
    {selector: ".bgp-up", style: {"border-width": 3, "border-color": "#2e8b57"}},
    {selector: ".bgp-down", style: {"border-width": 3, "border-color": "#d62728", "border-style": "dashed"}},
    {selector: ".migrating", style: {"border-width": 3, "border-color": "#f0b400", "border-style": "dashed"}},
    {selector: "edge", style: {"width": 1.5, "line-color": "#b3bac8", "curve-style": "bezier", "font-size": 8,
      "label": "data(rate)", "text-rotation": "autorotate", "color": "#5a6275"}},
    {selector: ".port", style: {"width": 1, "line-color": "#c9ced8"}},
    {selector: ".core", style: {"width": 4, "line-color": "#394260"}},
    {selector: "edge.wan, edge.access, edge.internet", style: {"width": 2.5}},
    {selector: ".down", style: {"line-color": "#d62728", "line-style": "dashed"}},
    {selector: ".move", style: {"line-color": "#f0b400", "line-style": "dashed", "width": 2, "target-arrow-shape": "triangle",
      "target-arrow-color": "#f0b400", "label": "data(label)"}},
    {selector: ":selected", style: {"overlay-color": "#f0b400", "overlay-opacity": 0.25}},
  ],
});

// cytoscape's own force-directed layout (cose), compound-aware; the first run starts from random
// positions, later runs (a VM added, moved or gone) from where everything is, so the picture stays
// recognisable.  Migration arrows (class "move") are drawn but left out of the layout.
let laidOut = false;
function layout() {
  cy.elements().not(".move").layout({name: "cose", animate: false, randomize: !laidOut, fit: true, padding: 15,
    nodeDimensionsIncludeLabels: true, idealEdgeLength: () => 45, nodeRepulsion: () => 60000, edgeElasticity: () => 80,
    nestingFactor: 0.9, gravity: 40, numIter: 2500, componentSpacing: 60, randomSeed: 1}).run();
  laidOut = true;
}

function apply(graph) {
  const meta = graph.meta || {};
  tenants = meta.tenants || tenants;
  document.getElementById("testbed").textContent = meta.testbed || "";
  setStatus(meta.status === "gone" ? "gone" : "live", meta.status === "gone" ? "testbed is down" : `live: ${meta.status}`);
  const nodes = [...graph.nodes].sort((a, b) => (ORDER[a.data.kind] ?? 2) - (ORDER[b.data.kind] ?? 2));
  const moves = graph.nodes.filter(n => n.data.migration).map(n => ({group: "edges", classes: "move",
    data: {id: `move:${n.data.id}`, source: n.data.id, target: `server:${n.data.migration.to.split("/")[1]}`,
           label: n.data.migration.phase}}));
  const wanted = new Set([...nodes, ...graph.edges, ...moves].map(e => e.data.id));
  let changed = false;
  cy.batch(() => {
    cy.elements().filter(e => !wanted.has(e.id())).forEach(e => { changed = changed || !e.hasClass("move"); e.remove(); });
    for (const n of nodes) {
      let ele = cy.getElementById(n.data.id);
      if (ele.empty()) {
        const parent = n.data.parent && cy.getElementById(n.data.parent);
        const at = parent && parent.nonempty() ? parent.position() : undefined;
        ele = cy.add({group: "nodes", data: n.data, classes: n.classes, position: at && {x: at.x, y: at.y}});
        changed = true;
      } else {
        if ((ele.data("parent") || null) !== (n.data.parent || null)) {
          ele = ele.move({parent: n.data.parent || null});
          changed = true;
        }
        ele.removeData("migration");
        ele.data(n.data);
        ele.classes(n.classes);
      }
      if (n.data.kind === "vm") {
        ele.data("label", n.data.migration ? `${n.data.label} (${n.data.migration.phase})` : n.data.label);
      }
    }
    for (const e of graph.edges) {
      const ele = cy.getElementById(e.data.id);
      if (ele.empty()) { cy.add({group: "edges", data: e.data, classes: e.classes}); changed = true; }
    }
    for (const e of moves) {
      const ele = cy.getElementById(e.data.id);
      if (ele.empty()) cy.add({group: "edges", data: e.data, classes: e.classes});
      else ele.data(e.data);
    }
  });
  if (changed) layout();
  renderSide(graph);
  if (Object.keys(routers).length) routing(routers);   // classes were reset from the picture
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("data-")) e.setAttribute(k, v); else e[k] = v;
  }
  e.append(...children);
  return e;
}

function renderSide(graph) {
  const meta = graph.meta || {};
  document.getElementById("realizations").replaceChildren(
    ...Object.entries(meta.realizations || {}).map(([k, v]) => el("li", {}, `${k}: ${v}`)));
  const deg = meta.degradations || [];
  document.getElementById("degradations").replaceChildren(
    ...(deg.length ? deg.map(d => el("li", {}, d)) : [el("li", {}, "none")]));
  document.getElementById("vpcs").replaceChildren(...(graph.vpcs || []).map(v => el("li", {"data-vpc": v.name},
    el("span", {className: "swatch", style: `background:${tenantColour(v.tenant)}`}),
    `${v.name} (${v.tenant}, ${v.type}${v.subnet ? ", " + v.subnet : ""}): ${v.vms.length} VM(s)`)));
  const rows = graph.nodes.filter(n => n.data.kind === "vm").map(n => {
    const d = n.data, m = d.migration;
    return el("tr", {"data-vm": d.label, "data-server": d.server, "data-site": d.site,
                     "data-phase": m ? m.phase : "", className: m ? "migrating" : ""},
      el("td", {}, d.label), el("td", {}, d.vpc), el("td", {}, d.server), el("td", {}, d.ip || ""),
      el("td", {}, m ? `${m.phase} -> ${m.to}` : ""));
  });
  document.querySelector("#vms tbody").replaceChildren(...rows);
}

function counters(c) {
  cy.batch(() => {
    for (const [id, row] of Object.entries(c)) {
      const e = cy.getElementById(id);
      if (e.empty()) continue;
      e.toggleClass("down", !row.up || row.state === "DOWN" || row.state === "ABSENT");
      const pps = (row.rx_pps || 0) + (row.tx_pps || 0);
      e.data("rate", row.state === "ABSENT" ? "absent" : (pps ? `${pps.toFixed(0)} pkt/s` : ""));
      e.data("counters", row);
    }
  });
}

// Under control=bgp: each router's border is green while every daemon runs and every session is
// Established, red and dashed otherwise; the side list says which session or daemon is missing.
let routers = {};
function routing(r) {
  routers = r;
  cy.batch(() => {
    for (const [id, row] of Object.entries(r)) {
      const n = cy.getElementById(id);
      if (n.empty()) continue;
      n.toggleClass("bgp-up", row.ok);
      n.toggleClass("bgp-down", !row.ok);
    }
  });
  document.getElementById("routing").hidden = !Object.keys(r).length;
  document.getElementById("routers").replaceChildren(...Object.entries(r).map(([id, row]) => {
    const lacking = Object.entries(row.peers).filter(([, p]) => p.state !== "Established")
      .map(([a, p]) => `${p.desc || a} ${p.state}`);
    const text = `${id}: ${row.established}/${row.sessions} Established` +
      (row.down.length ? `; not running: ${row.down.join(", ")}` : "") + (lacking.length ? `; ${lacking.join(", ")}` : "");
    return el("li", {"data-router": id, "data-ok": String(row.ok), className: row.ok ? "" : "bgp-down"}, text);
  }));
}

function setStatus(cls, text) {
  const s = document.getElementById("status");
  s.className = `status ${cls}`;
  s.textContent = text;
}

function fmt(obj) {
  const lines = [];
  const r = obj.record || {};
  lines.push(Object.entries(r).filter(([k]) => !["id", "label", "parent"].includes(k))
    .map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`).join("\n"));
  if (obj.kernel) {
    lines.push("\ninterfaces:");
    for (const i of obj.kernel.interfaces) lines.push(`  ${i.ifname}${i.master ? " @" + i.master : ""} ${i.addresses.join(" ")}`);
    lines.push("routes:");
    for (const rt of obj.kernel.routes) lines.push(`  ${rt.dst}${rt.gateway ? " via " + rt.gateway : ""}${rt.dev ? " dev " + rt.dev : ""}${rt.table ? " table " + rt.table : ""}${rt.type && rt.type !== "unicast" ? " " + rt.type : ""}`);
    if (obj.kernel.fdb.length) {
      lines.push("fdb:");
      for (const f of obj.kernel.fdb) lines.push(`  ${f.mac} dev ${f.dev}${f.vlan ? " vlan " + f.vlan : ""}${f.dst ? " dst " + f.dst : ""}`);
    }
  }
  if (obj.bgp) {
    lines.push(`\nBGP: ${obj.bgp.established}/${obj.bgp.sessions} Established` +
      (obj.bgp.down.length ? `; not running: ${obj.bgp.down.join(", ")}` : ""));
    for (const [a, p] of Object.entries(obj.bgp.peers))
      lines.push(`  ${a} ${p.desc} ${p.state} up ${p.uptime} received ${p.received} sent ${p.sent}`);
  }
  if (obj.ovs) {
    lines.push(`\nOVS bridge ${obj.ovs.bridge} ports:`);
    for (const p of obj.ovs.ports) lines.push(`  ${p.port}${p.vlan != null ? " tag " + p.vlan : " trunk"}`);
    lines.push("fdb (port vlan mac age):");
    for (const f of obj.ovs.fdb) lines.push(`  ${f.port} ${f.vlan} ${f.mac} ${f.age}`);
  }
  return lines.join("\n");
}

cy.on("tap", "node, edge", async evt => {
  const d = evt.target.data();
  const box = document.getElementById("details");
  if (evt.target.isEdge()) {
    box.replaceChildren(el("h2", {}, `link ${d.source} -- ${d.target}`),
      el("pre", {}, JSON.stringify({kind: d.kind, bw: d.bw, delay_ms: d.delay_ms, interface: d.counter, ...d.counters}, null, 1)));
    return;
  }
  box.replaceChildren(el("h2", {}, `node ${d.label}`), el("p", {className: "hint"}, "reading..."));
  const res = await fetch(`/api/node/${encodeURIComponent(d.id)}`);
  const facts = await res.json();
  if (routers[d.id]) facts.bgp = routers[d.id];
  box.replaceChildren(el("h2", {}, `node ${d.label}`), el("pre", {"data-node": d.id}, fmt(facts)));
});

const events = new EventSource("/events");
events.addEventListener("graph", e => apply(JSON.parse(e.data)));
events.addEventListener("counters", e => counters(JSON.parse(e.data)));
events.addEventListener("routing", e => routing(JSON.parse(e.data)));
events.onerror = () => setStatus("lost", "reconnecting");
