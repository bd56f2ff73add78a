# Two commands do all set-up: `make demo` (main job) and `make test` (tests).
# Both create .venv on first use; the stamp file makes the second call fast.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The CPU wheel of torch lies in /opt/wheels on these machines; point pip at it so that no
# multi-GB CUDA build is ever downloaded. Elsewhere pip uses its normal configuration.
FIND_LINKS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels,)
PIP := $(BIN)/python -m pip --disable-pip-version-check
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml Makefile | cksum | cut -d' ' -f1)

.PHONY: demo test venv clean bench browser

venv: $(STAMP)

$(STAMP):
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q $(FIND_LINKS) "torch==2.13.0"
	$(PIP) install -q $(FIND_LINKS) -e ".[test]"
	# UCR/UEA data files only: aeon's own dependencies (numba, pandas, sklearn) are not needed
	# to read them, and numba would downgrade numpy. See docs/data.md.
	$(PIP) install -q --no-deps "aeon==1.6.0"
	# The report's browser test drives Debian's Chromium through Playwright's driver only
	# (never `playwright install`, which downloads a browser).
	$(PIP) install -q $(FIND_LINKS) "playwright>=1.40"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# Headless Chromium for the report test: installed once from Debian's packages (free when present).
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

demo: venv
	$(BIN)/rnnscope run --out runs/demo --overwrite

test: venv browser
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/python -m pytest

bench: venv
	for f in benchmarks/*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) runs
