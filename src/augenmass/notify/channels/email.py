"""E-mail over SMTP (aiosmtplib): plain, STARTTLS or SMTPS, optional auth.

Threading: every message has a stable Message-ID (from its oldest outbox row), and a recovery
carries In-Reply-To/References of the problem's Message-ID, so mail clients show them together.
Headers are set only from values that went through `one_line`: a CR/LF in check output can
never start a new header.
"""

from __future__ import annotations

import email.policy
import ssl
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from augenmass.core.plan import Contact, SmtpSettings
from augenmass.notify.items import Message, Rendered, SendError
from augenmass.notify.message import one_line
from augenmass.notify.renderthread import run_cpu


def build_email(
    message: Message, rendered: Rendered, contact: Contact, settings: SmtpSettings
) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = settings.from_address
    mail["To"] = contact.email
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
    def __init__(self, settings: SmtpSettings, tls_context: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        self.tls_context = tls_context

    async def send(self, message: Message, rendered: Rendered, contact: Contact) -> None:
        s = self.settings

        def encode() -> bytes:
            # the email package is slow on big bodies: encode in the notification worker thread
            return build_email(message, rendered, contact, s).as_bytes(policy=email.policy.SMTP)

        raw = await run_cpu(encode)
        try:
            errors, _ = await aiosmtplib.send(
                raw,
                sender=s.from_address,
                recipients=[contact.email],
                hostname=s.host,
                port=s.port,
                use_tls=s.security == "tls",
                start_tls=s.security == "starttls",
                username=s.username or None,
                password=s.password or None,
                timeout=s.timeout,
                tls_context=self.tls_context,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            retry = all(c < 500 for c in codes)
            raise SendError(f"recipient refused ({codes})", retry=retry) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise SendError(f"SMTP {exc.code}: {exc.message}", retry=exc.code < 500) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise SendError(f"SMTP: {type(exc).__name__}: {exc}", retry=True) from None
        if errors:  # a single recipient: any error means it was refused
            codes = [code for code, _ in errors.values()]
            raise SendError(f"recipient refused ({codes})", retry=all(c < 500 for c in codes))
