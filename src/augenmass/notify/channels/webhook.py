"""Webhook: a JSON POST signed with HMAC-SHA256.

The receiver recomputes `hmac_sha256(secret, timestamp + "." + body)` and compares it with the
`X-Augenmass-Signature: sha256=<hex>` header; the timestamp (header `X-Augenmass-Timestamp`)
lets it refuse replays. A 2xx is delivered; 408, 429, 5xx and no connection are retried;
any other 4xx is permanent (the request itself is wrong, sending it again will not help).
Config: `notifications.webhooks: {name: {url, secret}}` and a contact's `webhooks: [name]`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from typing import Any, ClassVar

from pydantic import Field, field_validator

from augenmass.core.clock import Clock, SystemClock
from augenmass.core.fields import Name, NameList
from augenmass.core.messages import Message, Rendered, SendError, data_time
from augenmass.core.plan import Contact, NotificationSettings, Plan, WebhookTarget
from augenmass.core.values import state_name
from augenmass.notify.channels.base import ChannelModel, KeyPath, SettingsReport
from augenmass.notify.message import entry_url

SIGNATURE_HEADER = "X-Augenmass-Signature"
TIMESTAMP_HEADER = "X-Augenmass-Timestamp"


class WebhookModel(ChannelModel):
    url: str = Field(
        description="http(s) URL the notification is POSTed to as JSON; ${ENV_VAR} is replaced."
    )
    secret: str = Field(
        default="",
        description=(
            "Key of an HMAC-SHA256 signature header over the body; ${ENV_VAR} is replaced."
        ),
    )

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value


class WebhookContactKeys(ChannelModel):
    webhooks: NameList = Field(default=[], description="Names of notifications.webhooks to call.")


class WebhookSettingsKeys(ChannelModel):
    webhooks: dict[Name, WebhookModel] = Field(
        default={}, description="Named webhook targets; contacts list them under `webhooks`."
    )


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def payload(message: Message, rendered: Rendered, base_url: str | None = None) -> dict[str, Any]:
    return {
        "id": message.message_id,
        "contact": message.contact,
        "subject": rendered.subject,
        "text": rendered.text,
        "notifications": [
            {
                "type": e.type,
                "host": e.host,
                "service": e.service or None,
                "state": state_name(e.state, not e.service),
                "output": e.output,
                "at": e.at,
                "number": e.number,
                "recovered_from": (
                    state_name(e.problem_state, not e.service)
                    if e.problem_state is not None
                    else None
                ),
                "problem_at": e.problem_at,
                # the problem's first failed check and when its state became HARD (or null)
                "began": data_time(e.data, "began"),
                "confirmed": data_time(e.data, "confirmed"),
                "url": entry_url(base_url, e.host, e.service) or None,
                "affected": list(e.affected),
                # a host DOWN: the hosts cut off behind it; its RECOVERY: how many are back
                "behind": list(e.behind),
                "reachable": e.reachable,
                "part_of": list(e.part_of),  # UNREACHABLE: the parents whose outage it is
            }
            for e in message.entries
        ],
    }


class WebhookChannel:
    def __init__(
        self,
        target: WebhookTarget,
        timeout: float = 10.0,
        clock: Clock | None = None,
        base_url: str | None = None,
    ) -> None:
        self.target = target
        self.timeout = timeout
        self.clock: Clock = clock or SystemClock()  # the signed timestamp
        self.base_url = base_url  # settings.base_url: each notification's link

    async def send(self, message: Message, rendered: Rendered, contact: Contact) -> None:
        doc = payload(message, rendered, self.base_url)
        body = json.dumps(doc, ensure_ascii=False).encode()
        stamp = str(int(self.clock.now()))
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: stamp}
        if self.target.secret:
            headers[SIGNATURE_HEADER] = sign(self.target.secret, stamp, body)
        import aiohttp  # here: the config reads this module for its keys, not for sending

        timeout = aiohttp.ClientTimeout(total=self.timeout)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.post(self.target.url, data=body, headers=headers) as resp,
            ):
                status = resp.status
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            # the URL may carry a token: name only the webhook and the kind of error
            reason = f"webhook {self.target.name}: {type(exc).__name__}"
            raise SendError(reason, retry=True) from None
        if 200 <= status < 300:
            return
        retry = status >= 500 or status in (408, 429)
        raise SendError(f"webhook {self.target.name}: HTTP {status}", retry=retry)

    # config: kept after send() so that the delivery code reads as before
    ContactKeys: ClassVar[type[ChannelModel]] = WebhookContactKeys
    SettingsKeys: ClassVar[type[ChannelModel]] = WebhookSettingsKeys

    @classmethod
    def contact_fields(cls, keys: Any) -> dict[str, Any]:
        assert isinstance(keys, WebhookContactKeys)
        return {"webhooks": tuple(keys.webhooks)}

    @classmethod
    def settings_fields(cls, keys: Any, report: SettingsReport) -> dict[str, Any]:
        assert isinstance(keys, WebhookSettingsKeys)
        hooks = {
            name: WebhookTarget(
                name,
                report.secret(hook.url, "webhooks", name, "url"),
                report.secret(hook.secret, "webhooks", name, "secret"),
            )
            for name, hook in keys.webhooks.items()
        }
        return {"webhooks": hooks}

    @classmethod
    def contact_problems(
        cls, contact: Contact, settings: NotificationSettings
    ) -> Iterable[tuple[KeyPath, str]]:
        """Webhook names must exist."""
        for index, name in enumerate(contact.webhooks):
            if name not in settings.webhooks:
                known = ", ".join(sorted(settings.webhooks)) or "none defined"
                message = f"unknown webhook {name!r} (notifications.webhooks: {known})"
                yield ("webhooks", index), message

    @classmethod
    def outbox_names(cls, contact: Contact, settings: NotificationSettings) -> list[str]:
        return [f"webhook:{name}" for name in contact.webhooks if name in settings.webhooks]

    @classmethod
    def for_outbox(cls, plan: Plan, name: str) -> WebhookChannel | None:
        target = plan.notifications.webhooks.get(name.removeprefix("webhook:"))
        if not name.startswith("webhook:") or target is None:
            return None
        return cls(target, base_url=plan.settings.base_url)
