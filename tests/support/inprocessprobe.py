"""pytest plugin (pyproject addopts): `augenmass probe` runs in-process in every test unless
the test asks for the resident probe server (tests/e2e/test_probe_resident.py), so no test
run leaves a server behind in the user's runtime directory."""

import os

os.environ["AUGENMASS_PROBE_RESIDENT"] = "0"
