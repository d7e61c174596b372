"""Accounts: registration, password hashing, sign-in sessions and address books."""
