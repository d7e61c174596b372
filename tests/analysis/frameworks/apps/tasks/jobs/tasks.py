from celery import shared_task

from .celery_app import app


class Cache:
    def task(self, f):
        return f


cache = Cache()


@shared_task
def send_email():
    return None


@app.task(name="jobs.cleanup")
def cleanup():
    return None


@app.task(bind=True)
def retry_me(self):
    return None


@cache.task
def not_a_task():
    return None
