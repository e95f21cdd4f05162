"""Field types and validators that several components' Args share, and the base of every config model.

A component's own types and checks live with its Args in `components/<name>.py`; a type moves here once a
second component needs it.
"""

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Annotated, Literal, NamedTuple, TypeVar, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic.alias_generators import to_camel

from paved.catalogues import region_problem
from paved.errors import ConfigProblem, Hint, invalid, printable

T = TypeVar("T")

Environment = Literal["staging", "prod"]
# The only retention periods CloudWatch Logs accepts:
# https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html
LogRetentionDays = Literal[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653
]


@dataclass(frozen=True)
class RuleContext:
    """What the section rules may depend on besides their own section."""

    environment: Environment
    region: str | None

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"


def matching(pattern: str, what: str, hint: str) -> AfterValidator:
    # ASCII: without it \d takes any Unicode digit ("١٧" would pass as 17), and AWS takes ASCII only.
    regex = re.compile(pattern, re.ASCII)

    def check(value: str) -> str:
        if regex.fullmatch(value) is None:
            raise invalid(f"{value!r} is not {what}", hint)
        return value

    return AfterValidator(check)


def distinct(items: list[T]) -> list[T]:
    duplicates = sorted({printable(str(item)) for item in items if items.count(item) > 1})
    if duplicates:
        raise invalid(f"duplicate entries: {', '.join(duplicates)}", "list each value once")
    return items


def cidr_network(value: str) -> IPv4Network | IPv6Network:
    try:
        if "/" in value:
            return ip_network(value)  # strict: host bits must be zero
    except ValueError:
        pass
    raise invalid(
        f"{value!r} is not a CIDR block", "use network notation such as 10.0.0.0/16 (host bits zero)"
    )


def _cidr(value: str) -> str:
    cidr_network(value)
    return value


def pinned_image(value: str) -> str:
    """An image is pinned by a digest, or by a tag other than `latest` (a tag can be re-pushed, latest is)."""
    name, _, digest = value.partition("@")
    tag = name.rsplit("/", 1)[-1].partition(":")[2]
    pinned = re.fullmatch(r"sha256:[0-9a-f]{64}", digest) if digest else tag not in ("", "latest")
    if not name or re.search(r"\s", value) or not pinned:
        raise invalid(
            f"{value!r} is not a pinned image",
            "use an immutable tag such as .../web:1.4.2 or a digest @sha256:<64 hex>; an untagged or "
            "'latest' image changes under you, so replicas can differ and rollbacks redeploy the wrong code",
        )
    return value


_QUANTITY = re.compile(
    r"(?P<number>\d+(?:\.\d*)?|\.\d+)(?P<suffix>[KMGTPE]i|[eE][+-]?\d{1,2}|[mkMGTPE])?", re.ASCII
)
_QUANTITY_FACTORS: dict[str, Decimal] = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    **{suffix: Decimal(1000**power) for power, suffix in enumerate("kMGTPE", start=1)},
    **{f"{suffix}i": Decimal(1024**power) for power, suffix in enumerate("KMGTPE", start=1)},
}


def parse_quantity(text: str) -> Decimal:
    """A Kubernetes resource quantity ("250m", "1.5", "512Mi", "1e3") in base units (cores or bytes)."""
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a Kubernetes quantity")
    number, suffix = Decimal(match["number"]), match["suffix"] or ""
    if suffix[:1] in ("e", "E") and len(suffix) > 1:
        return number.scaleb(int(suffix[1:]))
    return number * _QUANTITY_FACTORS[suffix]


def _quantity(value: str) -> str:
    try:
        parse_quantity(value)
    except ValueError:
        raise invalid(
            f"{value!r} is not a Kubernetes quantity",
            "use e.g. 250m or 1 for CPU, 512Mi or 1Gi for memory",
        ) from None
    return value


def _aws_region(region: str) -> str:
    problem = region_problem(region)
    if problem is not None:
        raise invalid(*problem)
    return region


Region = Annotated[str, AfterValidator(_aws_region)]
DnsName = Annotated[
    str,
    matching(
        r"(?=.{1,253}\Z)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}",
        "a DNS name",
        "use a lowercase fully qualified name such as app.example.com",
    ),
]


@functools.cache
def _waf_country_codes() -> frozenset[str]:
    """The codes WAF's GeoMatchStatement accepts: the `CountryCode` enum of botocore's wafv2 model (ISO 3166-1
    alpha-2 as AWS takes it). Loaded on first use: the model costs ~0.25 s, only for stacks that geo-block."""
    import botocore.session

    return frozenset(botocore.session.get_session().get_service_model("wafv2").shape_for("CountryCode").enum)


def _waf_country(code: str) -> str:
    if code not in _waf_country_codes():
        hint = (
            "use GB for the United Kingdom" if code == "UK" else "use an ISO 3166-1 alpha-2 code such as KP"
        )
        raise invalid(f"{code!r} is not a country code WAF accepts", hint)
    return code


WafCountryCode = Annotated[str, AfterValidator(_waf_country)]


# Namespaces an app may not take, since each app gets the namespace of its name: Kubernetes' own (`default`,
# the `kube-` prefix it reserves: https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/)
# and those paved's controllers, add-ons and database bootstrap run in (tests/test_workload.py checks these
# against the recorded stacks).
SYSTEM_NAMESPACES = frozenset(
    {
        "default",
        "external-secrets",
        "reloader",
        "paved-database",
        "amazon-cloudwatch",
        "nats",
        "kube-state-metrics",
    }
)


def _not_a_system_namespace(name: str) -> str:
    if name in SYSTEM_NAMESPACES or name.startswith("kube-"):
        raise invalid(
            f"{name!r} is a namespace Kubernetes or paved keeps for itself",
            "each app runs in the namespace of its name: choose another name "
            f"(not default, kube-*, or {', '.join(sorted(SYSTEM_NAMESPACES - {'default'}))})",
        )
    return name


AppName = Annotated[
    str,
    matching(
        r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?",
        "a DNS-1123 label of at most 40 characters",
        "use lowercase letters, digits and '-', starting and ending with a letter or digit (it names "
        "Kubernetes objects and AWS resources)",
    ),
    AfterValidator(_not_a_system_namespace),
]
UrlPath = Annotated[
    str,
    matching(
        r"/[!-~]*",
        "an absolute URL path",
        "start the path with '/', e.g. /health, in printable ASCII (percent-encode anything else)",
    ),
]
EnvVarName = Annotated[
    str,
    matching(r"[A-Za-z_][A-Za-z0-9_]*", "an environment variable name", "use letters, digits and '_'"),
]
Cidr = Annotated[str, AfterValidator(_cidr)]
Quantity = Annotated[str, AfterValidator(_quantity)]
Tags = dict[
    Annotated[str, StringConstraints(min_length=1, max_length=128)],
    Annotated[str, StringConstraints(max_length=256)],
]
LogRetention = Annotated[
    LogRetentionDays,
    Hint(
        "CloudWatch Logs only accepts these retention periods (days): "
        + ", ".join(map(str, get_args(LogRetentionDays)))
    ),
]
Version = Annotated[
    int, Field(ge=1), Hint("a counter starting at 1: raise it by one to generate and roll out a new value")
]

_DAY = 24 * 60
_WEEK = 7 * _DAY
_WINDOW_BOUND = re.compile(r"(?:(mon|tue|wed|thu|fri|sat|sun):)?([01]\d|2[0-3]):([0-5]\d)", re.ASCII)
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Window(NamedTuple):
    """A UTC window in minutes from Monday 00:00 (a daily window sits on Monday and repeats daily)."""

    start: int
    end: int  # exclusive; past midnight or the week's end when the window wraps
    weekly: bool

    @property
    def minutes(self) -> int:
        return self.end - self.start

    def overlaps(self, other: "Window") -> bool:
        step = _WEEK if self.weekly and other.weekly else _DAY
        return any(
            self.start < other.end + shift and other.start + shift < self.end
            for shift in range(-_WEEK, _WEEK + 1, step)
        )


def parse_window(text: str) -> Window:
    """'hh:mm-hh:mm' (daily) or 'ddd:hh:mm-ddd:hh:mm' (weekly): the UTC formats of RDS and ElastiCache."""
    parts = text.split("-")
    bounds = [match for match in map(_WINDOW_BOUND.fullmatch, parts) if match is not None]
    if len(parts) != 2 or len(bounds) != 2 or bool(bounds[0][1]) != bool(bounds[1][1]):
        raise ValueError(f"{text!r} is not a window")
    weekly = bool(bounds[0][1])
    start, end = (
        (_DAYS.index(bound[1]) * _DAY if bound[1] else 0) + int(bound[2]) * 60 + int(bound[3])
        for bound in bounds
    )
    if end <= start:
        end += _WEEK if weekly else _DAY
    return Window(start, end, weekly)


def _window(kind: str, example: str) -> AfterValidator:
    def check(value: str) -> str:
        try:
            parse_window(value)
        except ValueError:
            raise invalid(f"{value!r} is not a {kind} window", f"use UTC {example}") from None
        return value

    return AfterValidator(check)


DailyWindow = Annotated[str, _window("daily", "hh:mm-hh:mm, e.g. 02:00-03:00")]
WeeklyWindow = Annotated[str, _window("weekly", "ddd:hh:mm-ddd:hh:mm, e.g. sun:03:30-sun:04:30")]


def window_problems(
    path: str, windows: Mapping[str, tuple[str, int]], exclusive: tuple[str, str]
) -> Iterator[ConfigProblem]:
    """Minimum lengths (key -> (window, minutes)) and the pair of windows that must not overlap."""
    parsed = {key: parse_window(text) for key, (text, _) in windows.items()}
    for key, (text, minimum) in windows.items():
        if parsed[key].minutes < minimum:
            yield ConfigProblem(
                f"{path}.{key}",
                f"{text} is {parsed[key].minutes} minutes long; AWS requires at least {minimum}",
                f"widen the window to {minimum} minutes or more",
            )
    first, second = exclusive
    if parsed[first].overlaps(parsed[second]):
        yield ConfigProblem(
            f"{path}.{second}",
            f"{windows[second][0]} overlaps {first} {windows[first][0]}",
            "AWS rejects overlapping backup and maintenance windows; move one of them",
        )


class ConfigModel(BaseModel):
    """A config section: camelCase keys in YAML, snake_case in Python, immutable, unknown keys rejected."""

    # coerce_numbers_to_str: YAML reads `engineVersion: 17` as a number; accept it as the string "17".
    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        coerce_numbers_to_str=True,
    )

    @field_validator("*", mode="before")
    @classmethod
    def _booleans_are_booleans(cls, value: object, info: ValidationInfo) -> object:
        """A switch takes true or false: YAML's, or the text "true"/"false" that `pulumi config set --path`
        writes. Pydantic's lax bool would also read "yes", "on" or 1 as a meaning nobody wrote."""
        name = info.field_name
        if name is None or cls.model_fields[name].annotation is not bool or isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        raise invalid(f"{value!r} is not true or false", "write true or false")

    def violations(self, path: str, ctx: RuleContext) -> Iterator[ConfigProblem]:
        """Cross-field and per-environment rules; `path` is this model's config key path."""
        return iter(())
