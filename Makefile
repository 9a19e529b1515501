# augenmass — the two commands of the README are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# `make run` starts on a first configuration written for this machine (`augenmass init`, once);
# `make run CONFIG=examples/config` runs the organisation example instead.
FIRST_RUN := var/first-run
CONFIG ?= $(FIRST_RUN)
DATA   ?= var
LISTEN ?= 127.0.0.1:8080
# nginx: the reverse-proxy test runs its own instance (own config and port, daemon off)
DEBIAN_TEST_PACKAGES := monitoring-plugins-basic monitoring-plugins-standard postfix iproute2 openssl chromium \
	bind9-dnsutils systemd nginx prometheus nats-server
# Installed for their programs only (the reverse-proxy test runs its own nginx, the metrics test
# runs promtool, the worker tests start their own nats-server -js): on a machine with systemd
# their services are stopped and disabled again.
DEBIAN_TEST_DAEMONS := nginx prometheus nats-server
# snmpsim drops root to `nobody`, which must be able to read its venv: as root keep it in /opt
# (a clone under a 0700 home would be unreadable), otherwise beside the repository.
SNMPSIM_VENV ?= $(shell [ "$$(id -u)" = 0 ] && echo /opt/augenmass-snmpsim || echo $(CURDIR)/.venv-snmpsim)
export SNMPSIM_VENV

# Installs come from lock files with hashes (requirements/*.lock, made by `make lock` with uv):
# a fresh clone gets exactly the versions the suite passed with, not whatever was released today.
RUN_LOCK     := requirements/run.lock
TEST_LOCK    := requirements/test.lock
PIP_LOCKED   := $(BIN)/pip install --quiet --require-hashes
# The package itself: no dependencies (the lock has them), built with the locked setuptools.
PIP_SELF     := $(BIN)/pip install --quiet --no-deps --no-build-isolation
LATEST_VENV  := .venv-latest
UV_COMPILE   := $(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command "make lock"

.PHONY: run test check suite-check deps test-deps debian-deps snmpsim bench bench-config clean lock \
	test-latest \
	install docs

$(BIN)/augenmass: pyproject.toml $(RUN_LOCK)
	$(PYTHON) -m venv $(VENV)
	$(PIP_LOCKED) -r $(RUN_LOCK)
	$(PIP_SELF) -e .
	touch $@

deps: $(BIN)/augenmass

$(VENV)/.test-deps: pyproject.toml $(TEST_LOCK) $(BIN)/augenmass
	$(PIP_LOCKED) -r $(TEST_LOCK)
	$(PIP_SELF) -e '.[test]'
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
	  for d in $(DEBIAN_TEST_DAEMONS); do case " $$missing " in *" $$d "*) \
	    $$SUDO systemctl disable --now $$d >/dev/null 2>&1 || true;; esac; done; \
	fi

# Install as a systemd service (docs/install.md): user, /etc/augenmass, /var/lib/augenmass,
# /opt/augenmass/venv from the lock, the unit. Re-run to upgrade; DESTDIR installs into a root.
DESTDIR ?= /
install:
	deploy/install.sh --root $(DESTDIR) --python $(PYTHON)

run: deps
	mkdir -p $(DATA)
	@if [ "$(CONFIG)" = "$(FIRST_RUN)" ]; then \
	  $(BIN)/augenmass init --output $(FIRST_RUN) --listen $(LISTEN); fi
	$(BIN)/augenmass run --config $(CONFIG) --data $(DATA) --listen $(LISTEN)

check: $(VENV)/.test-deps
	$(MAKE) --no-print-directory suite-check BIN=$(BIN)

# The tests run in parallel (pytest-xdist), one worker a core: most of them wait on servers,
# SMTP and plugins, so two workers on two cores halve the suite's time. A file's tests stay on
# one worker (--dist loadfile): they share module fixtures (a built wheel, a venv).
PYTEST_WORKERS ?= auto
PYTEST := pytest -q -n $(PYTEST_WORKERS) --dist loadfile

test: test-deps check
	$(BIN)/$(PYTEST)

# The lint/type/contract part of `make test`, for any venv (BIN=...).
suite-check:
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src
	$(BIN)/lint-imports --no-cache

# Refresh the locks to the newest releases that fit pyproject.toml's ranges; run `make test` after.
lock: $(VENV)/.test-deps
	cd requirements && ../$(UV_COMPILE) --upgrade ../pyproject.toml build.in -o run.lock
	cd requirements && ../$(UV_COMPILE) --upgrade ../pyproject.toml build.in tools.in --extra test \
	  -c run.lock -o test.lock
	cd requirements && ../$(UV_COMPILE) --upgrade snmpsim.in -o snmpsim.lock

# The suite against the newest releases (no lock), in its own venv: shows a breaking upstream
# release before `make lock` takes it in.
test-latest: debian-deps snmpsim
	rm -rf $(LATEST_VENV)
	$(PYTHON) -m venv $(LATEST_VENV)
	$(LATEST_VENV)/bin/pip install --quiet --upgrade pip setuptools wheel
	$(LATEST_VENV)/bin/pip install --quiet --upgrade --upgrade-strategy eager -e '.[test]'
	$(LATEST_VENV)/bin/pip list --format=freeze > $(LATEST_VENV)/versions.txt
	$(MAKE) --no-print-directory suite-check BIN=$(LATEST_VENV)/bin
	$(LATEST_VENV)/bin/$(PYTEST)

# The configuration reference and the editors' JSON Schema, from the models (a test fails when
# the committed files fall behind).
docs: deps
	$(BIN)/augenmass config-reference --output docs/configuration.md
	$(BIN)/augenmass config-reference --json-schema --output docs/augenmass.schema.json

bench: deps
	$(BIN)/python bench/run_bench.py
	$(BIN)/python bench/config_load.py

# Config load time and peak RSS at 10,000 and 50,000 services (bench/RESULTS.md).
bench-config: deps
	$(BIN)/python bench/config_load.py

clean:
	rm -rf $(VENV) $(LATEST_VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache
