#!/usr/bin/env python3
"""Writes N distinct signed one-message WhatsApp deliveries for the load bench, one per line as
`<X-Hub-Signature-256>\t<body>`: 1,000 contacts writing in English, French and Arabic.

    make_deliveries.py DEMO_JSON COUNT OUT [FIRST]
"""
import hashlib
import hmac
import json
import sys
import time

TEXTS = [
    "Hello, do you deliver to Casablanca this week?",
    "Is the blue teapot still in stock? I'd like two.",
    "Bonjour, est-ce que la boutique est ouverte dimanche ?",
    "Merci ! Je passerai chercher ma commande à 18 h.",
    "مرحبا، هل لديكم شاي بالنعناع؟",
    "شكرا جزيلا، متى يصل الطلب؟",
]


def main() -> None:
    demo = json.load(open(sys.argv[1]))
    count, out = int(sys.argv[2]), sys.argv[3]
    first = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    secret = demo["app_secret"].encode()
    now = str(int(time.time()))
    with open(out, "w", encoding="utf-8") as f:
        for n in range(first, first + count):
            wa_id = f"1555{n % 1000:07d}"
            body = json.dumps({
                "object": "whatsapp_business_account",
                "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "15550100000",
                                 "phone_number_id": demo["phone_number_id"]},
                    "contacts": [{"profile": {"name": f"Customer {n % 1000}"}, "wa_id": wa_id}],
                    "messages": [{"from": wa_id, "id": f"wamid.load.{n}", "timestamp": now,
                                  "type": "text", "text": {"body": TEXTS[n % len(TEXTS)]}}],
                }}]}],
            }, ensure_ascii=False, separators=(",", ":"))
            signature = "sha256=" + hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()
            f.write(f"{signature}\t{body}\n")


if __name__ == "__main__":
    main()
