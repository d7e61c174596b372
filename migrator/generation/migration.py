"""Facts for MIGRATION.md: coupling between planned services, extraction order and risks."""

from __future__ import annotations

from dataclasses import dataclass, field

from migrator.graph import module_of
from migrator.plan import SHARED

from .model import Project

#: checkov findings that the generated artefacts keep on purpose, with the reason (checkov 3.3
#: reports exactly these on the manifests and nothing on the Dockerfiles:
#: tests/generation/test_checkov.py)
KNOWN_CHECKOV_FINDINGS = [
    (
        "CKV_K8S_43",
        "Image should use digest",
        "images are built from this output, so no digest exists yet; pin digests in the prod "
        "overlay (`images: digest:`) once your registry has them",
    ),
    (
        "CKV_K8S_35",
        "Prefer using secrets as files over secrets as environment variables",
        "the services read DATABASE_URL / DATABASE_READ_URL from the environment (twelve-factor); "
        "the values come from a Secret and never appear in a manifest",
    ),
]


@dataclass
class ServiceCoupling:
    name: str
    efferent: int = 0  # edges from this service's code into other services
    afferent: int = 0  # edges from other services into this one
    data: list[str] = field(default_factory=list)  # "reads table t (owned by s)" ...
    outgoing: dict[str, int] = field(default_factory=dict)
    incoming: dict[str, int] = field(default_factory=dict)
    risks: list[str] = field(default_factory=list)

    @property
    def score(self) -> int:
        return self.efferent + self.afferent + 5 * len(self.data)


def coupling(project: Project) -> list[ServiceCoupling]:
    """Per service coupling, least coupled first (the extraction order)."""
    plan, graph = project.plan, project.graph
    assignment = plan.assignment()
    label = {
        raw: spec.name for raw, spec in zip(sorted(plan.services), project.services, strict=True)
    }

    def owner(node: str) -> str | None:
        who = assignment.get(node) or assignment.get(module_of(node))
        if who is None or who == SHARED:
            return None
        return label.get(who)

    out = {s.name: ServiceCoupling(s.name) for s in project.services}
    for source, target, data in graph.edges():
        a, b = owner(source), owner(target)
        if a and b and a != b:
            n = int(data.get("count", 1))
            out[a].efferent += n
            out[b].afferent += n
            out[a].outgoing[b] = out[a].outgoing.get(b, 0) + n
            out[b].incoming[a] = out[b].incoming.get(a, 0) + n
    table_owner = {t: s.name for s in project.services for t in s.tables}
    for table in graph.tables.values():
        t_owner = table_owner.get(table.name)
        for verb, nodes in (("reads", table.readers), ("writes", table.writers)):
            for svc in sorted({o for o in (owner(n) for n in nodes) if o}):
                if svc == t_owner:
                    continue
                whose = f"owned by {t_owner}" if t_owner else "owned by no service"
                out[svc].data.append(f"{verb} table {_code(table.name)} ({whose})")
                if t_owner and verb == "writes":
                    out[t_owner].risks.append(
                        f"`{svc}` writes its table {_code(table.name)}: route those writes through "
                        f"this service's API before splitting the database"
                    )
        for ref in table.foreign_keys:  # a foreign key into another service's database
            r_owner = table_owner.get(ref)
            if t_owner and r_owner != t_owner:
                whose = f"owned by {r_owner}" if r_owner else "owned by no service"
                out[t_owner].data.append(
                    f"foreign key from {_code(table.name)} to "
                    f"{_code(ref)} ({whose}): cut when the databases split"
                )
    for spec in project.services:
        c = out[spec.name]
        c.data = sorted(set(c.data))
        for dep in spec.depends_on:
            if spec.name in project.service(dep).depends_on:
                c.risks.append(
                    f"mutual dependency with `{dep}`: extract them together or break "
                    "the cycle with an event or a new interface"
                )
        if len(spec.dependents) >= 3:
            c.risks.append(f"{len(spec.dependents)} services call it: version its interface")
        for note in spec.unroutable:
            c.risks.append(f"route not stubbed: {note}")
        for services, note in project.routing_notes:
            if spec.name in services:
                c.risks.append(f"routing: {note}")
        for dist in spec.rejected_requirements:
            c.risks.append(
                f"dependency name {dist!r} is not a valid distribution name; "
                "add it to requirements.txt by hand"
            )
        if any(d.startswith("writes") for d in c.data):
            c.risks.append(
                "writes tables it does not own: the split needs an API or an event "
                "for each such write"
            )
        c.risks = sorted(set(c.risks))
    return sorted(out.values(), key=lambda c: (c.score, c.name))


def _code(name: str) -> str:
    """Inline Markdown code for a name from user code."""
    text = " ".join(name.split()).replace("`", "'").replace("|", "\\|")
    return f"`{text}`"
