# Everything bootstraps itself: the venv, the packages and the Kafka jars.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# Extra pytest arguments, e.g. `make test PYTEST_ARGS=tests/strategies`.
PYTEST_ARGS ?=
# pytest-xdist workers: most tests wait on a broker or a worker subprocess, not a core, so
# more workers than cores pay off; the Kubernetes tests stay on one worker (their group).
TEST_WORKERS ?= 4

.PHONY: test coverage fuzz demo lint kafka-jars kube-bins kube-bins-background coverage-report bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

kafka-jars: $(INSTALLED)
	$(BIN)/tmc-recovery kafka fetch

# The main job on the local default: a broker, a simulated fleet and one worker, playing a
# scripted incident per strategy; exits 0 only when every incident ends as expected.
demo: kafka-jars
	$(BIN)/python -m streams.demo

# kube-apiserver and etcd for tests/kube, built from the Go module proxy once per machine
# (minutes) into ~/.cache/tmc-recovery/kube/, keyed by tests/kube/apiserver/go.sum.
kube-bins:
	$(PYTHON) -m tests.kube.build

# The same build started at nice 19 and left running, first thing in `make test`, so it
# overlaps the venv, the jars, lint and the suite; the Kubernetes tests wait for it.
kube-bins-background:
	@$(PYTHON) -m tests.kube.build --background

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The whole suite, in TEST_WORKERS xdist workers.
test: kube-bins-background lint kafka-jars
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

# The same suite under coverage (configured in pyproject.toml: branches, and the worker
# subprocesses too): a third slower, so not what CI runs. The report is printed whether the
# suite passed or not, and the suite's exit status is kept.
coverage: kube-bins-background lint kafka-jars
	$(BIN)/coverage erase
	$(BIN)/coverage run -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS) || { \
		status=$$?; $(MAKE) --no-print-directory coverage-report; exit $$status; }
	@$(MAKE) --no-print-directory coverage-report

# The decoder fuzzing at full depth (make test runs 30% of its examples).
fuzz: $(INSTALLED)
	TMC_FUZZ_DEPTH=1 $(BIN)/python -m pytest tests/schemas/test_fuzz.py -q

# Lines and branches per file, then the totals for the code and for each package.
define COVERAGE_SUMMARY
import json, sys, tempfile
import coverage

cov = coverage.Coverage()
cov.load()
with tempfile.TemporaryDirectory() as tmp:
    cov.json_report(outfile=tmp + "/coverage.json")
    with open(tmp + "/coverage.json") as report:
        files = json.load(report)["files"]

def line(label, prefix):
    sums = [0, 0, 0, 0]
    for name, data in files.items():
        if name.startswith(prefix):
            s = data["summary"]
            sums[0] += s["covered_lines"]
            sums[1] += s["num_statements"]
            sums[2] += s["covered_branches"]
            sums[3] += s["num_branches"]
    lines, statements, branches, all_branches = sums
    pct = lambda a, b: 100.0 * a / b if b else 100.0
    print(
        f"{label:<12} lines {pct(lines, statements):5.1f}% ({lines}/{statements})"
        f"   branches {pct(branches, all_branches):5.1f}% ({branches}/{all_branches})"
        f"   total {pct(lines + branches, statements + all_branches):5.1f}%"
    )

print("coverage (the worker subprocesses included):")
line("total", "")
for package in ("streams/", "strategies/", "schemas/"):
    line(package, package)
endef
export COVERAGE_SUMMARY

# Merges the per-process data files into .coverage (again if run again after more tests).
coverage-report: $(INSTALLED)
	@if ls .coverage.* >/dev/null 2>&1; then $(BIN)/coverage combine --quiet --append; fi
	$(BIN)/coverage report
	@$(BIN)/python -c "$$COVERAGE_SUMMARY"

bench: $(INSTALLED) kafka-jars
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .coverage .coverage.* htmlcov
