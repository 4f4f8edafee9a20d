"""Bad input given to a spec model's constructor raises raydask's ConfigError (key paths relative to the model), and the
problems a validator finds travel through pydantic as data, never as text to decode."""

from __future__ import annotations

import pydantic
import pytest

from raydask.errors import RULES_ERROR, ConfigError, check, from_validation_error, parts
from raydask.spec import AutoscalingSpec, HeadSpec, RayClusterSpec, StackSpec, WorkerGroupSpec
from raydask.spec.base import Toleration


def test_constructor_raises_config_error_naming_the_key_relative_to_the_model() -> None:
    group = WorkerGroupSpec(name="cpu", replicas=2, min_replicas=1, max_replicas=10, cpu="4", memory="16Gi",
                            idle_timeout_seconds=60)
    RayClusterSpec(name="train", head=HeadSpec(cpu="2", memory="8Gi"), worker_groups=[group], autoscaling=AutoscalingSpec())
    with pytest.raises(ConfigError) as exc:
        RayClusterSpec(name="train", head=HeadSpec(cpu="2", memory="8Gi"), worker_groups=[group])
    assert exc.value.problems == [
        "RayClusterSpec.workerGroups[0].idleTimeoutSeconds: only the Ray autoscaler reads it, and this cluster has none: turn "
        "on autoscaling, or remove it"]


@pytest.mark.parametrize(("build", "expected"), [
    (lambda: WorkerGroupSpec(name="Bad_Name"), "WorkerGroupSpec.name: 'Bad_Name' is not a DNS-1035 label"),
    (lambda: WorkerGroupSpec(name="cpu", cpu=True), "WorkerGroupSpec.cpu: "),
    (lambda: Toleration(key="a", operator="Exists", value="b"), "Toleration.value: must be empty when operator is Exists"),
    (lambda: StackSpec(ray_clusters=[{"name": "a", "workerGroups": [{"name": "x", "maxReplica": 2}]}]),
     "StackSpec.ray_clusters[0].workerGroups[0].maxReplica: unknown key"),  # the key as written
    (lambda: HeadSpec(labels={"ray.io/x": "y"}), 'HeadSpec.labels["ray.io/x"]: \'ray.io/x\' is set by raydask'),
])
def test_no_raw_pydantic_error_leaves_a_constructor(build: object, expected: str) -> None:
    with pytest.raises(ConfigError) as exc:
        build()  # type: ignore[operator]
    assert not isinstance(exc.value, pydantic.ValidationError)
    assert any(p.startswith(expected) for p in exc.value.problems), exc.value.problems
    assert "@" not in str(exc.value)


def test_problems_travel_as_data() -> None:
    with pytest.raises(pydantic.ValidationError) as exc:
        StackSpec.model_validate({"rayClusters": [{"name": "a", "head": {"labels": {"ray.io/x": "y"}}}]})
    [err] = [e for e in exc.value.errors() if e["type"] == RULES_ERROR]
    assert err["loc"] == ("rayClusters", 0, "head")
    assert err["ctx"]["problems"] == [(("labels", "ray.io/x"),
                                       "'ray.io/x' is set by raydask or the operator (it selects the pods): use another key")]
    assert from_validation_error(exc.value, "raydask:").problems == [
        "raydask:rayClusters[0].head.labels[\"ray.io/x\"]: 'ray.io/x' is set by raydask or the operator (it selects the "
        "pods): use another key"]


def test_dotted_paths_and_tuples() -> None:
    assert parts("workerGroups.0.name") == ("workerGroups", 0, "name")
    assert parts(("nodeSelector", "10")) == ("nodeSelector", "10")  # a key of digits stays a key in a tuple
    with pytest.raises(pydantic_core_error()) as exc:
        check([("a.1", "x"), (("b", "2"), "y")])
    assert exc.value.context["problems"] == [(("a", 1), "x"), (("b", "2"), "y")]  # type: ignore[index]


def pydantic_core_error() -> type[Exception]:
    from pydantic_core import PydanticCustomError

    return PydanticCustomError
