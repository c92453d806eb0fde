// Ids in this app are UUIDs; anything else in a path is no id of ours (and must not
// reach a uuid column, where Postgres would answer with an error, not "none").
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(id: string): boolean {
  return UUID.test(id);
}
