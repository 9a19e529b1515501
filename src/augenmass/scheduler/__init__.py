"""Scheduling of active checks and forced freshness checks."""

from __future__ import annotations

from augenmass.scheduler.jobs import JobTemplate
from augenmass.scheduler.scheduler import Scheduler
from augenmass.scheduler.stats import SchedulerStats

__all__ = ["JobTemplate", "Scheduler", "SchedulerStats"]
