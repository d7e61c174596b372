"""Shipping: zones, rates by weight, shipments and tracking numbers."""
