"""Memory bound of ``migrator analyze`` on a generated tree of 10,000 files.

Generates a synthetic project (10,000 modules in 50 packages, about 90 lines each, every
module importing two others) in a temporary folder and runs ``migrator analyze -f json`` on it
as a child process: without cache, cold (filling the cache) and warm (nothing changed). Prints
wall time, the peak resident set of the whole process tree at one moment (parent plus parser
workers) and of the largest single process, both sampled from /proc every 20 ms.
Usage: ``python3 benchmarks/memory.py [--files N] [--jobs N]``. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGE = os.sysconf("SC_PAGE_SIZE")


def generate(root: Path, files: int, packages: int = 50) -> int:
    """Write the synthetic tree; return its size in bytes."""
    total = 0
    (root / "gen").mkdir(parents=True)
    (root / "gen" / "__init__.py").write_text("")
    for p in range(packages):
        (root / "gen" / f"p{p}").mkdir()
        (root / "gen" / f"p{p}" / "__init__.py").write_text(f"from gen.p{p}.m0 import C0\n")
    for i in range(files):
        p, m = i % packages, i // packages
        a, b = (i + 1) % files, (i * 7 + 3) % files
        lines = [
            f"import gen.p{a % packages}.m{a // packages}",
            f"from gen.p{b % packages} import m{b // packages} as other",
            "import os",
            "",
        ]
        for k in range(4):
            lines += [
                f"class C{k}(object):",
                "    def method(self, x):",
                f"        return other.F0(x) + gen.p{a % packages}.m{a // packages}.F1(x)",
                "",
            ]
        for k in range(2):
            lines += [f"def F{k}(x):", "    total = 0"]
            lines += [f"    total += x * {j}  # padding" for j in range(25)]
            lines += ["    return total + len(os.sep)", ""]
        text = "\n".join(lines) + "\n"
        (root / "gen" / f"p{p}" / f"m{m}.py").write_text(text)
        total += len(text)
    return total


def _tree_rss(pid: int) -> tuple[int, int]:
    """Resident bytes of ``pid`` and all its descendants right now, and of the largest one."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(stat[1]), []).append(int(entry))
        rss[int(entry)] = int(stat[21]) * PAGE
    total, largest, todo = 0, 0, [pid]
    while todo:
        current = todo.pop()
        total += rss.get(current, 0)
        largest = max(largest, rss.get(current, 0))
        todo.extend(children.get(current, []))
    return total, largest


def measure(cmd: list[str]) -> tuple[float, int, int, int]:
    """(seconds, peak tree RSS, largest single RSS, exit code) of one child run."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = single = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak, single
        while not done.is_set():
            total, largest = _tree_rss(proc.pid)
            peak, single = max(peak, total), max(single, largest)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    done.set()
    sampler.join()
    seconds = time.perf_counter() - start
    if proc.returncode:
        print(err.decode(errors="replace")[-2000:], file=sys.stderr)
    return seconds, peak, single, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="migrator-memory-") as tmp:
        root = Path(tmp) / "proj"
        size = generate(root, args.files)
        cache = Path(tmp) / "cache"
        base = [
            sys.executable,
            "-I",
            "-c",
            "import sys; sys.path.insert(0, sys.argv.pop(1)); from migrator.cli import main; "
            "sys.argv[0] = 'migrator'; main()",
            str(REPO),
            "analyze",
            str(root),
            "-f",
            "json",
            "-j",
            str(args.jobs),
        ]
        print(
            f"tree: {args.files} files, {size / 1e6:.1f} MB of source; jobs: {args.jobs}; "
            f"load average before: {os.getloadavg()[0]:.1f}"
        )
        print(f"{'run':<22}{'wall s':>8}{'peak tree RSS MB':>18}{'largest process MB':>20}")
        for label, extra in [
            ("cold, no cache", ["--no-cache"]),
            ("cold, writing cache", ["--cache-dir", str(cache)]),
            ("warm (no change)", ["--cache-dir", str(cache)]),
        ]:
            seconds, peak, single, code = measure(base + extra)
            status = "" if code == 0 else f"  (exit {code})"
            print(f"{label:<22}{seconds:>8.1f}{peak / 1e6:>18.0f}{single / 1e6:>20.0f}{status}")


if __name__ == "__main__":
    main()
