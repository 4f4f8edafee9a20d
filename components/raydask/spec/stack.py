"""The whole stack configuration: every ``raydask:*`` key."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import AfterValidator, ModelWrapValidatorHandler, model_validator

from raydask.errors import Path
from raydask.k8s import pss
from raydask.k8s.naming import DaskNames, RayNames, network_policy_group
from raydask.spec.base import Label, MonitoringSpec, PullPolicy, Spec
from raydask.spec.dask import DASK_CHART, DaskClusterSpec, DaskJobSpec, DaskOperatorSpec
from raydask.spec.kuberay import KUBERAY_CHART, KubeRayOperatorSpec
from raydask.spec.needs import Needs
from raydask.spec.operators import OperatorSpec, operator_versions
from raydask.spec.overrides import pod_security_levels
from raydask.spec.ray import RayClusterSpec
from raydask.spec.ray_cron_job import RayCronJobSpec
from raydask.spec.ray_workloads import RayJobSpec, RayServiceSpec
from raydask.spec.security import AuthSpec, NetworkPolicySpec, effective_network_policy, stack_problems


def _kubernetes_version(value: str) -> str:
    if re.fullmatch(r"1\.(2[5-9]|3[0-7])", value):
        return value
    if re.fullmatch(r"1\.[2-3]", value):
        raise ValueError(f"'{value}' is not a Kubernetes minor version: if you wrote {value}0 unquoted, YAML read the number "
                         f"{value}; quote it (\"{value}0\")")
    raise ValueError(f"'{value}' is not a Kubernetes minor version raydask validates against: 1.25 to 1.37, quoted "
                     "(\"1.31\")")


KubernetesVersion = Annotated[str, AfterValidator(_kubernetes_version)]
"""A Kubernetes minor version from 1.25 to 1.37."""
KUBERNETES_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")
"""Namespaces Kubernetes creates for itself."""
KUBERAY_NETWORK_POLICY = "kuberay-operator-netpol"
DASK_OPERATOR_NETWORK_POLICY = "dask-kubernetes-operator-netpol"
Workload = RayClusterSpec | RayJobSpec | RayServiceSpec | DaskClusterSpec | DaskJobSpec


COMPANION_KEYS = (".configMaps[", ".secrets[", ".serviceAccounts[")


def _same_workload(a: str, b: str) -> bool:
    """Whether owners ``a`` and ``b`` are one workload and its parts (``rayClusters[0]``, ``rayClusters[0].worker``): its
    parts never clash with each other, but a declared object (``rayClusters[0].secrets[1]``) clashes like any other."""
    short, long = sorted((a, b), key=len)
    return long.startswith(short) and not long[len(short):].startswith(COMPANION_KEYS)


def declared_operator_versions(data: Any) -> dict[str, str]:
    """The chart version of each operator a stack's input (a mapping or a StackSpec) declares, by chart; what is not
    declared (or not a version string) is left out."""
    if isinstance(data, StackSpec):
        given: dict[str, Any] = {"kuberay": data.kuberay, "daskOperator": data.dask_operator}
    elif isinstance(data, dict):
        given = {"kuberay": data.get("kuberay"), "daskOperator": data.get("daskOperator", data.get("dask_operator"))}
    else:
        return {}
    out = {}
    for key, chart in (("kuberay", KUBERAY_CHART), ("daskOperator", DASK_CHART)):
        value = given[key]
        version = value.version if isinstance(value, OperatorSpec) else value.get("version") if isinstance(value, dict) else None
        if isinstance(version, str):
            out[chart] = version
    return out


class StackSpec(Spec):
    """All ``raydask:`` stack configuration keys."""

    namespace: Label = "ray"
    """Default namespace for everything; default ``ray``."""
    create_namespace: bool = True
    """Create the namespaces used by the stack; default true."""
    protect: bool = False
    """Protect every resource of the stack (Pulumi's ``protect``): ``pulumi destroy`` and any change that would delete or
    replace one of them stop before anything is deleted; default false, true in production."""
    kubernetes_version: KubernetesVersion = "1.31"
    """Target Kubernetes minor version for schema validation; default ``1.31``."""
    image_pull_policy: PullPolicy | None = None
    """Pull policy of every image raydask renders (the operators', the Ray and Dask pods', the RayJob submitter's) whose
    own ``imagePullPolicy`` is unset; default none: ``Always`` for a tag (the registry may move it), ``IfNotPresent``
    for a digest. ``IfNotPresent`` for clusters whose images are loaded onto the nodes (``kind load``, ``minikube
    image load``) or pulled once from a mirror."""
    kuberay: KubeRayOperatorSpec | None = None
    """Install the KubeRay operator; default not installed (installed elsewhere)."""
    monitoring: MonitoringSpec | None = None
    """Prometheus operator integration; default none."""
    require_tls: bool = False
    """Refuse every Ingress without ``tlsSecret``; default false, true in production."""
    network_policy: NetworkPolicySpec | None = None
    """NetworkPolicies for every cluster (a cluster's own ``networkPolicy`` keys win); default none, on in production."""
    ray_auth: AuthSpec | None = None
    """Ray token authentication for every Ray cluster without its own ``auth``; default none (off), on in production."""
    ray_clusters: list[RayClusterSpec] = []
    """Ray clusters; default none."""
    ray_jobs: list[RayJobSpec] = []
    """Ray batch jobs (RayJob); default none."""
    ray_cron_jobs: Annotated[list[RayCronJobSpec], Needs(kuberay="1.7.0", crd="RayCronJob", gate="RayCronJob")] = []
    """Ray batch jobs on a schedule (RayCronJob: KubeRay creates a RayJob at each scheduled time); default none."""
    ray_services: list[RayServiceSpec] = []
    """Ray Serve applications (RayService); default none."""
    dask_operator: DaskOperatorSpec | None = None
    """Install the Dask operator; default not installed (installed elsewhere)."""
    dask_clusters: list[DaskClusterSpec] = []
    """Dask clusters; default none."""
    dask_jobs: list[DaskJobSpec] = []
    """Dask batch jobs (DaskJob), each on a cluster of its own; default none."""

    @model_validator(mode="wrap")
    @classmethod
    def _on_its_operators(cls, data: Any, handler: ModelWrapValidatorHandler[StackSpec]) -> StackSpec:
        """Nested models are checked against the operator versions the stack installs (``kuberay.version``,
        ``daskOperator.version``; the defaults when it installs none): the PodSpec a ``podPatch`` lands in is the one
        that version's CRD embeds."""
        with operator_versions(declared_operator_versions(data)):
            return handler(data)

    def problems(self) -> list[tuple[Path, str]]:
        return [*super().problems(), *self._name_problems(), *self._namespace_problems(), *self._secret_key_problems(),
                *self._batch_scheduler_problems(), *self._warm_start_problems(), *stack_problems(self)]

    def _warm_start_problems(self) -> list[tuple[Path, str]]:
        """A starting count above ``minReplicas`` patches one field of a worker group: it needs raydask's RayCluster
        CRD, whose ``workerGroupSpecs`` is a list map (upstream's atomic list would make the patch a conflict)."""
        if self.kuberay is None or self.kuberay.crds.manage:
            return []
        return [(f"rayClusters.{i}.workerGroups.{j}.replicas",
                 "a starting count above minReplicas needs raydask's RayCluster CRD (workerGroupSpecs as a list map, so it "
                 "is applied to the group alone), which kuberay.crds.manage: false leaves to Helm: remove replicas, or let "
                 "raydask manage the CRDs")
                for i, c in enumerate(self.ray_clusters) for j, g in enumerate(c.worker_groups) if g in c.warm_start()]

    def _batch_scheduler_problems(self) -> list[tuple[Path, str]]:
        """Workloads asking the stack's KubeRay operator for a batch scheduler it does not run (it would read none of
        their labels)."""
        if self.kuberay is None:
            return []  # an operator installed elsewhere: its --batch-scheduler is not known here
        have = self.kuberay.batch_scheduler
        out: list[tuple[Path, str]] = []
        for field, i, w in self.workloads():
            batch = getattr(w, "batch_scheduling", None)
            if batch is None or batch.scheduler == have:
                continue
            runs = f"runs {have}" if have else "runs no batch scheduler"
            out.append((f"{field}.{i}.batchScheduling.scheduler",
                        f"the stack's KubeRay operator {runs} (raydask:kuberay.batchScheduler), so it would ignore "
                        f"{batch.scheduler}'s labels: set raydask:kuberay.batchScheduler: {batch.scheduler}"))
        return out

    def _secret_key_problems(self) -> list[tuple[Path, str]]:
        """Secrets that would read a raydask setting (``raydask:namespace``) as their value."""
        settings = {f.alias or n for n, f in type(self).model_fields.items()}
        return [((field, i, *path), f"reads raydask:{ref}, which is a raydask setting, not a secret: choose another key "
                                    f"(e.g. {ref}Secret)")
                for field, i, w in self.workloads() for path, ref in w.secret_references() if ref in settings]

    def workloads(self) -> list[tuple[str, int, Workload]]:
        """(config key, index, spec) of every Ray cluster, job, service and Dask cluster, in declaration order."""
        kinds: list[tuple[str, Sequence[Workload]]] = [
            ("rayClusters", self.ray_clusters), ("rayJobs", self.ray_jobs), ("rayCronJobs", self.ray_cron_jobs),
            ("rayServices", self.ray_services), ("daskClusters", self.dask_clusters), ("daskJobs", self.dask_jobs)]
        return [(field, i, w) for field, items in kinds for i, w in enumerate(items)]

    def serve_ports(self) -> list[int]:
        """The Serve ports of the stack's RayServices (the KubeRay operator probes Serve's proxies there)."""
        return sorted({s.cluster.head.serve_port for s in self.ray_services})

    def _name_problems(self) -> list[tuple[Path, str]]:
        """Names that collide: two workloads of one name in a namespace (they share Services, Ingresses, NetworkPolicies
        and pod labels), and any object raydask or an operator derives from a name that another one also makes."""
        problems: list[tuple[Path, str]] = []
        seen: dict[tuple[str, str], str] = {}
        for field, i, w in self.workloads():
            key = (w.namespace or self.namespace, w.name)
            if key in seen:
                problems.append((f"{field}.{i}.name", f"duplicate cluster name '{w.name}' in namespace '{key[0]}' (also "
                                                      f"{seen[key]})"))
            else:
                seen[key] = f"{field}[{i}]"
        if problems:
            return problems
        made: dict[tuple[str, str, str], str] = {}
        for ns, kind, name, blame, owner in self.derived_objects():
            other = made.setdefault((ns, kind, name), owner)
            if other != owner and not _same_workload(other, owner):
                problems.append((blame, f"makes the {kind} {ns}/{name}, which {other} makes too: choose another name"))
        return list(dict.fromkeys(problems))

    def derived_objects(self) -> list[tuple[str, str, str, Path, str]]:
        """(namespace, kind, name, key to blame, owner) of the objects each operator and workload makes, or has its
        operator make, by name -- those it may make too (an Ingress once a host is set), so that turning a key on never
        collides. ``tests/test_derived_names.py`` holds it to the builders: every object they make is listed."""
        out: list[tuple[str, str, str, Path, str]] = []
        stack_policy = effective_network_policy(self.network_policy, None)
        if self.kuberay and stack_policy:
            out.append((self.kuberay.namespace or self.namespace, "NetworkPolicy", KUBERAY_NETWORK_POLICY, "kuberay",
                        "the KubeRay operator (raydask:kuberay)"))
        if self.dask_operator and stack_policy:
            out.append((self.dask_operator.namespace or self.namespace, "NetworkPolicy", DASK_OPERATOR_NETWORK_POLICY,
                        "daskOperator", "the Dask operator (raydask:daskOperator)"))
        for field, i, w in self.workloads():
            ns = w.namespace or self.namespace
            key, owner = f"{field}.{i}.name", f"{field}[{i}]"
            objects: list[tuple[str, str, Path, str]] = []
            policy = effective_network_policy(self.network_policy, getattr(w, "network_policy", None))
            if isinstance(w, DaskJobSpec):
                netpol = DaskNames.network_policy(w.name)
                objects += [("DaskJob", w.name, key, owner), ("DaskCluster", w.name, key, owner),
                            ("Service", DaskNames.scheduler_service(w.name), key, owner),
                            ("DaskWorkerGroup", DaskNames.default_worker_group(w.name), key, owner),
                            ("Pod", f"{w.name}-runner", key, owner)]
                if policy:
                    objects += [("NetworkPolicy", netpol, key, owner),
                                ("NetworkPolicy", network_policy_group(netpol, "scheduler"), key, owner)]
            elif isinstance(w, DaskClusterSpec):
                netpol = DaskNames.network_policy(w.name)
                objects += [("DaskCluster", w.name, key, owner), ("DaskAutoscaler", DaskNames.autoscaler(w.name), key, owner),
                            ("Service", DaskNames.scheduler_service(w.name), key, owner),
                            ("Ingress", DaskNames.ingress(w.name), key, owner),
                            ("DaskWorkerGroup", DaskNames.default_worker_group(w.name), key, f"{owner}.worker"),
                            *(("DaskWorkerGroup", DaskNames.worker_group(w.name, g.name), f"{field}.{i}.workerGroups.{j}.name",
                               f"{owner}.workerGroups[{j}]") for j, g in enumerate(w.worker_groups))]
                if policy:
                    objects += [("NetworkPolicy", netpol, key, owner),
                                ("NetworkPolicy", network_policy_group(netpol, "scheduler"), key, owner)]
            else:
                job_cluster = isinstance(w, RayJobSpec) and w.cluster is None
                if isinstance(w, RayJobSpec | RayServiceSpec) and w.cluster is not None:
                    policy = effective_network_policy(self.network_policy, w.cluster.network_policy)
                netpol = RayNames.network_policy(w.name, "netpol")
                head = w.head_service_name if isinstance(w, RayClusterSpec) else RayNames.head_service(w.name)
                kind = {RayClusterSpec: "RayCluster", RayJobSpec: "RayJob", RayCronJobSpec: "RayCronJob",
                        RayServiceSpec: "RayService"}[type(w)]
                names = [(kind, w.name), ("Service", head), ("Service", RayNames.metrics_service(w.name)),
                         ("ServiceMonitor", RayNames.service_monitor(w.name)), ("Ingress", RayNames.ingress(w.name, "serve"))]
                if isinstance(w, RayClusterSpec):
                    names += [("Ingress", RayNames.ingress(w.name, "dashboard")), ("Service", RayNames.external_service(w.name))]
                    ft = w.gcs_fault_tolerance
                    if ft is not None and ft.sends_password and ft.password_secret is None:
                        names.append(("Secret", RayNames.redis_password_secret(w.name)))
                    if ft is not None and not ft.redis and not (ft.storage and ft.storage.claim_name):
                        names.append(("PersistentVolumeClaim", f"{w.name}-gcs-pvc"))
                if isinstance(w, RayJobSpec) and w.head_service_name not in (None, head):  # the job's cluster's
                    objects.append(("Service", w.head_service_name, f"{field}.{i}.cluster.head.service.name", owner))
                if isinstance(w, RayServiceSpec):
                    names.append(("Service", w.serve_service_name))
                    ft = w.cluster.gcs_fault_tolerance
                    if ft is not None and ft.sends_password and ft.password_secret is None:
                        names.append(("Secret", RayNames.redis_password_secret(w.name)))
                if policy:
                    names.append(("NetworkPolicy", netpol))
                    if not job_cluster:
                        names.append(("NetworkPolicy", network_policy_group(netpol, "head")))
                objects += [(kind, name, key, owner) for kind, name in names]
            objects += [("ConfigMap", f"{w.name}-{cm.name}", f"{field}.{i}.configMaps.{j}.name", f"{owner}.configMaps[{j}]")
                        for j, cm in enumerate(w.config_maps)]
            objects += [("Secret", f"{w.name}-{sec.name}", f"{field}.{i}.secrets.{j}.name", f"{owner}.secrets[{j}]")
                        for j, sec in enumerate(w.secrets)]
            objects += [(kind, f"{w.name}-{sa.name}", f"{field}.{i}.serviceAccounts.{j}.name", f"{owner}.serviceAccounts[{j}]")
                        for j, sa in enumerate(w.service_accounts) for kind in ("ServiceAccount", "Role", "RoleBinding")]
            out += [(ns, kind, name, blame, who) for kind, name, blame, who in objects]
        return out

    def namespace_keys(self) -> list[tuple[Path, str]]:
        """(key, namespace) of every namespace the stack puts objects in, by the key that names it (a workload without
        its own namespace is blamed on ``namespace``, the stack's)."""
        found: list[tuple[Path, str]] = [("namespace", self.namespace)]
        for key, op in (("kuberay", self.kuberay), ("daskOperator", self.dask_operator)):
            if op is not None:
                found.append((f"{key}.namespace" if op.namespace else "namespace", op.namespace or self.namespace))
        if self.kuberay is not None:
            found += [(("kuberay", "watchNamespaces", i), ns) for i, ns in enumerate(self.kuberay.watch_namespaces)]
        found += [(f"{field}.{i}.namespace" if w.namespace else "namespace", w.namespace or self.namespace)
                  for field, i, w in self.workloads()]
        return found

    def _foreign_namespaces(self) -> dict[str, str]:
        """Namespaces the stack names as someone else's (Prometheus, the Ingress controller, the cluster DNS, an operator
        it does not install), with whose."""
        out: dict[str, str] = {}
        if self.monitoring is not None:
            out[self.monitoring.namespace] = "Prometheus's namespace (raydask:monitoring.namespace)"
        policies = [("raydask:networkPolicy", self.network_policy)]
        policies += [(f"raydask:{field}[{i}].networkPolicy", getattr(w, "network_policy", None)) for field, i, w in self.workloads()]
        policies += [(f"raydask:{field}[{i}].cluster.networkPolicy", w.cluster.network_policy)
                     for field, i, w in self.workloads() if isinstance(w, RayJobSpec | RayServiceSpec) and w.cluster is not None]
        for key, policy in policies:
            if policy is None:
                continue
            out.setdefault(policy.ingress_controller_namespace, f"the Ingress controller's namespace ({key}.ingressControllerNamespace)")
            out.setdefault(policy.dns_namespace, f"the cluster DNS's namespace ({key}.dnsNamespace)")
            if policy.operator_namespace is not None:
                out.setdefault(policy.operator_namespace, f"an operator's namespace ({key}.operatorNamespace)")
        return out

    def _reserved_namespace_problems(self) -> list[tuple[Path, str]]:
        """Namespaces raydask must not use or own: Kubernetes' own, ``default`` when it would create (adopt) the
        Namespace, and those the stack names as someone else's."""
        problems: list[tuple[Path, str]] = []
        foreign = self._foreign_namespaces() if self.create_namespace else {}
        own = {op.namespace or self.namespace for op in (self.kuberay, self.dask_operator) if op is not None}
        for key, ns in self.namespace_keys():
            if ns in KUBERNETES_NAMESPACES:
                problems.append((key, f"'{ns}' is Kubernetes' own namespace ({', '.join(KUBERNETES_NAMESPACES)} hold the "
                                      "control plane's objects): raydask would label it Pod Security restricted and its "
                                      "workloads would run beside the control plane; choose a namespace of your own"))
            elif ns == "default" and self.create_namespace:
                problems.append((key, "'default' exists in every cluster: raydask would take it over (label it Pod Security "
                                      "restricted for every pod in it, and own it in the Pulumi state); choose a namespace "
                                      "of your own, or set raydask:createNamespace: false"))
            elif ns in foreign and ns not in own:
                problems.append((key, f"'{ns}' is {foreign[ns]}: raydask would create it, label it Pod Security restricted "
                                      "(its own pods would then be refused) and delete it on pulumi destroy; choose a "
                                      "namespace of your own, or set raydask:createNamespace: false"))
        return list(dict.fromkeys(problems))

    def _cluster_selector_problems(self) -> list[tuple[Path, str]]:
        """RayJobs whose ``clusterSelector`` names no RayCluster of the stack in the job's namespace (KubeRay looks only
        there, and waits for it forever)."""
        problems: list[tuple[Path, str]] = []
        clusters: dict[str, list[str]] = {}
        for c in self.ray_clusters:
            clusters.setdefault(c.name, []).append(c.namespace or self.namespace)
        for i, job in enumerate(self.ray_jobs):
            name, ns = job.cluster_selector, job.namespace or self.namespace
            if name is None or job.external_cluster or ns in clusters.get(name, []):
                continue
            if name in clusters:
                where = " and ".join(f"'{n}'" for n in clusters[name])
                problems.append((f"rayJobs.{i}.clusterSelector", f"the stack's RayCluster '{name}' is in namespace {where}, "
                                                                 f"this job in '{ns}': KubeRay looks for the cluster in the "
                                                                 f"job's namespace only; set rayJobs[{i}].namespace: "
                                                                 f"{clusters[name][0]}"))
            else:
                known = ", ".join(f"{n} ({', '.join(nss)})" for n, nss in clusters.items()) or "none"
                problems.append((f"rayJobs.{i}.clusterSelector", f"'{name}' is not a RayCluster of this stack (its RayClusters: "
                                                                 f"{known}): the job would wait for it forever; name one of "
                                                                 "them, or set externalCluster: true for a cluster made "
                                                                 "elsewhere"))
        return problems

    def _namespace_problems(self) -> list[tuple[Path, str]]:
        """Workloads in namespaces their operator does not watch: they would never be reconciled."""
        problems: list[tuple[Path, str]] = [*self._reserved_namespace_problems(), *self._cluster_selector_problems()]
        if self.kuberay is not None:
            op_ns = self.kuberay.namespace or self.namespace
            watched = list(self.kuberay.watch_namespaces) or ([op_ns] if self.kuberay.single_namespace_install else [])
            if watched:
                why = (f"raydask:kuberay.watchNamespaces lists {', '.join(watched)}" if self.kuberay.watch_namespaces else
                       f"with singleNamespaceInstall and no watchNamespaces it watches only its own namespace, {op_ns}")
                for field, i, w in self.workloads():
                    ns = w.namespace or self.namespace
                    if not isinstance(w, DaskClusterSpec | DaskJobSpec) and ns not in watched:
                        given = f"'{ns}'" if w.namespace else f"'{ns}' (the stack's namespace)"
                        problems.append((f"{field}.{i}.namespace", f"{given} is not watched by the KubeRay operator ({why}), so "
                                                                   "nothing would reconcile it: add the namespace to "
                                                                   "kuberay.watchNamespaces, or choose a watched one"))
        op = self.dask_operator
        if op is not None and not op.cluster_wide:
            op_ns = op.namespace or self.namespace
            for field, i, c in [(f, i, w) for f, i, w in self.workloads() if isinstance(w, DaskClusterSpec | DaskJobSpec)]:
                ns = c.namespace or self.namespace
                if ns != op_ns:
                    problems.append((f"{field}.{i}.namespace", f"must be the Dask operator's namespace '{op_ns}', got '{ns}': "
                                                                    "daskOperator.clusterWide is false (it only watches its own "
                                                                    "namespace)"))
        return problems

    def pod_security(self, namespace: str) -> str:
        """The Pod Security level ``namespace`` enforces: restricted, unless a workload in it makes an explicit
        ``podSecurity`` exception (then the most permissive level one asks for)."""
        levels = {"restricted"}
        for _, _, w in self.workloads():
            if (w.namespace or self.namespace) == namespace:
                levels |= pod_security_levels(w)
        return max(levels, key=pss.LEVELS.index)

    def namespaces(self) -> list[str]:
        """Every namespace the stack puts objects in, in first-use order."""
        found = [self.namespace]
        if self.kuberay:
            found += [self.kuberay.namespace or self.namespace, *self.kuberay.watch_namespaces]
        ray: list[RayClusterSpec | RayJobSpec | RayServiceSpec] = [*self.ray_clusters, *self.ray_jobs, *self.ray_cron_jobs,
                                                                  *self.ray_services]
        found += [c.namespace or self.namespace for c in ray]
        if self.dask_operator:
            found.append(self.dask_operator.namespace or self.namespace)
        dask: list[DaskClusterSpec | DaskJobSpec] = [*self.dask_clusters, *self.dask_jobs]
        found += [c.namespace or self.namespace for c in dask]
        return list(dict.fromkeys(found))
