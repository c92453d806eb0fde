// Imported first by modules that must never reach a browser bundle: the database
// client, accounts, the key store and the secrets behind bridge credentials. Next's
// `server-only` package throws outside Next's own build, and server.ts and the tests
// import these modules, so this checks where it runs instead. The lint rule in
// eslint.config.mjs keeps components from importing them in the first place.
if (typeof window !== "undefined") throw new Error("A server-only module was loaded in the browser.");

export {};
