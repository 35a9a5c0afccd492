"""Sends one delivery to an address already vetted, never to whatever DNS says next.

urllib3 connects to the pinned IP while TLS still sends the url's host as SNI and checks the
certificate against it (``server_hostname`` / ``assert_hostname``), and ``Host`` names it too.
Redirects are not followed (a 3xx is a failed attempt) and no retry happens here: the queue's
schedule is the only retry.
"""

from __future__ import annotations

import urllib3
from urllib3.exceptions import HTTPError

from lendbridge.domain.webhook_rules import Target
from lendbridge.domain.webhooks import DeliveryFailed

MAX_ANSWER_BYTES = 1024  # the answer's body is never stored; read a little so the socket is reused


class PinnedSender:
    def post(self, target: Target, address: str, headers: dict[str, str], body: bytes, timeout_s: float) -> int:
        timeout = urllib3.Timeout(total=timeout_s)
        options: dict[str, object] = {"timeout": timeout, "retries": False, "maxsize": 1}
        pool: urllib3.HTTPConnectionPool
        if target.scheme == "https":
            pool = urllib3.HTTPSConnectionPool(
                address,
                target.port,
                server_hostname=target.host,
                assert_hostname=target.host,
                cert_reqs="CERT_REQUIRED",
                **options,  # type: ignore[arg-type]
            )
        else:
            pool = urllib3.HTTPConnectionPool(address, target.port, **options)  # type: ignore[arg-type]
        host_header = target.host if target.port in (80, 443) else f"{target.host}:{target.port}"
        try:
            with pool:
                response = pool.urlopen(
                    "POST",
                    target.path,
                    body=body,
                    headers={**headers, "host": host_header},
                    redirect=False,
                    preload_content=False,
                    assert_same_host=False,
                )
                response.read(MAX_ANSWER_BYTES)
                response.release_conn()
                return int(response.status)
        except urllib3.exceptions.NewConnectionError as error:  # a subclass of the timeout error
            raise DeliveryFailed("Connection failed (refused or unreachable)") from error
        except urllib3.exceptions.TimeoutError as error:
            raise DeliveryFailed(f"No answer within {timeout_s:g} s") from error
        except HTTPError as error:
            raise DeliveryFailed(f"Connection failed ({type(error).__name__})") from error
