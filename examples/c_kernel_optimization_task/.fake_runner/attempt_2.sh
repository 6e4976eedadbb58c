# Scripted fake-runner attempt, iteration 2: replace kernel.c with a slower (still correct)
# version, so the run's best checkpoint is iteration 1 and restore-best has work to do.
# Runs with `sh` in the session container, cwd /workspace; HARNESSGYM_RESULT is the result.json.
set -eu
cp .fake_runner/kernel_slow.c kernel.c
echo "iteration 2: kernel.c <- .fake_runner/kernel_slow.c (generic 3x3 convolution, column order)"
cat > "$HARNESSGYM_RESULT" <<'JSON'
{
  "status": "incomplete",
  "summary": "Tried a generic 3x3 convolution with a weight table and bounds-checked taps; it is correct but slower, so this attempt regresses the score."
}
JSON
