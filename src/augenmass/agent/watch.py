"""Watching the watcher: the agent asks the server's `GET /api/health` and, when it has had no
answer for `server_silence`, alerts on its own channel (agent/alerts.py) once, and once more
when the server answers again.

The server watches its agents (an agent host goes DOWN when its results stop); this is the
other direction, so a server and one agent elsewhere cover "the monitoring itself is down".
The state (since when, and who got the alert) is kept in DATA/watch.json: an agent restarted
during an outage neither alerts twice nor forgets to say that the server is back.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from augenmass.agent.link import Link
from augenmass.core.clock import Clock
from augenmass.core.messages import SendError
from augenmass.core.private import write_private

if TYPE_CHECKING:  # the channels (pydantic, the SMTP client) load only with --alert-config
    from augenmass.agent.alerts import Alerts, Target

log = logging.getLogger("augenmass.agent.watch")

STATE_FILE = "watch.json"


@dataclass
class WatchState:
    server: str
    silent_since: float | None = None  # wall time of the first unanswered probe
    down_sent: dict[str, str] = field(default_factory=dict)  # target id -> its alert's Message-ID
    error: str = ""  # why the last probe went unanswered


class ServerWatch:
    def __init__(
        self, link: Link, alerts: Alerts, data_dir: Path, clock: Clock, agent: str
    ) -> None:
        self.link = link
        self.alerts = alerts
        self.path = data_dir / STATE_FILE
        self.clock = clock
        self.agent = agent
        self.state = self._load()
        # probe a few times within the silence, so the alert comes close to it
        self.every = max(0.5, min(30.0, alerts.silence / 5))
        self.timeout = max(1.0, min(10.0, alerts.silence / 3))

    # --- state -----------------------------------------------------------------------------
    def _load(self) -> WatchState:
        fresh = WatchState(self.link.server)
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return fresh
        except (OSError, ValueError) as exc:
            log.warning("watch state unreadable; starting afresh", extra={"error": str(exc)})
            return fresh
        if not isinstance(raw, dict) or raw.get("server") != self.link.server:
            return fresh  # another server: its outage is not this one's
        sent = raw.get("down_sent") or {}
        since = raw.get("silent_since")
        if not sent or not isinstance(sent, dict) or not isinstance(since, int | float):
            # No alert went out: count the silence from this start, not from before the agent
            # was stopped (the server may well have answered meanwhile).
            return fresh
        return WatchState(self.link.server, float(since), dict(sent), str(raw.get("error") or ""))

    def _save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        write_private(tmp, json.dumps(self.state.__dict__, separators=(",", ":")))
        os.replace(tmp, self.path)  # whole or not at all: a torn file could mean a second alert

    # --- the loop --------------------------------------------------------------------------
    async def run(self) -> None:
        log.info(
            "watching the server",
            extra={
                "silence": self.alerts.silence,
                "targets": ", ".join(t.shown for t in self.alerts.targets),
            },
        )
        while True:
            status, body, _ = await self.link.request("GET", "/api/health", timeout=self.timeout)
            if status == 200:
                await self.answered()
            else:
                detail = body.get("detail") if isinstance(body, dict) else None
                await self.unanswered(str(detail or f"HTTP {status}")[:300])
            await self.clock.sleep(self.every)

    async def unanswered(self, error: str) -> None:
        now = self.clock.now()
        if self.state.silent_since is None:
            self.state.silent_since = now
            self.state.error = error
            log.warning("the server does not answer", extra={"error": error})
            self._save()
        if now - self.state.silent_since < self.alerts.silence or all(
            t.id in self.state.down_sent for t in self.alerts.targets
        ):
            return
        since = self.state.silent_since
        subject = f"augenmass server {self.link.server} not answering since {self._when(since)}"
        text = (
            f"The augenmass agent {self.agent} ({socket.gethostname()}) has had no answer from "
            f"{self.link.server}/api/health since {self._when(since)} ({span(now - since)}).\n"
            f"Last error: {error}\n\n"
            "While the server is away, nobody hears of the problems it watches. The agent keeps "
            "running its checks and keeps their results until the server takes them; it tells "
            "you here when the server answers again.\n"
        )
        for target in self.alerts.targets:
            if target.id not in self.state.down_sent:
                sent = await self._send(target, subject, text, "")
                if sent:
                    self.state.down_sent[target.id] = sent
                    self._save()  # at once: a crash now must not mean a second alert

    async def answered(self) -> None:
        since = self.state.silent_since
        if since is None:
            return
        if not self.state.down_sent:
            log.info("the server answers again (no alert was due)")
            self.state = WatchState(self.link.server)
            self._save()
            return
        now = self.clock.now()
        subject = f"augenmass server {self.link.server} answering again after {span(now - since)}"
        text = (
            f"{self.link.server} answers again ({self._when(now)}); it did not answer from "
            f"{self._when(since)}, for {span(now - since)}.\n"
            f"The agent {self.agent} sends the results it kept meanwhile.\n"
        )
        by_id = {t.id: t for t in self.alerts.targets}
        for target_id, thread in list(self.state.down_sent.items()):
            target = by_id.get(target_id)
            # a target gone from the alert file since cannot be told: forget it
            if target is None or await self._send(target, subject, text, thread):
                del self.state.down_sent[target_id]
                self._save()
        if not self.state.down_sent:
            log.info("the server answers again", extra={"silent_for": span(now - since)})
            self.state = WatchState(self.link.server)
            self._save()

    async def _send(self, target: Target, subject: str, text: str, thread: str) -> str:
        """The Message-ID sent, or "" when it failed (tried again on the next probe)."""
        try:
            sent = await self.alerts.send(target, subject, text, thread)
        except SendError as exc:
            log.warning("alert not delivered", extra={"to": target.shown, "error": str(exc)})
            return ""
        except Exception as exc:  # a broken channel must not stop the watch
            log.error("alert failed", extra={"to": target.shown, "error": type(exc).__name__})
            return ""
        log.info("alert sent", extra={"to": target.shown, "subject": subject})
        return sent

    def _when(self, ts: float) -> str:
        tz: Any = self.alerts.tz
        at = datetime.fromtimestamp(ts, tz) if tz else datetime.fromtimestamp(ts).astimezone()
        today = datetime.fromtimestamp(self.clock.now(), at.tzinfo).date()
        return at.strftime("%H:%M %Z" if at.date() == today else "%Y-%m-%d %H:%M %Z")


def span(seconds: float) -> str:
    """12 min, 2 h 5 min, 3 d 4 h: how long, as a person says it."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    minutes, hours, days = s // 60, s // 3600, s // 86400
    if s < 3600:
        return f"{minutes} min"
    if s < 86400:
        rest = minutes % 60
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    rest = hours % 24
    return f"{days} d {rest} h" if rest else f"{days} d"
