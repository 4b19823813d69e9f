"""Mailboxes customer mail is read from: a real Maildir folder and a real Dovecot IMAP server over verified TLS."""

from __future__ import annotations

import mailbox
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from workflow.adapters.mailboxes import TAKEN_KEYWORD, ImapMailbox, MaildirMailbox
from workflow.domain.errors import MailboxUnavailable

if TYPE_CHECKING:
    from tests.dovecot import ImapServer



def message(number: int, subject: str = "parcel is late") -> bytes:
    return (f"From: anna{number}@example.com\r\nTo: support@example.cn\r\nSubject: {subject} {number}\r\n"
            f"Message-ID: <m{number}@example.com>\r\n\r\nWhere is my parcel {number}?\r\n").encode()


# Maildir


def deliver(path: Path, raw: bytes, delivered_at: int) -> str:
    """Deliver as a mail delivery agent does (tmp/ then new/), at a given time; the message's key."""
    for folder in ("new", "cur", "tmp"):
        (path / folder).mkdir(parents=True, exist_ok=True)
    key = mailbox.Maildir(path).add(raw)
    os.utime(path / "new" / key, (delivered_at, delivered_at))
    return key


def test_maildir_lists_new_mail_oldest_first_whatever_the_file_names(tmp_path):
    box = MaildirMailbox("demo", tmp_path / "mail")
    late = deliver(tmp_path / "mail", message(2), delivered_at=1_800_000_200)
    early = deliver(tmp_path / "mail", message(1), delivered_at=1_800_000_100)

    fetched = list(box.pending())

    assert [f.key for f in fetched] == [early, late]
    assert fetched[0].raw == message(1)


def test_maildir_creates_its_folders_on_first_use(tmp_path):
    box = MaildirMailbox("demo", tmp_path / "not-yet")

    assert list(box.pending()) == []
    assert sorted(p.name for p in (tmp_path / "not-yet").iterdir()) == ["cur", "new", "tmp"]


def test_maildir_taken_mail_moves_to_cur_as_seen_and_is_not_listed_again(tmp_path):
    box = MaildirMailbox("demo", tmp_path)
    first = deliver(tmp_path, message(1), 1_800_000_100)
    second = deliver(tmp_path, message(2), 1_800_000_200)

    box.mark_taken(first)

    assert [f.key for f in box.pending()] == [second]
    assert [p.name for p in (tmp_path / "cur").iterdir()] == [f"{first}:2,S"]
    assert mailbox.Maildir(tmp_path, create=False).get_message(first).get_flags() == "S"


def test_maildir_marking_twice_is_harmless(tmp_path):
    box = MaildirMailbox("demo", tmp_path)
    key = deliver(tmp_path, message(1), 1_800_000_100)

    box.mark_taken(key)
    box.mark_taken(key)  # a crash between commit and mark: the next run marks again

    assert [p.name for p in (tmp_path / "cur").iterdir()] == [f"{key}:2,S"]
    assert list(box.pending()) == []


def test_maildir_keeps_flags_a_message_arrived_with(tmp_path):
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "1800000000.M1P1.host:2,F").write_bytes(message(1))
    box = MaildirMailbox("demo", tmp_path)

    [fetched] = box.pending()
    box.mark_taken(fetched.key)

    assert fetched.key == "1800000000.M1P1.host"
    assert [p.name for p in (tmp_path / "cur").iterdir()] == ["1800000000.M1P1.host:2,FS"]


def test_maildir_limit_is_honoured(tmp_path):
    box = MaildirMailbox("demo", tmp_path)
    keys = [deliver(tmp_path, message(n), 1_800_000_000 + n) for n in range(5)]

    assert [f.key for f in box.pending(limit=2)] == keys[:2]


def test_an_unreadable_maildir_is_one_line_naming_the_mailbox(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    box = MaildirMailbox("demo", tmp_path / "file")

    with pytest.raises(MailboxUnavailable) as refused:
        list(box.pending())

    assert str(refused.value).startswith(f"mailbox 'demo' ({tmp_path / 'file'}): cannot read the folder: ")
    assert "\n" not in str(refused.value)


# IMAP against the real Dovecot


def support_box(imap: ImapServer, **overrides) -> ImapMailbox:
    settings = {"host": imap.host, "port": imap.port, "username": "support",
                "password": imap.users["support"], "ca_file": imap.ca_file, "timeout": 5} | overrides
    return ImapMailbox("support", **settings)


def refusal(box: ImapMailbox) -> str:
    with pytest.raises(MailboxUnavailable) as refused:
        list(box.pending())
    text = str(refused.value)
    assert "\n" not in text and "password-1" not in text
    return text


def test_imap_lists_appended_mail_by_uid_whole_and_unread(imap):
    uids = [imap.append("support", message(n)) for n in range(3)]
    imap.append("sales", message(9))  # another user's mail stays theirs
    box = support_box(imap)

    fetched = list(box.pending())
    box.close()

    validity = fetched[0].key.split(":")[0]
    assert [f.key for f in fetched] == [f"{validity}:{uid}" for uid in uids]
    assert [f.raw for f in fetched] == [message(n) for n in range(3)]
    with imap.login("support") as client:
        assert [m.flags for m in client.fetch(mark_seen=False, headers_only=True)] == [(), (), ()]


def test_imap_limit_is_honoured_oldest_first(imap):
    uids = [imap.append("support", message(n)) for n in range(4)]
    box = support_box(imap)

    assert [int(f.key.split(":")[1]) for f in box.pending(limit=2)] == uids[:2]
    box.close()


def test_imap_taken_mail_is_hidden_but_a_mail_client_reading_it_is_not_enough(imap):
    imap.append("support", message(1))
    read_by_agent = imap.append("support", message(2), flags=("\\Seen",))
    box = support_box(imap)
    first, second = box.pending()

    box.mark_taken(first.key)
    box.mark_taken(first.key)  # marking twice is harmless

    assert [f.key for f in box.pending()] == [second.key]
    assert second.key.endswith(f":{read_by_agent}")
    box.close()
    with imap.login("support") as client:
        flags = {m.uid: set(m.flags) for m in client.fetch(mark_seen=False, headers_only=True)}
    assert flags[first.key.split(":")[1]] == {TAKEN_KEYWORD, "\\Seen"}


def test_imap_done_folder_receives_taken_mail_and_is_created_when_missing(imap):
    imap.append("support", message(1))
    imap.append("support", message(2))
    box = support_box(imap, done_folder="已处理")  # a modified UTF-7 name on the wire
    first, second = box.pending()

    box.mark_taken(first.key)
    box.mark_taken(first.key)  # already moved: nothing happens

    assert [f.key for f in box.pending()] == [second.key]
    box.close()
    with imap.login("support") as client:
        client.folder.set("已处理")
        [moved] = client.fetch(mark_seen=False)
    assert moved.subject == "parcel is late 1" and TAKEN_KEYWORD in moved.flags


def test_imap_mail_taken_but_not_moved_before_a_crash_moves_after_the_next_connection(imap):
    imap.append("support", message(1))
    crashed = support_box(imap, done_folder="Done")
    [taken] = crashed.pending()
    crashed.mark_taken(taken.key)  # the process dies here: flagged, never moved

    again = support_box(imap, done_folder="Done")
    assert list(again.pending()) == []
    again.close()

    with imap.login("support") as client:
        assert client.uids("ALL") == []
        client.folder.set("Done")
        assert [m.subject for m in client.fetch(mark_seen=False)] == ["parcel is late 1"]
    crashed.close()


def test_the_folder_read_cannot_be_the_done_folder():
    with pytest.raises(ValueError, match="done_folder must differ from the folder read"):
        ImapMailbox("support", "imap.example.cn", 993, "support", "secret", done_folder="INBOX")


def test_imap_done_folder_the_server_refuses_is_named_at_once(imap):
    text = refusal(support_box(imap, done_folder="Done..2026"))

    assert text.startswith(f"mailbox 'support' (127.0.0.1:{imap.port}): done folder 'Done..2026' cannot be "
                           "created: [CANNOT] Invalid mailbox name")


def test_imap_reconnects_after_close(imap):
    imap.append("support", message(1))
    box = support_box(imap)
    [before] = box.pending()
    box.close()
    box.close()  # closing twice is harmless

    [after] = box.pending()
    box.mark_taken(after.key)

    assert after == before
    assert list(box.pending()) == []
    box.close()


def test_imap_starttls_and_plain_imap_to_localhost_are_read_too(imap):
    imap.append("support", message(1))
    for box in (support_box(imap, port=imap.plain_port, ssl=False, starttls=True),
                support_box(imap, port=imap.plain_port, ssl=False, host="localhost", ca_file=None)):
        assert [f.raw for f in box.pending()] == [message(1)]
        box.close()


def test_imap_wrong_password_is_refused_in_one_line_without_the_password(imap):
    box = support_box(imap, password="support-password-2")

    assert refusal(box) == f"mailbox 'support' (127.0.0.1:{imap.port}): login refused for support"


def test_imap_wrong_port_is_refused(imap):
    from tests.dovecot import free_port

    box = support_box(imap, port=free_port())

    assert refusal(box) == f"mailbox 'support' (127.0.0.1:{box.port}): connection refused"


def test_imap_server_that_never_answers_is_a_timeout(imap):
    with socket.create_server(("127.0.0.1", 0)) as silent:  # connections wait in its backlog, never greeted
        box = support_box(imap, port=silent.getsockname()[1], timeout=0.3)

        assert refusal(box) == f"mailbox 'support' (127.0.0.1:{box.port}): no answer within 0.3 s"


def test_imap_missing_folder_is_named(imap):
    text = refusal(support_box(imap, folder="Complaints"))

    assert text.startswith(f"mailbox 'support' (127.0.0.1:{imap.port}): folder 'Complaints' cannot be opened: ")


def test_imap_certificate_not_signed_by_a_trusted_ca_is_refused(imap):
    text = refusal(support_box(imap, ca_file=None))

    assert text.startswith(f"mailbox 'support' (127.0.0.1:{imap.port}): the server's TLS certificate is not "
                           "trusted: ")


def test_imap_certificate_for_another_name_is_refused(imap):
    box = support_box(imap, host="127.1")  # the same address written another way: a name the certificate lacks

    assert "TLS certificate is not trusted: Hostname mismatch" in refusal(box)


def test_plain_imap_to_another_host_is_refused_before_connecting(imap):
    box = support_box(imap, host="imap.example.cn", port=143, ssl=False, starttls=False)

    assert refusal(box) == ("mailbox 'support' (imap.example.cn:143): plain IMAP (ssl and starttls off) is allowed "
                            "only to 127.0.0.1 or localhost; turn on ssl or starttls")
