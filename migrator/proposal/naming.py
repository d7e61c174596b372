"""Business names for services, taken from the code's own vocabulary.

Candidates, each with a score: the domain packages of the service's units (the strongest
signal: the authors named them), the first segment of the routes it serves, the tables it owns,
and the classes it carries. Layer words (views, models, utils ...) never name a service. Names
are DNS-1123 labels and unique: the biggest service chooses first; a clash falls back to the
next candidate, then to a numbered name.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from typing import TypeVar

from migrator.plan import reserved_names
from migrator.util.names import dns_label, singular, words

#: a cluster id: the engine numbers clusters, callers may name them
K = TypeVar("K", int, str)

GENERIC = {""} | set(
    """
    api app apps application base common core db database default helpers init lib main
    misc model models module modules routes schemas serializers service services shared
    site src static templates tests urls util utils v1 v2 view views web www forms tasks
    signals admin_site manage settings wsgi asgi config configs conf fixtures exceptions
    extensions constants mixins decorators templatetag templatetags cli commands migrations
    dep deps viewset viewsets
    deprecation compat fix fixes generic abstract
    """.split()
)


STOP = set(
    """
    the for from with and get set new all by to of in on id ids page pages list item
    items data info
    """.split()
)


def stems(name: str) -> set[str]:
    """Singular content words of a name, the unit of vocabulary matching."""
    return {singular(w) for w in words(name) if len(w) > 2 and w not in STOP}


def _camel_words(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def candidates(
    domains: Iterable[tuple[str, int]],
    routes: Iterable[str],
    tables: Iterable[str],
    classes: Iterable[str],
    roots: set[str],
) -> dict[str, float]:
    """Scored name candidates for one service (see module docstring)."""
    score: dict[str, float] = defaultdict(float)
    for domain, weight in domains:
        last = domain.rsplit(".", 1)[-1]
        if domain not in roots:  # a business concept: its word was vetted as one
            score[last.lower()] += 3 * weight
    for seg in routes:
        if seg and seg not in GENERIC and seg not in STOP:
            score[seg] += 2
    for t in tables:
        if t.lower() not in GENERIC:
            score[t.lower()] += 1.5
    for cls in classes:
        word = _camel_words(cls)
        if word not in GENERIC:
            score[word] += 1
    return score


def assign_names(
    scores: dict[K, dict[str, float]], sizes: dict[K, int], taken: Iterable[str] = ()
) -> dict[K, str]:
    """Cluster id -> unique DNS label; the larger cluster picks first. A word already taken
    in another number is taken too: ``group`` and ``groups`` would read as one service."""
    used = set(taken) | reserved_names({})  # never a name compose gives another container
    said = {_spoken(n) for n in used}
    out: dict[K, str] = {}
    for cid in sorted(scores, key=lambda c: (-sizes.get(c, 0), c)):
        ranked = sorted(scores[cid].items(), key=lambda kv: (-kv[1], kv[0]))
        name = None
        for word, _ in ranked:
            label = dns_label(word, fallback="")
            if label and _spoken(label) not in said and label != "shared-kernel":
                name = label
                break
        if name is None:
            base = (dns_label(ranked[0][0], fallback="service") if ranked else "service")[:56]
            name, i = base, 2
            while name in used or name == "shared-kernel":
                name, i = f"{base}-{i}", i + 1
        used.add(name)
        said.add(_spoken(name))
        out[cid] = name
    return out


def _spoken(label: str) -> str:
    return "-".join(singular(w) for w in label.split("-"))
