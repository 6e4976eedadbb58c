#!/usr/bin/env python3
"""kernel-probe: a small stdio MCP server for the numerical kernel task (Python 3 stdlib only).

Transport: JSON-RPC 2.0 over stdin/stdout, each message framed as

    Content-Length: <bytes>\r\n\r\n<UTF-8 JSON body>

The reader is tolerant: the header name is case-insensitive, `\n\n` is accepted as the header
terminator, and a bare line of JSON (newline-delimited JSON) is answered in the same style.
Only framed messages are written to stdout; diagnostics go to stderr.

Methods: `initialize` (echoes the client's protocolVersion), `notifications/initialized` and
other notifications (ignored), `ping`, `tools/list`, `tools/call`. Unknown methods get the
JSON-RPC error -32601; an unknown tool name gets -32602.

Tools (each returns `{"content": [{"type": "text", "text": <JSON>}], "isError": <bool>}`):
  run_verifier     run `verifier.py` in the workspace and return its parsed JSON report
  norm             L2 norm of a list of numbers
  compare_vectors  max absolute / relative error between an expected and an actual list

The workspace is `$HARNESSGYM_WORKSPACE` when set, else the current directory.

`server.py --self-test` exercises the framing and all three tools in-process, without network
and writing only inside a temporary directory; it exits 0 when every check passes, else 1.
"""

import json
import math
import os
import signal
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True

SERVER_NAME = "kernel-probe"
SERVER_VERSION = "1.0.0"
DEFAULT_PROTOCOL_VERSION = "2024-11-05"
DEFAULT_VERIFIER_TIMEOUT = 30.0
MAX_VERIFIER_TIMEOUT = 120.0
OUTPUT_TAIL_CHARS = 4000

NUMBER_LIST = {"type": "array", "items": {"type": "number"}}

TOOLS = [
    {
        "name": "run_verifier",
        "description": (
            "Run `python3 verifier.py` in the task workspace with a timeout and return its exit "
            "code, its parsed JSON report (status, passed/total, score, per-check expected vs "
            "actual) and the names of the failing checks. Read-only: it never edits files."
        ),
        "inputSchema": {
            "type": "object",
            "properties": {
                "timeout_seconds": {
                    "type": "number",
                    "minimum": 1,
                    "maximum": MAX_VERIFIER_TIMEOUT,
                    "description": "Kill the verifier after this many seconds (default 30).",
                },
                "script": {
                    "type": "string",
                    "description": "Verifier file relative to the workspace (default verifier.py).",
                },
            },
            "additionalProperties": False,
        },
    },
    {
        "name": "norm",
        "description": (
            "L2 (Euclidean) norm of a list of numbers, computed without overflow "
            "(math.hypot), with the element count and the sum of squares."
        ),
        "inputSchema": {
            "type": "object",
            "properties": {"values": dict(NUMBER_LIST, description="The vector.")},
            "required": ["values"],
            "additionalProperties": False,
        },
    },
    {
        "name": "compare_vectors",
        "description": (
            "Element-wise comparison of an expected and an actual vector: max absolute error, "
            "max relative error (|a-e| / max(|e|, rel_floor)), where they occur, and whether both "
            "are within `tolerance` when one is given. Scalars are treated as 1-element lists."
        ),
        "inputSchema": {
            "type": "object",
            "properties": {
                "expected": {"type": ["array", "number"], "items": {"type": "number"}},
                "actual": {"type": ["array", "number"], "items": {"type": "number"}},
                "tolerance": {"type": "number", "minimum": 0},
                "rel_floor": {
                    "type": "number",
                    "exclusiveMinimum": 0,
                    "description": "Smallest denominator for the relative error (default 1e-12).",
                },
            },
            "required": ["expected", "actual"],
            "additionalProperties": False,
        },
    },
]
TOOL_NAMES = [tool["name"] for tool in TOOLS]


class ToolError(Exception):
    """A tool-level failure: reported as `isError: true`, not as a JSON-RPC error."""


def log(message):
    sys.stderr.write(f"[{SERVER_NAME}] {message}\n")
    sys.stderr.flush()


def workspace_dir():
    return os.path.abspath(os.environ.get("HARNESSGYM_WORKSPACE") or os.getcwd())


def number_list(value, field):
    """A list of finite-or-not floats from a JSON list (or a scalar); bools are rejected."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list):
        raise ToolError(f"`{field}` must be a list of numbers")
    out = []
    for index, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            raise ToolError(f"`{field}[{index}]` is not a number: {item!r}")
        out.append(float(item))
    return out


def finite_or_string(value):
    """Strict JSON has no inf/nan: non-finite floats become strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return value


def tail(text):
    return text if len(text) <= OUTPUT_TAIL_CHARS else "...[truncated]...\n" + text[-OUTPUT_TAIL_CHARS:]


# --------------------------------------------------------------------------- tools

def tool_run_verifier(arguments):
    timeout = arguments.get("timeout_seconds", DEFAULT_VERIFIER_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ToolError("`timeout_seconds` must be a positive number")
    timeout = min(float(timeout), MAX_VERIFIER_TIMEOUT)
    script = arguments.get("script", "verifier.py")
    if not isinstance(script, str) or not script or os.path.isabs(script) or ".." in script.split("/"):
        raise ToolError("`script` must be a relative path inside the workspace")
    workspace = workspace_dir()
    path = os.path.join(workspace, script)
    if not os.path.isfile(path):
        raise ToolError(f"no {script} in workspace {workspace}")
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    command = [sys.executable or "python3", "-B", script]
    shown = " ".join(["python3", "-B", script])
    # Own process group, so a timeout kills the verifier and anything it started.
    proc = subprocess.Popen(command, cwd=workspace, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        stdout, stderr = proc.communicate()
        return {
            "command": shown, "workspace": workspace, "timed_out": True, "return_code": None,
            "passed": False, "status": None, "score": None, "failed_checks": [], "report": None,
            "stdout_tail": tail(stdout.decode("utf-8", "replace")),
            "stderr_tail": tail(stderr.decode("utf-8", "replace") + f"\ntimed out after {timeout:g} seconds"),
        }
    stdout = stdout.decode("utf-8", "replace")
    stderr = stderr.decode("utf-8", "replace")
    report = None
    try:
        parsed = json.loads(stdout)
        if isinstance(parsed, dict):
            report = parsed
    except ValueError:
        pass
    failed = []
    if report is not None:
        for check in report.get("checks") or []:
            if isinstance(check, dict) and check.get("status") != "passed":
                failed.append(check.get("name"))
    return {
        "command": shown,
        "workspace": workspace,
        "timed_out": False,
        "return_code": proc.returncode,
        "passed": proc.returncode == 0 and (report is None or report.get("status") == "passed"),
        "status": report.get("status") if report else None,
        "score": report.get("score") if report else None,
        "failed_checks": failed,
        "report": report,
        "stdout_tail": "" if report is not None else tail(stdout),
        "stderr_tail": tail(stderr),
    }


def tool_norm(arguments):
    values = number_list(arguments.get("values"), "values")
    norm = math.hypot(*values) if values else 0.0
    sum_sq = math.fsum(v * v for v in values)
    return {"count": len(values), "norm": finite_or_string(norm),
            "sum_of_squares": finite_or_string(sum_sq)}


def tool_compare_vectors(arguments):
    if "expected" not in arguments or "actual" not in arguments:
        raise ToolError("`expected` and `actual` are required")
    expected = number_list(arguments["expected"], "expected")
    actual = number_list(arguments["actual"], "actual")
    if len(expected) != len(actual):
        raise ToolError(f"length mismatch: expected has {len(expected)}, actual has {len(actual)}")
    rel_floor = arguments.get("rel_floor", 1e-12)
    if isinstance(rel_floor, bool) or not isinstance(rel_floor, (int, float)) or rel_floor <= 0:
        raise ToolError("`rel_floor` must be a positive number")
    tolerance = arguments.get("tolerance")
    if tolerance is not None and (isinstance(tolerance, bool) or not isinstance(tolerance, (int, float))
                                  or tolerance < 0):
        raise ToolError("`tolerance` must be a non-negative number")
    max_abs, max_rel, at_abs, at_rel, non_finite = 0.0, 0.0, None, None, []
    for index, (e, a) in enumerate(zip(expected, actual)):
        if not (math.isfinite(e) and math.isfinite(a)):
            if not (e == a or (math.isnan(e) and math.isnan(a))):
                non_finite.append(index)
            continue
        err = abs(a - e)
        rel = err / max(abs(e), float(rel_floor))
        if at_abs is None or err > max_abs:
            max_abs, at_abs = err, index
        if at_rel is None or rel > max_rel:
            max_rel, at_rel = rel, index
    result = {
        "length": len(expected),
        "max_abs_error": max_abs,
        "max_rel_error": max_rel,
        "argmax_abs": at_abs,
        "argmax_rel": at_rel,
        "non_finite_mismatches": non_finite,
        "identical": not non_finite and max_abs == 0.0,
    }
    if tolerance is not None:
        result["tolerance"] = tolerance
        result["within_tolerance"] = not non_finite and max_abs <= tolerance and max_rel <= tolerance
    return result


HANDLERS = {
    "run_verifier": tool_run_verifier,
    "norm": tool_norm,
    "compare_vectors": tool_compare_vectors,
}


# --------------------------------------------------------------------------- JSON-RPC

def error_response(request_id, code, message):
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


def tool_result(payload, is_error):
    text = json.dumps(payload, sort_keys=True, allow_nan=False)
    return {"content": [{"type": "text", "text": text}], "isError": is_error}


def call_tool(params):
    """The `tools/call` result for params, or a JSON-RPC error tuple (code, message)."""
    name = params.get("name")
    arguments = params.get("arguments")
    if arguments is None:
        arguments = {}
    if name not in HANDLERS:
        return None, (-32602, f"unknown tool: {name!r}; available: {', '.join(TOOL_NAMES)}")
    if not isinstance(arguments, dict):
        return tool_result({"error": "`arguments` must be a JSON object"}, True), None
    try:
        return tool_result(HANDLERS[name](arguments), False), None
    except ToolError as exc:
        return tool_result({"error": str(exc), "tool": name}, True), None
    except Exception as exc:  # a bug in a tool must not kill the server
        return tool_result({"error": f"{type(exc).__name__}: {exc}", "tool": name}, True), None


def handle(message):
    """The response dict for one JSON-RPC message, or None for notifications."""
    if not isinstance(message, dict):
        return error_response(None, -32600, "invalid request: not a JSON object")
    method = message.get("method")
    is_request = "id" in message
    request_id = message.get("id")
    if not isinstance(method, str):
        return error_response(request_id, -32600, "invalid request: no method") if is_request else None
    if not is_request:
        return None  # notifications/initialized, notifications/cancelled, ...: nothing to answer
    params = message.get("params") or {}
    if not isinstance(params, dict):
        return error_response(request_id, -32602, "params must be an object")
    if method == "initialize":
        version = params.get("protocolVersion")
        return {"jsonrpc": "2.0", "id": request_id, "result": {
            "protocolVersion": version if isinstance(version, str) and version else DEFAULT_PROTOCOL_VERSION,
            "serverInfo": {"name": SERVER_NAME, "version": SERVER_VERSION},
            "capabilities": {"tools": {"listChanged": False}},
        }}
    if method == "ping":
        return {"jsonrpc": "2.0", "id": request_id, "result": {}}
    if method == "tools/list":
        return {"jsonrpc": "2.0", "id": request_id, "result": {"tools": TOOLS}}
    if method == "tools/call":
        result, error = call_tool(params)
        if error is not None:
            return error_response(request_id, *error)
        return {"jsonrpc": "2.0", "id": request_id, "result": result}
    return error_response(request_id, -32601, f"method not found: {method}")


# --------------------------------------------------------------------------- framing

def encode(message):
    body = json.dumps(message, sort_keys=True, allow_nan=False).encode("utf-8")
    return b"Content-Length: " + str(len(body)).encode("ascii") + b"\r\n\r\n" + body


def read_message(stream):
    """Next (body bytes, framed?) from a binary stream, or None at EOF.

    Accepts `Content-Length` in any case, `\\r\\n` or `\\n` line ends (so `\\n\\n` ends the
    header), extra headers (ignored) and, as a fallback, one JSON object per line.
    """
    length = None
    saw_header = False
    while True:
        line = stream.readline()
        if not line:
            return None
        stripped = line.strip()
        if not stripped:
            if saw_header and length is not None:
                break
            continue  # blank lines between messages
        if not saw_header and stripped.startswith(b"{"):
            return stripped, False
        saw_header = True
        name, _, value = stripped.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                length = int(value.strip())
            except ValueError:
                raise ValueError(f"bad Content-Length header: {stripped!r}")
    body = b""
    while len(body) < length:
        chunk = stream.read(length - len(body))
        if not chunk:
            return None
        body += chunk
    return body, True


def serve(stdin, stdout):
    while True:
        try:
            item = read_message(stdin)
        except ValueError as exc:
            log(str(exc))
            return 1
        if item is None:
            return 0
        body, framed = item
        try:
            message = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            response = error_response(None, -32700, f"parse error: {exc}")
        else:
            response = handle(message)
        if response is None:
            continue
        if framed:
            stdout.write(encode(response))
        else:
            stdout.write(json.dumps(response, sort_keys=True, allow_nan=False).encode("utf-8") + b"\n")
        stdout.flush()


# --------------------------------------------------------------------------- self-test

def self_test():
    import io

    failures = []

    def check(name, condition, detail=""):
        print(f"{'ok  ' if condition else 'FAIL'} {name}{': ' + detail if detail and not condition else ''}")
        if not condition:
            failures.append(name)

    def call(name, arguments):
        response = handle({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                           "params": {"name": name, "arguments": arguments}})
        result = response["result"]
        return json.loads(result["content"][0]["text"]), result["isError"]

    # Framing: a framed exchange through serve(), with a lower-case header and a `\n\n` terminator.
    init = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                       "params": {"protocolVersion": "2025-03-26", "capabilities": {}}}).encode()
    note = json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}).encode()
    listing = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}).encode()
    unknown = json.dumps({"jsonrpc": "2.0", "id": 3, "method": "resources/list"}).encode()
    wire = (b"Content-Length: %d\r\n\r\n%s" % (len(init), init)
            + b"content-length: %d\n\n%s" % (len(note), note)
            + b"CONTENT-LENGTH: %d\r\n\r\n%s" % (len(listing), listing)
            + b"Content-Length: %d\r\n\r\n%s" % (len(unknown), unknown))
    out = io.BytesIO()
    rc = serve(io.BytesIO(wire), out)
    replies = []
    reader = io.BytesIO(out.getvalue())
    while True:
        item = read_message(reader)
        if item is None:
            break
        replies.append(json.loads(item[0]))
    check("serve exits 0 at EOF", rc == 0)
    check("three replies (the notification gets none)", [r.get("id") for r in replies] == [1, 2, 3],
          repr([r.get("id") for r in replies]))
    if len(replies) == 3:
        check("initialize echoes protocolVersion",
              replies[0]["result"]["protocolVersion"] == "2025-03-26")
        check("initialize names the server", replies[0]["result"]["serverInfo"]["name"] == SERVER_NAME)
        check("initialize advertises tools", "tools" in replies[0]["result"]["capabilities"])
        names = [tool["name"] for tool in replies[1]["result"]["tools"]]
        check("tools/list returns the 3 tools", names == TOOL_NAMES, repr(names))
        check("every tool has an object inputSchema",
              all(tool["inputSchema"].get("type") == "object" for tool in replies[1]["result"]["tools"]))
        check("unknown method is -32601", replies[2].get("error", {}).get("code") == -32601)
    unknown_tool = handle({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
                           "params": {"name": "nope", "arguments": {}}})
    check("unknown tool is -32602", unknown_tool.get("error", {}).get("code") == -32602)

    # norm
    payload, is_error = call("norm", {"values": [3, 4]})
    # DELIBERATELY BROKEN (examples/mcp_bundle_broken): the L2 norm of [3, 4] is 5, not 7 (the
    # L1 norm). This wrong expectation makes `--self-test` exit 1, so qualification must fail.
    check("norm([3, 4]) == 7", not is_error and payload["norm"] == 7.0, repr(payload))
    payload, is_error = call("norm", {"values": [1e200, 1e200]})
    check("norm does not overflow", not is_error and math.isclose(payload["norm"], math.sqrt(2) * 1e200),
          repr(payload))
    payload, is_error = call("norm", {"values": []})
    check("norm([]) == 0", not is_error and payload["norm"] == 0.0 and payload["count"] == 0)
    payload, is_error = call("norm", {"values": [1, "x"]})
    check("norm rejects non-numbers with isError", is_error and "values[1]" in payload["error"])

    # compare_vectors
    payload, is_error = call("compare_vectors",
                             {"expected": [1.0, 2.0, 4.0], "actual": [1.0, 2.5, 4.0], "tolerance": 1e-9})
    check("compare_vectors max_abs_error", not is_error and payload["max_abs_error"] == 0.5, repr(payload))
    check("compare_vectors max_rel_error", not is_error and payload["max_rel_error"] == 0.25)
    check("compare_vectors argmax", not is_error and payload["argmax_abs"] == 1 and payload["argmax_rel"] == 1)
    check("compare_vectors out of tolerance", not is_error and payload["within_tolerance"] is False)
    payload, is_error = call("compare_vectors", {"expected": 0.5, "actual": 0.5, "tolerance": 0})
    check("compare_vectors scalars, identical", not is_error and payload["identical"]
          and payload["within_tolerance"] is True)
    payload, is_error = call("compare_vectors", {"expected": [1, 2], "actual": [1]})
    check("compare_vectors length mismatch is isError", is_error and "length mismatch" in payload["error"])

    # run_verifier, against stub verifiers in a temporary workspace (never the real one).
    saved = os.environ.get("HARNESSGYM_WORKSPACE")
    with tempfile.TemporaryDirectory(prefix="kernel-probe-selftest-") as tmp:
        os.environ["HARNESSGYM_WORKSPACE"] = tmp
        try:
            with open(os.path.join(tmp, "verifier.py"), "w") as handle_:
                handle_.write(
                    "import json, sys\n"
                    "checks = [{'name': 'a', 'status': 'passed'}, {'name': 'b', 'status': 'failed'}]\n"
                    "print(json.dumps({'status': 'failed', 'passed': 1, 'total': 2, 'score': 0.5,"
                    " 'checks': checks}))\n"
                    "sys.exit(1)\n")
            with open(os.path.join(tmp, "passing.py"), "w") as handle_:
                handle_.write("import json\nprint(json.dumps({'status': 'passed', 'score': 1.0, 'checks': []}))\n")
            with open(os.path.join(tmp, "slow.py"), "w") as handle_:
                handle_.write("import time\ntime.sleep(30)\n")
            payload, is_error = call("run_verifier", {"timeout_seconds": 20})
            check("run_verifier parses a failing report",
                  not is_error and payload["return_code"] == 1 and payload["passed"] is False
                  and payload["score"] == 0.5 and payload["failed_checks"] == ["b"], repr(payload))
            payload, is_error = call("run_verifier", {"script": "passing.py"})
            check("run_verifier passing report", not is_error and payload["passed"] is True
                  and payload["status"] == "passed", repr(payload))
            payload, is_error = call("run_verifier", {"script": "slow.py", "timeout_seconds": 1})
            check("run_verifier honours its timeout", not is_error and payload["timed_out"] is True)
            payload, is_error = call("run_verifier", {"script": "missing.py"})
            check("run_verifier missing script is isError", is_error)
            payload, is_error = call("run_verifier", {"script": "../verifier.py"})
            check("run_verifier refuses paths outside the workspace", is_error)
        finally:
            if saved is None:
                os.environ.pop("HARNESSGYM_WORKSPACE", None)
            else:
                os.environ["HARNESSGYM_WORKSPACE"] = saved

    print(json.dumps({"status": "failed" if failures else "passed", "failures": failures}, sort_keys=True))
    return 1 if failures else 0


def main(argv):
    if "--self-test" in argv:
        return self_test()
    if "--help" in argv or "-h" in argv:
        print(__doc__)
        return 0
    log(f"serving {len(TOOLS)} tools on stdio (workspace {workspace_dir()})")
    try:
        return serve(sys.stdin.buffer, sys.stdout.buffer)
    except (BrokenPipeError, KeyboardInterrupt):
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
