"""Requirement lines: read from the monolith without executing anything, unsafe names refused."""

from __future__ import annotations

from migrator.generation.requirements import (
    monolith_pins,
    parse_requirement,
    service_requirements,
)


def test_parse_requirement_lines():
    assert parse_requirement("Flask==3.0.3") == ("flask", "Flask==3.0.3")
    assert parse_requirement("  SQLAlchemy >= 2.0 , <3  # orm") == (
        "sqlalchemy",
        "SQLAlchemy>=2.0,<3",
    )
    assert parse_requirement("uvicorn[standard]==0.30.0") == (
        "uvicorn",
        "uvicorn[standard]==0.30.0",
    )
    assert parse_requirement("pkg ; sys_platform == 'linux'") == (
        "pkg",
        "pkg ; sys_platform == 'linux'",
    )
    for line in (
        "# comment",
        "-r other.txt",
        "-e .",
        "x @ https://h/x.whl",
        "git+https://h/x",
        "bad name==1",
        "pkg==1; $(rm -rf /)",
    ):
        assert parse_requirement(line) is None, line


def test_pins_from_pyproject_and_requirements(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "shop"\ndependencies = ["Flask>=3.0", "requests==2.32.3"]\n'
        '[project.optional-dependencies]\nserver = ["gunicorn==22.0.0"]\n'
    )
    (tmp_path / "requirements.txt").write_text("flask==3.0.3\n")
    pins = monolith_pins(tmp_path)
    assert pins["flask"] == "flask==3.0.3"  # requirements files come first
    assert pins["requests"] == "requests==2.32.3" and pins["gunicorn"] == "gunicorn==22.0.0"


def test_pins_found_in_the_parent_of_a_package_root(tmp_path):
    (tmp_path / "requirements.txt").write_text("Django==4.2.16\n")
    (tmp_path / "shop").mkdir()
    assert monolith_pins(tmp_path / "shop") == {"django": "Django==4.2.16"}


def test_service_requirements_add_framework_and_server():
    reqs, rejected = service_requirements(
        {"requests", "Flask", "bad name", "../x"}, "flask", {"requests": "requests==2.32.3"}
    )
    assert reqs == ["Flask==3.1.3", "gunicorn==27.0.1", "requests==2.32.3"]
    assert rejected == ["../x", "bad name"]
    reqs, _ = service_requirements(set(), "fastapi", {"gunicorn": "gunicorn>=22"})
    assert reqs == ["fastapi==0.165.0", "gunicorn>=22", "uvicorn==0.54.0", "uvicorn-worker==0.4.0"]
