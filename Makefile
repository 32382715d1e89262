# make run: serve the CRM on http://127.0.0.1:8000 with the task cluster.
# make test: run the whole test suite; pass pytest options as ARGS="-k foo".
# Both create .venv and install the pinned requirements when needed.

PYTHON ?= python3
VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
MANAGE := $(VENV_PYTHON) manage.py
# XStatic-Bootstrap 5 ships only as an sdist whose setup.py imports
# pkg_resources, which setuptools 81 removed; the constraint keeps an older
# setuptools for that build.
PIP_INSTALL := PIP_CONSTRAINT=$(CURDIR)/constraints-build.txt $(VENV_PYTHON) -m pip install --quiet
ARGS ?=
JUNIT_XML ?= test-artifacts/junit.xml

.PHONY: run test

run: $(VENV)/.installed-runtime
	$(MANAGE) migrate --noinput
	$(MANAGE) create_local_admin
	$(MANAGE) setup_schedules
	$(VENV_PYTHON) bin/serve

test: $(VENV)/.installed-test
	@bin/install-test-packages
	$(VENV_PYTHON) -m pytest --junitxml=$(JUNIT_XML) $(ARGS)

$(VENV_PYTHON):
	@bin/create-venv $(PYTHON) $(VENV)

$(VENV)/.installed-runtime: requirements.txt constraints-build.txt | $(VENV_PYTHON)
	$(PIP_INSTALL) -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements-test.txt requirements.txt constraints-build.txt | $(VENV_PYTHON)
	$(PIP_INSTALL) -r requirements-test.txt
	touch $@
