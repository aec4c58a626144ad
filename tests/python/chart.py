#!/usr/bin/env python3
"""Lints and renders callsight's Helm chart with Helm's own Go SDK (PyPI helm-python-sdk), validates
every rendered manifest against Kubernetes' schemas in strict mode (PyPI kubernetes-validate),
checks what the chart promises (probes, grace period, volumes, ServiceMonitor only where the API
exists, values refused with a reason, every value documented), and writes what the Rust test
checks against callsight itself (each workload's configuration file, environment, ports and
arguments; the Strimzi topics) as JSON.

usage: chart.py CHART_DIR OUT.json
       chart.py --values-table CHART_DIR   (prints the chart README's values table)
"""

import json
import re
import sys
from pathlib import Path

import helm_python as helm
import kubernetes_validate
import yaml
from helm_python import _native  # the SDK's install call is the only one that takes capabilities

KUBE_VERSIONS = ["1.30", "1.37"]
SERVICE_MONITOR = "monitoring.coreos.com/v1/ServiceMonitor"
CRD_KINDS = {"ServiceMonitor", "KafkaTopic"}

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
    return condition


def lint(chart, values):
    result = helm.lint(str(chart), values, strict=True, kube_version="v1.30.0")
    return result.get("errors") or []


def render(chart, values, api_versions, kube="v1.30.0"):
    """`helm template` with capabilities: the release's manifest, then the hooks."""
    options = {"dry_run": "client", "namespace": "callsight", "kube_version": kube, "api_versions": api_versions}
    with helm.Config(storage_driver="memory") as config, helm.Chart.load(str(chart)) as loaded:
        out = json.loads(
            _native.call_string(
                "helm_install", config._raw(), _native.HANDLE(0), loaded._raw(), None,
                "callsight", json.dumps(values), json.dumps(options),
            )
        )
        docs = [d for d in yaml.safe_load_all(out["manifest"]) if d]
        # The dry run leaves hooks out of the manifest; render them from the templates.
        rendered = loaded.render(values, name="callsight", namespace="callsight")
        for template, text in rendered.items():
            if not template.endswith(".yaml"):
                continue
            for d in yaml.safe_load_all(text or ""):
                if d and "helm.sh/hook" in (d.get("metadata", {}).get("annotations") or {}):
                    docs.append(d)
    return docs


def validate(docs, case):
    for d in docs:
        for version in KUBE_VERSIONS:
            try:
                kubernetes_validate.validate(d, version, strict=True)
            except kubernetes_validate.SchemaNotFoundError:
                check(d["kind"] in CRD_KINDS, f"{case}: no Kubernetes schema for {d['kind']}")
            except kubernetes_validate.ValidationError as e:
                path = ".".join(map(str, e.path))
                failures.append(f"{case}: {d['kind']} {d['metadata']['name']} ({version}): {path}: {e.message}")


def by_kind(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def named(docs, kind, suffix):
    found = [d for d in by_kind(docs, kind) if d["metadata"]["name"].endswith(suffix)]
    return found[0] if found else None


def container(workload):
    return workload["spec"]["template"]["spec"]["containers"][0]


def probe_path(c, probe):
    return (c.get(probe) or {}).get("httpGet", {}).get("path")


def check_release(docs, values, case):
    """What every rendering must hold."""
    drain = values["shutdown"]["drainTimeoutSeconds"]
    workloads = by_kind(docs, "Deployment") + by_kind(docs, "StatefulSet")
    check(named(docs, "Deployment", "-ingest"), f"{case}: no ingest Deployment")
    check(named(docs, "Deployment", "-fetch"), f"{case}: no fetch Deployment")
    sts = named(docs, "StatefulSet", "-processor")
    if check(sts, f"{case}: no processor StatefulSet"):
        spec = sts["spec"]
        check(spec["volumeClaimTemplates"][0]["metadata"]["name"] == "state", f"{case}: processor volume")
        headless = named(docs, "Service", "-processor")
        check(headless and headless["spec"].get("clusterIP") == "None" and spec["serviceName"] == headless["metadata"]["name"],
              f"{case}: the processor's Service is not its headless service")
        c = container(sts)
        check(probe_path(c, "startupProbe") == "/readyz", f"{case}: the processor's startup probe must wait for the restore (/readyz)")
        startup = c["startupProbe"]
        check(startup["periodSeconds"] * startup["failureThreshold"] >= values["processorRole"]["startupTimeoutSeconds"],
              f"{case}: the startup probe gives up before processorRole.startupTimeoutSeconds")
        mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
        check(mounts.get("state") == "/var/lib/callsight/state", f"{case}: state volume mount {mounts}")
    for w in workloads:
        name = w["metadata"]["name"]
        pod = w["spec"]["template"]["spec"]
        c = container(w)
        check(probe_path(c, "livenessProbe") == "/livez", f"{case}: {name}: liveness must be /livez (no broker check)")
        check(probe_path(c, "readinessProbe") == "/readyz", f"{case}: {name}: readiness must be /readyz")
        check(pod["terminationGracePeriodSeconds"] > drain, f"{case}: {name}: grace period not above the drain bound")
        check(pod["securityContext"].get("runAsNonRoot") is True, f"{case}: {name}: may run as root")
        check(c["securityContext"].get("readOnlyRootFilesystem") is True, f"{case}: {name}: writable root filesystem")
        check(pod.get("automountServiceAccountToken") is False, f"{case}: {name}: mounts a service account token")
        sha = w["spec"]["template"]["metadata"].get("annotations", {}).get("checksum/config")
        check(sha, f"{case}: {name}: no checksum/config annotation (pods would not roll on a configuration change)")
    for kind in ["Deployment", "StatefulSet"]:
        for w in by_kind(docs, kind):
            component = w["metadata"]["labels"]["app.kubernetes.io/component"]
            if component == "mist-poller":
                check(w["spec"]["replicas"] == 1 and w["spec"]["strategy"]["type"] == "Recreate",
                      f"{case}: the Mist poller must be exactly one pod, never two during a rollout")
                continue
            pdbs = [p for p in by_kind(docs, "PodDisruptionBudget")
                    if p["spec"]["selector"]["matchLabels"].get("app.kubernetes.io/component") == component]
            check(len(pdbs) == 1, f"{case}: {component}: no PodDisruptionBudget")
    # Services route to ports their pods declare.
    for svc in by_kind(docs, "Service"):
        selector = svc["spec"]["selector"]
        pods = [w for w in workloads
                if all(w["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in selector.items())]
        check(pods, f"{case}: Service {svc['metadata']['name']} selects no pod")
        for port in svc["spec"]["ports"]:
            for w in pods:
                declared = {p["name"] for p in container(w).get("ports", [])}
                check(port["targetPort"] in declared,
                      f"{case}: Service {svc['metadata']['name']} targets port {port['targetPort']} that {w['metadata']['name']} does not declare")
    # Exactly the topic machinery asked for.
    management = values["topics"]["management"]
    job = named(docs, "Job", "-topics")
    check(bool(job) == (management == "job"), f"{case}: topic Job present={bool(job)} with management {management}")
    if job:
        check(job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade", f"{case}: the topic Job is not a pre-install hook")
        hook_config = named(docs, "ConfigMap", "-topics")
        check(hook_config and int(hook_config["metadata"]["annotations"]["helm.sh/hook-weight"])
              < int(job["metadata"]["annotations"]["helm.sh/hook-weight"]), f"{case}: the Job's ConfigMap must come before it")
    check(bool(by_kind(docs, "KafkaTopic")) == (management == "strimzi"), f"{case}: KafkaTopics with management {management}")
    for topic in by_kind(docs, "KafkaTopic"):
        check(topic["metadata"]["annotations"].get("helm.sh/resource-policy") == "keep",
              f"{case}: uninstalling would delete topic {topic['spec']['topicName']}")
    if job:
        # The hook runs before anything else: it must not wait for Secrets it does not use.
        names = {e["name"] for e in container(job).get("env", [])}
        extra = {e["name"] for e in values.get("extraEnv", [])}
        allowed = {"CALLSIGHT_CONFIG", "CALLSIGHT__KAFKA__CREATE_TOPICS", "CALLSIGHT__CODEC__SCHEMA_REGISTRY_PASSWORD"}
        stray = {n for n in names - extra - allowed if not n.startswith("CALLSIGHT__KAFKA__PROPERTIES__")}
        check(not stray, f"{case}: the topic Job gets environment it does not need: {sorted(stray)}")
    # The Ingress serves the public endpoints, and NDJSON only when a token guards it.
    for ingress in by_kind(docs, "Ingress"):
        paths = {p["path"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]}
        token = bool((values["secrets"].get("telemetryToken") or {}).get("name"))
        check({"/telemetry/mist", "/graph", "/teams"} <= paths, f"{case}: Ingress paths {paths}")
        check(("/telemetry" in paths) == token, f"{case}: /telemetry exposed={'/telemetry' in paths} with a token={token}")
    # The poller and the topic Job are scheduled where ingest pods are.
    for w in [named(docs, "Deployment", "-ingest"), named(docs, "Deployment", "-mist-poller"), job]:
        if w:
            tolerations = w["spec"]["template"]["spec"].get("tolerations", [])
            check(tolerations == values["ingestRole"]["tolerations"], f"{case}: {w['metadata']['name']} tolerations {tolerations}")
    ingest = named(docs, "Deployment", "-ingest")
    if ingest:
        pre_stop = values["ingestRole"]["preStopSeconds"]
        hook = container(ingest).get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command")
        check(hook == ["sleep", str(pre_stop)] if pre_stop else hook is None, f"{case}: ingest preStop {hook}")
        check(ingest["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > values["shutdown"]["drainTimeoutSeconds"] + pre_stop,
              f"{case}: the grace period does not cover preStop and drain")


def workload_summary(docs):
    """What callsight must accept: each container's configuration, environment, ports, arguments."""
    configs = {d["metadata"]["name"]: d["data"]["callsight.toml"] for d in by_kind(docs, "ConfigMap")}
    out = []
    for w in by_kind(docs, "Deployment") + by_kind(docs, "StatefulSet") + by_kind(docs, "Job"):
        pod = w["spec"]["template"]["spec"]
        c = pod["containers"][0]
        config_map = next(v["configMap"]["name"] for v in pod["volumes"] if v["name"] == "config")
        env = []
        for e in c.get("env", []):
            if "value" in e:
                env.append({"name": e["name"], "value": e["value"]})
            elif "secretKeyRef" in e.get("valueFrom", {}):
                env.append({"name": e["name"], "secret": e["valueFrom"]["secretKeyRef"]["name"]})
            else:
                env.append({"name": e["name"], "field": e["valueFrom"]["fieldRef"]["fieldPath"]})
        out.append({
            "kind": w["kind"],
            "name": w["metadata"]["name"],
            "args": c["args"],
            "config": configs[config_map],
            "env": env,
            "ports": {p["name"]: p["containerPort"] for p in c.get("ports", [])},
            "mounts": {m["name"]: m["mountPath"] for m in c.get("volumeMounts", [])},
        })
    return out


def topics_summary(docs):
    return [
        {
            "name": t["spec"]["topicName"],
            "partitions": t["spec"]["partitions"],
            "compacted": t["spec"]["config"]["cleanup.policy"] == "compact",
            "retention_ms": t["spec"]["config"].get("retention.ms"),
        }
        for t in by_kind(docs, "KafkaTopic")
    ]


def merged(base, override):
    out = dict(base)
    for k, v in override.items():
        out[k] = merged(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return out


def values_rows(chart):
    """The chart README's values table, from values.yaml: one row per key with a `# --` comment
    (a documented map covers its keys), and the keys left undocumented."""
    values = yaml.safe_load((chart / "values.yaml").read_text())
    rows, undocumented, stack, comment = [], [], [], None
    for line in (chart / "values.yaml").read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("# --"):
            comment = stripped[4:].strip()
            continue
        m = re.match(r"^( *)([A-Za-z0-9_]+):(.*)$", line)
        if not m or stripped.startswith("#") or stripped.startswith("- "):
            continue
        indent, key, rest = len(m.group(1)), m.group(2), m.group(3).strip()
        while stack and stack[-1][0] >= indent:
            stack.pop()
        covered = any(c for _, _, c in stack)
        keys = [k for _, k, _ in stack] + [key]
        path = ".".join(keys)
        if comment:
            value = values
            for k in keys:
                value = value[k]
            if isinstance(value, str):
                shown = value if value else '""'
            else:
                shown = json.dumps(value, separators=(", ", ": "))
            rows.append(f"| `{path}` | `{shown}` | {comment} |")
        elif rest and not covered:
            undocumented.append(path)
        stack.append((indent, key, comment is not None or covered))
        comment = None
    return rows, undocumented


def check_documentation(chart):
    rows, undocumented = values_rows(chart)
    check(not undocumented, f"values without a `# --` comment: {undocumented}")
    readme = (chart / "README.md").read_text()
    in_readme = [line for line in readme.splitlines() if re.match(r"^\| `[A-Za-z0-9_.]+` \|", line)]
    check(in_readme == rows, "the chart README's values table differs from values.yaml; "
          "print the right one with: python3 tests/python/chart.py --values-table helm/callsight")


# Values the chart must refuse, and the words of the reason.
REFUSED = [
    ({"shutdown": {"drainTimeoutSeconds": 40, "terminationGracePeriodSeconds": 30}}, "must exceed shutdown.drainTimeoutSeconds"),
    ({"processorRole": {"replicas": 20}}, "exceeds topics.streamPartitions"),
    ({"kafka": {"brokers": ""}}, "kafka.brokers is required"),
    ({"topics": {"management": "sometimes"}}, "management"),
    ({"topics": {"management": "strimzi"}}, "topics.strimziCluster is required"),
    ({"mistPoller": {"enabled": True}}, "needs secrets.mistApiTokens"),
    ({"privacy": {"mode": "open"}}, "mode"),
    ({"processor": {"retention": "six hours"}}, "retention"),
    ({"secrets": {"masterKey": {"name": "only-a-name"}}}, "masterKey"),
    ({"kafka": {"brokerz": "x:1"}}, "brokerz"),
    ({"shutdown": {"drainTimeoutSeconds": 30, "terminationGracePeriodSeconds": 33}}, "plus ingestRole.preStopSeconds"),
    ({"graph": {"publicUrl": "https://example.com/callsight"}}, "publicUrl"),
    ({"graph": {"publicUrl": "https://example.com:8443"}, "ingestRole": {"ingress": {"enabled": True}}}, "must not name a port"),
]


def main():
    if sys.argv[1] == "--values-table":
        print("| Key | Default | Description |\n|---|---|---|")
        print("\n".join(values_rows(Path(sys.argv[2]))[0]))
        return
    chart, out_path = Path(sys.argv[1]), Path(sys.argv[2])
    defaults = yaml.safe_load((chart / "values.yaml").read_text())
    cases = {"default": {}}
    for f in sorted((chart / "ci").glob("*-values.yaml")):
        cases[f.name.removesuffix("-values.yaml")] = yaml.safe_load(f.read_text())
    summary = {"cases": {}}
    for case, values in cases.items():
        errors = lint(chart, values)
        check(not errors, f"{case}: helm lint --strict: {errors}")
        effective = merged(defaults, values)
        docs = render(chart, values, [SERVICE_MONITOR])
        validate(docs, case)
        check_release(docs, effective, case)
        monitors = by_kind(docs, "ServiceMonitor")
        check(len(monitors) == 1, f"{case}: no ServiceMonitor although the cluster serves {SERVICE_MONITOR}")
        without = render(chart, values, [])
        check(not by_kind(without, "ServiceMonitor"), f"{case}: a ServiceMonitor rendered where the API does not exist")
        summary["cases"][case] = {
            "values": effective,
            "kinds": sorted({d["kind"] for d in docs}),
            "workloads": workload_summary(docs),
            "kafka_topics": topics_summary(docs),
        }
    for values, reason in REFUSED:
        try:
            render(chart, values, [])
            failures.append(f"values {values} were accepted; expected a refusal naming {reason!r}")
        except Exception as e:  # the SDK raises its own error types, each with Helm's message
            check(reason in str(e), f"values {values} refused, but not for {reason!r}: {e}")
    check_documentation(chart)
    out_path.write_text(json.dumps(summary, indent=1))
    if failures:
        print("\n".join(failures), file=sys.stderr)
        sys.exit(1)
    print(f"chart: {len(cases)} value sets linted, rendered and validated for Kubernetes {', '.join(KUBE_VERSIONS)}; "
          f"{len(REFUSED)} bad value sets refused")


if __name__ == "__main__":
    main()
