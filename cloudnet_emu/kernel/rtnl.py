"""An rtnetlink handle whose commonest requests skip pyroute2's per-call machinery.

pyroute2 0.9 costs about 1 ms per request here (its asyncio core), a raw netlink round trip about
0.05 ms; an attach makes a few dozen.  The requests that are the same few bytes every time go
straight to the socket: the index of an interface by name, an interface up, an interface deleted,
an interface told to make no IPv6 address (NO_IPV6_ADDRESSES), an IPv4 address added, an IPv4
route via a gateway replaced, an IPv4 route deleted by prefix and table.  Everything else
(creating links of every kind, other routes, dumps) is pyroute2's, through a full IPRoute opened
on the first such call.  Errors are pyroute2's NetlinkError either way, so callers test
`exc.code` as before.
"""
from __future__ import annotations

import socket
import struct
from typing import Optional

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK, RTM_NEWADDR, RTM_NEWROUTE, RTM_DELROUTE = 16, 17, 18, 20, 24, 25
NLMSG_ERROR = 2
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE, NLM_F_REPLACE = 1, 4, 0x200, 0x400, 0x100
IFLA_IFNAME, IFLA_AF_SPEC, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE = 3, 26, 8, 1
NLA_F_NESTED = 0x8000
IFA_ADDRESS, IFA_LOCAL = 1, 2
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_TABLE = 1, 4, 5, 6, 15
RTPROT_STATIC, RTN_UNICAST, RTN_BLACKHOLE, RT_TABLE_MAIN, RT_TABLE_COMPAT, RT_SCOPE_NOWHERE = 4, 1, 6, 254, 252, 255
IFF_UP = 1
_HDR = struct.Struct("=IHHII")          # nlmsghdr: length, type, flags, sequence, port
_IFI = struct.Struct("=BxHiII")         # ifinfomsg: family, type, index, flags, change
_IFA = struct.Struct("=BBBBi")          # ifaddrmsg: family, prefixlen, flags, scope, index
_RTM = struct.Struct("=BBBBBBBBI")      # rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags


# link("set", index=..., IFLA_AF_SPEC=NO_IPV6_ADDRESSES) before the interface goes up: it then makes
# no link-local address, so it sends no duplicate address detection, router solicitation or MLD
# report; pyroute2's form of `ip link set DEV addrgenmode none`.
NO_IPV6_ADDRESSES = {"attrs": [("AF_INET6", {"attrs": [("IFLA_INET6_ADDR_GEN_MODE", IN6_ADDR_GEN_MODE_NONE)]})]}


def _attr(kind: int, payload: bytes) -> bytes:
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * ((4 - length % 4) % 4)


class Handle:
    def __init__(self, sock: socket.socket, spare: socket.socket, inet: socket.socket):
        """Sockets opened in the wanted namespace (one entry into it): two NETLINK_ROUTE ones, ours
        and the one a full IPRoute gets if one is needed, and `inet`, a UDP socket for the
        interface ioctls (ethtool) there.  close() closes them all (an open socket would keep a
        deleted namespace alive)."""
        self._sock, self._spare, self.inet = sock, spare, inet
        self._sock.bind((0, 0))
        self._seq = 0
        self._ipr: Optional[IPRoute] = None

    # --- the raw requests -------------------------------------------------------------
    def _request(self, kind: int, flags: int, body: bytes) -> bytes:
        self._seq += 1
        seq = self._seq
        self._sock.send(_HDR.pack(_HDR.size + len(body), kind, flags, seq, 0) + body)
        while True:
            data = self._sock.recv(65536)
            offset = 0
            while offset + _HDR.size <= len(data):
                length, mtype, _, mseq, _ = _HDR.unpack_from(data, offset)
                if mseq == seq:
                    if mtype == NLMSG_ERROR:
                        code = -struct.unpack_from("=i", data, offset + _HDR.size)[0]
                        if code:
                            raise NetlinkError(code)
                        return b""
                    return data[offset:offset + length]
                offset += max(length, _HDR.size)

    def link_lookup(self, **kw) -> list[int]:
        if set(kw) != {"ifname"}:
            return self._full().link_lookup(**kw)
        body = _IFI.pack(socket.AF_UNSPEC, 0, 0, 0, 0) + _attr(IFLA_IFNAME, kw["ifname"].encode() + b"\0")
        try:
            reply = self._request(RTM_GETLINK, NLM_F_REQUEST, body)
        except NetlinkError:            # ENODEV: no such interface
            return []
        return [_IFI.unpack_from(reply, _HDR.size)[2]]

    def link(self, command: str, **kw):
        if command == "set" and set(kw) == {"index", "state"} and kw["state"] in ("up", "down"):
            up = IFF_UP if kw["state"] == "up" else 0
            return self._request(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK,
                                 _IFI.pack(socket.AF_UNSPEC, 0, kw["index"], up, IFF_UP))
        if command == "set" and set(kw) == {"index", "IFLA_AF_SPEC"} and kw["IFLA_AF_SPEC"] == NO_IPV6_ADDRESSES:
            spec = _attr(socket.AF_INET6 | NLA_F_NESTED,
                         _attr(IFLA_INET6_ADDR_GEN_MODE, bytes([IN6_ADDR_GEN_MODE_NONE])))
            return self._request(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, _IFI.pack(socket.AF_UNSPEC, 0, kw["index"], 0, 0)
                                 + _attr(IFLA_AF_SPEC | NLA_F_NESTED, spec))
        if command == "del" and set(kw) == {"index"}:
            return self._request(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, _IFI.pack(socket.AF_UNSPEC, 0, kw["index"], 0, 0))
        return self._full().link(command, **kw)

    def addr(self, command: str, **kw):
        """`add` of one IPv4 address (local = address, as pyroute2 and `ip addr add` make it)."""
        if command == "add" and set(kw) == {"index", "address", "prefixlen"} and ":" not in kw["address"]:
            addr = socket.inet_aton(kw["address"])
            body = _IFA.pack(socket.AF_INET, kw["prefixlen"], 0, 0, kw["index"]) + \
                _attr(IFA_LOCAL, addr) + _attr(IFA_ADDRESS, addr)
            return self._request(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, body)
        return self._full().addr(command, **kw)

    def route(self, command: str, **kw):
        """`replace` of an IPv4 unicast route via a gateway, or of a blackhole route (protocol static,
        scope universe: what pyroute2 makes of the same call), `del` by prefix and table; other
        routes and commands go to pyroute2."""
        blackhole = kw.get("type") == "blackhole" and not kw.get("gateway")
        if blackhole:
            kw = {k: v for k, v in kw.items() if k not in ("type", "gateway")}
        if command == "replace" and (kw.get("gateway") or blackhole) and \
                set(kw) <= {"dst", "gateway", "oif", "table", "priority"} and ":" not in kw["dst"]:
            net, _, plen = kw["dst"].partition("/")
            table = kw.get("table") or RT_TABLE_MAIN
            plen = int(plen) if plen else 32
            body = _RTM.pack(socket.AF_INET, plen, 0, 0, table if table < 256 else RT_TABLE_COMPAT,
                             RTPROT_STATIC, 0, RTN_BLACKHOLE if blackhole else RTN_UNICAST, 0) + \
                _attr(RTA_TABLE, struct.pack("=I", table))
            if plen:
                body += _attr(RTA_DST, socket.inet_aton(net))
            if not blackhole:
                body += _attr(RTA_GATEWAY, socket.inet_aton(kw["gateway"]))
            if kw.get("oif") is not None:
                body += _attr(RTA_OIF, struct.pack("=i", kw["oif"]))
            if kw.get("priority") is not None:
                body += _attr(RTA_PRIORITY, struct.pack("=I", kw["priority"]))
            return self._request(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, body)
        if command == "del" and set(kw) <= {"dst", "table"} and ":" not in kw.get("dst", ":"):
            # as `ip route del` asks: any scope, protocol and type, by prefix and table
            net, _, plen = kw["dst"].partition("/")
            table = kw.get("table") or RT_TABLE_MAIN
            plen = int(plen) if plen else 32
            body = _RTM.pack(socket.AF_INET, plen, 0, 0, table if table < 256 else RT_TABLE_COMPAT, 0,
                             RT_SCOPE_NOWHERE, 0, 0) + _attr(RTA_TABLE, struct.pack("=I", table))
            if plen:
                body += _attr(RTA_DST, socket.inet_aton(net))
            return self._request(RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK, body)
        return self._full().route(command, **kw)

    # --- everything else: pyroute2 -------------------------------------------------------
    def _full(self) -> IPRoute:
        if self._ipr is None:
            self._ipr, self._spare = IPRoute(use_socket=self._spare), None
        return self._ipr

    def __getattr__(self, name):
        return getattr(self._full(), name)

    def close(self) -> None:
        self._sock.close()
        self.inet.close()
        if self._spare is not None:
            self._spare.close()
        if self._ipr is not None:
            self._ipr.close()
