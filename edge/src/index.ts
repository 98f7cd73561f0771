/** Worker entry: the Hono app and the dispatcher Durable Object class (wrangler.toml). */
import { createApp } from "./app";

export { Dispatcher } from "./dispatch/dispatcher";

export default createApp();
