/**
 * What a call does after a failed attempt: the pure decision lives in the core shared by both
 * editions (`core/src/retryDecision.ts`); here it is fixed to this edition's rejection.
 *
 * @internal
 */
import type * as Core from "../../../../core/src/retryDecision.js"
import type * as ServiceUnavailable from "../../ServiceUnavailable.js"

export { decide } from "../../../../core/src/retryDecision.js"
export type { GiveUp } from "../../../../core/src/retryDecision.js"

/** @internal */
export type Facts = Core.Facts<ServiceUnavailable.ServiceUnavailable>

/** @internal */
export type Decision = Core.Decision<ServiceUnavailable.ServiceUnavailable>
