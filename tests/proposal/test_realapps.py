"""The default proposal on the development apps, when they are laid out (see
``tests/analysis/realapps``): what must hold on real code whatever the scores.

Each app's plan has between half and twice the reference's number of services, names them with
business words (never a technical layer, a generic word or a numeric suffix), and keeps a
shared kernel. The scores themselves are measured by ``../shared/realapps/evaluate.sh`` and
recorded in the README, not asserted here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from migrator.proposal.concepts import ROLE_WORDS, seg_words
from migrator.proposal.naming import GENERIC

HERE = Path(__file__).parent
PROJECT = HERE.parents[1]
INVENTORIES = PROJECT / "tests" / "analysis" / "realapps"
TRUTH = PROJECT.parent / "shared" / "realapps" / "truth"
APPS = sorted(p.stem for p in INVENTORIES.glob("*.json"))


@pytest.mark.slow
@pytest.mark.parametrize("app", APPS)
def test_the_default_proposal_is_team_sized_and_named_by_business(app: str) -> None:
    import os

    from migrator.analysis import analyze
    from migrator.proposal import propose

    corpus = Path(os.environ.get("MIGRATOR_REALAPPS", PROJECT.parent / "corpus"))
    inv = json.loads((INVENTORIES / f"{app}.json").read_text())
    root = corpus / inv["corpus_path"]
    truth = TRUTH / f"{app}.yaml"
    if not root.is_dir() or not truth.is_file():
        pytest.skip(f"{app} is not laid out at {root} or its reference is not in {TRUTH}")
    reference = len(yaml.safe_load(truth.read_text())["domains"])
    graph = analyze(root)
    plan = propose(graph)
    n = len(plan.services)
    assert reference / 2 <= n <= reference * 2, (app, n, reference)
    # a technical word names a service only when the app's data is named so (a `signal` table)
    data = {"_".join(seg_words(t)) for t in graph.tables} | {
        "_".join(seg_words(t.model.split(":")[-1])) for t in graph.tables.values() if t.model
    }
    for name in plan.services:
        words = set(name.split("-"))
        if words <= (ROLE_WORDS | GENERIC):
            assert "_".join(seg_words(name)) in data, (app, name)
        assert not re.search(r"-\d+$", name) and not name[0].isdigit(), (app, name)
    assert plan.shared_kernel.modules
    assert str(n) in plan.meta["service_count"]
