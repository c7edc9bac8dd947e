"""The Web API's own error messages and codes, as Dataverse words them.

Every failure the face answers is a `sim.errors.DataverseFault`, turned into the body
`{"error": {"code", "message"}}` (reference/dataverse.md §6.1). Sources of the wording:

- "Resource not found for the segment 'x'." 0x8006088a and "Could not find a property named
  'x' on type 'Microsoft.Dynamics.CRM.y'." (troubleshoot/…/web-api-client-errors; that page
  shows code 0x0 for the property error, field reports show 0x80060888, used here for every
  error of the OData layer: query syntax, unknown properties, bad literals);
- "The version of the existing record doesn't match the RowVersion property provided." and
  "A record with matching key values already exists." (perform-conditional-operations, §6.4);
  the 412 code is ConcurrencyVersionMismatch 0x80060882 (-2147088254);
- "<logical name> With Id = <id> Does Not Exist" (same page), ObjectDoesNotExist 0x80040217;
- payload errors, 0x80048d19: "Error identified in Payload provided by the user for Entity
  :'<set>', …  ---->  InnerException : Microsoft.OData.ODataException: <detail>";
- validation errors: length 0x80044331 (execute-batch-operations), choice value 0x8004431a;
- service protection: 0x80072322 / 0x80072321 / 0x80072326 with the messages of api-limits.
"""

from __future__ import annotations

from typing import Final

from sim.errors import (
    CONCURRENCY_LIMIT,
    EXECUTION_TIME_LIMIT,
    INVALID_ARGUMENT,
    OBJECT_DOES_NOT_EXIST,
    REQUESTS_LIMIT,
)
from sim.errors import DataverseFault as DataverseFault

ODATA_ERROR: Final = "0x80060888"
RESOURCE_NOT_FOUND: Final = "0x8006088a"
CONCURRENCY_VERSION_MISMATCH: Final = "0x80060882"
DUPLICATE_RECORD: Final = "0x80040237"
PAYLOAD_ERROR: Final = "0x80048d19"
VALIDATION_LENGTH: Final = "0x80044331"
VALIDATION_OPTION: Final = "0x8004431a"
VALIDATION_RANGE: Final = "0x80044331"
UNSUPPORTED_MESSAGE: Final = INVALID_ARGUMENT  # as sim.rules answers the same case

PAYLOAD_HELP: Final = "https://go.microsoft.com/fwlink/?linkid=2195293"


def resource_not_found(segment: str) -> DataverseFault:
    return DataverseFault(
        404, RESOURCE_NOT_FOUND, f"Resource not found for the segment '{segment}'."
    )


def no_http_resource(url: str) -> DataverseFault:
    return DataverseFault(
        404, "", f"No HTTP resource was found that matches the request URI '{url}'."
    )


def property_not_found(name: str, type_name: str) -> DataverseFault:
    return DataverseFault(
        400, ODATA_ERROR, f"Could not find a property named '{name}' on type '{type_name}'."
    )


def bad_query(message: str) -> DataverseFault:
    return DataverseFault(400, ODATA_ERROR, message)


def syntax_error() -> DataverseFault:
    return DataverseFault(400, ODATA_ERROR, "Bad Request - Error in query syntax.")


def bad_guid(text: str) -> DataverseFault:
    return DataverseFault(
        400, ODATA_ERROR, f"Unrecognized 'Edm.Guid' literal '{text}' at '0' in '{text}'."
    )


def does_not_exist(logical_name: str, key: str) -> DataverseFault:
    return DataverseFault(
        404, OBJECT_DOES_NOT_EXIST, f"{logical_name} With Id = {key} Does Not Exist"
    )


def version_mismatch() -> DataverseFault:
    return DataverseFault(
        412,
        CONCURRENCY_VERSION_MISMATCH,
        "The version of the existing record doesn't match the RowVersion property provided.",
    )


def already_exists() -> DataverseFault:
    return DataverseFault(
        412, DUPLICATE_RECORD, "A record with matching key values already exists."
    )


def method_not_allowed(method: str) -> DataverseFault:
    return DataverseFault(
        405, ODATA_ERROR, f"The requested resource does not support http method '{method}'."
    )


def payload(entity_set: str, detail: str) -> DataverseFault:
    return DataverseFault(
        400,
        PAYLOAD_ERROR,
        f"Error identified in Payload provided by the user for Entity :'{entity_set}', For more "
        f"information on this error please follow this help link {PAYLOAD_HELP}  ---->  "
        f"InnerException : Microsoft.OData.ODataException: {detail}",
    )


def invalid_json(detail: str) -> DataverseFault:
    return DataverseFault(400, ODATA_ERROR, f"The request body is not valid JSON: {detail}")


def too_large(limit: int) -> DataverseFault:
    return DataverseFault(
        413, "", f"The request is too large: the body exceeds the limit of {limit} bytes."
    )


def unsupported_message(message: str, logical_name: str) -> DataverseFault:
    return DataverseFault(
        400,
        UNSUPPORTED_MESSAGE,
        f"The '{message}' method does not support entities of type '{logical_name}'.",
    )


def too_many_requests(limit: int, window_s: float, retry_after: int) -> DataverseFault:
    return DataverseFault(
        429,
        REQUESTS_LIMIT,
        f"Number of requests exceeded the limit of {limit} over time window of "
        f"{int(window_s)} seconds.",
        headers={"Retry-After": str(retry_after)},
    )


def too_much_time(limit_ms: int, window_s: float, retry_after: int) -> DataverseFault:
    return DataverseFault(
        429,
        EXECUTION_TIME_LIMIT,
        f"Combined execution time of incoming requests exceeded limit of {limit_ms:,} "
        f"milliseconds over time window of {int(window_s)} seconds. Decrease number of "
        "concurrent requests or reduce the duration of requests and try again later.",
        headers={"Retry-After": str(retry_after)},
    )


def too_concurrent(limit: int, retry_after: int) -> DataverseFault:
    return DataverseFault(
        429,
        CONCURRENCY_LIMIT,
        f"Number of concurrent requests exceeded the limit of {limit}",
        headers={"Retry-After": str(retry_after)},
    )
