# fmnist — README.md's two commands are `make report` and `make test`.
# Everything runs inside .venv, created on first use from pyproject.toml.

PYTHON   ?= python3
VENV     := .venv
PY       := $(VENV)/bin/python
STAMP    := $(VENV)/.installed
RENDERER ?= auto
QMD      ?= report.qmd

.DEFAULT_GOAL := help
.PHONY: help venv data figure report render test lint bench experiments submission clean

help:
	@echo "make report      set up .venv, build data/ if absent, render report.pdf and the predictions"
	@echo "make test        run the test suite"
	@echo "make data        build or validate data/train.csv and data/test.csv"
	@echo "make experiments run (or load from cache) every experiment of the report"
	@echo "make render QMD=path/to/doc.qmd   render any Quarto document to PDF beside it"
	@echo "make bench       speed benchmarks (benchmarks/); peak memory: benchmarks/peak_rss.py -- CMD"
	@echo "make lint        ruff"
	@echo "make submission  pack <ID>.zip for the course"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("fmnist needs Python 3.11 or newer" if sys.version_info < (3, 11) else 0)'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[report,dev]'
	@touch $@

venv: $(STAMP)

data: venv
	$(PY) -m tools.data

figure: data
	$(PY) -m fmnist figure

# RENDERER=auto (the default): Quarto where it is on PATH, else tools/qmdrender;
# RENDERER=quarto: Quarto, installed into .venv from PyPI (quarto-cli) when not on PATH;
# RENDERER=builtin: tools/qmdrender. Both run the filters listed in _quarto.yml.
define render_qmd
	@renderer="$(RENDERER)"; \
	if [ "$$renderer" = auto ]; then \
		if command -v quarto >/dev/null 2>&1; then renderer=quarto; else renderer=builtin; fi; \
	fi; \
	if [ "$$renderer" = quarto ]; then \
		quarto="$$($(PY) -m tools.qmdrender.get_quarto)" || exit 1; \
		echo "rendering '$(1)' with $$quarto (RENDERER=builtin to use tools/qmdrender)"; \
		QUARTO_PYTHON="$(abspath $(PY))" "$$quarto" render "$(1)" --to typst || exit 1; \
	elif [ "$$renderer" = builtin ]; then \
		$(PY) -m tools.qmdrender "$(1)" || exit 1; \
	else \
		echo "error: RENDERER=$$renderer: use auto, quarto or builtin" >&2; exit 1; \
	fi
endef

report: data
	$(call render_qmd,$(QMD))
	@for f in "$(QMD:.qmd=.pdf)" lr_pred.csv NN_pred.csv; do \
		if [ -f "$$f" ]; then \
			echo "$$f: $(CURDIR)/$$f$$( [ -f "$$f.quick" ] && echo ' (quick mode)')"; \
		else echo "$$f: not made"; fi; \
	done
	@$(PY) -m tools.deliverables
	@$(PY) -m tools.claims "$(QMD)"

render: venv
	$(call render_qmd,$(QMD))
	@if [ -f "$(basename $(QMD)).claims.json" ]; then $(PY) -m tools.claims "$(QMD)"; fi

submission: venv
	$(PY) -m tools.submission

test: venv
	$(PY) -m pytest -q

lint: venv
	$(PY) -m ruff check .

bench: venv
	$(PY) benchmarks/bench_load.py
	$(PY) benchmarks/bench_train.py --config plain
	$(PY) benchmarks/bench_train.py --config final
	$(PY) benchmarks/bench_parallel.py

experiments: data
	$(PY) -m fmnist experiments

clean:
	rm -rf build _build .pytest_cache .ruff_cache report.pdf
