"""The embedded default's broker: a worker polling while a web process writes never takes half a message."""

from __future__ import annotations

import threading
from pathlib import Path
from queue import Empty

import pytest
from kombu import Connection

from loopdesk.celery import app
from loopdesk.core.fsbroker import Transport


def channel(folder: Path):
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder), "store_processed": False,
               "control_folder": str(folder / "control")}
    return Connection("filesystem://", transport=Transport, transport_options=options).channel()


def test_a_consumer_polling_while_messages_are_written_gets_each_whole_and_once(tmp_path: Path) -> None:
    producer, consumer = channel(tmp_path), channel(tmp_path)
    count, body = 40, "工单" * 400_000  # ~2.4 MB each: a write takes long enough to be caught in the middle
    received: list[dict] = []
    errors: list[BaseException] = []

    def consume() -> None:
        while len(received) < count and not errors:
            try:
                received.append(consumer._get("celery"))
            except Empty:
                continue
            except BaseException as exc:  # a half-written file: JSONDecodeError
                errors.append(exc)

    reader = threading.Thread(target=consume)
    reader.start()
    for number in range(count):
        producer._put("celery", {"number": number, "body": body})
    reader.join(60)
    assert not errors, errors[0]
    assert sorted(message["number"] for message in received) == list(range(count))
    assert all(message["body"] == body for message in received)
    assert list(tmp_path.glob("*.msg*")) == []  # nothing left behind, nothing half taken


def test_other_queues_messages_are_left_alone(tmp_path: Path) -> None:
    ch = channel(tmp_path)
    ch._put("imports", {"n": 1})
    ch._put("celery", {"n": 2})
    assert ch._size("imports") == 1
    assert ch._get("celery") == {"n": 2}
    with pytest.raises(Empty):
        ch._get("celery")
    assert ch._get("imports") == {"n": 1}


def test_the_embedded_default_uses_it(settings) -> None:
    assert settings.CELERY_BROKER_URL == "filesystem://"
    with app.connection_for_write() as connection:
        assert type(connection.transport) is Transport
