"""What the incident card's buttons need of the monitor: the `IncidentActions` seam.

The dialogs may not import `monitor` (see the layout in the architecture notes), so they
declare here the few engine methods they call; `monitor.IncidentEngine` satisfies the
protocol structurally and `bot` hands the running engines to `Services.incidents`.
The errors these methods raise (`store.UnknownIncident`, `store.InvalidSilence`) live in
`store` for the same reason.
"""

from __future__ import annotations

import uuid
from typing import Protocol

from cards.common import Card
from store import Person


class IncidentCardResult(Protocol):
    """What a button click answers with: the incident card as it is now."""

    @property
    def card(self) -> Card: ...


class IncidentActions(Protocol):
    """The incident engine of one environment, as far as the card's buttons use it.

    Every method raises `store.UnknownIncident` for an id the engine does not know.
    """

    async def card(self, incident_id: uuid.UUID) -> IncidentCardResult:
        """The incident's current card (Open status, Re-test)."""
        ...

    async def acknowledge(self, incident_id: uuid.UUID, *, by: Person) -> IncidentCardResult:
        """Acknowledge the incident and every open incident sharing its card."""
        ...

    async def silence(
        self, incident_id: uuid.UUID, *, hours: float, reason: str, by: Person
    ) -> IncidentCardResult:
        """Silence what the card is about; raises `store.InvalidSilence` for no reason or
        a duration out of range."""
        ...

    async def retest(self, incident_id: uuid.UUID, *, by: Person | None = None) -> int:
        """Queue Test & Enable for the incident's open mailboxes (as `by`); how many."""
        ...
