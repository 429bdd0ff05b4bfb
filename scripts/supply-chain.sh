#!/usr/bin/env bash
# The supply chain, checked on every run of the test command: `cargo deny` holds every
# dependency to deny.toml (permissive licences only, one rustls crypto provider, crates.io
# only), and `cargo cyclonedx` writes the bill of materials (CycloneDX 1.5 JSON) of the
# `lanerunner` binary — exactly the crates it links, with their versions, licences and
# package URLs — to target/sbom/lanerunner.cdx.json, which is then checked for shape.
# The tools are installed once with cargo (unoptimised builds: a minute each, and they run
# in seconds). Advisories are not checked: RustSec's database lives on GitHub, which the CI
# machine cannot reach.
#
#   bash scripts/supply-chain.sh            # SBOM_DIR=... to write it elsewhere
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"

command -v cargo-deny >/dev/null ||
    cargo install --locked --debug --quiet cargo-deny --version 0.20.2
command -v cargo-cyclonedx >/dev/null ||
    cargo install --locked --debug --quiet cargo-cyclonedx --version 0.5.9

echo "== cargo deny (licences, bans, sources)"
cargo deny --log-level error check licenses bans sources

echo "== SBOM of the lanerunner binary (CycloneDX)"
OUT="${SBOM_DIR:-target/sbom}"
mkdir -p "$OUT"
cargo cyclonedx --quiet --manifest-path crates/lanerunner/Cargo.toml --format json \
    --describe binaries --spec-version 1.5
mv crates/lanerunner/lanerunner_bin.cdx.json "$OUT/lanerunner.cdx.json"
python3 - "$OUT/lanerunner.cdx.json" <<'PY'
import json, sys
bom = json.load(open(sys.argv[1]))
assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.5", bom.get("specVersion")
assert bom["metadata"]["component"]["name"] == "lanerunner", bom["metadata"]["component"]
components = bom.get("components", [])
names = {c["name"] for c in components}
for needed in ["tokio", "axum", "sqlx", "rustls", "ring", "lapin", "rdkafka"]:
    assert needed in names, f"{needed} missing from the SBOM"
unnamed = [c["name"] for c in components if not c.get("purl")]
assert not unnamed, f"components without a package URL: {unnamed[:5]}"
unlicensed = [c["name"] for c in components if not c.get("licenses")]
assert not unlicensed, f"components without a licence: {unlicensed[:5]}"
print(f"{sys.argv[1]}: {len(components)} components, each with its package URL and licence")
PY
