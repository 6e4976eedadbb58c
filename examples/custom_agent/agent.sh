#!/bin/sh
# shell-agent: a deterministic stand-in agent for harnessgym's custom runner (see README.md).
#
#   agent.sh [--resume SESSION] --prompt-file FILE
#
# It reads its phase and its result file from the prompt, keeps its sessions under
# ~/.shell-agent/sessions (a resume of an unknown session fails), and prints JSON lines:
# {"type": "session", ...} first, {"type": "result", "session_id": ..., "result": ...} last.
# On examples/numerical_debug_task: the first attempt is blocked, the reflection picks a tool,
# the build writes and registers .harnessgym/tools/norm_check.py, and a later attempt uses that
# tool, fixes the kernel and verifies.
set -eu

session=""
prompt_file=""
while [ $# -gt 0 ]; do
    case "$1" in
        --resume) session=$2; shift 2 ;;
        --prompt-file) prompt_file=$2; shift 2 ;;
        *) echo "shell-agent: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ -f "$prompt_file" ] || { echo "shell-agent: no prompt file" >&2; exit 2; }

store="$HOME/.shell-agent/sessions"
mkdir -p "$store"
if [ -n "$session" ]; then
    [ -f "$store/$session" ] || { echo "shell-agent: no session $session to resume" >&2; exit 3; }
else
    session="shell-$(cat /proc/sys/kernel/random/uuid)"
fi
phase=$(sed -n 's/^Time budget for this \([a-z]*\).*/\1/p' "$prompt_file" | head -n 1)
result=$(grep -o '/workspace/[^ ]*/result\.json' "$prompt_file" | head -n 1)
echo "$phase" >>"$store/$session"
tool=.harnessgym/tools/norm_check.py

say() {
    python3 -c 'import json, sys; print(json.dumps({"type": sys.argv[1], "session_id": sys.argv[2], "result": sys.argv[3]}))' \
        "$1" "$session" "$2"
}

# Merge a JSON object into the result file.
merge() {
    python3 -c 'import json, sys
path, update = sys.argv[1], json.loads(sys.argv[2])
with open(path) as f:
    data = json.load(f)
data.update(update)
with open(path, "w") as f:
    json.dump(data, f, indent=2)' "$result" "$1"
}

attempt() {
    if [ ! -f "$tool" ]; then
        merge '{"status": "blocked", "verified": false, "summary": "No quick way to see which kernel check fails.", "missing_tooling": ["A tool that runs the verifier and names the failing checks."]}'
        say result "blocked: no probe yet"
        return
    fi
    python3 "$tool" >&2 || true
    sed -i 's/math.sqrt(sum(x \* x for x in a)) + math.sqrt(sum(y \* y for y in b))/math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))/' kernel_ops.py
    if python3 verifier.py >/dev/null; then
        merge '{"status": "solved", "verified": true, "summary": "norm_check.py named the cosine check; the norm now multiplies.", "verification": {"status": "passed", "command": "python3 verifier.py"}, "used_harness_artifacts": [".harnessgym/tools/norm_check.py"]}'
        say result "solved and verified"
    else
        merge '{"status": "blocked", "verified": false, "summary": "The fix did not verify."}'
        say result "blocked: the fix did not verify"
    fi
}

reflect() {
    merge '{"reflection": {"recommendations": ["A tool that runs the verifier and prints only the failing checks."], "selected_improvement": {"kind": "tool", "name": "norm_check", "reason": "The attempt could not see which check failed.", "target_path": ".harnessgym/tools/norm_check.py"}}}'
    say result "selected the norm_check tool"
}

build() {
    mkdir -p .harnessgym/tools
    cat >"$tool" <<'PY'
#!/usr/bin/env python3
"""Run verifier.py and print the failing checks (exit 1 when any fails)."""
import json
import subprocess
import sys

run = subprocess.run([sys.executable, "verifier.py"], capture_output=True, text=True)
report = json.loads(run.stdout or "{}")
failing = [c.get("name") for c in report.get("checks", []) if c.get("status") != "passed"]
print("failing checks:", ", ".join(failing) if failing else "none")
sys.exit(1 if failing else 0)
PY
    python3 - "$tool" "$result" <<'PY'
import json, os, sys, time
tool, result = sys.argv[1], sys.argv[2]
path = ".harnessgym/registry.json"
registry = {"version": 1, "artifacts": []}
if os.path.exists(path):
    with open(path) as f:
        registry = json.load(f)
with open(result) as f:
    iteration = json.load(f).get("iteration", 1)
entry = {"id": "tool:" + tool, "kind": "tool", "path": tool, "iteration": iteration,
         "description": "Runs verifier.py and prints only the failing checks.",
         "created_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
         "metadata": {"source": "shell-agent"}}
registry["artifacts"] = [a for a in registry.get("artifacts", []) if a.get("id") != entry["id"]] + [entry]
with open(path, "w") as f:
    json.dump(registry, f, indent=2)
PY
    merge '{"status": "tooling_built", "tooling": {"summary": "Wrote and registered norm_check.py.", "built": [{"kind": "tool", "path": ".harnessgym/tools/norm_check.py"}]}}'
    say result "built norm_check.py"
}

say session "$phase"
case "$phase" in
    attempt) attempt ;;
    reflection) reflect ;;
    build | repair) build ;;
    *) echo "shell-agent: cannot tell the phase from the prompt" >&2; exit 4 ;;
esac
