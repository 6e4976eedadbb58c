# The scripted fake agent of the compare walkthrough (goes to the task copy's
# .fake_runner/attempt.sh). Runs with `sh` in the session container, cwd /workspace;
# HARNESSGYM_RESULT is the result.json to write.
#
# With the bundle (harnessed trials) it uses the bundle's tool, which rewrites kernel.c row by
# row; without it (plain trials) it only swaps the two loops of kernel.c into row order.
set -eu
tool=.harnessgym/tools/stencil_rowwise.py
if [ -f "$tool" ]; then
  python3 "$tool" kernel.c
  used="\"$tool\""
  summary="Used the harness tool stencil_rowwise: kernel.c rewritten row by row."
else
  python3 - <<'PY'
src = open("kernel.c").read()
columns = "    for (int j = 0; j < cols; j++) {\n        for (int i = 0; i < rows; i++) {"
rows = "    for (int i = 0; i < rows; i++) {\n        for (int j = 0; j < cols; j++) {"
open("kernel.c", "w").write(src.replace(columns, rows))
PY
  used=""
  summary="Swapped the loops of kernel.c into row order."
fi
cat > "$HARNESSGYM_RESULT" <<JSON
{"status": "incomplete", "summary": "$summary", "used_harness_artifacts": [$used]}
JSON
