# weightspace — two commands on a fresh machine (Python >= 3.10 with venv):
#
#   make reproduce   set up .venv, check the config, then run the quick preset (offline, CPU, minutes):
#                    tables in results/quick/, figures in figures/quick/
#   make test        set up .venv, then run the test suite (what CI runs)
#
# More:  make full (the paper grid, config.yaml)   make dry-run   make slurm
# TORCH chooses the PyTorch wheels, e.g.  make reproduce TORCH="torch torchvision"
# CONFIG: the preset(s) make reproduce merges over config.yaml, e.g.  make reproduce CONFIG="config/quick.yaml my.yaml"
# SLURM_ARGS adds to `make slurm`, e.g.  make slurm SLURM_ARGS="--default-resources slurm_partition=normal runtime=30 mem_mb=4096"

PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.14.1 torchvision==0.29.1
CONFIG ?= config/quick.yaml
CORES ?= all
PYTEST_ARGS ?=
# test processes (pytest-xdist); each test file runs in one of them (its module fixtures, e.g. the local SLURM, once)
TEST_WORKERS ?= 2
SLURM_ARGS ?=
BIN := $(VENV)/bin
STAMP := $(VENV)/.weightspace-installed

.PHONY: setup reproduce full dry-run slurm test report clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e '.[test,slurm]'
	@touch $@
	@echo "environment ready in $(VENV)"

reproduce: setup
	$(BIN)/weightspace validate config.yaml $(CONFIG)
	$(BIN)/snakemake --cores $(CORES) --configfile $(CONFIG)

full: setup
	$(BIN)/snakemake --cores $(CORES)

dry-run: setup
	$(BIN)/snakemake -n --cores $(CORES)

slurm: setup
	$(BIN)/snakemake --profile profiles/slurm $(SLURM_ARGS)

report: setup
	$(BIN)/snakemake --cores $(CORES) --configfile config/quick.yaml --report results/quick/report.html

test: setup
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

clean:
	rm -rf results/quick figures/quick .snakemake
