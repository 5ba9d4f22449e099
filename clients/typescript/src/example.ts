// Creates, reads and deletes a contact with openapi-fetch, typed by openapi-typescript from
// openapi.yaml. Generate the types, type-check, build and run (see README.md):
//
//   CRM_BASE_URL=http://127.0.0.1:8080 CRM_API_KEY=<key> node dist/src/example.js
//
// It checks every answer and exits non-zero on the first surprise; ../run-all.sh runs it against
// a fresh server. The key is the whole Authorization header (no `Bearer ` needed).

import createClient from "openapi-fetch";

import { EntityType, InfoType, ShareType, type components, type paths } from "../generated/crm-api.js";

type ApiError = components["schemas"]["Error"];

const baseUrl = process.env.CRM_BASE_URL;
const apiKey = process.env.CRM_API_KEY;
if (!baseUrl || !apiKey) {
  console.error("set CRM_BASE_URL and CRM_API_KEY");
  process.exit(2);
}

function expect(condition: boolean, what: string): asserts condition {
  if (!condition) {
    console.error(`typescript example: FAILED: ${what}`);
    process.exit(1);
  }
  console.log(`  ok: ${what}`);
}

/** A client for `paths`, every request bounded to 10 s. */
function client(headers: Record<string, string>) {
  return createClient<paths>({
    baseUrl,
    headers,
    fetch: (request) => fetch(request, { signal: AbortSignal.timeout(10_000) }),
  });
}

// The key as the whole Authorization header.
const api = client({ Authorization: apiKey });

const health = await api.GET("/healthz");
expect(health.response.status === 200 && health.data?.Status === "ok", "GET /healthz answers 200 ok");

const created = await api.POST("/api/2.0/crm/contact/person", {
  body: {
    FirstName: "Jane",
    LastName: "Doe",
    ShareType: ShareType.ReadWrite,
    CommonData: [{ InfoType: InfoType.Email, Category: 1, Data: "jane.doe@example.com" }],
    Tags: ["typescript"],
  },
});
expect(created.response.status === 201 && created.data !== undefined, "POST /contact/person answers 201");
const contact = created.data;
expect(contact.DisplayName === "Jane Doe", `DisplayName is ${JSON.stringify(contact.DisplayName)}`);
expect(
  created.response.headers.get("location") === `/api/2.0/crm/contact/${contact.ID}`,
  "Location names the new contact",
);
const path = { contactid: contact.ID };

const read = await api.GET("/api/2.0/crm/contact/{contactid}", { params: { path } });
expect(read.data !== undefined, `GET /contact/${contact.ID} returns the contact`);
expect(read.data.ContactStatus === null, "ContactStatus is null (typed ListItem | null)");
expect(read.data.ShareType === ShareType.ReadWrite, "ShareType compares with the generated enum");
expect(read.data.CommonData[0]?.InfoType === InfoType.Email, "InfoType compares with the generated enum");

const fields = await api.GET("/api/2.0/crm/{entityType}/customfield/definitions", {
  params: { path: { entityType: EntityType.person } },
});
expect(Array.isArray(fields.data), "GET /person/customfield/definitions returns a list");

const deleted = await api.DELETE("/api/2.0/crm/contact/{contactid}", { params: { path } });
expect(deleted.response.status === 200, `DELETE /contact/${contact.ID} answers 200`);
expect(deleted.data?.DisplayName === "Jane Doe", "the deleted contact comes back");

const again = await api.DELETE("/api/2.0/crm/contact/{contactid}", { params: { path } });
const notFound: ApiError | undefined = again.error;
expect(again.response.status === 404, "the same DELETE again answers 404");
expect(notFound?.Code === "contact_not_found", "with an Error whose Code is contact_not_found");

const dangling = await api.POST("/api/2.0/crm/contact/person", {
  body: { FirstName: "Jane", CompanyId: 2147483647 },
});
expect(dangling.response.status === 422, "a CompanyId that names no contact answers 422");
expect(dangling.error?.Message.startsWith("CompanyId") === true, "and the message names the field");

const wrongKey = await client({ Authorization: "not-a-key" }).GET("/api/2.0/crm/contact/{contactid}", {
  params: { path },
});
expect(wrongKey.response.status === 401, "an unknown key answers 401");
expect(wrongKey.error?.Code === "unauthorized", "with an Error whose Code is unauthorized");

const noKey = await client({}).GET("/api/2.0/crm/contact/{contactid}", { params: { path } });
expect(noKey.response.status === 401, "no key answers 401");

const bearer = await client({ Authorization: `Bearer ${apiKey}` }).GET("/api/2.0/crm/contact/{contactid}", {
  params: { path },
});
expect(bearer.response.status === 404, "`Bearer <key>` is accepted (404: it is deleted)");

// What the types rule out: `tsc --noEmit` fails if any of these stops being an error.
export function typeErrors() {
  // @ts-expect-error FirstName is required.
  void api.POST("/api/2.0/crm/contact/person", { body: { LastName: "Doe" } });
  // @ts-expect-error contactid is an integer.
  void api.GET("/api/2.0/crm/contact/{contactid}", { params: { path: { contactid: "42" } } });
  // @ts-expect-error entityType is contact, person or company.
  void api.GET("/api/2.0/crm/{entityType}/customfield/definitions", { params: { path: { entityType: "deal" } } });
  // @ts-expect-error ShareType is an integer enum.
  void api.POST("/api/2.0/crm/contact/person", { body: { FirstName: "Jane", ShareType: "ReadWrite" } });
}

console.log("typescript example: ok");
