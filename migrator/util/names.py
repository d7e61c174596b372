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
