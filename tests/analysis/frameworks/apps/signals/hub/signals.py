from blinker import Namespace, signal
from django.dispatch import Signal

ns = Namespace()
order_placed = ns.signal("order-placed")
user_joined = signal("user-joined")
django_style = Signal()
