"""Objective verifier for kernel_ops.py.

Run from the task directory:  python3 verifier.py

Checks every kernel against reference values computed here, independently of
kernel_ops.py, prints one JSON object on stdout and exits 0 only when every
check passes:

  {"status": "passed" | "failed", "passed": <int>, "total": <int>,
   "score": <fraction of checks passed, higher is better>,
   "checks": [{"name", "kernel", "status", "expected", "actual", "error"}, ...]}
"""

import json
import math
import sys

# The verifier must not leave __pycache__ behind in the task directory.
sys.dont_write_bytecode = True

TOLERANCE = 1e-9

_E = math.e
_SOFTMAX_DENOMINATOR = 1.0 + _E + _E * _E

# (check name, kernel name, arguments, expected value). Expected values are
# exact by hand or closed forms, e.g. cos([1,2,3],[4,5,6]) = 32/sqrt(14*77).
CHECKS = [
    ("dot_integers", "dot", ([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]), 32.0),
    ("dot_mixed_signs", "dot", ([0.5, -1.25, 2.0], [4.0, 0.8, -0.25]), 0.5),
    ("cosine_general", "cosine_similarity",
     ([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]), 32.0 / math.sqrt(14.0 * 77.0)),
    ("cosine_parallel", "cosine_similarity", ([3.0, 4.0], [3.0, 4.0]), 1.0),
    ("cosine_orthogonal", "cosine_similarity", ([1.0, 0.0], [0.0, 1.0]), 0.0),
    ("cosine_opposite", "cosine_similarity", ([2.0, 0.0], [-1.0, 0.0]), -1.0),
    ("softmax_small", "softmax", ([1.0, 2.0, 3.0],),
     [1.0 / _SOFTMAX_DENOMINATOR, _E / _SOFTMAX_DENOMINATOR, _E * _E / _SOFTMAX_DENOMINATOR]),
    ("softmax_large_inputs", "softmax", ([1000.0, 1000.0],), [0.5, 0.5]),
    ("logsumexp_small", "logsumexp", ([1.0, 2.0, 3.0],),
     3.0 + math.log(1.0 + math.exp(-1.0) + math.exp(-2.0))),
    ("logsumexp_large_inputs", "logsumexp", ([1000.0, 1000.0],), 1000.0 + math.log(2.0)),
    ("mean_variance", "mean_variance", ([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0],), [5.0, 4.0]),
    ("matvec", "matvec", ([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], [1.0, -1.0]), [-1.0, -1.0, -1.0]),
]


def as_list(value):
    """A scalar, tuple or list as a flat list of floats."""
    if isinstance(value, (list, tuple)):
        return [float(item) for item in value]
    return [float(value)]


def close(actual, expected):
    """Element-wise closeness within TOLERANCE (absolute and relative)."""
    actual, expected = as_list(actual), as_list(expected)
    return len(actual) == len(expected) and all(
        math.isclose(a, e, rel_tol=TOLERANCE, abs_tol=TOLERANCE)
        for a, e in zip(actual, expected)
    )


def jsonable(value):
    """A kernel output as strict JSON: non-finite floats and odd types become strings."""
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return value if math.isfinite(value) else repr(float(value))
    return repr(value)


def run_check(module, name, kernel, args, expected):
    """Runs one kernel call; an exception is a failed check, not a verifier crash."""
    record = {"name": name, "kernel": kernel, "expected": expected, "actual": None, "error": None}
    try:
        actual = getattr(module, kernel)(*args)
        record["actual"] = jsonable(actual)
        record["status"] = "passed" if close(actual, expected) else "failed"
    except Exception as exc:
        record["status"] = "failed"
        record["error"] = f"{type(exc).__name__}: {exc}"
    return record


def main():
    try:
        import kernel_ops
    except Exception as exc:
        report = {
            "status": "failed",
            "passed": 0,
            "total": len(CHECKS),
            "score": 0.0,
            "checks": [],
            "error": f"cannot import kernel_ops: {type(exc).__name__}: {exc}",
        }
    else:
        checks = [run_check(kernel_ops, *check) for check in CHECKS]
        passed = sum(1 for check in checks if check["status"] == "passed")
        report = {
            "status": "passed" if passed == len(checks) else "failed",
            "passed": passed,
            "total": len(checks),
            "score": passed / len(checks),
            "checks": checks,
        }
    print(json.dumps(report, indent=2, sort_keys=True, allow_nan=False))
    return 0 if report["status"] == "passed" else 1


if __name__ == "__main__":
    sys.exit(main())
