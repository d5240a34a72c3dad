# Two commands on a fresh machine: `make run` and `make test`. Everything else is a step of theirs.
# the Python (3.11+) that makes .venv
PYTHON ?= python3
# the project's virtual environment
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# the exported models, <name>/<version>/
MODELS_DIR ?= models
# passed to pytest by make test and make test-fast (-k export, a path)
PYTEST_ARGS ?=
PEERS_DIR := .peers
PEER_bentoml := bentoml==1.4.39
PEER_ray := "ray[serve]==2.58.0" jinja2
# make loadtest: simulated users
LOCUST_USERS ?= 32
# make loadtest: users started a second
LOCUST_SPAWN_RATE ?= 8
# make loadtest: how long
LOCUST_RUN_TIME ?= 1m
# make loadtest: the gateway
LOCUST_HOST ?= http://localhost:8000
# make loadtest: the model server's gRPC address
TFS_TARGET ?= localhost:8500
# make loadtest-distributed: worker processes
LOCUST_WORKERS ?= 2
LOCUST := TFS_TARGET=$(TFS_TARGET) $(VENV)/bin/locust -f loadtest/locustfile.py
LOCUST_RUN := --headless -u $(LOCUST_USERS) -r $(LOCUST_SPAWN_RATE) -t $(LOCUST_RUN_TIME) \
	--host $(LOCUST_HOST) --csv reports/locust --html reports/locust.html --only-summary

export MODELS_DIR

.PHONY: help install models train serve gateway peers bench bench-xla profile bench-protocols bench-batching bench-gateway bench-workers loadtest loadtest-distributed soak soak-hostile protos k8s k8s-scan lint format docs test test-fast run clean

help:  ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-15s %s\n", $$1, $$2}'

install: $(STAMP)  ## Create .venv and install the project with its dev tools (idempotent)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --editable '.[dev]'
	touch $(STAMP)

models: $(STAMP)  ## Train the models that have no exported version yet
	$(PY) -m training all --if-missing

train: $(STAMP)  ## Train all three models, each as a new version, and print their metrics
	$(PY) -m training all
	$(PY) -m training.summary --out $(MODELS_DIR)

serve: $(STAMP)  ## Serve the models with TF Serving (SERVING_BACKEND=auto|tfserving|docker|embedded)
	$(PY) -m serving.launcher

gateway: $(STAMP)  ## The gateway alone under gunicorn (GATEWAY_PORT, TFS_TARGET, TFS_REST_URL, ...)
	$(PY) -m serving.gateway

peers: $(PEERS_DIR)/bentoml/.stamp $(PEERS_DIR)/ray/.stamp  ## BentoML and Ray Serve, each in its own venv under .peers/ (for make bench)

# Each peer gets the project's TensorFlow version (to load the same SavedModel) and nothing else of
# ours. BentoML 1.4.40 needs a certifi release the package index here lacks; 1.4.39 installs.
# Ray Serve 2.58 imports jinja2 without declaring it.
$(PEERS_DIR)/%/.stamp: | $(STAMP)
	rm -rf $(PEERS_DIR)/$*
	$(PYTHON) -m venv $(PEERS_DIR)/$*
	$(PEERS_DIR)/$*/bin/pip install --quiet $(PEER_$*) \
		"tensorflow==$$($(PY) -c 'import importlib.metadata as m; print(m.version("tensorflow"))')"
	touch $@

k8s: $(STAMP)  ## Write the model server configs into deploy/k8s/base and render every kustomization into run/k8s/ (kubectl)
	$(PY) -m serving.k8s

k8s-scan: k8s  ## checkov (in its own venv, .peers/checkov) over the rendered manifests: no failed check
	test -x $(PEERS_DIR)/checkov/bin/checkov || { $(PYTHON) -m venv $(PEERS_DIR)/checkov && \
		$(PEERS_DIR)/checkov/bin/pip install --quiet checkov; }
	$(PEERS_DIR)/checkov/bin/checkov -d run/k8s --framework kubernetes --compact --quiet

bench: models peers  ## Digits in process, via gRPC, the gateway, a naive app, BentoML and Ray Serve, one run (wrk, h2load)
	@command -v wrk >/dev/null && command -v h2load >/dev/null || [ "$$(id -u)" != 0 ] \
		|| (apt-get update -q && apt-get install -y -q wrk nghttp2-client) >/dev/null
	$(PY) -m loadtest.bench

bench-xla: $(STAMP)  ## Each signature as a plain graph and XLA-compiled, timed in process
	$(PY) -m loadtest.bench_xla

profile: models  ## py-spy profiles of the model server (h2load) and a gateway worker (wrk) under load (reports/profile-*)
	@command -v h2load >/dev/null || [ "$$(id -u)" != 0 ] \
		|| (apt-get update -q && apt-get install -y -q nghttp2-client) >/dev/null
	$(PY) -m loadtest.profile

bench-protocols: models  ## TF Serving's Predict vs the Open Inference Protocol's ModelInfer, alternating rounds (h2load)
	@command -v h2load >/dev/null || [ "$$(id -u)" != 0 ] \
		|| (apt-get update -q && apt-get install -y -q nghttp2-client) >/dev/null
	$(PY) -m loadtest.bench_protocols

bench-batching: models  ## gRPC throughput with batching on vs off, and the in-process ceiling
	$(PY) -m loadtest.bench_batching

bench-gateway: models  ## /v1/digits through the gateway next to direct gRPC, 32 connections
	$(PY) -m loadtest.bench_gateway

bench-workers: models  ## The gateway app under gunicorn gevent, gthread and granian: CPU per request (wrk)
	$(PY) -m loadtest.bench_workers

loadtest: $(STAMP)  ## Headless Locust on a running stack; reports/locust*; fails on a broken SLO
	mkdir -p reports
	$(LOCUST) $(LOCUST_RUN)

loadtest-distributed: $(STAMP)  ## The same with a Locust master and LOCUST_WORKERS workers
	mkdir -p reports
	for i in $$(seq $(LOCUST_WORKERS)); do $(LOCUST) --worker --master-host 127.0.0.1 & done; \
	$(LOCUST) --master --expect-workers $(LOCUST_WORKERS) $(LOCUST_RUN); status=$$?; wait; exit $$status

soak: models  ## 10 minutes of mixed load on make run's processes: model server and worker SIGKILLed, a model update
	$(PY) -m loadtest.soak

soak-hostile: models  ## 5 minutes of hostile and valid clients on make run's processes, then 5,000 half-open connections per port
	$(PY) -m loadtest.hostile

protos: $(STAMP)  ## Regenerate protocol/generated (TF Serving's messages) from the tensorflow-serving-api wheel
	$(PY) -m protocol.codegen

lint: $(STAMP)  ## ruff format check and lint; mypy over the client library
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

format: $(STAMP)  ## Apply ruff formatting and fixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

docs: $(STAMP)  ## Build the documentation site (docs/, MkDocs) into site/; a broken link or page fails
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

test: lint docs  ## Lint, build the docs, then the whole test suite: every tier (unit, integration, browser, load)
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP)  ## The unit tier only: no trained model, no server; under a minute
	$(PY) -m pytest -m unit -q $(PYTEST_ARGS)

run: models  ## Set up and serve models/ (the shipped versions, or newer ones) with the gateway on :8000
	$(PY) -m serving.stack

clean:  ## Remove the virtual environments (project, peers) and caches (keeps models and data)
	rm -rf $(VENV) $(PEERS_DIR) .pytest_cache .ruff_cache site
