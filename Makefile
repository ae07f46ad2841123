# One-command setup: `make demo` and `make test` each create ./.venv on first use (idempotent; a stamp
# file makes later runs start at once). TORCH_SPEC pins the torch build; on this project's machines
# torch 2.14.1 + torchvision 0.29.1 install from local disk. Override it for another platform, e.g.
#   make test TORCH_SPEC="torch torchvision --index-url https://download.pytorch.org/whl/cpu"
PYTHON_BOOTSTRAP ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
PY := $(VENV)/bin/python
STAMP := $(VENV)/.xclip-installed
PYTEST_ARGS ?=
MODEL ?=
# The oldest transformers setup.cfg accepts (and the GPU machines' image runs), with the huggingface_hub it needs:
# `make test-oldest` runs the tests with them laid over ./.venv's packages.
OLDEST_DEPS := .oldest-deps
OLDEST_TRANSFORMERS ?= transformers==5.17.0
OLDEST_HUB ?= huggingface_hub>=1.5,<2

export HF_HUB_DISABLE_TELEMETRY := 1

.PHONY: setup test test-oldest demo bench clean

setup: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON_BOOTSTRAP) -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

test: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m pytest $(PYTEST_ARGS)

test-oldest: $(STAMP)
	rm -rf $(OLDEST_DEPS)
	$(PY) -m pip install --quiet --no-deps --target $(OLDEST_DEPS) "$(OLDEST_TRANSFORMERS)"
	$(PY) -m pip install --quiet --upgrade --target $(OLDEST_DEPS) "$(OLDEST_HUB)"
	PYTHONPATH=$(OLDEST_DEPS) HF_HUB_OFFLINE=1 $(PY) -m pytest $(PYTEST_ARGS)

demo: $(STAMP)
	HF_HUB_OFFLINE=$(if $(MODEL),0,1) $(PY) scripts/demo.py $(if $(MODEL),--model $(MODEL),)

clean:
	rm -rf $(VENV) $(OLDEST_DEPS) .pytest_cache build *.egg-info
