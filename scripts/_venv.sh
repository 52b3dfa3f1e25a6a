# shellcheck shell=bash
# Sourced by scripts/test, scripts/bench and scripts/lint: sets $repo, makes sure
# $repo/.venv exists with requirements_test.txt installed, and activates it.
# EMUCS_PYTHON=/path/to/python overrides the interpreter choice; EMUCS_VENV the
# environment's folder (scripts/sid-root uses .venv-sid, so the two legs never share one).

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${EMUCS_VENV:-$repo/.venv}"
requirements="$repo/requirements_test.txt"

# Print the real path of an interpreter that runs (pyenv shims for a version
# that is not selected exist but fail) and is 3.13 or newer.
usable_python() {
  "$1" -c 'import sys; sys.version_info >= (3, 13) or sys.exit(1); print(sys.executable)' \
    2>/dev/null
}

pick_python() {
  local candidate
  if [[ -n "${EMUCS_PYTHON:-}" ]]; then
    usable_python "$EMUCS_PYTHON" && return
    echo "EMUCS_PYTHON=$EMUCS_PYTHON is not a working Python >= 3.13" >&2
    return 1
  fi
  for candidate in python3.14 python3.13; do
    command -v "$candidate" >/dev/null && usable_python "$candidate" && return
  done
  # Newest pyenv 3.14.x / 3.13.x (plain releases, not free-threaded "t" builds).
  while read -r candidate; do
    usable_python "$candidate/bin/python3" && return
  done < <(find "${PYENV_ROOT:-$HOME/.pyenv}/versions" -mindepth 1 -maxdepth 1 \
    -regex '.*/3\.1[34]\.[0-9]+' 2>/dev/null | sort -rV)
  echo "No Python 3.13 or 3.14 found (PATH or ${PYENV_ROOT:-$HOME/.pyenv}/versions)." >&2
  return 1
}

minor_version() {
  "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null
}

ensure_venv() {
  local py want have stamp
  py="$(pick_python)" || return 1
  want="$(minor_version "$py")"
  have="$(minor_version "$venv/bin/python" || true)"
  if [[ "$have" != "$want" ]]; then
    echo "Creating $venv with $py (Python $want)" >&2
    rm -rf "$venv"
    "$py" -m venv "$venv"
  fi
  stamp="$(sha256sum "$requirements" | cut -d' ' -f1)"
  if [[ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" != "$stamp" ]]; then
    echo "Installing requirements_test.txt into $venv (first time: a few minutes)" >&2
    "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$requirements"
    echo "$stamp" >"$venv/.requirements.sha256"
  fi
  ensure_runtime_requirements
  export VIRTUAL_ENV="$venv"
  export PATH="$venv/bin:$PATH"
  unset PYTHONHOME
}

# What Home Assistant installs at run time, taken from the manifests so nothing is
# pinned twice: our manifest's requirements and those of HA's usb integration (our
# manifest dependency), under the package constraints of the installed HA release,
# as HA itself installs them.
ensure_runtime_requirements() {
  local wanted stamp
  wanted="$("$venv/bin/python" - "$repo/custom_components/emucs/manifest.json" <<'PY'
import json, pathlib, sys
import homeassistant
ha = pathlib.Path(homeassistant.__file__).parent
manifests = [pathlib.Path(sys.argv[1]), ha / "components/usb/manifest.json"]
print(ha / "package_constraints.txt")
for manifest in manifests:
    print("\n".join(json.loads(manifest.read_text()).get("requirements", [])))
PY
)" || return 1
  stamp="$(sha256sum <<<"$wanted" | cut -d' ' -f1)"
  if [[ "$(cat "$venv/.runtime.sha256" 2>/dev/null)" != "$stamp" ]]; then
    echo "Installing the integration's and HA usb's requirements into $venv" >&2
    # shellcheck disable=SC2046 # one requirement per line, none with blanks
    "$venv/bin/python" -m pip install --disable-pip-version-check -q \
      -c "$(head -n 1 <<<"$wanted")" $(tail -n +2 <<<"$wanted")
    echo "$stamp" >"$venv/.runtime.sha256"
  fi
}

ensure_venv

# The demo's extra packages (scripts/demo, and the browser test in scripts/test):
# requirements_demo.txt, plus Home Assistant's frontend at the version the installed
# Home Assistant pins in its frontend manifest (the version follows the interpreter).
ensure_demo_requirements() {
  local demo_requirements="$repo/requirements_demo.txt" wanted stamp
  # What the demo's Home Assistant sets up needs on the installed release (its frontend,
  # the default integrations, ours...), as `hass --skip-pip` installs nothing; first
  # line: HA's package constraints, under which HA itself would install them.
  wanted="$("$venv/bin/python" -c 'import homeassistant, pathlib
print(pathlib.Path(homeassistant.__file__).parent / "package_constraints.txt")' &&
    PYTHONPATH="$repo" "$venv/bin/python" "$repo/scripts/demo.py" --print-requirements)" ||
    return 1
  stamp="$(cat "$demo_requirements" - <<<"$wanted" | sha256sum | cut -d' ' -f1)"
  if [[ "$(cat "$venv/.requirements_demo.sha256" 2>/dev/null)" != "$stamp" ]]; then
    echo "Installing requirements_demo.txt and what the demo's integrations require into $venv" >&2
    # shellcheck disable=SC2046 # one requirement per line, none with blanks
    "$venv/bin/python" -m pip install --disable-pip-version-check -q \
      -r "$demo_requirements" -c "$(head -n 1 <<<"$wanted")" $(tail -n +2 <<<"$wanted")
    echo "$stamp" >"$venv/.requirements_demo.sha256"
  fi
}
