"""Two ``migrator analyze`` runs on one tree at the same time (as parallel CI jobs do) share the
cache without corrupting it: both print what a cache-free run prints, and the cache they leave
serves a third run without parsing."""

from __future__ import annotations

import subprocess

import pytest

from migrator.analysis import analyze, analyze_with_stats
from migrator.analysis.cache import FactsCache, cache_key

from .conftest import cli_env, generated_tree, migrator_cmd, run_cli


def _together(*commands: list[str]) -> list[subprocess.CompletedProcess]:
    procs = [
        subprocess.Popen(
            c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env()
        )
        for c in commands
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    return [
        subprocess.CompletedProcess(c, p.returncode, o, e)
        for c, p, (o, e) in zip(commands, procs, outs, strict=True)
    ]


@pytest.mark.parametrize("warm", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_two_runs_share_one_cache(tmp_path, warm) -> None:
    root = generated_tree(tmp_path / "proj", 150)
    cache = tmp_path / "cache"
    clean = run_cli("analyze", str(root), "--no-cache", "-f", "json")
    assert clean.returncode == 0
    if warm:  # a cache with many packs, so that both runs compact it at the same time
        for i in range(9):
            analyze(root, cache_dir=cache, jobs=1)
            (root / "gen" / "p0" / f"m{i}.py").write_text(f"X = {i}\n")
        clean = run_cli("analyze", str(root), "--no-cache", "-f", "json")
    cmd = migrator_cmd("analyze", str(root), "--cache-dir", str(cache), "-f", "json", "-j", "2")
    runs = _together(cmd, cmd)
    for done in runs:
        assert done.returncode == 0, done.stderr
        assert done.stdout == clean.stdout
        assert "corrupted" not in done.stderr
    loaded = FactsCache(cache, cache_key())
    loaded.load()
    assert loaded.corrupt == []
    third, third_stats = analyze_with_stats(root, cache_dir=cache, jobs=1)
    assert third_stats.parsed == 0
    assert (
        run_cli("analyze", str(root), "--cache-dir", str(cache), "-f", "json").stdout
        == clean.stdout
    )
