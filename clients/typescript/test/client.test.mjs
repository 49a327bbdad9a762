// The TypeScript client against a live `engram serve` on loopback (started by
// tests/test_typescript_client.py, which passes its URL and keys in the environment).

import assert from "node:assert/strict";
import { test } from "node:test";

import { generateText, wrapLanguageModel } from "ai";
import { MockLanguageModelV4 } from "ai/test";

import {
  AuthError, Client, ForbiddenError, InvalidInputError, NotFoundError, engramMemoryMiddleware,
} from "../dist/index.js";

const URL_ = process.env.ENGRAM_URL;
const client = new Client(URL_, process.env.ENGRAM_KEY);
const reader = new Client(URL_, process.env.ENGRAM_READ_KEY);
const other = new Client(URL_, process.env.ENGRAM_OTHER_SPACE_KEY);
const uid = `ts-${Date.now()}`;
const T = (d, h = 10) => `2024-05-${String(d).padStart(2, "0")}T${h}:00:00Z`;

test("add, search, context and the memory's lifecycle", async () => {
  const added = await client.add([
    { speaker: "Ana", text: "I adopted a grey cat called Miso on 3 March 2024.", timestamp: T(1), id: "T1" },
    { speaker: "Ana", text: "Bo is moving to Porto next month.", timestamp: T(1, 11), id: "T2" },
  ], { user_id: uid, conversation_id: `${uid}-c1`, flush: true });
  assert.equal(added.inserted, 2);
  assert.equal((await client.add([{ speaker: "Ana", text: "Bo is moving to Porto next month.", timestamp: T(1, 11),
    id: "T2" }], { user_id: uid, conversation_id: `${uid}-c1` })).duplicates, 1);

  const found = await client.search("When did Ana adopt her cat?", { user_id: uid, top_k: 5 });
  assert.match(found.hits[0].memory.text, /Miso/);
  assert.ok(found.hits[0].citations.some((c) => c.external_id === "T1"));
  assert.equal(typeof found.hits[0].scores.fusion, "number");

  const block = await client.context({ query: "Where is Bo moving?", budget_tokens: 200 }, { user_id: uid });
  assert.match(block.text, /Porto/);
  assert.ok(block.tokens <= 200);

  const page = await client.list({ user_id: uid, kinds: ["fact", "foresight"], limit: 1 });
  assert.equal(page.items.length, 1);
  assert.ok(page.next_cursor);
  const target = page.items[0];
  assert.equal((await client.get(target.id)).id, target.id);
  assert.equal((await client.update(target.id, { text: "Ana keeps bees on the roof" })).text,
    "Ana keeps bees on the roof");
  assert.equal((await client.delete(target.id)).status, "deleted");
  assert.deepEqual((await client.history(target.id)).map((h) => h.action), ["create", "update", "delete"]);
  assert.equal((await client.restore(target.id)).status, "active");

  const tea = await client.put("Ana's favourite tea is sencha", { user_id: uid, key: "tea" });
  const again = await client.put("Ana's favourite tea is genmaicha", { user_id: uid, key: "tea" });
  assert.equal(again.id, tea.id);
  assert.deepEqual((await client.list({ user_id: uid, metadata: { key: "tea" } })).items.map((m) => m.id), [tea.id]);

  const last = await client.messages(`${uid}-c1`, { limit: 1, latest: true });
  assert.equal(last[0].external_id, "T2");
  assert.equal((await client.forget({ message_id: last[0].id })).messages, 1);
  assert.ok((await client.users()).includes(uid));
  assert.deepEqual((await client.conversations({ user_id: uid })).map((c) => c.conversation_id), [`${uid}-c1`]);
  assert.ok(Array.isArray(await client.profile({ user_id: uid })));
  assert.ok(Array.isArray(await client.scenes({ user_id: uid })));
  assert.equal((await client.workingMemory(`${uid}-c1`)).conversation_id, `${uid}-c1`);
  assert.ok(Array.isArray(await client.jobs()));
  assert.equal(typeof (await client.retry()), "number");
  assert.equal((await client.health()).status, "ok");
  assert.ok("jobs" in (await client.status()) || Object.keys(await client.status()).length > 0);
});

test("cubes and training sets go out and come back", async () => {
  const u = `${uid}-cube`;
  await client.add([{ speaker: "Caro", text: "I restore old wooden boats every summer.", timestamp: T(2) }],
    { user_id: u, conversation_id: `${u}-c`, flush: true });
  const cube = await client.exportCube({ user_id: u });
  assert.equal(cube[0], 0x50); // "PK": a zip
  const report = await other.importCube(cube, { as_user: "caro" });
  assert.ok(report.inserted.memories > 0 || Object.values(report.inserted).some((n) => n > 0));
  assert.match((await other.search("boats", { user_id: "caro" })).hits[0].memory.text, /boats/);
  const sft = await client.exportTraining({ user_id: u });
  assert.equal(typeof sft, "string");
});

test("errors are the Python client's", async () => {
  await assert.rejects(client.search("", { user_id: uid }), (e) => e instanceof InvalidInputError && e.field === "query");
  await assert.rejects(client.get("mem_does_not_exist"), NotFoundError);
  await assert.rejects(new Client(URL_, "engram_wrong").search("cat"), AuthError);
  await assert.rejects(reader.add([{ speaker: "x", text: "y", timestamp: T(3) }], { user_id: uid }), ForbiddenError);
  const theirs = await other.search("Miso cat", { user_id: uid });
  assert.deepEqual(theirs.hits, []); // another space sees nothing
});

test("the AI SDK middleware recalls into the prompt", async () => {
  const u = `${uid}-ai`;
  await client.add([{ speaker: "Dana", text: "I moved to Glasgow last month for a nursing job.", timestamp: T(4) }],
    { user_id: u, conversation_id: `${u}-c`, flush: true });
  const mock = new MockLanguageModelV4({
    doGenerate: async () => ({
      content: [{ type: "text", text: "You live in Glasgow." }],
      finishReason: { unified: "stop", raw: "stop" },
      usage: { inputTokens: { total: 10, noCache: 10, cacheRead: 0, cacheWrite: 0 },
        outputTokens: { total: 5, text: 5, reasoning: 0 } },
      warnings: [],
    }),
  });
  const model = wrapLanguageModel({ model: mock, middleware: engramMemoryMiddleware({ client, user_id: u }) });
  const out = await generateText({ model, system: "You are Dana's assistant.", prompt: "Where do I live now?" });
  assert.equal(out.text, "You live in Glasgow.");
  const sent = mock.doGenerateCalls[0].prompt;
  assert.equal(sent[0].role, "system");
  assert.equal(sent[0].content, "You are Dana's assistant.");
  assert.equal(sent[1].role, "system");
  assert.match(sent[1].content, /Glasgow/);
  assert.equal(sent[2].role, "user");
});
