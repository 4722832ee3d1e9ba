#!/bin/bash
# layers.sh -- no wrong-way include between the layers (docs/architecture.md):
#   lib       may include lib
#   fakes     lib, fakes           pipeline  lib, pipeline
#   reports   lib, reports         harness   lib, fakes, reports, harness
#   cli (harness/cli/) any layer
# A header's layer is its folder ("harness/run.h", "fakes/crm/crm_query.h",
# a same-folder "x.h"), or, for include/crmsync/, its line in
# include/crmsync/LAYERS. The check first proves that it fires, on a copy
# of the tree with one wrong-way include per rule, and stays quiet on a
# clean one; then it checks the real tree. (The link-level side is built
# by tests/CMakeLists.txt: layer_link_<layer>.)
# usage: layers.sh <crmsync-binary (unused)> <source-dir>
set -euo pipefail
SRC=${2:?usage: layers.sh BIN SRC}

python3 - "$SRC" <<'PY'
import os, re, shutil, sys, tempfile

ALLOWED = {
    "lib": {"lib"},
    "fakes": {"lib", "fakes"},
    "pipeline": {"lib", "pipeline"},
    "reports": {"lib", "reports"},
    "harness": {"lib", "fakes", "reports", "harness"},
    "cli": {"lib", "fakes", "reports", "harness", "pipeline", "cli"},
}
INC = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_of(rel):
    """Layer of a path relative to the tree, or None outside the layers."""
    parts = rel.split("/")
    if parts[0] == "harness" and len(parts) > 2 and parts[1] == "cli":
        return "cli"
    if parts[0] in ("lib", "fakes", "pipeline", "reports", "harness"):
        return parts[0]
    return None


def check(root):
    errs = []
    listed = {}
    lpath = os.path.join(root, "include/crmsync/LAYERS")
    for n, line in enumerate(open(lpath), 1):
        line = line.split("#")[0].split()
        if not line:
            continue
        if len(line) != 2 or line[1] not in ALLOWED:
            errs.append(f"include/crmsync/LAYERS:{n}: bad line")
            continue
        listed[line[0]] = line[1]
    shared = sorted(f for f in os.listdir(os.path.join(root, "include/crmsync"))
                    if f.endswith(".h"))
    for h in shared:
        if h not in listed:
            errs.append(f"include/crmsync/{h}: not in include/crmsync/LAYERS")
    for h in listed:
        if h not in shared:
            errs.append(f"include/crmsync/LAYERS: {h} does not exist")
    files = []
    for top in ("lib", "fakes", "pipeline", "reports", "harness"):
        for d, _, fs in os.walk(os.path.join(root, top)):
            files += [os.path.join(d, f) for f in fs if f.endswith((".c", ".h"))]
    files += [os.path.join(root, "include/crmsync", h) for h in shared]
    for path in sorted(files):
        rel = os.path.relpath(path, root)
        me = layer_of(rel) or listed.get(os.path.basename(rel))
        if me is None:
            continue
        text = open(path, errors="replace").read()
        for m in INC.finditer(text):
            inc = m.group(1)
            line = text.count("\n", 0, m.start()) + 1
            if inc.startswith("crmsync/"):
                their = listed.get(inc[len("crmsync/"):])
                if their is None:
                    errs.append(f"{rel}:{line}: {inc}: not a shared header")
                    continue
            else:
                same = os.path.normpath(os.path.join(os.path.dirname(rel), inc))
                if os.path.exists(os.path.join(root, same)):
                    target = same
                elif os.path.exists(os.path.join(root, inc)):
                    target = os.path.normpath(inc)
                else:
                    errs.append(f"{rel}:{line}: {inc}: no such header")
                    continue
                their = layer_of(target) or (
                    listed.get(os.path.basename(target))
                    if target.startswith("include/crmsync/") else None)
                if their is None:
                    errs.append(f"{rel}:{line}: {inc}: outside the layers")
                    continue
            if their not in ALLOWED[me]:
                errs.append(f"{rel}:{line}: {me} includes {inc} ({their})")
    return errs


src = sys.argv[1]
# 1. The check fires on each wrong-way include, and only there.
bad = [("pipeline/profiler.c", '#include "harness/scenario.h"'),
       ("pipeline/connector.c", '#include "fakes/crm/crm_webhook.h"'),
       ("pipeline/profiler.c", '#include "crmsync/sink.h"'),
       ("fakes/sink/sink_store.c", '#include "crmsync/pipeline.h"'),
       ("reports/report.c", '#include "harness/run.h"'),
       ("lib/common.c", '#include "crmsync/report.h"'),
       ("harness/run.c", '#include "crmsync/pipeline.h"')]
with tempfile.TemporaryDirectory() as tmp:
    for top in ("lib", "fakes", "pipeline", "reports", "harness", "include"):
        shutil.copytree(os.path.join(src, top), os.path.join(tmp, top))
    clean = check(tmp)
    if clean:
        sys.exit("layers.sh: the check is not quiet on the tree:\n  " +
                 "\n  ".join(clean))
    for rel, line in bad:
        p = os.path.join(tmp, rel)
        orig = open(p).read()
        open(p, "w").write(line + "\n" + orig)
        found = check(tmp)
        open(p, "w").write(orig)
        if not any(e.startswith(rel + ":1:") for e in found):
            sys.exit(f"layers.sh: the check missed {line} in {rel}")
    print(f"self-test: {len(bad)} wrong-way includes caught, clean tree quiet")
# 2. The real tree.
errs = check(src)
if errs:
    print("wrong-way includes:\n  " + "\n  ".join(errs))
    sys.exit(1)
print("layers: no wrong-way include")
PY
