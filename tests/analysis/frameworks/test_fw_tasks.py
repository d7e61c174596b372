"""Tasks plug-in: Celery/RQ tasks and click/typer/Flask/Django commands as entry points."""

from __future__ import annotations

import pytest
from fwhelp import app_graph, edges, mini_graph, parse

from migrator.analysis.frameworks.tasks import TasksPlugin

PLUGIN = TasksPlugin()

EXPECTED = {
    ("task", "jobs.tasks.send_email", "jobs.tasks:send_email"),  # @shared_task
    ("task", "jobs.cleanup", "jobs.tasks:cleanup"),  # @app.task(name=...) on a Celery app
    ("task", "jobs.tasks.retry_me", "jobs.tasks:retry_me"),  # @app.task(bind=True)
    ("task", "jobs.rq_jobs.resize", "jobs.rq_jobs:resize"),  # rq @job("default")
    ("task", "jobs.rq_jobs.crunch", "jobs.rq_jobs:crunch"),  # queue.enqueue(crunch)
    ("task", "jobs.rq_jobs.report", "jobs.rq_jobs:report"),  # queue.enqueue("dotted.path")
    ("task", "jobs.dramatiq_jobs.notify", "jobs.dramatiq_jobs:notify"),  # @dramatiq.actor
    ("cli", "cli", "jobs.cli:cli"),  # @click.group()
    ("cli", "sync-all", "jobs.cli:sync_all"),  # @cli.command() on that group
    ("cli", "export-data", "jobs.cli:export"),  # @click.command("export-data")
    ("cli", "hello", "jobs.cli:hello"),  # typer app
    ("cli", "seed", "jobs.web:seed"),  # @app.cli.command("seed")
    ("cli", "rebuild", "jobs.management.commands.rebuild:Command"),  # Django command
}


def test_collect_decorators_and_enqueue() -> None:
    data = PLUGIN.collect(
        parse("""
        @shared_task(name="x.y")
        def a(): ...

        @huey.periodic_task(crontab())
        def b(): ...

        @click.command()
        def do_it(): ...

        def c(q):
            q.enqueue_in(timedelta(1), a)
            q.enqueue_call(func="pkg.mod.f")
    """),
        "m",
        "m.py",
    )
    got = [
        (i["what"], i.get("func") or i.get("target"), i.get("name"), i["line"])
        for i in data["items"]
    ]
    assert got == [
        ("task", "a", "x.y", 1),
        ("task", "b", None, 4),
        ("cli", "do_it", None, 7),
        ("enqueue", "a", None, 11),
        ("enqueue", "pkg.mod.f", None, 12),
    ]


def test_collect_management_command_only_in_commands_package() -> None:
    src = "class Command(BaseCommand):\n    pass\n"
    assert (
        PLUGIN.collect(parse(src), "app.management.commands.sync", "f.py")["items"][0]["name"]
        == "sync"
    )
    assert PLUGIN.collect(parse(src), "app.views", "f.py") is None


@pytest.fixture(params=["fake-resolver", "analyze"])
def graph(request):
    return app_graph(request, "tasks")


def test_task_and_cli_entry_points(graph) -> None:
    got = {(e.kind, e.name, e.handler) for e in graph.entry_points}
    assert got == EXPECTED  # @cache.task on a non-Celery object is not a task


def test_enqueue_by_string_is_a_dynamic_edge(graph) -> None:
    assert ("jobs.rq_jobs:schedule", "jobs.rq_jobs:report") in edges(graph, "dynamic")


def test_handing_work_to_a_queue_is_an_async_edge(graph) -> None:
    assert edges(graph, "async") == {
        ("jobs.callers:signup", "jobs.tasks:send_email"),  # .delay()
        ("jobs.callers:nightly", "jobs.tasks:cleanup"),  # .apply_async()
        ("jobs.callers:fan_out", "jobs.tasks:retry_me"),  # tasks.retry_me.s() in a group
        ("jobs.callers:fan_out", "jobs.tasks:send_email"),  # .si()
        ("jobs.callers:by_name", "jobs.tasks:cleanup"),  # send_task by the task's name=
        ("jobs.callers:ping", "jobs.dramatiq_jobs:notify"),  # dramatiq actor.send()
        ("jobs.callers:endpoint", "jobs.callers:write_log"),  # BackgroundTasks.add_task
        ("jobs.rq_jobs:schedule", "jobs.rq_jobs:crunch"),  # enqueue(func)
        ("jobs.rq_jobs:schedule", "jobs.rq_jobs:report"),  # enqueue("dotted.path")
    }  # not: a plain call, .delay() on a non-task, send_task of an unknown name


def test_collect_handover_calls() -> None:
    data = PLUGIN.collect(
        parse("""
        def f(bg):
            mail.send(msg)
            celery.send_task("a.b", args=[1])
            bg.add_task(func=g)
            x.delay
    """),
        "m",
        "m.py",
    )
    assert [
        (i["what"], i.get("target") or i.get("name"), i["via"], i["line"]) for i in data["items"]
    ] == [
        ("async", "mail", "send", 2),
        ("async", "a.b", "send_task", 3),
        ("async", "g", "add_task", 4),
    ]


def test_entry_points_point_at_definitions(graph) -> None:
    by_handler = {e.handler: (e.file, e.line) for e in graph.entry_points}
    assert by_handler["jobs.rq_jobs:crunch"] == ("jobs/rq_jobs.py", 9)
    assert by_handler["jobs.tasks:cleanup"] == ("jobs/tasks.py", 19)


def test_add_task_with_a_method_target_is_an_async_edge_to_its_class() -> None:
    """``add_task(svc.method)`` on a local typed by an annotation or made by ``Service()``,
    and ``add_task(self.method)`` inherited from a base: the class defining the method (methods
    are not graph nodes); ``self.method`` of the caller's own class is no edge (one node)."""
    g = mini_graph(
        {
            "app/__init__.py": "",
            "app/mail.py": """
            class Mailer:
                def send(self, to): ...


            class Notifier:
                def notify(self): ...
        """,
            "app/base.py": """
            class Auditing:
                def audit(self, what): ...
        """,
            "app/views.py": """
            from fastapi import BackgroundTasks

            from app.base import Auditing
            from app.mail import Mailer, Notifier


            def signup(background_tasks: BackgroundTasks, mailer: Mailer):
                background_tasks.add_task(mailer.send, "a@b")


            def ping(background_tasks: BackgroundTasks):
                notifier = Notifier()
                background_tasks.add_task(notifier.notify)


            class Orders(Auditing):
                def place(self, background_tasks: BackgroundTasks):
                    background_tasks.add_task(self.audit, "placed")
                    background_tasks.add_task(self.log)

                def log(self): ...


            def unknown(background_tasks: BackgroundTasks, thing):
                background_tasks.add_task(thing.run)
        """,
        }
    )
    assert edges(g, "async") == {
        ("app.views:signup", "app.mail:Mailer"),
        ("app.views:ping", "app.mail:Notifier"),
        ("app.views:Orders", "app.base:Auditing"),
    }
