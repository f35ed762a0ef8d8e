"""The `notifications` section as registry:2 writes it, and what is refused."""
from __future__ import annotations

import pytest

from registry.events import NotificationsConfigError, parse_notifications
from registry.events.settings import parse_duration


def test_an_endpoint_with_every_key():
    settings = parse_notifications({"events": {"includereferences": True}, "endpoints": [
        {"name": "a", "url": "https://a.example/e", "headers": {"Authorization": ["Bearer x"], "X-One": "1"},
         "timeout": "500ms", "threshold": 5, "backoff": "1m30s", "ignoredmediatypes": ["application/octet-stream"],
         "ignore": {"mediatypes": ["text/plain"], "actions": ["pull"]}},
        {"name": "off", "url": "https://b.example/e", "disabled": True}]})
    (endpoint,) = settings.endpoints
    assert settings.include_references
    assert endpoint.headers == (("Authorization", "Bearer x"), ("X-One", "1"))
    assert (endpoint.timeout, endpoint.threshold, endpoint.backoff) == (0.5, 5, 90.0)
    assert endpoint.ignored_media_types == {"application/octet-stream", "text/plain"}
    assert not endpoint.wants({"action": "pull", "target": {}})
    assert not endpoint.wants({"action": "push", "target": {"mediaType": "text/plain"}})
    assert endpoint.wants({"action": "push", "target": {"mediaType": "application/json"}})


def test_distributions_defaults():
    (endpoint,) = parse_notifications({"endpoints": [{"name": "a", "url": "http://a"}]}).endpoints
    assert (endpoint.timeout, endpoint.threshold, endpoint.backoff) == (1.0, 10, 1.0)


def test_durations_read_as_go_reads_them():
    assert parse_duration("1h2m3.5s", "x") == 3723.5
    assert parse_duration("250us", "x") == pytest.approx(0.00025)
    assert parse_duration(1_500_000_000, "x") == 1.5  # a bare number is nanoseconds


@pytest.mark.parametrize("section, named", [
    ({"endpoints": [{"name": "a", "url": "http://a", "retries": 3}]}, "notifications.endpoints[0].retries"),
    ({"endpoints": [{"name": "a"}]}, "notifications.endpoints[0].url"),
    ({"endpoints": [{"name": "a", "url": "http://a", "timeout": "soon"}]}, "notifications.endpoints[0].timeout"),
    ({"endpoints": [{"name": "a", "url": "http://a", "ignore": {"actions": ["push", "fly"]}}]}, "fly"),
    ({"endpoints": [{"name": "a", "url": "http://a"}, {"name": "a", "url": "http://b"}]}, "unique"),
    ({"endpoint": []}, "notifications.endpoint"),
])
def test_what_pyreg_cannot_honour_stops_it_with_the_key(section, named):
    with pytest.raises(NotificationsConfigError, match=named.replace("[", r"\[").replace("]", r"\]")):
        parse_notifications(section)
