/**
 * How many generated runs the model-based property tests make: `RESILIENCE_PROPERTY_RUNS` when
 * set to a positive integer (`npm run test:long` sets 10,000, the mutation run 60), else 300.
 */
export const propertyRuns = (() => {
  const fromEnv = Number(process.env["RESILIENCE_PROPERTY_RUNS"])
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : 300
})()
