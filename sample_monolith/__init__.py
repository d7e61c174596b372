"""Peach State Provisions: the online shop of an Atlanta grocer selling Georgia goods.

Run it with ``python -m sample_monolith``; build it in code with
``sample_monolith.app.create_app()``.
"""

__version__ = "4.12.0"
