"""Loading: a stack's `paved:*` keys, from a stack file or the Pulumi runtime, into one typed `StackConfig`.

Each section's model lives with its component (`DatabaseArgs` in components/database.py). A stack file sets
only what differs from its environment's preset (paved/presets.py). Each section is validated on its own and
checked by its model's `violations()` rules, then the rules across sections run (paved/rules.py), so one bad
section never hides the problems of another: `load_stack_config` raises a single `ConfigError`
(paved/errors.py) that lists every problem, each with its camelCase key path (`paved:apps[1].replicas.min`)
and a hint.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pulumi
from pydantic import BaseModel, TypeAdapter, ValidationError

from components.backup import BackupArgs
from components.cache import CacheArgs
from components.cdn import viewer_hosts
from components.certificates import DomainArgs
from components.cluster import ClusterArgs
from components.database import DatabaseArgs
from components.disaster_recovery import DrArgs, dr_violations
from components.edge import CORS_ORIGINS_ENV, EdgeArgs
from components.email import EmailArgs
from components.nats import NatsArgs, nats_violations
from components.network import NetworkArgs
from components.observability import AlertsArgs
from components.registry import RegistryArgs
from components.secrets import SecretArgs
from components.uploads import UploadsArgs
from components.uptime import UptimeArgs
from components.workload import AppArgs
from paved import rules
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
from paved.yaml_files import read_yaml

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
    registry: RegistryArgs
    dr: DrArgs
    secrets: Mapping[str, SecretArgs]
    cluster: ClusterArgs
    edge: EdgeArgs
    uptime: UptimeArgs
    nats: NatsArgs
    uploads: UploadsArgs
    email: EmailArgs
    apps: tuple[AppArgs, ...]
    tags: Mapping[str, str]  # effective tags: the user's plus `environment` and `managed-by`

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"


SECTION_KEYS = ("environment", "allowEnvironmentMismatch", "drRegion", *PRESETS["prod"])


_ENVIRONMENT: TypeAdapter[Environment] = TypeAdapter(Environment)
REGION: TypeAdapter[str] = TypeAdapter(Region)
_DR_REGION: TypeAdapter[str | None] = TypeAdapter(Region | None)
TAGS: TypeAdapter[dict[str, str]] = TypeAdapter(Tags)
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


def paved_values(
    raw: Mapping[str, Any], problems: list[ConfigProblem], keys: Sequence[str] = SECTION_KEYS
) -> dict[str, Any]:
    """The `paved:` keys of a stack's config, decoded; each one not in `keys` is a problem."""
    values: dict[str, Any] = {}
    for key, value in raw.items():
        namespace, _, name = str(key).partition(":")
        if namespace != "paved":
            continue
        if name in keys:
            values[name] = _decode(value)
        else:
            known = [f"paved:{section}" for section in keys]
            problems.append(ConfigProblem(str(key), "unknown key", unknown_key_hint(str(key), known)))
    return values


def required_value(
    adapter: TypeAdapter[T],
    values: Mapping[str, Any],
    key: str,
    path: str,
    hint: str,
    problems: list[ConfigProblem],
    root: type[BaseModel] | None = None,
) -> T | None:
    """The value of a key that must be set, validated; a missing key is one problem, not two. `root` is the
    model, for its hints."""
    if key not in values:
        problems.append(ConfigProblem(path, "is required", hint))
        return None
    return validated(adapter.validate_python, values[key], path, problems, root)


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
        app = validated(AppArgs.model_validate, _with_app_preset(item, ctx), path, problems, AppArgs)
        if app is not None:
            problems.extend(app.violations(path, ctx))
            apps[index] = app
    return apps


def _with_app_preset(item: Any, ctx: RuleContext) -> Any:
    """The app merged over its kind's preset; an unknown kind takes the service preset, and validation
    reports the kind."""
    presets = APP_PRESETS[ctx.environment]
    kind = item.get("kind") if isinstance(item, Mapping) else None
    return deep_merge(presets[kind if isinstance(kind, str) and kind in presets else "service"], item)


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


def _declared_names(values: Mapping[str, Any], key: str, ctx: RuleContext) -> set[str] | None:
    """The names a map section declares, whether or not each entry parsed; None if it is not a map."""
    items = _with_preset(values, key, ctx)
    return {str(name) for name in items} if isinstance(items, Mapping) else None


def _app_count(values: Mapping[str, Any], ctx: RuleContext) -> int:
    items = _with_preset(values, "apps", ctx)
    return len(items) if isinstance(items, list) else 0


def _parsed(value: T | None) -> T:
    # Only called once no problem was reported, and every None was reported as a problem.
    if value is None:
        raise AssertionError("configuration value missing although no problem was reported")
    return value


def load_stack_config(raw: Mapping[str, Any], stack: str, project: str = "paved") -> StackConfig:
    """Parse a stack's config keys (`paved:*`, `aws:region`); raise one ConfigError listing every problem.

    The project and stack names are part of the names paved gives AWS and Kubernetes objects, so their
    lengths are checked too."""
    problems: list[ConfigProblem] = []
    values = paved_values(raw, problems)
    environment: Environment | None = required_value(
        _ENVIRONMENT,
        values,
        "environment",
        "paved:environment",
        "set paved:environment: staging or prod",
        problems,
    )
    region = required_value(
        REGION,
        raw,
        "aws:region",
        "aws:region",
        "set aws:region, e.g. `pulumi config set aws:region eu-west-1`",
        problems,
    )
    allow_mismatch = validated(
        _ALLOW_MISMATCH.validate_python,
        values.get("allowEnvironmentMismatch", False),
        "paved:allowEnvironmentMismatch",
        problems,
    )
    problems.extend(rules.stack_name_violations(stack, environment, allow_mismatch))
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
    registry = _section(RegistryArgs, "registry", values, ctx, problems)
    dr = _section(DrArgs, "dr", values, ctx, problems)
    secrets = _secrets(values, ctx, problems)
    cluster = _section(ClusterArgs, "cluster", values, ctx, problems)
    edge = _section(EdgeArgs, "edge", values, ctx, problems)
    uptime = _section(UptimeArgs, "uptime", values, ctx, problems)
    nats = _section(NatsArgs, "nats", values, ctx, problems)
    uploads = _section(UploadsArgs, "uploads", values, ctx, problems)
    email = _section(EmailArgs, "email", values, ctx, problems)
    apps = _apps(values, ctx, problems)
    tags = validated(
        TAGS.validate_python,
        _with_preset(values, "tags", ctx),
        "paved:tags",
        problems,
    )
    problems.extend(rules.dr_region_violations(dr_region, ctx))
    problems.extend(dr_violations(dr, dr_region, network.cidr if network else None))
    problems.extend(rules.assets_failover_violations(edge, dr_region))
    problems.extend(rules.uploads_violations(uploads, edge, apps))
    problems.extend(rules.waf_capacity_violations(edge, uptime))
    problems.extend(rules.websocket_timeout_violations(apps, edge))
    problems.extend(rules.email_violations(email, domain, apps))
    problems.extend(rules.app_list_violations(apps, domain))
    problems.extend(rules.name_length_violations(project, stack, apps))
    problems.extend(rules.name_character_violations(project, stack))
    problems.extend(rules.secret_name_violations(secrets))
    problems.extend(rules.secret_ref_violations(apps, _declared_names(values, "secrets", ctx)))
    problems.extend(rules.database_user_violations(apps, database, _app_count(values, ctx) == len(apps)))
    problems.extend(rules.tag_violations(tags or {}))
    problems.extend(nats_violations(apps, nats))
    if problems:
        raise ConfigError(stack, problems)
    edge_args, app_args = _with_cors_origins(_parsed(edge), _parsed(domain), list(apps.values()))
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
        registry=_parsed(registry),
        dr=_parsed(dr),
        secrets=_parsed(secrets),
        cluster=_parsed(cluster),
        edge=edge_args,
        uptime=_parsed(uptime),
        nats=_parsed(nats),
        uploads=_parsed(uploads),
        email=_parsed(email),
        apps=app_args,
        tags={"environment": ctx.environment, "managed-by": "paved", **_parsed(tags)},
    )


def _with_cors_origins(
    edge: EdgeArgs, domain: DomainArgs, apps: Sequence[AppArgs]
) -> tuple[EdgeArgs, tuple[AppArgs, ...]]:
    """`corsAllowAppHosts` folded into `corsAllowedOrigins` (the stack's own hosts first). Without CloudFront
    the ALB adds one static Access-Control-Allow-Origin (components/edge.py), so with more origins each
    public app gets them in CORS_ALLOWED_ORIGINS to echo the request's Origin when listed; an app's own env
    value wins."""
    own = [f"https://{host}" for host in viewer_hosts(domain.name, apps)] if edge.cors_allow_app_hosts else []
    origins = list(dict.fromkeys([*own, *edge.cors_allowed_origins]))
    edge = edge.model_copy(update={"cors_allowed_origins": origins})
    if edge.cloudfront or len(origins) < 2:
        return edge, tuple(apps)
    env = {CORS_ORIGINS_ENV: ",".join(origins)}
    return edge, tuple(
        app.model_copy(update={"env": env | app.env}) if app.is_public else app for app in apps
    )


def running_config() -> dict[str, Any]:
    """The running stack's raw config (the language host passes it in PULUMI_CONFIG; set_all_config adds
    more)."""
    return {**pulumi.runtime.config.get_config_env(), **pulumi.runtime.config.CONFIG.get()}


def load_from_pulumi() -> StackConfig:
    return load_stack_config(running_config(), pulumi.get_stack(), pulumi.get_project())


def load_stack_file(path: Path, stack: str) -> StackConfig:
    """Load a Pulumi.<stack>.yaml's `config:` map (for tests and tools)."""
    config = read_yaml(path).get("config", {})
    if not isinstance(config, dict):
        raise ConfigError(
            stack, [ConfigProblem("config", "must be a map of config keys", f"see {REFERENCE}")]
        )
    return load_stack_config(config, stack)
