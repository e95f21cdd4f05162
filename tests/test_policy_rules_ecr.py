"""The ECR family: tag immutability (ECR.2), a lifecycle policy per repository (ECR.3), and customer
managed KMS keys.

tests/test_policy_pack.py runs the tables below with every other family's, through tests/policy_harness.py.
"""

from __future__ import annotations

from paved_policies.rules import ecr

from tests.policy_harness import (
    UNKNOWN,
    Deferral,
    Family,
    OtherType,
    PreviewUnknown,
    Res,
    ResourceCase,
    StackCase,
    but,
    with_deps,
)

REPOSITORY = "aws:ecr/repository:Repository"
PUBLIC_REPOSITORY = "aws:ecr/publicRepository:PublicRepository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
IMMUTABLE = "ecr-tag-immutability"
LIFECYCLE_POLICY = "ecr-lifecycle-policy"
KMS = "ecr-repository-kms"
KEY_ARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

# As paved declares them (components/registry.py), with the key a literal ARN.
OURS = {
    "name": "paved-prod/api",
    "imageTagMutability": "IMMUTABLE",
    "encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": KEY_ARN}],
    "forceDelete": False,
}
RULES_TEXT = '{"rules": [{"rulePriority": 1, "selection": {"tagStatus": "untagged"}}]}'

RESOURCE_CASES: list[ResourceCase] = [
    ("immutable", IMMUTABLE, REPOSITORY, OURS, "ok", ""),
    ("mutable-by-default", IMMUTABLE, REPOSITORY, {"name": "r"}, "violation", "MUTABLE, not IMMUTABLE"),
    (
        # Tags matching an exclusion filter can still move, and ECR.2 documents only IMMUTABLE as passing.
        "immutable-with-exclusion",
        IMMUTABLE,
        REPOSITORY,
        but(OURS, imageTagMutability="IMMUTABLE_WITH_EXCLUSION"),
        "violation",
        "IMMUTABLE_WITH_EXCLUSION",
    ),
    ("cmk", KMS, REPOSITORY, OURS, "ok", ""),
    (
        "dual-layer-cmk",
        KMS,
        REPOSITORY,
        but(OURS, encryptionConfigurations=[{"encryptionType": "KMS_DSSE", "kmsKey": KEY_ARN}]),
        "ok",
        "",
    ),
    ("aes256-by-default", KMS, REPOSITORY, {"name": "r"}, "violation", "S3-managed keys (AES256)"),
    (
        "aes256",
        KMS,
        REPOSITORY,
        but(OURS, encryptionConfigurations=[{"encryptionType": "AES256"}]),
        "violation",
        "encryptionType AES256, not KMS",
    ),
    (
        "aws-managed-key",
        KMS,
        REPOSITORY,
        but(OURS, encryptionConfigurations=[{"encryptionType": "KMS"}]),
        "violation",
        "the AWS managed key aws/ecr",
    ),
]

STACK_CASES: list[StackCase] = [
    (
        "lifecycle-from-the-repository",
        LIFECYCLE_POLICY,
        [
            Res(REPOSITORY, "api", OURS),
            with_deps(
                LIFECYCLE, "api-expiry", {"repository": UNKNOWN, "policy": RULES_TEXT}, repository=["api"]
            ),
        ],
        "ok",
        [],
    ),
    (
        "lifecycle-by-literal-name",
        LIFECYCLE_POLICY,
        [
            Res(REPOSITORY, "api", OURS),
            Res(LIFECYCLE, "api-expiry", {"repository": "paved-prod/api", "policy": RULES_TEXT}),
        ],
        "ok",
        [],
    ),
    (
        # The other repository's lifecycle policy must not count for this one.
        "lifecycle-of-another-repository",
        LIFECYCLE_POLICY,
        [
            Res(REPOSITORY, "api", OURS),
            Res(REPOSITORY, "web", but(OURS, name="paved-prod/web")),
            with_deps(
                LIFECYCLE, "web-expiry", {"repository": UNKNOWN, "policy": RULES_TEXT}, repository=["web"]
            ),
        ],
        "violation",
        ["api"],
    ),
    ("no-lifecycle", LIFECYCLE_POLICY, [Res(REPOSITORY, "api", OURS)], "violation", ["api"]),
]

DEFERRALS: list[Deferral] = [
    (IMMUTABLE, REPOSITORY, but(OURS, imageTagMutability=UNKNOWN)),
    (KMS, REPOSITORY, but(OURS, encryptionConfigurations=[{"encryptionType": UNKNOWN, "kmsKey": KEY_ARN}])),
]

PREVIEW_UNKNOWNS: list[PreviewUnknown] = [
    # The key is another resource's output: a key the program creates.
    (
        KMS,
        REPOSITORY,
        but(OURS, encryptionConfigurations=[{"encryptionType": "KMS", "kmsKey": UNKNOWN}]),
        "ok",
    ),
]

OTHER_TYPES: list[OtherType] = [
    (IMMUTABLE, PUBLIC_REPOSITORY),
    (KMS, PUBLIC_REPOSITORY),
]

FAMILY = Family(
    name="ecr",
    rules=ecr.RULES,
    resource_cases=RESOURCE_CASES,
    stack_cases=STACK_CASES,
    deferrals=DEFERRALS,
    preview_unknowns=PREVIEW_UNKNOWNS,
    other_types=OTHER_TYPES,
    fuzz_keys=[
        "name",
        "imageTagMutability",
        "encryptionConfigurations",
        "encryptionType",
        "kmsKey",
        "repository",
    ],
)
