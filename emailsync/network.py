"""Connections to users' mail servers: address checks, pinning and TLS.

A user can type any server name, so the name is resolved once here, every
resolved address is checked against the operator's policy, and the socket
is opened to one of those checked addresses. The TLS layer still verifies
the certificate against the name the user typed. Resolving again inside a
library would let a DNS answer that changed in between (DNS rebinding)
reach an internal address.
"""

import ipaddress
import socket
import ssl

from django.conf import settings

from . import errors
from .errors import MailError


def host_is_private(address):
    """Return True for loopback, private, link-local and other internal addresses."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.ip_network("100.64.0.0/10"))
    )


def resolve(host, port):
    """Resolve host and return its allowed (family, sockaddr) pairs.

    Raises MailError when the name does not resolve or, unless the operator
    allows private hosts, when any resolved address is internal: a name with
    one public and one private address is rejected as a whole.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise MailError(errors.HOST_NOT_FOUND, f"getaddrinfo: {exc}", host=host, port=port) from None

    targets = []
    for family, _type, _proto, _canonname, sockaddr in infos:
        if (family, sockaddr) not in targets:
            targets.append((family, sockaddr))

    if not settings.EMAILSYNC_ALLOW_PRIVATE_HOSTS:
        for _family, sockaddr in targets:
            if host_is_private(sockaddr[0]):
                raise MailError(
                    errors.PRIVATE_HOST_FORBIDDEN, f"{host} resolves to {sockaddr[0]}",
                    host=host, port=port,
                )
    return targets


def check_security_allowed(security, host, port):
    if security == "plain" and not settings.EMAILSYNC_ALLOW_PLAINTEXT:
        raise MailError(errors.PLAINTEXT_FORBIDDEN, "plaintext disabled by settings", host=host, port=port)


def open_socket(host, port, timeout):
    """Open a TCP connection to a checked address of host."""
    last_error = None
    for family, sockaddr in resolve(host, port):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            last_error = exc
    raise errors.from_os_error(last_error or OSError("no address"), host, port)


def tls_context():
    """Return a verifying client context, trusting the operator's CA file too."""
    context = ssl.create_default_context(purpose=ssl.Purpose.SERVER_AUTH)
    ca_file = settings.EMAILSYNC_CA_FILE
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context
