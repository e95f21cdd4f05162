"""Rules across sections: what one section may hold depends on another, or on the stack itself.

A section's own rules live in its model's `violations()`, next to the component; these need two or more
sections, so the loader runs them once every section has parsed (a section that failed is passed as None).
"""

import re
import unicodedata
from collections.abc import Collection, Iterator, Mapping

from components.certificates import DomainArgs
from components.database import DatabaseArgs
from components.edge import EdgeArgs
from components.email import EmailArgs
from components.secrets import SecretArgs, secret_resource_name
from components.uploads import CDN_PATH as UPLOADS_CDN_PATH
from components.uploads import UploadsArgs
from components.uptime import UptimeArgs
from components.waf import DEFAULT_CAPACITY_WCU, Scope, rules_wcu
from components.workload import AppArgs
from paved.errors import ConfigProblem, printable
from paved.fields import Environment, RuleContext

_RESERVED_TAGS = ("environment", "managed-by")


def secret_ref_violations(
    apps: Mapping[int, AppArgs], declared: Collection[str] | None
) -> Iterator[ConfigProblem]:
    """Apps' secrets must be declared; `declared` holds every name in paved:secrets, parsed or not, so a
    secret with an error of its own is not reported again as missing."""
    if declared is None:
        return
    for index, app in apps.items():
        for position, name in enumerate(app.secrets):
            if name not in declared:
                yield ConfigProblem(
                    f"paved:apps[{index}].secrets[{position}]",
                    f"{name} is not declared in paved:secrets",
                    f"add `{name}: {{}}` (you put the value in Secrets Manager) or "
                    f"`{name}: {{source: generated}}` to paved:secrets",
                )


def dr_region_violations(dr_region: str | None, ctx: RuleContext) -> Iterator[ConfigProblem]:
    if ctx.is_prod and dr_region is None:
        yield ConfigProblem(
            "paved:drRegion",
            "is required in prod",
            "set paved:drRegion to a second region (e.g. eu-central-1) for cross-region backup copies",
        )
    if dr_region is not None and dr_region == ctx.region:
        yield ConfigProblem(
            "paved:drRegion",
            f"must differ from aws:region ({ctx.region})",
            "a disaster-recovery copy in the same region is lost with it; pick another region",
        )


# The tightest names built from the project and stack names: the ElastiCache replication group
# `<project>-<stack>-cache` (CreateReplicationGroup: ReplicationGroupId at most 40 characters,
# https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html), and the
# Kubernetes label `app.kubernetes.io/instance: <app>-<stack>` (a label value is at most 63 characters,
# https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set).
# tests/test_aws_names.py records a stack at both limits and checks every name against botocore's models.
PROJECT_AND_STACK_MAX = 40 - len("-cache")
LABEL_VALUE_MAX = 63


def name_length_violations(project: str, stack: str, apps: Mapping[int, AppArgs]) -> Iterator[ConfigProblem]:
    prefix = f"{project}-{stack}"
    if len(prefix) > PROJECT_AND_STACK_MAX:
        yield ConfigProblem(
            "(stack name)",
            f"project and stack name {prefix!r} are {len(prefix)} characters; AWS names built from them "
            f"(the cache's replication group id) fit {PROJECT_AND_STACK_MAX}",
            f"use a stack name of at most {PROJECT_AND_STACK_MAX - len(project) - 1} characters",
        )
    for index, app in apps.items():
        instance = f"{app.name}-{stack}"
        if len(instance) > LABEL_VALUE_MAX:
            yield ConfigProblem(
                f"paved:apps[{index}].name",
                f"with stack {stack!r}, its Kubernetes label {instance!r} is {len(instance)} characters",
                f"label values take {LABEL_VALUE_MAX}: shorten the app name to "
                f"{LABEL_VALUE_MAX - len(stack) - 1} characters or fewer",
            )


# `<project>-<stack>` begins the RDS instance identifier and the ElastiCache replication group id, the
# strictest names paved builds from them: ASCII letters, digits and hyphens, a letter first, no hyphen last or
# doubled (botocore's rds CreateDBInstance.DBInstanceIdentifier and elasticache
# CreateReplicationGroup.ReplicationGroupId documentation; CreateBackupVault's BackupVaultName,
# `^[a-zA-Z0-9\-\_]{2,50}$`, takes more). Lowercase only: pulumi-aws refuses an uppercase RDS identifier at
# preview (the Terraform provider's validIdentifier, `^[0-9a-z-]+$`), and AWS stores both ids lowercased.
# Pulumi itself takes letters, digits, `-`, `_` and `.` in a stack name
# (https://www.pulumi.com/docs/iac/concepts/stacks/), so `prod_1` or `prod.eu` is a stack Pulumi runs and
# AWS refuses. tests/test_aws_names.py records a stack of every character this allows.
_STACK_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*", re.ASCII)
_PROJECT_NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*", re.ASCII)
_NAME_CHARACTERS = "lowercase ASCII letters, digits and single hyphens"


def name_character_violations(project: str, stack: str) -> Iterator[ConfigProblem]:
    cache_id = f"{project}-{stack}-cache"
    said = f"gives AWS names such as {cache_id!r}; RDS and ElastiCache take {_NAME_CHARACTERS}"
    if _STACK_NAME.fullmatch(stack) is None:
        suggestion = re.sub(r"[^a-z0-9]+", "-", stack.lower()).strip("-")
        yield ConfigProblem(
            "(stack name)",
            f"stack name {stack!r} {said}",
            f"name the stack with {_NAME_CHARACTERS}, not starting or ending with a hyphen"
            + (f", e.g. {suggestion!r}" if _STACK_NAME.fullmatch(suggestion) else ""),
        )
    if _PROJECT_NAME.fullmatch(project) is None:
        yield ConfigProblem(
            "(project name)",
            f"project name {project!r} {said}",
            f"name the project in Pulumi.yaml with {_NAME_CHARACTERS}, starting with a letter",
        )


def secret_name_violations(secrets: Mapping[str, SecretArgs] | None) -> Iterator[ConfigProblem]:
    first_of: dict[str, str] = {}
    for name in secrets or {}:
        resource_name = secret_resource_name(name)
        if resource_name in first_of:
            yield ConfigProblem(
                f"paved:secrets.{name}",
                f"{printable(name)} and paved:secrets.{printable(first_of[resource_name])} both name the "
                f"secret {resource_name!r}",
                "rename one: secret names are compared ignoring case, with '_' and '-' alike",
            )
        else:
            first_of[resource_name] = name


def app_list_violations(apps: Mapping[int, AppArgs], domain: DomainArgs | None) -> Iterator[ConfigProblem]:
    first_of: dict[str, int] = {}
    for index, app in apps.items():
        if app.name in first_of:
            yield ConfigProblem(
                f"paved:apps[{index}].name",
                f"duplicate app name {app.name!r}, also paved:apps[{first_of[app.name]}].name",
                "app names name Kubernetes objects and AWS resources; make each one unique",
            )
        first_of.setdefault(app.name, index)
        if domain and app.host and not (app.host == domain.name or app.host.endswith(f".{domain.name}")):
            yield ConfigProblem(
                f"paved:apps[{index}].host",
                f"{app.host} is not under paved:domain.name ({domain.name})",
                "the hosted zone and certificates only cover the domain and its subdomains",
            )


def database_user_violations(
    apps: Mapping[int, AppArgs], database: DatabaseArgs | None, every_app_parsed: bool = True
) -> Iterator[ConfigProblem]:
    """With an app that did not parse, a schema no parsed app has may be that app's: only an app naming
    itself is judged then, so one bad app is not reported again through the apps that read from it."""
    users = {index: app for index, app in apps.items() if app.database is not None}
    names = {app.name for app in users.values()}
    names_used = [app.name for app in apps.values()]
    for index, app in users.items():
        assert app.database is not None
        if names_used.count(app.name) > 1:
            continue  # reported once, as a duplicate name, not again for what its schemas would be
        for position, other in enumerate(app.database.read_schemas):
            if other == app.name or (every_app_parsed and other not in names):
                yield ConfigProblem(
                    f"paved:apps[{index}].database.readSchemas[{position}]",
                    f"{other!r} is not another app with a database",
                    "list apps that have `database` (here: "
                    f"{', '.join(sorted(names - {app.name})) or 'none'})",
                )
    # AWS documents no behaviour for a proxy that mixes end-to-end IAM with password users
    # (CreateDBProxy: DefaultAuthScheme IAM_AUTH, or NONE with an Auth entry per user):
    # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBProxy.html
    schemes = {app.database.auth for app in users.values() if app.database is not None}
    if database is not None and database.proxy and len(schemes) > 1:
        for index, app in users.items():
            if app.database is not None and app.database.auth == "iam":
                yield ConfigProblem(
                    f"paved:apps[{index}].database.auth",
                    "RDS Proxy takes one auth scheme: these apps mix iam and password",
                    "use one auth for every app behind the proxy (password works with every driver), or "
                    "set paved:database.proxy: false",
                )


# AWS takes at most 50 tags on a resource (https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html);
# paved puts up to PAVED_TAGS_PER_RESOURCE of its own on one (tests/test_rules.py counts them in the stacks).
MAX_TAGS_PER_RESOURCE = 50
PAVED_TAGS_PER_RESOURCE = 10
# Tag text: letters, numbers and spaces in UTF-8, and these symbols: the `[\p{L}\p{Z}\p{N}_.:/=+\-@]` of
# botocore's elbv2 TagKey/TagValue patterns, written with Unicode categories because `re` has no \p.
_TAG_SYMBOLS = frozenset("_.:/=+-@")


def _tag_text_problem(text: str) -> str | None:
    odd = sorted(
        {char for char in text if unicodedata.category(char)[0] not in "LZN" and char not in _TAG_SYMBOLS}
    )
    return f"has characters AWS tags refuse: {' '.join(map(repr, odd))}" if odd else None


# Prefixes AWS keeps for its own tags, refused on the user's, which paved puts on EKS, ACM and RDS resources
# among others. As botocore's models document them: eks TagMap, "Do not use aws:, AWS:, or any upper or
# lowercase combination of such as a prefix for either keys or values"; acm InvalidTagException, "you cannot
# specify a tag value that begins with aws:"; rds Tag.Key and Tag.Value, "can't be prefixed with aws: or
# rds:" (no case given, so rds: is refused as written).
_RESERVED_TAG_PREFIXES = {
    "aws:": "EKS, ACM and RDS refuse tag keys and values that start with aws: in any case",
    "rds:": "RDS refuses tag keys and values that start with rds:",
}


def _reserved_prefix(text: str) -> str | None:
    return "aws:" if text.lower().startswith("aws:") else "rds:" if text.startswith("rds:") else None


def tag_violations(tags: Mapping[str, str]) -> Iterator[ConfigProblem]:
    allowed = "use letters, digits, spaces and _ . : / = + - @"
    for key, value in tags.items():
        if key in _RESERVED_TAGS:
            yield ConfigProblem(
                f"paved:tags.{key}",
                "is a reserved tag key",
                f"paved sets {', '.join(_RESERVED_TAGS)} itself; remove it",
            )
        for text, what in ((key, "key"), (value, "value")):
            if prefix := _reserved_prefix(text):
                yield ConfigProblem(
                    f"paved:tags.{key}",
                    f"the {what} starts with {prefix}, a prefix AWS keeps for its own tags",
                    f"{_RESERVED_TAG_PREFIXES[prefix]}, and paved tags such resources with these: rename it",
                )
            if problem := _tag_text_problem(text):
                yield ConfigProblem(f"paved:tags.{key}", f"the {what} {problem}", allowed)
    user_limit = MAX_TAGS_PER_RESOURCE - PAVED_TAGS_PER_RESOURCE
    if len(tags) > user_limit:
        yield ConfigProblem(
            "paved:tags",
            f"{len(tags)} tags; at most {user_limit} fit beside the ones paved sets",
            f"AWS takes {MAX_TAGS_PER_RESOURCE} tags per resource and paved keeps "
            f"{PAVED_TAGS_PER_RESOURCE} for its own: drop or merge tags",
        )


# The first word of a stack's name (before `-`, `_` or `.`) that promises an environment: a stack named
# `prod`, `prod-eu` or `production` is prod. Other names (`dev`, `demo`, `eu-prod`) promise nothing.
_ENVIRONMENT_OF_STACK_WORD: dict[str, Environment] = {
    "prod": "prod",
    "production": "prod",
    "staging": "staging",
    "stage": "staging",
}


def environment_of_stack(stack: str) -> Environment | None:
    """The environment a stack's name promises, or None if the name promises none."""
    return _ENVIRONMENT_OF_STACK_WORD.get(re.split(r"[-_.]", stack.lower(), maxsplit=1)[0])


def stack_name_violations(
    stack: str, environment: Environment | None, allow_mismatch: bool | None
) -> Iterator[ConfigProblem]:
    # The environment switches every deletion guard (protect, deletion protection, final backups), so a
    # prod stack left with `environment: staging` would silently lose them all.
    promised = environment_of_stack(stack)
    if promised is None or environment is None or environment == promised or allow_mismatch:
        return
    yield ConfigProblem(
        "paved:environment",
        f"is {environment}, but the stack is named {stack!r}, which says {promised}",
        f"set paved:environment: {promised}; if stack {stack!r} really is {environment}, say so with "
        "paved:allowEnvironmentMismatch: true",
    )


def uploads_violations(
    uploads: UploadsArgs | None, edge: EdgeArgs | None, apps: Mapping[int, AppArgs]
) -> Iterator[ConfigProblem]:
    """Apps may list `uploads` only when the stack has the bucket, and CloudFront's uploads path belongs to
    it alone (CloudFront refuses two behaviours with one path pattern)."""
    if uploads is None:
        return
    if not uploads.enabled:
        for index, app in apps.items():
            if app.uploads:
                yield ConfigProblem(
                    f"paved:apps[{index}].uploads",
                    "the stack has no uploads bucket",
                    "set paved:uploads.enabled: true, or remove uploads from this app",
                )
        return
    if edge is not None and edge.cloudfront and UPLOADS_CDN_PATH in edge.asset_paths:
        yield ConfigProblem(
            f"paved:edge.assetPaths[{list(edge.asset_paths).index(UPLOADS_CDN_PATH)}]",
            f"{UPLOADS_CDN_PATH} is where CloudFront serves the uploads bucket",
            "serve assets under another path, e.g. /static/*",
        )


def email_violations(
    email: EmailArgs | None, domain: DomainArgs | None, apps: Mapping[int, AppArgs]
) -> Iterator[ConfigProblem]:
    """Apps may list `email` only when the stack sends through SES, whose records paved writes in the
    stack's hosted zone: the sending domain must have one and lie in it."""
    if email is None:
        return
    if not email.enabled:
        for index, app in apps.items():
            if app.email:
                yield ConfigProblem(
                    f"paved:apps[{index}].email",
                    "the stack does not send through SES (paved:email.enabled is false)",
                    "set paved:email.enabled: true, or remove email from this app (Postmark needs only its "
                    "token in secrets)",
                )
        return
    if domain is None:
        return
    if domain.hosted_zone_id is None:
        yield ConfigProblem(
            "paved:email.enabled",
            "SES needs its DKIM, MAIL FROM and DMARC records, and paved:domain has no hostedZoneId to write "
            "them in",
            "set paved:domain.hostedZoneId",
        )
    sending = email.sending_domain(domain.name)
    if sending != domain.name and not sending.endswith(f".{domain.name}"):
        yield ConfigProblem(
            "paved:email.domain",
            f"{sending} is not {domain.name} or under it, so its records can't go in the stack's zone",
            f"use {domain.name} or a name under it, e.g. mail.{domain.name}",
        )


def assets_failover_violations(edge: EdgeArgs | None, dr_region: str | None) -> Iterator[ConfigProblem]:
    if edge is not None and edge.cloudfront and edge.assets_failover and dr_region is None:
        yield ConfigProblem(
            "paved:edge.assetsFailover",
            "an assets failover bucket needs paved:drRegion",
            "set paved:drRegion (the failover bucket lives there) or assetsFailover: false",
        )


def waf_capacity_violations(edge: EdgeArgs | None, uptime: UptimeArgs | None) -> Iterator[ConfigProblem]:
    """Each web ACL the stack builds (the ALB's, and CloudFront's with the CDN) within the 1,500 WCU WAF
    includes in its base price, so WebAcl never refuses a stack that loaded. WAF would take up to 5,000, each
    500 beyond 1,500 at a fee (https://docs.aws.amazon.com/waf/latest/developerguide/limits.html)."""
    if edge is None or uptime is None:
        return
    # The stack's canaries run in its VPC behind an allow-list, and the ACL admits their addresses too
    # (__main__.py, probe_sources).
    probes = uptime.enabled and not edge.admits_everyone
    acls: list[tuple[Scope, bool]] = [("REGIONAL", not edge.cloudfront)]
    if edge.cloudfront:
        acls.append(("CLOUDFRONT", True))
    for scope, client_ip_rules in acls:
        total = sum(
            rules_wcu(scope=scope, client_ip_rules=client_ip_rules, args=edge, probes=probes).values()
        )
        if total > DEFAULT_CAPACITY_WCU:
            yield ConfigProblem(
                "paved:edge.pathRateLimits" if edge.path_rate_limits else "paved:edge.uploadPaths",
                f"the {scope} web ACL would need {total} WCU, over the {DEFAULT_CAPACITY_WCU} of WAF's base "
                "price",
                "list fewer pathRateLimits (24 WCU each) or uploadPaths (22 each): one prefix for several",
            )


# CloudFront closes a WebSocket connection when no byte has crossed it for 10 minutes, a quota AWS does not
# raise (CloudFront quotas, "Origin response timeout (idle timeout)", as quoted in
# https://repost.aws/questions/QU05nkjxdfRC2E67FGICmP3g/how-to-increase-cloudfront-websockets-idle-timeout).
CLOUDFRONT_WEBSOCKET_IDLE_SECONDS = 600


def websocket_timeout_violations(
    apps: Mapping[int, AppArgs], edge: EdgeArgs | None
) -> Iterator[ConfigProblem]:
    """A websocket app's heartbeat must come before every idle timeout on the way: the ALB's
    (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#connection-idle-timeout)
    and, with the CDN, CloudFront's; else each quiet connection is cut and reconnects."""
    if edge is None:
        return
    timeouts = [
        (
            edge.idle_timeout_seconds,
            "the ALB's idle timeout",
            ", or raise paved:edge.idleTimeoutSeconds (up to 4000)",
        )
    ]
    if edge.cloudfront:
        timeouts.append(
            (CLOUDFRONT_WEBSOCKET_IDLE_SECONDS, "CloudFront's idle timeout", " (AWS does not raise it)")
        )
    for index, app in apps.items():
        heartbeat = app.websocket_heartbeat_seconds
        for seconds, what, otherwise in timeouts:
            if app.websocket and heartbeat is not None and heartbeat >= seconds:
                yield ConfigProblem(
                    f"paved:apps[{index}].websocketHeartbeatSeconds",
                    f"heartbeats every {heartbeat} s let {what} ({seconds} s) close quiet websockets",
                    f"send heartbeats more often than every {seconds} s{otherwise}",
                )
