# pocketbert: `make demo` runs the pipeline offline, `make test` runs every test suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PB := $(VENV)/bin/pocketbert
STAMP := $(VENV)/.pocketbert-installed

# convert-ios / convert-android parameters
MODEL ?= build/demo/student
TASK ?= qa
SEQ_LEN ?= 384
PRECISION ?=
SLUG = $(notdir $(patsubst %/,%,$(MODEL)))
# convert-ios without SEQ_LEN on the command line makes three length buckets (one .mlpackage each below iOS 18);
# SEQ_LEN=128,384 picks others. Each comma-separated length becomes one --seq-len.
IOS_SEQ_LEN_DEFAULT := 128,256,384
comma := ,
IOS_SEQ_LEN = $(if $(filter file,$(origin SEQ_LEN)),$(IOS_SEQ_LEN_DEFAULT),$(SEQ_LEN))
seq_len_flags = $(foreach s,$(subst $(comma), ,$(1)),--seq-len $(s))

.PHONY: setup test test-python test-swift test-swift-app test-java demo bench bench-distill bench-distill-quality bench-tasks bench-convert \
        convert-ios convert-android golden clean qa-models bench-qa bench-runtimes

setup: $(STAMP)  ## create .venv and install pocketbert with its test extras (no-op when up to date)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $@

test: setup test-python test-swift test-swift-app test-java  ## every suite: Python, Swift QACore + app type-check, Java qa-core

test-python: setup
	$(PY) -m pytest -q tests

test-swift:
	@if command -v swift >/dev/null 2>&1 && [ -f ios_demo/QACore/Package.swift ]; then \
	  cd ios_demo/QACore && swift test --disable-swift-testing; \
	else echo "SKIP Swift QACore tests: no swift toolchain on PATH (or no ios_demo/QACore yet)"; fi

# The iOS app's non-UI files against QACore and the Core ML stand-ins in ios_demo/TypeCheck (Linux has no Core ML).
test-swift-app:
	@if command -v swiftc >/dev/null 2>&1 || [ -x /opt/swift/usr/bin/swiftc ]; then \
	  ios_demo/TypeCheck/typecheck.sh; \
	else echo "SKIP Swift app type-check: no swiftc on PATH (or in /opt/swift/usr/bin)"; fi

test-java:
	@if command -v javac >/dev/null 2>&1 && [ -x android_demo/qa-core/run-tests.sh ]; then \
	  android_demo/qa-core/run-tests.sh; \
	else echo "SKIP Java qa-core tests: no javac on PATH (or no android_demo/qa-core yet)"; fi

demo: setup  ## distill the packaged MiniLM teacher, convert, check parity, bench, report (offline)
	$(PB) demo --out build/demo --force

bench: setup  ## BERT-base vs DistilBERT-base on this host, fp32 and int8, seq 384, report in build/report
	$(PB) bench pair --teacher bert-base --student distilbert-base --seq-len 384 \
	  --precision fp32,int8-dynamic --out build/bench-pair
	$(PB) report build/bench-pair/results.jsonl --out build/report

bench-distill: setup  ## distillation step: tokens/s, utilization of the matmul peak, time split, before/after; `prepare` RSS
	$(PY) benchmarks/bench_distill.py

bench-distill-quality: setup  ## sentence recipe vs sentence-transformers' distillation, STS-B at 5/15/30 min (~45 min)
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) benchmarks/bench_distill_quality.py

bench-tasks: setup  ## teacher vs student on SST-2 / SQuAD / STS-B from ../shared/data (long: CPU hours)
	$(PY) benchmarks/bench_tasks.py

bench-convert: setup  ## conversion time, sizes and parity per precision for BERT/DistilBERT and MiniLM
	$(PY) benchmarks/bench_convert.py

bench-runtimes: setup  ## LiteRT vs ONNX Runtime vs ExecuTorch: MiniLM embed seq 128, fp32 + int8, interleaved here (BENCH_ARGS="--runs 20")
	$(PY) -m pip install --quiet -e '.[executorch]'
	$(PY) benchmarks/bench_runtimes.py $(BENCH_ARGS)

qa-models: setup  ## SQuAD teacher + task-distilled 3-layer student, all formats, parity on SQuAD (resumable; ~55 min on a 2-core CPU with bf16 instructions, ~1.5-2 h without; DEVICE=cuda)
	$(PB) qa-models --out build/qa-models --device $(or $(DEVICE),cpu)

bench-qa: qa-models  ## the real QA pair on this host (interleaved, per seq-len bucket) + report in build/qa-models/report
	$(PB) qa-models --out build/qa-models --device $(or $(DEVICE),cpu) --bench

convert-ios: setup  ## make convert-ios MODEL=dir TASK=qa [SEQ_LEN=128,256,384] PRECISION=fp16
	$(PB) convert ios --model $(MODEL) --task $(TASK) $(call seq_len_flags,$(IOS_SEQ_LEN)) --precision $(or $(PRECISION),fp16) \
	  --out build/ios/$(SLUG)-$(TASK)-$(or $(PRECISION),fp16) --force
	@echo "Copy build/ios/$(SLUG)-$(TASK)-$(or $(PRECISION),fp16) into ios_demo/App/Models/ (see ios_demo/README.md)"

convert-android: setup  ## make convert-android MODEL=dir TASK=qa PRECISION=int8-dynamic
	$(PB) convert android --model $(MODEL) --task $(TASK) --seq-len $(SEQ_LEN) --precision $(or $(PRECISION),int8-dynamic) \
	  --out build/android/$(SLUG)-$(TASK)-$(or $(PRECISION),int8-dynamic) --force
	@echo "Copy build/android/$(SLUG)-$(TASK)-$(or $(PRECISION),int8-dynamic) into android_demo/app/src/main/assets/ (see android_demo/README.md)"

golden: setup  ## regenerate the golden vectors shared with the Swift and Java cores
	$(PB) golden --out tests/golden --force

clean:
	rm -rf build .pytest_cache ios_demo/QACore/.build android_demo/qa-core/build
