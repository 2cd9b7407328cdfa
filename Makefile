# Oplot: `make up` runs the product locally, `make test` runs the whole test suite.
VENV        ?= .venv
STATE_DIR   ?= .state
BIN         := $(VENV)/bin

.PHONY: up down status test bench lint bootstrap

bootstrap:
	@deploy/local/bootstrap.sh

up: bootstrap
	@$(BIN)/oplot-stack --state-dir $(STATE_DIR) up

down:
	@if [ -x $(BIN)/oplot-stack ]; then $(BIN)/oplot-stack --state-dir $(STATE_DIR) down; \
	else echo "nothing to stop (no venv)"; fi

status:
	@$(BIN)/oplot-stack --state-dir $(STATE_DIR) status

test: bootstrap
	@$(BIN)/python -m pytest

bench: bootstrap
	@$(BIN)/python benchmarks/messaging.py
	@OPENSSL_CONF= $(BIN)/python benchmarks/gost_bench.py
	@$(BIN)/python benchmarks/files.py

lint: bootstrap
	@$(BIN)/ruff check .
