# Two commands do everything on a fresh machine: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA_DIR ?= data

.PHONY: install serve test bench lint clean proto

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/kodiak serve --data-dir $(DATA_DIR)

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .

# Regenerate the committed Flight SQL protobuf modules from kodiak_flight/proto/*.proto.
proto: $(STAMP)
	$(BIN)/pip install --quiet -e ".[proto]"
	$(BIN)/python -m grpc_tools.protoc -I kodiak_flight/proto --python_out=kodiak_flight/proto \
		kodiak_flight/proto/FlightSql.proto kodiak_flight/proto/FlightCore.proto

clean:
	rm -rf $(VENV) build *.egg-info
