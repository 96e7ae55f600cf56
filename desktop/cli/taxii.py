# SPDX-License-Identifier: GPL-3.0-or-later
"""TAXII 2.1 commands: ``taxii push CASE URL --collection ID [--user NAME]`` (and ``intel pull``).

The only commands that use the network, and only when run. The password comes from
``CASETRAIL_TAXII_PASSWORD`` or, on a terminal, a prompt that does not echo; it is never written
anywhere.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from desktop.cli.common import EXIT_OK, AddCommand, open_case, shown
from desktop.core.errors import CasetrailError

PASSWORD_VARIABLE = "CASETRAIL_TAXII_PASSWORD"  # noqa: S105 - the variable's name, not a password


def credentials(user: str | None) -> tuple[str | None, str | None]:
    """The user and password for a TAXII exchange (none without ``--user``).

    Raises:
        CasetrailError: a user is named but no password is set and there is no terminal to ask.
    """
    if not user:
        return None, None
    password = os.environ.get(PASSWORD_VARIABLE)
    if password is None:
        if not sys.stdin.isatty():
            raise CasetrailError(f"the TAXII password of {user} is needed: set {PASSWORD_VARIABLE} "
                                 "(there is no terminal to ask on)")
        password = getpass.getpass(f"TAXII password for {user}: ")
    return user, password


def cmd_push(args: argparse.Namespace) -> int:
    """Push the case's STIX 2.1 bundle to a TAXII 2.1 collection."""
    from reports.taxii import Credentials, push_case

    user, password = credentials(args.user)
    with open_case(args.case, write=True) as case:
        result = push_case(case, args.url, args.collection, Credentials(user, password))
    print(shown(result.summary()))
    return EXIT_OK


def cmd_pull(args: argparse.Namespace) -> int:
    """Pull every object of a TAXII 2.1 collection into the workstation library."""
    from reports.taxii import Credentials, pull_collection

    user, password = credentials(args.user)
    result = pull_collection(args.url, args.collection, Credentials(user, password))
    print(shown(result.summary()))
    return EXIT_OK


def add_pull_arguments(sp: argparse.ArgumentParser) -> None:
    """The arguments of ``intel pull`` (registered in the ``intel`` group)."""
    sp.set_defaults(fn=cmd_pull)
    sp.add_argument("url", metavar="URL", help="the TAXII 2.1 API root (https://…/api1/)")
    sp.add_argument("--collection", required=True, metavar="ID")
    sp.add_argument("--user", metavar="NAME", help=f"authenticate as NAME (password: {PASSWORD_VARIABLE} "
                                                  "or a prompt)")


def register(add: AddCommand) -> None:
    """Add ``taxii`` and its ``push`` subcommand to the parser."""
    from desktop.cli.common import Parser, usage

    taxii = add("taxii", lambda a: usage("taxii needs a subcommand: push"),
                "exchange with a TAXII 2.1 server (the only commands that use the network)")
    sub = taxii.add_subparsers(dest="taxii_command", parser_class=Parser)
    sp = sub.add_parser("push", help="push the case's STIX 2.1 bundle to a TAXII 2.1 collection")
    sp.set_defaults(fn=cmd_push)
    sp.add_argument("case", metavar="CASE")
    sp.add_argument("url", metavar="URL", help="the TAXII 2.1 API root (https://…/api1/)")
    sp.add_argument("--collection", required=True, metavar="ID")
    sp.add_argument("--user", metavar="NAME", help=f"authenticate as NAME (password: {PASSWORD_VARIABLE} "
                                                  "or a prompt)")
