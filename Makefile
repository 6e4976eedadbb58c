# harnessgym — developer entry points. `make test` is what CI runs (see .ci/run).

CARGO ?= cargo
# Global flags for the harnessgym binary when run through cargo (e.g. HARNESSGYM_FLAGS=-v).
HARNESSGYM_FLAGS ?=
# The dev profile (dependencies optimised, see Cargo.toml): `make test` then compiles only once.
HARNESSGYM := $(CARGO) run --quiet -- $(HARNESSGYM_FLAGS)
DEMO_DIR ?= target/demo
DEMO_OPT_DIR ?= target/demo-optimize

.DEFAULT_GOAL := build
.PHONY: build image base-image test lint demo demo-optimize bench

## build: the release binary (target/release/harnessgym)
build:
	$(CARGO) build --release

## image: build every image under images/ (bootstraps the base root filesystem if it cannot be pulled; the agent
## images download their pinned wheels with the host's pip once, cached in ~/.cache/harnessgym); a no-op when unchanged
image:
	$(HARNESSGYM) image build --images-dir images

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
demo: image
	rm -rf $(DEMO_DIR) && mkdir -p $(dir $(DEMO_DIR)) && cp -r examples/numerical_debug_task $(DEMO_DIR)
	$(HARNESSGYM) run --task task.md --workspace $(DEMO_DIR) --iterations 2 \
		--attempt-timeout 10s --build-timeout 10s --runner fake
	cat $(DEMO_DIR)/.harnessgym/registry.json
	ls $(DEMO_DIR)/.harnessgym/runs/*/iterations/*/
	grep -n "norm =" $(DEMO_DIR)/kernel_ops.py

## demo-optimize: optimization mode offline on a copy of examples/c_kernel_optimization_task: the baseline
## score, iteration 1 (faster), iteration 2 (slower), and the best workspace restored and scored again
demo-optimize: image
	rm -rf $(DEMO_OPT_DIR) && mkdir -p $(dir $(DEMO_OPT_DIR)) && cp -r examples/c_kernel_optimization_task $(DEMO_OPT_DIR)
	$(HARNESSGYM) run --task task.md --workspace $(DEMO_OPT_DIR) --iterations 2 \
		--attempt-timeout 1m --build-timeout 1m --runner fake --optimization-mode \
		--post-attempt-command "python3 benchmark.py --json --mode final" --score-key best_cycles
	cat $(DEMO_OPT_DIR)/.harnessgym/runs/*/checkpoints/best_manifest.json

## bench: placeholder until its issue lands (exits 1)

bench:
	@echo "make bench arrives with a later issue (not filed yet)"; exit 1
