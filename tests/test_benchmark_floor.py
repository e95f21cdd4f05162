"""The benchmark's import floor: which SDK modules declare a stack's resource types."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

from benchmarks.preview import floor_modules, sdk_module
from paved.recorder import Recording


def test_each_type_maps_to_the_module_that_declares_it() -> None:
    assert sdk_module("aws:rds/instance:Instance") == "pulumi_aws.rds"
    assert sdk_module("aws:index/provider:Provider") == "pulumi_aws"
    assert sdk_module("kubernetes:apps/v1:Deployment") == "pulumi_kubernetes.apps.v1"
    assert sdk_module("kubernetes:networking.k8s.io/v1:NetworkPolicy") == "pulumi_kubernetes.networking.v1"
    assert sdk_module("kubernetes:helm.sh/v3:Release") == "pulumi_kubernetes.helm.v3"
    # A CRD's kind is declared by no SDK module; the program makes it with CustomResource.
    assert sdk_module("kubernetes:external-secrets.io/v1:SecretStore") == "pulumi_kubernetes.apiextensions"
    assert sdk_module("random:index/randomPassword:RandomPassword") == "pulumi_random"
    assert sdk_module("paved:database:Database") is None
    assert sdk_module("pulumi:providers:aws") is None


def test_the_floor_of_the_shipped_prod_stack_is_importable(
    shipped_recordings: Callable[[str], Recording],
) -> None:
    types = {resource.type for resource in shipped_recordings("prod").resources}
    modules = floor_modules(types)
    assert {"pulumi", "pulumi_random", "pulumi_policy", "pulumi_aws.rds", "pulumi_aws.eks"} <= set(modules)
    assert "pulumi_kubernetes.apps.v1" in modules and "pulumi_aws.lambda_" not in modules
    assert all(importlib.util.find_spec(module) is not None for module in modules)
