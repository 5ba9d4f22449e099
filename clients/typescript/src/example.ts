// Creates, reads and deletes a contact with openapi-fetch, typed by openapi-typescript from
// openapi.yaml; then deletes three at once, finds them in the trash, restores one and erases
// another. Generate the types, type-check, build and run (see README.md):
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

// Many at once: three contacts in one request, one of them twice (it counts once), and an ID
// that names no contact (skipped, not refused: comparing IDs shows it).
const NO_SUCH_CONTACT = 2147483647;
const names = ["Ada Batch", "Ben Batch", "Cy Batch"];
const ids: number[] = [];
for (const name of names) {
  const [FirstName = "", LastName] = name.split(" ");
  const person = await api.POST("/api/2.0/crm/contact/person", {
    body: { FirstName, LastName, ShareType: ShareType.ReadWrite },
  });
  expect(person.response.status === 201 && person.data !== undefined, `POST /contact/person answers 201 for ${name}`);
  ids.push(person.data.ID);
}
const sent = [...ids, ids[0]!, NO_SUCH_CONTACT];
const batch = await api.PUT("/api/2.0/crm/contact", { body: { contactids: sent } });
expect(batch.response.status === 200 && Array.isArray(batch.data), `PUT /contact with contactids ${JSON.stringify(sent)} answers 200`);
const deletedIds = batch.data.map((c) => c.ID);
expect(JSON.stringify(deletedIds) === JSON.stringify(ids), `the deleted IDs are ${JSON.stringify(ids)}, in order`);
expect(
  JSON.stringify(batch.data.map((c) => c.DisplayName)) === JSON.stringify(names),
  "each as it was just before the delete",
);
const skipped = [...new Set(sent)].filter((id) => !deletedIds.includes(id));
expect(JSON.stringify(skipped) === JSON.stringify([NO_SUCH_CONTACT]), `comparing IDs shows ${NO_SUCH_CONTACT} was skipped`);
for (const contactid of ids) {
  const gone = await api.GET("/api/2.0/crm/contact/{contactid}", { params: { path: { contactid } } });
  expect(gone.response.status === 404, `GET /contact/${contactid} answers 404: it is deleted`);
}

type TrashEntry = components["schemas"]["TrashEntry"];
/** The trash as the caller sees it, at most `count` entries from `startIndex`. */
async function trash(count = 500, startIndex = 0): Promise<TrashEntry[]> {
  const listed = await api.GET("/api/2.0/crm/contact/trash", { params: { query: { count, startIndex } } });
  expect(listed.response.status === 200 && Array.isArray(listed.data), `GET /contact/trash?count=${count} answers 200`);
  return listed.data;
}
const entries = new Map((await trash()).map((entry) => [entry.ID, entry]));
expect(ids.every((id) => entries.has(id)), `the trash holds ${JSON.stringify(ids)}`);
expect(!entries.has(NO_SUCH_CONTACT), "and not the skipped ID");
const first = entries.get(ids[0]!);
expect(first !== undefined, `the entry of ${ids[0]}`);
expect(first.DisplayName === names[0] && !first.IsCompany, "a TrashEntry has the contact's DisplayName and IsCompany");
expect(
  first.DeletedBy !== null && Date.parse(first.Deleted) < Date.parse(first.Expires),
  "who deleted it, when, and when it expires",
);
expect((await trash(1)).length === 1, "count=1 returns one entry");

// Restore one: it comes back under the same ID and leaves the trash.
const restoredId = ids[1]!;
const restore = { params: { path: { contactid: restoredId } } };
const restored = await api.POST("/api/2.0/crm/contact/{contactid}/restore", restore);
expect(restored.response.status === 200, `POST /contact/${restoredId}/restore answers 200`);
expect(
  restored.data?.ID === restoredId && restored.data.DisplayName === names[1],
  "the restored contact comes back under the same ID",
);
const back = await api.GET("/api/2.0/crm/contact/{contactid}", restore);
expect(back.response.status === 200 && back.data?.DisplayName === names[1], `GET /contact/${restoredId} answers 200 again`);
expect(!(await trash()).some((entry) => entry.ID === restoredId), "it has left the trash");
const twice = await api.POST("/api/2.0/crm/contact/{contactid}/restore", restore);
expect(twice.response.status === 404 && twice.error?.Status === 404, "restoring it again answers 404 with an Error");

// Erase another for good.
const erasedId = ids[2]!;
const erase = { params: { path: { contactid: erasedId } } };
const erased = await api.DELETE("/api/2.0/crm/contact/trash/{contactid}", erase);
expect(erased.response.status === 204, `DELETE /contact/trash/${erasedId} answers 204`);
expect(!(await trash()).some((entry) => entry.ID === erasedId), "the erased contact has left the trash");
const afterErase = await api.POST("/api/2.0/crm/contact/{contactid}/restore", erase);
expect(afterErase.response.status === 404, "and can no longer be restored (404)");

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
  // @ts-expect-error contactids holds integers.
  void api.PUT("/api/2.0/crm/contact", { body: { contactids: ["42"] } });
}

console.log("typescript example: ok");
