/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // Native and Node-only packages stay outside the bundle: route handlers must
  // share the server's module instances (see lib/global.ts) and these cannot be bundled.
  serverExternalPackages: [
    "better-auth",
    "@better-auth/api-key",
    "@better-auth/core",
    "better-call",
    "ssh2",
    "node-pty",
    "cpu-features",
    "@electric-sql/pglite",
    "pg",
    "pino",
    "node-forge",
    "@xterm/headless",
    "@xterm/addon-serialize",
  ],
};
export default nextConfig;
