# Two commands: `make run` starts the whole product on embedded defaults, `make test` runs every test.
# Both create the virtualenv they need.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python

.PHONY: run test bench clean-data browser imap catalogues messages

# compileall: the worker's sandbox re-imports the workflow modules for every workflow instance; with
# .pyc files it does not compile them each time (also when PYTHONDONTWRITEBYTECODE is set).
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	$(PY) -m compileall -q activities cmrt models outreach workflows worker.py
	touch $@

run: $(VENV)/.installed
	$(VENV)/bin/outreach up

# Browser tests need Debian's chromium; install it when we can (root), else they skip with a reason.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	  echo "chromium not installed: browser tests will be skipped"; }

# The bounce tests read a real IMAP server: Debian's dovecot (started by the tests on a port of their own,
# never as a system service); installed when we can (root), else those tests are skipped with a reason.
imap:
	@command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null) || \
	  echo "dovecot not installed: the IMAP bounce tests will be skipped"; }

test: $(VENV)/.installed browser imap
	$(PY) -m pytest -q -p no:cacheprovider

bench: $(VENV)/.installed
	$(PY) bench/bench_cmrt.py

clean-data:
	rm -rf var

# The findings catalogues (cmrt/locale/): take the English from cmrt/messages.py, merge it into every
# language (a changed English text turns its translations fuzzy), then check and compile them.
catalogues: $(VENV)/.installed
	$(VENV)/bin/pybabel extract -F cmrt/locale/babel.cfg -o cmrt/locale/findings.pot \
	  --project="outreach cmrt findings" --no-wrap --no-location cmrt
	$(VENV)/bin/pybabel update -i cmrt/locale/findings.pot -d cmrt/locale -D findings --no-wrap
	$(PY) -m cmrt.i18n

# Translations (README "Languages"): gather the texts suppliers read into locale/messages.pot and merge them
# into every language's .po (new texts arrive untranslated; tests/test_i18n.py fails until they are translated).
# The product reads the .po files directly: nothing to compile.
messages: $(VENV)/.installed catalogues
	$(VENV)/bin/pybabel extract -F babel.cfg -k N_ -k i18n.N_ -k supplier_text -k ngettext:1,2 --no-location --sort-output \
	  --omit-header -o locale/messages.pot .
	$(VENV)/bin/pybabel update -i locale/messages.pot -d locale --no-fuzzy-matching --ignore-obsolete
