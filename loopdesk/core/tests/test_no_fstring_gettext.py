"""Translatable text is never built in an f-string: xgettext neither extracts `_(...)` written inside an
f-string's braces nor can it extract `_(f"...")`, so such text stays English for every user."""

from __future__ import annotations

import ast
from pathlib import Path

import loopdesk

GETTEXT = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext", "pgettext_lazy",
           "npgettext", "npgettext_lazy", "gettext_noop"}
ROOT = Path(loopdesk.__file__).resolve().parent


def _name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def offences(source: str) -> list[int]:
    """Line numbers of gettext calls inside an f-string, or of gettext calls given an f-string."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.JoinedStr):
            lines += [inner.lineno for inner in ast.walk(node)
                      if isinstance(inner, ast.Call) and _name(inner) in GETTEXT]
        elif (isinstance(node, ast.Call) and _name(node) in GETTEXT
              and any(isinstance(arg, ast.JoinedStr) for arg in node.args)):
            lines.append(node.lineno)
    return lines


def test_the_check_finds_both_forms() -> None:
    assert offences('x = f"<b>{_(\'repeat\')}</b>"\n') == [1]
    assert offences('x = gettext(f"Work order {number}")\n') == [1]
    assert offences('x = _("Work order %(n)s") % {"n": 1}\ny = f"{label}"\n') == []


def test_no_translatable_text_is_built_in_an_f_string() -> None:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        found += [f"{path.relative_to(ROOT)}:{line}" for line in offences(path.read_text(encoding="utf-8"))]
    assert found == []
