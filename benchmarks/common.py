"""Shared by the benchmark scripts: machine facts, timed pipeline runs, and BENCHMARKS.md sections."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import runtime_env

from pipeline import configs

REPO = configs.CODE_ROOT  # benchmarks run from the checkout, where the code is
BENCHMARKS_MD = REPO / "BENCHMARKS.md"


def machine() -> str:
    """Cores, memory, and the CPU model with its widest vector unit: the same "2 cores" ran the bare script twice
    as fast on one day as on the day before, so a timing names the CPU it ran on."""
    mem_kb = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")),
                 platform.processor() or "unknown CPU")
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    vector = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    return (f"{os.cpu_count()} cores ({model}, {vector}), {mem_kb / 2**20:.0f} GiB RAM, {platform.machine()}, "
            f"Python {platform.python_version()}")


def git_rev() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.strip()
        # BENCHMARKS.md itself is rewritten by these scripts; only code changes make a revision dirty.
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!BENCHMARKS.md"],
                               cwd=REPO,
                               capture_output=True, text=True).stdout.strip()
        return rev + ("+uncommitted" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# Taken when a benchmark starts: a commit made while it runs must not be credited with its numbers.
STARTED_AT_REV = git_rev()


def parser(script: str, doc: str | None, epochs: int | None = None) -> argparse.ArgumentParser:
    """Every benchmark's command line starts here: `script` is its __file__, `doc` its __doc__; `epochs` (a
    pipeline/configs.py constant) adds --epochs with that default. Every script takes --no-write."""
    p = argparse.ArgumentParser(prog=f"python -m benchmarks.{Path(script).stem}", description=doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--no-write", action="store_true", help="print the section, leave BENCHMARKS.md alone")
    if epochs is not None:
        p.add_argument("--epochs", type=int, default=epochs, help=f"training epochs (default {epochs})")
    return p


def parse(p: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """The flags, and `command`: the command line as it was run (every flag typed, none rebuilt by hand)."""
    args = p.parse_args(argv)
    args.command = shlex.join([*p.prog.split(), *(sys.argv[1:] if argv is None else argv)])
    return args


def header(command: str) -> str:
    return (f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC\n- machine: {machine()}\n"
            f"- git: {STARTED_AT_REV}\n- command: `{command}`\n")


def write_section(title: str, body: str, path: Path | None = None) -> None:
    """Replaces (or appends) the `## title` section of BENCHMARKS.md."""
    path = path or BENCHMARKS_MD
    intro = "# Benchmarks\n\nEvery table below is written by a script in benchmarks/.\n"
    text = path.read_text() if path.exists() else intro
    section = f"## {title}\n\n{body.rstrip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _: section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    path.write_text(text)


def publish(title: str, body: str, args: argparse.Namespace) -> str:
    """Prints a benchmark's section and, unless --no-write (smoke tests, dry runs), puts it in BENCHMARKS.md."""
    print(body)
    if not args.no_write:
        write_section(title, body)
    return body


@dataclass
class TimedRun:
    wall_s: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str
    phases: dict[str, float] = field(default_factory=dict)  # run_local.py's own phase seconds, where read
    cpu_s: float = float("nan")  # user + system seconds of the processes it waited for

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


_PEAK_WRAPPER = ("import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:]).returncode; "
                 "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
                 "print(f'__PEAK_RSS_KB={u.ru_maxrss} __CPU_S={u.ru_utime + u.ru_stime}', file=sys.stderr); "
                 "sys.exit(rc)")


def timed(cmd: list[str], env: dict[str, str] | None = None) -> TimedRun:
    """Runs a command for wall clock and peak RSS (the largest process it waited for)."""
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", _PEAK_WRAPPER, *cmd], cwd=REPO, capture_output=True,
                          text=True, env={**os.environ, **runtime_env.WORKER_ENV, **(env or {})})
    wall = time.monotonic() - t0
    m = re.search(r"__PEAK_RSS_KB=(\d+) __CPU_S=([\d.]+)", proc.stderr)
    return TimedRun(wall, int(m.group(1)) / 1024 if m else float("nan"), proc.returncode, proc.stdout, proc.stderr,
                    cpu_s=float(m.group(2)) if m else float("nan"))
