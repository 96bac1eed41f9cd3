// The command that starts one key-value node (scripts/kv/node-main.ts); node flags are
// appended. Used by the node-layer process tests and `make bench-node`.
export const KV_NODE_ENTRY = [process.execPath, '--import', 'tsx', 'scripts/kv/node-main.ts'];
