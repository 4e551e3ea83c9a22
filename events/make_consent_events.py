#!/usr/bin/env python3
"""Writes events/consent-api/*.json: one API Gateway HTTP API (payload 2.0) event per route of the
consent-api function, plus bad-input cases. The handler tests replay them.

They carry the placeholder API key below; the tests swap in a key they issue. For
`cargo lambda invoke consent-api --data-file ...`, replace it with a key of your tenant
(`mizan-local apikey issue TENANT_ID`)."""

import json
import pathlib

PLACEHOLDER_KEY = "mzn_key_000000000000_replace-with-an-api-key-of-your-tenant"
WA_ID = "15550100001"
USER_ID = "US.10000000000000000001"
OUT = pathlib.Path(__file__).parent / "consent-api"


def route_of(path):
    """The API Gateway route a path matches, and its path parameters."""
    parts = path.split("/")
    if len(parts) >= 4 and parts[2] == "contacts":
        contact = parts[3]
        parts[3] = "{contact}"
        return "/".join(parts), {"contact": contact}
    if len(parts) == 5 and parts[2] == "templates":
        name, language = parts[3], parts[4]
        return "/v1/templates/{name}/{language}", {"name": name, "language": language}
    if len(parts) >= 4 and parts[2] == "campaigns":
        campaign = parts[3]
        parts[3] = "{id}"
        return "/".join(parts), {"id": campaign}
    if len(parts) >= 4 and parts[2] == "webhooks":
        params = {"id": parts[3]}
        parts[3] = "{id}"
        if len(parts) >= 6 and parts[4] == "deliveries":
            params["delivery"] = parts[5]
            parts[5] = "{delivery}"
        return "/".join(parts), params
    if len(parts) == 5 and parts[2] == "billing":
        month = parts[4]
        return "/v1/billing/statements/{month}", {"month": month}
    if len(parts) == 4 and parts[2] == "api-keys":
        key_id = parts[3]
        parts[3] = "{id}"
        return "/".join(parts), {"id": key_id}
    return path, None


def event(method, path, body=None, query=None, key=PLACEHOLDER_KEY, headers=None):
    headers = {"content-type": "application/json", "user-agent": "mizan-dashboard/1.0", **(headers or {})}
    if key is not None:
        headers["authorization"] = f"Bearer {key}"
    template, params = route_of(path)
    route = f"{method} {template}"
    raw_query = "&".join(f"{k}={v}" for k, v in (query or {}).items())
    e = {
        "version": "2.0",
        "routeKey": route,
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "mizanapi",
            "domainName": "mizanapi.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "mizanapi",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.10",
                "userAgent": "mizan-dashboard/1.0",
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": route,
            "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000",
            "timeEpoch": 1767225600000,
        },
        "isBase64Encoded": False,
    }
    if params:
        e["pathParameters"] = params
    if query:
        e["queryStringParameters"] = query
    if body is not None:
        e["body"] = body if isinstance(body, str) else json.dumps(body)
    return e


C = f"/v1/contacts/{WA_ID}"
# A campaign id of the sample tenant (the tests swap in one they create).
CAMPAIGN = "cmp_00000000000000000000000000000000"
# An endpoint and a delivery no fresh tenant has (the handler tests expect 404s).
WEBHOOK = "whk_ffffffffffffffffffffffffffffffff"
DELIVERY = "dlv_1767225600000_ffffffffffffffffffffffffffffffff"

EVENTS = {
    # One per route.
    "get-contact": event("GET", C),
    "get-contact-by-user-id": event("GET", f"/v1/contacts/{USER_ID}"),
    "patch-contact": event("PATCH", C, {"name": "Amina Benali"}),
    "get-consent": event("GET", f"{C}/consent"),
    "get-messages": event("GET", f"{C}/messages", query={"limit": "20"}),
    "post-messages": event(
        "POST",
        f"{C}/messages",
        {"text": "Your order #4821 left our shop today; it arrives tomorrow."},
        headers={"idempotency-key": "order-4821-shipped"},
    ),
    "post-messages-template": event(
        "POST",
        f"{C}/messages",
        {"template": {"name": "order_update", "language": "en_US",
                      "parameters": {"body": {"1": "Amina", "2": "Monday"}}}},
        headers={"idempotency-key": "order-4821-reminder"},
    ),
    "post-consent": event(
        "POST",
        f"{C}/consent",
        {"purpose": "marketing", "action": "opt_in", "source": "web_form", "evidence": "form-8841"},
    ),
    "post-consent-opt-out-all": event(
        "POST",
        f"{C}/consent",
        {"purpose": "all", "action": "opt_out", "source": "phone_call", "evidence": "ticket-5521"},
    ),
    "post-restriction": event("POST", f"{C}/restriction"),
    "delete-restriction": event("DELETE", f"{C}/restriction"),
    "post-takeover": event("POST", f"{C}/takeover"),
    "delete-takeover": event("DELETE", f"{C}/takeover"),
    "post-erasure": event("POST", f"{C}/erasure"),
    "post-minor": event("POST", f"{C}/minor"),
    "get-settings": event("GET", "/v1/settings"),
    "patch-settings": event(
        "PATCH",
        "/v1/settings",
        {
            "chat_retention_days": 60,
            "automation_enabled": True,
            "ai_instructions": "Answer in the customer's language. We open 9:00-18:00.",
            "faq": [{"question": "Do you deliver?", "answer": "Yes, within Casablanca."}],
            "legal_hold": False,
        },
    ),
    "get-audit": event("GET", "/v1/audit", query={"limit": "20"}),
    "get-account": event("GET", "/v1/account"),
    "get-analytics": event("GET", "/v1/analytics", query={"from": "2026-11-01", "to": "2026-11-30", "granularity": "day"}),
    "get-analytics-report": event("GET", "/v1/analytics/report", query={"from": "2026-11-01", "to": "2026-11-30"}),
    "get-analytics-bad-granularity": event("GET", "/v1/analytics", query={"granularity": "week"}),
    "get-billing-statements": event("GET", "/v1/billing/statements"),
    "get-billing-statement": event("GET", "/v1/billing/statements/2026-11", query={"format": "csv"}),
    "get-billing-statement-bad-month": event("GET", "/v1/billing/statements/november"),
    "patch-account": event(
        "PATCH",
        "/v1/account",
        {"business_name": "Atlas Tea", "industry": "food retail", "contact_email": "owner@atlas-tea.example",
         "contact_phone": "+212 5 22 00 00 00",
         "company": {"legal_name": "Atlas Tea SARL", "address": "12 rue de Fès\nCasablanca",
                     "tax_id": "ICE 001234567000089", "country": "MA"}},
    ),
    "patch-account-bad-email": event("PATCH", "/v1/account", {"contact_email": "owner at atlas"}),
    "get-contacts": event("GET", "/v1/contacts", query={"query": "amina", "limit": "20"}),
    "get-contacts-unknown-flag": event("GET", "/v1/contacts", query={"flag": "vip"}),
    "get-api-keys": event("GET", "/v1/api-keys"),
    "post-api-keys": event(
        "POST",
        "/v1/api-keys",
        {"label": "helpdesk", "scopes": ["read", "messages"], "expires_at": "2099-12-31T00:00:00Z"},
    ),
    "delete-api-key": event("DELETE", "/v1/api-keys/key_ffffffffffff"),
    "get-templates": event("GET", "/v1/templates"),
    "post-templates": event(
        "POST",
        "/v1/templates",
        {
            "name": "order_update",
            "language": "en_US",
            "category": "utility",
            "components": [
                {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}"},
                {"type": "BODY", "text": "Hi {{1}}, your order ships on {{2}}.",
                 "example": {"body_text": [["Amina", "Monday"]]}},
                {"type": "FOOTER", "text": "Atlas Tea"},
                {"type": "BUTTONS", "buttons": [
                    {"type": "URL", "text": "Track", "url": "https://shop.example/t/{{1}}",
                     "example": ["https://shop.example/t/4821"]}
                ]},
            ],
        },
    ),
    "get-template": event("GET", "/v1/templates/order_update/en_US"),
    "delete-template": event("DELETE", "/v1/templates/order_update/en_US"),
    "post-campaigns": event(
        "POST",
        "/v1/campaigns",
        {"name": "Order updates", "template": {"name": "order_update", "language": "en_US"},
         "parameters": {"body": {"2": "Monday"}},
         "audience": {"contacts": [{"contact": "15550100001", "parameters": {"body": {"1": "Amina"}}}]}},
    ),
    "get-campaign": event("GET", f"/v1/campaigns/{CAMPAIGN}"),
    "get-campaign-recipients": event("GET", f"/v1/campaigns/{CAMPAIGN}/recipients", query={"state": "sent"}),
    "post-campaign-pause": event("POST", f"/v1/campaigns/{CAMPAIGN}/pause"),
    "post-campaign-resume": event("POST", f"/v1/campaigns/{CAMPAIGN}/resume"),
    "post-campaign-cancel": event("POST", f"/v1/campaigns/{CAMPAIGN}/cancel"),
    "get-webhooks": event("GET", "/v1/webhooks"),
    "post-webhooks": event(
        "POST",
        "/v1/webhooks",
        {"url": "https://helpdesk.example.com/mizan/hooks",
         "events": ["handoff.requested", "message.received", "consent.changed"],
         "description": "Helpdesk"},
    ),
    "delete-webhook": event("DELETE", f"/v1/webhooks/{WEBHOOK}"),
    "post-webhook-enable": event("POST", f"/v1/webhooks/{WEBHOOK}/enable"),
    "get-webhook-deliveries": event("GET", f"/v1/webhooks/{WEBHOOK}/deliveries", query={"limit": "20"}),
    "post-webhook-delivery-replay": event(
        "POST", f"/v1/webhooks/{WEBHOOK}/deliveries/{DELIVERY}/replay"
    ),
    # Bad input and bad credentials.
    "post-webhooks-http-url": event(
        "POST", "/v1/webhooks", {"url": "http://helpdesk.example.com/hooks", "events": ["export.ready"]}
    ),
    "post-webhooks-unknown-event": event(
        "POST", "/v1/webhooks", {"url": "https://helpdesk.example.com/hooks", "events": ["message.sent"]}
    ),
    "get-contact-without-api-key": event("GET", C, key=None),
    "get-contact-revoked-api-key": event("GET", C, key="mzn_key_ffffffffffff_not-an-issued-key"),
    "get-contact-invalid-reference": event("GET", "/v1/contacts/not%23a%20contact"),
    "post-consent-malformed-json": event("POST", f"{C}/consent", '{"purpose": "marketing",'),
    "post-consent-unknown-purpose": event(
        "POST",
        f"{C}/consent",
        {"purpose": "newsletters", "action": "opt_in", "source": "web_form", "evidence": "f-1"},
    ),
    "post-consent-unknown-field": event(
        "POST",
        f"{C}/consent",
        {"purpose": "marketing", "action": "opt_in", "source": "web_form", "evidence": "f-1", "email": "x"},
    ),
    "patch-contact-identifier": event("PATCH", C, {"wa_id": "15550100009"}),
    "post-messages-text-and-template": event(
        "POST",
        f"{C}/messages",
        {"text": "Hi", "template": {"name": "order_update", "language": "en_US"}},
    ),
    "post-messages-bad-idempotency-key": event(
        "POST", f"{C}/messages", {"text": "Hi"}, headers={"idempotency-key": "has spaces in it"}
    ),
    "patch-settings-retention-out-of-range": event("PATCH", "/v1/settings", {"chat_retention_days": 400}),
    "patch-settings-wrong-type": event("PATCH", "/v1/settings", {"automation_enabled": "yes"}),
    "get-audit-bad-limit": event("GET", "/v1/audit", query={"limit": "1000"}),
    "patch-settings-legal-hold-without-reason": event("PATCH", "/v1/settings", {"legal_hold": True}),
    "post-api-keys-unknown-scope": event("POST", "/v1/api-keys", {"label": "ops", "scopes": ["root"]}),
    "post-templates-bad-category": event(
        "POST",
        "/v1/templates",
        {"name": "spring_sale", "language": "fr", "category": "promotion",
         "components": [{"type": "BODY", "text": "Soldes !"}]},
    ),
    "get-template-bad-language": event("GET", "/v1/templates/order_update/english"),
    "post-campaigns-no-template": event(
        "POST",
        "/v1/campaigns",
        {"name": "Spring sale", "template": {"name": "spring_sale", "language": "en"},
         "audience": {"contacts": [{"contact": "15550100001", "parameters": {"body": {"1": "Amina"}}}]}},
    ),
    "post-campaigns-bad-contact": event(
        "POST",
        "/v1/campaigns",
        {"name": "Spring sale", "template": {"name": "spring_sale", "language": "en"},
         "audience": {"contacts": [{"contact": "15550100001"}, {"contact": "not a phone!"}]}},
    ),
}


def main():
    OUT.mkdir(exist_ok=True)
    for name, e in EVENTS.items():
        (OUT / f"{name}.json").write_text(json.dumps(e, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {len(EVENTS)} events to {OUT}")


if __name__ == "__main__":
    main()
