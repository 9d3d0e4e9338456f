# The README's two commands: `make run` and `make test`. Each creates .venv when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CATALOGS := $(wildcard incidents/translations/*/LC_MESSAGES/*.po)
COMPILED := $(CATALOGS:.po=.mo)
PORT ?= 5000

.PHONY: run test lint translations extract-messages browser-deps

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

test: $(STAMP) translations browser-deps
	$(BIN)/pytest

# tests/browser drives Debian's Chromium through Playwright (its Python package comes
# with the dev extras; Playwright's own browser download is never used), and the report's
# tests lay the .docx out with LibreOffice and read the PDF with poppler's pdftotext
# (fonts-liberation: Times New Roman's metrics). Installed when missing and running as
# root (CI); otherwise this says what to install, and those tests are skipped (with
# CI=true they fail).
CHROMIUM := /usr/bin/chromium
SOFFICE := /usr/bin/soffice
PDFTOTEXT := /usr/bin/pdftotext
DEBIAN_PACKAGES := chromium libreoffice-writer-nogui poppler-utils fonts-liberation
browser-deps:
	@if [ ! -x $(CHROMIUM) ] || [ ! -x $(SOFFICE) ] || [ ! -x $(PDFTOTEXT) ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $(DEBIAN_PACKAGES); \
	  else \
	    echo "The browser and report tests need: sudo apt-get install $(DEBIAN_PACKAGES)" >&2; \
	  fi; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

extract-messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -o incidents/translations/messages.pot .
	$(BIN)/pybabel update -i incidents/translations/messages.pot -d incidents/translations
