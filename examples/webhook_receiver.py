"""A webhook receiver: checks each request's signature and prints the event.

    WEIR_API_SECRET=... python examples/webhook_receiver.py --port 8080
    # then point the app at it, with a server token:
    #   PATCH /api/v1/app {"event_hooks": [{"webhook_url": "http://127.0.0.1:8080/"}]}

It answers 2xx at once, as a receiver should, and skips repeats: a retried delivery keeps its ``X-WEBHOOK-ID``.
The API secret comes from ``--secret``, ``WEIR_API_SECRET``, or ``credentials.json`` in ``--data-dir``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from weir.server.webhook import WebhookSignatureError, verify_and_parse_webhook

SEEN_MAX = 10_000


def api_secret(args: argparse.Namespace) -> str:
    secret = args.secret or os.environ.get("WEIR_API_SECRET")
    if not secret and args.data_dir:
        secret = json.loads((Path(args.data_dir) / "credentials.json").read_text())["api_secret"]
    if not secret:
        sys.exit("the API secret is needed: --secret, WEIR_API_SECRET or --data-dir")
    return secret


def make_handler(secret: str) -> type[BaseHTTPRequestHandler]:
    seen: set[str] = set()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as Weir's sender uses it

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                event = verify_and_parse_webhook(body, self.headers.get("X-SIGNATURE", ""), secret)
            except WebhookSignatureError:
                return self.answer(401)
            except ValueError:
                return self.answer(400)
            self.answer(200)
            webhook_id = self.headers.get("X-WEBHOOK-ID", "")
            attempt = self.headers.get("X-WEBHOOK-ATTEMPT", "?")
            if webhook_id in seen:
                print(f"repeat {webhook_id} (attempt {attempt}), skipped", flush=True)
                return
            if len(seen) >= SEEN_MAX:
                seen.clear()
            seen.add(webhook_id)
            call_cid = getattr(event, "call_cid", "-")
            print(f"{event.type} {call_cid} id {webhook_id} attempt {attempt}", flush=True)

        def answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--secret", help="the app's API secret (default: WEIR_API_SECRET)")
    parser.add_argument("--data-dir", help="read the secret from this weir data folder")
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), make_handler(api_secret(args)))
    print(f"listening on http://{args.host}:{args.port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
