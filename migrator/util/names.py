"""Turn names that come from user code into names that are safe in YAML, paths and images."""

from __future__ import annotations

import re
import unicodedata

_DNS_BAD = re.compile(r"[^a-z0-9-]+")


def dns_label(name: str, fallback: str = "svc") -> str:
    """A valid DNS-1123 label (lowercase alphanumerics and '-', at most 63, alnum at both ends).

    Unicode is folded to ASCII where possible; everything else becomes '-'. ``../x`` becomes
    ``x``, so a sanitised name can never climb out of a directory.
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    label = _DNS_BAD.sub("-", ascii_name.lower().replace("_", "-")).strip("-")
    label = re.sub(r"-{2,}", "-", label)[:63].strip("-")
    return label or fallback


def python_identifier(name: str, fallback: str = "svc") -> str:
    """A valid Python identifier (for package names of generated services)."""
    ident = re.sub(r"\W+", "_", dns_label(name, fallback).replace("-", "_"))
    if ident[0].isdigit():
        ident = f"_{ident}"
    return ident


def words(name: str) -> list[str]:
    """Lowercase words of an identifier: ``cart_token_from_request`` and ``CartItem`` alike."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def singular(word: str) -> str:
    """English plural to singular, the common cases only (``categories``, ``boxes``,
    ``orders``; not ``status`` or ``address``): enough to match names across layers."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word
