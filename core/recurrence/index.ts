/** Recurrence: RFC 5545 rules (parse, format, iterate) and window expansion of CalendarEvents. */
export {
  RRuleError, RecurrenceLimitError, parseRRule, validateRRule, formatRRule, iterateRRule,
  type RRule, type Frequency, type Weekday, type IterateOptions,
} from './rrule';
export { expandOccurrences, ExpansionWindowError, type Occurrence, type ExpansionResult, type ExpandOptions } from './expand';
