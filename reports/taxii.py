# SPDX-License-Identifier: GPL-3.0-or-later
"""TAXII 2.1: push a case's STIX bundle to a collection, pull a collection into the library.

This is the one place in Casetrail that talks to the network, and only when the analyst runs
``casetrail taxii push`` or ``casetrail intel pull``: nothing else imports it, and it opens no
connection on import. It uses the OASIS client (``taxii2-client``).

Rules it keeps:

- **Credentials are never stored.** The user name and password are used for the request and
  forgotten; the case and the library record whether the exchange was authenticated, not who or
  how. A URL carrying ``user:password@`` is refused (the password would end up in records and
  shell history).
- **No clear text off the machine.** ``http://`` is accepted for loopback addresses only (a local
  server, the tests); anything else must be ``https://`` with a certificate the system trusts
  (``REQUESTS_CA_BUNDLE`` names another CA bundle).
- **TLP:RED stays home.** Objects marked TLP:RED (and whatever refers to them) are withheld from a
  push, counted and said; a TLP:RED case is not pushed at all.
- **What was sent or received is kept and hashed.** A push writes the exact envelope it sends to
  the case's ``exports/`` folder and records it in custody (``exported``, with its SHA-256, the
  server's status and the counts), also when the server refuses it. A pull keeps the exact bundle
  it received in the workstation folder (``pulled/<sha256>.json``), imports it like any feed file,
  and both directions are appended to the workstation's exchange log (``exchanges`` in the library:
  append-only, enforced by triggers).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from desktop.core import references
from desktop.core.case import Case
from desktop.core.custody import utc_now
from desktop.core.errors import CasetrailError
from desktop.core.intel import FeedImport, Library, library_dir
from desktop.core.ip import address_class
from desktop.core.verify import require_intact
from reports.atomic_write import write_atomic
from reports.stix_export import TLP2_MARKING_IDS, build_bundle

TAXII_TIMEOUT_S = 60  # how long a push waits for the server to finish an asynchronous add
_RED = TLP2_MARKING_IDS["red"]
_PULL_NAMESPACE = uuid.UUID("8f0c3e55-2b7d-5a1e-9c44-6d2f0b9a7e13")
_EXCHANGES = """
CREATE TABLE IF NOT EXISTS exchanges (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('push', 'pull')),
    url TEXT NOT NULL,
    collection TEXT NOT NULL,
    authenticated INTEGER NOT NULL,
    objects INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    file TEXT NOT NULL,
    result TEXT NOT NULL,
    case_id TEXT
) STRICT;
CREATE TRIGGER IF NOT EXISTS exchanges_no_update BEFORE UPDATE ON exchanges
BEGIN SELECT RAISE(ABORT, 'the exchange log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS exchanges_no_delete BEFORE DELETE ON exchanges
BEGIN SELECT RAISE(ABORT, 'the exchange log is append-only'); END;
"""


class TaxiiError(CasetrailError):
    """A TAXII exchange could not be made (refused URL, server error, authentication)."""


@dataclass(frozen=True)
class Credentials:
    """Who to authenticate as; held in memory for one exchange only (never written)."""

    user: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class PushResult:
    """What a push sent and what the server said."""

    collection_url: str
    sent: int
    succeeded: int
    failed: int
    pending: int
    withheld: int
    sha256: str
    file: str

    def summary(self) -> str:
        """One line for the terminal."""
        line = (f"pushed {self.sent} STIX objects to {self.collection_url}: {self.succeeded} added, "
                f"{self.failed} refused, {self.pending} pending; sent envelope {self.file} "
                f"(sha256 {self.sha256})")
        if self.withheld:
            line += f"; {self.withheld} objects marked TLP:RED (or referring to them) withheld"
        return line


@dataclass(frozen=True)
class PullResult:
    """What a pull received and what importing it did."""

    collection_url: str
    received: int
    sha256: str
    file: str
    feed: FeedImport

    def summary(self) -> str:
        """The feed's import summary, after what was received."""
        return (f"pulled {self.received} STIX objects from {self.collection_url} (sha256 {self.sha256}, "
                f"kept as {self.file})\n{self.feed.summary()}")


def collection_url(url: str, collection: str) -> str:
    """The collection's URL from an API root URL (or a collection URL) and a collection id.

    Raises:
        TaxiiError: the URL carries credentials, is not http(s), or is plain http off loopback.
    """
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise TaxiiError(f"{url!r} is not an http(s) URL of a TAXII 2.1 API root")
    if parts.username or parts.password:
        raise TaxiiError("the URL carries a user name or password; give the user with --user and the "
                         "password in CASETRAIL_TAXII_PASSWORD or at the prompt")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise TaxiiError(f"{url} is plain http to another machine; use https (http is accepted only "
                         "for a server on this machine)")
    if not collection.strip() or "/" in collection:
        raise TaxiiError(f"{collection!r} is not a collection id")
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    if f"/collections/{collection}/" not in path:
        path += f"collections/{collection}/"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    return address_class(host) == "loopback"  # the one reading of an address (desktop.core.ip)


def _collection(url: str, creds: Credentials) -> Any:
    from taxii2client.v21 import Collection

    return Collection(url, user=creds.user, password=creds.password)


def _client_error(exc: Exception, url: str) -> TaxiiError:
    """One sentence for whatever the client or the connection raised."""
    import requests
    from taxii2client.exceptions import AccessError, TAXIIServiceException

    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        code = exc.response.status_code
        why = {401: "the server wants a valid user and password (--user, CASETRAIL_TAXII_PASSWORD)",
               403: "the server refuses this user access to the collection",
               404: "the server has no such API root or collection"}.get(code, exc.response.reason or "")
        return TaxiiError(f"TAXII server at {url} answered {code}: {why}")
    if isinstance(exc, requests.exceptions.SSLError):
        return TaxiiError(f"cannot verify the TLS certificate of {url}; set REQUESTS_CA_BUNDLE to the CA "
                          "bundle that signed it")
    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        return TaxiiError(f"cannot reach the TAXII server at {url}: {type(exc).__name__}")
    if isinstance(exc, AccessError):
        return TaxiiError(f"the collection {url} does not let this user do that: {exc}")
    if isinstance(exc, TAXIIServiceException | ValueError):
        return TaxiiError(f"the TAXII server at {url} answered something Casetrail cannot use: {exc}")
    return TaxiiError(f"the TAXII exchange with {url} failed: {type(exc).__name__}: {exc}")


def _record_exchange(direction: str, url: str, collection: str, creds: Credentials, objects: int,
                     sha256: str, file: str, result: str, case_id: str | None) -> None:
    with Library.open() as lib:
        conn: sqlite3.Connection = lib.conn
        conn.executescript(_EXCHANGES)
        conn.execute("INSERT INTO exchanges (at, direction, url, collection, authenticated, objects, sha256, "
                     "file, result, case_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (utc_now(), direction, url, collection, int(creds.user is not None), objects, sha256,
                      file, result, case_id))


def withhold_red(objects: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Objects fit to leave the machine: none marked TLP:RED, none referring to one that is."""
    red = {o["id"] for o in objects if _RED in (o.get("object_marking_refs") or [])}
    changed = True
    while changed:  # a sighting or note of a red indicator is red by what it tells
        changed = False
        for obj in objects:
            if obj["id"] in red or obj["type"] == "grouping":
                continue
            refs = {obj.get(k) for k in ("source_ref", "target_ref", "sighting_of_ref")}
            refs |= set(obj.get("object_refs") or [])
            if refs & red:
                red.add(obj["id"])
                changed = True
    kept = []
    for obj in objects:
        if obj["id"] in red:
            continue
        if obj["type"] == "grouping":
            obj = {**obj, "object_refs": [r for r in obj["object_refs"] if r not in red]}
        kept.append(obj)
    return kept, len(red)


def push_case(case: Case, url: str, collection: str, creds: Credentials,
              *, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> PushResult:
    """Push the case's STIX bundle to a TAXII 2.1 collection; record what was sent in custody.

    Raises:
        TaxiiError: the URL is refused, the case is TLP:RED, or the server could not take it (the
            attempt is recorded in custody all the same).
    """
    target = collection_url(url, collection)
    references.ensure_snapshot(case)  # issue 11: what is shared is the case's own, verified state
    require_intact(case, "TAXII push")
    if str(case.meta.get("tlp", "")).lower() == "red":
        raise TaxiiError("the case is TLP:RED: it is not pushed to a shared collection; export it "
                         "(export --stix) for its named recipients instead")
    bundle, _counts, _skipped = build_bundle(case)
    objects, withheld = withhold_red(list(bundle["objects"]))
    envelope = {"objects": objects}
    data = (json.dumps(envelope, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    stamp = now().strftime("%Y%m%dT%H%M%SZ")
    out = case.path / "exports" / f"taxii-push-{stamp}-{uuid.uuid4().hex[:8]}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    digest = write_atomic(out, data)
    detail: dict[str, Any] = {"format": "taxii-2.1", "collection_url": target, "collection": collection,
                              "authenticated": creds.user is not None, "objects": len(objects),
                              "withheld_tlp_red": withheld, "envelope": out.name, "bundle_id": bundle["id"]}
    try:
        status = _collection(target, creds).add_objects(data, wait_for_completion=True, poll_interval=1,
                                                        timeout=TAXII_TIMEOUT_S)
    except Exception as exc:  # the client raises requests' and its own errors
        error = _client_error(exc, target)
        case.record("exported", source=target, sha256=digest, result=f"push failed: {error}",
                    detail={**detail, "error": str(error)})
        _record_exchange("push", target, collection, creds, len(objects), digest, str(out),
                         f"failed: {error}", str(case.meta.get("case_id", "")))
        raise error from exc
    added, refused, pending = (int(n or 0) for n in (status.success_count, status.failure_count,
                                                      status.pending_count))
    result = f"pushed: {added} added, {refused} refused, {pending} pending ({status.status})"
    case.record("exported", source=target, sha256=digest, result=result,
                detail={**detail, "status": str(status.status), "status_id": str(status.id),
                        "succeeded": added, "failed": refused, "pending": pending})
    _record_exchange("push", target, collection, creds, len(objects), digest, str(out), result,
                     str(case.meta.get("case_id", "")))
    return PushResult(target, len(objects), added, refused, pending, withheld, digest, str(out))


def pull_collection(url: str, collection: str, creds: Credentials, *, page_size: int = 500) -> PullResult:
    """Fetch every object of a TAXII 2.1 collection, keep the bytes, import them as a feed.

    Raises:
        TaxiiError: the URL is refused or the server could not be read (recorded in the exchange log).
    """
    from taxii2client.v21 import as_pages

    target = collection_url(url, collection)
    objects: list[dict[str, Any]] = []
    try:
        source = _collection(target, creds)
        for envelope in as_pages(source.get_objects, per_request=page_size):
            objects += [o for o in envelope.get("objects", []) if isinstance(o, dict)]
    except Exception as exc:  # the client raises requests' and its own errors
        error = _client_error(exc, target)
        _record_exchange("pull", target, collection, creds, len(objects), "", "", f"failed: {error}", None)
        raise error from exc
    if not objects:
        _record_exchange("pull", target, collection, creds, 0, "", "", "empty collection", None)
        raise TaxiiError(f"the collection {target} holds no objects (nothing imported)")
    # The same objects pulled again are the same bytes, hence the same feed (already imported).
    objects.sort(key=lambda o: (str(o.get("id")), str(o.get("modified", ""))))
    content = json.dumps(objects, sort_keys=True, ensure_ascii=False)
    bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid5(_PULL_NAMESPACE, target + content)}",
              "objects": objects}
    data = (json.dumps(bundle, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    digest = hashlib.sha256(data).hexdigest()
    out = library_dir() / "pulled" / f"taxii-{collection}-{digest[:16]}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, data)
    with Library.open() as lib:
        feed = lib.import_feed(out)
    _record_exchange("pull", target, collection, creds, len(objects), digest, str(out),
                     f"imported as feed {feed.feed_id}: {feed.entries} values", None)
    return PullResult(target, len(objects), digest, str(out), feed)
