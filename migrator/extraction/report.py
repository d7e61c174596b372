"""The extraction report (EXTRACTION.md, also a section of MIGRATION.md): what was converted,
what was left for people and with which suggested data-transfer shape, and the data coupling
that the per-service databases expose.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from migrator.extraction.extract import Extraction


#: per kind of data coupling, the change a person should make
FIXES = {
    "model": "read it from {owner}: add a function returning the columns used here (plain "
    "data) to {owner}'s interface and call it",
    "model-class": "Django builds this class from {owner}'s model itself (a ModelForm's "
    "fields and save, a view's queryset and lookups), which a read model is not: move the "
    "class to {owner} with its model, or make it a plain form or view that calls {owner}'s "
    "interface",
    "table": "the table is in {owner}'s database now: replace the query by a call to a "
    "function of {owner}'s interface",
    "foreign-key": "keep the key as a plain column (no database constraint across services); "
    "fetch the row from {owner} by that key when needed",
    "relationship": "replace the relationship by a call to {owner} with the key",
    "import": "move the symbol to the shared kernel, or reach it through {owner}'s interface",
}


#: how a person runs one extracted service from its folder (Django's ``wsgi`` has ``app`` too)
RUN = {
    "flask": "gunicorn --chdir src interservice.wsgi:app",
    "fastapi": "uvicorn --app-dir src interservice.asgi:app",
}


def markdown(ex: Extraction) -> str:
    total = len(ex.calls)
    lines = ["## Code extraction", ""]
    lines.append(
        f"Cross-service calls converted to HTTP automatically: **{ex.converted} of "
        f"{total}** ({ex.fraction:.0%})."
    )
    lines.append(
        f"Cross-service uses (calls plus references to another service's models, "
        f"tables and symbols) that the moved code reaches only through a generated "
        f"client or read model: **{ex.converted_uses} of {ex.uses}** "
        f"({ex.uses_fraction:.0%})."
    )
    frameworks = [str(svc.get("framework")) for svc in ex.services.values()]
    run = RUN.get(frameworks[0] if frameworks else "flask", RUN["flask"])  # one framework
    lines += [
        "",
        f"Each service's code is in `services/<name>/src/` (run it with `{run}`), the shared "
        "kernel library in `shared_kernel/`. Each service reads its own database from "
        "`DATABASE_URL`.",
        "",
        "Transactions that now span services are sagas completed forward: a Flask, FastAPI "
        "or Django service keeps each state-changing request in `interservice_outbox` (its "
        "own database) until it answers below 500, and its relay runs a failed one again; "
        "its calls carry idempotency keys derived from the saga, and the owner answers a "
        "repeated key from `interservice_answers`, written with what the call changed, so "
        "nothing is applied twice.",
        "",
        "What a customer is told: a request that fails before it calls another service "
        "answers its own 5xx and is never run again (nothing was done; retry it). A request "
        "that fails after it called another service is completed by the relay, so it "
        "answers `202 Accepted` with `{saga, status_url}` (and `Location`), not a 5xx; "
        "`GET <path>?interservice_saga=<id>` answers `pending`, `given_up`, or `done` with "
        "the status and body of the run that completed it. Clients that saw 202 poll that "
        "URL instead of retrying.",
        "",
        "Business errors are compensated as the monolith's transaction would have been: an "
        "owner keeps the undo of what each saga call wrote through its ORM "
        "(`interservice_undo`), and when the caller rolls back (or answers a 4xx before "
        "committing), it asks the owners (`POST /internal/_saga/compensate`) to undo the "
        "calls that rollback would have undone, never those it or the owner's function "
        "committed. The customer gets the business error. Not covered: writes outside the "
        "ORM, and calls an owner makes in turn (see the extraction docs).",
        "",
    ]
    done = [c for c in ex.calls if c.converted]
    left = [c for c in ex.calls if not c.converted]
    if done:
        lines += [
            "### Converted calls",
            "",
            "| caller | where | calls | owner |",
            "|---|---|---|---|",
        ]
        for c in done:
            how = f" ({c.reason})" if c.reason else ""
            lines.append(f"| {c.caller} | `{c.file}:{c.line}` | `{c.callee}`{how} | {c.target} |")
        lines.append("")
    if left:
        lines += [
            "### Calls left for a person",
            "",
            "These still call the other service's code directly; in the extracted service "
            "the name is a stand-in that raises `NotExtractedError`. Send plain data "
            "instead (suggested shapes below), add the function to the owner's interface, "
            "and re-run.",
            "",
        ]
        for c in left:
            lines.append(
                f"- `{c.file}:{c.line}` ({c.caller} -> {c.target}): `{c.callee}`: {c.reason}"
            )
            if c.suggestion:
                lines += [
                    "",
                    "  ```python",
                    *("  " + s for s in c.suggestion.splitlines()),
                    "  ```",
                    "",
                ]
        lines.append("")
    reads = [d for d in ex.couplings if d.converted]
    if reads:
        lines += [
            "### Reads through generated read models",
            "",
            "These read another service's model with keyword filters (or only name it in "
            "a type hint, kind `annotation`); the caller's `interservice` client has a read "
            "model of the same name that asks the owner (`POST /internal/_read.<Model>`) and "
            "gets copies of its rows' columns. Writes counted here (a row made and added to a "
            "session, a column set on a copy, a query's `update`/`delete`, a method of the "
            "model's own code that writes its rows) are sent to the owner at once, each with "
            "an idempotency key (docs/extraction-frameworks.md, SQLAlchemy writes).",
            "",
            "| service | where | reads | owner |",
            "|---|---|---|---|",
        ]
        lines += [f"| {d.service} | `{d.file}:{d.line}` | `{d.uses}` | {d.owner} |" for d in reads]
        lines.append("")
    couplings = [d for d in ex.couplings if not d.converted]
    if couplings:
        lines += [
            "### Data coupling to resolve",
            "",
            "Each service has its own database, so these uses of another service's "
            "tables or models no longer work and must become calls or copies of the data:",
            "",
            "| service | where | uses | owner | kind | change to make |",
            "|---|---|---|---|---|---|",
        ]
        for d in couplings:
            fix = FIXES.get(d.kind, "").format(owner=d.owner)
            if d.why and not d.converted:
                fix = f"{d.why}; or {fix}"
            lines.append(
                f"| {d.service} | `{d.file}:{d.line}` | `{d.uses}` | {d.owner} | {d.kind} | {fix} |"
            )
        lines.append("")
    if ex.notes:
        lines += ["### Notes", ""] + [f"- {n}" for n in ex.notes] + [""]
    return "\n".join(lines)
