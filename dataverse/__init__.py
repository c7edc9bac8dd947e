"""Async clients for the Dataverse Web API, Microsoft Graph and Entra ID tokens.

`DataverseClient` and `GraphClient` return the typed models of `dataverse.models`; every
failure is a `dataverse.errors.DataverseError`. `EntraApp` (in `dataverse.auth`) provides
their `httpx.Auth`. This package imports nothing else of the project.
"""

from __future__ import annotations

from dataverse._http import RetryPolicy
from dataverse._transport import network_transport
from dataverse.auth import (
    GRAPH_SCOPE,
    AccessToken,
    BearerAuth,
    ClientCredentials,
    EntraApp,
    EntraApps,
    OnBehalfOf,
    TokenProvider,
    dataverse_scope,
)
from dataverse.batch import BatchRequest, BatchResult, ChangeSet
from dataverse.client import DataverseClient, Page
from dataverse.graph import GRAPH_V1, GraphClient
from dataverse.odata import Expand, Query, asc, col, desc

__all__ = [
    "GRAPH_SCOPE",
    "GRAPH_V1",
    "AccessToken",
    "BatchRequest",
    "BatchResult",
    "BearerAuth",
    "ChangeSet",
    "ClientCredentials",
    "DataverseClient",
    "EntraApp",
    "EntraApps",
    "Expand",
    "GraphClient",
    "OnBehalfOf",
    "Page",
    "Query",
    "RetryPolicy",
    "TokenProvider",
    "asc",
    "col",
    "dataverse_scope",
    "desc",
    "network_transport",
]
