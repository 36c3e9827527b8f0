// One Redis client per distinct connection setting in a worker, shared by every middleware and every snapshot that names it.

import { RedisClient, type RedisClientOptions } from './redis-client.js';

/**
 * Settings remembered at once. Past this the least recently asked for is forgotten, not closed:
 * a middleware still holding it keeps working, and it is collected once none does.
 */
const MAX_CLIENTS = 32;

const clients = new Map<string, RedisClient>();

/**
 * Middlewares are rebuilt when their configuration changes; keying the client by its connection
 * settings keeps one pool per Redis instead of one per build, and an unchanged Redis keeps its
 * warm connections across snapshots. A client nobody uses any more closes its idle connections.
 */
export function sharedRedisClient(opts: RedisClientOptions): RedisClient {
  const key = JSON.stringify(opts);
  let client = clients.get(key);
  if (client) {
    // Most recently used last: the first entry is the one to close.
    clients.delete(key);
    clients.set(key, client);
    return client;
  }
  client = new RedisClient(opts);
  clients.set(key, client);
  while (clients.size > MAX_CLIENTS) {
    const oldest = clients.keys().next();
    if (oldest.done) break;
    clients.delete(oldest.value);
  }
  return client;
}

/** Closes every shared client (tests, worker shutdown). */
export function closeRedisClients(): void {
  for (const client of clients.values()) client.close();
  clients.clear();
}
