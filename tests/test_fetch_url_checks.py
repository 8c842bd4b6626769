"""URL syntax the fetcher refuses before anything is resolved or connected.

Parsers disagree on odd authorities: ``urlsplit`` (which the host policy reads) and urllib3
(which requests connects with) must see the same host, or the URL is refused. Every refusal
is ``URLNotAllowed``, whatever the input, and reaches neither the resolver nor a server.
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from urllib3.util import parse_url

from promidata_sync.conf import SyncConfig
from promidata_sync.fetching import Fetcher, FetchError, URLNotAllowed
from promidata_sync.url_safety import MAX_URL_CHARS, url_problem
from tests.feedpaths import base_path, port


class RecordingResolver:
    """Maps every name to loopback, and remembers that it was asked."""

    def __init__(self):
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return ["127.0.0.1"]


@pytest.fixture
def resolver() -> RecordingResolver:
    return RecordingResolver()


@pytest.fixture
def promi_fetcher(sync_config, resolver) -> Fetcher:
    """A fetcher whose allow-list admits promi-dl.de and all its subdomains."""
    config = SyncConfig.from_settings(
        import_url=sync_config.import_url,
        allowed_hosts=frozenset({"promi-dl.de", ".promi-dl.de"}),
        http_attempts=1,
    )
    return Fetcher(config, resolve=resolver)


def test_the_backslash_bypass_is_closed(feed_server, promi_fetcher, resolver):
    url = "http://evil.example\\.promi-dl.de/x.json"
    # The disagreement itself: the allow-list reads one host, requests would connect to another.
    assert parse_url(url).host == "evil.example"
    with pytest.raises(URLNotAllowed, match="refused"):
        promi_fetcher.get(url, max_bytes=100)
    assert resolver.asked == []
    assert feed_server.count() == 0


@pytest.mark.parametrize(
    "template",
    [
        # urllib3 would connect to the loopback server named before the backslash.
        "http://127.0.0.1:{port}\\@x.promi-dl.de/x.json",
        "http://127.0.0.1:{port}\\x.promi-dl.de/x.json",
        "http://127.0.0.1:{port}/\\@x.promi-dl.de/x.json",
        "http://x.promi-dl.de@127.0.0.1:{port}/x.json",
        "http://@x.promi-dl.de/x.json",
        "http://evil.example%2f.promi-dl.de/x.json",
        "http://evil.example%5c.promi-dl.de/x.json",
        "http://ex%61mple.promi-dl.de/x.json",
        "http://evil.example\t.promi-dl.de/x.json",
        "http://evil.example\n.promi-dl.de/x.json",
        "http://evil.example .promi-dl.de/x.json",
        "http://evil.example\u3000.promi-dl.de/x.json",
        "http://evil\u200b.promi-dl.de/x.json",
        "http://evil\x00.promi-dl.de/x.json",
        "http://b\u00fccher.promi-dl.de/x.json",
        " http://x.promi-dl.de/x.json",
        "http://x.promi-dl.de/x.json\n",
        "http://x.promi-dl.de/a\x7fb.json",
    ],
)
def test_authority_tricks_are_refused_without_a_request(
    template, feed_server, promi_fetcher, resolver
):
    url = template.format(port=port(feed_server))
    with pytest.raises(URLNotAllowed):
        promi_fetcher.get(url, max_bytes=100)
    assert resolver.asked == []
    assert feed_server.count() == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://x.promi-dl.de:99999/x.json",
        "http://x.promi-dl.de:0/x.json",
        "http://x.promi-dl.de:-1/x.json",
        "http://x.promi-dl.de:80:80/x.json",
        "http://x.promi-dl.de:\uff18\uff10/x.json",  # fullwidth digits
        "http://x.promi-dl.de:http/x.json",
        "http://[::1/x.json",
        "http://[::1]x/x.json",
    ],
)
def test_invalid_ports_and_brackets_are_url_not_allowed(url, promi_fetcher, resolver):
    with pytest.raises(URLNotAllowed):
        promi_fetcher.check_url(url)
    with pytest.raises(URLNotAllowed):
        promi_fetcher.get(url, max_bytes=100)
    assert resolver.asked == []


def test_a_very_long_url_is_refused(promi_fetcher, feed_server):
    url = "http://x.promi-dl.de/" + "a" * 3000
    with pytest.raises(URLNotAllowed, match="over the limit"):
        promi_fetcher.get(url, max_bytes=100)
    assert url_problem("http://x.promi-dl.de/" + "a" * (MAX_URL_CHARS - 21)) is None


@pytest.mark.parametrize("value", [None, b"http://x.promi-dl.de/x.json", 42])
def test_what_is_not_text_is_refused(value, promi_fetcher):
    with pytest.raises(URLNotAllowed, match="not text"):
        promi_fetcher.get(value, max_bytes=100)


def test_clean_urls_still_pass(promi_fetcher):
    for url in [
        "http://promi-dl.de/a.json",
        "https://IMAGES.Promi-DL.de./x/y.jpg?v=1#top",
        "http://x.promi-dl.de:8080/a%20b/c+d.json",
        "http://x.promi-dl.de/path with spaces/é.json",
    ]:
        promi_fetcher.check_url(url)


def test_nul_in_a_file_path_is_refused(tmp_path):
    feed_dir = tmp_path / "profile"
    (feed_dir / "Import").mkdir(parents=True)
    config = SyncConfig.from_settings(import_url=(feed_dir / "Import" / "Import.txt").as_uri())
    fetcher = Fetcher(config)
    for url in [f"{feed_dir.as_uri()}/A1/x%00.json", f"{feed_dir.as_uri()}/A1/x\x00.json"]:
        with pytest.raises(URLNotAllowed):
            fetcher.get(url, max_bytes=100)


# ---------------------------------------------------------------------- redirects


@pytest.mark.parametrize(
    "location",
    [
        "http://[",
        "http://evil.example\\.127.0.0.1/x.json",
        "http://127.0.0.1:99999/x.json",
        "http://evil.example/x.json",
        "file:///etc/passwd",
    ],
)
def test_bad_redirect_locations_are_url_not_allowed(location, feed_server, sync_config):
    path = f"{base_path(feed_server)}/A100/A100-F00001.json"
    feed_server.fail(path, 302, headers={"Location": location})
    with pytest.raises(URLNotAllowed):
        Fetcher(sync_config).get(feed_server.url + path, max_bytes=10**6)
    assert feed_server.count() == 1  # the redirect itself; its target was never asked for


def test_a_redirect_without_a_location_is_permanent(feed_server, sync_config):
    path = f"{base_path(feed_server)}/A100/A100-F00001.json"
    feed_server.fail(path, 302, headers={"Location": " "})
    with pytest.raises(FetchError) as raised:
        Fetcher(sync_config).get(feed_server.url + path, max_bytes=10**6)
    assert raised.value.permanent


def test_a_relative_redirect_on_the_same_host_is_followed(feed_server, sync_config):
    path = f"{base_path(feed_server)}/A100/A100-F00001.json"
    feed_server.fail("/old.json", 301, headers={"Location": path})
    fetched = Fetcher(sync_config).get(feed_server.url + "/old.json", max_bytes=10**6)
    assert fetched.content.startswith(b"{") and fetched.url == feed_server.url + path


# ---------------------------------------------------------------------- any input at all


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tail=st.text(max_size=60),
    scheme=st.sampled_from(["http://", "https://", "file://", "ftp://", "", "HTTP://"]),
)
def test_check_url_raises_only_url_not_allowed(scheme, tail):
    fetcher = Fetcher(
        SyncConfig(
            import_url="http://promi-dl.de/Import.txt",
            allowed_hosts=frozenset({"promi-dl.de", ".promi-dl.de"}),
        )
    )
    for url in (scheme + tail, f"{scheme}x.promi-dl.de{tail}", f"{scheme}[{tail}]/"):
        with contextlib.suppress(URLNotAllowed):
            fetcher.check_url(url)
