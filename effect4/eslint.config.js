// The Effect 4 edition's lint: the house rules of the top-level eslint.config.js, run by the
// top-level eslint (npm's scripts find it in ../node_modules/.bin), on this folder only. The
// top-level `eslint .` ignores effect4/, so each file is linted once.
import { houseRules } from "../eslint.config.js"

export default [
  { ignores: ["dist/**", "node_modules/**", "bench/.build/**", "bench/results/**"] },
  ...houseRules
]
