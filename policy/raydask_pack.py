"""pulumi-policy glue: one mandatory ``ResourceValidationPolicy`` per rule of :mod:`raydask_policies`, one
``StackValidationPolicy`` per stack rule."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from raydask_policies import RULES, STACK_RULES, Rule, StackRule

NAME = "raydask"
ENFORCEMENT = EnforcementLevel.MANDATORY


def plain(value: Any) -> Any:
    """pulumi-policy's read-only proxies as dicts and lists, and numbers as the manifest has them: the engine hands
    every number over as a float (``runAsUser: 10001.0``), which Pod Security and the schemas read as a different value
    (an unknown preview value raises, and the engine reports that the policy cannot run until it is known)."""
    if isinstance(value, Mapping):
        return {str(k): plain(value[k]) for k in value}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [plain(v) for v in value]
    if isinstance(value, float) and not isinstance(value, bool) and value.is_integer():
        return int(value)
    return value


def validator(rule: Rule) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    """A validation callback running ``rule`` on resources of its types, one violation per message."""

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type not in rule.types:
            return
        for message in rule.check(args.resource_type, plain(args.props)):
            report_violation(message, None)

    return validate


def stack_validator(rule: StackRule) -> Callable[[StackValidationArgs, ReportViolation], None]:
    """A stack validation callback running ``rule`` on every resource of the stack, one violation per message."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        for message in rule.check([(r.resource_type, plain(r.props)) for r in args.resources]):
            report_violation(message, None)

    return validate


def policies() -> list[ResourceValidationPolicy | StackValidationPolicy]:
    """Every policy of the pack, mandatory."""
    resource: list[ResourceValidationPolicy | StackValidationPolicy] = [
        ResourceValidationPolicy(name=r.name, description=r.description, validate=validator(r), enforcement_level=ENFORCEMENT)
        for r in RULES]
    return resource + [StackValidationPolicy(name=r.name, description=r.description, validate=stack_validator(r),
                                             enforcement_level=ENFORCEMENT) for r in STACK_RULES]
