"""schemathesis hooks for the CRM contacts API (../run-all.sh sets SCHEMATHESIS_HOOKS to this file).

Positive bodies of the create operations name rows by ID (`CompanyId`, `ContactStatusId`,
`CustomFields[].FieldId`, a task's `ContactId`, …). Random IDs name nothing, so the server answers
nearly all of them 422, and the create itself (and the schema check of its 201 response, with
fuzzed nested collections) would hardly ever run. This hook rewrites every other positive body of
those operations so that its references exist and its cross-field rules hold. Which half is
chosen by a checksum of the body, so a seed still reproduces a run. Negative cases, and the other
half of the positive ones, are sent as generated.

Needs CRM_BASE_URL and CRM_API_KEY (an administrator's key); standard library only.
"""

import json
import os
import urllib.request
import zlib

import schemathesis
from schemathesis.generation import GenerationMode

CREATES = {
    "/api/2.0/crm/contact/person": "person",
    "/api/2.0/crm/contact/company": "company",
    "/api/2.0/crm/task": "task",
}
HEADING = 4
PHONE, ADDRESS = 0, 7

_references = None


def _api(method, path, body=None):
    request = urllib.request.Request(
        os.environ["CRM_BASE_URL"].rstrip("/") + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={
            "Authorization": os.environ["CRM_API_KEY"],
            "Content-Type": "application/json",
            "Accept": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def references():
    """IDs that exist, fetched (and created where needed) once."""
    global _references
    if _references is None:
        company = _api("POST", "/api/2.0/crm/contact/company", {"CompanyName": "Fixture Ltd"})
        person = _api("POST", "/api/2.0/crm/contact/person", {"FirstName": "Fixture"})
        fields = {}
        for kind in ("contact", "person", "company"):
            path = f"/api/2.0/crm/{kind}/customfield/definitions"
            usable = [f["ID"] for f in _api("GET", path) if f["FieldType"] != HEADING]
            if not usable:
                new = {"Label": f"Fixture {kind} field", "FieldType": 0}
                usable = [_api("POST", f"/api/2.0/crm/{kind}/customfield", new)["ID"]]
            fields[kind] = usable
        _references = {
            "company": company["ID"],
            "person": person["ID"],
            "statuses": [s["ID"] for s in _api("GET", "/api/2.0/crm/contact/status")],
            "types": [t["ID"] for t in _api("GET", "/api/2.0/crm/contact/type")],
            "currencies": [c["Abbreviation"] for c in _api("GET", "/api/2.0/crm/settings/currency")],
            "users": [company["CreateBy"]["Id"]],
            "fields": fields,
        }
    return _references


def _pick(options, value):
    return options[abs(hash_of(value)) % len(options)]


def hash_of(value):
    return zlib.crc32(json.dumps(value, sort_keys=True, default=str).encode())


def _resolve_contact(body, kind, refs):
    if body.get("CompanyId") is not None:
        body["CompanyId"] = refs["company"]
    for key, options in (("ContactStatusId", refs["statuses"]), ("ContactTypeId", refs["types"])):
        if body.get(key) is not None:
            body[key] = _pick(options, body[key])
    if body.get("Currency") is not None:
        body["Currency"] = _pick(refs["currencies"], body["Currency"])
    if body.get("AccessList"):
        body["AccessList"] = refs["users"]
    if body.get("CustomFields"):
        usable = refs["fields"]["contact"] + refs["fields"][kind]
        values = body["CustomFields"][: len(usable)]
        for value, field_id in zip(values, usable):
            value["FieldId"] = field_id
        body["CustomFields"] = values
    for info in body.get("CommonData") or []:
        if info.get("InfoType") == ADDRESS:
            info["InfoType"] = PHONE
        categories = 6 if info.get("InfoType") == PHONE else 3
        info["Category"] = info.get("Category", 0) % categories


@schemathesis.hook
def map_case(context, case):
    meta = case.meta
    kind = CREATES.get(case.operation.path)
    if (
        kind is None
        or case.operation.method.upper() != "POST"
        or meta is None
        or meta.generation.mode != GenerationMode.POSITIVE
        or any(component.mode.is_negative for component in meta.components.values())
        or not isinstance(case.body, dict)
        or hash_of(case.body) % 2
    ):
        return case
    refs = references()
    if kind == "task":
        case.body["ContactId"] = refs["person"]
    else:
        _resolve_contact(case.body, kind, refs)
    return case
