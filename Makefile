# The verbs of the project. `make run` and `make test` are the two commands of the README.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# pytest's own arguments: parallel by default, one process per core (pytest-xdist), tests of one
# xdist_group kept on one process. `make test PYTEST_ARGS="-n 0 -x"` runs serially for debugging.
PYTEST_ARGS ?= -n auto --dist loadgroup

.PHONY: run test install lint fmt worker beat bench messages check backup-drill

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## Install, migrate, seed the demo company once, print the URL and logins, serve.
run: $(STAMP)
	test -f .env || cp .env.example .env
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --if-empty
	$(BIN)/python manage.py compute_kpis
	@echo ""
	@echo "Abonent CRM: http://$(HOST):$(PORT)/"
	$(BIN)/python manage.py demo_logins
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

## The whole test suite (SQLite unless DATABASE_URL says otherwise), with its 15 slowest tests.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run --settings=crm.settings_test
	DEBUG=false ALLOWED_HOSTS=crm.example.ru SECRET_KEY="$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
		$(BIN)/python manage.py check --deploy --fail-level WARNING
	$(BIN)/lint-imports --no-cache
	$(BIN)/bandit -r core crm staff clients retention kpi team demo -ll -q
	$(BIN)/pytest --durations=15 $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

worker: $(STAMP)
	$(BIN)/celery -A crm worker --loglevel=INFO

beat: $(STAMP)
	$(BIN)/celery -A crm beat --loglevel=INFO

bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

## Restore drill: seed, pg_dump, pg_restore into a scratch database, compare (manual or nightly).
backup-drill: $(STAMP)
	$(BIN)/python scripts/backup_drill.py $(DRILL_ARGS)

messages: $(STAMP)
	$(BIN)/python manage.py makemessages -l ru -l en --ignore=.venv --ignore=staticfiles --ignore=tests --settings=crm.settings_test
	$(BIN)/python manage.py compilemessages --ignore=.venv --settings=crm.settings_test
