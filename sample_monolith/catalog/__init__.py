"""Catalog: categories, products, prices and search."""
