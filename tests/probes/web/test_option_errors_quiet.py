"""An option error names the option and what is wrong, never the value given: a value may be a
password (pydantic's own message quotes every input)."""

from __future__ import annotations

import pytest

from augenmass.probes.base import OptionError
from augenmass.probes.http import HttpProbe
from augenmass.probes.tls import TlsProbe


async def test_option_errors_do_not_quote_values() -> None:
    with pytest.raises(OptionError) as http_error:
        await HttpProbe().run({"url": "http://127.0.0.1/", "password": ["hunter2-pw"]}, 1.0)
    assert str(http_error.value) == "http: password: Input should be a valid string"
    with pytest.raises(OptionError) as tls_error:
        await TlsProbe().run({"host": "127.0.0.1", "port": "hunter2-pw"}, 1.0)
    assert "port:" in str(tls_error.value) and "hunter2-pw" not in str(tls_error.value)
