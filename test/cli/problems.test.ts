// How a refusal reads: one line, then errors[] (and a command's notes) indented below it.
import { expect, test } from "vitest";
import { adminTokenOf, isLoopback, resolveToken, urlProblem } from "../../cli/config";
import { ProblemAnswer } from "../../cli/errors";
import { problemLines } from "../../cli/problems";

const answer = (status: number, body: unknown) => new ProblemAnswer(status, body === null ? null : (body as never), body === null ? "<html>\n Bad   gateway </html>" : JSON.stringify(body));

test("a problem is one line: status, code, detail", () => {
  const p = answer(412, { type: "urn:tollgate:problem:precondition-failed", title: "Precondition failed", status: 412, detail: "The tenant changed\nsince you read it." });
  expect(problemLines(p)).toEqual(["error: 412 precondition-failed — The tenant changed since you read it."]);
});

test("errors[] are indented below, the root shown as (root)", () => {
  const p = answer(400, { type: "urn:tollgate:problem:invalid-request", title: "Invalid request", status: 400, detail: "2 problems", errors: [{ path: "/plan", message: "unknown plan" }, { path: "", message: "malformed JSON" }] });
  p.notes.push("  apply anyway with --force");
  expect(problemLines(p)).toEqual(["error: 400 invalid-request — 2 problems", "  /plan: unknown plan", "  (root): malformed JSON", "  apply anyway with --force"]);
});

test("an answer that is not a problem shows its status and the start of its body", () => {
  expect(problemLines(answer(502, null))).toEqual(["error: 502 — <html> Bad gateway </html>"]);
});

test("ADMIN_TOKEN of .dev.vars is used for a loopback gateway only", () => {
  const devVars = "# local\nORIGIN_SECRET=x\nADMIN_TOKEN=\"tg-local\"\n";
  expect(adminTokenOf(devVars)).toBe("tg-local");
  expect(adminTokenOf("ADMIN_TOKEN=\n")).toBeUndefined();
  expect(resolveToken(undefined, "http://localhost:8787", () => devVars)).toEqual({ token: "tg-local", from: "dev-vars" });
  expect(resolveToken(undefined, "http://[::1]:8787", () => devVars)).toEqual({ token: "tg-local", from: "dev-vars" });
  expect(resolveToken(undefined, "https://api.example.com", () => devVars)).toEqual({ token: undefined, from: "none" });
  expect(resolveToken("given", "http://localhost:8787", () => devVars)).toEqual({ token: "given", from: "option" });
  expect(isLoopback("http://127.0.0.1.example.com")).toBe(false);
});

test("--url must be an http(s) URL", () => {
  expect(urlProblem("http://localhost:8787")).toBeNull();
  expect(urlProblem("localhost:8787")).not.toBeNull();
  expect(urlProblem("ftp://x")).not.toBeNull();
});
