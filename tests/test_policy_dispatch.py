"""The dispatching servicer answers exactly as the plain SDK servicer does, only faster.

Both servicers are fed the same Analyze and AnalyzeStack requests, built from the recorded prod stack by
the same code `paved preview` uses, and their responses are compared message for message: violations,
levels, "not applicable" entries and preview-unknown notes, in the same order. The one-pass decoder is
compared with the SDK's three passes value by value: types, order, and the path each proxy reports.
"""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import grpc
import pytest
from google.protobuf import json_format, struct_pb2
from paved_policies import dispatch
from paved_policies.exemptions import LEDGER
from paved_policies.pack import build_policies
from paved_policies.props import plain as plain_value
from paved_policies.server import InlineGrpc
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import EnforcementLevel
from pulumi_policy import policy as sdk
from pulumi_policy.deserialize import (
    SPECIAL_ARCHIVE_SIG,
    SPECIAL_ASSET_SIG,
    SPECIAL_SECRET_SIG,
    SPECIAL_SIG_KEY,
    deserialize_properties,
)
from pulumi_policy.proxy import (
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
    _DictProxy,
    _ListProxy,
    unknown_checking_proxy,
)

from paved.analyzer import ResourceMessages, _configure_request, merge_policy_config
from paved.program import collector_paused
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
    # The plain SDK decodes a fresh copy of a resource for each policy: without the collector scanning
    # them (paved.program.collector_paused) it judges in three fifths of the time, and answers the same.
    with collector_paused():
        analyses = [
            servicer.Analyze(messages.analyze_request(r, r.inputs), None) for r in _one_per_type(messages)
        ]
        stack = servicer.AnalyzeStack(
            messages.stack_request({r.urn: r.inputs for r in messages.resources}), None
        )
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


@pytest.fixture(scope="module")
def fast_prod(prod: ResourceMessages) -> tuple[list[Any], Any]:
    """The dispatching servicer's answers to the same requests, judged once for the tests that read them."""
    return _judged(_servicer(dispatch.DispatchingServicer), prod)


def _secret(value: Any) -> dict[str, Any]:
    return {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG, "value": value}


def _edited(messages: ResourceMessages, edit: Callable[[Any], Any]) -> ResourceMessages:
    """One resource of each type, every top-level input passed through `edit`."""
    resources = [
        dataclasses.replace(resource, inputs={key: edit(value) for key, value in resource.inputs.items()})
        for resource in _one_per_type(messages)
    ]
    return ResourceMessages(Recording(project="paved", stack="prod", resources=resources))


def test_analyze_responses_are_identical(
    prod: ResourceMessages, plain_prod: tuple[list[Any], Any], fast_prod: tuple[list[Any], Any]
) -> None:
    fast, _ = fast_prod
    plain, _ = plain_prod
    assert len(fast) == len(plain) > 100
    for resource, fast_response, plain_response in zip(_one_per_type(prod), fast, plain, strict=True):
        assert fast_response == plain_response, resource.urn
    # Not vacuous: the stack does give resource policies something to say.
    assert any(response.not_applicable for response in plain)


def test_analyze_stack_responses_are_identical(
    plain_prod: tuple[list[Any], Any], fast_prod: tuple[list[Any], Any]
) -> None:
    _, fast = fast_prod
    _, plain = plain_prod
    assert fast == plain
    assert plain.diagnostics or plain.not_applicable


@pytest.mark.parametrize(
    "edit",
    [
        # In a first preview much is unknown: policies that read it say so instead of judging.
        lambda value: UNKNOWN_STRING_VALUE if isinstance(value, str) else value,
        lambda value: UNKNOWN_NUMBER_VALUE if isinstance(value, int | float) else value,
        # Secret inputs reach policies as their plain values.
        _secret,
    ],
    ids=["unknown strings", "unknown numbers", "secrets"],
)
def test_responses_stay_identical_for_unknown_and_secret_inputs(
    prod: ResourceMessages, edit: Callable[[Any], Any]
) -> None:
    messages = _edited(prod, edit)
    fast_analyses, fast_stack = _judged(_servicer(dispatch.DispatchingServicer), messages)
    plain_analyses, plain_stack = _judged(_servicer(PLAIN), messages)
    assert fast_analyses == plain_analyses
    assert fast_stack == plain_stack


def test_the_unknown_inputs_do_reach_policies(prod: ResourceMessages) -> None:
    messages = _edited(prod, lambda value: UNKNOWN_STRING_VALUE if isinstance(value, str) else value)
    analyses, _ = _judged(_servicer(dispatch.DispatchingServicer), messages)
    assert any("during preview" in d.message for response in analyses for d in response.diagnostics)


def test_analyze_responses_stay_identical_when_config_disables_downgrades_and_exempts(
    prod: ResourceMessages,
) -> None:
    config = {
        "aws-required-tags": {"enforcementLevel": "disabled"},
        "security-group-no-public-ingress": {"enforcementLevel": "advisory"},
        # The SDK reports a policy at the remediate level as mandatory in Analyze.
        "rds-not-public": {"enforcementLevel": "remediate"},
        "rds-storage-encrypted-cmk": {"exemptions": [{"urn": "*", "reason": "a test says so"}]},
    }
    fast, plain = _servicer(dispatch.DispatchingServicer, config), _servicer(PLAIN, config)
    with collector_paused():
        for resource in _one_per_type(prod):
            request = prod.analyze_request(resource, resource.inputs)
            assert fast.Analyze(request, None) == plain.Analyze(request, None), resource.urn


def test_no_policy_changes_the_properties_it_judges(
    prod: ResourceMessages, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Policies share one decoded copy of a resource: none may write to it."""

    def refuse(self: Any, key: str, value: Any) -> None:
        raise AssertionError(f"a policy set {key!r}")

    monkeypatch.setattr(_DictProxy, "__setitem__", refuse)
    _judged(_servicer(dispatch.DispatchingServicer), prod)


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
    with collector_paused():
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


def test_analyze_follows_a_new_config(prod: ResourceMessages) -> None:
    fast = _servicer(dispatch.DispatchingServicer, {})
    resources = _one_per_type(prod)[:12]
    for resource in resources:
        fast.Analyze(prod.analyze_request(resource, resource.inputs), None)
    config = {
        "rds-not-public": "disabled",
        "aws-required-tags": "advisory",
        "s3-versioning-enabled": "disabled",
    }
    info = fast.GetAnalyzerInfo(None, None)
    fast.Configure(_configure_request(merge_policy_config(info, [config])), None)
    plain = _servicer(PLAIN, config)
    for resource in resources:
        request = prod.analyze_request(resource, resource.inputs)
        assert fast.Analyze(request, None) == plain.Analyze(request, None), resource.urn


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


def test_analyze_stack_pauses_the_cyclic_collector_and_restores_it(prod: ResourceMessages) -> None:
    subset = _edited(prod, lambda value: value)
    request = subset.stack_request({r.urn: r.inputs for r in subset.resources})
    servicer = _servicer(dispatch.DispatchingServicer)
    servicer.AnalyzeStack(request, None)
    assert gc.isenabled()
    gc.disable()
    try:
        servicer.AnalyzeStack(request, None)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_provider_is_decoded_once_per_distinct_message(prod: ResourceMessages) -> None:
    servicer = _servicer(dispatch.DispatchingServicer)
    with_provider = [r for r in prod.resources if r.provider_urn]
    first, second = (prod.analyze_request(r, r.inputs) for r in with_provider[:2])
    assert first.provider == second.provider
    assert servicer._get_provider_resource(first) is servicer._get_provider_resource(second)
    changed = analyzer_pb2.AnalyzeRequest()
    changed.CopyFrom(first)
    changed.provider.properties.update({"region": "eu-west-1"})
    provider = servicer._get_provider_resource(changed)
    assert provider.props["region"] == "eu-west-1"
    assert _picture(provider.props) == _picture(_sdk_decoded(changed.provider.properties))
    assert servicer._get_provider_resource(analyzer_pb2.AnalyzeRequest()) is None


# -- the one-pass decoder ------------------------------------------------------------------------------


def _sdk_decoded(struct: struct_pb2.Struct) -> Any:
    return unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(struct)))


def _picture(value: Any) -> Any:
    """Everything a policy could tell apart: types, order, values, and the path each proxy reports."""
    if isinstance(value, _DictProxy):
        target = value["__target"]
        return ("dict", value._DictProxy__props_acc, [(k, _picture(v)) for k, v in target.items()])  # type: ignore[attr-defined]
    if isinstance(value, _ListProxy):
        target = value["__target"]
        return ("list", value._ListProxy__props_acc, [_picture(v) for v in target])  # type: ignore[attr-defined]
    if isinstance(value, dict):  # inside an asset archive
        return ("plain dict", [(k, _picture(v)) for k, v in value.items()])
    if hasattr(value, "__dict__"):  # assets and archives
        return (type(value).__name__, _picture(vars(value)))
    return (type(value).__name__, value)


def _struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(value)
    return struct


def test_the_decoder_gives_what_the_sdk_gives_for_every_recorded_resource_and_provider(
    prod: ResourceMessages,
) -> None:
    for resource in prod.resources:
        request = prod.analyze_request(resource, resource.inputs)
        for struct in (request.properties, request.provider.properties):
            assert _picture(dispatch.decode_properties(struct)) == _picture(_sdk_decoded(struct)), (
                resource.urn
            )


@pytest.mark.parametrize(
    "value",
    [
        {},
        {
            "text": "x",
            "whole": 3,
            "half": 1.5,
            "yes": True,
            "no": False,
            "nothing": None,
            "empty": {},
            "none": [],
        },
        {"list": [1, "a", [2.0, {"k": UNKNOWN_STRING_VALUE}], {}, None], "unknown": UNKNOWN_NUMBER_VALUE},
        {"password": _secret("hunter2"), "nested": {"deep": _secret({"inner": [1, _secret([2])]})}},
        # The SDK unwraps secrets below the top level only.
        _secret({"a": 1}),
        {"code": {SPECIAL_SIG_KEY: SPECIAL_ASSET_SIG, "path": "lambda.zip"}, "plain": {"k": [1]}},
        {
            "bundle": {
                SPECIAL_SIG_KEY: SPECIAL_ARCHIVE_SIG,
                "assets": {"a": {SPECIAL_SIG_KEY: SPECIAL_ASSET_SIG, "text": "t"}},
            }
        },
    ],
    ids=["empty", "scalars", "lists and unknowns", "secrets", "top-level signature", "asset", "archive"],
)
def test_the_decoder_gives_what_the_sdk_gives(value: Mapping[str, Any]) -> None:
    struct = _struct(value)
    assert _picture(dispatch.decode_properties(struct)) == _picture(_sdk_decoded(struct))


@pytest.mark.parametrize(
    "value",
    [
        {"broken": {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG}},
        {"odd": {SPECIAL_SIG_KEY: "not-a-signature"}},
        {"list": [{"infinite": float("inf")}]},
        {"nan": float("nan")},
    ],
    ids=["secret without value", "unknown signature", "infinity", "nan"],
)
def test_the_decoder_fails_as_the_sdk_fails(value: Mapping[str, Any]) -> None:
    struct = _struct(value)
    with pytest.raises(Exception) as sdk_error:
        _sdk_decoded(struct)
    with pytest.raises(type(sdk_error.value)) as error:
        dispatch.decode_properties(struct)
    assert str(error.value) == str(sdk_error.value)


# -- installing -----------------------------------------------------------------------------------------


def _sdk_grpc() -> Any:
    """What pulumi_policy.policy calls `grpc`: PolicyPack builds its server with `grpc.server(...)`."""
    return vars(sdk)["grpc"]


@pytest.fixture
def sdk_servicer_class() -> Iterator[None]:
    original, original_grpc = sdk._PolicyAnalyzerServicer, _sdk_grpc()
    yield
    sdk._PolicyAnalyzerServicer = original
    setattr(sdk, "grpc", original_grpc)  # noqa: B010 - the SDK does not export its grpc import


@pytest.mark.usefixtures("sdk_servicer_class")
def test_install_serves_with_the_dispatching_servicer_on_the_tested_sdk_only(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert not dispatch.install({dispatch.PLAIN_SDK_VARIABLE: "1"})
    assert sdk._PolicyAnalyzerServicer is PLAIN
    assert _sdk_grpc() is grpc
    monkeypatch.setattr(dispatch, "SDK_VERSION", "9.9.9")
    assert not dispatch.install({})
    assert "pulumi-policy 9.9.9" in capsys.readouterr().err
    assert sdk._PolicyAnalyzerServicer is PLAIN
    monkeypatch.setattr(dispatch, "SDK_VERSION", dispatch.TESTED_SDK_VERSION)
    assert dispatch.install({})
    assert sdk._PolicyAnalyzerServicer is dispatch.DispatchingServicer
    assert _sdk_grpc() is InlineGrpc


@pytest.mark.usefixtures("sdk_servicer_class")
def test_install_serves_with_grpc_server_on_another_grpcio(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(dispatch, "GRPC_VERSION", "9.9.9")
    assert dispatch.install({})
    assert sdk._PolicyAnalyzerServicer is dispatch.DispatchingServicer
    assert _sdk_grpc() is grpc
    assert "grpcio 9.9.9" in capsys.readouterr().err


def test_the_pinned_sdk_and_grpcio_are_the_tested_ones() -> None:
    requirements = dispatch.__file__.rsplit("/paved_policies/", 1)[0] + "/requirements.txt"
    with open(requirements) as handle:
        pins = dict(line.strip().split("==") for line in handle if "==" in line)
    assert pins["pulumi-policy"] == dispatch.TESTED_SDK_VERSION == dispatch.SDK_VERSION
    assert pins["grpcio"] == dispatch.TESTED_GRPC_VERSION == dispatch.GRPC_VERSION


def test_policy_list_offers_a_type_to_its_own_resource_policies_only() -> None:
    policies = build_policies("prod")
    offered = {p.name for p in policies.for_type("aws:ec2/securityGroup:SecurityGroup")}
    assert {"security-group-no-public-ingress", "aws-required-tags"} <= offered
    assert not {"rds-not-public", "vpc-flow-logs-enabled", "paved-exemptions"} & offered
    assert {p.name for p in policies.stack_policies()} >= {"wiring-proof", "paved-exemptions"}
    assert policies.stack_policies()[-1].name == "paved-exemptions"
    assert not policies.remediating()
    assert len(policies) > 80


class _ItemByItem(Mapping[str, Any]):
    """A proxy read only through its Mapping and Sequence interface, as any policy reads it."""

    def __init__(self, proxy: Any):
        self._proxy = proxy

    def __getitem__(self, key: str) -> Any:
        return _item_by_item(self._proxy[key])

    def __iter__(self) -> Iterator[str]:
        return iter(self._proxy)

    def __len__(self) -> int:
        return len(self._proxy)


def _item_by_item(value: Any) -> Any:
    if isinstance(value, Mapping):
        return _ItemByItem(value)
    if isinstance(value, _ListProxy):
        return [_item_by_item_or_sentinel(value, index) for index in range(len(value))]
    return value


def _item_by_item_or_sentinel(proxy: Any, index: int) -> Any:
    try:
        return _item_by_item(proxy[index])
    except UnknownValueError as error:
        return error.unknown_type_sentinel


def _every_string_unknown(value: Any) -> Any:
    if isinstance(value, str):
        return UNKNOWN_STRING_VALUE
    if isinstance(value, Mapping):
        # A secret's or asset's signature must stay what it is, or the SDK refuses the value.
        return {
            key: item if key == SPECIAL_SIG_KEY else _every_string_unknown(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_every_string_unknown(item) for item in value]
    return value


@pytest.mark.parametrize(
    "edit",
    [
        lambda value: value,
        lambda value: UNKNOWN_STRING_VALUE if isinstance(value, str) else value,
        lambda value: UNKNOWN_NUMBER_VALUE if isinstance(value, float | int) else value,
        _every_string_unknown,
        _secret,
    ],
    ids=["as recorded", "unknown strings", "unknown numbers", "unknown strings inside", "secrets"],
)
def test_plain_reads_the_proxies_as_reading_them_item_by_item_does(
    prod: ResourceMessages, edit: Callable[[Any], Any]
) -> None:
    messages = _edited(prod, edit)
    for resource in messages.resources:
        decoded = dispatch.decode_properties(messages.analyze_request(resource, resource.inputs).properties)
        assert plain_value(decoded) == plain_value(_item_by_item(decoded)), resource.urn
