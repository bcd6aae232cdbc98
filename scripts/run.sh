#!/usr/bin/env bash
# The main job. Until the registrar lands, shows the version and a parse of a sample message.
set -euo pipefail
bin=${1:?path to sipreg}
top=$(cd "$(dirname "$0")/.." && pwd)
"$bin" --version
echo
echo "Parsing a sample REGISTER (sipreg parse examples/register.sip):"
"$bin" parse "$top/examples/register.sip"
