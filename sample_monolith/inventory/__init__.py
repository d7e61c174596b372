"""Inventory: stock per warehouse and reservations that hold stock during checkout."""
