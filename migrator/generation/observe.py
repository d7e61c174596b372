"""What watches a cutover: per service a PrometheusRule (multi-window burn-rate alerts on the
error-rate and latency objectives) and a Grafana dashboard, plus one overview dashboard of the
traffic per service and cutover state; all from the RED metrics the generated services export
(``observability.py``), and all under ``--with prometheus-operator``.

The burn rates are the Site Reliability Workbook's: a 2% budget spend in an hour pages (14.4x
over 1h, confirmed over 5m), 5% in six hours pages (6x over 6h / 30m), 10% in three days opens
a ticket (1x over 3d / 6h). The short window stops an alert soon after the burn stops.
"""

from __future__ import annotations

import json
from typing import Any

from .k8s import meta
from .model import Project, ServiceSpec

Obj = dict[str, Any]
#: the metric names every generated service exports (the tests read them from /metrics)
REQUESTS = "http_requests_total"
ERRORS = "http_request_errors_total"
LATENCY = "http_request_duration_seconds"
CALLS = "internal_calls_total"
CALL_ERRORS = "internal_call_errors_total"
CALL_LATENCY = "internal_call_duration_seconds"
#: share of requests answered without a 5xx
AVAILABILITY_OBJECTIVE = 0.999
#: share of requests answered within LATENCY_THRESHOLD seconds (a histogram bucket bound)
LATENCY_OBJECTIVE = 0.99
LATENCY_THRESHOLD = "0.5"
#: (long window, short window, burn rate, severity, for)
BURN_WINDOWS = (
    ("1h", "5m", 14.4, "critical", "2m"),
    ("6h", "30m", 6.0, "critical", "15m"),
    ("3d", "6h", 1.0, "warning", "1h"),
)
#: probes and scrapes are not what users see
NOT_USER_ROUTES = 'route!~"/healthz|/readyz|/metrics"'
GRAFANA_SCHEMA_VERSION = 39
#: kube-prometheus-stack's Grafana sidecar loads ConfigMaps with this label
DASHBOARD_LABEL = "grafana_dashboard"


def _sel(svc: str, *extra: str) -> str:
    return "{" + ",".join([f'service="{svc}"', NOT_USER_ROUTES, *extra]) + "}"


def error_ratio(svc: str, window: str) -> str:
    """Share of the service's user requests answered with a 5xx, per cutover state."""
    return (
        f"sum by (cutover) (rate({ERRORS}{_sel(svc)}[{window}]))"
        f" / sum by (cutover) (rate({REQUESTS}{_sel(svc)}[{window}]))"
    )


def slow_ratio(svc: str, window: str) -> str:
    """Share of the service's user requests slower than the latency threshold."""
    bucket = _sel(svc, f'le="{LATENCY_THRESHOLD}"')
    fast = f"sum by (cutover) (rate({LATENCY}_bucket{bucket}[{window}]))"
    total = f"sum by (cutover) (rate({LATENCY}_count{_sel(svc)}[{window}]))"
    return f"1 - ({fast} / {total})"


def _alert(svc: ServiceSpec, kind: str, ratio, objective: float, what: str) -> list[Obj]:
    budget = round(1 - objective, 6)
    title = "".join(p.capitalize() for p in svc.name.split("-"))
    rules = []
    for long, short, burn, severity, wait in BURN_WINDOWS:
        threshold = f"({burn} * {budget})"
        rules.append(
            {
                "alert": f"{title}{kind}BudgetBurn",
                "expr": f"({ratio(svc.name, long)}) > {threshold}\nand\n"
                f"({ratio(svc.name, short)}) > {threshold}",
                "for": wait,
                "labels": {"severity": severity, "service": svc.name, "long_window": long},
                "annotations": {
                    "summary": f"{svc.name}: {what} burns the {objective:.1%} objective's budget "
                    f"{burn}x too fast (over {long} and {short})",
                    "description": "Compare the cutover states on the service's dashboard; if only "
                    "the service's side burns, roll back with `migrator cutover "
                    f"{svc.name} off` (MIGRATION.md, Watching a cutover).",
                },
            }
        )
    return rules


def prometheus_rule(project: Project, svc: ServiceSpec) -> Obj:
    """Error-rate and latency objectives of one service, as multi-window burn-rate alerts."""
    rules = _alert(svc, "Errors", error_ratio, AVAILABILITY_OBJECTIVE, "the 5xx rate") + _alert(
        svc,
        "Latency",
        slow_ratio,
        LATENCY_OBJECTIVE,
        f"the share of requests slower than {LATENCY_THRESHOLD}s",
    )
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": meta(project, svc.name),
        "spec": {"groups": [{"name": f"{svc.name}.slo", "rules": rules}]},
    }


def _panel(index: int, title: str, unit: str, targets: list[tuple[str, str]]) -> Obj:
    return {
        "id": index + 1,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [
            {
                "refId": chr(ord("A") + i),
                "expr": expr,
                "legendFormat": legend,
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
            }
            for i, (expr, legend) in enumerate(targets)
        ],
    }


def _dashboard(uid: str, title: str, tags: list[str], panels: list[Obj]) -> Obj:
    return {
        "uid": uid,
        "title": title,
        "tags": tags,
        "schemaVersion": GRAFANA_SCHEMA_VERSION,
        "version": 1,
        "editable": False,
        "refresh": "30s",
        "timezone": "utc",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "type": "datasource",
                    "query": "prometheus",
                    "label": "Prometheus",
                }
            ]
        },
        "panels": panels,
    }


def _quantile(q: str, metric: str, by: str, sel: str) -> str:
    return f"histogram_quantile({q}, sum by (le, {by}) (rate({metric}_bucket{sel}[5m])))"


def service_dashboard(project: Project, svc: ServiceSpec) -> Obj:
    """Rate, errors and duration per route and cutover state, and the same per internal call."""
    s, calls = _sel(svc.name), "{" + f'service="{svc.name}"' + "}"
    specs = [
        (
            "Requests per second by route and cutover state",
            "reqps",
            [(f"sum by (route, cutover) (rate({REQUESTS}{s}[5m]))", "{{route}} ({{cutover}})")],
        ),
        (
            "Error ratio (5xx) by cutover state",
            "percentunit",
            [(error_ratio(svc.name, "5m"), "{{cutover}}")],
        ),
        (
            "Latency by cutover state",
            "s",
            [
                (_quantile(q, LATENCY, "cutover", s), f"p{q[2:]} {{{{cutover}}}}")
                for q in ("0.5", "0.95", "0.99")
            ],
        ),
        (
            f"Share slower than {LATENCY_THRESHOLD}s by cutover state",
            "percentunit",
            [(slow_ratio(svc.name, "5m"), "{{cutover}}")],
        ),
        (
            "Internal calls per second by target and status",
            "reqps",
            [
                (
                    f"sum by (target, endpoint, status) (rate({CALLS}{calls}[5m]))",
                    "{{target}} {{endpoint}} {{status}}",
                )
            ],
        ),
        (
            "Internal call errors and p95 latency by target",
            "short",
            [
                (f"sum by (target) (rate({CALL_ERRORS}{calls}[5m]))", "errors/s {{target}}"),
                (_quantile("0.95", CALL_LATENCY, "target", calls), "p95 s {{target}}"),
            ],
        ),
    ]
    panels = [_panel(i, *spec) for i, spec in enumerate(specs)]
    return _dashboard(
        f"{project.name}-{svc.name}"[:40],
        f"{project.name} / {svc.name}",
        [project.name, "migrator", svc.name],
        panels,
    )


def overview_dashboard(project: Project) -> Obj:
    """The gateway's view: traffic, errors and latency of every service by cutover state."""
    s = "{" + NOT_USER_ROUTES + "}"
    specs = [
        (
            "Requests per second by service and cutover state",
            "reqps",
            [(f"sum by (service, cutover) (rate({REQUESTS}{s}[5m]))", "{{service}} ({{cutover}})")],
        ),
        (
            "Error ratio (5xx) by service and cutover state",
            "percentunit",
            [
                (
                    f"sum by (service, cutover) (rate({ERRORS}{s}[5m])) / "
                    f"sum by (service, cutover) (rate({REQUESTS}{s}[5m]))",
                    "{{service}} ({{cutover}})",
                )
            ],
        ),
        (
            "p95 latency by service and cutover state",
            "s",
            [(_quantile("0.95", LATENCY, "service, cutover", s), "{{service}} ({{cutover}})")],
        ),
        (
            "Cutover state of each service",
            "short",
            [('max by (service, cutover) (service_info{service!=""})', "{{service}}: {{cutover}}")],
        ),
    ]
    panels = [_panel(i, *spec) for i, spec in enumerate(specs)]
    return _dashboard(
        f"{project.name}-overview"[:40],
        f"{project.name} / overview (gateway)",
        [project.name, "migrator"],
        panels,
    )


def dashboard_config_map(project: Project, name: str, app: str, dashboard: Obj) -> Obj:
    """A dashboard as Grafana's sidecar provisions it (a ConfigMap labelled grafana_dashboard)."""
    obj: Obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta(project, name, app=app, component="monitoring"),
        "data": {f"{name}.json": json.dumps(dashboard, indent=2, sort_keys=True) + "\n"},
    }
    obj["metadata"]["labels"][DASHBOARD_LABEL] = "1"
    return obj


def dashboards(project: Project) -> dict[str, Obj]:
    """File name under deploy/k8s/base -> ConfigMap: one per service and the overview."""
    out = {
        f"{svc.name}/dashboard.yaml": dashboard_config_map(
            project, f"{svc.name}-dashboard", svc.name, service_dashboard(project, svc)
        )
        for svc in project.services
    }
    out["dashboard-overview.yaml"] = dashboard_config_map(
        project, f"{project.name}-overview-dashboard", project.name, overview_dashboard(project)
    )
    return out
