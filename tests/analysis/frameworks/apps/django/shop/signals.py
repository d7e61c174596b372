from dbpool import ConnectionPool
from django.db.models.signals import post_delete
from django.dispatch import Signal
from registration.signals import user_activated

order_placed = Signal()


def on_order(sender, **kwargs):
    return None


def cleanup(sender, **kwargs):
    return None


def on_tags(sender, **kwargs):
    return None


order_placed.connect(on_order)
user_activated.connect(on_order)  # a Django app's signal
post_delete.connect(cleanup, sender="store.Product")


def on_pool_connect(conn):
    return None


pool = ConnectionPool()
pool.connect(on_pool_connect)  # not a signal: no entry point
