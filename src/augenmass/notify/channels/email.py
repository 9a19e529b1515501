"""E-mail over SMTP (aiosmtplib): plain, STARTTLS or SMTPS, optional auth. Config: a contact's
`email:` and the `notifications.smtp:` section.

Threading: every message has a Message-ID of its content (its outbox rows), a recovery carries
In-Reply-To/References of the problem's Message-ID, and a regrouped resend those of the earlier
attempt, so mail clients show them together.
Headers are set only from values that went through `one_line`: a CR/LF in check output can
never start a new header.
"""

from __future__ import annotations

import asyncio
import email.policy
import ipaddress
import re
import ssl
from collections.abc import Awaitable, Callable, Iterable
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from augenmass.core.fields import PositiveTimeout, Text
from augenmass.core.messages import Message, Rendered, SendError
from augenmass.core.plan import Contact, NotificationSettings, Plan, SmtpSettings
from augenmass.notify.channels.base import ChannelModel, KeyPath, SettingsReport
from augenmass.notify.renderthread import run_cpu

EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)*")
GOODBYE_TIMEOUT = 5.0  # seconds for the relay to answer QUIT after a mail


def _address_problem(value: str) -> str | None:
    if EMAIL.fullmatch(value):
        return None
    return f"invalid e-mail address {value!r}: expected local@domain"


class EmailContactKeys(ChannelModel):
    email: str = Field(
        default="",
        description="E-mail address notifications are sent to (needs notifications.smtp).",
    )

    @field_validator("email")
    @classmethod
    def _email_shape(cls, value: str) -> str:
        problem = _address_problem(value) if value else None
        if problem:
            raise ValueError(problem)
        return value


class SmtpModel(ChannelModel):
    host: Text = Field(default="127.0.0.1", description="The mail relay.")
    port: int = Field(
        default=25,
        ge=1,
        le=65535,
        description="Its port (587 with starttls and 465 with tls, usually).",
    )
    security: Literal["none", "starttls", "tls"] = Field(
        default="none",
        description="none, starttls (upgrade after connecting) or tls (TLS from the start). "
        "With none and a password the login crosses the network in clear text: check-config "
        "and the server warn (not for a relay on loopback), and mail is still sent, as a LAN "
        "smarthost may need it.",
    )
    username: Text = Field(
        default="", description="Login user; empty: no login. ${ENV_VAR} is replaced."
    )
    password: str = Field(
        default="", description="Login password (a secret); ${ENV_VAR} is replaced."
    )
    password_file: str = Field(
        default="", description="File holding the password, instead of `password`."
    )
    from_address: str = Field(
        default="augenmass@localhost", alias="from", description="Sender address of the messages."
    )
    timeout: PositiveTimeout = Field(default=30.0, description="Time limit of one delivery.")

    @field_validator("from_address")
    @classmethod
    def _address(cls, value: str) -> str:
        problem = _address_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class EmailSettingsKeys(ChannelModel):
    smtp: SmtpModel | None = Field(
        default=None, description="The mail relay; without it e-mail addresses get nothing."
    )


def smtp_settings(model: SmtpModel, report: SettingsReport) -> SmtpSettings:
    password = report.secret(model.password, "smtp", "password")
    if model.password_file:
        if model.password:
            report.problem("give either password or password_file, not both", "smtp")
        try:
            password = Path(model.password_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            report.problem(f"cannot read: {exc.strerror}", "smtp", "password_file")
    return SmtpSettings(
        host=model.host,
        port=model.port,
        security=model.security,
        username=report.secret(model.username, "smtp", "username"),
        password=password,
        from_address=model.from_address,
        timeout=model.timeout,
    )


def clear_text_auth(settings: SmtpSettings | None) -> str | None:
    """A warning when the relay is to get the login over a connection without TLS.

    Warned, not refused: a smarthost on a trusted LAN may offer AUTH on port 25 without TLS,
    and mail must still go out. A relay on the loopback interface is no exposure."""
    if settings is None or settings.security != "none" or not settings.password:
        return None
    host = settings.host.strip().strip("[]").lower()
    if host == "localhost":
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    return (
        f"notifications.smtp: the login to {settings.host}:{settings.port} is sent without "
        "TLS (security: none): the password crosses the network in clear text; set security: "
        "starttls or tls"
    )


def build_email(
    message: Message, rendered: Rendered, contact: Contact, settings: SmtpSettings
) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = settings.from_address
    mail["To"] = contact.email
    from augenmass.notify.message import one_line  # jinja2 behind it: only when mailing

    mail["Subject"] = one_line(rendered.subject)
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    mail["Message-ID"] = message.message_id
    if message.references:
        mail["In-Reply-To"] = message.references[-1]
        mail["References"] = " ".join(message.references)
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(rendered.text)
    if rendered.html:
        mail.add_alternative(rendered.html, subtype="html")
    return mail


class EmailChannel:
    ContactKeys: ClassVar[type[ChannelModel]] = EmailContactKeys
    SettingsKeys: ClassVar[type[ChannelModel]] = EmailSettingsKeys

    @classmethod
    def contact_fields(cls, keys: Any) -> dict[str, Any]:
        assert isinstance(keys, EmailContactKeys)
        return {"email": keys.email}

    @classmethod
    def settings_fields(cls, keys: Any, report: SettingsReport) -> dict[str, Any]:
        assert isinstance(keys, EmailSettingsKeys)
        return {"smtp": smtp_settings(keys.smtp, report) if keys.smtp is not None else None}

    @classmethod
    def contact_problems(
        cls, contact: Contact, settings: NotificationSettings
    ) -> Iterable[tuple[KeyPath, str]]:
        return ()

    @classmethod
    def outbox_names(cls, contact: Contact, settings: NotificationSettings) -> list[str]:
        return ["email"] if contact.email and settings.smtp is not None else []

    @classmethod
    def for_outbox(cls, plan: Plan, name: str) -> EmailChannel | None:
        smtp = plan.notifications.smtp
        return cls(smtp) if name == "email" and smtp is not None else None

    def __init__(self, settings: SmtpSettings, tls_context: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        self.tls_context = tls_context

    @staticmethod
    async def _goodbye(client: Any) -> None:
        try:
            async with asyncio.timeout(GOODBYE_TIMEOUT):
                await client.quit()
        except Exception:  # the mail is taken or refused already; a goodbye is courtesy
            pass
        finally:
            client.close()

    async def send(self, message: Message, rendered: Rendered, contact: Contact) -> None:
        await self.send_then(message, rendered, contact, None)

    async def send_then(
        self,
        message: Message,
        rendered: Rendered,
        contact: Contact,
        confirmed: Callable[[], Awaitable[None]] | None,
    ) -> None:
        """Send; once the relay took the message (its 250), await `confirmed` (the dispatcher's
        "sent" mark) and only then say QUIT: waiting for QUIT's answer first would widen the
        window in which a kill -9 makes the next server send the mail again."""
        s = self.settings

        def encode() -> bytes:
            # the email package is slow on big bodies: encode in the notification worker thread
            return build_email(message, rendered, contact, s).as_bytes(policy=email.policy.SMTP)

        raw = await run_cpu(encode)
        # Imported here: the config reads this module for its keys, and loading a config
        # should not pay for the SMTP client.
        import aiosmtplib

        client = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            use_tls=s.security == "tls",
            start_tls=s.security == "starttls",
            username=s.username or None,
            password=s.password or None,
            timeout=s.timeout,
            tls_context=self.tls_context,
        )
        try:
            await client.connect()
            errors, _ = await client.sendmail(s.from_address, [contact.email], raw)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            await self._goodbye(client)
            codes = [r.code for r in exc.recipients]
            retry = all(c < 500 for c in codes)
            raise SendError(f"recipient refused ({codes})", retry=retry) from None
        except aiosmtplib.SMTPResponseException as exc:
            await self._goodbye(client)
            raise SendError(f"SMTP {exc.code}: {exc.message}", retry=exc.code < 500) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            client.close()
            raise SendError(f"SMTP: {type(exc).__name__}: {exc}", retry=True) from None
        except BaseException:
            client.close()
            raise
        try:
            if errors:  # a single recipient: any error means it was refused
                codes = [code for code, _ in errors.values()]
                retry = all(c < 500 for c in codes)
                raise SendError(f"recipient refused ({codes})", retry=retry)
            if confirmed is not None:
                await confirmed()
        finally:
            await self._goodbye(client)
