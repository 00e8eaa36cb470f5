# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
EXTRAS := crawl,dataset,train,cpu,dev
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench lock clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[$(EXTRAS)]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

lint: $(STAMP)
	$(BIN)/ruff check crawler dataset training tests bench
	$(BIN)/ruff format --check crawler dataset training tests bench
	$(BIN)/mypy crawler dataset training

# One worker per core (at most 8): half the suite waits on loopback servers and subprocesses.
test: $(STAMP)
	$(MAKE) lint
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest -q -n logical --maxprocesses 8 --dist worksteal

bench: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash bench/run_all.sh

# The images install constraints.txt: pin them to what the suite passes with (tensorflow,
# for the GPU image, at the version of tensorflow-cpu).
lock: $(STAMP)
	{ head -n 3 constraints.txt; $(BIN)/pip freeze --exclude-editable | grep -v '^street2shop=='; \
	  $(BIN)/pip freeze | sed -n 's/^tensorflow[-_]cpu==/tensorflow==/p'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

clean:
	rm -rf $(VENV) data
