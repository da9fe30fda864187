/** The property-run count of the core's tests, shared by the edition's model tests. */
export { propertyRuns } from "../../core/test/utils/propertyRuns.js"
