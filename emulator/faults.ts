/**
 * Fault injection and modelled limits, shared by both APIs. The server asks `decide()` for every
 * request (batch parts included) and turns a non-'none' answer into the API's own error envelope
 * via the module's `faultResponse`.
 *
 * Two kinds of interference:
 * - scripted faults: an exact sequence ("the next 3 inserts into calendar X get 429, then a 503,
 *   then ok") or a probability drawn from a seeded PRNG (chaos tests stay reproducible);
 * - modelled limits: a sliding window of N requests per W ms per budget (the scope's `quotaKey`,
 *   else its target) and a cap on concurrent in-flight requests per target, configured per API
 *   (the real services' quotas).
 */
import type { FaultDecision, RequestScope } from './types';
import { seededRandom } from './prng';

export type FaultSpec = Exclude<FaultDecision, { kind: 'none' }>;
type Api = RequestScope['api'];

/** Which requests a rule applies to. Every given field must match; omitted fields match all. */
export interface FaultMatch {
  api?: Api;
  /** Calendar id / mailbox, compared case-insensitively. */
  target?: string;
  /** Operation kind(s) as the module names them: 'insert', 'list', 'patch', 'batch', … */
  kind?: string | string[];
  method?: string;
  /** true: only batch parts; false: only top-level requests. */
  inBatch?: boolean;
}

export interface ChaosOptions extends FaultMatch {
  /** Chance (0..1) that a matching request gets a fault. */
  probability: number;
  /** Faults to choose from (uniformly) when the dice say so. */
  faults: FaultSpec[];
  /** Stop after this many injected faults. */
  times?: number;
}

export interface LimitConfig {
  /** Sliding window length in ms (emulator clock) for `maxRequests`. */
  windowMs?: number;
  /** Requests admitted per target per window; more → throttled. */
  maxRequests?: number;
  /** Concurrent in-flight requests per target; more → throttled. */
  maxConcurrent?: number;
  /** Retry-After (seconds, string as sent) on limit answers, for APIs that send one. */
  retryAfter?: string;
}

export interface FaultRuleHandle {
  readonly id: number;
  /** Faults or passes left in a sequence, faults left in a chaos rule (Infinity when unbounded). */
  remaining(): number;
  remove(): void;
}

interface Rule {
  id: number;
  match: FaultMatch;
  /** Exact sequence, consumed front to back. */
  sequence?: (FaultSpec | 'ok')[];
  chaos?: { probability: number; faults: FaultSpec[]; left: number };
}

/** What the fault layer did, for assertions ("exactly 3 throttles were injected"). */
export interface InjectedFault {
  api: Api;
  target?: string;
  kind: string;
  fault: FaultSpec['kind'];
  limit?: 'rate' | 'concurrency';
}


export interface RequestFacts {
  method: string;
  inBatch: boolean;
}

export class FaultController {
  /** Set false to bypass scripted faults (limits are governed by `limitsEnabled`). */
  enabled = true;
  /** Set false to switch all modelled limits off (benchmarks of raw throughput, bulk seeding). */
  limitsEnabled = true;
  /** Every fault the layer produced since the last reset, in order. */
  injected: InjectedFault[] = [];

  private rules: Rule[] = [];
  private nextId = 1;
  private random: () => number;
  private limits = new Map<Api, LimitConfig>();
  private readonly defaultLimits: Map<Api, LimitConfig>;
  private windows = new Map<string, number[]>();

  constructor(private readonly now: () => number, defaults: Partial<Record<Api, LimitConfig>> = {}, seed = 1) {
    this.random = seededRandom(seed);
    this.defaultLimits = new Map(Object.entries(defaults) as [Api, LimitConfig][]);
    for (const [api, cfg] of this.defaultLimits) this.limits.set(api, { ...cfg });
  }

  /** Re-seeds the PRNG used by chaos rules. */
  seed(n: number): void {
    this.random = seededRandom(n);
  }

  /**
   * Scripts an exact sequence for matching requests: each matching request consumes one entry;
   * 'ok' lets it through untouched. The rule is spent when the sequence is empty.
   * Example: `script({api:'google', target:'cal', kind:'insert'}, [throttle429, throttle429, {kind:'error', status:503}, 'ok'])`.
   */
  script(match: FaultMatch, sequence: (FaultSpec | 'ok')[]): FaultRuleHandle {
    return this.addRule({ id: this.nextId++, match, sequence: [...sequence] });
  }

  /** Shorthand: the next matching request gets `fault` (`times` times in a row). */
  next(match: FaultMatch, fault: FaultSpec, times = 1): FaultRuleHandle {
    return this.script(match, Array.from({ length: times }, () => fault));
  }

  /** A probability rule drawing from the seeded PRNG. */
  chaos(opts: ChaosOptions): FaultRuleHandle {
    const { probability, faults, times, ...match } = opts;
    if (!(probability >= 0 && probability <= 1)) throw new RangeError(`chaos probability must be within 0..1, got ${probability}`);
    if (faults.length === 0) throw new RangeError('chaos needs at least one fault to choose from');
    return this.addRule({ id: this.nextId++, match, chaos: { probability, faults, left: times ?? Infinity } });
  }

  /** Replaces the modelled limits of one API (undefined switches that API's limits off). */
  setLimits(api: Api, config: LimitConfig | undefined): void {
    if (config) this.limits.set(api, { ...config });
    else this.limits.delete(api);
  }

  getLimits(api: Api): LimitConfig | undefined {
    const c = this.limits.get(api);
    return c ? { ...c } : undefined;
  }

  /** Removes every scripted rule; limits stay as configured. */
  clear(): void {
    this.rules = [];
  }

  /** Rules, limit windows and the injected list back to start-up state (default limits restored). */
  reset(): void {
    this.rules = [];
    this.windows.clear();
    this.injected = [];
    this.enabled = true;
    this.limitsEnabled = true;
    this.limits = new Map([...this.defaultLimits].map(([k, v]) => [k, { ...v }]));
  }

  /** Scripted faults for one request: the first matching sequence rule, else the chaos rules. */
  decide(scope: RequestScope, req: RequestFacts): FaultDecision {
    if (!this.enabled) return { kind: 'none' };
    for (const rule of this.rules) {
      if (!rule.sequence || !ruleMatches(rule.match, scope, req)) continue;
      const step = rule.sequence.shift()!;
      if (rule.sequence.length === 0) this.dropRule(rule.id);
      if (step === 'ok') return { kind: 'none' };
      return this.note(scope, step);
    }
    for (const rule of this.rules) {
      if (!rule.chaos || !ruleMatches(rule.match, scope, req)) continue;
      if (this.random() >= rule.chaos.probability) continue;
      const fault = rule.chaos.faults[Math.floor(this.random() * rule.chaos.faults.length)];
      if (--rule.chaos.left <= 0) this.dropRule(rule.id);
      return this.note(scope, fault);
    }
    return { kind: 'none' };
  }

  /**
   * Modelled limits for one request. `inFlight` counts requests currently being served for the
   * target, this one included. Only admitted requests enter the sliding window, so a client that
   * backs off gets through once the window has moved on.
   */
  checkLimits(scope: RequestScope, inFlight: number): FaultDecision {
    const cfg = this.limits.get(scope.api);
    if (!this.limitsEnabled || !cfg || scope.target === undefined) return { kind: 'none' };
    if (cfg.maxConcurrent !== undefined && inFlight > cfg.maxConcurrent) {
      return this.note(scope, { kind: 'throttle', limit: 'concurrency', retryAfter: cfg.retryAfter });
    }
    if (cfg.maxRequests !== undefined && cfg.windowMs !== undefined) {
      const key = `${scope.api}\u001f${scope.quotaKey ?? scope.target}`;
      const now = this.now();
      let times = this.windows.get(key);
      if (!times) this.windows.set(key, (times = []));
      let drop = 0;
      while (drop < times.length && times[drop] <= now - cfg.windowMs) drop++;
      if (drop) times.splice(0, drop);
      if (times.length >= cfg.maxRequests) {
        // Retry-After: when the oldest admitted request leaves the window.
        const waitS = Math.max(0.001, (times[0] + cfg.windowMs - now) / 1000);
        return this.note(scope, { kind: 'throttle', limit: 'rate', retryAfter: cfg.retryAfter ?? String(Math.ceil(waitS)) });
      }
      times.push(now);
    }
    return { kind: 'none' };
  }

  /** Number of active (unspent) scripted and chaos rules. */
  get activeRules(): number {
    return this.rules.length;
  }

  private addRule(rule: Rule): FaultRuleHandle {
    if (rule.match.target) rule.match = { ...rule.match, target: rule.match.target.toLowerCase() };
    this.rules.push(rule);
    return {
      id: rule.id,
      remaining: () => rule.sequence?.length ?? rule.chaos?.left ?? 0,
      remove: () => this.dropRule(rule.id),
    };
  }

  private dropRule(id: number): void {
    this.rules = this.rules.filter((r) => r.id !== id);
  }

  private note(scope: RequestScope, fault: FaultSpec): FaultSpec {
    if (fault.kind !== 'delay') {
      this.injected.push({ api: scope.api, target: scope.target, kind: scope.kind, fault: fault.kind, limit: fault.kind === 'throttle' ? fault.limit : undefined });
    }
    return fault;
  }
}

function ruleMatches(m: FaultMatch, scope: RequestScope, req: RequestFacts): boolean {
  if (m.api !== undefined && m.api !== scope.api) return false;
  if (m.target !== undefined && m.target !== scope.target) return false;
  if (m.kind !== undefined && !(Array.isArray(m.kind) ? m.kind.includes(scope.kind) : m.kind === scope.kind)) return false;
  if (m.method !== undefined && m.method.toUpperCase() !== req.method) return false;
  if (m.inBatch !== undefined && m.inBatch !== req.inBatch) return false;
  return true;
}
