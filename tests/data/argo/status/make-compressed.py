#!/usr/bin/env python3
"""Makes the compressed-node fixtures from the failed-exit-3 Workflow (the
argo engine's conformance vector interpret/failed-exit-3/run.json) the way Argo's
workflow-controller compresses node status: status.nodes as compact JSON,
gzipped, base64 (standard alphabet, padded) into status.compressedNodes, and
status.nodes removed. Run from this directory; the output is reproducible
(gzip mtime 0)."""
import base64
import copy
import gzip
import json


def compressed(text):
    return base64.b64encode(gzip.compress(text.encode(), mtime=0)).decode()


def write(path, workflow):
    with open(path, "w") as f:
        json.dump(workflow, f, indent=2, ensure_ascii=False)
        f.write("\n")


def with_nodes(workflow, encoded):
    out = copy.deepcopy(workflow)
    del out["status"]["nodes"]
    out["status"]["compressedNodes"] = encoded
    return out


FAILED = "../../../../engines/argo/conformance/interpret/failed-exit-3/run.json"
failed = json.load(open(FAILED))
nodes = json.dumps(failed["status"]["nodes"], separators=(",", ":"))
write("compressed.json", with_nodes(failed, compressed(nodes)))
# Inflates past the engine's 16 MiB bound (JSON whitespace compresses well).
write("compressed-huge.json",
      with_nodes(failed, compressed("{" + " " * (17 << 20) + "}")))
write("compressed-not-json.json", with_nodes(failed, compressed("not json")))
