# SPDX-License-Identifier: GPL-3.0-or-later
"""Commands on examiners' keys: list them, export a public key, trust a colleague's key."""

from __future__ import annotations

import argparse
from pathlib import Path

from desktop.cli.common import EXIT_OK, AddCommand, Parser, emit, shown, usage


def cmd_keys_list(args: argparse.Namespace) -> int:
    """List the keys this workstation holds or trusts."""
    from desktop.core.keys import list_keys

    found = list_keys()
    if args.json:
        emit([k.to_json() for k in found])
        return EXIT_OK
    for k in found:
        flags = ", ".join(f for f, on in (("trusted", k.trusted), ("private key here", k.private)) if on)
        print(f"{k.fingerprint}\t{shown(k.examiner)}\t{flags or 'NOT TRUSTED'}")
    return EXIT_OK


def cmd_keys_export(args: argparse.Namespace) -> int:
    """Write a key's public half to a file, to hand to a colleague who checks your packages."""
    from desktop.core.keys import export_key

    info = export_key(args.fingerprint, Path(args.output))
    print(f"wrote the public key of {shown(info.examiner)} ({info.fingerprint}) to {shown(args.output)}")
    return EXIT_OK


def cmd_keys_trust(args: argparse.Namespace) -> int:
    """Trust an examiner's public key on this workstation (recorded in the ledger)."""
    from desktop.core.keys import trust_key

    info, added = trust_key(Path(args.file))
    state = "now trusted" if added else "already trusted"
    print(f"key {info.fingerprint} of {shown(info.examiner)}: {state} on this workstation")
    return EXIT_OK


def register(add: AddCommand) -> None:
    """Add ``keys`` and its subcommands to the parser."""
    keys = add("keys", lambda a: usage("keys needs a subcommand: list, export or trust"),
               "examiners' signing keys and the keys this workstation trusts")
    sub = keys.add_subparsers(dest="keys_command", parser_class=Parser)
    sp = sub.add_parser("list", help="list the keys held or trusted here")
    sp.set_defaults(fn=cmd_keys_list)
    sp.add_argument("--json", action="store_true")
    sp = sub.add_parser("export", help="write a public key to a file")
    sp.set_defaults(fn=cmd_keys_export)
    sp.add_argument("fingerprint", metavar="FINGERPRINT")
    sp.add_argument("-o", "--output", required=True, metavar="FILE")
    sp = sub.add_parser("trust", help="trust an examiner's public key on this workstation")
    sp.set_defaults(fn=cmd_keys_trust)
    sp.add_argument("file", metavar="FILE")
