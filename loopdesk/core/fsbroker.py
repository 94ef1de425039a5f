"""The embedded default's message broker: kombu's filesystem transport, made safe for a running worker.

kombu's own `filesystem://` channel creates a message's file under its final name and then writes it, and the
consumer takes any file with that name, moving it to the system's temporary folder before reading it. A worker
polling while a web process writes a task can therefore take a half-written (often empty) file: the worker
then dies on the JSON error, and the task is lost. Here a message is written under a name the consumer ignores
and renamed into place when complete (a rename within one folder is atomic), and the consumer renames what it
takes within the same folder instead of copying it across file systems.

Selected by settings (`CELERY_BROKER_TRANSPORT`) whenever `CELERY_BROKER_URL` is `filesystem://`.
"""

from __future__ import annotations

import os
import uuid
from queue import Empty
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

WRITING = ".writing"  # suffix of a message being written: not `<queue>.msg`, so no consumer takes it
TAKEN = ".taken"  # suffix of a message a consumer has taken and is reading


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        """Put a message on the queue, visible to consumers only once it is complete."""
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = final + WRITING
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc

    def _get(self, queue: str) -> Any:
        """Take the oldest complete message of the queue (another consumer may take one first)."""
        wanted = f"{queue}.msg"
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != wanted:
                continue
            path = os.path.join(self.data_folder_in, name)
            taken = path + TAKEN
            try:
                os.rename(path, taken)
            except OSError:  # another consumer took it first
                continue
            try:
                with open(taken, "rb") as f:
                    payload = f.read()
                if self.store_processed:
                    os.replace(taken, os.path.join(self.processed_folder, name))
                else:
                    os.remove(taken)
            except OSError as exc:
                raise ChannelError(f"Cannot read file {taken!r} from queue.") from exc
            return loads(bytes_to_str(payload))
        raise Empty()


class Transport(filesystem.Transport):
    Channel = Channel
