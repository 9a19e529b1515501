"""Fixtures for the runner tests."""

from __future__ import annotations

import pytest
from runner_helpers import make_runner

from augenmass.runner import Runner


@pytest.fixture
def runner() -> Runner:
    return make_runner()
