import dramatiq


@dramatiq.actor
def notify(n):
    return n
