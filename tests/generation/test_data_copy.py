"""`migrator data copy|verify`: the sample's tables move from the monolith's database (read from
its streaming replica) into a service's database on a real PostgreSQL pair, with matching row
counts and checksums, and a copy that drifted is caught."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg
import pytest
from click.testing import CliRunner

from migrator.cli import main
from migrator.plan import dump_plan

from .pgpair import primary_and_replica
from .sample_plan import sample_plan
from .support import ROOT

SERVICE = "catalog"


@pytest.fixture(scope="module")
def shop_db(tmp_path_factory):
    """The sample monolith's own schema and demo data in PostgreSQL (it creates and seeds)."""
    work = tmp_path_factory.mktemp("shop-pg")
    with primary_and_replica() as pg:
        with psycopg.connect(pg.primary(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE monolith")
            conn.execute("CREATE DATABASE catalog")
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "SHOP_PASSWORD_ITERATIONS": "1000",
            "SHOP_DATABASE_URL": pg.primary("monolith", "postgresql+psycopg"),
            "SHOP_INSTANCE_DIR": str(work),
            "SHOP_SECRET_KEY": "x",
        }
        subprocess.run(
            [sys.executable, "-m", "sample_monolith", "--init-only"],
            cwd=work,
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        pg.wait_replayed()
        yield pg, work


def test_the_seeded_monolith_can_add_products_on_postgresql(shop_db) -> None:
    """The seed gives products fixed ids; on PostgreSQL the id sequence must move past them,
    or the first product a staff user adds fails with a duplicate key."""
    pg, _ = shop_db
    with psycopg.connect(pg.primary("monolith")) as conn:
        top = conn.execute("SELECT max(id) FROM products").fetchone()[0]
        following = conn.execute(
            "SELECT nextval(pg_get_serial_sequence('products', 'id'))"
        ).fetchone()[0]
    assert top >= 10 and following == top + 1


def _rows(url: str, table: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return sorted(conn.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr)


def test_copy_moves_the_services_tables_with_matching_counts_and_checksums(shop_db, sample_graph):
    pg, work = shop_db
    plan = sample_plan(sample_graph)
    tables = sorted(plan.services[SERVICE].tables)
    assert tables == ["categories", "products"]
    plan_file = work / "plan.yaml"
    plan_file.write_text(dump_plan(plan))
    source, target = pg.replica("monolith"), pg.primary("catalog", "postgresql+psycopg")
    args = ["data", "copy", SERVICE, "--from", source, "--to", target, "--plan", str(plan_file)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line.split() for line in result.output.splitlines()}
    for table in tables:
        rows = _rows(pg.primary("monolith"), table)
        assert rows and _rows(pg.primary("catalog"), table) == rows
        assert lines[table][1] == str(len(rows)) and lines[table][-1] == "ok"
    with psycopg.connect(pg.primary("catalog")) as conn:  # only the service's tables came over
        present = {
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        assert present == set(tables)
        # an id the service hands out next is past every copied one
        top = conn.execute("SELECT max(id) FROM categories").fetchone()[0]
        fresh = conn.execute(
            "SELECT nextval(pg_get_serial_sequence('categories', 'id'))"
        ).fetchone()[0]
        assert fresh > top
    verify = ["data", "verify", SERVICE, "--from", source, "--to", target, "--plan", str(plan_file)]
    assert CliRunner().invoke(main, verify).exit_code == 0
    # copying again would double the rows: refused, in one line naming the table
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 2 and "categories: the target already holds" in again.output
    assert CliRunner().invoke(main, [*args, "--replace"]).exit_code == 0
    # a row that drifted is caught by the checksum even though the count still matches
    with psycopg.connect(pg.primary("catalog"), autocommit=True) as conn:
        conn.execute(
            "UPDATE products SET name = name || ' (edited)' WHERE id = "
            "(SELECT min(id) FROM products)"
        )
    drift = CliRunner().invoke(main, verify)
    assert drift.exit_code == 1 and "products" in drift.output and "MISMATCH" in drift.output
    count_line = next(line for line in drift.output.splitlines() if line.startswith("products"))
    rows = count_line.split()[1]
    assert f"target {rows} rows" in count_line  # same count, different checksum


def test_data_errors_are_one_line(shop_db, tmp_path):
    pg, work = shop_db
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text("version: 1\nservices:\n  a:\n    tables: [nope]\n")
    result = CliRunner().invoke(
        main,
        [
            "data",
            "copy",
            "a",
            "--from",
            pg.primary("monolith"),
            "--to",
            pg.primary("catalog"),
            "--plan",
            str(plan_file),
        ],
    )
    assert result.exit_code == 2
    assert result.output.strip() == "migrator data copy: nope: no such table in the source database"
    result = CliRunner().invoke(
        main,
        [
            "data",
            "copy",
            "b",
            "--from",
            pg.primary(),
            "--to",
            pg.primary(),
            "--plan",
            str(plan_file),
        ],
    )
    assert result.exit_code == 2 and "services.b: no such service" in result.output
