"""The facts cache (warm, incremental, corrupted, concurrent) and parallel parsing."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from migrator.analysis import analyze, analyze_with_stats
from migrator.analysis.cache import MAGIC, default_cache_dir
from migrator.analysis.formats import render

FILES = {
    f"proj/pkg/m{i}.py": f"from pkg import m{(i + 1) % 12}\n\n\ndef f{i}():\n"
    f"    return m{(i + 1) % 12}.f{(i + 1) % 12}\n"
    for i in range(12)
}
FILES["proj/pkg/__init__.py"] = ""


@pytest.fixture
def project(tmp_path):
    from .helpers import write_tree

    write_tree(tmp_path, FILES)
    return tmp_path / "proj"


def as_json(graph) -> str:
    return render(graph, "json")


def test_warm_run_parses_nothing_and_one_change_parses_one(project, tmp_path):
    cache = tmp_path / "cache"
    cold, cold_stats = analyze_with_stats(project, cache_dir=cache, jobs=1)
    assert (cold_stats.parsed, cold_stats.cached) == (13, 0)
    warm, warm_stats = analyze_with_stats(project, cache_dir=cache, jobs=1)
    assert (warm_stats.parsed, warm_stats.cached) == (0, 13)
    assert as_json(warm) == as_json(cold)
    (project / "pkg" / "m3.py").write_text("import pkg.m5\n")
    incr, incr_stats = analyze_with_stats(project, cache_dir=cache, jobs=1)
    assert (incr_stats.parsed, incr_stats.cached) == (1, 12)
    assert incr.g.has_edge("pkg.m3", "pkg.m5", key="import")
    assert not incr.g.has_edge("pkg.m3", "pkg.m4", key="import")
    assert analyze_with_stats(project, cache_dir=cache, jobs=1)[1].parsed == 0


def test_default_cache_lives_outside_the_project_and_no_cache_writes_nothing(project):
    """A repository cannot plant the default cache: it is in the user's cache directory,
    one folder per tree, and the analysed tree is left exactly as it was."""
    before = sorted(p.relative_to(project) for p in project.rglob("*"))
    where = default_cache_dir(project)
    assert where is not None and project.resolve() not in where.resolve().parents
    analyze(project, use_cache=False, jobs=1)
    assert not where.exists()
    analyze(project, jobs=1)
    packs = list(where.rglob("*.pack"))
    assert packs and all(p.read_bytes().startswith(MAGIC) for p in packs)
    assert not [p for p in where.rglob("*") if p.name.endswith(".tmp")]
    assert sorted(p.relative_to(project) for p in project.rglob("*")) == before
    assert analyze_with_stats(project, jobs=1)[1].parsed == 0  # the default cache is used
    # another tree has another folder
    assert default_cache_dir(project / "pkg") != where


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif how == "flip":
        path.write_bytes(data[:-10] + bytes([data[-10] ^ 0xFF]) + data[-9:])
    else:
        path.write_bytes(b"not a pack at all")


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage"])
def test_corrupted_pack_is_detected_and_rebuilt(project, tmp_path, damage):
    cache = tmp_path / "cache"
    expected = as_json(analyze(project, cache_dir=cache, jobs=1))

    def corrupt(path):
        _damage(path, damage)

    # a damaged finished graph: rebuilt from the (intact) facts, nothing parsed
    (graph_file,) = list(cache.rglob("*.graph"))
    corrupt(graph_file)
    again, again_stats = analyze_with_stats(project, cache_dir=cache, jobs=1)
    assert (again_stats.parsed, again_stats.cached) == (0, 13)
    assert as_json(again) == expected
    # a damaged facts pack (and no finished graph): detected, files parsed again
    (pack,) = list(cache.rglob("*.pack"))
    corrupt(pack)
    for path in cache.rglob("*.graph"):
        path.unlink()
    again, again_stats = analyze_with_stats(project, cache_dir=cache, jobs=1)
    assert again_stats.parsed == 13
    assert any("corrupt" in n for n in again_stats.cache_notes)
    assert as_json(again) == expected
    assert analyze_with_stats(project, cache_dir=cache, jobs=1)[1].parsed == 0


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "other version"])
def test_a_damaged_ledger_costs_a_full_resolution_not_a_wrong_graph(project, tmp_path, damage):
    from migrator.analysis.cache import _frame, cache_key
    from migrator.analysis.cacheformat import dumps

    cache = tmp_path / "cache"
    analyze(project, cache_dir=cache, jobs=1)
    (ledger,) = list(cache.rglob("*.ledger"))
    if damage == "other version":  # intact, but not a ledger this code can read
        ledger.write_bytes(_frame(b"ledger", dumps({"version": 999, "keys": {}}), cache_key()))
    else:
        _damage(ledger, damage)
    (project / "pkg" / "m5.py").write_text("from pkg import m6\n\n\ndef f5():\n    return 5\n")
    got, got_stats = analyze_with_stats(project, cache_dir=cache, jobs=1)
    assert (got_stats.resolution, got_stats.parsed) == ("full", 1)
    assert as_json(got) == as_json(analyze(project, use_cache=False, jobs=1))
    (project / "pkg" / "m5.py").write_text("from pkg import m6\n\n\ndef f5():\n    return 6\n")
    assert analyze_with_stats(project, cache_dir=cache, jobs=1)[1].resolution == "incremental"


def test_a_finished_graph_is_reused_only_by_the_resolver_that_made_it(
    project, tmp_path, monkeypatch
):
    """Editing the resolver (a new migrator) must not serve a graph or ledger the old one made;
    the facts, which the resolver does not shape, are still reused."""
    import migrator
    from migrator.analysis import cache as cache_module

    package = Path(migrator.__file__).parent
    assert all((package / name).is_file() for name in cache_module.GRAPH_CODE)
    cache = tmp_path / "cache"
    expected = as_json(analyze(project, cache_dir=cache, jobs=1))
    real = cache_module.graph_signature
    monkeypatch.setattr(cache_module, "graph_signature", lambda sig: real(sig) + "-edited")
    again, again_stats = analyze_with_stats(project, cache_dir=cache, jobs=1)
    assert (again_stats.resolution, again_stats.parsed) == ("full", 0)
    assert as_json(again) == expected


def test_packs_are_compacted(project, tmp_path):
    cache = tmp_path / "cache"
    analyze(project, cache_dir=cache, jobs=1)
    for i in range(10):
        (project / "pkg" / "m0.py").write_text(f"X = {i}\n")
        analyze(project, cache_dir=cache, jobs=1)
    assert len(list(cache.rglob("*.pack"))) < 8
    assert analyze_with_stats(project, cache_dir=cache, jobs=1)[1].parsed == 0


def test_concurrent_runs_share_a_cache_safely(project, tmp_path):
    cache = tmp_path / "cache"
    cmd = [
        sys.executable,
        "-m",
        "migrator",
        "analyze",
        str(project),
        "--cache-dir",
        str(cache),
        "-f",
        "json",
        "-j",
        "1",
    ]
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [o[1] for o in outs]
    assert len({o[0] for o in outs}) == 1
    graph, graph_stats = analyze_with_stats(project, cache_dir=cache, jobs=1)
    assert graph_stats.parsed == 0
    assert json.loads(outs[0][0])["nodes"]


def test_process_pool_gives_the_same_graph(project):
    serial = analyze(project, use_cache=False, jobs=1)
    parallel, parallel_stats = analyze_with_stats(project, use_cache=False, jobs=2)
    assert parallel_stats.jobs == 2
    assert as_json(parallel) == as_json(serial)


def test_output_is_identical_across_hash_seeds(project, tmp_path):
    outs = set()
    for seed in ("0", "1", "12345"):
        env = {"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"}
        proc = subprocess.run(
            [sys.executable, "-m", "migrator", "analyze", str(project), "--no-cache", "-f", "json"],
            capture_output=True,
            env=env,
            timeout=120,
            cwd=Path(__file__).parent,
        )
        assert proc.returncode == 0, proc.stderr
        outs.add(proc.stdout)
    assert len(outs) == 1


def test_unchanged_tree_reuses_the_finished_graph_and_an_edit_patches_it(
    project, tmp_path, monkeypatch
):
    cache = tmp_path / "cache"
    first = as_json(analyze(project, cache_dir=cache, jobs=1))
    import migrator.analysis.resolve as resolve

    def fail(*args, **kwargs):
        raise AssertionError("a full build ran")

    monkeypatch.setattr(resolve, "build_graph_for_patching", fail)
    again, again_stats = analyze_with_stats(project, cache_dir=cache, jobs=1)
    assert as_json(again) == first
    assert (again_stats.resolution, again_stats.resolved) == ("cached", 0)
    (project / "pkg" / "m1.py").write_text("from pkg import m2\n\n\ndef f1():\n    return 1\n")
    body, body_stats = analyze_with_stats(
        project, cache_dir=cache, jobs=1
    )  # same names: only m1 is resolved again
    assert (body_stats.resolution, body_stats.resolved) == ("incremental", 1)
    assert not body.g.has_edge("pkg.m1:f1", "pkg.m2:f2")
    (project / "pkg" / "m1.py").write_text("X = 2\n")
    shape, shape_stats = analyze_with_stats(
        project, cache_dir=cache, jobs=1
    )  # f1 is gone: m0, which uses it, too
    assert (shape_stats.resolution, shape_stats.resolved) == ("incremental", 2)
    assert "pkg.m1:f1" not in shape.g and "pkg.m1:X" in shape.g
    (project / "pkg" / "new.py").write_text("Y = 1\n")  # a new module nobody imports yet
    added, added_stats = analyze_with_stats(project, cache_dir=cache, jobs=1)
    assert (added_stats.resolution, added_stats.resolved) == ("incremental", 1)
    (project / "pkg" / "m1.py").unlink()  # m0 imports it: m0 is resolved again
    gone, gone_stats = analyze_with_stats(project, cache_dir=cache, jobs=1)
    assert (gone_stats.resolution, gone_stats.resolved) == ("incremental", 1)
    assert "pkg.m1" not in gone.g and not gone.g.has_edge("pkg.m0", "pkg.m1")
    with pytest.raises(AssertionError, match="a full build ran"):  # other options: no ledger
        analyze(project, cache_dir=cache, jobs=1, plugins=False)


def test_graph_cache_stays_small_across_edits_and_options(project, tmp_path):
    """Two graphs (and their ledgers) at most, plus the whole graphs their deltas are the
    changes from, and no pointer to a graph that is gone, however many edits and option sets
    (each its own scope) a cache has seen."""
    import shutil

    from migrator.analysis.cache import GraphCache, cache_key
    from migrator.analysis.facts import FACTS_VERSION

    cache = tmp_path / "cache"
    other = tmp_path / "other"
    shutil.copytree(project, other)  # a second checkout sharing the cache: a third scope
    for i in range(4):
        (project / "pkg" / "m3.py").write_text(f"X = {i}\n")
        analyze(other, cache_dir=cache, jobs=1)
        analyze(project, cache_dir=cache, jobs=1)
        analyze(project, cache_dir=cache, jobs=1, plugins=False)
    graphs = cache / f"graph-v{FACTS_VERSION}"
    names = sorted(p.name for p in graphs.iterdir())
    kept = {n[: -len(".ledger")] for n in names if n.endswith(".ledger")}
    deltas = [n[: -len(".delta")].partition("+") for n in names if n.endswith(".delta")]
    patched, bases = {k for k, *_ in deltas}, {b for *_, b in deltas}
    whole = {n[: -len(".graph")] for n in names if n.endswith(".graph")}
    assert len(kept) == 2 and kept <= whole | patched and len(deltas) == len(patched)
    assert patched <= kept and bases <= whole <= kept | bases
    pointers = [p for p in graphs.iterdir() if p.name.startswith("latest-")]
    store = GraphCache(cache, cache_key()).store  # pointers are signed JSON like the rest
    assert pointers and all(store.read(p.name, b"latest")["key"] in kept for p in pointers)
    again, again_stats = analyze_with_stats(project, cache_dir=cache, jobs=1, plugins=False)
    assert again_stats.resolution == "cached"


def test_sample_monolith_json_is_identical_across_hash_seeds():
    sample = Path(__file__).resolve().parents[2] / "sample_monolith"
    outs = set()
    for seed in ("1", "2"):
        env = {"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"}
        proc = subprocess.run(
            [sys.executable, "-m", "migrator", "analyze", str(sample), "--no-cache", "-f", "json"],
            capture_output=True,
            env=env,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        outs.add(proc.stdout)
    assert len(outs) == 1
    assert b'"kind": "route"' in outs.pop()


@pytest.mark.parametrize("app", ["django", "flask", "fastapi", "sqlalchemy", "tasks"])
def test_the_plain_cache_format_gives_back_exactly_what_was_stored(app):
    """Facts (plug-in facts with tuples and sets included), finished graphs (down to
    networkx's insertion order and the key dicts shared by both directions) and ledgers come
    back from their JSON form equal, of the same types: a warm run must see what a cold
    one built."""
    import hashlib

    from migrator.analysis import cacheformat as cf
    from migrator.analysis.discover import discover
    from migrator.analysis.facts import WorkItem
    from migrator.analysis.incremental import make_ledger
    from migrator.analysis.isolate import parse_isolated
    from migrator.analysis.resolve import build_graph_for_patching

    root = Path(__file__).parent / "frameworks" / "apps" / app
    disc = discover(root)
    items = []
    for f in disc.files:
        data = f.path.read_bytes()
        items.append(
            WorkItem(f.rel, f.module, f.is_package, hashlib.sha256(data).hexdigest(), data, True)
        )
    facts = {mf.module: mf for mf in parse_isolated(items, jobs=1)}
    assert any(mf.framework for mf in facts.values())
    for mf in facts.values():
        back = cf.decode_facts(cf.loads(cf.dumps(cf.encode_facts(mf))))
        assert back == mf and repr(back) == repr(mf)
    graph, _, info = build_graph_for_patching(facts, root=str(root))
    graph.finalize()
    back = cf.decode_graph(cf.loads(cf.dumps(cf.encode_graph(graph))))
    g, h = graph.g, back.g
    assert repr(list(h._node.items())) == repr(list(g._node.items()))
    for n in g._node:
        assert repr(list(h._adj[n].items())) == repr(list(g._adj[n].items()))
        assert repr(list(h._pred[n].items())) == repr(list(g._pred[n].items()))
        for t, keydict in h._adj[n].items():
            assert h._pred[t][n] is keydict
    assert render(back, "json") == render(graph, "json")
    assert (back.routes, back.entry_points, back.tables, back.externals, back.diagnostics) == (
        graph.routes,
        graph.entry_points,
        graph.tables,
        graph.externals,
        graph.diagnostics,
    )
    ledger = make_ledger({m: "k" for m in facts}, facts, info)
    again = cf.decode_ledger(cf.loads(cf.dumps(cf.encode_ledger(ledger))))
    assert repr(again) == repr(ledger)


def test_plug_in_facts_keep_their_types_through_the_cache():
    from migrator.analysis import cacheformat as cf

    value = {
        "pairs": [("a", "b"), ("c", None)],
        "set": {1, 2},
        "frozen": frozenset({"x"}),
        "keys": {1: "one", ("t", 2): [True, 1.5]},
        "\0t": "a key like a tag",
        "nested": [{"\0s": [1]}, ()],
    }
    back = cf.decode_plain(cf.loads(cf.dumps(cf.encode_plain(value))))
    assert back == value and repr(back) == repr(value)
    with pytest.raises(TypeError):
        cf.encode_plain({"node": object()})
    from migrator.analysis.facts import ModuleFacts

    for framework in (value, {"flask": {"routes": [["GET", "/x"]], "n": 1}}, {}):
        mf = ModuleFacts("m", "m.py", False, 1, "0" * 64, framework=framework)
        back = cf.decode_facts(cf.loads(cf.dumps(cf.encode_facts(mf))))
        assert back == mf and repr(back) == repr(mf)


def _small_graph():
    from migrator.graph import DependencyGraph

    graph = DependencyGraph("r")
    for name in ("a", "b", "c"):
        graph.add_node(name, "module", f"{name}.py", 1, 1)
    graph.add_edge("a", "b", "import", ["a.py:1"])
    graph.add_edge("a", "c", "import", ["a.py:2"])
    graph.add_edge("c", "b", "reference", ["c.py:3"])
    return graph


@pytest.mark.parametrize(
    "where", ["node name", "edge key", "edge attribute", "node attribute", "graph attribute"]
)
def test_a_graph_json_cannot_hold_is_refused_not_stored_changed(where):
    """JSON objects turn a key of another type into a string: a graph whose node names, edge
    keys or attribute names are not all strings is refused (and not cached), never written
    so that a warm run would see ``"1"`` for ``1``."""
    from migrator.analysis import cacheformat as cf

    graph = _small_graph()
    g = graph.g
    if where == "node name":
        g.add_node(1, kind="module")
    elif where == "edge key":
        g.add_edge("b", "c", key=2, kind="import")
    elif where == "edge attribute":
        g.edges["a", "b", "import"][3] = True
    elif where == "graph attribute":
        g.graph[1.5] = "x"
    else:
        g.nodes["a"][None] = 1
    with pytest.raises(TypeError):
        cf.encode_graph(graph)


@pytest.mark.parametrize(
    "damage",
    [
        "pred missing",
        "pred twice",
        "pred elsewhere",
        "succ order",
        "edge not a dict",
        "empty key dict",
        "node not a dict",
    ],
)
def test_a_graph_whose_parts_disagree_is_refused(damage):
    """A graph file holds each adjacency once and the in-adjacency as indices: one that
    does not match its out-adjacency, or has containers of the wrong kind, is an error (the
    file is discarded), never a graph whose two directions disagree."""
    from migrator.analysis import cacheformat as cf

    data = cf.loads(cf.dumps(cf.encode_graph(_small_graph())))
    assert cf.decode_graph(data).g.has_edge("c", "b", key="reference")
    if damage == "pred missing":
        data["pred"][1] = [0]  # b: from a only, not from c
    elif damage == "pred twice":
        data["pred"][1] = [0, 2, 2]
    elif damage == "pred elsewhere":
        data["pred"][1], data["pred"][2] = [0], [0, 2]
    elif damage == "succ order":
        data["succ"] = dict(reversed(data["succ"].items()))
    elif damage == "edge not a dict":
        data["succ"]["a"]["b"]["import"] = ["import", 1]
    elif damage == "empty key dict":
        data["succ"]["b"]["a"] = {}
        data["pred"][0] = [1]
    else:
        data["nodes"]["c"] = ["module"]
    with pytest.raises((TypeError, ValueError, KeyError)):
        cf.decode_graph(data)


# -- facts packs keep name uses apart, decoded on first use -------------------------------


def _pack_parts(pack: Path) -> tuple[dict, bytes]:
    from migrator.analysis.cache import _unframe, cache_key
    from migrator.analysis.cacheformat import loads

    payload = bytes(_unframe(b"facts", pack.read_bytes(), cache_key()))
    core, _, uses = payload.partition(b"\n")
    return loads(core), uses


def _write_pack(pack: Path, rows: dict, uses: bytes) -> None:
    from migrator.analysis.cache import _frame, cache_key
    from migrator.analysis.cacheformat import dumps

    pack.write_bytes(_frame(b"facts", dumps(rows) + b"\n" + uses, cache_key()))


def test_cached_facts_decode_their_name_uses_only_when_resolved(project, tmp_path):
    """Facts read from a pack leave their name uses undecoded until the resolver reads them;
    decoded, or written into a new pack as they were read, they equal the parsed facts."""
    from migrator.analysis.cache import FactsCache, cache_key
    from migrator.analysis.cacheformat import name_uses

    cache = tmp_path / "cache"
    analyze(project, cache_dir=cache, jobs=1)
    (project / "pkg" / "m3.py").write_text(
        "from pkg import m4\n\n\ndef f3():\n    return m4.f4  # x\n"
    )
    incr, incr_stats = analyze_with_stats(
        project, cache_dir=cache, jobs=1
    )  # a comment: no module resolved again
    assert (incr_stats.resolution, incr_stats.resolved) == ("incremental", 0)
    parsed = FactsCache(cache, cache_key())
    parsed.load()
    assert all("_pending_uses" in vars(mf) for mf in parsed.entries.values())
    assert all(
        not mf.module_uses and not any(s.uses for s in mf.symbols) for mf in parsed.entries.values()
    )
    copy = FactsCache(tmp_path / "copy", cache_key())
    copy._write(parsed.entries)  # the pending uses, copied as they were read
    again = FactsCache(tmp_path / "copy", cache_key())
    again.load()
    assert again.corrupt == [] and set(again.entries) == set(parsed.entries)
    for key, mf in parsed.entries.items():
        name_uses(mf)
        assert "_pending_uses" not in vars(mf)
        assert name_uses(again.entries[key]) == mf
    f3 = next(mf for mf in parsed.entries.values() if mf.module == "pkg.m3")
    assert [u.name for s in f3.symbols for u in s.uses] == ["m4.f4"]


@pytest.mark.parametrize("damage", ["not JSON", "one list too few", "a use of 4 fields"])
def test_a_pack_with_damaged_name_uses_is_discarded_and_rebuilt(project, tmp_path, damage):
    """Signed with the user's key (nothing else passes), but its name uses do not decode:
    the run starts again without the facts cache and gives the right graph, with a note."""
    cache = tmp_path / "cache"
    expected = as_json(analyze(project, use_cache=False, jobs=1))
    analyze(project, cache_dir=cache, jobs=1)
    (pack,) = list(cache.rglob("*.pack"))
    rows, uses = _pack_parts(pack)
    key, row = next((k, r) for k, r in rows.items() if r[0] == "pkg.m5")
    at, size = row[-1]
    text = {
        "not JSON": b"[" * size,
        "one list too few": json.dumps([[], []]).encode(),
        "a use of 4 fields": json.dumps([[], [[["m6.f6", 5, "body", 1]]]]).encode(),
    }[damage]
    row[-1] = [len(uses), len(text)]
    _write_pack(pack, rows, uses + text)
    for path in cache.rglob("*.graph"):
        path.unlink()  # so that the facts are resolved
    got, got_stats = analyze_with_stats(project, cache_dir=cache, jobs=1)
    assert as_json(got) == expected
    assert got_stats.parsed == 13
    assert any(
        "damaged facts cache discarded and rebuilt" in n and pack.name in n
        for n in got_stats.cache_notes
    ), got_stats.cache_notes
    again, again_stats = analyze_with_stats(project, cache_dir=cache, jobs=1)
    assert again_stats.parsed == 0 and as_json(again) == expected


def test_a_pack_whose_name_uses_lie_outside_it_is_discarded(project, tmp_path):
    cache = tmp_path / "cache"
    expected = as_json(analyze(project, cache_dir=cache, jobs=1))
    (pack,) = list(cache.rglob("*.pack"))
    rows, uses = _pack_parts(pack)
    next(iter(rows.values()))[-1] = [len(uses) - 2, 3]
    _write_pack(pack, rows, uses)
    for path in cache.rglob("*.graph"):
        path.unlink()
    got, got_stats = analyze_with_stats(project, cache_dir=cache, jobs=1)
    assert as_json(got) == expected and got_stats.parsed == 13
    assert any(
        "corrupted cache pack" in n and "malformed facts" in n for n in got_stats.cache_notes
    ), got_stats.cache_notes


def test_merged_packs_hold_the_facts_as_parsed(project, tmp_path):
    """Compaction writes the rows and name uses it read back as they were: the merged pack
    alone gives every module's parsed facts, and the graph from scratch."""
    from migrator.analysis.cache import FactsCache, cache_key
    from migrator.analysis.cacheformat import name_uses
    from migrator.analysis.facts import FACTS_VERSION

    cache = tmp_path / "cache"
    analyze(project, cache_dir=cache, jobs=1)
    for i in range(10):  # until the packs are merged into one
        (project / "pkg" / "m0.py").write_text(f"from pkg import m1\n\nX = m1.f1({i})\n")
        analyze(project, cache_dir=cache, jobs=1)
        if i and len(list(cache.rglob("*.pack"))) == 1:
            break
    assert len(list(cache.rglob("*.pack"))) == 1
    shutil.rmtree(cache / f"graph-v{FACTS_VERSION}")
    got, got_stats = analyze_with_stats(project, cache_dir=cache, jobs=1)
    assert got_stats.parsed == 0
    assert as_json(got) == as_json(analyze(project, use_cache=False, jobs=1))
    merged = FactsCache(cache, cache_key())
    merged.load()
    fresh = FactsCache(tmp_path / "fresh", cache_key())
    analyze(project, cache_dir=tmp_path / "fresh", jobs=1)
    fresh.load()
    assert set(merged.entries) == set(fresh.entries)
    for key, mf in merged.entries.items():
        assert name_uses(mf) == name_uses(fresh.entries[key])


@pytest.mark.parametrize(
    "name", ["facts.py", "collect.py", "parse.py", "walk.py", "fieldorders.py", "cacheformat.py"]
)
def test_the_facts_signature_covers_the_code_that_shapes_facts(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cached facts made by other code must not be reused: an edit to any module that shapes
    them (the field order the walker follows among them) changes the signature in their keys."""
    from migrator.analysis import cache

    before = cache.code_signature()
    real = Path.read_bytes

    def edited(self: Path) -> bytes:
        extra = b"\n# edited\n" if (self.parent.name, self.name) == ("analysis", name) else b""
        return real(self) + extra

    monkeypatch.setattr(Path, "read_bytes", edited)
    assert cache.code_signature() != before
