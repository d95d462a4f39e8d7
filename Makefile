# Two commands matter on a fresh machine: `make run` and `make test`. Both install what is missing.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
N ?= 100000
IMPORT_APPLY_N ?= 20000
STORAGE_WRITE_N ?= 20000
FANOUT_APPLY_N ?= 10000
PYTEST_ARGS ?=

.PHONY: install run compact test test-fast test-faults lint typecheck bench bench-search bench-duplicates \
	bench-bulk bench-import bench-import-apply bench-import-files bench-latency bench-console bench-export bench-jobs bench-read \
	schemas check clean images

install: ## install uv if missing, then the locked workspace into .venv
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@$(UV) sync --locked --quiet

run: install ## the broker and the four services on SQLite under ./data, in the foreground
	@$(UV) run --no-sync python -m crm_shared.devstack --data-dir data

test: install ## the whole suite: unit, contract, integration, end-to-end, browser, schemathesis (faults: test-faults)
	@$(UV) run --no-sync pytest -m "not faults" $(PYTEST_ARGS)

test-faults: install ## SIGKILLs, a broker restart, replicas killed under traffic (CRM_FAULT_SEED replays one)
	@$(UV) run --no-sync pytest tests/faults tests/e2e/test_replicas.py -m faults -s -q $(PYTEST_ARGS)

test-fast: install ## unit and contract tests only
	@$(UV) run --no-sync pytest -m "not integration and not e2e" $(PYTEST_ARGS)

lint: install
	@$(UV) run --no-sync ruff check shared services tests bench
	@$(UV) run --no-sync ruff format --check shared services tests bench

typecheck: install
	@$(UV) run --no-sync mypy

# N given on the command line sets every benchmark's size; otherwise each has its own default.
SEARCH_N := $(if $(filter command line,$(origin N)),$(N),1000000)
BULK_N := $(if $(filter command line,$(origin N)),$(N),100000)
EXPORT_N := $(if $(filter command line,$(origin N)),$(N),100000)
READ_N := $(if $(filter command line,$(origin N)),$(N),100000)

# The console benchmark is a step of its own: CONSOLE_N=0 skips it, a small N makes it quick.
CONSOLE_N ?= $(SEARCH_N)

bench: install ## import (N rows, default 100000), search, duplicates, bulk, latency, export, jobs, erasure, console
	@$(UV) run --no-sync python -m bench.import_bench --rows $(N)
	@$(UV) run --no-sync python -m bench.import_files_bench
	@$(UV) run --no-sync python -m bench.search_bench --contacts $(SEARCH_N)
	@$(UV) run --no-sync python -m bench.duplicates_bench --contacts $(SEARCH_N)
	@$(UV) run --no-sync python -m bench.bulk_bench --contacts $(BULK_N)
	@$(UV) run --no-sync python -m bench.latency_bench --rates 200,1000
	@$(UV) run --no-sync python -m bench.export_bench --contacts $(EXPORT_N) $(EXPORT_REUSE)
	@$(UV) run --no-sync python -m bench.jobs_bench --contacts $(SEARCH_N)
	@$(UV) run --no-sync python -m bench.read_bench --contacts $(READ_N) $(READ_REUSE)
	@$(UV) run --no-sync python -m bench.erasure_bench
	@$(MAKE) --no-print-directory bench-console CONSOLE_N=$(CONSOLE_N)

bench-import: install ## the import alone: N rows end to end (default 100000) against the same-run ceiling
	@$(UV) run --no-sync python -m bench.import_bench --rows $(N)

bench-import-apply: install ## contacts applying import batches in process: CPU us/row (IMPORT_APPLY_N rows)
	@$(UV) run --no-sync python -m bench.import_apply_bench --rows $(IMPORT_APPLY_N)

.PHONY: bench-storage-write
bench-storage-write: install ## the SQLite adapter's inserts, replaces and deletes: CPU us/contact vs bare SQL (STORAGE_WRITE_N)
	@$(UV) run --no-sync python -m bench.storage_write_bench --contacts $(STORAGE_WRITE_N)

REMATCH_N ?= 20000
.PHONY: bench-rematch
bench-rematch: install ## re-match queue drain after an import of N contacts (REMATCH_N) vs its block reads in SQL
	@$(UV) run --no-sync python -m bench.rematch_bench --contacts $(REMATCH_N)

.PHONY: bench-fanout-apply bench-broker
bench-broker: install ## embedded broker, producer and consumer CPU per record for producer linger/batch/compression settings
	@$(UV) run --no-sync python -m bench.broker_bench --records 20000 --latency 200


bench-fanout-apply: install ## gdpr's audit intake and the timeline fed an import's records in process: CPU us/row (FANOUT_APPLY_N rows)
	@$(UV) run --no-sync python -m bench.fanout_apply_bench --rows $(FANOUT_APPLY_N)

.PHONY: bench-importer-batch
bench-importer-batch: install ## the importer's batch path in process (map rows, write batch envelopes): CPU us/row vs csv+orjson floor
	@$(UV) run --no-sync python -m bench.importer_batch_bench --rows 20000

bench-import-files: install ## .xlsx import rows/s against bare calamine; preview latency, 100 MB CSV
	@$(UV) run --no-sync python -m bench.import_files_bench

# DUPLICATES_STORE=path keeps the loaded store there and reuses it on later runs (same N):
# build it once with `make bench-duplicates-store`, then each run only measures.
DUPLICATES_STORE ?=
DUPLICATES_REUSE := $(if $(DUPLICATES_STORE),--store $(DUPLICATES_STORE),)

bench-duplicates: install ## duplicate check, full scan and recall on N contacts (default 1000000)
	@$(UV) run --no-sync python -m bench.duplicates_bench --contacts $(SEARCH_N) $(DUPLICATES_REUSE)

.PHONY: bench-duplicates-store
bench-duplicates-store: install ## load N contacts into DUPLICATES_STORE for bench-duplicates, no measuring
	@test -n "$(DUPLICATES_STORE)" || { echo "set DUPLICATES_STORE=path"; exit 2; }
	@$(UV) run --no-sync python -m bench.duplicates_bench --contacts $(SEARCH_N) $(DUPLICATES_REUSE) --load-only

bench-latency: install ## write-to-timeline latency at 200 and 1,000 events/s next to a bare ping
	@$(UV) run --no-sync python -m bench.latency_bench --rates 200,1000

bench-search: install ## search benchmark: N contacts (default 1000000) in the embedded store
	@$(UV) run --no-sync python -m bench.search_bench --contacts $(SEARCH_N)

# EXPORT_STORE=dir keeps the contacts service's loaded data folder there and reuses it on later
# runs with the same N (a million contacts take several minutes to load).
EXPORT_STORE ?=
EXPORT_REUSE := $(if $(EXPORT_STORE),--store $(EXPORT_STORE),)

bench-export: install ## export of N contacts (default 100000) from the contacts service to CSV next to bare SQL
	@$(UV) run --no-sync python -m bench.export_bench --contacts $(EXPORT_N) $(EXPORT_REUSE)

# JOBS_STORE=path keeps the loaded store there (build it once with `make bench-jobs-store`); each
# bench-jobs run then renames the tag on a fresh copy of it.
JOBS_STORE ?=
JOBS_REUSE := $(if $(JOBS_STORE),--store $(JOBS_STORE),)

bench-jobs: install ## a tag rename over N contacts (default 1000000) as a job, writes going on
	@$(UV) run --no-sync python -m bench.jobs_bench --contacts $(SEARCH_N) $(JOBS_REUSE)

.PHONY: bench-jobs-store
bench-jobs-store: install ## load N contacts into JOBS_STORE for bench-jobs, no measuring
	@test -n "$(JOBS_STORE)" || { echo "set JOBS_STORE=path"; exit 2; }
	@$(UV) run --no-sync python -m bench.jobs_bench --contacts $(SEARCH_N) $(JOBS_REUSE) --load-only

# READ_STORE=dir keeps the loaded store in that data folder and reuses it on later runs (same N).
READ_REUSE := $(if $(READ_STORE),--store $(READ_STORE),)
# READ_RATES: offered rates (req/s) for the open-loop reads by id, the latency below saturation.
READ_RATES ?= 200,500
bench-read: install ## GET /v1/contacts/{id} and q at 64 connections next to bare Starlette routes
	@$(UV) run --no-sync python -m bench.read_bench --contacts $(READ_N) $(READ_REUSE) --rates $(READ_RATES)

.PHONY: bench-erasure
bench-erasure: install ## erasure end to end p50/p99, 5,000 in one request, a 10,000-item access bundle
	@$(UV) run --no-sync python -m bench.erasure_bench

bench-bulk: install ## bulk add_tags benchmark over N contacts (default 100000)
	@$(UV) run --no-sync python -m bench.bulk_bench --contacts $(BULK_N)

bench-console: install ## the console's contact list first page with CONSOLE_N contacts (0 skips)
	@if [ "$(CONSOLE_N)" != "0" ]; then \
		$(UV) run --no-sync python -m bench.console_bench --contacts $(CONSOLE_N); \
	else echo "console benchmark skipped (CONSOLE_N=0)"; fi

schemas: install ## regenerate the event JSON Schemas and the AsyncAPI document
	@$(UV) run --no-sync python -m crm_shared.contract

check: lint typecheck test

# One image per service from deploy/Dockerfile (needs Docker with BuildKit; not run in CI here).
IMAGE_TAG ?= latest
IMAGE_PORTS := contacts:8001 timeline:8002 importer:8003 gdpr:8004 console:8000

images: ## build crm-<service>:$(IMAGE_TAG) for the five services with Docker
	@command -v docker >/dev/null 2>&1 || { echo "make images needs Docker" >&2; exit 1; }
	@set -e; for entry in $(IMAGE_PORTS); do \
		service=$${entry%%:*}; port=$${entry##*:}; \
		docker build -f deploy/Dockerfile --build-arg SERVICE=$$service --build-arg PORT=$$port \
			-t crm-$$service:$(IMAGE_TAG) .; \
	done

compact: install ## VACUUM the SQLite stores under ./data (DATA_DIR), the platform stopped: pages packed
	@$(UV) run --no-sync python -m crm_shared.storage.sqlite_vacuum $(or $(DATA_DIR),data)

clean:
	rm -rf data bench-data .pytest_cache .mypy_cache .ruff_cache
