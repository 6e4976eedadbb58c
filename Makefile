# harnessgym — developer entry points. `make test` is what CI runs (see .ci/run).

CARGO ?= cargo
# Global flags for the harnessgym binary when run through cargo (e.g. HARNESSGYM_FLAGS=-v).
HARNESSGYM_FLAGS ?=
# The dev profile (dependencies optimised, see Cargo.toml): `make test` then compiles only once.
HARNESSGYM := $(CARGO) run --quiet -- $(HARNESSGYM_FLAGS)
DEMO_DIR ?= target/demo
DEMO_OPT_DIR ?= target/demo-optimize
DEMO_CMP_DIR ?= target/demo-compare

.DEFAULT_GOAL := build
.PHONY: build install image sandbox-image base-image test lint demo demo-optimize demo-compare bench

# The host's target triple: `make build` names it so that only the harnessgym binary (not the
# build scripts and proc macros, which cannot be static) is linked statically.
TRIPLE ?= $(shell rustc -vV | sed -n 's/^host: //p')
PREFIX ?= $(HOME)/.local

## build: the statically linked release binary (target/<triple>/release/harnessgym): it also runs as the
## in-container helper in any image, old glibc or musl
build:
	RUSTFLAGS="-C target-feature=+crt-static" $(CARGO) build --release --target $(TRIPLE)

## install: the static release binary into $(PREFIX)/bin (default ~/.local/bin)
install: build
	install -D -m 755 target/$(TRIPLE)/release/harnessgym $(PREFIX)/bin/harnessgym

## image: build every image under images/ (bootstraps the base root filesystem if it cannot be pulled; the agent
## images download their pinned wheels with the host's pip once, cached in ~/.cache/harnessgym); a no-op when unchanged
image:
	$(HARNESSGYM) image build --images-dir images

## sandbox-image: only harnessgym/base, what the fake runner and the demos need (no network beyond the
## Debian bootstrap)
sandbox-image:
	$(HARNESSGYM) image build --images-dir images base

## base-image: create the offline Debian root filesystem (debootstrap/mmdebstrap) and import it; needs root
base-image:
	$(HARNESSGYM) image bootstrap

## test: ensure the images exist, then run the whole suite (cargo-nextest when installed, else cargo test)
test: image
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		echo "$(CARGO) nextest run --workspace"; \
		$(CARGO) nextest run --workspace || exit 1; \
		echo "checking that no test left a container or image behind"; \
		$(CARGO) nextest run --workspace --test leaks --run-ignored only || exit 1; \
	else \
		echo "cargo-nextest is not installed (cargo install cargo-nextest --locked); using cargo test"; \
		echo "$(CARGO) test --workspace"; \
		$(CARGO) test --workspace || exit 1; \
		$(CARGO) test --workspace --test leaks -- --ignored || exit 1; \
	fi

## lint: formatting, clippy and rustdoc, warnings are errors
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --quiet

## demo: the offline demo of the README on a copy of examples/numerical_debug_task (2 fake iterations)
demo: sandbox-image
	rm -rf $(DEMO_DIR) && mkdir -p $(dir $(DEMO_DIR)) && cp -r examples/numerical_debug_task $(DEMO_DIR)
	$(HARNESSGYM) run --task task.md --workspace $(DEMO_DIR) --iterations 2 \
		--attempt-timeout 10s --build-timeout 10s --runner fake
	cat $(DEMO_DIR)/.harnessgym/registry.json
	ls $(DEMO_DIR)/.harnessgym/runs/*/iterations/*/
	grep -n "norm =" $(DEMO_DIR)/kernel_ops.py

## demo-optimize: optimization mode offline on a copy of examples/c_kernel_optimization_task: the baseline
## score, iteration 1 (faster), iteration 2 (slower), and the best workspace restored and scored again
demo-optimize: sandbox-image
	rm -rf $(DEMO_OPT_DIR) && mkdir -p $(dir $(DEMO_OPT_DIR)) && cp -r examples/c_kernel_optimization_task $(DEMO_OPT_DIR)
	$(HARNESSGYM) run --task task.md --workspace $(DEMO_OPT_DIR) --iterations 2 \
		--attempt-timeout 1m --build-timeout 1m --runner fake --optimization-mode \
		--post-attempt-command "python3 benchmark.py --json --mode final" --score-key best_cycles
	cat $(DEMO_OPT_DIR)/.harnessgym/runs/*/checkpoints/best_manifest.json

## demo-compare: a compare offline (examples/compare_walkthrough): 3 plain and 3 harnessed trials of
## examples/c_kernel_optimization_task with the fake runner, the verdict, and its HTML report
demo-compare: sandbox-image
	rm -rf $(DEMO_CMP_DIR) && mkdir -p $(DEMO_CMP_DIR) && cp -r examples/c_kernel_optimization_task $(DEMO_CMP_DIR)/task
	rm $(DEMO_CMP_DIR)/task/.fake_runner/attempt_*.sh
	cp examples/compare_walkthrough/attempt.sh $(DEMO_CMP_DIR)/task/.fake_runner/attempt.sh
	$(HARNESSGYM) compare --task task.md --workspace-template $(DEMO_CMP_DIR)/task \
		--artifact-source examples/compare_walkthrough/bundle --output-dir $(DEMO_CMP_DIR)/out \
		--runner fake --trials 3 --post-command "python3 benchmark.py --json --mode final" \
		--post-score-key best_cycles --no-require-active-harness
	$(HARNESSGYM) report $(DEMO_CMP_DIR)/out -o $(DEMO_CMP_DIR)/report.html

## bench: harnessgym beside the reference HarnessGym 0.1.1, side by side in one run (release build;
## not part of `make test`): prints the table and writes it into BENCHMARKS.md. Takes ~20 minutes.
## HARNESSGYM_BENCH_REPS, HARNESSGYM_BENCH_SCALE and HARNESSGYM_BENCH_ROWS make a quick try (written to
## target/BENCHMARKS.partial.md instead).
bench:
	$(CARGO) build --release
	target/release/harnessgym image build --images-dir images
	@if [ ! -x target/reference-venv/bin/harnessgym ]; then \
		echo "installing the reference (harnessgym==0.1.1) into target/reference-venv"; \
		python3 -m venv target/reference-venv && \
		target/reference-venv/bin/pip install --quiet --disable-pip-version-check harnessgym==0.1.1; \
	fi
	$(CARGO) bench --bench side_by_side
