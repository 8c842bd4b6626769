"""FeedServer over real loopback HTTP: routing, accounting, faults, caching, CLI."""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
from PIL import Image

from devtools.feedgen import FeedSpec, SyntheticFeed
from devtools.feedserver import FAKE_PROFILE_GUID, FeedServer, classify_path

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def feed() -> SyntheticFeed:
    return SyntheticFeed(FeedSpec(suppliers=2, families_per_supplier=3))


@pytest.fixture
def server(feed):
    with FeedServer(feed) as running:
        yield running


def _index(server: FeedServer) -> list[str]:
    response = requests.get(server.import_url, timeout=5)
    response.raise_for_status()
    return response.text.splitlines()


def _path(server: FeedServer, url: str) -> str:
    return url.removeprefix(server.url)


def _first_family(server: FeedServer) -> str:
    return _index(server)[1].split("|")[0]


def _raw_get(server: FeedServer, raw_path: str) -> int:
    """GET with the path sent verbatim (requests would normalise '..')."""
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.request("GET", raw_path)
        return connection.getresponse().status
    finally:
        connection.close()


# ---------------------------------------------------------------------- serving


def test_urls_look_like_a_real_profile(server):
    assert server.url.startswith("http://127.0.0.1:")
    assert server.import_url == f"{server.url}/Profiles/Live/{FAKE_PROFILE_GUID}/Import/Import.txt"
    assert server.feed.base_url == server.base_url


def test_serves_index_categories_family_and_image(server, feed):
    lines = _index(server)
    assert lines[0] == f"{server.base_url}/CAT.csv"
    categories = requests.get(lines[0], timeout=5)
    assert categories.headers["Content-Type"].startswith("text/csv")
    assert categories.content == feed.categories_csv()

    family_url = lines[1].split("|")[0]
    family = requests.get(family_url, timeout=5)
    assert family.headers["Content-Type"] == "application/json"
    doc = family.json()
    image_url = doc["ChildProducts"][0]["ProductDetails"]["de"]["Image"]["Url"]
    assert image_url.startswith(f"{server.base_url}/Images/")
    image = requests.get(image_url, timeout=5)
    assert image.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(image.content)).format == "PNG"

    counts = {kind: server.count(kind) for kind in ("index", "categories", "family", "image")}
    assert counts == {"index": 1, "categories": 1, "family": 1, "image": 1}
    assert server.count() == 4
    assert server.count("other") == 0


def test_expected_matches_what_the_server_serves(server, feed):
    expected = feed.expected()
    for line in _index(server)[1:]:
        doc = requests.get(line.split("|")[0], timeout=5).json()
        family = expected[doc["ANumber"]][doc["Sku"]]
        for child in doc["ChildProducts"]:
            url = child["ProductDetails"]["en"]["Image"]["Url"]
            assert family["variants"][child["Sku"]]["images"][0] == url
            assert requests.head(url, timeout=5).status_code == 200


def test_unknown_paths_are_404(server):
    assert requests.get(f"{server.url}/nothing", timeout=5).status_code == 404
    assert requests.get(f"{server.base_url}/A100/A100-F00099.json", timeout=5).status_code == 404
    assert requests.get(f"{server.base_url}/Images/bogus.png", timeout=5).status_code == 404
    assert server.count("other") == 1


def test_head_has_headers_but_no_body(server):
    head = requests.head(server.import_url, timeout=5)
    get = requests.get(server.import_url, timeout=5)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == str(len(get.content))
    assert head.headers["ETag"] == get.headers["ETag"]
    assert [r.method for r in server.requests] == ["HEAD", "GET"]


def test_request_log_and_reset(server):
    requests.get(server.import_url, headers={"X-Probe": "1"}, timeout=5)
    (record,) = server.requests
    assert record.method == "GET" and record.status == 200
    assert record.path == _path(server, server.import_url)
    assert record.headers["X-Probe"] == "1"
    assert abs(record.time - time.time()) < 60
    server.reset_counts()
    assert server.count() == 0 and server.requests == []
    with pytest.raises(ValueError):
        server.count("families")


def test_classify_path():
    assert classify_path("/x/Import/Import.txt") == "index"
    assert classify_path("/x/CAT.csv") == "categories"
    assert classify_path("/x/A1/A1-2.json") == "family"
    assert classify_path("/x/Images/abc.png") == "image"
    assert classify_path("/favicon.ico") == "other"


# ---------------------------------------------------------------------- conditional GET


def test_if_none_match_gives_304_until_content_changes(server, feed):
    family_url = _first_family(server)
    first = requests.get(family_url, timeout=5)
    etag = first.headers["ETag"]
    assert etag.startswith('"') and first.headers["Last-Modified"]
    again = requests.get(family_url, headers={"If-None-Match": etag}, timeout=5)
    assert again.status_code == 304 and again.content == b""
    weak = requests.get(family_url, headers={"If-None-Match": f'"x", W/{etag}'}, timeout=5)
    assert weak.status_code == 304
    sku = family_url.rsplit("/", 1)[1].removesuffix(".json")
    feed.set_price(sku, 0, Decimal("0.01"))
    changed = requests.get(family_url, headers={"If-None-Match": etag}, timeout=5)
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_images_answer_304(server, feed):
    doc = requests.get(_first_family(server), timeout=5).json()
    image_url = doc["ChildProducts"][0]["ProductDetails"]["de"]["Image"]["Url"]
    etag = requests.get(image_url, timeout=5).headers["ETag"]
    assert requests.get(image_url, headers={"If-None-Match": etag}, timeout=5).status_code == 304
    assert server.requests[-1].status == 304


# ---------------------------------------------------------------------- faults


def test_fail_always_with_404(server):
    path = _path(server, server.import_url)
    server.fail(path, 404)
    for _ in range(3):
        assert requests.get(server.import_url, timeout=5).status_code == 404
    server.clear_faults()
    assert requests.get(server.import_url, timeout=5).status_code == 200


def test_fail_500_then_success(server):
    family_url = _first_family(server)
    server.fail(_path(server, family_url), 500, times=2, body=b"boom")
    first = requests.get(family_url, timeout=5)
    assert (first.status_code, first.content) == (500, b"boom")
    assert requests.get(family_url, timeout=5).status_code == 500
    assert requests.get(family_url, timeout=5).status_code == 200
    assert [r.status for r in server.requests[-3:]] == [500, 500, 200]


def test_429_with_retry_after(server):
    server.fail(_path(server, server.import_url), 429, times=1, headers={"Retry-After": "1"})
    limited = requests.get(server.import_url, timeout=5)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
    assert requests.get(server.import_url, timeout=5).status_code == 200


def test_truncation_raises_in_the_client(server):
    family_url = _first_family(server)
    server.truncate(_path(server, family_url), 50, times=1)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(family_url, timeout=5)
    assert requests.get(family_url, timeout=5).json()["ChildProducts"]


def test_replace_serves_other_bytes(server):
    family_url = _first_family(server)
    server.replace(_path(server, family_url), b'{"Sku": ', "application/json")
    response = requests.get(family_url, timeout=5)
    assert response.status_code == 200 and response.content == b'{"Sku": '
    with pytest.raises(ValueError):
        response.json()
    server.replace("/Images/huge.png", b"not an image", "image/png")
    assert requests.get(f"{server.url}/Images/huge.png", timeout=5).content == b"not an image"


def test_delay_provokes_client_timeout(server):
    server.delay(_path(server, server.import_url), 1.0)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(server.import_url, timeout=0.2)
    server.clear_faults()
    assert requests.get(server.import_url, timeout=5).status_code == 200


def test_fault_rules_accept_decoded_paths(tmp_path):
    (tmp_path / "A130-100+1.json").write_bytes(b"{}")
    with FeedServer(directory=tmp_path) as server:
        server.fail("/A130-100+1.json", 503, times=1)
        url = f"{server.url}/A130-100%2B1.json"
        assert requests.get(url, timeout=5).status_code == 503
        assert requests.get(url, timeout=5).content == b"{}"


def test_latency_applies_to_every_request(feed):
    with FeedServer(feed, latency_ms=150) as server:
        started = time.perf_counter()
        requests.get(server.import_url, timeout=5)
        assert time.perf_counter() - started >= 0.15


# ---------------------------------------------------------------------- slow bodies, framing


def _raw_exchange(server: FeedServer, path: str) -> bytes:
    """Send one GET on a fresh socket and read until the server closes (or 5 s pass)."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


def test_dribble_sends_the_headers_at_once_then_the_body_slowly(server):
    server.replace("/slow.bin", b"abcdef")
    server.dribble("/slow.bin", 0.3, chunk_bytes=2)
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        started = time.perf_counter()
        connection.request("GET", "/slow.bin")
        response = connection.getresponse()
        headers_after = time.perf_counter() - started
        assert response.getheader("Content-Length") == "6"
        pieces = []
        while piece := response.read1(16):
            pieces.append(piece)
        body_after = time.perf_counter() - started
    finally:
        connection.close()
    assert headers_after < 0.25  # the first piece waits 0.3 s
    assert b"".join(pieces) == b"abcdef" and len(pieces) == 3
    assert body_after >= 0.9


def test_dribble_times_then_normal(server):
    server.replace("/slow.bin", b"abc")
    server.dribble("/slow.bin", 0.2, times=1)
    started = time.perf_counter()
    assert requests.get(f"{server.url}/slow.bin", timeout=5).content == b"abc"
    assert time.perf_counter() - started >= 0.6
    started = time.perf_counter()
    assert requests.get(f"{server.url}/slow.bin", timeout=5).content == b"abc"
    assert time.perf_counter() - started < 0.2


def test_stop_ends_a_dribble_at_once(feed):
    server = FeedServer(feed).start()
    server.replace("/slow.bin", b"x" * 100)
    server.dribble("/slow.bin", 5)
    reader = threading.Thread(target=_raw_exchange, args=(server, "/slow.bin"), daemon=True)
    reader.start()
    time.sleep(0.2)
    started = time.perf_counter()
    server.stop()
    reader.join(timeout=5)
    assert not reader.is_alive() and time.perf_counter() - started < 2


def test_close_framing_answers_http_1_0_without_a_length(server, feed):
    server.frame("/Profiles/Live/" + FAKE_PROFILE_GUID + "/CAT.csv", "close")
    raw = _raw_exchange(server, f"/Profiles/Live/{FAKE_PROFILE_GUID}/CAT.csv")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 200")
    assert b"content-length" not in head.lower()
    assert b"connection: close" in head.lower()
    assert body == feed.categories_csv()  # and the server closed: the read above ended


def test_close_framing_truncated_looks_whole_to_a_client(server, feed):
    server.truncate(_path(server, server.import_url), 30, framing="close")
    response = requests.get(server.import_url, timeout=5)
    assert response.status_code == 200 and "Content-Length" not in response.headers
    assert response.content == feed.import_txt(server.base_url)[:30]


def test_chunked_framing(server, feed):
    family_url = _first_family(server)
    server.frame(_path(server, family_url), "chunked")
    raw = _raw_exchange_keepalive_closed(server, _path(server, family_url))
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    assert b"content-length" not in head.lower()
    assert body.endswith(b"\r\n0\r\n\r\n")
    with requests.Session() as session:  # decodes, and the connection stays usable
        first = session.get(family_url, timeout=5)
        assert first.json()["ChildProducts"]
        assert first.headers["Transfer-Encoding"] == "chunked"
        assert session.get(server.import_url, timeout=5).status_code == 200


def _raw_exchange_keepalive_closed(server: FeedServer, path: str) -> bytes:
    """Like _raw_exchange, asking the server to close after a keep-alive answer."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        sock.sendall(request.encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


def test_chunked_truncation_raises_in_the_client(server):
    family_url = _first_family(server)
    server.truncate(_path(server, family_url), 50, times=1, framing="chunked")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(family_url, timeout=5)
    assert requests.get(family_url, timeout=5).json()["ChildProducts"]


def test_dribbled_chunks_and_error_answers_keep_their_framing(server):
    server.replace("/slow.bin", b"abcd")
    server.frame("/slow.bin", "chunked")
    server.dribble("/slow.bin", 0.01, chunk_bytes=1)
    raw = _raw_exchange_keepalive_closed(server, "/slow.bin")
    assert raw.endswith(b"1\r\na\r\n1\r\nb\r\n1\r\nc\r\n1\r\nd\r\n0\r\n\r\n")
    server.fail("/slow.bin", 503, times=1, body=b"busy")
    failed = requests.get(f"{server.url}/slow.bin", timeout=5)
    assert failed.status_code == 503 and failed.headers["Content-Length"] == "4"


def test_framing_and_dribble_arguments_are_checked(server):
    with pytest.raises(ValueError):
        server.frame("/x", "telepathy")
    with pytest.raises(ValueError):
        server.truncate("/x", 3, framing="smoke")
    with pytest.raises(ValueError):
        server.dribble("/x", 0.1, chunk_bytes=0)


def test_clear_faults_removes_dribbles_and_framings(server, feed):
    path = f"/Profiles/Live/{FAKE_PROFILE_GUID}/CAT.csv"
    server.frame(path, "close")
    server.dribble(path, 1)
    server.clear_faults()
    started = time.perf_counter()
    response = requests.get(server.url + path, timeout=5)
    assert response.headers["Content-Length"] == str(len(feed.categories_csv()))
    assert time.perf_counter() - started < 0.5


def test_a_request_answered_after_stop_is_rendered_without_error(feed, capfd):
    server = FeedServer(feed).start()
    url = server.import_url
    server.delay(_path(server, url), 0.3)

    def client():
        with contextlib.suppress(requests.RequestException):
            requests.get(url, timeout=0.1)

    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    time.sleep(0.15)
    server.stop()
    time.sleep(0.4)  # the handler wakes after stop() and renders Import.txt
    assert "RuntimeError" not in capfd.readouterr().err


# ---------------------------------------------------------------------- directories


def test_directory_serves_files_with_types(tmp_path):
    (tmp_path / "Import").mkdir()
    (tmp_path / "Import" / "Import.txt").write_bytes(b"../CAT.csv\r\n")
    (tmp_path / "sub dir").mkdir()
    (tmp_path / "sub dir" / "x.json").write_bytes(b"[]")
    with FeedServer(directory=tmp_path) as server:
        assert server.import_url == f"{server.url}/Import/Import.txt"
        index = requests.get(server.import_url, timeout=5)
        assert index.content == b"../CAT.csv\r\n"
        assert index.headers["Content-Type"].startswith("text/plain")
        assert requests.get(f"{server.url}/sub%20dir/x.json", timeout=5).json() == []
        assert requests.get(f"{server.url}/sub%20dir", timeout=5).status_code == 404


def test_directory_refuses_path_traversal(tmp_path):
    root = tmp_path / "feed"
    root.mkdir()
    (root / "ok.txt").write_bytes(b"ok")
    (tmp_path / "secret.txt").write_bytes(b"secret")
    (root / "escape").symlink_to(tmp_path)
    with FeedServer(directory=root) as server:
        assert _raw_get(server, "/ok.txt") == 200
        assert _raw_get(server, "/../secret.txt") == 404
        assert _raw_get(server, "/..%2Fsecret.txt") == 404
        assert _raw_get(server, "/%2e%2e/secret.txt") == 404
        assert _raw_get(server, "/escape/secret.txt") == 404
        assert _raw_get(server, "/" + str(tmp_path / "secret.txt")) == 404


def test_sample_feed_over_http():
    with FeedServer(directory=REPO_ROOT / "sample_feed") as server:
        lines = requests.get(server.import_url, timeout=5).content.decode("utf-8-sig")
        product = next(line for line in lines.splitlines() if "%2B" in line)
        url = urljoin(server.import_url, product.split("|")[0])
        assert requests.get(url, timeout=5).json()["Sku"] == "A130-100+1"


def test_constructor_needs_exactly_one_source(tmp_path, feed):
    with pytest.raises(ValueError):
        FeedServer()
    with pytest.raises(ValueError):
        FeedServer(feed, directory=tmp_path)
    with pytest.raises(RuntimeError):
        _ = FeedServer(feed).url


# ---------------------------------------------------------------------- CLI


def _run_cli(*args: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.feedserver", *args],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    return process, process.stdout.readline().strip()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_serves_synthetic_feed_until_signalled(sig):
    process, import_url = _run_cli("--suppliers", "1", "--families", "2", "--image-pool", "3")
    try:
        assert import_url.endswith("/Import/Import.txt"), process.stderr.read()
        lines = requests.get(import_url, timeout=5).text.splitlines()
        assert len(lines) == 3
        assert json.loads(requests.get(lines[1].split("|")[0], timeout=5).content)["ANumber"]
    finally:
        process.send_signal(sig)
        assert process.wait(timeout=10) == 0
    assert process.stderr.read() == ""


def test_cli_serves_a_directory():
    process, import_url = _run_cli("--directory", str(REPO_ROOT / "sample_feed"))
    try:
        assert requests.get(import_url, timeout=5).content.startswith(b"\xef\xbb\xbf../CAT.csv")
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
