# The two set-up commands of the README: `make run` (install + run the main job) and `make test` (install + tests).
PYTHON ?= python
TF457 := .ci/tf457

.PHONY: install install-dev compat run test

install:
	$(PYTHON) -m pip install -q torch==2.13.0
	$(PYTHON) -m pip install -q -e .

install-dev:
	$(PYTHON) -m pip install -q torch==2.13.0
	$(PYTHON) -m pip install -q -e ".[dev]"

# transformers 4.57 side install for the remote-code compatibility test (tests/test_modeling.py)
compat:
	@test -d $(TF457)/transformers || $(PYTHON) -m pip install -q --no-deps --target $(TF457) \
		transformers==4.57.6 tokenizers==0.22.1 huggingface-hub==0.36.0

run: install
	needle-hf run --query "What's the weather like in Paris today?" --tools @examples/tools.json

test: install-dev compat
	NEEDLE_TF457_PATH=$(TF457) $(PYTHON) -m pytest
