/**
 * The fleet protocol's pure local side lives in the core shared by both editions
 * (`core/src/fleetProtocol.ts`).
 *
 * @internal
 */
export * from "../../core/src/fleetProtocol.js"
