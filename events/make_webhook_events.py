#!/usr/bin/env python3
"""Writes events/webhook-intake/*.json: API Gateway HTTP API (payload 2.0) events for the
webhook-intake function, one per test delivery in shared/src/domain/whatsapp/testdata, signed
with the events' app secret, plus handshake, signature, encoding and unparseable cases.

    python3 events/make_webhook_events.py

The secret and verify token below are for these sample events only (see events/README.md).
"""
import base64
import hashlib
import hmac
import json
import pathlib

APP_SECRET = b"mizan-events-app-secret"
VERIFY_TOKEN = "mizan-events-verify-token"
ROOT = pathlib.Path(__file__).resolve().parent.parent
TESTDATA = ROOT / "shared/src/domain/whatsapp/testdata"
OUT = ROOT / "events/webhook-intake"
PATH = "/webhooks/whatsapp"


def sign(raw: bytes) -> str:
    return "sha256=" + hmac.new(APP_SECRET, raw, hashlib.sha256).hexdigest()


def meta_escaped(body: object) -> bytes:
    """The form Meta signs: non-ASCII as lowercase \\uXXXX (UTF-16), '/' as '\\/'."""
    return json.dumps(body, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/").encode()


def event(method: str, body: str | None = None, headers: dict | None = None,
          query: dict | None = None, base64_body: bool = False) -> dict:
    raw_query = "&".join(f"{k}={v}" for k, v in (query or {}).items())
    result = {
        "version": "2.0",
        "routeKey": f"{method} {PATH}",
        "rawPath": PATH,
        "rawQueryString": raw_query,
        "headers": {"content-type": "application/json", "user-agent": "facebookexternalua",
                    **(headers or {})},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "mizanapi",
            "domainName": "mizanapi.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "mizanapi",
            "http": {"method": method, "path": PATH, "protocol": "HTTP/1.1",
                     "sourceIp": "173.252.88.1", "userAgent": "facebookexternalua"},
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": f"{method} {PATH}",
            "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000",
            "timeEpoch": 1767225600000,
        },
        "isBase64Encoded": base64_body,
    }
    if query:
        result["queryStringParameters"] = query
    if body is not None:
        result["body"] = body
    return result


def signed_post(raw: bytes, signature: str | None = None, base64_body: bool = False) -> dict:
    headers = {"x-hub-signature-256": signature if signature is not None else sign(raw)}
    body = base64.b64encode(raw).decode() if base64_body else raw.decode()
    return event("POST", body, headers, base64_body=base64_body)


def write(name: str, value: dict) -> None:
    (OUT / f"{name}.json").write_text(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def main() -> None:
    for old in OUT.glob("*.json"):
        old.unlink()
    for path in sorted(TESTDATA.glob("*.json")):
        data = json.loads(path.read_text())
        cases = {"": data} if "object" in data or path.stem == "malformed" else data
        for case, body in cases.items():
            if path.stem == "malformed":
                continue
            raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
            write(f"post-{path.stem}{'-' + case if case else ''}", signed_post(raw))

    text = json.loads((TESTDATA / "messages.json").read_text())["text_arabic"]
    unescaped = json.dumps(text, ensure_ascii=False, separators=(",", ":")).encode()
    # Meta signs the escaped form and may deliver the unescaped one: the signature must still hold.
    write("post-signed-escaped-delivered-unescaped", signed_post(unescaped, sign(meta_escaped(text))))
    write("post-base64-encoded-body", signed_post(unescaped, base64_body=True))
    write("post-bad-signature", signed_post(unescaped, "sha256=" + "0" * 64))
    write("post-malformed-signature", signed_post(unescaped, "sha1=abc"))
    write("post-missing-signature", event("POST", unescaped.decode(), {}))
    write("post-unparseable", signed_post(b'{"object":"whatsapp_business_account","entry":[{'))
    write("get-handshake", event("GET", query={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN,
                                               "hub.challenge": "1158201444"}))
    write("get-handshake-wrong-token", event("GET", query={"hub.mode": "subscribe",
                                                           "hub.verify_token": "guess",
                                                           "hub.challenge": "1158201444"}))


if __name__ == "__main__":
    main()
