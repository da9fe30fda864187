/**
 * What the status endpoint and the registry say, shared by both editions so that they answer
 * the same paths with the same messages: the paths, the 404 messages and the duplicate-id
 * message, and how many transitions the registry keeps per breaker.
 *
 * @internal
 */

/** The path of the listing. @internal */
export const path = "/v1/api/status/services"

/** The path of the status page. @internal */
export const pagePath = "/v1/api/status"

/** How many transitions the registry keeps per entry registered with a breaker. @internal */
export const recentTransitionsLimit = 20

/** The message of the 404 for an id nothing is registered under. @internal */
export const notFoundMessage = (id: string): string => `no service is registered under "${id}"`

/**
 * The message of the 404 for an id asked with a raw `/` (which reaches no `:id` route): it gives
 * the encoded path to ask instead.
 *
 * @internal
 */
export const rawSlashMessage = (id: string): string =>
  `no service is registered under "${id}" written with a raw "/": an id is asked for encoded, as ${path}/${
    encodeURIComponent(id)
  }`

/** The message of the `ConfigError` (path `["id"]`) for an id a live entry already has. @internal */
export const duplicateIdMessage = (id: string): string =>
  `"${id}" is already registered by another live client or breaker`
