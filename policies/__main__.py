import os

from paved_policies import dispatch
from paved_policies.environment import detect
from paved_policies.pack import build_policies
from pulumi_policy import EnforcementLevel, PolicyPack

dispatch.install()
PolicyPack(
    name="paved-aws",
    policies=build_policies(detect(os.environ)),
    enforcement_level=EnforcementLevel.MANDATORY,
)
