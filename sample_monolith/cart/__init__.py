"""Cart: guest carts (by token) and customer carts, merged when a guest signs in."""
