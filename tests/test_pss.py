"""Pod Security Standards "restricted": every pod of both stacks passes (as KubeRay and the Dask operator create them),
and every rule of the checker can fail with a precise message."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from stack_renders import STACKS, manifests

from raydask.k8s import pss
from raydask.offline import scan
from raydask.offline.validation import validate_objects

Pod = dict[str, Any]


def compliant() -> Pod:
    """A minimal pod spec that passes "restricted"."""
    return {
        "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "app", "image": "app:1.0",
                        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}],
        "volumes": [{"name": "scratch", "emptyDir": {}}],
    }


def ctx(pod: Pod, i: int = 0, kind: str = "containers") -> dict[str, Any]:
    return pod[kind][i].setdefault("securityContext", {})


def set_(path: str, value: Any) -> Callable[[Pod], None]:
    """A mutation setting a dotted path (``containers.0.securityContext.privileged``)."""

    def mutate(pod: Pod) -> None:
        *parents, last = path.split(".")
        node: Any = pod
        for part in parents:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        node[last] = value

    return mutate


def delete(path: str) -> Callable[[Pod], None]:
    def mutate(pod: Pod) -> None:
        *parents, last = path.split(".")
        node: Any = pod
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[last]

    return mutate


def add_container(kind: str, **security: Any) -> Callable[[Pod], None]:
    def mutate(pod: Pod) -> None:
        pod.setdefault(kind, []).append({"name": "extra", "image": "extra:1",
                                         "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                                             **security}})

    return mutate


C0 = "spec.containers[0].securityContext"
FAILS = [
    ("hostNetwork", set_("hostNetwork", True), "spec.hostNetwork", "Host Namespaces",
     "must be false or unset: host namespaces are not allowed"),
    ("hostPID", set_("hostPID", True), "spec.hostPID", "Host Namespaces", "must be false or unset: host namespaces are not allowed"),
    ("hostIPC", set_("hostIPC", True), "spec.hostIPC", "Host Namespaces", "must be false or unset: host namespaces are not allowed"),
    ("privileged", set_("containers.0.securityContext.privileged", True), f"{C0}.privileged", "Privileged Containers",
     "container 'app': must be false or unset"),
    ("capabilities-add", set_("containers.0.securityContext.capabilities.add", ["SYS_ADMIN", "NET_BIND_SERVICE"]),
     f"{C0}.capabilities.add", "Capabilities",
     "container 'app': only NET_BIND_SERVICE may be added, got SYS_ADMIN (SYS_ADMIN only privileged allows)"),
    ("capabilities-drop", set_("containers.0.securityContext.capabilities.drop", ["NET_RAW"]), f"{C0}.capabilities.drop",
     "Capabilities", "container 'app': must drop ALL capabilities"),
    ("hostPath", set_("volumes", [{"name": "root", "hostPath": {"path": "/"}}]), "spec.volumes[0].hostPath", "HostPath Volumes",
     "volume 'root': hostPath volumes are not allowed"),
    ("volume-type", set_("volumes", [{"name": "nfs", "nfs": {"server": "nfs", "path": "/"}}]), "spec.volumes[0]", "Volume Types",
     "volume 'nfs' is of type nfs; only configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, "
     "secret are allowed"),
    ("hostPort", set_("containers.0.ports", [{"containerPort": 80, "hostPort": 80}]), "spec.containers[0].ports[0].hostPort",
     "Host Ports", "container 'app': host ports are not allowed, got 80"),
    ("apparmor-field", set_("containers.0.securityContext.appArmorProfile", {"type": "Unconfined"}), f"{C0}.appArmorProfile.type",
     "AppArmor", "AppArmor profile type 'Unconfined' is not allowed; use RuntimeDefault or Localhost"),
    ("apparmor-pod-field", set_("securityContext.appArmorProfile", {"type": "Unconfined"}), "spec.securityContext.appArmorProfile.type",
     "AppArmor", "AppArmor profile type 'Unconfined' is not allowed; use RuntimeDefault or Localhost"),
    ("selinux-type", set_("containers.0.securityContext.seLinuxOptions", {"type": "spc_t"}), f"{C0}.seLinuxOptions.type",
     "SELinux", "SELinux type 'spc_t' is not allowed; use one of container_engine_t, container_init_t, container_kvm_t, container_t"),
    ("selinux-user", set_("securityContext.seLinuxOptions", {"user": "system_u"}), "spec.securityContext.seLinuxOptions.user",
     "SELinux", "custom SELinux users and roles are not allowed"),
    ("procMount", set_("containers.0.securityContext.procMount", "Unmasked"), f"{C0}.procMount", "/proc Mount Type",
     "container 'app': must be Default or unset, got 'Unmasked'"),
    ("seccomp-unconfined", set_("securityContext.seccompProfile", {"type": "Unconfined"}), "spec.securityContext.seccompProfile.type",
     "Seccomp", "must be RuntimeDefault or Localhost, got 'Unconfined'"),
    ("seccomp-container-unconfined", set_("containers.0.securityContext.seccompProfile", {"type": "Unconfined"}),
     f"{C0}.seccompProfile.type", "Seccomp", "container 'app': must be RuntimeDefault or Localhost, got 'Unconfined'"),
    ("seccomp-missing", delete("securityContext.seccompProfile"), f"{C0}.seccompProfile.type", "Seccomp",
     "container 'app': set RuntimeDefault or Localhost (here or in the pod's securityContext)"),
    ("sysctl", set_("securityContext.sysctls", [{"name": "kernel.msgmax", "value": "1"}]), "spec.securityContext.sysctls[0].name",
     "Sysctls", "sysctl 'kernel.msgmax' is not allowed; only kernel.shm_rmid_forced, net.ipv4.ip_local_port_range, "
                "net.ipv4.ip_local_reserved_ports, net.ipv4.ip_unprivileged_port_start, net.ipv4.ping_group_range, "
                "net.ipv4.tcp_fin_timeout, net.ipv4.tcp_keepalive_intvl, net.ipv4.tcp_keepalive_probes, "
                "net.ipv4.tcp_keepalive_time, net.ipv4.tcp_syncookies"),
    ("escalation-missing", delete("containers.0.securityContext.allowPrivilegeEscalation"), f"{C0}.allowPrivilegeEscalation",
     "Privilege Escalation", "container 'app': must be false"),
    ("escalation-true", set_("containers.0.securityContext.allowPrivilegeEscalation", True), f"{C0}.allowPrivilegeEscalation",
     "Privilege Escalation", "container 'app': must be false"),
    ("non-root-missing", delete("securityContext.runAsNonRoot"), f"{C0}.runAsNonRoot", "Running as Non-root",
     "container 'app': must be true (here or in the pod's securityContext)"),
    ("non-root-false", set_("containers.0.securityContext.runAsNonRoot", False), f"{C0}.runAsNonRoot", "Running as Non-root",
     "container 'app': must not be false"),
    ("uid-0", set_("securityContext.runAsUser", 0), "spec.securityContext.runAsUser", "Running as Non-root user",
     "must not be 0 (root)"),
    ("uid-0-container", set_("containers.0.securityContext.runAsUser", 0), f"{C0}.runAsUser", "Running as Non-root user",
     "must not be 0 (root)"),
    ("uid-not-numeric", set_("securityContext.runAsUser", "1000"), "spec.securityContext.runAsUser", "Running as Non-root user",
     "must be a numeric ID, got '1000'"),
    ("gid-not-numeric", set_("containers.0.securityContext.runAsGroup", True), f"{C0}.runAsGroup", "Running as Non-root user",
     "must be a numeric ID, got True"),
    ("hostProcess", set_("securityContext.windowsOptions", {"hostProcess": True}), "spec.securityContext.windowsOptions.hostProcess",
     "HostProcess", "must be false or unset"),
    ("init-container", add_container("initContainers", privileged=True), "spec.initContainers[0].securityContext.privileged",
     "Privileged Containers", "container 'extra': must be false or unset"),
    ("ephemeral-container", add_container("ephemeralContainers", allowPrivilegeEscalation=True),
     "spec.ephemeralContainers[0].securityContext.allowPrivilegeEscalation", "Privilege Escalation", "container 'extra': must be false"),
]


@pytest.mark.parametrize(("mutate", "path", "control", "message"), [f[1:] for f in FAILS], ids=[f[0] for f in FAILS])
def test_each_rule_fails_precisely(mutate: Callable[[Pod], None], path: str, control: str, message: str) -> None:
    pod = compliant()
    mutate(pod)
    assert [(v.path, v.control, v.message) for v in pss.check_pod_spec(pod)] == [(path, control, message)]


def test_apparmor_annotation_is_checked_on_templates() -> None:
    template = {"metadata": {"annotations": {"container.apparmor.security.beta.kubernetes.io/app": "unconfined"}}, "spec": compliant()}
    (v,) = pss.check_template(template, "spec.template")
    assert str(v) == ("spec.template.metadata.annotations['container.apparmor.security.beta.kubernetes.io/app']: AppArmor profile "
                      "'unconfined' is not allowed; use runtime/default or localhost/<profile> (baseline: AppArmor)")


PASSES = [
    ("compliant", lambda pod: None),
    ("container-level-only", lambda pod: (pod.pop("securityContext"), ctx(pod).update(
        runAsNonRoot=True, seccompProfile={"type": "Localhost", "localhostProfile": "p"}))),
    ("net-bind-service", set_("containers.0.securityContext.capabilities.add", ["NET_BIND_SERVICE"])),
    ("safe-sysctl", set_("securityContext.sysctls", [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}])),
    ("allowed-volumes", set_("volumes", [{"name": "a", "configMap": {"name": "c"}}, {"name": "b", "secret": {"secretName": "s"}},
                                         {"name": "c", "projected": {"sources": []}}, {"name": "d", "csi": {"driver": "x"}},
                                         {"name": "e", "downwardAPI": {}}, {"name": "f", "ephemeral": {}},
                                         {"name": "g", "persistentVolumeClaim": {"claimName": "g"}}, {"name": "h"}])),
    ("selinux-container-t", set_("securityContext.seLinuxOptions", {"type": "container_t", "level": "s0:c1"})),
    ("apparmor-runtime-default", set_("containers.0.securityContext.appArmorProfile", {"type": "RuntimeDefault"})),
    ("proc-default", set_("containers.0.securityContext.procMount", "Default")),
    ("host-port-zero", set_("containers.0.ports", [{"containerPort": 80, "hostPort": 0}])),
    # Windows pods are exempt from seccomp, privilege escalation and capabilities (as in the API server)
    ("windows", lambda pod: (pod.update(os={"name": "windows"}), pod["securityContext"].pop("seccompProfile"),
                             pod["containers"][0].pop("securityContext"))),
]


@pytest.mark.parametrize("mutate", [p[1] for p in PASSES], ids=[p[0] for p in PASSES])
def test_compliant_variants_pass(mutate: Callable[[Pod], Any]) -> None:
    pod = compliant()
    mutate(pod)
    assert pss.check_pod_spec(pod) == []


def test_not_a_pod_spec() -> None:
    assert [str(v) for v in pss.check_pod_spec(None)] == ["spec: expected a pod spec (mapping), got NoneType (restricted: Pod spec)"]


# --------------------------------------------------------------------------------------------------------------------
# the stacks
# --------------------------------------------------------------------------------------------------------------------

EXPECTED = {
    "dev": {"kuberay-operator", "dev-head", "dev-worker-cpu", "hello-head", "hello-submitter", "dask-kubernetes-operator",
            "dask-scheduler", "dask-default-worker-0000000000"},
    "production": {"kuberay-operator", "train-head", "train-worker-cpu", "train-worker-gpu", "fruit-head", "fruit-worker-cpu",
                   "dask-kubernetes-operator", "analytics-scheduler", "analytics-default-worker-0000000000",
                   "analytics-gpu-worker-0000000000"},
}


@pytest.mark.parametrize("stack", STACKS)
def test_every_pod_of_the_stack_is_restricted(stack: str) -> None:
    templates = scan.pod_templates(manifests(stack))
    assert {t.name for t in templates} == EXPECTED[stack]
    problems = [f"{t.source} {t.locate(v.path.removeprefix('template.'))}: {v.message}"
                for t in templates for v in pss.check_template(t.template)]
    assert problems == []


@pytest.mark.parametrize("stack", STACKS)
def test_kuberay_additions_are_scanned(stack: str) -> None:
    """The autoscaler sidecar (from autoscalerOptions) and the workers' init container are part of the checked pods."""
    by_name = {t.name: t for t in scan.pod_templates(manifests(stack))}
    head = by_name["dev-head" if stack == "dev" else "train-head"].template["spec"]
    autoscaler = next(c for c in head["containers"] if c["name"] == scan.AUTOSCALER)
    assert autoscaler["securityContext"]["allowPrivilegeEscalation"] is False and autoscaler["resources"]["limits"]
    assert {"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": True} in \
        autoscaler["volumeMounts"]
    assert head["automountServiceAccountToken"] is False and head["serviceAccountName"]
    worker = by_name["dev-worker-cpu" if stack == "dev" else "train-worker-cpu"].template["spec"]
    (init,) = worker["initContainers"]
    assert init["name"] == scan.WAIT_GCS and init["securityContext"] == worker["containers"][0]["securityContext"]


def test_policy_violation_paths_point_at_the_source() -> None:
    rc = next(o for o in manifests("production") if o["kind"] == "RayCluster")
    broken = copy.deepcopy(rc)
    del broken["spec"]["autoscalerOptions"]["securityContext"]
    head = next(t for t in scan.templates_of(broken) if t.name == "train-head")
    paths = {head.locate(v.path.removeprefix("template.")) for v in pss.check_template(head.template)}
    assert paths == {"spec.autoscalerOptions.securityContext.allowPrivilegeEscalation",
                     "spec.autoscalerOptions.securityContext.capabilities.drop"}


@pytest.mark.parametrize("stack", STACKS)
def test_scanner_workloads_are_valid_kubernetes(stack: str) -> None:
    """The Deployments and Jobs standing in for operator-made pods are themselves valid objects."""
    generated = [m for m in scan.scanner_manifests(manifests(stack)) if "raydask.io/source" in m["metadata"].get("annotations", {})]
    assert {m["kind"] for m in generated} <= {"Deployment", "Job"} and generated
    assert [str(f) for f in validate_objects(generated) if f.check == "schema"] == []
