# Two commands do all set-up on a fresh machine:  `make run`  and  `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.10 (TFX 1.16 needs it): PATH first, then pyenv's install; override with `make PYTHON310=...`.
PYTHON310 ?= $(shell for p in python3.10 $$HOME/.pyenv/versions/3.10*/bin/python3.10; do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null && { echo "$$p"; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha1sum | cut -c1-12)
DATA := data/simulated
DR14_CSV ?= ../shared/data/sdss_dr14_10k.csv
REAL_CUTOUTS ?= ../shared/data/real_cutouts
REAL_MULTIMODAL ?= ../shared/data/real_multimodal
REAL_SCALE := 0.4
REAL_OUT := outputs/real
export TF_USE_LEGACY_KERAS := 1
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: help env data run test test-fast lint run-dr14 encoder run-real bench bench-real bench-data clean

help:
	@echo "make run    - create .venv if missing, build the built-in dataset if missing, run pipeline/run_local.py"
	@echo "make test   - create .venv if missing, run the test suite (includes one end-to-end pipeline run)"
	@echo "make test-fast - the same without the tests that run the whole pipeline (marked e2e)"
	@echo "make lint | make run-dr14 (real DR14 photometry, simulated cutouts) | make bench | make clean"
	@echo "make encoder (image model on the real cutouts) | make run-real (fusion on real objects in their own cutouts)"
	@echo "make bench-real (real-pixel tables, ~3 h) | make bench-data (drift thresholds, simulator against DR14)"

$(STAMP): requirements.lock pyproject.toml
	@test -n "$(PYTHON310)" || { echo "Python 3.10 not found: install it (e.g. 'pyenv install 3.10') or pass PYTHON310=/path/to/python3.10"; exit 1; }
	test -x $(PY) || $(PYTHON310) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	rm -f $(VENV)/.installed-* && touch $@

env: $(STAMP)

# The built-in dataset: 1,000 objects simulated from real SDSS DR14 statistics (rebuilt when the simulator changes).
# The simulator, the contract, and the three ingest modules it writes records through (an edit to the importer or
# the downloader leaves the built-in data as it is).
$(DATA)/.done: $(STAMP) $(wildcard simulator/*.py) simulator/calibration.json simulator/image_calibration.json \
		contract.py ingest/records.py ingest/staging.py ingest/provenance.py
	rm -rf $(DATA)
	TF_CPP_MIN_LOG_LEVEL=3 PYTHONWARNINGS=ignore::FutureWarning $(PY) -m ingest simulate --n 1000 --seed 0 --out $(DATA) --preview $(DATA)/preview.png
	touch $@

data: $(DATA)/.done

run: $(DATA)/.done
	$(PY) pipeline/run_local.py $(ARGS)

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# Everything but the tests that run the whole pipeline (marked e2e): a few minutes instead of the full suite.
test-fast: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -q -p no:cacheprovider -m "not e2e" $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .

# Real photometry from ../shared (never copied into the repo), with GalSim cutouts for the missing images.
data/dr14/.done: $(STAMP) $(DR14_CSV)
	rm -rf data/dr14
	TF_CPP_MIN_LOG_LEVEL=3 PYTHONWARNINGS=ignore::FutureWarning $(PY) -m ingest import --csv $(DR14_CSV) --out data/dr14 --simulate-missing-images
	touch $@

run-dr14: data/dr14/.done
	$(PY) pipeline/run_local.py --data-dir data/dr14 --pipeline-root outputs/dr14/pipeline_root \
		--metadata-path outputs/dr14/metadata.sqlite --serving-dir outputs/dr14/serving \
		--log-file outputs/dr14/run_local.log $(ARGS)

# Real pixels (../shared, never copied into the repo). real_multimodal (SkyServer photometry + each object's OWN
# cutout at 0.4"/px), split by SDSS field, trains the fusion model; the real cutouts (labels only), less every image
# in real_multimodal's eval and test splits, train the image encoder it starts from.
data/real_multimodal/.done: $(STAMP) $(REAL_MULTIMODAL)/pairs.csv
	rm -rf data/real_multimodal
	TF_CPP_MIN_LOG_LEVEL=3 PYTHONWARNINGS=ignore::FutureWarning $(PY) -m ingest import --split-by field \
		--csv $(REAL_MULTIMODAL)/pairs.csv --images $(REAL_MULTIMODAL)/images --cutout-scale $(REAL_SCALE) --out data/real_multimodal
	touch $@

data/real_cutouts/.done: $(STAMP) $(REAL_CUTOUTS)/labels.csv data/real_multimodal/.done
	rm -rf data/real_cutouts
	TF_CPP_MIN_LOG_LEVEL=3 PYTHONWARNINGS=ignore::FutureWarning $(PY) -m ingest cutouts --held-out data/real_multimodal \
		--labels $(REAL_CUTOUTS)/labels.csv --images $(REAL_CUTOUTS)/images --cutout-scale $(REAL_SCALE) --out data/real_cutouts
	touch $@

encoder: data/real_cutouts/.done
	$(PY) pipeline/run_local.py --data-dir data/real_cutouts --model image --pipeline-root $(REAL_OUT)/encoder_root \
		--metadata-path $(REAL_OUT)/encoder.sqlite --serving-dir $(REAL_OUT)/serving --log-file $(REAL_OUT)/encoder.log $(ENCODER_ARGS)

run-real: data/real_multimodal/.done
	test -d $(REAL_OUT)/serving/sky_image_encoder || $(MAKE) encoder
	$(PY) pipeline/run_local.py --data-dir data/real_multimodal --image-encoder $(REAL_OUT)/serving/sky_image_encoder \
		--pipeline-root $(REAL_OUT)/pipeline_root --metadata-path $(REAL_OUT)/metadata.sqlite \
		--serving-dir $(REAL_OUT)/serving --log-file $(REAL_OUT)/run_local.log $(ARGS)

# The regression set: every script in benchmarks/ runs from one of the three targets below and has a smoke test
# (tests/test_benchmarks.py, tests/test_real_pixels.py); each rewrites its own BENCHMARKS.md section. Finished
# studies are deleted; their sections keep their numbers and the revision that has their script.
# Cost, serving, scale, quality, the catalogue job and the photometric mode on DR14 (about 4 hours on 2 cores).
bench: $(DATA)/.done
	$(PY) -m benchmarks.cost --data-dir $(DATA)
	$(PY) pipeline/run_local.py && $(PY) -m benchmarks.serving
	$(PY) -m benchmarks.scale --sizes 10000 100000 --epochs 1
	$(PY) -m benchmarks.quality --csv $(DR14_CSV)
	$(PY) pipeline/run_local.py --inputs photometric
	$(PY) -m benchmarks.catalog --model-dir $$(ls -d outputs/serving/sky_classifier_photometric/*/ | sort | tail -1)
	$(PY) -m benchmarks.spark_udf --model-dir $$(ls -d outputs/serving/sky_classifier_photometric/*/ | sort | tail -1)
	$(PY) -m benchmarks.photometric --dr14 $(DR14_CSV)

# Real-pixel tables (BENCHMARKS.md "Real cutouts: ..." and "Exact pairs"; about 3 hours on 2 cores). "before" is the
# simulator as it was before its image calibration (commit 489a575), rendered from a temporary worktree of that commit.
SIM_BEFORE_REV := 489a575
bench-real: data/real_cutouts/.done data/real_multimodal/.done
	test -d $(REAL_OUT)/serving/sky_image_encoder || $(MAKE) encoder
	$(PY) -m benchmarks.realism
	rm -rf data/sim_after data/sim_before /tmp/sdss-sim-before
	$(PY) -m ingest simulate --n 8000 --seed 11 --out data/sim_after
	git worktree add --detach /tmp/sdss-sim-before $(SIM_BEFORE_REV)
	cd /tmp/sdss-sim-before && $(CURDIR)/$(PY) -m ingest simulate --n 8000 --seed 11 --out $(CURDIR)/data/sim_before
	git worktree remove --force /tmp/sdss-sim-before
	$(PY) -m benchmarks.sim_to_real --real data/real_cutouts --pairs data/real_multimodal --sim before=data/sim_before after=data/sim_after
	$(PY) -m benchmarks.levers --image-encoder $(REAL_OUT)/serving/sky_image_encoder
	$(PY) -m benchmarks.forest_levers --image-encoder $(REAL_OUT)/serving/sky_image_encoder
	$(PY) -m benchmarks.exact_pairs --image-encoder $(REAL_OUT)/serving/sky_image_encoder

# What data settings rest on: the drift thresholds (pipeline/configs.py), the simulator against DR14 (minutes).
bench-data: $(DATA)/.done
	$(PY) -m benchmarks.drift --dr14 $(DR14_CSV)
	$(PY) -m benchmarks.calibration --csv $(DR14_CSV)

clean:
	rm -rf outputs data
