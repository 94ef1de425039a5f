"""Every environment variable settings.py reads is in .env.example (documented for whoever deploys)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
READERS = {"env_str", "env_bool", "env_list", "get", "getenv"}


def variables_read_by_settings() -> set[str]:
    tree = ast.parse((ROOT / "loopdesk" / "settings.py").read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            is_environ = not isinstance(func, ast.Attribute) or "environ" in ast.unparse(func.value) or name == "getenv"
            if name in READERS and is_environ and isinstance(node.args[0].value, str):
                names.add(node.args[0].value)
        elif (isinstance(node, ast.Subscript) and "environ" in ast.unparse(node.value)
              and isinstance(node.slice, ast.Constant)):  # os.environ["X"]
            names.add(node.slice.value)
    return names


def variables_in_env_example() -> set[str]:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))


def test_the_parser_sees_the_settings_reads() -> None:
    read = variables_read_by_settings()
    assert {"DATABASE_URL", "LOOPDESK_SESSION_SECONDS", "CELERY_TASK_ALWAYS_EAGER", "LOOPDESK_ATTACHMENT_TYPES",
            "LOOPDESK_THROTTLE_CACHE", "DB_CONN_MAX_AGE"} <= read
    assert "DJANGO_SETTINGS_MODULE" not in read and len(read) > 30


def test_every_variable_settings_reads_is_in_env_example() -> None:
    missing = variables_read_by_settings() - variables_in_env_example()
    assert not missing, f"add to .env.example (with a comment): {sorted(missing)}"


def test_env_example_names_only_variables_settings_reads() -> None:
    unknown = variables_in_env_example() - variables_read_by_settings()
    assert not unknown, f"not read by settings.py: {sorted(unknown)}"
