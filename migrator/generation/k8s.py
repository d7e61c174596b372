"""Kubernetes objects as Python data (dumped with pyyaml, so a template can never break YAML).

Layout under ``deploy/k8s/``: ``base/<service>/`` holds one file per object plus a
kustomization; ``base/`` adds the namespace and the Ingresses; ``overlays/dev`` and
``overlays/prod`` change replicas, autoscaling bounds, resources and image tags.
"""

from __future__ import annotations

import json
from typing import Any

from migrator.util.names import python_identifier

from .model import HTTP_PORT, UID, MonolithSpec, Project, ServiceSpec

Obj = dict[str, Any]
INGRESS_NAMESPACE = "ingress-nginx"
MONITORING_NAMESPACE = "monitoring"
#: static files under their own names may change with any deploy: cached briefly
STATIC_CACHE_CONTROL = "public, max-age=300"
#: content-hashed names (``name.<12 hex>.ext``, made when the monolith's image is built) never
#: change content: cached for a year
STATIC_IMMUTABLE = "public, max-age=31536000, immutable"
#: what a hashed static name looks like (nginx location and Ingress path regex)
HASHED_STATIC = r"\.[0-9a-f]{12}(\.[A-Za-z0-9]+)?$"
TLS_ISSUER = "letsencrypt"


def labels(project: Project, name: str, component: str = "service") -> dict[str, str]:
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/part-of": project.name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/managed-by": "migrator",
    }


def meta(
    project: Project, name: str, app: str | None = None, component: str = "service", **extra: Any
) -> Obj:
    m: Obj = {
        "name": name,
        "namespace": project.namespace,
        "labels": labels(project, app or name, component),
    }
    m.update(extra)
    return m


def image(project: Project, svc: ServiceSpec | MonolithSpec) -> str:
    return f"{project.name}/{svc.name}"


def _db_env(project: Project, svc: ServiceSpec) -> list[Obj]:
    if not svc.owns_tables:
        return []
    if "cloudnative-pg" in project.extras:
        cluster = f"{svc.name}-db"
        secret = f"{cluster}-app"

        def url(kind: str) -> str:
            return (
                f"{svc.database_scheme}://$(DB_USERNAME):$(DB_PASSWORD)@{cluster}-{kind}:5432/app"
            )

        return [
            {
                "name": "DB_USERNAME",
                "valueFrom": {"secretKeyRef": {"name": secret, "key": "username"}},
            },
            {
                "name": "DB_PASSWORD",
                "valueFrom": {"secretKeyRef": {"name": secret, "key": "password"}},
            },
            {"name": "DATABASE_URL", "value": url("rw")},
            {"name": "DATABASE_READ_URL", "value": url("ro")},
        ]
    secret = f"{svc.name}-database"
    return [
        {"name": key, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}
        for key in ("DATABASE_URL", "DATABASE_READ_URL")
    ]


#: extracted services show each other this token on every internal call (the runtime's
#: ``TOKEN_ENV``); it comes from a Secret the operator creates, never from the manifests
INTERNAL_TOKEN_ENV = "MIGRATOR_INTERNAL_TOKEN"
INTERNAL_TOKEN_SECRET = "internal-token"

MONOLITH_DATABASE_SECRET = "monolith-database"
MONOLITH_SECRETS = "monolith-secrets"


def monolith_env(mono: MonolithSpec) -> list[Obj]:
    """The monolith's settings under the names its own code reads, from Secrets only: the
    primary's URL under every database setting it reads, the replica's as DATABASE_READ_URL,
    and its secret key (no built-in value: a missing Secret stops the pod from starting)."""

    def ref(name: str, secret: str, key: str) -> Obj:
        return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}

    return (
        [ref(n, MONOLITH_DATABASE_SECRET, "DATABASE_URL") for n in mono.database_envs]
        + [ref("DATABASE_READ_URL", MONOLITH_DATABASE_SECRET, "DATABASE_READ_URL")]
        + [ref(n, MONOLITH_SECRETS, "SECRET_KEY") for n in mono.secret_envs]
    )


def deployment(project: Project, svc: ServiceSpec | MonolithSpec, extract: bool = False) -> Obj:
    """No ``replicas``: the HPA owns the count, so an apply never resets its choice.
    ``extract``: the service runs extracted code, whose internal API needs the shared token
    (a missing Secret stops the pod from starting, rather than leaving the API refusing)."""
    sel = {"app.kubernetes.io/name": svc.name}
    monolith = isinstance(svc, MonolithSpec)
    health = svc.health_path if isinstance(svc, MonolithSpec) else "/healthz"
    probe: Obj = (
        {"httpGet": {"path": health, "port": "http"}, "timeoutSeconds": 2}
        if health
        else {"tcpSocket": {"port": "http"}, "timeoutSeconds": 2}
    )
    ready: Obj = (
        {"httpGet": {"path": "/readyz", "port": "http"}}
        if not monolith
        else {k: v for k, v in probe.items() if k != "timeoutSeconds"}
    )
    container = {
        "name": svc.name,
        "image": f"{image(project, svc)}:0.1.0",
        "imagePullPolicy": "Always",
        "ports": [{"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"}],
        "envFrom": [{"configMapRef": {"name": f"{svc.name}-config"}}],
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi"},
        },
        "startupProbe": {**probe, "periodSeconds": 2, "failureThreshold": 30},
        "livenessProbe": {**probe, "periodSeconds": 10, "failureThreshold": 3},
        "readinessProbe": {**ready, "timeoutSeconds": 3, "periodSeconds": 5, "failureThreshold": 3},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": UID,
            "runAsGroup": UID,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    env = monolith_env(svc) if isinstance(svc, MonolithSpec) else _db_env(project, svc)
    if extract and not monolith:
        secret = {"name": INTERNAL_TOKEN_SECRET, "key": "token"}
        env = env + [{"name": INTERNAL_TOKEN_ENV, "valueFrom": {"secretKeyRef": secret}}]
    if "datadog" in project.extras:
        env = env + datadog_env()
    if env:
        container["env"] = env
    obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(project, svc.name),
        "spec": {
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": sel},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
            },
            "template": {
                "metadata": {
                    "labels": labels(project, svc.name),
                    "annotations": {
                        "prometheus.io/scrape": "true",
                        "prometheus.io/port": str(HTTP_PORT),
                        "prometheus.io/path": "/metrics",
                    },
                },
                "spec": {
                    "serviceAccountName": svc.name,
                    "automountServiceAccountToken": False,
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": UID,
                        "runAsGroup": UID,
                        "fsGroup": UID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": key,
                            "whenUnsatisfiable": "ScheduleAnyway",
                            "labelSelector": {"matchLabels": sel},
                        }
                        for key in ("kubernetes.io/hostname", "topology.kubernetes.io/zone")
                    ],
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                },
            },
        },
    }
    if "datadog" in project.extras:
        _datadog_tags(project, obj, svc.name)
    return obj


#: unified service tagging: the Agent reads these labels and the pod's DD_* variables
DD_TAG = "tags.datadoghq.com/"
DD_BASE_ENV = "base"
DD_VERSION = "0.1.0"


def datadog_env() -> list[Obj]:
    """``DD_ENV``/``DD_SERVICE``/``DD_VERSION`` from the pod's unified-tagging labels, the node's
    Agent for traces (OTLP, port 4318, and the Datadog trace port) and DogStatsD, and log
    correlation."""

    def label(name: str) -> Obj:
        return {"fieldRef": {"fieldPath": f"metadata.labels['{DD_TAG}{name}']"}}

    agent = "$(DD_AGENT_HOST)"
    return [
        {"name": "DD_ENV", "valueFrom": label("env")},
        {"name": "DD_SERVICE", "valueFrom": label("service")},
        {"name": "DD_VERSION", "valueFrom": label("version")},
        {"name": "DD_AGENT_HOST", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}},
        {"name": "DD_TRACE_AGENT_URL", "value": f"http://{agent}:8126"},
        {"name": "DD_DOGSTATSD_URL", "value": f"udp://{agent}:8125"},
        {"name": "DD_LOGS_INJECTION", "value": "true"},
        {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": f"http://{agent}:4318"},
        {
            "name": "OTEL_RESOURCE_ATTRIBUTES",
            "value": "deployment.environment=$(DD_ENV),service.version=$(DD_VERSION)",
        },
    ]


def _datadog_tags(project: Project, dep: Obj, name: str) -> None:
    """Labels on the Deployment and its pods, and the Agent's autodiscovery annotations: logs
    as Python JSON, and the pod's /metrics through the OpenMetrics check."""
    tags = {f"{DD_TAG}env": DD_BASE_ENV, f"{DD_TAG}service": name, f"{DD_TAG}version": DD_VERSION}
    dep["metadata"]["labels"].update(tags)
    template = dep["spec"]["template"]["metadata"]
    template["labels"] = {**template["labels"], **tags}
    prefix = f"ad.datadoghq.com/{name}"
    template["annotations"] = {
        **template["annotations"],
        f"{prefix}.logs": json.dumps([{"source": "python", "service": name}]),
        f"{prefix}.checks": json.dumps(
            {
                "openmetrics": {
                    "init_config": {},
                    "instances": [
                        {
                            "openmetrics_endpoint": f"http://%%host%%:{HTTP_PORT}/metrics",
                            "namespace": project.name.replace("-", "_"),
                            "metrics": [".*"],
                        }
                    ],
                }
            },
            sort_keys=True,
        ),
    }


def datadog_agent_values(project: Project) -> Obj:
    """Helm values for the Datadog Agent (datadog/datadog chart) that the pods' settings
    expect: APM on the host port, DogStatsD from other pods, the OTLP/HTTP receiver, logs."""
    return {
        "datadog": {
            "apm": {"portEnabled": True},
            "dogstatsd": {"useHostPort": True, "nonLocalTraffic": True},
            "logs": {"enabled": True, "containerCollectAll": False},
            "otlp": {
                "receiver": {"protocols": {"http": {"enabled": True, "endpoint": "0.0.0.0:4318"}}}
            },
            "tags": [f"project:{project.name}"],
        }
    }


def service(project: Project, svc: ServiceSpec | MonolithSpec) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(project, svc.name),
        "spec": {
            "type": "ClusterIP",
            "selector": {"app.kubernetes.io/name": svc.name},
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def hpa(project: Project, svc: ServiceSpec | MonolithSpec) -> Obj:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": meta(project, svc.name),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": svc.name},
            "minReplicas": 2,
            "maxReplicas": 10,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                }
            ],
        },
    }


def pdb(project: Project, svc: ServiceSpec | MonolithSpec) -> Obj:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta(project, svc.name),
        "spec": {
            "minAvailable": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": svc.name}},
        },
    }


def service_account(project: Project, svc: ServiceSpec | MonolithSpec) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta(project, svc.name),
        "automountServiceAccountToken": False,
    }


def config_map(project: Project, svc: ServiceSpec) -> Obj:
    data = {
        "SERVICE_NAME": svc.name,
        "LOG_LEVEL": "INFO",
        "PORT": str(HTTP_PORT),
        "WEB_CONCURRENCY": "1",
        "THREADS": "4",
        "GRACEFUL_TIMEOUT": "20",
        "DATABASE_REQUIRED": "true" if svc.owns_tables else "false",
        # labels every metric: a canary's series apart from the same service's earlier ones
        "CUTOVER_STATE": svc.cutover,
    }
    for dep in svc.depends_on:
        # the short name resolves in the pod's own namespace, whichever overlay set it
        data[f"{python_identifier(dep).upper()}_URL"] = f"http://{dep}"
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta(project, f"{svc.name}-config", app=svc.name),
        "data": data,
    }


def network_policy(project: Project, svc: ServiceSpec) -> Obj:
    port = [{"protocol": "TCP", "port": HTTP_PORT}]
    sources: list[Obj] = [
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": dep}}} for dep in svc.dependents
    ]
    rules: list[Obj] = []
    if sources:
        rules.append({"from": sources, "ports": port})
    if svc.public:
        rules.append(
            {
                "from": [
                    {
                        "namespaceSelector": {
                            "matchLabels": {"kubernetes.io/metadata.name": INGRESS_NAMESPACE}
                        }
                    }
                ],
                "ports": port,
            }
        )
    rules.append(
        {
            "from": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": MONITORING_NAMESPACE}
                    }
                }
            ],
            "ports": port,
        }
    )
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta(project, svc.name),
        "spec": {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": svc.name}},
            "policyTypes": ["Ingress"],
            "ingress": rules,
        },
    }


#: how often and how long Prometheus scrapes a ``/metrics`` (ServiceMonitor and PodMonitor)
SCRAPE = {"path": "/metrics", "interval": "30s", "scrapeTimeout": "10s"}


def service_monitor(project: Project, svc: ServiceSpec) -> Obj:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": meta(project, svc.name),
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/name": svc.name}},
            "endpoints": [{"port": "http", **SCRAPE}],
        },
    }


def database_pod_monitor(project: Project, svc: ServiceSpec) -> Obj:
    """A PodMonitor for the service's CloudNativePG cluster: the operator's Services carry only
    PostgreSQL, so its exporter (container port ``metrics``, 9187) is scraped on the pods."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": meta(project, f"{svc.name}-db", app=svc.name, component="database"),
        "spec": {
            "selector": {"matchLabels": {"cnpg.io/cluster": f"{svc.name}-db"}},
            "podMetricsEndpoints": [{"port": "metrics", **SCRAPE}],
        },
    }


def cnpg_cluster(project: Project, svc: ServiceSpec) -> Obj:
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": meta(project, f"{svc.name}-db", app=svc.name, component="database"),
        "spec": {
            "instances": 3,
            "primaryUpdateStrategy": "unsupervised",
            "bootstrap": {"initdb": {"database": "app", "owner": "app"}},
            "storage": {"size": "1Gi"},
            "resources": {
                "requests": {"cpu": "100m", "memory": "256Mi"},
                "limits": {"cpu": "1", "memory": "512Mi"},
            },
        },
    }


def kustomization(resources: list[str], **extra: Any) -> Obj:
    out: Obj = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
    }
    out.update(extra)
    return out


def ingress_backend(project: Project, name: str) -> Obj:
    return {"service": {"name": name, "port": {"number": 80}}}


CANARY = "nginx.ingress.kubernetes.io/canary"


def _paths(project: Project, rules: list, backend: str | None = None) -> list[Obj]:
    return [
        {
            "path": r.path,
            "pathType": r.path_type,
            "backend": ingress_backend(project, backend or r.service),
        }
        for r in rules
    ]


def _ingress(
    project: Project,
    name: str,
    paths: list[Obj],
    annotations: dict[str, str],
    default: bool = False,
) -> Obj:
    """One Ingress on the project's host, with TLS from the ``<project>-tls`` Secret."""
    spec: Obj = {
        "ingressClassName": "nginx",
        "tls": [{"hosts": [project.host], "secretName": f"{project.name}-tls"}],
    }
    if default:  # what no path of the host matches: the monolith
        spec["defaultBackend"] = ingress_backend(project, project.monolith_service)
    spec["rules"] = [{"host": project.host, **({"http": {"paths": paths}} if paths else {})}]
    metadata = meta(project, name, component="gateway")
    if annotations:
        metadata["annotations"] = annotations
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata,
        "spec": spec,
    }


def ingresses(project: Project) -> dict[str, Obj]:
    """The strangler-fig Ingresses, by each service's cutover state (ingress-nginx):

    * ``off``: no path (the default backend, the monolith, answers);
    * ``live``: its paths on the main Ingress, to the service;
    * ``canary``: its paths on the main Ingress to the monolith, plus a canary Ingress with the
      same paths to the service and ``canary-weight`` = the plan's percent;
    * ``shadow``: its paths to the monolith on an Ingress whose ``mirror-target`` copies each
      request to the service (ingress-nginx discards the mirror's response).
    """
    state = {s.name: s for s in project.services}
    main = [r for r in project.rules if state[r.service].cutover != "off"]
    out: dict[str, Obj] = {}
    live_paths = _paths(project, [r for r in main if state[r.service].cutover == "live"])
    monolith_paths = _paths(
        project, [r for r in main if state[r.service].cutover == "canary"], project.monolith_service
    )
    # cert-manager issues the certificate into the Secret every Ingress of the host names
    out["ingress.yaml"] = _ingress(
        project,
        project.name,
        live_paths + monolith_paths,
        {"cert-manager.io/cluster-issuer": TLS_ISSUER},
        default=True,
    )
    for svc in project.services:
        rules = [r for r in project.rules if r.service == svc.name]
        if not rules or svc.cutover in ("off", "live"):
            continue
        if svc.cutover == "canary":
            out[f"ingress-canary-{svc.name}.yaml"] = _ingress(
                project,
                f"{project.name}-canary-{svc.name}",
                _paths(project, rules),
                {CANARY: "true", f"{CANARY}-weight": str(svc.cutover_percent)},
            )
        else:
            out[f"ingress-shadow-{svc.name}.yaml"] = _ingress(
                project,
                f"{project.name}-shadow-{svc.name}",
                _paths(project, rules, project.monolith_service),
                {
                    "nginx.ingress.kubernetes.io/mirror-target": f"http://{svc.name}.{project.namespace}.svc.cluster.local$request_uri"
                },
            )
    static = project.static_path
    for suffix, path, path_type, cache, extra in (
        ("static", static, "Prefix", STATIC_CACHE_CONTROL, {}),
        # a regex path: ingress-nginx then treats every path of the host as a regex
        # (prefixes stay prefixes); see docs/deploy.md
        (
            "static-hashed",
            f"{static}/.+{HASHED_STATIC}",
            "ImplementationSpecific",
            STATIC_IMMUTABLE,
            {"nginx.ingress.kubernetes.io/use-regex": "true"},
        ),
    ):
        headers = f"{project.name}-{suffix}-headers"
        out[f"ingress-{suffix}.yaml"] = _ingress(
            project,
            f"{project.name}-{suffix}",
            [
                {
                    "path": path,
                    "pathType": path_type,
                    "backend": ingress_backend(project, project.monolith_service),
                }
            ],
            {
                "migrator.dev/cache-control": cache,
                "nginx.ingress.kubernetes.io/custom-headers": f"{project.namespace}/{headers}",
                **extra,
            },
        )
        out[f"{suffix}-headers-configmap.yaml"] = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta(project, headers, component="gateway"),
            "data": {"Cache-Control": cache},
        }
    return out


def monolith_objects(project: Project, mono: MonolithSpec) -> dict[str, Obj]:
    """The monolith as a deployable: the default backend of every Ingress and the gateway."""
    port = [{"protocol": "TCP", "port": HTTP_PORT}]
    config = {
        "SERVICE_NAME": mono.name,
        "LOG_LEVEL": "INFO",
        "PORT": str(HTTP_PORT),
        "WEB_CONCURRENCY": "2",
        "THREADS": "4",
        # origin of static links when a CDN fronts /static (empty: this site)
        "CDN_URL": "",
    }
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta(project, mono.name, component="monolith"),
        "spec": {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": mono.name}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}
                    ],
                    "ports": port,
                }
                for ns in (INGRESS_NAMESPACE, MONITORING_NAMESPACE)
            ]
            + [
                {
                    "from": [
                        {
                            "podSelector": {
                                "matchLabels": {"app.kubernetes.io/part-of": project.name}
                            }
                        }
                    ],
                    "ports": port,
                }
            ],
        },
    }
    dep = deployment(project, mono)
    dep["spec"]["template"]["spec"]["containers"][0]["envFrom"] = [
        {"configMapRef": {"name": f"{mono.name}-config"}}
    ]
    objs = {
        "serviceaccount.yaml": service_account(project, mono),
        "configmap.yaml": {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta(project, f"{mono.name}-config", app=mono.name),
            "data": config,
        },
        "deployment.yaml": dep,
        "service.yaml": service(project, mono),
        "hpa.yaml": hpa(project, mono),
        "pdb.yaml": pdb(project, mono),
        "networkpolicy.yaml": policy,
    }
    for obj in objs.values():
        obj["metadata"]["labels"]["app.kubernetes.io/component"] = "monolith"
    dep["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] = "monolith"
    return objs


#: per overlay: namespace suffix, HPA bounds, image tag, resources, PostgreSQL instances, storage
OVERLAYS = (
    (
        "dev",
        1,
        3,
        "dev",
        {
            "requests": {"cpu": "50m", "memory": "96Mi"},
            "limits": {"cpu": "250m", "memory": "192Mi"},
        },
        1,
        "1Gi",
    ),
    (
        "prod",
        3,
        20,
        "0.1.0",
        {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
        3,
        "20Gi",
    ),
)


def manifests(project: Project, extract: bool = False) -> dict[str, Obj]:
    """Relative path under deploy/k8s -> object (kustomization files included); ``extract``:
    the services run extracted code (``deployment``)."""
    from . import observe  # it builds on this module's helpers

    boards = observe.dashboards(project)
    out: dict[str, Obj] = {}
    base_resources = ["namespace.yaml"]
    out["base/namespace.yaml"] = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": project.namespace,
            "labels": labels(project, project.name, "namespace"),
        },
    }
    workloads: list[ServiceSpec | MonolithSpec] = list(project.services)
    if project.monolith is not None:
        workloads.append(project.monolith)
        for fname, obj in monolith_objects(project, project.monolith).items():
            out[f"base/{project.monolith.name}/{fname}"] = obj
        out[f"base/{project.monolith.name}/kustomization.yaml"] = kustomization(
            sorted(monolith_objects(project, project.monolith))
        )
        base_resources.append(project.monolith.name)
    for svc in project.services:
        files = {
            "serviceaccount.yaml": service_account(project, svc),
            "configmap.yaml": config_map(project, svc),
            "deployment.yaml": deployment(project, svc, extract),
            "service.yaml": service(project, svc),
            "hpa.yaml": hpa(project, svc),
            "pdb.yaml": pdb(project, svc),
            "networkpolicy.yaml": network_policy(project, svc),
        }
        if "prometheus-operator" in project.extras:
            files["servicemonitor.yaml"] = service_monitor(project, svc)
            files["prometheusrule.yaml"] = observe.prometheus_rule(project, svc)
            files["dashboard.yaml"] = boards[f"{svc.name}/dashboard.yaml"]
        if "cloudnative-pg" in project.extras and svc.owns_tables:
            files["database.yaml"] = cnpg_cluster(project, svc)
            if "prometheus-operator" in project.extras:
                files["database-podmonitor.yaml"] = database_pod_monitor(project, svc)
        for fname, obj in files.items():
            out[f"base/{svc.name}/{fname}"] = obj
        out[f"base/{svc.name}/kustomization.yaml"] = kustomization(sorted(files))
        base_resources.append(svc.name)
    for fname, obj in ingresses(project).items():
        out[f"base/{fname}"] = obj
        base_resources.append(fname)
    if "prometheus-operator" in project.extras:
        out["base/dashboard-overview.yaml"] = boards["dashboard-overview.yaml"]
        base_resources.append("dashboard-overview.yaml")
    out["base/kustomization.yaml"] = kustomization(sorted(base_resources))
    for overlay, hpa_min, hpa_max, tag, res, instances, storage in OVERLAYS:
        namespace = f"{project.namespace}-{overlay}"
        patches = []
        for w in workloads:
            ops = [
                {
                    "op": "replace",
                    "path": "/spec/template/spec/containers/0/resources",
                    "value": res,
                }
            ]
            if "datadog" in project.extras:
                ops += [
                    {
                        "op": "replace",
                        "path": f"{where}/labels/{DD_TAG.replace('/', '~1')}{k}",
                        "value": v,
                    }
                    for where in ("/metadata", "/spec/template/metadata")
                    for k, v in (("env", overlay), ("version", tag))
                ]
            patches.append({"target": {"kind": "Deployment", "name": w.name}, "patch": _json(ops)})
            patches.append(
                {
                    "target": {"kind": "HorizontalPodAutoscaler", "name": w.name},
                    "patch": _json(
                        [
                            {"op": "replace", "path": "/spec/minReplicas", "value": hpa_min},
                            {"op": "replace", "path": "/spec/maxReplicas", "value": hpa_max},
                        ]
                    ),
                }
            )
            if overlay == "dev":
                patches.append(
                    {
                        "target": {"kind": "PodDisruptionBudget", "name": w.name},
                        "patch": _json(
                            [{"op": "replace", "path": "/spec/minAvailable", "value": 0}]
                        ),
                    }
                )
        for svc in project.services:
            if "cloudnative-pg" in project.extras and svc.owns_tables:
                patches.append(
                    {
                        "target": {"kind": "Cluster", "name": f"{svc.name}-db"},
                        "patch": _json(_cluster_ops(project, svc, overlay, instances, storage)),
                    }
                )
        host = project.host if overlay == "prod" else f"{overlay}.{project.host}"
        for name in [n for n in out if n.startswith("base/ingress")]:
            ing = out[name]
            patches.append(
                {
                    "target": {"kind": "Ingress", "name": ing["metadata"]["name"]},
                    "patch": _json(
                        [
                            {"op": "replace", "path": "/spec/rules/0/host", "value": host},
                            {"op": "replace", "path": "/spec/tls/0/hosts/0", "value": host},
                        ]
                    ),
                }
            )
            if "nginx.ingress.kubernetes.io/custom-headers" in ing["metadata"].get(
                "annotations", {}
            ):
                value = ing["metadata"]["annotations"]["nginx.ingress.kubernetes.io/custom-headers"]
                patches.append(
                    {
                        "target": {"kind": "Ingress", "name": ing["metadata"]["name"]},
                        "patch": _json(
                            [
                                {
                                    "op": "replace",
                                    "path": "/metadata/annotations/"
                                    "nginx.ingress.kubernetes.io~1custom-headers",
                                    "value": f"{namespace}/{value.split('/', 1)[1]}",
                                }
                            ]
                        ),
                    }
                )
            if "nginx.ingress.kubernetes.io/mirror-target" in ing["metadata"].get(
                "annotations", {}
            ):
                target = ing["metadata"]["annotations"]["nginx.ingress.kubernetes.io/mirror-target"]
                patches.append(
                    {
                        "target": {"kind": "Ingress", "name": ing["metadata"]["name"]},
                        "patch": _json(
                            [
                                {
                                    "op": "replace",
                                    "path": "/metadata/annotations/"
                                    "nginx.ingress.kubernetes.io~1mirror-target",
                                    "value": target.replace(
                                        f".{project.namespace}.svc.", f".{namespace}.svc."
                                    ),
                                }
                            ]
                        ),
                    }
                )
        images = [{"name": f"{image(project, w)}", "newTag": tag} for w in workloads]
        out[f"overlays/{overlay}/kustomization.yaml"] = kustomization(
            ["../../base"],
            namespace=namespace,
            patches=patches,
            images=images,
            labels=[
                {
                    "pairs": {"app.kubernetes.io/instance": f"{project.name}-{overlay}"},
                    "includeSelectors": False,
                }
            ],
        )
    return out


def _cluster_ops(
    project: Project, svc: ServiceSpec, overlay: str, instances: int, storage: str
) -> list[Obj]:
    """One PostgreSQL instance in dev; in prod three, with WAL archiving and base backups to an
    object store (credentials from the ``<service>-db-backup`` Secret you create)."""
    ops: list[Obj] = [
        {"op": "replace", "path": "/spec/instances", "value": instances},
        {"op": "replace", "path": "/spec/storage/size", "value": storage},
    ]
    if overlay == "prod":
        secret = f"{svc.name}-db-backup"
        ops.append(
            {
                "op": "add",
                "path": "/spec/backup",
                "value": {
                    "retentionPolicy": "30d",
                    "barmanObjectStore": {
                        "destinationPath": f"s3://{project.name}-backups/{svc.name}",
                        "s3Credentials": {
                            "accessKeyId": {"name": secret, "key": "ACCESS_KEY_ID"},
                            "secretAccessKey": {"name": secret, "key": "ACCESS_SECRET_KEY"},
                        },
                        "wal": {"compression": "gzip"},
                    },
                },
            }
        )
    return ops


def _json(ops: list[Obj]) -> str:
    import json

    return json.dumps(ops, sort_keys=True)
