# Scripted fake-runner attempt, iteration 1: replace kernel.c with a faster, correct version.
# Runs with `sh` in the session container, cwd /workspace; HARNESSGYM_RESULT is the result.json.
set -eu
cp .fake_runner/kernel_fast.c kernel.c
echo "iteration 1: kernel.c <- .fake_runner/kernel_fast.c (row order, no per-cell calls)"
cat > "$HARNESSGYM_RESULT" <<'JSON'
{
  "status": "incomplete",
  "summary": "Rewrote kernel.c to traverse rows in memory order, drop the bounds-checked helper call per neighbour and slide left/centre/right through registers; the benchmark scores it."
}
JSON
