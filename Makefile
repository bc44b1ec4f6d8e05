# The two promises of README's quick start: `make run` runs the product, `make test` runs every
# test. Both build the Python environments they need on first use (see scripts/ensure-env.sh).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $$HOME/.pyenv)
PY311 ?= $(firstword $(wildcard $(PYENV_ROOT)/versions/3.11.*/bin/python) $(shell command -v python3.11 || command -v python3))
PY310 ?= $(firstword $(wildcard $(PYENV_ROOT)/versions/3.10.*/bin/python) $(shell command -v python3.10))

API_REQS  := publish-api/requirements.txt publish-api/requirements-dev.txt \
             playground/requirements.txt
RASA_REQS := publish-broker/requirements.txt capture-bot/requirements.txt \
             capture-actions/requirements.txt tests/requirements-rasa.txt \
             $(wildcard publish-broker/requirements-nodeps.txt)

.PHONY: help envs api-env rasa-env wordnet lint test test-api test-rasa run images image-locks stack-test
help:
	@echo "make run         run the product locally (see README)"
	@echo "make test        lint and run the whole test suite"
	@echo "make images      build the Docker images of docker-compose.yml (needs a Docker engine)"
	@echo "make stack-test  build the images and test the Docker Compose stack end to end"
	@echo "make image-locks rewrite the Rasa images' locks after a pin change (needs PyPI)"

api-env:
	@scripts/ensure-env.sh api "$(PY311)" $(API_REQS) > .api-env
rasa-env:
	@scripts/ensure-env.sh rasa "$(PY310)" $(RASA_REQS) > .rasa-env
envs: api-env rasa-env

wordnet:
	@publish-broker/wordnet/ensure-wordnet.sh

lint: api-env
	$$(cat .api-env)/bin/ruff check .

test-api: api-env
	$$(cat .api-env)/bin/python -m pytest tests/publish_api $(PYTEST_ARGS)

test-rasa: envs wordnet
	PUBLISH_API_PYTHON=$$(cat .api-env)/bin/python NLTK_DATA=$${NLTK_DATA:-$$HOME/.cache/faqbot/nltk_data} \
	  $$(cat .rasa-env)/bin/python -m pytest tests --ignore=tests/publish_api $(PYTEST_ARGS)

test: lint test-api test-rasa

run: envs wordnet
	scripts/run-local.sh

# The images docker-compose.yml runs (the pool image included), and the per-owner Rasa bot image
# (BOT_RUNTIME=rasa-docker). `--network host`:
# pip needs the network during the build, and on engines without a default bridge (CI) only
# the host network has it; elsewhere it is harmless.
IMAGE_TAG ?= latest
IMAGES := publish-api:publish-api/Dockerfile publish-broker:publish-broker/Dockerfile \
          capture-actions:capture-actions/Dockerfile capture-bot:capture-bot/Dockerfile \
          pool:publish-broker/pool/Dockerfile bot:publish-broker/bot/Dockerfile
images:
	@set -e; for spec in $(IMAGES); do \
	  echo "building faqbot-$${spec%%:*}:$(IMAGE_TAG)"; \
	  docker build --network host -q -f $${spec#*:} -t faqbot-$${spec%%:*}:$(IMAGE_TAG) . ; \
	done

# The pinned package sets the Rasa images install with --no-deps (tensorflow-cpu for tensorflow);
# rerun after a change to constraints/py310-rasa.txt or publish-broker/requirements.txt.
image-locks:
	$(PY310) scripts/lock-images.py

# The whole Docker Compose stack: images, `docker-compose up`, an ask through Slack's protocol.
# Only the compose test: `make test` runs the other modules of tests/stack already.
stack-test: envs wordnet
	FAQBOT_STACK_TEST=1 NLTK_DATA=$${NLTK_DATA:-$$HOME/.cache/faqbot/nltk_data} \
	  $$(cat .rasa-env)/bin/python -m pytest tests/stack/test_compose.py $(PYTEST_ARGS)
