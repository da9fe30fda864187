/**
 * What a breaker says (transition log lines, the line of a breaker restored from its store, a
 * rejection's message) lives in the core shared by both editions (`core/src/breakerText.ts`).
 *
 * @internal
 */
export * from "../../../core/src/breakerText.js"
