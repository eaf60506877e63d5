"""The report's alert: one JSON message per report, POSTed to an incoming webhook. Pure: no
pyspark; the standard library's urllib does the POST.

The message has the shape both chat services accept: ``text`` (what Slack and Teams show, and
the notification's fallback), Slack's ``blocks`` (a section with the text, then up to 10
``fields``), Teams' MessageCard ``summary`` and ``sections[].facts``, and the same facts as plain
data under ``a100m`` for any other receiver. A message that cannot be delivered is logged; it
never changes the report's verdict or exit code.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10
SLACK_MAX_FIELDS = 10  # Slack refuses a section with more fields than this
LISTED = 8  # failing checks / anomalies named in the text; the page has them all


def alert_message(
    verdict: str,
    run_id: str,
    page: str,
    failing: list[str],
    warnings: list[str],
    anomalies: list[str],
) -> dict[str, Any]:
    """The message: verdict, the failing checks and anomalies, where the page is."""
    lines = [f"a100m data-quality report: {verdict} (run {run_id})"]
    for title, items in (
        ("Failing checks", failing),
        ("Warnings", warnings),
        ("Anomalies", anomalies),
    ):
        if items:
            more = f" (+{len(items) - LISTED} more)" if len(items) > LISTED else ""
            lines.append(f"{title}: " + "; ".join(items[:LISTED]) + more)
    lines.append(f"Report: {page}")
    text = "\n".join(lines)
    facts = [
        ("Verdict", verdict),
        ("Run", run_id),
        ("Failing checks", str(len(failing))),
        ("Warnings", str(len(warnings))),
        ("Anomalies", str(len(anomalies))),
        ("Report", page),
    ]
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{name}*\n{value}"}
                    for name, value in facts[:SLACK_MAX_FIELDS]
                ],
            },
        ],
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": f"a100m report: {verdict}",
        "sections": [{"facts": [{"name": n, "value": v} for n, v in facts]}],
        "a100m": {
            "verdict": verdict,
            "run_id": run_id,
            "report": page,
            "failing_checks": failing,
            "warnings": warnings,
            "anomalies": anomalies,
        },
    }


def post_alert(url: str, message: dict[str, Any], timeout: float = TIMEOUT_SECONDS) -> str | None:
    """POST the message; None when delivered, else one line saying why not (also logged)."""
    request = urllib.request.Request(
        url,
        data=json.dumps(message).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
        return None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        parts = urllib.parse.urlsplit(url)
        # the path of a Slack or Teams webhook URL is its secret: never logged
        problem = f"alert not delivered to {parts.scheme}://{parts.netloc}/...: {reason}"
        log.warning("%s", problem)
        return problem
