# cloudnet-emu: everyday commands.  On a fresh machine run `sudo ./setup.sh`
# first (or `sudo ./setup.sh test`, which sets up and then runs `make test`).
#
#   make demo         the demo topology
#   make test         all three tiers: unit, then native (root) and VM side by side
#                     (SERIAL=1: one after the other); runs every tier, fails if any failed
#   make test-unit    pure-Python tests, no root needed
#   make test-native  integration tests on this kernel (root)
#   make test-vm      integration tests inside a VM booting a full Debian kernel
#   make test-vm-vpnv4  control=bgp over the MPLS core (VPNv4 + LDP) in that VM (not yet in make test)
#   make bench        the benchmarks (bring-up, attach/detach, VPN throughput) as one table
#   make bench-vm-throughput  bench/throughput.py in that VM: the kernel datapath, VRFs and MPLS
#   make fuzz         the property tests with a long budget (FUZZ_EXAMPLES per property,
#                     random, finds kept in .hypothesis/ for replay); make test-unit runs a short one
#   make clean        remove everything cloudnet-emu left behind
#
# Every test target prints its wall time.  pytest's exit 5 ("no tests were
# collected") is a failure for test-unit and test-native: they always have tests.

VENV   ?= .venv
PYTHON := $(VENV)/bin/python
PYTEST  = $(PYTHON) -m pytest
TOPO   ?= topologies/cloudnet.yaml

.PHONY: setup demo test test-unit test-native test-vm test-vm-vpnv4 fuzz bench bench-vm-throughput clean vagrant-validate

setup:
	./setup.sh

demo:
	$(VENV)/bin/cloudnet-emu demo $(TOPO)

# Run every tier even after a failure, then report and fail if any failed.  The VM tier, the longest, starts first and runs beside
# the unit and native ones (SERIAL=1: after them): software emulation keeps the VM busy on the CPU while the native
# tier mostly waits on packets and daemons, and the two share nothing (the guest has its own kernel,
# /run and /tmp).  The VM runs niced, so the native tier's bursts (iperf3 through shaped links) get the
# CPU when they need it.  The VM tier's lines carry a "[vm] " prefix.
SERIAL ?=
test:
	@failed=""; start=$$(date +%s); rc_vm=$$(mktemp); \
	if [ -n "$(SERIAL)" ]; then \
	    $(MAKE) --no-print-directory test-unit || failed="$$failed test-unit"; \
	    $(MAKE) --no-print-directory test-native || failed="$$failed test-native"; \
	    $(MAKE) --no-print-directory test-vm; echo $$? > $$rc_vm; \
	else \
	    { nice -n 10 $(MAKE) --no-print-directory test-vm 2>&1; echo $$? > $$rc_vm; } | sed -u 's/^/[vm] /' & vm=$$!; \
	    $(MAKE) --no-print-directory test-unit || failed="$$failed test-unit"; \
	    $(MAKE) --no-print-directory test-native || failed="$$failed test-native"; \
	    wait $$vm; \
	fi; \
	[ "$$(cat $$rc_vm)" = 0 ] || failed="$$failed test-vm"; rm -f $$rc_vm; \
	echo "== make test: $$(( $$(date +%s) - start )) s in all"; \
	if [ -n "$$failed" ]; then echo "== make test: FAILED:$$failed"; exit 1; fi; \
	echo "== make test: all tiers passed (test-unit test-native test-vm)"

# $(call timed,NAME,COMMAND): run COMMAND, print its wall time and exit status,
# and exit with that status.  pytest's exit 5 (nothing collected) stays a
# failure and is named as such.
define timed
	@echo "== $(1): $(2)"; \
	start=$$(date +%s.%N); rc=0; $(2) || rc=$$?; \
	secs=$$(echo "$$(date +%s.%N) $$start" | awk '{printf "%.1f", $$1 - $$2}'); \
	if [ $$rc -eq 5 ]; then \
	    echo "== $(1): pytest collected no tests (exit 5): counted as a failure"; \
	fi; \
	echo "== $(1): exit $$rc, wall time $$secs s"; \
	exit $$rc
endef

test-unit:
	$(call timed,test-unit,$(PYTEST) tests/unit -q)

FUZZ_EXAMPLES ?= 5000
fuzz:
	$(call timed,fuzz,CLOUDNET_FUZZ=1 CLOUDNET_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PYTEST) tests/unit/test_fuzz.py -q)

test-native:
	$(call timed,test-native,$(PYTEST) tests/integration -q --durations=15)

test-vm:
	$(call timed,test-vm,scripts/vm-tier tests/integration -m vmtier -v --durations=15)

# control=bgp on the MPLS core (MP-BGP VPNv4 + LDP) in the VM: not yet part of `make test`
test-vm-vpnv4:
	$(call timed,test-vm-vpnv4,scripts/vm-tier tests/integration/test_vpnv4.py -m vpnv4 -v)

bench:
	$(PYTHON) bench/all.py

# software-emulated: the figures are slow, the ratios to the veth pair measured beside them are what count
bench-vm-throughput:
	$(call timed,bench-vm-throughput,scripts/vm-tier --command $(PYTHON) bench/throughput.py)

clean:
	$(VENV)/bin/cloudnet-emu clean

vagrant-validate:
	VAGRANT_CHECKPOINT_DISABLE=1 vagrant validate --ignore-provider
