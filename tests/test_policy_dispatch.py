"""The dispatching servicer answers exactly as the plain SDK servicer does, only faster.

Both servicers are fed the same Analyze and AnalyzeStack requests, built from the recorded prod stack by
the same code `paved preview` uses, and their responses are compared message for message: violations,
levels, "not applicable" entries and preview-unknown notes, in the same order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from paved_policies import dispatch
from paved_policies.exemptions import LEDGER
from paved_policies.pack import build_policies
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import EnforcementLevel
from pulumi_policy import policy as sdk

from paved.analyzer import ResourceMessages, _configure_request, merge_policy_config
from paved.recorder import RecordedResource, Recording

PLAIN = dispatch.DispatchingServicer.__mro__[1]  # the SDK's own servicer class


def _servicer(cls: type, config: dict[str, Any] | None = None) -> Any:
    servicer = cls("paved-aws", "0.0.1", build_policies("prod"), EnforcementLevel.MANDATORY)
    if config is not None:
        info = servicer.GetAnalyzerInfo(None, None)
        servicer.Configure(_configure_request(merge_policy_config(info, [config])), None)
    return servicer


def _judged(servicer: Any, messages: ResourceMessages) -> tuple[list[Any], Any]:
    LEDGER.clear()  # the exemptions report reads what this servicer's policies recorded, nothing older
    analyses = [
        servicer.Analyze(messages.analyze_request(r, r.inputs), None) for r in _one_per_type(messages)
    ]
    stack = servicer.AnalyzeStack(messages.stack_request({r.urn: r.inputs for r in messages.resources}), None)
    return analyses, stack


def _one_per_type(messages: ResourceMessages) -> list[RecordedResource]:
    """One resource of each type: it meets all of its type's resource policies (the plain SDK is slow)."""
    return list({resource.type: resource for resource in messages.resources}.values())


@pytest.fixture(scope="module")
def prod(shipped_recordings: Callable[[str], Recording]) -> ResourceMessages:
    return ResourceMessages(shipped_recordings("prod"))


@pytest.fixture(scope="module")
def plain_prod(prod: ResourceMessages) -> tuple[list[Any], Any]:
    return _judged(_servicer(PLAIN), prod)


def test_analyze_responses_are_identical(prod: ResourceMessages, plain_prod: tuple[list[Any], Any]) -> None:
    fast, _ = _judged(_servicer(dispatch.DispatchingServicer), prod)
    plain, _ = plain_prod
    assert len(fast) == len(plain) > 100
    for resource, fast_response, plain_response in zip(_one_per_type(prod), fast, plain, strict=True):
        assert fast_response == plain_response, resource.urn
    # Not vacuous: the stack does give resource policies something to say.
    assert any(response.not_applicable for response in plain)


def test_analyze_stack_responses_are_identical(
    prod: ResourceMessages, plain_prod: tuple[list[Any], Any]
) -> None:
    _, fast = _judged(_servicer(dispatch.DispatchingServicer), prod)
    _, plain = plain_prod
    assert fast == plain
    assert plain.diagnostics or plain.not_applicable


def test_responses_stay_identical_when_config_disables_and_downgrades_policies(
    prod: ResourceMessages,
) -> None:
    stack_policies = build_policies("prod").stack_policies()
    # Disabling the first stack policies makes a later one the first to read the stack.
    config = {name: {"enforcementLevel": "disabled"} for name in (p.name for p in stack_policies[:2])}
    config["s3-versioning-enabled"] = {"enforcementLevel": "advisory"}
    fast = _servicer(dispatch.DispatchingServicer, config)
    plain = _servicer(PLAIN, config)
    subset = ResourceMessages(Recording(project="paved", stack="prod", resources=_one_per_type(prod)))
    request = subset.stack_request({r.urn: r.inputs for r in subset.resources})
    LEDGER.clear()
    plain_response = plain.AnalyzeStack(request, None)
    LEDGER.clear()
    fast_response = fast.AnalyzeStack(request, None)
    assert fast_response == plain_response
    reported = {d.policyName for d in fast_response.diagnostics} | {
        n.policy_name for n in fast_response.not_applicable
    }
    assert not reported & {p.name for p in stack_policies[:2]}


def test_analyze_says_not_applicable_for_other_types_as_the_plain_sdk_does_when_some_are_disabled(
    prod: ResourceMessages,
) -> None:
    # A disabled policy is skipped by the SDK before it can say anything; one of another type says it does
    # not judge the resource, in pack order among the policies that do.
    config = {"rds-not-public": "disabled", "aws-required-tags": "disabled"}
    fast = _servicer(dispatch.DispatchingServicer, config)
    plain = _servicer(PLAIN, config)
    for resource in _one_per_type(prod)[:12]:
        request = prod.analyze_request(resource, resource.inputs)
        fast_response = fast.Analyze(request, None)
        assert fast_response == plain.Analyze(request, None), resource.urn
        said = {entry.policy_name: entry.reason for entry in fast_response.not_applicable}
        assert not {"rds-not-public", "aws-required-tags"} & said.keys()
        if resource.type != "aws:rds/instance:Instance":
            assert said["rds-backup-retention"] == f"does not judge {resource.type}"


def test_a_stack_of_unknown_types_gets_the_same_answer(prod: ResourceMessages) -> None:
    request = analyzer_pb2.AnalyzeRequest(
        type="acme:widgets/widget:Widget", urn="urn:pulumi:s::p::acme:w::w", name="w"
    )
    assert _servicer(dispatch.DispatchingServicer).Analyze(request, None) == _servicer(PLAIN).Analyze(
        request, None
    )


def test_remediate_answers_at_once_when_no_policy_remediates(prod: ResourceMessages) -> None:
    resource = prod.resources[1]
    request = prod.analyze_request(resource, resource.inputs)
    fast = _servicer(dispatch.DispatchingServicer).Remediate(request, None)
    assert fast == analyzer_pb2.RemediateResponse()
    assert list(_servicer(PLAIN).Remediate(request, None).remediations) == []


def test_runtime_settings_are_read_once(monkeypatch: pytest.MonkeyPatch, prod: ResourceMessages) -> None:
    calls: list[int] = []
    monkeypatch.setattr(PLAIN, "_configure_runtime_settings", lambda self: calls.append(1))
    servicer = _servicer(dispatch.DispatchingServicer)
    for resource in prod.resources[:5]:
        servicer.Analyze(prod.analyze_request(resource, resource.inputs), None)
    assert calls == [1]


@pytest.fixture
def sdk_servicer_class() -> Iterator[None]:
    original = sdk._PolicyAnalyzerServicer
    yield
    sdk._PolicyAnalyzerServicer = original


@pytest.mark.usefixtures("sdk_servicer_class")
def test_install_serves_with_the_dispatching_servicer_on_the_tested_sdk_only(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert not dispatch.install({dispatch.PLAIN_SDK_VARIABLE: "1"})
    assert sdk._PolicyAnalyzerServicer is PLAIN
    monkeypatch.setattr(dispatch, "SDK_VERSION", "9.9.9")
    assert not dispatch.install({})
    assert "pulumi-policy 9.9.9" in capsys.readouterr().err
    assert sdk._PolicyAnalyzerServicer is PLAIN
    monkeypatch.setattr(dispatch, "SDK_VERSION", dispatch.TESTED_SDK_VERSION)
    assert dispatch.install({})
    assert sdk._PolicyAnalyzerServicer is dispatch.DispatchingServicer


def test_the_pinned_sdk_is_the_tested_one() -> None:
    requirements = dispatch.__file__.rsplit("/paved_policies/", 1)[0] + "/requirements.txt"
    with open(requirements) as handle:
        pins = dict(line.strip().split("==") for line in handle if "==" in line)
    assert pins["pulumi-policy"] == dispatch.TESTED_SDK_VERSION == dispatch.SDK_VERSION


def test_policy_list_offers_a_type_to_its_own_resource_policies_only() -> None:
    policies = build_policies("prod")
    offered = {p.name for p in policies.for_type("aws:ec2/securityGroup:SecurityGroup")}
    assert {"security-group-no-public-ingress", "aws-required-tags"} <= offered
    assert not {"rds-not-public", "vpc-flow-logs-enabled", "paved-exemptions"} & offered
    # Outside a dispatching call the SDK (GetAnalyzerInfo, Configure) sees every policy.
    assert [p.name for p in policies] == [p.name for p in policies.all()]
    assert len(policies.all()) > 80
