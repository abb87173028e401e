#!/usr/bin/env bash
# Regenerates the committed seed corpora fuzz/corpus/<target>/ from the repository's fixtures.
# Hand-written seeds (files named hand-*) and the recorded nix log are kept; the rest is copied.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
c=fuzz/corpus
fx=Tests/FleetModelTests/Fixtures
mkdir -p $c/json $c/config $c/age $c/sops $c/nixlog

# json: the demo inventory, the clan-serialised fixtures, key files (JSON too).
cp inventory/inventory.json $c/json/demo-inventory.json
cp inventory/systems.json $c/json/demo-systems.json
cp inventory/generators.json $c/json/demo-generators.json
for f in $fx/inventory/*.json; do
  cp "$f" "$c/json/fixture-$(echo "${f#$fx/}" | tr / -)"
done

# config: shipped themes and the config example from FleetConfig's documentation.
for f in themes/*.toml; do cp "$f" "$c/config/theme-$(basename "$f")"; done

# age: age's own testkit vectors, without the testkit's "key: value" preamble (everything up to
# the first empty line), i.e. the age file itself.
for f in $fx/age-testkit/*; do
  [ "$(basename "$f")" = LICENSE ] && continue
  python3 - "$f" "$c/age/testkit-$(basename "$f")" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
i = data.find(b"\n\n")
open(sys.argv[2], "wb").write(data[i + 2:] if i >= 0 else data)
PY
done
cp $fx/sops-real/clan-core/checks/secrets/key.age $c/age/identity-file-key.age 2>/dev/null || true
cp $fx/sops-real/clan-core/checks/assets/test-age-key.txt $c/age/identity-file-test-age-key.txt

# sops: every real sops file (clan-core checks: sops 3.7.3 and 3.10.2 writers).
find -L $fx/sops-real -type f -name secret | sort | while read -r f; do
  cp "$f" "$c/sops/$(echo "${f#$fx/sops-real/}" | tr / -)"
done
# nixlog: the deploy tests' recorded nix logs (plus the hand-recorded nix-2.8 build log).
for f in $fx/nix-logs/*.log; do cp "$f" "$c/nixlog/fixture-$(basename "$f")"; done

echo "seed corpora:"; for d in $c/*; do echo "  $d: $(ls "$d" | wc -l) files"; done
