from blinker import signal

from hub import signals


def checkout():
    signals.order_placed.send("shop")


def join():
    signals.user_joined.send(None)


def invite():
    signal("user-joined").send(None)


def noise(mail):
    mail.send("x")
    signals.django_style.send(None)
