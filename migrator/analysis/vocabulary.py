"""The words a module is written in: its identifiers, comments and strings.

Code of one business capability speaks of the same things (``item``, ``quantity``, ``saved``)
even where no import joins it; concern-based recovery methods (ARC, Garcia et
al., ASE 2011) cluster by that vocabulary. The proposal weighs it beside the dependencies when
it has to merge capabilities into team-sized services.

Words are lowercase and singular, split at underscores and case changes; Python's keywords and
builtins, two-letter words and digits are left out, and so is a word the module uses once (a
stray mention says little, and the graph stays small).
"""

from __future__ import annotations

import builtins
import keyword
import re
from collections import Counter

from migrator.util.names import singular, words

_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: words of the language and of English that say nothing about a capability
STOP = frozenset(
    {w.lower() for w in keyword.kwlist}
    | {w.lower() for w in dir(builtins)}
    | set(
        """
        self cls the and for from with this that not are can will none true false you your
        any but has have was were when then than into its our out use used using also
        """.split()
    )
)


def vocabulary(text: str) -> dict[str, int]:
    """Word -> count for every word ``text`` uses at least twice, in alphabetical order."""
    counts: Counter[str] = Counter()
    for token, n in Counter(_TOKEN.findall(text)).items():  # each spelling split once
        if token in STOP:
            continue
        for w in words(token):
            if len(w) > 2 and w.isalpha():
                w = singular(w)
                if w not in STOP:
                    counts[w] += n
    return {w: n for w, n in sorted(counts.items()) if n >= 2}
