"""Fill the zh-Hans catalogue from scripts/zh_hans_terms.py (run by scripts/i18n.sh after makemessages).

Every msgid found in the table gets its translation and loses a `fuzzy` flag; msgids missing from the table are
listed (and left as they are, so the catalogue test fails until someone translates them).

    .venv/bin/python scripts/zh_hans_fill.py          # exit 0; prints what is still untranslated
    .venv/bin/python scripts/zh_hans_fill.py --check  # exit 1 if anything is untranslated or fuzzy
"""

from __future__ import annotations

import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from zh_hans_terms import NO_PYTHON_FORMAT, T  # noqa: E402

CATALOGUES = [ROOT / "loopdesk" / "locale" / "zh_Hans" / "LC_MESSAGES" / f"{d}.po" for d in ("django", "djangojs")]
HEADER = {
    "Project-Id-Version": "LoopDesk",
    "Language-Team": "LoopDesk zh-Hans",
    "Last-Translator": "LoopDesk <loopdesk@localhost>",
    "Language": "zh_Hans",
    "Plural-Forms": "nplurals=1; plural=0;",
    "Content-Type": "text/plain; charset=UTF-8",
}


def key_of(entry: polib.POEntry) -> str:
    return f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt else entry.msgid


def fill(path: Path) -> tuple[int, list[str]]:
    po = polib.pofile(str(path), wrapwidth=79)
    po.metadata.update(HEADER)
    po.metadata.pop("PO-Revision-Date", None)
    po.metadata_is_fuzzy = []
    missing: list[str] = []
    for entry in po:
        if entry.obsolete:
            continue
        text = T.get(key_of(entry))
        if entry.msgid in NO_PYTHON_FORMAT and "python-format" in entry.flags:
            entry.flags = [f for f in entry.flags if f != "python-format"] + ["no-python-format"]
        if text is None:
            if not entry.translated() or "fuzzy" in entry.flags:
                missing.append(key_of(entry))
            continue
        if entry.msgid_plural:
            entry.msgstr_plural = {0: text}
        else:
            entry.msgstr = text
        if "fuzzy" in entry.flags:
            entry.flags.remove("fuzzy")
        entry.previous_msgid = entry.previous_msgid_plural = entry.previous_msgctxt = None
    po.save(str(path))
    return len([e for e in po if not e.obsolete]), missing


def main() -> int:
    check = "--check" in sys.argv[1:]
    all_missing: list[str] = []
    for path in CATALOGUES:
        if not path.exists():
            continue
        total, missing = fill(path)
        print(f"{path.relative_to(ROOT)}: {total} messages, {total - len(missing)} translated")
        for key in missing:
            print(f"  UNTRANSLATED: {key!r}")
        all_missing += missing
    return 1 if (check and all_missing) else 0


if __name__ == "__main__":
    sys.exit(main())
