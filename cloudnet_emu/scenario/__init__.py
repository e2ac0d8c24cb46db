"""Scenarios: a topology, a list of steps (attach, detach, migrate, link down/up, wait,
check) and final checks, run end to end with a report (report.json, JUnit report.xml)."""
