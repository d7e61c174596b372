"""Checkout: the orchestration from a cart to a paid order."""
