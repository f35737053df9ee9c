# RollCall. `make run` starts the platform, `make test` runs every check CI runs,
# `make bench*` run the benchmarks (benchmarks/README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Tests use the real PostgreSQL and Redis that this kind of machine runs (see .ci/run).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_BROKER_URL ?= redis://127.0.0.1:6379/15

.PHONY: install run test test-fast typecheck lint format bench bench-detection bench-variants bench-fusion bench-openset bench-attendance bench-load bench-capacity demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# A developer's and CI's venv: the runtime set (requirements.txt) plus tests and tools.
$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# The browser tests serve axe-core (pinned in package-lock.json) to the page: no CDN.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

run: install
	bash scripts/run

TEST_ENV := DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) \
	CELERY_RESULT_BACKEND=$(TEST_BROKER_URL)
# The suite runs in TEST_WORKERS pytest-xdist processes (each on its own test database,
# test_<name>_gw0, ...). Each file is one xdist group and every real-worker test is in one group
# (tests/conftest.py), so module fixtures are built once and one session worker starts per run.
# TEST_WORKERS=0 runs it in this one process.
TEST_WORKERS ?= 2
XDIST := $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadgroup)

test: install node_modules/.package-lock.json
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MAKE) --no-print-directory typecheck
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/python manage.py makemigrations --check --dry-run
	$(TEST_ENV) $(BIN)/pytest $(XDIST) $(PYTEST_ARGS)

# Day-to-day, in under 2 minutes: everything but the browser, real-worker, schema-fuzz and
# face-model ("slow": any test that loads the models is marked so, tests/conftest.py) tests.
# CI runs them all (`make test`).
test-fast: install
	$(TEST_ENV) $(BIN)/pytest $(XDIST) -m "not browser and not worker and not fuzz and not slow" $(PYTEST_ARGS)

# The library and the domain layer are typed; mypy with django-stubs keeps them honest.
typecheck: install
	$(BIN)/mypy facerec/ attendance/services/ attendance/selectors/

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

# The LFW table, then the open-set table with issue 10's targets.
bench: install
	$(BIN)/python -m benchmarks lfw $(BENCH_ARGS)
	$(BIN)/python -m benchmarks detection $(BENCH_ARGS)
	$(BIN)/python -m benchmarks openset

bench-detection: install
	$(BIN)/python -m benchmarks detection $(BENCH_ARGS)

bench-openset: install
	$(BIN)/python -m benchmarks openset $(BENCH_ARGS)

bench-variants: install
	$(BIN)/python -m benchmarks variants $(BENCH_ARGS)

bench-fusion: install
	$(BIN)/python -m benchmarks fusion $(BENCH_ARGS)

bench-attendance: install
	$(BIN)/python -m benchmarks attendance $(BENCH_ARGS)

# Reports under load: a 300 x 60 course, 20 concurrent clients, gunicorn on 127.0.0.1.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/rollcall_bench
bench-load: install
	$(BIN)/python -m benchmarks reports --database-url $(BENCH_DATABASE_URL) $(BENCH_ARGS)

# Photos per minute, latency and peak memory with 1 then 2 workers (README "Scaling").
BENCH_CAPACITY_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/rollcall_capacity
BENCH_CAPACITY_BROKER_URL ?= redis://127.0.0.1:6379/14
bench-capacity: install
	DATABASE_URL=$(BENCH_CAPACITY_DATABASE_URL) CELERY_BROKER_URL=$(BENCH_CAPACITY_BROKER_URL) \
		CELERY_RESULT_BACKEND=$(BENCH_CAPACITY_BROKER_URL) $(BIN)/python -m benchmarks capacity $(BENCH_ARGS)

clean:
	rm -rf var staticfiles .pytest_cache .ruff_cache
