"""End-to-end tests of the kernel-probe MCP server over its real stdio transport.

Run from the workspace root:  python3 -m unittest discover -s .harnessgym/tests

Each test starts `server.py` as a subprocess and speaks Content-Length framed JSON-RPC to it.
`run_verifier` is pointed (via HARNESSGYM_WORKSPACE) at a temporary directory holding a stub
verifier, so the tests do not depend on the state of the task files and write nothing else.
Standard library only; no network.
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

HARNESS_DIR = Path(__file__).resolve().parents[1]
WORKSPACE = HARNESS_DIR.parent
SERVER = HARNESS_DIR / "mcp" / "kernel-probe" / "server.py"
MANIFEST = HARNESS_DIR / "mcp" / "kernel-probe" / "harnessgym-mcp.json"
TIMEOUT = 30


def frame(message):
    body = json.dumps(message).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def read_frame(stream):
    """One Content-Length framed message from a binary stream (None at EOF)."""
    length = None
    while True:
        line = stream.readline()
        if not line:
            return None
        line = line.strip()
        if not line:
            if length is not None:
                break
            continue
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    body = stream.read(length)
    return json.loads(body.decode("utf-8"))


class Server:
    """The server as a subprocess, with a tiny request helper."""

    def __init__(self, env=None):
        self.proc = subprocess.Popen(
            [sys.executable, "-B", str(SERVER)], cwd=str(WORKSPACE),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=dict(os.environ, **(env or {})))
        self.next_id = 0

    def send(self, message):
        self.proc.stdin.write(frame(message))
        self.proc.stdin.flush()

    def request(self, method, params=None):
        self.next_id += 1
        message = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        reply = read_frame(self.proc.stdout)
        if reply is None:
            raise AssertionError("server closed stdout; stderr: " + self.proc.stderr.read().decode())
        if reply.get("id") != self.next_id:
            raise AssertionError(f"reply id {reply.get('id')!r} != request id {self.next_id}")
        return reply

    def initialize(self):
        reply = self.request("initialize", {"protocolVersion": "2024-11-05", "capabilities": {},
                                            "clientInfo": {"name": "unittest", "version": "0"}})
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return reply

    def call(self, tool, arguments):
        reply = self.request("tools/call", {"name": tool, "arguments": arguments})
        result = reply["result"]
        content = result["content"]
        return json.loads(content[0]["text"]), result["isError"]

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()


class KernelProbeServerTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="kernel-probe-test-")
        self.server = Server(env={"HARNESSGYM_WORKSPACE": self.tmp.name})

    def tearDown(self):
        self.server.close()
        self.tmp.cleanup()

    def test_initialize_echoes_protocol_version(self):
        result = self.server.initialize()["result"]
        self.assertEqual(result["protocolVersion"], "2024-11-05")
        self.assertEqual(result["serverInfo"]["name"], "kernel-probe")
        self.assertIn("tools", result["capabilities"])

    def test_tools_list_matches_manifest(self):
        self.server.initialize()
        tools = self.server.request("tools/list")["result"]["tools"]
        names = [tool["name"] for tool in tools]
        self.assertEqual(names, ["run_verifier", "norm", "compare_vectors"])
        manifest = json.loads(MANIFEST.read_text())
        self.assertEqual(sorted(manifest["enabled_tools"]), sorted(names))
        for tool in tools:
            self.assertEqual(tool["inputSchema"]["type"], "object")
            self.assertTrue(tool["description"])

    def test_norm(self):
        self.server.initialize()
        payload, is_error = self.server.call("norm", {"values": [3, 4]})
        self.assertFalse(is_error)
        self.assertEqual(payload["norm"], 5.0)
        self.assertEqual(payload["count"], 2)
        payload, is_error = self.server.call("norm", {"values": ["a"]})
        self.assertTrue(is_error)
        self.assertIn("error", payload)

    def test_compare_vectors(self):
        self.server.initialize()
        payload, is_error = self.server.call(
            "compare_vectors", {"expected": [1.0, -2.0, 4.0], "actual": [1.0, -2.0, 5.0], "tolerance": 1e-9})
        self.assertFalse(is_error)
        self.assertEqual(payload["max_abs_error"], 1.0)
        self.assertEqual(payload["max_rel_error"], 0.25)
        self.assertEqual(payload["argmax_abs"], 2)
        self.assertFalse(payload["within_tolerance"])

    def test_run_verifier_on_stub(self):
        Path(self.tmp.name, "verifier.py").write_text(
            "import json\n"
            "print(json.dumps({'status': 'passed', 'passed': 1, 'total': 1, 'score': 1.0,"
            " 'checks': [{'name': 'only', 'status': 'passed'}]}))\n")
        self.server.initialize()
        payload, is_error = self.server.call("run_verifier", {"timeout_seconds": 20})
        self.assertFalse(is_error)
        self.assertTrue(payload["passed"])
        self.assertEqual(payload["return_code"], 0)
        self.assertEqual(payload["score"], 1.0)
        self.assertEqual(payload["failed_checks"], [])
        self.assertEqual(payload["report"]["total"], 1)

    def test_errors(self):
        self.server.initialize()
        self.assertEqual(self.server.request("no/such/method")["error"]["code"], -32601)
        reply = self.server.request("tools/call", {"name": "no_such_tool", "arguments": {}})
        self.assertEqual(reply["error"]["code"], -32602)
        # The server is still serving after errors.
        payload, is_error = self.server.call("norm", {"values": [0, 0]})
        self.assertFalse(is_error)
        self.assertEqual(payload["norm"], 0.0)


class SelfTestTest(unittest.TestCase):
    def test_self_test_passes(self):
        proc = subprocess.run([sys.executable, "-B", str(SERVER), "--self-test"], cwd=str(WORKSPACE),
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)


if __name__ == "__main__":
    unittest.main()
