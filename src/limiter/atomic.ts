// The limiter keeps its decision state in memory and writes it through to SQLite in the same
// synchronous transaction (counters.ts). A transaction that throws rolls SQLite back, but not the
// memory the callback had already moved: a quota counter would count a request that storage never
// recorded. Every transaction of the limiter goes through `guardedStorage`, which then rebuilds the
// object's memory from the rolled-back storage before the error goes on to the caller.

/** What the limiter's books need of the object's storage. */
export interface LimiterStorage {
  readonly sql: SqlStorage;
  transactionSync<T>(fn: () => T): T;
}

/** `storage`, whose failed transactions run `reload` (memory back to what SQLite holds) before they throw. */
export function guardedStorage(storage: DurableObjectStorage, reload: () => void): LimiterStorage {
  return {
    sql: storage.sql,
    transactionSync<T>(fn: () => T): T {
      try {
        return storage.transactionSync(fn);
      } catch (error) {
        reload();
        throw error;
      }
    },
  };
}
