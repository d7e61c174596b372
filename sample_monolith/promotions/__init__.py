"""Promotions: coupon codes with percentage, fixed and free-shipping discounts."""
