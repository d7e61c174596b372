"""The kernel's part of a split module calls a function another service took: each service's
copy of the module imports it from the owner's client (``migrator/extraction/splits.py``)."""

from __future__ import annotations

from pathlib import Path

from migrator.extraction import build_extraction
from migrator.plan import plan_from_dict

from .conftest import mini_packages, text
from .test_conversions import _run_in_service

CMDS = '''"""Commands."""

from __future__ import annotations


def purge(days):
    return {"purged": days}


def wipe(session):
    return session


def export(days):
    return days


def main(days):
    return purge(days)["purged"]


def clear(session):
    return wipe(session)
'''


def test_a_split_copy_calls_what_another_service_took_through_its_client(tmp_path: Path) -> None:
    pkg = mini_packages(tmp_path / "app")
    (pkg / "cmds.py").write_text(CMDS)
    plan = plan_from_dict(
        {
            "version": 1,
            "services": {
                "a": {"modules": ["mini.a"], "symbols": ["mini.cmds:export"]},
                "b": {
                    "modules": ["mini.b"],
                    "symbols": ["mini.cmds:purge", "mini.cmds:wipe"],
                    "interface": ["mini.cmds:purge", "mini.cmds:wipe"],
                },
            },
            "shared_kernel": {
                "modules": ["mini"],
                "symbols": ["mini.cmds:main", "mini.cmds:clear"],
            },
        }
    )
    ex = build_extraction(plan, None, tmp_path / "app")
    found = {c.uses: c.converted for c in ex.couplings if c.service == "a" and c.kind == "import"}
    # wipe is handed a session the owner cannot open (no session factory): still listed
    assert found == {"mini.cmds:purge": True, "mini.cmds:wipe": False}, found
    copy = text(ex, "services/a/src/mini/cmds.py")
    assert copy.startswith('"""Commands."""\n\nfrom __future__ import annotations\n')
    assert "from interservice.b_cmds import purge\n" in copy
    assert "import wipe" not in copy
    out = _run_in_service(
        ex,
        tmp_path / "out",
        "a",
        "from interservice import runtime\n"
        "runtime.call = lambda service, endpoint, func, args, kwargs, **_: "
        "{'purged': [service, endpoint, args, kwargs]}\n"
        "import mini.cmds\nprint(mini.cmds.main(3))\n",
    )
    assert out == "['b', 'purge', [], {'days': 3}]\n"
