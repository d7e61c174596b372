"""Evolutionary coupling from git history: what changes together and who changes it.

Two of the couplings Mazlami et al. (ICWS 2017) extract microservices by: *logical coupling*,
modules changed in the same commits, and *contributor coupling*, modules changed by the same
people. Both say what the structure cannot: two modules that never import each other but are
always edited together belong to one team. They are read only with ``--history`` and only from
the analysed tree's own git checkout, with a bounded number of commits, and never run the
repository's hooks or configuration.
"""

from __future__ import annotations

import os
import subprocess
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

from migrator.proposal.units import UnitGraph, damp

MAX_COMMITS = 2000
#: a commit touching more modules than this is a reformat or a rename sweep: no evidence
MAX_MODULES_PER_COMMIT = 30
#: pairs changed together fewer times than this are noise
MIN_SUPPORT = 2


class HistoryError(Exception):
    """The tree has no usable history (no git, not a checkout, git failed)."""


@dataclass
class History:
    """Co-change counts and shared-author ratios between modules (pairs sorted, a < b)."""

    commits: int = 0
    cochange: dict[tuple[str, str], int] = field(default_factory=dict)
    authors: dict[tuple[str, str], float] = field(default_factory=dict)


def _git(args: list[str], cwd: Path, timeout: float) -> str:
    """git with the repository's own hooks, pager and fsmonitor turned off."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    cmd = [
        "git",
        "-c",
        "core.hooksPath=/dev/null",
        "-c",
        "core.fsmonitor=false",
        "-c",
        "core.pager=cat",
        "--no-pager",
        *args,
    ]
    try:
        proc = subprocess.run(
            cmd,
            cwd=cwd,
            env=env,
            capture_output=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            close_fds=True,
            check=False,
        )
    except FileNotFoundError as exc:
        raise HistoryError("git is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise HistoryError(f"git log took longer than {timeout:.0f} s") from exc
    if proc.returncode != 0:
        line = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise HistoryError(
            f"{cwd}: not a usable git checkout ({line[-1] if line else 'git failed'})"
        )
    return proc.stdout.decode("utf-8", "replace")


def read_history(
    root: str | Path, files: dict[str, str], max_commits: int = MAX_COMMITS, timeout: float = 60.0
) -> History:
    """Coupling between the modules of ``files`` (module -> path relative to ``root``) from
    the last ``max_commits`` non-merge commits of the checkout holding ``root``."""
    root = Path(root).resolve()
    top = Path(_git(["rev-parse", "--show-toplevel"], root, timeout).strip()).resolve()
    module_of: dict[str, str] = {}
    for module, rel in files.items():
        try:
            module_of[(root / rel).resolve().relative_to(top).as_posix()] = module
        except ValueError:
            continue
    out = _git(
        [
            "log",
            "--no-merges",
            "--no-renames",
            f"-n{max_commits}",
            "--name-only",
            "--format=%x1e%ae",
            "--",
            str(root),
        ],
        top,
        timeout,
    )
    co: Counter[tuple[str, str]] = Counter()
    people: dict[str, set[str]] = defaultdict(set)
    commits = 0
    for record in out.split("\x1e")[1:]:
        lines = [x.strip() for x in record.splitlines() if x.strip()]
        if not lines:
            continue
        author, paths = lines[0].lower(), lines[1:]
        touched = sorted({module_of[p] for p in paths if p in module_of})
        commits += 1
        for m in touched:
            people[m].add(author)
        if 2 <= len(touched) <= MAX_MODULES_PER_COMMIT:
            co.update(combinations(touched, 2))
    # contributor coupling between modules changed together at least once (every pair of a
    # large tree would be quadratic, and pairs never changed together carry no team signal)
    authors: dict[tuple[str, str], float] = {}
    for a, b in sorted(co):
        shared = people[a] & people[b]
        if shared:
            authors[(a, b)] = round(len(shared) / len(people[a] | people[b]), 6)
    return History(
        commits=commits,
        cochange={p: n for p, n in sorted(co.items()) if n >= MIN_SUPPORT},
        authors=authors,
    )


def add_history(ug: UnitGraph, history: History, weights: dict[str, float]) -> None:
    """Add the history's ties to the clustering weights, damped like every other kind:
    ``cochange`` times (1 + ln n) for n commits together, ``authors`` times the share of
    authors the two modules have in common."""
    for (a, b), n in history.cochange.items():
        ua, ub = ug.unit_of.get(a), ug.unit_of.get(b)
        if ua is None or ub is None or ua == ub:
            continue
        pair = (min(ua, ub), max(ua, ub))
        w = weights.get("cochange", 0.0) * damp(n) + weights.get(
            "authors", 0.0
        ) * history.authors.get((a, b), 0.0)
        if w > 0:
            ug.weights[pair] = ug.weights.get(pair, 0.0) + w
    ug.weights = {k: ug.weights[k] for k in sorted(ug.weights)}
