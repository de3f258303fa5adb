#!/usr/bin/env bash
# Run the ADL LRS conformance suite (adlnet/lrs-conformance-test-suite) against a running
# MasteryAI-LTI server, for xAPI 1.0.3 and 2.0.0, and print per-group pass counts.
#
# The suite is never part of this repository: point ADL_SUITE at a local copy whose npm
# dependencies are installed (git clone of the suite + `npm install` in it). Nothing here
# clones or downloads anything.
#
# Usage:
#   ADL_SUITE=/path/to/lrs-conformance-test-suite \
#   XAPI_ENDPOINT=http://127.0.0.1:5000/xapi \
#   XAPI_KEY=... XAPI_SECRET=... \
#   scripts/xapi_conformance.sh [1.0.3] [2.0.0]
#
#   ADL_SUITE=... scripts/xapi_conformance.sh --offline
#     needs no server: asks the suite to build every templated statement case (about
#     1,900 across both versions, each with its expected status) and runs them through
#     masteryai_lti.xapi.validation directly, listing any disagreement. Run it from the
#     repository root with the virtualenv active.
#
# Credentials come from `flask masteryai demo` then
# `flask xapi create-credentials --institution demo --name conformance` (prints key/secret JSON).
# Set XAPI_CREDENTIALS_JSON to that JSON instead of XAPI_KEY/XAPI_SECRET if convenient.
# Full logs land in $ADL_SUITE/logs/<uuid>.log; the summary is also written to
# $RESULTS_DIR (default: ./instance/conformance) as <version>.json.
# Groups of the document resources (State, Agent Profile, Activity Profile, Agents,
# Activities, Concurrency, Document Resources) are reported separately: the tool does not
# implement them, so they are outside its conformance target.
set -euo pipefail

: "${ADL_SUITE:?set ADL_SUITE to a local copy of lrs-conformance-test-suite with node_modules}"

if [[ "${1:-}" == "--offline" ]]; then
  cases="$(mktemp)"
  trap 'rm -f "$cases"' EXIT
  for pair in v1_0_3:1.0.3 v2_0:2.0.0; do
    (cd "$ADL_SUITE" && DIRECTORY="${pair%%:*}" XAPI_VERSION="${pair##*:}" EB_NODE_COMMAND=1 \
      node -e '
        const fs = require("fs");
        const helper = require(process.cwd() + "/test/helper.js");
        const dir = "./test/" + process.env.DIRECTORY + "/configs";
        for (const file of fs.readdirSync(dir)) {
          for (const group of helper.getSingleTestConfiguration(file)) {
            for (const test of group.config) {
              let data = test.json;
              if (test.templates) {
                const mock = helper.createTestObject(helper.convertTemplate(test.templates));
                data = mock[Object.keys(mock)];
              }
              console.log(JSON.stringify({version: process.env.XAPI_VERSION, file,
                name: test.name, expect: test.expect, statement: data}));
            }
          }
        }') >>"$cases"
  done
  python3 - "$cases" <<'PY'
import json
import sys

from masteryai_lti.xapi.validation import validate_statements

total = disagreements = 0
for line in open(sys.argv[1], encoding="utf-8"):
    case = json.loads(line)
    total += 1
    problems = validate_statements(case["statement"], case["version"])
    accept = any(code < 300 for code in case["expect"])
    if accept == bool(problems):
        disagreements += 1
        print(f"{case['version']} {case['file']}: {case['name']} (expects {case['expect']})")
        for problem in problems[:3]:
            print(f"    {problem.path}: {problem.rule}")
print(f"{total - disagreements}/{total} templated cases agree with the validator")
sys.exit(1 if disagreements else 0)
PY
  exit $?
fi
: "${XAPI_ENDPOINT:=http://127.0.0.1:5000/xapi}"
RESULTS_DIR="${RESULTS_DIR:-$(pwd)/instance/conformance}"

if [[ -n "${XAPI_CREDENTIALS_JSON:-}" ]]; then
  XAPI_KEY="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["key"])' "$XAPI_CREDENTIALS_JSON")"
  XAPI_SECRET="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["secret"])' "$XAPI_CREDENTIALS_JSON")"
fi
: "${XAPI_KEY:?set XAPI_KEY (or XAPI_CREDENTIALS_JSON)}"
: "${XAPI_SECRET:?set XAPI_SECRET (or XAPI_CREDENTIALS_JSON)}"

if [[ ! -d "$ADL_SUITE/node_modules" ]]; then
  echo "error: $ADL_SUITE/node_modules missing; run npm install in the suite first" >&2
  exit 2
fi

# The suite measures the clock offset between itself and the LRS once, from the stored
# time of its very first statement; a cold worker answering that slowly skews every later
# since/until test. Warm each worker up first.
for _ in 1 2 3 4 5 6; do
  python3 - "$XAPI_ENDPOINT" "$XAPI_KEY" "$XAPI_SECRET" <<'PY' || true
import base64
import sys
import urllib.request

endpoint, key, secret = sys.argv[1:4]
token = base64.b64encode(f"{key}:{secret}".encode()).decode()
request = urllib.request.Request(
    endpoint.rstrip("/") + "/statements?limit=1",
    headers={"Authorization": f"Basic {token}", "X-Experience-API-Version": "1.0.3"},
)
urllib.request.urlopen(request, timeout=30).read()
PY
done

versions=("$@")
[[ ${#versions[@]} -eq 0 ]] && versions=(1.0.3 2.0.0)
mkdir -p "$RESULTS_DIR"
status=0

for version in "${versions[@]}"; do
  echo "== xAPI $version against $XAPI_ENDPOINT"
  run_out="$RESULTS_DIR/$version.console.txt"
  # The runner exits with the number of failures; keep going to summarise.
  (cd "$ADL_SUITE" && node bin/console_runner.js -x "$version" -e "$XAPI_ENDPOINT" \
      -a -u "$XAPI_KEY" -p "$XAPI_SECRET" ${ADL_GREP:+-g "$ADL_GREP"}) >"$run_out" 2>&1 || true
  log_path="$(sed -n 's/^Full run log written to //p' "$run_out" | tail -1)"
  if [[ -z "$log_path" || ! -f "$log_path" ]]; then
    echo "error: the suite did not write a log; see $run_out" >&2
    tail -20 "$run_out" >&2
    status=1
    continue
  fi
  python3 - "$log_path" "$version" "$RESULTS_DIR/$version.json" <<'PY' || status=1
import json
import re
import sys

log_path, version, out_path = sys.argv[1:4]
record = json.load(open(log_path))
# Title prefixes of the groups about document resources (and their ETag concurrency).
DOCUMENT_GROUPS = (
    "State Resource", "Agent Profile", "Activity Profile", "Agents Resource",
    "Activities Resource", "Concurrency", "Document Resource",
    "4.1.6.2", "4.1.6.3", "4.1.6.4", "4.1.6.5", "4.1.6.6", "4.1.4",
)

# Tests in other groups (HEAD, About) that exercise a document resource endpoint.
DOCUMENT_TEST = re.compile(
    r"activit(?:y|ies) (?:state|profile)|agents? profile|state endpoint|profile endpoint",
    re.IGNORECASE,
)


def leaves(node):
    children = node.get("tests") or []
    if not children:
        yield node
    for child in children:
        yield from leaves(child)


def failures(node, trail):
    children = node.get("tests") or []
    here = trail + [node.get("title") or ""]
    if not children and node.get("status") == "failed":
        yield " > ".join(t for t in here[1:] if t), node.get("error") or ""
    for child in children:
        yield from failures(child, here)


groups = []
root = record.get("log") or {}
target_passed = target_total = 0
for group in root.get("tests") or []:
    tests = list(leaves(group))
    passed = sum(1 for t in tests if t.get("status") == "passed")
    title = group.get("title") or ""
    document = any(word.lower() in title.lower() for word in DOCUMENT_GROUPS)
    in_scope = [] if document else [t for t in tests if not DOCUMENT_TEST.search(t.get("title") or "")]
    target_total += len(in_scope)
    target_passed += sum(1 for t in in_scope if t.get("status") == "passed")
    groups.append(
        {
            "group": title,
            "passed": passed,
            "total": len(tests),
            "document": document,
            "document_tests": 0 if document else len(tests) - len(in_scope),
        }
    )

summary = {
    "version": version,
    "suite_summary": record.get("summary"),
    "target_passed": target_passed,
    "target_total": target_total,
    "groups": groups,
    "failures": [{"test": t, "error": e[:500]} for t, e in failures(root, [])],
}
json.dump(summary, open(out_path, "w"), indent=2)
width = max((len(g["group"][:90]) for g in groups), default=10)
for g in groups:
    mark = " (document resource, out of scope)" if g["document"] else ""
    if g["document_tests"]:
        mark = f" ({g['document_tests']} of them on document resources)"
    print(f"  {g['group'][:90]:<{width}}  {g['passed']:>4}/{g['total']:<4}{mark}")
s = record.get("summary") or {}
print(f"  suite total: {s.get('passed')}/{s.get('total')} passed, {s.get('failed')} failed")
print(f"  outside document resources: {target_passed}/{target_total}")
print(f"  summary and failures: {out_path}")
sys.exit(0 if summary["target_passed"] == summary["target_total"] else 1)
PY
done
exit $status
