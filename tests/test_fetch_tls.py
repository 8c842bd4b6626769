"""HTTPS with pinned connections: SNI, certificate checks and the deadline stay on the name.

A loopback HTTPS server with a certificate for ``feed.test`` (signed by a CA made here); an
injected resolver maps ``feed.test`` to 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from promidata_sync.conf import SyncConfig
from promidata_sync.fetching import Fetcher, FetchError
from promidata_sync.http_transport import ConnectionPolicy, PinnedAdapter

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)
BODY = b"0123456789" * 10


def _loopback(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


def _certificates(folder, name: str):
    """A self-signed CA and a certificate for ``name`` signed by it: (ca, cert, key) files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])

    def builder(subject, public_key):
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_name)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
        )

    ca = (
        builder(ca_name, ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert = (
        builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]), key.public_key())
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    files = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    files[0].write_bytes(ca.public_bytes(pem))
    files[1].write_bytes(cert.public_bytes(pem))
    files[2].write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return files


class _Handler(BaseHTTPRequestHandler):
    """``/slow`` sends its body a byte every 0.2 s; anything else at once."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.server.seen["host"].append(self.headers["Host"])
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        if self.path != "/slow":
            self.wfile.write(BODY)
            return
        for byte in BODY:
            if self.server.stopping.wait(0.2):
                return
            self.wfile.write(bytes([byte]))
            self.wfile.flush()

    def log_message(self, *args):
        pass


@pytest.fixture
def tls_server(tmp_path):
    """(port, CA file, {"sni": [...], "host": [...]}) of a running HTTPS server."""
    ca, cert, key = _certificates(tmp_path, "feed.test")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.seen = {"sni": [], "host": []}
    httpd.stopping = threading.Event()
    context.sni_callback = lambda sock, name, ctx: httpd.seen["sni"].append(name)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1], ca, httpd.seen
    finally:
        httpd.stopping.set()
        httpd.shutdown()
        httpd.server_close()


def _session(ca, host: str = "feed.test") -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(ca)
    policy = ConnectionPolicy(allowed_hosts=frozenset({host}), networks=LOOPBACK, resolve=_loopback)
    session.mount("https://", PinnedAdapter(policy))
    return session


def test_sni_and_host_header_carry_the_name(tls_server):
    tls_port, ca, seen = tls_server
    response = _session(ca).get(f"https://feed.test:{tls_port}/x", timeout=5)
    assert response.content == BODY
    assert seen["sni"] == ["feed.test"]
    assert seen["host"] == [f"feed.test:{tls_port}"]


def test_the_certificate_is_still_checked_against_the_name(tls_server):
    tls_port, ca, seen = tls_server
    # Pinned to the same server, but asked for a name its certificate does not have.
    with pytest.raises(requests.exceptions.SSLError):
        _session(ca, host="other.test").get(f"https://other.test:{tls_port}/x", timeout=5)
    assert seen["sni"] == ["other.test"] and seen["host"] == []


def _fetcher(tls_port, ca, sync_config, **overrides) -> tuple[Fetcher, str]:
    config = SyncConfig.from_settings(
        import_url=sync_config.import_url,
        allowed_hosts=frozenset({"feed.test"}),
        allowed_networks=LOOPBACK,
        http_timeout_seconds=5,
        http_attempts=2,
        http_backoff_seconds=0.01,
        **overrides,
    )
    fetcher = Fetcher(config, resolve=_loopback)
    fetcher._session().verify = str(ca)  # the test CA; production uses the system's
    return fetcher, f"https://feed.test:{tls_port}"


def test_the_fetcher_over_tls(tls_server, sync_config):
    tls_port, ca, _ = tls_server
    fetcher, base = _fetcher(tls_port, ca, sync_config)
    fetched = fetcher.get(f"{base}/x", max_bytes=1000)
    assert fetched.content == BODY and fetched.complete


def test_the_deadline_stops_a_dribbling_tls_server(tls_server, sync_config):
    tls_port, ca, _ = tls_server
    fetcher, base = _fetcher(tls_port, ca, sync_config, http_deadline_seconds=1.5)
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"deadline of 1\.5s") as raised:
        fetcher.get(f"{base}/slow", max_bytes=1000)
    assert time.monotonic() - started < 5 and not raised.value.permanent
    assert fetcher.get(f"{base}/x", max_bytes=1000).content == BODY  # the fetcher recovers


@pytest.fixture
def dribbling_handshake():
    """A TCP server on loopback that answers a TLS ClientHello a byte every 0.3 s."""
    stopping = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))

    def serve():
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)  # the ClientHello
            # A handshake record announcing 16 KiB, which then never quite arrives.
            for byte in b"\x16\x03\x03\x40\x00" + b"\x02" * 1000:
                if stopping.wait(0.3):
                    return
                try:
                    connection.sendall(bytes([byte]))
                except OSError:
                    return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stopping.set()
        listener.close()


def test_the_deadline_also_covers_the_tls_handshake(dribbling_handshake, tmp_path, sync_config):
    ca, _, _ = _certificates(tmp_path, "feed.test")
    fetcher, base = _fetcher(dribbling_handshake, ca, sync_config, http_deadline_seconds=1.5)
    started = time.monotonic()
    with pytest.raises(FetchError, match="deadline"):
        fetcher.get(f"{base}/x", max_bytes=1000)
    assert time.monotonic() - started < 4  # each read comes in time; only the deadline ends it
