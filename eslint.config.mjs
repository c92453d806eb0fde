// ESLint: Next's rules (core web vitals, TypeScript) with the React hooks rules they
// include. `npm run lint` runs it with Prettier's check, and `npm test` runs both;
// Prettier owns formatting (`npm run format`).
import { defineConfig, globalIgnores } from "eslint/config";
import nextVitals from "eslint-config-next/core-web-vitals";
import nextTs from "eslint-config-next/typescript";

export default defineConfig([
  ...nextVitals,
  ...nextTs,
  {
    rules: {
      // `_`-prefixed names are deliberately unused (destructuring a field away, a parameter a signature needs).
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_", ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Browser code never imports the database, accounts, keys or their secrets (types
    // are erased and may be imported). This stands in for `import "server-only"`, which
    // throws outside Next's build, where server.ts and the tests load these modules;
    // lib/server-only.ts checks at run time as well.
    files: ["components/**", "app/error.tsx", "app/global-error.tsx", "lib/terminal/browser/**"],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["@/db/*", "@/lib/auth/*", "@/lib/keys/*", "@/lib/ssh/*", "@/lib/server-only", "@/lib/config", "@/lib/global"],
              allowTypeImports: true,
              message: "Server-only module: browser code may import its types only.",
            },
          ],
        },
      ],
    },
  },
  {
    // Playwright's fixtures call `use`, which is not React's hook.
    files: ["e2e/**"],
    rules: { "react-hooks/rules-of-hooks": "off" },
  },
  globalIgnores([".next/**", ".meshia/**", ".tmp/**", "node_modules/**", "db/migrations/**", "test-results/**", "playwright-report/**", "next-env.d.ts"]),
]);
