"""Benchmark `migrator analyze` against a bare libcst parse loop and grimp.

Obtains the Django 5.2 LTS and django-oscar 4.2.1 sdists from the package registry (pip
download, cached in benchmarks/.cache/) and prints one table: cold, warm (nothing changed) and
incremental (one file changed) wall time and peak memory of

* ``migrator analyze`` (default jobs: all cores),
* a bare ``libcst.parse_module`` loop over the same files with the same number of processes,
* grimp's ``build_graph`` (cold and warm cache).

Cold runs start with no cache and no resident parser (``MIGRATOR_RESIDENT_PARSER=0``); warm
and incremental runs are what a user's second and later runs are: the cache and the resident
parser the previous run left (``migrator.analysis.resident``). Peak memory is the largest
resident set of any process of the run (``resource.getrusage`` of the children, workers
included) and, sampled every 20 ms from /proc, the largest total of the whole process tree at
one moment; the resident parser is no child of the run, so its peak is printed apart. Every measurement runs in a fresh child so that one run's
figures never leak into the next. Times are the fastest of several runs (``--repeat`` for cold
runs, 3 for warm and incremental ones): load from other processes only ever adds time.
Usage: ``python3 benchmarks/analyze.py [--jobs N] [--repeat N] [--target NAME]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
TARGETS = {
    # name: (requirement, sdist prefix, package path inside the sdist, file to touch)
    "django-5.2": ("django>=5.2,<5.3", "django-5.2", "django", "db/models/query.py"),
    "django-oscar-4.2.1": (
        "django-oscar==4.2.1",
        "django_oscar-4.2.1",
        "src/oscar",
        "apps/catalogue/abstract_models.py",
    ),
}

BARE_LOOP = r"""
import os, sys, concurrent.futures as cf, multiprocessing as mp
from migrator.analysis.discover import discover
import libcst

def parse(paths):
    for p in paths:
        try:
            libcst.parse_module(open(p, "rb").read())
        except Exception:
            pass
    return len(paths)

files = sorted((f.path for f in discover(sys.argv[1], default_excludes=False, gitignore=False,
                                         max_file_size=0).files), key=lambda p: -p.stat().st_size)
jobs = int(sys.argv[2])
if jobs == 1:
    parse(files)
else:
    chunks = [files[i::jobs * 4] for i in range(jobs * 4)]
    with cf.ProcessPoolExecutor(jobs, mp_context=mp.get_context("fork")) as pool:
        print(sum(pool.map(parse, chunks)), "files")
"""

GRIMP = r"""
import sys
sys.path.insert(0, sys.argv[1])
import grimp
g = grimp.build_graph(sys.argv[2], cache_dir=sys.argv[3])
print(len(g.modules), "modules")
"""


def fetch(requirement: str, prefix: str) -> Path:
    """The unpacked sdist directory, downloading it with pip when not cached."""
    CACHE.mkdir(parents=True, exist_ok=True)
    found = sorted(p for p in CACHE.glob(f"{prefix}*.tar.gz"))
    if not found:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--no-binary",
                ":all:",
                "--disable-pip-version-check",
                "-q",
                "-d",
                str(CACHE),
                requirement,
            ],
            check=True,
        )
        found = sorted(p for p in CACHE.glob(f"{prefix}*.tar.gz"))
    archive = found[-1]
    root = CACHE / archive.name[: -len(".tar.gz")]
    if not root.is_dir():
        with tarfile.open(archive) as tar:
            tar.extractall(CACHE, filter="data")
    return root


def _tree_rss(pid: int) -> int:
    """Total RSS in kB of ``pid`` and all its descendants, from /proc."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    stack.extend(int(c) for c in fh.read().split())
        except OSError:
            continue
    return total


def measure(
    cmd: list[str], repeat: int = 1, before: Callable[[], None] | None = None
) -> dict[str, float]:
    """Run ``cmd`` ``repeat`` times, each in a fresh wrapper process (after ``before()``);
    the fastest wall time (the least disturbed by other load) and the largest memory."""
    runs = []
    for _ in range(repeat):
        if before is not None:
            before()
        out = subprocess.run(
            [sys.executable, __file__, "--wrap", json.dumps(cmd)],
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {
        "wall": min(r["wall"] for r in runs),
        "rss": max(r["rss"] for r in runs),
        "total": max(r["total"] for r in runs),
        "cpu": min(r["cpu"] for r in runs),
    }


def _wrap(cmd: list[str]) -> None:
    peak = [0]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            done.wait(0.02)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - start
    done.set()
    thread.join()
    if proc.returncode != 0:
        sys.stderr.write(err.decode(errors="replace"))
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the command and its reaped workers
    print(
        json.dumps(
            {
                "wall": wall,
                "rss": usage.ru_maxrss / 1024,
                "total": peak[0] / 1024,
                "cpu": usage.ru_utime + usage.ru_stime,
            }
        )
    )


def resident_rss() -> float:
    """Peak RSS in MB of the resident parser the runs left behind (0 when there is none)."""
    from migrator.analysis import resident
    from migrator.analysis.cache import code_signature

    path = resident.address(code_signature())
    found = resident.connect(path) if path else None
    if found is None:
        return 0.0
    found[1].close()
    with open(f"/proc/{found[0].pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def parse_time(path: Path) -> float:
    import libcst

    data = path.read_bytes()
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        libcst.parse_module(data)
        best = min(best, time.perf_counter() - t)
    return best


def bench(name: str, jobs: int, repeat: int) -> tuple[list[tuple], dict[str, float]]:
    requirement, prefix, inner, touch = TARGETS[name]
    root = fetch(requirement, prefix)
    package = root / inner
    pkg_name = package.name
    touched = package / touch
    original = touched.read_bytes()
    work = Path(tempfile.mkdtemp(prefix="migrator-bench-"))
    rows = []
    try:
        flip = [0]

        def touch() -> None:  # a different change each time, so every run re-parses one file
            flip[0] += 1
            touched.write_bytes(
                original + f"\n# touched by benchmarks/analyze.py {flip[0]}\n".encode()
            )

        def wipe(directory: Path) -> Callable[[], None]:
            return lambda: shutil.rmtree(directory, ignore_errors=True)

        def runs(cache: Path, *extra: str) -> tuple[dict, dict, dict]:
            cmd = [
                sys.executable,
                "-m",
                "migrator",
                "analyze",
                str(package),
                "--no-default-excludes",
                "--no-gitignore",
                "-j",
                str(jobs),
                "--cache-dir",
                str(cache),
                "-f",
                "json",
                *extra,
            ]
            cold = measure(["env", "MIGRATOR_RESIDENT_PARSER=0", *cmd], repeat, wipe(cache))
            touched.write_bytes(original)
            measure(cmd)  # fill the cache for the unmodified tree
            warm = measure(cmd, 3)
            incr = measure(cmd, 3, touch)
            touched.write_bytes(original)
            return cold, warm, incr

        cold, warm, incr = runs(work / "mig")
        core_cold, core_warm, core_incr = runs(work / "core", "--no-frameworks")
        resident_peak = resident_rss()
        bare = measure([sys.executable, "-c", BARE_LOOP, str(package), str(jobs)], repeat)
        grimp_cmd = [
            sys.executable,
            "-c",
            GRIMP,
            str(package.parent),
            pkg_name,
            str(work / "grimp"),
        ]
        g_cold = measure(grimp_cmd, repeat, wipe(work / "grimp"))
        measure(grimp_cmd)
        g_warm = measure(grimp_cmd, 3)
        rows = [
            (name, "migrator analyze", cold, warm, incr),
            (name, "  core only (--no-frameworks)", core_cold, core_warm, core_incr),
            (name, f"bare libcst parse, {jobs} proc", bare, None, None),
            (name, "grimp build_graph", g_cold, g_warm, None),
        ]
        figures = {
            "parse_touched": parse_time(touched),
            "cold": cold["wall"],
            "warm": warm["wall"],
            "incr": incr["wall"],
            "bare": bare["wall"],
            "grimp_warm": g_warm["wall"],
            "core_cold": core_cold["wall"],
            "cold_cpu": cold["cpu"],
            "core_cpu": core_cold["cpu"],
            "bare_cpu": bare["cpu"],
            "peak": max(cold["total"], warm["total"], incr["total"]),
            "resident": resident_peak,
        }
        return rows, figures
    finally:
        touched.write_bytes(original)
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--wrap", help=argparse.SUPPRESS)
    parser.add_argument("--target", choices=sorted(TARGETS), action="append")
    parser.add_argument(
        "--repeat",
        type=int,
        default=2,
        help="runs per cold figure (the fastest counts); warm and incremental "
        "take the fastest of 3",
    )
    args = parser.parse_args()
    if args.wrap:
        _wrap(json.loads(args.wrap))
        return
    targets = args.target or list(TARGETS)
    header = (
        f"{'codebase':<20} {'run':<31} {'cold s':>7} {'warm s':>7} {'incr s':>7} "
        f"{'peak MB (1 proc / tree)':>24}"
    )
    lines = [header, "-" * len(header)]
    checks = []
    for name in targets:
        rows, f = bench(name, args.jobs, args.repeat)
        for codebase, what, cold, warm, incr in rows:
            runs = [r for r in (cold, warm, incr) if r]
            peak = f"{max(r['rss'] for r in runs):.0f} / {max(r['total'] for r in runs):.0f}"
            cells = [f"{r['wall']:7.2f}" if r else f"{'-':>7}" for r in (cold, warm, incr)]
            lines.append(f"{codebase:<20} {what:<31} {' '.join(cells)} {peak:>24}")
        checks.append(
            f"{name}: cold/bare = {f['cold'] / f['bare']:.2f} (core {f['core_cold'] / f['bare']:.2f};"
            f" target <= 1.5), warm/grimp warm = {f['warm'] / f['grimp_warm']:.1f} (target <= 4),"
            f" incr = {f['incr']:.2f} s vs warm + 1.2 x parse of touched file = "
            f"{f['warm'] + 1.2 * f['parse_touched']:.2f} s, peak tree RSS {f['peak']:.0f} MB "
            f"(target < 500), resident parser peak RSS {f['resident']:.0f} MB; CPU seconds of the process tree, less disturbed by other load:"
            f" cold {f['cold_cpu']:.1f}, core {f['core_cpu']:.1f}, bare {f['bare_cpu']:.1f}"
            f" (cold/bare {f['cold_cpu'] / f['bare_cpu']:.2f})"
        )
    print("\n".join(lines))
    print()
    print("\n".join(checks))


if __name__ == "__main__":
    main()
