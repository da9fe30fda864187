// @ts-check
import effectPlugin from "@effect/eslint-plugin"
import tseslint from "typescript-eslint"

/**
 * The house rules, shared with the Effect 4 edition's effect4/eslint.config.js (which lints
 * effect4/ with this same eslint, from the top-level node_modules). None of them needs type
 * information, so the top-level lint, which ignores effect4/, runs without effect4/node_modules.
 * The `files` patterns are relative to the folder of the config that uses them.
 */
export const houseRules = [
  ...tseslint.configs.recommended,
  {
    plugins: { "@effect": effectPlugin },
    rules: {
      "@effect/dprint": ["error", {
        config: {
          indentWidth: 2,
          lineWidth: 120,
          semiColons: "asi",
          quoteStyle: "alwaysDouble",
          trailingCommas: "never",
          operatorPosition: "maintain",
          "arrowFunction.useParentheses": "force"
        }
      }],
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-namespace": "off",
      "@typescript-eslint/consistent-type-imports": "error",
      "no-restricted-syntax": [
        "error",
        {
          selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']",
          message: "Read time through Clock."
        },
        { selector: "CallExpression[callee.name='setTimeout']", message: "Use Effect.sleep or Schedule." },
        { selector: "CallExpression[callee.name='setInterval']", message: "Use Schedule." },
        {
          selector: "NewExpression[callee.name='Promise']",
          message: "Use Effect.async (Effect 3) or Effect.callback (Effect 4)."
        },
        { selector: "CallExpression[callee.object.name='console']", message: "Use Effect's logger." }
      ]
    }
  },
  {
    files: ["test/**", "bench/**", "examples/**", "scripts/**"],
    rules: { "no-restricted-syntax": "off" }
  }
]

export default tseslint.config(
  {
    ignores: [
      "dist/**",
      // the Effect 4 edition: its own npm project, linted by its own `npm run lint` (effect4/eslint.config.js)
      "effect4/**",
      "bench/.build/**",
      // verbatim copies of the docs' code blocks (test/docs.test.ts keeps them in sync; tsc checks them)
      "examples/docs/**",
      "node_modules/**",
      "scratch/**",
      "bench/results/**",
      "coverage/**",
      "reports/**",
      ".stryker-tmp/**"
    ]
  },
  ...houseRules
)
