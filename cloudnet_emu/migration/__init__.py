"""WAN live migration over VPLS (Figure 3): the orchestration lives in migrate.py, the
programs that run inside the namespaces (pre-copy stream, probe stream, workload,
gratuitous ARP, sniffers) in agent.py."""
