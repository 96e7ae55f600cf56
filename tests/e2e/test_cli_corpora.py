# SPDX-License-Identifier: GPL-3.0-or-later
"""Real mail written outside this project, imported through the CLI as an analyst would.

Every file must be acquired with its exact hashes and then analysed or marked ``analysis failed:
<reason>``; nothing may crash, hang or print a traceback (the corpora README's robustness rule).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CORPORA = Path(__file__).resolve().parents[2].parent / "shared" / "corpora"
CT = shutil.which("casetrail", path=str(Path(sys.executable).parent)) or "casetrail"

pytestmark = pytest.mark.skipif(not CORPORA.is_dir(), reason=f"{CORPORA} is absent (a user's clone)")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CT, *args], capture_output=True, text=True, timeout=600, check=False)


def test_mail_corpora_are_all_acquired_and_analysed(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    sources = (sorted((CORPORA / "mail-parser").glob("*.eml")) + sorted((CORPORA / "msg").glob("*.msg"))
               + sorted((CORPORA / "phishing-dev").glob("*.eml"))[:40])
    for src in sources:
        shutil.copy(src, evidence / src.name)
    # An mbox made of three corpus messages: each becomes a derived item with the exact bytes.
    members = sorted((CORPORA / "phishing-dev").glob("*.eml"))[40:43]
    (evidence / "box.mbox").write_bytes(b"".join(
        b"From MAILER-DAEMON Thu Jan  1 00:00:00 2026\n" + m.read_bytes().rstrip(b"\n") + b"\n\n"
        for m in members))
    case = tmp_path / "corpora.casetrail"
    assert run("new", str(case), "--title", "corpora", "--examiner", "e").returncode == 0

    p = run("import", str(case), str(evidence), "--json")
    assert "Traceback" not in p.stderr
    assert p.returncode == 0, p.stderr[-500:]
    items = json.loads(run("items", str(case), "--json").stdout)
    top = {i["name"]: i for i in items if i["parent_id"] is None}
    assert set(top) == {s.name for s in sources} | {"box.mbox"}
    for src in sources:
        assert top[src.name]["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    for item in items:
        assert item["status"] == "analysed" or item["status"].startswith("analysis failed: "), item
    assert sum(1 for i in items if i["status"] == "analysed") >= 0.95 * len(items)
    # The mbox's messages are items of their own, derived from it.
    box = top["box.mbox"]
    children = [i for i in items if i["parent_id"] == box["id"]]
    assert len(children) == 3
    assert all(c["kind"] == "email" for c in children)
    # Attachments are evidence in their own right, with their parent named.
    derived = [i for i in items if i["parent_id"] is not None and i["parent_id"] != box["id"]]
    assert derived, "no attachment was acquired from forty phishing mails and the test corpus"

    indicators = json.loads(run("indicators", str(case), "--json").stdout)
    sources_seen = {o["source"] for r in indicators for o in r["occurrences"]}
    assert {"header", "body", "attachment"} <= sources_seen
    found = json.loads(run("search", str(case), "unsubscribe", "--json").stdout)
    assert found
    assert all({"item_id", "name", "part", "snippet"} <= set(h) for h in found)
    assert all("«" in h["snippet"] for h in found)
    verify = run("verify", str(case), "--json")
    assert verify.returncode == 0
    assert json.loads(verify.stdout)["ok"] is True


def test_outlook_stores_become_messages_with_their_folder_and_the_password_said(tmp_path: Path) -> None:
    case = tmp_path / "pst.casetrail"
    assert run("new", str(case), "--title", "pst", "--examiner", "e").returncode == 0
    stores = sorted((CORPORA / "pst").glob("*.pst"))
    p = run("import", str(case), *map(str, stores))
    assert p.returncode == 0, p.stderr[-500:]
    assert "password-protected" in p.stderr
    assert "read without it" in p.stderr
    items = json.loads(run("items", str(case), "--json").stdout)
    top = {i["name"]: i for i in items if i["parent_id"] is None}
    for src in stores:  # the store is acquired as it is
        assert top[src.name]["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
        assert top[src.name]["status"] == "analysed"
    # custody --json prints each entry as hashed: detail is JSON text (issue 11)
    custody = [{**e, "detail": json.loads(e["detail"])}
               for e in json.loads(run("custody", str(case), "--json").stdout)]
    derived = [e for e in custody
               if e["action"] == "derived" and e["detail"].get("how") == "outlook store message"]
    assert len(derived) == 7
    assert all(e["detail"]["folder"].startswith("/") and "rebuilt" in e["detail"] for e in derived)
    analysed = {e["item_id"]: e for e in custody if e["action"] == "analysed"}
    assert analysed[top["passworded.pst"]["id"]]["detail"]["password_protected"] is True
    assert analysed[top["dist-list.pst"]["id"]]["detail"]["password_protected"] is False
    stores_ids = (top["passworded.pst"]["id"], top["dist-list.pst"]["id"])
    messages = [i for i in items if i["parent_id"] in stores_ids]
    assert len(messages) == 7
    assert all(m["status"] == "analysed" for m in messages)
    assert run("verify", str(case)).returncode == 0
