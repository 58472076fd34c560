# Set-up and everyday commands. `make demo` and `make test` create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench mutation photos clean

$(STAMP): setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip setuptools wheel
	$(BIN)/pip install -q torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install -q --no-build-isolation basicsr==1.4.2
	$(BIN)/pip install -q -e '.[test,sam,pyiqa,basicsr]'
	# basicsr pulls tb-nightly, whose second copy of tensorboard's plugin entry points stops
	# `tensorboard` from starting ("Duplicate plugins"); keep the release only.
	$(BIN)/pip uninstall -q -y tb-nightly
	$(BIN)/pip install -q --force-reinstall --no-deps tensorboard
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/panda demo

test: $(STAMP)
	$(BIN)/python -m pytest -q tests research

bench: $(STAMP)
	$(BIN)/python -m benchmarks.panda.bench_generation
	$(BIN)/python -m benchmarks.panda.measure_scorers

# Deliberate breakages of a temporary copy of the package, each caught by the tests or not.
mutation: $(STAMP)
	$(BIN)/python benchmarks/mutation_smoke.py --markdown docs/results/panda/mutation.md

# Training and held-out photographs from pinned Debian wallpaper packages (see docs/training.md).
photos: $(STAMP)
	$(BIN)/python -m panda_plugin.engine.data.photos datasets/photos

clean:
	rm -rf $(VENV) demo_output .pytest_cache *.egg-info
