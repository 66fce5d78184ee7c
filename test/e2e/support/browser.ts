// A real Chromium for the dashboard and portal tests: the binary inside the @sparticuz/chromium
// npm package (nothing downloaded at install or run time), driven by playwright-core.
import sparticuz from "@sparticuz/chromium";
import { chromium, type Browser, type Page, type Request } from "playwright-core";

/** Chromium must not phone home: these tests also prove the pages reach nothing but the gateway. */
const QUIET = [
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-default-apps",
  "--disable-sync",
  "--no-first-run",
  "--metrics-recording-only",
  "--no-service-autorun",
  "--disable-domain-reliability",
];

export async function launchBrowser(): Promise<Browser> {
  // The packaged binary is Linux x64/arm64 only: elsewhere, point TOLLGATE_CHROMIUM at a local Chrome.
  const local = process.env.TOLLGATE_CHROMIUM;
  if (local) return chromium.launch({ executablePath: local, args: QUIET, headless: true });
  sparticuz.setGraphicsMode = false; // software rendering is enough for a 2D canvas
  return chromium.launch({ executablePath: await sparticuz.executablePath(), args: [...sparticuz.args, ...QUIET], headless: true });
}

export interface OpenedPage {
  page: Page;
  /** Every request the page made, in order. */
  requests: Request[];
  /** Uncaught errors and console errors of the page: a test expects none. */
  errors: string[];
}

/** A fresh context (so a fresh sessionStorage) with every request and error recorded. */
export async function openPage(browser: Browser, url: string): Promise<OpenedPage> {
  // A fixed locale: Chromium otherwise takes the machine's (e.g. "en-US@posix"), which Intl rejects.
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, locale: "en-US", timezoneId: "UTC" });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const requests: Request[] = [];
  const errors: string[] = [];
  page.on("request", (r) => requests.push(r));
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    // A 401 the page expects (a wrong token) is logged by Chromium as a failed resource load.
    if (m.type() === "error" && !/status of 401/.test(m.text())) errors.push(`console: ${m.text()}`);
  });
  await page.goto(url);
  return { page, requests, errors };
}

/** Enters the secret in the page's sign-in form. */
export async function signIn(page: Page, secret: string): Promise<void> {
  await page.locator("#login input[name=secret]").fill(secret);
  await page.locator("#login button[type=submit]").click();
}

/** Text of every cell of a totals table's row, by field (data-field). */
export async function rowFields(page: Page, rowSelector: string): Promise<Record<string, string>> {
  return page.locator(rowSelector).evaluate((tr: DomElement) => Object.fromEntries([...tr.querySelectorAll("[data-field]")].map((td) => [td.dataset.field!, td.textContent ?? ""])));
}

/** Name → number of a two-column counts table's rows (data-key, count). */
export async function countsShown(page: Page, rowsSelector: string): Promise<Record<string, number>> {
  return page.locator(rowsSelector).evaluateAll((trs: DomElement[]) => Object.fromEntries(trs.map((tr) => [tr.dataset.key!, Number(tr.children[1]!.textContent)])));
}

// The little of the DOM these tests touch inside the page (the project's TypeScript has no DOM lib:
// its code runs in workerd and Node).
export interface DomElement {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
  children: ArrayLike<DomElement>;
  querySelector(selector: string): DomElement | null;
  querySelectorAll(selector: string): Iterable<DomElement>;
}
export interface ChartFigure extends DomElement {
  uplot: { data: (number | null)[][] };
}
export interface Canvas {
  width: number;
  height: number;
  getContext(kind: "2d"): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } };
}
