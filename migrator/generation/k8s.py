"""Kubernetes objects as Python data (dumped with pyyaml, so a template can never break YAML).

Layout under ``deploy/k8s/``: ``base/<service>/`` holds one file per object plus a
kustomization; ``base/`` adds the namespace and the Ingresses; ``overlays/dev`` and
``overlays/prod`` change replicas, autoscaling bounds, resources and image tags.
"""

from __future__ import annotations

from typing import Any

from migrator.util.names import python_identifier

from .model import HTTP_PORT, UID, Project, ServiceSpec

Obj = dict[str, Any]
INGRESS_NAMESPACE = "ingress-nginx"
MONITORING_NAMESPACE = "monitoring"
STATIC_CACHE_CONTROL = "public, max-age=86400, immutable"


def labels(project: Project, name: str, component: str = "service") -> dict[str, str]:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": project.name,
            "app.kubernetes.io/component": component, "app.kubernetes.io/managed-by": "migrator"}


def meta(project: Project, name: str, app: str | None = None, component: str = "service",
         **extra: Any) -> Obj:
    m: Obj = {"name": name, "namespace": project.namespace,
              "labels": labels(project, app or name, component)}
    m.update(extra)
    return m


def image(project: Project, svc: ServiceSpec) -> str:
    return f"{project.name}/{svc.name}"


def _db_env(project: Project, svc: ServiceSpec) -> list[Obj]:
    if not svc.owns_tables:
        return []
    if "cloudnative-pg" in project.extras:
        cluster = f"{svc.name}-db"
        secret = f"{cluster}-app"

        def url(kind: str) -> str:
            return (f"{svc.database_scheme}://$(DB_USERNAME):$(DB_PASSWORD)"
                    f"@{cluster}-{kind}:5432/app")

        return [
            {"name": "DB_USERNAME", "valueFrom": {"secretKeyRef": {"name": secret, "key": "username"}}},
            {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": secret, "key": "password"}}},
            {"name": "DATABASE_URL", "value": url("rw")},
            {"name": "DATABASE_READ_URL", "value": url("ro")},
        ]
    secret = f"{svc.name}-database"
    return [{"name": key, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}
            for key in ("DATABASE_URL", "DATABASE_READ_URL")]


def deployment(project: Project, svc: ServiceSpec) -> Obj:
    sel = {"app.kubernetes.io/name": svc.name}
    probe = {"httpGet": {"path": "/healthz", "port": "http"}, "timeoutSeconds": 2}
    container = {
        "name": svc.name,
        "image": f"{image(project, svc)}:0.1.0",
        "imagePullPolicy": "Always",
        "ports": [{"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"}],
        "envFrom": [{"configMapRef": {"name": f"{svc.name}-config"}}],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                      "limits": {"cpu": "500m", "memory": "256Mi"}},
        "startupProbe": {**probe, "periodSeconds": 2, "failureThreshold": 30},
        "livenessProbe": {**probe, "periodSeconds": 10, "failureThreshold": 3},
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}, "timeoutSeconds": 3,
                           "periodSeconds": 5, "failureThreshold": 3},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "runAsNonRoot": True, "runAsUser": UID, "runAsGroup": UID,
                            "capabilities": {"drop": ["ALL"]},
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    env = _db_env(project, svc)
    if env:
        container["env"] = env
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": meta(project, svc.name),
        "spec": {
            "replicas": 2,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": sel},
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {
                    "labels": labels(project, svc.name),
                    "annotations": {"prometheus.io/scrape": "true",
                                    "prometheus.io/port": str(HTTP_PORT),
                                    "prometheus.io/path": "/metrics"},
                },
                "spec": {
                    "serviceAccountName": svc.name,
                    "automountServiceAccountToken": False,
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": UID, "runAsGroup": UID,
                                        "fsGroup": UID,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "topologySpreadConstraints": [
                        {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway",
                         "labelSelector": {"matchLabels": sel}}
                        for key in ("kubernetes.io/hostname", "topology.kubernetes.io/zone")],
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                },
            },
        },
    }


def service(project: Project, svc: ServiceSpec) -> Obj:
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta(project, svc.name),
            "spec": {"type": "ClusterIP", "selector": {"app.kubernetes.io/name": svc.name},
                     "ports": [{"name": "http", "port": 80, "targetPort": "http",
                                "protocol": "TCP"}]}}


def hpa(project: Project, svc: ServiceSpec) -> Obj:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": meta(project, svc.name),
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                        "name": svc.name},
                     "minReplicas": 2, "maxReplicas": 10,
                     "metrics": [{"type": "Resource", "resource": {
                         "name": "cpu", "target": {"type": "Utilization",
                                                   "averageUtilization": 70}}}]}}


def pdb(project: Project, svc: ServiceSpec) -> Obj:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": meta(project, svc.name),
            "spec": {"minAvailable": 1,
                     "selector": {"matchLabels": {"app.kubernetes.io/name": svc.name}}}}


def service_account(project: Project, svc: ServiceSpec) -> Obj:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(project, svc.name),
            "automountServiceAccountToken": False}


def config_map(project: Project, svc: ServiceSpec) -> Obj:
    data = {"SERVICE_NAME": svc.name, "LOG_LEVEL": "INFO", "PORT": str(HTTP_PORT),
            "WEB_CONCURRENCY": "1", "THREADS": "4", "GRACEFUL_TIMEOUT": "20",
            "DATABASE_REQUIRED": "true" if svc.owns_tables else "false"}
    for dep in svc.depends_on:
        data[f"{python_identifier(dep).upper()}_URL"] = f"http://{dep}.{project.namespace}.svc"
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(project, f"{svc.name}-config",
                                                                     app=svc.name),
            "data": data}


def network_policy(project: Project, svc: ServiceSpec) -> Obj:
    port = [{"protocol": "TCP", "port": HTTP_PORT}]
    sources: list[Obj] = [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": dep}}}
                          for dep in svc.dependents]
    rules: list[Obj] = []
    if sources:
        rules.append({"from": sources, "ports": port})
    if svc.public:
        rules.append({"from": [{"namespaceSelector": {"matchLabels": {
            "kubernetes.io/metadata.name": INGRESS_NAMESPACE}}}], "ports": port})
    rules.append({"from": [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": MONITORING_NAMESPACE}}}], "ports": port})
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": meta(project, svc.name),
            "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": svc.name}},
                     "policyTypes": ["Ingress"], "ingress": rules}}


def service_monitor(project: Project, svc: ServiceSpec) -> Obj:
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
            "metadata": meta(project, svc.name),
            "spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": svc.name}},
                     "endpoints": [{"port": "http", "path": "/metrics", "interval": "30s",
                                    "scrapeTimeout": "10s"}]}}


def cnpg_cluster(project: Project, svc: ServiceSpec) -> Obj:
    return {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
            "metadata": meta(project, f"{svc.name}-db", app=svc.name, component="database"),
            "spec": {"instances": 3, "primaryUpdateStrategy": "unsupervised",
                     "bootstrap": {"initdb": {"database": "app", "owner": "app"}},
                     "storage": {"size": "1Gi"},
                     "resources": {"requests": {"cpu": "100m", "memory": "256Mi"},
                                   "limits": {"cpu": "1", "memory": "512Mi"}}}}


def kustomization(resources: list[str], **extra: Any) -> Obj:
    out: Obj = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                "resources": resources}
    out.update(extra)
    return out


def ingress_backend(project: Project, name: str) -> Obj:
    return {"service": {"name": name, "port": {"number": 80}}}


def ingresses(project: Project) -> dict[str, Obj]:
    """The strangler-fig Ingress (routes to services, rest to the monolith) and static assets."""
    paths = [{"path": r.path, "pathType": r.path_type, "backend": ingress_backend(project, r.service)}
             for r in project.rules]
    main: Obj = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                 "metadata": meta(project, project.name, component="gateway"),
                 "spec": {"ingressClassName": "nginx",
                          "defaultBackend": ingress_backend(project, project.monolith_service)}}
    if paths:
        main["spec"]["rules"] = [{"http": {"paths": paths}}]
    headers = f"{project.name}-static-headers"
    static: Obj = {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": meta(project, f"{project.name}-static", component="gateway", annotations={
            "migrator.dev/cache-control": STATIC_CACHE_CONTROL,
            "nginx.ingress.kubernetes.io/custom-headers": f"{project.namespace}/{headers}",
        }),
        "spec": {"ingressClassName": "nginx", "rules": [{"http": {"paths": [{
            "path": project.static_path, "pathType": "Prefix",
            "backend": ingress_backend(project, project.monolith_service)}]}}]},
    }
    headers_cm: Obj = {"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": meta(project, headers, component="gateway"),
                       "data": {"Cache-Control": STATIC_CACHE_CONTROL}}
    return {"ingress.yaml": main, "ingress-static.yaml": static,
            "static-headers-configmap.yaml": headers_cm}


def manifests(project: Project) -> dict[str, Obj]:
    """Relative path under deploy/k8s -> object (kustomization files included)."""
    out: dict[str, Obj] = {}
    base_resources = ["namespace.yaml"]
    out["base/namespace.yaml"] = {"apiVersion": "v1", "kind": "Namespace",
                                  "metadata": {"name": project.namespace,
                                               "labels": labels(project, project.name,
                                                                "namespace")}}
    for svc in project.services:
        files = {"serviceaccount.yaml": service_account(project, svc),
                 "configmap.yaml": config_map(project, svc),
                 "deployment.yaml": deployment(project, svc),
                 "service.yaml": service(project, svc),
                 "hpa.yaml": hpa(project, svc),
                 "pdb.yaml": pdb(project, svc),
                 "networkpolicy.yaml": network_policy(project, svc)}
        if "prometheus-operator" in project.extras:
            files["servicemonitor.yaml"] = service_monitor(project, svc)
        if "cloudnative-pg" in project.extras and svc.owns_tables:
            files["database.yaml"] = cnpg_cluster(project, svc)
        for fname, obj in files.items():
            out[f"base/{svc.name}/{fname}"] = obj
        out[f"base/{svc.name}/kustomization.yaml"] = kustomization(sorted(files))
        base_resources.append(svc.name)
    for fname, obj in ingresses(project).items():
        out[f"base/{fname}"] = obj
        base_resources.append(fname)
    out["base/kustomization.yaml"] = kustomization(sorted(base_resources))
    for overlay, replicas, hpa_min, hpa_max, tag, res in (
        ("dev", 1, 1, 3, "dev",
         {"requests": {"cpu": "50m", "memory": "96Mi"}, "limits": {"cpu": "250m", "memory": "192Mi"}}),
        ("prod", 3, 3, 20, "0.1.0",
         {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}),
    ):
        patches = []
        for svc in project.services:
            patches.append({"target": {"kind": "Deployment", "name": svc.name}, "patch": _json(
                [{"op": "replace", "path": "/spec/replicas", "value": replicas},
                 {"op": "replace", "path": "/spec/template/spec/containers/0/resources",
                  "value": res}])})
            patches.append({"target": {"kind": "HorizontalPodAutoscaler", "name": svc.name},
                            "patch": _json([
                                {"op": "replace", "path": "/spec/minReplicas", "value": hpa_min},
                                {"op": "replace", "path": "/spec/maxReplicas", "value": hpa_max}])})
            if overlay == "dev":
                patches.append({"target": {"kind": "PodDisruptionBudget", "name": svc.name},
                                "patch": _json([{"op": "replace", "path": "/spec/minAvailable",
                                                 "value": 0}])})
        images = [{"name": f"{image(project, s)}", "newTag": tag} for s in project.services]
        out[f"overlays/{overlay}/kustomization.yaml"] = kustomization(
            ["../../base"], patches=patches, images=images,
            labels=[{"pairs": {"app.kubernetes.io/instance": f"{project.name}-{overlay}"},
                     "includeSelectors": False}])
    return out


def _json(ops: list[Obj]) -> str:
    import json

    return json.dumps(ops, sort_keys=True)
