"""Deterministic benchmark for the 5-point stencil in kernel.c.

    python3 benchmark.py --json --mode dev      # quick iteration (one 40 x 56 grid)
    python3 benchmark.py --json --mode final    # the objective (72 x 96 and 97 x 33 grids)

Needs python3, a C compiler (`cc`, or $CC) and x86-64; standard library only, no network. All
build products go to a temporary directory; nothing is written into the task directory.

What it does:
  1. Rejects kernel.c sources that could escape the cost model (inline asm, pragmas, includes
     other than "kernel.h", `optimize`/`target` attributes, identifiers starting with `hg_`).
  2. Compiles kernel.c to assembly with fixed flags (-O1, no AVX) and rejects code that leaves
     kernel.c: calls or references to symbols it does not define, indirect calls, string
     (`rep`) instructions, system calls.
  3. Instruments every instruction of that assembly with a counter and every memory access with
     a call into a cache simulator, links it with a driver, and runs each case once.
  4. Checks every output element against a Python reference (abs/rel tolerance 1e-12) on the
     scored grids, on small edge-case grids (1 x 1, 1 x n, n x 1, ...) and on one freshly random
     grid per run (its size and data change every run, so hard-coding outputs cannot pass; its
     cost is not scored). Input must be left unchanged; writes outside `out` are detected.

Cost model (the same number on every run; wall time plays no part):
  cycles = instructions + memory_accesses + MISS_PENALTY * cache_misses
  - instructions: every executed instruction of kernel.c counts 1, except integer multiply
    (`imul`, `mul`) 3 and divide / square root (`div`, `idiv`, `div*`, `sqrt*`) 20.
  - memory_accesses: every explicit memory operand of an executed instruction (`lea` and `nop`
    are not accesses), plus the implicit stack access of push, pop, call, ret and leave.
  - cache_misses: each access looks up the 64-byte line of its first byte in a simulated
    4 KiB, 4-way set-associative, LRU, write-allocate data cache that starts empty for every
    case. Loads and stores are treated alike. Stack addresses are rebased so that stack
    randomisation cannot change set mapping.
  best_cycles (= score) is the sum of `cycles` over the mode's scored grids. Lower is better.

Output (`--json`): one JSON object
  {"status": "passed" | "failed", "mode", "best_cycles", "score", "correct", "cases": [...],
   "edge_cases": [...], "cost_model": {...}, ...}
On a failure (compile error, rejected source, crash, timeout, wrong result) status is
"failed", correct is false, best_cycles/score are 10**18, `error` says why, and the exit code
is 1. Exit code 0 means correct.
"""

import argparse
import json
import math
import os
import platform
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.abspath(__file__))
KERNEL_SOURCE = os.path.join(HERE, "kernel.c")
FAILED_CYCLES = 10 ** 18

CENTER = 0.5
EDGE = 0.125
TOLERANCE = 1e-12

# (name, rows, cols, seed): the scored grids of each mode.
MODES = {
    "dev": [("dev_40x56", 40, 56, 1101)],
    "final": [("final_72x96", 72, 96, 2024), ("final_97x33", 97, 33, 4099)],
}
# Correctness-only grids (not scored): degenerate shapes a kernel must also handle.
EDGE_CASES = [("edge_1x1", 1, 1, 11), ("edge_1x9", 1, 9, 12), ("edge_7x1", 7, 1, 13),
              ("edge_2x2", 2, 2, 14), ("edge_3x17", 3, 17, 15)]

CACHE = {"size_bytes": 4096, "ways": 4, "line_bytes": 64}
MISS_PENALTY = 20
WEIGHT_MUL = 3
WEIGHT_DIV = 20
RUN_TIMEOUT_SECONDS = 60
COMPILE_TIMEOUT_SECONDS = 60

CFLAGS = ["-std=c11", "-O1", "-mno-avx", "-fno-stack-protector", "-fcf-protection=none",
          "-fno-asynchronous-unwind-tables", "-fno-tree-loop-distribute-patterns",
          "-mstringop-strategy=loop", "-fno-builtin", "-Werror=implicit-function-declaration",
          "-Werror=implicit-int"]

COST_MODEL = {
    "formula": "instructions + memory_accesses + miss_penalty * cache_misses",
    "instruction_weights": {"default": 1, "imul/mul": WEIGHT_MUL, "div/idiv/div*/sqrt*": WEIGHT_DIV},
    "cache": dict(CACHE, policy="LRU, write-allocate, cold at the start of every case"),
    "miss_penalty": MISS_PENALTY,
    "kernel_cflags": CFLAGS,
    "best_cycles": "sum of cycles over the scored cases of the mode",
}


class BenchmarkError(Exception):
    """A failure that makes the run `failed` (message goes into `error`)."""


# --------------------------------------------------------------------------- source checks

FORBIDDEN_SOURCE = [
    (re.compile(r"\b(asm|__asm|__asm__)\b"), "inline assembly"),
    (re.compile(r"#\s*pragma\b|\b_Pragma\b"), "pragmas"),
    (re.compile(r"\b(__)?optimize(__)?\s*\("), "optimize attributes"),
    (re.compile(r"\b(__)?target(_clones)?(__)?\s*\("), "target attributes"),
    (re.compile(r"\b(__)?(constructor|destructor)(__)?\b|\b(__)?(ifunc|section|alias)(__)?\s*\("),
     "constructor, destructor, ifunc, section or alias attributes"),
    (re.compile(r"\bhg_\w*"), "identifiers starting with hg_ (reserved for the cost model)"),
]


def strip_comments(source):
    source = re.sub(r"/\*.*?\*/", " ", source, flags=re.S)
    return re.sub(r"//[^\n]*", " ", source)


def check_source(source):
    code = strip_comments(source)
    for pattern, what in FORBIDDEN_SOURCE:
        match = pattern.search(code)
        if match:
            raise BenchmarkError(f"kernel.c may not use {what} (found {match.group(0)!r})")
    for match in re.finditer(r"#\s*include\s*([<\"][^>\"]*[>\"])", code):
        if match.group(1) != '"kernel.h"':
            raise BenchmarkError(f'kernel.c may include only "kernel.h" (found {match.group(1)})')


# --------------------------------------------------------------------------- assembly instrumentation

LABEL = re.compile(r"^\s*([A-Za-z_.$][\w.$]*):\s*$")
SYMBOL = re.compile(r"(?<![%\w.])([A-Za-z_.][\w.$]*)")
PREFIXES = {"lock", "notrack", "bnd", "data16", "addr32"}
FORBIDDEN_MNEMONICS = {"syscall", "sysenter", "int", "int3", "into", "rdtsc", "rdtscp", "cpuid",
                       "rdrand", "rdseed", "rdpid", "xbegin", "xend", "xabort", "wrfsbase",
                       "wrgsbase", "rdfsbase", "rdgsbase", "ljmp", "lcall", "enter"}
STRING_OPS = re.compile(r"^(rep|repe|repz|repne|repnz)$|^(movs|cmps|stos|lods|scas|ins|outs)[bwlq]?$")


def split_operands(text):
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current.strip())
    return parts


def instruction_weight(mnemonic):
    if re.match(r"^(i?div|div|sqrt)", mnemonic):
        return WEIGHT_DIV
    if re.match(r"^i?mul[bwlq]?$", mnemonic) or mnemonic.startswith("imul"):
        return WEIGHT_MUL
    return 1


def is_branch(mnemonic):
    return mnemonic.startswith("j") or mnemonic.startswith("call") or mnemonic.startswith("loop")


def instrument(asm):
    """Instrumented assembly for kernel.c's gcc output, or BenchmarkError."""
    lines = asm.splitlines()
    defined = set()
    for line in lines:
        match = LABEL.match(line)
        if match:
            defined.add(match.group(1))
        match = re.match(r"^\s*\.(?:l?comm|set|equ)\s+([A-Za-z_.$][\w.$]*)", line)
        if match:
            defined.add(match.group(1))
    if "stencil5" not in defined:
        raise BenchmarkError("kernel.c does not define stencil5")

    out = []
    count = 0
    for number, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].rstrip()
        stripped = line.strip()
        if re.match(r"\.(section|pushsection)\b.*(init_array|fini_array|ctors|dtors)", stripped):
            raise BenchmarkError(f"kernel.s:{number}: start-up/shut-down code is not allowed")
        if not stripped or stripped.startswith(".") or LABEL.match(line):
            out.append(raw)
            continue
        if ";" in stripped:
            raise BenchmarkError(f"kernel.s:{number}: several instructions on one line: {stripped!r}")
        tokens = stripped.split(None, 1)
        while tokens and tokens[0] in PREFIXES:
            tokens = tokens[1].split(None, 1) if len(tokens) > 1 else []
        if not tokens:
            raise BenchmarkError(f"kernel.s:{number}: cannot parse {stripped!r}")
        mnemonic = tokens[0]
        operands = split_operands(tokens[1]) if len(tokens) > 1 else []
        if mnemonic in FORBIDDEN_MNEMONICS or STRING_OPS.match(mnemonic):
            raise BenchmarkError(f"kernel.s:{number}: instruction {mnemonic!r} is not allowed")
        if mnemonic.startswith("v") and not mnemonic.startswith("verr"):
            raise BenchmarkError(f"kernel.s:{number}: AVX instruction {mnemonic!r} is not allowed")

        for operand in operands:
            if re.search(r"%[cdefgs]s:", operand):
                raise BenchmarkError(f"kernel.s:{number}: segment-relative operand {operand!r} is not allowed")
            for symbol in SYMBOL.findall(operand.split("@", 1)[0] if "@" in operand else operand):
                if symbol not in defined:
                    raise BenchmarkError(
                        f"kernel.s:{number}: `{stripped}` refers to {symbol!r}, which kernel.c does "
                        "not define (kernel.c may not call or use code or data outside itself)")
            if "@" in operand and not re.search(r"@PLT\b", operand):
                raise BenchmarkError(f"kernel.s:{number}: relocation {operand!r} is not allowed")

        memory = []
        if mnemonic.startswith("call"):
            if not operands or operands[0].startswith("*"):
                raise BenchmarkError(f"kernel.s:{number}: indirect calls are not allowed")
            memory.append("-8(%rsp)")
        elif mnemonic.startswith("push"):
            memory.append("-8(%rsp)")
        elif mnemonic.startswith("pop") or mnemonic.startswith("ret"):
            memory.append("(%rsp)")
        elif mnemonic == "leave" or mnemonic.startswith("leave"):
            memory.append("(%rbp)")
        if not (mnemonic.startswith("lea") or mnemonic.startswith("nop")):
            for operand in operands:
                target = operand[1:] if operand.startswith("*") else operand
                if "(" in target:
                    memory.append(target)
                elif not is_branch(mnemonic) and not target.startswith(("$", "%")) \
                        and SYMBOL.match(target):
                    raise BenchmarkError(f"kernel.s:{number}: absolute memory operand {operand!r}")

        probe = ["\tmovq\t%rax, hg_save_rax(%rip)"]
        for address in memory:
            probe += [f"\tleaq\t{address}, %rax",
                      "\tleaq\t-128(%rsp), %rsp",
                      "\tcall\thg_mem_probe",
                      "\tleaq\t128(%rsp), %rsp"]
        probe += ["\tmovq\thg_insns(%rip), %rax",
                  f"\tleaq\t{instruction_weight(mnemonic)}(%rax), %rax",
                  "\tmovq\t%rax, hg_insns(%rip)",
                  "\tmovq\thg_save_rax(%rip), %rax"]
        out.extend(probe)
        out.append(raw)
        count += 1
    if count == 0:
        raise BenchmarkError("kernel.s has no instructions")
    return "\n".join(out) + "\n"


# The probe: called with the access address in %rax, 128 bytes below the red zone; saves the
# flags and every caller-saved register (incl. xmm0-15), then calls hg_mem(address).
PROBE_S = r"""
	.text
	.globl	hg_mem_probe
	.type	hg_mem_probe, @function
hg_mem_probe:
	pushfq
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%rbp
	movq	%rsp, %rbp
	andq	$-16, %rsp
	subq	$256, %rsp
""" + "".join(f"\tmovdqa\t%xmm{i}, {16 * i}(%rsp)\n" for i in range(16)) + r"""
	movq	%rax, %rdi
	call	hg_mem
""" + "".join(f"\tmovdqa\t{16 * i}(%rsp), %xmm{i}\n" for i in range(16)) + r"""
	movq	%rbp, %rsp
	popq	%rbp
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popfq
	ret
	.size	hg_mem_probe, .-hg_mem_probe
	.section	.note.GNU-stack,"",@progbits
"""

DRIVER_C = r"""
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void stencil5(int rows, int cols, const double *in, double *out);

uint64_t hg_insns, hg_save_rax;
static uint64_t hg_accesses, hg_misses, hg_tick;
static uintptr_t hg_stack_ref;

#define LINE_SHIFT %(line_shift)d
#define WAYS %(ways)d
#define SETS %(sets)d
#define STACK_SPAN (64u << 20)
#define STACK_VIRT ((uintptr_t)0x7ff000000000ULL)
#define GUARD 64 /* doubles of canary on each side of a buffer */
#define CANARY 0x5a5a5a5a5a5a5a5aULL

static uint64_t tags[SETS][WAYS], stamps[SETS][WAYS];

void hg_mem(uintptr_t addr)
{
    /* Rebase stack addresses on the driver's frame, so stack randomisation cannot move them
     * between cache sets; heap buffers are page aligned and static data keeps its page offset. */
    if (addr < hg_stack_ref + 4096 && addr + STACK_SPAN > hg_stack_ref)
        addr = STACK_VIRT + (addr - hg_stack_ref);
    uint64_t line = (uint64_t)(addr >> LINE_SHIFT) + 1; /* 0 marks an empty way */
    uint64_t *set_tags = tags[line %% SETS], *set_stamps = stamps[line %% SETS];
    hg_accesses++;
    hg_tick++;
    int victim = 0;
    for (int w = 0; w < WAYS; w++) {
        if (set_tags[w] == line) {
            set_stamps[w] = hg_tick;
            return;
        }
        if (set_stamps[w] < set_stamps[victim])
            victim = w;
    }
    hg_misses++;
    set_tags[victim] = line;
    set_stamps[victim] = hg_tick;
}

static double *guarded(size_t n)
{
    size_t bytes = (n + 2 * GUARD) * sizeof(double);
    bytes = (bytes + 4095) & ~(size_t)4095;
    uint64_t *raw = aligned_alloc(4096, bytes);
    if (!raw) { perror("aligned_alloc"); exit(3); }
    for (size_t i = 0; i < bytes / 8; i++) raw[i] = CANARY;
    return (double *)(raw + GUARD);
}

static int guards_intact(const double *p, size_t n)
{
    const uint64_t *raw = (const uint64_t *)p - GUARD;
    for (size_t i = 0; i < GUARD; i++)
        if (raw[i] != CANARY || raw[GUARD + n + i] != CANARY) return 0;
    return 1;
}

__attribute__((noinline)) static void run(int rows, int cols, const double *in, double *out)
{
    hg_stack_ref = (uintptr_t)__builtin_frame_address(0);
    hg_insns = hg_accesses = hg_misses = hg_tick = 0;
    memset(tags, 0, sizeof tags);
    memset(stamps, 0, sizeof stamps);
    stencil5(rows, cols, in, out);
}

int main(int argc, char **argv)
{
    if (argc != 5) { fprintf(stderr, "usage: bench rows cols in.bin out.bin\n"); return 2; }
    int rows = atoi(argv[1]), cols = atoi(argv[2]);
    size_t n = (size_t)rows * (size_t)cols;
    double *in = guarded(n), *out = guarded(n), *copy = malloc(n * sizeof(double));
    FILE *f = fopen(argv[3], "rb");
    if (!f || fread(in, sizeof(double), n, f) != n) { fprintf(stderr, "cannot read input\n"); return 2; }
    fclose(f);
    memcpy(copy, in, n * sizeof(double));
    uint64_t nan_bits = 0x7ff8dead00000000ULL; /* untouched output elements stay NaN */
    for (size_t i = 0; i < n; i++) memcpy(&out[i], &nan_bits, sizeof nan_bits);

    run(rows, cols, in, out);
    uint64_t insns = hg_insns, accesses = hg_accesses, misses = hg_misses;

    int guards_ok = guards_intact(in, n) && guards_intact(out, n);
    int input_unchanged = memcmp(copy, in, n * sizeof(double)) == 0;
    f = fopen(argv[4], "wb");
    if (!f || fwrite(out, sizeof(double), n, f) != n) { fprintf(stderr, "cannot write output\n"); return 2; }
    fclose(f);
    printf("{\"instructions\": %%llu, \"memory_accesses\": %%llu, \"cache_misses\": %%llu, "
           "\"guards_intact\": %%s, \"input_unchanged\": %%s}\n",
           (unsigned long long)insns, (unsigned long long)accesses, (unsigned long long)misses,
           guards_ok ? "true" : "false", input_unchanged ? "true" : "false");
    return 0;
}
"""


# --------------------------------------------------------------------------- build and run

def run_command(command, cwd, timeout, what):
    try:
        proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise BenchmarkError(f"{what}: {command[0]} not found")
    except subprocess.TimeoutExpired:
        raise BenchmarkError(f"{what}: timed out after {timeout} seconds")
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()[-4000:]
        raise BenchmarkError(f"{what} failed (exit {proc.returncode}): {detail}")
    return proc.stdout


def build(build_dir, compiler):
    with open(KERNEL_SOURCE) as handle:
        source = handle.read()
    check_source(source)
    shutil.copy(KERNEL_SOURCE, os.path.join(build_dir, "kernel.c"))
    shutil.copy(os.path.join(HERE, "kernel.h"), os.path.join(build_dir, "kernel.h"))
    run_command([compiler, *CFLAGS, "-S", "-o", "kernel.s", "kernel.c"], build_dir,
                COMPILE_TIMEOUT_SECONDS, "compiling kernel.c")
    with open(os.path.join(build_dir, "kernel.s")) as handle:
        instrumented = instrument(handle.read())
    with open(os.path.join(build_dir, "kernel_instrumented.s"), "w") as handle:
        handle.write(instrumented)
    sets = CACHE["size_bytes"] // (CACHE["ways"] * CACHE["line_bytes"])
    with open(os.path.join(build_dir, "driver.c"), "w") as handle:
        handle.write(DRIVER_C % {"line_shift": CACHE["line_bytes"].bit_length() - 1,
                                 "ways": CACHE["ways"], "sets": sets})
    with open(os.path.join(build_dir, "probe.s"), "w") as handle:
        handle.write(PROBE_S)
    run_command([compiler, "-std=c11", "-O1", "-mno-avx", "-fcf-protection=none", "-o", "bench",
                 "driver.c", "kernel_instrumented.s", "probe.s"], build_dir,
                COMPILE_TIMEOUT_SECONDS, "linking the benchmark")
    return os.path.join(build_dir, "bench")


def make_grid(rows, cols, seed):
    rng = random.Random(seed)
    return [rng.uniform(-1.0, 1.0) for _ in range(rows * cols)]


def reference(rows, cols, grid):
    out = []
    for i in range(rows):
        for j in range(cols):
            up = grid[(i - 1) * cols + j] if i > 0 else 0.0
            down = grid[(i + 1) * cols + j] if i + 1 < rows else 0.0
            left = grid[i * cols + j - 1] if j > 0 else 0.0
            right = grid[i * cols + j + 1] if j + 1 < cols else 0.0
            out.append(CENTER * grid[i * cols + j] + EDGE * (up + down + left + right))
    return out


def run_case(binary, build_dir, name, rows, cols, seed):
    grid = make_grid(rows, cols, seed)
    in_path = os.path.join(build_dir, "in.bin")
    out_path = os.path.join(build_dir, "out.bin")
    with open(in_path, "wb") as handle:
        handle.write(struct.pack(f"<{rows * cols}d", *grid))
    stdout = run_command([binary, str(rows), str(cols), in_path, out_path], build_dir,
                         RUN_TIMEOUT_SECONDS, f"running case {name}")
    counters = json.loads(stdout)
    with open(out_path, "rb") as handle:
        actual = struct.unpack(f"<{rows * cols}d", handle.read())
    expected = reference(rows, cols, grid)
    max_abs, worst = 0.0, None
    for index, (a, e) in enumerate(zip(actual, expected)):
        err = abs(a - e) if math.isfinite(a) else math.inf
        if err > TOLERANCE + TOLERANCE * abs(e) and worst is None:
            worst = {"index": index, "row": index // cols, "col": index % cols,
                     "expected": e, "actual": a if math.isfinite(a) else repr(a)}
        max_abs = max(max_abs, err)
    correct = worst is None and counters["guards_intact"] and counters["input_unchanged"]
    cycles = (counters["instructions"] + counters["memory_accesses"]
              + MISS_PENALTY * counters["cache_misses"])
    record = {"name": name, "rows": rows, "cols": cols, "seed": seed, "correct": correct,
              "max_abs_error": max_abs if math.isfinite(max_abs) else repr(max_abs),
              "instructions": counters["instructions"],
              "memory_accesses": counters["memory_accesses"],
              "cache_misses": counters["cache_misses"], "cycles": cycles}
    if worst is not None:
        record["first_mismatch"] = worst
    if not counters["guards_intact"]:
        record["error"] = "the kernel wrote outside `out` (or before/after `in`)"
    elif not counters["input_unchanged"]:
        record["error"] = "the kernel modified `in`"
    return record


def failure(mode, message, **extra):
    report = {"status": "failed", "mode": mode, "correct": False, "best_cycles": FAILED_CYCLES,
              "score": FAILED_CYCLES, "lower_is_better": True, "error": message,
              "cost_model": COST_MODEL}
    report.update(extra)
    return report


def benchmark(mode):
    """The report dict for `mode` (never raises for kernel problems)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return failure(mode, f"the cost model instruments x86-64 assembly; this machine is "
                             f"{platform.machine()}")
    compiler = os.environ.get("CC") or "cc"
    build_dir = tempfile.mkdtemp(prefix="stencil-bench-")
    try:
        try:
            binary = build(build_dir, compiler)
            cases = [run_case(binary, build_dir, *case) for case in MODES[mode]]
            edges = [run_case(binary, build_dir, *case) for case in EDGE_CASES]
            rng = random.Random()  # fresh every run: data and shape cannot be predicted
            fresh_seed = rng.randrange(1 << 30)
            fresh = run_case(binary, build_dir, "fresh_random", rng.randint(2, 48),
                             rng.randint(2, 48), fresh_seed)
        except BenchmarkError as exc:
            return failure(mode, str(exc))
        edge_summary = [{"name": e["name"], "correct": e["correct"]} for e in edges]
        bad = [c for c in cases + edges + [fresh] if not c["correct"]]
        if bad:
            first = bad[0]
            detail = first.get("error") or f"first mismatch {json.dumps(first.get('first_mismatch'))}"
            return failure(mode, f"case {first['name']} ({first['rows']}x{first['cols']}) is not correct: "
                                 f"{detail}", cases=cases, edge_cases=edge_summary,
                           fresh_case={k: fresh[k] for k in ("rows", "cols", "seed", "correct")})
        best_cycles = sum(c["cycles"] for c in cases)
        for case in cases:
            case.pop("correct")
        return {
            "status": "passed",
            "mode": mode,
            "correct": True,
            "best_cycles": best_cycles,
            "score": best_cycles,
            "lower_is_better": True,
            "instructions": sum(c["instructions"] for c in cases),
            "memory_accesses": sum(c["memory_accesses"] for c in cases),
            "cache_misses": sum(c["cache_misses"] for c in cases),
            "cases": cases,
            "edge_cases": edge_summary,
            "fresh_case_correct": True,
            "cost_model": COST_MODEL,
        }
    finally:
        shutil.rmtree(build_dir, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--mode", choices=sorted(MODES), default="dev",
                        help="dev (quick) or final (the objective); default dev")
    args = parser.parse_args(argv)
    report = benchmark(args.mode)
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        print(f"{report['status']}: mode {report['mode']}, best_cycles {report['best_cycles']}")
        if report["status"] == "passed":
            for case in report["cases"]:
                print(f"  {case['name']}: cycles {case['cycles']} = {case['instructions']} instructions"
                      f" + {case['memory_accesses']} accesses + {MISS_PENALTY} x {case['cache_misses']} misses")
        else:
            print(f"  error: {report['error']}")
    return 0 if report["status"] == "passed" else 1


if __name__ == "__main__":
    sys.exit(main())
