"""RayJob and RayService specs: runtime environments, Serve applications and the cluster a workload creates."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlparse

from pydantic import AfterValidator, Field

from raydask.errors import Path
from raydask.k8s import naming, quantities
from raydask.spec.base import (
    ClusterName,
    ContainerName,
    Count,
    Cpu,
    IngressSpec,
    Label,
    Memory,
    PinnedImage,
    PodSettings,
    Real,
    Spec,
    Subdomain,
    annotation_problems,
    label_problems,
)
from raydask.spec.companions import Companions
from raydask.spec.needs import Needs
from raydask.spec.pip import line_problem as pip_line_problem
from raydask.spec.ray import (
    RAY_ENV,
    BatchSchedulingSpec,
    RayClusterConfig,
    RayClusterSpec,
    ServeServiceSpec,
    batch_label_problems,
)
from raydask.spec.security import gcs_problems, plaintext_problems

JobName = Annotated[str, AfterValidator(lambda v: naming.check_dns1035(v, naming.RAY_JOB_NAME_MAX))]
"""A DNS-1035 label of at most 47 characters (KubeRay appends ``-xxxxx`` to name the job's cluster)."""
ServiceName = Annotated[str, AfterValidator(lambda v: naming.check_dns1035(v, naming.RAY_SERVICE_NAME_MAX))]
"""A DNS-1035 label of at most 47 characters (KubeRay appends ``-xxxxx`` to name the service's clusters)."""
Positive = Annotated[Count, Field(gt=0)]
"""A whole number greater than 0."""
Seconds = Annotated[Count, Field(gt=0, le=2**31 - 1)]
"""A positive int32 number of seconds."""
NonNegativeFloat = Annotated[Real, Field(ge=0)]
"""A number ≥ 0."""

SubmissionMode = Literal["K8sJobMode", "HTTPMode", "InteractiveMode", "SidecarMode"]
"""RayJob ``submissionMode`` values KubeRay accepts."""
UpgradeType = Literal["NewCluster", "None", "NewClusterWithIncrementalUpgrade"]
"""RayService ``upgradeStrategy.type`` values KubeRay accepts."""
DeletionPolicy = Literal["DeleteCluster", "DeleteWorkers", "DeleteSelf", "DeleteNone"]
"""What KubeRay deletes when a RayJob's deletion rule or legacy policy fires."""
DELETION_ORDER = ("DeleteWorkers", "DeleteCluster", "DeleteSelf")
"""Policies in the order KubeRay expects them to fire for one condition (their ``ttlSeconds`` may not decrease)."""
Percent = Annotated[Count, Field(ge=1, le=100)]
"""A whole percentage from 1 to 100."""
ManagedBy = Literal["ray.io/kuberay-operator", "kueue.x-k8s.io/multikueue"]
"""``managedBy`` values KubeRay accepts."""

REMOTE_SCHEMES = ("https", "http", "s3", "gs", "azure", "abfss", "file")
"""URI schemes Ray downloads runtime-env packages from."""
WORKING_DIR_ARCHIVES = (".zip", ".tar.gz", ".tgz", ".tar.xz")
"""Archive types Ray unpacks as a ``working_dir``."""
PY_MODULE_ARCHIVES = (*WORKING_DIR_ARCHIVES, ".whl")
"""Archive types Ray accepts in ``py_modules``."""
ENV_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
JOB_ID = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,62})$")
APP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
IMPORT_PATH = re.compile(r"^[\w-]+(\.[\w-]+)*(:[A-Za-z_]\w*|\.[A-Za-z_]\w*)$")
"""Ray Serve's import path as Ray imports it (``import_module_and_attr``): a module path whose parts are file or
directory names (``-`` allowed: ``importlib`` finds ``ray-operator/``), then ``:attribute`` or ``.attribute`` (one
name: Ray looks it up with a single ``getattr``)."""


def _number(value: float) -> float | int:
    """Whole numbers as ints in the rendered YAML (``1``, not ``1.0``)."""
    return int(value) if float(value).is_integer() else value


def _command(value: str) -> str:
    if not value.strip():
        raise ValueError("must be a command, got an empty string")
    return value


def _app_name(value: str) -> str:
    if not APP_NAME.match(value):
        raise ValueError(f"'{value}' is not an application name: letters, digits, '-', '_' or '.'")
    return value


def check_package_uri(uri: str, archives: tuple[str, ...]) -> str:
    """A runtime-env package URI Ray can fetch on every node: a remote archive or ``local:///dir`` in the image."""
    parsed = urlparse(uri)
    if parsed.scheme == "local":
        if not uri.startswith("local:///"):
            raise ValueError(f"'{uri}' must be an absolute path in the image: local:///path/to/dir")
        if uri.endswith(PY_MODULE_ARCHIVES):
            raise ValueError(f"'{uri}' must be a directory: a local:// archive is never unpacked")
        return uri
    if parsed.scheme not in REMOTE_SCHEMES:
        raise ValueError(
            f"'{uri}' is not a package URI Ray can fetch on every node: use a {'/'.join(REMOTE_SCHEMES)} URI of a "
            f"{', '.join(archives)} archive, or local:///path for a directory in the image"
        )
    if not (parsed.netloc + parsed.path).endswith(archives):
        raise ValueError(f"'{uri}' must point to a {', '.join(archives)} archive")
    return uri


class RuntimeEnvSpec(Spec):
    """A Ray runtime environment, rendered as Ray's ``runtime_env`` (``runtimeEnvYAML`` or a Serve app's ``runtime_env``)."""

    pip: list[str] = []
    """pip requirements installed on every node before the code runs: the lines of the requirements file Ray hands to
    ``pip install -r``, so requirements (``emoji==2.14.1``, ``name @ https://…``, a URL or an absolute path, with
    ``--hash`` / ``--config-settings``) and pip's requirements-file options, each on an entry of its own (``-f
    https://…/releases.html``, ``--index-url``, ``--extra-index-url``, ``--pre``…); default none."""
    env_vars: dict[str, str] = {}
    """Environment variables for the job's or application's processes; default none."""
    working_dir: str | None = None
    """Code to run from: a remote ``.zip``/``.tar.gz``/``.tgz``/``.tar.xz`` archive (``https://``, ``s3://``, ``gs://``…;
    pin it to a commit or version) or ``local:///dir`` baked into the image; default none (the image's working directory)."""
    py_modules: list[str] = []
    """Extra importable modules: remote archives or ``.whl`` wheels, or ``local:///dir``; default none."""

    def problems(self) -> list[tuple[Path, str]]:
        problems = super().problems()
        problems += [(f"pip.{i}", problem) for i, line in enumerate(self.pip) if (problem := pip_line_problem(line))]
        for key in self.env_vars:
            if not ENV_VAR.match(key):
                problems.append((("envVars", key), f"'{key}' is not an environment variable name (letters, digits, '_', not "
                                                   "starting with a digit)"))
        if self.working_dir is not None:
            try:
                check_package_uri(self.working_dir, WORKING_DIR_ARCHIVES)
            except ValueError as exc:
                problems.append(("workingDir", str(exc)))
        for i, uri in enumerate(self.py_modules):
            try:
                check_package_uri(uri, PY_MODULE_ARCHIVES)
            except ValueError as exc:
                problems.append((f"pyModules.{i}", str(exc)))
        return problems

    def render(self) -> dict[str, Any]:
        """Ray's ``runtime_env`` dict (its own snake_case keys), only the parts that are set."""
        out: dict[str, Any] = {}
        if self.pip:
            out["pip"] = list(self.pip)
        if self.env_vars:
            out["env_vars"] = dict(sorted(self.env_vars.items()))
        if self.working_dir:
            out["working_dir"] = self.working_dir
        if self.py_modules:
            out["py_modules"] = list(self.py_modules)
        return out


EMBEDDED_CLUSTER_EXCLUDES = frozenset({
    "name", "namespace", "dashboard", "serve", "external_service", "annotations",  # KubeRay names it and owns its exposure
    "wait",  # KubeRay creates the cluster; pulumi up does not wait for it
    "config_maps", "service_accounts", "secrets", "not_secret",  # the RayJob / RayService declares them itself
    "suspend",  # the RayJob / RayService suspends (a RayJob) or owns its cluster
    "upgrade_strategy",  # KubeRay refuses it on the clusters of RayJobs and RayServices (the RayService has its own)
    "managed_by",  # the RayJob / RayService has its own managedBy; KubeRay must run the cluster it creates
    "batch_scheduling",  # labels of the RayJob / RayService, which KubeRay copies to the cluster
})
"""RayClusterSpec fields a workload's cluster does not have."""


K8S_TOKEN_AUTH_REFUSED = ("KubeRay rejects Kubernetes token authentication for RayJobs and RayServices (its own calls to the "
                          "job API cannot carry one); use the shared token (auth: {})")


class WorkloadClusterSpec(RayClusterConfig):
    """The Ray cluster a RayJob or RayService creates: the settings of a RayCluster without name, namespace or exposure
    (KubeRay names the cluster after the workload). ``auth.k8sTokenAuth`` is refused: KubeRay rejects it for RayJobs
    and RayServices. ``head.service.name`` names a RayJob's cluster's head Service (KubeRay's RayCluster controller
    creates it, beside the RayJob's own ``<job>-head-svc``); it is refused on a RayService's cluster (KubeRay rejects it),
    a RayCronJob's (runs may overlap) and a RayJob with ``generateName`` (a new RayJob starts before the old one is
    deleted): two clusters would claim one Service."""

    def problems(self) -> list[tuple[Path, str]]:
        problems = super().problems()
        if self.auth is not None and self.auth.k8s_token_auth:
            problems.append(("auth.k8sTokenAuth", K8S_TOKEN_AUTH_REFUSED))
        problems += gcs_problems(self)
        problems += [(f"workerGroups.{i}.retired", "only a RayCluster's groups are retired: KubeRay gives a RayJob or RayService "
                                                  "a new cluster when a group is removed; remove the group")
                     for i, g in enumerate(self.worker_groups) if g.retired]
        return problems

    def to_cluster(self, name: str, namespace: str | None = None) -> RayClusterSpec:
        """The equivalent RayClusterSpec, named after the workload (its pods are labelled with ``name``)."""
        return RayClusterSpec.model_construct(name=name, namespace=namespace, **dict(self))


class SubmitterSpec(PodSettings):
    """The submitter pod of ``K8sJobMode``: a Kubernetes Job running ``ray job submit`` and following the logs."""

    container_name: ContainerName = "ray-job-submitter"
    """Name of the submitter container (KubeRay runs the first container of the template); default
    ``ray-job-submitter``, KubeRay's own."""
    cpu: Cpu = "250m"
    """CPU request; default ``250m``. Also the limit unless ``cpuLimit`` is set."""
    memory: Memory = "512Mi"
    """Memory request and limit; default ``512Mi`` (the Ray CLI needs about 150Mi)."""
    image: PinnedImage | None = None
    """Container image; default the head image of the job's cluster, ``rayproject/ray:2.60.0`` with ``clusterSelector``."""
    backoff_limit: Count | None = None
    """Retries of the submitter Job when ``ray job submit`` fails (e.g. the head does not answer yet), rendered as
    ``submitterConfig.backoffLimit``; default KubeRay's (2). Not the job's own retries (``backoffLimit`` of the job)."""

    RESERVED_ENV: ClassVar[dict[str, str]] = {"HOME": RAY_ENV["HOME"], "RAY_DASHBOARD_ADDRESS": "is set by KubeRay",
                                              "RAY_JOB_SUBMISSION_ID": "is set by KubeRay (use jobId)"}
    RESERVED_VOLUMES: ClassVar[dict[str, str]] = {"tmp": "/tmp"}

    def problems(self) -> list[tuple[Path, str]]:
        problems = super().problems()
        spec = self.pod_patch.get("spec")
        restart = spec.get("restartPolicy") if isinstance(spec, dict) else None
        if restart == "Always":
            problems.append((("podPatch", "spec", "restartPolicy"), f"'{restart}' is not a restart policy of a Job's pods "
                                                                    "(the submitter runs as a Kubernetes Job): Never or "
                                                                    "OnFailure; retries are backoffLimit"))
        return problems


class DeletionConditionSpec(Spec):
    """When a deletion rule fires: the job's final status, or its deployment failing, and how long after."""

    job_status: Literal["SUCCEEDED", "FAILED"] | None = None
    """The Ray job's final status the rule applies to; default none. Set exactly one of ``jobStatus`` and
    ``jobDeploymentStatus``."""
    job_deployment_status: Annotated[Literal["Failed"] | None, Needs(
        kuberay="1.6.0", crd="deletionStrategy.deletionRules[].condition.jobDeploymentStatus")] = None
    """``Failed``: the RayJob failed as a whole, also when the Ray job never got a status (deadline exceeded, submission
    failed, cluster not ready); default none."""
    ttl_seconds: Count = 0
    """Seconds after the job ends before the rule's policy runs; default 0 (at once)."""

    @property
    def status(self) -> str:
        """The condition as a message names it: ``jobStatus SUCCEEDED`` / ``jobDeploymentStatus Failed``."""
        return f"jobStatus {self.job_status}" if self.job_status else f"jobDeploymentStatus {self.job_deployment_status}"

    def problems(self) -> list[tuple[Path, str]]:
        problems = super().problems()
        if self.job_status is not None and self.job_deployment_status is not None:
            problems.append(("jobDeploymentStatus", "cannot be combined with jobStatus in one condition: write two rules"))
        elif self.job_status is None and self.job_deployment_status is None:
            problems.append(("jobStatus", "required: set jobStatus (SUCCEEDED or FAILED) or jobDeploymentStatus (Failed)"))
        return problems

    def render(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.job_status is not None:
            out["jobStatus"] = self.job_status
        if self.job_deployment_status is not None:
            out["jobDeploymentStatus"] = self.job_deployment_status
        out["ttlSeconds"] = self.ttl_seconds
        return out


class DeletionRuleSpec(Spec):
    """One deletion rule: a policy and the condition that fires it."""

    condition: DeletionConditionSpec
    """When the rule fires; required."""
    policy: DeletionPolicy
    """What KubeRay deletes: ``DeleteWorkers`` (the worker pods), ``DeleteCluster`` (the job's RayCluster),
    ``DeleteSelf`` (the RayJob and all it owns) or ``DeleteNone``; required."""


class DeletionPolicySpec(Spec):
    """A legacy deletion policy (``onSuccess`` / ``onFailure``)."""

    policy: DeletionPolicy
    """``DeleteWorkers``, ``DeleteCluster``, ``DeleteSelf`` or ``DeleteNone``; required."""


class DeletionStrategySpec(Spec):
    """What KubeRay deletes when the job ends (``deletionStrategy``): ``deletionRules``, or the legacy ``onSuccess`` and
    ``onFailure`` policies (both), never the two forms together."""

    deletion_rules: list[DeletionRuleSpec] = []
    """Rules, each a policy fired some ``ttlSeconds`` after a condition; default none. Per condition the delays may not
    decrease from ``DeleteWorkers`` to ``DeleteCluster`` to ``DeleteSelf``, and a (condition, policy) pair appears once."""
    on_success: DeletionPolicySpec | None = None
    """Legacy: the policy when the job succeeds, ``ttlSecondsAfterFinished`` after it; default none. Needs
    ``onFailure``."""
    on_failure: DeletionPolicySpec | None = None
    """Legacy: the policy when the job fails, ``ttlSecondsAfterFinished`` after it; default none. Needs ``onSuccess``."""

    @property
    def legacy(self) -> bool:
        """The legacy form (``onSuccess`` / ``onFailure``) is used."""
        return self.on_success is not None or self.on_failure is not None

    def policies(self) -> list[tuple[str, str]]:
        """``(key path, policy)`` of every policy, relative to the strategy."""
        out: list[tuple[str, str]] = [(f"deletionRules.{i}.policy", r.policy) for i, r in enumerate(self.deletion_rules)]
        out += [(f"{key}.policy", p.policy) for key, p in (("onSuccess", self.on_success), ("onFailure", self.on_failure))
                if p is not None]
        return out

    def problems(self) -> list[tuple[Path, str]]:
        problems = super().problems()
        if self.deletion_rules and self.legacy:
            return [*problems, ("deletionRules", "cannot be combined with onSuccess/onFailure (KubeRay takes one form): keep "
                                                 "deletionRules alone, or onSuccess and onFailure alone")]
        if not self.deletion_rules and not self.legacy:
            return [*problems, ("deletionRules", "needs at least one rule (or the legacy onSuccess and onFailure): KubeRay "
                                                 "refuses an empty deletionStrategy; remove the key to keep the default")]
        if self.on_failure is not None and self.on_success is None:
            problems.append(("onSuccess", "required with onFailure: KubeRay needs both legacy policies (or use deletionRules)"))
        if self.on_success is not None and self.on_failure is None:
            problems.append(("onFailure", "required with onSuccess: KubeRay needs both legacy policies (or use deletionRules)"))
        seen: dict[tuple[str, str], int] = {}
        delays: dict[str, dict[str, tuple[int, int]]] = {}
        for i, r in enumerate(self.deletion_rules):
            if (r.condition.job_status is None) == (r.condition.job_deployment_status is None):
                continue  # the condition's own problem
            key = (r.condition.status, r.policy)
            if key in seen:
                problems.append((f"deletionRules.{i}", f"repeats deletionRules[{seen[key]}] ({r.policy} on "
                                                       f"{r.condition.status}): keep one rule per condition and policy"))
                continue
            seen[key] = i
            delays.setdefault(r.condition.status, {})[r.policy] = (r.condition.ttl_seconds, i)
        for status, by_policy in delays.items():
            earlier: tuple[str, int] | None = None
            for policy in DELETION_ORDER:
                if policy not in by_policy:
                    continue
                ttl, i = by_policy[policy]
                if earlier is not None and ttl < by_policy[earlier[0]][0]:
                    problems.append((f"deletionRules.{i}.condition.ttlSeconds",
                                     f"{policy} on {status} after {ttl}s comes before {earlier[0]} (deletionRules[{earlier[1]}], "
                                     f"{by_policy[earlier[0]][0]}s): KubeRay requires ttlSeconds not to decrease from "
                                     "DeleteWorkers to DeleteCluster to DeleteSelf"))
                earlier = (policy, i)
        return problems

    def render(self) -> dict[str, Any]:
        """``deletionStrategy`` as KubeRay reads it."""
        if self.deletion_rules:
            return {"deletionRules": [{"condition": r.condition.render(), "policy": r.policy} for r in self.deletion_rules]}
        return {key: {"policy": p.policy} for key, p in (("onSuccess", self.on_success), ("onFailure", self.on_failure))
                if p is not None}


class RayJobSpec(Spec, Companions):
    """A batch job (``ray.io/v1`` RayJob) on a new cluster it creates, or on an existing RayCluster."""

    CRD_KIND: ClassVar[str] = "RayJob"

    name: JobName
    """Job name (DNS-1035, ≤ 47 characters); required."""
    generate_name: bool = False
    """Name the RayJob object ``<name>-<5 characters>``, as ``metadata.generateName: <name>-`` does, with the characters
    derived from the job definition: every new definition is a new RayJob object, created before the old one is
    deleted (never a name still held by a finished job), while an unchanged one keeps its object; ``name`` stays the
    Pulumi name, the pods' and NetworkPolicies' name, the ``jobId`` prefix, and needs to be at most 41 characters.
    The ``jobName`` output is the object's name. Default false (the object is named ``name``)."""
    namespace: Label | None = None
    """Namespace; default the stack's ``raydask:namespace``."""
    entrypoint: Annotated[str, AfterValidator(_command)] | None = None
    """Shell command the job runs, e.g. ``python -m train``; required but with ``InteractiveMode`` (you submit) and with
    ``K8sJobMode`` when ``submitter.command`` is set: KubeRay then runs that command as it is, in place of its own
    ``ray job submit … -- <entrypoint>`` (it passes ``RAY_DASHBOARD_ADDRESS`` and ``RAY_JOB_SUBMISSION_ID``), so the
    submitter's command and args say what to run."""
    entrypoint_num_cpus: NonNegativeFloat | None = None
    """CPUs Ray reserves for the entrypoint (``--entrypoint-num-cpus``); default none (0)."""
    entrypoint_num_gpus: NonNegativeFloat | None = None
    """GPUs Ray reserves for the entrypoint (``--entrypoint-num-gpus``); default none (0)."""
    entrypoint_resources: dict[str, NonNegativeFloat] = {}
    """Custom Ray resources reserved for the entrypoint (``--entrypoint-resources``, e.g. ``{TPU: 4}``); default none."""
    runtime_env: RuntimeEnvSpec | None = None
    """Runtime environment (pip packages, env vars, working_dir, py_modules), rendered as ``runtimeEnvYAML``; default none."""
    cluster: WorkloadClusterSpec | None = None
    """A new cluster for this job (KubeRay names it ``<name>-xxxxx``); default none. Set exactly one of ``cluster`` and
    ``clusterSelector``."""
    cluster_selector: ClusterName | None = None
    """Name of an existing RayCluster in the job's namespace to run on instead: one of the stack's ``rayClusters`` (the
    job waits for it), or with ``externalCluster`` one made elsewhere; default none."""
    external_cluster: bool = False
    """``clusterSelector`` names a RayCluster this stack does not declare (another stack's, or one made by hand), which
    raydask cannot check; default false: it must be a RayCluster of this stack, in the job's namespace."""
    submission_mode: SubmissionMode = "K8sJobMode"
    """How KubeRay submits: ``K8sJobMode`` (a submitter Job, default), ``HTTPMode`` (the operator calls the job API),
    ``InteractiveMode`` (you submit, then set ``jobId``) or ``SidecarMode`` (KubeRay adds the submitter as a container of
    the head pod, without a securityContext: it needs ``cluster.head.podSecurity: {level: baseline, reason: ...}``)."""
    submitter: SubmitterSpec = SubmitterSpec()
    """The submitter pod (``K8sJobMode`` only); default 250m CPU, 512Mi, the head image, restricted securityContext."""
    shutdown_after_job_finishes: bool | None = None
    """Delete the job's cluster when the job finishes; default true with ``cluster`` (KubeRay's default is false, which
    leaves a finished job's cluster holding its nodes until someone deletes it), not allowed with ``clusterSelector``.
    With ``deletionStrategy`` the default is false when KubeRay refuses true (``deletionRules``, or a ``DeleteNone``
    legacy policy), true otherwise."""
    ttl_seconds_after_finished: Count | None = None
    """Seconds the finished job's cluster is kept (needs ``shutdownAfterJobFinishes``; with the legacy ``onSuccess`` /
    ``onFailure`` policies, the delay before they run); default 0 (deleted at once)."""
    deletion_strategy: Annotated[DeletionStrategySpec | None,
                                 Needs(kuberay="1.5.0", crd="deletionStrategy", gate="RayJobDeletionPolicy")] = None
    """What KubeRay deletes when the job ends, instead of ``shutdownAfterJobFinishes`` alone: ``deletionRules`` (e.g.
    the workers at once, the cluster after an hour, the RayJob after a day, per final status) or the legacy
    ``onSuccess`` and ``onFailure`` policies; default none (``shutdownAfterJobFinishes`` decides). raydask refuses the
    key when the stack's ``raydask:kuberay`` has its feature gate off (it cannot check an operator installed
    elsewhere). ``deletionRules`` exclude
    ``shutdownAfterJobFinishes: true``, ``ttlSecondsAfterFinished`` and ``suspend`` (KubeRay suspends only jobs with
    ``shutdownAfterJobFinishes``); ``DeleteWorkers`` is refused with ``cluster.autoscaling``; the key is refused with
    ``clusterSelector`` (KubeRay deletes nothing of a job on an existing cluster). ``DeleteSelf`` deletes the RayJob
    object itself: Pulumi notices only on a refresh, after which ``pulumi up`` creates it again and the job runs again."""
    active_deadline_seconds: Seconds | None = None
    """Seconds the job may run before KubeRay fails it; default no deadline."""
    pre_running_deadline_seconds: Annotated[Seconds | None, Needs(kuberay="1.6.0", crd="preRunningDeadlineSeconds")] = None
    """Seconds the job may take to reach ``Running`` (cluster up, job submitted) before KubeRay fails it, e.g. when pods
    stay pending; default no deadline."""
    backoff_limit: Count | None = None
    """Retries of a failed job, each on a new cluster; default 0."""
    suspend: bool = False
    """Create the job suspended (no cluster, no submission) until set false; default false."""
    job_id: str | None = None
    """Ray job submission id; default ``<name>-<hash of the job definition>`` (none in ``InteractiveMode``)."""
    job_metadata: dict[str, str] = {}
    """Metadata Ray stores with the submitted job (RayJob ``spec.metadata``, ``ray job submit --metadata-json``; shown
    by ``ray job list``); default none."""
    managed_by: ManagedBy | None = None
    """``kueue.x-k8s.io/multikueue`` hands the RayJob to Kueue's MultiKueue (this KubeRay operator leaves it alone) or
    ``ray.io/kuberay-operator``; default none (KubeRay). The API server refuses a change: a change replaces the RayJob."""
    labels: dict[str, str] = {}
    """Labels on the RayJob object (e.g. ``kueue.x-k8s.io/queue-name``); default none."""
    annotations: dict[str, str] = {}
    """Annotations on the RayJob object; default none."""
    batch_scheduling: BatchSchedulingSpec | None = None
    """The operator's batch scheduler for the job's cluster and submitter: gang scheduling, queue, priority (labels on
    the RayJob, which KubeRay copies to the cluster it creates); default none (the default scheduler)."""

    @property
    def head_service_name(self) -> str | None:
        """``cluster.head.service.name``: the name of the head Service of the job's cluster, when set."""
        service = self.cluster.head.service if self.cluster is not None else None
        return service.name if service is not None else None

    @property
    def shutdown_refused(self) -> str | None:
        """Why KubeRay refuses ``shutdownAfterJobFinishes: true`` with this ``deletionStrategy``, or None."""
        strategy = self.deletion_strategy
        if strategy is None:
            return None
        if strategy.deletion_rules and not strategy.legacy:
            return "deletionStrategy.deletionRules"
        if any(policy == "DeleteNone" for _, policy in strategy.policies()):
            return "a DeleteNone policy in deletionStrategy"
        return None

    @property
    def shutdown(self) -> bool:
        """Effective ``shutdownAfterJobFinishes``."""
        if self.shutdown_after_job_finishes is not None:
            return self.shutdown_after_job_finishes
        return self.cluster is not None and self.shutdown_refused is None

    def problems(self) -> list[tuple[Path, str]]:
        problems = [*super().problems(), *self.companion_problems(self.name)]
        longest = naming.RAY_JOB_NAME_MAX - 6
        if self.generate_name and len(self.name) > longest:
            problems.append(("name", f"'{self.name}' is {len(self.name)} characters; with generateName the RayJob is named "
                                     f"<name>-<5 characters>, which KubeRay limits to {naming.RAY_JOB_NAME_MAX}: at most "
                                     f"{longest}"))
        if self.generate_name and self.head_service_name:
            problems.append(("cluster.head.service.name", f"'{self.head_service_name}' would be claimed by two clusters: "
                                                          "with generateName a new job definition is a new RayJob, whose "
                                                          "cluster starts before the old one is deleted (KubeRay cannot "
                                                          "create the new head Service, and points the new job at the old "
                                                          "cluster): remove the name or generateName"))
        if self.cluster is not None and self.cluster.gcs_fault_tolerance is not None:
            problems.append(("cluster.gcsFaultTolerance", "a RayJob's cluster lives for one job: fault tolerance is for "
                                                           "long-lived clusters (a RayCluster, a RayService)"))
        if self.cluster is None and self.cluster_selector is None:
            problems.append(("cluster", "set exactly one of cluster (a new cluster for this job) and clusterSelector (an existing "
                                        "RayCluster)"))
        if self.cluster is not None and self.cluster_selector is not None:
            problems.append(("clusterSelector", "set exactly one of cluster (a new cluster for this job) and clusterSelector (an "
                                                "existing RayCluster)"))
        if self.external_cluster and self.cluster_selector is None:
            problems.append(("externalCluster", "only applies with clusterSelector (the name of the RayCluster made "
                                                "elsewhere)"))
        if self.cluster_selector is not None and self.shutdown_after_job_finishes:
            problems.append(("shutdownAfterJobFinishes", "only applies to a cluster the job creates; a selected cluster is never "
                                                         "deleted"))
        refused = self.shutdown_refused if self.cluster_selector is None else None
        if refused and self.shutdown_after_job_finishes:
            problems.append(("shutdownAfterJobFinishes", f"cannot be true with {refused} (KubeRay refuses both; the "
                                                         "deletion strategy decides what is deleted): remove it"))
        if self.ttl_seconds_after_finished is not None and refused == "deletionStrategy.deletionRules":
            problems.append(("ttlSecondsAfterFinished", "does not apply with deletionStrategy.deletionRules: set the delay in "
                                                        "each rule's condition.ttlSeconds"))
        elif self.ttl_seconds_after_finished is not None and refused and self.shutdown_after_job_finishes is None:
            problems.append(("ttlSecondsAfterFinished", f"needs shutdownAfterJobFinishes: true, which KubeRay refuses with "
                                                        f"{refused}: remove it, or use deletionRules with their own delays"))
        elif self.ttl_seconds_after_finished is not None and not self.shutdown:
            problems.append(("ttlSecondsAfterFinished", "only applies with shutdownAfterJobFinishes: true"))
        if self.suspend and self.cluster_selector is not None:
            problems.append(("suspend", "a job on an existing cluster (clusterSelector) cannot be suspended"))
        elif self.suspend and refused and self.shutdown_after_job_finishes is None:
            problems.append(("suspend", f"a job with {refused} cannot be suspended (KubeRay suspends only jobs with "
                                        "shutdownAfterJobFinishes: true, which it refuses with that strategy)"))
        elif self.suspend and not self.shutdown:
            problems.append(("suspend", "requires shutdownAfterJobFinishes: true"))
        problems += self._deletion_problems()
        problems += self._sidecar_problems()
        own_command = self.submission_mode == "K8sJobMode" and self.submitter.command is not None
        if self.submission_mode == "K8sJobMode" and self.submitter.args is not None and self.submitter.command is None:
            problems.append(("submitter.args", "KubeRay replaces the submitter's args with its own `ray job submit` unless the "
                                               "container has a command of its own: set submitter.command too, or remove "
                                               "args"))
        if self.entrypoint is None and self.submission_mode != "InteractiveMode" and not own_command:
            problems.append(("entrypoint", f"is required with {self.submission_mode} (only InteractiveMode, where you submit "
                                           "the job yourself, and K8sJobMode with a submitter.command of your own, which "
                                           "KubeRay runs as it is, have none): give the command the job runs"))
        for key in self.entrypoint_resources:
            if key in ("CPU", "GPU"):
                problems.append((("entrypointResources", key), f"'{key}' is set with entrypointNum{key.title()}s"))
        if self.submission_mode == "InteractiveMode" and self.backoff_limit:
            problems.append(("backoffLimit", "must be 0 with InteractiveMode (KubeRay cannot retry interactive jobs)"))
        if "submitter" in self.model_fields_set and self.submission_mode != "K8sJobMode":
            problems.append(("submitter", f"only applies to K8sJobMode ({self.submission_mode} runs no submitter pod)"))
        if self.job_id is not None and not JOB_ID.match(self.job_id):
            problems.append(("jobId", f"'{self.job_id}' must be 1-63 letters, digits, '-', '_' or '.', starting with a letter or "
                                      "digit"))
        problems += label_problems(self.labels, "labels", ("ray.io/",))
        problems += annotation_problems(self.annotations, "annotations")
        problems += batch_label_problems(self.batch_scheduling, self.labels)
        if self.batch_scheduling is not None and self.cluster is None:
            problems.append(("batchScheduling", "schedules the cluster a job creates: a job on an existing cluster "
                                                "(clusterSelector) has only its submitter; set it on that RayCluster"))
        problems += plaintext_problems(self, "RayJob")
        return problems

    def _sidecar_problems(self) -> list[tuple[Path, str]]:
        """``SidecarMode``: KubeRay adds its submitter container to the head pod, without a securityContext."""
        if self.submission_mode != "SidecarMode":
            return []
        if self.cluster is None:
            return [("submissionMode", "SidecarMode needs a cluster of the job's own (KubeRay refuses it with "
                                       "clusterSelector): use K8sJobMode or HTTPMode")]
        out: list[tuple[Path, str]] = []
        head = self.cluster.head
        if head.pod_security is None:
            out.append(("submissionMode", "SidecarMode: KubeRay adds its submitter container to the head pod without a "
                                          "securityContext, which Pod Security \"restricted\" refuses: give the head an "
                                          "exception, cluster.head.podSecurity: {level: baseline, reason: ...} (its namespace "
                                          "then enforces baseline), or use K8sJobMode"))
        restart = (head.pod_patch.get("spec") or {}).get("restartPolicy") if isinstance(head.pod_patch, dict) else None
        if restart not in (None, "Never"):
            out.append(("cluster.head.podPatch.spec.restartPolicy", "KubeRay refuses a head restartPolicy other than Never "
                                                                    "with SidecarMode"))
        return out

    def _deletion_problems(self) -> list[tuple[Path, str]]:
        """``deletionStrategy`` against the job: KubeRay's rules on the selected cluster and the autoscaler."""
        strategy = self.deletion_strategy
        if strategy is None:
            return []
        if self.cluster_selector is not None:
            return [("deletionStrategy", "does nothing with clusterSelector: KubeRay deletes nothing of a job on an existing "
                                         "cluster, whatever the policy; remove it")]
        if self.cluster is None or self.cluster.autoscaling is None:
            return []
        return [(f"deletionStrategy.{path}", "DeleteWorkers cannot be used with cluster.autoscaling (KubeRay refuses it "
                                             "on an autoscaling cluster): use DeleteCluster, or turn autoscaling off")
                for path, policy in strategy.policies() if policy == "DeleteWorkers"]


class ServeAutoscalingSpec(Spec):
    """Ray Serve replica autoscaling of one deployment (rendered as ``autoscaling_config``)."""

    min_replicas: Count = 1
    """Fewest replicas (0 scales to zero when idle); default 1."""
    max_replicas: Positive = 1
    """Most replicas; default 1."""
    initial_replicas: Count | None = None
    """Replicas at first deploy; default ``minReplicas``."""
    target_ongoing_requests: Annotated[Real, Field(gt=0)] | None = None
    """Requests in flight per replica Serve scales towards; default Serve's (2)."""
    upscale_delay_seconds: NonNegativeFloat | None = None
    """Seconds of sustained load before scaling up; default Serve's (30)."""
    downscale_delay_seconds: NonNegativeFloat | None = None
    """Seconds of low load before scaling down; default Serve's (600)."""

    def problems(self) -> list[tuple[Path, str]]:
        problems = super().problems()
        if self.max_replicas < self.min_replicas:
            blame = "maxReplicas" if "min_replicas" not in self.model_fields_set else "minReplicas"
            message = (f"must be ≤ maxReplicas ({self.min_replicas} > {self.max_replicas})" if blame == "minReplicas"
                       else f"must be ≥ minReplicas ({self.max_replicas} < {self.min_replicas}, the default)")
            problems.append((blame, message))
        elif self.initial_replicas is not None and not self.min_replicas <= self.initial_replicas <= self.max_replicas:
            problems.append(("initialReplicas", f"must be between minReplicas and maxReplicas ({self.initial_replicas} not in "
                                                f"{self.min_replicas}..{self.max_replicas})"))
        return problems

    def render(self) -> dict[str, Any]:
        out: dict[str, Any] = {"min_replicas": self.min_replicas, "max_replicas": self.max_replicas}
        optional = {
            "initial_replicas": self.initial_replicas,
            "target_ongoing_requests": self.target_ongoing_requests,
            "upscale_delay_s": self.upscale_delay_seconds,
            "downscale_delay_s": self.downscale_delay_seconds,
        }
        return {**out, **{k: _number(v) for k, v in optional.items() if v is not None}}


class ActorOptionsSpec(Spec):
    """Resources each replica reserves from Ray (rendered as ``ray_actor_options``)."""

    num_cpus: NonNegativeFloat | None = None
    """Logical CPUs per replica; default Serve's (1)."""
    num_gpus: NonNegativeFloat | None = None
    """GPUs per replica (fractions share a GPU); default 0."""
    memory: Memory | None = None
    """Memory per replica for Ray's scheduler, e.g. ``1Gi``; default none reserved."""

    def render(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.num_cpus is not None:
            out["num_cpus"] = _number(self.num_cpus)
        if self.num_gpus is not None:
            out["num_gpus"] = _number(self.num_gpus)
        if self.memory is not None:
            out["memory"] = quantities.bytes_of(self.memory)
        return out


class ServeDeploymentSpec(Spec):
    """Overrides for one deployment of a Serve application."""

    name: str = Field(min_length=1)
    """Deployment name as declared in the code (``@serve.deployment`` class or function name); required."""
    num_replicas: Positive | None = None
    """Fixed replica count; default the code's (1). Not with ``autoscalingConfig``."""
    max_ongoing_requests: Positive | None = None
    """Requests a replica handles at once; default Serve's (5)."""
    autoscaling_config: ServeAutoscalingSpec | None = None
    """Replica autoscaling; default none (fixed replicas)."""
    ray_actor_options: ActorOptionsSpec | None = None
    """CPUs, GPUs and memory per replica; default the code's."""
    user_config: dict[str, Any] | None = None
    """Passed to the deployment's ``reconfigure`` method, updatable without restarts; default none."""
    max_queued_requests: Annotated[int, Field(ge=-1)] | None = None
    """Requests a caller may queue before Serve refuses more (-1: no limit); default Serve's (-1)."""
    max_replicas_per_node: Positive | None = None
    """At most this many replicas on one Ray node (spreads replicas); default no limit."""
    placement_group_bundles: list[dict[str, NonNegativeFloat]] = []
    """Resource bundles reserved together for each replica (the first is the replica's own); default none."""
    placement_group_strategy: Literal["PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"] | None = None
    """How a replica's bundles are placed; default Serve's (``PACK``). Needs ``placementGroupBundles``."""
    graceful_shutdown_wait_loop_seconds: NonNegativeFloat | None = None
    """Seconds between checks for in-flight requests while a replica drains; default Serve's (2)."""
    graceful_shutdown_timeout_seconds: NonNegativeFloat | None = None
    """Seconds a draining replica gets before it is killed; default Serve's (20)."""
    health_check_period_seconds: Annotated[Real, Field(gt=0)] | None = None
    """Seconds between health checks of a replica; default Serve's (10)."""
    health_check_timeout_seconds: Annotated[Real, Field(gt=0)] | None = None
    """Seconds a health check may take; default Serve's (30)."""
    logging_config: dict[str, Any] | None = None
    """Serve's ``logging_config`` of the deployment (``log_level``, ``encoding``…); default the application's."""

    SERVE_OPTIONS: ClassVar[dict[str, str]] = {
        "max_queued_requests": "max_queued_requests", "max_replicas_per_node": "max_replicas_per_node",
        "graceful_shutdown_wait_loop_seconds": "graceful_shutdown_wait_loop_s",
        "graceful_shutdown_timeout_seconds": "graceful_shutdown_timeout_s", "health_check_period_seconds": "health_check_period_s",
        "health_check_timeout_seconds": "health_check_timeout_s", "placement_group_strategy": "placement_group_strategy",
        "logging_config": "logging_config"}
    """Options rendered under Serve's name when set, by field."""

    def problems(self) -> list[tuple[Path, str]]:
        problems = super().problems()
        if self.num_replicas is not None and self.autoscaling_config is not None:
            problems.append(("numReplicas", "cannot be combined with autoscalingConfig (Serve sizes the deployment between its "
                                            "minReplicas and maxReplicas)"))
        if self.placement_group_strategy is not None and not self.placement_group_bundles:
            problems.append(("placementGroupStrategy", "needs placementGroupBundles (the bundles it places)"))
        if self.max_replicas_per_node is not None and self.placement_group_bundles:
            problems.append(("maxReplicasPerNode", "cannot be combined with placementGroupBundles (Serve refuses both)"))
        return problems

    def render(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.num_replicas is not None:
            out["num_replicas"] = self.num_replicas
        if self.max_ongoing_requests is not None:
            out["max_ongoing_requests"] = self.max_ongoing_requests
        if self.autoscaling_config is not None:
            out["autoscaling_config"] = self.autoscaling_config.render()
        if self.ray_actor_options is not None:
            out["ray_actor_options"] = self.ray_actor_options.render()
        if self.user_config is not None:
            out["user_config"] = self.user_config
        if self.placement_group_bundles:
            out["placement_group_bundles"] = [dict(b) for b in self.placement_group_bundles]
        for field, option in self.SERVE_OPTIONS.items():
            value = getattr(self, field)
            if value is not None:
                out[option] = value
        return out


def _route_prefix(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError(f"'{value}' must start with '/'")
    if value != "/" and value.endswith("/"):
        raise ValueError(f"'{value}' must not end with '/'")
    if "{" in value or "}" in value:
        raise ValueError(f"'{value}' must not contain wildcards ('{{' or '}}')")
    return value


def _import_path(value: str) -> str:
    if not IMPORT_PATH.match(value):
        raise ValueError(f"'{value}' is not an import path Ray can import, such as 'module:app', 'package.module.app' or "
                         "'my-dir.module:app' (module parts are file or directory names; one attribute after ':' or the "
                         "last '.')")
    return value


class ServeApplicationSpec(Spec):
    """One Ray Serve application."""

    name: Annotated[str, AfterValidator(_app_name)]
    """Application name, unique in the service; required."""
    import_path: Annotated[str, AfterValidator(_import_path)]
    """The bound application to run, ``module:attribute`` (e.g. ``text_ml:app``); required."""
    route_prefix: Annotated[str, AfterValidator(_route_prefix)] = "/"
    """HTTP path the application serves under, unique in the service; default ``/``."""
    runtime_env: RuntimeEnvSpec | None = None
    """Runtime environment, usually a pinned ``workingDir`` archive with the code; default none (code in the image)."""
    deployments: list[ServeDeploymentSpec] = []
    """Per-deployment overrides of the code's options; default none."""
    args: dict[str, Any] = {}
    """Arguments passed to the application builder; default none."""

    def problems(self) -> list[tuple[Path, str]]:
        names = [d.name for d in self.deployments]
        return [*super().problems(), *((f"deployments.{i}.name", f"duplicate deployment name '{n}'")
                                       for i, n in enumerate(names) if names.index(n) != i)]

    def render(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "import_path": self.import_path, "route_prefix": self.route_prefix}
        if self.runtime_env is not None and self.runtime_env.render():
            out["runtime_env"] = self.runtime_env.render()
        if self.args:
            out["args"] = self.args
        if self.deployments:
            out["deployments"] = [d.render() for d in self.deployments]
        return out


class ClusterUpgradeOptionsSpec(Spec):
    """How ``NewClusterWithIncrementalUpgrade`` moves traffic to the new cluster (``upgradeStrategy.clusterUpgradeOptions``)."""

    gateway_class_name: Subdomain
    """The Gateway API GatewayClass of the Gateway KubeRay creates (``<name>-gateway``, HTTP on port 80), e.g. ``istio``
    or ``eg``; required. The cluster needs the Gateway API CRDs and a controller for this class: raydask installs
    neither."""
    interval_seconds: Seconds
    """Seconds between two traffic steps; required."""
    step_size_percent: Percent
    """Percentage of the traffic moved to the new cluster at each step, 1-100, at most ``maxSurgePercent``; required."""
    max_surge_percent: Percent = 100
    """Percentage of Serve capacity (Serve's ``target_capacity``) the new cluster gains, and the old one then gives up,
    in each round; the traffic follows in steps of ``stepSizePercent``; default 100 (the new cluster scales to full
    capacity at once)."""

    def problems(self) -> list[tuple[Path, str]]:
        problems = super().problems()
        if self.step_size_percent > self.max_surge_percent:
            problems.append(("stepSizePercent", f"must be ≤ maxSurgePercent ({self.step_size_percent} > "
                                                f"{self.max_surge_percent}): KubeRay moves no more traffic than the new "
                                                "cluster has scaled up for"))
        return problems

    def render(self) -> dict[str, Any]:
        return {"gatewayClassName": self.gateway_class_name, "intervalSeconds": self.interval_seconds,
                "stepSizePercent": self.step_size_percent, "maxSurgePercent": self.max_surge_percent}


class RayServiceSpec(Spec, Companions):
    """Ray Serve applications on KubeRay (``ray.io/v1`` RayService) with zero-downtime upgrades and a Serve Ingress."""

    CRD_KIND: ClassVar[str] = "RayService"

    name: ServiceName
    """Service name (DNS-1035, ≤ 47 characters); required. KubeRay serves it as ``<name>-serve-svc``."""
    namespace: Label | None = None
    """Namespace; default the stack's ``raydask:namespace``."""
    applications: list[ServeApplicationSpec]
    """Serve applications, rendered as ``serveConfigV2``; required, at least one."""
    cluster: WorkloadClusterSpec = WorkloadClusterSpec()
    """The cluster the applications run on (``rayClusterConfig``); default a 1 CPU, 2Gi head only."""
    upgrade_strategy: Annotated[UpgradeType, Needs(kuberay="1.5.0", crd="upgradeStrategy.clusterUpgradeOptions",
                                                   gate="RayServiceIncrementalUpgrade",
                                                   what="NewClusterWithIncrementalUpgrade",
                                                   when=lambda v: v == "NewClusterWithIncrementalUpgrade")] = "NewCluster"
    """On a cluster change: ``NewCluster`` (blue/green, default), ``NewClusterWithIncrementalUpgrade`` (the new
    cluster takes the traffic step by step through a Gateway, see ``clusterUpgradeOptions``) or ``None`` (apply in
    place, with downtime)."""
    cluster_upgrade_options: ClusterUpgradeOptionsSpec | None = None
    """Steps of ``NewClusterWithIncrementalUpgrade`` (required with it, refused otherwise); default none. Needs what
    ``upgradeStrategy: NewClusterWithIncrementalUpgrade`` needs (without its feature gate KubeRay upgrades in place, with
    downtime, so raydask refuses it when the stack's ``raydask:kuberay`` has the gate off), Ray's autoscaler on the
    cluster (``cluster.autoscaling``), the Gateway API CRDs and a Gateway controller for ``gatewayClassName``.
    Clients that should follow the traffic split use the Gateway KubeRay creates, ``<name>-gateway`` (port 80);
    ``<name>-serve-svc`` and raydask's ``ingress`` keep routing to the active cluster until the upgrade completes. With
    NetworkPolicies, admit the Gateway's proxies to the Serve port with
    ``cluster.networkPolicy.extraIngress: [{namespaces: [<gateway namespace>], ports: [8000]}]``."""
    ray_cluster_deletion_delay_seconds: Annotated[Count | None, Needs(kuberay="1.5.0", crd="rayClusterDeletionDelaySeconds")] = None
    """Seconds KubeRay keeps the old cluster after an upgrade switched traffic away from it; default KubeRay's (60)."""
    exclude_head_pod_from_serve_svc: bool = False
    """Keep the head pod out of the Serve Service (``<name>-serve-svc``), so only workers take Serve traffic (e.g. a
    head without Serve replicas, ``head.schedulable: false``); default false."""
    suspend: Annotated[bool, Needs(kuberay="1.7.0", crd="suspend")] = False
    """Suspend the service: KubeRay deletes its clusters and Services and creates them again when set back to false;
    default false."""
    managed_by: Annotated[ManagedBy | None, Needs(kuberay="1.6.0", crd="managedBy")] = None
    """``kueue.x-k8s.io/multikueue`` hands the RayService to Kueue's MultiKueue (this KubeRay operator leaves it alone)
    or ``ray.io/kuberay-operator``; default none (KubeRay). The API server refuses a change once set:
    replace the RayService to change it."""
    ingress: IngressSpec | None = None
    """Ingress to the Serve endpoint (``<name>-serve-svc``, port ``serve``); default none (in-cluster only)."""
    serve_service: ServeServiceSpec | None = None
    """Name, labels, annotations and ServiceSpec fields (``spec``: ``type``, ``loadBalancerSourceRanges``…) of the Serve
    Service KubeRay creates (``serveService``); default KubeRay's (``<name>-serve-svc``, the head's ``serviceType``)."""
    labels: dict[str, str] = {}
    """Labels on the RayService object; default none."""
    annotations: dict[str, str] = {}
    """Annotations on the RayService object; default none."""
    batch_scheduling: BatchSchedulingSpec | None = None
    """The operator's batch scheduler for the service's clusters: gang scheduling, queue, priority (labels on the
    RayService, which KubeRay copies to each cluster it creates); default none (the default scheduler)."""

    @property
    def serve_service_name(self) -> str:
        """The Serve Service's name: ``serveService.name``, else KubeRay's ``<name>-serve-svc``."""
        return (self.serve_service.name if self.serve_service else None) or naming.RayNames.serve_service(self.name)

    def problems(self) -> list[tuple[Path, str]]:
        problems = [*super().problems(), *self.companion_problems(self.name)]
        if self.serve_service is not None and self.serve_service.extra_ports:
            problems.append(("serveService.extraPorts", "KubeRay keeps only the serving ports on the Serve Service: expose "
                                                        "more ports on the head Service (cluster.head.service.extraPorts)"))
        if self.serve_service is not None:
            serving = {"serve", *(p.get("name") for p in self.cluster.head.extra_ports if isinstance(p, dict))}
            ports = self.serve_service.spec.get("ports")
            for i, port in enumerate(ports if isinstance(ports, list) else []):
                name = port.get("name") if isinstance(port, dict) else None
                if isinstance(name, str) and name.startswith("serve-") and name not in serving:
                    problems.append((("serveService", "spec", "ports", i, "name"), f"'{name}' is no port of the head "
                                                                                  "container: KubeRay drops it; declare it "
                                                                                  "in cluster.head.extraPorts"))
        if self.cluster.head.service is not None and self.cluster.head.service.name:
            problems.append(("cluster.head.service.name", "KubeRay refuses a head Service name on a RayService's cluster: "
                                                          "it names the Service <name>-head-svc and moves it to the new "
                                                          "cluster on upgrades; remove it"))
        if not self.applications:
            problems.append(("applications", "needs at least one Serve application"))
        names = [a.name for a in self.applications]
        routes = [a.route_prefix for a in self.applications]
        for i, app in enumerate(self.applications):
            if names.index(app.name) != i:
                problems.append((f"applications.{i}.name", f"duplicate application name '{app.name}'"))
            if routes.index(app.route_prefix) != i:
                problems.append((f"applications.{i}.routePrefix", f"route prefix '{app.route_prefix}' is already served by "
                                                                  f"applications[{routes.index(app.route_prefix)}]"))
        incremental = self.upgrade_strategy == "NewClusterWithIncrementalUpgrade"
        if incremental and self.cluster_upgrade_options is None:
            problems.append(("clusterUpgradeOptions", "required with upgradeStrategy NewClusterWithIncrementalUpgrade: set "
                                                      "gatewayClassName, intervalSeconds and stepSizePercent"))
        if self.cluster_upgrade_options is not None and not incremental:
            problems.append(("clusterUpgradeOptions", f"only applies to upgradeStrategy NewClusterWithIncrementalUpgrade "
                                                      f"(upgradeStrategy is {self.upgrade_strategy}): remove it or change "
                                                      "upgradeStrategy"))
        if incremental and self.cluster.autoscaling is None:
            problems.append(("cluster.autoscaling", "required with upgradeStrategy NewClusterWithIncrementalUpgrade (KubeRay "
                                                    "scales the new cluster with Ray's autoscaler): set autoscaling: {}"))
        problems += label_problems(self.labels, "labels", ("ray.io/",))
        problems += annotation_problems(self.annotations, "annotations")
        problems += batch_label_problems(self.batch_scheduling, self.labels)
        problems += plaintext_problems(self, "RayService")
        return problems


__all__ = [
    "ActorOptionsSpec",
    "ClusterUpgradeOptionsSpec",
    "DeletionConditionSpec",
    "DeletionPolicySpec",
    "DeletionRuleSpec",
    "DeletionStrategySpec",
    "RayJobSpec",
    "RayServiceSpec",
    "RuntimeEnvSpec",
    "ServeApplicationSpec",
    "ServeAutoscalingSpec",
    "ServeDeploymentSpec",
    "SubmitterSpec",
    "WorkloadClusterSpec",
]
