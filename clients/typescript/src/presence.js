// @ts-check
/**
 * The presence an {@link OriClient} keeps for each topic joined with
 * presence: `presence_state` replaces it (its differences reported as joins
 * and leaves), `presence_diff` changes it, joins first, so that an update
 * never empties a key. A member is a key; a second meta under a present key
 * (a second device) is a join that is not a new member. The same rules as
 * `ori::client` (`client/presence.rs`).
 * @module
 */

/**
 * A change of a topic's presence:
 * - `join`: `meta` joined under `key`; `newMember` when `key` had no meta;
 * - `leave`: `meta` left `key`; `gone` when `key` has no meta left;
 * - `synced`: a `presence_state` was applied (after a subscribe or a
 *   reconnection; its differences came first, as joins and leaves).
 * @typedef {{ type: "join", topic: string, key: string, meta: unknown, newMember: boolean }
 *   | { type: "leave", topic: string, key: string, meta: unknown, gone: boolean }
 *   | { type: "synced", topic: string }} PresenceChange
 */

/** @typedef {Record<string, unknown[]>} Members member keys to their metas */

export class PresenceMaps {
  /** @type {Map<string, Map<string, unknown[]>>} */ #topics = new Map();

  /**
   * Applies a `presence_state`'s data.
   * @param {{ topic: string, members: Members }} state
   * @returns {PresenceChange[]}
   */
  state({ topic, members }) {
    const kept = this.#topics.get(topic) ?? new Map();
    /** @type {Map<string, unknown[]>} */ const leaves = new Map([...kept].map(([k, metas]) => [k, [...metas]]));
    /** @type {Map<string, unknown[]>} */ const joins = new Map();
    for (const [key, metas] of Object.entries(members ?? {})) {
      for (const meta of metas) {
        const left = leaves.get(key);
        if (!left || take(left, meta) === undefined) push(joins, key, meta);
      }
    }
    /** @type {PresenceChange[]} */ const changes = [];
    this.#topics.set(topic, kept);
    apply(topic, kept, joins, leaves, changes);
    changes.push({ type: "synced", topic });
    return changes;
  }

  /**
   * Applies a `presence_diff`'s data.
   * @param {{ topic: string, joins: Members, leaves: Members }} diff
   * @returns {PresenceChange[]}
   */
  diff({ topic, joins, leaves }) {
    let view = this.#topics.get(topic);
    if (!view) this.#topics.set(topic, (view = new Map()));
    /** @type {PresenceChange[]} */ const changes = [];
    apply(topic, view, new Map(Object.entries(joins ?? {})), new Map(Object.entries(leaves ?? {})), changes);
    return changes;
  }

  /**
   * The members of `topic` (a copy), or `null` before its first state.
   * @param {string} topic
   * @returns {Members | null}
   */
  members(topic) {
    const view = this.#topics.get(topic);
    return view ? Object.fromEntries([...view].map(([key, metas]) => [key, [...metas]])) : null;
  }

  /** @param {string} topic */
  remove(topic) {
    this.#topics.delete(topic);
  }
}

/**
 * @param {string} topic
 * @param {Map<string, unknown[]>} view
 * @param {Map<string, unknown[]>} joins
 * @param {Map<string, unknown[]>} leaves
 * @param {PresenceChange[]} changes
 */
function apply(topic, view, joins, leaves, changes) {
  for (const [key, metas] of joins) {
    for (const meta of metas) {
      const newMember = !view.has(key);
      push(view, key, meta);
      changes.push({ type: "join", topic, key, meta, newMember });
    }
  }
  for (const [key, metas] of leaves) {
    for (const meta of metas) {
      const list = view.get(key);
      if (!list || take(list, meta) === undefined) continue; // never a leave of what did not join
      const gone = list.length === 0;
      if (gone) view.delete(key);
      changes.push({ type: "leave", topic, key, meta, gone });
    }
  }
}

/**
 * @param {Map<string, unknown[]>} map
 * @param {string} key
 * @param {unknown} meta
 */
function push(map, key, meta) {
  const list = map.get(key);
  if (list) list.push(meta);
  else map.set(key, [meta]);
}

/**
 * Removes one meta equal to `meta` from `list`; returns it.
 * @param {unknown[]} list
 * @param {unknown} meta
 */
function take(list, meta) {
  const at = list.findIndex((m) => same(m, meta));
  return at < 0 ? undefined : list.splice(at, 1)[0];
}

/**
 * Two metas are the same JSON value (key order aside).
 * @param {unknown} a
 * @param {unknown} b
 * @returns {boolean}
 */
function same(a, b) {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => same(/** @type {any} */ (a)[k], /** @type {any} */ (b)[k]));
}
