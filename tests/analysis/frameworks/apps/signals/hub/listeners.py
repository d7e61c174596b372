from blinker import signal

from hub.signals import django_style, order_placed


@order_placed.connect
def email_receipt(sender, **extra):
    return sender


@order_placed.connect_via("shop")
def restock(sender, **extra):
    return sender


def greet(sender):
    return sender


def audit(sender):
    return sender


class Pool:
    def connect(self, func):
        return func


pool = Pool()
signal("user-joined").connect(greet)
pool.connect(audit)
django_style.connect(audit)
