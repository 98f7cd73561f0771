/**
 * The browser the page test gets (test/helpers/browser.ts). The npm-shipped Chromium is forced
 * here on every machine, so the path a fresh machine takes is tested also where Debian's
 * chromium is installed: it starts, fills a form field, lays out text and inline SVG, and maps
 * no library from the system but glibc's and the GCC runtime (NSS, NSPR and expat come from its
 * own folder, fonts from its own fontconfig file).
 */
import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import {
  DEBIAN_CHROMIUM,
  launchOptions,
  resolveChromium,
} from "@budgetfusion/test-helpers/browser";
import { chromium } from "playwright-core";
import { describe, expect, it } from "vitest";

describe("Chromium resolution", () => {
  it("takes BF_CHROMIUM first and names it when the file is missing", async () => {
    await expect(resolveChromium({ BF_CHROMIUM: "/nonexistent/chromium" })).rejects.toThrow(
      /BF_CHROMIUM=\/nonexistent\/chromium/,
    );
    const self = process.execPath; // any existing file: resolution does not launch it
    await expect(resolveChromium({ BF_CHROMIUM: self })).resolves.toMatchObject({
      source: "BF_CHROMIUM",
      executablePath: self,
    });
  });

  it("prefers Debian's chromium when installed, else the npm-shipped one", async () => {
    const choice = await resolveChromium({});
    expect(choice.source).toBe(existsSync(DEBIAN_CHROMIUM) ? "debian" : "npm");
  });
});

// What every Linux process maps: glibc's parts and the GCC runtime.
const GLIBC = /^(ld-linux-x86-64|libc|libm|libdl|libpthread|librt|libgcc_s)\.so/;

describe("the npm-shipped Chromium (BF_CHROMIUM=npm)", () => {
  it("renders a page with its own libraries", async () => {
    const choice = await resolveChromium({ ...process.env, BF_CHROMIUM: "npm" });
    expect(choice.source).toBe("npm");
    const server = await chromium.launchServer(launchOptions(choice));
    try {
      const browser = await chromium.connect(server.wsEndpoint());
      const page = await browser.newPage();
      await page.setContent(
        '<input id="q"><button id="go">Go</button><p><span id="t">t* = 23</span></p>' +
          '<svg width="120" height="40"><polyline id="c" points="0,40 60,10 120,5" /></svg>',
      );
      // A form control and text need a font: the browser brings its own fontconfig set-up.
      await page.fill("#q", "an astronaut");
      expect(await page.inputValue("#q")).toBe("an astronaut");
      expect(await page.textContent("#t")).toBe("t* = 23");
      const textWidth = await page.locator("#t").evaluate((el) => el.getBoundingClientRect().width);
      expect(textWidth).toBeGreaterThan(20);
      const box = await page.locator("#c").evaluate((el) => {
        const b = (el as SVGGraphicsElement).getBBox();
        return [b.x, b.y, b.width, b.height];
      });
      expect(box).toEqual([0, 5, 120, 35]);

      const pid = server.process().pid;
      if (pid === undefined) throw new Error("the browser process has no pid");
      const mapped = new Set(
        readFileSync(`/proc/${pid}/maps`, "utf8")
          .split("\n")
          .map((line) => line.split(/\s+/)[5] ?? "")
          .filter((path) => path.includes(".so")),
      );
      const ownLib = join(dirname(choice.executablePath), "lib");
      const own = [...mapped].filter((path) => dirname(path) === ownLib).map((p) => basename(p));
      const ownRoot = `${dirname(choice.executablePath)}/`;
      const system = [...mapped]
        .filter((path) => !path.startsWith(ownRoot))
        .map((p) => basename(p));
      expect(own).toEqual(expect.arrayContaining(["libnss3.so", "libnspr4.so", "libexpat.so.1"]));
      for (const name of system) expect(name).toMatch(GLIBC);
      await browser.close();
    } finally {
      await server.close();
    }
  }, 60_000);
});
