"""What clusters of code are about: their vocabulary, compared by TF-IDF cosine.

Concern-based architecture recovery (ARC, Garcia et al., ASE 2011) groups code by the words
it is written in. Here it is one signal beside the dependencies, used where they alone
decide poorly: when the service count forces whole capabilities together, the one a
capability joins should use it *and* speak of the same things (a wishlist and a cart both hold
``item``s with a ``quantity``; the checkout that uses both speaks of payments and addresses).

A word's weight in a cluster is ``(1 + log count) * log(clusters / clusters using it)``: a word
every cluster uses (``session``, ``get``) weighs nothing, a word two clusters share weighs most.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping


class Concerns:
    """The vocabulary of every cluster, kept up to date as clusters merge."""

    def __init__(
        self, members: Mapping[int, Iterable[str]], words: Mapping[str, Mapping[str, int]]
    ) -> None:
        """``members``: cluster -> its units; ``words``: unit -> word counts (units without
        words, split symbols for one, add nothing)."""
        self.words: dict[int, Counter[str]] = {}
        for lab in sorted(members):
            counts: Counter[str] = Counter()
            for u in members[lab]:
                counts.update(words.get(u, {}))
            self.words[lab] = counts
        self.df: Counter[str] = Counter(w for c in self.words.values() for w in c)

    def merge(self, lab: int, into: int) -> None:
        """Cluster ``lab`` joined ``into`` (either may be one the vocabulary has not seen: a
        cluster of tables alone has no words)."""
        gone, kept = self.words.pop(lab, Counter()), self.words.setdefault(into, Counter())
        for w in gone:
            if w in kept:
                self.df[w] -= 1
        kept.update(gone)

    def _weights(self, lab: int) -> dict[str, float]:
        n = len(self.words)
        return {
            w: (1 + math.log(c)) * math.log(n / self.df[w])
            for w, c in self.words.get(lab, {}).items()
            if self.df[w] < n
        }

    def similarity(self, a: int, b: int) -> float:
        """Cosine of the two clusters' TF-IDF vectors: 0 (no word in common) to 1."""
        return self.similarities(a, [b])[b]

    def similarities(self, a: int, others: Iterable[int]) -> dict[int, float]:
        """``similarity(a, b)`` for every ``b`` of ``others``, ``a``'s vector weighed once."""
        wa = self._weights(a)
        na = math.sqrt(sum(x * x for x in wa.values()))
        out = {}
        for b in others:
            wb = self._weights(b)
            dot = sum(x * wb[w] for w, x in wa.items() if w in wb)
            out[b] = dot / (na * math.sqrt(sum(x * x for x in wb.values()))) if dot else 0.0
        return out

    def shared(self, a: int, b: int, n: int = 4) -> list[str]:
        """The ``n`` words that bring the two clusters closest, for explanations."""
        wa, wb = self._weights(a), self._weights(b)
        both = sorted((-(wa[w] * wb[w]), w) for w in wa if w in wb)
        return [w for _, w in both[:n]]
