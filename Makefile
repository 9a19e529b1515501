# augenmass — the two commands of the README are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CONFIG ?= examples/config
DATA   ?= var
LISTEN ?= 127.0.0.1:8080
DEBIAN_TEST_PACKAGES := monitoring-plugins-basic monitoring-plugins-standard postfix iproute2 openssl chromium \
	bind9-dnsutils
# snmpsim drops root to `nobody`, which must be able to read its venv: as root keep it in /opt
# (a clone under a 0700 home would be unreadable), otherwise beside the repository.
SNMPSIM_VENV ?= $(shell [ "$$(id -u)" = 0 ] && echo /opt/augenmass-snmpsim || echo $(CURDIR)/.venv-snmpsim)
export SNMPSIM_VENV

.PHONY: run test check deps test-deps debian-deps snmpsim bench clean

$(BIN)/augenmass: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

deps: $(BIN)/augenmass

$(VENV)/.test-deps: pyproject.toml $(BIN)/augenmass
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

test-deps: $(VENV)/.test-deps debian-deps snmpsim

# snmpsim serves the recorded SNMP devices in tests; it runs from Debian's Python in its own venv.
snmpsim:
	tests/probes/snmp/snmpsim_env.sh

# Real Nagios plugins for the runner tests; installed only where missing.
debian-deps:
	@missing=""; for p in $(DEBIAN_TEST_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

run: deps
	mkdir -p $(DATA)
	$(BIN)/augenmass run --config $(CONFIG) --data $(DATA) --listen $(LISTEN)

check: $(VENV)/.test-deps
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src

test: test-deps check
	$(BIN)/pytest -q

bench: deps
	$(BIN)/python bench/run_bench.py

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache
