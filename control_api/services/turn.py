"""ICE servers for viewers: TURN REST credentials for coturn's `use-auth-secret`.

A viewer behind a firewall that drops UDP (or traffic to high ports) cannot reach a
media node's host candidates; a TURN server on UDP 3478 / TLS 443 relays for it. We
never store TURN passwords: each consume answer carries a credential derived from a
secret shared with coturn (the "TURN REST API" scheme, draft-uberti-behave-turn-rest):

    username   = "<unix expiry>:<user id>"
    credential = base64(HMAC-SHA1(secret, username))

coturn recomputes the HMAC and refuses an expired or forged username by itself, so the
control API needs no call to coturn and any number of replicas can hand credentials
out. The user id in the username binds the credential to the viewer (coturn logs it,
and quotas per user apply to it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

from control_api.config import Settings


@dataclass(frozen=True, slots=True)
class TurnCredential:
    username: str
    credential: str
    expires_at: int


def turn_credential(
    secret: str, user_id: str, ttl_s: int, now: float | None = None
) -> TurnCredential:
    """A credential coturn (`use-auth-secret`, `static-auth-secret=secret`) accepts for `ttl_s`."""
    expires_at = int(now if now is not None else time.time()) + ttl_s
    username = f"{expires_at}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return TurnCredential(username, base64.b64encode(digest).decode("ascii"), expires_at)


def ice_servers(
    settings: Settings, user_id: str, now: float | None = None
) -> list[dict[str, object]]:
    """The `ice_servers` of a consume answer: `[{urls, username, credential}]`, or `[]`.

    One entry with every configured URL (UDP, TCP and TLS of the same coturn share
    the credential); empty when no TURN server is configured, so clients always get
    the field and need no special case.
    """
    if not settings.turn_urls or settings.turn_secret is None:
        return []
    cred = turn_credential(
        settings.turn_secret.get_secret_value(), user_id, settings.turn_ttl_s, now
    )
    return [
        {"urls": list(settings.turn_urls), "username": cred.username, "credential": cred.credential}
    ]
