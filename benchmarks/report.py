"""How much `migrator report` adds to `migrator analyze` on a Django-sized tree (warm cache).

    python3 benchmarks/report.py [--runs 3] [--tree PATH]

Downloads the Django 5.2 LTS sdist with pip into benchmarks/.cache (shared with
benchmarks/analyze.py; reused when already there), warms the analysis cache, then prints:

* in-process: analyze (warm) and report + each formatter, best of --runs;
* command line: wall time of `migrator report PATH` against a bare warm analysis in a fresh
  interpreter (`python -c "analyze(PATH)"`), best of --runs, interleaved; the difference is
  what report adds, though on a loaded machine it is noisier than the in-process figure.

Target (issue 6): report adds less than 1 s to analyze on a warm cache.
"""

from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".cache"
sys.path.insert(0, str(ROOT))


def django_tree() -> Path:
    """The django package of the Django 5.2 sdist, downloaded once with pip."""
    found = sorted(glob.glob(str(CACHE / "[Dd]jango-5.2*" / "django")))
    if found:
        return Path(found[-1])
    CACHE.mkdir(parents=True, exist_ok=True)
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
            "-d",
            str(CACHE),
            "django>=5.2,<5.3",
        ],
        check=True,
    )
    archive = sorted(glob.glob(str(CACHE / "[Dd]jango-5.2*.tar.gz")))[-1]
    with tarfile.open(archive) as tar:
        tar.extractall(CACHE, filter="data")
    return Path(sorted(glob.glob(str(CACHE / "[Dd]jango-5.2*" / "django")))[-1])


def best(fn, runs: int) -> tuple[float, object]:
    out, times = None, []
    for _ in range(runs):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def wall(cmds: dict[str, list[str]], runs: int) -> dict[str, float]:
    """Best wall time of each command; runs interleaved so that load changes hit all alike."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(runs):
        for name, cmd in cmds.items():
            start = time.perf_counter()
            proc = subprocess.run(
                cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
            )
            times[name].append(time.perf_counter() - start)
            if proc.returncode not in (0, 1):  # 1: report found something to fail on
                raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return {name: min(t) for name, t in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tree", type=Path, help="analyse this tree instead of Django")
    args = ap.parse_args()
    tree = args.tree or django_tree()
    cache_dir = CACHE / "migrator-cache-report"

    from migrator.analysis import analyze
    from migrator.reporting import render, report
    from migrator.reporting.formats import FORMATS

    analyze(tree, cache_dir=cache_dir)  # warm the cache
    t_analyze, graph = best(lambda: analyze(tree, cache_dir=cache_dir), args.runs)
    t_report, rep = best(lambda: report(graph), args.runs)
    t_nometrics, _ = best(lambda: report(graph, metrics=False), args.runs)
    print(f"tree: {tree}")
    print(
        f"graph: {len(graph.modules())} modules, {graph.g.number_of_nodes()} nodes, "
        f"{graph.g.number_of_edges()} edges; report: {rep.level}, {len(rep.components)} "
        f"components, {len(rep.cross_edges)} crossing edges, {len(rep.cycles)} cycles "
        f"({rep.cycle_stats.method})"
    )
    print()
    print(f"{'in-process (best of ' + str(args.runs) + ')':34s} seconds")
    print(f"{'analyze, warm cache':34s} {t_analyze:7.3f}")
    print(f"{'report (with metrics)':34s} {t_report:7.3f}")
    print(f"{'report --no-metrics':34s} {t_nometrics:7.3f}")
    for fmt in FORMATS:
        t_fmt, text = best(lambda fmt=fmt: render(rep, fmt), args.runs)
        print(f"{'  render ' + fmt:34s} {t_fmt:7.3f}   ({len(text) / 1024:.0f} KiB)")
    t_text, _ = best(lambda: render(report(graph), "text"), args.runs)
    print(f"{'report + render text':34s} {t_text:7.3f}   <- what report adds to analyze")
    py = sys.executable
    cli = wall(
        {
            "analyze": [
                py,
                "-c",
                "import sys; from migrator.analysis import analyze; "
                "analyze(sys.argv[1], cache_dir=sys.argv[2])",
                str(tree),
                str(cache_dir),
            ],
            "report": [py, "-m", "migrator", "report", str(tree), "--cache-dir", str(cache_dir)],
            "json": [
                py,
                "-m",
                "migrator",
                "report",
                str(tree),
                "--cache-dir",
                str(cache_dir),
                "-f",
                "json",
            ],
        },
        args.runs,
    )
    print()
    print(f"{'command line (best of ' + str(args.runs) + ', interleaved)':34s} seconds")
    print(f"{'bare warm analysis, fresh python':34s} {cli['analyze']:7.3f}")
    print(
        f"{'migrator report (text)':34s} {cli['report']:7.3f}   adds "
        f"{cli['report'] - cli['analyze']:+.3f}"
    )
    print(
        f"{'migrator report -f json':34s} {cli['json']:7.3f}   adds "
        f"{cli['json'] - cli['analyze']:+.3f}"
    )
    print(
        f"\nload average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (all figures "
        "scale with it; compare rows of one run)"
    )
    verdict = "met" if t_text < 1.0 else "MISSED"
    print(f"target: report adds < 1 s to a warm analyze (in-process report + text): {verdict}")


if __name__ == "__main__":
    main()
