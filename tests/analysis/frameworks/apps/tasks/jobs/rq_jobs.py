from rq.decorators import job


@job("default")
def resize():
    return None


def crunch():
    return None


def report():
    return None


def schedule(queue):
    queue.enqueue(crunch)
    queue.enqueue("jobs.rq_jobs.report")
