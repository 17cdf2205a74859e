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
	# our own descriptor pool, not protobuf's default one (see kodiak_flight/proto/__init__.py)
	sed -i -e 's/^from google.protobuf import descriptor_pool as _descriptor_pool$$/from kodiak_flight.proto import POOL as _POOL/' \
		-e 's/^DESCRIPTOR = _descriptor_pool.Default()/DESCRIPTOR = _POOL/' \
		kodiak_flight/proto/FlightSql_pb2.py kodiak_flight/proto/FlightCore_pb2.py

clean:
	rm -rf $(VENV) build *.egg-info
