#!/usr/bin/env bash
# Refresh and compile the zh-Hans message catalogue (English is the source language: no `en` catalogue).
#
#   bash scripts/i18n.sh            # makemessages (django, and djangojs if our JavaScript uses gettext),
#                                   # fill translations from scripts/zh_hans_terms.py, compilemessages
#   I18N_FILL=0 bash scripts/i18n.sh  # only extract and compile, do not touch msgstr
#
# Needs GNU gettext (xgettext, msgmerge, msgfmt). The compiled .mo files are committed, so a fresh machine
# needs gettext only to change the catalogue, not to run the application.
# Exits 1 when a message is left untranslated. Afterwards: .venv/bin/python -m pytest -q loopdesk/core/tests/test_translations.py
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY="${PY:-.venv/bin/python}"
LOCALE=zh_Hans
# loopdesk/*/locale: app-level catalogues (e.g. loopdesk/reports/locale) belong to their apps; ignoring them makes
# makemessages collect every string into the project catalogue (LOCALE_PATHS, which wins at run time) and leaves
# those files alone.
IGNORES=(--ignore=.venv --ignore=node_modules --ignore=bench --ignore='*/tests/*' --ignore=staticfiles
         --ignore=var --ignore=scripts --ignore='loopdesk/*/locale')

echo "==> makemessages -d django -l ${LOCALE}"
"${PY}" manage.py makemessages -d django -l "${LOCALE}" "${IGNORES[@]}" --no-obsolete

# The JavaScript domain only when one of our own scripts calls gettext()/ngettext()/interpolate();
# the workbench script currently takes its few strings from data-i18n-* attributes rendered by templates.
if grep -rlqE '\b(gettext|ngettext|pgettext|npgettext|interpolate)\(' --include='*.js' loopdesk/static 2>/dev/null; then
    echo "==> makemessages -d djangojs -l ${LOCALE}"
    "${PY}" manage.py makemessages -d djangojs -l "${LOCALE}" "${IGNORES[@]}" --no-obsolete
fi

untranslated=0
if [ "${I18N_FILL:-1}" != 0 ]; then
    echo "==> filling translations from scripts/zh_hans_terms.py"
    "${PY}" scripts/zh_hans_fill.py --check || untranslated=1
fi

echo "==> compilemessages -l ${LOCALE}"
# compilemessages loads the settings; retry for a while if an app in progress breaks manage.py.
for attempt in 1 2 3 4 5; do
    if "${PY}" manage.py compilemessages -l "${LOCALE}" --ignore=.venv --ignore=node_modules \
            --ignore='loopdesk/*/locale'; then
        if [ "${untranslated}" = 1 ]; then
            echo "Some messages are untranslated (listed above): add them to scripts/zh_hans_terms.py and re-run." >&2
            exit 1
        fi
        exit 0
    fi
    echo "compilemessages failed (attempt ${attempt}); retrying in 60 s" >&2
    sleep 60
done
exit 1
