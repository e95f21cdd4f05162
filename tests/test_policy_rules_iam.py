"""The IAM family: what identity policies allow (IAM.1, IAM.21, KMS.1, KMS.2), policies of users' own (IAM.2),
the account password policy (IAM.7); and paved's own resource and identity policies, once their outputs are
known, against every policy that judges a policy document.

tests/test_policy_pack.py runs the tables below with every other family's, through tests/policy_harness.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from paved_policies.pack import RULES
from paved_policies.rule import ResourceRule
from paved_policies.rules import iam_policies
from pulumi_policy import StackValidationArgs, StackValidationPolicy
from pulumi_policy.proxy import UNKNOWN_BOOLEAN_VALUE, UNKNOWN_NUMBER_VALUE, UnknownValueError

from paved.recorder import Recording
from tests.policy_harness import (
    POLICIES,
    UNKNOWN,
    UNKNOWNS,
    Deferral,
    Family,
    OtherType,
    Res,
    ResourceCase,
    StackCase,
    StackFuzzTarget,
    build_stack,
    policy_document,
    run_resource,
    run_stack,
    urn_of,
)

POLICY = "aws:iam/policy:Policy"
ROLE = "aws:iam/role:Role"
USER = "aws:iam/user:User"
GROUP = "aws:iam/group:Group"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
USER_POLICY = "aws:iam/userPolicy:UserPolicy"
GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
ROLE_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
USER_ATTACHMENT = "aws:iam/userPolicyAttachment:UserPolicyAttachment"
POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment"
USER_POLICIES_EXCLUSIVE = "aws:iam/userPoliciesExclusive:UserPoliciesExclusive"
USER_ATTACHMENTS_EXCLUSIVE = "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive"
GROUP_MEMBERSHIP = "aws:iam/userGroupMembership:UserGroupMembership"
PASSWORD_POLICY = "aws:iam/accountPasswordPolicy:AccountPasswordPolicy"

FULL_ADMIN = "iam-policy-no-full-admin"
SERVICE_WILDCARD = "iam-policy-no-service-wildcard"
DECRYPT_ALL = "iam-policy-no-kms-decrypt-all-keys"
INLINE_DECRYPT_ALL = "iam-inline-policy-no-kms-decrypt-all-keys"
USER_POLICIES = "iam-user-no-attached-policies"
PASSWORD = "iam-password-policy-strong"

KEY_ARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def allow(action: Any, resource: Any = "*", **more: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **more}


READ_BUCKET = allow(["s3:GetObject", "s3:ListBucket"], ["arn:aws:s3:::b", "arn:aws:s3:::b/*"])
DESCRIBE = allow(["ec2:Describe*", "elasticloadbalancing:Describe*"])
DECRYPT_ONE_KEY = allow(
    "kms:Decrypt", KEY_ARN, Condition={"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}
)
LEAST_PRIVILEGE = policy_document({"Sid": "Read", **READ_BUCKET}, DESCRIBE, DECRYPT_ONE_KEY)


def customer_policy(policy: Any, name: str = "p") -> list[Res]:
    """A customer managed policy attached to a role, as a program declares it."""
    return [
        Res(POLICY, name, {"policy": policy, "name": name}),
        Res(ROLE, f"{name}-role", {"assumeRolePolicy": UNKNOWN}),
        Res(
            ROLE_ATTACHMENT,
            f"{name}-attachment",
            {"role": UNKNOWN, "policyArn": UNKNOWN},
            prop_deps={"role": [f"{name}-role"], "policyArn": [name]},
        ),
    ]


def boundary(policy: str) -> list[Res]:
    """A policy that only bounds a role: its ARN is the role's permissionsBoundary."""
    return [
        Res(POLICY, "boundary", {"policy": policy}),
        Res(
            ROLE, "bounded", {"permissionsBoundary": UNKNOWN}, prop_deps={"permissionsBoundary": ["boundary"]}
        ),
    ]


ADMIN = policy_document(allow("*"))
SERVICE_ADMIN = policy_document(allow(["s3:GetObject", "s3:*"], "arn:aws:s3:::b/*"))
DECRYPTS_EVERY_KEY = policy_document(allow(["kms:Decrypt*", "kms:GenerateDataKey"]))


def user(name: str = "u", **props: Any) -> Res:
    return Res(USER, name, {"name": name, **props})


def for_user(rtype: str, name: str, prop: str, owner: str = "u", **props: Any) -> Res:
    return Res(rtype, name, {prop: UNKNOWN, **props}, prop_deps={prop: [owner]})


def in_group() -> list[Res]:
    """Group 'g' and the membership that puts user 'u' in it, both ids unknown as in a first preview."""
    return [
        Res(GROUP, "g", {"name": "g"}),
        Res(
            GROUP_MEMBERSHIP,
            "m",
            {"user": UNKNOWN, "groups": [UNKNOWN]},
            prop_deps={"user": ["u"], "groups": ["g"]},
        ),
    ]


STRONG_PASSWORDS = {
    "minimumPasswordLength": 14.0,
    "requireUppercaseCharacters": True,
    "requireLowercaseCharacters": True,
    "requireSymbols": True,
    "requireNumbers": True,
}

GITHUB_OIDC = "iam-github-oidc-trust-pinned"
GITHUB_PROVIDER = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"


def github_trust(condition: Any = None, **statement: Any) -> str:
    """A role trust policy for GitHub Actions' OIDC provider, pinned as AWS and GitHub document it unless
    `condition` says otherwise."""
    pinned = {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": "repo:acme/infra:environment:prod",
        }
    }
    return policy_document(
        {
            "Effect": "Allow",
            "Principal": {"Federated": GITHUB_PROVIDER},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": pinned if condition is None else condition,
            **statement,
        }
    )


RESOURCE_CASES: list[ResourceCase] = [
    # iam-github-oidc-trust-pinned
    ("github-pinned", GITHUB_OIDC, ROLE, {"assumeRolePolicy": github_trust()}, "ok", ""),
    (
        "github-two-exact-subjects",
        GITHUB_OIDC,
        ROLE,
        {
            "assumeRolePolicy": github_trust(
                {
                    "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                    "StringLike": {
                        "token.actions.githubusercontent.com:sub": [
                            "repo:acme/infra:pull_request",
                            "repo:acme/infra:ref:refs/heads/main",
                        ]
                    },
                }
            )
        },
        "ok",
        "",
    ),
    (
        "github-wildcard-subject",
        GITHUB_OIDC,
        ROLE,
        {
            "assumeRolePolicy": github_trust(
                {
                    "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                    "StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/*"},
                }
            )
        },
        "violation",
        "sub repo:acme/* is a pattern, not one repository's subject",
    ),
    (
        "github-audience-only",
        GITHUB_OIDC,
        ROLE,
        {
            "assumeRolePolicy": github_trust(
                {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}
            )
        },
        "violation",
        "sub is not pinned: any repository's workflow could assume the role",
    ),
    (
        # A negated operator passes every other subject: it pins nothing.
        "github-negated-subject-and-no-audience",
        GITHUB_OIDC,
        ROLE,
        {
            "assumeRolePolicy": github_trust(
                {"StringNotEquals": {"token.actions.githubusercontent.com:sub": "repo:evil/x:pull_request"}}
            )
        },
        "violation",
        "aud is not pinned to sts.amazonaws.com (StringEquals); sub is not pinned",
    ),
    (
        "github-not-trusted",
        GITHUB_OIDC,
        ROLE,
        {
            "assumeRolePolicy": policy_document(
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            )
        },
        "n/a",
        "does not trust GitHub Actions' OIDC provider",
    ),
    # iam-inline-policy-no-kms-decrypt-all-keys (KMS.2)
    (
        "inline-one-key",
        INLINE_DECRYPT_ALL,
        ROLE_POLICY,
        {"policy": LEAST_PRIVILEGE, "role": UNKNOWN},
        "ok",
        "",
    ),
    (
        "inline-decrypt-star",
        INLINE_DECRYPT_ALL,
        ROLE_POLICY,
        {"policy": policy_document({"Sid": "Keys", **allow("kms:Decrypt")}), "role": UNKNOWN},
        "violation",
        "Keys allows kms:Decrypt on every KMS key",
    ),
    (
        # The control ignores conditions: kms:ViaService still leaves every key.
        "inline-reencrypt-wildcard-with-condition",
        INLINE_DECRYPT_ALL,
        USER_POLICY,
        {
            "policy": policy_document(
                allow(
                    "kms:ReEncrypt*",
                    Condition={"StringEquals": {"kms:ViaService": "ebs.eu-west-1.amazonaws.com"}},
                )
            )
        },
        "violation",
        "kms:ReEncryptFrom",
    ),
    (
        "inline-kms-star-on-account-keys",
        INLINE_DECRYPT_ALL,
        GROUP_POLICY,
        {"policy": policy_document(allow("kms:*", "arn:aws:kms:*:111122223333:key/*"))},
        "violation",
        "kms:Decrypt, kms:ReEncryptFrom",
    ),
    (
        "inline-everything-on-every-arn",
        INLINE_DECRYPT_ALL,
        GROUP_POLICY,
        {"policy": policy_document(allow("*", "arn:*"))},
        "violation",
        "every KMS key",
    ),
    (
        # NotAction allows what it does not name; NotResource every resource it does not name.
        "inline-not-action-not-resource",
        INLINE_DECRYPT_ALL,
        ROLE_POLICY,
        {"policy": policy_document({"Effect": "Allow", "NotAction": "iam:*", "NotResource": KEY_ARN})},
        "violation",
        "kms:Decrypt",
    ),
    (
        "inline-deny-and-encrypt-only",
        INLINE_DECRYPT_ALL,
        ROLE_POLICY,
        {
            "policy": policy_document(
                {"Effect": "Deny", "Action": "kms:*", "Resource": "*"},
                allow(["kms:Encrypt", "kms:GenerateDataKey*"]),
                allow("kms:Decrypt", "arn:aws:kms:eu-west-1:111122223333:alias/*"),
            )
        },
        "ok",
        "",
    ),
    (
        "inline-policy-as-an-object",
        INLINE_DECRYPT_ALL,
        ROLE_POLICY,
        {"policy": {"Version": "2012-10-17", "Statement": [allow("kms:Decrypt")]}},
        "violation",
        "#0 allows kms:Decrypt",
    ),
    ("inline-not-json", INLINE_DECRYPT_ALL, ROLE_POLICY, {"policy": "{"}, "violation", "not a JSON object"),
    (
        "role-inline-policies",
        INLINE_DECRYPT_ALL,
        ROLE,
        {
            "assumeRolePolicy": UNKNOWN,
            "inlinePolicies": [
                {"name": "read", "policy": LEAST_PRIVILEGE},
                {"name": "keys", "policy": policy_document(allow("kms:Decrypt"))},
            ],
        },
        "violation",
        "Inline policy of 'res': #0 allows kms:Decrypt on every KMS key",
    ),
    (
        "role-inline-policies-least-privilege",
        INLINE_DECRYPT_ALL,
        ROLE,
        {"inlinePolicies": [{"name": "read", "policy": LEAST_PRIVILEGE}, {}]},
        "ok",
        "",
    ),
    ("role-without-inline-policies", INLINE_DECRYPT_ALL, ROLE, {"assumeRolePolicy": UNKNOWN}, "n/a", ""),
    # iam-password-policy-strong (IAM.7)
    ("password-strong", PASSWORD, PASSWORD_POLICY, STRONG_PASSWORDS, "ok", ""),
    (
        "password-eight-characters",
        PASSWORD,
        PASSWORD_POLICY,
        {**STRONG_PASSWORDS, "minimumPasswordLength": 8.0},
        "ok",
        "",
    ),
    (
        "password-short",
        PASSWORD,
        PASSWORD_POLICY,
        {**STRONG_PASSWORDS, "minimumPasswordLength": 7.0},
        "violation",
        "minimumPasswordLength is 7",
    ),
    (
        # Unset, IAM requires 6 characters and no character classes.
        "password-defaults",
        PASSWORD,
        PASSWORD_POLICY,
        {"maxPasswordAge": 90.0},
        "violation",
        "requireUppercaseCharacters is not true; requireLowercaseCharacters is not true; "
        "requireSymbols is not true; requireNumbers is not true; minimumPasswordLength is 6",
    ),
    (
        "password-no-symbols",
        PASSWORD,
        PASSWORD_POLICY,
        {**STRONG_PASSWORDS, "requireSymbols": False},
        "violation",
        "'res': requireSymbols is not true.",
    ),
]

DEFERRALS: list[Deferral] = [
    (INLINE_DECRYPT_ALL, ROLE_POLICY, {"policy": UNKNOWN, "role": UNKNOWN}),
    (
        INLINE_DECRYPT_ALL,
        ROLE,
        {"inlinePolicies": [{"name": "a", "policy": LEAST_PRIVILEGE}, {"policy": UNKNOWN}]},
    ),
    (PASSWORD, PASSWORD_POLICY, {**STRONG_PASSWORDS, "requireNumbers": UNKNOWN_BOOLEAN_VALUE}),
    (PASSWORD, PASSWORD_POLICY, {**STRONG_PASSWORDS, "minimumPasswordLength": UNKNOWN_NUMBER_VALUE}),
]
OTHER_TYPES: list[OtherType] = [
    (INLINE_DECRYPT_ALL, POLICY),
    (INLINE_DECRYPT_ALL, "aws:kms/key:Key"),
    (PASSWORD, USER),
]

STACK_CASES: list[StackCase] = [
    # iam-policy-no-full-admin (IAM.1)
    ("admin-least-privilege", FULL_ADMIN, customer_policy(LEAST_PRIVILEGE), "ok", []),
    ("admin-star-star", FULL_ADMIN, customer_policy(ADMIN), "violation", ["p"]),
    (
        "admin-star-colon-star-in-a-list",
        FULL_ADMIN,
        customer_policy(
            policy_document(READ_BUCKET, allow(["s3:GetObject", "*:*"], ["arn:aws:s3:::b", "*"]))
        ),
        "violation",
        ["p"],
    ),
    # Action '*' on one bucket is IAM.21's concern, not full admin.
    (
        "admin-star-on-one-resource",
        FULL_ADMIN,
        customer_policy(policy_document(allow("*", "arn:aws:s3:::b"))),
        "ok",
        [],
    ),
    (
        "admin-deny-star",
        FULL_ADMIN,
        customer_policy(policy_document({"Effect": "Deny", "Action": "*", "Resource": "*"})),
        "ok",
        [],
    ),
    ("admin-unattached-still-judged", FULL_ADMIN, [Res(POLICY, "p", {"policy": ADMIN})], "violation", ["p"]),
    ("admin-boundary-only", FULL_ADMIN, boundary(ADMIN), "n/a", []),
    (
        "admin-boundary-and-attached",
        FULL_ADMIN,
        [
            *boundary(ADMIN),
            Res(
                ROLE_ATTACHMENT,
                "a",
                {"role": UNKNOWN, "policyArn": UNKNOWN},
                prop_deps={"role": ["bounded"], "policyArn": ["boundary"]},
            ),
        ],
        "violation",
        ["boundary"],
    ),
    ("admin-not-json", FULL_ADMIN, customer_policy("[]"), "violation", ["p"]),
    # iam-policy-no-service-wildcard (IAM.21)
    ("service-prefix-wildcards", SERVICE_WILDCARD, customer_policy(LEAST_PRIVILEGE), "ok", []),
    ("service-s3-star", SERVICE_WILDCARD, customer_policy(SERVICE_ADMIN), "violation", ["p"]),
    (
        "service-not-action",
        SERVICE_WILDCARD,
        customer_policy(policy_document({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})),
        "violation",
        ["p"],
    ),
    ("service-every-service", SERVICE_WILDCARD, customer_policy(ADMIN), "violation", ["p"]),
    ("service-boundary-only", SERVICE_WILDCARD, boundary(SERVICE_ADMIN), "n/a", []),
    # iam-policy-no-kms-decrypt-all-keys (KMS.1)
    ("kms1-one-key", DECRYPT_ALL, customer_policy(LEAST_PRIVILEGE), "ok", []),
    ("kms1-every-key", DECRYPT_ALL, customer_policy(DECRYPTS_EVERY_KEY), "violation", ["p"]),
    ("kms1-boundary-only", DECRYPT_ALL, boundary(DECRYPTS_EVERY_KEY), "n/a", []),
    # iam-user-no-attached-policies (IAM.2)
    (
        "user-through-a-group-beside-one-with-a-policy-of-its-own",
        USER_POLICIES,
        [
            user(),
            *in_group(),
            # Detaching every policy is what IAM.2 asks for.
            for_user(USER_ATTACHMENTS_EXCLUSIVE, "none", "userName", policyArns=[]),
            # Another user's policy is not this user's.
            user("other"),
            for_user(USER_POLICY, "other-inline", "user", owner="other", policy=LEAST_PRIVILEGE),
        ],
        "violation",
        ["other"],
    ),
    (
        "user-every-way-to-attach",
        USER_POLICIES,
        [
            user("inline"),
            for_user(USER_POLICY, "p", "user", owner="inline", policy=LEAST_PRIVILEGE),
            user("managed"),
            for_user(
                USER_ATTACHMENT,
                "a",
                "user",
                owner="managed",
                policyArn="arn:aws:iam::aws:policy/ReadOnlyAccess",
            ),
            user("legacy"),
            Res(
                POLICY_ATTACHMENT,
                "pa",
                {"users": [UNKNOWN], "policyArn": UNKNOWN},
                prop_deps={"users": ["legacy"]},
            ),
            user("exclusive"),
            for_user(USER_POLICIES_EXCLUSIVE, "e", "userName", owner="exclusive", policyNames=["p"]),
            # A literal user name records no dependency, but names the user all the same.
            user("literal"),
            Res(USER_POLICY, "by-name", {"user": "literal", "policy": LEAST_PRIVILEGE}),
            user("clean"),
        ],
        "violation",
        ["inline", "managed", "legacy", "exclusive", "literal"],
    ),
    (
        "user-through-a-group",
        USER_POLICIES,
        [
            user(),
            *in_group(),
        ],
        "ok",
        [],
    ),
    ("user-none", USER_POLICIES, [Res(ROLE, "r", {})], "n/a", []),
]


def test_a_customer_policy_unknown_in_preview_defers_but_the_others_are_judged() -> None:
    with pytest.raises(UnknownValueError):
        run_stack(FULL_ADMIN, customer_policy(UNKNOWN, "new"))
    # The stack policy raises for the unknown one only after reporting the others.
    reported: list[str | None] = []
    policy = POLICIES[FULL_ADMIN]
    assert isinstance(policy, StackValidationPolicy)
    specs = [*customer_policy(UNKNOWN, "new"), *customer_policy(ADMIN, "old")]
    with pytest.raises(UnknownValueError):
        policy.validate(
            StackValidationArgs(build_stack(specs), None), lambda _message, urn: reported.append(urn)
        )
    assert reported == [urn_of(POLICY, "old")]


def test_an_unknown_document_does_not_hide_a_problem_in_another() -> None:
    props = {"inlinePolicies": [{"policy": UNKNOWN}, {"policy": policy_document(allow("kms:Decrypt"))}]}
    assert run_resource(INLINE_DECRYPT_ALL, ROLE, props).status == "violation"


# Every policy that reads a policy document, with the types whose `policy` it reads.
DOCUMENT_POLICIES = [
    (name, rule)
    for name, rule in RULES.items()
    if isinstance(rule, ResourceRule)
    and name
    in {
        INLINE_DECRYPT_ALL,
        "kms-key-policy-no-wildcard-principal",
        "sns-topic-policy-not-public",
        "s3-bucket-policy-other-accounts-restricted",
    }
]


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_our_documents_once_known_pass_every_document_policy(
    stack: str, shipped_recordings: Callable[[str], Recording]
) -> None:
    # A first preview leaves most of our policy documents unknown ("can't run during preview"): they name
    # ARNs of resources not created yet. The recorder's placeholders stand in for those ARNs, so the
    # documents as they will be applied pass too, and no grant of ours is waved through unjudged.
    judged: dict[str, int] = {}
    for resource in shipped_recordings(stack).resources:
        for name, rule in DOCUMENT_POLICIES:
            if resource.type not in rule.resource_types:
                continue
            outcome = run_resource(name, resource.type, resource.resolved_inputs or resource.inputs)
            assert outcome.status in ("ok", "n/a"), (name, resource.name, outcome)
            judged[name] = judged.get(name, 0) + (outcome.status == "ok")
    assert all(judged.get(name) for name, _ in DOCUMENT_POLICIES), judged


FAMILY = Family(
    name="iam",
    rules=iam_policies.RULES,
    resource_cases=RESOURCE_CASES,
    stack_cases=STACK_CASES,
    deferrals=DEFERRALS,
    other_types=OTHER_TYPES,
    fuzz_keys=[
        "policy",
        "inlinePolicies",
        "permissionsBoundary",
        "user",
        "users",
        "userName",
        "policyNames",
        "policyArns",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        *STRONG_PASSWORDS,
    ],
    fuzz_values=["*", "*:*", "kms:*", "kms:Decrypt", "s3:*", "arn:aws:kms:*:*:key/*", KEY_ARN, *UNKNOWNS],
    stack_fuzz=[
        StackFuzzTarget(FULL_ADMIN, POLICY, ROLE, "permissionsBoundary"),
        StackFuzzTarget(SERVICE_WILDCARD, POLICY, ROLE_ATTACHMENT, "policyArn"),
        StackFuzzTarget(DECRYPT_ALL, POLICY, USER, "permissionsBoundary"),
        StackFuzzTarget(USER_POLICIES, USER, USER_POLICY, "user"),
        StackFuzzTarget(USER_POLICIES, USER, POLICY_ATTACHMENT, "users"),
    ],
)
