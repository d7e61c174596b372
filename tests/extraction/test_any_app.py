"""Extraction never crashes on code it was not written for: re-exports through a module alias,
a PATH that is the package itself, and ``run --extract``."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from migrator.cli import main
from migrator.extraction import build_extraction
from migrator.plan import plan_from_dict

from .conftest import text


def _reexporting_app(root: Path) -> None:
    pkg = root / "mini"
    for sub in ("a", "b"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "b" / "impl.py").write_text("def price(sku: str) -> int:\n    return len(sku)\n")
    (pkg / "b" / "api.py").write_text("from mini.b.impl import price\n\n__all__ = ['price']\n")
    (pkg / "a" / "use.py").write_text(
        "from mini.b import api\n\n\ndef total(sku: str) -> int:\n    return api.price(sku)\n")


def test_function_reached_through_a_reexporting_module_gets_a_client(tmp_path: Path) -> None:
    _reexporting_app(tmp_path)
    plan = plan_from_dict({"version": 1, "services": {
        "a": {"modules": ["mini.a", "mini.a.use"]},
        "b": {"modules": ["mini.b", "mini.b.api", "mini.b.impl"],
              "interface": ["mini.b.impl:price"]}},
        "shared_kernel": {"modules": ["mini"]}})
    ex = build_extraction(plan, None, tmp_path)
    (call,) = ex.calls
    assert call.callee == "mini.b.impl:price" and call.converted
    client = text(ex, "services/a/src/interservice/b_api.py")
    assert "def price(sku: str) -> int:" in client
    assert "runtime.call(\n        SERVICE, 'price', price," in client
    compile(client, "b_api.py", "exec")
    assert "'price': _price" in text(ex, "services/b/src/interservice/endpoints.py")


def test_scaffold_and_run_accept_the_package_folder_itself(tmp_path: Path) -> None:
    _reexporting_app(tmp_path / "app")
    package = tmp_path / "app" / "mini"
    runner = CliRunner()
    done = runner.invoke(main, ["propose", str(package), "-o", str(tmp_path / "plan.yaml")])
    assert done.exit_code == 0, done.output
    done = runner.invoke(main, ["scaffold", str(package), "--plan", str(tmp_path / "plan.yaml"),
                                "--extract", "-o", str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    assert list((tmp_path / "out" / "services").glob("*/src/mini/__init__.py")) or \
        (tmp_path / "out" / "shared_kernel" / "src" / "mini" / "__init__.py").is_file()
    assert (tmp_path / "out" / "EXTRACTION.md").is_file()
    done = runner.invoke(main, ["run", str(package), "--extract", "-o", str(tmp_path / "run")])
    assert done.exit_code == 0, done.output
    assert "extracted" in done.output
    assert (tmp_path / "run" / "EXTRACTION.md").is_file()
    assert list((tmp_path / "run" / "services").glob("*/src/interservice/app.py"))
