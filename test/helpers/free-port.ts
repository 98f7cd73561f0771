/**
 * A random port in 19100-19899 that nothing listens on now: tests that start servers share the
 * machine with other people's runs of the same tests, so fixed ports collide.
 */
import { createServer } from "node:net";

export async function freePort(): Promise<number> {
  for (;;) {
    const port = 19100 + Math.floor(Math.random() * 800);
    const free = await new Promise<boolean>((done) => {
      const server = createServer()
        .once("error", () => done(false))
        .listen(port, "127.0.0.1", () => server.close(() => done(true)));
    });
    if (free) return port;
  }
}
