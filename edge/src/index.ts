/** Worker entry: the Hono app and the dispatcher Durable Object class (wrangler.toml). */
import { createApp } from "./app";

/** @public The Durable Object class workerd instantiates (wrangler.toml durable_objects). */
export { Dispatcher } from "./dispatch/dispatcher";

/** @public The fetch handler workerd calls. */
export default createApp();
