# SPDX-License-Identifier: GPL-3.0-or-later
# Casetrail: `make run` sets up and starts the app; `make test` sets up and runs every check.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
SHARED := ../shared

.PHONY: run test lint unit contract bench soak screenshots package demo clean system-deps notices revision bundle \
	crash fuzz \
	test-package
# Debian packages some checks use (qpdf --check, pdftotext and pdfsig on briefings, certutil to
# trust a certificate for pdfsig, hashdeep in the import benchmark, a C compiler for the I/O-error
# shim of the fault tests); tests that need them skip with a reason when they are absent.
SYSTEM_PACKAGES := qpdf poppler-utils libnss3-tools hashdeep gcc libc6-dev

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Casetrail needs Python 3.11 ($(PYTHON)) on PATH"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PIP) install --quiet -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)
	$(PY) -m desktop.demo --launch

demo: $(STAMP)
	$(PY) -m desktop.demo --headless

# The build scripts in packaging/ that are typed (the gen_* maintainer scripts are not).
TYPED_SCRIPTS := packaging/inventory.py packaging/notices.py packaging/sbom.py packaging/release.py \
	packaging/gen_icons.py

lint: $(STAMP)
	$(VENV)/bin/ruff check casetrail desktop reports tests packaging
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy --strict $(TYPED_SCRIPTS)
	$(VENV)/bin/lint-imports

# Two workers, each taking whole test files (module fixtures stay shared within a file);
# `make unit PYTEST_WORKERS=0` runs the suite in one process.
PYTEST_WORKERS ?= 2
unit: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/pytest -q -n $(PYTEST_WORKERS) --dist loadfile

contract: $(STAMP)
	@if [ -x $(SHARED)/tools/contract-check ]; then \
		$(PY) $(SHARED)/tools/contract-check $(VENV)/bin/casetrail; \
	else echo "contract-check: $(SHARED) is absent, skipped"; fi

test: lint unit contract

# THIRD-PARTY-NOTICES from the installed distributions: run after adding or upgrading a dependency.
notices: $(STAMP)
	$(PY) packaging/notices.py -o THIRD-PARTY-NOTICES

bench: $(STAMP)
	@for b in tests/bench/*.py; do case $$b in */big_case.py) continue;; esac; \
		echo "== $$b"; $(PY) $$b || exit 1; done

# The reliability campaigns (docs/reliability.md): 1,000 SIGKILLs with every check after each, and
# the parsers under atheris plus the properties at length. `make test` runs short versions of both.
CRASH_KILLS ?= 1000
crash: $(STAMP)
	$(PY) tests/reliability/crash.py --kills $(CRASH_KILLS) $(CRASH_ARGS)

ATHERIS := atheris==3.0.0
FUZZ_RUNS ?= 20000
FUZZ_EXAMPLES ?= 2000
fuzz: $(STAMP)
	@$(PY) -c "import atheris" 2>/dev/null || $(PIP) install --quiet '$(ATHERIS)' || \
		echo "atheris could not be installed: the targets run on plain mutations"
	$(PY) tests/fuzz/run.py --runs $(FUZZ_RUNS) --examples $(FUZZ_EXAMPLES) --findings build/fuzz-findings

# The window soak of the suite (tests/gui/test_soak.py runs 5,000 actions), for a working day's worth.
soak: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) tests/gui/soak.py --actions $${SOAK_ACTIONS:-100000}

# README's tour screenshots, retaken from a real window under Xvfb on a case built for them.
screenshots: $(STAMP)
	QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1400x900x24" $(PY) tests/gui/screenshots.py

# The revision the build is made from, for `casetrail --version` of a wheel or bundle (which have
# no git checkout to ask). Not committed.
revision:
	@if git rev-parse HEAD >/dev/null 2>&1; then \
		echo "$$(git rev-parse HEAD)$$(git status --porcelain --untracked-files=no | grep -q . && echo -dirty)" \
			> desktop/build_revision.txt; fi

# The one-folder bundle dist/casetrail/ (PyInstaller; starts without Python on a Linux desktop).
PYINSTALLER := pyinstaller==6.22.3
bundle: $(STAMP) revision
	@$(PY) -c "import PyInstaller" 2>/dev/null || $(PIP) install --quiet '$(PYINSTALLER)'
	$(VENV)/bin/pyinstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build/pyinstaller \
		packaging/casetrail.spec
	cp LICENSE dist/casetrail/
	$(PY) packaging/notices.py --bundle dist/casetrail

# Everything to carry to an air-gapped machine, in dist/: the wheelhouse, the bundle archive, the
# desktop entry and icons, notices, the SBOM, install.sh and the signed SHA256SUMS. Signing needs
# the release key (packaging/README.md); RELEASE_FLAGS=--new-key signs a private build with a key
# of your own.
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
package: bundle
	rm -rf dist/wheelhouse dist/desktop dist/casetrail-*-linux-*.tar.gz
	$(PIP) wheel --quiet --wheel-dir dist/wheelhouse '.[test]'
	@$(PY) -c "import glob, sys, zipfile; names = zipfile.ZipFile(sorted(glob.glob('dist/wheelhouse/casetrail-*.whl'))[-1]).namelist(); missing = [n for n in ('casetrail_resources/data/tlds.txt', 'casetrail_resources/fonts/DejaVuSans.ttf', 'casetrail_resources/demo/threat-email.eml', 'casetrail_resources/licenses/LGPL-3.0-only.txt') if n not in names]; sys.exit(f'the casetrail wheel lacks {missing}') if missing else None"
	tar -C dist -czf dist/casetrail-$(VERSION)-linux-x86_64.tar.gz casetrail
	mkdir -p dist/desktop && cp -r packaging/linux/casetrail.desktop packaging/linux/casetrail.svg packaging/linux/icons dist/desktop/
	cp LICENSE dist/casetrail/THIRD-PARTY-NOTICES packaging/roundtrip.sh dist/
	$(PY) packaging/sbom.py -o dist/sbom.cdx.json --wheelhouse dist/wheelhouse --bundle dist/casetrail
	$(PY) packaging/release.py dist $(RELEASE_FLAGS)
	@du -sh dist/wheelhouse dist/casetrail dist/casetrail-$(VERSION)-linux-x86_64.tar.gz
	@echo "carry dist/ and run dist/install.sh [--prefix DIR] [--bundle] on the air-gapped machine"

# Slow (it builds the bundle): the wheelhouse in a fresh venv with no index, the bundle offscreen,
# install.sh against tampered copies. Not part of `make test`.
test-package: package
	packaging/test_package.sh dist $(SHARED)

system-deps:
	@if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
		if [ -n "$$missing" ]; then (apt-get install -y -qq $$missing || \
			(apt-get update -qq && apt-get install -y -qq $$missing)) >/dev/null 2>&1 || \
			echo "system-deps: could not install$$missing; the checks that need them will skip"; fi; \
	else echo "system-deps: install $(SYSTEM_PACKAGES) with your package manager for the full checks"; fi

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
