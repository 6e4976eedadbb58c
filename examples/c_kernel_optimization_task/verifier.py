"""Objective verifier for kernel.c: the benchmark in final mode.

Run from the task directory:  python3 verifier.py

Prints the JSON object of `python3 benchmark.py --json --mode final` (plus `verified`) and exits
0 only when kernel.c compiles, passes the cost-model checks and is correct on every grid.
`best_cycles` (= `score`, lower is better) is the number to minimise.
"""

import json
import sys

# The verifier must not leave __pycache__ behind in the task directory.
sys.dont_write_bytecode = True

import benchmark  # noqa: E402  (after dont_write_bytecode on purpose)


def main():
    report = benchmark.benchmark("final")
    report["verified"] = report.get("status") == "passed" and report.get("correct") is True
    print(json.dumps(report, indent=2, sort_keys=True))
    return 0 if report["verified"] else 1


if __name__ == "__main__":
    sys.exit(main())
