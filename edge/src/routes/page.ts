/** GET /: the product's page (page/budget-page.ts), under the pages' secure headers. */
import type { EdgeApp } from "../app-env";
import { budgetPage } from "../page/budget-page";
import { pageHeaders, pageNonce } from "../page/page-headers";

export function registerPage(app: EdgeApp) {
  app.get("/", pageHeaders, (c) => c.html(budgetPage(pageNonce(c), c.var.config.apiKeys)));
}
