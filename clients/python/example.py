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

Rate limits: past its budget the server answers 429 with ``Retry-After`` (seconds) and an
``Error`` (``Code`` ``rate_limited``). ``with_retry`` wraps a call of the client: on a 429 it waits
``Retry-After`` seconds (at most 30) and sends the request again, at most 3 times, logging each
wait. With ``--rate-limit-demo`` (against a server started with a tiny budget, e.g.
``--rate-limit 3``) the program sends two requests more than the budget through it and checks
that a 429 came back with ``Retry-After``, ``RateLimit-Policy`` and ``RateLimit``, and that every
request got through in the end.
"""

import argparse
import email.utils
import logging
import os
import re
import sys
import time
from http import HTTPStatus

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

# with_retry: how many times a request refused with 429 is sent again, and the longest wait.
MAX_RETRIES = 3
MAX_WAIT_SECONDS = 30.0

log = logging.getLogger("crm.example")


def retry_after_seconds(headers):
    """The wait a 429 asks for: `Retry-After` in seconds (or as an HTTP date), within 0..30 s.

    Without a readable `Retry-After`, one second."""
    value = headers.get("retry-after", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            seconds = 1.0
    return min(max(seconds, 0.0), MAX_WAIT_SECONDS)


def with_retry(call, *args, on_429=None, **kwargs):
    """`call(*args, **kwargs)` (a `sync_detailed` of the client), sent again after a 429.

    A 429 means the server did nothing (it refuses before the request runs), so any request may
    be sent again, a POST too. Waits `Retry-After` seconds (at most 30), at most `MAX_RETRIES`
    times, then returns the last response whatever it is. `on_429(response)` sees each 429."""
    retries = 0
    while True:
        response = call(*args, **kwargs)
        if response.status_code != HTTPStatus.TOO_MANY_REQUESTS or retries == MAX_RETRIES:
            return response
        retries += 1
        if on_429 is not None:
            on_429(response)
        wait = retry_after_seconds(response.headers)
        log.info(
            "429 (%s): waiting %.0f s (Retry-After: %s; RateLimit: %s), then retry %d of %d",
            getattr(response.parsed, "code", "no Error body"),
            wait,
            response.headers.get("retry-after"),
            response.headers.get("ratelimit"),
            retries,
            MAX_RETRIES,
        )
        time.sleep(wait)


def expect(condition, what):
    """Stops the program with `what` when `condition` does not hold."""
    if not condition:
        sys.exit(f"python example: FAILED: {what}")
    print(f"  ok: {what}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("CRM_BASE_URL"), help="server URL")
    parser.add_argument("--key", default=os.environ.get("CRM_API_KEY"), help="API key")
    parser.add_argument(
        "--rate-limit-demo",
        action="store_true",
        help="only show with_retry at work, against a server with a tiny budget (--rate-limit 3)",
    )
    args = parser.parse_args()
    if not args.url or not args.key:
        parser.error("give --url and --key (or CRM_BASE_URL and CRM_API_KEY)")
    # with_retry's log lines (and only those: httpx logs every request at INFO).
    logging.basicConfig(format="  retry: %(message)s", stream=sys.stdout)
    log.setLevel(logging.INFO)
    if args.rate_limit_demo:
        rate_limit_demo(args.url, args.key)
        return

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
        # Through with_retry, as a program should send its requests (here the limits are off).
        response = with_retry(
            create_person.sync_detailed,
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


def rate_limit_demo(url, key):
    """Sends two requests more than the key's budget through `with_retry`: a 429 comes back with
    `Retry-After` and the RateLimit fields, and every request gets through in the end."""
    with AuthenticatedClient(
        base_url=url,
        token=key,
        prefix="",
        timeout=httpx.Timeout(10.0),
        raise_on_unexpected_status=True,
    ) as client:
        # The budget, from the first answer: every response of an operation that takes a key
        # carries RateLimit-Policy ("key";q=3;w=10) and RateLimit ("key";r=2;t=4).
        first = with_retry(list_trash.sync_detailed, client=client, count=1)
        expect(first.status_code == 200, "GET /contact/trash answers 200")
        policy = first.headers.get("ratelimit-policy", "")
        quota = re.search(r"\bq=(\d+)", policy)
        expect(quota is not None, f"RateLimit-Policy gives the budget: {policy}")
        expect(
            re.search(r"\br=\d+", first.headers.get("ratelimit", "")) is not None,
            f"RateLimit says what is left: {first.headers.get('ratelimit')}",
        )
        quota = int(quota.group(1))
        if quota > 10:
            sys.exit(f"python example: the budget is {quota}: start the server with --rate-limit 3")

        refused = []
        sent = quota + 1  # with the GET above: two requests more than the budget
        started = time.monotonic()
        ids = []
        for n in range(1, sent + 1):
            response = with_retry(
                create_person.sync_detailed,
                client=client,
                body=NewPerson(first_name="Rate", last_name=f"Limit {n}"),
                on_429=refused.append,
            )
            expect(response.status_code == 201, f"POST /contact/person {n} of {sent} answers 201")
            ids.append(response.parsed.id)
        elapsed = time.monotonic() - started

        expect(len(refused) > 0, f"{len(refused)} of the requests met a 429 first")
        for response in refused:
            expect(
                isinstance(response.parsed, Error) and response.parsed.code == "rate_limited",
                f"the 429 is an Error whose Code is rate_limited: {response.parsed.message!r}",
            )
            retry_after = response.headers.get("retry-after", "")
            expect(
                retry_after.isdigit() and 1 <= int(retry_after) <= 10,
                f"with Retry-After in seconds: {retry_after}",
            )
            expect(
                response.headers.get("ratelimit-policy") == policy,
                f"and RateLimit-Policy: {response.headers.get('ratelimit-policy')}",
            )
            expect(
                re.search(r"\br=0\b", response.headers.get("ratelimit", "")) is not None,
                f"and RateLimit with nothing left: {response.headers.get('ratelimit')}",
            )
        expect(
            len(set(ids)) == sent,
            f"with_retry got all {sent} requests through in {elapsed:.1f} s: {len(ids)} contacts",
        )
    print("python example (rate-limit demo): ok")


if __name__ == "__main__":
    main()
