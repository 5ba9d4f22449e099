"""Creates, reads, deletes and restores contacts through the Python client generated from openapi.yaml.

Generate the client first (see README.md), then run against a server:

    python example.py --url http://127.0.0.1:8080 --key <API key>

(or set CRM_BASE_URL and CRM_API_KEY). It checks every answer and exits non-zero on the first
surprise; ../run-all.sh runs it against a fresh server.

After the single delete it deletes three contacts in one request (`PUT /api/2.0/crm/contact`)
along with an ID that names no contact, finds what was skipped by comparing IDs, finds the deleted
ones in the trash, restores one (it is back, under the same ID) and erases another for good.

The key goes in the Authorization header as it is, without `Bearer `:
``AuthenticatedClient(base_url=url, token=key, prefix="")``. The server also accepts
``Authorization: Bearer <key>``, the client's default (``prefix="Bearer"``).
"""

import argparse
import os
import sys

import httpx

from crm_contacts_client import AuthenticatedClient, Client
from crm_contacts_client.api.contacts import (
    create_person,
    delete_contact,
    delete_contacts,
    get_contact,
)
from crm_contacts_client.api.service import health
from crm_contacts_client.api.trash import erase_contact, list_trash, restore_contact
from crm_contacts_client.models import (
    BatchDelete,
    Contact,
    Error,
    InfoType,
    NewContactInfo,
    NewPerson,
    ShareType,
    TrashEntry,
)

# An ID that names no contact: the batch delete skips it.
NO_SUCH_CONTACT = 2147483647


def expect(condition, what):
    """Stops the program with `what` when `condition` does not hold."""
    if not condition:
        sys.exit(f"python example: FAILED: {what}")
    print(f"  ok: {what}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("CRM_BASE_URL"), help="server URL")
    parser.add_argument("--key", default=os.environ.get("CRM_API_KEY"), help="API key")
    args = parser.parse_args()
    if not args.url or not args.key:
        parser.error("give --url and --key (or CRM_BASE_URL and CRM_API_KEY)")

    timeout = httpx.Timeout(10.0)
    # The whole key is the Authorization header: no "Bearer " prefix.
    client = AuthenticatedClient(
        base_url=args.url,
        token=args.key,
        prefix="",
        timeout=timeout,
        # A status the document does not list for an operation raises instead of passing.
        raise_on_unexpected_status=True,
    )
    with client:
        response = health.sync_detailed(client=client)
        expect(response.status_code == 200, "GET /healthz answers 200")

        new = NewPerson(
            first_name="Jane",
            last_name="Doe",
            share_type=ShareType.READ_WRITE,
            common_data=[
                NewContactInfo(info_type=InfoType.EMAIL, category=1, data="jane.doe@example.com")
            ],
            tags=["python"],
        )
        response = create_person.sync_detailed(client=client, body=new)
        expect(response.status_code == 201, "POST /contact/person answers 201")
        created = response.parsed
        expect(isinstance(created, Contact), "the body is a Contact")
        expect(created.display_name == "Jane Doe", f"DisplayName is {created.display_name!r}")
        expect(
            response.headers.get("location") == f"/api/2.0/crm/contact/{created.id}",
            "Location names the new contact",
        )

        contact = get_contact.sync(created.id, client=client)
        expect(isinstance(contact, Contact), f"GET /contact/{created.id} returns the Contact")
        expect(contact.contact_status is None, "a null ContactStatus parses as None")
        expect(contact.common_data[0].info_type is InfoType.EMAIL, "InfoType parses as the enum")
        expect(contact.tags == ["python"], "Tags come back")

        response = delete_contact.sync_detailed(created.id, client=client)
        expect(response.status_code == 200, f"DELETE /contact/{created.id} answers 200")
        expect(
            isinstance(response.parsed, Contact) and response.parsed.display_name == "Jane Doe",
            "the deleted contact comes back",
        )

        response = delete_contact.sync_detailed(created.id, client=client)
        expect(response.status_code == 404, "the same DELETE again answers 404")
        expect(
            isinstance(response.parsed, Error) and response.parsed.code == "contact_not_found",
            "with an Error whose Code is contact_not_found",
        )

        response = create_person.sync_detailed(
            client=client, body=NewPerson(first_name="Jane", company_id=2147483647)
        )
        expect(response.status_code == 422, "a CompanyId that names no contact answers 422")
        expect(
            isinstance(response.parsed, Error) and response.parsed.message.startswith("CompanyId"),
            "and the message names the field",
        )

    wrong_key = AuthenticatedClient(
        base_url=args.url, token="not-a-key", prefix="", timeout=timeout
    )
    with wrong_key:
        response = get_contact.sync_detailed(1, client=wrong_key)
        expect(response.status_code == 401, "an unknown key answers 401")
        expect(
            isinstance(response.parsed, Error) and response.parsed.code == "unauthorized",
            "with an Error whose Code is unauthorized",
        )

    # No key at all: the plain Client sends no Authorization header.
    with Client(base_url=args.url, timeout=timeout) as anonymous:
        response = get_contact.sync_detailed(1, client=anonymous)  # type: ignore[arg-type]
        expect(response.status_code == 401, "no key answers 401")

    # The client's default prefix works too: `Authorization: Bearer <key>`.
    with AuthenticatedClient(base_url=args.url, token=args.key, timeout=timeout) as bearer:
        response = get_contact.sync_detailed(created.id, client=bearer)
        expect(response.status_code == 404, "`Bearer <key>` is accepted (404: it is deleted)")

    # Many at once, the trash, restore and erase (an httpx client is not reopened once closed).
    with AuthenticatedClient(
        base_url=args.url,
        token=args.key,
        prefix="",
        timeout=timeout,
        raise_on_unexpected_status=True,
    ) as client:
        batch_delete_and_restore(client)

    print("python example: ok")


def batch_delete_and_restore(client):
    """Deletes three contacts in one request, finds them in the trash, restores one, erases one."""
    people = []
    for first, last in [("Ada", "Batch"), ("Ben", "Batch"), ("Cy", "Batch")]:
        response = create_person.sync_detailed(
            client=client,
            body=NewPerson(first_name=first, last_name=last, share_type=ShareType.READ_WRITE),
        )
        expect(response.status_code == 201, f"POST /contact/person answers 201 for {first} {last}")
        people.append(response.parsed)
    ids = [person.id for person in people]

    # One of the three twice (it counts once), and an ID that names no contact (it is skipped).
    sent = [*ids, ids[0], NO_SUCH_CONTACT]
    response = delete_contacts.sync_detailed(client=client, body=BatchDelete(contactids=sent))
    expect(response.status_code == 200, f"PUT /contact with contactids {sent} answers 200")
    deleted = response.parsed
    expect(
        isinstance(deleted, list) and all(isinstance(contact, Contact) for contact in deleted),
        "the body is a list of Contacts",
    )
    expect([contact.id for contact in deleted] == ids, f"the deleted IDs are {ids}, in order")
    expect(
        [contact.display_name for contact in deleted] == ["Ada Batch", "Ben Batch", "Cy Batch"],
        "each as it was just before the delete",
    )
    # What was skipped: the IDs sent (each once) that the answer does not hold.
    deleted_ids = {contact.id for contact in deleted}
    skipped = [sent_id for sent_id in dict.fromkeys(sent) if sent_id not in deleted_ids]
    expect(skipped == [NO_SUCH_CONTACT], f"comparing IDs shows {NO_SUCH_CONTACT} was skipped")
    for contact_id in ids:
        response = get_contact.sync_detailed(contact_id, client=client)
        expect(response.status_code == 404, f"GET /contact/{contact_id} answers 404: it is deleted")

    response = list_trash.sync_detailed(client=client, count=500, start_index=0)
    expect(response.status_code == 200, "GET /contact/trash answers 200")
    trash = response.parsed
    expect(
        isinstance(trash, list) and all(isinstance(entry, TrashEntry) for entry in trash),
        "the body is a list of TrashEntry",
    )
    entries = {entry.id: entry for entry in trash}
    expect(all(contact_id in entries for contact_id in ids), f"the trash holds {ids}")
    expect(NO_SUCH_CONTACT not in entries, "and not the skipped ID")
    first = entries[ids[0]]
    expect(
        first.display_name == "Ada Batch" and first.is_company is False,
        "a TrashEntry has the contact's DisplayName and IsCompany",
    )
    expect(
        first.deleted_by is not None and first.deleted < first.expires,
        "who deleted it, when, and when it expires",
    )
    response = list_trash.sync_detailed(client=client, count=1, start_index=0)
    expect(
        response.status_code == 200 and len(response.parsed) == 1,
        "GET /contact/trash?count=1 returns one entry",
    )

    restored_id = ids[1]
    response = restore_contact.sync_detailed(restored_id, client=client)
    expect(response.status_code == 200, f"POST /contact/{restored_id}/restore answers 200")
    restored = response.parsed
    expect(
        isinstance(restored, Contact)
        and restored.id == restored_id
        and restored.display_name == "Ben Batch",
        "the restored contact comes back under the same ID",
    )
    response = get_contact.sync_detailed(restored_id, client=client)
    expect(
        response.status_code == 200 and response.parsed.display_name == "Ben Batch",
        f"GET /contact/{restored_id} answers 200 again",
    )
    trash = list_trash.sync(client=client, count=500)
    expect(restored_id not in {entry.id for entry in trash}, "it has left the trash")
    response = restore_contact.sync_detailed(restored_id, client=client)
    expect(
        response.status_code == 404 and isinstance(response.parsed, Error),
        "restoring it again answers 404 with an Error",
    )

    erased_id = ids[2]
    response = erase_contact.sync_detailed(erased_id, client=client)
    expect(response.status_code == 204, f"DELETE /contact/trash/{erased_id} answers 204")
    trash = list_trash.sync(client=client, count=500)
    expect(erased_id not in {entry.id for entry in trash}, "the erased contact has left the trash")
    response = restore_contact.sync_detailed(erased_id, client=client)
    expect(response.status_code == 404, "and can no longer be restored (404)")


if __name__ == "__main__":
    main()
