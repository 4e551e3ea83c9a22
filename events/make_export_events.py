#!/usr/bin/env python3
"""Writes events/data-export/*.json: API Gateway HTTP API (payload 2.0) events for the four routes
of the data-export function, plus bad-input cases. The handler tests replay them.

They carry placeholders the tests swap for real values: the API key of make_consent_events.py, the
export id `exp_00000000000000000000000000000000` and the download token `TOKEN`. The worker's stream
event (`worker-export-job.json`) is written by the worker test from the embedded change feed:
`MIZAN_WRITE_EVENTS=1 cargo test -p mizan-data-export --test worker`."""

import json
import pathlib

from make_consent_events import PLACEHOLDER_KEY, WA_ID, event

OUT = pathlib.Path(__file__).parent / "data-export"
EXPORT_ID = "exp_00000000000000000000000000000000"
TOKEN = "TOKEN"


def export_status(export_id=EXPORT_ID, key=PLACEHOLDER_KEY):
    e = event("GET", f"/v1/exports/{export_id}", key=key)
    e["routeKey"] = e["requestContext"]["routeKey"] = "GET /v1/exports/{id}"
    e["pathParameters"] = {"id": export_id}
    return e


def export_revocation(export_id=EXPORT_ID, key=PLACEHOLDER_KEY):
    e = event("DELETE", f"/v1/exports/{export_id}", key=key)
    e["routeKey"] = e["requestContext"]["routeKey"] = "DELETE /v1/exports/{id}"
    e["pathParameters"] = {"id": export_id}
    return e


def download(token=TOKEN):
    # No API key: the token is the credential. A browser follows the link.
    e = event("GET", "/exports/download", query={"token": token}, key=None)
    e["headers"] = {"user-agent": "Mozilla/5.0", "accept": "*/*"}
    return e


EVENTS = {
    "post-export-contact": event("POST", "/v1/exports", {"contact": WA_ID}),
    "post-export-tenant": event("POST", "/v1/exports", {"scope": "tenant"}),
    "post-export-contact-and-tenant": event("POST", "/v1/exports", {"contact": WA_ID, "scope": "tenant"}),
    "post-export-nothing": event("POST", "/v1/exports", {}),
    "post-export-unknown-contact": event("POST", "/v1/exports", {"contact": "15550109999"}),
    "post-export-without-api-key": event("POST", "/v1/exports", {"scope": "tenant"}, key=None),
    "get-export": export_status(),
    "get-export-unknown": export_status("exp_ffffffffffffffffffffffffffffffff"),
    "delete-export": export_revocation(),
    "get-download": download(),
    "get-download-tampered": download("v1.eyJ0IjoidGVuXzEiLCJlIjoiZXhwXzEiLCJ4Ijo0MTAyNDQ0ODAwMDAwfQ.AAAA"),
    "get-download-without-token": download(None),
}


def main():
    OUT.mkdir(exist_ok=True)
    for name, e in EVENTS.items():
        # API Gateway adds these to every request it passes on.
        e["headers"]["host"] = e["requestContext"]["domainName"]
        e["headers"]["x-forwarded-proto"] = "https"
        if e.get("queryStringParameters") == {"token": None}:
            del e["queryStringParameters"]
            e["rawQueryString"] = ""
        (OUT / f"{name}.json").write_text(json.dumps(e, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {len(EVENTS)} events to {OUT}")


if __name__ == "__main__":
    main()
