"""What an uploaded file really is: its name's extension and its first bytes, not the type the client declares.

`detect(name, content_type, file)` gives the MIME type an attachment is stored under, or raises
`ValidationFailed` on the `file` field. The type comes from the extension (or, for a name without one,
e.g. an API attachment named "attachment", from the declared type); it must be one of
`LOOPDESK_ATTACHMENT_TYPES`, and the file's magic bytes must match it: an `x.exe` declared image/png,
or a `photo.png` whose bytes are a Windows program, is refused. Types an operator adds to the setting
without a signature here are checked by extension only.
"""

from __future__ import annotations

import mimetypes
import zipfile
from collections.abc import Callable
from pathlib import PurePath
from typing import IO

from django.conf import settings
from django.utils.translation import gettext as _

from loopdesk.core.errors import ValidationFailed

HEAD_BYTES = 8192  # how much of a file the signatures look at

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

EXTENSIONS: dict[str, str] = {
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".jfif": "image/jpeg", ".png": "image/png", ".gif": "image/gif",
    ".pdf": "application/pdf", ".txt": "text/plain", ".log": "text/plain", ".mp3": "audio/mpeg",
    ".wav": "audio/wav", ".xlsx": XLSX, ".docx": DOCX,
}
# Other names clients give the same types (a browser's audio/x-wav, an old IE's image/pjpeg).
ALIASES = {"image/pjpeg": "image/jpeg", "image/jpg": "image/jpeg", "audio/x-wav": "audio/wav",
           "audio/wave": "audio/wav", "audio/vnd.wave": "audio/wav", "audio/mp3": "audio/mpeg"}

TEXT_CONTROLS = frozenset(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D, 0x1B}


def _text(head: bytes, file: IO[bytes]) -> bool:
    """Plain text: UTF-8 (with or without BOM) or GB18030, no control characters but tabs and line ends."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with BOM (Notepad's "Unicode")
        try:
            head[2 : len(head) // 2 * 2].decode("utf-16-le" if head[0] == 0xFF else "utf-16-be")
        except UnicodeDecodeError:
            return False
        return True
    if any(b in TEXT_CONTROLS for b in head):
        return False
    for encoding in ("utf-8", "gb18030"):
        try:
            head.decode(encoding)
        except UnicodeDecodeError as exc:
            if len(head) == HEAD_BYTES and exc.start >= len(head) - 4:  # a character cut at the sample's end
                return True
            continue
        return True
    return False


def _zip_with(prefix: str) -> Callable[[bytes, IO[bytes]], bool]:
    def check(head: bytes, file: IO[bytes]) -> bool:
        if not head.startswith(b"PK\x03\x04"):
            return False
        try:
            names = zipfile.ZipFile(file).namelist()  # reads the central directory at the end only
        except (zipfile.BadZipFile, ValueError, OSError, EOFError):
            return False
        finally:
            file.seek(0)
        return "[Content_Types].xml" in names and any(n.startswith(prefix) for n in names)

    return check


SIGNATURES: dict[str, Callable[[bytes, IO[bytes]], bool]] = {
    "image/jpeg": lambda h, w: h.startswith(b"\xff\xd8\xff"),
    "image/png": lambda h, w: h.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/gif": lambda h, w: h.startswith((b"GIF87a", b"GIF89a")),
    "application/pdf": lambda h, w: b"%PDF-" in h[:1024],  # readers accept the header within the first 1 KB
    "text/plain": _text,
    "audio/mpeg": lambda h, w: h.startswith(b"ID3") or (len(h) > 1 and h[0] == 0xFF and h[1] & 0xE0 == 0xE0),
    "audio/wav": lambda h, w: h.startswith(b"RIFF") and h[8:12] == b"WAVE",
    XLSX: _zip_with("xl/"),
    DOCX: _zip_with("word/"),
}


def _declared(content_type: str) -> str:
    value = (content_type or "").split(";")[0].strip().lower()
    return ALIASES.get(value, value)


def detect(name: str, content_type: str, file: IO[bytes]) -> str:
    """The allowed MIME type of the file `file` (seekable, read from its start; left at its start) named
    `name`, declared as `content_type` by the client. Raises ValidationFailed(field="file")."""
    allowed = {_declared(t) for t in settings.LOOPDESK_ATTACHMENT_TYPES}
    suffix = PurePath(name or "").suffix.lower()
    if suffix:
        kind = EXTENSIONS.get(suffix) or _declared(mimetypes.guess_type("x" + suffix)[0] or "")
        if kind not in allowed:
            raise ValidationFailed(field="file", message=_("Files named *%(extension)s are not allowed.")
                                   % {"extension": suffix})
    else:
        kind = _declared(content_type)
        if kind not in allowed:
            raise ValidationFailed(field="file", message=_("Files of type %(type)s are not allowed.")
                                   % {"type": content_type or "?"})
    check = SIGNATURES.get(kind)
    if check is None:
        return kind
    file.seek(0)
    head = file.read(HEAD_BYTES)
    file.seek(0)
    if not check(head, file):
        raise ValidationFailed(field="file", message=_("The file's content is not of its type (%(type)s).")
                               % {"type": kind})
    return kind
