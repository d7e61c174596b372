"""Proposal speed and quality: sample_monolith, two real open-source apps, a synthetic graph.

    python3 benchmarks/partition.py [--skip-real] [--nodes 20000] [--corpus DIR]

Prints, per codebase: analysis and proposal wall time (and the proposal's CPU time, which a
busy machine distorts less), the services, the metrics of docs/metrics.md, and MoJoFM/ARI where
an intended decomposition exists. Real apps are fetched once with pip into benchmarks/.cache
(never committed): FlaskBB 2.2.0 (Flask, wheel) and django-oscar 4.2.1 (Django, sdist). The
synthetic graph must be proposed in under 10 s. ``--corpus`` adds every app of a corpus laid out
by ``../shared/realapps/get.sh`` (``DIR/<app>/<app>`` or ``DIR/<app>/src/<app>``), each of which
must be proposed in under 5 s.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CACHE = ROOT / "benchmarks" / ".cache"

from migrator.proposal import propose  # noqa: E402
from migrator.proposal.compare import compare, load_partition  # noqa: E402
from migrator.proposal.synthetic import synthetic_monolith  # noqa: E402

REAL = [
    # (label, pip requirement, pip options, unpacked dir, package path inside it)
    (
        "FlaskBB 2.2.0 (Flask)",
        "flaskbb==2.2.0",
        ["--only-binary", ":all:", "--python-version", "3.12"],
        "flaskbb-2.2.0",
        "flaskbb",
    ),
    (
        "django-oscar 4.2.1 (Django)",
        "django-oscar==4.2.1",
        ["--no-binary", ":all:"],
        "django_oscar-4.2.1",
        "src/oscar",
    ),
]


def fetch(requirement: str, options: list[str], folder: str) -> Path | None:
    """Download one distribution with pip (no dependencies) and unpack it into CACHE."""
    target = CACHE / folder
    if target.is_dir():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    name = requirement.split("==")[0]
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "-q",
        "-d",
        str(CACHE),
        *options,
        requirement,
    ]
    if subprocess.run(cmd, timeout=600).returncode != 0:
        print(f"  (could not download {requirement})")
        return None
    stem = folder.replace("-", "_").lower()
    for archive in sorted(CACHE.iterdir()):
        low = archive.name.lower().replace("-", "_")
        if not low.startswith(stem) and not low.startswith(name.replace("-", "_")):
            continue
        if archive.suffix == ".whl":
            target.mkdir()
            zipfile.ZipFile(archive).extractall(target)
            return target
        if archive.name.endswith(".tar.gz"):
            with tarfile.open(archive) as tar:
                tar.extractall(CACHE, filter="data")
            return target if target.is_dir() else None
    return None


def measure(
    label: str, path: Path, intended: Path | None = None, budget: float | None = None
) -> None:
    from migrator.analysis import analyze

    print(f"\n== {label}: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    t0 = time.perf_counter()
    graph = analyze(str(path))
    t1 = time.perf_counter()
    c0 = time.process_time()
    plan = propose(graph)
    c1, t2 = time.process_time(), time.perf_counter()
    print(
        f"  graph: {graph.g.number_of_nodes()} nodes, {graph.g.number_of_edges()} edges, "
        f"{len(graph.routes)} routes, {len(graph.tables)} tables"
    )
    verdict = (
        "" if budget is None else (" OK" if t2 - t1 < budget else f" OVER the {budget:g} s target")
    )
    print(f"  analyze {t1 - t0:.2f} s, propose {t2 - t1:.2f} s (CPU {c1 - c0:.2f} s){verdict}")
    report(plan)
    if intended is not None and intended.is_file():
        r = compare(plan.assignment(), load_partition(intended))
        print(
            f"  vs {intended.name}: MoJoFM {r['mojofm']:.2f}, ARI {r['ari']:.4f}, "
            f"{r['mno']} moves/joins over {r['nodes']} nodes"
        )


def report(plan) -> None:  # noqa: ANN001
    m = plan.metrics
    dc = m["data_coupling"]
    print(
        f"  metrics: Q {m['modularity']}  ICP {m['icp']}  SM {m['sm']}  IFN {m['ifn']}  "
        f"NED {m['ned']}  BCP {m['bcp']}  shared writes {dc['shared_writes']}  "
        f"cross reads {dc['cross_reads']}"
    )
    kernel = len(plan.shared_kernel.modules) + len(plan.shared_kernel.symbols)
    print(
        f"  {len(plan.services)} services, kernel {kernel} nodes, split: "
        f"{', '.join(plan.meta.get('split_modules', [])) or '-'}"
    )
    for name, svc in sorted(plan.services.items()):
        print(
            f"    {name:<16} {len(svc.modules):>4} modules {len(svc.symbols):>4} symbols "
            f"{len(svc.tables):>3} tables {len(svc.routes):>3} routes"
        )


def synthetic(nodes: int) -> None:
    modules_per_domain, functions = 25, 3
    domains = max(2, nodes // (1 + modules_per_domain * (1 + functions) + 1))
    graph, truth = synthetic_monolith(
        domains=domains, modules_per_domain=modules_per_domain, functions=functions, seed=3
    )
    n = graph.g.number_of_nodes()
    print(
        f"\n== synthetic: {n} nodes, {graph.g.number_of_edges()} edges, {domains} planted domains"
    )
    for label, opts in (("default", {}), ("respect_packages=false", {"respect_packages": False})):
        t0, c0 = time.perf_counter(), time.process_time()
        plan = propose(graph, **opts)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        r = compare(plan.assignment(), truth)
        verdict = "OK" if wall < 10 else "OVER the 10 s target"
        print(
            f"  {label}: propose {wall:.2f} s (CPU {cpu:.2f} s) {verdict}; "
            f"{len(plan.services)} services, MoJoFM {r['mojofm']:.2f} vs planted"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-real", action="store_true", help="no downloads")
    parser.add_argument("--nodes", type=int, default=20000)
    parser.add_argument("--corpus", type=Path, help="a corpus of real apps laid out by get.sh")
    args = parser.parse_args()
    print(
        f"machine: {os.cpu_count()} cores, load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    measure(
        "sample_monolith", ROOT / "sample_monolith", ROOT / "sample_monolith" / "decomposition.yaml"
    )
    if not args.skip_real:
        for label, req, opts, folder, inner in REAL:
            where = fetch(req, opts, folder)
            if where is not None and (where / inner).is_dir():
                measure(label, where / inner)
    for app in sorted(args.corpus.iterdir()) if args.corpus else ():
        for inner in (app / app.name, app / "src" / app.name):
            if inner.is_dir():
                measure(f"{app.name} (corpus)", inner, budget=5.0)
                break
    synthetic(args.nodes)


if __name__ == "__main__":
    main()
