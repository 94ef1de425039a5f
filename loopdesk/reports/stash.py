"""Import files kept on the server between the steps of the import page: upload, mapping, dry run, import.

The upload is copied once to `settings.LOOPDESK_IMPORT_DIR` under a random name; the page carries a signed
token (file name, user, kind, source system, original name) instead of the file, so the later steps read the
same bytes without a second upload and without writing anything to the database (no session either). A token
is good for `MAX_AGE` seconds and only for the user it was made for; files older than that are swept away at
the next upload; a finished import deletes its file.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import signing

MAX_AGE = 24 * 3600
SALT = "loopdesk.reports.import-file"


@dataclass
class Stashed:
    token: str
    path: Path
    name: str  # the name the file was uploaded with
    kind: str  # "tickets" or "customers"
    system: str


def _directory() -> Path:
    directory = Path(settings.LOOPDESK_IMPORT_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def kept_path(key: str) -> Path:
    """Where the file kept under `key` (its random name) is."""
    return Path(settings.LOOPDESK_IMPORT_DIR) / f"{key}.upload"


def keep(upload: Any, *, user_id: int, kind: str, system: str) -> Stashed:
    """Copy an uploaded file (Django's UploadedFile) to the import directory; returns it with its token."""
    directory = _directory()
    sweep(directory)
    key = secrets.token_hex(16)
    path = kept_path(key)
    with open(path, "wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    name = (upload.name or "")[-200:]
    token = signing.dumps({"f": key, "u": user_id, "k": kind, "n": name, "s": system}, salt=SALT, compress=True)
    return Stashed(token, path, name, kind, system)


def find(token: str, *, user_id: int) -> Stashed | None:
    """The file of a token made for this user and not expired, if it is still there."""
    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature:  # tampered with, or expired (SignatureExpired is a BadSignature)
        return None
    if not isinstance(data, dict) or data.get("u") != user_id or not str(data.get("f", "")).isalnum():
        return None
    path = kept_path(str(data["f"]))
    if not path.is_file():
        return None
    return Stashed(token, path, str(data.get("n", "")), str(data.get("k", "")), str(data.get("s", "")))


def drop(stashed: Stashed) -> None:
    stashed.path.unlink(missing_ok=True)


def sweep(directory: Path, now: float | None = None) -> None:
    """Delete the kept files older than MAX_AGE (their tokens have expired), and background jobs' progress files
    left that old (by a worker that stopped)."""
    limit = (now or time.time()) - MAX_AGE
    for path in [*directory.glob("*.upload"), *directory.glob("*.progress"), *directory.glob("*.tmp")]:
        try:
            if path.stat().st_mtime < limit:
                path.unlink(missing_ok=True)
        except FileNotFoundError:  # swept by another request meanwhile
            continue


__all__ = ["MAX_AGE", "Stashed", "drop", "find", "keep", "sweep"]
