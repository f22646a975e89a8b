# movie-recs: `make demo` runs the nightly end to end on the local default,
# `make test` runs lint and the whole test suite. Both set up what is missing
# first; every setup step is skipped when its output is already up to date.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .cache/stamps
# Setup steps run side by side where nothing orders them: the Python packages,
# the jars and Debian's packages download at once, lint runs beside the class
# archive. The apt-get steps (one dpkg lock) and the Maven copies (one local
# repository) go one at a time, by the order-only prerequisites below.
MAKEFLAGS += --jobs=4

.PHONY: setup demo test lint format nightly services-stop lock clean-state

setup: $(STAMPS)/venv $(STAMPS)/spark-jars $(STAMPS)/class-archive $(STAMPS)/s3proxy-jars $(STAMPS)/postgres \
	$(STAMPS)/native-blas

# Python packages, pinned by requirements.lock; the project root goes on the
# venv's path so `movie_recs` and the `dbt_spark_session` dbt plugin import.
$(STAMPS)/venv: requirements.lock
	@mkdir -p $(STAMPS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-compile -r requirements.lock
	@# the bytecode on both cores: pip compiles on one (16 s more, benchmark 6)
	$(PY) -m compileall -q -j 2 $(VENV)/lib >/dev/null || true  # as pip: a file that fails is compiled at import
	$(PY) -c "import sysconfig, pathlib; pathlib.Path(sysconfig.get_paths()['purelib'], 'movie_recs.pth').write_text('$(CURDIR)\n')"
	@touch $@

# Delta, hadoop-aws + AWS SDK, PostgreSQL JDBC: exact versions in the pom.
$(STAMPS)/spark-jars: setup/jars/pom.xml
	@mkdir -p $(STAMPS)
	rm -rf .cache/jars
	mvn --batch-mode --quiet -f setup/jars/pom.xml dependency:copy-dependencies \
	    -DexcludeTransitive=true -Dmdep.stripVersion=true -DoutputDirectory=$(CURDIR)/.cache/jars
	@touch $@

# Spark's classes pre-parsed for every run's JVM (about 10 s of a small night).
$(STAMPS)/class-archive: $(STAMPS)/venv $(STAMPS)/spark-jars profiles/profiles.yml movie_recs/lake/class_archive.py
	$(PY) -m movie_recs.lake.class_archive
	@touch $@

$(STAMPS)/s3proxy-jars: setup/s3proxy/pom.xml | $(STAMPS)/spark-jars
	@mkdir -p $(STAMPS)
	rm -rf .cache/s3proxy
	mvn --batch-mode --quiet -f setup/s3proxy/pom.xml dependency:copy-dependencies \
	    -DincludeScope=runtime -DoutputDirectory=$(CURDIR)/.cache/s3proxy
	@touch $@

# Debian's PostgreSQL server, unless one is installed (or PGHOST names a server).
$(STAMPS)/postgres:
	@mkdir -p $(STAMPS)
	if [ -z "$$PGHOST" ] && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; \
	fi
	@touch $@

# Debian's OpenBLAS (as libblas.so.3 and liblapack.so.3), unless installed:
# Spark's ALS loads it when present and fits 1.6 times as fast as on its Java
# fallback (BENCHMARKS.md, benchmark 2). Without root, ALS runs on the fallback.
$(STAMPS)/native-blas: | $(STAMPS)/postgres
	@mkdir -p $(STAMPS)
	if ! ldconfig -p | grep -q libopenblas; then \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas0-pthread; } \
	    || echo "OpenBLAS not installed: ALS will run on Java's BLAS, slower"; \
	fi
	@touch $@

# Debian's Chromium: the report test renders the HTML report in a real browser.
$(STAMPS)/chromium: | $(STAMPS)/native-blas
	@mkdir -p $(STAMPS)
	if ! command -v chromium >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	fi
	@touch $@

# demo-data replaces the inputs, so the night is rerun even if that date already ran.
demo: setup
	$(PY) orchestrate.py demo-data
	$(PY) orchestrate.py nightly --force
	$(PY) orchestrate.py status

nightly: setup
	$(PY) orchestrate.py nightly

lint: $(STAMPS)/venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/sqlfluff lint models tests/generic macros

format: $(STAMPS)/venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
	$(VENV)/bin/sqlfluff fix models tests/generic macros

test: setup $(STAMPS)/chromium lint
	$(VENV)/bin/pytest

services-stop: $(STAMPS)/venv
	$(PY) orchestrate.py services stop

# Re-resolve the pins after editing requirements.in.
lock:
	rm -rf .cache/lock-venv
	$(PYTHON) -m venv .cache/lock-venv
	.cache/lock-venv/bin/pip install --quiet -r requirements.in
	.cache/lock-venv/bin/pip freeze > requirements.lock
	rm -rf .cache/lock-venv

clean-state: services-stop
	rm -rf .state target logs
