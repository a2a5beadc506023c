# expense-sync: the two commands are `make demo` and `make test`; `make airflow` opens the UI (see README.md).
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
export PYTHONPATH := $(CURDIR)/plugins:$(CURDIR)/include/sandboxes

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: venv demo test bench bench-peers lint clean airflow browser reliability

# The virtualenv, rebuilt when the pins change. requirements-test.txt includes requirements.txt.
$(VENV)/.installed: requirements.txt requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
	touch $@

venv: $(VENV)/.installed

## Run org_sync_daily through Airflow against the vendor sandboxes and a local or throwaway PostgreSQL.
demo: venv
	$(VPY) scripts/demo.py

## The Airflow UI on this machine, without Docker: sandboxes, connections and pools set; Ctrl+C stops it.
## EXECUTOR=celery runs the tasks as docker-compose does, on Celery workers (WORKERS=2) through Redis (BROKER=redis://…).
airflow: venv
	$(VPY) scripts/local_airflow.py $(if $(PORT),--port $(PORT)) $(if $(EXECUTOR),--executor $(EXECUTOR)) \
		$(if $(WORKERS),--workers $(WORKERS)) $(if $(BROKER),--broker $(BROKER))

## Close a queued item of the running `make airflow`: make resolve ITEM=<id> DECISION='…' BY=<person> [NOTE='…']
resolve: venv
	@test -n "$(ITEM)" -a -n "$(DECISION)" -a -n "$(BY)" || \
		{ echo "usage: make resolve ITEM=<item id> DECISION='what was decided' BY=<who> [NOTE='why']"; exit 2; }
	$(VPY) scripts/operator_cli.py resolve "$(ITEM)" --decision "$(DECISION)" --by "$(BY)" --note "$(NOTE)"

## Headless Chromium for the browser check, Pango for the pack's PDF (WeasyPrint) and a Chinese font
## for both (Debian's packages), installed when missing.
BROWSER_PACKAGES := chromium libpango-1.0-0 libpangoft2-1.0-0 fonts-wqy-microhei
browser:
	@dpkg -s $(BROWSER_PACKAGES) >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(BROWSER_PACKAGES); }

## The whole test suite (what CI runs), after the linters and the type checker.
test: venv browser lint
	$(VPY) -m pytest

## The fault-injection suite: kills, overlapping runs, vendor storms; prints tried/accepted/refused/lost/duplicated.
reliability: venv
	$(VPY) -m pytest -m reliability tests/reliability -p no:cacheprovider

## Benchmarks: print figures (not pass/fail); first the side-by-side table with dlt and the COPY floor.
bench: venv bench-peers
	$(VPY) bench/org_sync.py
	$(VPY) bench/erp_chart.py
	$(VPY) bench/monthend.py
	$(VPY) bench/vouchers.py
	$(VPY) bench/webhook_receiver.py

## expense-sync's org sync side by side with dlt rest_api (replace, merge) and a requests + COPY script.
## dlt lives in its own virtualenv (.venv-bench, bench/peers/requirements.txt), never in .venv.
BENCH_VENV := .venv-bench
$(BENCH_VENV)/.installed: bench/peers/requirements.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r bench/peers/requirements.txt
	touch $@

bench-peers: venv $(BENCH_VENV)/.installed
	RUNTIME__DLT_TELEMETRY=false $(VPY) bench/peers/run.py $(if $(EMPLOYEES),--employees $(EMPLOYEES)) \
		$(if $(DEPARTMENTS),--departments $(DEPARTMENTS)) $(if $(ROUNDS),--rounds $(ROUNDS)) \
		$(if $(filter 0 no false,$(REPLAY)),--no-replay)

lint: venv
	$(VENV)/bin/ruff check plugins dags include tests bench scripts
	$(VENV)/bin/ruff format --check plugins dags include tests bench scripts
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) $(BENCH_VENV) .local build bench/out test-artifacts .mypy_cache
