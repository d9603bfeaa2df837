/** Feed sources as the nodes read them (ICS Trigger; Calendar Event with a feed URL): parameters, parsing, filters, expansion. */
import type { IDataObject } from 'n8n-workflow';
import type { CalendarEvent } from '../../core/event';
import { parseCalendarInput, type InputPreset } from '../../core/input';
import { eventPredicate, expandToOccurrences, type EventFilter } from './filters';

export interface FeedReadOptions {
  allowEmpty?: boolean;
  defaultTimeZone?: string;
  emitOnFirstPoll?: boolean;
  identity?: 'uid' | 'content';
  expand?: boolean;
  pastDays?: number;
  futureDays?: number;
  maxMb?: number;
  budgetRequests?: number;
  budgetMinutes?: number;
  sampleSize?: number;
  timeoutS?: number;
}

const DAY = 86_400_000;

export interface FeedParams {
  source: 'ics' | 'json' | 'bridge';
  url: string;
  jsonPreset?: string;
  fieldMap?: IDataObject;
  authentication: string;
  sourceId: string;
}

/** The URL to fetch: webcal:// is https://; anything but http(s) is refused. */
export function feedUrl(raw: string): string {
  const url = raw.trim().replace(/^webcals?:\/\//i, 'https://');
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  if (!parsed) throw new Error(`URL "${raw}" is not a valid URL`);
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`URL "${raw}" must be http(s) or webcal`);
  return url;
}

export function feedCredentialType(authentication: string): string | undefined {
  if (authentication === 'feedAuth') return 'calendarRelayFeedAuthApi';
  if (authentication === 'bridge') return 'calendarRelayBridgeApi';
  return undefined;
}

/** Parses, filters and (optionally) expands the feed body. */
export function eventsOfBody(bytes: Uint8Array, params: FeedParams, options: FeedReadOptions, filter: EventFilter, now: number): { events: CalendarEvent[]; warnings: string[] } {
  const preset: InputPreset = params.source === 'ics' ? 'ics' : params.source === 'bridge' ? 'auto' : ((params.jsonPreset || 'auto') as InputPreset);
  const map: Record<string, string> = {};
  for (const [k, v] of Object.entries(params.fieldMap ?? {})) if (typeof v === 'string' && v.trim() !== '') map[k] = v.trim();
  const parsed = parseCalendarInput(bytes, { preset, map, sourceId: params.sourceId, defaultTimeZone: options.defaultTimeZone || undefined });
  const warnings = parsed.errors.map((e) => `${e.line ? `line ${e.line}: ` : e.item !== undefined ? `item ${e.item}: ` : ''}${e.message}`);
  let events = parsed.events;
  if (options.expand) {
    const from = now - (options.pastDays ?? 0) * DAY;
    const to = now + (options.futureDays ?? 90) * DAY;
    const expanded = expandToOccurrences(events, from, to, options.defaultTimeZone || undefined);
    events = expanded.events;
    warnings.push(...expanded.errors);
  }
  return { events: events.filter(eventPredicate(filter)), warnings };
}

