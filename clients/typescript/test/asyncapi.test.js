// The AsyncAPI documents ori generates for the examples
// (examples/*/asyncapi.json) pass the official parser (@asyncapi/parser)
// with no error and no warning.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";

const examples = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../examples");
const documents = fs
  .readdirSync(examples)
  .map((name) => path.join(examples, name, "asyncapi.json"))
  .filter((file) => fs.existsSync(file));

test("the examples have AsyncAPI documents", () => {
  assert.ok(documents.length >= 1, `none under ${examples}`);
});

for (const file of documents) {
  test(`${path.relative(examples, file)} is a valid AsyncAPI 3.0 document`, async () => {
    const { document, diagnostics } = await new Parser().parse(fs.readFileSync(file, "utf8"));
    const problems = diagnostics.filter(
      (d) => d.severity === DiagnosticSeverity.Error || d.severity === DiagnosticSeverity.Warning,
    );
    assert.deepEqual(
      problems.map((d) => `${d.code}: ${d.message} at ${d.path.join("/")}`),
      [],
    );
    assert.ok(document, "parsed");
    assert.equal(document.version(), "3.0.0");
    // Every route is an operation the client sends, replied on the endpoint.
    const sends = document.operations().filterBySend();
    assert.ok(sends.length >= 3, "routes and control messages");
    for (const operation of sends) assert.ok(operation.reply(), `${operation.id()} has a reply`);
    assert.ok(document.operations().filterByReceive().length >= 1, "pushes and the error envelope");
  });
}
