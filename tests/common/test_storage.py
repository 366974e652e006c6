"""Object storage against the real SeaweedFS S3 server."""

from __future__ import annotations

import httpx

from wacrm_common.storage import Storage


async def test_storage_put_get_and_signed_url_round_trip(settings) -> None:
    storage = Storage(settings)
    await storage.ensure_bucket()
    await storage.ensure_bucket()  # idempotent
    data = "voz 🎙️".encode() + bytes(range(256))
    await storage.put("t/1/voice.ogg", data, content_type="audio/ogg; codecs=opus")
    assert await storage.get("t/1/voice.ogg") == (data, "audio/ogg; codecs=opus")
    url = await storage.signed_url("t/1/voice.ogg", seconds=60)
    async with httpx.AsyncClient() as http:
        r = await http.get(url)
    assert (r.status_code, r.content) == (200, data)
