# Entry points. `make bench` regenerates docs/performance.md (about 10-15 minutes on 2 cores).
PYTHON ?= .venv/bin/python

.PHONY: test run-local bench

test:
	bash scripts/test.sh

run-local:
	bash scripts/run-local.sh

bench:
	$(PYTHON) -m benchmarks.run_all
