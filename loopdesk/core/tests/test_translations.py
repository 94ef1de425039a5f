"""The zh-Hans catalogue: complete, placeholders intact, compiled .mo in step with the .po, used at run time.

Refresh with `bash scripts/i18n.sh` (makemessages, fill from scripts/zh_hans_terms.py, compilemessages).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.template import Context, Template
from django.utils import translation

LC_MESSAGES = Path(settings.BASE_DIR) / "loopdesk" / "locale" / "zh_Hans" / "LC_MESSAGES"
CATALOGUES = sorted(LC_MESSAGES.glob("*.po"))

# printf-style conversions (%(name)s, %d, %%) in python-format strings; named ones are checked everywhere.
PERCENT_ANY = re.compile(r"%(?:%|\(\w+\)[#0 +-]*\d*(?:\.\d+)?[a-zA-Z]|[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa])")
PERCENT_NAMED = re.compile(r"%\(\w+\)[#0 +-]*\d*(?:\.\d+)?[a-zA-Z]")
BRACE_ANY = re.compile(r"\{\{|\}\}|\{\w*\}")
BRACE_NAMED = re.compile(r"\{\w+\}")
HTML_TAG = re.compile(r"</?[a-zA-Z][^>]*>")


def placeholders(text: str, flags: list[str]) -> Counter[str]:
    percent = PERCENT_ANY if "python-format" in flags else PERCENT_NAMED
    brace = BRACE_ANY if "python-brace-format" in flags else BRACE_NAMED
    found: Counter[str] = Counter()
    if "no-python-format" not in flags:
        found.update(percent.findall(text))
    if "no-python-brace-format" not in flags:
        found.update(brace.findall(text))
    found.update(HTML_TAG.findall(text))
    return found


def translations(entry: polib.POEntry) -> list[str]:
    return list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]


def live_entries(po: polib.POFile) -> list[polib.POEntry]:
    return [e for e in po if not e.obsolete]


@pytest.fixture(scope="module", params=CATALOGUES, ids=lambda p: p.name)
def po(request: pytest.FixtureRequest) -> polib.POFile:
    return polib.pofile(str(request.param))


def test_the_django_catalogue_exists_and_english_needs_none() -> None:
    assert LC_MESSAGES / "django.po" in CATALOGUES
    assert (LC_MESSAGES / "django.mo").exists()
    # English is the source language: an `en` catalogue could only shadow the source strings.
    assert not (Path(settings.BASE_DIR) / "loopdesk" / "locale" / "en").exists()


def test_header_declares_chinese_with_one_plural_form(po: polib.POFile) -> None:
    assert po.metadata["Language"] == "zh_Hans"
    assert po.metadata["Plural-Forms"].replace(" ", "") == "nplurals=1;plural=0;"
    assert not po.metadata_is_fuzzy


def test_every_message_is_translated_and_none_is_fuzzy(po: polib.POFile) -> None:
    entries = live_entries(po)
    assert len(entries) > 100
    untranslated = [e.msgid for e in entries if not all(s.strip() for s in translations(e))]
    fuzzy = [e.msgid for e in entries if "fuzzy" in e.flags]
    assert untranslated == []
    assert fuzzy == []
    plural_forms = {e.msgid: sorted(e.msgstr_plural) for e in entries if e.msgid_plural}
    assert all(forms == [0] for forms in plural_forms.values()), plural_forms


def test_translations_are_chinese(po: polib.POFile) -> None:
    # Proper names and protocol words may stay as they are, and so may a message made of placeholders only;
    # everything else must contain Chinese.
    may_stay = {"LoopDesk", "English", "URL", "VIP"}
    han = re.compile(r"[\u4e00-\u9fff]")

    def has_words(msgid: str) -> bool:
        return bool(re.search(r"[A-Za-z]", PERCENT_ANY.sub("", BRACE_ANY.sub("", msgid))))

    not_chinese = [e.msgid for e in live_entries(po) if e.msgid not in may_stay and has_words(e.msgid)
                   and not all(han.search(s) for s in translations(e))]
    assert not_chinese == []


def test_placeholders_and_tags_are_kept(po: polib.POFile) -> None:
    broken = {}
    for entry in live_entries(po):
        for source, text in ((entry.msgid, entry.msgstr), (entry.msgid_plural, None)):
            if not source:
                continue
            wanted = placeholders(source, entry.flags)
            for got in ([text] if text is not None else []) + list(entry.msgstr_plural.values()):
                if got and placeholders(got, entry.flags) != wanted:
                    broken[entry.msgid] = (dict(wanted), got)
    assert broken == {}


def test_placeholder_check_catches_a_lost_or_renamed_placeholder() -> None:
    flags = ["python-format"]
    assert placeholders("%(count)d work orders sent on: %(numbers)s", flags) != placeholders(
        "已派发工单：%(numbers)s", flags)
    assert placeholders("%(name)s", flags) != placeholders("%(名字)s", flags)
    assert placeholders("%%(time)s left", flags) == placeholders("剩余 %%(time)s", flags)
    assert placeholders("as {name} or {{", ["python-brace-format"]) != placeholders("写作 {名称}", [])


def test_compiled_mo_matches_the_po(po: polib.POFile) -> None:
    mo_path = Path(po.fpath).with_suffix(".mo")
    assert mo_path.exists(), f"{mo_path} missing: run bash scripts/i18n.sh"
    compiled = {(e.msgctxt, e.msgid): (e.msgstr_plural or e.msgstr) for e in polib.mofile(str(mo_path)) if e.msgid}
    expected = {
        (e.msgctxt, e.msgid): ({int(k): v for k, v in e.msgstr_plural.items()} if e.msgid_plural else e.msgstr)
        for e in live_entries(po) if e.translated() and "fuzzy" not in e.flags
    }
    compiled = {k: ({int(i): s for i, s in v.items()} if isinstance(v, dict) else v) for k, v in compiled.items()}
    stale = {k: (compiled.get(k), v) for k, v in expected.items() if compiled.get(k) != v}
    extra = sorted(set(compiled) - set(expected))
    assert stale == {}, "the .mo is out of date: run bash scripts/i18n.sh"
    assert extra == []


def test_core_strings_come_out_in_chinese_and_english_stays_the_source() -> None:
    from loopdesk.org.choices import Role
    from loopdesk.tickets.choices import Action, ContactType, Status

    with translation.override("zh-hans"):
        assert str(Status.NEW.label) == "已受理"
        assert str(Status.RETURNED.label) == "已退单"
        assert str(Status.ON_HOLD.label) == "已挂起"
        assert str(Action.DISPATCH.label) == "派单"
        assert str(Action.CALLBACK.label) == "回访"
        assert str(ContactType.APPEAL.label) == "申诉"
        assert str(Role.DISPATCHER.label) == "综援派单员"
        assert translation.pgettext("days, short", "d") == "天"
        assert translation.ngettext("%(total)s work order", "%(total)s work orders", 3) % {"total": 3} == "3 张工单"
        # Template strings keep their doubled percent signs in the catalogue and come out single.
        rendered = Template("{% load i18n %}{% translate '%(time)s left' %}").render(Context())
        assert rendered == "剩余 %(time)s"
    with translation.override("en"):
        assert str(Status.NEW.label) == "Registered"
        assert str(Action.DISPATCH.label) == "Dispatch (派单)"


def test_the_default_language_is_chinese(client) -> None:
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="")
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert response.status_code == 200
    assert "密码" in response.content.decode()
