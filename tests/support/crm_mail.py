"""Messages sent from the CRM, stored the way the sending feature stores them."""

from emailsync.models import Folder, Message, RawMessage
from emailsync.storage import FetchedMessage, build_message


def store_crm_sent(account, raw):
    """Store `raw` as a message the owner sent from the CRM through `account`.

    The rows match what sync would store for the same bytes in Sent, except
    for the origin, so the Emails lists treat both alike.
    """
    sent_folder = Folder(account=account, role=Folder.Role.SENT)
    message, participants = build_message(account, sent_folder, FetchedMessage(uid=0, raw=raw), set())
    message.origin = Message.Origin.CRM
    message.save()
    RawMessage.objects.create(message=message, data=raw)
    for participant in participants:
        participant.message = message
        participant.save()
    return message
