# Nexus Console: `make demo` opens the console on the bundled reference server; `make test` runs everything.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup demo demo-stop demo-screenshot test bench package lint format clean

setup:
	@bash scripts/setup.sh

demo: setup
	@bash scripts/demo.sh

# stops a demo stack a killed `make demo` left running (make demo stops its own when the console exits)
demo-stop: setup
	@$(PY) scripts/demo_stack.py down

demo-screenshot: setup
	@bash scripts/demo.sh --screenshot docs/demo.png

test: setup
	@bash scripts/test.sh

# wheels, desktop metadata, a pipx install and the standalone bundle, each smoke-checked (packaging/README.md)
package: setup
	@bash scripts/package.sh

bench: setup
	@QT_QPA_PLATFORM=offscreen $(PY) -m benchmarks.run $(BENCH)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache benchmarks/out
