# The README's two commands: `make run` and `make test`. Each creates .venv when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CATALOGS := $(wildcard incidents/translations/*/LC_MESSAGES/*.po)
COMPILED := $(CATALOGS:.po=.mo)
PORT ?= 5000

.PHONY: run test lint translations extract-messages

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@

translations: $(COMPILED)

run: $(STAMP) translations
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi seed-demo
	$(BIN)/flask --app wsgi run --host 127.0.0.1 --port $(PORT)

test: $(STAMP) translations
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

extract-messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -o incidents/translations/messages.pot .
	$(BIN)/pybabel update -i incidents/translations/messages.pot -d incidents/translations
