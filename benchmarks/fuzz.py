"""Seeded fuzzer: hostile traces, recordings and results files against the CLI.

Usage::

    python benchmarks/fuzz.py --traces 10000 --recordings 1000 --results 1000 --seed 1

A campaign splits into parts (``--start``, each with its own ``--counts`` file)
that run side by side and add up with ``--combine``; every case has its own
generator, so the parts together are exactly the whole campaign.

Each case mutates a valid tiny input (byte flips, truncation, or a structural edit
through h5py / JSON: deleted datasets and attributes, retyped and reshaped
datasets, NaN/inf/huge/negative attribute values, inconsistent T/B, links,
swapped layers) and feeds it to the CLI: traces to ``trace check`` and ``run``,
recordings to ``replay``, results files to ``report``, ``analyze`` and ``compare``.
The CLI runs in-process in a forked child (no interpreter start per case) under
a timeout. Each outcome is classified:

- ``reject``: exit 2 with exactly one line on stderr, no traceback;
- ``accept``: exit 0;
- ``traceback``: an exception escaped ``main`` (or a traceback was printed);
- ``hang``: the child ran past the timeout and was killed;
- ``verbose``: a non-zero exit with more than one line on stderr, or with anything
  on stdout (part of a report printed before the error).

A trace that ``run`` accepts but ``trace check`` rejects is counted as
``run accepts, check rejects`` (it must stay 0). The exit status is 1 if any
traceback, hang or such disagreement happened.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Callable

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import tlm.app.commands.analyze  # noqa: E402,F401  (the CLI imports commands lazily; import
import tlm.app.commands.report  # noqa: E402,F401   them once here so no forked child pays)
import tlm.app.commands.run  # noqa: E402,F401
import tlm.app.commands.trace  # noqa: E402,F401
import traces.validate  # noqa: E402,F401
from tlm.app.cli import main as cli_main  # noqa: E402
from traces.probe import wait_child  # noqa: E402
from traces.synthetic import SyntheticParams, generate_trace  # noqa: E402
from traces.workloads import get_workload  # noqa: E402

OUTCOMES = ("reject", "accept", "traceback", "hang", "verbose")
HUGE = (float("nan"), float("inf"), float("-inf"), -1, 0, 2**62, 1e300, -1e-300, "x", True)


def run_cli(argv: list[str], timeout_s: float, workdir: Path) -> str:
    """Run ``h2learn argv`` in a forked child; classify its outcome."""
    err_path, out_path = workdir / "stderr.txt", workdir / "stdout.txt"
    pid = os.fork()
    if pid == 0:  # child: capture stdout and stderr, never return
        code = 3
        try:
            out = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            err = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(out, 1)
            os.dup2(err, 2)
            sys.stdout = open(1, "w", closefd=False)  # under pytest these were capture objects
            sys.stderr = open(2, "w", closefd=False)
            os.chdir(workdir)
            code = int(cli_main(argv))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
        except BaseException:
            traceback.print_exc()
            code = 99
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except (OSError, ValueError):
                    pass
            os._exit(code)
    status = wait_child(pid, timeout_s)
    if status is None:
        return "hang"
    code = os.waitstatus_to_exitcode(status)
    text = err_path.read_text(errors="replace") if err_path.exists() else ""
    if os.environ.get("H2LEARN_FUZZ_SHOW") and code != 0:
        print(f"[{' '.join(argv[:1])}] {text.strip()[-400:]}", file=sys.__stderr__)
    lines = [line for line in text.splitlines() if line.strip()]
    if code == 99 or "Traceback" in text:
        return "traceback"
    if code == 0:
        return "accept"
    printed = out_path.exists() and out_path.stat().st_size > 0  # half a report, then the error
    return "reject" if len(lines) == 1 and not printed else "verbose"


# ---------------------------------------------------------------- inputs

def make_trace(path: Path) -> Path:
    generate_trace(path, get_workload("tiny-cnn"), SyntheticParams(du_values=True), batch=2,
                   timesteps=2, iterations=1, seed=0)
    return path


def make_recording(trace: Path, path: Path, results: Path, workdir: Path) -> None:
    """The seed recording and results, made in this process: every module the commands
    import lazily is then loaded once here, not again in each forked child (0.25 s a case)."""
    seed_runs = (["run", str(trace), "--record", str(path), "--json", str(results)],
                 ["trace", "check", str(trace)], ["replay", str(path)], ["report", str(results)],
                 ["analyze", str(results)], ["compare", str(results), str(results)])
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), \
            contextlib.redirect_stderr(sink):
        codes = [cli_main(argv) for argv in seed_runs]
    if any(codes):
        raise SystemExit(f"a seed input is not accepted: {list(zip(seed_runs, codes))}")


# ---------------------------------------------------------------- mutators

def flip_bytes(rng: random.Random, path: Path) -> None:
    data = bytearray(path.read_bytes())
    for _ in range(rng.choice((1, 1, 2, 4, 16))):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    path.write_bytes(bytes(data))


def truncate(rng: random.Random, path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:rng.randrange(len(data))])


def _objects(h5: h5py.File) -> list[str]:
    names: list[str] = []
    h5.visit(names.append)
    return names


def h5_structural(rng: random.Random, path: Path) -> None:
    """One structural edit of an HDF5 file, chosen at random."""
    with h5py.File(path, "r+") as h5:
        names = _objects(h5)
        owner = h5 if rng.random() < 0.4 else h5[rng.choice(names)]
        kind = rng.randrange(7)
        if kind == 0 and names:                       # delete an object
            del h5[rng.choice(names)]
        elif kind == 1 and owner.attrs:               # delete an attribute
            del owner.attrs[rng.choice(list(owner.attrs))]
        elif kind == 2 and owner.attrs:               # retype / out-of-range attribute
            owner.attrs[rng.choice(list(owner.attrs))] = rng.choice(HUGE)
        elif kind == 3:                               # retype or reshape a dataset
            datasets = [n for n in names if isinstance(h5.get(n), h5py.Dataset)]
            if datasets:
                name = rng.choice(datasets)
                shape = list(h5[name].shape) or [1]
                shape[rng.randrange(len(shape))] += rng.choice((-1, 1, 7))
                del h5[name]
                h5.create_dataset(name, shape=[max(0, s) for s in shape],
                                  dtype=rng.choice((np.uint8, np.float16, np.int64, np.float64)))
        elif kind == 4 and names:                     # a link to somewhere else (or nowhere)
            name = rng.choice(names)
            target = rng.choice(names + ["/nowhere"])
            del h5[name]
            h5[name] = h5py.SoftLink("/" + target.lstrip("/"))
        elif kind == 5:                               # swap two sibling objects
            groups = [n for n in names if isinstance(h5.get(n), h5py.Group) and len(h5[n]) > 1]
            if groups:
                g = h5[rng.choice(groups)]
                a, b = rng.sample(list(g), 2)
                g.move(a, "__swap")
                g.move(b, a)
                g.move("__swap", b)
        elif kind == 6:                               # header numbers inconsistent with data
            for key in ("timesteps", "batch", "iterations"):
                if key in h5.attrs and rng.random() < 0.5:
                    h5.attrs[key] = rng.choice((0, 1, 3, 2**31, 2**62, -5))


def json_structural(rng: random.Random, path: Path) -> None:
    """Edit one value of a JSON results file: retype, huge, nested, removed."""
    data = json.loads(path.read_text())
    node, key = data, None
    for _ in range(rng.randrange(1, 5)):
        if isinstance(node, dict) and node:
            key = rng.choice(list(node))
        elif isinstance(node, list) and node:
            key = rng.randrange(len(node))
        else:
            break
        if not isinstance(node[key], (dict, list)) or rng.random() < 0.3:
            break
        node = node[key]
    if key is None:
        data = rng.choice(([], "x", 1))
    else:
        choice = rng.randrange(4)
        if choice == 0 and isinstance(node, dict):
            del node[key]
        elif choice == 1:
            node[key] = rng.choice(HUGE + ([], {}, None, "1e999"))
        elif choice == 2:
            deep: object = 1
            for _ in range(rng.choice((10, 5000, 100000))):
                deep = [deep]
            node[key] = deep
        else:
            node[key] = {"x": node[key]}
    path.write_text(json.dumps(data, allow_nan=True) if rng.random() < 0.9 else
                    json.dumps(data, allow_nan=True)[:-3])


def mutate(rng: random.Random, src: Path, dst: Path, structural: Callable[[random.Random, Path], None]) -> None:
    shutil.copy(src, dst)
    choice = rng.random()
    try:
        if choice < 0.45:
            flip_bytes(rng, dst)
        elif choice < 0.55:
            truncate(rng, dst)
        else:
            structural(rng, dst)
    except (OSError, KeyError, ValueError, TypeError, RuntimeError, RecursionError):
        shutil.copy(src, dst)   # the edit itself failed; flip bytes instead
        flip_bytes(rng, dst)


# ---------------------------------------------------------------- campaign

# every case draws from its own generator, seeded by (seed, kind, index): a part of a
# campaign (``--start``) or one case (``--start N --traces 1``) reproduces exactly
def case_rng(seed: int, kind: str, index: int) -> random.Random:
    return random.Random(f"{seed}/{kind}/{index}")


def keep_case(keep: Path | None, case: Path, name: str) -> None:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copy(case, keep / name)


def trace_cases(table: dict[str, Counter], base: Path, work: Path, cases: range, seed: int,
                timeout_s: float, keep: Path | None, out: Callable[[str], None]) -> None:
    case = work / "case.h5"
    for done, n in enumerate(cases):
        if done and done % 1000 == 0:
            out(f"after {done} traces:\n{render(table)}")
        mutate(case_rng(seed, "trace", n), base, case, h5_structural)
        check = run_cli(["trace", "check", str(case)], timeout_s, work)
        run = run_cli(["run", str(case)], timeout_s, work)
        table.setdefault("trace check", Counter())[check] += 1
        table.setdefault("run", Counter())[run] += 1
        if run == "accept" and check != "accept":
            table["run"]["run accepts, check rejects"] += 1
        if {check, run} & {"traceback", "hang", "verbose"} or (run == "accept") != (check == "accept"):
            keep_case(keep, case, f"trace-{seed}-{n}.h5")


def recording_cases(table: dict[str, Counter], rec: Path, work: Path, cases: range, seed: int,
                    timeout_s: float, keep: Path | None) -> None:
    case = work / "case.stream.h5"
    for n in cases:
        mutate(case_rng(seed, "recording", n), rec, case, h5_structural)
        outcome = run_cli(["replay", str(case)], timeout_s, work)
        table.setdefault("replay", Counter())[outcome] += 1
        if outcome in ("traceback", "hang", "verbose"):
            keep_case(keep, case, f"recording-{seed}-{n}.stream.h5")


def results_cases(table: dict[str, Counter], res: Path, work: Path, cases: range, seed: int,
                  timeout_s: float, keep: Path | None) -> None:
    case = work / "case.json"
    for n in cases:
        rng = case_rng(seed, "results", n)
        mutate(rng, res, case, json_structural)
        command = rng.choice((["report", str(case)], ["analyze", str(case)],
                              ["compare", str(res), str(case)]))
        outcome = run_cli(command, timeout_s, work)
        table.setdefault(command[0], Counter())[outcome] += 1
        if outcome in ("traceback", "hang", "verbose"):
            keep_case(keep, case, f"results-{seed}-{n}-{command[0]}.json")


def campaign(traces: int, recordings: int, results: int, seed: int, timeout_s: float,
             out: Callable[[str], None] = print, start: int = 0,
             keep: Path | None = None) -> dict[str, Counter]:
    """Cases ``start .. start+count-1`` of each kind; failing inputs copied to ``keep``."""
    table: dict[str, Counter] = {}
    with tempfile.TemporaryDirectory(prefix="h2learn-fuzz-") as tmp:
        work = Path(tmp)
        base = make_trace(work / "base.h5")
        rec, res = work / "base.stream.h5", work / "base.json"
        make_recording(base, rec, res, work)
        trace_cases(table, base, work, range(start, start + traces), seed, timeout_s, keep, out)
        recording_cases(table, rec, work, range(start, start + recordings), seed, timeout_s, keep)
        results_cases(table, res, work, range(start, start + results), seed, timeout_s, keep)
    return table


def render(table: dict[str, Counter]) -> str:
    cols = OUTCOMES + ("run accepts, check rejects",)
    lines = ["| command | cases | " + " | ".join(cols) + " |", "|---|" + "---|" * (len(cols) + 1)]
    for name, counts in table.items():
        total = sum(counts[c] for c in OUTCOMES)
        lines.append(f"| {name} | {total} | " + " | ".join(str(counts[c]) for c in cols) + " |")
    return "\n".join(lines)


def failures(table: dict[str, Counter]) -> int:
    return sum(c["traceback"] + c["hang"] + c["run accepts, check rejects"] for c in table.values())


def combine(paths: list[str]) -> dict[str, Counter]:
    """Sum the ``--counts`` files of campaign parts into one table."""
    table: dict[str, Counter] = {}
    for path in paths:
        for name, counts in json.loads(Path(path).read_text()).items():
            table.setdefault(name, Counter()).update(counts)
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--traces", type=int, default=200)
    parser.add_argument("--recordings", type=int, default=50)
    parser.add_argument("--results", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", type=int, default=0, help="index of the first case of each kind")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per CLI call")
    parser.add_argument("--keep", type=Path, help="copy each failing input into this folder")
    parser.add_argument("--counts", type=Path, help="also write the table as JSON here")
    parser.add_argument("--combine", nargs="+", metavar="COUNTS",
                        help="only add up --counts files of earlier parts and print the table")
    args = parser.parse_args()
    from measured import print_header  # benchmarks/measured.py, beside this script
    print_header()
    if args.combine:
        table = combine(args.combine)
        print(render(table))
        return 1 if failures(table) else 0
    began = time.perf_counter()
    table = campaign(args.traces, args.recordings, args.results, args.seed, args.timeout,
                     out=lambda text: print(text, file=sys.stderr, flush=True),
                     start=args.start, keep=args.keep)
    if args.counts:
        args.counts.write_text(json.dumps(table, indent=1))
    print(render(table))
    print(f"\n{time.perf_counter() - began:.0f} s, seed {args.seed}, cases from {args.start}")
    return 1 if failures(table) else 0


if __name__ == "__main__":
    sys.exit(main())
