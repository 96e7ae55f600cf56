# SPDX-License-Identifier: GPL-3.0-or-later
"""A generator of realistic mail campaigns, for the grouping tests and ``tests/bench/bulk_mail.py``.

Each campaign is what one actor sends in one wave: one body template filled in per recipient
(greeting name, amounts, dates, reference numbers, a tracking URL with a per-recipient token),
a few subject variants, two or three sending hosts (origin IP and HELO), one mailer, one
Message-ID domain, a DKIM domain for some, and for most one attachment with the same bytes for
everyone. Messages are RFC 5322 with a Received chain, so the real parser and analysis read them.
Mixed with real phishing mail as background, the grouping must find each campaign and pull in
almost no background message.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

FIRST = ("James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard "
         "Susan Joseph Jessica Thomas Sarah Carlos Karen Daniel Nancy Matthew Lisa Anthony Betty Mark "
         "Margaret Donald Sandra Steven Ashley Paul Kimberly Andrew Emily Joshua Donna Kenneth Michelle").split()
LAST = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez "
        "Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark "
        "Ramirez Lewis Robinson").split()
DOMAINS = ["example.com", "example.org", "example.net", "mail.example", "voters.example", "corp.example"]

TEMPLATES = [
    ("We are in possession of all your information. You are currently registered as a {party} voter and "
     "we know this because we have gained access into the entire voting infrastructure. You will vote for "
     "{candidate} on Election Day or we will come after you. Change your party affiliation to {party2} to let "
     "us know you received our message and will comply. We will know which candidate you voted for. I would "
     "take this seriously if I were you. Good luck. Your address {street} {house} is on our list, {name}.",
     ["Vote for {candidate} or else!", "Vote for {candidate} or else", "You have been warned, {name}",
      "Final warning"]),
    ("Dear {name}, your invoice {ref} for the amount of {amount} USD is overdue since {date}. To avoid "
     "late fees and the suspension of your account please review the attached statement and complete the "
     "payment within 48 hours. You can view the invoice online at {url}. If you have already paid this "
     "invoice please disregard this notice. Thank you for your business. Accounts Receivable Department, "
     "Northwind Billing Services, reference {ref2}.",
     ["Overdue invoice {ref}", "Invoice {ref} - payment reminder", "Re: invoice {ref} overdue"]),
    ("Hello {name}, we were unable to deliver your parcel {ref} on {date} because no one was available to "
     "sign for it. Your package will be returned to the sender in 3 days unless you confirm your delivery "
     "address and pay the redelivery fee of {amount} EUR. Confirm your delivery now at {url}. Tracking "
     "number {ref2}. We apologise for the inconvenience. Customer Service Team, Global Parcel Express.",
     ["Delivery attempt failed for parcel {ref}", "Your parcel {ref} is on hold",
      "Action required: parcel {ref}"]),
    ("Dear {name}, our security system detected an unusual sign-in attempt to your mailbox from a new "
     "device on {date} at {time}. If this was not you, your account will be locked within 24 hours. "
     "To keep your mailbox active you must verify your identity and reset your password here: {url} . "
     "Failure to verify will result in permanent loss of all your messages. IT Helpdesk, case number {ref}.",
     ["Unusual sign-in activity", "Your mailbox will be locked", "Security alert for {email}"]),
    ("Dear {name}, after the annual calculation of your fiscal activity we have determined that you are "
     "eligible to receive a tax refund of {amount} GBP. Please submit the attached form with your bank "
     "details before {date} so that the refund can be processed. Reference {ref}. Alternatively complete "
     "the form online at {url}. Do not reply to this message. Her Majesty's Refund Office.",
     ["Tax refund notification", "You are eligible for a refund of {amount} GBP", "Refund {ref} pending"]),
    ("Hi {name}, please find attached the updated salary adjustment and bonus schedule for {date}. All "
     "employees are required to review and acknowledge the document by the end of the week. The document is "
     "protected; enable editing and content to view it. Your employee number is {ref}. Regards, Human "
     "Resources, People Operations.",
     ["Salary adjustment {date}", "Updated bonus schedule", "HR: please acknowledge by Friday"]),
]


@dataclass(frozen=True)
class Campaign:
    """One generated campaign: its label and the files of its messages."""

    label: str
    files: list[Path]


def _person(rng: random.Random) -> tuple[str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return f"{first} {last}", f"{first.lower()}.{last.lower()}{rng.randint(1, 999)}@{rng.choice(DOMAINS)}"


def _fill(text: str, rng: random.Random, name: str, addr: str, token: str, domain: str) -> str:
    when = datetime(2020, 10, rng.randint(1, 28), tzinfo=UTC)
    return text.format(
        name=name.split()[0] if rng.random() < 0.5 else name, email=addr,
        party=rng.choice(["Democrat", "Independent"]),
        party2="Republican", candidate="Trump", street=rng.choice(["Oak St", "Main St", "Elm Ave", "Pine Rd"]),
        house=rng.randint(1, 9999), ref=f"{rng.randint(100000, 999999)}", ref2=f"ZX{rng.randint(10**7, 10**8)}",
        amount=f"{rng.randint(50, 5000)}.{rng.randint(10, 99)}", date=when.strftime("%d %B %Y"),
        time=f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",
        url=f"https://{domain}/{token}/login?u={rng.randint(10**5, 10**6)}")


def generate(dest: Path, *, campaigns: int = 4, per_campaign: int = 25, seed: int = 13) -> list[Campaign]:
    """Write ``campaigns`` campaigns of ``per_campaign`` messages each as ``.eml`` files in ``dest``."""
    rng = random.Random(seed)
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for c in range(campaigns):
        body, subjects = TEMPLATES[c % len(TEMPLATES)]
        label = f"campaign-{c + 1}"
        actor = f"{rng.choice(['secure', 'notice', 'billing', 'info', 'support'])}-{rng.randint(10, 99)}"
        sender_domain = f"{actor}.{rng.choice(['top', 'xyz', 'info', 'site', 'online'])}"
        link_domain = f"{rng.choice(['verify', 'portal', 'docs', 'pay'])}-{rng.randint(100, 999)}.{sender_domain}"

        hosts = [(f"185.100.{rng.randint(80, 90)}.{rng.randint(2, 250)}", f"mx{i}.{sender_domain}")
                 for i in range(rng.randint(2, 3))]
        mailer = rng.choice(["PHPMailer 6.1.7", "Microsoft Outlook 16.0", "Swift Mailer", "sendmail 8.15"])
        attachment = rng.randbytes(rng.randint(2000, 6000)) if c % 3 != 2 else None
        att_name = rng.choice(["invoice.pdf", "statement.zip", "form.doc", "video.mp4"])
        start = datetime(2020, 10, 20, 6, 0, tzinfo=UTC) + timedelta(days=c)
        files = []
        for i in range(per_campaign):
            name, addr = _person(rng)
            token = f"{rng.getrandbits(40):010x}"
            ip, helo = rng.choice(hosts)
            sent = start + timedelta(minutes=rng.randint(0, 240), seconds=rng.randint(0, 59))
            m = EmailMessage()
            m["Return-Path"] = f"<bounce-{token}@{sender_domain}>"
            relay = rng.choice(DOMAINS)
            m["Received"] = (f"from mx.{relay} (mx.{relay} [192.0.2.{rng.randint(1, 200)}]) by inbox.example.com "
                             f"with ESMTPS id {token}; {format_datetime(sent + timedelta(seconds=3))}")
            m["Received"] = (f"from {helo} ({helo} [{ip}]) by mx.example.net with ESMTP id {token[:6]}; "
                             f"{format_datetime(sent + timedelta(seconds=1))}")
            if c % 2 == 0:
                m["DKIM-Signature"] = f"v=1; a=rsa-sha256; d={sender_domain}; s=s{c}; bh=x; b=y"
            m["From"] = f"{rng.choice(['Notice', 'Billing', 'Support', 'Service'])} <{actor}@{sender_domain}>"
            m["To"] = f"{name} <{addr}>"
            m["Subject"] = _fill(rng.choice(subjects), rng, name, addr, token, link_domain)
            m["Date"] = format_datetime(sent)
            m["Message-ID"] = make_msgid(idstring=token, domain=sender_domain)
            m["X-Mailer"] = mailer
            m.set_content(_fill(body, rng, name, addr, token, link_domain) + "\n")
            if attachment is not None:
                m.add_attachment(attachment, maintype="application", subtype="octet-stream", filename=att_name)
            path = dest / f"{label}-{i + 1:04d}.eml"
            path.write_bytes(bytes(m))
            files.append(path)
        out.append(Campaign(label, files))
    return out


def score(groups: list[list[str]], truth: dict[str, str]) -> dict[str, tuple[float, float, int]]:
    """Precision, recall and background messages pulled in, per campaign label.

    Args:
        groups: the campaigns found, each a list of file names.
        truth: file name -> campaign label, for generated messages (background files are absent).

    Returns:
        For each label: precision and recall of the group holding most of its messages, and how
        many background messages that group holds.
    """
    out = {}
    for label in sorted(set(truth.values())):
        mine = {f for f, lab in truth.items() if lab == label}
        best = max(groups, key=lambda g: len(mine & set(g)), default=[])
        hit = len(mine & set(best))
        precision = hit / len(best) if best else 0.0
        background = sum(1 for f in best if f not in truth)
        out[label] = (precision, hit / len(mine), background)
    return out
