// Creates, reads and deletes a contact with openapi-fetch, typed by openapi-typescript from
// openapi.yaml; then deletes three at once, finds them in the trash, restores one and erases
// another. Generate the types, type-check, build and run (see README.md):
//
//   CRM_BASE_URL=http://127.0.0.1:8080 CRM_API_KEY=<key> node dist/src/example.js
//
// It checks every answer and exits non-zero on the first surprise; ../run-all.sh runs it against
// a fresh server. The key is the whole Authorization header (no `Bearer ` needed).
//
// Rate limits: past its budget the server answers 429 with `Retry-After` (seconds) and an Error
// (`Code` rate_limited). `withRetry` wraps a request: on a 429 it waits `Retry-After` seconds (at
// most 30) and sends it again, at most 3 times, logging each wait. With `--rate-limit-demo`
// (against a server started with a tiny budget, e.g. `--rate-limit 3`) the program sends two
// requests more than the budget through it and checks that a 429 came back with `Retry-After`,
// `RateLimit-Policy` and `RateLimit`, and that every request got through in the end:
//
//   CRM_BASE_URL=… CRM_API_KEY=… node dist/src/example.js --rate-limit-demo

import { setTimeout as sleep } from "node:timers/promises";

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

// withRetry: how many times a request refused with 429 is sent again, and the longest wait.
const MAX_RETRIES = 3;
const MAX_WAIT_SECONDS = 30;

/** The wait a 429 asks for: `Retry-After` in seconds (or as an HTTP date), within 0..30 s; 1 s
 * without a readable one. */
function retryAfterSeconds(headers: Headers): number {
  const value = headers.get("retry-after")?.trim() ?? "";
  let seconds = /^\d+(\.\d+)?$/.test(value) ? Number(value) : (Date.parse(value) - Date.now()) / 1000;
  if (!Number.isFinite(seconds)) seconds = 1;
  return Math.min(Math.max(seconds, 0), MAX_WAIT_SECONDS);
}

/**
 * `request()` (a call of the openapi-fetch client), sent again after a 429. A 429 means the server
 * did nothing (it refuses before the request runs), so any request may be sent again, a POST too.
 * Waits `Retry-After` seconds (at most 30), at most `MAX_RETRIES` times, then returns the last
 * result whatever it is. `on429(result)` sees each 429.
 */
async function withRetry<R extends { response: Response; error?: ApiError }>(
  request: () => Promise<R>,
  on429?: (result: R) => void,
): Promise<R> {
  for (let retries = 0; ; retries++) {
    const result = await request();
    if (result.response.status !== 429 || retries === MAX_RETRIES) return result;
    on429?.(result);
    const wait = retryAfterSeconds(result.response.headers);
    const headers = result.response.headers;
    console.log(
      `  retry: 429 (${result.error?.Code ?? "no Error body"}): waiting ${wait} s (Retry-After: ` +
        `${headers.get("retry-after")}; RateLimit: ${headers.get("ratelimit")}), then retry ${retries + 1} of ${MAX_RETRIES}`,
    );
    await sleep(wait * 1000);
  }
}

// The key as the whole Authorization header.
const api = client({ Authorization: apiKey });

if (process.argv.includes("--rate-limit-demo")) {
  await rateLimitDemo();
  console.log("typescript example (rate-limit demo): ok");
  process.exit(0);
}

/** Sends two requests more than the key's budget through `withRetry`: a 429 comes back with
 * `Retry-After` and the RateLimit fields, and every request gets through in the end. */
async function rateLimitDemo(): Promise<void> {
  // The budget, from the first answer: every response of an operation that takes a key carries
  // RateLimit-Policy ("key";q=3;w=10) and RateLimit ("key";r=2;t=4).
  const first = await withRetry(() => api.GET("/api/2.0/crm/contact/trash", { params: { query: { count: 1 } } }));
  expect(first.response.status === 200, "GET /contact/trash answers 200");
  const policy = first.response.headers.get("ratelimit-policy") ?? "";
  const quota = /\bq=(\d+)/.exec(policy)?.[1];
  expect(quota !== undefined, `RateLimit-Policy gives the budget: ${policy}`);
  const left = first.response.headers.get("ratelimit") ?? "";
  expect(/\br=\d+/.test(left), `RateLimit says what is left: ${left}`);
  if (Number(quota) > 10) {
    console.error(`typescript example: the budget is ${quota}: start the server with --rate-limit 3`);
    process.exit(1);
  }

  const refused: { headers: Headers; error: ApiError | undefined }[] = [];
  const sent = Number(quota) + 1; // with the GET above: two requests more than the budget
  const started = performance.now();
  const ids = new Set<number>();
  for (let n = 1; n <= sent; n++) {
    const person = await withRetry(
      () => api.POST("/api/2.0/crm/contact/person", { body: { FirstName: "Rate", LastName: `Limit ${n}` } }),
      (result) => refused.push({ headers: result.response.headers, error: result.error }),
    );
    expect(person.response.status === 201 && person.data !== undefined, `POST /contact/person ${n} of ${sent} answers 201`);
    ids.add(person.data.ID);
  }
  const elapsed = (performance.now() - started) / 1000;

  expect(refused.length > 0, `${refused.length} of the requests met a 429 first`);
  for (const { headers, error } of refused) {
    expect(error?.Code === "rate_limited", `the 429 is an Error whose Code is rate_limited: ${JSON.stringify(error?.Message)}`);
    const retryAfter = headers.get("retry-after") ?? "";
    expect(/^\d+$/.test(retryAfter) && Number(retryAfter) >= 1 && Number(retryAfter) <= 10, `with Retry-After in seconds: ${retryAfter}`);
    expect(headers.get("ratelimit-policy") === policy, `and RateLimit-Policy: ${headers.get("ratelimit-policy")}`);
    expect(/\br=0\b/.test(headers.get("ratelimit") ?? ""), `and RateLimit with nothing left: ${headers.get("ratelimit")}`);
  }
  expect(ids.size === sent, `withRetry got all ${sent} requests through in ${elapsed.toFixed(1)} s: ${ids.size} contacts`);
}

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
  // Through withRetry, as a program should send its requests (here the limits are off).
  const person = await withRetry(() =>
    api.POST("/api/2.0/crm/contact/person", { body: { FirstName, LastName, ShareType: ShareType.ReadWrite } }),
  );
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
