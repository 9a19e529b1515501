"""The `cluster:` section: check workers over NATS JetStream and the active/standby lease.

Without it (or without `nats:`) the server runs every check itself, as on one box. The lease is
used whenever the store is PostgreSQL: of the servers sharing it, one is active (schedules,
evaluates, notifies), the others stand by and take over when the active one stops renewing.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, field_validator, model_validator

from augenmass.config.schema import Strict
from augenmass.core.fields import Delay, Name
from augenmass.core.plan import ClusterSettings, LeaseSettings

_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _token(value: str) -> str:
    # one token of a NATS subject, and a part of stream and consumer names: no dots, spaces,
    # wildcards; the same name on every worker and server
    if not _TOKEN.fullmatch(value):
        raise ValueError("expected 1 to 64 letters, digits, '-' or '_' (it names NATS subjects)")
    return value


Token = Annotated[Name, AfterValidator(_token)]


class NatsModel(Strict):
    url: str = Field(
        description=(
            "NATS server with JetStream, e.g. nats://127.0.0.1:4222 (a user and password in it"
            " are treated as a secret). Workers (`augenmass worker --nats URL`) take check jobs"
            " from it; zones without a worker are checked by the server itself."
        ),
    )
    prefix: Token = Field(
        default="augenmass",
        description="Start of the streams' and subjects' names, so several installations can"
        " share one NATS server.",
    )
    ack_wait: Delay = Field(
        default=10.0,
        ge=1.0,
        le=300.0,
        description=(
            "A job whose worker died (no answer, no in-progress signal for this long) is handed"
            " to another worker. Workers signal every third of it while a check runs, so a long"
            " check is not handed out twice."
        ),
    )

    @field_validator("url")
    @classmethod
    def _nats_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("nats", "tls") or not parts.hostname:
            raise ValueError("expected nats://HOST:PORT or tls://HOST:PORT")
        return value


class LeaseModel(Strict):
    ttl: Delay = Field(
        default=10.0,
        description=(
            "A standby server takes over when the active one has not renewed its lease for"
            " this long (its process died, its machine or its link to PostgreSQL is gone)."
        ),
    )
    renew: Delay = Field(
        default=3.0,
        description="How often the active server renews its lease; at most a third of `ttl`.",
    )

    @model_validator(mode="after")
    def _renew_often(self) -> LeaseModel:
        if self.renew <= 0 or self.renew * 3 > self.ttl:
            raise ValueError("lease.renew must be more than 0 and at most a third of lease.ttl")
        return self


class ClusterModel(Strict):
    nats: NatsModel | None = Field(
        default=None, description="Check workers over NATS JetStream; not set: no workers."
    )
    zones: list[Token] = Field(
        default_factory=list,
        description=(
            "Zones whose checks workers of that zone run (`augenmass worker --zone NAME`); a"
            " host joins one with `zone: NAME`. Hosts without a zone are in the default zone,"
            " whose checks workers started without --zone take."
        ),
    )
    lease: LeaseModel = Field(
        default=LeaseModel(),
        description="The active server's lease in the PostgreSQL store (active/standby).",
    )

    def to_settings(self) -> ClusterSettings:
        return ClusterSettings(
            nats_url=self.nats.url if self.nats else None,
            prefix=self.nats.prefix if self.nats else "augenmass",
            ack_wait=self.nats.ack_wait if self.nats else 10.0,
            zones=tuple(dict.fromkeys(self.zones)),
            lease=LeaseSettings(ttl=self.lease.ttl, renew=self.lease.renew),
        )
