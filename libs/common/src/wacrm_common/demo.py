"""`make demo`: wait for the gateway, open a SIMULATOR session, replay a shipped chat export."""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from wacrm_common.settings import Settings

DEMO_SESSION = "Demo (simulator)"


def _call(
    url: str,
    *,
    token: str | None = None,
    body: Any = None,
    raw: str | None = None,
    method: str = "POST",
) -> Any:
    headers = {"Content-Type": "text/plain" if raw is not None else "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = (
        raw.encode()
        if raw is not None
        else (json.dumps(body).encode() if body is not None else b"")
    )
    request = urllib.request.Request(
        url, data=data if method == "POST" else None, headers=headers, method=method
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def main() -> None:
    settings = Settings()
    export = Path(sys.argv[1] if len(sys.argv) > 1 else "demo/atendimento.txt").read_text()
    owner = sys.argv[2] if len(sys.argv) > 2 else "Bike Center"
    password = (
        settings.admin_password.get_secret_value()
        if settings.admin_password
        else Path(".data/admin-password").read_text().strip()
    )
    api = f"http://{settings.gateway_host}:{settings.gateway_port}/api"
    deadline = time.monotonic() + 120
    while True:
        try:
            token = _call(
                f"{api}/auth/login", body={"email": settings.admin_email, "password": password}
            )
            break
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    token = token["access_token"]
    # Reuse the demo session across runs: replaying the same export into it adds nothing.
    sessions = _call(f"{api}/sessions", token=token, method="GET")
    session = next((s for s in sessions if s["name"] == DEMO_SESSION and s["simulator"]), None)
    if session is None:
        session = _call(
            f"{api}/sessions", token=token, body={"name": DEMO_SESSION, "driver": "sim"}
        )
    _call(f"{api}/sessions/{session['id']}/start", token=token)
    query = urllib.parse.urlencode({"owner": owner, "speed": 60, "tz": "America/Sao_Paulo"})
    queued = _call(
        f"{api}/sessions/{session['id']}/simulate/chat-export?{query}", token=token, raw=export
    )
    sys.stdout.write(
        f"demo: simulator session {session['id']} replaying {queued['queued']} messages\n"
    )


if __name__ == "__main__":
    main()
