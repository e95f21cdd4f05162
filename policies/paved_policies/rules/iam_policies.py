"""IAM rules: what identity policies allow, who gets them, and the account's password policy.

Customer managed policies (aws:iam/policy:Policy) are judged as AWS Config judges them: whether attached or
not, unless they only serve as a permissions boundary (AWS leaves those out of IAM.1, IAM.21 and KMS.1).
Inline policies are RolePolicy, UserPolicy, GroupPolicy and a Role's `inlinePolicies`. A document built
from other resources' outputs (an ARN, an account ID) is unknown until they exist: then the policy raises,
and the SDK reports "can't run during preview" rather than passing it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from paved_policies import iam
from paved_policies.props import (
    as_map,
    as_seq,
    get,
    get_bool,
    get_int,
    get_seq,
    get_text,
    has_item,
    peek,
    peek_items,
    problems_found,
)
from paved_policies.rule import (
    Finding,
    GraphResource,
    ResourceContext,
    StackContext,
    compliant,
    not_applicable,
    resource_rule,
    stack_rule,
    violation,
)

POLICY = "aws:iam/policy:Policy"
ROLE = "aws:iam/role:Role"
USER = "aws:iam/user:User"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
USER_POLICY = "aws:iam/userPolicy:UserPolicy"
GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
USER_POLICY_ATTACHMENT = "aws:iam/userPolicyAttachment:UserPolicyAttachment"
POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment"
USER_POLICIES_EXCLUSIVE = "aws:iam/userPoliciesExclusive:UserPoliciesExclusive"
USER_POLICY_ATTACHMENTS_EXCLUSIVE = "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive"
ACCOUNT_PASSWORD_POLICY = "aws:iam/accountPasswordPolicy:AccountPasswordPolicy"
# Where a customer managed policy's ARN goes when it grants permissions, rather than bounding them.
_ATTACHMENTS = (
    ("policyArn", "aws:iam/rolePolicyAttachment:RolePolicyAttachment"),
    ("policyArn", USER_POLICY_ATTACHMENT),
    ("policyArn", "aws:iam/groupPolicyAttachment:GroupPolicyAttachment"),
    ("policyArn", POLICY_ATTACHMENT),
    ("managedPolicyArns", ROLE),
    ("policyArns", "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive"),
    ("policyArns", USER_POLICY_ATTACHMENTS_EXCLUSIVE),
    ("policyArns", "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive"),
)
# The decryption actions KMS.1 and KMS.2 block on all keys (the Config rules' blockedActionsPatterns).
KMS_DECRYPT_ACTIONS = ("kms:Decrypt", "kms:ReEncryptFrom")

StatementCheck = Callable[[Mapping[str, Any]], str | None]


def _problems(document: Any, check: StatementCheck) -> list[str]:
    """What `check` finds in each statement of a policy document, as "<Sid or #index> <finding>"."""
    doc = iam.document(document)
    if doc is None:
        return ["the policy is not a JSON object"]
    found = []
    for index, statement in enumerate(iam.statements(doc)):
        problem = check(statement)
        if problem:
            found.append(f"{iam.label(statement, index)} {problem}")
    return found


def _resources(statement: Mapping[str, Any]) -> list[str]:
    return iam.strings(statement.get("Resource"))


def _full_admin(statement: Mapping[str, Any]) -> str | None:
    # IAM.1 (iam-policy-no-statements-with-admin-access): "Effect": "Allow" with "Action": "*" over
    # "Resource": "*". "*:*" is the same grant spelled with a service part.
    if not iam.is_allow(statement) or "*" not in _resources(statement):
        return None
    if any(action.strip() in ("*", "*:*") for action in iam.strings(statement.get("Action"))):
        return "allows every action on every resource"
    return None


def _service_wildcards(patterns: list[str]) -> list[str]:
    """Patterns that name every action of a service (`s3:*`), or of every service (`*`)."""
    return [pattern for pattern in patterns if set(pattern.partition(":")[2] or pattern) == {"*"}]


def _full_service_access(statement: Mapping[str, Any]) -> str | None:
    # IAM.21 (iam-policy-no-statements-with-full-access): Allow with Action "<service>:*", or NotAction
    # "<service>:*" (which allows everything else). `*` allows every service's actions, so it counts too.
    if not iam.is_allow(statement):
        return None
    for key in ("Action", "NotAction"):
        wildcards = _service_wildcards(iam.strings(statement.get(key)))
        if wildcards:
            return f"allows {key} {', '.join(wildcards)}"
    return None


_SOME_KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _every_key(resource: str) -> bool:
    """A pattern no narrower than "any key of some account": `*`, `arn:aws:kms:*`, or a KMS ARN pattern whose
    key part is only a wildcard (`arn:aws:kms:eu-west-1:111122223333:key/*`)."""
    parts = resource.split(":", 5)
    if len(parts) < 6:
        return iam.matches(resource, _SOME_KEY)
    return iam.matches(parts[2], "kms") and set(parts[5].removeprefix("key/")) <= {"*"}


def _decrypts_every_key(statement: Mapping[str, Any]) -> str | None:
    # KMS.1 / KMS.2: kms:Decrypt or kms:ReEncryptFrom allowed on all keys; the controls ignore conditions.
    # NotResource allows every resource it does not name, keys included.
    actions = [action for action in KMS_DECRYPT_ACTIONS if iam.allows_action(statement, action)]
    if not actions:
        return None
    if "NotResource" in statement or any(_every_key(resource) for resource in _resources(statement)):
        return f"allows {', '.join(actions)} on every KMS key"
    return None


def _boundary_only(ctx: StackContext) -> list[str]:
    """The roles and users this policy bounds, when that is all it does; [] when it grants anything."""
    if any(ctx.referrers(prop, (rtype,)) for prop, rtype in _ATTACHMENTS):
        return []
    return [bounded.name for bounded in ctx.referrers("permissionsBoundary", (ROLE, USER))]


def _customer_policy(
    props: Mapping[str, Any], ctx: StackContext, check: StatementCheck, control: str
) -> Finding:
    bounded = _boundary_only(ctx)
    if bounded:
        return not_applicable(
            f"Policy '{ctx.name}' only bounds {', '.join(bounded)} (a permissions boundary grants nothing; "
            f"AWS leaves boundaries out of {control})."
        )
    problems = _problems(get(props, "policy"), check)
    if not problems:
        return compliant()
    return violation(f"Policy '{ctx.name}': " + "; ".join(problems) + ".")


_BOUNDARY_NOTE = (
    " A policy used only as a permissions boundary (its ARN in a role's or user's permissions_boundary, "
    "attached nowhere) is not judged."
)


@stack_rule(
    name="iam-policy-no-full-admin",
    description="IAM customer managed policies do not allow every action on every resource ('*' on '*').",
    severity="high",
    remediation=(
        "Grant the actions and resources the principal needs instead of Action '*' on Resource '*'; for "
        "administrators, attach the AWS managed AdministratorAccess policy to a role that is assumed with "
        "MFA." + _BOUNDARY_NOTE
    ),
    resource_types=(POLICY,),
    fsbp=("IAM.1",),
    url="https://docs.aws.amazon.com/config/latest/developerguide/iam-policy-no-statements-with-admin-access.html",
)
def iam_policy_no_full_admin(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    return _customer_policy(props, ctx, _full_admin, "IAM.1")


@stack_rule(
    name="iam-policy-no-service-wildcard",
    description="IAM customer managed policies do not allow all of a service's actions ('s3:*', NotAction).",
    severity="low",
    remediation=(
        "List the actions the principal needs (prefix wildcards such as 'ec2:Describe*' are fine) instead "
        "of '<service>:*', and do not pair Allow with NotAction '<service>:*'." + _BOUNDARY_NOTE
    ),
    resource_types=(POLICY,),
    fsbp=("IAM.21",),
    url="https://docs.aws.amazon.com/config/latest/developerguide/iam-policy-no-statements-with-full-access.html",
)
def iam_policy_no_service_wildcard(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    return _customer_policy(props, ctx, _full_service_access, "IAM.21")


_KMS_REMEDIATION = (
    "Allow kms:Decrypt and kms:ReEncryptFrom only on the ARNs of the keys the principal needs (and only "
    "through the service that uses them: a kms:ViaService condition), never on Resource '*' or "
    "'arn:aws:kms:*:*:key/*'."
)


@stack_rule(
    name="iam-policy-no-kms-decrypt-all-keys",
    description="IAM customer managed policies do not allow kms:Decrypt or kms:ReEncryptFrom on every key.",
    severity="medium",
    remediation=_KMS_REMEDIATION + _BOUNDARY_NOTE,
    resource_types=(POLICY,),
    fsbp=("KMS.1",),
    url="https://docs.aws.amazon.com/config/latest/developerguide/iam-customer-policy-blocked-kms-actions.html",
)
def iam_policy_no_kms_decrypt_all_keys(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    return _customer_policy(props, ctx, _decrypts_every_key, "KMS.1")


def _inline_documents(props: Mapping[str, Any], ctx: ResourceContext) -> list[Callable[[], Any]]:
    """Readers of the resource's inline policy documents: its `policy`, or a Role's `inlinePolicies`."""
    if ctx.resource_type != ROLE:
        return [lambda: get(props, "policy")]
    inline = get_seq(props, "inlinePolicies")
    return [lambda index=index: get(inline[index], "policy") for index in range(len(inline))]


def _inline_problems(document: Any) -> str | None:
    # A Role's `inlinePolicies` may hold an empty entry: pulumi-aws's way to say "no inline policies".
    if document is None or (isinstance(document, str) and not document.strip()):
        return None
    return "; ".join(_problems(document, _decrypts_every_key)) or None


@resource_rule(
    name="iam-inline-policy-no-kms-decrypt-all-keys",
    description=(
        "Inline policies of IAM roles, users and groups do not allow kms:Decrypt or kms:ReEncryptFrom on "
        "every KMS key."
    ),
    severity="medium",
    remediation=_KMS_REMEDIATION,
    resource_types=(ROLE_POLICY, USER_POLICY, GROUP_POLICY, ROLE),
    fsbp=("KMS.2",),
    url="https://docs.aws.amazon.com/config/latest/developerguide/iam-inline-policy-blocked-kms-actions.html",
)
def iam_inline_policy_no_kms_decrypt_all_keys(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    documents = _inline_documents(props, ctx)
    if not documents:
        return not_applicable(f"Role '{ctx.name}' has no inline policies.")
    # One document unknown in preview must not hide a problem in another.
    problems = problems_found([lambda read=read: _inline_problems(read()) for read in documents])
    if not problems:
        return compliant()
    return violation(f"Inline policy of '{ctx.name}': " + "; ".join(problems) + ".")


def _attached_to_user(ctx: StackContext, user_name: str | None) -> list[str]:
    """What attaches policies to this user: resources whose user input came from it, or names it literally."""

    def names_user(resource: GraphResource, prop: str) -> bool:
        # A value unknown in preview came from another resource: its dependency edge says which.
        value = peek(lambda: get(resource.props, prop))
        names = [value] if isinstance(value, str) else peek_items(as_seq(value))
        return user_name is not None and user_name in names

    inputs: Sequence[tuple[str, str, str | None]] = (
        ("user", USER_POLICY, None),
        ("user", USER_POLICY_ATTACHMENT, None),
        ("users", POLICY_ATTACHMENT, None),
        ("userName", USER_POLICIES_EXCLUSIVE, "policyNames"),
        ("userName", USER_POLICY_ATTACHMENTS_EXCLUSIVE, "policyArns"),
    )
    found: dict[str, str] = {}
    for prop, rtype, listing in inputs:
        linked = {r.urn: r for r in ctx.referrers(prop, (rtype,))}
        linked |= {r.urn: r for r in ctx.of_types((rtype,)) if names_user(r, prop)}
        for resource in linked.values():
            # An ...Exclusive resource with an empty list detaches everything: that is what IAM.2 wants.
            if listing is None or has_item(resource.props, listing):
                found.setdefault(resource.urn, f"{rtype.rsplit(':', 1)[-1]} '{resource.name}'")
    return list(found.values())


@stack_rule(
    name="iam-user-no-attached-policies",
    description="IAM users get permissions only through groups or roles, with no policy of their own.",
    severity="low",
    remediation=(
        "Put the user in an aws.iam.Group (aws.iam.UserGroupMembership) and attach the policies to the "
        "group, or let the user assume a role; remove its UserPolicy, UserPolicyAttachment and "
        "PolicyAttachment `users` entries."
    ),
    resource_types=(USER,),
    checkov=("CKV_AWS_40",),
    cdk_nag=("IAMUserNoPolicies",),
    fsbp=("IAM.2",),
    url="https://docs.aws.amazon.com/config/latest/developerguide/iam-user-no-policies-check.html",
)
def iam_user_no_attached_policies(props: Mapping[str, Any], ctx: StackContext) -> Finding:
    attached = _attached_to_user(ctx, get_text(props, "name"))
    if not attached:
        return compliant()
    return violation(f"User '{ctx.name}' has policies of its own: {', '.join(attached)}.")


_REQUIRED_CHARACTER_CLASSES = (
    "requireUppercaseCharacters",
    "requireLowercaseCharacters",
    "requireSymbols",
    "requireNumbers",
)
MIN_PASSWORD_LENGTH = 8
# What IAM uses when minimumPasswordLength is not given:
# https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateAccountPasswordPolicy.html
_DEFAULT_PASSWORD_LENGTH = 6


@resource_rule(
    name="iam-password-policy-strong",
    description=(
        f"The account password policy requires upper and lower case letters, symbols, numbers and at least "
        f"{MIN_PASSWORD_LENGTH} characters."
    ),
    severity="medium",
    remediation=(
        "Set require_uppercase_characters, require_lowercase_characters, require_symbols and "
        f"require_numbers to True and minimum_password_length to {MIN_PASSWORD_LENGTH} or more on the "
        "aws.iam.AccountPasswordPolicy (unset, each requirement is off and the minimum is 6)."
    ),
    resource_types=(ACCOUNT_PASSWORD_POLICY,),
    # checkov's CKV_AWS_10 asks for 14 characters, so only its character-class checks are the same.
    checkov=("CKV_AWS_11", "CKV_AWS_12", "CKV_AWS_14", "CKV_AWS_15"),
    fsbp=("IAM.7",),
    url="https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_account-policy.html",
)
def iam_password_policy_strong(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    def length_problem() -> str | None:
        length = get_int(props, "minimumPasswordLength")
        length = _DEFAULT_PASSWORD_LENGTH if length is None else length
        return f"minimumPasswordLength is {length}" if length < MIN_PASSWORD_LENGTH else None

    problems = problems_found(
        [
            *(
                lambda key=key: f"{key} is not true" if get_bool(props, key) is not True else None
                for key in _REQUIRED_CHARACTER_CLASSES
            ),
            length_problem,
        ]
    )
    if not problems:
        return compliant()
    return violation(f"Password policy '{ctx.name}': " + "; ".join(problems) + ".")


GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_AUDIENCE = "sts.amazonaws.com"
# Operators under which a listed value is the only one that passes: a negated operator passes every other
# value, an ...IfExists one a token without the claim, ForAllValues an empty set.
_PINNING_OPERATORS = frozenset({"stringequals", "stringlike"})


def _claim_values(statement: Mapping[str, Any], claim: str) -> list[Any] | None:
    """The values a pinning operator allows for `<host>:<claim>`; None when no such condition exists."""
    key = f"{GITHUB_OIDC_HOST}:{claim}"
    found: list[Any] | None = None
    for operator, conditions in as_map(statement.get("Condition")).items():
        if str(operator).lower() not in _PINNING_OPERATORS:
            continue
        for name, value in as_map(conditions).items():
            if str(name).lower() == key:
                found = [*(found or []), *iam.listed(value)]
    return found


def _trusts_github(statement: Mapping[str, Any]) -> bool:
    principal = statement.get("Principal")
    federated = iam.strings(principal.get("Federated")) if isinstance(principal, Mapping) else []
    return (
        iam.is_allow(statement)
        and iam.allows_action(statement, "sts:AssumeRoleWithWebIdentity")
        and any(value.endswith(f"oidc-provider/{GITHUB_OIDC_HOST}") for value in federated)
    )


def _github_trust_unpinned(statement: Mapping[str, Any]) -> str | None:
    if not _trusts_github(statement):
        return None
    problems = []
    audiences = _claim_values(statement, "aud")
    if audiences is None or audiences != [GITHUB_AUDIENCE]:
        problems.append(f"aud is not pinned to {GITHUB_AUDIENCE} (StringEquals)")
    subjects = _claim_values(statement, "sub")
    if not subjects:
        problems.append("sub is not pinned: any repository's workflow could assume the role")
    else:
        loose = [str(value) for value in subjects if not iam.fixed_value(value)]
        if loose:
            problems.append(f"sub {', '.join(loose)} is a pattern, not one repository's subject")
    return "; ".join(problems) or None


@resource_rule(
    name="iam-github-oidc-trust-pinned",
    description=(
        "Roles that trust GitHub Actions' OIDC provider pin the token's audience to sts.amazonaws.com and "
        "its subject to exact values: one repository, and its environment, branch or pull_request."
    ),
    severity="critical",
    remediation=(
        "In the role's trust policy, add a StringEquals condition with "
        "token.actions.githubusercontent.com:aud = sts.amazonaws.com and "
        "token.actions.githubusercontent.com:sub = repo:OWNER/REPO:environment:NAME "
        "(deploy roles) or repo:OWNER/REPO:pull_request (read-only preview roles), listing each subject "
        "exactly rather than with a wildcard."
    ),
    resource_types=(ROLE,),
    url="https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_oidc.html#idp_oidc_Create_GitHub",
)
def iam_github_oidc_trust_pinned(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    document = get(props, "assumeRolePolicy")
    doc = iam.document(document)
    if doc is None or not any(_trusts_github(statement) for statement in iam.statements(doc)):
        return not_applicable(f"Role '{ctx.name}' does not trust GitHub Actions' OIDC provider.")
    problems = _problems(doc, _github_trust_unpinned)
    if not problems:
        return compliant()
    return violation(f"Trust policy of '{ctx.name}': " + "; ".join(problems) + ".")


RULES = (
    iam_policy_no_full_admin,
    iam_github_oidc_trust_pinned,
    iam_user_no_attached_policies,
    iam_password_policy_strong,
    iam_policy_no_service_wildcard,
    iam_policy_no_kms_decrypt_all_keys,
    iam_inline_policy_no_kms_decrypt_all_keys,
)
