"""The configuration reference (Markdown) and the JSON Schema of the YAML files, both generated
from the pydantic models the loader validates with, so the docs cannot drift from the code.

    augenmass config-reference > docs/configuration.md
    augenmass config-reference --json-schema > docs/augenmass.schema.json

The models validate values *after* YAML parsing and our own before-validators (durations such as
`5m`, states by name, one name or a list ...). pydantic describes only the target type (`5m`
would be refused as not a number), so the schema generator below describes what the YAML may
say instead. Check options are a `oneOf` keyed by `type`, so an editor completes the options of
the probe named there.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from augenmass.config.checks import check_model, check_types
from augenmass.config.cluster import ClusterModel
from augenmass.config.notifications import contact_model, notifications_model
from augenmass.config.policy import DEFAULT_TIMEOUT, UNKNOWN
from augenmass.config.schema import (
    AgentModel,
    GroupModel,
    HostModel,
    PolicyModel,
    RuleModel,
    ServiceModel,
    SettingsModel,
    TemplateModel,
)
from augenmass.config.yamlload import (
    MAX_ALIAS_VALUES,
    MAX_CONFIG_BYTES,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_NODES,
    MIB,
)
from augenmass.core.duration import format_duration
from augenmass.core.fields import MAX_NAME, STATE_NAMES, AtMost
from augenmass.core.options import CheckModel
from augenmass.core.plan import DEFAULT_HOST_CHECK, Policy, Retention, Settings
from augenmass.core.timeperiod import WEEKDAYS

SCHEMA_PATH = "docs/augenmass.schema.json"
REFERENCE_PATH = "docs/configuration.md"
GENERATE = "augenmass config-reference"
_DEFS = "definitions"  # draft-07: what editors' YAML language servers read best
_KIND = "x-augenmass-kind"  # our marker for the Markdown types; removed from the schema file

_NUMBER = r"[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?"
DURATION: dict[str, Any] = {
    "type": ["number", "string"],
    "minimum": 0,
    "pattern": rf"^\s*({_NUMBER}|([0-9]+(\.[0-9]+)?(ms|s|m|h|d|w))+)\s*$",
    _KIND: "duration",
}
STATE: dict[str, Any] = {
    "enum": [*STATE_NAMES, *(n.upper() for n in STATE_NAMES), *STATE_NAMES.values()],
    _KIND: "state",
}
TEXT: dict[str, Any] = {"type": ["string", "number", "boolean"], _KIND: "text"}
THRESHOLD: dict[str, Any] = {"type": ["string", "number"], "minLength": 1, _KIND: "range"}

# Before-validators by name: a probe module may carry its own copy (e.g. `_one_or_many`).
_ONE_OR_MANY = "_one_or_many"
_BEFORE: dict[str, dict[str, Any]] = {
    "_duration": DURATION,
    "_state": STATE,
    "_scalar_text": TEXT,
    "threshold_text": THRESHOLD,
}


def _bound(bound: AtMost) -> str:
    return format_duration(bound.seconds)


def _function_name(schema: Any) -> str:
    function = schema["function"]["function"]
    return str(getattr(function, "__name__", ""))


class _YamlSchema(GenerateJsonSchema):
    """pydantic's JSON Schema, told what our validators accept before the target type."""

    def function_before_schema(
        self, schema: core_schema.BeforeValidatorFunctionSchema
    ) -> JsonSchemaValue:
        name = _function_name(schema)
        if name in _BEFORE:
            return copy.deepcopy(_BEFORE[name])
        inner = super().function_before_schema(schema)
        if name == _ONE_OR_MANY and inner.get("type") == "array":
            return {"anyOf": [inner["items"], inner], _KIND: "list"}
        if name == "_version_text" and "enum" in inner:  # SNMP `version: 3` is a YAML number
            digits = [int(v) for v in inner["enum"] if isinstance(v, str) and v.isdigit()]
            return {**inner, "enum": [*inner["enum"], *digits], "type": ["string", "integer"]}
        return inner

    def function_after_schema(
        self, schema: core_schema.AfterValidatorFunctionSchema
    ) -> JsonSchemaValue:
        inner = super().function_after_schema(schema)
        bound = schema["function"]["function"]
        if isinstance(bound, AtMost):  # a duration's upper bound: "duration ≤ 1h"
            kind = inner.get(_KIND, "duration")
            return {**inner, "maximum": bound.seconds, _KIND: f"{kind} ≤ {_bound(bound)}"}
        name = _function_name(schema)
        if name == "_positive":
            return {**inner, "exclusiveMinimum": 0, _KIND: "positive duration"}
        if name in ("_name", "check_host_name") and inner.get("type") == "string":
            inner = {**inner, "minLength": 1, "maxLength": MAX_NAME, _KIND: "name"}
            if name == "check_host_name":
                inner.update(pattern=r"^[^/\s]+$", **{_KIND: "host name"})
        return inner

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False  # "Check Interval" above `check_interval` tells nobody anything

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        value = super().model_schema(schema)
        value.pop("title", None)  # class names are ours, not the user's
        return value


def _model_schema(model: type[BaseModel], defs: dict[str, Any]) -> dict[str, Any]:
    """The schema of `model`, its nested models moved into `defs`."""
    value = model.model_json_schema(
        by_alias=True,
        ref_template=f"#/{_DEFS}/{{model}}",
        schema_generator=_YamlSchema,
        mode="validation",
    )
    for name, nested in value.pop("$defs", {}).items():
        defs.setdefault(name, nested)
    return value


# --------------------------------------------------------------------------------- check types

SUMMARIES = {
    "plugin": "Run a Nagios-compatible plugin (argv, no shell); its exit code is the state.",
    "dummy": "Return the configured state and output (examples, placeholders, tests).",
    "tcp": "Connect to host:port and time it; optionally send, expect, or talk TLS.",
    "http": "One HTTP(S) request, redirects followed, judged like check_http.",
    "tls": "Days left on the certificate a server presents (direct TLS or STARTTLS).",
    "icmp": "Ping with ICMP echo requests: round-trip time and packet loss.",
    "dns": "Ask one DNS server one question, like check_dig.",
    "smtp": "SMTP server: greeting, capabilities, optionally STARTTLS and login; timed.",
    "imap": "IMAP server: greeting, capabilities, optionally STARTTLS and login; timed.",
    "pop3": "POP3 server: greeting, capabilities, optionally STARTTLS and login; timed.",
    "sip": "A SIP OPTIONS ping to a desk phone or PBX.",
    "snmp": "GET one or more OIDs: thresholds on numbers, match on text, rates of counters.",
    "printer": "Toner, ink, drums and waste boxes of a printer (Printer-MIB): what runs out.",
    "snmp-disk": "Percent used of each storage in HOST-RESOURCES-MIB.",
    "snmp-interface": "Oper status, traffic and error rates of one interface (IF-MIB).",
    "disk": "Space and inodes of the local file systems (the machine augenmass runs on).",
    "load": "Load averages of the local machine.",
    "memory": "Memory and swap use of the local machine.",
    "mailqueue": "Messages waiting in the local MTA's queue (postfix or exim) and their age.",
}
EXAMPLES = {
    "plugin": "{type: plugin, command: [check_disk, -w, '10%', -c, '5%', -p, /]}",
    "dummy": "{type: dummy, state: warning, output: 'placeholder until the real check exists'}",
    "tcp": "{type: tcp, port: 22, warning: '0.5', critical: '2'}",
    "http": "{type: http, url: 'https://$HOSTADDRESS$/health', contains: ok, critical: '5'}",
    "tls": "{type: tls, port: 443, warning: '30:', critical: '14:'}",
    "icmp": "{type: icmp, packets: 3, warning_rtt: '100', critical_loss: '50'}",
    "dns": "{type: dns, name: www.example.org, record_type: A, expect: [192.0.2.10]}",
    "smtp": "{type: smtp, tls: starttls, warning: '2', critical: '5'}",
    "imap": "{type: imap, port: 993, tls: implicit}",
    "pop3": "{type: pop3, port: 995, tls: implicit}",
    "sip": "{type: sip, transport: udp, critical: '1'}",
    "snmp": "{type: snmp, oid: 1.3.6.1.2.1.1.3.0, label: uptime, community: public}",
    "printer": "{type: printer, supplies: [toner, ink, drum, waste, staples], critical: '5:'}",
    "snmp-disk": "{type: snmp-disk, include: ['/*'], warning: '85', critical: '95'}",
    "snmp-interface": "{type: snmp-interface, interface: eth0, errors_warning: '1'}",
    "disk": "{type: disk, mounts: ['/', '/srv/*'], used_warning: '85', used_critical: '95'}",
    "load": "{type: load, per_cpu: true, warning: '2', critical: '4'}",
    "memory": "{type: memory, available_critical: '256:'}",
    "mailqueue": "{type: mailqueue, warning: '50', critical: '200', age_warning: '3600'}",
}
_COMMON = tuple(CheckModel.model_fields)
_STATE_NAMES = {number: name for name, number in STATE_NAMES.items()}
_LINK_TEXT = {"check": "check"}  # timeout, timeout_state, exit_code_state


def check_models() -> dict[str, type[CheckModel]]:
    """Every check type with its options model; a type whose model cannot load is left out."""
    models = {}
    for kind in check_types():
        model = check_model(kind)
        if not isinstance(model, str):
            models[kind] = model
    return models


def _check_def(kind: str, model: type[CheckModel], defs: dict[str, Any]) -> dict[str, Any]:
    value = _model_schema(model, defs)
    value["properties"] = {"type": {"const": kind}, **value["properties"]}
    value["required"] = ["type", *value.get("required", [])]
    value["description"] = SUMMARIES.get(kind, value.get("description", ""))
    return value


# --------------------------------------------------------------------------------- JSON Schema


def _nullable(value: dict[str, Any]) -> dict[str, Any]:
    # `hosts:` with nothing under it is allowed (a file may leave a section empty)
    return {"anyOf": [value, {"type": "null"}]}


def _named(value: dict[str, Any], names: dict[str, Any] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"type": ["object", "null"], "additionalProperties": value}
    if names is not None:
        result["propertyNames"] = names
    return result


def _builtin_defaults(defs: dict[str, Any]) -> None:
    """Where a model's default is None ("not set here"), show the value the server then uses."""
    policy = {
        f.name: getattr(Policy(), f.name)
        for f in dataclasses.fields(Policy)
        if f.name not in ("notify_on", "contact_groups", "contacts", "escalations")
    }
    policy.update(timeout=DEFAULT_TIMEOUT, timeout_state=UNKNOWN, exit_code_state=UNKNOWN)
    settings = {f.name: getattr(Settings(), f.name) for f in dataclasses.fields(Settings)}
    retention = dataclasses.asdict(Retention())
    targets = {"settings": settings, "defaults": policy, "RetentionModel": retention}
    for name, values in targets.items():
        for key, value in defs[name]["properties"].items():
            builtin = values.get(key)
            if value.get("default", 0) is None and builtin is not None:
                value["default"] = list(builtin) if isinstance(builtin, tuple) else builtin


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/{_DEFS}/{name}"}


def _timeperiod() -> dict[str, Any]:
    day = "|".join(WEEKDAYS)
    ranges = {
        "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
        "description": "Time ranges like '08:00-12:00,13:00-18:00' (or a list of them).",
    }
    names = {
        "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
        _KIND: "list",
    }
    date = {"type": "string", "pattern": r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\s*$"}
    return {
        "type": ["object", "null"],
        "description": "Weekly ranges per day (or day range), dates, and other periods.",
        "properties": {
            **{d: ranges for d in WEEKDAYS},
            "dates": {
                "description": "Whole days (a list of YYYY-MM-DD) or a mapping date -> ranges.",
                "anyOf": [
                    {"type": "array", "items": date},
                    {
                        "type": "object",
                        "propertyNames": date,
                        "additionalProperties": ranges,
                    },
                ],
            },
            "include": {**names, "description": "Periods whose times are added."},
            "exclude": {**names, "description": "Periods whose times are taken out."},
        },
        "patternProperties": {rf"^({day})-({day})$": ranges},
        "additionalProperties": False,
    }


def _check_union(kinds: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "description": "What to run: `type` picks the check type, the other keys are its options.",
        "required": ["type"],
        "properties": {"type": {"enum": kinds}},
        "oneOf": [_ref(f"check-{kind}") for kind in kinds],
    }


def build_schema() -> dict[str, Any]:
    """The JSON Schema with our `x-augenmass-kind` markers (see `json_schema`)."""
    defs: dict[str, Any] = {}
    models: dict[str, type[BaseModel]] = {
        "settings": SettingsModel,
        "defaults": PolicyModel,
        # joined with the keys of every registered channel, as the loader sees them
        "notifications": notifications_model(),
        "contact": contact_model(),
        "contact-group": GroupModel,
        "template": TemplateModel,
        "host": HostModel,
        "service": ServiceModel,
        "notification-rule": RuleModel,
        "agent": AgentModel,
        "cluster": ClusterModel,
    }
    for name, model in models.items():
        defs[name] = _model_schema(model, defs)
    checks = check_models()
    for kind, model in checks.items():
        defs[f"check-{kind}"] = _check_def(kind, model, defs)
    defs["check"] = _check_union(list(checks))
    no_check = {"const": "none"}  # hosts and templates: no check, the host is assumed UP
    for name in ("template", "host", "service"):
        properties = defs[name]["properties"]
        text = properties["check"].get("description", "")
        check = {"anyOf": [_ref("check"), no_check]} if name != "service" else _ref("check")
        properties["check"] = {**_nullable(check), "description": text}
    default_check = defs["settings"]["properties"]["default_host_check"]
    defs["settings"]["properties"]["default_host_check"] = {
        "anyOf": [_ref("check"), {"enum": ["none", False]}, {"type": "null"}],
        "description": default_check.get("description", ""),
        "default": dict(DEFAULT_HOST_CHECK),
    }
    _builtin_defaults(defs)
    # `services:` may also be a mapping name -> body, the name then comes from the key
    defs["service-entry"] = {
        **copy.deepcopy(defs["service"]),
        "required": [r for r in defs["service"].get("required", []) if r != "name"],
    }
    defs["timeperiod"] = _timeperiod()
    group_members = defs["contact-group"]["properties"]["members"]
    defs["contact-group"] = {"anyOf": [defs["contact-group"], group_members]}
    host_name = defs["host"]["properties"]["parents"]["items"]
    sections = {
        "settings": _nullable(_ref("settings")),
        "defaults": _nullable(_ref("defaults")),
        "notifications": _nullable(_ref("notifications")),
        "timeperiods": _named(_ref("timeperiod")),
        "contacts": _named(_nullable(_ref("contact"))),
        "contact_groups": _named(_nullable(_ref("contact-group"))),
        "templates": _named(_nullable(_ref("template"))),
        "hosts": _named(_nullable(_ref("host")), host_name),
        "services": _nullable(
            {
                "anyOf": [
                    {"type": "array", "items": _ref("service")},
                    {"type": "object", "additionalProperties": _nullable(_ref("service-entry"))},
                ]
            }
        ),
        "notification_rules": _nullable({"type": "array", "items": _ref("notification-rule")}),
        "agents": _named(_nullable(_ref("agent")), host_name),
        "cluster": _nullable(_ref("cluster")),
    }
    for name, text in SECTION_TEXT.items():
        sections[name]["description"] = text
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "augenmass configuration file",
        "description": f"Generated by `{GENERATE} --json-schema`; do not edit.",
        "type": "object",
        "additionalProperties": False,
        "properties": sections,
        _DEFS: defs,
    }


def _without_markers(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_markers(v) for k, v in value.items() if k != _KIND}
    if isinstance(value, list):
        return [_without_markers(v) for v in value]
    return value


def json_schema() -> dict[str, Any]:
    return _without_markers(build_schema())  # type: ignore[no-any-return]


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


# ------------------------------------------------------------------------------------ Markdown

SECTION_TEXT = {
    "settings": "Server-wide settings.",
    "defaults": "Policy for every host and service that does not set the key itself.",
    "notifications": "How notifications are sent: SMTP, webhooks, grouping, retries.",
    "timeperiods": "Named time periods (name -> days and ranges); 24x7 and never are built in.",
    "contacts": "People (name -> contact) and where they are told.",
    "contact_groups": "Named lists of contacts; objects notify groups.",
    "templates": "Named bundles of keys that hosts and services take with `use:`.",
    "hosts": "The hosts (name -> host).",
    "services": "The services: a list (or a mapping name -> service), each on `host:` or an "
    "apply rule `hosts:`.",
    "notification_rules": "Extra contact groups for services that match.",
    "agents": "`augenmass agent`s (name -> agent) that run the checks of hosts the server cannot"
    " reach and send the results (docs/agent.md); each is also a host of its name.",
    "cluster": "Check workers over NATS JetStream and the active/standby lease of servers that"
    " share a PostgreSQL store (docs/deployment.md).",
}
SECTION_EXAMPLES = {
    "settings": """settings:
  timezone: Europe/Berlin
  base_url: https://monitor.example.org
  max_concurrent_checks: 64
  retention: {raw: 48h, five_minute: 30d, hourly: 730d}""",
    "defaults": """defaults:
  check_interval: 5m
  retry_interval: 1m
  max_check_attempts: 3""",
    "notifications": """notifications:
  smtp: {host: mail.example.org, port: 587, security: starttls, username: augenmass,
         password: "${SMTP_PASSWORD}", from: augenmass@example.org}
  webhooks:
    chat: {url: "https://chat.example.org/hooks/monitoring", secret: "${HOOK_SECRET}"}
  group_wait: 10s""",
    "timeperiods": """timeperiods:
  office-hours:
    monday-friday: "08:00-18:00"
    dates: [2026-12-24, 2026-12-31]   # whole days
    exclude: [holidays]
  holidays:
    dates: {2026-12-25: "00:00-24:00"}""",
    "contacts": """contacts:
  alice: {email: alice@example.org, language: de, notification_period: office-hours}
  oncall: {apprise: ["ntfy://ntfy.example.org/oncall"], webhooks: [chat]}""",
    "contact_groups": """contact_groups:
  web-team: [alice, oncall]         # short form: the members
  office: {members: [alice]}""",
    "templates": """templates:
  server:
    check: {type: tcp, port: 22}
    check_interval: 1m
    notify: [web-team]""",
    "hosts": """hosts:
  www1: {address: 192.0.2.11, use: server, tags: [web]}
  printer: {address: 192.0.2.21, parents: [router], vars: {snmp_community: public}}""",
    "services": """services:
  - name: website
    hosts: {tag: web}                 # every host tagged web
    check: {type: http, url: "https://$HOSTADDRESS$/", critical: "5"}
    public: {name: Website, group: Websites}
  - name: root-disk
    host: www1
    check: {type: plugin, command: [check_disk, -w, "10%", -p, /]}""",
    "notification_rules": """notification_rules:
  - match: {check_type: printer}
    notify: [office]""",
    "agents": """agents:
  office:
    hosts: {tag: office}              # or `agent: office` on a host or template
    timeout: 3m                       # silent this long: office DOWN, its hosts UNREACHABLE""",
    "cluster": """cluster:
  nats: {url: "nats://127.0.0.1:4222"}   # workers: augenmass worker --nats URL [--zone NAME]
  zones: [dc-east]                      # hosts join with `zone: dc-east`
  lease: {ttl: 10s, renew: 3s}          # active/standby on a shared PostgreSQL store""",
}
_INTRO = f"""# Configuration reference

<!-- Generated by `{GENERATE}` from the configuration models; do not edit.
     Change a model's `Field(description=...)` and run it again. -->

A configuration is one YAML file or a directory of `*.yaml` / `*.yml` files, read in name order
and joined: each top-level section may appear in several files, but a name (a host, a contact,
a key of `settings:` ...) only once. `augenmass check-config PATH` shows every problem with file,
line and key path.

## Editor support

[`augenmass.schema.json`](augenmass.schema.json) is a JSON Schema of these files (generated with
`{GENERATE} --json-schema`). Editors with the YAML language server (VS Code's YAML extension,
Neovim, Helix, ...) complete keys, show these descriptions and mark mistakes when a file starts
with:

```yaml
# yaml-language-server: $schema=https://example.org/path/to/docs/augenmass.schema.json
```

A relative path works too, e.g. `# yaml-language-server: $schema=../../docs/augenmass.schema.json`
in `examples/config/`. The schema checks shapes and values; names (contacts, templates, time
periods ...) are cross-checked only by `augenmass check-config`.

## Value types

| Type | Written as |
|---|---|
| duration | seconds as a number, or text with units `ms s m h d w`: `30s`, `5m`, `1h30m`, `2d`; \
never negative, infinite or not a number, and at most the bound its key shows (`duration ≤ 1h`) |
| positive duration | a duration above 0 (an interval: 0 would mean "run constantly") |
| state | `ok`, `warning`, `critical`, `unknown` or 0..3 |
| range | a Nagios threshold range as text: `10` (alert above 10), `10:` (below 10), \
`~:10`, `10:20` (outside), `@10:20` (inside); a plain number is taken as its text |
| text | text; a number or true/false is taken as its text |
| name | text of 1..{MAX_NAME} characters without control characters |
| host name | a name without `/` or whitespace |
| A or list | one value or a list of them (`notify: ops` is `notify: [ops]`) |

Check options and plugin arguments may use macros, expanded before each run: `$HOSTNAME$`,
`$HOSTADDRESS$`, `$HOSTDISPLAYNAME$`, `$SERVICEDESC$`, `$SERVICEDISPLAYNAME$`, `$ARG1$`..., a
`vars:` entry as `$_HOSTNAME$` / `$_SERVICENAME$` (upper case, as in Nagios) or as `$name$`
(the service's, else the host's); `$$` is a literal `$`.

## Limits

A configuration is refused, with a message naming the limit, when

- a file is larger than {MAX_FILE_BYTES // MIB} MiB, or all files of a directory together \
larger than {MAX_CONFIG_BYTES // MIB} MiB (checked before anything is read);
- it holds more than {MAX_NODES:,} YAML values (mappings, lists and scalars, all files \
together; 50,000 services, each written out, are about 700,000);
- aliases (`*name`, `<<: *name`) copy more than {MAX_ALIAS_VALUES:,} values, or nest deeper \
than {MAX_DEPTH} levels;
- a duration is longer than the bound of its key (shown with its type);
- it defines no host: `augenmass run`, `augenmass check-config` and a reload refuse it, since \
it would stop all monitoring, unless that is meant (`--allow-empty`).
"""


class _Markdown:
    """Walks the schema (with our markers) and writes key tables."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.defs: dict[str, Any] = schema[_DEFS]
        self.lines: list[str] = []
        self.nested: dict[str, str] = {}  # nested model def -> its anchor, once written

    def out(self, *lines: str) -> None:
        self.lines.extend(lines)

    # ---- types and defaults ----------------------------------------------------------------
    def type_of(self, value: dict[str, Any], links: dict[str, str]) -> str:
        kind = value.get(_KIND)
        if kind is not None and kind != "list":
            return str(kind)
        if "$ref" in value:
            name = value["$ref"].rsplit("/", 1)[1]
            return f"[{_LINK_TEXT.get(name, 'mapping')}](#{links.get(name, name)})"
        if "const" in value:
            return f"`{value['const']}`"
        if "enum" in value:
            shown = (v if isinstance(v, str) else json.dumps(v) for v in value["enum"])
            return " \\| ".join(dict.fromkeys(f"`{v}`" for v in shown))
        for key in ("anyOf", "oneOf"):
            if key in value:
                options = [v for v in value[key] if v.get("type") != "null"]
                if kind == "list":
                    return f"{self.type_of(options[0], links)} or list"
                return " or ".join(dict.fromkeys(self.type_of(v, links) for v in options))
        kinds = value.get("type")
        if kinds == "array":
            return f"list of {self.type_of(value.get('items', {}), links)}"
        if kinds == "object":
            inner = value.get("additionalProperties")
            if isinstance(inner, dict):
                return f"mapping of name → {self.type_of(inner, links)}"
            return "mapping"
        plain = {"string": "text", "integer": "integer", "number": "number", "boolean": "bool"}
        text = plain.get(str(kinds), str(kinds) if kinds else "any")
        low, high = value.get("minimum"), value.get("maximum")
        if value.get("exclusiveMinimum") is not None:
            text += f" > {value['exclusiveMinimum']}" + ("" if high is None else f", ≤ {high}")
        elif low is not None or high is not None:
            text += f" {'' if low is None else low}..{'' if high is None else high}"
        return text

    @staticmethod
    def default_of(value: dict[str, Any], required: bool) -> str:
        if required:
            return "**required**"
        if "default" not in value:
            return ""
        default = value["default"]
        if default is None:
            return "not set"
        if isinstance(default, dict) and any(ref != "check" for ref in _refs(value)):
            return ""  # a nested mapping: its keys show their own defaults
        if _kind(value) == "state" and isinstance(default, int):
            return f"`{_STATE_NAMES[default]}`"
        if _is_duration(value) and isinstance(default, int | float):
            return f"`{format_duration(default)}`"
        if isinstance(default, str):
            return (
                f'`"{default}"`' if default == "" or default != default.strip() else f"`{default}`"
            )
        return f"`{json.dumps(default, ensure_ascii=False)}`"

    # ---- tables ------------------------------------------------------------------------------
    def table(
        self,
        definition: dict[str, Any],
        path: str,
        skip: tuple[str, ...] = (),
        links: dict[str, str] | None = None,
    ) -> list[tuple[str, str]]:
        """A key table; returns the nested model defs it links to (name, path) still to write."""
        links = dict(self.nested) if links is None else links
        todo = []
        required = set(definition.get("required", []))
        properties = definition.get("properties", {})
        for key, value in properties.items():
            if key in skip:
                continue
            for name in _refs(value):
                if name not in links and name in self.defs and _is_model(self.defs[name]):
                    links[name] = _anchor(f"{path}.{key}")
                    todo.append((name, f"{path}.{key}"))
        self.out("| Key | Type | Default | Meaning |", "|---|---|---|---|")
        for key, value in properties.items():
            if key in skip:
                continue
            meaning = _cell(value.get("description", ""))
            self.out(
                f"| `{key}` | {self.type_of(value, links)} | "
                f"{self.default_of(value, key in required)} | {meaning} |"
            )
        self.out("")
        self.nested.update(links)
        return todo

    def nested_models(self, todo: list[tuple[str, str]], level: int) -> None:
        while todo:
            name, path = todo.pop(0)
            definition = self.defs[name]
            self.out(f'<a id="{_anchor(path)}"></a>', "", f"{'#' * level} `{path}`", "")
            if definition.get("description"):
                self.out(definition["description"], "")
            todo.extend(self.table(definition, path))

    # ---- document ----------------------------------------------------------------------------
    def render(self) -> str:
        self.out(*_INTRO.splitlines(), "")
        self.out("## Sections", "", "| Section | Meaning |", "|---|---|")
        for name, value in self.schema["properties"].items():
            self.out(f"| [`{name}`](#{_anchor(name)}) | {_cell(value.get('description', ''))} |")
        self.out("")
        entries = {
            "settings": "settings",
            "defaults": "defaults",
            "notifications": "notifications",
            "contacts": "contact",
            "contact_groups": "contact-group",
            "templates": "template",
            "hosts": "host",
            "services": "service",
            "notification_rules": "notification-rule",
            "agents": "agent",
            "cluster": "cluster",
        }
        for section in self.schema["properties"]:
            self.section(section, entries.get(section))
        self.checks()
        return "\n".join(self.lines).rstrip("\n") + "\n"

    def section(self, section: str, entry: str | None) -> None:
        self.out(f'<a id="{_anchor(section)}"></a>', "", f"## `{section}`", "")
        self.out(SECTION_TEXT[section], "")
        extra = SECTION_NOTES.get(section)
        if extra:
            self.out(extra, "")
        if section in SECTION_EXAMPLES:
            self.out("```yaml", SECTION_EXAMPLES[section], "```", "")
        if entry is None:
            self.timeperiods()
            return
        definition = self.defs[entry]
        if "anyOf" in definition:  # contact group: members, or {members: [...]}
            definition = definition["anyOf"][0]
        if definition.get("description") and entry not in ("settings", "defaults"):
            self.out(definition["description"], "")
        path = f"{section}.NAME" if section in _NAMED_SECTIONS else section
        if section in ("services", "notification_rules"):
            path = f"{section}[]"
        skip: tuple[str, ...] = ()
        if entry in ("template", "host", "service"):
            skip = tuple(PolicyModel.model_fields)
            self.out(
                "Besides the keys below, every policy key of [`defaults`](#defaults) "
                "(`check_interval`, `notify`, `escalations` ...) may be set here.",
                "",
            )
        todo = self.table(definition, path, skip=skip, links={"check": "check-types"})
        self.nested_models(todo, 3)

    def timeperiods(self) -> None:
        self.out(
            "| Key | Type | Meaning |",
            "|---|---|---|",
            "| `monday` .. `sunday` | text or list | Time ranges on that day, "
            "`HH:MM-HH:MM` comma-separated (`24:00` ends the day). |",
            "| `monday-friday` (any two days) | text or list | The ranges on each day from the "
            "first to the second, wrapping past sunday (`saturday-monday`). |",
            "| `dates` | list of dates, or mapping date → ranges | Days (`YYYY-MM-DD`) in the "
            "period: a list means the whole day; a mapping gives their ranges, which replace "
            "that weekday's. |",
            "| `include` | name or list | Other periods whose times are added. |",
            "| `exclude` | name or list | Other periods whose times are taken out "
            "(e.g. holidays). |",
            "",
            "The times are in `settings.timezone`. Day keys are written in lower case.",
            "",
        )

    def checks(self) -> None:
        kinds = self.defs["check"]["properties"]["type"]["enum"]
        self.out('<a id="check-types"></a>', "", "## Check types", "")
        self.out(
            "`check:` of a host, service or template is a mapping whose `type` picks one of "
            "these; its other keys are that type's options. A service's `check:` replaces a "
            "template's as a whole. Every type accepts:",
            "",
        )
        self.table(self.defs[f"check-{kinds[0]}"], "check", skip=_not_common(self.defs, kinds))
        self.out("| Type | What it does |", "|---|---|")
        for kind in kinds:
            self.out(f"| [`{kind}`](#{_anchor('check-' + kind)}) | {SUMMARIES.get(kind, '')} |")
        self.out("")
        self.out(
            "Network checks (tcp, http, tls, dns, icmp, smtp, imap, pop3, sip and the SNMP "
            "types) refuse link-local addresses (169.254.0.0/16, fe80::/10), cloud metadata "
            "endpoints (169.254.169.254, fd00:ec2::254, 100.100.100.200, 168.63.129.16, "
            "192.0.0.192) and 0.0.0.0 / ::, judged on the resolved address before any packet is "
            "sent: the result is CRITICAL with the reason. A device that really has such an "
            "address needs `allow_link_local: true` in its check (SECURITY.md).",
            "",
        )
        for kind in kinds:
            definition = self.defs[f"check-{kind}"]
            self.out(f'<a id="{_anchor("check-" + kind)}"></a>', "", f"### `{kind}`", "")
            if definition.get("description"):
                self.out(definition["description"], "")
            if kind in EXAMPLES:
                self.out("```yaml", f"check: {EXAMPLES[kind]}", "```", "")
            self.table(definition, f"check-{kind}", skip=("type", *_COMMON), links={})


_NAMED_SECTIONS = ("contacts", "contact_groups", "templates", "hosts", "agents")
SECTION_NOTES = {
    "defaults": "Templates, hosts and services accept the same keys: the object's own value "
    "wins over its templates' (left-most `use:` first), those over `defaults:`, and those over "
    "the built-in default shown below.",
    "contact_groups": "A group is written as its members (`[a, b]`, or one name) or as "
    "`{members: [...]}`.",
    "templates": "A template takes every host and service key below; a host or service using "
    "it gets each key it does not set itself (`vars:` merge key by key).",
}


def _not_common(defs: dict[str, Any], kinds: list[str]) -> tuple[str, ...]:
    properties = defs[f"check-{kinds[0]}"]["properties"]
    return tuple(k for k in properties if k not in _COMMON)


def _refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if "$ref" in value:
            yield value["$ref"].rsplit("/", 1)[1]
        for item in value.values():
            yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


def _is_model(definition: dict[str, Any]) -> bool:
    return definition.get("type") == "object" and "properties" in definition


def _kind(value: dict[str, Any]) -> str:
    """Our marker of the value, also inside `X | None`."""
    for item in [value, *value.get("anyOf", [])]:
        if _KIND in item:
            return str(item[_KIND])
    return ""


def _is_duration(value: dict[str, Any]) -> bool:
    return "duration" in _kind(value)


def _anchor(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def markdown() -> str:
    return _Markdown(build_schema()).render()
