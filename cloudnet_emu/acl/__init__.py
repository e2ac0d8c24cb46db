"""Access controls inside a VPC: rules, their validation, their nft form, their probes.

    model.py    what a VPC's `acl:` may say (pydantic)
    checks.py   relations to the topology: VM/site names, ports only with tcp/udp, L3VPN only
    nft.py      rules + resolved addresses -> one `table inet cloudnet_acl` (text for `nft -f -`)
    pe.py       the Network Manager's part: which PEs, which namespace, apply / read counters
    flow.py     the `flow` check: real TCP/UDP/ICMP probes and the counter deltas they caused

Names in the kernel: table `inet cloudnet_acl` in each PE namespace (kernel VRF) or VRF
namespace `<pe>.<tenant>` (fallback); chain `vrf_<tenant>` per tenant VRF, chain `vpc_<vpc>`
per VPC; named counters `<vpc>__<rule>` and `<vpc>__default` ('-' written as '_').  The
tables live in our namespaces, so they die with them on `down`/`clean`.
"""
