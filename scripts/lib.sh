# Shared helpers for scripts/demo.sh and scripts/test.sh. Source it, do not run it.
# Works on a fresh Debian machine with Python >= 3.11, as root or as a normal user.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${REPO_ROOT}/.venv"
PY="${VENV}/bin/python"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

say() { printf '\n==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# apt-get install as root on Debian, refreshing the package lists once per run.
apt_install() {
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || return 1
    if [ -z "${LOOPDESK_APT_UPDATED:-}" ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -q
        export LOOPDESK_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

# Create .venv with python3 (or $PYTHON), which must be 3.11 or newer, unless it exists already.
ensure_venv() {
    if [ -x "${PY}" ]; then
        return
    fi
    local python="${PYTHON:-python3}"
    command -v "${python}" >/dev/null || die "${python} not found: install Python 3.11 or newer"
    "${python}" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "$(${python} --version) is too old: LoopDesk needs Python 3.11 or newer"
    say "Creating virtual environment ${VENV}"
    if ! "${python}" -m venv "${VENV}"; then
        # Debian's own python3 keeps venv/ensurepip in a separate package.
        rm -rf "${VENV}"
        apt_install python3-venv || die "python3 -m venv failed: install the python3-venv package"
        "${python}" -m venv "${VENV}"
    fi
}

# pip install -r FILE, skipped when neither requirement file changed since the last install.
pip_install() {
    local file="$1" stamp="${VENV}/.installed-$(basename "$1").sha256" digest
    digest="$(cat "${REPO_ROOT}/requirements.txt" "${REPO_ROOT}/${file}" | sha256sum | cut -d' ' -f1)"
    if [ -f "${stamp}" ] && [ "$(cat "${stamp}")" = "${digest}" ]; then
        return
    fi
    say "Installing Python packages from ${file}"
    "${PY}" -m pip install -q -r "${REPO_ROOT}/${file}"
    echo "${digest}" >"${stamp}"
}

# Front-end packages (htmx, ECharts ...) come from npm with a lock file, never from a CDN at run time.
ensure_npm_packages() {
    [ -f "${REPO_ROOT}/package.json" ] || return 0
    command -v npm >/dev/null || apt_install nodejs npm || die "npm not found: install Node.js and npm"
    local stamp="${REPO_ROOT}/node_modules/.loopdesk-installed.sha256" digest
    digest="$(cat "${REPO_ROOT}"/package*.json | sha256sum | cut -d' ' -f1)"
    if [ -f "${stamp}" ] && [ "$(cat "${stamp}")" = "${digest}" ]; then
        return
    fi
    say "Installing front-end packages with npm"
    if [ -f "${REPO_ROOT}/package-lock.json" ]; then
        (cd "${REPO_ROOT}" && npm ci --no-audit --no-fund --loglevel=error)
    else
        (cd "${REPO_ROOT}" && npm install --no-audit --no-fund --loglevel=error)
    fi
    echo "${digest}" >"${stamp}"
}

# True when `manage.py NAME` exists (some commands arrive with later work).
has_command() {
    "${PY}" "${REPO_ROOT}/manage.py" help "$1" >/dev/null 2>&1
}
