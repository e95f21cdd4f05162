"""Required tags on every taggable AWS resource.

"Taggable" is decided offline from the provider's schema: a type is taggable when pulumi-aws gives it a
`tags` input (aws_taggable.TAGGABLE_TYPES, generated from the pinned provider). Judging by the resource's
props instead ("has a `tags` key") would skip exactly the resources that forgot their tags.

A tag counts when the resource's own `tags` carry it, or its provider's `defaultTags` do (the provider
merges those into every resource it creates); `tagsAll`, the provider's merge of the two, counts when it
is already known. The list of required tags comes from the pack config:
`{"aws-required-tags": {"requiredTags": ["environment", "owner", "cost-center"]}}`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from paved_policies.aws_taggable import TAGGABLE_TYPES
from paved_policies.props import UNKNOWN, as_map, as_seq, get, peek, strings, tag_pairs
from paved_policies.rule import Finding, ResourceContext, compliant, not_applicable, resource_rule, violation

DEFAULT_REQUIRED_TAGS = ("environment",)
CONFIG_KEY = "requiredTags"


def _set_keys(tags: Any) -> set[str]:
    """The tag keys with a value. A blank value is no tag; a value unknown in preview is another
    resource's output, so it counts."""
    return {key for key, value in tag_pairs(tags) if key and (value is UNKNOWN or _non_blank(value))}


def _non_blank(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _provider_default_tags(provider: Mapping[str, Any]) -> set[str]:
    default_tags = get(provider, "defaultTags")
    # A default provider's settings come from stack config, where objects arrive as JSON text.
    if isinstance(default_tags, str):
        try:
            default_tags = json.loads(default_tags)
        except (ValueError, RecursionError):
            return set()
    return _set_keys(as_map(default_tags).get("tags"))


def _required(config: Mapping[str, Any]) -> list[str]:
    wanted = config.get(CONFIG_KEY, DEFAULT_REQUIRED_TAGS)
    return list(dict.fromkeys(tag.strip() for tag in strings(as_seq(wanted)) if tag.strip()))


@resource_rule(
    name="aws-required-tags",
    description=(
        "Taggable AWS resources carry the required tags (pack config `requiredTags`, default "
        f"{list(DEFAULT_REQUIRED_TAGS)}), set on the resource or by its provider's default tags."
    ),
    severity="low",
    remediation=(
        "Add the missing keys to the resource's tags, or to the provider's default_tags so every resource "
        "it creates gets them. Change the list with --policy-pack-config "
        '\'{"aws-required-tags": {"requiredTags": ["environment", "owner"]}}\'.'
    ),
    resource_types=TAGGABLE_TYPES,
    config_schema={
        CONFIG_KEY: {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "uniqueItems": True,
            "default": list(DEFAULT_REQUIRED_TAGS),
            "description": "Tag keys every taggable AWS resource must carry.",
        }
    },
    url="https://docs.aws.amazon.com/whitepapers/latest/tagging-best-practices/tagging-best-practices.html",
)
def aws_required_tags(props: Mapping[str, Any], ctx: ResourceContext) -> Finding:
    required = _required(ctx.config)
    if not required:
        return not_applicable("no required tags are configured")
    # Read lazily: the provider and tagsAll only matter for keys the resource's own tags lack. A `tags`
    # map that is itself unknown raises, for the SDK to report "can't run during preview".
    own = _set_keys(get(props, "tags"))
    missing = [tag for tag in required if tag not in own]
    if missing:
        present = _provider_default_tags(ctx.provider)
        all_tags = peek(lambda: get(props, "tagsAll"))
        if all_tags is not UNKNOWN:
            present |= _set_keys(all_tags)
        missing = [tag for tag in missing if tag not in present]
    if not missing:
        return compliant()
    kind = ctx.resource_type.rsplit(":", 1)[-1]
    return violation(f"{kind} '{ctx.name}' lacks the tag(s) {', '.join(missing)}.")


RULES = (aws_required_tags,)
