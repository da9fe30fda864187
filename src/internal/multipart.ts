/**
 * Form data encoded as `multipart/form-data` without reading it into memory: the encoding lives
 * in the core shared by both editions (`core/src/multipart.ts`).
 *
 * @internal
 */
export * from "../../core/src/multipart.js"
