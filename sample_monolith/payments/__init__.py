"""Payments: card charges through a provider interface, idempotency keys, refunds."""
