"""Stack configuration: every `paved:*` key is parsed into typed models before any resource is declared.

A stack file sets only what differs from its environment's preset (`PRESETS`, `APP_PRESETS`). Each section is
validated on its own and then checked by its model's `violations()` rules, so one bad section never hides the
problems of another: `load_stack_config` raises a single `ConfigError` that lists every problem, each with its
camelCase key path (`paved:apps[1].replicas.min`) and a hint.
"""

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pulumi
import yaml
from pydantic import TypeAdapter, ValidationError

from components.backup import BackupArgs
from components.cache import CacheArgs
from components.certificates import DomainArgs
from components.cluster import ClusterArgs
from components.database import DatabaseArgs
from components.edge import EdgeArgs
from components.network import NetworkArgs
from components.observability import AlertsArgs
from components.secrets import SecretArgs
from components.workload import AppArgs
from paved.errors import (
    REFERENCE,
    ConfigError,
    ConfigProblem,
    problem_from,
    show_value,
    unknown_key_hint,
    validated,
)
from paved.fields import (
    ConfigModel,
    Environment,
    EnvVarName,
    Region,
    RuleContext,
    Tags,
)
from paved.presets import APP_PRESETS, PRESETS, SECRET_PRESET, deep_merge

T = TypeVar("T")
M = TypeVar("M", bound="ConfigModel")


@dataclass(frozen=True)
class StackConfig:
    environment: Environment
    region: str
    dr_region: str | None
    domain: DomainArgs
    alerts: AlertsArgs
    network: NetworkArgs
    database: DatabaseArgs
    cache: CacheArgs
    backup: BackupArgs
    secrets: Mapping[str, SecretArgs]
    cluster: ClusterArgs
    edge: EdgeArgs
    apps: tuple[AppArgs, ...]
    tags: Mapping[str, str]  # effective tags: the user's plus `environment` and `managed-by`

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"


SECTION_KEYS = ("environment", "allowEnvironmentMismatch", "drRegion", *PRESETS["prod"])
_RESERVED_TAGS = ("environment", "managed-by")


_ENVIRONMENT: TypeAdapter[Environment] = TypeAdapter(Environment)
_REGION: TypeAdapter[str] = TypeAdapter(Region)
_DR_REGION: TypeAdapter[str | None] = TypeAdapter(Region | None)
_TAGS: TypeAdapter[dict[str, str]] = TypeAdapter(Tags)
_ENV_VAR_NAME: TypeAdapter[str] = TypeAdapter(EnvVarName)
_ALLOW_MISMATCH: TypeAdapter[bool] = TypeAdapter(bool)


def _decode(value: Any) -> Any:
    """The Pulumi runtime hands object and list values over as JSON strings."""
    if isinstance(value, str) and value.lstrip().startswith(("{", "[")):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return value  # left as a string, so validation reports the wrong type
    return value


def _paved_values(raw: Mapping[str, Any], problems: list[ConfigProblem]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in raw.items():
        namespace, _, name = str(key).partition(":")
        if namespace != "paved":
            continue
        if name in SECTION_KEYS:
            values[name] = _decode(value)
        else:
            known = [f"paved:{section}" for section in SECTION_KEYS]
            problems.append(ConfigProblem(str(key), "unknown key", unknown_key_hint(str(key), known)))
    return values


def _required(
    values: Mapping[str, Any], key: str, path: str, hint: str, problems: list[ConfigProblem]
) -> Any:
    if key not in values:
        problems.append(ConfigProblem(path, "is required", hint))
    return values.get(key)


def _with_preset(values: Mapping[str, Any], key: str, ctx: RuleContext) -> Any:
    """The stack file's value for `key` merged over the preset's (a key that is not set keeps the preset)."""
    preset = PRESETS[ctx.environment][key]
    return deep_merge(preset, values[key]) if key in values else preset


def _section(
    model: type[M], key: str, values: Mapping[str, Any], ctx: RuleContext, problems: list[ConfigProblem]
) -> M | None:
    path = f"paved:{key}"
    data = _with_preset(values, key, ctx)
    try:
        section = model.model_validate(data)
    except ValidationError as error:
        details = error.errors()
        problems.extend(problem_from(detail, path, model) for detail in details)
        problems.extend(_rules_despite_errors(model, key, data, details, ctx))
        return None
    problems.extend(section.violations(path, ctx))
    return section


def _rules_despite_errors(
    model: type[M], key: str, data: Any, details: Sequence[Any], ctx: RuleContext
) -> list[ConfigProblem]:
    """The section's rules, judged on the fields that did parse, so one typo hides no other problem.

    Failed keys fall back to their preset value; a rule that names a failed key is dropped, because it
    would judge a value the stack file does not hold.
    """
    if not isinstance(data, Mapping):
        return []
    failed = {str(detail["loc"][0]) for detail in details if detail.get("loc")}
    preset = PRESETS[ctx.environment][key]
    repaired = {name: value for name, value in data.items() if name not in failed}
    repaired.update({name: preset[name] for name in failed if name in preset})
    try:
        section = model.model_validate(repaired)
    except ValidationError:
        return []
    return [
        problem
        for problem in section.violations(f"paved:{key}", ctx)
        if not any(name in problem.path or name in problem.message for name in failed)
    ]


def _apps(values: Mapping[str, Any], ctx: RuleContext, problems: list[ConfigProblem]) -> dict[int, AppArgs]:
    """The apps that parsed, by position; each app is validated on its own so one bad app hides nothing."""
    items = _with_preset(values, "apps", ctx)
    if not isinstance(items, list):
        problems.append(
            ConfigProblem("paved:apps", f"must be a list of apps, got {show_value(items)}", "use a YAML list")
        )
        return {}
    apps: dict[int, AppArgs] = {}
    for index, item in enumerate(items):
        path = f"paved:apps[{index}]"
        app = validated(
            AppArgs.model_validate, deep_merge(APP_PRESETS[ctx.environment], item), path, problems, AppArgs
        )
        if app is not None:
            problems.extend(app.violations(path, ctx))
            apps[index] = app
    return apps


def _secrets(
    values: Mapping[str, Any], ctx: RuleContext, problems: list[ConfigProblem]
) -> dict[str, SecretArgs] | None:
    items = _with_preset(values, "secrets", ctx)
    if not isinstance(items, Mapping):
        problems.append(
            ConfigProblem(
                "paved:secrets", f"must be a map of secret names, got {show_value(items)}", "use a YAML map"
            )
        )
        return None
    secrets: dict[str, SecretArgs] = {}
    for name, item in items.items():
        path = f"paved:secrets.{name}"
        validated(_ENV_VAR_NAME.validate_python, name, path, problems)
        secret = validated(
            SecretArgs.model_validate, deep_merge(SECRET_PRESET, item or {}), path, problems, SecretArgs
        )
        if secret is not None:
            secrets[str(name)] = secret
    return secrets


def _secret_ref_violations(
    apps: Mapping[int, AppArgs], secrets: Mapping[str, SecretArgs] | None
) -> Iterator[ConfigProblem]:
    if secrets is None:
        return
    for index, app in apps.items():
        for position, name in enumerate(app.secrets):
            if name not in secrets:
                yield ConfigProblem(
                    f"paved:apps[{index}].secrets[{position}]",
                    f"{name} is not declared in paved:secrets",
                    f"add `{name}: {{}}` (you put the value in Secrets Manager) or "
                    f"`{name}: {{source: generated}}` to paved:secrets",
                )


def _dr_region_violations(dr_region: str | None, ctx: RuleContext) -> Iterator[ConfigProblem]:
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


def _app_list_violations(apps: Mapping[int, AppArgs], domain: DomainArgs | None) -> Iterator[ConfigProblem]:
    seen: set[str] = set()
    for index, app in apps.items():
        if app.name in seen:
            yield ConfigProblem(
                f"paved:apps[{index}].name",
                f"duplicate app name {app.name!r}",
                "app names name Kubernetes objects and AWS resources; make each one unique",
            )
        seen.add(app.name)
        if domain and app.host and not (app.host == domain.name or app.host.endswith(f".{domain.name}")):
            yield ConfigProblem(
                f"paved:apps[{index}].host",
                f"{app.host} is not under paved:domain.name ({domain.name})",
                "the hosted zone and certificates only cover the domain and its subdomains",
            )


def _database_user_violations(
    apps: Mapping[int, AppArgs], database: DatabaseArgs | None
) -> Iterator[ConfigProblem]:
    users = {index: app for index, app in apps.items() if app.database is not None}
    names = {app.name for app in users.values()}
    for index, app in users.items():
        assert app.database is not None
        for position, other in enumerate(app.database.read_schemas):
            if other == app.name or other not in names:
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


def _tag_violations(tags: Mapping[str, str]) -> Iterator[ConfigProblem]:
    for key in tags:
        if key in _RESERVED_TAGS or key.lower().startswith("aws:"):
            yield ConfigProblem(
                f"paved:tags.{key}",
                "is a reserved tag key",
                f"paved sets {', '.join(_RESERVED_TAGS)} itself and AWS reserves the aws: prefix; remove it",
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


def _stack_name_violations(
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


def _parsed(value: T | None) -> T:
    # Only called once no problem was reported, and every None was reported as a problem.
    if value is None:
        raise AssertionError("configuration value missing although no problem was reported")
    return value


def load_stack_config(raw: Mapping[str, Any], stack: str) -> StackConfig:
    """Parse a stack's config keys (`paved:*`, `aws:region`); raise one ConfigError listing every problem."""
    problems: list[ConfigProblem] = []
    values = _paved_values(raw, problems)
    environment: Environment | None = validated(
        _ENVIRONMENT.validate_python,
        _required(
            values, "environment", "paved:environment", "set paved:environment: staging or prod", problems
        ),
        "paved:environment",
        problems,
    )
    region = validated(
        _REGION.validate_python,
        _required(
            raw,
            "aws:region",
            "aws:region",
            "set aws:region, e.g. `pulumi config set aws:region eu-west-1`",
            problems,
        ),
        "aws:region",
        problems,
    )
    allow_mismatch = validated(
        _ALLOW_MISMATCH.validate_python,
        values.get("allowEnvironmentMismatch", False),
        "paved:allowEnvironmentMismatch",
        problems,
    )
    problems.extend(_stack_name_violations(stack, environment, allow_mismatch))
    # With an invalid environment, the rest is still checked (against the more lenient staging preset).
    preset: Environment = environment or "staging"
    ctx = RuleContext(preset, region)
    dr_region = validated(_DR_REGION.validate_python, values.get("drRegion"), "paved:drRegion", problems)
    domain = _section(DomainArgs, "domain", values, ctx, problems)
    alerts = _section(AlertsArgs, "alerts", values, ctx, problems)
    network = _section(NetworkArgs, "network", values, ctx, problems)
    database = _section(DatabaseArgs, "database", values, ctx, problems)
    cache = _section(CacheArgs, "cache", values, ctx, problems)
    backup = _section(BackupArgs, "backup", values, ctx, problems)
    secrets = _secrets(values, ctx, problems)
    cluster = _section(ClusterArgs, "cluster", values, ctx, problems)
    edge = _section(EdgeArgs, "edge", values, ctx, problems)
    apps = _apps(values, ctx, problems)
    tags = validated(
        _TAGS.validate_python,
        _with_preset(values, "tags", ctx),
        "paved:tags",
        problems,
    )
    problems.extend(_dr_region_violations(dr_region, ctx))
    if edge is not None and edge.cloudfront and edge.assets_failover and dr_region is None:
        problems.append(
            ConfigProblem(
                "paved:edge.assetsFailover",
                "an assets failover bucket needs paved:drRegion",
                "set paved:drRegion (the failover bucket lives there) or assetsFailover: false",
            )
        )
    problems.extend(_app_list_violations(apps, domain))
    problems.extend(_secret_ref_violations(apps, secrets))
    problems.extend(_database_user_violations(apps, database))
    problems.extend(_tag_violations(tags or {}))
    if problems:
        raise ConfigError(stack, problems)
    return StackConfig(
        environment=ctx.environment,
        region=_parsed(region),
        dr_region=dr_region,
        domain=_parsed(domain),
        alerts=_parsed(alerts),
        network=_parsed(network),
        database=_parsed(database),
        cache=_parsed(cache),
        backup=_parsed(backup),
        secrets=_parsed(secrets),
        cluster=_parsed(cluster),
        edge=_parsed(edge),
        apps=tuple(apps.values()),
        tags={"environment": ctx.environment, "managed-by": "paved", **_parsed(tags)},
    )


def load_from_pulumi() -> StackConfig:
    """The running stack's config (the language host passes it in PULUMI_CONFIG; set_all_config adds more)."""
    raw = {**pulumi.runtime.config.get_config_env(), **pulumi.runtime.config.CONFIG.get()}
    return load_stack_config(raw, pulumi.get_stack())


def load_stack_file(path: Path, stack: str) -> StackConfig:
    """Load a Pulumi.<stack>.yaml's `config:` map (for tests and tools)."""
    document = yaml.safe_load(path.read_text()) or {}
    config = document.get("config", {}) if isinstance(document, dict) else None
    if not isinstance(config, dict):
        raise ConfigError(
            stack, [ConfigProblem("config", "must be a map of config keys", f"see {REFERENCE}")]
        )
    return load_stack_config(config, stack)
