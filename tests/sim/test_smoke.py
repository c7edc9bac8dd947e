"""The sim starts over TLS and trusts nobody without its CA."""

from __future__ import annotations

import httpx
import pytest

from sim.tls import client_context
from tests.simharness import RunningSim


def test_tls_needs_the_sims_ca(sim: RunningSim) -> None:
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{sim.origin}/_sim/health", verify=True)
    with httpx.Client(verify=client_context(sim.ca_path)) as client:
        # Any HTTP answer proves the handshake succeeded against the sim's own CA.
        assert client.get(f"{sim.origin}/nowhere").status_code == 404
