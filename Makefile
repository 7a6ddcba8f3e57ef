# The two commands of the README:  `make run`  and  `make test`.
# Both create the virtual environment and install requirements on first use.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
STAFF  ?= 300
PYTEST_ARGS ?=

.PHONY: run test setup demo lint messages clean

$(BIN)/.installed: requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $@

setup: $(BIN)/.installed

# Embedded default: SQLite file, Celery tasks run eagerly in-process, demo data loaded once.
run: setup
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py seed_demo --staff $(STAFF)
	DEBUG=1 $(BIN)/python manage.py runserver $(HOST):$(PORT)

# The whole test suite (SQLite by default; PostgreSQL + Redis when DATABASE_URL/REDIS_URL are set).
# pytest exits 5 when it collects no tests: that is not a failure of the suite.
test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; if [ $$rc -eq 5 ]; then exit 0; else exit $$rc; fi

lint: setup
	$(BIN)/ruff check .

# Regenerate translation catalogues after changing strings (needs gettext);
# the compiled .mo files are committed so that a fresh machine needs no gettext.
messages: setup
	DEBUG=1 $(BIN)/python manage.py makemessages -l zh_Hans -l en --ignore '.venv/*' --ignore 'staticfiles/*'
	DEBUG=1 $(BIN)/python manage.py compilemessages --ignore '.venv/*'

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
