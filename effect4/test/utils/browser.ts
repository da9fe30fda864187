/**
 * The headless Chromium of the browser tests (Debian's /usr/bin/chromium, driven by
 * playwright-core, which the top-level project installs), for the life of the scope.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { Browser } from "playwright-core"
import { chromium } from "playwright-core"

export const launchBrowser: Effect.Effect<Browser, never, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(() =>
    chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync"
      ]
    })
  ),
  (browser: Browser) => Effect.promise(() => browser.close())
)
