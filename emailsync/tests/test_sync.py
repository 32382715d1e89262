"""Sync against a real Dovecot: incremental, exact, and safe when cut."""

import datetime

import pytest
from emailsync.models import Folder, MailAccount, Message, MessageLocation, RawMessage
from emailsync.sync import sync_account
from tests.support.mail import make_raw
from tests.support.proxy import Proxy

pytestmark = pytest.mark.django_db


@pytest.fixture
def mailbox(mailbox_user, dovecot):
    login, _password = mailbox_user
    return login


@pytest.fixture
def account(owner, mailbox_user, connect_account):
    return connect_account(owner, *mailbox_user)


@pytest.fixture
def proxy(dovecot):
    server = Proxy(dovecot.host, dovecot.imap_port).start()
    yield server
    server.stop()


def through_proxy(account, proxy):
    """Point the account at the proxy, unencrypted so commands can be read."""
    MailAccount.objects.filter(pk=account.pk).update(
        incoming_host=proxy.host, incoming_port=proxy.port, incoming_security="plain",
    )


def stored_uids(account, folder_name="INBOX"):
    return sorted(
        MessageLocation.objects.filter(message__account=account, folder__name=folder_name)
        .values_list("uid", flat=True)
    )


def assert_matches_server(account, dovecot, login, folder="INBOX"):
    """The stored set equals the server's: same UIDs, same bytes, no duplicate."""
    server = dovecot.server_messages(login, folder)
    assert stored_uids(account, folder) == sorted(server)
    raw = dict(RawMessage.objects.filter(message__account=account).values_list("message_id", "data"))
    for location in MessageLocation.objects.filter(message__account=account, folder__name=folder):
        assert bytes(raw[location.message_id]) == server[location.uid]
    assert Message.objects.filter(account=account).count() == len(set(server.values()))


def test_sync_first_run_stores_inbox(account, dovecot, mailbox):
    dovecot.append(mailbox, "INBOX", [make_raw(subject=f"m{i}") for i in range(5)])

    report = sync_account(account.pk)

    assert report.error is None
    assert report.created == 5
    assert_matches_server(account, dovecot, mailbox)


def test_sync_second_run_fetches_no_bodies(account, dovecot, mailbox, proxy):
    dovecot.append(mailbox, "INBOX", [make_raw(subject=f"m{i}") for i in range(3)])
    sync_account(account.pk)
    through_proxy(account, proxy)

    report = sync_account(account.pk)

    assert report.created == 0
    assert report.linked == 0
    assert "UID FETCH" not in proxy.client_commands()
    assert Message.objects.filter(account=account).count() == 3


def test_sync_appended_message_arrives_next_run(account, dovecot, mailbox):
    dovecot.append(mailbox, "INBOX", [make_raw(subject="first")])
    sync_account(account.pk)
    dovecot.append(mailbox, "INBOX", [make_raw(subject="second")])

    report = sync_account(account.pk)

    assert report.created == 1
    assert sorted(Message.objects.filter(account=account).values_list("subject", flat=True)) == ["first", "second"]


def test_sync_never_sets_seen_flag(account, dovecot, mailbox):
    dovecot.append(mailbox, "INBOX", [make_raw()])

    sync_account(account.pk)

    with dovecot.client(mailbox) as client:
        client.select_folder("INBOX", readonly=True)
        flags = client.get_flags(client.search(["ALL"]))
    assert all(b"\\Seen" not in value for value in flags.values())


@pytest.mark.parametrize("cut_at", [300, 2000, 9000, 20000, 45000])
def test_sync_cut_connection_resumes_without_gap(account, dovecot, mailbox, proxy, settings, cut_at):
    settings.EMAILSYNC_BATCH_SIZE = 7
    dovecot.append(mailbox, "INBOX", [make_raw(subject=f"m{i}", body="x" * 900) for i in range(40)])
    through_proxy(account, proxy)
    proxy.cut_after_server_bytes = cut_at

    cut = sync_account(account.pk)
    stored_after_cut = Message.objects.filter(account=account).count()
    resumed = sync_account(account.pk)

    assert cut.error is not None
    if cut_at >= 20000:
        # The cut fell inside the FETCH stream, after whole batches.
        assert 0 < stored_after_cut < 40
    assert resumed.error is None
    assert_matches_server(account, dovecot, mailbox)


def test_sync_uidvalidity_change_leaves_no_duplicate(account, dovecot, mailbox):
    messages = [make_raw(subject=f"m{i}") for i in range(4)]
    dovecot.append(mailbox, "Archive", messages)
    sync_account(account.pk)
    Folder.objects.filter(account=account, name="Archive").update(is_sync_enabled=True)
    sync_account(account.pk)
    old_validity = Folder.objects.get(account=account, name="Archive").uidvalidity

    with dovecot.client(mailbox) as client:
        client.delete_folder("Archive")
        client.create_folder("Archive")
    dovecot.append(mailbox, "Archive", messages + [make_raw(subject="new")])
    report = sync_account(account.pk)

    folder = Folder.objects.get(account=account, name="Archive")
    assert folder.uidvalidity != old_validity
    assert report.error is None
    assert Message.objects.filter(account=account).count() == 5
    assert_matches_server(account, dovecot, mailbox, "Archive")


def test_sync_same_bytes_in_two_folders_stored_once(account, dovecot, mailbox):
    raw = make_raw(subject="copied")
    dovecot.append(mailbox, "INBOX", [raw])
    dovecot.append(mailbox, "Sent", [raw])

    sync_account(account.pk)

    message = Message.objects.get(account=account)
    assert sorted(message.locations.values_list("folder__name", flat=True)) == ["INBOX", "Sent"]


def test_sync_shared_message_id_keeps_both(account, dovecot, mailbox):
    dovecot.append(mailbox, "INBOX", [
        make_raw(subject="one", message_id="<same@example.com>"),
        make_raw(subject="two", message_id="<same@example.com>"),
    ])

    sync_account(account.pk)

    assert Message.objects.filter(account=account, message_id="same@example.com").count() == 2


def test_sync_sent_folder_marks_direction(account, dovecot, mailbox):
    dovecot.append(mailbox, "Sent", [make_raw(sender="someone@else.example", subject="out")])
    dovecot.append(mailbox, "INBOX", [make_raw(subject="in")])

    sync_account(account.pk)

    directions = dict(Message.objects.filter(account=account).values_list("subject", "direction"))
    assert directions == {"out": "sent", "in": "received"}


def test_sync_skips_trash_junk_drafts(account, dovecot, mailbox):
    for folder in ("Trash", "Junk", "Drafts"):
        dovecot.append(mailbox, folder, [make_raw(subject=folder)])

    sync_account(account.pk)

    assert Message.objects.filter(account=account).count() == 0
    roles = set(Folder.objects.filter(account=account, name__in=["Trash", "Junk", "Drafts"]).values_list("role", flat=True))
    assert roles == {Folder.Role.SKIPPED}


def test_sync_noselect_parent_is_skipped(account, dovecot, mailbox):
    with dovecot.client(mailbox) as client:
        # Maildir keeps no folder for the parent, so Dovecot lists
        # "Projects" as \Noselect (\NonExistent in RFC 5258 terms).
        client.create_folder("Projects/2026")
        flags = dict((name, flags) for flags, _delim, name in client.list_folders())
    assert b"\\Noselect" in flags["Projects"] or b"\\NonExistent" in flags["Projects"]
    dovecot.append(mailbox, "Projects/2026", [make_raw(subject="child")])
    sync_account(account.pk)
    Folder.objects.filter(account=account, name__startswith="Projects").update(is_sync_enabled=True)

    report = sync_account(account.pk)

    assert report.error is None
    assert report.folder_errors == []
    assert Folder.objects.get(account=account, name="Projects").is_selectable is False
    assert list(Message.objects.filter(account=account).values_list("subject", flat=True)) == ["child"]


def test_sync_expunged_message_is_removed(account, dovecot, mailbox):
    dovecot.append(mailbox, "INBOX", [make_raw(subject="keep"), make_raw(subject="drop")])
    sync_account(account.pk)

    with dovecot.client(mailbox) as client:
        client.select_folder("INBOX")
        uid = client.search(["SUBJECT", "drop"])
        client.delete_messages(uid)
        client.expunge()
    sync_account(account.pk)

    assert list(Message.objects.filter(account=account).values_list("subject", flat=True)) == ["keep"]


def test_sync_window_limits_first_sync(account, dovecot, mailbox):
    account.sync_window_days = 30
    account.save()
    with dovecot.client(mailbox) as client:
        old = datetime.datetime(2020, 1, 1, 12, 0)
        client.append("INBOX", make_raw(subject="old"), msg_time=old)
        client.append("INBOX", make_raw(subject="recent"))

    sync_account(account.pk)

    assert list(Message.objects.filter(account=account).values_list("subject", flat=True)) == ["recent"]


def test_sync_paused_account_is_not_contacted(account, dovecot, mailbox, proxy):
    through_proxy(account, proxy)
    MailAccount.objects.filter(pk=account.pk).update(status=MailAccount.Status.PAUSED)

    report = sync_account(account.pk)

    assert report.skipped_reason == "paused"
    assert proxy.connections == 0


def test_sync_non_ascii_folder_name(account, dovecot, mailbox):
    name = "Clientes/Año 2026 «VIP» 日本"
    dovecot.append(mailbox, name, [make_raw(subject="vip")])
    sync_account(account.pk)
    Folder.objects.filter(account=account, name=name).update(is_sync_enabled=True)

    report = sync_account(account.pk)

    folder = Folder.objects.get(account=account, name=name)
    assert report.folder_errors == []
    assert folder.last_synced_at is not None
    assert list(folder.locations.values_list("message__subject", flat=True)) == ["vip"]
