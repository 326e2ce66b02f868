"""Which network addresses the engine may call: the guard against SSRF (请求伪造).

An endpoint URL is checked twice. :func:`check_url` checks its form (``http``/``https``, a
host, no userinfo, query or fragment) and an address written into it (``127.0.0.1``,
``[::1]``, and the forms ``inet_aton`` accepts: ``2130706433``, ``0x7f.1``, ``0177.0.0.1``)
before anything is sent. :func:`allowed_addresses` then resolves a host name when a
connection is opened and gives the client only the addresses the policy allows, so the
connection goes to an address that was checked (a name that resolves elsewhere a second
later, DNS rebinding, gains nothing).

Link-local (169.254/16, fe80::/10), cloud metadata (169.254.169.254, fd00:ec2::254,
100.100.100.200), multicast, unspecified and reserved addresses are always refused.
Loopback and private ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7, and any
other address that is not globally routable) are refused unless the policy allows private
networks: a laptop calling its own vLLM does, a platform serving teams does not. IPv6
addresses that carry an IPv4 address (``::ffff:a.b.c.d``, 6to4, NAT64) are judged by it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from mosu.core.text import Text

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.170.2")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_HOST_NAME = re.compile(
    r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$"
)


@dataclass(frozen=True)
class AddressPolicy:
    """What an endpoint may resolve to. ``allow_private``: loopback and private ranges too."""

    allow_private: bool = False


STRICT = AddressPolicy(allow_private=False)
LOCAL = AddressPolicy(allow_private=True)


class AddressRefused(OSError):
    """An endpoint's address is one the policy refuses; raised before any connection."""


class URLRefused(ValueError):
    """An endpoint URL the engine must not call: ``str()`` says why in English (the engine's
    own messages), ``text`` is the catalogued reason the platform shows in its reader's
    language."""

    def __init__(self, message: str, text: Text) -> None:
        super().__init__(message)
        self.text = text


CATEGORY_TEXT = {
    "cloud metadata address": Text("云服务元数据地址"),
    "unspecified address": Text("未指定地址"),
    "loopback address": Text("本机回环地址"),
    "link-local address": Text("链路本地地址"),
    "multicast address": Text("组播地址"),
    "reserved address": Text("保留地址"),
    "private network address": Text("内网地址"),
}


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal(address: Address, policy: AddressPolicy) -> str | None:
    """Why ``policy`` refuses ``address`` (a short English category), or ``None``."""
    if isinstance(address, ipaddress.IPv6Address):
        address = ipaddress.IPv6Address(address.compressed.split("%", 1)[0])
        inner = _embedded_ipv4(address)
        if inner is not None:
            return refusal(inner, policy)
    if address in METADATA:
        return "cloud metadata address"
    if address.is_unspecified:
        return "unspecified address"
    if address.is_loopback:
        return None if policy.allow_private else "loopback address"
    if address.is_link_local:
        return "link-local address"
    if address.is_multicast:
        return "multicast address"
    if address.is_reserved:
        return "reserved address"
    if not address.is_global:
        return None if policy.allow_private else "private network address"
    return None


def literal_address(host: str) -> Address | None:
    """The address a URL's host spells, in any form a resolver would read as one."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:  # the legacy forms getaddrinfo also accepts: 2130706433, 0x7f.1, 0177.0.0.1, 127.1
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def check_url(url: str, policy: AddressPolicy) -> str:
    """Refuse (:class:`URLRefused`, a ``ValueError`` naming why) an endpoint URL the engine
    must not call; returns its host. A host name is checked again, by
    :func:`allowed_addresses`, at each connection."""
    if "#" in url:
        raise URLRefused("the URL must not contain a fragment ('#')", Text("地址不能含片段（#）"))
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise URLRefused(
            "only http:// and https:// URLs are allowed", Text("只接受 http:// 或 https:// 地址")
        )
    if "@" in parts.netloc:
        raise URLRefused(
            "the URL must not contain a user name or password ('user@')",
            Text("地址不能含用户名或密码"),
        )
    if parts.query:
        raise URLRefused("the URL must not contain a query ('?')", Text("地址不能含查询参数（?）"))
    try:
        host = parts.hostname
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        raise URLRefused(
            "the URL's port is not a number from 0 to 65535", Text("端口须为 0 到 65535 的数字")
        ) from None
    if not host:
        raise URLRefused("the URL has no host", Text("地址缺少主机名"))
    address = literal_address(host)
    if address is None:
        try:
            ascii_host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise URLRefused(f"{host!r} is not a valid host name", Text("主机名无效")) from None
        if not _HOST_NAME.match(ascii_host):
            raise URLRefused(f"{host!r} is not a valid host name", Text("主机名无效"))
        if ascii_host.rstrip(".") == "localhost" or ascii_host.rstrip(".").endswith(".localhost"):
            address = ipaddress.ip_address("127.0.0.1")
    if address is not None:
        why = refusal(address, policy)
        if why is not None:
            raise URLRefused(
                f"{host} is a {why}, which endpoints may not use",
                Text(
                    "{host} 是{category}，接入点不能使用",
                    {"host": host, "category": CATEGORY_TEXT[why]},
                ),
            )
    return host


async def lookup(host: str, port: int) -> list[tuple[socket.AddressFamily, str]]:
    """Every address ``host`` resolves to (the system resolver, off the event loop's
    thread), with its family, in the resolver's order."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_ADDRCONFIG
    )
    return [(family, str(address[0])) for family, _, _, _, address in infos]


async def allowed_addresses(
    host: str, port: int, policy: AddressPolicy
) -> list[tuple[socket.AddressFamily, str]]:
    """The addresses of ``host`` that ``policy`` allows, resolved now, for a connection to
    go to one of them; :class:`AddressRefused` if there are none."""
    allowed: list[tuple[socket.AddressFamily, str]] = []
    reasons: list[str] = []
    for family, address in await lookup(host, port):
        why = refusal(ipaddress.ip_address(address), policy)
        if why is None:
            if (family, address) not in allowed:
                allowed.append((family, address))
        else:
            reasons.append(why)
    if not allowed:
        raise AddressRefused(f"{host} resolves to a {reasons[0] if reasons else 'no address'}")
    return allowed
