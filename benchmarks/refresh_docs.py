"""Regenerate every generated block of README.md and docs/*.md — one command.

    python benchmarks/refresh_docs.py                      # every source, then write the docs
    python benchmarks/refresh_docs.py --validate-json v.json   # reuse a validate report
    python benchmarks/refresh_docs.py --only sample,gpu    # some sources
    python benchmarks/refresh_docs.py --skip design-point  # all but some
    python benchmarks/refresh_docs.py --check              # the cheap ones: exit 1 if stale
    python benchmarks/refresh_docs.py --list               # sources, commands, blocks

Every deterministic number the docs show — cycles, speedups, energies, area,
example reports, the DRAM calibration — sits in a block between
``<!-- SOURCE:NAME -->`` and ``<!-- /SOURCE:NAME -->`` (benchmarks/docblocks.py),
ends with a provenance line naming the command, the commit and the traces'
content hashes, and is rewritten here. Machine-dependent timings are in
``measured`` blocks instead, which name their benchmark, commit and load and
are not rewritten. The sources run first and the docs are written only when
all of them succeeded, so a failure leaves the docs as they were.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from multiprocessing import get_context
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from doc_model import (analyze_blocks, buffer_blocks, energy_blocks, gpu_blocks,  # noqa: E402
                       report_blocks, sample_trace_blocks)
from doc_slow import (design_point_blocks, dram_calibration_blocks,  # noqa: E402
                      dram_interleave_blocks)
from doc_validate import fe_lut_blocks, validate_blocks  # noqa: E402
from docblocks import (MEASURED, PROVENANCE_START, ROOT, comparable, doc_files,  # noqa: E402
                       find_blocks, provenance_line, rewrite)


@dataclass(frozen=True)
class Source:
    what: str                    # what it runs: the command a reader runs for the same numbers
    cheap: bool                  # seconds: compared with the docs by --check and the tests
    make: Callable[[Any], tuple[dict[str, Any], str]]   # blocks (body or (body, inputs)), inputs


SOURCES: dict[str, Source] = {
    "report": Source("`h2learn run`", True, report_blocks),
    "analyze": Source("`h2learn run [--set ...] --json r.json && h2learn analyze r.json`", True,
                      analyze_blocks),
    "sample-trace": Source("`h2learn trace info traces/data/sample.h5`", True,
                           sample_trace_blocks),
    "gpu": Source("`reports.gpu.gpu_baseline`", True, gpu_blocks),
    "energy": Source("`reports.tech`, `reports.energy`, `reports.area`", True, energy_blocks),
    "design-buffers": Source("`python -m tlm.app.design_point` (its buffer sizing)", True,
                             buffer_blocks),
    "validate": Source("`h2learn validate --sensitivity --json`", False, validate_blocks),
    "fe-lut": Source("`python benchmarks/fe_lut_vs_accumulate.py TRACE`", False, fe_lut_blocks),
    "design-point": Source("`python -m tlm.app.design_point`", False, design_point_blocks),
    "dram-calibration": Source("`python benchmarks/dram_calibration.py`", False,
                               dram_calibration_blocks),
    "dram-interleave": Source("`python benchmarks/dram_interleave.py`", False,
                              dram_interleave_blocks),
}
TRACE_SOURCES = ("validate", "fe-lut", "design-point")   # read the cached reference traces


@dataclass
class Context:
    """What the sources share: the trace cache, a scratch folder, one validate report."""

    workdir: Path
    cache: str | None = None
    validate_json: str | None = None
    load: str = field(default_factory=lambda: f"{os.getloadavg()[0]:.2f}")
    report: dict | None = None

    def validate(self) -> dict:
        if self.report is None:
            if self.validate_json is None:
                out = self.workdir / "validate.json"
                say("running h2learn validate --sensitivity --json (minutes; traces are built "
                    "once into the cache)")
                with open(out, "w") as stream:
                    subprocess.run([sys.executable, "-m", "tlm", "validate", "--sensitivity",
                                    "--json"], cwd=ROOT, stdout=stream, check=True)
                self.validate_json = str(out)
            self.report = json.loads(Path(self.validate_json).read_text())
        return self.report


def say(text: str) -> None:
    print(f"refresh_docs: {text}", file=sys.stderr, flush=True)


def checkout_producer() -> dict[str, Any]:
    """The running code's producer; edits to *.md alone do not make the commit dirty."""
    from reports.provenance import DISTRIBUTION, tool_version

    def git(*argv: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *argv], capture_output=True, text=True,
                              check=True, timeout=10).stdout.strip()
    try:
        head = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)*.md")
        commit = f"{head}-dirty" if dirty else head
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {"name": DISTRIBUTION, "version": tool_version(), "git_commit": commit}


def run_source(name: str, ctx: Context) -> tuple[dict[str, str], str, dict | None]:
    """One source's blocks, its inputs line and (validate) the producer its report names."""
    source, started = SOURCES[name], time.monotonic()
    say(f"{name}: {source.what}")
    made, inputs = source.make(ctx)
    say(f"{name}: {len(made)} blocks in {time.monotonic() - started:.0f} s")
    return made, inputs, (ctx.report or {}).get("producer") if name == "validate" else None


def generate(names: list[str], ctx: Context, jobs: int = 1) -> dict[tuple[str, str], str]:
    """Every block of the named sources, provenance line included; (source, block) -> body.

    With ``jobs`` > 1 the sources run in that many processes, the slowest first; the
    reference traces are made beforehand, so no two processes build the same one.
    """
    producer = checkout_producer()
    if jobs > 1 and any(n in TRACE_SOURCES for n in names):
        from traces.recipes import REFERENCE_RECIPES, ensure_trace
        for recipe in REFERENCE_RECIPES.values():
            ensure_trace(recipe, ctx.cache)
    if jobs > 1:
        order = sorted(names, key=lambda n: (SOURCES[n].cheap, n != "design-point"))  # longest
        with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
            futures = {n: pool.submit(run_source, n, ctx) for n in order}
            results = {n: futures[n].result() for n in names}
    else:
        results = {n: run_source(n, ctx) for n in names}
    bodies = {}
    for name, (made, inputs, made_by) in results.items():
        for block, body in made.items():   # (body, inputs): a block that read less
            text, own = body if isinstance(body, tuple) else (body, inputs)
            line = provenance_line(name, SOURCES[name].what, made_by or producer, own)
            bodies[(name, block)] = f"{text}\n\n{line}"
    return bodies


def check_structure() -> list[str]:
    """Malformed markers, unknown sources, blocks without provenance: one line each."""
    problems = []
    for path in doc_files():
        try:
            blocks = find_blocks(path.read_text(), str(path.relative_to(ROOT)))
        except ValueError as exc:
            problems.append(str(exc))
            continue
        for b in blocks:
            where = f"{b.path}:{b.line}: {b.source}:{b.name}"
            last = b.body.strip().splitlines()[-1] if b.body.strip() else ""
            if b.source == MEASURED:
                if not all(word in b.body for word in ("commit", "load", "`")):
                    problems.append(f"{where}: a measured block names its command, commit and load")
            elif b.source not in SOURCES:
                problems.append(f"{where}: no such source (refresh_docs.py --list)")
            elif not last.startswith(PROVENANCE_START):
                problems.append(f"{where}: does not end with its provenance line (run the refresh)")
    return problems


def stale_blocks(bodies: dict[tuple[str, str], str]) -> list[str]:
    """Blocks whose committed text differs from what their source makes now."""
    stale, placed = [], set()
    for path in doc_files():
        for b in find_blocks(path.read_text(), str(path.relative_to(ROOT))):
            placed.add(b.key)
            if b.key in bodies and comparable(bodies[b.key]) != comparable(b.body):
                stale.append(f"{b.path}:{b.line}: {b.source}:{b.name} differs from its source")
    stale += [f"{s}:{n}: made but placed in no document" for s, n in bodies if (s, n) not in placed]
    return stale


def write_docs(bodies: dict[tuple[str, str], str]) -> None:
    for path in doc_files():
        text = path.read_text()
        new = rewrite(text, bodies)
        if new != text:
            path.write_text(new)
            print(f"wrote {path.relative_to(ROOT)} ({len(new.encode()):,} B)", file=sys.stderr)


def chosen(args: argparse.Namespace) -> list[str]:
    """--only's sources, else all (--check: all the cheap ones), less --skip's."""
    default = [n for n, s in SOURCES.items() if s.cheap or not args.check]
    names = [n for n in args.only.split(",") if n] if args.only else default
    unknown = [n for n in names + (args.skip or "").split(",") if n and n not in SOURCES]
    if unknown:
        raise SystemExit(f"refresh_docs: no source {', '.join(unknown)}; "
                         f"known: {', '.join(SOURCES)}")
    skip = set((args.skip or "").split(","))
    return [n for n in names if n not in skip]


def list_sources() -> None:
    where: dict[str, list[str]] = {}
    for path in doc_files():
        for b in find_blocks(path.read_text(), str(path.relative_to(ROOT))):
            where.setdefault(b.source, []).append(f"{b.path}:{b.name}")
    for name, source in SOURCES.items():
        print(f"{name:17} {'cheap' if source.cheap else 'slow '}  {source.what}")
        for place in where.get(name, []):
            print(f"{'':25}{place}")
    print(f"{MEASURED:17} timings, not rewritten: each names its command, commit and load")
    for place in where.get(MEASURED, []):
        print(f"{'':25}{place}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated sources (default: all)")
    parser.add_argument("--skip", help="comma-separated sources to leave as they are")
    parser.add_argument("--validate-json", help="a saved `h2learn validate --sensitivity --json`")
    parser.add_argument("--cache", help="reference trace cache (default $H2LEARN_CACHE)")
    parser.add_argument("--check", action="store_true",
                        help="run the cheap sources and fail if the docs differ; write nothing")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="run up to N sources at once, in processes (default 1)")
    parser.add_argument("--list", action="store_true", help="list the sources and their blocks")
    args = parser.parse_args(argv)
    if args.list:
        list_sources()
        return 0
    names = chosen(args)
    with tempfile.TemporaryDirectory() as tmp:
        bodies = generate(names, Context(Path(tmp), args.cache, args.validate_json), args.jobs)
    if args.check:
        problems = check_structure() + stale_blocks(bodies)
        print("\n".join(problems) or f"docs up to date ({', '.join(names)})")
        return 1 if problems else 0
    write_docs(bodies)
    problems = check_structure()
    for problem in problems:
        say(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
