from celery import group
from fastapi import BackgroundTasks

from . import tasks
from .celery_app import app
from .dramatiq_jobs import notify
from .tasks import cleanup, not_a_task, send_email


def signup():
    send_email.delay()


def nightly():
    cleanup.apply_async(countdown=10)


def fan_out():
    group(tasks.retry_me.s(), send_email.si())()


def by_name():
    app.send_task("jobs.cleanup")
    app.send_task("jobs.unknown")


def ping():
    notify.send(1)


def synchronous():
    send_email()
    not_a_task.delay()
    write_log.delay()


def endpoint(background_tasks: BackgroundTasks):
    background_tasks.add_task(write_log, "signed up")


def write_log(message):
    return message
