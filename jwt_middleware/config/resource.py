"""What this resource is: its RFC 9728 protected-resource metadata (where it is served, and
the document), and the URL it serves, as a DPoP proof's ``htu`` must name it."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..core.errors import ConfigError
from . import validate as check

__all__ = ["WELL_KNOWN", "OriginPolicy", "ResourceMetadata", "origin_policy", "resource_metadata"]
WELL_KNOWN = "/.well-known/oauth-protected-resource"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# One host[:port] (RFC 3986 reg-name, IPv4 or a bracketed IPv6 literal): no list, path, query,
# fragment, userinfo or whitespace can pass for a forwarded host.
_ONE_HOST = re.compile(r"(?:[A-Za-z0-9\-._~]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?").fullmatch
_PROTOS = frozenset({"http", "https"})  # what X-Forwarded-Proto may say, compared in lower case


@dataclass(frozen=True, slots=True)
class ResourceMetadata:
    """The protected-resource metadata document and where it lives; built by ``Settings``.

    Args:
        path: the request path the middleware answers (RFC 9728 §3.1: the well-known
            prefix, then the resource identifier's path).
        url: the document's absolute URL, named in every challenge's ``resource_metadata``.
        document: the JSON document.
    """

    path: str
    url: str
    document: Mapping[str, Any]

    def body(self) -> bytes:
        """The document as sent."""
        return json.dumps(self.document, separators=(",", ":")).encode()


def resource_metadata(value: Any, *, dpop_algs: list[str], dpop_required: bool, allow_http: bool) -> ResourceMetadata | None:
    """Validate ``resource_metadata`` (a mapping with ``resource``) and complete the document.

    What the middleware knows is filled in unless the mapping sets it: the bearer methods
    (``header``), ``dpop_signing_alg_values_supported`` and ``dpop_bound_access_tokens_required``.
    """
    if value is None:
        return None
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ConfigError("resource_metadata", "expected a mapping of metadata (RFC 9728 §2), with resource")
    resource = check.url("resource_metadata.resource", value.get("resource"), allow_http)
    parts = urlsplit(resource)
    if parts.query or parts.fragment:
        raise ConfigError("resource_metadata.resource", "a resource identifier has no query or fragment (RFC 9728 §1.2)")
    servers = value.get("authorization_servers")
    if servers is not None:
        for server in check.strings("resource_metadata.authorization_servers", servers, single_ok=False):
            check.url("resource_metadata.authorization_servers", server, allow_http)
    try:
        json.dumps(dict(value))
    except (TypeError, ValueError) as exc:
        raise ConfigError("resource_metadata", "every value must be JSON (strings, numbers, lists, mappings)") from exc
    document = {
        "resource": resource,
        "bearer_methods_supported": ["header"],
        "dpop_signing_alg_values_supported": dpop_algs,
        "dpop_bound_access_tokens_required": dpop_required,
        **value,
    }
    suffix = parts.path.rstrip("/")
    path = WELL_KNOWN + suffix
    return ResourceMetadata(path, f"{parts.scheme}://{parts.netloc}{path}", document)


@dataclass(frozen=True, slots=True)
class OriginPolicy:
    """The URL this resource serves, which a DPoP proof's ``htu`` must name (RFC 9449 §4.3
    check 9, §11.1); built by ``Settings`` from ``origin``, ``resource_metadata`` and
    ``trusted_proxies``, read by every door for the DPoP scheme only.

    The client's ``Host`` header never decides it: a proof accepted by one service must not
    pass at another one the client reaches with the same ``Host``.

    Args:
        origin: ``scheme://host[:port]``, what clients use (the ``origin`` setting, else the
            origin of ``resource_metadata.resource``); ``None`` when neither is set.
        proxies: the networks whose peers may name the host (``trusted_proxies``).
    """

    origin: str | None = None
    proxies: tuple[Network, ...] = ()

    def url(
        self,
        scheme: str,
        server: Sequence[Any] | None,
        target: str,
        peer: str | None,
        forwarded_host: str | None,
        forwarded_proto: str | None,
    ) -> str:
        """The URL a request's proof must name: ``scheme://host[:port]`` and the path as sent.

        The configured origin; else, from a trusted proxy, its ``X-Forwarded-Host`` (one
        ``host[:port]``) and ``X-Forwarded-Proto`` (``http``/``https``, default ``scheme``);
        else the server's own address, which fails closed when clients use a name.

        Args:
            scheme: the request's scheme as the server reports it (``http``, ``https``, ``ws``, ``wss``).
            server: the server's own address, ``(host, port)`` (ASGI ``server``; WSGI
                ``SERVER_NAME`` and ``SERVER_PORT``), or ``None``.
            target: the path as sent, percent-encoded, without the query.
            peer: the address of the peer that connected (ASGI ``client[0]``, WSGI ``REMOTE_ADDR``).
            forwarded_host: the ``X-Forwarded-Host`` header, read only from a trusted peer.
            forwarded_proto: the ``X-Forwarded-Proto`` header, idem.
        """
        path = target if target[:1] == "/" else "/" + target  # an absolute or odd target never names a host
        if self.origin is not None:  # what the operator configured beats any header
            return self.origin + path
        if forwarded_host is not None and self.proxies and _ONE_HOST(forwarded_host) and self.trusts(peer):
            proto = (forwarded_proto or "").lower()
            return f"{proto if proto in _PROTOS else scheme}://{forwarded_host}{path}"
        return f"{scheme}://{_authority(server)}{path}"

    def trusts(self, peer: str | None) -> bool:
        """Whether ``peer`` (an IP address) is in ``trusted_proxies``; a Unix socket's peer never is."""
        try:
            address = ipaddress.ip_address(peer or "")
        except ValueError:
            return False
        mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
        return any(address in net or (mapped is not None and mapped in net) for net in self.proxies)


def _authority(server: Sequence[Any] | None) -> str:
    """``host:port`` of a server address (an IPv6 host in brackets); empty, so matching nothing, when unknown."""
    if not server or not server[0]:
        return ""
    host, port = str(server[0]), server[1] if len(server) > 1 else None
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}" if port not in (None, "") else host


def origin_policy(origin: Any, proxies: Any, resource: ResourceMetadata | None, allow_http: bool) -> OriginPolicy:
    """Validate ``origin`` and ``trusted_proxies``; ``ConfigError`` names the key at fault.

    Args:
        origin: the ``origin`` setting: ``scheme://host[:port]``, or ``None``.
        proxies: the ``trusted_proxies`` setting: IP addresses and CIDR networks.
        resource: the validated ``resource_metadata``, whose resource's origin is the default.
        allow_http: ``jwks_allow_http``: an ``http`` origin on a host that is not loopback.
    """
    if origin is not None:
        check.url("origin", origin, allow_http)
        parts = urlsplit(origin)
        if parts.path not in ("", "/") or parts.query or parts.fragment or "?" in origin or "#" in origin:
            raise ConfigError("origin", "expected scheme://host[:port] only, without a path, query or fragment")
        origin = f"{parts.scheme.lower()}://{parts.netloc}"
    elif resource is not None:
        parts = urlsplit(resource.document["resource"])
        origin = f"{parts.scheme.lower()}://{parts.netloc}"
    networks = []
    for item in check.strings("trusted_proxies", proxies, single_ok=False, empty_ok=True):
        try:
            networks.append(ipaddress.ip_network(item))
        except ValueError as exc:
            raise ConfigError("trusted_proxies", f"{item!r} is not an IP address or a CIDR network") from exc
    return OriginPolicy(origin, tuple(networks))
