/**
 * Every default of the library lives in the core shared by both editions
 * (`core/src/defaults.ts`).
 *
 * @internal
 */
export * from "../../../core/src/defaults.js"
