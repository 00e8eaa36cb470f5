# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
EXTRAS := crawl,dataset,train,cpu,dev
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

lint: $(STAMP)
	$(BIN)/ruff check crawler dataset training tests bench
	$(BIN)/ruff format --check crawler dataset training tests bench
	$(BIN)/mypy crawler dataset training

test: $(STAMP)
	$(MAKE) lint
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest -q

bench: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash bench/run_all.sh

clean:
	rm -rf $(VENV) data
