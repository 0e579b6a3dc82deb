# Shequ developer commands. `make` alone lists them. Nothing here prompts for input.

UV ?= uv
PYTHON ?= python3
PYTEST_ARGS ?=
PG_HOST ?= 127.0.0.1
PG_PORT ?= 5432

# `pip install --user uv` puts uv in ~/.local/bin, which a fresh shell may not have on PATH.
export PATH := $(HOME)/.local/bin:$(PATH)
# Never rewrite uv.lock from here; a stale lock is an error to fix by hand (`uv lock`).
RUN := $(UV) run --frozen

.DEFAULT_GOAL := help
.PHONY: help install browser promtool redis wrk dev stop test test-unit lint format schemas clean

help: ## List the targets
	@echo "Shequ: make <target>"
	@grep -hE '^[a-z][a-zA-Z_-]*:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  %-10s %s\n", $$1, $$2}'

install: ## Install uv if missing, then every package and dev tool into .venv
	@if ! command -v $(UV) >/dev/null 2>&1; then \
		echo "uv not found; installing it with pip"; \
		$(PYTHON) -m pip install --user --quiet uv 2>/dev/null \
		|| $(PYTHON) -m pip install --user --quiet --break-system-packages uv \
		|| pip install --quiet uv \
		|| { echo "Could not install uv with pip; see https://docs.astral.sh/uv/" >&2; exit 1; }; \
	fi
	@command -v $(UV) >/dev/null 2>&1 || { echo "uv installed but not on PATH ($(PATH))" >&2; exit 1; }
	$(UV) sync --all-packages --frozen

dev: install ## Run the broker and all five services (Ctrl-C stops them)
	$(RUN) shequ dev up

stop: ## Stop what `make dev` started
	$(RUN) shequ dev stop

browser: ## Install Debian's chromium and a Chinese font for the browser tests if missing (root or sudo)
	@if ! command -v chromium >/dev/null 2>&1; then \
		echo "chromium not found; installing Debian's package"; \
		SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo "sudo -n" ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium \
		|| { echo "Could not install chromium (apt-get install chromium)" >&2; exit 1; }; \
	fi
	@if command -v fc-list >/dev/null 2>&1 && [ -z "$$(fc-list :lang=zh family)" ]; then \
		echo "no Chinese font: installing fonts-wqy-microhei for the zh-CN dashboard screenshots"; \
		SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo "sudo -n" ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq fonts-wqy-microhei \
		|| { echo "Could not install fonts-wqy-microhei (apt-get install fonts-wqy-microhei)" >&2; exit 1; }; \
	fi

# promtool alone, from Debian's `prometheus` package, unpacked into .venv/bin (on PATH under
# `uv run`): no Prometheus server is installed or started.
promtool: install ## Put promtool (Debian's prometheus package) in .venv/bin for the alert-rule tests
	@if ! command -v promtool >/dev/null 2>&1 && [ ! -x .venv/bin/promtool ]; then \
		echo "promtool not found; unpacking it from Debian's prometheus package into .venv/bin"; \
		SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo "sudo -n" ); \
		tmp=$$(mktemp -d) && cd "$$tmp" \
		&& { apt-get download prometheus >/dev/null 2>&1 \
			|| { $$SUDO apt-get update -qq && apt-get download prometheus; }; } \
		&& dpkg-deb -x prometheus_*.deb root && cd "$(CURDIR)" \
		&& install -m 0755 "$$tmp/root/usr/bin/promtool" .venv/bin/promtool && rm -rf "$$tmp" \
		|| { echo "Could not unpack promtool (apt-get download prometheus)" >&2; rm -rf "$$tmp"; exit 1; }; \
	fi

test: install browser promtool redis ## Run every test (needs PostgreSQL on 127.0.0.1:5432; .ci/run starts it)
	@command -v pg_isready >/dev/null 2>&1 || { \
		echo "pg_isready not found: the tests need PostgreSQL on $(PG_HOST):$(PG_PORT)." >&2; \
		echo "Install and start it (apt-get install postgresql), or run .ci/run." >&2; exit 1; }
	@pg_isready -q -h $(PG_HOST) -p $(PG_PORT) || { \
		echo "PostgreSQL is not reachable at $(PG_HOST):$(PG_PORT); start it" >&2; \
		echo "(pg_ctlcluster --skip-systemctl-redirect <version> main start), or run .ci/run." >&2; \
		exit 1; }
	$(RUN) pytest -q -p no:cacheprovider $(PYTEST_ARGS)

test-unit: install ## Unit tests only: no PostgreSQL, broker or browser, under a minute (one worker per CPU)
	$(RUN) pytest -q -p no:cacheprovider -m unit -n auto $(PYTEST_ARGS)

lint: install ## ruff (lint and format check) and mypy --strict
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy shared/src services/*/src

format: install ## Rewrite the code with ruff (format and safe fixes)
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

redis: ## Install Debian's redis-server (the rate-limit tests start their own) if it is missing (root or sudo)
	@if ! command -v redis-server >/dev/null 2>&1; then \
		echo "redis-server not found; installing Debian's package"; \
		SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo "sudo -n" ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq redis-server \
		|| { echo "Could not install redis-server (apt-get install redis-server)" >&2; exit 1; }; \
	fi

wrk: ## Install Debian's wrk (HTTP load generator of the API bench) if it is missing (root or sudo)
	@if ! command -v wrk >/dev/null 2>&1; then \
		echo "wrk not found; installing Debian's package"; \
		SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo "sudo -n" ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq wrk \
		|| { echo "Could not install wrk (apt-get install wrk)" >&2; exit 1; }; \
	fi

schemas: install ## Regenerate docs/events/*.json, docs/asyncapi.yaml and the events catalogue
	$(RUN) shequ schemas

clean: ## Delete var/ (databases, logs) and caches; keeps .venv
	@if ls var/run/*.pid >/dev/null 2>&1; then \
		echo "var/run holds pid files: run \`make stop\` first." >&2; exit 1; fi
	rm -rf var test-artifacts .pytest_cache .mypy_cache .ruff_cache
	find . -path ./.venv -prune -o -type d -name __pycache__ -exec rm -rf {} +

# Targets of one area each (deploy, chaos, benchmarks, ...) live in mk/*.mk, so that work on one
# area does not touch this file. A file there may add prerequisites to `test` or `lint`
# (`test: check-deploy`).
include $(wildcard mk/*.mk)
