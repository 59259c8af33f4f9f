VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-fast bench lint setup clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(PY) -m grading.demo

CHROMIUM := /usr/bin/chromium

$(CHROMIUM):
	# Debian's chromium for the browser tests (Playwright drives it; no browser download)
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

# every test, the browser tests too: before a commit, and what CI runs
test: $(STAMP) $(CHROMIUM)
	$(PY) -m pytest

# while editing: all but the slow, browser and fuzz tests (markers in pyproject.toml); the
# e2e and fuzz folders are not even collected, nor the fuzzers' plugin loaded (seconds each)
test-fast: $(STAMP)
	$(PY) -m pytest -p no:schemathesis -m "not slow and not e2e and not fuzz" tests/unit tests/integration

bench: $(STAMP)
	$(PY) bench/run.py $(SIZE)

lint: $(STAMP)
	$(VENV)/bin/ruff check grading tests bench
	$(VENV)/bin/ruff format --check grading tests bench
	$(VENV)/bin/mypy grading

clean:
	rm -rf $(VENV) instance/*.db
