# stormcheck: `make run` sets everything up and runs the main job; `make test` sets everything up
# and runs the tests. Tiers (design §7): check < test < test-nightly; bench apart.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
PYTEST := $(BIN)/pytest
BOOTSTRAP := scripts/bootstrap.sh
XDIST := -n 2 --dist loadfile

.PHONY: help setup engine tools images run check lint test test-nightly bench ci-cold clean

help:
	@echo "make run           set everything up, run the main job on the local platform"
	@echo "make test          set everything up, run static checks, unit, integration and e2e tests"
	@echo "make check         static checks and unit tests (tier 0)"
	@echo "make test-nightly  everything, including the whole fault catalogue (tier 2)"
	@echo "make bench         benchmarks (results under benchmarks/results/)"
	@echo "make ci-cold       make test with the project's images and every cache removed"

setup:
	$(BOOTSTRAP) python

engine: setup
	$(BOOTSTRAP) engine

tools: setup
	$(BOOTSTRAP) tools

images: engine
	$(BOOTSTRAP) images

run: images tools
	$(BIN)/stormcheck run

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

check: lint tools
	$(PYTEST) $(XDIST) -m "unit or static"

test: check images tools
	$(PYTEST) -m "integration or e2e"

test-nightly: check images tools
	$(PYTEST) -m "not benchmark"

bench: images tools
	$(BIN)/python -m benchmarks

# A fresh machine, as far as this one can pretend to be one: the project's images and build cache
# removed, and every package cache (pip, uv, Go, npm, Maven, stormcheck's own) new and empty.
# The running Docker engine is kept: a second one must never be started. `make ci-cold
# COLD_TARGET=run` times a new user's first `make run` the same way.
COLD_TARGET ?= test
ci-cold:
	@cold=$$(mktemp -d /tmp/stormcheck-cold.XXXXXX); echo "cold caches in $$cold"; \
	if docker info >/dev/null 2>&1; then \
	    docker images -q --filter label=stormcheck.managed=true | sort -u | xargs -r docker rmi -f >/dev/null 2>&1 || true; \
	    docker builder prune -af >/dev/null 2>&1 || true; \
	    echo "removed the project's images: $$(docker images -q --filter label=stormcheck.managed=true | wc -l) left"; \
	fi; \
	rm -rf $(VENV); \
	start=$$(date +%s); \
	env XDG_CACHE_HOME=$$cold/xdg UV_CACHE_DIR=$$cold/uv PIP_CACHE_DIR=$$cold/pip \
	    GOPATH=$$cold/go GOMODCACHE=$$cold/go/mod GOCACHE=$$cold/go/build \
	    npm_config_cache=$$cold/npm MAVEN_OPTS="-Dmaven.repo.local=$$cold/m2" \
	    $(MAKE) $(COLD_TARGET); status=$$?; \
	echo "ci-cold: make $(COLD_TARGET) exited $$status from cold caches in $$(( $$(date +%s) - start )) s"; \
	rm -rf $$cold; exit $$status

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache reports/runs reports/allure-results
