"""Creates, reads and deletes a contact through the Python client generated from openapi.yaml.

Generate the client first (see README.md), then run against a server:

    python example.py --url http://127.0.0.1:8080 --key <API key>

(or set CRM_BASE_URL and CRM_API_KEY). It checks every answer and exits non-zero on the first
surprise; ../run-all.sh runs it against a fresh server.

The key goes in the Authorization header as it is, without `Bearer `:
``AuthenticatedClient(base_url=url, token=key, prefix="")``. The server also accepts
``Authorization: Bearer <key>``, the client's default (``prefix="Bearer"``).
"""

import argparse
import os
import sys

import httpx

from crm_contacts_client import AuthenticatedClient, Client
from crm_contacts_client.api.contacts import create_person, delete_contact, get_contact
from crm_contacts_client.api.service import health
from crm_contacts_client.models import (
    Contact,
    Error,
    InfoType,
    NewContactInfo,
    NewPerson,
    ShareType,
)


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

    print("python example: ok")


if __name__ == "__main__":
    main()
