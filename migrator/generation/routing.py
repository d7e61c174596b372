"""URL rules from user code, parsed once and re-emitted safely for each framework and proxy.

Route paths arrive in the monolith's own syntax (Flask ``/p/<int:id>``, FastAPI ``/p/{id}``,
Django ``p/<int:pk>/`` or a simple ``re_path`` regex). They are parsed into literal and
parameter segments; anything that does not parse into a safe shape (regex classes, quotes,
spaces, braces in literals ...) is reported as unroutable instead of being copied into a
Python file, an nginx config or an Ingress. The same routing table feeds the Ingress and the
nginx gateway so the two can never disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from migrator.util.names import python_identifier

#: characters allowed in the literal parts of a path (no quoting needed anywhere we write them)
#: (always ``fullmatch``: ``$`` would let a trailing newline through into nginx.conf)
_LITERAL = re.compile(r"[A-Za-z0-9._~/@:+,-]*")
_PARAM = re.compile(
    r"<(?:(?P<conv>[A-Za-z_][A-Za-z0-9_]*):)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)>"
    r"|\{(?P<bname>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<bconv>[A-Za-z_][A-Za-z0-9_]*))?\}"
    r"|\(\?P<(?P<rname>[A-Za-z_][A-Za-z0-9_]*)>(?P<rx>[^()]*)\)"
)
_CONVERTERS = {"int": "int", "float": "float", "path": "path", "uuid": "uuid", "slug": "slug"}
METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


class UnroutableError(ValueError):
    """A path that cannot be expressed safely; the route stays with the monolith."""


@dataclass(frozen=True, order=True)
class Segment:
    literal: str = ""
    param: str = ""  # parameter name (identifier) when this is a parameter
    conv: str = "str"  # str | int | float | path | uuid | slug


@dataclass(frozen=True, order=True)
class ParsedPath:
    segments: tuple[Segment, ...]

    @property
    def has_params(self) -> bool:
        return any(s.param for s in self.segments)

    def render(self, style: str) -> str:
        """The path in ``flask``, ``fastapi``, ``django`` or ``plain`` (display) syntax."""
        out = []
        for s in self.segments:
            if not s.param:
                out.append(s.literal)
            elif style == "flask":
                conv = {
                    "str": "",
                    "slug": "",
                    "int": "int:",
                    "float": "float:",
                    "path": "path:",
                    "uuid": "uuid:",
                }[s.conv]
                out.append(f"<{conv}{s.param}>")
            elif style == "fastapi":
                conv = {
                    "str": "",
                    "slug": "",
                    "int": ":int",
                    "float": ":float",
                    "path": ":path",
                    "uuid": ":uuid",
                }[s.conv]
                out.append(f"{{{s.param}{conv}}}")
            elif style == "django":
                conv = {
                    "str": "str",
                    "slug": "slug",
                    "int": "int",
                    "float": "str",
                    "path": "path",
                    "uuid": "uuid",
                }[s.conv]
                out.append(f"<{conv}:{s.param}>")
            else:
                out.append(f"{{{s.param}}}")
        text = "".join(out)
        if style == "django":
            return text.lstrip("/")
        return text

    def example(self) -> str:
        """A concrete URL that this path matches (for generated tests)."""
        values = {
            "int": "1",
            "float": "1.5",
            "path": "a/b",
            "slug": "a-slug",
            "str": "x",
            "uuid": "12345678-1234-5678-1234-567812345678",
        }
        return "".join(s.literal if not s.param else values[s.conv] for s in self.segments)

    def static_prefix(self) -> str:
        """The literal part before the first parameter, cut back to a whole path segment."""
        if not self.has_params:
            return self.render("plain")
        head = ""
        for s in self.segments:
            if s.param:
                break
            head += s.literal
        cut = head.rfind("/")
        return head[:cut] if cut > 0 else "/"


def parse_path(raw: str) -> ParsedPath:
    """Parse a route path in any supported syntax; raise ``UnroutableError`` if unsafe."""
    text = raw.strip()
    if text.startswith("^"):
        text = text[1:]
    if text.endswith("$"):
        text = text[:-1]
    if not text:  # "" would route the site root ("/") away from the monolith
        raise UnroutableError(f"{raw!r}: empty path")
    if not text.startswith("/"):
        text = "/" + text
    segments: list[Segment] = []
    pos = 0
    seen: set[str] = set()
    for m in _PARAM.finditer(text):
        literal = text[pos : m.start()]
        if literal:
            segments.append(_literal(literal, raw))
        name = m.group("name") or m.group("bname") or m.group("rname")
        conv = (m.group("conv") or m.group("bconv") or "").lower()
        if m.group("rname"):
            conv = "int" if m.group("rx") in (r"\d+", "[0-9]+") else "str"
        ident = python_identifier(name, "param")
        if ident in seen:
            raise UnroutableError(f"{raw!r}: parameter {name!r} appears twice")
        seen.add(ident)
        segments.append(Segment(param=ident, conv=_CONVERTERS.get(conv, "str")))
        pos = m.end()
    if pos < len(text):
        segments.append(_literal(text[pos:], raw))
    return ParsedPath(tuple(segments))


def _literal(text: str, raw: str) -> Segment:
    if not _LITERAL.fullmatch(text) or "//" in text or "/../" in f"{text}/" or "/./" in f"{text}/":
        raise UnroutableError(f"{raw!r}: unsupported characters or pattern in the path")
    return Segment(literal=text)


@dataclass(frozen=True, order=True)
class RouteRule:
    """One entry of the shared routing table: Ingress path + nginx location."""

    path: str
    path_type: str  # "Exact" | "Prefix"
    service: str


def routing_table(
    owned: dict[str, list[ParsedPath]],
    static_path: str = "/static",
) -> tuple[list[RouteRule], list[tuple[tuple[str, ...], str]]]:
    """Rules routing each path prefix to its owning service, plus notes on conflicts.

    Paths without parameters route exactly; parametrised paths route by their static prefix.
    A prefix of ``/`` would swallow the monolith, so such routes stay with it (noted). When
    two services claim the same rule, the one with more routes under it wins (then by name).
    """
    claims: dict[tuple[str, str], dict[str, int]] = {}
    notes: list[tuple[tuple[str, ...], str]] = []
    for service in sorted(owned):
        for parsed in sorted(set(owned[service])):
            if parsed.has_params:
                prefix = parsed.static_prefix()
                if prefix == "/":
                    notes.append(
                        (
                            (service,),
                            f"{parsed.render('plain')}: no static prefix, "
                            "stays behind the monolith's catch-all route",
                        )
                    )
                    continue
                key = (prefix, "Prefix")
            else:
                key = (parsed.render("plain"), "Exact")
            if key[0] == static_path or key[0].startswith(static_path + "/"):
                notes.append(
                    (
                        (service,),
                        f"{parsed.render('plain')}: inside the static assets "
                        f"path {static_path}, stays with the monolith",
                    )
                )
                continue
            claims.setdefault(key, {}).setdefault(service, 0)
            claims[key][service] += 1
    rules: list[RouteRule] = []
    for (path, path_type), by_service in sorted(claims.items()):
        winner = sorted(by_service.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        if len(by_service) > 1:
            losers = ", ".join(s for s in sorted(by_service) if s != winner)
            notes.append(
                (
                    tuple(sorted(by_service)),
                    f"{path_type} {path}: claimed by {', '.join(sorted(by_service))}; "
                    f"routed to {winner}, {losers} must be reached by a more specific path",
                )
            )
        rules.append(RouteRule(path=path, path_type=path_type, service=winner))
    prefixes = {(r.path, r.service) for r in rules if r.path_type == "Prefix"}
    # an exact rule that the same service's prefix rule already covers is redundant
    rules = [r for r in rules if not (r.path_type == "Exact" and (r.path, r.service) in prefixes)]
    return rules, notes
