// docs/reference/ is generated from the source: this test renders it again and fails when the
// committed files differ. `npm run docs` rewrites them (vitest -u on this file).
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { endpointsMarkdown, errorsMarkdown, type OpenApiDocument } from "../../src/docs/reference";
import { problemStatus } from "../../src/problems";

const HOW = "is out of date with the source: run `npm run docs` and commit the result";

async function openApiDocument(): Promise<OpenApiDocument> {
  return (await exports.default.fetch(new Request("http://tollgate.test/_tollgate/openapi.json"))).json();
}

describe("docs are up to date", () => {
  it("docs/reference/endpoints.md lists every operation of openapi.json", async () => {
    const doc = await openApiDocument();
    const markdown = endpointsMarkdown(doc);
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of Object.keys(item)) expect(markdown).toContain(`### \`${method.toUpperCase()} ${path}\``);
    }
    await expect(markdown, `docs/reference/endpoints.md ${HOW}`).toMatchFileSnapshot("../../docs/reference/endpoints.md");
  });

  it("docs/reference/errors.md lists every problem code with its status", async () => {
    const markdown = errorsMarkdown();
    for (const [code, status] of Object.entries(problemStatus)) expect(markdown).toContain(`| \`${code}\` | ${status} |`);
    await expect(markdown, `docs/reference/errors.md ${HOW}`).toMatchFileSnapshot("../../docs/reference/errors.md");
  });
});
