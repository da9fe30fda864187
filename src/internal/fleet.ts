/**
 * Fleet mode's effectful shell. One Redis connection (and one subscriber) per fleet layer; per
 * joined breaker, one fiber that feeds the pure protocol (`fleetProtocol.ts`) its events in
 * order (local transitions, fleet messages, answers, timers) and runs the commands it returns.
 * A heartbeat fiber publishes the replica's statuses, re-reads every breaker's fleet view (so a
 * lost message costs at most one heartbeat) and notices Redis coming back.
 *
 * Nothing here is on a call's path: calls read the local breaker only. Every Redis command is
 * bounded by the connection's timeout; a failure makes the fleet unreachable for every breaker of
 * the layer (logged once), and the next heartbeat that gets an answer makes it reachable again.
 *
 * @internal
 */
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as Shell from "../../core/src/fleetShell.js"
import type * as CircuitBreaker from "../CircuitBreaker.js"
import type * as FleetApi from "../Fleet.js"
import * as ServiceStatus from "../ServiceStatus.js"
import type { FleetHook } from "./circuitBreaker.js"
import * as FleetMembership from "./fleetMembership.js"
import * as Protocol from "./fleetProtocol.js"
import * as Scripts from "./fleetScripts.js"
import * as Machine from "./machine.js"
import * as OptionNames from "./optionNames.js"
import * as Redis from "./redis.js"
import * as Time from "./time.js"
import * as validate from "./validate.js"

/** The public options, and where the connection comes from. @internal */
export interface Options extends FleetApi.Options {
  /** Where the connection comes from; `@redis/client` when absent (tests inject their own). */
  readonly connection?:
    | ((options: Redis.Options) => Effect.Effect<Redis.Connection, ConfigError.ConfigError, Scope.Scope>)
    | undefined
}

/** @internal */
export type ReplicaStatus = FleetMembership.ReplicaStatus

/** @internal */
export const defaults = Shell.defaults

/** @internal */
export const leaseIdleMillis = Shell.leaseIdleMillis

interface Settings {
  readonly fleet: string
  readonly url: string
  readonly replica: string | undefined
  readonly quorum: number
  readonly quorumWindowMillis: number
  readonly leaseTtlMillis: number
  readonly heartbeatMillis: number
  readonly commandTimeoutMillis: number
  readonly connectTimeoutMillis: number
  readonly cluster: Redis.ClusterOptions | undefined
}

const settings = (options: Options): Effect.Effect<Settings, ConfigError.ConfigError> =>
  Effect.gen(function*() {
    if (typeof options !== "object" || options === null) {
      return yield* validate.invalid("fleet", "fleet options must be an object with a fleet name and a url")
    }
    const { connection: _connection, ...given } = options
    yield* validate.knownNames(given, OptionNames.fleet)
    const fleet = yield* Effect.flatMap(
      validate.nonEmptyString("fleet", options.fleet, ""),
      (name) => validate.wellFormed("fleet", name)
    )
    if (fleet === "") return yield* validate.invalid("fleet", "must name the fleet, got nothing")
    const url = yield* validate.nonEmptyString("url", options.url, "")
    if (!/^rediss?:\/\//.test(url)) {
      return yield* validate.invalid("url", `must be a redis:// or rediss:// URL, got ${validate.show(url)}`)
    }
    const replica = options.replica === undefined
      ? undefined
      : yield* Effect.flatMap(
        validate.nonEmptyString("replica", options.replica, ""),
        (name) => validate.wellFormed("replica", name)
      )
    const millis = (field: string, value: unknown, fallback: Duration.DurationInput) =>
      Effect.map(validate.positiveDuration(field, value, fallback), Duration.toMillis)
    const quorum = yield* validate.positiveInteger("quorum", options.quorum, defaults.quorum)
    const quorumWindowMillis = yield* millis("quorumWindow", options.quorumWindow, defaults.quorumWindow)
    const leaseTtlMillis = yield* millis("leaseTtl", options.leaseTtl, defaults.leaseTtl)
    const heartbeatMillis = yield* millis("heartbeat", options.heartbeat, defaults.heartbeat)
    const commandTimeoutMillis = yield* millis("commandTimeout", options.commandTimeout, defaults.commandTimeout)
    // the holder gives its lease up a command's time before Redis does, and its settling needs a
    // command's time too: a shorter lease would be dropped as soon as it is granted
    if (leaseTtlMillis < 2 * commandTimeoutMillis) {
      return yield* validate.invalid(
        "leaseTtl",
        `must be at least twice commandTimeout (${commandTimeoutMillis} ms), got ${leaseTtlMillis} ms`
      )
    }
    return {
      fleet,
      url,
      replica,
      quorum,
      quorumWindowMillis,
      leaseTtlMillis,
      heartbeatMillis,
      commandTimeoutMillis,
      connectTimeoutMillis: yield* millis("connectTimeout", options.connectTimeout, defaults.connectTimeout),
      cluster: yield* Redis.clusterOption(url, options.cluster)
    }
  })

/** A probe runs, or one succeeded, in the breaker's `half_open` period: its lease is in use. */
const probing = (machine: Machine.Machine<unknown>): boolean =>
  machine.state === "half_open" && machine.probesInFlight + machine.probeSuccesses > 0

/**
 * What a member's fiber handles, in order: a protocol event, a heartbeat (`Sync`: read the
 * fleet's view again) or a local transition (`Changed`: the breaker's state is read when the
 * item is handled, not when it was queued).
 */
type Item = Protocol.Event | { readonly _tag: "Sync" } | { readonly _tag: "Changed" }

interface Member {
  readonly breaker: CircuitBreaker.CircuitBreaker
  readonly queue: Queue.Queue<Item>
}

/** @internal */
export type Fleet = FleetMembership.FleetService

const messageOf = (error: unknown): string =>
  error instanceof Redis.RedisError ? error.message : error instanceof Error ? error.message : String(error)

/** @internal */
export const make = (options: Options): Effect.Effect<Fleet, ConfigError.ConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    const config = yield* settings(options)
    const replica = config.replica ?? `replica-${(yield* Random.nextIntBetween(0, 0x7fffffff)).toString(36)}`
    const annotate = Effect.annotateLogs({ fleet: config.fleet, replica })
    // lease tokens carry this layer's instance: two live replicas given the same name never share one
    const instance = (yield* Random.nextIntBetween(0, 0x7fffffff)).toString(36)
    const members = new Map<string, Member>()
    // the retry budgets shared with the fleet, by service (one per service and layer)
    const budgets = new Map<string, FleetMembership.SharedBudget>()
    // this layer's budget messages come back too: they carry its instance, and are skipped
    const budgetSender = `${replica}/${instance}`
    const reachable = yield* Ref.make(false)
    // Redis's clock as the heartbeats measure it: the deadlines of the commands that change the fleet
    const redisClock = new Shell.RedisClock()
    const layerClock = yield* Effect.clock
    const monotonicMillis = () => Time.monotonicMillis(layerClock)
    const deadline = () => redisClock.deadline(monotonicMillis(), config.commandTimeoutMillis)
    // the first loss after a success is logged, not every failed command of an outage
    let lossLogged = false

    const wake = yield* Queue.sliding<void>(1)
    const connectWith = options.connection ?? Redis.connect
    const connection = yield* connectWith({
      url: config.url,
      commandTimeoutMillis: config.commandTimeoutMillis,
      connectTimeoutMillis: config.connectTimeoutMillis,
      heartbeatMillis: config.heartbeatMillis,
      cluster: config.cluster,
      // a (re)connection wakes the heartbeat, so that reconciliation does not wait a full period
      onReady: () => Queue.unsafeOffer(wake, undefined)
    })
    const client = yield* Scripts.client(connection, config.fleet)

    const broadcast = (item: Item) =>
      Effect.forEach(members.values(), (member) => Queue.offer(member.queue, item), { discard: true })

    const lost = (error: unknown): Effect.Effect<void> =>
      Effect.flatMap(Ref.getAndSet(reachable, false), (was) => {
        if (!was && lossLogged) return Effect.void
        lossLogged = true
        return Effect.zipRight(
          Effect.logWarning(
            `[fleet ${config.fleet}] Redis unreachable (${messageOf(error)}): breakers decide locally until it is back`
          ).pipe(annotate),
          broadcast({ _tag: "Unreachable" })
        )
      })

    const regained: Effect.Effect<void> = Effect.flatMap(Ref.getAndSet(reachable, true), (was) => {
      if (was) return Effect.void
      const log = lossLogged
        ? Effect.logInfo(`[fleet ${config.fleet}] Redis reachable again: reconciling`).pipe(annotate)
        : Effect.void
      lossLogged = false
      return Effect.zipRight(log, broadcast({ _tag: "Reachable" }))
    })

    // the members as they are at each heartbeat
    const statuses = Effect.suspend(() =>
      Effect.forEach(
        Array.from(members.entries()),
        ([service, member]) =>
          Effect.map(member.breaker.status, (status) => [service, ServiceStatus.toJson(status)] as const)
      )
    )

    // Heartbeat: publish statuses, re-read the views, notice Redis coming back.
    const beat = Effect.gen(function*() {
      const entries = yield* statuses
      const published = yield* Effect.either(
        client.heartbeat(replica, config.heartbeatMillis * 3, JSON.stringify(Object.fromEntries(entries)))
      )
      if (published._tag === "Left") {
        // what the budgets recorded meanwhile is dropped, not sent in one burst once Redis is back
        for (const budget of budgets.values()) budget.takeLocal()
        return yield* lost(published.left)
      }
      redisClock.record(published.right, monotonicMillis())
      yield* regained
      yield* broadcast({ _tag: "Sync" })
      yield* sendBudgets
    })

    // Fleet retry budget: what each shared budget recorded since the last heartbeat, in one
    // message per heartbeat (none when nothing was recorded). A message lost while Redis is down
    // is lost: the budget is a throttle, not an account.
    const sendBudgets: Effect.Effect<void> = Effect.suspend(() => {
      const counts: Shell.BudgetCounts = {}
      for (const [service, budget] of budgets) {
        const { failures, successes } = budget.takeLocal()
        if (successes > 0 || failures > 0) counts[service] = [successes, failures]
      }
      const message = Shell.encodeBudgets(budgetSender, counts)
      if (message === undefined) return Effect.void
      return Effect.ignore(connection.send(["PUBLISH", Scripts.channel(config.fleet), message]))
    })
    // the first heartbeat waits for the connection (up to its connect timeout), so that a
    // start is not reported as a loss
    const firstConnection = Effect.race(
      Queue.take(wake),
      Effect.sleep(Duration.millis(config.connectTimeoutMillis))
    )
    yield* Effect.forkScoped(
      Effect.zipRight(
        firstConnection,
        Effect.forever(
          Effect.zipRight(
            beat,
            Effect.race(Effect.sleep(Duration.millis(config.heartbeatMillis)), Queue.take(wake))
          )
        )
      ).pipe(annotate)
    )

    yield* connection.subscribe(Scripts.channel(config.fleet), (message) => {
      const change = Scripts.decodeChange(message)
      // this replica's own changes come back too: it knows their generation already, and the
      // protocol ignores a message of a generation it knows (lease tokens and budget messages
      // carry this layer's instance as well; quorum and status go by name: see docs/fleet.md)
      if (change === undefined) return applyBudgets(message)
      const member = members.get(change.service)
      if (member === undefined) return
      Queue.unsafeOffer(member.queue, {
        _tag: "View",
        source: "message",
        view: {
          epoch: change.epoch,
          generation: change.generation,
          state: change.state,
          remainingMillis: change.remainingMillis,
          leaseRemainingMillis: 0
        }
      })
    })

    // a budget message (on the same channel as the changes: one subscriber connection)
    const applyBudgets = (message: string): void => {
      for (const [service, successes, failures] of Shell.decodeBudgets(message, budgetSender)) {
        budgets.get(service)?.applyRemote(successes, failures)
      }
    }

    const shareBudget = (service: string, budget: FleetMembership.SharedBudget) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          if (budgets.has(service)) return false
          budgets.set(service, budget)
          return true
        }),
        (added) => Effect.sync(() => added && budgets.delete(service))
      ).pipe(Effect.asVoid)

    const join = (breaker: CircuitBreaker.CircuitBreaker, hook: FleetHook): Effect.Effect<void, never, Scope.Scope> =>
      Effect.gen(function*() {
        const service = hook.name
        if (members.has(service)) {
          return yield* Effect.logWarning(
            `[fleet ${config.fleet}] a second breaker named "${service}" does not join the fleet; the first one does`
          ).pipe(annotate)
        }
        const queue = yield* Effect.acquireRelease(Queue.unbounded<Item>(), Queue.shutdown)
        yield* Effect.acquireRelease(
          Effect.sync(() => members.set(service, { breaker, queue })),
          () => Effect.sync(() => members.delete(service))
        )
        const clock = yield* Effect.clock
        const scope = yield* Effect.scope
        const toLocal = (machine: Machine.Machine<unknown>): Protocol.Local => ({
          state: machine.state,
          generation: machine.generation,
          isolated: machine.isolated
        })
        // what the breaker is now, deadlines applied: the protocol never decides on a stale state
        const local = Effect.map(hook.observe, toLocal)
        // what remains of the live breaker's opening, when a command is built
        const remaining = Effect.map(hook.observe, (machine) => Shell.remainingOf(machine, Time.monotonicMillis(clock)))
        // an opening of the fleet's that has run this breaker's longest has ended for it
        const longest = Math.min(Machine.longestOpenDuration(hook.config), Number.MAX_SAFE_INTEGER)
        const changes = yield* breaker.subscribe
        yield* Effect.forkScoped(
          Effect.forever(Effect.zipRight(Queue.take(changes), Queue.offer(queue, { _tag: "Changed" })))
        )
        // a call in half_open asks for the lease (synchronously, on the caller's fiber)
        yield* Effect.acquireRelease(
          Effect.sync(() => {
            hook.onLeaseAsked = () =>
              Queue.unsafeOffer(queue, { _tag: "LeaseAsked", localGeneration: hook.machine().generation })
          }),
          () => Effect.sync(() => (hook.onLeaseAsked = undefined))
        )
        // a probe that ended silent (interrupted) and left none running gives the lease back at once
        yield* Effect.acquireRelease(
          Effect.sync(() => {
            hook.onProbeSilent = () => {
              const machine = hook.machine()
              Queue.unsafeOffer(queue, {
                _tag: "ProbeAbandoned",
                localGeneration: machine.generation,
                probing: probing(machine)
              })
            }
          }),
          () => Effect.sync(() => (hook.onProbeSilent = undefined))
        )

        let state = Protocol.initial(toLocal(hook.machine()))
        const protocolConfig: Protocol.Config = {
          replica: `${replica}:${instance}`,
          leaseTtlMillis: config.leaseTtlMillis,
          leaseIdleMillis: leaseIdleMillis(config)
        }

        const answer = <A>(
          command: Effect.Effect<A, Redis.RedisError>,
          toEvent: (a: A) => Protocol.Event
        ): Effect.Effect<void> =>
          Effect.matchEffect(command, {
            onFailure: (error) => lost(error),
            onSuccess: (a) => handle(toEvent(a))
          })

        const later = (delayMillis: number, item: Item) =>
          Effect.asVoid(Effect.forkIn(
            Effect.zipRight(Effect.sleep(Duration.millis(Math.max(0, delayMillis))), Queue.offer(queue, item)),
            scope
          ))

        const run = (command: Protocol.Command): Effect.Effect<void> => {
          switch (command._tag) {
            case "Propose":
              return answer(
                Effect.flatMap(remaining, (duration) =>
                  client.propose(
                    service,
                    replica,
                    command.known,
                    duration,
                    config.quorum,
                    config.quorumWindowMillis,
                    deadline(),
                    longest
                  )),
                (a) => ({ _tag: "Proposed", outcome: a.outcome, view: a.view })
              )
            case "Acquire":
              return answer(
                client.acquire(
                  service,
                  replica,
                  command.known,
                  command.token,
                  config.leaseTtlMillis,
                  deadline(),
                  longest
                ),
                (a) => ({
                  _tag: "LeaseAnswer",
                  outcome: a.outcome,
                  token: command.token,
                  localGeneration: command.localGeneration,
                  view: a.view
                })
              )
            case "Release":
              return answer(client.release(service, command.token, longest), (a) => ({ _tag: "View", view: a.view }))
            case "Settle":
              return answer(
                Effect.flatMap(command.outcome === "open" ? remaining : Effect.succeed(0), (duration) =>
                  client.settle(
                    service,
                    replica,
                    command.known,
                    command.token,
                    command.outcome,
                    duration,
                    deadline(),
                    longest
                  )),
                (a) => ({ _tag: "Settled", outcome: a.outcome, token: command.token, view: a.view })
              )
            case "Read":
              return answer(client.read(service, longest), (a) => ({ _tag: "View", view: a.view }))
            case "Breaker":
              // the protocol learns the breaker's new state at once, not when its change arrives
              return Effect.flatMap(
                hook.step(command.event),
                (step) => handle({ _tag: "Local", local: toLocal(step.machine) })
              )
            case "WatchLease":
              // the lease is given up locally a little before Redis lets another replica take it,
              // and given back halfway if no probe started under it by then
              return Effect.zipRight(
                later(config.leaseTtlMillis - config.commandTimeoutMillis, {
                  _tag: "LeaseExpired",
                  token: command.token
                }),
                Effect.asVoid(Effect.forkIn(
                  Effect.zipRight(
                    Effect.sleep(Duration.millis(leaseIdleMillis(config))),
                    Effect.suspend(() =>
                      Queue.offer(queue, { _tag: "LeaseIdle", token: command.token, probing: probing(hook.machine()) })
                    )
                  ),
                  scope
                ))
              )
            case "RetryLeaseAfter":
              // (a holder's give-back takes up to a command's time to reach Redis)
              return later(command.delayMillis + config.commandTimeoutMillis, {
                _tag: "RetryLease",
                localGeneration: command.localGeneration
              })
          }
        }

        const handle = (event: Protocol.Event): Effect.Effect<void> =>
          Effect.suspend(() => {
            const step = Protocol.step(state, event, protocolConfig)
            state = step.state
            return Effect.forEach(step.commands, run, { discard: true })
          })

        const refresh = Effect.flatMap(
          local,
          (now) =>
            now.state === state.local.state && now.generation === state.local.generation
              ? Effect.void
              : handle({ _tag: "Local", local: now })
        )
        const processItem = (item: Item): Effect.Effect<void> =>
          Effect.zipRight(
            refresh,
            item._tag === "Sync"
              ? (state.reachable ? Effect.zipRight(handle({ _tag: "Heartbeat" }), run({ _tag: "Read" })) : Effect.void)
              : item._tag === "Changed"
              ? Effect.void
              : handle(item)
          )

        if (yield* Ref.get(reachable)) yield* Queue.offer(queue, { _tag: "Reachable" })
        yield* Effect.forkScoped(
          Effect.forever(Effect.flatMap(Queue.take(queue), (item) =>
            processItem(item).pipe(
              // a bug here must not end the breaker's membership: log it and go on with the next event
              Effect.catchAllDefect((defect) =>
                Effect.logError(`[fleet ${config.fleet}] ${service}: fleet step failed`, defect)
              )
            ))).pipe(
              annotate,
              Effect.annotateLogs("service", service)
            )
        )
      })

    return {
      fleet: config.fleet,
      replica,
      join,
      shareBudget,
      reachable: Ref.get(reachable),
      replicas: Effect.map(client.replicas, (entries) =>
        entries.map((entry) => {
          let services: Record<string, ServiceStatus.ServiceStatusJson> = {}
          try {
            services = JSON.parse(entry.statuses) as Record<string, ServiceStatus.ServiceStatusJson>
          } catch {
            // a replica of another version: listed without statuses
          }
          return { replica: entry.replica, ageMillis: entry.ageMillis, services }
        }).sort((a, b) => a.replica < b.replica ? -1 : a.replica > b.replica ? 1 : 0))
    }
  })

/** @internal */
export const layer = (options: Options): Layer.Layer<FleetMembership.FleetService, ConfigError.ConfigError> =>
  Layer.scoped(FleetMembership.FleetMembership, make(options))
