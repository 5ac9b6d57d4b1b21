"""The in-process event bus (mockchats.core.events): what a model publishes reaches every
subscriber, in order, and one subscriber's failure is no one else's."""
from __future__ import annotations

import logging
import threading

import pytest

from mockchats.core.events import SESSION_EXPIRED, USER_ADDED, Event, Events

USER = {"id": "u1", "role": "Client", "name": "Grace", "address": "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359"}


def test_subscribers_get_every_event_in_order():
    events, first, second = Events(), [], []
    events.subscribe(first.append)
    events.subscribe(second.append)
    published = [Event("s1", USER_ADDED, USER), Event("s1", SESSION_EXPIRED, {})]
    for event in published:
        events.publish(event)
    assert first == published and second == published


def test_subscribers_are_called_in_the_order_they_subscribed():
    events, calls = Events(), []
    for name in "abc":
        events.subscribe(lambda event, name=name: calls.append(name))
    events.publish(Event("s1", SESSION_EXPIRED))
    assert calls == ["a", "b", "c"]


def test_a_subscriber_gets_nothing_before_it_subscribes_or_after_it_leaves():
    events, got = Events(), []
    events.publish(Event("s1", SESSION_EXPIRED))
    unsubscribe = events.subscribe(got.append)
    events.publish(Event("s2", SESSION_EXPIRED))
    unsubscribe()
    unsubscribe()  # twice is harmless
    events.publish(Event("s3", SESSION_EXPIRED))
    assert [e.session_id for e in got] == ["s2"]


def test_publishing_with_no_subscriber_does_nothing():
    Events().publish(Event("s1", SESSION_EXPIRED))


def test_a_failing_subscriber_is_logged_and_the_others_still_get_the_event(caplog):
    events, got = Events(), []

    def broken(event):
        raise RuntimeError("boom")

    events.subscribe(broken)
    events.subscribe(got.append)
    with caplog.at_level(logging.ERROR, logger="mockchats.events"):
        events.publish(Event("s1", USER_ADDED, USER))
    assert len(got) == 1
    assert "UserAdded" in caplog.text and "boom" in caplog.text


def test_the_envelope_is_the_published_one():
    assert Event("s1", USER_ADDED, USER).envelope() == {"sessionId": "s1", "eventType": "UserAdded", "data": USER}
    assert Event("s1", SESSION_EXPIRED).envelope() == {"sessionId": "s1", "eventType": "SessionExpired", "data": {}}


def test_an_event_cannot_change_under_its_subscribers():
    data = dict(USER)
    event = Event("s1", USER_ADDED, data)
    data["name"] = "changed"  # the publisher's dict is not the event's
    assert event.data["name"] == "Grace"
    with pytest.raises(TypeError):
        event.data["name"] = "changed"  # type: ignore[index]
    envelope = event.envelope()
    envelope["data"]["name"] = "changed"
    assert event.data["name"] == "Grace"


def test_subscribing_while_others_publish_loses_nothing():
    events = Events()
    counts: list[list[Event]] = []
    done = threading.Event()

    def publisher():
        while not done.is_set():
            events.publish(Event("s1", SESSION_EXPIRED))

    threads = [threading.Thread(target=publisher) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(200):
            got: list[Event] = []
            counts.append(got)
            events.subscribe(got.append)
    finally:
        done.set()
        for thread in threads:
            thread.join()
    assert len(events._subscribers) == 200
    # Once subscribed, a subscriber got every later event: the earliest has the most.
    sizes = [len(got) for got in counts]
    assert sizes == sorted(sizes, reverse=True)
