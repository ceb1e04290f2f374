// Waiting for what a client hands its listeners, with a deadline: shared by
// the tests against a real server.

export const WAIT = 5000;

/**
 * Resolves with the first `count` values that `listen` hands the listener it
 * is given (it returns the function that stops listening), within `ms`.
 */
export function collect(listen, count, what, ms = WAIT) {
  const seen = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`${seen.length} of ${count} ${what} within ${ms} ms`));
    }, ms);
    const stop = listen((value) => {
      seen.push(value);
      if (seen.length === count) {
        clearTimeout(timer);
        stop();
        resolve(seen);
      }
    });
  });
}

/** The first event of `client` that `matches`, within `ms`. */
export async function nextEvent(client, matches, ms = WAIT) {
  const listen = (listener) => client.onEvent((event) => matches(event) && listener(event));
  const [event] = await collect(listen, 1, "matching client events", ms);
  return event;
}

/** Resolves once `count` pushes of `type` arrived; their data, in order. */
export function pushes(client, type, count, ms = WAIT) {
  return collect((listener) => client.on(type, listener), count, `\`${type}\` pushes`, ms);
}

/** The next `count` presence changes. */
export function presenceChanges(client, count, ms = WAIT) {
  return collect((listener) => client.onPresence(listener), count, "presence changes", ms);
}
