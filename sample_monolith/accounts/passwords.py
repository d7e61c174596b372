"""PBKDF2 password hashes in the ``pbkdf2_sha256$iterations$salt$hash`` format.

The iteration count is stored with each hash, so raising it for new passwords never locks out
old ones; ``needs_rehash`` upgrades them at the next sign-in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

ALGORITHM = "pbkdf2_sha256"
MIN_PASSWORD_LENGTH = 8
COMMON_PASSWORDS = frozenset({"password", "password1", "12345678", "123456789", "qwertyui",
                              "peachstate", "atlanta1", "iloveyou", "letmein1"})


def hash_password(password: str, iterations: int) -> str:
    salt = secrets.token_hex(12)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt.encode("ascii"),
                                 iterations)
    return f"{ALGORITHM}${iterations}${salt}${base64.b64encode(digest).decode('ascii')}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        algorithm, iterations, salt, expected = encoded.split("$", 3)
    except ValueError:
        return False
    if algorithm != ALGORITHM:
        return False
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt.encode("ascii"),
                                 int(iterations))
    return hmac.compare_digest(base64.b64encode(digest).decode("ascii"), expected)


def needs_rehash(encoded: str, iterations: int) -> bool:
    parts = encoded.split("$")
    return len(parts) != 4 or parts[0] != ALGORITHM or int(parts[1]) < iterations


def password_problems(password: str, email: str = "") -> list[str]:
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"must be at least {MIN_PASSWORD_LENGTH} characters")
    if password.lower() in COMMON_PASSWORDS:
        problems.append("is too common")
    if email and password.lower() == email.split("@")[0].lower():
        problems.append("must not be your e-mail name")
    return problems
