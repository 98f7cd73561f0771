/** GET /ops: the operator view (page/ops-page.ts); its data comes from the admin API. */
import type { EdgeApp } from "../app-env";
import { opsPage } from "../page/ops-page";
import { pageHeaders, pageNonce } from "../page/page-headers";

export function registerOpsPage(app: EdgeApp) {
  app.get("/ops", pageHeaders, (c) => c.html(opsPage(pageNonce(c))));
}
