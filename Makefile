# Two commands do all the set-up on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi

.PHONY: run test install install-dev chromium nginx java ocr translations compile-translations lint clean bench bench-morphology soak

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Re-install only when a requirements file changed (the stamp files record the last install).
$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## make run: migrate, load regions and demo content, serve on http://127.0.0.1:5000
run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo
	@# An index from an older checkout (older analyzer) or none at all: rebuild it (seconds for the demo data).
	@$(BIN)/flask search check >/dev/null 2>&1 || $(BIN)/flask search reindex
	@echo ""
	@echo "  Open http://127.0.0.1:5000  (Ctrl-C stops; data stay in instance/)"
	@echo ""
	$(BIN)/flask run --host 127.0.0.1 --port 5000

## make chromium: Debian's Chromium for the browser tests (as root, when missing)
chromium:
	@if [ -x "$${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's chromium for the browser tests..."; \
		(apt-get install -y -qq chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)); \
	else echo "NOTE: Chromium not found and not root: browser tests will be skipped (failed under CI=true)."; fi

## make nginx: Debian's nginx, for the test that puts deploy/nginx/akims-exchange.conf in front of gunicorn
nginx:
	@if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's nginx for the production test..."; \
		(apt-get install -y -qq nginx >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq nginx >/dev/null)); \
	else echo "NOTE: nginx not found and not root: the nginx test will be skipped (failed under CI=true)."; fi

## make java: a Java runtime for the Nu HTML Checker (vnu.jar) of the browser tests (as root, when missing)
java:
	@if command -v java >/dev/null; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's default-jre-headless for the HTML checker..."; \
		(apt-get install -y -qq default-jre-headless >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq default-jre-headless >/dev/null)); \
	else echo "NOTE: java not found and not root: the HTML checker test fails."; fi

## make ocr: Debian's Tesseract (Kazakh, Russian, English) and poppler-utils, so that scanned PDFs and images
## attached to case studies are searched (as root, when missing; without them search works, minus that text)
OCR_PACKAGES := tesseract-ocr tesseract-ocr-kaz tesseract-ocr-rus tesseract-ocr-eng poppler-utils
ocr:
	@langs=$$(tesseract --list-langs 2>/dev/null); ok=yes; \
	for lang in kaz rus eng; do printf '%s\n' "$$langs" | grep -qx "$$lang" || ok=no; done; \
	command -v pdftoppm >/dev/null || ok=no; \
	if [ "$$ok" = yes ]; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's tesseract-ocr (kaz, rus, eng) and poppler-utils for OCR of attachments..."; \
		(apt-get install -y -qq $(OCR_PACKAGES) >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq $(OCR_PACKAGES) >/dev/null)); \
	else echo "NOTE: Tesseract (kaz, rus, eng) or pdftoppm not found and not root: scanned PDFs and images are not searched, and the OCR tests are skipped (failed under CI=true)."; fi

## make test: the whole suite (unit, functional, migrations, browser) on SQLite and PostgreSQL
test: install-dev chromium nginx java ocr
	$(BIN)/python -m pytest

## make translations: extract new strings and update the three catalogs (then translate them and compile)
translations: install-dev
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --ignore-dirs '.* __pycache__ node_modules' \
		--no-location --sort-output --project "Akims' Experience Exchange" -o app/translations/messages.pot .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations --no-fuzzy-matching --ignore-obsolete
	@echo "Translate the new entries in app/translations/*/LC_MESSAGES/messages.po, then: make compile-translations"

compile-translations: install-dev
	$(BIN)/pybabel compile -d app/translations --statistics

## make bench [DOCS=10000] [BENCH_FLAGS=--skip-import]: the app's search (import, reindex, gunicorn requests)
## against SQLite FTS5 and a stock Whoosh build on one synthetic corpus (database, indexes, results in /tmp)
DOCS ?= 10000
BENCH_FLAGS ?=
bench: install
	$(BIN)/python bench/search_bench.py --docs $(DOCS) --queries 200 --workdir /tmp/search-bench-$(DOCS) $(BENCH_FLAGS)

## make soak [SOAK_SECONDS=180] [SOAK_CLIENTS=40] [SOAK_DATABASES=sqlite,postgresql]: gunicorn (4 workers) and
## the search worker under a crowd while workers are killed, then an audit: no lost write, no 5xx, no lock error
SOAK_SECONDS ?= 180
SOAK_CLIENTS ?= 40
SOAK_DATABASES ?= sqlite,postgresql
soak: install
	$(BIN)/python bench/soak.py --seconds $(SOAK_SECONDS) --clients $(SOAK_CLIENTS) --databases $(SOAK_DATABASES) \
		--workdir /tmp/soak

## make bench-morphology: Kazakh/Russian stemmers vs hunspell-kk, hunspell-ru, pymorphy3 (bench/MORPHOLOGY.md)
bench-morphology: install
	@if [ ! -f /usr/share/hunspell/kk_KZ.dic ] || [ ! -f /usr/share/hunspell/ru_RU.dic ] \
		|| [ ! -f /usr/include/hunspell/hunspell.h ]; then \
		if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
			apt-get install -y -qq hunspell-kk hunspell-ru libhunspell-dev >/dev/null; \
		else echo "NOTE: needs Debian's hunspell-kk hunspell-ru libhunspell-dev (missing analysers are reported)"; fi; \
	fi
	$(BIN)/pip install --quiet -r bench/requirements-morphology.txt
	$(BIN)/python bench/morphology_eval.py --rounds 7

lint: install-dev
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
